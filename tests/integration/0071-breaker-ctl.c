/*
 * 0071 — droverctl changes a breaker on running workers: `breaker open`
 * stops its calls (tasks wait, no attempt used), `breaker disable` lets
 * them run, `breaker reset` closes it again, `breaker show --json` tells,
 * a worker started meanwhile takes the shared state as it is (it never
 * resets it), every change is in the audit topic with who made it, and bad
 * usage exits 2.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/audit.h"
#include "harness.h"

Test(breaker, droverctl_forces_running_workers, .timeout = 180)
{
	it_ctx_t ctx;
	char yaml[1024], log[300], *out = NULL;
	const char *actions[] = { "breaker.open", "breaker.disable",
				  "breaker.reset" };
	it_msg_t *msgs = NULL;
	pid_t w1, w2, w3;
	int n;

	snprintf(yaml, sizeof(yaml),
		 "  dep:\n"
		 "    shell: true\n"
		 "    command: 'echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "redis:\n"
		 "  key_prefix: \"it%db71:\"\n"
		 "breakers:\n"
		 "  dep:\n"
		 "    wait_in_open: 2s\n", (int)getpid());
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	w1 = it_worker_start(&ctx, 1);
	w2 = it_worker_start(&ctx, 2);
	for (int i = 1; i <= 2; i++) {
		snprintf(log, sizeof(log), "%s/worker-%d.log", ctx.dir, i);
		cr_assert(it_wait_file(log, "breakers use the shared state",
				       30000), "worker %d not on Redis", i);
		cr_assert(it_wait_file(log, "partitions assigned", 30000));
	}
	sleep(3);

	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "open", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "open", "a b", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, &out, "breaker", "show", "dep", "--json",
			    NULL), 0);
	cr_assert(strstr(out, "\"state\":\"closed\""), "%s", out);
	free(out);

	cr_assert_eq(it_ctl(&ctx, NULL, "--as", "alice", "breaker", "open",
			    "dep", NULL), 0);
	it_publish_many(&ctx, "dep", 10);
	sleep(3);
	cr_assert_eq(it_count(&ctx, "ok ", NULL), 0, "ran while forced open");
	{
		char log1[300];

		snprintf(log1, sizeof(log1), "%s/worker-1.log", ctx.dir);
		cr_assert(it_wait_file(log, "without using an attempt", 100) ||
			  it_wait_file(log1, "without using an attempt", 100),
			  "no task was held; see %s", ctx.dir);
	}

	/* a worker that starts now reads the breaker as it is */
	w3 = it_worker_start(&ctx, 3);
	snprintf(log, sizeof(log), "%s/worker-3.log", ctx.dir);
	cr_assert(it_wait_file(log, "breakers use the shared state", 30000));
	cr_assert(it_wait_file(log, "partitions assigned", 30000));
	cr_assert_eq(it_ctl(&ctx, &out, "breaker", "show", "dep", "--json",
			    NULL), 0);
	cr_assert(strstr(out, "\"state\":\"forced_open\""), "a starting "
		  "worker changed the shared state: %s", out);
	free(out);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "ok ", NULL), 0, "ran while forced open "
		     "after a worker joined");

	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "disable", "dep", NULL), 0);
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, 10, 30000), 10,
		     "tasks did not run once disabled; see %s", ctx.dir);
	cr_assert_eq(it_ctl(&ctx, &out, "breaker", "reset", "dep", "--json",
			    NULL), 0);
	cr_assert(strstr(out, "\"state\":\"closed\""), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "breaker", "list", "--json", NULL), 0);
	cr_assert(strstr(out, "\"name\":\"dep\""), "%s", out);
	free(out);

	n = it_consume(&ctx, "audit", 3, 20000, &msgs);
	cr_assert_eq(n, 3, "audit records: %d", n);
	for (int i = 0; i < n; i++) {
		drv_audit_t a;
		char err[256];

		drv_audit_init(&a);
		cr_assert_eq(drv_audit_decode(msgs[i].data, msgs[i].len, &a,
					      err, sizeof(err)), DRV_OK,
			     "%s", err);
		cr_assert_str_eq(a.action, actions[i]);
		cr_assert_str_eq(a.target, "dep");
		cr_assert_str_eq(a.result, "ok");
		if (i == 0)
			cr_assert_str_eq(a.actor, "alice");
		drv_audit_release(&a);
	}
	it_msgs_free(msgs, n);
	cr_assert_eq(it_stop(w1, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w3, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
