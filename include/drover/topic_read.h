/*
 * drover — read a topic once, from the beginning of every partition (or
 * given offsets) to the end it had when the read started (droverctl's
 * dlq_read() and `audit list`, the coordinator's DLQ archiver build on it).
 */
#ifndef DROVER_TOPIC_READ_H
#define DROVER_TOPIC_READ_H

#include <stdint.h>

#include <stdbool.h>
#include <stddef.h>

#include "drover/kafka.h"

/* Called for every message (borrowed for the call); false stops the read. */
typedef bool (*drv_topic_msg_fn)(const rd_kafka_message_t *m, void *arg);

/* Read \p topic from the beginning of every partition (from offset
 * \p start[p] for a partition p < \p start_cnt whose start[p] is above its
 * low watermark; \p start may be NULL with \p start_cnt 0) up to the high
 * watermarks read at the start, calling \p fn for every message in
 * partition order (partitions interleave). No consumer group is joined and
 * nothing is committed. The broker must answer within
 * kafka.connect_timeout, and the read fails if it stops making progress for
 * that long. \p read_cnt (optional) receives how many messages were read.
 * Returns DRV_OK (also when \p fn stopped the read), or an error with
 * \p errstr set (DRV_ERR_NOT_FOUND: no such topic). */
drv_err_t drv_topic_read(const drv_config_t *cfg, const char *topic,
			 const int64_t *start, size_t start_cnt,
			 drv_topic_msg_fn fn, void *arg, size_t *read_cnt,
			 char *errstr, size_t errstr_size);

/* drv_topic_read() between given offsets: partition p < \p cnt from
 * \p start[p] (\p start may be NULL: from the beginning) up to the lower
 * of \p end[p] and the high watermark read at the start; partitions at or
 * past \p cnt are not read. \p end, borrowed, must hold \p cnt offsets. */
drv_err_t drv_topic_read_range(const drv_config_t *cfg, const char *topic,
			       const int64_t *start, const int64_t *end,
			       size_t cnt, drv_topic_msg_fn fn, void *arg,
			       size_t *read_cnt, char *errstr,
			       size_t errstr_size);

/* Where to read partition \p p next, at or after \p offset (everything
 * between holds nothing wanted); \p *until receives the offset at which to
 * ask again (INT64_MAX: never). */
typedef int64_t (*drv_topic_skip_fn)(int32_t p, int64_t offset,
				     int64_t *until, void *arg);

/* drv_topic_read() that passes over what \p skip says to: asked at the
 * start of each partition and whenever the read reaches the offset it
 * named, it moves the partition's read position forward (a seek). */
drv_err_t drv_topic_read_skip(const drv_config_t *cfg, const char *topic,
			      const int64_t *start, size_t start_cnt,
			      drv_topic_msg_fn fn, drv_topic_skip_fn skip,
			      void *arg, size_t *read_cnt, char *errstr,
			      size_t errstr_size);

/* The low and high watermarks of every partition of \p topic: *lo and *hi
 * are malloc'd arrays of *cnt offsets the caller frees (NULL, 0 on an
 * error, with \p errstr set; DRV_ERR_NOT_FOUND: no such topic). */
drv_err_t drv_topic_offsets(const drv_config_t *cfg, const char *topic,
			    int64_t **lo, int64_t **hi, size_t *cnt,
			    char *errstr, size_t errstr_size);

/* A consumer for reading by hand (rd_kafka_assign(), never a group
 * subscription, no commits; read-ahead sized for whole-topic reads; an
 * offset below the start reads from the start). \p follow: it keeps
 * reading at the end (the broker may hold a fetch there), else it stops
 * there (fetches answered at once). The caller destroys it
 * (rd_kafka_consumer_close(), rd_kafka_destroy()). NULL on an error, with
 * \p errstr set. */
rd_kafka_t *drv_topic_reader_new(const drv_config_t *cfg, bool follow,
				 char *errstr, size_t errstr_size);

#endif /* DROVER_TOPIC_READ_H */
