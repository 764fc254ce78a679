/*
 * 0114 — coordinator.dlq_depth_alert against the real Kafka and Redis, two
 * coordinators reading the same DLQ: two dead letters under a threshold of
 * three raise nothing; the third raises exactly one dlq.depth_exceeded
 * event on the events topic, however many coordinators saw the depth
 * cross (the leader tells; two replicas reading the depth at different
 * times once told it twice).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ALERT "dlq.depth_exceeded"

static int count(const it_event_t *ev, int n, const char *type)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += !strcmp(ev[i].type, type);
	return k;
}

static bool seen(const it_event_t *ev, int n, void *arg)
{
	return count(ev, n, ALERT) >= *(int *)arg;
}

Test(dlq_alert, once_per_crossing_for_the_fleet, .timeout = 150)
{
	it_ctx_t ctx;
	it_event_t *ev;
	it_msg_t *msgs;
	char id[32];
	int n, one = 1, two = 2;
	pid_t w, c1, c2;

	it_setup(&ctx,
		 "  fail:\n"
		 "    command: [\"false\"]\n");
	it_coord_config(&ctx, "  dlq_depth_alert: 3\n", "");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	c1 = it_coordinator_start(&ctx, "c1");
	c2 = it_coordinator_start(&ctx, "c2");
	for (int i = 0; i < 2; i++)
		it_submit(&ctx, id, "fail", NULL);
	n = it_consume(&ctx, "dlq", 2, 60000, &msgs);
	cr_assert_eq(n, 2, "expected 2 dead letters, got %d; see %s", n,
		     ctx.dir);
	it_msgs_free(msgs, n);
	/* both coordinators read the depth (every 5 s) and check it (every
	 * second): two is under three */
	sleep(7);
	n = it_events(&ctx, 3000, seen, &one, &ev);
	cr_assert_eq(count(ev, n, ALERT), 0, "alerted at a depth of 2");
	free(ev);

	it_submit(&ctx, id, "fail", NULL);
	n = it_events(&ctx, 30000, seen, &one, &ev);
	cr_assert_eq(count(ev, n, ALERT), 1, "no %s at a depth of 3; see %s",
		     ALERT, ctx.dir);
	free(ev);
	sleep(7);  /* the other coordinator has seen it cross too */
	n = it_events(&ctx, 3000, seen, &two, &ev);
	cr_assert_eq(count(ev, n, ALERT), 1, "%d %s events for one crossing",
		     count(ev, n, ALERT), ALERT);
	free(ev);
	cr_assert(it_coord_log_wait(&ctx, "c1", "crossed the alert", 1000) ||
		  it_coord_log_wait(&ctx, "c2", "crossed the alert", 1000));

	cr_assert_eq(it_stop(c1, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(c2, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
