/*
 * observe.c — what the coordinator shows about itself on
 * coordinator.http_port: /healthz (the main loop turns), /readyz (ready
 * with Redis, "leader" or "standby" in the detail; not ready without
 * Redis) and /metrics: leader or not, schedules loaded, fires by outcome,
 * fire lateness, triggers by outcome, events read, leadership changes,
 * and the dead-letter topic's depth (refreshed on a thread of its own
 * every DLQ_DEPTH_EVERY_MS, never while serving a request).
 * Also here: starting the HTTP API (api/) on api.port, with a config of its
 * own (reloads replace the coordinator's).
 */
#include <string.h>

extern char **environ;

#include <pthread.h>
#include <time.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/queue_status.h"
#include "drover/str.h"

#define LIVENESS_STALL_MS  60000
#define DLQ_DEPTH_EVERY_MS 5000
#define DLQ_DEPTH_WAIT_MS  1000   /* per watermark request */

/* Lateness of publishes after the due time: tens of ms to a minute. */
static const double lateness_bounds[] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};

static bool healthz(void *arg, char *detail, size_t size)
{
	coord_t *c = arg;
	int64_t idle = drv_mono_ms() -
		       __atomic_load_n(&c->obs.loop_ms, __ATOMIC_RELAXED);

	if (idle < LIVENESS_STALL_MS)
		return true;
	drv_fmt(detail, size, "main loop silent for %lld ms",
		(long long)idle);
	return false;
}

static drv_readiness_t readyz(void *arg, char *detail, size_t size)
{
	coord_t *c = arg;

	if (coord_stopping(c)) {
		drv_fmt(detail, size, "stopping");
		return DRV_NOT_READY;
	}
	if (!__atomic_load_n(&c->ready, __ATOMIC_RELAXED)) {
		drv_fmt(detail, size, "redis unreachable");
		return DRV_NOT_READY;
	}
	drv_fmt(detail, size, "%s", __atomic_load_n(&c->is_leader,
		__ATOMIC_RELAXED) ? "leader" : "standby");
	return DRV_READY;
}

/* The HTTP API on api.host:api.port, when the port is not 0, with a
 * config loaded again for it alone (a reload frees the coordinator's). */
static bool api_start(coord_t *c)
{
	const drv_config_t *cfg = c->cfg;
	drv_config_t *own = NULL;
	const char *dir, *why;
	char err[512], port[16];
	size_t active = 0;

	if (cfg->api.port == 0)
		return true;
	if (cfg->path ? drv_config_load(cfg->path, environ, &own, err,
					sizeof(err)) :
	    !(own = drv_config_new())) {
		drv_log_kv(DRV_LOG_ERROR, "cannot load the config for the API",
			   "error", err, NULL);
		return false;
	}
	for (size_t i = 0; i < cfg->api_token_cnt; i++) {
		if (cfg->api_tokens[i].active)
			active++;
		else
			drv_log_kv(DRV_LOG_WARN, "API token is off: its "
				   "variable is unset or empty", "token",
				   cfg->api_tokens[i].name, "env",
				   cfg->api_tokens[i].env, NULL);
	}
	if (drv_api_start(own, &c->api, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot serve the API", "error", err,
			   NULL);
		return false;
	}
	drv_fmt(port, sizeof(port), "%u", drv_api_port(c->api));
	drv_log_kv(active ? DRV_LOG_INFO : DRV_LOG_WARN, active ?
		   "serving the API" : "serving the API, but no token is "
		   "active: every request but /api/v1/openapi.json gets 401",
		   "host", cfg->api.host, "port", port, NULL);
	if ((dir = drv_api_console_dir(c->api, &why)))
		drv_log_kv(DRV_LOG_INFO, "serving the web console at /", "dir",
			   dir, NULL);
	else if (cfg->api.console_dir && *cfg->api.console_dir)
		drv_log_kv(DRV_LOG_WARN, "not serving the web console",
			   "reason", why, NULL);
	return true;
}

/* drover_dlq_depth, refreshed every DLQ_DEPTH_EVERY_MS on a thread of its
 * own: the watermark queries wait for the broker (up to a second per
 * partition when a leader moves), which on the main loop would hold up
 * fires and the leader lease. Through the events consumer (rd_kafka_t is
 * thread-safe), not a producer, whose metadata request may have the broker
 * create a missing topic. */
static void *depth_main(void *arg)
{
	coord_t *c = arg;
	coord_obs_t *o = &c->obs;
	int64_t next = 0, depth;
	bool failing = false;
	char err[512];

	while (!coord_stopping(c)) {
		if (drv_mono_ms() < next) {
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			continue;
		}
		next = drv_mono_ms() + DLQ_DEPTH_EVERY_MS;
		if (drv_topic_depth(c->consumer, o->dlq_topic,
				    DLQ_DEPTH_WAIT_MS, &depth, err,
				    sizeof(err))) {
			if (!failing)
				drv_log_kv(DRV_LOG_WARN, "cannot read the DLQ "
					   "depth", "error", err, NULL);
			failing = true;
			continue;
		}
		failing = false;
		drv_gauge_set(o->dlq_depth, NULL, depth);
		__atomic_store_n(&o->dlq_depth_now, depth, __ATOMIC_RELAXED);
	}
	return NULL;
}

