/*
 * coord.h — what the coordinator's files share: the coordinator object and
 * the entry points of each part. Everything runs on the main thread (one
 * loop in main.c) except the HTTP server's callbacks (observe.c), which only
 * read atomics and the metrics registry.
 *
 *   main.c      start-up, the loop, signals, config reload (SIGHUP, mtime)
 *   leader.c    the Redis lease, renewal, fencing token
 *   schedules.c the schedule set: add, remove, enable, resume (catch-up)
 *   fire.c      the scheduler: due fires, overlap policies, markers,
 *               publish
 *   runtime.c   run-time schedules (droverctl) kept in Redis
 *   events.c    the events consumer: triggers, lifecycle events
 *   stats.c     per-schedule statistics and unfinished runs in Redis
 *   observe.c   /healthz /readyz /metrics, and the HTTP API (api/)
 *   archive.c   the DLQ archiver (its own thread, leader only)
 *   dlq_index.c the DLQ search index (its own thread, leader only)
 *   webhooks.c  events -> webhook delivery tasks
 *   dlq_jobs.c  the DLQ resubmission job runner (its own thread, every
 *               replica)
 *
 * Redis keys, with P = redis.key_prefix:
 *   P coord:leader            lease: the leader's id, PX lease_ttl
 *   P coord:fence             fencing token counter (INCR per takeover)
 *   P fire:<id>:<ms>          fire marker of schedule id at nominal ms
 *   P sched:last              hash id -> last nominal ms handled
 *   P sched:next              hash id -> next nominal ms (leader's view)
 *   P sched:run:<id>          task id of the unfinished run (overlap)
 *   P sched:stats:<id>        hash of statistics (stats.c)
 *   P sched:trigger           list of fire-now requests (JSON), oldest
 *                             first (drover/sched_edit.h)
 *   P fire:<id>:manual:<task> marker of a fire-now request
 *   P sched:durations:<id>    list of the last run durations, newest first
 *   P schedules               hash id -> JSON: run-time schedules
 *   P schedules:enabled       hash id -> 1/0: enable/disable overrides
 *   P schedules:version       bumped on every run-time change
 *   P event:<id>              an event id acted on (dedup marker)
 *   P triggers:since          hash trigger name -> ms it was first loaded
 *   P webhooks, P webhooks:version   subscriptions (drover/webhook.h)
 *   P dlqjob:<id>, P dlqjobs ...      DLQ resubmission jobs, their
 *                             leases (drover/dlq_job.h; dlq_jobs.c)
 */
#ifndef DROVER_COORD_H
#define DROVER_COORD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "drover/api.h"
#include "drover/daemon.h"
#include "drover/event.h"
#include "drover/httpd.h"
#include "drover/metrics.h"
#include "drover/schedule.h"
#include "drover/str.h"
#include "drover/task.h"

/** Per schedule state kept by the coordinator (drv_sched_item_t.user). */
typedef struct sched_state {
	int64_t last_ms;      /**< last nominal time handled, -1 = none */
	int64_t buffered_ms;  /**< buffer_one: the fire kept, 0 = none */
	struct drv_sched_trigger *buffered_req; /**< buffer_one: the manual
						    fire kept (malloc'd), or
						    NULL */
	char   *json;         /**< run-time schedules: the JSON in Redis */
	bool    file;         /**< defined in the config file */
	bool    base_enabled; /**< enabled as defined (file or JSON), before
				   any droverctl enable/disable override */
} sched_state_t;

typedef struct coord_obs {
	drv_metrics_t   *m;
	drv_httpd_t     *httpd;
	drv_gauge_t     *leader, *schedules, *dlq_depth, *dlq_index_lag;
	drv_counter_t   *fires, *triggers, *events, *leader_changes;
	drv_counter_t   *dlq_archived;
	drv_counter_t   *webhooks;       /* deliveries made, by outcome */
	drv_gauge_t     *dlq_jobs_running;
	drv_counter_t   *dlq_job_resubmitted;
	drv_counter_t   *dlq_job_discarded;
	drv_histogram_t *lateness;
	int64_t          loop_ms;      /* mono ms of the last loop turn */
	char             dlq_topic[256];
	pthread_t        depth_thread; /* refreshes dlq_depth */
	bool             depth_running;
	int64_t          dlq_depth_now; /* the last depth read; -1 none yet
					   (atomic: the depth thread's) */
} coord_obs_t;

typedef struct archiver archiver_t;
typedef struct dlq_indexer dlq_indexer_t;
typedef struct job_runner job_runner_t;

