/*
 * drover — task state, task history and idempotency keys in Redis, kept off
 * the worker's hot path.
 *
 * A drv_state_t owns one background thread with its own Redis connection.
 * Runner threads hand it records (drv_state_record()) and finished
 * idempotency keys (drv_state_idem_done()); both only copy into a bounded
 * in-memory queue and never wait on Redis. The thread writes the queue at
 * most every DRV_STATE_FLUSH_MS in pipelined batches; while Redis is down it
 * keeps the queue (dropping the oldest entry when full, counted in
 * drv_state_stats_t.dropped) and reconnects with exponential backoff
 * (0.5 s doubling to 30 s). Redis down means degraded, not dead.
 *
 * Keys, with P = redis.key_prefix (default "drover:"):
 *
 *   P task:<id>          hash: state, attempt, handler, worker, last_error,
 *                        updated_ms, created_ms, due_ms, priority,
 *                        labels and origin (both JSON objects); fields a
 *                        record leaves out keep their earlier value.
 *                        Field "history": one compact JSON object per
 *                        finished attempt, a line each, oldest first:
 *                        {"attempt":2,"state":"retrying","worker":"w1",
 *                        "started_ms":..,"finished_ms":..,"error":"..",
 *                        "class":"transient"} (worker, error and class
 *                        left out when absent). Field "waits": the task's
 *                        waits without an attempt (drv_state_wait()), a
 *                        line each, oldest first, at most
 *                        DRV_STATE_WAITS_MAX:
 *                        {"kind":"breaker","name":"pay","state":"open",
 *                        "attempt":0,"at_ms":..,"until_ms":..,"turns":3}
 *                        ("state" only for a breaker). A turn-away of the
 *                        same kind, name and state, with no attempt
 *                        finished since (same "attempt"), extends the
 *                        last line (its until_ms, turns + 1) instead of
 *                        adding one, so a task that cycles through the
 *                        delay tiers for an hour writes one line. A wait
 *                        also moves a hash still `running` the attempt
 *                        turned away back to `queued` (none made) or
 *                        `retrying` (attempt: those made; due_ms: the
 *                        wait's until_ms), in the index too.
 *   P tasks:<state>      sorted set, one per state (worker.task_index):
 *                        the ids of the tasks in that state, scored by
 *                        updated_ms; a record moves its task from the set
 *                        of the state the hash held to its new state's
 *                        (one Lua script per record, so hash and sets
 *                        change together). Members older than
 *                        worker.task_state_ttl are trimmed by the writer
 *                        every DRV_STATE_TRIM_MS. drover/task_list.h
 *                        reads them.
 *   P task:<id>:history  list: where earlier drover versions kept the
 *                        history; read before the hash's field, never
 *                        written now, gone with its TTL
 *   P idem:<key>         string: the id of the task that completed with
 *                        that idempotency key (while a copy runs, its
 *                        claim "run:<token>": see drover/claim.h)
 *   P dlq:group:<id>...  the failure group index of the dead letters
 *                        (drv_state_dead_letter(); drover/dlq_groups.h)
 *
 * The task hash gets PEXPIRE worker.task_state_ttl on every write, so it
 * lives that long after the task's last update; idempotency keys live
 * worker.idempotency_ttl.
 *
 * Writes are at least once: a batch cut off by a lost connection is written
 * again from the first entry whose replies did not all arrive, so a history
 * entry may (rarely) appear twice.
 *
 * Threads: drv_state_new() and drv_state_destroy() are called by the owner,
 * not concurrently with anything else on the same object. Every other
 * function on a drv_state_t may be called from any thread at any time.
 * Retry analytics: with worker.retry_analytics on, every record that ends
 * an attempt is also counted per handler and minute (whatever
 * worker.task_state keeps) and written with the next batch: see
 * drover/retry_stats.h.
 *
 * drv_state_get() and the drv_state_task_t helpers need no drv_state_t (and
 * no thread); they are for droverctl.
 */
