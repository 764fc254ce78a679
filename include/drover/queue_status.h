/*
 * queue_status.h — how deep the queues are and who serves them: the one
 * core operation behind `droverctl queue status` and GET /api/v1/queues.
 *
 * Per band topic and per delay tier topic: tasks waiting (the workers'
 * consumer lag: high watermark minus the group's committed offset, or
 * minus the low watermark where the group has committed nothing), the
 * oldest waiting task's age (the timestamp of the message at the committed
 * offset, one message read per partition with lag), and rates in and out
 * (high watermark and committed offset deltas between two samples). Per
 * worker: the status record it writes to Redis every
 * DRV_WORKER_STATUS_EVERY_MS from a thread of its own:
 *
 *   P workers              zset  worker id -> wall ms of its last record;
 *                                members older than DRV_WORKER_STATUS_TTL_MS
 *                                are dropped by the next writer and
 *                                ignored by readers; PEXPIRE
 *                                DRV_WORKER_STATUS_TTL_MS (no worker
 *                                left: nothing left)
 *   P workers:<id>         hash  runners, busy, started, finished,
 *                                band_partitions, delay_partitions,
 *                                partitions ("topic/N topic/N ..."),
 *                                updated_ms; PEXPIRE
 *                                DRV_WORKER_STATUS_TTL_MS
 *
 * (P = redis.key_prefix.) The cost of a sample is bounded by the number of
 * partitions and workers, never by the number of tasks.
 */
#ifndef DROVER_QUEUE_STATUS_H
#define DROVER_QUEUE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/error.h"

#define DRV_WORKER_STATUS_EVERY_MS 2000
#define DRV_WORKER_STATUS_TTL_MS   (3 * DRV_WORKER_STATUS_EVERY_MS)

/** One band or delay tier topic in a sample. */
typedef struct drv_queue_topic {
	char    topic[256];
	char    kind[8];        /**< "band" or "delay" */
	char    name[32];       /**< band name ("high") or tier ("10s") */
	int32_t partitions;
	int64_t high;           /**< sum of high watermarks */
	int64_t done;           /**< sum of the group's positions (committed,
				     else the low watermark) */
	int64_t waiting;        /**< sum over partitions of high - position */
	int64_t oldest_ms;      /**< wall ms timestamp of the oldest waiting
				     task; 0 = none waiting or unknown */
	double  rate_in;        /**< tasks/s produced; < 0 = not measured */
	double  rate_out;       /**< tasks/s committed; < 0 = not measured */
} drv_queue_topic_t;

/** One worker's last status record. */
typedef struct drv_queue_worker {
	char    id[128];
	int64_t runners, busy;        /**< runner threads, running a task */
	int64_t started, finished;    /**< attempts since the worker began */
	int64_t band_partitions, delay_partitions;
	char   *partitions;           /**< owned: "topic/N topic/N ..." */
	int64_t updated_ms;           /**< wall ms of the record */
} drv_queue_worker_t;

/** A sample. Embedded: drv_queue_status_init() / _release(). */
typedef struct drv_queue_status {
	int64_t             at_ms;       /**< wall ms it was taken */
	int64_t             rate_ms;     /**< span rates cover; 0 = none */
	drv_queue_topic_t  *topics;      /**< owned */
	size_t              topic_cnt;
	drv_queue_worker_t *workers;     /**< owned */
	size_t              worker_cnt;
	int64_t             running;     /**< sum of the workers' busy */
	bool                workers_known; /**< Redis answered */
} drv_queue_status_t;

/** Kafka handles a sampler keeps between samples. Opaque. */
typedef struct drv_queue_reader drv_queue_reader_t;

/**
 * @brief A reader for \p cfg: two consumers that never subscribe or commit,
 *        one in the workers' band group and one in their delay group, to
 *        read committed offsets and one message per lagging partition.
 * @returns a reader the caller frees with drv_queue_reader_destroy(), or
 *          NULL with \p errstr set.
 * @remark Not thread-safe: one sample at a time per reader. \p cfg is
 *         borrowed and must outlive the reader.
 */
