/*
 * drover — listing tasks by state from the task state in Redis, one page at
 * a time: `droverctl task list` and `GET /api/v1/tasks`.
 *
 * Workers keep, besides each task's hash (drover/state.h), one sorted set
 * per state, `P tasks:<state>`, scored by the task's last update
 * (worker.task_index). A page walks the selected states' sets from the
 * newest update down, merged, and reads the hashes of the candidates in
 * one pipeline; filters other than the time range are applied to those
 * hashes. A page therefore costs at most DRV_TASK_LIST_SCAN candidates,
 * whatever the size of the sets: a narrow filter may give a short (even
 * empty) page with a cursor to go on from.
 *
 * What is listed is what workers recorded; with worker.task_state
 * `failures` only tasks that failed once, with `off` or worker.task_index
 * false none. A task still waiting on a band topic has no record: queued
 * tasks are read from Kafka (drv_task_list_queued()), alone when the
 * filter asks for them alone, else after the recorded states (the last
 * page of those hands over with a "q..." cursor).
 *
 * Thread-safety: every function is reentrant; a redisContext is used by one
 * thread at a time.
 */
#ifndef DROVER_TASK_LIST_H
#define DROVER_TASK_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/queue_status.h"
#include "drover/state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_TASK_LIST_DEFAULT 50     /**< tasks per page unless asked */
#define DRV_TASK_LIST_MAX     500    /**< most tasks per page */
#define DRV_TASK_LIST_SCAN    10000  /**< most candidates read per page */
#define DRV_TASK_FILTER_LABEL_MAX 16

/** What a listed task must match; every set field must hold. Strings are
 *  borrowed: they must outlive the filter's use. */
typedef struct drv_task_filter {
	unsigned    states;       /**< bit (1u << state); 0 = every state */
	const char *handler;      /**< NULL = any */
	uint32_t    prio_min;     /**< a band's priority range; 0 = any */
	uint32_t    prio_max;
	const char *schedule_id;  /**< origin.schedule_id; NULL = any */
	const char *label[DRV_TASK_FILTER_LABEL_MAX]; /**< "key=value" */
	size_t      label_cnt;
	int64_t     since_ms;     /**< updated at or after; 0 = open */
	int64_t     until_ms;     /**< updated before; 0 = open */
} drv_task_filter_t;

/**
 * @brief Set one filter field from its text, the same way for every caller:
 *        \p name is "state" (a name of drv_task_state_name(), or several
 *        joined by ','; states of several calls add up), "handler", "band" (a band of \p cfg), "label"
 *        ("key=value"; up to DRV_TASK_FILTER_LABEL_MAX), "schedule",
 *        "since" or "until" (drv_parse_when() forms, against \p now_ms).
 * @param value  borrowed, must outlive \p f.
 * @returns DRV_OK, DRV_ERR_INVALID (bad value: the reason in \p errstr) or
 *          DRV_ERR_NOT_FOUND (no such filter \p name).
 */
drv_err_t drv_task_filter_set(drv_task_filter_t *f, const drv_config_t *cfg,
			      const char *name, const char *value,
			      int64_t now_ms, char *errstr,
			      size_t errstr_size);

/** @brief Does \p t (its hash read back) pass \p f? */
bool drv_task_filter_match(const drv_task_filter_t *f,
			   const drv_state_task_t *t);

/** One page of tasks. Everything is owned; release with
 *  drv_task_page_release(). */
typedef struct drv_task_page {
	drv_state_task_t *tasks;   /**< newest update first; no history */
	size_t   cnt;
	char    *next;             /**< cursor of the next page; NULL when
				        there is no more */
	size_t   scanned;          /**< candidates read for this page */
} drv_task_page_t;

/**
 * @brief Read one page of the tasks that pass \p f, newest update first.
 * @param c       a connection from drv_redis_connect().
 * @param key_prefix  redis.key_prefix.
 * @param cursor  NULL or "" for the first page, else a drv_task_page_t.next
 *                of an earlier call with the same filter.
 * @param limit   tasks wanted, 1..DRV_TASK_LIST_MAX.
 * @param out     filled on DRV_OK (zeroed first); the caller releases it.
 * @returns DRV_OK, DRV_ERR_INVALID (bad cursor or limit), DRV_ERR_REDIS /
 *          DRV_ERR_TIMEOUT (\p c is unusable after a connection error),
 *          DRV_ERR_NOMEM; the reason in \p errstr. A hash that does not
 *          parse is skipped, not an error.
 */
drv_err_t drv_task_list(redisContext *c, const char *key_prefix,
			const drv_task_filter_t *f, const char *cursor,
			size_t limit, drv_task_page_t *out, char *errstr,
			size_t errstr_size);

/**
 * @brief drv_task_list() for queued tasks, which have no record yet: read
 *        from the band topics, from the workers' committed offsets to the
 *        end, bands highest first, each partition in offset order; a task
 *        some worker has recorded (it is running, or ran) is left out.
 *        The filter's states are not looked at (the caller lists queued
 *        tasks alone); its time range applies to when a task was
 *        published. A page reads at most DRV_TASK_LIST_SCAN messages.
 * @param r       a reader from drv_queue_reader_new(), one user at a time.
 * @param c       NULL, or Redis to leave out tasks workers have recorded.
 * @param cursor  NULL or "" for the first page, else a next cursor of an
 *                earlier page ("q..."; drv_task_cursor_queued()).
 * @returns as drv_task_list(); Kafka errors as DRV_ERR_KAFKA and friends.
 */
drv_err_t drv_task_list_queued(drv_queue_reader_t *r, redisContext *c,
			       const char *key_prefix,
			       const drv_task_filter_t *f, const char *cursor,
			       size_t limit, drv_task_page_t *out,
			       char *errstr, size_t errstr_size);

/** @brief Does the page of \p f at \p cursor come from
 *         drv_task_list_queued() (a cursor of its pages, or no cursor and a
 *         filter that asks for queued tasks alone) rather than
 *         drv_task_list() (whose cursors hand over to it at their end)? */
bool drv_task_list_from_kafka(const drv_task_filter_t *f, const char *cursor);

/** @brief Free what \p p owns and zero it; \p p itself is not freed. */
void drv_task_page_release(drv_task_page_t *p);

/**
 * @brief \p p as {"tasks":[drv_state_task_obj() without history...],
 *        "next_cursor":"..." (absent on the last page),"scanned":n}.
 * @returns a new reference (json_decref()); NULL only when out of memory.
 */
json_t *drv_task_page_obj(const drv_task_page_t *p);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_TASK_LIST_H */
