/*
 * drover — putting dead letters back on the task topics, patched, at most
 * once each: `droverctl dlq resubmit`, `droverctl task retry` and
 * POST /api/v1/dlq/resubmit all run drv_dlq_resubmit_run().
 *
 * The DLQ is read once (drv_dlq_read) and matching entries are gathered
 * into batches of DRV_DLQ_MARK_BATCH. Per batch, one MGET reads the
 * resubmission marks and every unmarked entry's new task is produced
 * without waiting; once enough produces are in flight the acknowledgements
 * of the oldest batch are collected and one pipelined round of SETs writes
 * the marks of the acknowledged ones. A mark is therefore never written for
 * a task the broker did not take (nothing lost), and an entry with a mark
 * is never sent again unless forced (nothing twice). The task id is derived
 * from the dead letter id (drv_dlq_resubmit_id) and the task carries the
 * idempotency key "drover.resubmit:<dead letter id>" (unless it has its
 * own), so the one window left — acknowledged, then killed before the mark
 * — sends the same task id with the same key again on a rerun, and a worker
 * runs only one of the copies (see docs/dlq.md).
 *
 * The same run discards instead (discard: `droverctl dlq discard`,
 * POST /api/v1/dlq/discard and discard jobs): each matching entry without a
 * mark gets the discard mark (DRV_DLQ_DISCARDED, drover/dlq.h) and nothing
 * is produced; an entry with a mark of either kind is skipped. A
 * resubmission skips a discarded entry too (already_discarded) unless
 * forced.
 *
 * Thread-safety: one run uses its redisContext alone; the producer may be
 * shared (librdkafka is thread-safe). Auditing is the caller's: the start
 * hook is where a run's "started" record goes.
 */
#ifndef DROVER_DLQ_RESUBMIT_H
#define DROVER_DLQ_RESUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/dlq.h"
#include "drover/error.h"
#include "drover/patch.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The label a resubmitted task carries: the dead letter id. */
#define DRV_DLQ_RESUBMIT_LABEL "drover.resubmitted_from"

/** What a run tells its caller as it goes. Every hook is optional; the
 *  strings are borrowed for the call. */
typedef struct drv_dlq_resubmit_hooks {
	/** Just before the first task is produced (never on a dry run):
	 *  with every=true before the read starts, with ids after every id
	 *  was found. false stops the run; nothing is sent. */
	bool (*start)(void *arg);
	/** Entry \p dl_id could not be resubmitted: \p why. */
	void (*item_failed)(const char *dl_id, const char *why, void *arg);
	/** Dry run: the task \p t that would go to \p topic (with discard:
	 *  the entry that would be discarded; \p topic and \p t NULL). */
	void (*dry_item)(const char *dl_id, const char *topic,
			 const drv_task_t *t, void *arg);
	/** Entry \p dl_id was resubmitted as task \p task_id (acknowledged
	 *  and marked); with discard, discarded (\p task_id is
	 *  DRV_DLQ_DISCARDED). */
	void (*sent)(const char *dl_id, const char *task_id, void *arg);
	/** \p n tasks were acknowledged but their marks not written (a
	 *  rerun sends them again under the same ids and keys). */
	void (*unmarked)(size_t n, void *arg);
	/** Asked between entries: true interrupts the run. */
	bool (*stop)(void *arg);
	/** With a range (to): every entry before \p next[p] of partition p
	 *  (\p cnt = part_cnt) is settled (sent and marked, skipped or
	 *  failed) and the run's counts include it; resuming there loses
	 *  nothing. About once a second (what is pending is sent and
	 *  acknowledged first) and once at the end, interrupted or not (a
	 *  range's run interrupted by stop sends the entries it already
	 *  built, so its counts and its cursor agree). */
	void (*progress)(const int64_t *next, size_t cnt, void *arg);
	void *arg;
} drv_dlq_resubmit_hooks_t;

/** One resubmission: what and how (set by the caller; everything borrowed
 *  for the run), then what happened (set by the run). Zero it first. */
typedef struct drv_dlq_resubmit {
	/* which entries: every one passing filter, or those ids names */
	bool        every;
	const drv_dlq_filter_t *filter;   /**< with every; NULL = all */
	const char *const *ids;           /**< dead letter or task ids */
	size_t      id_cnt;
	bool       *id_found;             /**< id_cnt flags the run sets;
					       caller-allocated, may be NULL
					       with every */
	/* how */
	bool        discard;              /**< mark each entry discarded
					       instead: no task is built or
					       sent (patch, priority, policy,
					       max_attempts, reset and force
					       are not used; rk may be
					       NULL) */
	const drv_patch_t *patch;         /**< NULL = payload as it was */
	uint32_t    priority;             /**< 0 = keep */
	const char *policy;               /**< NULL = keep */
	uint32_t    max_attempts;         /**< 0 = keep */
	bool        reset;                /**< attempt 1, no history */
	bool        dry_run;              /**< build, send nothing */
	bool        force;                /**< also what is marked; new ids */
	bool        newest_only;          /**< one task: its newest dead
					       letter (`task retry`) */
	/* where (every only): part_cnt partitions of the DLQ, partition p
	 * from from[p] (NULL = its beginning) to before to[p] (NULL = the
	 * end when the run starts); partitions past part_cnt are not read
	 * when to is set (drv_dlq_read_range()) */
	const int64_t *from, *to;
	size_t      part_cnt;
	uint64_t    max;                  /**< 0 = no limit */
	double      rate;                 /**< per second; 0 = no limit */
	const char *submitted_by;         /**< origin.submitted_by */
	drv_dlq_resubmit_hooks_t hooks;
	/* what happened */
	size_t      matched;              /**< entries that matched */
	size_t      sent;                 /**< resubmitted (dry run: would);
					       with discard: discarded */
	size_t      already;              /**< skipped: resubmitted before */
	size_t      already_discarded;    /**< skipped: discarded before */
	size_t      undecodable;
	size_t      failed;               /**< could not build or send */
	bool        interrupted;          /**< hooks.stop said so */
	bool        aborted;              /**< hooks.start said no */
	bool        nothing_sent;         /**< ids: one was missing, failed
					       or undecodable: none sent */
	char        last_id[DRV_ID_LEN + 1]; /**< the last task sent */
} drv_dlq_resubmit_t;

/**
 * @brief Run resubmission \p r: read the DLQ, build each matching entry's
 *        new task and send it at most once (see above).
 * @param c   a connection from drv_redis_connect() (the marks).
 * @param rk  a producer; NULL on a dry run or a discard.
 * @returns DRV_OK when the read and the marks went through (items may
 *          still have failed: r->failed); DRV_ERR_NOT_FOUND with
 *          r->nothing_sent (ids only); a read or Redis error, errstr set.
 *          What was produced is settled and marked whatever the result.
 */
drv_err_t drv_dlq_resubmit_run(const drv_config_t *cfg, redisContext *c,
			       rd_kafka_t *rk, drv_dlq_resubmit_t *r,
			       char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DLQ_RESUBMIT_H */
