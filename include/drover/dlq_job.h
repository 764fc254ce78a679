/*
 * drover — DLQ resubmission (or discard) as a durable job: a resubmission
 * over a filter (or a failure group) recorded in Redis, run by whichever
 * coordinator takes its lease, in batches it can be paused, resumed and
 * cancelled between, with its progress, counts and per-item failures kept.
 * `droverctl dlq job ...` and /api/v1/dlq/jobs both call these; the
 * coordinators call drv_dlq_job_run_next().
 *
 * A job is of one of two kinds (its spec's "kind"): a resubmission (the
 * default) or a discard, which marks each entry discarded instead of
 * sending it (drover/dlq.h; POST /api/v1/dlq/discard, `droverctl dlq
 * discard`). Both run the same way, through the same loop.
 *
 * A job reads the DLQ between two offsets per partition: the low
 * watermarks and the end offsets snapshotted when the job was made. An
 * entry that dies again is a new DLQ record past that end, so the same job
 * never resubmits it a second time. Each entry goes through
 * drv_dlq_resubmit_run() (drover/dlq_resubmit.h), so the resubmission
 * marks guarantee it is sent at most once whoever runs it, after any
 * fail-over.
 *
 * Redis keys, with P = redis.key_prefix:
 *   P dlqjob:<id>            hash: the job (fields below)
 *   P dlqjob:<id>:failures   list of {dead_letter_id, error} JSON, the
 *                            first DRV_DLQ_JOB_FAILURES_MAX
 *   P dlqjob:<id>:lease      the runner holding the job, PX lease
 *   P dlqjobs                sorted set of job ids (score 0, by id = by
 *                            creation time: ids are ULIDs)
 * A job's keys expire DRV_DLQ_JOB_KEEP_MS after it ends (done, failed,
 * cancelled); the listing drops ids whose hash expired.
 *
 * Thread-safety: reentrant; a redisContext is used by one thread at a
 * time.
 */
#ifndef DROVER_DLQ_JOB_H
#define DROVER_DLQ_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/dlq.h"
#include "drover/dlq_resubmit.h"
#include "drover/error.h"
#include "drover/patch.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_DLQ_JOB_FAILURES_MAX 1000          /**< failures kept per job */
#define DRV_DLQ_JOB_KEEP_MS (7LL * 86400000)   /**< kept after the end */
#define DRV_DLQ_JOB_LEASE_MS 10000             /**< a runner's lease */
#define DRV_DLQ_JOB_PAGE_MAX 500               /**< most per page */

typedef enum drv_dlq_job_state {
	DRV_DLQ_JOB_PENDING = 0,  /**< waiting for a runner */
	DRV_DLQ_JOB_RUNNING,      /**< a runner has it (or had: lease) */
	DRV_DLQ_JOB_PAUSED,       /**< stopped after a batch; resumable */
	DRV_DLQ_JOB_CANCELLED,    /**< stopped for good */
	DRV_DLQ_JOB_DONE,         /**< read to its end offsets */
	DRV_DLQ_JOB_FAILED,       /**< the DLQ could not be read: error */
	DRV_DLQ_JOB_STATE_CNT
} drv_dlq_job_state_t;

/** @brief "pending", "running", ...; "?" when out of range. Static. */
const char *drv_dlq_job_state_name(drv_dlq_job_state_t s);

/** What a job does to the entries it reads. */
typedef enum drv_dlq_job_kind {
	DRV_DLQ_JOB_RESUBMIT = 0,  /**< send them again (the default) */
	DRV_DLQ_JOB_DISCARD,       /**< mark them discarded */
	DRV_DLQ_JOB_KIND_CNT
} drv_dlq_job_kind_t;

/** @brief "resubmit" or "discard"; "?" when out of range. Static. */
const char *drv_dlq_job_kind_name(drv_dlq_job_kind_t k);

/** What a job resubmits and how, read from its spec (a JSON object):
 *  {"kind", "filter": {...} | "group": "<id>", "set": [patches],
 *  "priority", "max_attempts", "reset_attempts", "rate"}: the body of
 *  POST /api/v1/dlq/resubmit without ids, force and max, plus "rate"
 *  (entries per second) and "kind": "resubmit" (the default) or
 *  "discard" (which takes no set, priority, max_attempts or
 *  reset_attempts). A runner that does not know "kind" refuses the spec,
 *  so an older replica fails a discard job rather than resubmit its
 *  entries. Strings are borrowed from the spec. */
typedef struct drv_dlq_job_spec {
	drv_dlq_job_kind_t kind;
	drv_dlq_filter_t f;
	drv_patch_t  patch;        /**< owned: drv_dlq_job_spec_release() */
	uint32_t     priority, max_attempts;
	bool         reset;
	double       rate;
} drv_dlq_job_spec_t;

