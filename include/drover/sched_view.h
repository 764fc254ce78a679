/*
 * drover — every schedule as operators see it: the config file's and the
 * run-time ones kept in Redis, each with its enable/disable override and
 * statistics. `droverctl schedule list|show` and `GET /api/v1/schedules`
 * print the same rows.
 *
 * Thread-safety: reentrant; a redisContext is used by one thread at a time.
 */
#ifndef DROVER_SCHED_VIEW_H
#define DROVER_SCHED_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/sched_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One schedule as listed. */
typedef struct drv_sched_row {
	drv_schedule_conf_t conf;   /**< owned copy */
	bool runtime;               /**< from Redis, not the config file */
	bool enabled;               /**< after any override */
	drv_sched_stats_t st;
	bool have_stats;            /**< st is filled (from Redis, or at least
					 the next fire time computed here) */
} drv_sched_row_t;

/**
 * @brief Every schedule, the config file's first then the run-time ones by
 *        id, or only schedule \p only (NULL = all).
 * @param c     a connection from drv_redis_connect(), or NULL: then the
 *              file's schedules only, without statistics or overrides.
 * @param out   receives a malloc'd array the caller frees with
 *              drv_sched_rows_free(); *cnt rows (0 when \p only is unknown).
 * @returns DRV_OK; DRV_ERR_REDIS / DRV_ERR_TIMEOUT when Redis failed while
 *          listing (the rows are still given, without run-time schedules,
 *          and the reason is in \p errstr); DRV_ERR_NOMEM.
 */
drv_err_t drv_sched_rows(const drv_config_t *cfg, redisContext *c,
			 const char *only, drv_sched_row_t **out, size_t *cnt,
			 char *errstr, size_t errstr_size);

/** Schedules on a page when the caller names no limit, and the most. */
#define DRV_SCHED_PAGE_DEFAULT 50
#define DRV_SCHED_PAGE_MAX     500
/** Room for a page's next cursor (a schedule id and its NUL). */
#define DRV_SCHED_CURSOR_SIZE  65

/**
 * @brief One page of schedules in id order (bytewise), the config file's
 *        and the run-time ones merged: at most \p limit whose id sorts
 *        after \p cursor (NULL or "" = the first page). Statistics and
 *        overrides are read for the page's schedules only.
 * @param cursor  borrowed; the \p next of the page before.
 * @param next    receives the cursor of the next page (the last id this
 *                page covered), "" on the last page; \p next_size bytes,
 *                DRV_SCHED_CURSOR_SIZE is enough. A schedule added or
 *                deleted between two pages moves no other one across it.
 * @param out     as drv_sched_rows(): free with drv_sched_rows_free(). A
 *                run-time schedule whose definition does not parse is left
 *                out, so a page may hold fewer than \p limit with more
 *                after it.
 * @returns drv_sched_rows()'s; DRV_ERR_INVALID when \p limit is not 1 to
 *          DRV_SCHED_PAGE_MAX or \p cursor is not a schedule id (nothing
 *          read).
 */
drv_err_t drv_sched_rows_page(const drv_config_t *cfg, redisContext *c,
			      const char *cursor, size_t limit,
			      drv_sched_row_t **out, size_t *cnt, char *next,
			      size_t next_size, char *errstr,
			      size_t errstr_size);

/** @brief Free \p rows (\p cnt of them) and what they own; NULL is fine. */
void drv_sched_rows_free(drv_sched_row_t *rows, size_t cnt);

/**
 * @brief \p r as {"id","source","enabled","definition",["stats"]}, times
 *        as RFC 3339 seconds and unix ms.
 * @returns a new reference (json_decref()); NULL when out of memory.
 */
json_t *drv_sched_row_obj(const drv_sched_row_t *r);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_SCHED_VIEW_H */
