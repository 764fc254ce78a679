/*
 * dlq_stats.c — counting the dead letters (`droverctl dlq stats`,
 * GET /api/v1/dlq/stats): by reason and handler, the oldest and newest, and
 * how many were resubmitted already (their marks in Redis, read
 * DRV_DLQ_MARK_BATCH at a time while the topic is read).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/clock.h"
#include "drover/str.h"

typedef struct stats_run {
	const drv_config_t *cfg;
	const drv_dlq_filter_t *f;
	drv_dlq_stats_t *st;
	size_t handler_cap;
	bool   nomem;
	/* NULL once Redis failed (then resubmitted is unknown) */
	redisContext *rc;
	char   (*pend)[DRV_ID_LEN + 1];
	char   (*marks)[DRV_ID_LEN + 1];
	size_t pend_cnt;
} stats_run_t;

/* Count the marks of the dead letters gathered so far. */
static void count_marks(stats_run_t *r)
{
	const char *ids[DRV_DLQ_MARK_BATCH];

	if (!r->rc || !r->pend_cnt)
		return;
	for (size_t i = 0; i < r->pend_cnt; i++)
		ids[i] = r->pend[i];
	if (drv_dlq_marks_get(r->rc, r->cfg, ids, r->pend_cnt, r->marks,
			      r->st->redis_err, sizeof(r->st->redis_err))) {
		r->rc = NULL;
		r->st->resubmitted_known = false;
	}
	for (size_t i = 0; r->rc && i < r->pend_cnt; i++)
		r->st->resubmitted += r->marks[i][0] != '\0';
	r->pend_cnt = 0;
}

static bool count_handler(stats_run_t *r, const char *name)
{
	drv_dlq_stats_t *st = r->st;

	for (size_t i = 0; i < st->handler_cnt; i++)
		if (!strcmp(st->handlers[i].name, name)) {
			st->handlers[i].count++;
			return true;
		}
	if (st->handler_cnt == r->handler_cap) {
		size_t cap = r->handler_cap * 2 + 8;
		drv_dlq_count_t *nh = realloc(st->handlers, cap * sizeof(*nh));

		if (!nh)
			return false;
		st->handlers = nh;
		r->handler_cap = cap;
	}
	if (!(st->handlers[st->handler_cnt].name = drv_strdup(name)))
		return false;
	st->handlers[st->handler_cnt++].count = 1;
	return true;
}

static bool stats_visit(const drv_dlq_entry_t *e, void *arg)
{
	stats_run_t *r = arg;
	drv_dlq_stats_t *st = r->st;
	const drv_dead_letter_t *dl = &e->dl;

	if (!drv_dlq_filter_match(r->f, e))
		return true;
	if (e->undecodable) {
		st->undecodable++;
		return true;
	}
	if (st->count == 0 || dl->dead_ms < st->oldest_ms) {
		st->oldest_ms = dl->dead_ms;
		drv_strlcpy(st->oldest_id, dl->id, sizeof(st->oldest_id));
	}
	if (st->count == 0 || dl->dead_ms >= st->newest_ms) {
		st->newest_ms = dl->dead_ms;
		drv_strlcpy(st->newest_id, dl->id, sizeof(st->newest_id));
	}
	st->count++;
	if (r->rc) {
		drv_strlcpy(r->pend[r->pend_cnt++], dl->id, DRV_ID_LEN + 1);
		if (r->pend_cnt == DRV_DLQ_MARK_BATCH)
			count_marks(r);
	}
	st->by_reason[(unsigned)dl->reason < DRV_DL_REASON_CNT ?
		      dl->reason : DRV_DL_UNSPECIFIED]++;
	if (!count_handler(r, dl->task.handler ? dl->task.handler : "-")) {
		r->nomem = true;
		return false;
	}
	return true;
}

static int handler_cmp(const void *a, const void *b)
{
	const drv_dlq_count_t *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

drv_err_t drv_dlq_stats(const drv_config_t *cfg, redisContext *c,
			const drv_dlq_filter_t *f, drv_dlq_stats_t *out,
			char *errstr, size_t errstr_size)
{
	stats_run_t r = { .cfg = cfg, .f = f, .st = out, .rc = c };
	drv_err_t rc;

	memset(out, 0, sizeof(*out));
	out->resubmitted_known = c != NULL;
	if (!c)
		drv_strlcpy(out->redis_err, "no Redis connection",
			    sizeof(out->redis_err));
	if (!(r.pend = calloc(DRV_DLQ_MARK_BATCH, sizeof(*r.pend))) ||
	    !(r.marks = calloc(DRV_DLQ_MARK_BATCH, sizeof(*r.marks)))) {
		free(r.pend);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	rc = drv_dlq_read(cfg, stats_visit, &r, NULL, errstr, errstr_size);
	count_marks(&r);
	free(r.pend);
	free(r.marks);
	if (!rc && r.nomem)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	if (!rc && out->handler_cnt > 1)
		qsort(out->handlers, out->handler_cnt, sizeof(*out->handlers),
		      handler_cmp);
	return rc;
}

void drv_dlq_stats_release(drv_dlq_stats_t *st)
{
	for (size_t i = 0; i < st->handler_cnt; i++)
		free(st->handlers[i].name);
	free(st->handlers);
	memset(st, 0, sizeof(*st));
}

static json_t *end_json(int64_t ms, const char *id)
{
	char when[40];

	drv_format_time(ms, when, sizeof(when));
	return json_pack("{s:s, s:I, s:s}", "id", id, "dead_ms", (json_int_t)ms,
			 "dead", when);
}

json_t *drv_dlq_stats_obj(const drv_dlq_stats_t *st, const char *topic)
{
	json_t *o = json_pack("{s:s, s:I, s:I}", "topic", topic,
			      "count", (json_int_t)st->count,
			      "undecodable_entries",
			      (json_int_t)st->undecodable);
	json_t *r = json_object(), *h = json_object();

	if (!o || !r || !h) {
		json_decref(o);
		json_decref(r);
		json_decref(h);
		return NULL;
	}
	for (int i = 0; i < DRV_DL_REASON_CNT; i++)
		if (st->by_reason[i])
			json_object_set_new(r, drv_dl_reason_name(i),
				json_integer((json_int_t)st->by_reason[i]));
	for (size_t i = 0; i < st->handler_cnt; i++)
		json_object_set_new(h, st->handlers[i].name,
			json_integer((json_int_t)st->handlers[i].count));
	if (st->count) {
		json_object_set_new(o, "oldest", end_json(st->oldest_ms,
							  st->oldest_id));
		json_object_set_new(o, "newest", end_json(st->newest_ms,
							  st->newest_id));
	}
	json_object_set_new(o, "resubmitted", st->resubmitted_known ?
		json_integer((json_int_t)st->resubmitted) : json_null());
	json_object_set_new(o, "by_reason", r);
	json_object_set_new(o, "by_handler", h);
	return o;
}
