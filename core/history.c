/*
 * history.c — the history series (see include/drover/history.h): choose
 * the step, read the per-minute counters of a handler, a band or every
 * band summed per step, and make each point's throughput, failure rate
 * and percentile estimates, with the deploy markers of the range.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drover/history.h"
#include "drover/kafka.h"
#include "drover/markers.h"
#include "drover/retry_stats.h"
#include "drover/str.h"

#define MINUTE_MS DRV_STATS_BUCKET_MS

/* The steps chosen when none is asked for, smallest first. */
static const int64_t auto_steps[] = {
	MINUTE_MS, 5 * MINUTE_MS, 15 * MINUTE_MS, 60 * MINUTE_MS,
	360 * MINUTE_MS, 1440 * MINUTE_MS,
};

int64_t drv_history_points(int64_t since_ms, int64_t until_ms,
			   int64_t step_ms)
{
	if (until_ms < since_ms || step_ms <= 0)
		return 0;
	return until_ms / step_ms - since_ms / step_ms + 1;
}

drv_err_t drv_history_step(int64_t since_ms, int64_t until_ms,
			   int64_t *step_ms, char *errstr, size_t errstr_size)
{
	size_t n = sizeof(auto_steps) / sizeof(auto_steps[0]);
	int64_t least = 0;

	for (size_t i = 0; i < n && !least; i++)
		if (drv_history_points(since_ms, until_ms, auto_steps[i]) <=
		    DRV_HISTORY_POINTS_MAX)
			least = auto_steps[i];
	if (!*step_ms) {
		*step_ms = least ? least : auto_steps[n - 1];
		return DRV_OK;
	}
	if (*step_ms < MINUTE_MS || *step_ms % MINUTE_MS)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "step: a whole number of minutes, 1m or "
				 "more");
	if (*step_ms > DRV_HISTORY_STEP_MAX)
		*step_ms = DRV_HISTORY_STEP_MAX;
	if (drv_history_points(since_ms, until_ms, *step_ms) >
	    DRV_HISTORY_POINTS_MAX)
		*step_ms = least;
	return DRV_OK;
}

/* {count, p50, p95, p99} of histogram \p hist with \p count entries. */
static json_t *pct_json(const int64_t *hist, int64_t count)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)count,
			 "p50", (json_int_t)llround(
				 drv_stats_quantile_interp(hist, 0.5)),
			 "p95", (json_int_t)llround(
				 drv_stats_quantile_interp(hist, 0.95)),
			 "p99", (json_int_t)llround(
				 drv_stats_quantile_interp(hist, 0.99)));
}

