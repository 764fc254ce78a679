/*
 * drover — Kafka plumbing shared by the daemons and droverctl: topic names
 * and the topic set a config implies, client configuration from the drover
 * config, acknowledged produces, and publishing tasks and events.
 *
 * The core wraps librdkafka only where drover adds meaning; callers use
 * rd_kafka_t handles directly for polling and committing. librdkafka error
 * codes are mapped to drv_err_t in one place (drv_kafka_err()).
 */
#ifndef DROVER_KAFKA_H
#define DROVER_KAFKA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "drover/audit.h"
#include "drover/config.h"
#include "drover/dead_letter.h"
#include "drover/error.h"
#include "drover/event.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- topics */

typedef enum drv_topic_kind {
	DRV_TOPIC_TASKS,   /**< <prefix>tasks.<band> */
	DRV_TOPIC_DELAY,   /**< <prefix>delay.<tier>, tier like "10s" */
	DRV_TOPIC_DLQ,     /**< <prefix>dlq */
	DRV_TOPIC_EVENTS,  /**< <prefix>events */
	DRV_TOPIC_AUDIT,   /**< <prefix>audit */
} drv_topic_kind_t;

/** A priority band: tasks whose priorities it covers share a topic. */
typedef struct drv_band {
	const char *name;
} drv_band_t;

/** The bands, highest first: high, normal, low. Which priorities each
 *  covers is config (kafka.band_high, kafka.band_low; default 8-10, 4-7,
 *  1-3): see drv_band_range(). */
extern const drv_band_t drv_bands[];
extern const size_t drv_band_cnt;

/** @brief The band serving \p priority (clamped to 1..10) under \p cfg.
 *  Static data. */
const drv_band_t *drv_band_for_priority(const drv_config_t *cfg,
					uint32_t priority);

/** @brief The priorities band \p band (an index into drv_bands) covers
 *         under \p cfg, into \p min and \p max. */
void drv_band_range(const drv_config_t *cfg, size_t band, uint32_t *min,
		    uint32_t *max);

/**
 * @brief Write the topic name for \p kind into \p buf. \p suffix is the band
 *        name for DRV_TOPIC_TASKS and ignored otherwise; \p tier_ms names the
 *        tier for DRV_TOPIC_DELAY.
 * @returns false if the name did not fit.
 */
bool drv_topic_name(const drv_config_t *cfg, drv_topic_kind_t kind,
		    const char *suffix, int64_t tier_ms,
		    char *buf, size_t size);

/** One topic the config implies. */
typedef struct drv_topic_spec {
	char    name[256];
	int     partitions;
	int     replication;
	int64_t retention_ms;   /**< -1 = broker default */
} drv_topic_spec_t;

/**
 * @brief Every topic \p cfg implies: task bands, delay tiers, DLQ (with
 *        kafka.dlq_retention), events, audit.
 * @param out  receives a malloc'd array the caller frees with free().
 */
drv_err_t drv_topics_planned(const drv_config_t *cfg, drv_topic_spec_t **out,
			     size_t *cnt, char *errstr, size_t errstr_size);

typedef enum drv_topic_state {
	DRV_TOPIC_CREATED,              /**< did not exist, created now */
	DRV_TOPIC_EXISTS,               /**< exists with enough partitions */
	DRV_TOPIC_TOO_FEW_PARTITIONS,   /**< exists with fewer than planned */
	DRV_TOPIC_FAILED,               /**< could not be created or read */
} drv_topic_state_t;

typedef struct drv_topic_report {
	drv_topic_spec_t  spec;
	drv_topic_state_t state;
	int               actual_partitions; /**< -1 if unknown */
	char              message[256];      /**< broker error text, if any */
} drv_topic_report_t;

const char *drv_topic_state_name(drv_topic_state_t st);

/**
 * @brief Create every planned topic that is missing and check the others,
 *        through the Admin API of \p rk (any client handle). Idempotent.
 * @param out  receives a malloc'd report array (free() it), one entry per
 *             planned topic, also when the function returns an error after
 *             contacting the broker.
 * @returns DRV_OK when every topic is CREATED or EXISTS; DRV_ERR_KAFKA if any
 *          topic FAILED or has too few partitions; DRV_ERR_TIMEOUT if the
 *          broker did not answer within \p timeout_ms.
 */