bool observe_start(coord_t *c)
{
	coord_obs_t *o = &c->obs;
	char err[256];

	o->loop_ms = drv_mono_ms();
	o->dlq_depth_now = -1;
	if (!(o->m = drv_metrics_new()))
		return false;
	o->leader = drv_metrics_gauge(o->m, "drover_coordinator_leader",
		"1 while this coordinator holds the leader lease.", NULL);
	o->schedules = drv_metrics_gauge(o->m, "drover_schedules",
		"Schedules loaded (file and run time).", NULL);
	o->fires = drv_metrics_counter(o->m, "drover_schedule_fires_total",
		"Fires handled by this leader, by outcome (published, "
		"duplicate, skipped_overlap, buffered, failed).",
		(const char *const[]){ "outcome", NULL });
	o->lateness = drv_metrics_histogram(o->m,
		"drover_schedule_fire_lateness_seconds",
		"Time from a fire's due time to its publish acknowledgement.",
		NULL, lateness_bounds,
		sizeof(lateness_bounds) / sizeof(lateness_bounds[0]));
	o->triggers = drv_metrics_counter(o->m, "drover_triggers_total",
		"Trigger matches, by trigger and outcome (published, "
		"depth_limit, bad_payload, failed, before_trigger).",
		(const char *const[]){ "trigger", "outcome", NULL });
	o->events = drv_metrics_counter(o->m, "drover_events_total",
		"Events read, by outcome (acted, duplicate, unmatched, "
		"undecodable).", (const char *const[]){ "outcome", NULL });
	o->leader_changes = drv_metrics_counter(o->m,
		"drover_leader_changes_total",
		"Times this coordinator became leader or stepped down.", NULL);
	o->dlq_depth = drv_metrics_gauge(o->m, "drover_dlq_depth",
		"Dead letters in the DLQ topic: high minus low watermark "
		"summed over its partitions (retention shrinks it; a "
		"resubmitted letter stays until then).", NULL);
	o->dlq_index_lag = drv_metrics_gauge(o->m, "drover_dlq_index_lag",
		"Dead letters the DLQ search index has not taken in yet "
		"(the leader's; -1 on a coordinator that does not index, or "
		"cannot: Redis or Kafka failing).",
		NULL);
	o->dlq_archived = drv_metrics_counter(o->m,
		"drover_dlq_archived_total",
		"Dead letters this coordinator wrote to the DLQ archive.", NULL);
	o->webhooks = drv_metrics_counter(o->m,
		"drover_webhook_deliveries_total",
		"Webhook deliveries this coordinator made from events, by "
		"outcome (queued: the delivery task is on the task topics; "
		"lost: it could not be published, logged).",
		(const char *const[]){ "outcome", NULL });
	o->dlq_jobs_running = drv_metrics_gauge(o->m,
		"drover_dlq_jobs_running",
		"DLQ resubmission jobs this coordinator is running (0 or 1).",
		NULL);
	o->dlq_job_resubmitted = drv_metrics_counter(o->m,
		"drover_dlq_job_resubmitted_total",
		"Dead letters resubmitted by the DLQ jobs this coordinator "
		"ran.", NULL);
	o->dlq_job_discarded = drv_metrics_counter(o->m,
		"drover_dlq_job_discarded_total",
		"Dead letters discarded by the DLQ discard jobs this "
		"coordinator ran.", NULL);
	drv_gauge_set(o->schedules, NULL, (int64_t)drv_sched_count(c->sched));
	drv_topic_name(c->cfg, DRV_TOPIC_DLQ, NULL, 0, o->dlq_topic,
		       sizeof(o->dlq_topic));
	if (o->dlq_depth && c->consumer &&
	    !pthread_create(&o->depth_thread, NULL, depth_main, c))
		o->depth_running = true;
	if (!api_start(c))
		return false;
	if (c->cfg->coordinator.http_port == 0)
		return true;
	{
		drv_httpd_conf_t hc = {
			.healthz = healthz, .readyz = readyz, .arg = c,
			.metrics = o->m,
			.metrics_token = c->cfg->coordinator.metrics_token,
		};
		if (drv_httpd_start(c->cfg->coordinator.http_host,
				    (unsigned)c->cfg->coordinator.http_port,
				    &hc, &o->httpd, err, sizeof(err))) {
			drv_log_kv(DRV_LOG_ERROR, "cannot serve health and "
				   "metrics", "error", err, NULL);
			return false;
		}
	}
	return true;
}

void observe_depth_stop(coord_t *c)
{
	if (!c->obs.depth_running)
		return;
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELAXED);
	pthread_join(c->obs.depth_thread, NULL);
	c->obs.depth_running = false;
}

void observe_stop(coord_t *c)
{
	observe_depth_stop(c);
	drv_api_stop(c->api);
	c->api = NULL;
	drv_httpd_stop(c->obs.httpd);
	c->obs.httpd = NULL;
	drv_metrics_destroy(c->obs.m);
	c->obs.m = NULL;
}
