/*
 * stats.c — per-schedule statistics from lifecycle events. Any coordinator
 * (leader or not) that reads a task.succeeded, task.retrying or task.dead
 * event of a scheduled task records it in Redis (drover/sched_store.h):
 * counts, the duration, the last run and its outcome; and the end of a run
 * releases the schedule's overlap guard.
 */
#include "coord.h"
#include "drover/log.h"
#include "drover/sched_store.h"

void stats_lifecycle(coord_t *c, const char *schedule_id, const char *type,
		     const char *task_id, int64_t duration_ms,
		     int64_t finished_ms)
{
	char err[512];

	if (!c->redis)
		return;
	if (drv_sched_store_run(c->redis, c->cfg->redis.key_prefix,
				schedule_id, type, task_id, duration_ms,
				finished_ms, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_WARN, "cannot record a run", "schedule",
			   schedule_id, "task_id", task_id, "error", err,
			   NULL);
		if (c->redis->err)
			coord_redis_lost(c, err);
	}
}
