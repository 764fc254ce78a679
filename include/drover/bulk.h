/*
 * drover — submitting many tasks at once (droverctl task submit --file,
 * the API's POST /tasks/batch): every task is produced without waiting, up
 * to a window of tasks in flight, and each one's result is reported in the
 * order the tasks were given, once Kafka acknowledged it (or refused it).
 * A caller that wants a task in the sequence to fail without producing it
 * (a line that does not parse) adds it with drv_bulk_refuse(), so results
 * still come in input order. Throughput is bounded by the producer, not by
 * round trips: one round trip per window, not per task.
 */
#ifndef DROVER_BULK_H
#define DROVER_BULK_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/kafka.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drv_bulk drv_bulk_t;

/** One task's result, as drv_bulk_cb_t sees it; every pointer is borrowed
 *  for the call. */
typedef struct drv_bulk_result {
	size_t            seq;     /**< 0-based position in the input */
	const drv_task_t *task;    /**< NULL for a refused or other item */
	const char       *topic;   /**< where it went; "" when it did not */
	drv_err_t         err;     /**< DRV_OK once acknowledged */
	const char       *errstr;  /**< why not, "" on success */
	const char       *pointer; /**< refused: where in the item, or "" */
	void             *item;    /**< what the caller passed with it */
} drv_bulk_result_t;

/** Called once per item, in input order, from the caller's thread. */
typedef void drv_bulk_cb_t(const drv_bulk_result_t *r, void *opaque);

/**
 * @brief A bulk submission on \p rk (made with drv_kafka_conf_new(); not
 *        taken) routing by \p cfg (borrowed), with at most \p window tasks
 *        in flight (0: 10,000), each acknowledgement awaited at most
 *        \p timeout_ms. Free with drv_bulk_destroy().
 * @returns NULL when out of memory.
 * @locality one thread at a time; \p rk may be shared with other threads.
 */
drv_bulk_t *drv_bulk_new(rd_kafka_t *rk, const drv_config_t *cfg,
			 size_t window, int64_t timeout_ms,
			 drv_bulk_cb_t *cb, void *opaque);

/**
 * @brief Produce \p t (routed by drv_task_route()); its result is reported
 *        later, in order. Takes \p t's contents: \p t is left empty
 *        (initialised) whatever happens. Waits for the oldest task's
 *        acknowledgement first when the window is full. \p item is handed
 *        back in the result.
 */
void drv_bulk_add(drv_bulk_t *b, drv_task_t *t, void *item);

/** Produce \p item without waiting, reporting to \p dr, its topic into
 *  \p topic: for things other than tasks (the API's event batches). */
typedef drv_err_t drv_bulk_produce_fn(void *arg, void *item,
				      drv_delivery_t *dr, char *topic,
				      size_t topic_size, char *errstr,
				      size_t errstr_size);

/**
 * @brief Like drv_bulk_add() for an item \p fn produces (with \p arg);
 *        the result has no task, and \p item (borrowed until its result is
 *        reported) handed back.
 */
void drv_bulk_add_item(drv_bulk_t *b, drv_bulk_produce_fn *fn, void *arg,
		       void *item);

/** @brief An item that fails without being produced: \p errstr and
 *         \p pointer (may be NULL) are copied; reported in its turn. */
void drv_bulk_refuse(drv_bulk_t *b, drv_err_t err, const char *pointer,
		     const char *errstr, void *item);

/** @brief Wait for every result still out and report it. */
void drv_bulk_finish(drv_bulk_t *b);

/** @brief drv_bulk_finish(), then free \p b. NULL is a no-op. */
void drv_bulk_destroy(drv_bulk_t *b);

#ifdef __cplusplus
}
#endif

#endif
