/*
 * baseline.c — the two loops drover-worker's throughput is compared with
 * (baseline.h): a plain consume-and-decode loop, and a fair one that also
 * produces a lifecycle event per task and stores offsets only behind
 * acknowledged events, as the worker must.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/clock.h"
#include "drover/event.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "drover/task.h"
#include "baseline.h"

#define LANES_MAX 1024   /* partitions of the band topic */

static double now_s_precise(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A consumer from \p conf (taken) in group "<prefix><name>", subscribed to
 * \p topic; NULL after saying why. */
static rd_kafka_t *subscribe(const bench_ns_t *ns, rd_kafka_conf_t *conf,
			     const char *name, const char *topic)
{
	rd_kafka_topic_partition_list_t *topics;
	char err[512], group[128];
	rd_kafka_t *rk;

	drv_fmt(group, sizeof(group), "%s%s", ns->prefix, name);
	if (rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err,
			      sizeof(err)) ||
	    !(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
		bench_log("%s consumer: %s", name, err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
	if (rd_kafka_subscribe(rk, topics)) {
		bench_log("%s: cannot subscribe to %s", name, topic);
		rd_kafka_destroy(rk);
		rk = NULL;
	}
	rd_kafka_topic_partition_list_destroy(topics);
	return rk;
}

static void finish(baseline_t *b, size_t done, double t_sub, double t_first,
		   double t_last, size_t n, const char *name)
{
	if (done) {
		b->join_s = t_first - t_sub;
		b->span_s = t_last - t_first;
		b->rate = b->span_s > 0 ? (double)done / b->span_s : 0;
	}
	if (done < n)
		bench_log("%s baseline: %zu of %zu messages done before the "
			  "timeout", name, done, n);
}

bool baseline_plain(const bench_ns_t *ns, const char *topic, size_t n,
		    int64_t timeout_s, baseline_t *b)
{
	double t_sub = now_s_precise(), t_first = 0, t_last = 0;
	int64_t deadline = drv_mono_ms() + timeout_s * 1000;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	drv_task_t t;
	rd_kafka_t *rk;

	memset(b, 0, sizeof(*b));
	if (rd_kafka_conf_set(conf, "bootstrap.servers", ns->cfg->kafka.brokers,
			      err, sizeof(err))) {
		bench_log("plain baseline: %s", err);
		rd_kafka_conf_destroy(conf);
		return false;
	}
	if (!(rk = subscribe(ns, conf, "baseline", topic)))
		return false;
	b->ran = true;
	drv_task_init(&t);
	while (b->read < n && drv_mono_ms() < deadline && !bench_stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (!m)
			continue;
		if (!m->err) {
			if (!b->read)
				t_first = now_s_precise();
			if (drv_task_decode(m->payload, m->len, &t, err,
					    sizeof(err)))
				b->undecodable++;
			b->read++;
			t_last = now_s_precise();
		}
		rd_kafka_message_destroy(m);
	}
	drv_task_release(&t);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	b->done = b->read;
	finish(b, b->read, t_sub, t_first, t_last, n, "plain");
	return true;
}

/* ----------------------------------------------------------- fair loop */

/* The messages of one partition in the order read: the acknowledged ones
 * at the front are done and their offset is stored. */
typedef struct lane {
	int64_t *offset;
	bool    *acked;
	size_t   head, tail;
	bool     moved;      /* an ack came since the last advance */
} lane_t;

typedef struct slot {
	drv_delivery_t dr;
	lane_t        *lane;
	size_t         idx;
} slot_t;

typedef struct fair {
	rd_kafka_t *rk;
	lane_t     *lanes[LANES_MAX];
	slot_t     *slots;
	size_t      used, done, failed;
	size_t      n;
	int32_t     lanes_used;  /* highest partition seen + 1 */
	char        topic[256];  /* the band topic read */
	char        events[256]; /* where the events go */
} fair_t;

static void acked(drv_delivery_t *d, void *arg)
{
	slot_t *s = arg;

	(void)d;
	s->lane->acked[s->idx] = true;
	s->lane->moved = true;
}

/* Store the offset behind the acknowledged front of every lane that moved. */
static void advance(fair_t *f)
{
	for (int32_t p = 0; p < f->lanes_used; p++) {
		lane_t *l = f->lanes[p];
		rd_kafka_topic_partition_list_t *at;
		size_t from;

		if (!l || !l->moved)
			continue;
		l->moved = false;
		from = l->head;
		while (l->head < l->tail && l->acked[l->head])
			l->head++;
		if (l->head == from)
			continue;
		f->done += l->head - from;
		at = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(at, f->topic, p)->offset =
			l->offset[l->head - 1] + 1;
		rd_kafka_offsets_store(f->rk, at);
		rd_kafka_topic_partition_list_destroy(at);
	}
}

/* One message: decode it, produce its event; false when nothing came of
 * it (no room, an event that would not encode or queue). */
static bool fair_one(fair_t *f, rd_kafka_t *prod,
		     const rd_kafka_message_t *m, drv_task_t *t)
{
	char err[256], id[DRV_ID_LEN + 1], body[128];
	lane_t *l;
	slot_t *s;
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_event_t e;
	drv_err_t rc;

	if (m->partition < 0 || m->partition >= LANES_MAX || f->used >= f->n)
		return false;
	if (!(l = f->lanes[m->partition])) {
		if (!(l = calloc(1, sizeof(*l))) ||
		    !(l->offset = calloc(f->n, sizeof(int64_t))) ||
		    !(l->acked = calloc(f->n, sizeof(bool)))) {
			if (l)
				free(l->offset);
			free(l);
			return false;
		}
		f->lanes[m->partition] = l;
		if (m->partition >= f->lanes_used)
			f->lanes_used = m->partition + 1;
	}
	if (drv_task_decode(m->payload, m->len, t, err, sizeof(err)))
		return false;
	drv_event_init(&e);
	e.time_ms = drv_now_ms();
	drv_id_new(id, e.time_ms);
	e.id = drv_strdup(id);
	e.type = drv_strdup("task.succeeded");
	e.source = drv_strdup("bench-fair");
	e.task_id = drv_strdup(t->id);
	drv_fmt(body, sizeof(body), "{\"task_id\":\"%s\",\"attempt\":1}",
		t->id);
	drv_event_set_payload(&e, body, strlen(body));
	rc = drv_event_encode(&e, &buf, &len, err, sizeof(err));
	drv_event_release(&e);
	if (rc)
		return false;
	s = &f->slots[f->used];
	s->lane = l;
	s->idx = l->tail;
	s->dr.on_delivery = acked;
	s->dr.arg = s;
	rc = drv_kafka_produce(prod, f->events, t->id, strlen(t->id), buf, len,
			       NULL, 0, &s->dr, err, sizeof(err));
	free(buf);
	if (rc)
		return false;
	l->offset[l->tail++] = m->offset;
	f->used++;
	return true;
}

bool baseline_fair(const bench_ns_t *ns, const char *topic, size_t n,
		   int64_t timeout_s, baseline_t *b)
{
	double t_sub = now_s_precise(), t_first = 0, t_last = 0;
	int64_t deadline = drv_mono_ms() + timeout_s * 1000;
	rd_kafka_conf_t *conf;
	rd_kafka_t *prod;
	fair_t f = { .n = n };
	char err[512];
	drv_task_t t;

	memset(b, 0, sizeof(*b));
	drv_strlcpy(f.topic, topic, sizeof(f.topic));
	drv_topic_name(ns->cfg, DRV_TOPIC_EVENTS, NULL, 0, f.events,
		       sizeof(f.events));
	if (!(f.slots = calloc(n ? n : 1, sizeof(slot_t))))
		return false;
	if (!(prod = drv_kafka_producer_new(ns->cfg, err, sizeof(err)))) {
		bench_log("fair baseline producer: %s", err);
		free(f.slots);
		return false;
	}
	if (!(conf = drv_kafka_member_conf_new(ns->cfg, "unused", NULL, err,
					       sizeof(err))) ||
	    !(f.rk = subscribe(ns, conf, "fair", topic))) {
		if (!conf)
			bench_log("fair baseline consumer: %s", err);
		rd_kafka_destroy(prod);
		free(f.slots);
		return false;
	}
	b->ran = true;
	drv_task_init(&t);
	while (f.done < n && drv_mono_ms() < deadline && !bench_stop) {
		bool waiting = f.used > f.done;
		rd_kafka_message_t *m =
			rd_kafka_consumer_poll(f.rk, waiting ? 0 : 100);

		if (m && !m->err) {
			if (!b->read)
				t_first = now_s_precise();
			b->read++;
			if (!fair_one(&f, prod, m, &t))
				f.failed++;
		}
		if (m)
			rd_kafka_message_destroy(m);
		/* wait for reports only when there is nothing to read */
		rd_kafka_poll(prod, !m && waiting ? 1 : 0);
		advance(&f);
		if (f.done + f.failed >= n) {
			t_last = now_s_precise();
			break;
		}
	}
	drv_task_release(&t);
	rd_kafka_flush(prod, 5000);
	rd_kafka_poll(prod, 0);
	rd_kafka_commit(f.rk, NULL, 0);
	rd_kafka_consumer_close(f.rk);
	rd_kafka_destroy(f.rk);
	rd_kafka_destroy(prod);
	for (int32_t i = 0; i < f.lanes_used; i++)
		if (f.lanes[i]) {
			free(f.lanes[i]->offset);
			free(f.lanes[i]->acked);
			free(f.lanes[i]);
		}
	free(f.slots);
	b->done = f.done;
	b->undecodable = f.failed;
	finish(b, f.done, t_sub, t_first, t_last, n, "fair");
	return true;
}