#ifndef DROVER_STATE_H
#define DROVER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/dead_letter.h"
#include "drover/error.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default bound of the in-memory queue (records plus idempotency keys). */
#define DRV_STATE_QUEUE_MAX 10000
/** Default: the thread writes what is queued at most this often. */
#define DRV_STATE_FLUSH_MS 100
/** Default: how long drv_state_destroy() spends writing what is queued. */
#define DRV_STATE_CLOSE_MS 2000
/** Reconnect backoff: first delay and cap. */
#define DRV_STATE_BACKOFF_MIN_MS 500
#define DRV_STATE_BACKOFF_MAX_MS 30000
/** Bytes of an error text kept in a record (longer ones are cut at a UTF-8
 *  character boundary). */
#define DRV_STATE_ERROR_MAX 1024
/** The writer trims the state index (P tasks:<state>) this often. */
#define DRV_STATE_TRIM_MS 10000
/** Longest task id, idempotency key or redis.key_prefix accepted. */
#define DRV_STATE_KEY_MAX 1024
/** Lines of a task's "waits" field kept (the newest). */
#define DRV_STATE_WAITS_MAX 32

/** Where a task stands. The names are what Redis holds. */
typedef enum drv_task_state {
	DRV_TASK_QUEUED    = 0, /**< submitted, not run yet */
	DRV_TASK_RUNNING   = 1, /**< an attempt is running */
	DRV_TASK_SUCCEEDED = 2, /**< an attempt succeeded; done */
	DRV_TASK_RETRYING  = 3, /**< an attempt failed; another will come */
	DRV_TASK_DEAD      = 4, /**< failed for good; dead-lettered */
	DRV_TASK_SKIPPED   = 5, /**< not run: its idempotency key was seen,
				     or an operator skipped it (the error
				     says why) */
	DRV_TASK_PAUSED    = 6, /**< an operator paused it: parked on the
				     delay topics, or its process stopped */
	DRV_TASK_CANCELLED = 7, /**< an operator cancelled it: never run, or
				     killed while running */
} drv_task_state_t;

#define DRV_TASK_STATE_CNT 8

/** @brief "queued", "running", "succeeded", "retrying", "dead",
 *         "skipped", "paused" or "cancelled" ("unknown" for any other
 *         value).
 *  @returns a static string; never NULL. Thread-safe. */
const char *drv_task_state_name(drv_task_state_t s);

/** @brief Parse a name made by drv_task_state_name() (exact, lower case).
 *  @returns DRV_OK or DRV_ERR_INVALID (\p out untouched). Thread-safe. */
drv_err_t drv_task_state_parse(const char *s, drv_task_state_t *out);

/**
 * One state change of one task, as given to drv_state_record(). Every
 * string is only read during the call (copied); optional ones may be NULL.
 * A record in state succeeded, retrying, dead, skipped or cancelled ends an
 * attempt and also appends that attempt to the task's history; queued,
 * running and paused only update the hash.
 */
typedef struct drv_state_rec {
	const char *task_id;       /**< required: 1..DRV_STATE_KEY_MAX bytes */
	drv_task_state_t state;
	uint32_t    attempt;       /**< 1-based number of this attempt (a task
					whose drv_task_t.attempt is n runs
					attempt n + 1); 0 for queued */
	const char *handler;       /**< NULL = leave the hash's as it is */
	const char *worker;        /**< worker id; NULL = leave as it is */
	const char *error;         /**< why the attempt failed; sets
					last_error; NULL = none */
	drv_failure_class_t failure_class; /**< UNSPECIFIED = none */
	int64_t     created_ms;    /**< the task's; 0 = leave as it is */
	int64_t     started_ms;    /**< attempt start; 0 = unknown */
	int64_t     finished_ms;   /**< attempt end; 0 = unknown */
	int64_t     planned_ms;    /**< a retry (attempt > 1): when it was
					due; a first attempt: its
					not_before time; 0 = unknown / none.
					Only for retry analytics
					(drover/retry_stats.h) */
	const char *band;          /**< the task's priority band ("high"):
					counted per band too; NULL = not.
					Only for retry analytics */
	int64_t     updated_ms;    /**< 0 = now (when recorded) */
	const char *origin;        /**< where the task came from, a JSON
					object's text (drv_state_origin_json);
					NULL = leave as it is */
	int64_t     due_ms;        /**< retrying: when it runs next; 0 =
					leave as it is */
	uint32_t    priority;      /**< 1..10; 0 = leave as it is */
	const char *labels;        /**< the task's labels, a JSON object's
					text (drv_state_labels_json); NULL =
					leave as it is */
	uint64_t    replaces;      /**< 0, or the ticket of this task's
					earlier record
					(drv_state_record_ticket()): while
					that one is still queued, this one
					takes its place */
} drv_state_rec_t;

