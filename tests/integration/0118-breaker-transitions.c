/*
 * 0118 — a breaker's transition log (issue 16): a failing dependency
 * trips breaker dep on a real worker (closed → open, why: the failure
 * rate), wait_in_open later a probe half-opens it and its success closes
 * it; then droverctl forces it open (as alice), the API forces it closed
 * and releases it. `droverctl breaker history --json` and GET
 * /api/v1/breakers/dep/transitions read all six back newest first, with
 * the right states, generations and whys, the API a page at a time
 * through its cursor. The log is bounded: 205 transitions of another
 * breaker keep the newest 200, and the key expires (30 days). Bad names
 * and cursors are refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/breaker.h"
#include "drover/redis.h"
#include "harness.h"

#define OPS    "ops-token-0118"
#define VIEWER "viewer-token-0118"

extern char **environ;

#define num it_json_num

static drv_config_t *cfg;
static redisContext *rc;

/* Wait until breaker dep is in \p state with a gen of \p gen or more. */
static bool wait_state(drv_breaker_state_t state, int64_t gen, int ms)
{
	drv_breaker_view_t v;
	char err[256];

	for (long long end = it_now_ms() + ms; it_now_ms() < end;
	     usleep(20 * 1000)) {
		cr_assert_eq(drv_breaker_redis_read(rc, cfg, "dep", 0, &v, err,
						    sizeof(err)), DRV_OK);
		if (v.state == state && v.gen >= gen)
			return true;
	}
	return false;
}

/* transitions[i] is from -> to, generation gen, why starting \p why */
static void check(const json_t *arr, size_t i, const char *from,
		  const char *to, long long gen, const char *why)
{
	const json_t *t = json_array_get(arr, i);

	cr_assert(t, "no transition %zu", i);
	cr_assert_str_eq(it_json_str(t, "from"), from, "transition %zu", i);
	cr_assert_str_eq(it_json_str(t, "to"), to, "transition %zu", i);
	cr_assert_eq(num(t, "gen", NULL), gen, "transition %zu", i);
	cr_assert(!strncmp(it_json_str(t, "why"), why, strlen(why)),
		  "transition %zu: why '%s', wanted '%s...'", i,
		  it_json_str(t, "why"), why);
	if (i > 0)
		cr_assert_geq(num(json_array_get(arr, i - 1), "at_ms", NULL),
			      num(t, "at_ms", NULL), "not newest first");
}

