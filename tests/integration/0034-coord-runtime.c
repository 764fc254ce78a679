/*
 * 0034-coord-runtime.c — schedules changed while the coordinator runs:
 * `droverctl schedule add`, `disable`, `enable` and `delete` take effect
 * without a restart and a run-time schedule survives one; a schedule added
 * to the config file is picked up when the file changes; a broken file
 * sent with SIGHUP is refused and the running schedules go on.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "harness.h"

static void ctl_ok(it_ctx_t *ctx, const char *a, const char *b,
		   const char *c, const char *d, const char *e)
{
	char *out = NULL;

	cr_assert_eq(it_ctl(ctx, &out, "schedule", a, b, c, d, e, NULL), 0,
		     "schedule %s %s failed", a, b);
	free(out);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(coord_runtime, add_disable_enable_delete_restart_reload,
     .timeout = 150)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	long long dis, en, del, up2, stop1;
	int n, after_en = 0, in_gap = 0, after_restart = 0, after_del = 0;
	int by_file = 0;
	char *good;
	pid_t c;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	it_coord_config(&ctx, "  reload_interval: 500ms\n",
			"schedules:\n"
			"  filed:\n"
			"    cron: \"*/2 * * * * *\"\n"
			"    handler: noop\n");
	it_topics(&ctx);
	c = it_coordinator_start(&ctx, "coord-1");
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "became leader", 15000));

	{
		char *out = NULL;

		cr_assert_eq(it_ctl(&ctx, &out, "schedule", "add", "rt",
				    "--cron", "* * * * * *", "--handler",
				    "noop", NULL), 0);
		free(out);
	}
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "schedule=rt ", 10000),
		  "the added schedule never fired");
	ctl_ok(&ctx, "disable", "rt", NULL, NULL, NULL);
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "schedule disabled",
				    5000));
	sleep(3);
	ctl_ok(&ctx, "enable", "rt", NULL, NULL, NULL);
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "schedule enabled",
				    5000));
	sleep(2);
	dis = it_coord_log_time(&ctx, "coord-1", "schedule disabled");
	en = it_coord_log_time(&ctx, "coord-1", "schedule enabled");
	stop1 = it_now_ms();
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);

	/* restart: the run-time schedule is still there */
	c = it_coordinator_start(&ctx, "coord-2");
	cr_assert(it_coord_log_wait(&ctx, "coord-2", "schedule=rt ", 15000),
		  "rt did not survive the restart");
	up2 = it_coord_log_time(&ctx, "coord-2", "became leader");

	/* a schedule added to the file is picked up */
	good = it_read(ctx.config);
	append(ctx.config, "  by-file:\n    cron: \"* * * * * *\"\n"
			   "    handler: noop\n");
	cr_assert(it_coord_log_wait(&ctx, "coord-2", "schedule=by-file",
				    10000), "the file change was not seen");

	/* a broken file is refused on SIGHUP; the schedules go on */
	append(ctx.config, "  broken:\n    cron: \"* 99 * * *\"\n"
			   "    handler: noop\n");
	kill(c, SIGHUP);
	cr_assert(it_coord_log_wait(&ctx, "coord-2", "config reload refused",
				    5000));

	/* put the good file back (droverctl reads it too) */
	{
		FILE *f = fopen(ctx.config, "w");

		cr_assert(f);
		fputs(good, f);
		fclose(f);
	}
	ctl_ok(&ctx, "delete", "rt", NULL, NULL, NULL);
	cr_assert(it_coord_log_wait(&ctx, "coord-2", "schedule deleted",
				    5000));
	del = it_coord_log_time(&ctx, "coord-2", "schedule deleted");
	sleep(3);
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	free(good);

	n = it_tasks(&ctx, "tasks.normal", 2000, 4000, &t);
	for (int i = 0; i < n; i++) {
		long long s = t[i].scheduled_ms;

		if (!strcmp(t[i].schedule, "by-file"))
			by_file++;
		if (strcmp(t[i].schedule, "rt"))
			continue;
		in_gap += s > dis && s < en - 1;
		after_en += s >= en - 1 && s <= stop1;
		after_restart += s >= up2 - 1000 && s < del;
		after_del += s > del;
	}
	cr_assert_eq(in_gap, 0, "rt fired %d times while disabled", in_gap);
	cr_assert_geq(after_en, 1, "rt did not fire after enable");
	cr_assert_geq(after_restart, 1);
	cr_assert_eq(after_del, 0, "rt fired %d times after delete",
		     after_del);
	cr_assert_geq(by_file, 1);
	free(t);
	it_teardown(&ctx);
}
