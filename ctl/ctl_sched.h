/*
 * ctl_sched.h — what the schedule commands (cmd_schedule.c,
 * cmd_schedule_edit.c) share: the Redis connection, finding a run-time
 * schedule, and the name checks a file schedule gets at load time.
 */
#ifndef DROVER_CTL_SCHED_H
#define DROVER_CTL_SCHED_H

#include <hiredis/hiredis.h>

#include "ctl.h"
#include "drover/config.h"

/* Connect to the configured Redis; CTL_EXIT_OK or CTL_EXIT_FAILED (with
 * the message printed). The caller frees *out with redisFree(). */
int ctl_sched_redis(const drv_config_t *cfg, redisContext **out);

/* The stored JSON of run-time schedule \p id into *json (malloc'd, caller
 * frees): CTL_EXIT_OK, or CTL_EXIT_FAILED with "no schedule" printed
 * unless \p quiet. */
int ctl_sched_runtime_json(redisContext *c, const drv_config_t *cfg,
			   const char *id, bool quiet, char **json);

/* The handler (when the config defines handlers) and the policy of
 * \p conf exist: CTL_EXIT_OK or a usage error. */
int ctl_sched_check_names(const ctl_cmd_t *cmd, const drv_config_t *cfg,
			  const drv_schedule_conf_t *conf);


#endif /* DROVER_CTL_SCHED_H */
