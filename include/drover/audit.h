/*
 * drover — the audit record: one operator action (DLQ resubmit, pause, skip,
 * breaker force...) as written to drover.audit: who, when, from where, what,
 * on what, how many, and how it ended.
 *
 * Lifecycle: drv_audit_init() (no allocation), fill, drv_audit_release().
 * Every char * field is owned by the record; optional strings are NULL when
 * absent.
 */
#ifndef DROVER_AUDIT_H
#define DROVER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"
#include "drover/task.h" /* DRV_ID_LEN, DRV_SCHEMA_VERSION */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drv_audit {
	uint32_t schema_version;     /**< writer's schema; set by init/decode */
	char     id[DRV_ID_LEN + 1]; /**< ULID of this record; required */
	int64_t  time_ms;            /**< when the action was taken */
	char    *actor;              /**< user or component who acted */
	char    *host;               /**< host it was taken from */
	char    *action;             /**< "dlq.resubmit", "task.pause"...;
	                                  required */
	char    *target;             /**< task id, breaker name, filter... */
	uint64_t count;              /**< how many things it affected */
	char    *details_json;       /**< further parameters, a JSON object */
	char    *result;             /**< "ok" or the error text */
} drv_audit_t;

/** @brief Zero \p a and set the schema version. Allocates nothing. */
void drv_audit_init(drv_audit_t *a);

/** @brief Free every string \p a owns and re-init it; \p a itself is not
 *         freed. */
void drv_audit_release(drv_audit_t *a);

/** @brief Check invariants: id and action present.
 *  @returns DRV_OK or DRV_ERR_INVALID with the problem in \p errstr. */
drv_err_t drv_audit_validate(const drv_audit_t *a, char *errstr,
			     size_t errstr_size);

/**
 * @brief Encode \p a as a protobuf `drover.v1.AuditRecord` (validated
 *        first).
 * @param out  receives a malloc'd buffer the caller frees with free();
 *             untouched on error.
 * @returns DRV_OK, DRV_ERR_INVALID or DRV_ERR_NOMEM.
 */
drv_err_t drv_audit_encode(const drv_audit_t *a, uint8_t **out,
			   size_t *out_len, char *errstr, size_t errstr_size);

/**
 * @brief Decode a protobuf `drover.v1.AuditRecord` into the initialised
 *        \p a, which is released first. On error \p a is left initialised
 *        and empty and \p errstr says why. The caller keeps \p buf.
 * @returns DRV_OK, DRV_ERR_DECODE or DRV_ERR_NOMEM.
 */
drv_err_t drv_audit_decode(const void *buf, size_t len, drv_audit_t *a,
			   char *errstr, size_t errstr_size);

/**
 * @brief Render \p a as one line of compact JSON; details_json is embedded
 *        as a JSON value when it parses, else as a string.
 * @returns a malloc'd string the caller frees with free(), or NULL when out
 *          of memory.
 */
char *drv_audit_to_json(const drv_audit_t *a);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_AUDIT_H */
