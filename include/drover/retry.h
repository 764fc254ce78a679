/*
 * drover — retry backoff: how long a failed task waits before its next
 * attempt, and whether it gets one at all. A retry policy (config.h,
 * `retry_policies:`) gives a base delay, a growth multiplier, a cap and a
 * jitter mode; drv_retry_delay() turns a policy and a retry number into a
 * delay in milliseconds, which the worker then rounds up to a delay topic.
 *
 * Randomness comes from a small seedable generator (drv_rng_t) that the
 * caller owns: each runner thread keeps its own, so no lock is needed, and
 * a test that seeds it gets the same delays every run. Nothing here
 * allocates, logs or fails.
 */
#ifndef DROVER_RETRY_H
#define DROVER_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "drover/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A pseudo-random generator state (xoroshiro128++). Plain data: embed it,
 * copy it, seed it with drv_rng_seed(); nothing to release.
 *
 * Not for secrets. Not thread-safe: one state per thread (each runner owns
 * one); two threads must never share a state without their own lock.
 */
typedef struct drv_rng {
	uint64_t s[2];
} drv_rng_t;

/**
 * @brief Seed \p r. The same non-zero \p seed always gives the same
 *        sequence (on every platform); \p seed 0 takes 64 bits from
 *        getrandom(2) (falling back to clocks and the pid if that fails), so
 *        each generator seeded with 0 gets its own sequence.
 * @remark Never fails. Touches only \p r: thread-safe for distinct states.
 */
void drv_rng_seed(drv_rng_t *r, uint64_t seed);

/**
 * @brief The next 64 pseudo-random bits from \p r (which must have been
 *        seeded), advancing it.
 * @remark Touches only \p r: thread-safe for distinct states.
 */
uint64_t drv_rng_next(drv_rng_t *r);

/**
 * @brief A uniformly distributed integer in [\p lo, \p hi], both included,
 *        without modulo bias; any range within int64_t works, including the
 *        full one. \p hi < \p lo returns \p lo.
 * @remark Touches only \p r: thread-safe for distinct states.
 */
int64_t drv_rng_range(drv_rng_t *r, int64_t lo, int64_t hi);

/**
 * @brief The delay in ms before retry number \p retry (1 = the first retry,
 *        i.e. the second attempt) under policy \p p.
 *
 * Nominal delay: min(cap, base * multiplier^(retry-1)), rounded to the
 * nearest ms and computed without overflow (a huge retry number or
 * multiplier just gives cap). Then the jitter:
 *   - DRV_JITTER_NONE: the nominal delay;
 *   - DRV_JITTER_FULL: uniform in [0, nominal];
 *   - DRV_JITTER_EQUAL: uniform in [nominal/2, nominal] (half fixed, half
 *     random);
 *   - DRV_JITTER_DECORRELATED (AWS "decorrelated jitter"): min(cap,
 *     uniform in [base, max(base, 3 * prev)]), where prev is \p prev_ms, or
 *     base for the first retry. The multiplier plays no part.
 *
 * Out-of-range policy values are read safely rather than rejected (the
 * config loader validates them): a negative base is 0; the cap is
 * max(max_delay_ms, base), so a max_delay_ms below the base (or 0) means
 * every delay is the base; a multiplier below 1 or NaN is 1; \p retry 0 is
 * taken as 1; an unknown jitter value is DRV_JITTER_NONE.
 *
 * @param p        the policy; only read, the caller keeps it.
 * @param retry    1 for the first retry, 2 for the second...
 * @param prev_ms  the delay this function returned for the previous retry
 *                 of the same task, 0 for the first (only decorrelated
 *                 jitter uses it).
 * @param rng      the caller's generator, advanced by the draw; may be NULL
 *                 only with DRV_JITTER_NONE (with any other jitter a NULL
 *                 \p rng gives the un-jittered nominal delay, or for
 *                 decorrelated jitter the upper end of its range).
 * @returns a delay in [0, cap].
 * @remark Reads \p p, writes only \p rng: thread-safe as long as each thread
 *         passes its own generator.
 */
int64_t drv_retry_delay(const drv_retry_policy_t *p, uint32_t retry,
			int64_t prev_ms, drv_rng_t *rng);

/**
 * @brief The delay before the next attempt when the handler asked for one
 *        (an HTTP `Retry-After`, a plugin's retry_after_ms): the longer of
 *        \p policy_delay_ms and \p retry_after_ms, where the handler's
 *        request is first clamped to the policy's cap (max(max_delay_ms,
 *        base_delay_ms), as in drv_retry_delay()) and to the time left
 *        before \p deadline_ms. A server cannot park a task for longer than
 *        the operator's policy allows (Retry-After values of millions of
 *        years parse fine), nor push it past its deadline by itself.
 *
 * @param p                the policy; only read, the caller keeps it.
 * @param policy_delay_ms  what drv_retry_delay() returned (negative is 0).
 * @param retry_after_ms   the handler's request; <= 0 means none. Any
 *                         int64_t value is safe.
 * @param now_ms           the current wall time, ms since the epoch.
 * @param deadline_ms      the task's deadline; 0 = none. A deadline at or
 *                         before \p now_ms leaves the request no room.
 * @returns a delay in [policy_delay_ms, max(policy_delay_ms, cap)], so
 *          \p now_ms plus it never overflows for a policy the config
 *          loader accepted (cap <= 30 days).
 * @remark Pure function: thread-safe; no overflow for any input.
 */
int64_t drv_retry_after_delay(const drv_retry_policy_t *p,
			      int64_t policy_delay_ms, int64_t retry_after_ms,
			      int64_t now_ms, int64_t deadline_ms);

/**
 * @brief Whether a task that has made \p attempts_made attempts (the first
 *        run included) may make another: attempts_made < max_attempts, where
 *        max_attempts is \p max_attempts_override when it is > 0 (the
 *        task's or the handler's own limit) and the policy's otherwise.
 *        A limit of 0 allows nothing; \p p may be NULL when
 *        \p max_attempts_override > 0.
 * @remark Pure function: thread-safe.
 */
bool drv_retry_allowed(const drv_retry_policy_t *p, uint32_t attempts_made,
		       uint32_t max_attempts_override);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_RETRY_H */
