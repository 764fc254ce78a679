/*
 * drover — adding, changing and deleting run-time schedules (the ones kept
 * in Redis, drover/sched_store.h): `droverctl schedule add|update|delete`
 * and POST / PATCH / DELETE /api/v1/schedules call these, so a definition
 * is checked, merged and stored one way. A schedule of the config file is
 * changed in the file: these refuse it (DRV_ERR_UNSUPPORTED).
 *
 * Definitions are JSON objects whose members are the keys of a
 * `schedules:` entry (cron, timezone, handler, payload, labels, ...). A
 * change merges into a definition member by member: a member replaces the
 * one it names (payload too, whole), null removes it (back to its
 * default), and "labels" merges label by label (a null label is removed).
 *
 * A schedule (of the file or run time) is also fired now on request
 * (drv_sched_trigger()): the request is queued in Redis (P sched:trigger,
 * a list of JSON requests) and the leading coordinator fires it as one
 * more fire of the schedule, under its overlap policy.
 */
#ifndef DROVER_SCHED_EDIT_H
#define DROVER_SCHED_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Merge \p changes (JSON object text) into \p base (a stored
 *        definition; NULL for a new schedule) and check the result as the
 *        config file's schedules are checked, its handler (when the config
 *        lists handlers) and retry policy included. No Redis.
 * @param out  receives the definition to store, malloc'd (caller frees),
 *             on DRV_OK only.
 * @returns DRV_OK; DRV_ERR_UNSUPPORTED when \p id is a config file
 *          schedule; DRV_ERR_INVALID (bad id, JSON or definition: the
 *          reason, "schedules.ID.cron: ...", in \p errstr); NOMEM.
 */
drv_err_t drv_sched_def_merge(const drv_config_t *cfg, const char *id,
			      const char *base, const char *changes,
			      char **out, char *errstr, size_t errstr_size);

/**
 * @brief The stored definition of run-time schedule \p id.
 * @param json  receives it, malloc'd (caller frees), on DRV_OK only.
 * @returns DRV_OK, DRV_ERR_NOT_FOUND, or a Redis error.
 */
drv_err_t drv_sched_store_get(redisContext *c, const char *prefix,
			      const char *id, char **json, char *errstr,
			      size_t errstr_size);

/**
 * @brief Add (\p create) or update run-time schedule \p id with
 *        \p changes (drv_sched_def_merge()) and store it; coordinators
 *        pick it up within a second.
 * @param c       a connection from drv_redis_connect(), the caller's.
 * @param stored  optional: receives the stored definition, malloc'd
 *                (caller frees), on DRV_OK only.
 * @returns DRV_OK; drv_sched_def_merge()'s errors; DRV_ERR_EXISTS (add:
 *          there is one), DRV_ERR_NOT_FOUND (update: there is none); a
 *          Redis error (then \p c is unusable).
 */
drv_err_t drv_sched_edit_put(redisContext *c, const drv_config_t *cfg,
			     const char *id, bool create, const char *changes,
			     char **stored, char *errstr, size_t errstr_size);

/**
 * @brief Delete run-time schedule \p id with its override, statistics and
 *        state (drv_sched_store_delete()).
 * @returns DRV_OK; DRV_ERR_UNSUPPORTED (a config file schedule);
 *          DRV_ERR_NOT_FOUND; a Redis error.
 */
drv_err_t drv_sched_edit_delete(redisContext *c, const drv_config_t *cfg,
				const char *id, char *errstr,
				size_t errstr_size);

/** A request to fire a schedule now, as queued in P sched:trigger. */
typedef struct drv_sched_trigger {
	char    schedule[65];           /**< schedule id */
	char    task_id[DRV_ID_LEN + 1]; /**< id the fire's task will have */
	int64_t requested_ms;           /**< when it was asked for */
	char    actor[128];             /**< who asked (token or user name) */
} drv_sched_trigger_t;

/**
 * @brief Ask the leading coordinator to fire schedule \p id (file or
 *        run-time) now: checks that it exists, makes the task id and
 *        queues the request (RPUSH P sched:trigger). The leader fires it
 *        within about a second, once, under the schedule's overlap policy
 *        (skip drops it while a run is unfinished; buffer_one keeps it),
 *        labelled drover.fire=manual and drover.actor=\p actor.
 * @param c    a connection from drv_redis_connect(), the caller's.
 * @param out  receives the request queued (caller's storage), on DRV_OK.
 * @returns DRV_OK; DRV_ERR_NOT_FOUND (no such schedule); DRV_ERR_INVALID
 *          (not a schedule id); a Redis error (then \p c is unusable).
 */
drv_err_t drv_sched_trigger(redisContext *c, const drv_config_t *cfg,
			    const char *id, const char *actor,
			    drv_sched_trigger_t *out, char *errstr,
			    size_t errstr_size);

/**
 * @brief A request as JSON text, malloc'd (caller frees); NULL when out
 *        of memory.
 */
char *drv_sched_trigger_to_json(const drv_sched_trigger_t *t);

/**
 * @brief Parse a queued request \p json into \p out (caller's storage).
 * @returns DRV_OK or DRV_ERR_INVALID (reason in \p errstr).
 */
drv_err_t drv_sched_trigger_parse(const char *json, drv_sched_trigger_t *out,
				  char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_SCHED_EDIT_H */
