/*
 * drover — the dead letter: a task that failed for good, with its full
 * failure history (drv_failure_t, declared in task.h because a task being
 * retried carries it too), why it was dead-lettered and where it was read
 * from. Dead letters are the values on drover.dlq (key = task id) and what
 * `droverctl dlq list / show / resubmit` works on. A message that could not
 * be decoded at all becomes a dead letter with reason DRV_DL_UNDECODABLE,
 * an empty task and the original bytes in raw.
 *
 * Lifecycle: drv_dead_letter_init() (no allocation), fill,
 * drv_dead_letter_release(). The dead letter owns every pointer field, the
 * embedded task and every failure's strings.
 */
#ifndef DROVER_DEAD_LETTER_H
#define DROVER_DEAD_LETTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Why a task was dead-lettered. Values are the wire values. */
typedef enum drv_dl_reason {
	DRV_DL_UNSPECIFIED        = 0,
	DRV_DL_PERMANENT_FAILURE  = 1, /**< an attempt failed permanently */
	DRV_DL_ATTEMPTS_EXHAUSTED = 2, /**< max_attempts reached */
	DRV_DL_DEADLINE_EXCEEDED  = 3, /**< deadline passed before success */
	DRV_DL_UNDECODABLE        = 4, /**< not a valid task; see raw */
	DRV_DL_HANDLER_UNKNOWN    = 5, /**< no handler of that name */
	DRV_DL_SKIPPED            = 6, /**< an operator skipped it */
} drv_dl_reason_t;

#define DRV_DL_REASON_CNT 7

/**
 * @brief The snake_case name of \p r ("permanent_failure",
 *        "attempts_exhausted", "deadline_exceeded", "undecodable",
 *        "handler_unknown", "skipped"); "unspecified" for unknown values.
 * @returns a static string; never NULL.
 */
const char *drv_dl_reason_name(drv_dl_reason_t r);

/** @brief Parse a name made by drv_dl_reason_name() (case-insensitive).
 *  @returns DRV_OK or DRV_ERR_INVALID (\p out untouched). */
drv_err_t drv_dl_reason_parse(const char *s, drv_dl_reason_t *out);

typedef struct drv_dead_letter {
	uint32_t schema_version;       /**< writer's schema; set by init/decode */
	char     id[DRV_ID_LEN + 1];   /**< ULID of this dead letter; required */
	drv_task_t task;               /**< the task as it was; empty (id "")
	                                    when reason is DRV_DL_UNDECODABLE */
	drv_failure_t *failures;       /**< owned array, oldest first */
	size_t   failure_cnt;
	drv_dl_reason_t reason;
	char    *detail;               /**< the reason in words, NULL = none */
	int64_t  dead_ms;              /**< when it was dead-lettered */
	char    *source_topic;         /**< where the task was consumed from */
	int32_t  source_partition;
	int64_t  source_offset;
	char    *worker_id;            /**< worker that dead-lettered it */
	uint8_t *raw;                  /**< original bytes when undecodable */
	size_t   raw_len;
} drv_dead_letter_t;

/** @brief Zero \p dl, init the embedded task, set the schema version.
 *         Allocates nothing. */
void drv_dead_letter_init(drv_dead_letter_t *dl);

/** @brief Free everything \p dl owns (task, failures, strings, raw) and
 *         re-init it; \p dl itself is not freed. */
void drv_dead_letter_release(drv_dead_letter_t *dl);

/** @brief Append a deep copy of \p f to the failure history; the caller
 *         keeps \p f. @returns DRV_OK or DRV_ERR_NOMEM (\p dl unchanged). */
drv_err_t drv_dead_letter_add_failure(drv_dead_letter_t *dl,
				      const drv_failure_t *f);

/** @brief Replace raw with a copy of \p len bytes; the caller keeps
 *         \p data. @returns DRV_OK or DRV_ERR_NOMEM (raw unchanged). */
drv_err_t drv_dead_letter_set_raw(drv_dead_letter_t *dl, const void *data,
				  size_t len);

/**
 * @brief Check invariants: id present; unless the reason is
 *        DRV_DL_UNDECODABLE the task passes drv_task_validate().
 * @returns DRV_OK or DRV_ERR_INVALID with the problem in \p errstr.
 */
drv_err_t drv_dead_letter_validate(const drv_dead_letter_t *dl, char *errstr,
				   size_t errstr_size);

/**
 * @brief Encode \p dl as a protobuf `drover.v1.DeadLetter` (validated
 *        first; deterministic). The task is omitted when its id is empty.
 * @param out  receives a malloc'd buffer the caller frees with free();
 *             untouched on error.
 * @returns DRV_OK, DRV_ERR_INVALID or DRV_ERR_NOMEM.
 */
drv_err_t drv_dead_letter_encode(const drv_dead_letter_t *dl, uint8_t **out,
				 size_t *out_len, char *errstr,
				 size_t errstr_size);

/**
 * @brief Decode a protobuf `drover.v1.DeadLetter` into the initialised
 *        \p dl, which is released first. Reasons and failure classes this
 *        build does not know read as *_UNSPECIFIED; unknown fields are
 *        ignored. On error \p dl is left initialised and empty and \p errstr
 *        says why. The caller keeps \p buf.
 * @returns DRV_OK, DRV_ERR_DECODE or DRV_ERR_NOMEM.
 */
drv_err_t drv_dead_letter_decode(const void *buf, size_t len,
				 drv_dead_letter_t *dl, char *errstr,
				 size_t errstr_size);

/**
 * @brief Render \p dl as one line of compact JSON for `droverctl dlq show`:
 *        the task as drv_task_to_json() renders it under "task", failures
 *        as an array, reason and failure classes by name, raw bytes
 *        embedded as JSON when they parse, else "raw_base64".
 * @returns a malloc'd string the caller frees with free(), or NULL when out
 *          of memory.
 */
char *drv_dead_letter_to_json(const drv_dead_letter_t *dl);

/**
 * @brief One line of the export format (`droverctl dlq export`, `dlq
 *        import`, the DLQ archive) for the DLQ message \p value at
 *        \p partition / \p offset: drv_dead_letter_to_json() of \p dl plus
 *        "message_base64" (\p value, what an import decodes) and
 *        "dlq_partition" / "dlq_offset"; or, when \p dl is NULL (the
 *        message did not decode), {"undecodable_entry":true, "error":
 *        \p decode_error, the raw value, "timestamp_ms" (when \p
 *        timestamp_ms >= 0) and the position}. Everything is borrowed.
 * @returns a malloc'd string the caller frees with free(), or NULL when out
 *          of memory.
 */
char *drv_dead_letter_export_json(const drv_dead_letter_t *dl,
				  const void *value, size_t value_len,
				  const char *decode_error,
				  int64_t timestamp_ms, int32_t partition,
				  int64_t offset);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DEAD_LETTER_H */
