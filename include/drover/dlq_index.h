/*
 * drover — the DLQ search index: what lets a filtered page of dead letters
 * (GET /api/v1/dlq, the resubmission jobs) skip the parts of the DLQ topic
 * that cannot hold a match, instead of reading the topic from its cursor.
 *
 * Each DLQ partition is cut into blocks of DRV_DLQ_INDEX_BLOCK offsets. For
 * every block Redis holds the earliest and latest time of its entries and a
 * Bloom filter of their terms (handler, reason, schedule, each label, failure
 * group, task id, dead letter id). A reader asks which blocks from an offset
 * on may hold a match, and reads only those; a Bloom filter answers "maybe"
 * wrongly now and then (a block read for nothing), never "no" wrongly, so
 * a page finds exactly what a scan finds. The index is an accelerator: the
 * topic stays the record, and what the index has not covered yet (its
 * position per partition, "to") is read as before.
 *
 * Redis keys (P = redis.key_prefix; format "ix1": a new format gets a new
 * name rather than a migration):
 *
 *   P dlq:ix1:<partition>          hash: "to" (next offset not yet indexed),
 *                                  "lo" (lowest block kept), and per block
 *                                  number "<min ms> <max ms>"
 *   P dlq:ix1:<partition>:<block>  string: the block's Bloom filter
 *   P dlq:ix1:<partition>:<block>:c  hash: what drv_dlq_stats() counts of
 *                                  the block's entries from offset "from"
 *                                  to "to": "n" entries, "u" undecodable,
 *                                  "r:<reason>" and "h:<handler>" counts,
 *                                  "lo" and "hi" ("<dead ms> <id>" of the
 *                                  oldest and newest), "x" resubmitted
 *                                  and "d" discarded (kept by
 *                                  drv_dlq_marks_set() and
 *                                  drv_dlq_marks_discard(): an entry's
 *                                  mark counts in one of them), "bad"
 *                                  when a write found a gap
 *
 * All expire kafka.dlq_retention plus a day after their last write.
 * The coordinator that leads keeps the index (coordinator/dlq_index.c);
 * writes only ever add bits and widen times, so two writers overlapping
 * during a fail-over cannot lose anything.
 */
#ifndef DROVER_DLQ_INDEX_H
#define DROVER_DLQ_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/dlq.h"
#include "drover/error.h"

#define DRV_DLQ_INDEX_BLOCK   256     /**< DLQ offsets per block */
#define DRV_DLQ_INDEX_BITS    32768   /**< Bloom filter bits per block */
#define DRV_DLQ_INDEX_HASHES  7       /**< bits set per term */
#define DRV_DLQ_INDEX_HANDLERS 16     /**< handlers a block counts by */
#define DRV_DLQ_INDEX_NAME_MAX 64     /**< the longest handler it counts */

/** The block an indexer is filling: built in memory, written by
 *  drv_dlq_index_flush(). */
typedef struct drv_dlq_index_block {
	int32_t partition;
	int64_t block;      /**< offset / DRV_DLQ_INDEX_BLOCK; -1: none yet */
	int64_t min_ms, max_ms;
	int64_t to;         /**< the offset after the last entry added */
	size_t  pending;    /**< entries added since the last flush */
	uint8_t bloom[DRV_DLQ_INDEX_BITS / 8];
	/* what the pending entries add to the block's counts */
	int64_t from;       /**< the offset of the first pending entry */
	size_t  n, undecodable;
	size_t  by_reason[DRV_DL_REASON_CNT];
	size_t  handler_cnt;
	char    handler[DRV_DLQ_INDEX_HANDLERS][DRV_DLQ_INDEX_NAME_MAX + 1];
	size_t  handler_n[DRV_DLQ_INDEX_HANDLERS];
	bool    uncounted;  /**< more handlers, or a longer name: no counts */
	drv_dlq_span_t span;  /**< the oldest and newest decodable entry */
} drv_dlq_index_block_t;

