/*
 * drover — watching shared state in Redis without a round trip per task.
 *
 * A drv_watch_t owns one background thread and two Redis connections: one
 * SUBSCRIBEd to the channels it was given, one for commands. The owner keeps
 * a local cached view of some shared state (breakers, interventions, paused
 * bands...) and gives two callbacks:
 *
 *   resync(cmd, arg)        re-read the whole state with the command
 *                           connection \p cmd. Called after every (re)connect
 *                           and every resync_ms, so a missed message costs
 *                           at most resync_ms of staleness.
 *   message(cmd, channel, data, len, arg)
 *                           one published message. \p cmd may be used to
 *                           read what the message points at.
 *
 * Both run on the watch thread, one at a time, never concurrently with each
 * other; they must not block for long and must not call drv_watch_destroy().
 * While Redis is unreachable the thread reconnects with backoff (0.5 s
 * doubling to 30 s) and on_status() says so once per transition, so the
 * owner can fall back to local state and report it.
 *
 * Threads: drv_watch_new() and drv_watch_destroy() are called by the owner;
 * drv_watch_connected() from any thread.
 */
#ifndef DROVER_WATCH_H
#define DROVER_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most channels one watch subscribes to. */
#define DRV_WATCH_CHANNELS_MAX 8
/** Default period of resync() when resync_ms is 0. */
#define DRV_WATCH_RESYNC_MS 5000

typedef struct drv_watch drv_watch_t;

typedef struct drv_watch_opts {
	/** Channel names, copied; at least one, at most
	 *  DRV_WATCH_CHANNELS_MAX. Callers usually build them from
	 *  redis.key_prefix ("drover:breaker"). */
	const char *channels[DRV_WATCH_CHANNELS_MAX];
	size_t      channel_cnt;
	int64_t     resync_ms;   /**< 0 = DRV_WATCH_RESYNC_MS */
	void (*resync)(redisContext *cmd, void *arg);
	void (*message)(redisContext *cmd, const char *channel,
			const char *data, size_t len, void *arg);
	/** Redis reached for the first time, lost, or back: \p up and a
	 *  one-line \p detail (no password). NULL = not told. */
	void (*on_status)(bool up, const char *detail, void *arg);
	void *arg;
} drv_watch_opts_t;

/**
 * @brief Start watching. Returns at once: the first connect happens on the
 *        thread (so a worker starts while Redis is down).
 * @param cfg   redis.* is copied; \p cfg may be freed afterwards.
 * @param out   receives a watch the caller frees with drv_watch_destroy().
 * @returns DRV_OK, DRV_ERR_INVALID (no channel, too many, no callback) or
 *          DRV_ERR_NOMEM / DRV_ERR_SYSTEM with \p errstr.
 */
drv_err_t drv_watch_new(const drv_config_t *cfg, const drv_watch_opts_t *opts,
			drv_watch_t **out, char *errstr, size_t errstr_size);

/** @brief Whether both connections are up right now. */
bool drv_watch_connected(drv_watch_t *w);

/** @brief Wake the thread to resync() now (for example after the owner
 *         wrote a change itself). Any thread. */
void drv_watch_kick(drv_watch_t *w);

/** @brief Stop the thread (within about 200 ms), close both connections and
 *         free \p w. NULL is a no-op. */
void drv_watch_destroy(drv_watch_t *w);

#ifdef __cplusplus
}
#endif

#endif /* DROVER_WATCH_H */
