/*
 * 0117 — the fire history of schedules, against the real Kafka, Redis, a
 * leading coordinator and a worker. Three schedules fire every second: one
 * whose handler succeeds, one whose handler fails for good (max_attempts
 * 1), and one with overlap: skip whose handler sleeps 2.5 s. Read back
 * through the core (drv_sched_fires_read()), the API (GET
 * /api/v1/schedules/{id}/fires and /schedules/timeline, paged) and
 * `droverctl schedule fires`: every fire is there once, on whole seconds,
 * in order; kinds (published, skipped_overlap); outcomes (succeeded, dead)
 * and durations (the sleeper's >= 2.5 s) from the lifecycle events; a
 * range and a limit (newest first, truncated). A second test adds fires
 * through the core's script with a cap of 5 and a 1-minute window: the
 * older and the surplus fires go, and their runs' ends with them. A third
 * stops the coordinator for several fire times of a `catchup: all`
 * schedule: the times made up after the takeover are kept as caught_up,
 * the others as published, with no time missing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/sched_fires.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

#define VIEWER "viewer-token-0117"

static void connect_redis(it_ctx_t *ctx, drv_config_t **cfg,
			  redisContext **rc)
{
	char err[512];

	cr_assert_eq(drv_config_load(ctx->config, environ, cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(*cfg, rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
}

static size_t count_kind(const drv_sched_fires_t *f,
			 drv_sched_fire_kind_t kind, const char *outcome)
{
	size_t n = 0;

	for (size_t i = 0; i < f->cnt; i++)
		n += f->fires[i].kind == kind && (!outcome ||
		     !strcmp(f->fires[i].outcome, outcome));
	return n;
}

Test(schedule_fires, history_through_core_api_and_ctl, .timeout = 200)
{
	static const char *const ids[] = { "bad", "good", "slow" };
	it_ctx_t ctx;
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	drv_sched_fires_t *f = NULL, *g = NULL;
	char sections[1024], err[512], path[256], *out = NULL;
	int port = it_free_port();
	long long start;
	json_t *j, *arr;
	pid_t coord, w;

	it_setup(&ctx, "  ok:\n    type: noop\n"
		       "  broken:\n    command: [\"false\"]\n"
		       "    max_attempts: 1\n"
		       "  slowpoke:\n    type: sleep\n    sleep: 2500ms\n");
	it_topics(&ctx);
	drv_fmt(sections, sizeof(sections),
		"api:\n  port: %d\n"
		"api_tokens:\n"
		"  viewer: {role: viewer, env: IT_API_VIEWER_0117}\n"
		"schedules:\n"
		"  good:\n    cron: \"* * * * * *\"\n    handler: ok\n"
		"  bad:\n    cron: \"* * * * * *\"\n    handler: broken\n"
		"  slow:\n    cron: \"* * * * * *\"\n    handler: slowpoke\n"
		"    overlap: skip\n", port);
	it_coord_config(&ctx, "", sections);
	setenv("IT_API_VIEWER_0117", VIEWER, 1);
	start = it_now_ms();
	w = it_worker_start(&ctx, 2);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_coord_log_wait(&ctx, "c1", "became leader", 15000));
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 10000));
	sleep(10);
	/* no more runs: the worker ends what it runs, the coordinator reads
	 * the lifecycle events */
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	sleep(3);

	connect_redis(&ctx, &cfg, &rc);
	cr_assert_eq(drv_sched_fires_read(rc, cfg->redis.key_prefix, ids, 3,
					  start - 1000, it_now_ms(), 1000,
					  false, &f, err, sizeof(err)),
		     DRV_OK, "%s", err);
	for (int s = 0; s < 3; s++) {
		cr_assert_str_eq(f[s].id, ids[s]);
		cr_expect_not(f[s].truncated);
		cr_expect_geq(f[s].cnt, 6, "%s: %zu fires in 10 s", ids[s],
			      f[s].cnt);
		for (size_t i = 0; i < f[s].cnt; i++) {
			cr_expect_eq(f[s].fires[i].nominal_ms % 1000, 0);
			cr_expect(!i || f[s].fires[i].nominal_ms >
				  f[s].fires[i - 1].nominal_ms,
				  "%s: fires out of order or twice", ids[s]);
			if (f[s].fires[i].kind == DRV_FIRE_PUBLISHED)
				cr_expect_eq(strlen(f[s].fires[i].task_id),
					     26);
		}
	}
	/* bad: every run dead; good: every run succeeded, quickly */
	cr_expect_geq(count_kind(&f[0], DRV_FIRE_PUBLISHED, "dead"), 5);
	cr_expect_eq(count_kind(&f[0], DRV_FIRE_PUBLISHED, "succeeded"), 0);
	cr_expect_eq(count_kind(&f[0], DRV_FIRE_SKIPPED, NULL), 0);
	cr_expect_geq(count_kind(&f[1], DRV_FIRE_PUBLISHED, "succeeded"), 5);
	cr_expect_eq(count_kind(&f[1], DRV_FIRE_PUBLISHED, "dead"), 0);
	for (size_t i = 0; i < f[1].cnt; i++)
		if (f[1].fires[i].outcome[0]) {
			cr_expect_lt(f[1].fires[i].duration_ms, 2000);
			cr_expect_geq(f[1].fires[i].finished_ms,
				      f[1].fires[i].published_ms);
		}
	/* slow: skipped while its 2.5 s runs last; those runs are long */
	cr_expect_geq(count_kind(&f[2], DRV_FIRE_SKIPPED, NULL), 4);
	cr_expect_geq(count_kind(&f[2], DRV_FIRE_PUBLISHED, "succeeded"), 2);
	cr_expect_leq(count_kind(&f[2], DRV_FIRE_PUBLISHED, NULL), 5);
	for (size_t i = 0; i < f[2].cnt; i++) {
		if (f[2].fires[i].kind == DRV_FIRE_SKIPPED)
			cr_expect_str_empty(f[2].fires[i].task_id);
		if (!strcmp(f[2].fires[i].outcome, "succeeded"))
			cr_expect_geq(f[2].fires[i].duration_ms, 2400);
	}

	/* a range of two fires; a limit keeps the newest, truncated */
	cr_assert_eq(drv_sched_fires_read(rc, cfg->redis.key_prefix, &ids[1],
					  1, f[1].fires[1].nominal_ms,
					  f[1].fires[2].nominal_ms, 100, false,
					  &g, err, sizeof(err)), DRV_OK);
	cr_expect_eq(g[0].cnt, 2);
	cr_expect_not(g[0].truncated);
	cr_expect_eq(g[0].fires[0].nominal_ms, f[1].fires[1].nominal_ms);
	drv_sched_fires_free(g, 1);
	cr_assert_eq(drv_sched_fires_read(rc, cfg->redis.key_prefix, &ids[1],
					  1, start - 1000,
					  f[1].fires[f[1].cnt - 1].nominal_ms,
					  2, true, &g, err, sizeof(err)),
		     DRV_OK);
	cr_expect_eq(g[0].cnt, 2);
	cr_expect(g[0].truncated);
	cr_expect_eq(g[0].fires[0].nominal_ms,
		     f[1].fires[f[1].cnt - 1].nominal_ms);
	cr_expect_eq(g[0].fires[1].nominal_ms,
		     f[1].fires[f[1].cnt - 2].nominal_ms);
	drv_sched_fires_free(g, 1);

	/* the API: one schedule's fires, newest first */
	drv_fmt(path, sizeof(path), "/api/v1/schedules/slow/fires?since=%lld"
		"&limit=1000", start - 1000);
	cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &j), 200);
	arr = json_object_get(j, "fires");
	cr_expect_geq(json_array_size(arr), f[2].cnt);
	cr_expect_eq(json_is_false(json_object_get(j, "truncated")), 1);
	for (size_t i = 0; i + 1 < json_array_size(arr); i++)
		cr_expect_gt(it_json_num(json_array_get(arr, i),
					 "scheduled_ms", NULL),
			     it_json_num(json_array_get(arr, i + 1),
					 "scheduled_ms", NULL));
	{
		size_t skipped = 0, long_runs = 0, k;
		json_t *x;

		json_array_foreach(arr, k, x) {
			const char *kind = json_string_value(
				json_object_get(x, "kind"));

			skipped += kind && !strcmp(kind, "skipped_overlap");
			long_runs += it_json_num(x, "duration_ms", NULL) >=
				     2400;
		}
		cr_expect_geq(skipped, 4);
		cr_expect_geq(long_runs, 2);
	}
	json_decref(j);
	cr_expect_eq(it_http_json(port, "GET",
				  "/api/v1/schedules/good/fires?limit=2",
				  VIEWER, NULL, &j), 200);
	cr_expect_eq(json_array_size(json_object_get(j, "fires")), 2);
	cr_expect(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);
	cr_expect_eq(it_http_json(port, "GET", "/api/v1/schedules/nope/fires",
				  VIEWER, NULL, &j), 404);
	json_decref(j);
	cr_expect_eq(it_http_json(port, "GET",
				  "/api/v1/schedules/good/fires?limit=0",
				  VIEWER, NULL, &j), 400);
	json_decref(j);

	/* the timeline, two schedules a page */
	cr_assert_eq(it_http_json(port, "GET",
				  "/api/v1/schedules/timeline?limit=2&since=1m",
				  VIEWER, NULL, &j), 200);
	arr = json_object_get(j, "schedules");
	cr_assert_eq(json_array_size(arr), 2);
	cr_expect_str_eq(json_string_value(json_object_get(
		json_array_get(arr, 0), "id")), "bad");
	cr_expect_str_eq(json_string_value(json_object_get(
		json_array_get(arr, 1), "id")), "good");
	cr_expect_geq(json_array_size(json_object_get(json_array_get(arr, 1),
						      "fires")), 6);
	cr_expect_gt(it_json_num(json_array_get(arr, 1), "next_ms", NULL),
		     start);
	cr_assert_str_eq(json_string_value(json_object_get(j, "next_cursor")),
			 "good");
	json_decref(j);
	cr_assert_eq(it_http_json(port, "GET",
				  "/api/v1/schedules/timeline?limit=2&"
				  "cursor=good", VIEWER, NULL, &j), 200);
	arr = json_object_get(j, "schedules");
	cr_assert_eq(json_array_size(arr), 1);
	cr_expect_str_eq(json_string_value(json_object_get(
		json_array_get(arr, 0), "id")), "slow");
	cr_expect_null(json_object_get(j, "next_cursor"));
	json_decref(j);

	/* a custom range (the console's zoom): only the fires scheduled in
	 * it, the range as given, to the millisecond */
	{
		char since[40], until[40], path[256];
		json_t *all, *fires;
		long long t0, t1;
		size_t want = 0;

		cr_assert_eq(it_http_json(port, "GET", "/api/v1/schedules/good/"
					  "fires?since=1h", VIEWER, NULL,
					  &all), 200);
		fires = json_object_get(all, "fires");
		cr_assert_geq(json_array_size(fires), 4);
		/* the second and third newest (newest first) */
		t1 = it_json_num(json_array_get(fires, 1), "scheduled_ms",
				 NULL);
		t0 = it_json_num(json_array_get(fires, 2), "scheduled_ms",
				 NULL);
		for (size_t i = 0; i < json_array_size(fires); i++) {
			long long t = it_json_num(json_array_get(fires, i),
						  "scheduled_ms", NULL);

			want += t >= t0 && t <= t1;
		}
		json_decref(all);
		drv_format_time(t0, since, sizeof(since));
		drv_format_time(t1, until, sizeof(until));
		drv_fmt(path, sizeof(path), "/api/v1/schedules/timeline?"
			"since=%s&until=%s", since, until);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &j),
			     200);
		cr_expect_eq(it_json_num(j, "since_ms", NULL), t0);
		cr_expect_eq(it_json_num(j, "until_ms", NULL), t1);
		arr = json_object_get(j, "schedules");
		cr_assert_str_eq(json_string_value(json_object_get(
			json_array_get(arr, 1), "id")), "good");
		fires = json_object_get(json_array_get(arr, 1), "fires");
		cr_expect_eq(json_array_size(fires), want);
		cr_expect_geq(want, 2);
		for (size_t i = 0; i < json_array_size(fires); i++) {
			long long t = it_json_num(json_array_get(fires, i),
						  "scheduled_ms", NULL);

			cr_expect(t >= t0 && t <= t1, "fire at %lld outside "
				  "%lld-%lld", t, t0, t1);
		}
		json_decref(j);
		/* until at or before since, or a bad time: 400 with the
		 * parameter's pointer */
		drv_fmt(path, sizeof(path), "/api/v1/schedules/timeline?"
			"since=%s&until=%s", until, since);
		it_http_bad_query(port, path, VIEWER, "/until");
		drv_fmt(path, sizeof(path), "/api/v1/schedules/timeline?"
			"since=%s&until=%s", since, since);
		it_http_bad_query(port, path, VIEWER, "/until");
		it_http_bad_query(port, "/api/v1/schedules/timeline?since=soon",
				  VIEWER, "/since");
		it_http_bad_query(port, "/api/v1/schedules/timeline?until=x",
				  VIEWER, "/until");
		it_http_bad_query(port, "/api/v1/schedules/good/fires?"
				  "since=1h&until=2h", VIEWER, "/until");
	}

	/* droverctl: the same call */
	cr_assert_eq(it_ctl(&ctx, &out, "schedule", "fires", "bad", "--limit",
			    "3", "--json", NULL), 0, "%s", out);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	cr_expect_eq(json_array_size(json_object_get(j, "fires")), 3);
	cr_expect(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);
	free(out);
	cr_expect_eq(it_ctl(&ctx, &out, "schedule", "fires", "good", NULL), 0);
	cr_expect(strstr(out, "succeeded"), "%s", out);
	free(out);
	cr_expect_eq(it_ctl(&ctx, &out, "schedule", "fires", "nope", NULL), 1);
	free(out);
	cr_expect_eq(it_ctl(&ctx, &out, "schedule", "fires", "good",
			    "--limit", "x", NULL), 2);
	free(out);

	drv_sched_fires_free(f, 3);
	redisFree(rc);
	drv_config_destroy(cfg);
	it_stop(coord, SIGTERM, 20000);
	it_teardown(&ctx);
}

