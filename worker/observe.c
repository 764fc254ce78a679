/*
 * observe.c — what the worker shows about itself: Prometheus metrics
 * (tasks by handler and outcome, attempts, durations, in flight, consumer
 * lag, delay backlog, dead letters) and the /healthz and /readyz answers,
 * served by the core's small HTTP server on worker.http_port.
 *
 * Counters are bumped from the runner and main threads; gauges that mirror
 * Kafka state are refreshed when /metrics is rendered, on the HTTP thread
 * (librdkafka's assignment, position and watermark calls are thread-safe).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

#define LIVENESS_STALL_MS 120000  /* main loop silent this long = dead */

static const char *const handler_outcome[] = { "handler", "outcome", NULL };
static const char *const handler_only[] = { "handler", NULL };
static const char *const reason_only[] = { "reason", NULL };
static const char *const topic_partition[] = { "topic", "partition", NULL };
static const char *const result_only[] = { "result", NULL };

/* The task-state writer's counts since the last render, as counters. */
static void state_counts(worker_t *w)
{
	observe_t *o = &w->obs;
	drv_state_stats_t s;
	static const char *const written[] = { "written", NULL },
			  *const dropped[] = { "dropped", NULL },
			  *const error[] = { "error", NULL },
			  *const shed[] = { "shed", NULL },
			  *const merged[] = { "merged", NULL },
			  *const failed[] = { "failed", NULL },
			  *const lost[] = { "analytics_lost", NULL };

	if (!w->state)
		return;
	drv_state_stats(w->state, &s);
	drv_counter_add(o->state_records, written,
			(double)(s.written - o->state_seen.written));
	drv_counter_add(o->state_records, dropped,
			(double)(s.dropped - o->state_seen.dropped));
	drv_counter_add(o->state_records, error,
			(double)(s.errors - o->state_seen.errors));
	drv_counter_add(o->state_records, shed,
			(double)(s.shed - o->state_seen.shed));
	drv_counter_add(o->state_records, merged,
			(double)(s.merged - o->state_seen.merged));
	drv_counter_add(o->group_index, written,
			(double)(s.groups_written - o->state_seen.groups_written));
	drv_counter_add(o->group_index, failed,
			(double)(s.groups_failed - o->state_seen.groups_failed));
	drv_counter_add(o->state_records, lost,
			(double)(s.stats_lost - o->state_seen.stats_lost));
	drv_gauge_set(o->state_queued, NULL, (int64_t)s.queued);
	o->state_seen = s;
}

/* Lag of every assigned partition of \p rk into \p g; returns the sum. */
static int64_t lag(rd_kafka_t *rk, drv_gauge_t *g)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	int64_t sum = 0;

	if (!rk || rd_kafka_assignment(rk, &parts))
		return 0;
	rd_kafka_position(rk, parts);
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t lo = 0, hi = 0, l;
		char part[16];

		if (rd_kafka_get_watermark_offsets(rk, p->topic, p->partition,
						   &lo, &hi))
			continue;
		l = p->offset >= 0 ? hi - p->offset : hi - lo;
		if (l < 0)
			l = 0;
		drv_fmt(part, sizeof(part), "%d", (int)p->partition);
		if (g)
			drv_gauge_set(g, (const char *const[]){ p->topic, part },
				      l);
		sum += l;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	return sum;
}

static void collect(drv_metrics_t *m, void *arg)
{
	worker_t *w = arg;
	observe_t *o = &w->obs;

	(void)m;
	drv_gauge_set(o->in_flight, NULL,
		      (int64_t)__atomic_load_n(&w->running, __ATOMIC_RELAXED));
	lag(w->consumer, o->lag);
	drv_gauge_set(o->delay_backlog, NULL, lag(w->delay, NULL));
	state_counts(w);
	drv_gauge_set(o->plugin_hung, NULL, (int64_t)runners_plugins_hung(w));
}

static bool healthz(void *arg, char *detail, size_t size)
{
	worker_t *w = arg;
	int64_t idle = drv_mono_ms() -
		       __atomic_load_n(&w->obs.loop_ms, __ATOMIC_RELAXED);

	size_t hung = runners_plugins_hung(w);

	if (idle >= LIVENESS_STALL_MS + w->cfg->worker.shutdown_grace_ms) {
		drv_fmt(detail, size, "main loop silent for %lld ms",
			(long long)idle);
		return false;
	}
	/* each hung call keeps a thread and its task; a restart frees them */
	if (hung >= (size_t)w->cfg->worker.concurrency) {
		drv_fmt(detail, size, "%zu plugin calls hung (worker."
			"concurrency is %d)", hung,
			(int)w->cfg->worker.concurrency);
		return false;
	}
	return true;
}

static drv_readiness_t readyz(void *arg, char *detail, size_t size)
{
	worker_t *w = arg;

	if (!__atomic_load_n(&w->obs.joined, __ATOMIC_RELAXED)) {
		drv_fmt(detail, size, "not yet in consumer group %s",
			w->cfg->worker.group);
		return DRV_NOT_READY;
	}
	if (__atomic_load_n(&w->obs.stopping, __ATOMIC_RELAXED)) {
		drv_fmt(detail, size, "stopping");
		return DRV_NOT_READY;
	}
	if (breakers_local(w)) {
		drv_fmt(detail, size, "redis unreachable: breakers are local "
			"per-worker breakers");
		return DRV_DEGRADED;
	}
	if (w->state && drv_state_degraded(w->state)) {
		/* tasks still run; state and idempotency wait for Redis */
		drv_fmt(detail, size, "redis unreachable");
		return DRV_DEGRADED;
	}
	return DRV_READY;
}

