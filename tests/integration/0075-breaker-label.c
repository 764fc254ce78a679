/*
 * 0075 — a task's label drover.breaker names a more specific breaker (per
 * downstream host): forcing one host's breaker open holds only that host's
 * tasks, even the first one a worker sees, and a reset lets it run.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

Test(breaker, label_names_a_more_specific_breaker, .timeout = 120)
{
	it_ctx_t ctx;
	char yaml[1024], id_a[32], id_b[32], log[300];
	pid_t w;

	snprintf(yaml, sizeof(yaml),
		 "  dep:\n"
		 "    shell: true\n"
		 "    command: 'echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "redis:\n"
		 "  key_prefix: \"it%db71l:\"\n"
		 "breakers:\n"
		 "  default:\n"
		 "    wait_in_open: 2s\n", (int)getpid());
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "breakers use the shared state", 30000));
	cr_assert(it_wait_file(log, "partitions assigned", 30000));
	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "open", "host-a.example:443",
			    NULL), 0);
	usleep(300 * 1000);
	it_submit(&ctx, id_a, "dep", "--label",
		  "drover.breaker=host-a.example:443", NULL);
	it_submit(&ctx, id_b, "dep", "--label",
		  "drover.breaker=host-b.example:443", NULL);
	cr_assert_eq(it_wait_count(&ctx, "ok ", id_b, 1, 30000), 1,
		     "host b's task did not run; see %s", ctx.dir);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "ok ", id_a), 0, "host a's task ran");
	cr_assert(it_wait_file(log, "breaker=host-a.example:443", 100));
	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "reset",
			    "host-a.example:443", NULL), 0);
	cr_assert_eq(it_wait_count(&ctx, "ok ", id_a, 1, 30000), 1,
		     "host a's task did not run after the reset");
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
