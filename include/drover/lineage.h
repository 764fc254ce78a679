/*
 * drover — a task's lineage: the tasks that resubmissions of dead letters
 * link, oldest first (GET /api/v1/tasks/{id}/lineage, `droverctl task
 * lineage`).
 */
#ifndef DROVER_LINEAGE_H
#define DROVER_LINEAGE_H

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"

#define DRV_LINEAGE_MAX 16   /**< most tasks one lineage follows */

/**
 * @brief The lineage of task \p id: back through the dead letter each task
 *        was resubmitted from (origin.dead_letter_id, from the task's state
 *        record or its own dead letter) to the first task, then forward
 *        through each task's dead letters and the tasks their
 *        resubmissions sent (the DLQ marks), at most DRV_LINEAGE_MAX tasks.
 *        Dead letters are found through the DLQ index (drover/dlq_index.h).
 * @param c    a Redis connection (task state, marks).
 * @param out  on DRV_OK a new object {"id", "tasks": [{"id", "state":
 *             drv_state_task_obj() with its history or null (no record),
 *             "origin": object or null, "dead_letters": [{"id", "reason",
 *             "dead_ms", "detail"?, "resubmitted_as": id or null,
 *             "discarded": true when it was discarded}]}],
 *             "truncated": bool}; the caller drops it.
 * @returns DRV_OK; DRV_ERR_NOT_FOUND when neither Redis nor the DLQ knows
 *          \p id; a Redis or Kafka error with \p errstr.
 */
drv_err_t drv_task_lineage(const drv_config_t *cfg, redisContext *c,
			   const char *id, json_t **out, char *errstr,
			   size_t errstr_size);

#endif /* DROVER_LINEAGE_H */
