/*
 * drover — the dead-letter queue as operators see it: reading the DLQ topic
 * (a snapshot up to the end it had when the read started), the filters
 * (handler, reason, schedule, labels, time range, text), a page of entries
 * behind a cursor, one entry by id, stats, and the resubmission and
 * discard marks in Redis. `droverctl dlq ...` and `/api/v1/dlq` both call these, so a filter
 * means the same in both doors. The resubmission itself is
 * drover/dlq_resubmit.h.
 *
 * Thread-safety: every function is reentrant; a redisContext is used by
 * one thread at a time.
 */
#ifndef DROVER_DLQ_H
#define DROVER_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/dead_letter.h"
#include "drover/error.h"
#include "drover/topic_read.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_DLQ_FILTER_LABEL_MAX 16

/** What an entry must match; every set field must hold. Strings are
 *  borrowed: they must outlive the filter's use. Zero it to start. */
typedef struct drv_dlq_filter {
	const char *handler;
	bool        has_reason;
	drv_dl_reason_t reason;
	const char *schedule_id;
	const char *label[DRV_DLQ_FILTER_LABEL_MAX]; /**< "key=value" */
	size_t      label_cnt;
	int64_t     since_ms;   /**< 0 = no lower bound; dead_ms >= since */
	int64_t     until_ms;   /**< 0 = no upper bound; dead_ms < until */
	const char *grep;       /**< substring of the last failure's message
				     or the detail */
	const char *group;      /**< failure group id (drover/dlq_groups.h):
				     handler, class and normalised message
				     as the group's */
} drv_dlq_filter_t;

/**
 * @brief Set one filter field from its text, the same way for every caller:
 *        \p name is "handler", "reason" (a drv_dl_reason_name()), "schedule",
 *        "label" ("key=value", up to DRV_DLQ_FILTER_LABEL_MAX), "since" or
 *        "until" (drv_parse_when() forms against \p now_ms), "grep" or
 *        "group" (a failure group id).
 * @param value  borrowed, must outlive \p f.
 * @returns DRV_OK; DRV_ERR_INVALID with the reason in \p errstr (without the
 *          name: "unknown reason 'x' (...)"); DRV_ERR_RANGE when a
 *          DRV_DLQ_FILTER_LABEL_MAX + 1st label is given; DRV_ERR_NOT_FOUND
 *          when there is no filter \p name.
 */
drv_err_t drv_dlq_filter_set(drv_dlq_filter_t *f, const char *name,
			     const char *value, int64_t now_ms, char *errstr,
			     size_t errstr_size);

/** @brief After every field is set: DRV_ERR_INVALID when since is not before
 *         until, with the reason in \p errstr. */
drv_err_t drv_dlq_filter_check(const drv_dlq_filter_t *f, char *errstr,
			       size_t errstr_size);

/** One message read from the DLQ. When the message did not decode,
 *  undecodable is set, dl is initialised and empty, and decode_error says
 *  why; the bytes are in value. Everything is borrowed for the callback. */
typedef struct drv_dlq_entry {
	drv_dead_letter_t dl;
	bool        undecodable;
	char        decode_error[256];
	int32_t     partition;     /**< where on the DLQ topic */
	int64_t     offset;
	int64_t     timestamp_ms;  /**< the Kafka timestamp, -1 = none */
	const void *value;
	size_t      value_len;
} drv_dlq_entry_t;

/** @brief Make \p e from DLQ message \p m: decoded, or undecodable with
 *         the reason. \p e borrows \p m's payload; free what it owns with
 *         drv_dead_letter_release(&e->dl). */
void drv_dlq_entry_from(const rd_kafka_message_t *m, drv_dlq_entry_t *e);

/** Called for every message; return false to stop reading. */
typedef bool (*drv_dlq_visit_fn)(const drv_dlq_entry_t *e, void *arg);

/** @brief True if \p e passes \p f. An undecodable entry passes only
 *         filters that set nothing but since/until (checked against its
 *         Kafka timestamp). */
bool drv_dlq_filter_match(const drv_dlq_filter_t *f, const drv_dlq_entry_t *e);

/** @brief The failure history of \p dl (its own, else the task's), oldest
 *         first; borrowed from \p dl. */