Test(breaker, transitions_logged_and_paged, .timeout = 240)
{
	it_ctx_t ctx;
	char yaml[2048], okfile[320], err[256], *out = NULL, path[160],
	     key[256];
	json_t *o, *all, *page;
	char *cursor;
	redisReply *r;
	pid_t coord, worker;
	int port;

	snprintf(yaml, sizeof(yaml),
		 "  dep:\n"
		 "    shell: true\n"
		 "    command: 'if [ -f \"$OUT.ok\" ]; then echo \"ok "
		 "$DROVER_TASK_ID\" >> \"$OUT\"; exit 0; fi; exit 75'\n"
		 "    max_attempts: 1\n"
		 "redis:\n"
		 "  key_prefix: \"it%db118:\"\n"
		 "breakers:\n"
		 "  dep:\n"
		 "    window: 10s\n"
		 "    min_calls: 4\n"
		 "    failure_rate: 50\n"
		 "    wait_in_open: 1s\n"
		 "    half_open_calls: 1\n"
		 "    half_open_successes: 1\n", (int)getpid());
	it_setup(&ctx, yaml);
	snprintf(okfile, sizeof(okfile), "%s.ok", ctx.out);
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0118", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);

	/* real failures open it; after wait_in_open a probe closes it */
	it_publish_many(&ctx, "dep", 6);
	cr_assert(wait_state(DRV_BREAKER_OPEN, 1, 60000),
		  "breaker never opened; see %s", ctx.dir);
	fclose(fopen(okfile, "w"));
	it_publish_many(&ctx, "dep", 2);
	cr_assert(wait_state(DRV_BREAKER_CLOSED, 3, 60000),
		  "breaker never closed again; see %s", ctx.dir);

	/* operators: droverctl forces it open, the API closed, released */
	cr_assert_eq(it_ctl(&ctx, NULL, "--as", "alice", "breaker", "open",
			    "dep", NULL), 0);
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/breakers/dep/close",
				  OPS, NULL, &o), 200);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "POST",
				  "/api/v1/breakers/dep/release", OPS, NULL,
				  &o), 200);
	json_decref(o);

	/* droverctl reads the whole log */
	cr_assert_eq(it_ctl(&ctx, &out, "breaker", "history", "dep", "--json",
			    NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert(o, "not JSON: %s", out);
	free(out);
	all = json_incref(json_object_get(o, "transitions"));
	json_decref(o);
	cr_assert_eq(json_array_size(all), 6, "transitions: %zu",
		     json_array_size(all));
	check(all, 0, "forced_closed", "closed", 6, "reset by api:ops");
	check(all, 1, "forced_open", "forced_closed", 5, "forced by api:ops");
	check(all, 2, "closed", "forced_open", 4,
	      "forced by droverctl:alice");
	check(all, 3, "half_open", "closed", 3, "probes succeeded: 1");
	check(all, 4, "open", "half_open", 2, "wait in open over");
	check(all, 5, "closed", "open", 1, "failure rate ");
	cr_assert(strstr(it_json_str(json_array_get(all, 5), "why"),
			 "(threshold 50%)"), "%s",
		  it_json_str(json_array_get(all, 5), "why"));
	/* the table form too */
	cr_assert_eq(it_ctl(&ctx, &out, "breaker", "history", "dep", NULL), 0);
	cr_assert(strstr(out, "wait in open over"), "%s", out);
	free(out);

	/* the API, two at a time, gives the same six in the same order */
	cursor = NULL;
	for (size_t i = 0; i < 6; i += 2) {
		snprintf(path, sizeof(path), "/api/v1/breakers/dep/transitions"
			 "?limit=2%s%s", cursor ? "&cursor=" : "",
			 cursor ? cursor : "");
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL,
					  &page), 200, "%s", path);
		cr_assert_eq(json_array_size(json_object_get(page,
				"transitions")), 2);
		for (size_t j = 0; j < 2; j++)
			cr_assert(json_equal(json_array_get(json_object_get(
				page, "transitions"), j),
				json_array_get(all, i + j)),
				"API and droverctl differ at %zu", i + j);
		free(cursor);
		cursor = NULL;
		if (i + 2 < 6) {
			cr_assert(json_is_string(json_object_get(page,
				"next_cursor")), "no next_cursor after %zu",
				i + 2);
			cursor = strdup(json_string_value(json_object_get(
				page, "next_cursor")));
		} else
			cr_assert(json_is_null(json_object_get(page,
				"next_cursor")), "a cursor past the end");
		json_decref(page);
	}
	json_decref(all);

	/* bounded: 205 transitions keep the newest 200, and it expires */
	for (int i = 0; i < 205; i++) {
		drv_breaker_view_t v;

		cr_assert_eq(drv_breaker_redis_set(rc, cfg, "many",
			     i % 2 ? DRV_BREAKER_CLOSED :
			     DRV_BREAKER_FORCED_OPEN, "test", &v, err,
			     sizeof(err)), DRV_OK, "%s", err);
	}
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/breakers/many/"
				  "transitions?limit=200", VIEWER, NULL, &page),
		     200);
	all = json_object_get(page, "transitions");
	cr_assert_eq(json_array_size(all), DRV_BREAKER_LOG_MAX);
	cr_assert_eq(num(json_array_get(all, 0), "gen", NULL), 205);
	cr_assert_eq(num(json_array_get(all, 199), "gen", NULL), 6);
	cr_assert(json_is_null(json_object_get(page, "next_cursor")));
	json_decref(page);
	drv_breaker_log_key(cfg, "many", key, sizeof(key));
	r = redisCommand(rc, "PTTL %s", key);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	cr_assert(r->integer > 29LL * 86400000 &&
		  r->integer <= 30LL * 86400000, "PTTL %lld", r->integer);
	freeReplyObject(r);
	r = redisCommand(rc, "LLEN %s", key);
	cr_assert_eq(r->integer, DRV_BREAKER_LOG_MAX);
	freeReplyObject(r);

	/* a breaker never seen: an empty log; bad input: 404, 400 */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/breakers/none/"
				  "transitions", VIEWER, NULL, &page), 200);
	cr_assert_eq(json_array_size(json_object_get(page, "transitions")), 0);
	json_decref(page);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/breakers/a%20b/"
				  "transitions", VIEWER, NULL, &page), 404);
	json_decref(page);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/breakers/dep/"
				  "transitions?cursor=x", VIEWER, NULL, &page),
		     400);
	json_decref(page);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/breakers/dep/"
				  "transitions?limit=201", VIEWER, NULL,
				  &page), 400);
	json_decref(page);
	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "history", NULL), 2);

	redisFree(rc);
	drv_config_destroy(cfg);
	cr_assert_eq(it_stop(worker, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(coord, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
