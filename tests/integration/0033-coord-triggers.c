/*
 * 0033-coord-triggers.c — event triggers against the real Kafka and Redis,
 * with a worker running the tasks:
 *  - an event from `droverctl event emit` triggers its rule (attribute
 *    glob), with the event's id and payload filled into the task payload;
 *    the same event id emitted twice is acted on once; an event whose
 *    attribute does not match triggers nothing;
 *  - a plain JSON object produced by a raw Kafka producer triggers too;
 *  - a rule on task.succeeded chains a second task (parent and depth set);
 *  - a rule that triggers itself stops at coordinator.chain_depth_limit.
 * (0036 checks what a trigger puts in the task payload.)
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

static const char triggers[] =
	"triggers:\n"
	"  on-emit:\n"
	"    event: order.created\n"
	"    where: {region: \"eu-*\"}\n"
	"    handler: rec\n"
	"    payload: '{\"from\": \"${event.id}\", \"order\": "
	"${event.payload}}'\n"
	"  on-raw:\n"
	"    event: \"raw.*\"\n"
	"    handler: rec\n"
	"  chain:\n"
	"    event: task.succeeded\n"
	"    where: {handler: first}\n"
	"    handler: second\n"
	"  loop-start:\n"
	"    event: loop.start\n"
	"    handler: loop\n"
	"  loop-again:\n"
	"    event: task.succeeded\n"
	"    where: {handler: loop}\n"
	"    handler: loop\n";

static const char handlers[] =
	"  rec:\n    type: noop\n"
	"  first:\n    type: noop\n"
	"  second:\n    type: noop\n"
	"  loop:\n    type: noop\n";

static int count(const it_task_t *t, int n, const char *trigger,
		 const char *handler)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += !strcmp(t[i].trigger, trigger) &&
		     (!handler || !strcmp(t[i].handler, handler));
	return k;
}

Test(coord_triggers, emit_raw_chain_and_loop_limit, .timeout = 150)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	char first[DRV_ID_LEN + 1], log[300], *out = NULL;
	static const char raw[] = "{\"type\":\"raw.thing\",\"id\":\"raw-1\","
				  "\"colour\":\"blue\"}";
	pid_t w, c;
	int n, depth[8] = { 0 };

	it_setup(&ctx, handlers);
	it_coord_config(&ctx, "  chain_depth_limit: 3\n", triggers);
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	c = it_coordinator_start(&ctx, "coord-1");

	cr_assert_eq(it_ctl(&ctx, &out, "event", "emit", "order.created",
			    "--attr", "region=eu-west", "--payload",
			    "{\"n\":7}", "--id", "order-1", NULL), 0);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "event", "emit", "order.created",
			    "--attr", "region=eu-west", "--payload",
			    "{\"n\":7}", "--id", "order-1", NULL), 0);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "event", "emit", "order.created",
			    "--attr", "region=us-east", "--id", "order-2",
			    NULL), 0);
	free(out);
	it_produce_raw(&ctx, "events", raw, strlen(raw));
	it_submit(&ctx, first, "first", NULL);
	cr_assert_eq(it_ctl(&ctx, &out, "event", "emit", "loop.start", NULL),
		     0);
	free(out);

	drv_fmt(log, sizeof(log), "%s/coord-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "chain depth limit reached", 60000),
		  "the loop was not stopped; see %s", log);
	cr_assert(it_wait_file(log, "trigger=chain", 30000));
	sleep(2);
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);

	n = it_tasks(&ctx, "tasks.normal", 1000, 4000, &t);
	cr_assert_eq(count(t, n, "on-emit", "rec"), 1, "order-1 acted on "
		     "%d times (order-2 must not match)",
		     count(t, n, "on-emit", NULL));
	cr_assert_eq(count(t, n, "on-raw", "rec"), 1);
	cr_assert_eq(count(t, n, "chain", "second"), 1);
	cr_assert_eq(count(t, n, "loop-start", "loop"), 1);
	cr_assert_eq(count(t, n, "loop-again", "loop"), 2,
		     "loop ran %d times", count(t, n, "loop-again", "loop"));
	for (int i = 0; i < n; i++) {
		if (!strcmp(t[i].handler, "loop") && t[i].chain_depth < 8)
			depth[t[i].chain_depth]++;
		if (!strcmp(t[i].trigger, "chain"))
			cr_assert_eq(t[i].chain_depth, 1);
	}
	cr_assert(depth[1] == 1 && depth[2] == 1 && depth[3] == 1,
		  "loop depths %d %d %d", depth[1], depth[2], depth[3]);
	free(t);
	it_teardown(&ctx);
}