const drv_failure_t *drv_dlq_failures(const drv_dead_letter_t *dl,
				      size_t *cnt);

/** @brief The entry as one line of JSON (malloc'd, caller frees; NULL when
 *  out of memory): drv_dead_letter_to_json() plus "dlq_partition" /
 *  "dlq_offset" and the DeadLetter message itself as "message_base64"
 *  (what `dlq import` reads back), or for an undecodable entry
 *  {"undecodable_entry":true, "error", the raw value as base64, and the
 *  position}. */
char *drv_dlq_entry_json(const drv_dlq_entry_t *e);

/**
 * @brief Read the DLQ topic of \p cfg from the beginning of every partition
 *        (from \p start[p] for partition p < \p start_cnt; \p start may be
 *        NULL) up to the high watermarks read at the start, calling \p fn
 *        for every message in partition order (partitions interleave). No
 *        consumer group is joined and nothing is committed.
 * @param read_cnt  optional: how many messages were read.
 * @returns DRV_OK (also when \p fn stopped the read), or an error with
 *          \p errstr set (DRV_ERR_NOT_FOUND: no DLQ topic).
 */
drv_err_t drv_dlq_read_from(const drv_config_t *cfg, const int64_t *start,
			    size_t start_cnt, drv_dlq_visit_fn fn, void *arg,
			    size_t *read_cnt, char *errstr,
			    size_t errstr_size);

/**
 * @brief drv_dlq_read_from() between given offsets: partition p < \p cnt
 *        from \p start[p] (\p start may be NULL: from the beginning) up to
 *        \p end[p] (or the high watermark, if lower); partitions at or past
 *        \p cnt are not read. \p start and \p end are borrowed.
 */
drv_err_t drv_dlq_read_range(const drv_config_t *cfg, const int64_t *start,
			     const int64_t *end, size_t cnt,
			     drv_dlq_visit_fn fn, void *arg, size_t *read_cnt,
			     char *errstr, size_t errstr_size);

/**
 * @brief drv_dlq_read_range() (\p end may be NULL: to the end) passing over
 *        what \p skip says holds nothing wanted (drv_topic_read_skip();
 *        the DLQ index answers it).
 */
drv_err_t drv_dlq_read_skip(const drv_config_t *cfg, const int64_t *start,
			    const int64_t *end, size_t cnt,
			    drv_dlq_visit_fn fn, drv_topic_skip_fn skip,
			    void *arg, size_t *read_cnt, char *errstr,
			    size_t errstr_size);

/**
 * @brief The DLQ topic's low and high watermarks per partition, now: *lo
 *        and *hi are malloc'd arrays of *cnt offsets the caller frees.
 * @returns DRV_OK, or an error with \p errstr set (NULL, 0 then).
 */
drv_err_t drv_dlq_offsets(const drv_config_t *cfg, int64_t **lo,
			  int64_t **hi, size_t *cnt, char *errstr,
			  size_t errstr_size);

/** @brief drv_dlq_read_from() from the beginning of every partition. */
drv_err_t drv_dlq_read(const drv_config_t *cfg, drv_dlq_visit_fn fn,
		       void *arg, size_t *read_cnt, char *errstr,
		       size_t errstr_size);

/**
 * @brief Read the DLQ archive in \p dir (coordinator.archive_dir) as
 *        drv_dlq_read() reads the topic: \p fn for every archived entry,
 *        days in order. Files whose index or day shows they cannot match
 *        \p f (handler, reason, since, until) are not opened; \p fn still
 *        applies the filter.
 * @param read_cnt, file_cnt  optional: entries read from how many files.
 * @returns DRV_OK (also for a missing folder: nothing archived yet) or an
 *          error with \p errstr set.
 */
drv_err_t drv_dlq_read_archive(const char *dir, const drv_dlq_filter_t *f,
			       drv_dlq_visit_fn fn, void *arg,
			       size_t *read_cnt, size_t *file_cnt,
			       char *errstr, size_t errstr_size);

/* ---- pages (GET /api/v1/dlq) -------------------------------------------- */

