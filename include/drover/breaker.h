/*
 * drover — circuit breakers.
 *
 * A breaker guards the calls of a handler (or of whatever a task's label
 * `drover.breaker` names) to a dependency. States:
 *
 *   CLOSED         calls go out; outcomes are counted in a sliding window of
 *                  per-second buckets. Once the window holds min_calls and
 *                  the failure rate or the slow-call rate reaches its
 *                  threshold, it opens.
 *   OPEN           no call goes out until open_until (wait_in_open later);
 *                  tasks wait on the delay topics, not charged an attempt.
 *   HALF_OPEN      half_open_calls probes are leased (fleet-wide when
 *                  shared); half_open_successes of them succeeding closes
 *                  it, too many failing opens it again.
 *   FORCED_OPEN, FORCED_CLOSED, DISABLED, METRICS_ONLY
 *                  set by an operator (droverctl breaker ...); only `reset`
 *                  or `close` leave them. METRICS_ONLY counts but never
 *                  rejects; DISABLED neither counts nor rejects.
 *
 * Two implementations follow the same rules: drv_breaker_local_t below,
 * one process's own breaker (the fallback while Redis is unreachable, and
 * what the unit tests check the rules with), and the shared one in Redis
 * (core/breaker_redis.c): a hash per breaker with its state and a hash of
 * per-second window counters, changed only by Lua scripts that take the
 * clock from Redis TIME, every transition PUBLISHed on the breaker channel.
 */
#ifndef DROVER_BREAKER_H
#define DROVER_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum drv_breaker_state {
	DRV_BREAKER_CLOSED        = 0,
	DRV_BREAKER_OPEN          = 1,
	DRV_BREAKER_HALF_OPEN     = 2,
	DRV_BREAKER_FORCED_OPEN   = 3,
	DRV_BREAKER_FORCED_CLOSED = 4,
	DRV_BREAKER_DISABLED      = 5,
	DRV_BREAKER_METRICS_ONLY  = 6,
} drv_breaker_state_t;

#define DRV_BREAKER_STATE_CNT 7

/** What a breaker says about one call. */
typedef enum drv_breaker_verdict {
	DRV_BREAKER_ALLOW  = 0, /**< go; report the outcome */
	DRV_BREAKER_PROBE  = 1, /**< go as a half-open probe; report it as one */
	DRV_BREAKER_REJECT = 2, /**< do not call; try again at retry_at */
} drv_breaker_verdict_t;

/** Longest window in seconds (breakers.*.window is at most 5m). */
#define DRV_BREAKER_WINDOW_MAX 300
/** Longest breaker name (the label or config name). */
#define DRV_BREAKER_NAME_MAX 64

/** @brief "closed", "open", "half_open", "forced_open", "forced_closed",
 *         "disabled", "metrics_only"; "unknown" otherwise. Static. */
const char *drv_breaker_state_name(drv_breaker_state_t s);

/** @brief Parse a state name as drv_breaker_state_name() spells it.
 *  @returns true and *out on success. */
bool drv_breaker_state_parse(const char *name, drv_breaker_state_t *out);

/** @brief Whether \p name is a usable breaker name: 1 to 64 of
 *         a-z A-Z 0-9 _ . - : (host names and ports fit). */
bool drv_breaker_name_valid(const char *name);

/**
 * @brief The breaker a task's call goes through, into \p buf: the task's
 *        label `drover.breaker` when it is a valid name, else the handler's
 *        `breaker`, else the handler's name.
 */
void drv_breaker_name_for(const drv_handler_conf_t *h, const char *label,
			  char *buf, size_t size);

/** Counts of one second of the window. */
typedef struct drv_breaker_bucket {
	int64_t  sec;      /**< clock second the counts are of */
	uint32_t calls, failures, slow;
} drv_breaker_bucket_t;

/**
 * One process's breaker. Embedded; drv_breaker_local_init() it, no release
 * needed. Not thread-safe: the owner serialises calls. Times are the
 * caller's clock in ms (wall clock: open_until is compared with a task's
 * not-before time).
 */
