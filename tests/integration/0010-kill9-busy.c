/*
 * 0010 — SIGKILL a worker while it has many tasks in flight (concurrency
 * 16): every task still ends succeeded; only tasks the killed worker had
 * not committed run twice.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TASKS 600

static bool all_succeeded(const it_event_t *ev, int n, void *arg)
{
	(void)arg;
	return it_events_distinct(ev, n, "task.succeeded", NULL) >= TASKS;
}

Test(kill9_busy, nothing_lost_at_concurrency_16, .timeout = 240)
{
	it_ctx_t ctx;
	it_event_t *ev;
	pid_t w1, w2;
	int n, total, distinct, status;

	it_setup(&ctx,
		 "  nap:\n"
		 "    type: sleep\n"
		 "    sleep: 100ms\n");
	it_topics(&ctx);
	it_publish_many(&ctx, "nap", TASKS);
	/* 600 tasks of 100 ms, 2 workers at 16: about 2 s of work each */
	setenv("DROVER_WORKER_CONCURRENCY", "16", 1);
	w1 = it_worker_start(&ctx, 1);
	w2 = it_worker_start(&ctx, 2);
	unsetenv("DROVER_WORKER_CONCURRENCY");
	usleep(1500 * 1000);  /* in the middle of the run */
	kill(w1, SIGKILL);
	waitpid(w1, &status, 0);
	n = it_events(&ctx, 120000, all_succeeded, NULL, &ev);
	distinct = it_events_distinct(ev, n, "task.succeeded", &total);
	cr_assert_eq(distinct, TASKS, "%d of %d tasks succeeded; see %s",
		     distinct, TASKS, ctx.dir);
	cr_assert_eq(it_events_distinct(ev, n, "task.dead", NULL), 0);
	cr_log_info("kill -9 at concurrency 16: %d duplicate runs of %d tasks",
		    total - distinct, TASKS);
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);
	free(ev);
	it_teardown(&ctx);
}
