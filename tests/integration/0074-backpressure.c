/*
 * 0074 — backpressure: over its memory limit a worker pauses fetching (it
 * runs nothing new, says why in the log and the metrics), and once use is
 * back below the limit by the hysteresis margin it resumes and every task
 * runs. First against the real /proc/meminfo with a limit of 1%, then
 * against cgroup v2 files the test controls (worker.cgroup_root).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void put(const char *dir, const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

Test(backpressure, memory_limit_pauses_and_resumes, .timeout = 150)
{
	it_ctx_t ctx;
	char cg[320], log[300], port[16], *body = NULL;
	int hport = it_free_port();
	pid_t w;

	it_setup(&ctx, "  rec:\n    shell: true\n    command: 'echo \"run "
		 "$DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);

	/* the real machine, a 1% limit: always over */
	setenv("DROVER_WORKER_MEMORY_LIMIT", "1", 1);
	w = it_worker_start(&ctx, 1);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "partitions assigned", 30000));
	cr_assert(it_wait_file(log, "over the limit: pausing fetching", 5000),
		  "no pause; see %s", log);
	cr_assert(it_wait_file(log, "reason=memory", 100));
	it_publish_many(&ctx, "rec", 10);
	sleep(3);
	cr_assert_eq(it_count(&ctx, "run ", NULL), 0, "ran while over");
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);

	/* a cgroup at 90% of memory.max (limit 85%), then at 10% */
	snprintf(cg, sizeof(cg), "%s/cgroup", ctx.dir);
	cr_assert_eq(mkdir(cg, 0755), 0);
	put(cg, "memory.max", "1000000\n");
	put(cg, "memory.current", "900000\n");
	setenv("DROVER_WORKER_MEMORY_LIMIT", "85", 1);
	setenv("DROVER_WORKER_CGROUP_ROOT", cg, 1);
	snprintf(port, sizeof(port), "%d", hport);
	setenv("DROVER_WORKER_HTTP_PORT", port, 1);
	w = it_worker_start(&ctx, 2);
	unsetenv("DROVER_WORKER_MEMORY_LIMIT");
	unsetenv("DROVER_WORKER_CGROUP_ROOT");
	unsetenv("DROVER_WORKER_HTTP_PORT");
	snprintf(log, sizeof(log), "%s/worker-2.log", ctx.dir);
	cr_assert(it_wait_file(log, "over the limit: pausing fetching",
			       30000), "no pause; see %s", log);
	sleep(3);
	cr_assert_eq(it_count(&ctx, "run ", NULL), 0, "ran while over");
	/* 82%: below the limit but within the hysteresis margin */
	put(cg, "memory.current", "820000\n");
	sleep(2);
	cr_assert_eq(it_count(&ctx, "run ", NULL), 0, "resumed too early");
	put(cg, "memory.current", "100000\n");
	cr_assert(it_wait_file(log, "below the limit again", 5000));
	cr_assert_eq(it_wait_count(&ctx, "run ", NULL, 10, 30000), 10,
		     "tasks lost or not resumed; see %s", ctx.dir);
	cr_assert_eq(it_http_get(hport, "/metrics", &body), 200);
	cr_assert(strstr(body, "drover_fetch_paused_seconds_total{reason="
			 "\"memory\"}"), "%s", body);
	cr_assert(strstr(body, "drover_fetch_paused{reason=\"memory\"} 0"),
		  "%s", body);
	free(body);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
