/*
 * Unit tests for retry analytics (core/retry_stats.c), with no Redis: the
 * field names, what each kind of task state record counts, the histogram
 * buckets and quantiles, the JSON a read's sum turns into, and that the
 * task state writer counts analytics whatever worker.task_state keeps and
 * loses them, counted, when Redis is down.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/retry_stats.h"
#include "drover/state.h"

static drv_state_rec_t rec_of(drv_task_state_t s, uint32_t attempt,
			      drv_failure_class_t c)
{
	drv_state_rec_t r = {
		.task_id = "t1", .handler = "h", .state = s,
		.attempt = attempt, .failure_class = c,
		.started_ms = 1000000, .finished_ms = 1000300,
	};
	return r;
}

Test(retry_stats, field_names_round_trip)
{
	for (int f = 0; f < DRV_STATS_FIELD_CNT; f++) {
		const char *n = drv_stats_field_name(f);

		cr_assert(n, "field %d has no name", f);
		cr_assert_eq(drv_stats_field_parse(n), f, "%s", n);
	}
	cr_assert_null(drv_stats_field_name(DRV_STATS_FIELD_CNT));
	cr_assert_null(drv_stats_field_name(-1));
	cr_assert_eq(drv_stats_field_parse("ok:10"), -1);
	cr_assert_str_eq(drv_stats_field_name(DRV_STATS_OK + 1), "ok:2");
	cr_assert_str_eq(drv_stats_field_name(DRV_STATS_DEAD + 3), "dead:3");
	cr_assert_str_eq(drv_stats_field_name(DRV_STATS_FAIL +
					      DRV_FAILURE_TIMEOUT - 1),
			 "fail:timeout");
}

Test(retry_stats, hist_buckets)
{
	cr_assert_eq(drv_stats_hist_bucket(-5), 0);
	cr_assert_eq(drv_stats_hist_bucket(10), 0);
	cr_assert_eq(drv_stats_hist_bucket(11), 1);
	cr_assert_eq(drv_stats_hist_bucket(1000), 5);
	cr_assert_eq(drv_stats_hist_bucket(1800000), DRV_STATS_HIST_CNT - 2);
	cr_assert_eq(drv_stats_hist_bucket(INT64_MAX), DRV_STATS_HIST_CNT - 1);
}

Test(retry_stats, quantiles)
{
	int64_t h[DRV_STATS_HIST_CNT] = { 0 };

	cr_assert_eq(drv_stats_quantile(h, 0.5), 0);
	h[drv_stats_hist_bucket(40)] = 90;     /* le50 */
	h[drv_stats_hist_bucket(4000)] = 10;   /* le5000 */
	cr_assert_eq(drv_stats_quantile(h, 0.5), 50);
	cr_assert_eq(drv_stats_quantile(h, 0.9), 50);
	cr_assert_eq(drv_stats_quantile(h, 0.95), 5000);
	h[DRV_STATS_HIST_CNT - 1] = 1000;      /* open bucket */
	cr_assert_eq(drv_stats_quantile(h, 0.99), 1800000);
}

Test(retry_stats, success_on_second_attempt)
{
	drv_stats_counts_t c = { 0 };
	drv_state_rec_t r = rec_of(DRV_TASK_RETRYING, 1, DRV_FAILURE_TRANSIENT);

	cr_assert(drv_stats_count_rec(&c, &r));
	r = rec_of(DRV_TASK_SUCCEEDED, 2, DRV_FAILURE_UNSPECIFIED);
	r.planned_ms = r.started_ms - 120;      /* started 120 ms late */
	cr_assert(drv_stats_count_rec(&c, &r));
	cr_assert_eq(c.v[DRV_STATS_ATTEMPTS], 2);
	cr_assert_eq(c.v[DRV_STATS_OK + 1], 1);
	cr_assert_eq(c.v[DRV_STATS_OK], 0);
	cr_assert_eq(c.v[DRV_STATS_FAIL + DRV_FAILURE_TRANSIENT - 1], 1);
	cr_assert_eq(c.v[DRV_STATS_LATE_CNT], 1);
	cr_assert_eq(c.v[DRV_STATS_LATE_SUM], 120);
	cr_assert_eq(c.v[DRV_STATS_LATE_HIST + drv_stats_hist_bucket(120)], 1);
	cr_assert_eq(c.v[DRV_STATS_DUR_CNT], 2);
	cr_assert_eq(c.v[DRV_STATS_DUR_SUM], 600);
}

