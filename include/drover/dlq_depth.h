/*
 * drover — the DLQ depth trend: the dead-letter topic's depth (what the
 * coordinators measure for drover_dlq_depth) sampled by the leading
 * coordinator every coordinator.dlq_depth_interval (1 minute by default)
 * into Redis for 14 days, and read back as a series for GET
 * /api/v1/dlq/depth and the console's DLQ gauge and trend chart.
 *
 * Key, with P = redis.key_prefix (default "drover:"):
 *
 *   P dlq:depth   sorted set, one member "AT_MS:DEPTH" per sample, scored
 *                 by AT_MS, the start of the sampling interval it was
 *                 taken in (a multiple of the interval since 1970, UTC).
 *                 A sample replaces any other of the same interval, so a
 *                 new leader (or two in a failover) writing one interval
 *                 again leaves one member. Trimmed in the same script to
 *                 DRV_DLQ_DEPTH_KEEP_MS of age and DRV_DLQ_DEPTH_SAMPLES_MAX
 *                 members (14 days of minutes: a shorter interval keeps a
 *                 shorter span), PEXPIREd by that age.
 *
 * Not the counters of drover/retry_stats.h: those are one hash per
 * handler and minute that workers add to; a gauge is set, not added, and
 * one small sorted set reads a whole range in one round trip.
 *
 * A read settles the range as drv_retry_stats_range() (at most 14 days)
 * and the step as drv_history_step() (at most DRV_HISTORY_POINTS_MAX
 * points) and gives, per step that holds samples, the last depth and the
 * highest and lowest: one ZRANGEBYSCORE of at most
 * DRV_DLQ_DEPTH_SAMPLES_MAX short members.
 */
#ifndef DROVER_DLQ_DEPTH_H
#define DROVER_DLQ_DEPTH_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Samples older than this are removed (14 days). */
#define DRV_DLQ_DEPTH_KEEP_MS (14LL * 24 * 3600 * 1000)
/** Most samples kept: 14 days of one a minute. */
#define DRV_DLQ_DEPTH_SAMPLES_MAX (14 * 24 * 60)

/**
 * @brief Record \p depth as the sample of the interval that starts at
 *        \p at_ms (the caller's multiple of its interval), replacing any
 *        sample of that interval, trimming by age (from \p at_ms) and
 *        count, in one Lua script on \p c.
 * @returns DRV_OK, or DRV_ERR_REDIS / DRV_ERR_TIMEOUT (drop \p c) with
 *          the reason in \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_dlq_depth_record(redisContext *c, const drv_config_t *cfg,
			       int64_t at_ms, int64_t depth, char *errstr,
			       size_t errstr_size);

/**
 * @brief The depth series over [\p since_ms, \p until_ms] (0: 24 hours
 *        before until; 0: \p now_ms) at \p step_ms (0: chosen; see
 *        drv_history_step()), on \p c.
 * @param out  receives {"since_ms", "until_ms", "step_ms", "interval_ms"
 *             (coordinator.dlq_depth_interval), "threshold"
 *             (coordinator.dlq_depth_alert, null when 0), "current"
 *             ({"at_ms", "depth"}: the newest sample kept, whatever the
 *             range, or null), "points": [{"t" (the step's start), "depth"
 *             (its last sample), "max", "min", "samples"}] (steps without
 *             a sample are left out)}: a new reference the caller
 *             decrefs; untouched on error.
 * @returns DRV_OK; DRV_ERR_INVALID (a step not whole minutes),
 *          DRV_ERR_REDIS / DRV_ERR_TIMEOUT (drop \p c), DRV_ERR_NOMEM;
 *          the reason in \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_dlq_depth_series(const drv_config_t *cfg, redisContext *c,
			       int64_t since_ms, int64_t until_ms,
			       int64_t step_ms, int64_t now_ms, json_t **out,
			       char *errstr, size_t errstr_size);

/**
 * @brief The newest sample kept, on \p c: one ZRANGE of one member (the
 *        API's event stream reads it at every snapshot).
 * @param out  receives {"at_ms", "depth"}, or JSON null when there is no
 *             sample: a new reference the caller decrefs; untouched on
 *             error.
 * @returns DRV_OK; DRV_ERR_REDIS / DRV_ERR_TIMEOUT (drop \p c) with the
 *          reason in \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_dlq_depth_current(const drv_config_t *cfg, redisContext *c,
				json_t **out, char *errstr,
				size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DLQ_DEPTH_H */
