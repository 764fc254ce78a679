/*
 * 0004 — a worker killed with SIGKILL in the middle of a task loses
 * nothing: the other worker of the group runs the task again.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static const char slow[] =
	"  slow:\n"
	"    shell: true\n"
	"    command: 'echo \"start $DROVER_TASK_ID $PPID\" >> \"$OUT\"; "
	"sleep 3; echo \"done $DROVER_TASK_ID $PPID\" >> \"$OUT\"'\n";

Test(kill9, task_is_run_again_by_the_other_worker, .timeout = 180)
{
	it_ctx_t ctx;
	char id[32], w1s[16], w2s[16];
	pid_t w1, w2, victim, survivor;
	int status;

	it_setup(&ctx, slow);
	it_topics(&ctx);
	w1 = it_worker_start(&ctx, 1);
	w2 = it_worker_start(&ctx, 2);
	snprintf(w1s, sizeof(w1s), " %d", (int)w1);
	snprintf(w2s, sizeof(w2s), " %d", (int)w2);

	it_submit(&ctx, id, "slow", NULL);
	cr_assert_eq(it_wait_count(&ctx, "start ", id, 1, 60000), 1,
		     "task never started; see %s", ctx.dir);
	victim = it_count(&ctx, "start ", w1s) ? w1 : w2;
	survivor = victim == w1 ? w2 : w1;
	kill(victim, SIGKILL);
	waitpid(victim, &status, 0);

	/* session timeout 6 s, then a rebalance, then the rerun (3 s) */
	cr_assert_eq(it_wait_count(&ctx, "done ", id, 1, 90000), 1,
		     "task lost after kill -9; see %s", ctx.dir);
	cr_assert_eq(it_count(&ctx, "done ", victim == w1 ? w2s : w1s), 1,
		     "the survivor should have finished it");
	cr_assert_eq(it_count(&ctx, "start ", id), 2, "expected one rerun");
	cr_assert_eq(it_stop(survivor, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
