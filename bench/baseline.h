/*
 * baseline.h — what Kafka and the client allow on this machine, measured
 * in the benchmark's own process: the ceilings drover-worker is compared
 * with (bench/README.md, "drover-bench-throughput").
 */
#ifndef DROVER_BENCH_BASELINE_H
#define DROVER_BENCH_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

typedef struct baseline {
	bool    ran;
	size_t  read, undecodable;
	size_t  done;       /* fair: events acknowledged, offsets stored */
	double  join_s;     /* subscribe -> first message */
	double  span_s;     /* first message -> last one done */
	double  rate;       /* done (plain: read) / span_s */
} baseline_t;

/**
 * The plain loop: a librdkafka consumer in a group of its own reads \p n
 * messages of \p topic and decodes each (drv_task_decode()); nothing else.
 */
bool baseline_plain(const bench_ns_t *ns, const char *topic, size_t n,
		    int64_t timeout_s, baseline_t *b);

/**
 * The fair loop: the work per task a task system cannot avoid, with the
 * worker's librdkafka settings (drv_kafka_member_conf_new(),
 * drv_kafka_producer_new()): consume, decode, produce one small lifecycle
 * event (an encoded drv_event_t keyed by the task id), and store each
 * offset only once every message before it in its partition has its event
 * acknowledged; stored offsets are committed as the worker's are. A message
 * is done when its offset is stored.
 */
bool baseline_fair(const bench_ns_t *ns, const char *topic, size_t n,
		   int64_t timeout_s, baseline_t *b);

#endif
