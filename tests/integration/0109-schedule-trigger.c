/*
 * 0109 — a schedule fired now, against the real Kafka, Redis, a leading
 * coordinator and a worker: a config file schedule through `droverctl
 * schedule trigger` and a run-time one through POST
 * /api/v1/schedules/{id}/trigger each publish one task, with the id the
 * request answered, the schedule's payload, the schedule's labels and
 * drover.fire=manual with the actor; the fire counts in the schedule's
 * statistics and its run ends, seen by `droverctl task show` and GET
 * /api/v1/tasks/{id} under the id answered. An unknown schedule is exit 1 / 404, a
 * viewer is refused (403), the API's request leaves an audit record by
 * its token's name. A schedule with overlap: skip whose run is unfinished
 * drops a second request (counted as skipped, nothing published); one
 * with buffer_one keeps it and fires it, with the id the request
 * answered, when the run ends. A request no leader took within 10 minutes
 * is dropped, not fired.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

#define VIEWER "viewer-token-0109"
#define OPS    "ops-token-0109"

/* `droverctl schedule show ID --json`: stats member \p name. */
static long long ctl_stat(it_ctx_t *ctx, const char *id, const char *name)
{
	char *out = NULL;
	json_t *j;
	long long v;

	cr_assert_eq(it_ctl(ctx, &out, "schedule", "show", id, "--json", NULL),
		     0);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	v = json_integer_value(json_object_get(json_object_get(j, "stats"),
					       name));
	json_decref(j);
	free(out);
	return v;
}

/* Wait up to \p timeout_ms for stats member \p name of \p id to be
 * \p want. */
static bool stat_wait(it_ctx_t *ctx, const char *id, const char *name,
		      long long want, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 200; i++) {
		if (ctl_stat(ctx, id, name) == want)
			return true;
		usleep(200 * 1000);
	}
	return false;
}

/* Queue a fire-now request for \p schedule made 11 minutes ago, as if no
 * leader had run since: the leader must drop it, not fire it. */
static void push_stale(it_ctx_t *ctx, const char *schedule)
{
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	redisReply *r;
	char err[512], json[256];

	cr_assert_eq(drv_config_load(ctx->config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	drv_fmt(json, sizeof(json), "{\"schedule\":\"%s\",\"task_id\":"
		"\"01M94Q0000000000000000STAE\",\"requested_ms\":%lld,"
		"\"actor\":\"late\"}", schedule,
		(long long)(drv_now_ms() - 11 * 60 * 1000));
	r = redisCommand(rc, "RPUSH %ssched:trigger %s", cfg->redis.key_prefix,
			 json);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER, "RPUSH failed");
	freeReplyObject(r);
	redisFree(rc);
	drv_config_destroy(cfg);
}

static const it_task_t *find(const it_task_t *t, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(t[i].id, id))
			return &t[i];
	return NULL;
}

