/*
 * 0008 — a permanent failure goes to the DLQ at once with one failure
 * recorded; exhausted attempts go with every failure; an unknown handler
 * goes with reason handler_unknown. Each keeps the task as it was.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/str.h"
#include "drover/dead_letter.h"
#include "harness.h"

static const drv_dead_letter_t *find(drv_dead_letter_t *dls, int n,
				     const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(dls[i].task.id, id))
			return &dls[i];
	return NULL;
}

Test(dead_letters, permanent_exhausted_and_unknown, .timeout = 180)
{
	it_ctx_t ctx;
	char perm[32], exh[32], unk[32], err[256];
	drv_dead_letter_t dls[3];
	const drv_dead_letter_t *d;
	it_msg_t *msgs;
	pid_t w;
	int n;

	it_setup(&ctx,
		 "  fail:\n"
		 "    command: [\"false\"]\n"
		 "  tempfail:\n"
		 "    shell: true\n"
		 "    policy: quick\n"
		 "    command: 'echo nope; exit 75'\n"
		 "retry_policies:\n"
		 "  quick:\n"
		 "    base_delay: 200ms\n"
		 "    max_delay: 200ms\n"
		 "    max_attempts: 3\n"
		 "    jitter: none\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, perm, "fail", "--payload", "{\"a\":1}", NULL);
	it_submit(&ctx, exh, "tempfail", NULL);
	{
		/* droverctl refuses handlers its config lacks; a config with
		 * no handlers accepts any name */
		char *out = NULL;
		it_ctx_t bare = ctx;
		drv_fmt(bare.config, sizeof(bare.config), "%s/bare.yaml", ctx.dir);
		FILE *f = fopen(bare.config, "w");
		fprintf(f, "kafka:\n  topic_prefix: \"%s\"\n", ctx.prefix);
		fclose(f);
		cr_assert_eq(it_ctl(&bare, &out, "task", "submit", "--handler",
				    "nosuch", NULL), 0);
		memcpy(unk, out, 26);
		unk[26] = '\0';
		free(out);
	}

	n = it_consume(&ctx, "dlq", 3, 60000, &msgs);
	cr_assert_eq(n, 3, "expected 3 dead letters, got %d; see %s", n, ctx.dir);
	for (int i = 0; i < n; i++) {
		drv_dead_letter_init(&dls[i]);
		cr_assert_eq(drv_dead_letter_decode(msgs[i].data, msgs[i].len,
						    &dls[i], err, sizeof(err)),
			     DRV_OK, "%s", err);
	}

	cr_assert((d = find(dls, n, perm)), "permanent failure not in DLQ");
	cr_assert_eq(d->reason, DRV_DL_PERMANENT_FAILURE);
	cr_assert_eq(d->failure_cnt, 1);
	cr_assert_eq(d->failures[0].exit_code, 1);
	cr_assert_eq(d->failures[0].failure_class, DRV_FAILURE_PERMANENT);
	cr_assert_eq(d->task.payload_len, 7);
	cr_assert_eq(memcmp(d->task.payload, "{\"a\":1}", 7), 0);

	cr_assert((d = find(dls, n, exh)), "exhausted task not in DLQ");
	cr_assert_eq(d->reason, DRV_DL_ATTEMPTS_EXHAUSTED);
	cr_assert_eq(d->failure_cnt, 3, "every attempt's failure kept");
	for (size_t i = 0; i < d->failure_cnt; i++) {
		cr_assert_eq(d->failures[i].attempt, i + 1);
		cr_assert_eq(d->failures[i].exit_code, 75);
		cr_assert_eq(d->failures[i].failure_class, DRV_FAILURE_TRANSIENT);
	}
	cr_assert(d->failures[2].time_ms - d->failures[1].time_ms >= 200);

	cr_assert((d = find(dls, n, unk)), "unknown handler not in DLQ");
	cr_assert_eq(d->reason, DRV_DL_HANDLER_UNKNOWN);

	for (int i = 0; i < n; i++)
		drv_dead_letter_release(&dls[i]);
	it_msgs_free(msgs, n);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