#define DRV_DLQ_PAGE_DEFAULT 50     /**< entries per page unless asked */
#define DRV_DLQ_PAGE_MAX     500    /**< most entries per page */
#define DRV_DLQ_PAGE_SCAN    20000  /**< most messages read per page */
#define DRV_DLQ_PAGE_PAYLOAD 65536  /**< bytes of payload (or raw bytes) an
					 entry of a page carries at most;
					 GET /dlq/{id} has all of them */

/** One page of dead letters, in DLQ order (partition by partition, by
 *  offset; partitions interleave). Everything is owned; release with
 *  drv_dlq_page_release(). */
typedef struct drv_dlq_page {
	json_t *entries;   /**< array of drv_dlq_entry_json() objects,
			        without "message_base64" unless asked */
	char   *next;      /**< cursor of the next page; NULL at the end */
	size_t  scanned;   /**< messages read for this page */
	int64_t skipped;   /**< messages the DLQ index let it pass over
				unread (drover/dlq_index.h) */
} drv_dlq_page_t;

/**
 * @brief Read one page of the entries that pass \p f: from \p cursor on,
 *        until \p limit entries matched or DRV_DLQ_PAGE_SCAN messages were
 *        read (a narrow filter may give a short, even empty, page with a
 *        cursor to go on from). The cursor holds a position per partition,
 *        so following cursors returns every matching entry exactly once,
 *        entries that arrived meanwhile included.
 * @param redis   the Redis connection the search index is asked on
 *                (lent; NULL: one of its own, drv_dlq_index_query_new()).
 * @param cursor  NULL or "" for the first page, else a drv_dlq_page_t.next.
 * @param limit   1..DRV_DLQ_PAGE_MAX.
 * @param with_message  keep each entry's "message_base64" (the DeadLetter
 *                bytes): the entries are then `droverctl dlq export`
 *                lines, which `dlq import` restores exactly.
 * @param out     filled on DRV_OK (zeroed first); the caller releases it.
 * @returns DRV_OK, DRV_ERR_INVALID (bad cursor: the reason in \p errstr),
 *          a Kafka error or DRV_ERR_NOMEM.
 */
drv_err_t drv_dlq_page(const drv_config_t *cfg, redisContext *redis,
		       const drv_dlq_filter_t *f, const char *cursor, size_t limit, bool with_message,
		       drv_dlq_page_t *out, char *errstr, size_t errstr_size);

/** @brief Free what \p p owns and zero it; \p p itself is not freed. */
void drv_dlq_page_release(drv_dlq_page_t *p);

/* ---- one entry by id ---------------------------------------------------- */

/**
 * @brief Call \p fn for every entry \p id names: a dead letter id (one
 *        entry), a task id (every dead letter of that task) or
 *        PARTITION:OFFSET (a position on the DLQ topic).
 * @param redis  the Redis connection the search index is asked on
 *               (lent; NULL: one of its own, drv_dlq_index_query_id()).
 * @param found  how many entries were handed to \p fn.
 * @returns DRV_OK (also when nothing matched: *found is 0),
 *          DRV_ERR_INVALID when \p id is neither (the reason in \p errstr),
 *          or a read error.
 */
drv_err_t drv_dlq_show(const drv_config_t *cfg, redisContext *redis,
		       const char *id, drv_dlq_visit_fn fn, void *arg, size_t *found,
		       char *errstr, size_t errstr_size);

/* ---- stats -------------------------------------------------------------- */

/** Count of one handler's dead letters. */
typedef struct drv_dlq_count {
	char  *name;   /**< owned */
	size_t count;
} drv_dlq_count_t;

/** The oldest and newest of some dead letters (by dead_ms). */
typedef struct drv_dlq_span {
	int64_t old_ms, new_ms;
	char    old_id[DRV_ID_LEN + 1], new_id[DRV_ID_LEN + 1];
} drv_dlq_span_t;

/**
 * @brief Widen \p s, the span of \p n entries (0: it holds nothing yet),
 *        by entries whose oldest is \p old_ms / \p old_id and newest
 *        \p new_ms / \p new_id (one entry: the same twice). Borrows the
 *        ids; of entries as old, the first stays oldest, the last newest.
 */
void drv_dlq_span_add(drv_dlq_span_t *s, size_t n, int64_t old_ms,
		      const char *old_id, int64_t new_ms, const char *new_id);

