/*
 * drover — the fire history of schedules, the data of the console's
 * execution timeline (Gantt), `droverctl schedule fires` and
 * GET /api/v1/schedules/{id}/fires and /schedules/timeline.
 *
 * Keys, with P = redis.key_prefix (also listed in drover/sched_store.h):
 *   P sched:fires:<id>   sorted set scored by nominal fire time (ms), one
 *                        member per fire handled by the leader:
 *                        "<nominal ms>|<kind>|<task id or ->|<published
 *                        ms or 0>"; kind is one of drv_sched_fire_kinds
 *   P sched:ends:<id>    hash task id -> "<outcome>|<finished ms>|
 *                        <duration ms>", outcome "succeeded" or "dead",
 *                        written when the run's lifecycle event is read
 *
 * Both keep DRV_SCHED_FIRES_KEEP_MS and at most DRV_SCHED_FIRES_MAX fires:
 * the script that adds a fire removes the older ones and their ends in the
 * same step, and both keys expire that long after the last fire (so a
 * deleted schedule's history goes too).
 *
 * Every function takes a connected hiredis context the caller owns; on a
 * connection error the context is unusable (c->err set) and DRV_ERR_REDIS
 * or DRV_ERR_TIMEOUT is returned with the reason in errstr. Thread:
 * whichever owns the context.
 */
#ifndef DROVER_SCHED_FIRES_H
#define DROVER_SCHED_FIRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/error.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How long fires are kept. */
#define DRV_SCHED_FIRES_KEEP_MS (14LL * 24 * 3600 * 1000)
/** At most this many fires are kept per schedule. */
#define DRV_SCHED_FIRES_MAX 10000
/** At most this many fires per schedule in a timeline (the rest:
 *  truncated). */
#define DRV_SCHED_TIMELINE_FIRES 500

/** What happened to a fire (the kinds, in this order, in
 *  drv_sched_fire_kinds[]). */
typedef enum drv_sched_fire_kind {
	DRV_FIRE_PUBLISHED,   /**< published on time */
	DRV_FIRE_CAUGHT_UP,   /**< published later than
				   coordinator.misfire_grace after its time:
				   a catch-up after a leader gap */
	DRV_FIRE_MANUAL,      /**< a fire asked for by hand, published */
	DRV_FIRE_SKIPPED,     /**< skipped: the run before was unfinished
				   (overlap skip) */
	DRV_FIRE_BUFFERED,    /**< kept for when the run before ends
				   (buffer_one); fired later as its own fire */
	DRV_FIRE_KIND_CNT
} drv_sched_fire_kind_t;

/** "published", "caught_up", "manual", "skipped_overlap", "buffered". */
extern const char *const drv_sched_fire_kinds[DRV_FIRE_KIND_CNT];

/** One fire, with the end of its run when known. */
typedef struct drv_sched_fire {
	int64_t nominal_ms;     /**< the time it was for (a manual fire's:
				     when it was asked for) */
	drv_sched_fire_kind_t kind;
	char    task_id[DRV_ID_LEN + 1]; /**< "" for a skipped fire of the
					      cron */
	int64_t published_ms;   /**< 0 when not published */
	char    outcome[16];    /**< "succeeded", "dead"; "" = running or
				     unknown */
	int64_t finished_ms;    /**< 0 when the run has not ended */
	int64_t duration_ms;    /**< of the last attempt */
} drv_sched_fire_t;

/** The fires of one schedule in a range. */
typedef struct drv_sched_fires {
	char              *id;         /**< owned */
	drv_sched_fire_t  *fires;      /**< owned; cnt of them */
	size_t             cnt;
	bool               truncated;  /**< more fires were in the range */
} drv_sched_fires_t;

/**
 * @brief Queue (redisAppendCommand(), no reply read) the command that adds
 *        fire \p f of schedule \p id and trims the history: the fires
 *        before \p now - \p keep_ms and beyond the newest \p max go, with
 *        their ends. The caller reads one reply (the number of fires
 *        removed) with its other pipelined replies.
 * @returns the number of commands queued (1), 0 when out of memory.
 */
int drv_sched_fire_append(redisContext *c, const char *prefix,
			  const char *id, const drv_sched_fire_t *f,
			  int64_t now, int64_t keep_ms, int64_t max);

/**
 * @brief Queue (redisAppendCommand(), no reply read) the commands that
 *        record the end of run \p task_id of schedule \p id.
 * @param outcome "succeeded" or "dead".
 * @returns the number of commands queued (the caller reads as many
 *          replies).
 */
int drv_sched_end_append(redisContext *c, const char *prefix,
			 const char *id, const char *task_id,
			 const char *outcome, int64_t finished_ms,
			 int64_t duration_ms);

/**
 * @brief The fires of each schedule in \p ids whose nominal time is in
 *        [\p since, \p until], at most \p limit each (then truncated is
 *        set), in two pipelined round trips whatever the number of ids.
 * @param newest_first  newest fires first (else oldest first); with a
 *                      limit, the newest (oldest) are the ones kept.
 * @param out  receives a malloc'd array of \p id_cnt entries, in the order
 *             of \p ids; free with drv_sched_fires_free().
 * @returns DRV_OK; DRV_ERR_REDIS / DRV_ERR_TIMEOUT; DRV_ERR_NOMEM.
 */
drv_err_t drv_sched_fires_read(redisContext *c, const char *prefix,
			       const char *const *ids, size_t id_cnt,
			       int64_t since, int64_t until, size_t limit,
			       bool newest_first, drv_sched_fires_t **out,
			       char *errstr, size_t errstr_size);

/** @brief Free \p f (\p cnt entries) and what they own; NULL is fine. */
void drv_sched_fires_free(drv_sched_fires_t *f, size_t cnt);

/**
 * @brief Fire \p f as {"scheduled_ms","scheduled_at","kind","task_id",
 *        "published_ms","outcome","finished_ms","duration_ms"} (members
 *        unknown left out; outcome "running" for a published fire without
 *        an end yet).
 * @returns a new reference; NULL when out of memory.
 */
json_t *drv_sched_fire_obj(const drv_sched_fire_t *f);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_SCHED_FIRES_H */
