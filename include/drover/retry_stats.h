/*
 * drover — retry analytics per handler: how many attempts tasks took to
 * succeed or to die, why attempts failed, how late retries started and how
 * long attempts ran, counted by the workers in Redis per handler and
 * minute and summed over a time range for `droverctl retry analytics` and
 * `GET /api/v1/retries/analytics`.
 *
 * Keys, with P = redis.key_prefix (default "drover:"):
 *
 *   P stats:h:<handler>:<minute>   hash of counters; <minute> is the
 *                                  finish time in ms / 60000 (UTC minutes
 *                                  since 1970). PEXPIRE DRV_STATS_KEEP_MS
 *                                  on every write, so a minute lives 14
 *                                  days after its last count.
 *   P stats:b:<band>:<minute>      the same fields for every task of a
 *                                  priority band (high, normal, low: the
 *                                  band of the task's priority under
 *                                  kafka.band_*), whatever its handler;
 *                                  the history of "all" sums the bands.
 *
 * Fields (a field that was never counted is absent, i.e. 0):
 *
 *   attempts            attempts finished (succeeded, retrying, dead)
 *   skipped, cancelled  tasks skipped (idempotency, operator) or cancelled
 *   ok:<n>              tasks that succeeded on attempt n (1..8, "9+")
 *   dead:<n>            tasks dead-lettered after n attempts (0..8, "9+";
 *                       0: dead before any attempt, e.g. no such handler)
 *   fail:<class>        failed attempts by drv_failure_class_name():
 *                       transient, permanent, timeout, crashed, throttled
 *   late_sum_ms, late_cnt, late:le<ms> / late:inf
 *                       a retry's start minus the time it was due (never
 *                       negative): sum, count and a histogram over
 *                       DRV_STATS_HIST_BOUNDS (a count per bucket, not
 *                       cumulative)
 *   dur_sum_ms, dur_cnt, dur:le<ms> / dur:inf
 *                       every finished attempt's duration, the same way
 *   wait_sum_ms, wait_cnt, wait:le<ms> / wait:inf
 *                       submit→start latency of first attempts only: the
 *                       first attempt's start minus the task's created
 *                       time, or minus its not_before time when that is
 *                       later (a task delayed on purpose is not waiting);
 *                       counted in the minute that attempt finished
 *
 * The same fields serve the history (drover/history.h): throughput =
 * attempts, failure rate = fail:* / attempts, submit→start and duration
 * percentiles from wait:* and dur:*, at 1-minute resolution for 14 days.
 *
 * Cost: with worker.retry_analytics on (the default; whatever
 * worker.task_state keeps) the workers count in memory
 * (drv_stats_count_rec()) and the task state writer (drover/state.h)
 * sends, pipelined before each batch of records, one HINCRBY per (handler,
 * minute, field) that changed and one PEXPIRE per key: no round trip of
 * its own (when no record is queued, as with worker.task_state off, the
 * counts go alone, at most once per flush). A record with a band counts
 * in two keys (handler and band): per flush, at most one HINCRBY per
 * field that changed and one PEXPIRE for each of them. Best effort: while Redis is
 * down the counts wait in memory, up to 512 (handler, minute) rows; the
 * rest is lost and counted (drv_state_stats_t.stats_lost). A read sums one
 * hash per minute of the range (1,440 a day, at most DRV_STATS_RANGE_MAX),
 * HGETALL pipelined; the history reads the same hashes per step
 * (drv_stats_read_steps()). No roll-ups: 14 days of a key busy every
 * minute read in about 0.25 s (docs/api.md has the figures).
 */
#ifndef DROVER_RETRY_STATS_H
#define DROVER_RETRY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/state.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One bucket: a minute. */
#define DRV_STATS_BUCKET_MS 60000LL
/** How long a bucket is kept, and the longest range one read sums. */
#define DRV_STATS_KEEP_MS (14LL * 24 * 3600 * 1000)
#define DRV_STATS_RANGE_MAX DRV_STATS_KEEP_MS
/** Range of a read without `since`: the last 24 hours. */
#define DRV_STATS_RANGE_DEFAULT (24LL * 3600 * 1000)
/** Attempts counted one by one; more go to "9+". */
#define DRV_STATS_ATTEMPT_MAX 9
/** Buckets of the lateness and duration histograms, the last one open. */
#define DRV_STATS_HIST_CNT 14
/** Upper bounds (ms, inclusive) of the histogram buckets but the last. */
#define DRV_STATS_HIST_BOUNDS { 10, 50, 100, 250, 500, 1000, 2500, 5000, \
	10000, 30000, 60000, 300000, 1800000 }

