/*
 * drover — deploy markers: a labelled moment ("v1.4.2 deployed") that the
 * history (drover/history.h) draws over its series, set through
 * POST /api/v1/markers or `droverctl marker add`, listed by time, changed
 * and deleted by id (PATCH / DELETE /api/v1/markers/{id}, `droverctl
 * marker edit|delete`).
 *
 * Key, with P = redis.key_prefix (default "drover:"):
 *
 *   P markers   sorted set scored by the marker's time (ms since 1970);
 *               each member is the marker as compact JSON {"id", "at_ms",
 *               "label", "note", "actor", "created_ms"} (note and actor
 *               left out when absent; the ULID id keeps
 *               two markers of the same label and time apart). Markers
 *               older than DRV_MARKER_KEEP_MS are removed on every add;
 *               the key itself has no TTL. A change (drv_marker_update())
 *               swaps the member for a new one with "updated_ms" and
 *               "updated_by" added.
 */
#ifndef DROVER_MARKERS_H
#define DROVER_MARKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How long a marker is kept: as long as the history it marks. */
#define DRV_MARKER_KEEP_MS (14LL * 24 * 3600 * 1000)
/** Longest label and note, in characters (code points). */
#define DRV_MARKER_LABEL_MAX 200
#define DRV_MARKER_NOTE_MAX 2000
/** Most markers one list returns (the earliest of the range). */
#define DRV_MARKER_LIST_MAX 1000

/** A marker to add; the strings are the caller's, only read. */
typedef struct drv_marker {
	const char *label;  /**< required: 1..DRV_MARKER_LABEL_MAX
				 characters of UTF-8 */
	const char *note;   /**< NULL = none; up to DRV_MARKER_NOTE_MAX */
	const char *actor;  /**< who set it; NULL = none */
	int64_t     at_ms;  /**< its time (ms since 1970); 0 = now */
} drv_marker_t;

/**
 * @brief Check \p m: a label of 1..DRV_MARKER_LABEL_MAX characters and
 *        a note of at most DRV_MARKER_NOTE_MAX, both valid UTF-8 (any
 *        time will do: see drv_marker_add()). Pure.
 * @returns DRV_OK or DRV_ERR_INVALID with the problem in \p errstr.
 */
drv_err_t drv_marker_check(const drv_marker_t *m, char *errstr,
			   size_t errstr_size);

/**
 * @brief Add marker \p m (checked with drv_marker_check()) on \p c, and
 *        remove the markers older than DRV_MARKER_KEEP_MS before
 *        \p now_ms (so one added with a time older than that is gone at
 *        once); one round trip
 *        (ZADD and ZREMRANGEBYSCORE pipelined).
 * @param out  receives the marker as stored (a new reference the caller
 *             decrefs); untouched on error. NULL: not wanted.
 * @returns DRV_OK, DRV_ERR_INVALID, DRV_ERR_REDIS / DRV_ERR_TIMEOUT,
 *          DRV_ERR_NOMEM; the reason in \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_marker_add(redisContext *c, const char *key_prefix,
			 const drv_marker_t *m, int64_t now_ms, json_t **out,
			 char *errstr, size_t errstr_size);

/**
 * @brief The markers of [\p since_ms, \p until_ms] on \p c, oldest first,
 *        at most DRV_MARKER_LIST_MAX; members that are not a marker's
 *        JSON are skipped.
 * @param out  receives a JSON array (new reference, the caller's);
 *             untouched on error.
 * @returns DRV_OK, DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_NOMEM.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_marker_list(redisContext *c, const char *key_prefix,
			  int64_t since_ms, int64_t until_ms, json_t **out,
			  char *errstr, size_t errstr_size);

/** A change to a marker; what is NULL (0, false) is kept. The strings
 *  are the caller's, only read. */
typedef struct drv_marker_change {
	const char *label;      /**< a new label (checked as an add's) */
	const char *note;       /**< a new note */
	bool        drop_note;  /**< take the note out (note then ignored) */
	int64_t     at_ms;      /**< a new time (ms since 1970) */
	const char *editor;     /**< who changed it ("updated_by"); NULL =
				     none */
} drv_marker_change_t;

/**
 * @brief Change marker \p id on \p c: the members \p ch gives replace the
 *        stored ones, "updated_ms" (\p now_ms) and "updated_by" are set;
 *        id, actor and created_ms stay. The marker is swapped for the new
 *        one only if it is still the one read (a script): a marker changed
 *        or deleted meanwhile is read again (three tries). Markers older
 *        than DRV_MARKER_KEEP_MS go as on an add.
 * @param before, after  receive the marker as it was and as stored (new
 *             references the caller decrefs); NULL: not wanted.
 * @returns DRV_OK; DRV_ERR_NOT_FOUND when no marker has \p id;
 *          DRV_ERR_INVALID (the change, as drv_marker_check() says);
 *          DRV_ERR_EXISTS when it kept changing under us (409);
 *          DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_NOMEM; the reason in
 *          \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_marker_update(redisContext *c, const char *key_prefix,
			    const char *id, const drv_marker_change_t *ch,
			    int64_t now_ms, json_t **before, json_t **after,
			    char *errstr, size_t errstr_size);

/**
 * @brief Delete marker \p id on \p c.
 * @param out  receives the marker deleted (a new reference); NULL: not
 *             wanted.
 * @returns DRV_OK; DRV_ERR_NOT_FOUND when no marker has \p id;
 *          DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_NOMEM.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_marker_delete(redisContext *c, const char *key_prefix,
			    const char *id, json_t **out, char *errstr,
			    size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_MARKERS_H */