bool observe_start(worker_t *w)
{
	observe_t *o = &w->obs;
	char err[256];

	o->loop_ms = drv_mono_ms();
	if (!(o->m = drv_metrics_new()))
		return false;
	o->tasks = drv_metrics_counter(o->m, "drover_tasks_total",
		"Attempts that ended, by handler and outcome (succeeded, "
		"retrying, dead, abandoned).", handler_outcome);
	o->duration = drv_metrics_histogram(o->m,
		"drover_task_duration_seconds",
		"How long attempts ran, by handler.", handler_only, NULL, 0);
	o->dead = drv_metrics_counter(o->m, "drover_dead_letters_total",
		"Dead letters produced, by reason.", reason_only);
	o->forward_errors = drv_metrics_counter(o->m,
		"drover_forward_errors_total",
		"Produces to delay, DLQ or events topics refused and retried.",
		NULL);
	o->released = drv_metrics_counter(o->m, "drover_delay_released_total",
		"Tasks moved on from a delay tier (to a band or a shorter "
		"tier).", NULL);
	o->redelivered = drv_metrics_counter(o->m,
		"drover_redelivered_dropped_total",
		"Messages fetched again within one assignment and dropped.",
		NULL);
	o->idem_skipped = drv_metrics_counter(o->m,
		"drover_idempotent_skipped_total",
		"Tasks not run because their idempotency key was done.", NULL);
	o->idem_waited = drv_metrics_counter(o->m,
		"drover_idempotency_waited_total",
		"Tasks put back on the delay topics, no attempt used, because "
		"another copy with their idempotency key was running.", NULL);
	o->idem_unchecked = drv_metrics_counter(o->m,
		"drover_idempotency_unchecked_total",
		"Tasks run without checking their idempotency key (Redis "
		"unreachable).", NULL);
	o->in_flight = drv_metrics_gauge(o->m, "drover_tasks_in_flight",
		"Tasks taken from the band topics and not yet ended.", NULL);
	o->lag = drv_metrics_gauge(o->m, "drover_consumer_lag",
		"Messages behind the end of each assigned band partition.",
		topic_partition);
	o->delay_backlog = drv_metrics_gauge(o->m, "drover_delay_backlog",
		"Messages waiting on this worker's delay tier partitions.",
		NULL);
	o->state_records = drv_metrics_counter(o->m,
		"drover_task_state_records_total",
		"Task state records and idempotency keys by result: written "
		"to Redis, dropped (the writer's queue was full, or still "
		"queued at shutdown with Redis down), error, shed (a running "
		"record or a wait left out while the writer was half a queue "
		"behind), "
		"merged (an outcome that took the place of its attempt's "
		"running record still queued: one write for both), "
		"analytics_lost (records whose retry analytics counts were "
		"lost while Redis was down).",
		result_only);
	o->group_index = drv_metrics_counter(o->m,
		"drover_dlq_group_index_total",
		"Dead letters recorded in the failure group index in Redis "
		"by result: written, or failed (Redis refused it, or it was "
		"dropped while Redis was down; the dead letter itself is on "
		"the DLQ topic either way).", result_only);
	o->state_waits = drv_metrics_counter(o->m,
		"drover_task_state_waits_total",
		"Times the worker stopped taking tasks because the task state "
		"writer was three quarters of its queue behind (Redis slower "
		"than the tasks).", NULL);
	o->state_queued = drv_metrics_gauge(o->m, "drover_task_state_queued",
		"Task state records waiting for the writer.", NULL);
	o->webhook_sends = drv_metrics_counter(o->m,
		"drover_webhook_sends_total",
		"Webhook delivery attempts, by outcome (delivered, failed, "
		"gone: 410 and disabled, redirected: 3xx not followed, "
		"not_sent: subscription deleted or disabled, error: nothing "
		"sent).", (const char *const[]){ "outcome", NULL });
	o->plugin_hung = drv_metrics_gauge(o->m, "drover_plugin_calls_hung",
		"Plugin calls given up on (past the handler's timeout) that "
		"have not returned; /healthz fails once they reach "
		"worker.concurrency.", NULL);
	drv_metrics_on_render(o->m, collect, w);

	if (w->cfg->worker.http_port == 0)
		return true;
	{
		drv_httpd_conf_t hc = {
			.healthz = healthz, .readyz = readyz, .arg = w,
			.metrics = o->m,
			.metrics_token = w->cfg->worker.metrics_token,
		};
		if (drv_httpd_start(w->cfg->worker.http_host,
				    (unsigned)w->cfg->worker.http_port, &hc,
				    &o->httpd, err, sizeof(err))) {
			drv_log_kv(DRV_LOG_ERROR, "cannot serve health and "
				   "metrics", "error", err, NULL);
			return false;
		}
	}
	return true;
}

void observe_stop(worker_t *w)
{
	drv_httpd_stop(w->obs.httpd);
	w->obs.httpd = NULL;
	drv_metrics_destroy(w->obs.m);
	w->obs.m = NULL;
}

void observe_attempt(worker_t *w, const job_t *job, int64_t duration_ms)
{
	static const char *const names[] = {
		[STEP_DONE] = "succeeded", [STEP_RETRY] = "retrying",
		[STEP_RELEASE] = "released", [STEP_DEAD] = "dead",
		[STEP_ABANDON] = "abandoned",
	};
	const char *h = job->task.handler ? job->task.handler : "";

	drv_counter_inc(w->obs.tasks,
			(const char *const[]){ h, names[job->step] });
	drv_histogram_observe(w->obs.duration, (const char *const[]){ h },
			      (double)duration_ms / 1000.0);
}
