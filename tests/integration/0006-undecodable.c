/*
 * 0006 — a message on a task topic that is not a task neither crashes nor
 * stalls the worker: it is logged and the tasks behind it still run.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

#include "harness.h"

Test(undecodable, garbage_is_skipped_not_fatal, .timeout = 120)
{
	it_ctx_t ctx;
	char id[32], log[300];
	static const unsigned char garbage[] = { 0xff, 0x00, 0x13, 0x37, 0x42 };
	pid_t w;

	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	it_produce_raw(&ctx, "tasks.normal", garbage, sizeof(garbage));
	it_produce_raw(&ctx, "tasks.normal", "{\"not\":\"a task\"}", 16);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, id, "record", NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", id, 1, 60000), 1,
		     "task behind garbage never ran; see %s", ctx.dir);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "undecodable", 1000),
		  "undecodable message not logged");
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
