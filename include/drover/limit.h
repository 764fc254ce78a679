/*
 * drover — fleet-wide execution limits (`limits:`), kept in Redis so every
 * worker shares them: a rate (GCRA) and/or a concurrency cap per handler,
 * optionally one bucket per value of a task label. One Lua script admits a
 * task against every limit that matches it at once (check all, then take
 * all, clocked by Redis TIME); a second one gives its concurrency leases
 * back when the task ends. docs/limits.md tells the whole story.
 *
 * Keys (prefix redis.key_prefix, "drover:" by default):
 *   drover:limit:NAME:VALUE     string: the GCRA theoretical arrival time
 *                               (microseconds of Redis TIME), with a TTL
 *   drover:limit:NAME:VALUE:c   sorted set of leases: task id -> expiry
 *                               (ms); expired leases are dropped by the
 *                               admission script
 *   drover:limit:NAME:VALUE:r   sorted set of reservations: task id ->
 *                               the start (us) kept for a task the rate
 *                               sent away
 *   drover:limit:NAME:VALUE:s   string: the GCRA of the actual starts (us)
 *   drover:limitconf:NAME       hash: settings changed at run time (rate,
 *                               per_ms, burst, concurrency, changed_ms);
 *                               the script prefers them to the config's
 * VALUE is the task's label value for a keyed limit, "" otherwise.
 */
#ifndef DROVER_LIMIT_H
#define DROVER_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most limits one task is checked against in one admission. */
#define DRV_LIMIT_MATCH_MAX 8

/** Added to a handler's timeout for the length of a concurrency lease, so
 *  a lease outlives the run it covers but not a killed worker by long. */
#define DRV_LIMIT_LEASE_MARGIN_MS 30000

/** Retry hint when a concurrency cap is full (a slot frees when a task
 *  ends, which the script cannot know). */
#define DRV_LIMIT_BUSY_RETRY_MS 1000

/** The limits of one task (what drv_limit_match() found). Pointers into
 *  the config and the task; valid while both are. */
typedef struct drv_limit_set {
	const drv_limit_conf_t *conf[DRV_LIMIT_MATCH_MAX];
	const char *value[DRV_LIMIT_MATCH_MAX];  /**< label value, "" when
						      the limit has no key */
	size_t cnt;
} drv_limit_set_t;

/**
 * @brief The limits of \p cfg that apply to task \p t: its handler's,
 *        those with a key only when the task has that label. Nothing is
 *        allocated; \p out points into \p cfg and \p t.
 * @returns the count (also out->cnt); 0: the task is not limited.
 */
size_t drv_limit_match(const drv_config_t *cfg, const drv_task_t *t,
		       drv_limit_set_t *out);

/**
 * @brief The concurrency lease length for tasks of \p h: its timeout (or
 *        worker.default_timeout, or 1 h when neither is set) plus
 *        DRV_LIMIT_LEASE_MARGIN_MS.
 */
int64_t drv_limit_lease_ms(const drv_config_t *cfg,
			   const drv_handler_conf_t *h);

/**
 * @brief Admit task \p task_id against every limit of \p set in one
 *        script: all are checked, then, only if all pass, a rate token is
 *        taken from each rate and a lease of \p lease_ms from each
 *        concurrency (a task refused by one limit takes nothing from the
 *        others). A task already holding a lease (redelivered) keeps it.
 *        A task over a rate is given the next start the rate allows as a
 *        reservation and told to come back then: to wait in place
 *        (\p wait_in_place) when that is at most \p in_place_ms away. Back
 *        at its start, or at most one interval late, it is admitted on its
 *        reservation; later, the reservation is void and it queues again.
 * @param admitted   out: true when the task may run now.
 * @param retry_ms   out: when refused, how long to wait before asking again
 *                   (ms, >= 1); 0 when admitted.
 * @param wait_in_place out: the wait is at most \p in_place_ms; may be
 *                   NULL.
 * @param refused_by out: when refused, the index in \p set of the limit
 *                   that asked the longest wait; may be NULL.
 * @returns DRV_OK, or a Redis error (DRV_ERR_REDIS, DRV_ERR_IO...) with
 *          errstr; then nothing is known and the outputs are untouched.
 *          \p c stays the caller's.
 */