drv_err_t drv_topics_ensure(rd_kafka_t *rk, const drv_config_t *cfg,
			    int64_t timeout_ms, drv_topic_report_t **out,
			    size_t *cnt, char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------- clients */

/** @brief Map a librdkafka error code to drover's error enum. */
drv_err_t drv_kafka_err(rd_kafka_resp_err_t err);

/**
 * @brief Keep \p err and \p reason as the process's last Kafka client error
 *        (handles from drv_kafka_conf_new() and the daemons' error
 *        callbacks do), for messages such as drv_kafka_wait()'s timeout.
 * @locality any thread.
 */
void drv_kafka_remember_error(int err, const char *reason);

/** @brief Copy the last client error ("ERR_NAME: reason") into \p buf;
 *         false (and "") when there was none. Any thread. */
bool drv_kafka_last_error(char *buf, size_t size);

/**
 * @brief Print "PROGRAM VERSION (librdkafka X.Y.Z)" and a newline to \p out:
 *        drover's version and the librdkafka the process runs, read from
 *        the library itself (not from the header it was built with).
 */
void drv_version_print(FILE *out, const char *program);

/**
 * What lets a thread sleep until its own delivery report comes instead of
 * polling the producer (drv_delivery_watch()): for producers that a
 * dedicated thread polls (drv_kafka_poller_start()), where many threads
 * polling one handle would mostly wake each other.
 */
typedef struct drv_waiter {
	pthread_mutex_t lock;
	pthread_cond_t  cond;   /**< CLOCK_MONOTONIC */
	bool            fired;
} drv_waiter_t;

/**
 * A produce whose acknowledgement someone waits for. Pass a pointer to one
 * as the message opaque (RD_KAFKA_V_OPAQUE) on a handle made from
 * drv_kafka_conf_new(): the delivery report sets err, then done, then calls
 * on_delivery if set and fires waiter if set (from the thread serving the
 * producer's poll).
 */
typedef struct drv_delivery {
	volatile int        done;
	rd_kafka_resp_err_t err;
	int32_t             partition;
	int64_t             offset;
	void              (*on_delivery)(struct drv_delivery *d, void *arg);
	void               *arg;
	drv_waiter_t       *waiter;  /**< drv_delivery_watch(); NULL: polled */
} drv_delivery_t;

/**
 * @brief Before producing with \p d: drv_kafka_wait() on \p d will sleep on
 *        \p w until the report comes instead of polling the producer, so
 *        another thread must poll it (drv_kafka_poller_start()). \p w (the
 *        caller's, e.g. on its stack) is initialised here and destroyed by
 *        drv_kafka_wait().
 */
void drv_delivery_watch(drv_delivery_t *d, drv_waiter_t *w);

/** A thread that serves a producer's delivery reports. Opaque. */
typedef struct drv_kafka_poller drv_kafka_poller_t;

/**
 * @brief Start a thread that polls \p rk (borrowed, until stop) for its
 *        delivery reports. @returns the poller, or NULL (no thread).
 */
drv_kafka_poller_t *drv_kafka_poller_start(rd_kafka_t *rk);

/** @brief Stop and free the poller (before \p rk is destroyed). NULL is a
 *         no-op. */
void drv_kafka_poller_stop(drv_kafka_poller_t *p);

/**
 * @brief A librdkafka configuration from \p cfg: bootstrap servers,
 *        client.id, the kafka.properties pass-through, and drover's delivery
 *        report callback (see drv_delivery_t). For a consumer pass its
 *        \p group (manual offset store, auto commit of stored offsets, earliest
 *        reset); NULL for producers and admin use.
 * @returns a conf the caller owns (rd_kafka_new() takes it on success), or
 *          NULL with \p errstr naming the property librdkafka refused.
 */
rd_kafka_conf_t *drv_kafka_conf_new(const drv_config_t *cfg,
				    const char *group,
				    char *errstr, size_t errstr_size);

/**
 * @brief drv_kafka_conf_new() for a consumer that subscribes to \p group
 *        as a member: also the group protocol (kafka.group_protocol), the
 *        session timeout and heartbeat (classic only: under the consumer
 *        protocol they belong to the group, see drv_kafka_groups_tune()),
 *        and static membership with \p instance_id as `group.instance.id`
 *        when it is non-empty and kafka.static_membership allows it
 *        (`on`, or `auto` under the classic protocol).
 *        kafka.properties are applied last and win.
 * @returns a conf the caller owns, or NULL with \p errstr set.
 */
rd_kafka_conf_t *drv_kafka_member_conf_new(const drv_config_t *cfg,
					   const char *group,
					   const char *instance_id,
					   char *errstr, size_t errstr_size);

/** What drover says when kafka.group_protocol is consumer and the brokers
 *  have no KIP-848 groups, wherever it finds out. */
#define DRV_KIP848_UNSUPPORTED \
	"the brokers do not support kafka.group_protocol: consumer (KIP-848 " \
	"consumer groups need Kafka 4.0 or later); set " \
	"kafka.group_protocol: classic"

/** @brief The workers' delay consumer group: "<worker.group>.delay". */
void drv_delay_group_name(const drv_config_t *cfg, char *buf, size_t size);

/**
 * @brief Under the consumer protocol, set kafka.session_timeout and its
 *        heartbeat interval on each of \p groups (group configs
 *        `consumer.session.timeout.ms` and `consumer.heartbeat.interval.ms`,
 *        KIP-848), through \p rk (any client handle; not taken). A no-op
 *        under the classic protocol. Blocks up to kafka.connect_timeout.
 *        At most 8 groups.
 * @returns DRV_OK; DRV_ERR_UNSUPPORTED when the brokers have no KIP-848
 *          groups (Kafka 3.x: they know no group configs); otherwise an
 *          error with \p errstr naming the broker settings that bound the
 *          values when the broker refuses them.
 */
drv_err_t drv_kafka_groups_tune(rd_kafka_t *rk, const drv_config_t *cfg,
				const char *const *groups, size_t group_cnt,
				char *errstr, size_t errstr_size);

/**
 * @brief Take (\p err RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) or give up
 *        (otherwise) \p parts in a rebalance callback, incrementally
 *        under the cooperative protocol, wholesale under the eager one
 *        (which kafka.properties may choose).
 */
void drv_kafka_rebalance_apply(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts);

/**
 * @brief A producer for \p cfg, made with drv_kafka_conf_new(). Caller
 *        destroys it with rd_kafka_destroy() (after rd_kafka_flush()).
 */
rd_kafka_t *drv_kafka_producer_new(const drv_config_t *cfg,
				   char *errstr, size_t errstr_size);

/**
 * @brief A producer for threads to share with watched deliveries
 *        (drv_delivery_watch()): drv_kafka_producer_new() whose messages
 *        give up by themselves after kafka.connect_timeout
 *        (message.timeout.ms; request.timeout.ms at most that; at most
 *        a minute for drv_kafka_wait() to wait on it), so every report
 *        comes and no waiter has to purge the queue it shares with the
 *        others. \p linger_ms >= 0 sets its linger.ms (over
 *        kafka.properties), -1 keeps drover's 5 ms or the configured one.
 *        Caller destroys it as drv_kafka_producer_new()'s.
 */
rd_kafka_t *drv_kafka_producer_shared_new(const drv_config_t *cfg,
					  int64_t linger_ms,
					  char *errstr, size_t errstr_size);

/**
 * @brief A producer for a command that produces a few messages and exits
 *        (droverctl), ready to send when it returns: drv_kafka_producer_new()
 *        with linger.ms \p linger_ms (-1: drover's 5 ms or the configured
 *        one) and reconnect.backoff.ms 20 (librdkafka holds back its
 *        connection to the broker it learns from the bootstrap address
 *        for half of that), over kafka.properties. It then asks for
 *        \p topic's metadata (the topic it produces to first) until a
 *        learned broker answers, at most \p warm_ms: an idempotent
 *        producer asks for its id on such an answer, or else on a 500 ms
 *        timer. Asking for one topic, not the cluster's every topic,
 *        keeps that answer small. Caller destroys it as
 *        drv_kafka_producer_new()'s; NULL with \p errstr set.
 */
rd_kafka_t *drv_kafka_producer_brief_new(const drv_config_t *cfg,
					 const char *topic, int64_t linger_ms,
					 int64_t warm_ms, char *errstr,
					 size_t errstr_size);

/** A Kafka header: both strings borrowed for the call. */
typedef struct drv_header {
	const char *name;
	const char *value;
} drv_header_t;

/**
 * @brief Produce one message without waiting. \p rk must come from
 *        drv_kafka_conf_new(); key, value and headers are copied. \p dr
 *        must stay valid until its done flag is set, which happens from
 *        rd_kafka_poll() on \p rk; NULL when nobody waits for this one
 *        (rd_kafka_flush() then waits for all).
 * @returns DRV_OK when queued; on error \p dr is never reported.
 */
drv_err_t drv_kafka_produce(rd_kafka_t *rk, const char *topic,
			    const void *key, size_t key_len,
			    const void *value, size_t value_len,
			    const drv_header_t *headers, size_t header_cnt,
			    drv_delivery_t *dr, char *errstr,
			    size_t errstr_size);

/**
 * @brief Serve \p rk's delivery reports until \p d is done or \p timeout_ms
 *        passed (with \p d watched, sleep until its report instead). On
 *        timeout the producer's queue is purged (so the report cannot
 *        arrive after the caller's \p d is gone) and DRV_ERR_TIMEOUT
 *        returned; a refused produce returns its error. On a producer
 *        that bounds every message's life (drv_kafka_producer_shared_new())
 *        \p d is waited for past \p timeout_ms until its report comes,
 *        within that bound, and a purge is only the last resort: an
 *        expired message answers DRV_ERR_TIMEOUT by itself, and the
 *        messages of the threads sharing the producer stay. \p topic is
 *        only used in messages.
 */
drv_err_t drv_kafka_wait(rd_kafka_t *rk, drv_delivery_t *d,
			 const char *topic, int64_t timeout_ms,
			 char *errstr, size_t errstr_size);

/**
 * @brief Produce one message and wait until the broker acknowledged it (or
 *        \p timeout_ms passed). \p rk must come from drv_kafka_conf_new().
 *        The value and key are copied.
 * @param dr  optional; receives partition and offset on success.
 */
drv_err_t drv_kafka_produce_sync(rd_kafka_t *rk, const char *topic,
				 const void *key, size_t key_len,
				 const void *value, size_t value_len,
				 const drv_header_t *headers, size_t header_cnt,
				 int64_t timeout_ms, drv_delivery_t *dr,
				 char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------- publish */

/**
 * @brief The topic a task goes to now: its band's task topic when it is due
 *        (not_before <= now_ms), else the delay tier for the time left: the
 *        longest tier not longer than the wait, or the shortest tier.
 */
void drv_task_route(const drv_config_t *cfg, const drv_task_t *t,
		    int64_t now_ms, char *topic, size_t size);

/**
 * @brief Encode \p t and produce it to \p topic keyed by t->key (or the id)
 *        with headers drover-task-id, drover-handler, drover-priority,
 *        drover-attempt. Asynchronous like drv_kafka_produce().
 */
drv_err_t drv_task_produce(rd_kafka_t *rk, const drv_task_t *t,
			   const char *topic, drv_delivery_t *dr,
			   char *errstr, size_t errstr_size);

/**
 * @brief Encode \p t, produce it to drv_task_route()'s topic keyed by
 *        t->key (or the id) with headers drover-task-id, drover-handler,
 *        drover-priority, drover-attempt, and wait for the acknowledgement.
 * @param topic_out  optional, receives the topic name.
 */
drv_err_t drv_task_publish(rd_kafka_t *rk, const drv_config_t *cfg,
			   const drv_task_t *t, int64_t timeout_ms,
			   char *topic_out, size_t topic_size,
			   char *errstr, size_t errstr_size);

/**
 * @brief Encode \p e and produce it to the events topic keyed by its id,
 *        with headers drover-event-id and drover-event-type, without
 *        waiting: \p dr as for drv_kafka_produce().
 */
drv_err_t drv_event_produce(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_event_t *e, drv_delivery_t *dr,
			    char *errstr, size_t errstr_size);

/**
 * @brief Encode \p e, produce it to the events topic keyed by its id with
 *        headers drover-event-id and drover-event-type, and wait for the
 *        acknowledgement.
 */
drv_err_t drv_event_publish(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_event_t *e, int64_t timeout_ms,
			    char *errstr, size_t errstr_size);

/**
 * @brief Encode \p a and produce it to the audit topic, as
 *        drv_audit_publish() does, without waiting: \p dr as for
 *        drv_kafka_produce().
 */
drv_err_t drv_audit_produce(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_audit_t *a, drv_delivery_t *dr,
			    char *errstr, size_t errstr_size);

/**
 * @brief Encode \p a, produce it to the audit topic keyed by its target
 *        (its action when it has none) with headers drover-audit-action and
 *        drover-audit-actor, and wait for the acknowledgement.
 */
drv_err_t drv_audit_publish(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_audit_t *a, int64_t timeout_ms,
			    char *errstr, size_t errstr_size);

/**
 * @brief Write one audit record of an operator action and wait for the
 *        acknowledgement: a new id, now, this host, and the strings given
 *        (borrowed): \p actor (who: a login or an API token name),
 *        \p action ("task.pause"), \p target (may be NULL), \p count of
 *        things affected, \p details_json (a JSON object's text, or NULL)
 *        and \p result (NULL = "ok"). Waits connect_timeout at most; with
 *        \p dr, only produces, and the caller waits on \p dr as for
 *        drv_kafka_produce() (so a write and its record share one round
 *        trip).
 * @locality any thread; \p rk may be shared.
 */
drv_err_t drv_audit_write(rd_kafka_t *rk, const drv_config_t *cfg,
			  const char *actor, const char *action,
			  const char *target, uint64_t count,
			  const char *details_json, const char *result,
			  drv_delivery_t *dr, char *errstr,
			  size_t errstr_size);

/**
 * @brief Encode \p dl and produce it to the dead-letter topic, keyed by the
 *        task id (the dead letter's id when there is no task), with headers
 *        drover-dl-reason, drover-task-id, drover-handler, drover-attempts
 *        and drover-source-topic so kcat shows them without the schema.
 *        Asynchronous like drv_kafka_produce(): \p dr reports the
 *        acknowledgement.
 */
drv_err_t drv_dead_letter_produce(rd_kafka_t *rk, const drv_config_t *cfg,
				  const drv_dead_letter_t *dl,
				  drv_delivery_t *dr,
				  char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_KAFKA_H */
