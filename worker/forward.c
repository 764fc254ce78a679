/*
 * forward.c — moving a task on after its attempt: to a delay tier for a
 * retry or a not-before time, to its band when due, or to the dead-letter
 * topic. A forward counts only once the broker acknowledged it; a refused
 * one is tried again every few seconds, and until then its offset is not
 * committed, so nothing is lost if the worker dies meanwhile.
 *
 * @locality main thread (delivery reports are served from its
 * rd_kafka_poll() on the producer).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

#define FORWARD_RETRY_MS 5000

static void delivered(drv_delivery_t *d, void *arg)
{
	job_t *job = arg;

	if (d->err) {
		drv_log_kv(DRV_LOG_ERROR, "forward refused by Kafka; retrying",
			   "task_id", job->decoded ? job->task.id : "",
			   "error", rd_kafka_err2str(d->err), NULL);
		job->retry_at = drv_mono_ms() + FORWARD_RETRY_MS;
		return;
	}
	job->retry_at = -1;
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
		rc = drv_dead_letter_produce(w->producer, w->cfg, &dl, &job->dr,
					     err, errlen);
	else
		drv_fmt(err, errlen, "%s", drv_strerror(rc));
	drv_dead_letter_release(&dl);
	return rc;
}

/* Produce what the job's step asks for; on failure try again later. */
static void produce(worker_t *w, job_t *job)
{
	char err[512], topic[256];
	drv_err_t rc;

	job->retry_at = 0;
	job->dr.on_delivery = delivered;
	job->dr.arg = job;
	if (job->step == STEP_DEAD) {
		rc = produce_dead(w, job, err, sizeof(err));
	} else {
		drv_task_route(w->cfg, &job->task, drv_now_ms(), topic,
			       sizeof(topic));
		rc = drv_task_produce(w->producer, &job->task, topic, &job->dr,
				      err, sizeof(err));
	}
	if (rc) {
		drv_log_kv(DRV_LOG_ERROR, "cannot forward; retrying",
			   "task_id", job->decoded ? job->task.id : "",
			   "error", err, NULL);
		job->retry_at = drv_mono_ms() + FORWARD_RETRY_MS;
	}
}

void forward_start(worker_t *w, job_t *job)
{
	job->next = w->forwarding;
	w->forwarding = job;
	produce(w, job);
}

void forward_serve(worker_t *w)
{
	int64_t now = drv_mono_ms();
	job_t **pp = &w->forwarding;

	rd_kafka_poll(w->producer, 0);
	while (*pp) {
		job_t *job = *pp;

		if (job->retry_at == -1) {
			*pp = job->next;
			job->next = NULL;
			job_end(w, job);
			continue;
		}
		if (job->retry_at > 0 && now >= job->retry_at)
			produce(w, job);
		pp = &job->next;
	}
}
