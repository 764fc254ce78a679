/*
 * delay.c — the delay tiers. A task waiting for a retry or a not-before
 * time sits on the topic <prefix>delay.<tier> for the longest tier not
 * longer than its wait (drv_task_route). Every message of a tier partition
 * was written in time order and waits the same tier length, so they become
 * due in order: the worker holds the head of each partition in memory,
 * pauses that partition until the head is due, then forwards the task to
 * its band topic, or to a shorter tier when it must wait more ("hopping
 * down"). Nothing waits in memory that is not also in Kafka: a held message
 * is not committed, so a restart or a rebalance delivers it again. A task
 * is never forwarded to its band before its not-before time.
 *
 * Up to HOLD_MAX messages per partition are held; only a partition that
 * reaches it is paused (until half have been released), because each
 * pause/resume costs about 0.4 s before the partition is fetched again
 * (librdkafka 2.0.2 and 2.14.2 alike).
 *
 * @locality main thread.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

#define HOLD_MAX 256

/* The held count of a message's partition (created at 0). */
static held_part_t *held_part(worker_t *w, const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);

	for (size_t i = 0; i < w->held_part_cnt; i++)
		if (w->held_parts[i].partition == m->partition &&
		    !strcmp(w->held_parts[i].topic, topic))
			return &w->held_parts[i];
	if (w->held_part_cnt == w->held_part_cap) {
		size_t cap = w->held_part_cap ? w->held_part_cap * 2 : 16;
		held_part_t *p = realloc(w->held_parts, cap * sizeof(*p));
		if (!p)
			return NULL;
		w->held_parts = p;
		w->held_part_cap = cap;
	}
	memset(&w->held_parts[w->held_part_cnt], 0, sizeof(held_part_t));
	drv_strlcpy(w->held_parts[w->held_part_cnt].topic, topic,
		    sizeof(w->held_parts[0].topic));
	w->held_parts[w->held_part_cnt].partition = m->partition;
	return &w->held_parts[w->held_part_cnt++];
}

/* The tier length of a delay topic, or 0 if the name is not one. */
static int64_t tier_of(const worker_t *w, const char *topic)
{
	for (size_t i = 0; i < w->cfg->kafka.delay_tier_cnt; i++) {
		char name[256];
		int64_t tier = w->cfg->kafka.delay_tiers_ms[i];

		drv_topic_name(w->cfg, DRV_TOPIC_DELAY, NULL, tier, name,
			       sizeof(name));
		if (!strcmp(name, topic))
			return tier;
	}
	return 0;
}

static void set_paused(rd_kafka_t *rk, const rd_kafka_message_t *m,
		       bool pause)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt),
					  m->partition);
	if (pause)
		rd_kafka_pause_partitions(rk, l);
	else
		rd_kafka_resume_partitions(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

static void release(worker_t *w, job_t *job)
{
	job->step = STEP_RELEASE;
	w->stats.released++;
	drv_counter_inc(w->obs.released, NULL);
	forward_start(w, job);
}

void delay_dispatch(worker_t *w, job_t *job)
{
	rd_kafka_message_t *m = job->msg;
	int64_t now = drv_now_ms();
	int64_t ts = rd_kafka_message_timestamp(m, NULL);
	int64_t due = job->task.not_before_ms;
	held_part_t *hp;

	if (ts < 0)
		ts = now;
	/* due when its tier has passed, or at its not-before time if that
	 * comes first (the shortest tier may be longer than the wait) */
	job->hold_until = ts + tier_of(w, rd_kafka_topic_name(m->rkt));
	if (due < job->hold_until)
		job->hold_until = due;
	if (job->hold_until <= now) {
		release(w, job);
		return;
	}
	job->next = w->held;
	w->held = job;
	if ((hp = held_part(w, m)) && ++hp->count >= HOLD_MAX && !hp->paused) {
		set_paused(w->delay, m, true);
		hp->paused = true;
	}
}

/* One held message of \p m's partition is gone: resume it once half the
 * cap has drained. */
static void unhold(worker_t *w, const rd_kafka_message_t *m)
{
	held_part_t *hp = held_part(w, m);

	if (!hp)
		return;
	if (hp->count > 0)
		hp->count--;
	if (hp->paused && hp->count <= HOLD_MAX / 2) {
		set_paused(w->delay, m, false);
		hp->paused = false;
	}
}

void delay_serve(worker_t *w)
{
	int64_t now = drv_now_ms();
	job_t **pp = &w->held;

	while (*pp) {
		job_t *job = *pp;

		if (job->hold_until > now) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		job->next = NULL;
		unhold(w, job->msg);
		release(w, job);
	}
}

static bool in_list(const rd_kafka_topic_partition_list_t *parts,
		    const rd_kafka_message_t *m)
{
	if (!parts)
		return true;
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].partition == m->partition &&
		    !strcmp(parts->elems[i].topic, rd_kafka_topic_name(m->rkt)))
			return true;
	return false;
}

void delay_forget(worker_t *w, rd_kafka_topic_partition_list_t *parts)
{
	job_t **pp = &w->held;

	while (*pp) {
		job_t *job = *pp;

		if (!in_list(parts, job->msg)) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		job->next = NULL;
		/* not committed, so its next owner reads it again; resumed
		 * (by unhold) so a later assignment does not start paused */
		unhold(w, job->msg);
		job->step = STEP_ABANDON;
		job_end(w, job);
	}
}