/** What drv_dlq_stats() counts. Owned; release with
 *  drv_dlq_stats_release(). */
typedef struct drv_dlq_stats {
	size_t count, undecodable;
	size_t by_reason[DRV_DL_REASON_CNT];
	drv_dlq_count_t *handlers;   /**< most first, then by name */
	size_t handler_cnt;
	drv_dlq_span_t span;         /**< the oldest and newest decodable */
	bool   resubmitted_known;    /**< false: Redis was not reachable
					  (resubmitted and discarded are
					  unknown) */
	size_t resubmitted;          /**< entries whose mark holds a task id
					  (resubmitted) */
	size_t discarded;            /**< entries whose mark is
					  DRV_DLQ_DISCARDED (discarded) */
	char   redis_err[256];       /**< why resubmitted is unknown */
	size_t read;                 /**< entries read from the topic */
	size_t indexed;              /**< entries counted from the DLQ index */
} drv_dlq_stats_t;

/**
 * @brief Count the entries that pass \p f by reason and handler, the oldest
 *        and newest, and (with \p c, which may be NULL) how many carry a
 *        resubmission mark (resubmitted) and how many a discard mark
 *        (discarded): an entry counts in one of the two at most. A Redis
 *        failure only makes both unknown.
 *        With \p c, the DLQ index (drover/dlq_index.h) spares reading:
 *        a block whose counts stand for its entries is counted from Redis
 *        when every entry in it passes (the times take it all and, with a
 *        handler or reason in \p f, its entries are all of them), passed
 *        over when none can (the times leave it out, or it counts none of
 *        the handler or reason), and read otherwise, unless its Bloom
 *        filter rules out the filter's handler, reason, schedule, labels
 *        or group. A block the times cut, the rest of a block that
 *        retention cut, and what the index has not covered yet are read.
 *        Text search (grep) is decided by reading.
 * @param out  zeroed first; released by the caller, also on error.
 * @returns DRV_OK or a read error / DRV_ERR_NOMEM with \p errstr set.
 */
drv_err_t drv_dlq_stats(const drv_config_t *cfg, redisContext *c,
			const drv_dlq_filter_t *f, drv_dlq_stats_t *out,
			char *errstr, size_t errstr_size);

/** @brief drv_dlq_stats() reading every entry, the index left aside. */
drv_err_t drv_dlq_stats_read(const drv_config_t *cfg, redisContext *c,
			     const drv_dlq_filter_t *f, drv_dlq_stats_t *out,
			     char *errstr, size_t errstr_size);

/** @brief Free what \p st owns and zero it. */
void drv_dlq_stats_release(drv_dlq_stats_t *st);

/** @brief \p st as {"topic", "count", "undecodable_entries", "oldest",
 *         "newest", "resubmitted" and "discarded" (null when unknown),
 *         "by_reason", "by_handler"}: `dlq stats --json` and
 *         GET /api/v1/dlq/stats.
 *  @returns a new reference; NULL only when out of memory. */
json_t *drv_dlq_stats_obj(const drv_dlq_stats_t *st, const char *topic);

/* ---- resubmission and discard marks ------------------------------------- */
/*
 * What became of a dead letter, as the Redis string
 * <redis.key_prefix>dlq:resubmitted:<dead letter id>:
 *   - the id of the task that was sent: resubmitted (written only after the
 *     broker acknowledged that task);
 *   - DRV_DLQ_DISCARDED ("discarded"): an operator said it needs nothing
 *     (`droverctl dlq discard`, POST /api/v1/dlq/discard). It is 9
 *     characters, so it can never be a task id (26), and any mark makes a
 *     later resubmission or discard skip the entry: a discarded entry is
 *     resubmitted again only with force, which then overwrites the mark
 *     with the task sent. A discard mark is written only where there is no
 *     mark (a resubmission that raced it stays the record);
 *   - nothing: neither.
 * One key for both, so "at most once" needs no second read and a
 * resubmission and a discard of the same entry cannot both win. A mark is
 * kept for kafka.dlq_retention plus a day (longer than the dead letter
 * itself lives). Reads and writes are pipelined in batches, one round trip
 * per batch.
 */

/** Most ids one drv_dlq_marks_get() / drv_dlq_marks_set() call takes. */
#define DRV_DLQ_MARK_BATCH 1000