drv_err_t drv_limit_acquire(redisContext *c, const drv_config_t *cfg,
			    const drv_limit_set_t *set, const char *task_id,
			    int64_t lease_ms, int64_t in_place_ms,
			    bool *admitted, int64_t *retry_ms,
			    bool *wait_in_place, size_t *refused_by,
			    char *errstr, size_t errstr_size);

/**
 * @brief Give back the concurrency leases \p task_id holds in the limits
 *        of \p set (a no-op for rate-only limits and leases not held).
 * @returns DRV_OK or a Redis error with errstr (the leases then lapse on
 *          their own).
 */
drv_err_t drv_limit_release(redisContext *c, const drv_config_t *cfg,
			    const drv_limit_set_t *set, const char *task_id,
			    char *errstr, size_t errstr_size);

/**
 * @brief Every limit of \p cfg as JSON (`GET /api/v1/limits`,
 *        `droverctl limit list --json`): {"limits": [{name, handler, key,
 *        rate, per_ms, burst, concurrency, running?, next_start_ms?,
 *        config?, changed_ms?}]}: the settings in force, and when they
 *        were changed at run time, the config's in "config".
 *        The state (running: leases held now; next_start_ms: when the
 *        next task may start, 0 = now) is read from Redis for limits
 *        without a key when \p c is not NULL.
 * @param out  receives a new reference the caller releases (json_decref).
 * @returns DRV_OK, DRV_ERR_NOMEM, or a Redis error with errstr.
 */
drv_err_t drv_limit_list(redisContext *c, const drv_config_t *cfg,
			 json_t **out, char *errstr, size_t errstr_size);

/** A change to a limit's settings at run time; -1 keeps a setting. */
typedef struct drv_limit_change {
	int64_t rate, per_ms, burst, concurrency;
} drv_limit_change_t;

/** @brief The Redis key of limit \p name's run-time settings into \p buf. */
void drv_limit_change_key(const drv_config_t *cfg, const char *name,
			  char *buf, size_t size);

/**
 * @brief The settings of limit \p l in force: the run-time change kept in
 *        Redis when there is one, else the config's. \p c NULL: the
 *        config's. \p out is a copy of \p l (its strings still \p l's).
 * @param changed_ms out: when the change was made (wall ms), 0 = none.
 * @returns DRV_OK or a Redis error with errstr.
 */
drv_err_t drv_limit_effective(redisContext *c, const drv_config_t *cfg,
			      const drv_limit_conf_t *l, drv_limit_conf_t *out,
			      int64_t *changed_ms, char *errstr,
			      size_t errstr_size);

/**
 * @brief Change limit \p name's settings for the whole fleet: the fields of
 *        \p ch that are not -1 replace those in force, and every worker's
 *        next admission uses them. Kept until drv_limit_reset().
 * @returns DRV_OK; DRV_ERR_NOT_FOUND (no such limit in the config),
 *          DRV_ERR_RANGE (a value outside the config's bounds),
 *          DRV_ERR_INVALID (neither rate nor concurrency left), or a Redis
 *          error; each with errstr.
 */
drv_err_t drv_limit_change(redisContext *c, const drv_config_t *cfg,
			   const char *name, const drv_limit_change_t *ch,
			   char *errstr, size_t errstr_size);

/**
 * @brief Drop the run-time change of limit \p name: the config's settings
 *        hold again (a no-op without one).
 * @returns DRV_OK, DRV_ERR_NOT_FOUND or a Redis error, with errstr.
 */
drv_err_t drv_limit_reset(redisContext *c, const drv_config_t *cfg,
			  const char *name, char *errstr, size_t errstr_size);

/**
 * @brief One limit as drv_limit_list() shows it, into \p out (a new
 *        reference).
 * @returns DRV_OK, DRV_ERR_NOT_FOUND, DRV_ERR_NOMEM or a Redis error.
 */
drv_err_t drv_limit_show(redisContext *c, const drv_config_t *cfg,
			 const char *name, json_t **out, char *errstr,
			 size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_LIMIT_H */
