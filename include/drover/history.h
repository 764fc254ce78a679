/*
 * drover — history per handler and band: a time series of throughput,
 * failure rate, submit→start latency and duration percentiles over up to
 * 14 days, read from the workers' per-minute counters
 * (drover/retry_stats.h) and summed per step, with the deploy markers
 * (drover/markers.h) of the range. One operation for
 * GET /api/v1/history, `droverctl history` and the console's History
 * view.
 *
 * Steps: 1 minute at least, a whole number of minutes, 1 day at most; a
 * series has at most DRV_HISTORY_POINTS_MAX points. Without a step asked
 * for (or when the one asked for gives more points), the smallest of 1m,
 * 5m, 15m, 1h, 6h, 1d that keeps within it (24 h → 1m, 7 d → 15m, 14 d
 * → 15m); the reply's step_ms is the step used. Points start at multiples of the step since
 * 1970 (UTC), so the first and the last may reach outside the range.
 *
 * Percentiles are estimates from the histogram buckets
 * (DRV_STATS_HIST_BOUNDS), interpolated linearly within the bucket that
 * holds them (drv_stats_quantile_interp()); over 30 minutes they are the
 * last bound, 1800000.
 *
 * Cost: one HGETALL per minute of the range and key read (a handler or a
 * band: one key; "all": the three band keys), pipelined 512 at a time on
 * the caller's connection; no roll-ups. docs/api.md gives the measured
 * time of a 14-day read.
 */
#ifndef DROVER_HISTORY_H
#define DROVER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most points of one series. */
#define DRV_HISTORY_POINTS_MAX 1500
/** Longest step: a day. */
#define DRV_HISTORY_STEP_MAX (24LL * 3600 * 1000)

/** What a history read asks for. Plain data: zero it to start. */
typedef struct drv_history_query {
	const char *handler;  /**< this handler's tasks; or */
	const char *band;     /**< this band's ("high", "normal", "low");
				   both NULL: every task (the bands' sum) */
	int64_t since_ms;     /**< 0: 24 hours before until */
	int64_t until_ms;     /**< 0: now */
	int64_t step_ms;      /**< 0: chosen (see above) */
} drv_history_query_t;

/**
 * @brief The number of points of a series over [\p since_ms,
 *        \p until_ms] at \p step_ms (> 0): the steps from the one holding
 *        \p since_ms to the one holding \p until_ms. Pure.
 */
int64_t drv_history_points(int64_t since_ms, int64_t until_ms,
			   int64_t step_ms);

/**
 * @brief Settle the step of a series over [\p since_ms, \p until_ms]:
 *        \p *step_ms 0 becomes the smallest of 1m, 5m, 15m, 1h, 6h, 1d
 *        that gives at most DRV_HISTORY_POINTS_MAX points; a step asked
 *        for must be a whole number of minutes: over 1d it becomes 1d,
 *        and one that gives more points than that becomes the step
 *        chosen without one. Pure.
 * @returns DRV_OK, or DRV_ERR_INVALID (not whole minutes) with the
 *          problem in \p errstr.
 */
drv_err_t drv_history_step(int64_t since_ms, int64_t until_ms,
			   int64_t *step_ms, char *errstr, size_t errstr_size);

/**
 * @brief The history \p q asks for, on \p c (from drv_redis_connect()).
 *        The range is settled as drv_retry_stats_range() does (at most
 *        14 days), then the step (drv_history_step()).
 * @param out  receives {"handler" (or null), "band" (or null),
 *             "since_ms", "until_ms", "step_ms", "points": [{"t" (the
 *             step's start, ms), "attempts", "per_s" (attempts per
 *             second), "succeeded", "dead", "failed" (failed attempts),
 *             "failure_rate" (failed / attempts), "wait_ms" and
 *             "duration_ms" ({"count", "p50", "p95", "p99"})}], "total"
 *             (the same over the whole range, without "t"), "markers"
 *             (drv_marker_list() of the range)}: a new reference the
 *             caller decrefs; untouched on error.
 * @returns DRV_OK (until before since: no point); DRV_ERR_INVALID (both
 *          handler and band, an unknown band, a step not whole minutes), DRV_ERR_REDIS / DRV_ERR_TIMEOUT (\p c is
 *          unusable after a connection error), DRV_ERR_NOMEM; the reason
 *          in \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_history(const drv_config_t *cfg, redisContext *c,
		      const drv_history_query_t *q, int64_t now_ms,
		      json_t **out, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_HISTORY_H */