/**
 * @brief Read \p spec (borrowed; it must outlive \p out) into \p out, with
 *        relative times (since: "24h") taken against \p now_ms.
 * @param pointer  receives the JSON Pointer of a bad field ("/filter/
 *                 reason"); may be NULL.
 * @returns DRV_OK; DRV_ERR_INVALID with the reason in \p errstr. \p out
 *          is released by the caller either way (drv_dlq_job_spec_release).
 */
drv_err_t drv_dlq_job_spec_read(const drv_config_t *cfg, const json_t *spec,
				int64_t now_ms, drv_dlq_job_spec_t *out,
				char *pointer, size_t pointer_size,
				char *errstr, size_t errstr_size);

/** @brief Free what \p s owns (its patch); \p s itself is not freed. */
void drv_dlq_job_spec_release(drv_dlq_job_spec_t *s);

/** @brief Set \p r (zeroed by the caller) to resubmit (or discard) every
 *         entry \p s selects, as \p s says; borrows \p s. */
void drv_dlq_job_spec_apply(const drv_dlq_job_spec_t *s,
			    drv_dlq_resubmit_t *r);

/** What a job (or a dry run) counted. */
typedef struct drv_dlq_job_counts {
	uint64_t matched;       /**< entries that passed the filter */
	uint64_t sent;          /**< resubmitted, or for a discard job
				     discarded (dry run: would be) */
	uint64_t already;       /**< skipped: resubmitted before */
	uint64_t already_discarded; /**< skipped: discarded before */
	uint64_t failed;        /**< could not be built or sent */
	uint64_t undecodable;
} drv_dlq_job_counts_t;

/**
 * @brief The dry run of \p spec: read the whole DLQ as the job would,
 *        send (or mark) nothing, count. counts->sent is the exact number
 *        a job made now would resubmit or discard (matched minus already
 *        resubmitted or discarded, minus what cannot be built or
 *        decoded).
 * @returns DRV_OK, DRV_ERR_INVALID (bad spec: \p pointer, \p errstr) or a
 *          read / Redis error.
 */
drv_err_t drv_dlq_job_count(const drv_config_t *cfg, redisContext *c,
			    const json_t *spec, int64_t now_ms,
			    drv_dlq_job_counts_t *counts, char *pointer,
			    size_t pointer_size, char *errstr,
			    size_t errstr_size);

/** One job as read from Redis. Owned; drv_dlq_job_release() frees it. */
typedef struct drv_dlq_job {
	char     id[DRV_ID_LEN + 1];
	json_t  *spec;
	drv_dlq_job_kind_t kind;  /**< the spec's */
	drv_dlq_job_state_t state;
	char     created_by[128];
	char     runner[128];     /**< the replica running or last running */
	char     error[512];      /**< failed: why */
	int64_t  created_ms, started_ms, updated_ms, ended_ms; /**< 0 = not */
	drv_dlq_job_counts_t counts;
	uint64_t failures_total;  /**< all item failures (the list keeps the
				       first DRV_DLQ_JOB_FAILURES_MAX) */
	size_t   part_cnt;
	int64_t *lo, *hi;         /**< the snapshot: where each partition's
				       read starts and ends */
	int64_t *cursor;          /**< next offset per partition */
} drv_dlq_job_t;

/** @brief Free what \p j owns and zero it; \p j itself is not freed. */
void drv_dlq_job_release(drv_dlq_job_t *j);

/** @brief The fraction 0..1 of the snapshot's entries read. */
double drv_dlq_job_progress(const drv_dlq_job_t *j);

/** @brief \p j as {id, kind, state, spec, created_by, runner, error,
 *         created_ms, started_ms, updated_ms, ended_ms, matched,
 *         resubmitted, discarded (each 0 in a job of the other kind),
 *         already_resubmitted, already_discarded, failed, undecodable,
 *         failures_total, progress, total, read, partitions: [{partition,
 *         start, end, next}]}: the API's and `--json`'s view. New
 *         reference; NULL only when out of memory. */
json_t *drv_dlq_job_json(const drv_dlq_job_t *j);

/**
 * @brief Make a job of \p spec (checked as drv_dlq_job_spec_read() does,
 *        then kept as given), state pending, with the DLQ's offsets
 *        snapshotted now.
 * @param created_by  "api:<token>", "droverctl:<user>"; borrowed.
 * @param out  the job made (released by the caller).
 * @returns DRV_OK, DRV_ERR_INVALID (\p pointer, \p errstr), a Kafka or
 *          Redis error.
 */