typedef struct drv_breaker_local {
	const drv_breaker_conf_t *conf;   /**< borrowed */
	drv_breaker_state_t state;
	int64_t  open_until_ms;           /**< OPEN: when probes may start */
	int64_t  half_open_ms;            /**< HALF_OPEN: since when */
	uint32_t leased, probe_ok, probe_failed;
	drv_breaker_bucket_t b[DRV_BREAKER_WINDOW_MAX];
} drv_breaker_local_t;

/** @brief CLOSED with an empty window; \p conf must outlive \p b. */
void drv_breaker_local_init(drv_breaker_local_t *b,
			    const drv_breaker_conf_t *conf);

/**
 * @brief May a call go out now? OPEN past its wait turns HALF_OPEN (that is
 *        a transition: *changed is set). In HALF_OPEN a probe is leased
 *        while fewer than half_open_calls are out; a lease unanswered for
 *        wait_in_open is given back.
 * @param retry_at  on REJECT: when to try again (open_until, or now + the
 *                  probe wait in HALF_OPEN, or now + wait_in_open when
 *                  FORCED_OPEN).
 * @param changed   optional; set true when the state changed.
 */
drv_breaker_verdict_t drv_breaker_local_acquire(drv_breaker_local_t *b,
						int64_t now_ms,
						int64_t *retry_at,
						bool *changed);

/**
 * @brief Count outcomes: \p calls calls of which \p failures failed and
 *        \p slow were slow, all ALLOWed; then \p probe_ok and
 *        \p probe_failed probes. Applies the rules.
 * @returns true if the state changed (see b->state).
 */
bool drv_breaker_local_record(drv_breaker_local_t *b, int64_t now_ms,
			      uint32_t calls, uint32_t failures, uint32_t slow,
			      uint32_t probe_ok, uint32_t probe_failed);

/** @brief Set a state by hand; CLOSED (reset) also empties the window. */
void drv_breaker_local_set(drv_breaker_local_t *b, drv_breaker_state_t s,
			   int64_t now_ms);

/** @brief Sums of the window as of \p now_ms. */
void drv_breaker_local_window(const drv_breaker_local_t *b, int64_t now_ms,
			      uint32_t *calls, uint32_t *failures,
			      uint32_t *slow);

/* ------------------------------------------------------------- shared */

/** A breaker's shared state as read from Redis or a transition message. */
typedef struct drv_breaker_view {
	char     name[DRV_BREAKER_NAME_MAX + 1];
	drv_breaker_state_t state;
	int64_t  open_until_ms;   /**< Redis clock */
	int64_t  gen;             /**< transitions so far; newer wins */
	int64_t  changed_ms;      /**< Redis clock of the last transition */
	uint32_t calls, failures, slow;  /**< window sums (read only) */
	uint32_t leased, probe_ok, probe_failed;
} drv_breaker_view_t;

/** Outcomes gathered by one worker since its last flush. */
typedef struct drv_breaker_batch {
	uint32_t calls, failures, slow, probe_ok, probe_failed;
} drv_breaker_batch_t;

/** @brief The pub/sub channel of transitions: "<redis.key_prefix>breaker". */
void drv_breaker_channel(const drv_config_t *cfg, char *buf, size_t size);

/**
 * @brief Add \p batch to breaker \p name's shared window and apply the rules
 *        in one Lua script (EVALSHA, EVAL on NOSCRIPT), clocked by Redis
 *        TIME. A transition is PUBLISHed.
 * @param out      receives the state after.
 * @param changed  set true if this call made a transition.
 * @returns DRV_OK, DRV_ERR_REDIS or DRV_ERR_TIMEOUT (connection trouble:
 *          the caller should drop \p c).
 */
drv_err_t drv_breaker_redis_record(redisContext *c, const drv_config_t *cfg,
				   const drv_breaker_conf_t *bc,
				   const char *name,
				   const drv_breaker_batch_t *batch,
				   drv_breaker_view_t *out, bool *changed,
				   char *errstr, size_t errstr_size);

/**
 * @brief Ask for a half-open probe: OPEN past its wait turns HALF_OPEN
 *        (published); in HALF_OPEN a probe is leased while fewer than
 *        half_open_calls are out, fleet-wide.
 * @param verdict   ALLOW (not open any more), PROBE or REJECT.
 * @param retry_at  on REJECT, when to try again (Redis clock).
 */