typedef struct coord {
	drv_daemon_t  *d;
	drv_config_t  *cfg;            /* d->cfg; replaced by reloads */
	rd_kafka_t    *producer;
	rd_kafka_t    *consumer;       /* events topic(s), coordinator.group */
	redisContext  *redis;
	int64_t        redis_retry_at, redis_backoff, redis_checked;

	/* leader.c */
	bool           leader;
	uint64_t       fence;          /* token of the current leadership */
	int64_t        lease_until;    /* mono ms the lease is safe until */
	int64_t        lease_next;     /* mono ms of the next renew/acquire */
	bool           resumed;        /* fire.c resumed since takeover */
	int64_t        alert_next;     /* dlq_alert.c: mono ms of its next
					  check */
	int64_t        trend_slot;     /* dlq_trend.c: the interval start
					  of the last depth sample written */

	/* fire.c / runtime.c */
	drv_sched_t   *sched;
	long long      rt_version;     /* last P schedules:version seen */
	int64_t        rt_checked;     /* mono ms */
	int64_t        buffer_checked; /* mono ms */

	/* events.c: trigger name -> ms it was first loaded (integer) */
	struct json_t *trigger_since;

	/* webhooks.c: the subscriptions as of webhooks_version */
	struct json_t *webhooks;
	int64_t        webhooks_version;
	int64_t        webhooks_checked; /* mono ms */

	/* main.c */
	int64_t        started_ms;     /* wall clock ms the process began */
	int64_t        cfg_mtime;      /* ns */
	int64_t        cfg_checked;

	coord_obs_t    obs;
	drv_api_t     *api;            /* the HTTP API, NULL when off */
	archiver_t    *archiver;       /* archive.c; NULL when off */
	dlq_indexer_t *dlq_indexer;    /* dlq_index.c */
	job_runner_t  *job_runner;     /* dlq_jobs.c; NULL when off */
	volatile int   ready;          /* atomics for the HTTP thread */
	volatile int   is_leader;
	volatile int   stopping;
} coord_t;

/** @brief Whether the coordinator is stopping (any thread). */
static inline bool coord_stopping(const coord_t *c)
{
	return __atomic_load_n(&c->stopping, __ATOMIC_RELAXED);
}

/** @brief The coordinator's state of schedule \p it. */
static inline sched_state_t *coord_state(drv_sched_item_t *it)
{
	return it->user;
}

/** @brief \p ms as decimal text (Redis arguments, log values). */
static inline void coord_fmt_ms(char *buf, size_t size, int64_t ms)
{
	drv_fmt(buf, size, "%lld", (long long)ms);
}

