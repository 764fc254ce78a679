/*
 * drover — operator interventions shared through Redis: pause, skip or
 * cancel one task, or pause every task of one handler.
 *
 * One hash holds them all, and a pub/sub channel of the same name announces
 * every change (P = redis.key_prefix):
 *
 *   P interventions   hash  field "task:<id>" or "handler:<name>" ->
 *                     {"action":"pause"|"skip"|"cancel","reason":"..",
 *                      "actor":"..","time_ms":..}
 *
 * droverctl writes (drv_iv_set / drv_iv_clear); workers keep a cached copy
 * through drv_watch (worker/intervene.c), re-read on every announcement and
 * every second, so a task never waits on Redis.
 */
#ifndef DROVER_INTERVENE_H
#define DROVER_INTERVENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum drv_iv_action {
	DRV_IV_NONE   = 0,
	DRV_IV_PAUSE  = 1, /**< park it (or stop its process) until resumed */
	DRV_IV_SKIP   = 2, /**< never run it; dead-letter it as skipped */
	DRV_IV_CANCEL = 3, /**< never run it, or kill it while it runs */
} drv_iv_action_t;

/** @brief "none", "pause", "skip" or "cancel". Static; never NULL. */
const char *drv_iv_action_name(drv_iv_action_t a);

/** One intervention as stored. Strings owned; NULL when absent. */
typedef struct drv_iv {
	drv_iv_action_t action;
	char   *reason;
	char   *actor;
	int64_t time_ms;
} drv_iv_t;

/** @brief Free what \p iv owns and zero it. */
void drv_iv_release(drv_iv_t *iv);

/**
 * @brief Parse a stored value (the JSON above) into the zeroed \p out.
 * @returns DRV_OK, DRV_ERR_DECODE (not drover's) or DRV_ERR_NOMEM.
 */
drv_err_t drv_iv_parse(const char *json, size_t len, drv_iv_t *out);

/** @brief The hash and channel name, "<prefix>interventions"; false when
 *         it did not fit. */
bool drv_iv_key(const drv_config_t *cfg, char *buf, size_t size);

/**
 * @brief Record \p action for \p field ("task:<id>", "handler:<name>") and
 *        announce it: HSET then PUBLISH, on \p c. Strings are borrowed;
 *        \p reason and \p actor may be NULL.
 * @returns DRV_OK, DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_NOMEM.
 */
drv_err_t drv_iv_set(redisContext *c, const drv_config_t *cfg,
		     const char *field, drv_iv_action_t action,
		     const char *reason, const char *actor,
		     char *errstr, size_t errstr_size);

/**
 * @brief Read \p field into the zeroed \p out (action DRV_IV_NONE when
 *        there is none).
 * @returns DRV_OK, DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_DECODE,
 *          DRV_ERR_NOMEM.
 */
drv_err_t drv_iv_get(redisContext *c, const drv_config_t *cfg,
		     const char *field, drv_iv_t *out,
		     char *errstr, size_t errstr_size);

/** @brief Remove \p field and announce it (HDEL then PUBLISH).
 *  @returns DRV_OK, DRV_ERR_REDIS / DRV_ERR_TIMEOUT. */
drv_err_t drv_iv_clear(redisContext *c, const drv_config_t *cfg,
		       const char *field, char *errstr, size_t errstr_size);

/**
 * @brief An operator's request on \p field ("task:<id>", "handler:<name>"),
 *        as droverctl and the API make it: \p action DRV_IV_PAUSE, SKIP or
 *        CANCEL records it (drv_iv_set); DRV_IV_NONE resumes (clears a
 *        pause). Refused, with nothing changed: a task whose recorded state
 *        says it has ended; resuming what is not paused; marking what is
 *        already marked skip or cancel. A task with no state recorded yet
 *        (queued, delayed, or running before its first write) is acted on:
 *        workers apply the mark when they reach it, or at once if it runs.
 * @param no_state  optional; set to whether a task had no state recorded.
 * @returns DRV_OK; DRV_ERR_EXISTS for a refusal (\p errstr says why);
 *          DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_NOMEM.
 */
drv_err_t drv_iv_request(redisContext *c, const drv_config_t *cfg,
			 const char *field, drv_iv_action_t action,
			 const char *reason, const char *actor,
			 bool *no_state, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_INTERVENE_H */