/**
 * A wait of a task without an attempt, as given to drv_state_wait(): an
 * open circuit breaker or an execution limit turned the task away until
 * \p until_ms. Strings are only read during the call (copied).
 */
typedef struct drv_state_wait_rec {
	const char *task_id;  /**< required: 1..DRV_STATE_KEY_MAX bytes */
	const char *kind;     /**< required: "breaker" or "limit" */
	const char *name;     /**< required: the breaker's or limit's name */
	const char *state;    /**< the breaker's state ("open",
				   "forced_open", "half_open"); NULL = none
				   (a limit) */
	uint32_t    attempt;  /**< attempts the task made before the wait
				   (drv_task_t.attempt) */
	int64_t     at_ms;    /**< when it was turned away; 0 = now */
	int64_t     until_ms; /**< when it may try again */
} drv_state_wait_rec_t;

/** Options of drv_state_new(); a zeroed struct (or NULL) means defaults. */
typedef struct drv_state_opts {
	/** Told when Redis is reached for the first time, lost, or back:
	 *  \p up, a one-line \p detail (no password) and \p arg. Called from
	 *  the background thread, never with a lock of the drv_state_t held,
	 *  so it may call drv_state_degraded() or drv_state_stats(). NULL =
	 *  not told. */
	void  (*on_status)(bool up, const char *detail, void *arg);
	void   *arg;
	size_t  queue_max;       /**< 0 = DRV_STATE_QUEUE_MAX */
	int64_t flush_ms;        /**< 0 = DRV_STATE_FLUSH_MS */
	int64_t close_ms;        /**< 0 = DRV_STATE_CLOSE_MS */
} drv_state_opts_t;

/** Counters of one drv_state_t since its creation. */
typedef struct drv_state_stats {
	uint64_t written;  /**< records, waits, idempotency keys and dead
			        letter group writes written */
	uint64_t dropped;  /**< discarded: the queue was full (the oldest
			        goes), or still queued when destroy gave up */
	uint64_t errors;   /**< failed connects, lost connections, error
			        replies */
	uint64_t queued;   /**< waiting to be written right now */
	uint64_t merged;   /**< records that took the place of their task's
				earlier one still queued (`replaces`) */
	uint64_t shed;     /**< `running` records (the outcome follows) and
			        waits not queued because the queue was half
			        full */
	uint64_t groups_written; /**< dead letters written to the failure
				      group index (drv_state_dead_letter()) */
	uint64_t groups_failed;  /**< ... not written: dropped or refused
				      (also counted in dropped / errors) */
	uint64_t stats_lost; /**< records whose retry analytics were lost:
				  no room while Redis was down, a broken
				  connection, or left at destroy */
} drv_state_stats_t;

typedef struct drv_state drv_state_t;

/**
 * @brief Start the state writer: check the Redis URL, allocate the queue and
 *        start the background thread, which connects on its own. Never
 *        waits for Redis: an unreachable Redis gives a working, degraded
 *        object.
 * @param cfg   read during the call only: redis.* and worker.task_state,
 *              worker.task_state_ttl, worker.idempotency_ttl are copied.
 * @param opts  NULL for defaults; copied.
 * @returns a writer the caller frees with drv_state_destroy(), or NULL with
 *          the reason in \p errstr (bad redis.url, redis.key_prefix
 *          longer than DRV_STATE_KEY_MAX, out of memory, no thread).
 */
drv_state_t *drv_state_new(const drv_config_t *cfg,
			   const drv_state_opts_t *opts,
			   char *errstr, size_t errstr_size);