Test(schedule_trigger, fire_now_through_both_doors, .timeout = 150)
{
	it_ctx_t ctx;
	char sections[1024], *out = NULL, *body = NULL, file_id[32],
	     api_id[32], held_id[32], buf_id[2][32];
	int port = it_free_port(), n;
	it_task_t *t = NULL;
	const it_task_t *f;
	json_t *j;
	pid_t coord, w;

	it_setup(&ctx, "  noop:\n    type: noop\n"
		       "  hold:\n    type: sleep\n    sleep: 60s\n"
		       "  brief:\n    type: sleep\n    sleep: 3s\n");
	it_topics(&ctx);
	drv_fmt(sections, sizeof(sections),
		"api:\n  port: %d\n"
		"api_tokens:\n"
		"  viewer: {role: viewer, env: IT_API_VIEWER_0109}\n"
		"  ops: {role: operator, env: IT_API_OPS_0109}\n"
		"schedules:\n"
		"  yearly:\n"
		"    cron: \"0 0 1 1 *\"\n"
		"    handler: noop\n"
		"    payload: {from: file}\n"
		"  held:\n"
		"    cron: \"0 0 1 1 *\"\n"
		"    handler: hold\n"
		"    overlap: skip\n"
		"  buffered:\n"
		"    cron: \"0 0 1 1 *\"\n"
		"    handler: brief\n"
		"    overlap: buffer_one\n", port);
	it_coord_config(&ctx, "", sections);
	setenv("IT_API_VIEWER_0109", VIEWER, 1);
	setenv("IT_API_OPS_0109", OPS, 1);
	cr_assert_eq(it_ctl(&ctx, NULL, "schedule", "add", "nightly", "--cron",
			    "0 3 * * *", "--handler", "noop", "--payload",
			    "{\"from\":\"runtime\"}", NULL), 0);
	push_stale(&ctx, "yearly");
	w = it_worker_start(&ctx, 1);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_coord_log_wait(&ctx, "c1", "became leader", 15000));
	cr_expect(it_coord_log_wait(&ctx, "c1", "trigger request expired",
				    10000), "an 11-minute-old request was not "
		  "dropped");
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 10000));

	/* droverctl: a config file schedule; prints the task id */
	cr_assert_eq(it_ctl(&ctx, &out, "--as", "alice", "schedule", "trigger",
			    "yearly", NULL), 0, "%s", out);
	drv_fmt(file_id, sizeof(file_id), "%.*s", (int)strcspn(out, "\n"),
		out);
	free(out);
	cr_assert_eq(strlen(file_id), 26, "not a task id: %s", file_id);

	/* the API: a run-time schedule; 202 with the task id */
	cr_assert_eq(it_http_json(port, "POST",
				  "/api/v1/schedules/nightly/trigger", OPS,
				  NULL, &j), 202);
	drv_strlcpy(api_id, json_string_value(json_object_get(j, "id")),
		    sizeof(api_id));
	cr_expect_str_eq(json_string_value(json_object_get(j, "schedule")),
			 "nightly");
	cr_expect(json_string_value(json_object_get(j, "requested_at")));
	json_decref(j);
	cr_assert_eq(strlen(api_id), 26);

	/* unknown schedule, bad id, viewer */
	cr_expect_eq(it_ctl(&ctx, &out, "schedule", "trigger", "nope", NULL), 1,
		     "%s", out);
	free(out);
	cr_expect_eq(it_ctl(&ctx, &out, "schedule", "trigger", NULL), 2);
	free(out);
	cr_expect_eq(it_http_json(port, "POST",
				  "/api/v1/schedules/nope/trigger", OPS, NULL,
				  &j), 404);
	cr_expect_str_eq(json_string_value(json_object_get(j, "title")),
			 "Not Found");
	json_decref(j);
	cr_expect_eq(it_http_call(port, "POST",
				  "/api/v1/schedules/yearly/trigger", VIEWER,
				  NULL, &body), 403);
	free(body);

	/* both ran once: runs counted from the worker's events */
	cr_expect(stat_wait(&ctx, "yearly", "runs", 1, 30000),
		  "the manual fire of yearly did not run");
	cr_expect(stat_wait(&ctx, "nightly", "runs", 1, 30000),
		  "the manual fire of nightly did not run");
	cr_expect_eq(ctl_stat(&ctx, "yearly", "fires"), 1);
	cr_expect_eq(ctl_stat(&ctx, "nightly", "fires"), 1);
	/* the ids answered are the tasks' (droverctl task show, the API) */
	cr_expect_eq(it_ctl(&ctx, &out, "task", "show", file_id, "--json",
			    NULL), 0, "%s", out);
	cr_expect(strstr(out, "succeeded"), "%s", out);
	free(out);
	drv_fmt(sections, sizeof(sections), "/api/v1/tasks/%s", api_id);
	cr_expect_eq(it_http_json(port, "GET", sections, VIEWER, NULL, &j),
		     200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "state")),
			 "succeeded");
	json_decref(j);

	/* overlap skip: the first request's run holds; the second is
	 * dropped */
	cr_assert_eq(it_ctl(&ctx, &out, "schedule", "trigger", "held", NULL),
		     0, "%s", out);
	drv_fmt(held_id, sizeof(held_id), "%.*s", (int)strcspn(out, "\n"),
		out);
	free(out);
	cr_assert(stat_wait(&ctx, "held", "fires", 1, 15000));
	cr_assert_eq(it_ctl(&ctx, &out, "schedule", "trigger", "held", NULL),
		     0, "%s", out);
	free(out);
	cr_expect(stat_wait(&ctx, "held", "skipped", 1, 15000),
		  "the second request was not skipped");
	cr_expect(it_coord_log_wait(&ctx, "c1", "skipped_overlap", 5000));
	cr_expect_eq(ctl_stat(&ctx, "held", "fires"), 1);

	/* overlap buffer_one: the second request waits for the first run */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(it_ctl(&ctx, &out, "schedule", "trigger",
				    "buffered", NULL), 0, "%s", out);
		drv_fmt(buf_id[i], sizeof(buf_id[i]), "%.*s",
			(int)strcspn(out, "\n"), out);
		free(out);
		if (!i)
			cr_assert(stat_wait(&ctx, "buffered", "fires", 1,
					    15000));
	}
	cr_expect(stat_wait(&ctx, "buffered", "buffered", 1, 15000),
		  "the second request was not buffered");
	cr_expect_eq(ctl_stat(&ctx, "buffered", "fires"), 1,
		     "fired while the first run lasts");
	cr_expect(stat_wait(&ctx, "buffered", "fires", 2, 20000),
		  "the buffered request was not fired when the run ended");
	cr_expect(stat_wait(&ctx, "buffered", "runs", 2, 20000));

	/* the audit record of the API's request, by the token's name */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--json", NULL), 0);
	cr_expect(strstr(out, "schedule.trigger") && strstr(out, "\"ops\"") &&
		  strstr(out, "\"alice\""), "%s", out);
	free(out);

	it_stop(w, SIGKILL, 10000);
	it_stop(coord, SIGTERM, 10000);

	/* what was published: exactly the five fires, as asked */
	n = it_tasks(&ctx, "tasks.normal", 100, 3000, &t);
	cr_expect_eq(n, 5, "%d tasks published", n);
	cr_assert_not_null(f = find(t, n, file_id), "no task %s", file_id);
	cr_expect_str_eq(f->schedule, "yearly");
	cr_expect_str_eq(f->fire, "manual");
	cr_expect_str_eq(f->actor, "alice");
	cr_expect(strstr(f->payload, "\"file\""), "%s", f->payload);
	cr_expect(f->fence > 0);
	cr_expect(f->scheduled_ms > it_now_ms() - 120000);
	cr_assert_not_null(f = find(t, n, api_id), "no task %s", api_id);
	cr_expect_str_eq(f->schedule, "nightly");
	cr_expect_str_eq(f->fire, "manual");
	cr_expect_str_eq(f->actor, "ops");
	cr_expect(strstr(f->payload, "\"runtime\""), "%s", f->payload);
	cr_expect_not_null(find(t, n, held_id));
	for (int i = 0; i < 2; i++) {
		cr_assert_not_null(f = find(t, n, buf_id[i]), "no task %s",
				   buf_id[i]);
		cr_expect_str_eq(f->fire, "manual");
		cr_expect_str_eq(f->schedule, "buffered");
	}
	free(t);
	it_teardown(&ctx);
}