Test(retry_stats, dead_and_other_states)
{
	drv_stats_counts_t c = { 0 };
	drv_state_rec_t r = rec_of(DRV_TASK_DEAD, 1, DRV_FAILURE_PERMANENT);

	cr_assert(drv_stats_count_rec(&c, &r));
	r = rec_of(DRV_TASK_DEAD, 12, DRV_FAILURE_TIMEOUT);
	r.planned_ms = r.started_ms + 50;       /* early: lateness 0 */
	cr_assert(drv_stats_count_rec(&c, &r));
	/* dead before any attempt: no class, no attempt counted */
	r = rec_of(DRV_TASK_DEAD, 0, DRV_FAILURE_UNSPECIFIED);
	cr_assert(drv_stats_count_rec(&c, &r));
	cr_assert_eq(c.v[DRV_STATS_DEAD + 1], 1);
	cr_assert_eq(c.v[DRV_STATS_DEAD + DRV_STATS_ATTEMPT_MAX], 1);
	cr_assert_eq(c.v[DRV_STATS_DEAD], 1);
	cr_assert_eq(c.v[DRV_STATS_ATTEMPTS], 2);
	cr_assert_eq(c.v[DRV_STATS_FAIL + DRV_FAILURE_PERMANENT - 1], 1);
	cr_assert_eq(c.v[DRV_STATS_FAIL + DRV_FAILURE_TIMEOUT - 1], 1);
	cr_assert_eq(c.v[DRV_STATS_LATE_SUM], 0);
	cr_assert_eq(c.v[DRV_STATS_LATE_HIST], 1);

	r = rec_of(DRV_TASK_RUNNING, 1, DRV_FAILURE_UNSPECIFIED);
	cr_assert_not(drv_stats_count_rec(&c, &r));
	r = rec_of(DRV_TASK_SKIPPED, 1, DRV_FAILURE_UNSPECIFIED);
	cr_assert(drv_stats_count_rec(&c, &r));
	r = rec_of(DRV_TASK_CANCELLED, 1, DRV_FAILURE_UNSPECIFIED);
	cr_assert(drv_stats_count_rec(&c, &r));
	cr_assert_eq(c.v[DRV_STATS_SKIPPED], 1);
	cr_assert_eq(c.v[DRV_STATS_CANCELLED], 1);
	cr_assert_eq(c.v[DRV_STATS_ATTEMPTS], 2);
}

Test(retry_stats, json_of_counters)
{
	drv_stats_counts_t a = { 0 };
	json_t *o, *v;

	a.v[DRV_STATS_OK] = 6;
	a.v[DRV_STATS_OK + 1] = 4;
	a.v[DRV_STATS_DEAD + 3] = 2;
	a.v[DRV_STATS_FAIL + DRV_FAILURE_TRANSIENT - 1] = 8;
	a.v[DRV_STATS_LATE_SUM] = 300;
	a.v[DRV_STATS_LATE_CNT] = 3;
	a.v[DRV_STATS_LATE_HIST + drv_stats_hist_bucket(100)] = 3;
	o = drv_retry_stats_json("h", &a);
	cr_assert(o);
	cr_assert_eq(json_integer_value(json_object_get(o, "finished")), 12);
	cr_assert_eq(json_integer_value(json_object_get(o, "succeeded")), 10);
	cr_assert_eq(json_integer_value(json_object_get(o, "dead")), 2);
	v = json_object_get(o, "succeeded_by_attempt");
	cr_assert_eq(json_integer_value(json_object_get(v, "1")), 6);
	cr_assert_eq(json_integer_value(json_object_get(v, "2")), 4);
	cr_assert_eq(json_integer_value(json_object_get(v, "9+")), 0);
	v = json_object_get(o, "dead_by_attempt");
	cr_assert_eq(json_integer_value(json_object_get(v, "3")), 2);
	v = json_object_get(o, "success_within");
	cr_assert_float_eq(json_real_value(json_object_get(v, "1")), 0.5,
			   1e-9);
	cr_assert_float_eq(json_real_value(json_object_get(v, "2")),
			   10.0 / 12.0, 1e-9);
	v = json_object_get(o, "failures");
	cr_assert_eq(json_integer_value(json_object_get(v, "transient")), 8);
	cr_assert_eq(json_integer_value(json_object_get(v, "timeout")), 0);
	v = json_object_get(o, "lateness_ms");
	cr_assert_eq(json_integer_value(json_object_get(v, "mean")), 100);
	cr_assert_eq(json_integer_value(json_object_get(v, "p95")), 100);
	json_decref(o);
}

Test(retry_stats, range_defaults_and_bound)
{
	int64_t now = 1800000000000LL, since = 0, until = 0;

	drv_retry_stats_range(&since, &until, now);
	cr_assert_eq(until, now);
	cr_assert_eq(since, now - DRV_STATS_RANGE_DEFAULT);
	since = now - 20 * DRV_STATS_RANGE_DEFAULT;
	until = now - 1000;
	drv_retry_stats_range(&since, &until, now);
	cr_assert_eq(until, now - 1000);
	cr_assert_eq(since, until - DRV_STATS_RANGE_MAX);
	since = now;
	until = now - 5000;      /* backwards: left for the read (empty) */
	drv_retry_stats_range(&since, &until, now);
	cr_assert_eq(since, now);
}

Test(retry_stats, key_layout)
{
	char key[128];

	drv_stats_key(key, sizeof(key), "drover:", DRV_STATS_HANDLER, "billing",
		      29000000);
	cr_assert_str_eq(key, "drover:stats:h:billing:29000000");
}
