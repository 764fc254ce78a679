/*
 * drover — signed webhooks (Standard Webhooks): subscriptions kept in Redis,
 * the signature of a delivery, and the turning of one event into delivery
 * tasks. A delivery is itself a drover task whose handler has type
 * `webhook`: the worker runs it with drv_webhook_deliver(), so deliveries
 * are retried, delayed and dead-lettered like any other task.
 *
 * Redis (prefix P, default "drover:"):
 *   P webhooks                    hash: id -> the subscription (JSON)
 *   P webhooks:version            counter, bumped by every change
 *   P webhook:<id>:deliveries     list: the last DRV_WEBHOOK_LOG_MAX
 *                                 delivery attempts, newest first (JSON)
 *
 * A subscription record (JSON object): id, url, events (array of event
 * types; "*" = every one), filter (object: event attribute -> value, all
 * must be equal), secret ("whsec_" + base64 of 24..64 bytes),
 * previous_secret and previous_until_ms while a rotation overlaps,
 * created_ms, enabled, disabled_reason. drv_webhook_public() is the record
 * without its secrets, the only form the API shows.
 *
 * Threads: every function takes the caller's redisContext (one thread at a
 * time) or is pure.
 */
#ifndef DROVER_WEBHOOK_H
#define DROVER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/event.h"
#include "drover/http.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Delivery attempts kept per subscription. */
#define DRV_WEBHOOK_LOG_MAX 100
/** Most subscriptions drover keeps. */
#define DRV_WEBHOOK_MAX 1000
/** Event types one subscription names at most. */
#define DRV_WEBHOOK_EVENTS_MAX 32
/** The request timeout of a delivery when its handler sets none, and the
 *  most it may set (the spec's 15-30 s). */
#define DRV_WEBHOOK_TIMEOUT_MS     15000
#define DRV_WEBHOOK_TIMEOUT_MAX_MS 30000
/** Attempts of the spec's schedule (immediately, 5 s ... 24 h). */
#define DRV_WEBHOOK_ATTEMPTS 10

/**
 * @brief The wait before attempt \p attempt + 1 after attempt \p attempt
 *        (1-based) failed, on the Standard Webhooks schedule: 5 s, 5 min,
 *        30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h; 24 h past the end.
 * @remark Pure.
 */
int64_t drv_webhook_backoff_ms(uint32_t attempt);

/**
 * @brief The signature header value of one secret: "v1," + base64 of
 *        HMAC-SHA256(key, "<msg_id>.<ts>.<body>"), key = the base64-decoded
 *        part of \p secret after "whsec_".
 * @param out  receives the NUL-terminated value (size >= 64).
 * @returns DRV_OK or DRV_ERR_INVALID (not a whsec_ secret) with errstr.
 * @remark Pure; the caller keeps every argument.
 */
drv_err_t drv_webhook_sign(const char *secret, const char *msg_id,
			   int64_t ts, const void *body, size_t body_len,
			   char *out, size_t size, char *errstr,
			   size_t errstr_size);

/**
 * @brief Make a subscription from the request \p req ({url, events,
 *        filter?, secret?}; a secret is made when none is given) and store
 *        it.
 * @param out      on DRV_OK, the new record with its secret (new reference;
 *                 the only time the secret is shown).
 * @param pointer  on DRV_ERR_INVALID, the JSON Pointer of the bad field
 *                 ("/url"); size >= 32.
 * @returns DRV_OK, DRV_ERR_INVALID, DRV_ERR_RANGE (DRV_WEBHOOK_MAX
 *          reached), DRV_ERR_REDIS or DRV_ERR_NOMEM, with errstr.
 */
drv_err_t drv_webhook_create(redisContext *c, const drv_config_t *cfg,
			     const json_t *req, int64_t now_ms, json_t **out,
			     char *pointer, char *errstr, size_t errstr_size);

/**
 * @brief The record of subscription \p id, secrets included.
 * @param out  on DRV_OK a new reference the caller decrefs.
 * @returns DRV_OK, DRV_ERR_NOT_FOUND or DRV_ERR_REDIS, with errstr.
 */
drv_err_t drv_webhook_get(redisContext *c, const drv_config_t *cfg,
			  const char *id, json_t **out, char *errstr,
			  size_t errstr_size);

/**
 * @brief Every subscription's record, secrets included, by id.
 * @param out  on DRV_OK a new array the caller decrefs.
 */
drv_err_t drv_webhook_list(redisContext *c, const drv_config_t *cfg,
			   json_t **out, char *errstr, size_t errstr_size);

/** @brief Delete subscription \p id and its delivery log.
 *  @returns DRV_OK, DRV_ERR_NOT_FOUND or DRV_ERR_REDIS. */
drv_err_t drv_webhook_delete(redisContext *c, const drv_config_t *cfg,
			     const char *id, char *errstr, size_t errstr_size);

