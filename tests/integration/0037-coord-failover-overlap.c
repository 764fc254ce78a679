/*
 * 0037 — after the leading coordinator is killed with SIGKILL, the new
 * leader learns that the previous runs ended: their end events sit on
 * events partitions the dead coordinator owned, which move to the
 * survivor within kafka.session_timeout (6 s). A one-second schedule with
 * `overlap: skip` and a handler that ends in milliseconds: from 15 s after
 * the kill, no fire is skipped as an overlap, and the fires go on.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

/* "...scheduled_for=2026-12-04T15:45:35.000Z outcome=X ..." of one
 * schedule's lines: the nominal time in ms, or -1. */
static long long scheduled_ms(const char *line)
{
	const char *p = strstr(line, "scheduled_for=");
	struct tm tm = { 0 };
	int ms;

	if (!p || sscanf(p, "scheduled_for=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year,
			 &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

Test(coord_failover_overlap, no_false_skip_15s_after_kill9,
     .timeout = 120)
{
	it_ctx_t ctx;
	pid_t w, a, b;
	long long kill_ms;
	char path[400], *text, *save = NULL;
	int status, fired = 0, skipped = 0;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	it_coord_config(&ctx, "",
			"schedules:\n"
			"  sec:\n"
			"    cron: \"* * * * * *\"\n"
			"    handler: noop\n"
			"    overlap: skip\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	a = it_coordinator_start(&ctx, "coord-a");
	cr_assert(it_coord_log_wait(&ctx, "coord-a", "became leader", 15000),
		  "coord-a never led");
	b = it_coordinator_start(&ctx, "coord-b");
	cr_assert(it_coord_log_wait(&ctx, "coord-a", "schedule fired", 10000),
		  "coord-a never fired");
	sleep(4);

	kill_ms = it_now_ms();
	kill(a, SIGKILL);
	waitpid(a, &status, 0);
	cr_assert(it_coord_log_wait(&ctx, "coord-b", "became leader", 15000),
		  "coord-b did not take over");
	while (it_now_ms() < kill_ms + 30000)
		usleep(200 * 1000);
	cr_assert_eq(it_stop(b, SIGTERM, 20000) >= 0, 1);
	cr_assert_eq(it_stop(w, SIGTERM, 20000), 0);

	drv_fmt(path, sizeof(path), "%s/coord-b.log", ctx.dir);
	text = it_read(path);
	cr_assert_not_null(text);
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		long long at = scheduled_ms(l);

		if (!strstr(l, "schedule=sec ") || at < kill_ms + 15000)
			continue;
		fired += strstr(l, "outcome=published") != NULL;
		skipped += strstr(l, "outcome=skipped_overlap") != NULL;
	}
	free(text);
	cr_log_info("from 15 s to 30 s after the kill: %d fires published, "
		    "%d skipped as overlaps", fired, skipped);
	cr_assert_geq(fired, 10, "only %d fires from 15 s after the kill; "
		      "see %s", fired, ctx.dir);
	cr_assert_eq(skipped, 0, "%d fires skipped as overlaps from 15 s "
		     "after the kill, although every run ends in ms; see %s",
		     skipped, ctx.dir);
	it_teardown(&ctx);
}
