/*
 * 0006 — a message on a task topic that is not a task neither crashes nor
 * stalls the worker: it goes to the dead-letter topic with reason
 * `undecodable` and its bytes kept, and the tasks behind it still run.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "drover/dead_letter.h"
#include "harness.h"

Test(undecodable, garbage_goes_to_the_dlq_with_its_bytes, .timeout = 120)
{
	static const unsigned char garbage[] = { 0xff, 0x00, 0x13, 0x37, 0x42 };
	it_ctx_t ctx;
	char id[32], err[256];
	it_msg_t *msgs;
	pid_t w;
	int n;

	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	it_produce_raw(&ctx, "tasks.normal", garbage, sizeof(garbage));
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, id, "record", NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", id, 1, 60000), 1,
		     "task behind garbage never ran; see %s", ctx.dir);

	n = it_consume(&ctx, "dlq", 1, 30000, &msgs);
	cr_assert_eq(n, 1, "no dead letter for the garbage");
	cr_assert_str_eq(msgs[0].reason, "undecodable");
	{
		drv_dead_letter_t dl;

		drv_dead_letter_init(&dl);
		cr_assert_eq(drv_dead_letter_decode(msgs[0].data, msgs[0].len,
						    &dl, err, sizeof(err)),
			     DRV_OK, "%s", err);
		cr_assert_eq(dl.reason, DRV_DL_UNDECODABLE);
		cr_assert_eq(dl.raw_len, sizeof(garbage));
		cr_assert_eq(memcmp(dl.raw, garbage, sizeof(garbage)), 0);
		cr_assert(strstr(dl.source_topic, "tasks.normal"));
		cr_assert_str_eq(dl.worker_id, "worker-1");
		drv_dead_letter_release(&dl);
	}
	it_msgs_free(msgs, n);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