drv_err_t drv_dlq_job_create(const drv_config_t *cfg, redisContext *c,
			     const json_t *spec, const char *created_by,
			     int64_t now_ms, drv_dlq_job_t *out,
			     char *pointer, size_t pointer_size,
			     char *errstr, size_t errstr_size);

/** @brief Read job \p id into \p out (released by the caller).
 *  @returns DRV_OK, DRV_ERR_NOT_FOUND, a Redis error. */
drv_err_t drv_dlq_job_get(const drv_config_t *cfg, redisContext *c,
			  const char *id, drv_dlq_job_t *out, char *errstr,
			  size_t errstr_size);

/**
 * @brief One page of jobs, newest first: those made before the job
 *        \p cursor names (NULL or "": from the newest), at most \p limit
 *        (1..DRV_DLQ_JOB_PAGE_MAX).
 * @param jobs  a malloc'd array of *cnt jobs; free each with
 *              drv_dlq_job_release(), then the array.
 * @param next  the cursor of the next page (malloc'd), NULL at the end.
 * @returns DRV_OK, DRV_ERR_INVALID (bad cursor), a Redis error.
 */
drv_err_t drv_dlq_job_list(const drv_config_t *cfg, redisContext *c,
			   const char *cursor, size_t limit,
			   drv_dlq_job_t **jobs, size_t *cnt, char **next,
			   char *errstr, size_t errstr_size);

/**
 * @brief A page of job \p id's kept failures, oldest first, from position
 *        \p from (0 first), at most \p limit.
 * @param items  a new array of {dead_letter_id, error} objects.
 * @param next   the position of the next page, -1 at the end.
 * @returns DRV_OK, DRV_ERR_NOT_FOUND, a Redis error.
 */
drv_err_t drv_dlq_job_failures(const drv_config_t *cfg, redisContext *c,
			       const char *id, int64_t from, size_t limit,
			       json_t **items, int64_t *next, char *errstr,
			       size_t errstr_size);

/** What an operator may do to a job. */
typedef enum drv_dlq_job_action {
	DRV_DLQ_JOB_PAUSE,   /**< pending | running -> paused */
	DRV_DLQ_JOB_RESUME,  /**< paused -> pending */
	DRV_DLQ_JOB_CANCEL,  /**< pending | running | paused -> cancelled */
} drv_dlq_job_action_t;

/**
 * @brief Pause, resume or cancel job \p id. A runner sees it between two
 *        entries and stops (paused, cancelled) having saved where it was.
 * @param out  optional: the job after the change (released by the caller).
 * @returns DRV_OK; DRV_ERR_NOT_FOUND; DRV_ERR_RANGE when the job's state
 *          does not allow it ("job is done"); a Redis error.
 */
drv_err_t drv_dlq_job_control(const drv_config_t *cfg, redisContext *c,
			      const char *id, drv_dlq_job_action_t action,
			      int64_t now_ms, drv_dlq_job_t *out,
			      char *errstr, size_t errstr_size);

/* ---- running jobs (the coordinators) ------------------------------------ */

/** Who runs, and what it wants told. Every hook is optional. */
typedef struct drv_dlq_job_runner {
	const char *owner;        /**< this replica's id (the lease's value) */
	int64_t     lease_ms;     /**< 0 = DRV_DLQ_JOB_LEASE_MS */
	/** true: the process is stopping; the job is left running (its
	 *  lease released) for another runner to resume. */
	bool (*quit)(void *arg);
	/** job \p id starts (true) or stops (false) running here. */
	void (*running)(const char *id, bool on, void *arg);
	/** \p n more entries were resubmitted by a job. */
	void (*sent)(uint64_t n, void *arg);
	/** \p n more entries were discarded by a job. */
	void (*discarded)(uint64_t n, void *arg);
	void *arg;
} drv_dlq_job_runner_t;

/**
 * @brief Take one runnable job (pending, or running with its lease lapsed),
 *        oldest first, and run it from its cursor to its end offsets,
 *        holding and renewing its lease, checking its state and
 *        \p rn->quit between entries and saving its cursor and counts
 *        about every second; then give the lease back. Ends the job done
 *        (read to the end), failed (the DLQ could not be read), or leaves
 *        it paused / cancelled / running (quit, lease lost) as found.
 * @param rk  a producer (borrowed).
 * @param ran receives the id of the job run, "" when none was runnable.
 * @returns DRV_OK (also when nothing ran or the job failed) or a Redis
 *          error (the job is left for a runner to take again).
 * @locality one thread per \p c.
 */
drv_err_t drv_dlq_job_run_next(const drv_config_t *cfg, redisContext *c,
			       rd_kafka_t *rk, const drv_dlq_job_runner_t *rn,
			       char ran[DRV_ID_LEN + 1], char *errstr,
			       size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DLQ_JOB_H */
