/*
 * dlq_mark.h — resubmission marks: which dead letters were resubmitted, as
 * the Redis strings  <redis.key_prefix>dlq:resubmitted:<dead letter id>
 * holding the id of the task that was sent. A mark is written only after
 * the broker acknowledged that task, and kept for kafka.dlq_retention plus
 * a day (longer than the dead letter itself lives).
 *
 * Reads and writes are pipelined in batches, one round trip per batch.
 * For droverctl's one thread: dlq_marks_get() uses a static buffer.
 */
#ifndef DROVER_CTL_DLQ_MARK_H
#define DROVER_CTL_DLQ_MARK_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/task.h"

/* Most ids one dlq_marks_get()/dlq_marks_set() call takes. */
#define DLQ_MARK_BATCH 1000

/* The mark's key for \p dl_id into \p buf; false when it did not fit. */
bool dlq_mark_key(const drv_config_t *cfg, const char *dl_id, char *buf,
		  size_t size);

/* For each of the \p n dead-letter ids, the task id its mark holds, into
 * \p task_ids[i] ("" when unmarked). One MGET. */
drv_err_t dlq_marks_get(redisContext *c, const drv_config_t *cfg,
			const char *const *dl_ids, size_t n,
			char (*task_ids)[DRV_ID_LEN + 1],
			char *errstr, size_t errstr_size);

/* Write the \p n marks dl_ids[i] -> task_ids[i] (pipelined SET PX). */
drv_err_t dlq_marks_set(redisContext *c, const drv_config_t *cfg,
			const char *const *dl_ids,
			const char *const *task_ids, size_t n,
			char *errstr, size_t errstr_size);

/*
 * The id of the task a resubmission of dead letter \p dl_id sends, for
 * resubmission generation \p gen: the dead letter id's 48-bit time part,
 * then 80 bits hashed from (dl_id, gen). Deterministic, so a rerun after a
 * crash between the broker's acknowledgement and the mark sends the same
 * task id again. A well-formed ULID when \p dl_id is one.
 */
void dlq_resubmit_id(const char *dl_id, unsigned gen,
		     char out[DRV_ID_LEN + 1]);

#endif /* DROVER_CTL_DLQ_MARK_H */
