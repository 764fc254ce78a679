/*
 * bulk.c — many tasks produced without waiting, their results reported in
 * input order (drover/bulk.h). A ring of `window` slots: a slot holds a
 * task from its produce until its acknowledgement is reported; when the
 * ring is full the oldest slot is awaited and reported first, which costs
 * nothing while the producer keeps up (its acknowledgement is long in).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/bulk.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

#define WINDOW_DEFAULT 10000
#define SERVE_EVERY    256  /* produces between two delivery-report polls */

typedef struct slot {
	drv_task_t     task;
	drv_delivery_t dr;
	void          *item;
	char           topic[256];
	char           pointer[128];
	char           errstr[256];
	drv_err_t      err;
	bool           refused;
	bool           is_task;  /* task holds what was produced */
} slot_t;

struct drv_bulk {
	rd_kafka_t         *rk;
	const drv_config_t *cfg;
	int64_t             timeout_ms;
	drv_bulk_cb_t      *cb;
	void               *opaque;
	slot_t             *ring;
	size_t              cap, head, cnt, seq, added;
};

drv_bulk_t *drv_bulk_new(rd_kafka_t *rk, const drv_config_t *cfg,
			 size_t window, int64_t timeout_ms,
			 drv_bulk_cb_t *cb, void *opaque)
{
	drv_bulk_t *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cap = window ? window : WINDOW_DEFAULT;
	if (!(b->ring = calloc(b->cap, sizeof(*b->ring)))) {
		free(b);
		return NULL;
	}
	b->rk = rk;
	b->cfg = cfg;
	b->timeout_ms = timeout_ms;
	b->cb = cb;
	b->opaque = opaque;
	return b;
}

/* Await the oldest slot, report it, free it. */
static void settle_head(drv_bulk_t *b)
{
	slot_t *s = &b->ring[b->head];
	drv_bulk_result_t r = {
		.seq = b->seq++, .task = s->is_task ? &s->task : NULL,
		.topic = s->topic, .pointer = s->pointer, .item = s->item,
	};

	if (!s->refused && !s->err)
		s->err = drv_kafka_wait(b->rk, &s->dr, s->topic, b->timeout_ms,
					s->errstr, sizeof(s->errstr));
	if (s->err && !s->refused)
		s->topic[0] = '\0';
	r.err = s->err;
	r.errstr = s->err ? s->errstr : "";
	b->cb(&r, b->opaque);
	drv_task_release(&s->task);
	memset(s, 0, sizeof(*s));
	b->head = (b->head + 1) % b->cap;
	b->cnt--;
}

/* The next free slot, made free by settling the oldest if need be. */
static slot_t *next_slot(drv_bulk_t *b, void *item)
{
	slot_t *s;

	if (b->cnt == b->cap)
		settle_head(b);
	s = &b->ring[(b->head + b->cnt++) % b->cap];
	drv_task_init(&s->task);
	s->item = item;
	return s;
}

/* Produce \p what into slot \p s with \p fn, serving delivery reports
 * now and then. */
static void produce_in(drv_bulk_t *b, slot_t *s, drv_bulk_produce_fn *fn,
		       void *arg, void *what)
{
	s->err = fn(arg, what, &s->dr, s->topic, sizeof(s->topic), s->errstr,
		    sizeof(s->errstr));
	if (++b->added % SERVE_EVERY == 0)
		rd_kafka_poll(b->rk, 0);
}

static drv_err_t task_produce(void *arg, void *item, drv_delivery_t *dr,
			      char *topic, size_t topic_size, char *errstr,
			      size_t errstr_size)
{
	drv_bulk_t *b = arg;

	drv_task_route(b->cfg, item, drv_now_ms(), topic, topic_size);
	return drv_task_produce(b->rk, item, topic, dr, errstr, errstr_size);
}

void drv_bulk_add(drv_bulk_t *b, drv_task_t *t, void *item)
{
	slot_t *s = next_slot(b, item);

	s->task = *t;      /* taken: the caller's task is left empty */
	s->is_task = true;
	drv_task_init(t);
	produce_in(b, s, task_produce, b, &s->task);
}

void drv_bulk_add_item(drv_bulk_t *b, drv_bulk_produce_fn *fn, void *arg,
		       void *item)
{
	produce_in(b, next_slot(b, item), fn, arg, item);
}

void drv_bulk_refuse(drv_bulk_t *b, drv_err_t err, const char *pointer,
		     const char *errstr, void *item)
{
	slot_t *s = next_slot(b, item);

	s->refused = true;
	s->err = err ? err : DRV_ERR_INVALID;
	drv_strlcpy(s->pointer, pointer ? pointer : "", sizeof(s->pointer));
	drv_strlcpy(s->errstr, errstr ? errstr : "", sizeof(s->errstr));
}

void drv_bulk_finish(drv_bulk_t *b)
{
	while (b->cnt)
		settle_head(b);
}

void drv_bulk_destroy(drv_bulk_t *b)
{
	if (!b)
		return;
	drv_bulk_finish(b);
	free(b->ring);
	free(b);
}
