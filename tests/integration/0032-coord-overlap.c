/*
 * 0032-coord-overlap.c — a schedule firing every second whose task runs
 * 2.5 s, with overlap: skip, a worker (concurrency 2, so overlapping runs
 * could happen) and a coordinator. The coordinator learns that a run ended
 * from the worker's lifecycle events, so: no two runs overlap, most fires
 * are skipped, and `droverctl schedule show --json` reports the runs,
 * their durations and the skipped fires from those events. A second
 * schedule with overlap: buffer_one keeps one fire while its run lasts and
 * publishes it when the run ends: its runs do not overlap either, and
 * follow each other closely.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "drover/str.h"
#include "harness.h"

static bool read_all(const it_event_t *ev, int n, void *arg)
{
	(void)ev;
	(void)n;
	(void)arg;
	return false;
}

static int cmp_start(const void *a, const void *b)
{
	long long x = ((const it_event_t *)a)->started_ms;
	long long y = ((const it_event_t *)b)->started_ms;

	return (x > y) - (x < y);
}

Test(coord_overlap, skip_while_the_previous_run_is_unfinished,
     .timeout = 120)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	it_event_t *ev = NULL, runs[64], bruns[64];
	json_t *show, *stats;
	char *out = NULL;
	pid_t w, c;
	int n, fired = 0, r = 0, br = 0, nt;
	char ov_ids[64][32];
	int ov_cnt = 0;

	it_setup(&ctx, "  slow:\n    type: sleep\n    sleep: 2500ms\n");
	it_coord_config(&ctx, "",
			"schedules:\n"
			"  ov:\n"
			"    cron: \"* * * * * *\"\n"
			"    handler: slow\n"
			"    overlap: skip\n"
			"  ovb:\n"
			"    cron: \"* * * * * *\"\n"
			"    handler: slow\n"
			"    overlap: buffer_one\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	c = it_coordinator_start(&ctx, "coord-1");
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "schedule fired", 15000));
	sleep(12);
	/* the worker finishes its run; the coordinator reads its events */
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	sleep(2);
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);

	nt = it_tasks(&ctx, "tasks.normal", 1000, 3000, &t);
	for (int i = 0; i < nt; i++)
		if (!strcmp(t[i].schedule, "ov") && ov_cnt < 64)
			drv_strlcpy(ov_ids[ov_cnt++], t[i].id, 32);
	fired = ov_cnt;
	cr_assert_geq(fired, 2, "only %d fires", fired);
	cr_assert_leq(fired, 6, "%d fires in about 12 s: not skipped", fired);

	n = it_events(&ctx, 4000, read_all, NULL, &ev);
	for (int i = 0; i < n; i++) {
		bool ov = false;

		if (strcmp(ev[i].type, "task.succeeded"))
			continue;
		for (int k = 0; k < ov_cnt; k++)
			ov |= !strcmp(ov_ids[k], ev[i].task_id);
		if (ov && r < 64)
			runs[r++] = ev[i];
		else if (!ov && br < 64)
			bruns[br++] = ev[i];
	}
	free(ev);
	free(t);
	/* buffer_one: back to back, never overlapping */
	cr_assert_geq(br, 3, "only %d buffer_one runs ended", br);
	qsort(bruns, (size_t)br, sizeof(*bruns), cmp_start);
	for (int i = 1; i < br; i++) {
		cr_assert_geq(bruns[i].started_ms, bruns[i - 1].finished_ms,
			      "buffer_one runs overlap");
		cr_assert_lt(bruns[i].started_ms - bruns[i - 1].finished_ms,
			     1500, "the kept fire came %lld ms after the run "
			     "ended", bruns[i].started_ms -
			     bruns[i - 1].finished_ms);
	}
	cr_assert_geq(r, 2, "only %d runs ended", r);
	qsort(runs, (size_t)r, sizeof(*runs), cmp_start);
	for (int i = 1; i < r; i++)
		cr_assert_geq(runs[i].started_ms, runs[i - 1].finished_ms,
			      "runs overlap: %lld..%lld and %lld..",
			      runs[i - 1].started_ms, runs[i - 1].finished_ms,
			      runs[i].started_ms);

	cr_assert_eq(it_ctl(&ctx, &out, "schedule", "show", "ov", "--json",
			    NULL), 0);
	show = json_loads(out, 0, NULL);
	cr_assert(show, "%s", out);
	stats = json_object_get(show, "stats");
	cr_assert_eq(json_integer_value(json_object_get(stats, "fires")),
		     fired);
	cr_assert_geq(json_integer_value(json_object_get(stats, "skipped")),
		      4, "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(stats, "runs")), r,
		     "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(stats, "successes")),
		     r);
	cr_assert_geq(json_integer_value(json_object_get(stats, "avg_ms")),
		      2400, "%s", out);
	cr_assert_geq(json_integer_value(json_object_get(stats, "p95_ms")),
		      2400);
	cr_assert_str_eq(json_string_value(json_object_get(stats,
			 "last_outcome")), "succeeded");
	json_decref(show);
	free(out);
	it_teardown(&ctx);
}
