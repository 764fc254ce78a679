/*
 * 0009 — a task submitted with --delay never runs before its time, and
 * does not hold up a task submitted after it without a delay.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static long long stamp(it_ctx_t *ctx, const char *id)
{
	char *text = it_read(ctx->out), *p, needle[64];
	long long ms = -1;

	snprintf(needle, sizeof(needle), "run %s ", id);
	if (text && (p = strstr(text, needle)))
		ms = strtoll(p + strlen(needle), NULL, 10);
	free(text);
	return ms;
}

Test(delay, never_early_never_blocking, .timeout = 120)
{
	it_ctx_t ctx;
	char late[32], now[32];
	long long submitted, ran_late, ran_now;
	pid_t w;

	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID $(date +%s%3N)\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	submitted = it_now_ms();
	/* 12 s: longer than the 10s tier, so it hops down to the 1s tier */
	it_submit(&ctx, late, "record", "--delay", "12s", "--key", "k", NULL);
	it_submit(&ctx, now, "record", "--key", "k", NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", late, 1, 60000), 1,
		     "delayed task never ran; see %s", ctx.dir);
	ran_late = stamp(&ctx, late);
	ran_now = stamp(&ctx, now);
	cr_assert(ran_late - submitted >= 12000, "ran %lld ms early",
		  12000 - (ran_late - submitted));
	cr_assert(ran_late - submitted < 12000 + 5000, "ran %lld ms late",
		  ran_late - submitted - 12000);
	cr_assert(ran_now > 0 && ran_now < submitted + 10000,
		  "the undelayed task waited");
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