/** The value of a discard mark: never a task id. */
#define DRV_DLQ_DISCARDED "discarded"

/** @brief True when mark \p mark (a drv_dlq_marks_get() value) says the
 *         entry was discarded; false for a task id or "". */
bool drv_dlq_mark_discarded(const char *mark);

/** @brief The mark's key for \p dl_id into \p buf; false when it did not
 *         fit. */
bool drv_dlq_mark_key(const drv_config_t *cfg, const char *dl_id, char *buf,
		      size_t size);

/** @brief For each of the \p n (<= DRV_DLQ_MARK_BATCH) dead-letter ids, its
 *         mark into \p task_ids[i]: the task id it was resubmitted as,
 *         DRV_DLQ_DISCARDED, or "" when unmarked. One MGET.
 *         @returns DRV_OK or an error with \p errstr set. */
drv_err_t drv_dlq_marks_get(redisContext *c, const drv_config_t *cfg,
			    const char *const *dl_ids, size_t n,
			    char (*task_ids)[DRV_ID_LEN + 1],
			    char *errstr, size_t errstr_size);

/**
 * @brief Add what the marks say to entry objects (drv_dlq_entry_json()
 *        ones, with their "id"): "resubmitted_as" (the task id, or null)
 *        and "discarded" (true or false), so a view tells a discarded
 *        entry from one resubmitted as a task. Undecodable entries (no
 *        "id") get neither. MGETs of DRV_DLQ_MARK_BATCH.
 * @param entries  an array of entry objects, or one entry object.
 * @returns DRV_OK, or a Redis error with \p errstr (the entries are left
 *          without the fields: not known).
 */
drv_err_t drv_dlq_entries_mark(redisContext *c, const drv_config_t *cfg,
			       json_t *entries, char *errstr,
			       size_t errstr_size);

/** Where a dead letter is on the DLQ topic; partition -1: not known. */
typedef struct drv_dlq_pos {
	int32_t partition;
	int64_t offset;
} drv_dlq_pos_t;

/** @brief Write the \p n marks dl_ids[i] -> task_ids[i] (SET PX, in one
 *         script per DRV_DLQ_MARK_BATCH), over any mark there was. The
 *         counts of its block in the DLQ index (drover/dlq_index.h) follow
 *         the mark, when \p pos (NULL: none known) gives where its dead
 *         letter is: a new resubmission mark adds 1 to "x", one that
 *         replaces a discard mark (a forced resubmission of a discarded
 *         entry) moves 1 from "d" to "x".
 *         @returns DRV_OK or an error with \p errstr set. */
drv_err_t drv_dlq_marks_set(redisContext *c, const drv_config_t *cfg,
			    const char *const *dl_ids,
			    const char *const *task_ids,
			    const drv_dlq_pos_t *pos, size_t n,
			    char *errstr, size_t errstr_size);

/** @brief Write the discard marks of the \p n dead letters \p dl_ids where
 *         they have no mark (SET NX PX semantics, one script per
 *         DRV_DLQ_MARK_BATCH); each one written adds 1 to "d" of its
 *         block's counts in the DLQ index when \p pos (NULL: none known)
 *         gives where it is.
 * @param old  optional, n entries: "" where the mark was written, else the
 *             mark found (a task id or DRV_DLQ_DISCARDED), left as it was.
 * @returns DRV_OK or an error with \p errstr set. */
drv_err_t drv_dlq_marks_discard(redisContext *c, const drv_config_t *cfg,
				const char *const *dl_ids,
				const drv_dlq_pos_t *pos, size_t n,
				char (*old)[DRV_ID_LEN + 1], char *errstr,
				size_t errstr_size);

/**
 * @brief The id of the task a resubmission of dead letter \p dl_id sends,
 *        for resubmission generation \p gen: the dead letter id's 48-bit
 *        time part, then 80 bits hashed from (dl_id, gen). Deterministic,
 *        so a rerun after a crash between the broker's acknowledgement and
 *        the mark sends the same task id again. A well-formed ULID when
 *        \p dl_id is one.
 */
void drv_dlq_resubmit_id(const char *dl_id, unsigned gen,
			 char out[DRV_ID_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DLQ_H */