/** Index of each counter in drv_stats_counts_t.v. */
enum {
	DRV_STATS_ATTEMPTS  = 0,
	DRV_STATS_SKIPPED   = 1,
	DRV_STATS_CANCELLED = 2,
	/** ok:1 .. ok:9+: DRV_STATS_OK + attempt - 1 */
	DRV_STATS_OK        = 3,
	/** dead:0 .. dead:9+: DRV_STATS_DEAD + attempts */
	DRV_STATS_DEAD      = DRV_STATS_OK + DRV_STATS_ATTEMPT_MAX,
	/** fail:<class>: DRV_STATS_FAIL + drv_failure_class_t - 1 */
	DRV_STATS_FAIL      = DRV_STATS_DEAD + DRV_STATS_ATTEMPT_MAX + 1,
	DRV_STATS_LATE_SUM  = DRV_STATS_FAIL + DRV_FAILURE_CLASS_CNT - 1,
	DRV_STATS_LATE_CNT,
	DRV_STATS_LATE_HIST,
	DRV_STATS_DUR_SUM   = DRV_STATS_LATE_HIST + DRV_STATS_HIST_CNT,
	DRV_STATS_DUR_CNT,
	DRV_STATS_DUR_HIST,
	DRV_STATS_WAIT_SUM  = DRV_STATS_DUR_HIST + DRV_STATS_HIST_CNT,
	DRV_STATS_WAIT_CNT,
	DRV_STATS_WAIT_HIST,
	DRV_STATS_FIELD_CNT = DRV_STATS_WAIT_HIST + DRV_STATS_HIST_CNT
};

/** What a stats key counts: one handler's tasks, or one band's. */
typedef enum drv_stats_scope {
	DRV_STATS_HANDLER = 0, /**< P stats:h:<handler>:<minute> */
	DRV_STATS_BAND    = 1, /**< P stats:b:<band>:<minute> */
} drv_stats_scope_t;

/** Counters of one handler: one minute (the writer's) or a range (a
 *  read's). Plain data: zero it to start. */
typedef struct drv_stats_counts {
	int64_t v[DRV_STATS_FIELD_CNT];
} drv_stats_counts_t;

/** @brief The Redis field name of counter \p f ("ok:2", "late:le100"), or
 *         NULL when \p f is out of range. A static string. Thread-safe. */
const char *drv_stats_field_name(int f);

/** @brief The counter of Redis field \p name, or -1 when drover does not
 *         know it (a newer drover's field). Thread-safe. */
int drv_stats_field_parse(const char *name);

/** @brief The histogram bucket (0..DRV_STATS_HIST_CNT-1) of \p ms
 *         (negative is 0). Pure. */
int drv_stats_hist_bucket(int64_t ms);

/**
 * @brief Add what record \p rec says to \p c: a succeeded, retrying or
 *        dead record is a finished attempt (its duration, its failure
 *        class, for a retry its lateness: started_ms − planned_ms, for a
 *        first attempt its submit→start wait: started_ms − the later of
 *        created_ms and planned_ms); a
 *        succeeded or dead one also ends its task (ok:n, dead:n); skipped
 *        and cancelled are counted as such. Other states count nothing.
 * @returns true when something was counted. Pure: \p rec only read.
 */
bool drv_stats_count_rec(drv_stats_counts_t *c, const drv_state_rec_t *rec);

/**
 * @brief The \p q quantile (0..1) of histogram \p hist
 *        (DRV_STATS_HIST_CNT counts): the upper bound of the bucket that
 *        holds it, or the last finite bound for the open bucket; 0 for an
 *        empty histogram. Pure.
 */
int64_t drv_stats_quantile(const int64_t *hist, double q);

