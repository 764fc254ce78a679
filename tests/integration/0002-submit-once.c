/*
 * 0002 — tasks submitted with droverctl are run exactly once by one of two
 * workers sharing a group, and their payload reaches the handler's stdin.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TASKS 20

/* Worker 2 logged an assignment of task partitions (count not 0): the
 * group's rebalance for its joining has ended. */
static bool second_has_tasks(it_ctx_t *ctx, int timeout_ms)
{
	static const char needle[] = "partitions assigned\" consumer=tasks "
				     "count=";
	char path[300];

	snprintf(path, sizeof(path), "%s/worker-2.log", ctx->dir);
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		char *text = it_read(path), *p = text;
		bool found = false;

		while (p && (p = strstr(p, needle)) && !found) {
			p += sizeof(needle) - 1;
			found = *p >= '1' && *p <= '9';
		}
		free(text);
		if (found)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

Test(submit, each_task_runs_exactly_once, .timeout = 180)
{
	it_ctx_t ctx;
	char ids[TASKS][32];
	pid_t w1, w2;

	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID $PPID $(cat)\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	w1 = it_worker_start(&ctx, 1);
	w2 = it_worker_start(&ctx, 2);
	/* tasks go out once the group is steady: a commit made while another
	 * member joins can be refused (docs/worker.md, At-least-once), and
	 * such reruns are not what this test is about */
	cr_assert(second_has_tasks(&ctx, 60000), "worker 2 never got task "
		  "partitions; see %s", ctx.dir);

	for (int i = 0; i < TASKS; i++) {
		char payload[64];
		snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
		it_submit(&ctx, ids[i], "record", "--payload", payload,
			  "--priority", i % 2 ? "9" : "2", NULL);
	}
	cr_assert_eq(it_wait_count(&ctx, "run ", NULL, TASKS, 60000), TASKS,
		     "not every task ran; see %s", ctx.dir);
	/* give a duplicate time to show up: stop both workers gracefully */
	cr_assert_eq(it_stop(w1, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);

	cr_assert_eq(it_count(&ctx, "run ", NULL), TASKS, "a task ran twice");
	for (int i = 0; i < TASKS; i++) {
		char payload[64];
		snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
		cr_assert_eq(it_count(&ctx, "run ", ids[i]), 1, "task %s", ids[i]);
		cr_assert_eq(it_count(&ctx, "run ", payload), 1,
			     "payload %s not seen once", payload);
	}
	it_teardown(&ctx);
}