/**
 * @brief Write what is queued (for at most opts.close_ms; what is left, or
 *        everything when Redis is known to be down, is counted as dropped),
 *        stop the thread, close the connections and free \p st.
 *        NULL is a no-op. No other call on \p st may be running or made
 *        later.
 */
void drv_state_destroy(drv_state_t *st);

/**
 * @brief Queue one state change; never blocks on Redis.
 *
 * worker.task_state filters first: `off` keeps nothing; `failures` keeps
 * records in state retrying, dead, paused or cancelled, a skipped record
 * with an error (an operator's skip), and any record of an attempt after
 * the first (attempt > 1), so a task that failed once stays current to its
 * end, while a task that succeeds, or is skipped, on its first attempt
 * writes nothing. A kept record is copied; when the queue is full the
 * oldest entry is dropped (and counted) to make room.
 *
 * @returns DRV_OK (queued or filtered out), DRV_ERR_INVALID (no task id,
 *          or one too long) or DRV_ERR_NOMEM (nothing queued). The caller
 *          keeps \p rec and its strings.
 * @remark Any thread. One malloc, then the queue lock for a pointer push.
 */
drv_err_t drv_state_record(drv_state_t *st, const drv_state_rec_t *rec);

/**
 * @brief drv_state_record(), and \p *ticket receives the record's place in
 *        the queue (0 when it was not queued: filtered, shed, or it took
 *        the place of an earlier one).
 *
 * A later record of the same task with `replaces` set to the ticket takes
 * the place of this one while it is still queued, keeping what it leaves
 * as it is (handler, labels, priority, ...) from this one: Redis then gets
 * one write instead of two. The worker records `running` this way and the
 * attempt's outcome with `replaces`, so a short task costs one record, not
 * two (counted in drv_state_stats_t.merged).
 * @remark Any thread. \p ticket may be NULL.
 */
drv_err_t drv_state_record_ticket(drv_state_t *st, const drv_state_rec_t *rec,
				  uint64_t *ticket);

/**
 * @brief Queue a wait of a task turned away without an attempt (an open
 *        breaker, a limit); never blocks on Redis.
 *
 * Kept when worker.task_state keeps the attempt the task was about to
 * start (drv_state_mode_keeps() of a `running` record of attempt
 * \p w->attempt + 1). Written into the task's hash (field "waits", see
 * the top of this file) by one Lua script only if the hash has a state:
 * a wait never makes a task's state on its own; a hash still `running`
 * the attempt turned away goes back to `queued` or `retrying`. Like `running` records,
 * waits are shed (counted in drv_state_stats_t.shed) while the queue is
 * half full.
 * @returns DRV_OK (queued, filtered out or shed), DRV_ERR_INVALID (a
 *          required string NULL or empty, or a task id too long) or
 *          DRV_ERR_NOMEM. The caller keeps \p w and its strings.
 * @remark Any thread. One malloc, then the queue lock for a pointer push.
 */
drv_err_t drv_state_wait(drv_state_t *st, const drv_state_wait_rec_t *w);

/**
 * @brief The start of \p w's line in the "waits" field, up to and with
 *        `"attempt":N,` (the part that must match for a turn-away to
 *        extend the last line); the script adds at_ms, until_ms and
 *        turns. Exposed for tests.
 * @returns a malloc'd string the caller frees with free(); NULL when out
 *          of memory.
 */
char *drv_state_wait_prefix(const drv_state_wait_rec_t *w);

/**
 * @brief Queue `SET P idem:<key> <task_id> PX worker.idempotency_ttl`
 *        (after the task with that key finished); never blocks on Redis.
 *        Not filtered by worker.task_state. The SET replaces the key's
 *        claim (drv_claims_take()); until it is written, other copies
 *        find the claim held and wait.
 * @returns DRV_OK, DRV_ERR_INVALID (NULL, empty or too long key or task
 *          id) or DRV_ERR_NOMEM. The caller keeps both strings.
 * @remark Any thread.
 */
drv_err_t drv_state_idem_done(drv_state_t *st, const char *key,
			      const char *task_id);

