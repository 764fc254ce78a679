/*
 * 0007 — a handler failing transiently K times then succeeding runs exactly
 * K+1 times, each retry no earlier than its policy says, and a task waiting
 * for its retry does not hold up the tasks behind it on the same partition.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/event.h"
#include "harness.h"

/* "try ID MS" per attempt; exits 75 (transient) until the third attempt. */
static const char handlers[] =
	"  flaky:\n"
	"    shell: true\n"
	"    policy: quick\n"
	"    command: 'n=$(grep -c \"^try $DROVER_TASK_ID\" \"$OUT\"); "
	"echo \"try $DROVER_TASK_ID $(date +%s%3N)\" >> \"$OUT\"; "
	"[ \"$n\" -ge 2 ] || exit 75'\n"
	"  record:\n"
	"    shell: true\n"
	"    command: 'echo \"run $DROVER_TASK_ID $(date +%s%3N)\" >> \"$OUT\"'\n"
	"retry_policies:\n"
	"  quick:\n"
	"    base_delay: 1s\n"
	"    multiplier: 2\n"
	"    max_delay: 10s\n"
	"    max_attempts: 5\n"
	"    jitter: none\n";

/* The ms stamp of the n-th line starting with "<what> <id> ". */
static long long stamp(it_ctx_t *ctx, const char *what, const char *id, int nth)
{
	char *text = it_read(ctx->out), *p = text, needle[64];
	long long ms = -1;

	snprintf(needle, sizeof(needle), "%s %s ", what, id);
	while (p && (p = strstr(p, needle))) {
		if (nth-- == 0) {
			ms = strtoll(p + strlen(needle), NULL, 10);
			break;
		}
		p += strlen(needle);
	}
	free(text);
	return ms;
}

Test(retry, transient_failures_retry_on_schedule, .timeout = 180)
{
	it_ctx_t ctx;
	char id[32], other[32];
	long long t0, t1, t2, r;
	pid_t w;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, id, "flaky", "--key", "same", NULL);
	cr_assert_eq(it_wait_count(&ctx, "try ", id, 1, 60000), 1,
		     "first attempt never ran; see %s", ctx.dir);
	/* same key, so same partition, submitted while the retry waits */
	it_submit(&ctx, other, "record", "--key", "same", NULL);

	cr_assert_eq(it_wait_count(&ctx, "try ", id, 3, 60000), 3,
		     "expected 3 attempts; see %s", ctx.dir);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	cr_assert_eq(it_count(&ctx, "try ", id), 3, "ran more than K+1 times");

	t0 = stamp(&ctx, "try", id, 0);
	t1 = stamp(&ctx, "try", id, 1);
	t2 = stamp(&ctx, "try", id, 2);
	r = stamp(&ctx, "run", other, 0);
	cr_assert(t1 - t0 >= 1000, "first retry early: %lld ms", t1 - t0);
	cr_assert(t2 - t1 >= 2000, "second retry early: %lld ms", t2 - t1);
	cr_assert(r > 0 && r < t1,
		  "the other task waited for the retry (%lld vs %lld)", r, t1);

	/* lifecycle events: two retries, then success (and the other task) */
	{
		int retrying = 0, succeeded = 0, n;
		it_msg_t *msgs;
		char err[256];

		n = it_consume(&ctx, "events", 4, 30000, &msgs);
		cr_assert_eq(n, 4, "expected 4 lifecycle events, got %d", n);
		for (int i = 0; i < n; i++) {
			drv_event_t e;

			drv_event_init(&e);
			cr_assert_eq(drv_event_decode(msgs[i].data, msgs[i].len,
						      &e, err, sizeof(err)),
				     DRV_OK, "%s", err);
			if (!strcmp(e.task_id, id)) {
				retrying += !strcmp(e.type, "task.retrying");
				succeeded += !strcmp(e.type, "task.succeeded");
				cr_assert_str_eq(drv_event_attribute(&e, "handler"),
						 "flaky");
			}
			drv_event_release(&e);
		}
		cr_assert_eq(retrying, 2);
		cr_assert_eq(succeeded, 1);
		it_msgs_free(msgs, n);
	}
	it_teardown(&ctx);
}