Test(schedule_fires, trimmed_by_age_and_count_with_their_ends,
     .timeout = 60)
{
	const char *id = "trim";
	it_ctx_t ctx;
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	drv_sched_fires_t *f = NULL;
	redisReply *r;
	char err[512], key[256];
	int64_t now = drv_now_ms(), keep = 60000;
	int cmds = 0;

	it_setup(&ctx, "");
	connect_redis(&ctx, &cfg, &rc);
	/* two fires older than the window, then eight within it */
	for (int i = 0; i < 10; i++) {
		drv_sched_fire_t x = { 0 };

		x.nominal_ms = i < 2 ? now - 2 * keep + i * 1000 :
			       now - keep / 2 + i * 1000;
		x.kind = DRV_FIRE_PUBLISHED;
		drv_fmt(x.task_id, sizeof(x.task_id), "T%025d", i);
		x.published_ms = x.nominal_ms + 5;
		cmds += drv_sched_end_append(rc, cfg->redis.key_prefix, id,
					     x.task_id, "succeeded",
					     x.nominal_ms + 10, 5);
		cmds += drv_sched_fire_append(rc, cfg->redis.key_prefix, id,
					      &x, now, keep, i < 9 ? 100 : 5);
	}
	for (int i = 0; i < cmds; i++) {
		cr_assert_eq(redisGetReply(rc, (void **)&r), REDIS_OK);
		cr_expect_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
		freeReplyObject(r);
	}
	cr_assert_eq(drv_sched_fires_read(rc, cfg->redis.key_prefix, &id, 1,
					  0, now + keep, 100, false, &f, err,
					  sizeof(err)), DRV_OK, "%s", err);
	/* the cap of the last call (5): fires 5..9 stay, with their ends */
	cr_assert_eq(f[0].cnt, 5);
	for (size_t i = 0; i < 5; i++) {
		char want[32];

		drv_fmt(want, sizeof(want), "T%025zu", i + 5);
		cr_expect_str_eq(f[0].fires[i].task_id, want);
		cr_expect_str_eq(f[0].fires[i].outcome, "succeeded");
		cr_expect_eq(f[0].fires[i].duration_ms, 5);
	}
	drv_sched_fires_free(f, 1);
	drv_fmt(key, sizeof(key), "%ssched:ends:%s", cfg->redis.key_prefix,
		id);
	r = redisCommand(rc, "HLEN %s", key);
	cr_expect_eq(r->integer, 5, "the ends of trimmed fires stayed");
	freeReplyObject(r);
	drv_fmt(key, sizeof(key), "%ssched:fires:%s", cfg->redis.key_prefix,
		id);
	r = redisCommand(rc, "PTTL %s", key);
	cr_expect(r->integer > 0 && r->integer <= keep, "expiry %lld",
		  r->integer);
	freeReplyObject(r);
	redisFree(rc);
	drv_config_destroy(cfg);
	it_teardown(&ctx);
}

