/*
 * 0011 — workers joining and leaving in the middle of a run: partitions
 * move with their running tasks finished and committed first, so nothing
 * is lost, and none runs twice.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#define TASKS 200

static bool all_succeeded(const it_event_t *ev, int n, void *arg)
{
	(void)arg;
	return it_events_distinct(ev, n, "task.succeeded", NULL) >= TASKS;
}

static bool read_all(const it_event_t *ev, int n, void *arg)
{
	(void)ev;
	(void)n;
	(void)arg;
	return false; /* until the timeout: every event there is */
}

Test(rebalance, graceful_moves_lose_and_repeat_nothing, .timeout = 240)
{
	it_ctx_t ctx;
	it_event_t *ev;
	pid_t w1, w2, w3;
	int n, total, distinct;

	it_setup(&ctx,
		 "  nap:\n"
		 "    type: sleep\n"
		 "    sleep: 50ms\n");
	it_topics(&ctx);
	it_publish_many(&ctx, "nap", TASKS);
	/* 200 tasks of 50 ms at concurrency 2: about 5 s of work for one
	 * worker; change the group every second meanwhile */
	w1 = it_worker_start(&ctx, 1);
	sleep(1);
	w2 = it_worker_start(&ctx, 2);                     /* joins */
	sleep(1);
	cr_assert_eq(it_stop(w1, SIGTERM, 30000), 0);       /* leaves */
	w3 = it_worker_start(&ctx, 3);                     /* joins */
	n = it_events(&ctx, 120000, all_succeeded, NULL, &ev);
	distinct = it_events_distinct(ev, n, "task.succeeded", &total);
	cr_assert_eq(distinct, TASKS, "%d of %d tasks succeeded; see %s",
		     distinct, TASKS, ctx.dir);
	/* stop both so a late duplicate would have shown up */
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w3, SIGTERM, 30000), 0);
	free(ev);
	n = it_events(&ctx, 8000, read_all, NULL, &ev);
	distinct = it_events_distinct(ev, n, "task.succeeded", &total);
	cr_assert_eq(distinct, TASKS, "a task was lost");
	/* revoked partitions' tasks finish and are committed before they
	 * move: none runs twice */
	cr_log_info("graceful rebalances: %d duplicate runs of %d tasks",
		    total - distinct, TASKS);
	cr_assert_eq(total - distinct, 0, "%d of %d tasks ran twice; see %s",
		     total - distinct, TASKS, ctx.dir);
	free(ev);
	it_teardown(&ctx);
}
