/*
 * topic_read.h — read a topic once, from the beginning of every partition
 * to the end it had when the read started (dlq_read() and `audit list`
 * build on it).
 */
#ifndef DROVER_CTL_TOPIC_READ_H
#define DROVER_CTL_TOPIC_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/kafka.h"

/* Called for every message (borrowed for the call); false stops the read. */
typedef bool (*ctl_msg_fn)(const rd_kafka_message_t *m, void *arg);

/* Read \p topic from the beginning of every partition up to the high
 * watermarks read at the start, calling \p fn for every message in
 * partition order (partitions interleave). No consumer group is joined and
 * nothing is committed. The broker must answer within
 * kafka.connect_timeout, and the read fails if it stops making progress for
 * that long. \p read_cnt (optional) receives how many messages were read.
 * Returns DRV_OK (also when \p fn stopped the read), or an error with
 * \p errstr set (DRV_ERR_NOT_FOUND: no such topic). */
drv_err_t ctl_topic_read(const drv_config_t *cfg, const char *topic,
			 ctl_msg_fn fn, void *arg, size_t *read_cnt,
			 char *errstr, size_t errstr_size);

#endif /* DROVER_CTL_TOPIC_READ_H */
