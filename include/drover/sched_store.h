/*
 * drover — what Redis keeps about schedules, shared by drover-coordinator
 * (which writes fires, runs and statistics) and droverctl (which writes
 * run-time schedules and reads everything back).
 *
 * Keys, with P = redis.key_prefix:
 *   P schedules               hash id -> JSON (drv_schedule_conf_to_json):
 *                             run-time schedules made with droverctl
 *   P schedules:ids           sorted set of the hash's ids (score 0: in
 *                             id order), for paging; rebuilt from the
 *                             hash when their sizes differ (a store an
 *                             older drover wrote)
 *   P schedules:enabled       hash id -> "1"/"0": enable/disable overrides,
 *                             for file and run-time schedules alike
 *   P schedules:version       counter bumped by every change above; the
 *                             coordinators poll it every second
 *   P sched:last              hash id -> last nominal fire time handled (ms)
 *   P sched:next              hash id -> next nominal fire time (ms), as the
 *                             leader sees it
 *   P sched:run:<id>          task id of the run not finished yet
 *   P sched:stats:<id>        hash: fires, duplicates, skipped, buffered,
 *                             runs, successes, failures, retries,
 *                             duration_sum_ms, last_run_ms, last_outcome,
 *                             last_task
 *   P sched:durations:<id>    list: durations (ms) of the last
 *                             DRV_SCHED_DURATIONS runs, newest first
 *   P sched:fires:<id>        sorted set: the fire history (kind, task,
 *                             publish time) by nominal time, 14 days and
 *                             at most 10,000 fires (drover/sched_fires.h)
 *   P sched:ends:<id>         hash task id -> outcome, finished and
 *                             duration of the fires' runs (idem)
 *
 * Every function takes a connected hiredis context the caller owns (from
 * drv_redis_connect()); on a connection error the context is unusable
 * (c->err set) and DRV_ERR_REDIS or DRV_ERR_TIMEOUT is returned with the
 * reason in errstr. Thread: whichever owns the context.
 */
#ifndef DROVER_SCHED_STORE_H
#define DROVER_SCHED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Durations kept per schedule for the p95. */
#define DRV_SCHED_DURATIONS 100

/** Statistics of one schedule; 0 / "" when unknown. */
typedef struct drv_sched_stats {
	int64_t fires;         /**< tasks published */
	int64_t duplicates;    /**< fires another leader had made */
	int64_t skipped;       /**< fires skipped (overlap) */
	int64_t buffered;      /**< fires kept by buffer_one */
	int64_t runs;          /**< runs ended (succeeded or dead) */
	int64_t successes;
	int64_t failures;      /**< runs dead-lettered */
	int64_t retries;       /**< attempts that failed and were retried */
	int64_t avg_ms;        /**< mean run duration (last attempt) */
	int64_t p95_ms;        /**< of the last DRV_SCHED_DURATIONS runs */
	int64_t last_run_ms;   /**< when the last run ended */
	char    last_outcome[16]; /**< "succeeded" or "dead" */
	char    last_task[32];
	int64_t last_fire_ms;  /**< last nominal time handled; 0 = none */
	int64_t next_ms;       /**< next nominal fire time; 0 = none/unknown */
	bool    running;       /**< a run is unfinished */
} drv_sched_stats_t;

/**
 * @brief Read the statistics of the \p n schedules \p ids into
 *        \p out[0..n-1] (zeroed first), in one round trip (two HMGETs and
 *        three commands per schedule, pipelined).
 * @returns DRV_OK; or the connection's error (DRV_ERR_REDIS, ...) or
 *          DRV_ERR_NOMEM with \p errstr set, and \p out zeroed.
 *          \p ids and \p out are the caller's.
 */
drv_err_t drv_sched_store_stats(redisContext *c, const char *prefix,
				const char *const *ids, size_t n,
				drv_sched_stats_t *out, char *errstr,
				size_t errstr_size);

/**
 * @brief Record the end of an attempt of a task of schedule \p id, from a
 *        lifecycle event: \p type "task.succeeded" or "task.dead" ends the
 *        run (counts, duration, last run, and clears P sched:run:<id> if
 *        it still names \p task_id) and records the end beside the fire
 *        (P sched:ends:<id>); "task.retrying" counts a retry.
 */
drv_err_t drv_sched_store_run(redisContext *c, const char *prefix,
			      const char *id, const char *type,
			      const char *task_id, int64_t duration_ms,
			      int64_t finished_ms, char *errstr,
			      size_t errstr_size);

/** A run-time schedule as stored: both strings owned. */
typedef struct drv_sched_entry {
	char *id;
	char *json;
} drv_sched_entry_t;

/**
 * @brief Every run-time schedule (sorted by id) and every enable/disable
 *        override.
 * @param entries    receives a malloc'd array (free with
 *                   drv_sched_entries_free()); may be NULL when \p cnt is 0.
 * @param overrides  optional: receives the overrides, value "1" or "0";
 *                   free with drv_sched_entries_free().
 * @param version    optional: receives P schedules:version (0 if unset).
 */
drv_err_t drv_sched_store_list(redisContext *c, const char *prefix,
			       drv_sched_entry_t **entries, size_t *cnt,
			       drv_sched_entry_t **overrides,
			       size_t *override_cnt, long long *version,
			       char *errstr, size_t errstr_size);

void drv_sched_entries_free(drv_sched_entry_t *e, size_t cnt);

/**
 * @brief One page of the run-time schedules in id order: up to \p count
 *        with an id after \p after (NULL or "": from the first), read
 *        through P schedules:ids, so the work is the page's, not the
 *        store's (GET /api/v1/schedules).
 * @param entries  receives a malloc'd array of *cnt entries, sorted by id
 *                 (free with drv_sched_entries_free()).
 */
drv_err_t drv_sched_store_page(redisContext *c, const char *prefix,
			       const char *after, size_t count,
			       drv_sched_entry_t **entries, size_t *cnt,
			       char *errstr, size_t errstr_size);

/**
 * @brief The enable/disable overrides of the \p n schedules \p ids (one
 *        HMGET): an entry per id that has one, into *overrides as
 *        drv_sched_store_list() gives them.
 */
drv_err_t drv_sched_store_overrides(redisContext *c, const char *prefix,
				    const char *const *ids, size_t n,
				    drv_sched_entry_t **overrides,
				    size_t *cnt, char *errstr,
				    size_t errstr_size);

/** How drv_sched_store_put() treats an existing schedule. */
typedef enum drv_sched_put_mode {
	DRV_SCHED_CREATE,   /**< fail with DRV_ERR_EXISTS if it exists */
	DRV_SCHED_REPLACE,  /**< fail with DRV_ERR_NOT_FOUND if it does not */
} drv_sched_put_mode_t;

/** @brief Store run-time schedule \p id as \p json (already checked with
 *         drv_schedule_conf_from_json()) and bump the version. */
drv_err_t drv_sched_store_put(redisContext *c, const char *prefix,
			      const char *id, const char *json,
			      drv_sched_put_mode_t mode, char *errstr,
			      size_t errstr_size);

/** @brief Delete run-time schedule \p id, its override, statistics and
 *         state, and bump the version. @returns DRV_ERR_NOT_FOUND if
 *         there is no such run-time schedule. */
drv_err_t drv_sched_store_delete(redisContext *c, const char *prefix,
				 const char *id, char *errstr,
				 size_t errstr_size);

/** @brief Set the enable/disable override of \p id and bump the version. */
drv_err_t drv_sched_store_enable(redisContext *c, const char *prefix,
				 const char *id, bool on, char *errstr,
				 size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_SCHED_STORE_H */