/**
 * @brief Queue the failure group index write of dead letter \p dl
 *        (drover/dlq_groups.h: one Lua script per dead letter); never
 *        blocks on Redis. Not filtered by worker.task_state. Call it once
 *        the dead letter is on its way to the DLQ topic, which stays the
 *        record: when Redis stays down the write may be dropped (counted
 *        in groups_failed), never the dead letter.
 * @returns DRV_OK, DRV_ERR_INVALID (a handler name longer than
 *          DRV_STATE_KEY_MAX) or DRV_ERR_NOMEM (nothing queued). The
 *          caller keeps \p dl.
 * @remark Any thread.
 */
drv_err_t drv_state_dead_letter(drv_state_t *st, const drv_dead_letter_t *dl);

/**
 * @brief True while Redis is not reachable: before the first connection
 *        and from a lost connection until the thread is back. For /readyz
 *        detail and metrics; the worker keeps working meanwhile.
 * @remark Any thread; one atomic load.
 */
bool drv_state_degraded(const drv_state_t *st);

/**
 * @brief True while Redis is up and the queue is three quarters full:
 *        the writer is behind the tasks, and records will soon be dropped.
 *        The worker takes no new task meanwhile, so a fast handler waits
 *        for Redis instead of losing its state. False while Redis is down
 *        (then the queue keeps what it can and the tasks go on).
 * @remark Any thread; takes the queue lock for a read.
 */
bool drv_state_behind(drv_state_t *st);

/** @brief Copy the counters into \p out. Any thread. */
void drv_state_stats(drv_state_t *st, drv_state_stats_t *out);

/* ------------------------------------------------------------------ */
/* Reading a task's state back (droverctl task show)                   */
/* ------------------------------------------------------------------ */

/** One finished attempt from the history. Strings owned, NULL if absent. */
typedef struct drv_state_attempt {
	uint32_t attempt;
	drv_task_state_t state;
	char    *worker;
	int64_t  started_ms;       /**< 0 = unknown */
	int64_t  finished_ms;      /**< 0 = unknown */
	char    *error;
	drv_failure_class_t failure_class;
} drv_state_attempt_t;

/** One wait of the task without an attempt (the hash's "waits" field).
 *  Strings owned; state NULL when absent. */
typedef struct drv_state_wait {
	char    *kind;             /**< "breaker" or "limit" */
	char    *name;
	char    *state;            /**< the breaker's state, or NULL */
	uint32_t attempt;          /**< attempts made before it */
	int64_t  at_ms;            /**< first turned away */
	int64_t  until_ms;         /**< the last turn-away's retry time */
	uint32_t turns;            /**< turn-aways merged in it, >= 1 */
} drv_state_wait_t;

/**
 * @brief Parse one line of the "waits" field into \p w (zeroed first).
 * @returns DRV_OK, DRV_ERR_DECODE (not a wait drover wrote; \p w left
 *          zeroed) or DRV_ERR_NOMEM. On DRV_OK the caller frees the
 *          strings with drv_state_wait_release().
 */
drv_err_t drv_state_wait_parse(const char *line, drv_state_wait_t *w);

/** @brief Free the strings of \p w and zero it. */
void drv_state_wait_release(drv_state_wait_t *w);

/** A task's state as Redis holds it. Strings and the history array are
 *  owned; optional strings are NULL when absent. */
typedef struct drv_state_task {
	char    *id;
	drv_task_state_t state;
	uint32_t attempt;
	char    *handler;
	char    *worker;
	char    *last_error;
	int64_t  updated_ms;
	int64_t  created_ms;       /**< 0 = unknown */
	int64_t  ttl_ms;           /**< PTTL of the hash; -1 = none */
	drv_state_attempt_t *history;  /**< oldest first */
	size_t   history_cnt;
	char    *origin;           /**< JSON object text, NULL = unknown */
	int64_t  due_ms;           /**< when a retrying task runs next
					(left over from an earlier retry in
					other states); 0 = unknown */
	uint32_t priority;         /**< 0 = unknown */
	char    *labels;           /**< JSON object text, NULL = none */
	drv_state_wait_t *waits;   /**< oldest first (drv_state_get() only) */
	size_t   waits_cnt;
} drv_state_task_t;

/** @brief Zero \p t. Allocates nothing. */
void drv_state_task_init(drv_state_task_t *t);