Test(schedule_fires, caught_up_after_a_leader_gap, .timeout = 120)
{
	const char *id = "cu";
	it_ctx_t ctx;
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	drv_sched_fires_t *f = NULL;
	char err[512];
	long long start, stop_ms;
	size_t caught = 0, before = 0;
	pid_t c;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	it_coord_config(&ctx, "  misfire_grace: 1s\n",
			"schedules:\n"
			"  cu:\n"
			"    cron: \"*/2 * * * * *\"\n"
			"    handler: noop\n"
			"    catchup: all\n");
	it_topics(&ctx);
	start = it_now_ms();
	c = it_coordinator_start(&ctx, "c1");
	cr_assert(it_coord_log_wait(&ctx, "c1", "schedule=cu", 15000));
	sleep(3);
	stop_ms = it_now_ms();
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	sleep(7);   /* three fire times go by */
	c = it_coordinator_start(&ctx, "c2");
	cr_assert(it_coord_log_wait(&ctx, "c2", "became leader", 15000));
	sleep(4);
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);

	connect_redis(&ctx, &cfg, &rc);
	cr_assert_eq(drv_sched_fires_read(rc, cfg->redis.key_prefix, &id, 1,
					  start - 2000, it_now_ms(), 1000,
					  false, &f, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_geq(f[0].cnt, 6);
	for (size_t i = 0; i < f[0].cnt; i++) {
		const drv_sched_fire_t *x = &f[0].fires[i];

		if (i)
			cr_expect_eq(x->nominal_ms - f[0].fires[i - 1].nominal_ms,
				     2000, "a time is missing before %lld",
				     (long long)x->nominal_ms);
		if (x->nominal_ms < stop_ms - 1000) {
			before++;
			cr_expect_eq(x->kind, DRV_FIRE_PUBLISHED);
		}
		if (x->kind == DRV_FIRE_CAUGHT_UP) {
			caught++;
			cr_expect_gt(x->nominal_ms, stop_ms - 2000);
			cr_expect_gt(x->published_ms - x->nominal_ms, 1000);
		}
	}
	cr_expect_geq(before, 1);
	cr_expect_geq(caught, 2, "%zu fires caught up", caught);
	cr_expect_eq(f[0].fires[f[0].cnt - 1].kind, DRV_FIRE_PUBLISHED);
	drv_sched_fires_free(f, 1);
	redisFree(rc);
	drv_config_destroy(cfg);
	it_teardown(&ctx);
}
