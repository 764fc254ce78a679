/*
 * 0090 — `droverctl task submit --wait` (what the Helm chart's `helm test`
 * runs): against a real worker it exits 0 once the task succeeded and 1
 * once a failing task is dead; with no worker running it gives up after
 * the wait and exits 1. It reads the state the worker writes to Redis.
 * And `task submit --file`, the bulk path.
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

/* `task submit --file`: one JSON task per line through the bulk path; ids
 * in line order, a bad line refused alone (its line and field named), the
 * good ones all run once, exit 1 because a line failed. */
Test(submit_file, lines_in_order_bad_ones_alone, .timeout = 120)
{
	it_ctx_t ctx;
	char path[300], *out = NULL, *line, *save = NULL;
	char ids[200][32];
	int rc, n = 0, bad = 0, want = 0;
	FILE *f;
	pid_t w;

	it_setup(&ctx, "  rec:\n"
		 "    shell: true\n"
		 "    command: 'echo \"ran $DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	snprintf(path, sizeof(path), "%s/tasks.ndjson", ctx.dir);
	cr_assert_not_null(f = fopen(path, "w"));
	for (int i = 1; i <= 150; i++) {
		if (i == 7)
			fprintf(f, "{\"handler\":\"rec\",\"priority\":0}\n");
		else if (i == 40)
			fprintf(f, "not json\n");
		else if (i == 41)
			fprintf(f, "\n");  /* blank: skipped */
		else if (i == 99)
			fprintf(f, "{\"handler\":\"nope\"}\n");
		else
			fprintf(f, "{\"handler\":\"rec\",\"payload\":{\"i\":%d},"
				"\"labels\":{\"line\":\"%d\"}}\n", i, i), want++;
	}
	fclose(f);
	rc = it_ctl(&ctx, &out, "task", "submit", "--file", path, "--json",
		    NULL);
	cr_assert_eq(rc, 1, "a file with bad lines exited %d", rc);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		static int prev;
		int ln = 0;
		char id[32] = "";

		cr_assert(sscanf(line, "{\"line\":%d,", &ln) == 1, "%s", line);
		cr_assert_gt(ln, prev, "line %d after line %d", ln, prev);
		prev = ln;
		if (strstr(line, "\"error\"")) {
			cr_assert(ln == 7 || ln == 40 || ln == 99,
				  "line %d refused: %s", ln, line);
			if (ln == 7)
				cr_assert(strstr(line, "/priority"), "%s",
					  line);
			bad++;
		} else {
			cr_assert(sscanf(line, "{\"line\":%*d,\"id\":\"%26[0-9A-Z]",
					 id) == 1, "%s", line);
			cr_assert_lt(n, 200);
			memcpy(ids[n++], id, sizeof(id));
		}
	}
	free(out);
	cr_assert_eq(bad, 3, "%d lines refused", bad);
	cr_assert_eq(n, want, "%d ids for %d good lines", n, want);

	w = it_worker_start(&ctx, 1);
	cr_assert_eq(it_wait_count(&ctx, "ran ", NULL, want, 60000), want);
	for (int i = 0; i < n; i++)
		cr_assert_eq(it_count(&ctx, "ran ", ids[i]), 1, "task %s",
			     ids[i]);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);

	/* task flags go in the lines, not beside --file */
	cr_assert_eq(it_ctl(&ctx, NULL, "task", "submit", "--file", path,
			    "--handler", "rec", NULL), 2);
	it_teardown(&ctx);
}