/** @brief Empty \p b and make it block \p block of \p partition. */
void drv_dlq_index_block_reset(drv_dlq_index_block_t *b, int32_t partition,
			       int64_t block);

/** @brief Add entry \p e (borrowed) to \p b: its terms and its time. The
 *         caller resets \p b first when \p e is in another block. */
void drv_dlq_index_add(drv_dlq_index_block_t *b, const drv_dlq_entry_t *e);

/**
 * @brief Write \p b to Redis (OR its Bloom filter into the stored one,
 *        widen the block's times, move "to" up to b->to) and forget the
 *        blocks below \p lo_offset (the topic's low watermark).
 * @param expect_to  the "to" this writer last wrote or read, -1 when it
 *                   starts from nothing: when Redis has lost the index
 *                   (flushed, evicted, expired) although this writer had
 *                   written it, nothing is written and DRV_ERR_NOT_FOUND
 *                   says to index the partition again from its start.
 * @returns DRV_OK (b->pending is 0 then), DRV_ERR_NOT_FOUND, or a Redis
 *          error with \p errstr.
 */
drv_err_t drv_dlq_index_flush(redisContext *rc, const drv_config_t *cfg,
			      drv_dlq_index_block_t *b, int64_t expect_to,
			      int64_t lo_offset, char *errstr,
			      size_t errstr_size);

/** @brief The key of the counts of the block that holds \p offset of
 *         \p partition into \p buf; false when it did not fit. */
bool drv_dlq_index_count_key(const drv_config_t *cfg, int32_t partition,
			     int64_t offset, char *buf, size_t size);

/** @brief The index's position on \p partition into \p *to: the next
 *         offset not indexed, -1 when there is no index.
 *  @returns DRV_OK or a Redis error with \p errstr. */
drv_err_t drv_dlq_index_position(redisContext *rc, const drv_config_t *cfg,
				 int32_t partition, int64_t *to,
				 char *errstr, size_t errstr_size);

/**
 * @brief Whether the index covers every message the DLQ topic of \p cfg
 *        holds now: its position on each partition against the end offset
 *        the broker gives (a partition with nothing left counts as
 *        covered). Reads the end offsets and makes a Redis connection of
 *        its own, both closed before it returns.
 * @returns DRV_OK with \p *covered set, or the error of the broker or of
 *          Redis with \p errstr.
 */
drv_err_t drv_dlq_index_covers(const drv_config_t *cfg, bool *covered,
			       char *errstr, size_t errstr_size);

/** What the index holds of one block, for drv_dlq_stats(): its times and
 *  the counts of its entries in [from, to). Plain data. */
typedef struct drv_dlq_index_tally {
	int64_t block;
	int64_t min_ms, max_ms;  /**< of every entry (undecodable ones by
				      their Kafka time) */
	int64_t from, to;        /**< -1, -1: the block has no counts */
	bool    bad;             /**< the counts have a gap: read the block */
	size_t  n, undecodable, resubmitted, discarded;
	size_t  by_reason[DRV_DL_REASON_CNT];
	size_t  handler_cnt;
	char    handler[DRV_DLQ_INDEX_HANDLERS][DRV_DLQ_INDEX_NAME_MAX + 1];
	size_t  handler_n[DRV_DLQ_INDEX_HANDLERS];
	drv_dlq_span_t span;  /**< the oldest and newest decodable entry */
} drv_dlq_index_tally_t;

/**
 * @brief The blocks of \p partition the index holds, from block \p first
 *        to \p last (inclusive): \p fn for each, in order, with its times
 *        and counts (a block the index does not hold is not passed). One
 *        HGETALL of the partition's hash, then the blocks' counts
 *        pipelined, 256 a round trip.
 * @returns DRV_OK, or a Redis error with \p errstr.
 */
