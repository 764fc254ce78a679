/*
 * dlq_trend.c — the DLQ depth trend: the leading coordinator writes the
 * depth its depth thread last measured (observe.c) into Redis once per
 * coordinator.dlq_depth_interval (drv_dlq_depth_record(), keyed by the
 * interval's start, so a new leader writing the same interval again
 * replaces it). Read by GET /api/v1/dlq/depth.
 *
 * @locality main thread.
 */
#include "coord.h"
#include "drover/clock.h"
#include "drover/dlq_depth.h"
#include "drover/log.h"

void dlq_trend_tick(coord_t *c)
{
	int64_t every = c->cfg->coordinator.dlq_depth_interval_ms, slot;
	int64_t depth = __atomic_load_n(&c->obs.dlq_depth_now,
					__ATOMIC_RELAXED);
	char err[512];
	drv_err_t rc;

	if (every <= 0 || depth < 0 || !c->redis || !leader_safe(c))
		return;
	slot = drv_now_ms() / every * every;
	if (slot == c->trend_slot)
		return;
	/* tried once per interval: a failure is not retried every turn */
	c->trend_slot = slot;
	rc = drv_dlq_depth_record(c->redis, c->cfg, slot, depth, err,
				  sizeof(err));
	if (!rc)
		return;
	drv_log_kv(DRV_LOG_WARN, "DLQ depth sample not written; the next "
		   "interval will write its own", "error", err, NULL);
	if (c->redis->err)
		coord_redis_lost(c, err);
}
