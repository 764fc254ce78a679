/*
 * drover — the coordinator's schedule set: schedules (drv_schedule_conf_t
 * from the YAML file or from Redis) compiled to a cron expression and a time
 * zone, kept in a hash by id and in a binary min-heap by the time of their
 * next fire, so finding what is due is O(1) and moving a schedule on is
 * O(log n) however many there are.
 *
 * Times: every schedule has a nominal next fire time (next_ms, a whole
 * second from drv_cron_next(), within start..end) and a due time
 * (due_ms = next_ms + its jitter for that fire). The jitter is a hash of the
 * schedule id and the nominal time, so every coordinator computes the same
 * one; markers, labels and statistics always use the nominal time.
 *
 * Catch-up (drv_sched_resume()): a leader that starts, or takes over, reads
 * the last nominal time fired for each schedule and asks where to resume.
 * Fire times passed by at most `grace` still fire (late); older ones are
 * missed, and the schedule's catch-up policy says what happens to the ones
 * within its catchup_window: `skip` drops them, `once` fires the latest
 * only, `all` fires each of them (oldest first).
 *
 * Threads: a drv_sched_t is not thread-safe; one thread owns it.
 */
#ifndef DROVER_SCHEDULE_H
#define DROVER_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/config.h"
#include "drover/cron.h"
#include "drover/error.h"
#include "drover/tz.h"

#ifdef __cplusplus
extern "C" {
#endif

/** next_ms / due_ms of a schedule that will not fire (disabled, past its
 *  end, or never matching). */
#define DRV_SCHED_NEVER INT64_MAX

/** One schedule in the set. Owned by the set; valid until removed,
 *  replaced by drv_sched_put() of the same id, or the set is destroyed. */
typedef struct drv_sched_item {
	drv_schedule_conf_t conf;  /**< a deep copy, owned */
	drv_cron_t *cron;          /**< owned */
	const drv_tz_t *tz;        /**< shared by the set's zone cache */
	int64_t next_ms;           /**< nominal next fire, or NEVER */
	int64_t due_ms;            /**< next_ms + jitter, or NEVER */
	size_t  heap;              /**< private: index in the heap */
	bool    runtime;           /**< made with droverctl (Redis), not
					the file */
	void   *user;              /**< the caller's; not freed */
} drv_sched_item_t;

typedef struct drv_sched drv_sched_t;

/** @brief An empty set. @returns NULL when out of memory; the caller frees
 *         it with drv_sched_destroy(). */
drv_sched_t *drv_sched_new(void);

/** @brief Free the set, its items and zones. NULL is a no-op. Items'
 *         user pointers are not freed. */
void drv_sched_destroy(drv_sched_t *s);

/**
 * @brief Add schedule \p conf, or replace the one with its id (the old
 *        item is freed; its user pointer is carried over). The new item's
 *        next_ms is DRV_SCHED_NEVER until drv_sched_set_next().
 * @param conf  copied; the caller keeps it.
 * @param out   optional: the item, owned by the set.
 * @returns DRV_OK, DRV_ERR_INVALID (bad cron or zone, message in \p errstr)
 *          or DRV_ERR_NOMEM; on error the set is unchanged.
 */
drv_err_t drv_sched_put(drv_sched_t *s, const drv_schedule_conf_t *conf,
			bool runtime, drv_sched_item_t **out, char *errstr,
			size_t errstr_size);

/** @brief The schedule \p id, or NULL. */
drv_sched_item_t *drv_sched_get(const drv_sched_t *s, const char *id);

/** @brief Remove and free schedule \p id; @returns false if absent. Its
 *         user pointer is returned in \p user (may be NULL) for the caller
 *         to free. */
bool drv_sched_remove(drv_sched_t *s, const char *id, void **user);

/** @brief Schedules in the set. */
size_t drv_sched_count(const drv_sched_t *s);

/** @brief The \p i-th schedule (0 <= i < count), in no particular order;
 *         for walking the set. Adding or removing changes the order. */
drv_sched_item_t *drv_sched_at(const drv_sched_t *s, size_t i);

/**
 * @brief Set the nominal next fire of \p it to \p next_ms (DRV_SCHED_NEVER
 *        takes it out of the heap) and its due time to that plus its
 *        jitter. O(log n).
 */
void drv_sched_set_next(drv_sched_t *s, drv_sched_item_t *it,
			int64_t next_ms);

/** @brief The schedule due first, or NULL if none will fire. O(1). */
drv_sched_item_t *drv_sched_peek(const drv_sched_t *s);

/**
 * @brief The first fire time of \p it strictly after \p after_ms that is
 *        within its start..end (not considering enabled).
 * @returns the time, or DRV_SCHED_NEVER (past end, or never matches).
 */
int64_t drv_sched_next_time(const drv_sched_item_t *it, int64_t after_ms);

/** @brief The jitter of the fire of \p it at nominal \p nominal_ms: 0 to
 *         conf.jitter_ms, the same on every coordinator. */
int64_t drv_sched_jitter(const drv_sched_item_t *it, int64_t nominal_ms);

/**
 * @brief Where a (new) leader resumes \p it: its next nominal fire time,
 *        given the last one fired (\p last_ms, or -1 if it never fired),
 *        the time now and the misfire grace (see the top of this file).
 * @param missed  optional: set to how many fire times were missed and will
 *                not fire (dropped by the policy or outside the window);
 *                counted up to 100000.
 * @returns the time, or DRV_SCHED_NEVER.
 */
int64_t drv_sched_resume(const drv_sched_item_t *it, int64_t last_ms,
			 int64_t now_ms, int64_t grace_ms, int64_t *missed);

/* ---------------------------------------------------- schedule configs */

/** @brief Deep-copy \p src into \p dst (which is overwritten, not
 *         released). @returns DRV_OK or DRV_ERR_NOMEM (\p dst then holds
 *         nothing to free). */
drv_err_t drv_schedule_conf_copy(drv_schedule_conf_t *dst,
				 const drv_schedule_conf_t *src);

/** @brief Free what \p c owns and zero it. */
void drv_schedule_conf_release(drv_schedule_conf_t *c);

/**
 * @brief A schedule from a JSON object whose members are the keys of a
 *        `schedules:` entry ("cron", "handler", "payload" (any JSON
 *        value), "labels" (an object of strings), "enabled" (a boolean),
 *        ...), checked exactly as the file's. This is how run-time
 *        schedules are kept in Redis.
 * @param id   the schedule id (1 to 64 of a-z 0-9 _ . -); copied.
 * @param out  zeroed or released; filled on DRV_OK, the caller releases it
 *             with drv_schedule_conf_release(); holds nothing on error.
 * @returns DRV_OK, DRV_ERR_INVALID or DRV_ERR_CONFIG with the reason
 *          ("schedules.ID.cron: ...") in \p errstr, or DRV_ERR_NOMEM.
 */
drv_err_t drv_schedule_conf_from_json(const char *id, const char *json,
				      drv_schedule_conf_t *out,
				      char *errstr, size_t errstr_size);

/**
 * @brief \p c as a JSON object that drv_schedule_conf_from_json() reads
 *        back to an equal schedule (every key, the payload embedded as
 *        JSON).
 * @returns a malloc'd string the caller frees with free(), or NULL when
 *          out of memory.
 */
char *drv_schedule_conf_to_json(const drv_schedule_conf_t *c);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_SCHEDULE_H */