/**
 * @brief The \p q quantile (0..1) of histogram \p hist, interpolated
 *        linearly within the bucket that holds it (bucket 0 spans 0..10):
 *        an estimate, never outside that bucket's bounds; the last finite
 *        bound for the open bucket; 0 for an empty histogram. Pure.
 */
double drv_stats_quantile_interp(const int64_t *hist, double q);

/** @brief Write "P stats:h:<name>:<minute>" (\p scope DRV_STATS_HANDLER) or
 *         "P stats:b:<name>:<minute>" (DRV_STATS_BAND) to \p buf (cut to
 *         \p size). @remark Pure. */
void drv_stats_key(char *buf, size_t size, const char *prefix,
		   drv_stats_scope_t scope, const char *name, int64_t minute);

/**
 * @brief Settle the range of a read: \p *until 0 means \p now_ms, \p *since
 *        0 means DRV_STATS_RANGE_DEFAULT before \p *until, and a range
 *        longer than DRV_STATS_RANGE_MAX (what is kept) is cut to start
 *        that long before \p *until. Pure.
 */
void drv_retry_stats_range(int64_t *since, int64_t *until, int64_t now_ms);

/**
 * @brief Read \p minutes minute buckets of \p name (a handler or a band,
 *        by \p scope) from minute \p first_minute, adding minute m's
 *        counters to out[(m − first_minute) / \p step_minutes]; HGETALL
 *        pipelined 512 at a time on \p c (from drv_redis_connect()).
 * @param out  ceil(minutes / step_minutes) entries, the caller's; added
 *             to, not zeroed.
 * @returns DRV_OK; DRV_ERR_INVALID (more than 15 days of minutes),
 *          DRV_ERR_REDIS / DRV_ERR_TIMEOUT (\p c unusable after a
 *          connection error), DRV_ERR_NOMEM; the reason in \p errstr.
 */
drv_err_t drv_stats_read_steps(redisContext *c, const char *key_prefix,
			       drv_stats_scope_t scope, const char *name,
			       int64_t first_minute, int64_t minutes,
			       int64_t step_minutes, drv_stats_counts_t *out,
			       char *errstr, size_t errstr_size);

/**
 * @brief Sum the buckets of \p handler from the minute of \p since_ms to
 *        the minute of \p until_ms (both included) on \p c (from
 *        drv_redis_connect()), HGETALL pipelined in chunks; \p until_ms
 *        before \p since_ms is an empty range (all zero).
 * @param out  zeroed, then filled; the caller's.
 * @returns DRV_OK; DRV_ERR_INVALID (a range over DRV_STATS_RANGE_MAX:
 *          see drv_retry_stats_range()), DRV_ERR_REDIS / DRV_ERR_TIMEOUT (\p c is
 *          unusable after a connection error), DRV_ERR_NOMEM; the reason
 *          in \p errstr.
 */
drv_err_t drv_retry_stats_read(redisContext *c, const char *key_prefix,
			       const char *handler, int64_t since_ms,
			       int64_t until_ms, drv_stats_counts_t *out,
			       char *errstr, size_t errstr_size);

/**
 * @brief The JSON of \p handler's counters \p s: finished, succeeded, dead,
 *        attempts, skipped, cancelled, succeeded_by_attempt and
 *        dead_by_attempt ({"1": n, ..., "9+": n}), success_within
 *        ({"n": the share of finished tasks that succeeded within n
 *        attempts}), failures ({class: n}), lateness_ms and duration_ms
 *        ({count, mean, p50, p95, p99}).
 * @returns a new reference, or NULL when out of memory.
 */
json_t *drv_retry_stats_json(const char *handler, const drv_stats_counts_t *s);

/**
 * @brief Retry analytics of \p handler (NULL: every handler of \p cfg, in
 *        config order) over [\p since_ms, \p until_ms]: one operation for
 *        the API and droverctl.
 * @param out  receives {"since_ms", "until_ms", "handlers": [one
 *             drv_retry_stats_json() each]}, a new reference the caller
 *             decrefs; untouched on error.
 * @returns as drv_retry_stats_read().
 */
drv_err_t drv_retry_analytics(const drv_config_t *cfg, redisContext *c,
			      const char *handler, int64_t since_ms,
			      int64_t until_ms, json_t **out, char *errstr,
			      size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_RETRY_STATS_H */
