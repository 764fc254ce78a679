/*
 * 0116 — history per handler and band, and deploy markers (issue 16):
 * tasks that succeed (`slow`, about 0.6 s each) and tasks that fail for
 * good (`broken`) run on two bands (high: priority 9, low: priority 2).
 * Read through the core (drv_history()) and GET /api/v1/history, the
 * series then holds exactly the attempts, failures, successes and dead
 * that ran, split by band as they ran, with the points summing to the
 * total, and a task skipped for its idempotency key counted as skipped; the duration percentiles lie in the bucket of 0.6 s and the
 * submit→start wait counts every first attempt. Deploy markers: an
 * operator sets one (201, audited), a viewer cannot (403), a bad one is
 * refused (400); the list filters by range and the history carries the
 * markers of its range; droverctl reads the same. A marker is changed
 * (label, note, time; a null note taken out) and deleted by id (PATCH /
 * DELETE /api/v1/markers/{id}: 403 to a viewer, 400 with the member's
 * pointer, 404 for an unknown id, audited) and by droverctl marker
 * edit / delete.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/history.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "harness.h"

#define OPS    "ops-token-0116"
#define VIEWER "viewer-token-0116"
#define SLOW_HIGH 3  /* slow tasks at priority 9 */
#define SLOW_LOW  2  /* slow tasks at priority 2 */
#define BROKEN    2  /* broken tasks at priority 2 */

extern char **environ;

static const char handlers[] =
	"  slow:\n"
	"    shell: true\n"
	"    command: 'sleep 0.6; echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"'\n"
	"  broken:\n"
	"    shell: true\n"
	"    policy: quick\n"
	"    command: 'echo \"bad $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n"
	"retry_policies:\n"
	"  quick:\n"
	"    base_delay: 200ms\n"
	"    max_attempts: 3\n"
	"    jitter: none\n";

/* o[a] or o[a][b] */
#define num it_json_num

/* GET \p path until its total counts \p attempts (the counters come with
 * the workers' next flush). New reference. */
static json_t *wait_history(int port, const char *path, long long attempts)
{
	json_t *o = NULL;

	for (int i = 0; i < 100; i++) {
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o),
			     200);
		if (num(json_object_get(o, "total"), "attempts", NULL) >=
		    attempts)
			return o;
		json_decref(o);
		usleep(200 * 1000);
	}
	cr_assert_fail("%s never counted %lld attempts", path, attempts);
	return NULL;
}

/* The points of \p o sum to its total, and each point's time is a
 * multiple of the step. */
static void check_points(const json_t *o)
{
	long long sum = 0, failed = 0, step = num(o, "step_ms", NULL);
	size_t i;
	json_t *p;

	cr_assert_gt(json_array_size(json_object_get(o, "points")), 0);
	json_array_foreach(json_object_get(o, "points"), i, p) {
		sum += num(p, "attempts", NULL);
		failed += num(p, "failed", NULL);
		cr_assert_eq(num(p, "t", NULL) % step, 0);
	}
	cr_assert_eq(sum, num(json_object_get(o, "total"), "attempts", NULL));
	cr_assert_eq(failed, num(json_object_get(o, "total"), "failed", NULL));
}

static void check_total(const json_t *o, long long attempts,
			long long failed, long long ok, long long dead)
{
	const json_t *t = json_object_get(o, "total");

	cr_assert_eq(num(t, "attempts", NULL), attempts);
	cr_assert_eq(num(t, "failed", NULL), failed);
	cr_assert_eq(num(t, "succeeded", NULL), ok);
	cr_assert_eq(num(t, "dead", NULL), dead);
	cr_assert_eq(num(t, "skipped", NULL), 0);
	cr_assert_eq(num(t, "cancelled", NULL), 0);
	cr_assert_float_eq(json_real_value(json_object_get(t, "failure_rate")),
			   attempts ? (double)failed / (double)attempts : 0,
			   1e-9);
	/* every first attempt had its submit→start wait counted */
	cr_assert_eq(num(t, "wait_ms", "count"), attempts);
	check_points(o);
}