drv_queue_reader_t *drv_queue_reader_new(const drv_config_t *cfg,
					 char *errstr, size_t errstr_size);

/** @brief Free \p r and its handles; NULL is a no-op. */
void drv_queue_reader_destroy(drv_queue_reader_t *r);

/** @brief The config \p r was made with (borrowed). */
const drv_config_t *drv_queue_reader_config(const drv_queue_reader_t *r);

/** @brief \p r's consumer in the workers' band group (borrowed; it never
 *         subscribes or commits): for reading what waits on the bands.
 *         One user at a time, as for drv_queue_sample(). */
rd_kafka_t *drv_queue_reader_band(drv_queue_reader_t *r);

/** @brief Zero \p s (no allocation). */
void drv_queue_status_init(drv_queue_status_t *s);

/** @brief Free what \p s owns and zero it again. */
void drv_queue_status_release(drv_queue_status_t *s);

/**
 * @brief Take a sample into \p out (initialised here): every band and
 *        delay tier topic, and, when \p redis is not NULL, the workers'
 *        status records (a Redis failure leaves workers_known false and
 *        is not an error). Rates are left unmeasured (-1).
 * @param redis  borrowed; may be NULL.
 * @returns DRV_OK, or a Kafka error with \p errstr set (\p out is then
 *          empty).
 */
drv_err_t drv_queue_sample(drv_queue_reader_t *r, redisContext *redis,
			   drv_queue_status_t *out,
			   char *errstr, size_t errstr_size);

/**
 * @brief Set \p now's rates from the earlier sample \p before of the same
 *        topics: in = high watermark delta, out = position delta, per
 *        second over the span between the two. Topics \p before lacks, a
 *        span <= 0, or a counter that went back (topic recreated) stay
 *        unmeasured. Pure.
 */
void drv_queue_rates(drv_queue_status_t *now,
		     const drv_queue_status_t *before);

/**
 * @brief \p s as JSON (a new reference), the same for the CLI's --json and
 *        the API: {"at_ms", "rate_span_ms", "running", "topics": [{topic,
 *        kind, name, partitions, waiting, oldest_age_ms|null,
 *        rate_in|null, rate_out|null}], "workers": [{id, runners, busy,
 *        started, finished, band_partitions, delay_partitions,
 *        partitions: [..], last_seen_ms_ago}] | null}. Ages are taken at
 *        s->at_ms. Pure.
 */
json_t *drv_queue_status_json(const drv_queue_status_t *s);

/** @brief Partition count of \p topic from one metadata request (\p rk
 *         borrowed, a consumer: see drv_topic_depth()); -1 with \p errstr
 *         set on error. */
int drv_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
			 char *errstr, size_t errstr_size);

/**
 * @brief Messages in \p topic now: the sum over its partitions of high
 *        minus low watermark (the DLQ depth). \p rk is borrowed; pass a
 *        consumer handle (a producer's metadata request may have the
 *        broker create a missing topic). Blocks up to \p timeout_ms per
 *        request.
 * @returns DRV_OK with *depth set, or an error with \p errstr set.
 */
drv_err_t drv_topic_depth(rd_kafka_t *rk, const char *topic, int timeout_ms,
			  int64_t *depth, char *errstr, size_t errstr_size);

/**
 * @brief Write worker \p rec's status record (see the file comment) with
 *        \p rec->updated_ms as its time, and drop members of P workers
 *        older than the TTL. \p c is borrowed.
 * @returns DRV_OK or DRV_ERR_REDIS with \p errstr set.
 */
drv_err_t drv_worker_status_write(redisContext *c, const drv_config_t *cfg,
				  const drv_queue_worker_t *rec,
				  char *errstr, size_t errstr_size);

/**
 * @brief Read the live workers' status records into \p s (its workers,
 *        worker_cnt, running and workers_known). \p c is borrowed.
 * @returns DRV_OK, or DRV_ERR_REDIS / DRV_ERR_NOMEM (workers_known stays
 *          false).
 */
drv_err_t drv_worker_status_read(redisContext *c, const drv_config_t *cfg,
				 drv_queue_status_t *s);

#endif /* DROVER_QUEUE_STATUS_H */