/* One point (or the total, \p t < 0) of counters \p s over \p span_ms. */
static json_t *point_json(const drv_stats_counts_t *s, int64_t t,
			  int64_t span_ms)
{
	const int64_t *v = s->v;
	int64_t ok = 0, dead = 0, failed = 0, att = v[DRV_STATS_ATTEMPTS];
	json_t *o;

	for (int n = 0; n < DRV_STATS_ATTEMPT_MAX; n++)
		ok += v[DRV_STATS_OK + n];
	for (int n = 0; n <= DRV_STATS_ATTEMPT_MAX; n++)
		dead += v[DRV_STATS_DEAD + n];
	for (int c = 1; c < DRV_FAILURE_CLASS_CNT; c++)
		failed += v[DRV_STATS_FAIL + c - 1];
	o = json_pack("{s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:o}",
		      "attempts", (json_int_t)att,
		      "per_s", span_ms > 0 ? (double)att * 1000.0 /
				(double)span_ms : 0.0,
		      "succeeded", (json_int_t)ok, "dead", (json_int_t)dead,
		      "skipped", (json_int_t)v[DRV_STATS_SKIPPED],
		      "cancelled", (json_int_t)v[DRV_STATS_CANCELLED],
		      "failed", (json_int_t)failed,
		      "failure_rate", att ? (double)failed / (double)att : 0.0,
		      "wait_ms", pct_json(v + DRV_STATS_WAIT_HIST,
					  v[DRV_STATS_WAIT_CNT]),
		      "duration_ms", pct_json(v + DRV_STATS_DUR_HIST,
					      v[DRV_STATS_DUR_CNT]));
	if (o && t >= 0 && json_object_set_new(o, "t", json_integer(t))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool band_known(const char *name)
{
	for (size_t i = 0; i < drv_band_cnt; i++)
		if (!strcmp(drv_bands[i].name, name))
			return true;
	return false;
}

/* Read the counters of \p q into \p pts (\p npts steps of \p step_ms
 * from \p first_ms). */
static drv_err_t read_points(const drv_config_t *cfg, redisContext *c,
			     const drv_history_query_t *q, int64_t first_ms,
			     int64_t npts, int64_t step_ms,
			     drv_stats_counts_t *pts, char *errstr,
			     size_t errstr_size)
{
	int64_t step_min = step_ms / MINUTE_MS, first = first_ms / MINUTE_MS;
	drv_err_t err = DRV_OK;

	if (q->handler || q->band)
		return drv_stats_read_steps(c, cfg->redis.key_prefix,
					    q->handler ? DRV_STATS_HANDLER :
					    DRV_STATS_BAND, q->handler ?
					    q->handler : q->band, first,
					    npts * step_min, step_min, pts,
					    errstr, errstr_size);
	for (size_t i = 0; i < drv_band_cnt && !err; i++)
		err = drv_stats_read_steps(c, cfg->redis.key_prefix,
					   DRV_STATS_BAND, drv_bands[i].name,
					   first, npts * step_min, step_min,
					   pts, errstr, errstr_size);
	return err;
}

drv_err_t drv_history(const drv_config_t *cfg, redisContext *c,
		      const drv_history_query_t *q, int64_t now_ms,
		      json_t **out, char *errstr, size_t errstr_size)
{
	int64_t since = q->since_ms, until = q->until_ms, step = q->step_ms,
		npts, first;
	drv_stats_counts_t *pts, total = { { 0 } };
	json_t *list = NULL, *markers = NULL, *o = NULL;
	drv_err_t err;

	if (q->handler && q->band)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "handler and band: one or the other");
	if ((q->handler && !*q->handler) || (q->band && !*q->band))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "%s: empty", q->handler ? "handler" : "band");
	if (q->band && !band_known(q->band))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "band: '%.64s' is not high, normal or low",
				 q->band);
	drv_retry_stats_range(&since, &until, now_ms);
	if ((err = drv_history_step(since, until, &step, errstr,
				    errstr_size)))
		return err;
	/* until before since: no point, no marker */
	npts = drv_history_points(since, until, step);
	first = since / step * step;
	if (!(pts = calloc((size_t)npts + 1, sizeof(*pts))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if ((err = read_points(cfg, c, q, first, npts, step, pts, errstr,
			       errstr_size)) ||
	    (err = drv_marker_list(c, cfg->redis.key_prefix, since, until,
				   &markers, errstr, errstr_size)))
		goto done;
	err = DRV_ERR_NOMEM;
	if (!(list = json_array()))
		goto done;
	for (int64_t i = 0; i < npts; i++) {
		for (int f = 0; f < DRV_STATS_FIELD_CNT; f++)
			total.v[f] += pts[i].v[f];
		if (json_array_append_new(list, point_json(&pts[i], first +
							   i * step, step)))
			goto done;
	}
	o = json_pack("{s:s?, s:s?, s:I, s:I, s:I, s:O, s:o, s:O}",
		      "handler", q->handler, "band", q->band,
		      "since_ms", (json_int_t)since,
		      "until_ms", (json_int_t)until,
		      "step_ms", (json_int_t)step, "points", list,
		      "total", point_json(&total, -1, until >= since ?
						  until - since + 1 : 0),
		      "markers", markers);
	if (o) {
		*out = o;
		err = DRV_OK;
	}
done:
	if (err == DRV_ERR_NOMEM)
		drv_error(errstr, errstr_size, err, "out of memory");
	json_decref(list);
	json_decref(markers);
	free(pts);
	return err;
}