Test(history, series_per_handler_and_band, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	drv_config_t *cfg = NULL;
	drv_history_query_t q = { .band = "low" };
	redisContext *rc = NULL;
	char err[512], *out = NULL;
	long long now;
	json_t *o, *m;
	int port;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0116", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);
	it_publish_prio(&ctx, "slow", SLOW_HIGH, 9);
	it_publish_prio(&ctx, "slow", SLOW_LOW, 2);
	it_publish_prio(&ctx, "broken", BROKEN, 2);
	cr_assert_eq(it_wait_count(&ctx, "ok", NULL, SLOW_HIGH + SLOW_LOW,
				   90000), SLOW_HIGH + SLOW_LOW, "see %s",
		     ctx.dir);
	cr_assert_eq(it_wait_count(&ctx, "bad", NULL, BROKEN, 60000), BROKEN);

	/* every task: the bands summed */
	o = wait_history(port, "/api/v1/history?since=1h", 7);
	check_total(o, 7, BROKEN, SLOW_HIGH + SLOW_LOW, BROKEN);
	cr_assert_eq(num(o, "step_ms", NULL), 60000);
	cr_assert(json_is_null(json_object_get(o, "handler")));
	json_decref(o);
	/* per band: high ran 3 slow ones, low 2 slow and 2 broken */
	o = wait_history(port, "/api/v1/history?band=high&since=1h",
			 SLOW_HIGH);
	check_total(o, SLOW_HIGH, 0, SLOW_HIGH, 0);
	json_decref(o);
	o = wait_history(port, "/api/v1/history?band=low&since=1h&step=5m",
			 SLOW_LOW + BROKEN);
	check_total(o, SLOW_LOW + BROKEN, BROKEN, SLOW_LOW, BROKEN);
	cr_assert_eq(num(o, "step_ms", NULL), 300000);
	json_decref(o);
	/* per handler: slow ran 0.6 s, in the bucket (500, 1000] */
	o = wait_history(port, "/api/v1/history?handler=slow&since=2h",
			 SLOW_HIGH + SLOW_LOW);
	check_total(o, SLOW_HIGH + SLOW_LOW, 0, SLOW_HIGH + SLOW_LOW, 0);
	m = json_object_get(json_object_get(o, "total"), "duration_ms");
	cr_assert_eq(num(m, "count", NULL), SLOW_HIGH + SLOW_LOW);
	cr_assert(num(m, "p50", NULL) > 500 && num(m, "p50", NULL) <= 1000,
		  "p50 %lld", num(m, "p50", NULL));
	cr_assert(num(m, "p99", NULL) >= num(m, "p50", NULL) &&
		  num(m, "p99", NULL) <= 1000, "p99 %lld", num(m, "p99", NULL));
	m = json_object_get(json_object_get(o, "total"), "wait_ms");
	cr_assert(num(m, "p99", NULL) >= num(m, "p50", NULL));
	json_decref(o);
	o = wait_history(port, "/api/v1/history?handler=broken&since=1h",
			 BROKEN);
	check_total(o, BROKEN, BROKEN, 0, BROKEN);
	json_decref(o);

	/* the core call itself, on a connection of its own */
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	now = it_now_ms();
	q.since_ms = now - 3600000;
	cr_assert_eq(drv_history(cfg, rc, &q, now, &o, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_total(o, SLOW_LOW + BROKEN, BROKEN, SLOW_LOW, BROKEN);
	cr_assert_str_eq(json_string_value(json_object_get(o, "band")), "low");
	json_decref(o);
	/* a range before the tasks ran: nothing; a 14-day read works */
	q.since_ms = now - 3 * 86400000LL;
	q.until_ms = now - 2 * 86400000LL;
	cr_assert_eq(drv_history(cfg, rc, &q, now, &o, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_total(o, 0, 0, 0, 0);
	json_decref(o);
	q.band = NULL;
	q.since_ms = now - 14 * 86400000LL;
	q.until_ms = now;
	cr_assert_eq(drv_history(cfg, rc, &q, now, &o, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_total(o, 7, BROKEN, SLOW_HIGH + SLOW_LOW, BROKEN);
	cr_assert_eq(num(o, "step_ms", NULL), 15 * 60000);
	cr_assert_leq(json_array_size(json_object_get(o, "points")),
		      DRV_HISTORY_POINTS_MAX);
	json_decref(o);
	q.band = "middle";
	cr_assert_eq(drv_history(cfg, rc, &q, now, &o, err, sizeof(err)),
		     DRV_ERR_INVALID);

	/* bad queries */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/history?band=middle",
				  VIEWER, NULL, &o), 400);
	json_decref(o);
	/* with a handler, a band is ignored: the handler's series */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/history?handler=slow&"
				  "band=low&since=2h", VIEWER, NULL, &o), 200);
	check_total(o, SLOW_HIGH + SLOW_LOW, 0, SLOW_HIGH + SLOW_LOW, 0);
	cr_assert(json_is_null(json_object_get(o, "band")));
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/history?since=14d&"
				  "step=1m", VIEWER, NULL, &o), 200);
	cr_assert_eq(num(o, "step_ms", NULL), 15 * 60000);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/history?step=90s",
				  VIEWER, NULL, &o), 400);
	json_decref(o);
	/* a custom range (the console's zoom): RFC 3339 times, kept to the
	 * millisecond, the step chosen for at most 1500 points (1m for 90
	 * minutes; 15m for 14 days) */
	{
		char since[40], until[40], path[256];
		long long u = it_now_ms();

		drv_format_time(u - 90 * 60000LL, since, sizeof(since));
		drv_format_time(u, until, sizeof(until));
		drv_fmt(path, sizeof(path), "/api/v1/history?since=%s&"
			"until=%s", since, until);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL,
					  &o), 200);
		cr_assert_eq(num(o, "since_ms", NULL), u - 90 * 60000LL);
		cr_assert_eq(num(o, "until_ms", NULL), u);
		cr_assert_eq(num(o, "step_ms", NULL), 60000);
		check_total(o, 7, BROKEN, SLOW_HIGH + SLOW_LOW, BROKEN);
		json_decref(o);
		/* a range before the tasks: none of them */
		drv_format_time(u - 3 * 3600000LL, since, sizeof(since));
		drv_format_time(u - 2 * 3600000LL, until, sizeof(until));
		drv_fmt(path, sizeof(path), "/api/v1/history?since=%s&"
			"until=%s", since, until);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL,
					  &o), 200);
		check_total(o, 0, 0, 0, 0);
		cr_assert_eq(json_array_size(json_object_get(o, "points")),
			     61);
		json_decref(o);
		drv_format_time(u - 20 * 86400000LL, since, sizeof(since));
		drv_fmt(path, sizeof(path), "/api/v1/history?since=%s", since);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL,
					  &o), 200);
		cr_assert_eq(num(o, "step_ms", NULL), 15 * 60000);
		cr_assert_leq(json_array_size(json_object_get(o, "points")),
			      1500);
		cr_assert_eq(num(o, "until_ms", NULL) - num(o, "since_ms",
			     NULL), 14 * 86400000LL);
		json_decref(o);
		/* until at or before since, or a bad time: 400 with the
		 * parameter's pointer */
		drv_fmt(path, sizeof(path), "/api/v1/history?since=%s&"
			"until=%s", until, until);
		it_http_bad_query(port, path, VIEWER, "/until");
		it_http_bad_query(port, "/api/v1/history?since=1h&until=2h",
				  VIEWER, "/until");
		it_http_bad_query(port, "/api/v1/history?since=1h&"
				  "until=2026-13-01T00:00:00Z", VIEWER,
				  "/until");
		it_http_bad_query(port, "/api/v1/history?since=yesterday",
				  VIEWER, "/since");
		it_http_bad_query(port, "/api/v1/dlq/depth?since=1h&until=2h",
				  VIEWER, "/until");
		it_http_bad_query(port, "/api/v1/markers?since=1h&until=1h",
				  VIEWER, "/until");
	}
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/history", NULL, NULL,
				  &o), 401);
	json_decref(o);

	/* a task skipped (its idempotency key done before) is an outcome of
	 * its own: counted in skipped, not in attempts */
	{
		char id[32];

		it_submit(&ctx, id, "slow", "--idempotency-key", "k0116",
			  NULL);
		cr_assert_eq(it_wait_count(&ctx, "ok", NULL, SLOW_HIGH +
					   SLOW_LOW + 1, 30000),
			     SLOW_HIGH + SLOW_LOW + 1);
		it_submit(&ctx, id, "slow", "--idempotency-key", "k0116",
			  NULL);
		for (int i = 0; i < 100; i++) {
			cr_assert_eq(it_http_json(port, "GET", "/api/v1/history?"
						  "handler=slow&since=1h",
						  VIEWER, NULL, &o), 200);
			if (num(json_object_get(o, "total"), "skipped",
				NULL) >= 1)
				break;
			json_decref(o);
			o = NULL;
			usleep(200 * 1000);
		}
		cr_assert_not_null(o, "the skipped task was never counted");
		cr_assert_eq(num(json_object_get(o, "total"), "skipped", NULL),
			     1);
		cr_assert_eq(num(json_object_get(o, "total"), "attempts",
				 NULL), SLOW_HIGH + SLOW_LOW + 1);
		cr_assert_eq(num(json_object_get(o, "total"), "cancelled",
				 NULL), 0);
		json_decref(o);
	}

	/* markers: an operator sets one, a viewer cannot, bad ones fail */
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", OPS,
				  "{\"label\": \"v1.4.2\", \"note\": \"rollout\"}",
				  &o), 201);
	cr_assert_str_eq(json_string_value(json_object_get(o, "label")),
			 "v1.4.2");
	cr_assert_str_eq(json_string_value(json_object_get(o, "actor")), "ops");
	json_decref(o);
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", VIEWER,
				  "{\"label\": \"nope\"}", &o), 403);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", OPS,
				  "{\"note\": \"no label\"}", &o), 400);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", OPS,
				  "{\"label\": \"x\", \"colour\": 1}", &o), 400);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", OPS,
				  "{\"label\": \"x\", \"at\": \"soon\"}", &o),
		     400);
	json_decref(o);
	/* older than 14 days: taken, and gone at once */
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", OPS,
				  "{\"label\": \"old\", \"at\": 1000}", &o), 201);
	json_decref(o);

	/* one set in the past, by RFC 3339 time: 3 hours ago */
	{
		char at[40], body[128];

		drv_format_time(it_now_ms() - 3 * 3600000LL, at, sizeof(at));
		drv_fmt(body, sizeof(body), "{\"label\": \"v1.4.1\", "
			"\"at\": \"%s\"}", at);
		cr_assert_eq(it_http_json(port, "POST", "/api/v1/markers", OPS,
					  body, &o), 201);
		json_decref(o);
	}
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?since=1h",
				  VIEWER, NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "markers")), 1);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?since=4h",
				  VIEWER, NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "markers")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
			 json_object_get(o, "markers"), 0), "label")), "v1.4.1");
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?since=4h&"
				  "until=2h", VIEWER, NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "markers")), 1);
	json_decref(o);
	o = wait_history(port, "/api/v1/history?since=1h", 7);
	cr_assert_eq(json_array_size(json_object_get(o, "markers")), 1);
	json_decref(o);
	/* audited under the token's name */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/audit?action=marker.add"
				  "&actor=ops", VIEWER, NULL, &o), 200);
	cr_assert_eq(num(o, "matched", NULL), 3, "%s",
		     json_dumps(o, JSON_COMPACT));
	json_decref(o);

	/* a marker changed and deleted by id (PATCH / DELETE) */
	{
		char path[128], id[40];
		long long created;
		json_t *m;

		cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?"
					  "since=4h&until=2h", VIEWER, NULL,
					  &o), 200);
		m = json_array_get(json_object_get(o, "markers"), 0);
		drv_strlcpy(id, json_string_value(json_object_get(m, "id")),
			    sizeof(id));
		created = num(m, "created_ms", NULL);
		json_decref(o);
		drv_fmt(path, sizeof(path), "/api/v1/markers/%s", id);
		cr_assert_eq(it_http_json(port, "PATCH", path, VIEWER,
					  "{\"label\": \"no\"}", &o), 403);
		json_decref(o);
		/* label, note and time: moved to 30 minutes ago */
		cr_assert_eq(it_http_json(port, "PATCH", path, OPS,
					  "{\"label\": \"v1.4.1-fix\", "
					  "\"note\": \"moved\", "
					  "\"at\": \"30m\"}", &o), 200);
		cr_assert_str_eq(json_string_value(json_object_get(o, "id")),
				 id);
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "label")), "v1.4.1-fix");
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "note")), "moved");
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "updated_by")), "ops");
		cr_assert_eq(num(o, "created_ms", NULL), created);
		cr_assert(llabs(num(o, "at_ms", NULL) - (it_now_ms() -
			  1800000)) < 60000, "%s", json_dumps(o, 0));
		cr_assert(num(o, "updated_ms", NULL) >= created);
		json_decref(o);
		cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?"
					  "since=1h", VIEWER, NULL, &o), 200);
		cr_assert_eq(json_array_size(json_object_get(o, "markers")), 2);
		json_decref(o);
		cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?"
					  "since=4h&until=2h", VIEWER, NULL,
					  &o), 200);
		cr_assert_eq(json_array_size(json_object_get(o, "markers")), 0);
		json_decref(o);
		/* a null note is taken out */
		cr_assert_eq(it_http_json(port, "PATCH", path, OPS,
					  "{\"note\": null}", &o), 200);
		cr_assert_null(json_object_get(o, "note"));
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "label")), "v1.4.1-fix");
		json_decref(o);
		/* bad changes: 400 with the member's pointer */
		cr_assert_eq(it_http_json(port, "PATCH", path, OPS, "{}", &o),
			     400);
		json_decref(o);
		cr_assert_eq(it_http_json(port, "PATCH", path, OPS,
					  "{\"label\": \"\"}", &o), 400);
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "pointer")), "/label");
		json_decref(o);
		cr_assert_eq(it_http_json(port, "PATCH", path, OPS,
					  "{\"colour\": 1}", &o), 400);
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "pointer")), "/colour");
		json_decref(o);
		cr_assert_eq(it_http_json(port, "PATCH", path, OPS,
					  "{\"at\": \"soon\"}", &o), 400);
		cr_assert_str_eq(json_string_value(json_object_get(o,
				 "pointer")), "/at");
		json_decref(o);
		/* an unknown id, or one that cannot be a marker's: 404 */
		cr_assert_eq(it_http_json(port, "PATCH", "/api/v1/markers/"
					  "01KBQ3M5Z8X0V7D6N4R2T9C1HA", OPS,
					  "{\"label\": \"x\"}", &o), 404);
		cr_assert(json_is_string(json_object_get(o, "detail")));
		json_decref(o);
		cr_assert_eq(it_http_json(port, "DELETE", "/api/v1/markers/"
					  "nope", OPS, NULL, &o), 404);
		json_decref(o);
		/* delete: a viewer cannot; then gone, and again is 404 */
		cr_assert_eq(it_http_json(port, "DELETE", path, VIEWER, NULL,
					  &o), 403);
		json_decref(o);
		cr_assert_eq(it_http_json(port, "DELETE", path, OPS, NULL,
					  &o), 200);
		cr_assert(json_is_true(json_object_get(o, "deleted")));
		cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(o, "marker"), "label")),
				 "v1.4.1-fix");
		json_decref(o);
		cr_assert_eq(it_http_json(port, "DELETE", path, OPS, NULL,
					  &o), 404);
		json_decref(o);
		cr_assert_eq(it_http_json(port, "GET", "/api/v1/markers?"
					  "since=1h", VIEWER, NULL, &o), 200);
		cr_assert_eq(json_array_size(json_object_get(o, "markers")), 1);
		json_decref(o);
		/* audited under the token's name, with the marker */
		cr_assert_eq(it_http_json(port, "GET", "/api/v1/audit?action="
					  "marker.update&actor=ops", VIEWER,
					  NULL, &o), 200);
		cr_assert_eq(num(o, "matched", NULL), 2);
		json_decref(o);
		cr_assert_eq(it_http_json(port, "GET", "/api/v1/audit?action="
					  "marker.delete&actor=ops&target="
					  "v1.4.1-fix", VIEWER, NULL, &o), 200);
		cr_assert_eq(num(o, "matched", NULL), 1);
		json_decref(o);
	}

	/* droverctl: the same core calls */
	cr_assert_eq(it_ctl(&ctx, &out, "history", "show", "--band", "low",
			    "--since", "1h", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	free(out);
	check_total(o, SLOW_LOW + BROKEN, BROKEN, SLOW_LOW, BROKEN);
	json_decref(o);
	cr_assert_eq(it_ctl(&ctx, &out, "history", "show", "--handler",
			    "broken", "--since", "1h", NULL), 0);
	cr_assert(strstr(out, "broken, step 1m"), "%s", out);
	cr_assert(strstr(out, "marker v1.4.2: rollout"), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "marker", "add", "v1.5.0", "--note",
			    "from ctl", "--json", NULL), 0);
	cr_assert(strstr(out, "\"label\":\"v1.5.0\""), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "marker", "list", "--since", "1h",
			    NULL), 0);
	cr_assert(strstr(out, "marker v1.4.2") && strstr(out, "marker v1.5.0"),
		  "%s", out);
	free(out);
	/* marker edit and delete by the id the list shows */
	{
		char id[40];
		const char *p;
		json_t *m;

		cr_assert_eq(it_ctl(&ctx, &out, "marker", "add", "v1.6.0",
				    "--note", "to edit", "--json", NULL), 0);
		m = json_loads(out, 0, NULL);
		cr_assert_not_null(m, "%s", out);
		free(out);
		drv_strlcpy(id, json_string_value(json_object_get(m, "id")),
			    sizeof(id));
		json_decref(m);
		cr_assert_eq(it_ctl(&ctx, &out, "marker", "list", "--since",
				    "1h", NULL), 0);
		cr_assert((p = strstr(out, "marker v1.6.0: to edit")) &&
			  strstr(p, id), "%s", out);
		free(out);
		cr_assert_eq(it_ctl(&ctx, &out, "marker", "edit", id, "--label",
				    "v1.6.1", "--no-note", "--at", "10m",
				    "--json", NULL), 0);
		m = json_loads(out, 0, NULL);
		cr_assert_not_null(m, "%s", out);
		free(out);
		cr_assert_str_eq(json_string_value(json_object_get(m,
				 "label")), "v1.6.1");
		cr_assert_null(json_object_get(m, "note"));
		cr_assert(json_is_string(json_object_get(m, "updated_by")));
		cr_assert(llabs(num(m, "at_ms", NULL) - (it_now_ms() -
			  600000)) < 60000);
		json_decref(m);
		cr_assert_eq(it_ctl(&ctx, NULL, "marker", "edit", id, NULL), 2);
		cr_assert_eq(it_ctl(&ctx, NULL, "marker", "edit", "nope",
				    "--label", "x", NULL), 2);
		cr_assert_eq(it_ctl(&ctx, NULL, "marker", "edit", id, "--note",
				    "a", "--no-note", NULL), 2);
		cr_assert_eq(it_ctl(&ctx, &out, "marker", "delete", id,
				    "--json", NULL), 0);
		cr_assert(strstr(out, "\"deleted\":true") &&
			  strstr(out, "v1.6.1"), "%s", out);
		free(out);
		cr_assert_eq(it_ctl(&ctx, NULL, "marker", "delete", id, NULL),
			     1);
		cr_assert_eq(it_ctl(&ctx, NULL, "marker", "edit",
				    "01KBQ3M5Z8X0V7D6N4R2T9C1HA", "--label",
				    "x", NULL), 1);
		cr_assert_eq(it_http_json(port, "GET", "/api/v1/audit?action="
					  "marker.&target=v1.6.1", VIEWER,
					  NULL, &o), 200);
		cr_assert_eq(num(o, "matched", NULL), 2);
		json_decref(o);
	}
	cr_assert_eq(it_ctl(&ctx, NULL, "history", "show", "--band", "low",
			    "--handler", "slow", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "history", "show", "--step", "90s",
			    NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "marker", "add", NULL), 2);

	/* the set holds v1.4.2 and v1.5.0: "old" went at once, v1.4.1 and
	 * v1.6.0 were deleted */
	{
		redisReply *r = redisCommand(rc, "ZCARD %smarkers",
					     cfg->redis.key_prefix);

		cr_assert(r && r->type == REDIS_REPLY_INTEGER);
		cr_assert_eq(r->integer, 2);
		freeReplyObject(r);
	}
	redisFree(rc);
	drv_config_destroy(cfg);
	it_stop(worker, SIGTERM, 10000);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}
