/*
 * 0005 — SIGTERM lets a running task finish, commits it, and exits 0; a
 * worker started afterwards in the same group does not run it again.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

Test(sigterm, running_task_finishes_and_is_committed, .timeout = 180)
{
	it_ctx_t ctx;
	char id[32], marker[32];
	pid_t w;

	it_setup(&ctx,
		 "  slow:\n"
		 "    shell: true\n"
		 "    command: 'echo \"start $DROVER_TASK_ID\" >> \"$OUT\"; "
		 "sleep 3; echo \"done $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, id, "slow", NULL);
	cr_assert_eq(it_wait_count(&ctx, "start ", id, 1, 60000), 1,
		     "task never started; see %s", ctx.dir);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0,
		     "worker did not exit 0 after SIGTERM");
	cr_assert_eq(it_count(&ctx, "done ", id), 1,
		     "SIGTERM did not let the task finish");

	/* A new worker: the marker task runs, the finished one does not. */
	w = it_worker_start(&ctx, 2);
	it_submit(&ctx, marker, "record", NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", marker, 1, 60000), 1,
		     "marker task never ran; see %s", ctx.dir);
	cr_assert_eq(it_count(&ctx, "start ", id), 1,
		     "the finished task ran again: its offset was not committed");
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