drv_err_t drv_dlq_index_tallies(redisContext *rc, const drv_config_t *cfg,
				int32_t partition, int64_t first, int64_t last,
				void (*fn)(const drv_dlq_index_tally_t *t,
					   void *arg),
				void *arg, char *errstr, size_t errstr_size);

/** A search through the index: which blocks to read for one filter. */
typedef struct drv_dlq_index_query drv_dlq_index_query_t;

/**
 * @brief A query for filter \p f (borrowed; must outlive the query) on
 *        \p rc, a connection the caller lends for the query's life (the
 *        API's thread's), or, when \p rc is NULL, on a Redis connection of
 *        its own (droverctl). A lent connection that fails mid-query is
 *        left with its err set for its owner to drop.
 * @returns the query, or NULL when the index cannot help: \p f has neither
 *          an indexed field (handler, reason, schedule, label, group) nor
 *          a time bound, or Redis cannot be reached (\p rc has failed, or
 *          no connection could be made: the caller reads the topic as it
 *          would without an index).
 */
drv_dlq_index_query_t *drv_dlq_index_query_new(const drv_config_t *cfg,
					       redisContext *rc,
					       const drv_dlq_filter_t *f);

/** @brief A query for the entries of dead letter or task id \p id
 *         (borrowed) on \p rc (lent, or NULL: its own):
 *         drv_dlq_index_query_new()'s NULLs but the first. */
drv_dlq_index_query_t *drv_dlq_index_query_id(const drv_config_t *cfg,
					      redisContext *rc,
					      const char *id);

/**
 * @brief Where to read next on \p partition, from \p offset on: the first
 *        offset at or after \p offset that may hold a match. Everything in
 *        between holds none. \p *until receives the offset at which to ask
 *        again (INT64_MAX: read on to the end, the index knows nothing
 *        further). Redis failing mid-query makes the query read on.
 */
int64_t drv_dlq_index_next(drv_dlq_index_query_t *q, int32_t partition,
			   int64_t offset, int64_t *until);

/** @brief Messages the query let its reader skip so far. */
int64_t drv_dlq_index_skipped(const drv_dlq_index_query_t *q);

/** @brief Free \p q (NULL is fine). */
void drv_dlq_index_query_destroy(drv_dlq_index_query_t *q);

/* ---- keeping the index ------------------------------------------------- */

/** One reader of the DLQ that keeps the index: see drv_dlq_indexer_step(). */
typedef struct drv_dlq_indexer drv_dlq_indexer_t;

/** @brief A new indexer on \p cfg (borrowed; must outlive it). Connects
 *         nothing yet. NULL when out of memory. */
drv_dlq_indexer_t *drv_dlq_indexer_new(const drv_config_t *cfg);

/**
 * @brief One turn: (first) connect to Redis and Kafka and read each
 *        partition's position from Redis, then take in the messages that
 *        come within \p timeout_ms and write the blocks due (every 200 ms,
 *        and whenever a block is full).
 * @param lag  receives the messages not taken in yet, summed over the
 *             partitions, by the end offsets of the last fetch (-1 when
 *             not connected, or not yet fetched from every partition).
 * @returns DRV_OK; on an error (Redis or Kafka failed, or Redis lost the
 *          index) the indexer drops its connections and what it holds in
 *          memory, and the next turn starts again from what Redis holds.
 * @locality one thread at a time.
 */
drv_err_t drv_dlq_indexer_step(drv_dlq_indexer_t *x, int timeout_ms,
			       int64_t *lag, char *errstr,
			       size_t errstr_size);

/** @brief Drop the connections and what is in memory (a later step starts
 *         again from Redis). */
void drv_dlq_indexer_reset(drv_dlq_indexer_t *x);

/** @brief Free \p x (NULL is fine); what it did not write is lost. */
void drv_dlq_indexer_destroy(drv_dlq_indexer_t *x);

#endif /* DROVER_DLQ_INDEX_H */
