/*
 * ctl_sched.c — helpers of the schedule commands: Redis, run-time schedule
 * lookup, and the handler/policy checks.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_sched.h"
#include "drover/redis.h"
#include "drover/sched_store.h"

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
	drv_sched_entry_t *e = NULL;
	size_t n = 0;
	char err[512];

	*json = NULL;
	if (drv_sched_store_list(c, cfg->redis.key_prefix, &e, &n, NULL,
				 NULL, NULL, err, sizeof(err)))
		return ctl_fail("%s", err);
	for (size_t i = 0; i < n && !*json; i++)
		if (!strcmp(e[i].id, id)) {
			*json = e[i].json;
			e[i].json = NULL;
		}
	drv_sched_entries_free(e, n);
	if (!*json && quiet)
		return CTL_EXIT_FAILED;
	if (!*json)
		return ctl_fail("no schedule '%s' (not in %s nor in Redis)",
				id, cfg->path ? cfg->path : "the config");
	return CTL_EXIT_OK;
}

int ctl_sched_check_names(const ctl_cmd_t *cmd, const drv_config_t *cfg,
			  const drv_schedule_conf_t *conf)
{
	if (cfg->handler_cnt && !drv_config_handler(cfg, conf->task.handler))
		return ctl_usage_error(cmd, "unknown handler '%s' (not under "
				       "handlers: in %s)", conf->task.handler,
				       cfg->path);
	if (conf->task.policy && !drv_config_policy(cfg, conf->task.policy))
		return ctl_usage_error(cmd, "unknown retry policy '%s'",
				       conf->task.policy);
	return CTL_EXIT_OK;
}
