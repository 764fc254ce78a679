/*
 * Unit tests for the history (core/history.c, core/markers.c and the
 * parts of core/retry_stats.c it adds), with no Redis: percentiles
 * interpolated from the histogram buckets, the step chosen for a range
 * and the steps refused, the number of points, the submit→start wait a
 * first attempt counts, the band keys, and what a marker may be.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/history.h"
#include "drover/markers.h"
#include "drover/retry_stats.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

Test(history, quantile_interpolates_within_the_bucket)
{
	int64_t h[DRV_STATS_HIST_CNT] = { 0 };

	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.5), 0, 1e-9);
	/* ten in (50, 100]: the median halfway */
	h[2] = 10;
	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.5), 75, 1e-9);
	cr_assert_float_eq(drv_stats_quantile_interp(h, 1.0), 100, 1e-9);
	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.1), 55, 1e-9);
	/* and ten in [0, 10]: the median is the top of the first bucket,
	 * p75 halfway through the second non-empty one */
	h[0] = 10;
	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.5), 10, 1e-9);
	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.75), 75, 1e-9);
	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.25), 5, 1e-9);
	/* the open bucket gives its lower bound */
	memset(h, 0, sizeof(h));
	h[DRV_STATS_HIST_CNT - 1] = 3;
	cr_assert_float_eq(drv_stats_quantile_interp(h, 0.99), 1800000, 1e-9);
}

Test(history, quantile_stays_in_its_bucket)
{
	static const int64_t bounds[] = DRV_STATS_HIST_BOUNDS;

	for (int b = 0; b < DRV_STATS_HIST_CNT - 1; b++) {
		int64_t h[DRV_STATS_HIST_CNT] = { 0 };

		h[b] = 7;
		for (double q = 0.01; q <= 1.0; q += 0.07) {
			double v = drv_stats_quantile_interp(h, q);

			cr_assert_geq(v, b ? bounds[b - 1] : 0, "b=%d q=%f", b,
				      q);
			cr_assert_leq(v, bounds[b], "b=%d q=%f", b, q);
		}
	}
}

Test(history, points_count_the_steps_touched)
{
	cr_assert_eq(drv_history_points(0, MIN - 1, MIN), 1);
	cr_assert_eq(drv_history_points(0, MIN, MIN), 2);
	cr_assert_eq(drv_history_points(30000, 30000 + HOUR, MIN), 61);
	cr_assert_eq(drv_history_points(5, 4, MIN), 0);
}

Test(history, step_chosen_keeps_under_the_point_cap)
{
	int64_t base = 1767225600000LL, step;
	char err[256];
	struct { int64_t range, step; } cases[] = {
		{ HOUR, MIN }, { DAY, MIN }, { DAY + HOUR, 5 * MIN },
		{ 7 * DAY, 15 * MIN }, { 14 * DAY, 15 * MIN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		step = 0;
		cr_assert_eq(drv_history_step(base, base + cases[i].range,
					      &step, err, sizeof(err)), DRV_OK);
		cr_assert_eq(step, cases[i].step, "range %lld: step %lld",
			     (long long)cases[i].range, (long long)step);
		cr_assert_leq(drv_history_points(base, base + cases[i].range,
						 step), DRV_HISTORY_POINTS_MAX);
	}
}

Test(history, step_asked_for_is_checked)
{
	int64_t base = 1767225600000LL, step;
	char err[256];

	step = 5 * MIN;
	cr_assert_eq(drv_history_step(base, base + DAY, &step, err,
				      sizeof(err)), DRV_OK);
	cr_assert_eq(step, 5 * MIN);
	step = 90000;   /* not whole minutes */
	cr_assert_eq(drv_history_step(base, base + DAY, &step, err,
				      sizeof(err)), DRV_ERR_INVALID);
	step = 1000;
	cr_assert_eq(drv_history_step(base, base + DAY, &step, err,
				      sizeof(err)), DRV_ERR_INVALID);
	/* over a day: a day */
	step = 2 * DAY;
	cr_assert_eq(drv_history_step(base, base + DAY, &step, err,
				      sizeof(err)), DRV_OK);
	cr_assert_eq(step, DAY);
	/* 14 days at 1m would be 20,161 points: the step chosen instead */
	step = MIN;
	cr_assert_eq(drv_history_step(base, base + 14 * DAY, &step, err,
				      sizeof(err)), DRV_OK);
	cr_assert_eq(step, 15 * MIN);
}

Test(history, first_attempt_counts_its_wait)
{
	drv_stats_counts_t c = { { 0 } };
	drv_state_rec_t r = {
		.task_id = "t1", .handler = "h", .state = DRV_TASK_SUCCEEDED,
		.attempt = 1, .created_ms = 1000000, .started_ms = 1000070,
		.finished_ms = 1000100,
	};

	cr_assert(drv_stats_count_rec(&c, &r));
	cr_assert_eq(c.v[DRV_STATS_WAIT_CNT], 1);
	cr_assert_eq(c.v[DRV_STATS_WAIT_SUM], 70);
	cr_assert_eq(c.v[DRV_STATS_WAIT_HIST + drv_stats_hist_bucket(70)], 1);
	/* submitted with a not_before: waiting starts then */
	r.planned_ms = 1000060;
	cr_assert(drv_stats_count_rec(&c, &r));
	cr_assert_eq(c.v[DRV_STATS_WAIT_SUM], 80);
	/* a retry counts no wait (its lateness instead) */
	r.attempt = 2;
	cr_assert(drv_stats_count_rec(&c, &r));
	cr_assert_eq(c.v[DRV_STATS_WAIT_CNT], 2);
	cr_assert_eq(c.v[DRV_STATS_LATE_CNT], 1);
	cr_assert_str_eq(drv_stats_field_name(DRV_STATS_WAIT_HIST + 2),
			 "wait:le100");
	cr_assert_str_eq(drv_stats_field_name(DRV_STATS_WAIT_CNT),
			 "wait_cnt");
}

Test(history, band_keys)
{
	char key[128];

	drv_stats_key(key, sizeof(key), "drover:", DRV_STATS_BAND, "high",
		      29000000);
	cr_assert_str_eq(key, "drover:stats:b:high:29000000");
}

Test(history, marker_checks)
{
	char err[256], big[DRV_MARKER_LABEL_MAX + 2];
	drv_marker_t m = { .label = "v1.4.2" };

	cr_assert_eq(drv_marker_check(&m, err, sizeof(err)), DRV_OK);
	m.at_ms = 1767225600000LL;
	cr_assert_eq(drv_marker_check(&m, err, sizeof(err)), DRV_OK);
	m.label = "";
	cr_assert_eq(drv_marker_check(&m, err, sizeof(err)), DRV_ERR_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	m.label = big;
	cr_assert_eq(drv_marker_check(&m, err, sizeof(err)), DRV_ERR_INVALID);
	/* 200 characters of two bytes each: within the limit */
	{
		char wide[2 * DRV_MARKER_LABEL_MAX + 1];

		for (int i = 0; i < DRV_MARKER_LABEL_MAX; i++)
			memcpy(wide + 2 * i, "\xc3\xa9", 2);
		wide[2 * DRV_MARKER_LABEL_MAX] = 0;
		m.label = wide;
		cr_assert_eq(drv_marker_check(&m, err, sizeof(err)), DRV_OK);
	}
	m.label = "bad \xff utf-8";
	cr_assert_eq(drv_marker_check(&m, err, sizeof(err)), DRV_ERR_INVALID);
}