drv_err_t drv_breaker_redis_acquire(redisContext *c, const drv_config_t *cfg,
				    const drv_breaker_conf_t *bc,
				    const char *name,
				    drv_breaker_verdict_t *verdict,
				    int64_t *retry_at, drv_breaker_view_t *out,
				    bool *changed, char *errstr,
				    size_t errstr_size);

/**
 * @brief An operator's change: \p state FORCED_OPEN, FORCED_CLOSED,
 *        DISABLED or METRICS_ONLY; CLOSED resets (state closed, window and
 *        probes emptied). Published and logged like any transition, its
 *        why "forced by BY" or "reset by BY".
 * @param by  who asked ("droverctl:alice", "api:ops"; borrowed; NULL or
 *            empty: "an operator").
 */
drv_err_t drv_breaker_redis_set(redisContext *c, const drv_config_t *cfg,
				const char *name, drv_breaker_state_t state,
				const char *by, drv_breaker_view_t *out,
				char *errstr, size_t errstr_size);

/**
 * @brief Read breaker \p name: its state, and the window sums over
 *        \p window_ms (0: the state only, one round trip). A breaker Redis
 *        has never seen reads as CLOSED, gen 0.
 */
drv_err_t drv_breaker_redis_read(redisContext *c, const drv_config_t *cfg,
				 const char *name, int64_t window_ms,
				 drv_breaker_view_t *out, char *errstr,
				 size_t errstr_size);

/**
 * @brief Names of every breaker Redis knows (sorted).
 * @param names  receives a malloc'd array of malloc'd strings; free with
 *               drv_breaker_names_free().
 */
drv_err_t drv_breaker_redis_list(redisContext *c, const drv_config_t *cfg,
				 char ***names, size_t *cnt, char *errstr,
				 size_t errstr_size);
void drv_breaker_names_free(char **names, size_t cnt);

/* ------------------------------------------------ transition log */

/** Transitions kept per breaker (the newest). */
#define DRV_BREAKER_LOG_MAX 200
/** A breaker's log expires this many days after its last transition. */
#define DRV_BREAKER_LOG_KEEP_DAYS 30
/** Longest why of a transition, with its NUL (longer ones are cut). */
#define DRV_BREAKER_WHY_MAX 160

/** One transition of a breaker, as the Lua script that made it logged it
 *  (every worker's, every operator's). Plain data. */
typedef struct drv_breaker_transition {
	int64_t at_ms;            /**< Redis clock */
	drv_breaker_state_t from, to;
	int64_t gen;              /**< the breaker's transitions so far,
				       this one included */
	char    why[DRV_BREAKER_WHY_MAX]; /**< "failure rate 60% of 10 calls
				       (threshold 50%)", "wait in open over",
				       "probes succeeded: 3", "2 of 3 probes
				       failed", "forced by api:ops", "reset
				       by droverctl:alice" */
} drv_breaker_transition_t;

/** @brief The Redis key of breaker \p name's transition log,
 *         "<redis.key_prefix>breaker-log:NAME", into \p buf (cut to
 *         \p size). Pure. */
void drv_breaker_log_key(const drv_config_t *cfg, const char *name,
			 char *buf, size_t size);

/**
 * @brief A page of breaker \p name's transitions, newest first: those
 *        older than generation \p before_gen (0: from the newest), at
 *        most \p limit (1..DRV_BREAKER_LOG_MAX) into \p out (the
 *        caller's array of \p limit). One LRANGE of the whole log (at
 *        most DRV_BREAKER_LOG_MAX short strings). Entries that do not
 *        parse are skipped.
 * @param cnt       receives how many were written.
 * @param next_gen  receives the cursor of the next page (the gen of the
 *                  last one written) when older ones remain, else 0.
 * @returns DRV_OK (a breaker without a log: no entry), DRV_ERR_REDIS /
 *          DRV_ERR_TIMEOUT (drop \p c), DRV_ERR_INVALID (\p limit).
 * @locality the thread that uses \p c.
 */
drv_err_t drv_breaker_redis_transitions(redisContext *c,
					const drv_config_t *cfg,
					const char *name, int64_t before_gen,
					size_t limit,
					drv_breaker_transition_t *out,
					size_t *cnt, int64_t *next_gen,
					char *errstr, size_t errstr_size);