/**
 * @brief Rotate the secret of \p id: a new one is made (or \p secret, a
 *        whsec_ one, is taken) and the old one still signs until \p now_ms
 *        + api.webhook_rotate_overlap.
 * @param out  on DRV_OK the record with its new secret (new reference).
 * @returns DRV_OK, DRV_ERR_INVALID (bad \p secret), DRV_ERR_NOT_FOUND or
 *          DRV_ERR_REDIS.
 */
drv_err_t drv_webhook_rotate(redisContext *c, const drv_config_t *cfg,
			     const char *id, const char *secret,
			     int64_t now_ms, json_t **out, char *errstr,
			     size_t errstr_size);

/** @brief Disable \p id (its endpoint said 410 Gone) saying \p reason;
 *         a deleted subscription stays deleted. */
drv_err_t drv_webhook_disable(redisContext *c, const drv_config_t *cfg,
			      const char *id, const char *reason,
			      char *errstr, size_t errstr_size);

/** @brief Enable \p id again (after a 410, once the endpoint is back).
 *  @param out  on DRV_OK the record (new reference).
 *  @returns DRV_OK, DRV_ERR_NOT_FOUND or DRV_ERR_REDIS. */
drv_err_t drv_webhook_enable(redisContext *c, const drv_config_t *cfg,
			     const char *id, json_t **out, char *errstr,
			     size_t errstr_size);

/** @brief The record \p rec without its secrets (new reference). */
json_t *drv_webhook_public(const json_t *rec);

/** @brief The subscriptions' version counter into *version (0: none yet). */
drv_err_t drv_webhook_version(redisContext *c, const drv_config_t *cfg,
			      int64_t *version, char *errstr,
			      size_t errstr_size);

/** @brief Add \p entry (borrowed) to the front of \p id's delivery log,
 *         keeping the last DRV_WEBHOOK_LOG_MAX. */
drv_err_t drv_webhook_log(redisContext *c, const drv_config_t *cfg,
			  const char *id, const json_t *entry, char *errstr,
			  size_t errstr_size);

/** @brief The newest \p limit (1..DRV_WEBHOOK_LOG_MAX) entries of \p id's
 *         delivery log, newest first (a new array). */
drv_err_t drv_webhook_deliveries(redisContext *c, const drv_config_t *cfg,
				 const char *id, size_t limit, json_t **out,
				 char *errstr, size_t errstr_size);

/**
 * @brief Whether subscription \p rec wants event \p e: enabled, e's type
 *        among its events (or "*"), every filter attribute equal. The
 *        task.succeeded and task.dead events of a schedule's fire (with a
 *        schedule_id attribute) are also the types schedule.succeeded and
 *        schedule.failed. An event
 *        of a webhook delivery (its "handler" attribute names a handler of
 *        type webhook in \p cfg) or of a subscription's breaker (its
 *        "breaker" attribute starts with "webhook:") is never wanted, so
 *        deliveries cannot feed themselves.
 * @returns the type the delivery carries (e's own when the subscription
 *          names it or "*", else the schedule type it named), or NULL
 *          when not wanted. Static or pointing into \p e.
 * @remark Pure.
 */
const char *drv_webhook_wants(const drv_config_t *cfg, const json_t *rec,
			      const drv_event_t *e);

/**
 * @brief Build the delivery task of event \p e for subscription \p rec:
 *        handler api.webhook_handler, payload {subscription, webhook_id,
 *        body: {type, timestamp, data}}, idempotency key
 *        "webhook:<event id>:<subscription id>" and a webhook id made from
 *        both, so two coordinators that both dispatch one event make one
 *        delivery; label drover.breaker "webhook:<subscription id>", so
 *        each subscription has a circuit breaker of its own.
 * @param t  an initialised task, released first; the caller releases it.
 * @returns DRV_OK or DRV_ERR_NOMEM.
 */
drv_err_t drv_webhook_task(const drv_config_t *cfg, const json_t *rec,
			   const drv_event_t *e, int64_t now_ms, drv_task_t *t);

/**
 * @brief Run one attempt of delivery task \p t (handler \p h of type
 *        webhook): read its subscription from Redis, sign the body with
 *        its secret(s), POST it with \p http (no redirects followed; a
 *        15-30 s timeout), log the attempt in the delivery log, and fill
 *        \p res: 2xx success; 410 disables the subscription and fails for
 *        good; another status or a transport error fails with the spec's
 *        backoff (or a longer Retry-After) as res->retry_after_ms. A
 *        deleted or disabled subscription is not sent to (success, said in
 *        res->message).
 * @param rc  the calling thread's Redis connection (NULL: none could be
 *            made; the attempt fails and is retried).
 * @param res as for drv_http_run(); the caller releases it.
 * @returns what happened, a static string as in the delivery log:
 *          "delivered", "failed", "gone" (410), "redirected" (3xx),
 *          "not_sent" (subscription deleted or disabled), or "error"
 *          (nothing sent: a malformed delivery, no Redis, signing failed).
 * @locality the thread that uses \p http and \p rc.
 */
const char *drv_webhook_deliver(redisContext *rc, drv_http_client_t *http,
				const drv_config_t *cfg,
				const drv_handler_conf_t *h,
				const drv_task_t *t, drv_result_t *res);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_WEBHOOK_H */
