/*
 * offsets.h — which offset a worker may commit for each partition.
 *
 * Tasks from one partition finish out of order (several run at once), but
 * an offset may be committed only when every task before it has finished
 * or been safely forwarded. The tracker keeps, per partition, the offsets
 * in flight in arrival order and reports the new commit point each time the
 * oldest ones are done.
 *
 * @locality the worker's main (consumer) thread only; not thread-safe.
 */
#ifndef DROVER_WORKER_OFFSETS_H
#define DROVER_WORKER_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct offsets offsets_t;

/* An empty tracker; NULL on allocation failure. Free with offsets_destroy. */
offsets_t *offsets_new(void);
void offsets_destroy(offsets_t *o);

/* Record that \p offset of topic/partition was handed out. \p topic is
 * copied. Returns 1 when added; 0 when the offset is not above the last one
 * added for the partition (a redelivery the caller must drop; librdkafka
 * 2.0 rewound partitions after pause/resume, issues #4637 and #4686, and
 * the check stays as the guard of the commit order); -1 on allocation
 * failure. */
int offsets_add(offsets_t *o, const char *topic, int32_t partition,
		int64_t offset);

/* Mark \p offset finished. Returns the offset to commit (the next one to
 * consume) when the partition's commit point moved, else -1. An offset of a
 * partition no longer tracked (revoked) returns -1. */
int64_t offsets_done(offsets_t *o, const char *topic, int32_t partition,
		     int64_t offset);

/* Offsets handed out and not yet finished, over all partitions (topic NULL)
 * or one partition. */
size_t offsets_pending(const offsets_t *o, const char *topic,
		       int32_t partition);

/* Forget a partition (it was revoked); its unfinished offsets will never be
 * committed by this worker. */
void offsets_forget(offsets_t *o, const char *topic, int32_t partition);

#endif /* DROVER_WORKER_OFFSETS_H */
