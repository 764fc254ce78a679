/*
 * 0112 — retry analytics (issue 13): a worker with worker.task_state
 * `failures` (so a first-attempt success writes no task state) still counts
 * every finished task per handler. `flaky` fails the first attempt of the
 * tasks whose payload asks for it (transient) and succeeds on the second;
 * `broken` fails for good. GET /api/v1/retries/analytics and `droverctl
 * retry analytics` then report exactly the successes per attempt, the dead
 * per attempt, the failures per class and the lateness of the retries;
 * a range over 14 days is cut to 14, bad input refused (400, exit 2).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/retry_stats.h"
#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

#define OPS    "ops-token-0112"
#define VIEWER "viewer-token-0112"
#define FLAKY_FIRST 3   /* flaky tasks that fail their first attempt */
#define FLAKY_OK    2   /* flaky tasks that succeed at once */
#define BROKEN      2

static const char handlers[] =
	"  flaky:\n"
	"    shell: true\n"
	"    policy: quick\n"
	"    command: 'p=$(cat); case \"$p\" in *again*) "
	"[ \"$DROVER_ATTEMPT\" -ge 2 ] || exit 75;; esac; "
	"echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"'\n"
	"  broken:\n"
	"    shell: true\n"
	"    policy: quick\n"
	"    command: 'echo \"bad $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n"
	"retry_policies:\n"
	"  quick:\n"
	"    base_delay: 200ms\n"
	"    multiplier: 1\n"
	"    max_delay: 1s\n"
	"    max_attempts: 3\n"
	"    jitter: none\n";

/* o[a] or o[a][b] */
#define num it_json_num

/* The handler \p name of a reply, or NULL. */
static json_t *handler_of(json_t *reply, const char *name)
{
	size_t i;
	json_t *h;

	json_array_foreach(json_object_get(reply, "handlers"), i, h)
		if (!strcmp(json_string_value(json_object_get(h, "handler")),
			    name))
			return h;
	return NULL;
}

/* GET the analytics of every handler until both have finished all their
 * tasks (the counters come with the writer's next batch). */
static json_t *wait_analytics(int port)
{
	json_t *o = NULL;

	for (int i = 0; i < 100; i++) {
		cr_assert_eq(it_http_json(port, "GET",
					  "/api/v1/retries/analytics?since=1h",
					  VIEWER, NULL, &o), 200);
		if (num(handler_of(o, "flaky"), "finished", NULL) ==
		    FLAKY_FIRST + FLAKY_OK &&
		    num(handler_of(o, "broken"), "finished", NULL) == BROKEN)
			return o;
		json_decref(o);
		usleep(200 * 1000);
	}
	cr_assert_fail("the analytics never counted every task");
	return NULL;
}

static void check_flaky(const json_t *h)
{
	cr_assert_not_null(h);
	cr_assert_eq(num(h, "finished", NULL), 5);
	cr_assert_eq(num(h, "succeeded", NULL), 5);
	cr_assert_eq(num(h, "dead", NULL), 0);
	cr_assert_eq(num(h, "attempts", NULL), 5 + FLAKY_FIRST);
	cr_assert_eq(num(h, "succeeded_by_attempt", "1"), FLAKY_OK);
	cr_assert_eq(num(h, "succeeded_by_attempt", "2"), FLAKY_FIRST);
	cr_assert_eq(num(h, "succeeded_by_attempt", "3"), 0);
	cr_assert_float_eq(json_real_value(json_object_get(json_object_get(
			   h, "success_within"), "1")), 0.4, 1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(json_object_get(
			   h, "success_within"), "2")), 1.0, 1e-9);
	cr_assert_eq(num(h, "failures", "transient"), FLAKY_FIRST);
	cr_assert_eq(num(h, "failures", "permanent"), 0);
	/* each retry was due 200 ms after its failure; it started then or
	 * later, within the minute */
	cr_assert_eq(num(h, "lateness_ms", "count"), FLAKY_FIRST);
	cr_assert(num(h, "lateness_ms", "mean") >= 0 &&
		  num(h, "lateness_ms", "mean") < 60000);
	cr_assert_eq(num(h, "duration_ms", "count"), 5 + FLAKY_FIRST);
}

