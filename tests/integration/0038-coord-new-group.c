/*
 * 0038-coord-new-group.c — a coordinator whose consumer group is new does
 * not replay the events topic into its triggers (issue 14: a new trigger
 * fired about 40 old alerts at once). Events are emitted, then, more than
 * the coordinator's clock-skew allowance (5 s) later, a coordinator with a
 * new group starts and one more event is emitted at once, before the group
 * has its partitions:
 *  - by default only the new event triggers its task;
 *  - coordinator.trigger_past_events alone: still only the new one (the
 *    group starts at the coordinator's start, so the old are not read);
 *  - coordinator.events_start: earliest alone: the old events are read but
 *    skipped as older than the trigger (outcome before_trigger);
 *  - both: every event triggers, the old ones too;
 *  - the group's start is committed: an event sent while its only
 *    coordinator is down, before any event was read, still triggers once
 *    it is back.
 * Run with DROVER_KAFKA_GROUP_PROTOCOL=consumer for the KIP-848 path.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

#define OLD_EVENTS 3

static const char handlers[] = "  rec:\n    type: noop\n";
static const char triggers[] =
	"triggers:\n"
	"  on-order:\n"
	"    event: order.created\n"
	"    handler: rec\n";

static void emit(it_ctx_t *ctx, const char *id)
{
	char *out = NULL;

	cr_assert_eq(it_ctl(ctx, &out, "event", "emit", "order.created",
			    "--id", id, NULL), 0, "emit %s: %s", id,
		     out ? out : "");
	free(out);
}

/* Emit OLD_EVENTS events, wait past the skew allowance, start a
 * coordinator with \p coord_keys and emit one more at once; returns how
 * many tasks the trigger made. \p skipped: the log must say old events
 * were skipped as older than the trigger. */
static int run(const char *coord_keys, int want, bool skipped)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	char id[32], needle[64];
	pid_t c;
	int n, k = 0;

	it_setup(&ctx, handlers);
	it_coord_config(&ctx, coord_keys, triggers);
	it_topics(&ctx);
	for (int i = 1; i <= OLD_EVENTS; i++) {
		drv_fmt(id, sizeof(id), "old-%d", i);
		emit(&ctx, id);
	}
	sleep(6);
	c = it_coordinator_start(&ctx, "coord-1");
	emit(&ctx, "new-1");
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "event_id=new-1", 60000),
		  "the event sent after start-up did not trigger");
	if (want > 1) {
		for (int i = 1; i <= OLD_EVENTS; i++) {
			drv_fmt(needle, sizeof(needle), "event_id=old-%d", i);
			cr_assert(it_coord_log_wait(&ctx, "coord-1", needle,
						    30000), "old-%d was not "
				  "replayed", i);
		}
	}
	if (skipped)
		cr_assert(it_coord_log_wait(&ctx, "coord-1", "older than the "
					    "trigger", 30000),
			  "old events were not read and skipped");
	sleep(3);   /* time for any old event (wrongly) read to fire */
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	n = it_tasks(&ctx, "tasks.normal", 100, 4000, &t);
	for (int i = 0; i < n; i++)
		k += !strcmp(t[i].trigger, "on-order");
	free(t);
	it_teardown(&ctx);
	return k;
}

Test(coord_new_group, skips_events_sent_before_it, .timeout = 150)
{
	int k = run("", 1, false);

	cr_assert_eq(k, 1, "%d tasks: old events were replayed", k);
}

Test(coord_new_group, starts_at_its_start_even_for_past_events,
     .timeout = 150)
{
	int k = run("  trigger_past_events: true\n", 1, false);

	cr_assert_eq(k, 1, "%d tasks: a new group read old events", k);
}

Test(coord_new_group, earliest_reads_but_skips_older_than_trigger,
     .timeout = 150)
{
	int k = run("  events_start: earliest\n", 1, true);

	cr_assert_eq(k, 1, "%d tasks: old events fired a new trigger", k);
}

Test(coord_new_group, earliest_with_past_events_replays, .timeout = 150)
{
	int k = run("  events_start: earliest\n"
		    "  trigger_past_events: true\n", 1 + OLD_EVENTS, false);

	cr_assert_eq(k, 1 + OLD_EVENTS, "%d tasks, want every event", k);
}

Test(coord_new_group, start_is_kept_across_a_restart, .timeout = 150)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	pid_t c;
	int n, k = 0;

	it_setup(&ctx, handlers);
	it_coord_config(&ctx, "", triggers);
	it_topics(&ctx);
	c = it_coordinator_start(&ctx, "coord-1");
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "start at the "
				    "coordinator's start", 60000));
	sleep(2);   /* auto.commit.interval.ms is 200 ms */
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	emit(&ctx, "while-down");
	sleep(6);
	c = it_coordinator_start(&ctx, "coord-2");
	cr_assert(it_coord_log_wait(&ctx, "coord-2", "event_id=while-down",
				    60000), "the event sent while the "
		  "coordinator was down was not read after its restart");
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	n = it_tasks(&ctx, "tasks.normal", 100, 4000, &t);
	for (int i = 0; i < n; i++)
		k += !strcmp(t[i].trigger, "on-order");
	free(t);
	cr_assert_eq(k, 1);
	it_teardown(&ctx);
}
