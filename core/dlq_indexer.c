/*
 * dlq_indexer.c — the reader that keeps the DLQ search index
 * (include/drover/dlq_index.h): the coordinator's leader runs it on a
 * thread (coordinator/dlq_index.c), bench/dlq.c in a loop.
 *
 * No consumer group: the index is its own record of progress. On its
 * first turn the indexer reads each partition's position ("to") from
 * Redis and reads the DLQ from there (from the start where there is none),
 * adding every entry to its partition's block in memory. A block is
 * written when the next one begins and every FLUSH_MS while entries come;
 * "to" moves with each write, so a block is never skipped before it is
 * written. Any failure, or Redis having lost the index, drops everything
 * but Redis: the next turn starts again from what Redis holds (re-adding
 * entries to a block only sets bits already set).
 *
 * Partitions added to the DLQ meanwhile are indexed after the next reset;
 * until then a search reads them.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/dlq.h"
#include "drover/dlq_index.h"
#include "drover/queue_status.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/topic_read.h"

#define FLUSH_MS  200

struct drv_dlq_indexer {
	const drv_config_t *cfg;
	char          topic[256];
	rd_kafka_t   *rk;         /* NULL until the first turn */
	redisContext *rc;
	int           pcnt;
	drv_dlq_index_block_t *blk;   /* per partition */
	int64_t      *written;    /* per partition: "to" as last written or
				     read, -1: none */
	int64_t       flushed_ms;
};

drv_dlq_indexer_t *drv_dlq_indexer_new(const drv_config_t *cfg)
{
	drv_dlq_indexer_t *x = calloc(1, sizeof(*x));

	if (x)
		x->cfg = cfg;
	return x;
}

void drv_dlq_indexer_reset(drv_dlq_indexer_t *x)
{
	if (x->rk) {
		rd_kafka_assign(x->rk, NULL);
		rd_kafka_consumer_close(x->rk);
		rd_kafka_destroy(x->rk);
		x->rk = NULL;
	}
	if (x->rc) {
		redisFree(x->rc);
		x->rc = NULL;
	}
	free(x->blk);
	free(x->written);
	x->blk = NULL;
	x->written = NULL;
	x->pcnt = 0;
}

void drv_dlq_indexer_destroy(drv_dlq_indexer_t *x)
{
	if (!x)
		return;
	drv_dlq_indexer_reset(x);
	free(x);
}

static drv_err_t start(drv_dlq_indexer_t *x, char *errstr,
		       size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	drv_err_t rc;

	if (!drv_topic_name(x->cfg, DRV_TOPIC_DLQ, NULL, 0, x->topic,
			    sizeof(x->topic)))
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "topic prefix too long");
	if ((rc = drv_redis_connect(x->cfg, &x->rc, errstr, errstr_size)))
		goto out;
	if (!(x->rk = drv_topic_reader_new(x->cfg, true, errstr, errstr_size))) {
		rc = DRV_ERR_KAFKA;
		goto out;
	}
	if ((x->pcnt = drv_topic_partitions(x->rk, x->topic,
				(int)x->cfg->kafka.connect_timeout_ms,
				errstr, errstr_size)) < 0) {
		x->pcnt = 0;
		rc = DRV_ERR_KAFKA;
		goto out;
	}
	if (!(x->blk = calloc((size_t)x->pcnt, sizeof(*x->blk))) ||
	    !(x->written = calloc((size_t)x->pcnt, sizeof(*x->written))) ||
	    !(parts = rd_kafka_topic_partition_list_new(x->pcnt))) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	for (int p = 0; p < x->pcnt; p++) {
		if ((rc = drv_dlq_index_position(x->rc, x->cfg, p,
						 &x->written[p], errstr,
						 errstr_size)))
			goto out;
		drv_dlq_index_block_reset(&x->blk[p], p, -1);
		rd_kafka_topic_partition_list_add(parts, x->topic, p)->offset =
			x->written[p] >= 0 ? x->written[p] :
			RD_KAFKA_OFFSET_BEGINNING;
	}
	if (rd_kafka_assign(x->rk, parts))
		rc = drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			       "cannot assign %s", x->topic);
out:
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

/* Write partition \p p's block. */
static drv_err_t flush(drv_dlq_indexer_t *x, int32_t p, char *errstr,
		       size_t errstr_size)
{
	drv_dlq_index_block_t *b = &x->blk[p];
	int64_t lo = 0, hi = 0;
	drv_err_t rc;

	if (!b->pending)
		return DRV_OK;
	rd_kafka_get_watermark_offsets(x->rk, x->topic, p, &lo, &hi);
	rc = drv_dlq_index_flush(x->rc, x->cfg, b, x->written[p], lo, errstr,
				 errstr_size);
	if (rc == DRV_ERR_NOT_FOUND)
		return drv_error(errstr, errstr_size, rc, "Redis lost the "
				 "index; indexing the DLQ again");
	if (!rc)
		x->written[p] = b->to;
	return rc;
}

static drv_err_t add(drv_dlq_indexer_t *x, const rd_kafka_message_t *m,
		     char *errstr, size_t errstr_size)
{
	int64_t block = m->offset / DRV_DLQ_INDEX_BLOCK;
	drv_dlq_index_block_t *b;
	drv_dlq_entry_t e;
	drv_err_t rc;

	if (m->partition < 0 || m->partition >= x->pcnt)
		return DRV_OK;
	b = &x->blk[m->partition];
	if (b->block != block) {
		if ((rc = flush(x, m->partition, errstr, errstr_size)))
			return rc;
		drv_dlq_index_block_reset(b, m->partition, block);
	}
	drv_dlq_entry_from(m, &e);
	drv_dlq_index_add(b, &e);
	drv_dead_letter_release(&e.dl);
	return DRV_OK;
}

/* The messages not written yet, by the watermarks of the consumer's last
 * fetch; -1 before it has fetched from every partition (a watermark not
 * known yet is not "none behind"). */
static int64_t lag_of(const drv_dlq_indexer_t *x)
{
	int64_t lag = 0, lo, hi, at;

	for (int p = 0; p < x->pcnt; p++) {
		lo = hi = 0;
		rd_kafka_get_watermark_offsets(x->rk, x->topic, p, &lo, &hi);
		if (hi < 0)
			return -1;
		at = x->written[p] < lo ? lo : x->written[p];
		if (hi > at)
			lag += hi - at;
	}
	return lag;
}

drv_err_t drv_dlq_indexer_step(drv_dlq_indexer_t *x, int timeout_ms,
			       int64_t *lag, char *errstr,
			       size_t errstr_size)
{
	int64_t end = drv_mono_ms() + timeout_ms;
	drv_err_t rc = DRV_OK;

	*lag = -1;
	if (!x->rk && (rc = start(x, errstr, errstr_size)))
		goto out;
	do {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(x->rk, 10);

		if (m) {
			if (!m->err)
				rc = add(x, m, errstr, errstr_size);
			rd_kafka_message_destroy(m);
		}
		if (!rc && drv_mono_ms() - x->flushed_ms >= FLUSH_MS) {
			for (int p = 0; p < x->pcnt && !rc; p++)
				rc = flush(x, p, errstr, errstr_size);
			x->flushed_ms = drv_mono_ms();
		}
	} while (!rc && drv_mono_ms() < end);
	/* what is in memory counts as behind until it is written */
	if (!rc)
		*lag = lag_of(x);
out:
	if (rc)
		drv_dlq_indexer_reset(x);
	return rc;
}