static void check_broken(const json_t *h)
{
	cr_assert_not_null(h);
	cr_assert_eq(num(h, "finished", NULL), BROKEN);
	cr_assert_eq(num(h, "succeeded", NULL), 0);
	cr_assert_eq(num(h, "dead", NULL), BROKEN);
	cr_assert_eq(num(h, "dead_by_attempt", "1"), BROKEN);
	cr_assert_eq(num(h, "dead_by_attempt", "2"), 0);
	cr_assert_eq(num(h, "attempts", NULL), BROKEN);
	cr_assert_eq(num(h, "failures", "permanent"), BROKEN);
	cr_assert_eq(num(h, "failures", "transient"), 0);
	cr_assert_eq(num(h, "lateness_ms", "count"), 0);
}

Test(retry_analytics, counts_per_attempt_and_class, .timeout = 180)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	char id[DRV_ID_LEN + 1], *out = NULL;
	json_t *o;
	int port;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0112", OPS, VIEWER, "",
			    &coord);
	setenv("DROVER_WORKER_TASK_STATE", "failures", 1);
	worker = it_worker_start(&ctx, 1);
	for (int i = 0; i < FLAKY_FIRST; i++)
		it_submit(&ctx, id, "flaky", "--payload", "{\"again\":1}",
			  NULL);
	for (int i = 0; i < FLAKY_OK; i++)
		it_submit(&ctx, id, "flaky", "--payload", "{}", NULL);
	for (int i = 0; i < BROKEN; i++)
		it_submit(&ctx, id, "broken", NULL);
	cr_assert_eq(it_wait_count(&ctx, "ok", NULL, 5, 60000), 5,
		     "see %s", ctx.dir);
	cr_assert_eq(it_wait_count(&ctx, "bad", NULL, BROKEN, 60000), BROKEN);

	/* the API: every handler of the config, in its order */
	o = wait_analytics(port);
	cr_assert_eq(json_array_size(json_object_get(o, "handlers")), 2);
	check_flaky(handler_of(o, "flaky"));
	check_broken(handler_of(o, "broken"));
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/retries/analytics?"
				  "handler=broken&since=2h&until=0s", VIEWER,
				  NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "handlers")), 1);
	check_broken(handler_of(o, "broken"));
	json_decref(o);
	/* a range before the tasks ran counts nothing */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/retries/analytics?"
				  "handler=flaky&since=3d&until=2d", VIEWER,
				  NULL, &o), 200);
	cr_assert_eq(num(handler_of(o, "flaky"), "finished", NULL), 0);
	json_decref(o);
	/* until before since: nothing; over 14 days: the last 14 */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/retries/analytics?"
				  "since=1h&until=2h", VIEWER, NULL, &o), 200);
	cr_assert_eq(num(handler_of(o, "flaky"), "finished", NULL), 0);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/retries/analytics?"
				  "since=20d", VIEWER, NULL, &o), 200);
	cr_assert_eq(num(o, "until_ms", NULL) - num(o, "since_ms", NULL),
		     DRV_STATS_KEEP_MS);
	check_flaky(handler_of(o, "flaky"));
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/retries/analytics?"
				  "colour=red", VIEWER, NULL, &o), 400);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/retries/analytics",
				  NULL, NULL, &o), 401);
	json_decref(o);

	/* droverctl: the same core call */
	cr_assert_eq(it_ctl(&ctx, &out, "retry", "analytics", "--handler",
			    "flaky", "--since", "1h", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	free(out);
	check_flaky(handler_of(o, "flaky"));
	json_decref(o);
	cr_assert_eq(it_ctl(&ctx, &out, "retry", "analytics", NULL), 0);
	cr_assert(strstr(out, "flaky: 5 finished (5 succeeded, 0 dead)"),
		  "%s", out);
	cr_assert(strstr(out, "broken: 2 finished (0 succeeded, 2 dead)"),
		  "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, NULL, "retry", "analytics", "--since",
			    "soon", NULL), 2);

	it_stop(worker, SIGTERM, 10000);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}
