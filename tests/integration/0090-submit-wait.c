/*
 * 0090 — `droverctl task submit --wait` (what the Helm chart's `helm test`
 * runs): against a real worker it exits 0 once the task succeeded and 1
 * once a failing task is dead; with no worker running it gives up after
 * the wait and exits 1. It reads the state the worker writes to Redis.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "harness.h"

Test(submit_wait, succeeded_dead_and_timeout, .timeout = 180)
{
	it_ctx_t ctx;
	char *out = NULL;
	int64_t t0;
	pid_t w;
	int rc;

	it_setup(&ctx,
		 "  ok:\n"
		 "    command: [\"cat\"]\n"
		 "  broken:\n"
		 "    command: [\"false\"]\n"
		 "    max_attempts: 1\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);

	rc = it_ctl(&ctx, &out, "task", "submit", "--handler", "ok",
		    "--payload", "{\"helm_test\":true}", "--wait", "90s", NULL);
	cr_assert_eq(rc, 0, "--wait on a good task exited %d: %s", rc, out);
	cr_assert(out && strlen(out) >= 20, "no task id printed: %s", out);
	free(out);
	out = NULL;

	rc = it_ctl(&ctx, &out, "task", "submit", "--handler", "broken",
		    "--wait", "90s", NULL);
	cr_assert_eq(rc, 1, "--wait on a dead task exited %d: %s", rc, out);
	free(out);
	out = NULL;

	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	t0 = drv_mono_ms();
	rc = it_ctl(&ctx, &out, "task", "submit", "--handler", "ok",
		    "--wait", "2s", NULL);
	cr_assert_eq(rc, 1, "--wait without a worker exited %d: %s", rc, out);
	cr_assert_geq(drv_mono_ms() - t0, 2000, "gave up early");
	cr_assert_lt(drv_mono_ms() - t0, 20000, "did not give up in time");
	free(out);
	it_teardown(&ctx);
}
