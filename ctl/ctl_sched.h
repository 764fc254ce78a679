/*
 * ctl_sched.h — what the schedule commands (cmd_schedule.c,
 * cmd_schedule_edit.c) share: the Redis connection and finding a run-time
 * schedule.
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

#endif /* DROVER_CTL_SCHED_H */