/* ------------------------------------------------ transition feed */

/** Transitions kept in the feed of every breaker's (the newest). */
#define DRV_BREAKER_FEED_MAX 200

/** One transition in the feed of every breaker's: its place, its breaker
 *  and the transition as the breaker's log has it. Plain data. */
typedef struct drv_breaker_feed_entry {
	int64_t seq;     /**< its place in the feed: 1, 2, ... one more
			      than the one before */
	char    name[DRV_BREAKER_NAME_MAX + 1];
	drv_breaker_transition_t t;
} drv_breaker_feed_entry_t;

/** @brief The Redis key of the feed, "<redis.key_prefix>breaker-feed",
 *         into \p buf (cut to \p size). Pure. */
void drv_breaker_feed_key(const drv_config_t *cfg, char *buf, size_t size);

/**
 * @brief The transitions of every breaker made after feed place \p after,
 *        oldest first, at most \p limit (1..DRV_BREAKER_FEED_MAX, the
 *        newest when there are more) into \p out (the caller's array of
 *        \p limit). One LINDEX when nothing is new; one LRANGE more when
 *        something is. Entries that do not parse are skipped.
 * @param after  the place of the last transition the caller has (the
 *               \p head of a call before); -1 for none: then only
 *               \p head is read.
 * @param cnt    receives how many were written.
 * @param head   receives the place of the newest transition (0: the feed
 *               is empty); the \p after of the next call.
 * @param lost   receives true when transitions after \p after are not
 *               in \p out: more than \p limit, trimmed from the feed, or
 *               a feed that restarted (a Redis that lost it: \p head less
 *               than \p after).
 * @returns DRV_OK, DRV_ERR_REDIS / DRV_ERR_TIMEOUT (drop \p c),
 *          DRV_ERR_INVALID (\p limit).
 * @locality the thread that uses \p c.
 */
drv_err_t drv_breaker_feed_read(redisContext *c, const drv_config_t *cfg,
				int64_t after, size_t limit,
				drv_breaker_feed_entry_t *out, size_t *cnt,
				int64_t *head, bool *lost, char *errstr,
				size_t errstr_size);

struct json_t;
struct rd_kafka_s;

/** @brief \p t as JSON: {"at_ms", "from", "to" (state names), "gen",
 *         "why"}. A new reference; NULL when out of memory. */
struct json_t *drv_breaker_transition_json(const drv_breaker_transition_t *t);

/** @brief \p e as JSON: {"seq", "name"} and the fields of
 *         drv_breaker_transition_json(). A new reference; NULL when out of
 *         memory. */
struct json_t *drv_breaker_feed_entry_json(const drv_breaker_feed_entry_t *e);

/** @brief \p v as the JSON object droverctl --json and the API show:
 *         name, state, open_until_ms, changed_ms, transitions, calls,
 *         failures, slow, failure_rate, slow_call_rate (percent), the
 *         probes, and "policy": the breaker's `breakers:` entry in \p cfg
 *         (else `default`) under the config's key names, durations as
 *         `<key>_ms`, and "entry" naming the entry used. Both borrowed.
 *         A new reference; NULL when out of memory. */
struct json_t *drv_breaker_view_json(const drv_config_t *cfg,
				     const drv_breaker_view_t *v);

/**
 * @brief Tell an operator's change of a breaker (now \p v) as a
 *        breaker.opened / breaker.closed event from \p source ("droverctl",
 *        "api:<token>"), \p action naming the change ("open", "reset"), and
 *        wait for the acknowledgement.
 * @locality any thread; \p rk may be shared.
 */
drv_err_t drv_breaker_tell(struct rd_kafka_s *rk, const drv_config_t *cfg,
			   const drv_breaker_view_t *v, const char *action,
			   const char *source, char *errstr,
			   size_t errstr_size);

/**
 * @brief Parse a transition message ("name state open_until gen changed")
 *        into \p out (window fields zero).
 * @returns false if it is not one.
 */
bool drv_breaker_parse_message(const char *data, size_t len,
			       drv_breaker_view_t *out);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_BREAKER_H */
