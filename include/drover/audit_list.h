/*
 * drover — reading the audit trail: the AuditRecords on <prefix>audit that
 * pass a filter (actor, action, target, time range), newest first, a page
 * at a time behind a cursor. `droverctl audit list` and GET /api/v1/audit
 * both call drv_audit_list(), so a filter means the same in both.
 *
 * A page reads the audit topic once, from the beginning of every partition
 * to the end it had when the read started (drv_topic_read), and keeps the
 * newest \p limit matching records older than the cursor.
 */
#ifndef DROVER_AUDIT_LIST_H
#define DROVER_AUDIT_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/audit.h"
#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_AUDIT_PAGE_DEFAULT 50   /**< records per API page unless asked */
#define DRV_AUDIT_PAGE_MAX     500  /**< most records per API page */

/** What to list. Strings are borrowed; NULL / 0 = no condition. */
typedef struct drv_audit_filter {
	int64_t     since_ms;   /**< at or after */
	int64_t     until_ms;   /**< before */
	const char *action;     /**< exact, or a prefix ending in '.' */
	const char *actor;      /**< exact */
	const char *target;     /**< exact */
} drv_audit_filter_t;

/**
 * @brief Set filter \p name ("since", "until", "action", "actor",
 *        "target") to \p value, borrowed; times in drv_parse_when()'s
 *        forms against \p now_ms.
 * @returns DRV_OK; DRV_ERR_NOT_FOUND for an unknown \p name;
 *          DRV_ERR_INVALID with the reason in \p errstr.
 */
drv_err_t drv_audit_filter_set(drv_audit_filter_t *f, const char *name,
			       const char *value, int64_t now_ms,
			       char *errstr, size_t errstr_size);

/** @brief Does record \p a pass \p f? */
bool drv_audit_match(const drv_audit_filter_t *f, const drv_audit_t *a);

/** One page of records, newest first (by time, then id). Owned by the
 *  page; free with drv_audit_page_release(). */
typedef struct drv_audit_page {
	drv_audit_t *records;
	size_t   cnt;
	size_t   matched;     /**< records that pass the filter, cursor or
				   not */
	size_t   bad;         /**< messages that are not AuditRecords */
	int32_t  bad_partition;   /**< where the first of them is */
	int64_t  bad_offset;
	char     next[64];    /**< cursor of the next page; "" on the last */
} drv_audit_page_t;

/**
 * @brief Read one page: the newest \p limit (>= 1) records that pass \p f
 *        and come after \p cursor (NULL or "" for the first page, else a
 *        page's next) in newest-first order.
 * @param out  zeroed and filled; release it with drv_audit_page_release()
 *             whatever the result.
 * @returns DRV_OK; DRV_ERR_INVALID (bad cursor, reason in \p errstr);
 *          DRV_ERR_NOT_FOUND (no audit topic); a Kafka error; NOMEM.
 */
drv_err_t drv_audit_list(const drv_config_t *cfg, const drv_audit_filter_t *f,
			 const char *cursor, size_t limit,
			 drv_audit_page_t *out, char *errstr,
			 size_t errstr_size);

/** @brief Free what \p p holds and zero it; \p p itself is not freed. */
void drv_audit_page_release(drv_audit_page_t *p);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_AUDIT_LIST_H */