/* main.c */
/** @brief A Redis key "<prefix><fmt...>" into \p buf. */
void coord_key(const coord_t *c, char *buf, size_t size, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
/** @brief Run a command on the coordinator's Redis connection; NULL (and
 *         the connection dropped for the next reconnect) if Redis is gone.
 *         The caller frees the reply with freeReplyObject(). */
redisReply *coord_redis(coord_t *c, const char *fmt, ...);
/** @brief Drop the Redis connection after an I/O error (reconnects with
 *         backoff). */
void coord_redis_lost(coord_t *c, const char *why);

/* template.c */
/** @brief Fill the initialised-or-not \p t (it is initialised here) from
 *         template \p tm: a new id, handler, \p payload (NULL = the
 *         template's, or "{}"), priority, policy, attempts, deadline
 *         (now + tm->deadline_ms), labels, submitted_by.
 *  @returns DRV_OK or DRV_ERR_NOMEM (\p t then empty). */
drv_err_t coord_task_build(const coord_t *c, const drv_task_template_t *tm,
			   const char *payload, int64_t now_ms,
			   drv_task_t *t);

/** @brief A trigger's JSON payload template \p tmpl with ${event.id},
 *         ${event.type}, ${event.source}, ${event.payload} and
 *         ${attr.NAME} filled in from \p e. Inside a JSON string a value
 *         is written as escaped string content; elsewhere as one JSON
 *         value: itself when it is one JSON value (re-encoded, so it can
 *         add no member or element), else a JSON string. An empty payload
 *         is `null`. Unknown placeholders are left as they are.
 *  @returns a malloc'd string the caller frees, NULL when out of memory. */
char *coord_template_fill(const char *tmpl, const drv_event_t *e);

/* leader.c */
/** @brief Acquire or renew the lease when it is time; step down when it
 *         cannot be renewed in time. */
void leader_tick(coord_t *c);
/** @brief True while this process leads and its lease is safe. */
bool leader_safe(const coord_t *c);
/** @brief Give the lease up (shutdown), if held. */
void leader_release(coord_t *c);
/** @brief Step down at once (a Lua script found another owner). */
void leader_lost(coord_t *c, const char *why);

/* schedules.c */
/** @brief Resume every schedule after a takeover (reads P sched:last). */
void fire_resume_all(coord_t *c);
/** @brief Resume one schedule (new, changed or enabled) while leading. */
void fire_resume(coord_t *c, drv_sched_item_t *it);
/** @brief Put \p conf in the set (file or run time) and resume it if this
 *         process leads. @returns false (logged) if refused. */
bool fire_put(coord_t *c, const drv_schedule_conf_t *conf, bool file,
	      const char *json);
/** @brief Free a schedule's state (its JSON and kept request too);
 *         NULL is a no-op. */
void coord_state_free(sched_state_t *st);
/** @brief Remove schedule \p id. */
void fire_remove(coord_t *c, const char *id);
/** @brief Apply an enabled flag (file's, or an override). */
void fire_set_enabled(coord_t *c, drv_sched_item_t *it, bool on);
/* fire.c */
/** @brief Fire what is due; returns ms until the next due time (capped). */
int64_t fire_due(coord_t *c, int64_t cap_ms);
/** @brief buffer_one: fire kept fires whose run has ended. */
void fire_buffered(coord_t *c);
/** @brief Fire the requests queued by drv_sched_trigger() (P
 *         sched:trigger), while leading. */
void fire_requested(coord_t *c);

/* runtime.c */
/** @brief Every second: reload run-time schedules and enable/disable
 *         overrides from Redis when their version changed. */
void runtime_tick(coord_t *c, bool force);

/* events.c */
/** @brief Make the events consumer (subscribed to the events topic and
 *         coordinator.event_topics). A partition the group has no offset
 *         for starts at the coordinator's start (coordinator.events_start:
 *         latest) or at the beginning (earliest).
 *         @returns false (logged) on error. */
bool events_start(coord_t *c);
/** @brief Poll events for up to \p timeout_ms and act on them. */
void events_poll(coord_t *c, int timeout_ms);
/** @brief Learn when each trigger of the config was first loaded by any
 *         coordinator (P triggers:since, set once per name), so that a
 *         trigger skips events older than itself; after start and every
 *         reload. Without Redis: the time this process first loaded it. */
void events_triggers_loaded(coord_t *c);
void events_stop(coord_t *c);

/* webhooks.c */
/** @brief Whether a webhook subscription wants \p e (the subscriptions
 *         are read again first when they changed). */
bool webhooks_wanted(coord_t *c, const drv_event_t *e);
/** @brief Publish a delivery task of \p e for each subscription that
 *         wants it (as of the last webhooks_wanted()). */
void webhooks_dispatch(coord_t *c, const drv_event_t *e);
/** @brief Free the kept subscriptions. */
void webhooks_stop(coord_t *c);

/* stats.c */
/** @brief A lifecycle event of a scheduled task: statistics, and the end
 *         of an unfinished run. \p type is task.succeeded, task.dead or
 *         task.retrying. */
void stats_lifecycle(coord_t *c, const char *schedule_id, const char *type,
		     const char *task_id, int64_t duration_ms,
		     int64_t finished_ms);

/* dlq_index.c */
/** @brief Start the DLQ index thread (it indexes only while this process
 *         leads). */
bool dlq_index_start(coord_t *c);
/** @brief Stop and join it (sets c->stopping); no-op when not started. */
void dlq_index_stop(coord_t *c);

/* archive.c */
/** @brief Start the DLQ archiver thread when coordinator.archive_dir is
 *         set (it archives only while this process leads).
 *         @returns false (logged) if it cannot start. */
bool archive_start(coord_t *c);
/** @brief Stop and join the archiver (sets c->stopping); no-op when off. */
void archive_stop(coord_t *c);

/* dlq_jobs.c */
/** @brief Start the DLQ job runner thread (every replica runs jobs).
 *         @returns false (logged) if it cannot start. */
bool dlq_jobs_start(coord_t *c);
/** @brief Stop and join the runner (sets c->stopping; a job running is
 *         left running, its lease given back, for another replica);
 *         before the producer goes. No-op when off. */
void dlq_jobs_stop(coord_t *c);

/* observe.c */
bool observe_start(coord_t *c);
void observe_stop(coord_t *c);
/** @brief Stop and join the thread that refreshes drover_dlq_depth (sets
 *  c->stopping); before the events consumer it queries goes. No-op when
 *  it does not run. */
void observe_depth_stop(coord_t *c);

/* dlq_trend.c */
/** @brief While leading: write the DLQ depth sample of the current
 *         coordinator.dlq_depth_interval, once. */
void dlq_trend_tick(coord_t *c);

/* dlq_alert.c */
/** @brief Tell dlq.depth_exceeded / dlq.depth_recovered once per crossing
 *         of coordinator.dlq_depth_alert, for the whole fleet. */
void dlq_alert_tick(coord_t *c);

#endif /* DROVER_COORD_H */