/** @brief Free what \p t owns and re-init it; \p t itself is not freed. */
void drv_state_task_release(drv_state_task_t *t);

/**
 * @brief Read task \p task_id's hash, history, waits and TTL synchronously on
 *        \p c (from drv_redis_connect(); no drv_state_t or thread needed).
 * @param key_prefix  redis.key_prefix.
 * @param out  an initialised task, released first and filled on DRV_OK;
 *             left initialised on error. The caller releases it.
 * @returns DRV_OK, DRV_ERR_NOT_FOUND (no such key: never recorded, or
 *          expired), DRV_ERR_DECODE (a field or history entry drover did not
 *          write), DRV_ERR_REDIS / DRV_ERR_TIMEOUT, DRV_ERR_NOMEM; the
 *          reason in \p errstr. \p c is unusable after a connection error
 *          (c->err set).
 * @remark Any thread that owns \p c.
 */
drv_err_t drv_state_get(redisContext *c, const char *key_prefix,
			const char *task_id, drv_state_task_t *out,
			char *errstr, size_t errstr_size);

/**
 * @brief Fill \p t (initialised; the caller releases it) from the reply
 *        of `HGETALL P task:<id>` (\p r, a non-empty array), leaving the
 *        history and TTL alone; for drv_state_get() and task listings.
 * @returns DRV_OK, DRV_ERR_DECODE (a field drover did not write; the
 *          reason in \p errstr) or DRV_ERR_NOMEM.
 */
drv_err_t drv_state_task_from_hash(const redisReply *r, const char *task_id,
				   drv_state_task_t *t, char *errstr,
				   size_t errstr_size);

/**
 * @brief Render \p t as one line of JSON (keys in a fixed order, absent
 *        optional fields left out, times in ms and RFC 3339):
 *        {"id":..,"state":..,"attempt":..,"handler":..,"worker":..,
 *         "last_error":..,"created_ms":..,"created":..,"updated_ms":..,
 *         "updated":..,"ttl_ms":..,"history":[{"attempt":..,"state":..,
 *         "worker":..,"started_ms":..,"finished_ms":..,"error":..,
 *         "class":..}],"waits":[{"kind":..,"name":..,"state":..,
 *         "attempt":..,"at_ms":..,"until_ms":..,"turns":..}]}
 * @returns a malloc'd string the caller frees with free(); NULL only when
 *          out of memory.
 */
char *drv_state_task_json(const drv_state_task_t *t);

/**
 * @brief drv_state_task_json() as a jansson object (for documents that
 *        hold many tasks); \p with_history false leaves out "history",
 *        "waits" and "ttl_ms" (a listing reads none of them).
 * @returns a new reference the caller drops with json_decref(); NULL only
 *          when out of memory.
 */
json_t *drv_state_task_obj(const drv_state_task_t *t, bool with_history);

/**
 * @brief The labels of \p t as a compact JSON object for
 *        drv_state_rec_t.labels.
 * @returns a malloc'd string the caller frees with free(); NULL when the
 *          task has no labels or out of memory.
 */
char *drv_state_labels_json(const drv_task_t *t);

/**
 * @brief The history entry of \p rec as Redis holds it (compact JSON, see
 *        the top of this file); exposed for tests and tools.
 * @returns a malloc'd string the caller frees with free(); NULL when out of
 *          memory or \p rec is not the end of an attempt.
 */
char *drv_state_history_json(const drv_state_rec_t *rec);

/**
 * @brief The origin of \p t (schedule, scheduled time, event, parent task,
 *        dead letter, submitted by) as compact JSON for
 *        drv_state_rec_t.origin; absent fields left out.
 * @returns a malloc'd string the caller frees with free(); NULL when the
 *          task has no origin at all or out of memory.
 */
char *drv_state_origin_json(const drv_task_t *t);

/**
 * @brief Would worker.task_state = \p mode keep \p rec? (The filter of
 *        drv_state_record(); exposed for tests.)
 */
bool drv_state_mode_keeps(drv_task_state_mode_t mode,
			  const drv_state_rec_t *rec);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_STATE_H */
