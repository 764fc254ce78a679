/*
 * 0003 — an exec handler that overruns its timeout is killed together with
 * the processes it started.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

Test(timeout, kills_the_whole_process_group, .timeout = 120)
{
	it_ctx_t ctx;
	char id[32], log[300], *text, *p;
	pid_t w, child = 0;
	int64_t v;

	it_setup(&ctx,
		 "  hang:\n"
		 "    shell: true\n"
		 "    timeout: 1s\n"
		 "    command: 'sleep 300 & echo \"child $!\" >> \"$OUT\"; wait'\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, id, "hang", NULL);
	cr_assert_eq(it_wait_count(&ctx, "child ", NULL, 1, 30000), 1,
		     "the handler never started; see %s", ctx.dir);
	text = it_read(ctx.out);
	p = strchr(text, ' ');
	p[strcspn(p, "\n")] = '\0';
	cr_assert_eq(drv_parse_int(p + 1, 1, 1 << 30, &v), DRV_OK);
	child = (pid_t)v;
	free(text);

	drv_fmt(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "class=timeout", 15000),
		  "worker did not report a timeout; see %s", log);
	/* the grandchild must be gone too (killed, then reaped by init) */
	for (int i = 0; i < 100 && kill(child, 0) == 0; i++)
		usleep(50 * 1000);
	cr_assert(kill(child, 0) == -1 && errno == ESRCH,
		  "grandchild %d survived the timeout", (int)child);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
