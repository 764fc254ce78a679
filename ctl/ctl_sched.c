/*
 * ctl_sched.c — helpers of the schedule commands: Redis, run-time schedule
 * lookup (the core's drv_sched_store_get()).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_sched.h"
#include "drover/redis.h"
#include "drover/sched_edit.h"

int ctl_sched_redis(const drv_config_t *cfg, redisContext **out)
{
	char err[512];

	if (drv_redis_connect(cfg, out, err, sizeof(err)))
		return ctl_fail("%s", err);
	return CTL_EXIT_OK;
}

int ctl_sched_runtime_json(redisContext *c, const drv_config_t *cfg,
			   const char *id, bool quiet, char **json)
{
	char err[512];
	drv_err_t rc = drv_sched_store_get(c, cfg->redis.key_prefix, id, json,
					   err, sizeof(err));

	if (rc == DRV_ERR_NOT_FOUND && quiet)
		return CTL_EXIT_FAILED;
	if (rc == DRV_ERR_NOT_FOUND)
		return ctl_fail("no schedule '%s' (not in %s nor in Redis)",
				id, cfg->path ? cfg->path : "the config");
	if (rc)
		return ctl_fail("%s", err);
	return CTL_EXIT_OK;
}
