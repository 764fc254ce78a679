/*
 * drover — idempotency claims: at most one copy of a task with a given
 * idempotency key runs at a time, fleet-wide, and none after one completed.
 *
 * Before a runner runs a task that has an idempotency key it takes the
 * key's claim. The claim and the completion share one Redis key, with
 * P = redis.key_prefix:
 *
 *   P idem:<key>   "run:<token>": a copy runs now (PX the lease, renewed
 *                  by this object's thread while the copy runs);
 *                  "<task id>": a task with the key completed (written by
 *                  drv_state_idem_done(), PX worker.idempotency_ttl).
 *
 * Taking is one Lua script (get, and set when free), so of two copies
 * picked up at the same moment by two workers exactly one gets the claim;
 * one script takes a whole batch of keys (drv_claims_take_many()), so a
 * worker pays one round trip per batch of tasks, not one per task.
 * The runner that holds it then either completes the task
 * (drv_state_idem_done() replaces the claim; drv_claims_forget() stops the
 * renewal) or gives it back (drv_claims_release(): a retry, a dead letter,
 * a shutdown). A worker that dies holding a claim stops renewing it; it
 * lapses after the lease, and the redelivered copy takes it then.
 *
 * Redis down: drv_claims_take() fails fast (after the first failure it
 * does not try again before a backoff of 0.5 s doubling to 30 s) and the
 * caller runs the task unchecked (at least once), as it did before claims.
 *
 * Threads: drv_claims_new() and drv_claims_destroy() by the owner; the
 * others from any thread (each call takes a connection of a pool, so
 * callers do not wait on each other's round trips).
 */
#ifndef DROVER_CLAIM_H
#define DROVER_CLAIM_H

#include <stdint.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/task.h"

/** Default lease of a claim; renewed every third of it while held. */
#define DRV_CLAIM_LEASE_MS 30000

typedef enum drv_claim_verdict {
	DRV_CLAIM_TAKEN = 0, /**< this caller holds the claim: run the task */
	DRV_CLAIM_HELD  = 1, /**< another copy runs: try again later */
	DRV_CLAIM_DONE  = 2, /**< a task with this key completed: skip */
} drv_claim_verdict_t;

/** What drv_claims_take() found. */
typedef struct drv_claim {
	drv_claim_verdict_t verdict;
	int64_t held_ms;                  /**< HELD: the other claim's lease
					       left (ms) */
	char    done_by[DRV_ID_LEN + 1];  /**< DONE: the task that completed
					       ("" if the value is not an id) */
} drv_claim_t;

typedef struct drv_claims drv_claims_t;

/**
 * @brief Make the claims object and start its renewal thread. Does not
 *        connect: the first drv_claims_take() does.
 * @param cfg       read during the call: redis.* are copied.
 * @param lease_ms  0 = DRV_CLAIM_LEASE_MS.
 * @returns an object the caller frees with drv_claims_destroy(), or NULL
 *          with the reason in \p errstr (bad redis.url, out of memory, no
 *          thread).
 */
drv_claims_t *drv_claims_new(const drv_config_t *cfg, int64_t lease_ms,
			     char *errstr, size_t errstr_size);

/**
 * @brief Stop the renewal thread, close the connection, free \p c. Claims
 *        still held are not given back (they lapse after the lease). NULL
 *        is a no-op.
 */
void drv_claims_destroy(drv_claims_t *c);

/**
 * @brief Take the claim of idempotency key \p key (one round trip, at most
 *        redis.connect_timeout; a first call may connect).
 * @param out  set on DRV_OK.
 * @returns DRV_OK, DRV_ERR_INVALID (NULL, empty or too long key),
 *          DRV_ERR_REDIS or DRV_ERR_TIMEOUT (Redis down or slow: run the
 *          task unchecked), DRV_ERR_NOMEM.
 */
drv_err_t drv_claims_take(drv_claims_t *c, const char *key,
			  drv_claim_t *out);

/**
 * @brief Take the claims of \p n keys in one round trip, each as
 *        drv_claims_take() would, in order (of two equal keys the second
 *        finds the first's claim: DRV_CLAIM_HELD).
 * @param keys  read during the call.
 * @param out   \p n results, set on DRV_OK.
 * @returns as drv_claims_take(), for the whole batch (DRV_ERR_INVALID: one
 *          of the keys is NULL, empty or too long, and nothing was taken).
 */
drv_err_t drv_claims_take_many(drv_claims_t *c, const char *const *keys,
			       size_t n, drv_claim_t *out);

/**
 * @brief Give back the claim of \p key taken by this object (deleted only
 *        if it is still ours) and stop renewing it. Synchronous: the next
 *        copy can take it as soon as this returns. A failure is not
 *        reported: the claim then lapses after its lease.
 */
void drv_claims_release(drv_claims_t *c, const char *key);

/**
 * @brief Stop renewing the claim of \p key: the task completed and
 *        drv_state_idem_done() replaces the claim with the task's id.
 */
void drv_claims_forget(drv_claims_t *c, const char *key);

/** @brief How many claims this object holds right now. */
size_t drv_claims_held(drv_claims_t *c);

#endif /* DROVER_CLAIM_H */
