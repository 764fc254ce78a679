/*
 * forward.c — what the main thread produces once a job's attempt is over:
 * the task itself to a delay tier (a retry or a not-before time) or to its
 * band when due, a dead letter to the DLQ, and the lifecycle event
 * (task.succeeded, task.retrying, task.dead) to the events topic. Each
 * produce counts only once the broker acknowledged it; a refused one is
 * tried again every few seconds, and until all are acknowledged the job's
 * offset is not committed, so nothing is lost if the worker dies meanwhile
 * (a retried produce may duplicate: at-least-once).
 *
 * @locality main thread (delivery reports are served from its
 * rd_kafka_poll() on the producer).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/json_out.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

#define FORWARD_RETRY_MS 5000

/* Forward \p i of the job is to be produced again at \p at (mono ms). */
static void retry_later(worker_t *w, job_t *job, int i, int64_t at)
{
	job->fwd[i].retry_at = at;
	if (!w->fwd_retry_at || at < w->fwd_retry_at)
		w->fwd_retry_at = at;
}

static void delivered(drv_delivery_t *d, void *arg)
{
	job_t *job = arg;
	worker_t *w = job->worker;
	int i = d == &job->fwd[FWD_TASK].dr ? FWD_TASK : FWD_EVENT;

	w->fwd_reports++;
	if (d->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    d->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		return;  /* stop() gave up on it: not stored, runs again */
	if (d->err) {
		drv_counter_inc(w->obs.forward_errors, NULL);
		drv_log_kv(DRV_LOG_ERROR, "forward refused by Kafka; retrying",
			   "task_id", job->decoded ? job->task.id : "",
			   "error", rd_kafka_err2str(d->err), NULL);
		retry_later(w, job, i, drv_mono_ms() + FORWARD_RETRY_MS);
		return;
	}
	job->fwd[i].retry_at = -1;
}

/* A dead letter for the job: the task as it is now (its failures
 * included), why, and where the message came from. */
static drv_err_t produce_dead(worker_t *w, job_t *job, char *err,
			      size_t errlen)
{
	rd_kafka_message_t *m = job->msg;
	drv_dead_letter_t dl;
	drv_err_t rc = DRV_OK;

	drv_dead_letter_init(&dl);
	dl.dead_ms = drv_now_ms();
	drv_id_new(dl.id, dl.dead_ms);
	dl.reason = job->dl_reason;
	dl.detail = drv_strdup(job->detail);
	dl.source_topic = drv_strdup(rd_kafka_topic_name(m->rkt));
	dl.source_partition = m->partition;
	dl.source_offset = m->offset;
	dl.worker_id = drv_strdup(w->daemon->id);
	if (job->decoded) {
		rc = drv_task_copy(&dl.task, &job->task);
		for (size_t i = 0; !rc && i < job->task.failure_cnt; i++)
			rc = drv_dead_letter_add_failure(&dl,
							 &job->task.failures[i]);
	} else {
		rc = drv_dead_letter_set_raw(&dl, m->payload, m->len);
	}
	if (!rc)
		rc = drv_dead_letter_produce(w->producer, w->cfg, &dl,
					     &job->fwd[FWD_TASK].dr, err, errlen);
	else
		drv_fmt(err, errlen, "%s", drv_strerror(rc));
	/* the failure group index, once per job (a produce tried again
	 * counts once); best effort, the DLQ topic is the record */
	if (!rc && !job->dl_indexed && w->state) {
		job->dl_indexed = true;
		drv_state_dead_letter(w->state, &dl);
	}
	drv_dead_letter_release(&dl);
	return rc;
}

/* The event's JSON payload, as jansson's json_pack() and json_dumps() made
 * it: NULL when the task id or the handler is not UTF-8; the detail, or the
 * origin, left out when one of its strings is not. */
static char *event_body(const job_t *job, const char *attempt,
			int64_t finished_ms)
{
	const drv_task_t *t = &job->task;
	const drv_origin_t *o = &t->origin;
	drv_jout_t j;
	size_t mark;

	drv_jout_begin(&j);
	if (!drv_jout_str(&j, "task_id", t->id) ||
	    !drv_jout_str(&j, "handler", t->handler) ||
	    !drv_jout_str(&j, "attempt", attempt)) {
		drv_jout_discard(&j);
		return NULL;
	}
	drv_jout_int(&j, "created_ms", t->created_ms);
	drv_jout_int(&j, "started_ms", job->started_ms);
	drv_jout_int(&j, "finished_ms", finished_ms);
	if (job->step != STEP_DONE)
		drv_jout_str(&j, "detail", job->detail);
	drv_jout_int(&j, "duration_ms", finished_ms - job->started_ms);
	mark = drv_jout_mark(&j);
	drv_jout_open(&j, "origin");
	if (drv_jout_str_or_null(&j, "schedule_id", o->schedule_id) &&
	    drv_jout_str_or_null(&j, "event_id", o->event_id) &&
	    drv_jout_str_or_null(&j, "parent_task_id", o->parent_task_id)) {
		drv_jout_int(&j, "chain_depth", (int)o->chain_depth);
		drv_jout_close(&j);
	} else {
		drv_jout_undo(&j, mark);
	}
	return drv_jout_end(&j);
}

/* The lifecycle event of a task that ran here: what happened, with the
 * times and the origin, so schedules can chain on it. */
static drv_err_t produce_event(worker_t *w, job_t *job, char *err,
			       size_t errlen)
{
	static const char *types[] = {
		[STEP_DONE] = "task.succeeded",
		[STEP_RETRY] = "task.retrying",
		[STEP_DEAD] = "task.dead",
	};
	const drv_task_t *t = &job->task;
	char id[DRV_ID_LEN + 1], attempt[16], topic[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_event_t e;
	char *text;
	drv_err_t rc;

	drv_event_init(&e);
	e.time_ms = drv_now_ms();
	drv_id_new(id, e.time_ms);
	e.id = drv_strdup(id);
	e.type = drv_strdup(types[job->step]);
	e.source = drv_strdup(w->daemon->id);
	e.task_id = drv_strdup(t->id);
	e.chain_depth = t->origin.chain_depth;
	e.content_type = drv_strdup("application/json");
	drv_fmt(attempt, sizeof(attempt), "%u",
		job->step == STEP_DONE ? t->attempt + 1 : t->attempt);
	drv_event_set_attribute(&e, "handler", t->handler);
	drv_event_set_attribute(&e, "attempt", attempt);
	if (job->step == STEP_DEAD)
		drv_event_set_attribute(&e, "reason",
					drv_dl_reason_name(job->dl_reason));
	if (t->origin.schedule_id)
		drv_event_set_attribute(&e, "schedule_id", t->origin.schedule_id);
	text = event_body(job, attempt, e.time_ms);
	if (text)
		drv_event_set_payload(&e, text, strlen(text));
	free(text);

	rc = drv_event_encode(&e, &buf, &len, err, errlen);
	if (!rc) {
		const drv_header_t hdrs[] = {
			{ "drover-event-id",   e.id },
			{ "drover-event-type", e.type },
			{ "drover-task-id",    t->id },
		};
		drv_topic_name(w->cfg, DRV_TOPIC_EVENTS, NULL, 0, topic,
			       sizeof(topic));
		rc = drv_kafka_produce(w->producer, topic, t->id, strlen(t->id),
				       buf, len, hdrs,
				       sizeof(hdrs) / sizeof(hdrs[0]),
				       &job->fwd[FWD_EVENT].dr, err, errlen);
	}
	free(buf);
	drv_event_release(&e);
	return rc;
}

/* Produce forward \p i of the job; on failure try again later. */
static void produce(worker_t *w, job_t *job, int i)
{
	char err[512], topic[256];
	drv_err_t rc;

	job->fwd[i].retry_at = 0;
	job->fwd[i].dr.on_delivery = delivered;
	job->fwd[i].dr.arg = job;
	if (i == FWD_EVENT) {
		rc = produce_event(w, job, err, sizeof(err));
	} else if (job->step == STEP_DEAD) {
		rc = produce_dead(w, job, err, sizeof(err));
	} else {
		drv_task_route(w->cfg, &job->task, drv_now_ms(), topic,
			       sizeof(topic));
		rc = drv_task_produce(w->producer, &job->task, topic,
				      &job->fwd[i].dr, err, sizeof(err));
	}
	if (rc) {
		drv_counter_inc(w->obs.forward_errors, NULL);
		drv_log_kv(DRV_LOG_ERROR, "cannot forward; retrying",
			   "task_id", job->decoded ? job->task.id : "",
			   "error", err, NULL);
		retry_later(w, job, i, drv_mono_ms() + FORWARD_RETRY_MS);
	}
}

void forward_start(worker_t *w, job_t *job)
{
	/* the task moves on unless it is done; an event tells about every
	 * attempt made here (not a release from a delay tier, not a message
	 * that was never a task) */
	bool task = job->step != STEP_DONE;
	bool event = w->cfg->worker.lifecycle_events && job->decoded &&
		     job->src == SRC_TASKS && job->step != STEP_RELEASE &&
		     !job->skipped;

	job->fwd[FWD_TASK].retry_at = -1;
	job->fwd[FWD_EVENT].retry_at = -1;
	if (job->step == STEP_DEAD)
		drv_counter_inc(w->obs.dead, (const char *const[]){
				drv_dl_reason_name(job->dl_reason) });
	if (task)
		produce(w, job, FWD_TASK);
	if (event)
		produce(w, job, FWD_EVENT);
	if (!task && !event)
		w->fwd_reports++;  /* nothing to wait for: ends at once */
	job->next = w->forwarding;
	w->forwarding = job;
}

void forward_serve(worker_t *w)
{
	int64_t now = drv_mono_ms();
	job_t **pp = &w->forwarding;

	rd_kafka_poll(w->producer, 0);
	/* the list is long at high rates: walk it only when a report came
	 * or a retry is due */
	if (!w->fwd_reports && !(w->fwd_retry_at && now >= w->fwd_retry_at))
		return;
	w->fwd_reports = 0;
	w->fwd_retry_at = 0;
	while (*pp) {
		job_t *job = *pp;

		if (job->fwd[FWD_TASK].retry_at == -1 &&
		    job->fwd[FWD_EVENT].retry_at == -1) {
			*pp = job->next;
			job->next = NULL;
			job_end(w, job);
			continue;
		}
		for (int i = FWD_TASK; i <= FWD_EVENT; i++) {
			int64_t at = job->fwd[i].retry_at;

			if (at > 0 && now >= at)
				produce(w, job, i);
			else if (at > 0)
				retry_later(w, job, i, at);
		}
		pp = &job->next;
	}
}
