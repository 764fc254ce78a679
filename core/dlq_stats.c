/*
 * dlq_stats.c — counting the dead letters (`droverctl dlq stats`,
 * GET /api/v1/dlq/stats): by reason and handler, the oldest and newest, and
 * how many were resubmitted or discarded already (their marks in Redis,
 * read DRV_DLQ_MARK_BATCH at a time while the topic is read).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/dlq_index.h"
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
	struct by_index *ix;  /* counting through the index: what it passes */
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
	for (size_t i = 0; r->rc && i < r->pend_cnt; i++) {
		if (drv_dlq_mark_discarded(r->marks[i]))
			r->st->discarded++;
		else if (r->marks[i][0])
			r->st->resubmitted++;
	}
	r->pend_cnt = 0;
}

/* Count \p n more entries of handler \p name. */
static bool count_handler(stats_run_t *r, const char *name, size_t n)
{
	drv_dlq_stats_t *st = r->st;

	for (size_t i = 0; i < st->handler_cnt; i++)
		if (!strcmp(st->handlers[i].name, name)) {
			st->handlers[i].count += n;
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
	st->handlers[st->handler_cnt++].count = n;
	return true;
}

void drv_dlq_span_add(drv_dlq_span_t *s, size_t n, int64_t old_ms,
		      const char *old_id, int64_t new_ms, const char *new_id)
{
	if (!n || old_ms < s->old_ms) {
		s->old_ms = old_ms;
		drv_strlcpy(s->old_id, old_id, sizeof(s->old_id));
	}
	if (!n || new_ms >= s->new_ms) {
		s->new_ms = new_ms;
		drv_strlcpy(s->new_id, new_id, sizeof(s->new_id));
	}
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
	drv_dlq_span_add(&st->span, st->count, dl->dead_ms, dl->id,
			 dl->dead_ms, dl->id);
	st->count++;
	if (r->rc) {
		drv_strlcpy(r->pend[r->pend_cnt++], dl->id, DRV_ID_LEN + 1);
		if (r->pend_cnt == DRV_DLQ_MARK_BATCH)
			count_marks(r);
	}
	st->by_reason[(unsigned)dl->reason < DRV_DL_REASON_CNT ?
		      dl->reason : DRV_DL_UNSPECIFIED]++;
	if (!count_handler(r, dl->task.handler ? dl->task.handler : "-", 1)) {
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

/* ---- through the index ------------------------------------------------- */

/* Offsets the read passes over: blocks counted from the index, or that
 * the filter's times leave out. */
typedef struct span {
	int64_t from, to;
} span_t;

typedef struct by_index {
	stats_run_t *r;
	int64_t  lo, end;     /* the partition's entries the index may count */
	span_t  *spans;       /* in partition order, each in offset order */
	size_t   cnt, cap;
	size_t  *first, *at;  /* per partition: its first span, the next */
	size_t   pcnt;
	bool     nomem;
	drv_dlq_index_query_t *q;  /* the Bloom filters, for a filter with
				      indexed fields; else NULL */
} by_index_t;

/* The index's counts decide a block for the filter's handler and reason
 * (the fields a block counts by); any other field needs its entries. */
static bool counts_decide(const drv_dlq_filter_t *f)
{
	return !f->schedule_id && !f->label_cnt && !f->grep && !f->group &&
	       !(f->handler && !strcmp(f->handler, "-"));
}

/* The block's entries of the filter's handler and reason, by its counts:
 * at most this many of its decodable entries match (all of them when no
 * such field is set). */
static size_t counted_matches(const drv_dlq_filter_t *f,
			      const drv_dlq_index_tally_t *t)
{
	size_t m = t->n;

	if (f->handler) {
		size_t h = 0;

		for (size_t i = 0; i < t->handler_cnt; i++)
			if (!strcmp(t->handler[i], f->handler))
				h = t->handler_n[i];
		m = h < m ? h : m;
	}
	if (f->has_reason && (unsigned)f->reason < DRV_DL_REASON_CNT &&
	    t->by_reason[f->reason] < m)
		m = t->by_reason[f->reason];
	return m;
}

/* Add the counts of block \p t, as stats_visit() would count its entries
 * (only its decodable ones when \p decodable_only). */
static void tally_add(stats_run_t *r, const drv_dlq_index_tally_t *t,
		      bool decodable_only)
{
	drv_dlq_stats_t *st = r->st;

	if (t->n)
		drv_dlq_span_add(&st->span, st->count, t->span.old_ms,
				 t->span.old_id, t->span.new_ms,
				 t->span.new_id);
	st->count += t->n;
	if (!decodable_only) {
		st->undecodable += t->undecodable;
		st->indexed += t->undecodable;
	}
	st->indexed += t->n;
	st->resubmitted += t->resubmitted;
	st->discarded += t->discarded;
	for (int i = 0; i < DRV_DL_REASON_CNT; i++)
		st->by_reason[i] += t->by_reason[i];
	for (size_t i = 0; i < t->handler_cnt; i++)
		if (!count_handler(r, t->handler[i], t->handler_n[i]))
			r->nomem = true;
}

static void span_add(by_index_t *x, int64_t from, int64_t to)
{
	if (x->cnt == x->cap) {
		size_t cap = x->cap * 2 + 64;
		span_t *ns = realloc(x->spans, cap * sizeof(*ns));

		if (!ns) {
			x->nomem = true;
			return;
		}
		x->spans = ns;
		x->cap = cap;
	}
	x->spans[x->cnt++] = (span_t){ from, to };
}

/*
 * One block of the index. Passed over uncounted when it cannot hold a
 * match: the filter's times take none of it, or its counts (those of its
 * entries in [lo, end), complete) hold none of the filter's handler or
 * reason. Counted and passed over when every entry matches: the times
 * take all of it and, with a handler or reason, every decodable entry is
 * of them (an undecodable entry matches no handler or reason). Else it is
 * read, unless the Bloom filters pass over it (skip()).
 */
static void on_tally(const drv_dlq_index_tally_t *t, void *arg)
{
	by_index_t *x = arg;
	const drv_dlq_filter_t *f = x->r->f;
	bool fields = f->handler || f->has_reason;
	int64_t from = t->block * DRV_DLQ_INDEX_BLOCK,
		to = from + DRV_DLQ_INDEX_BLOCK;
	bool none, all;
	size_t m;

	if (from < x->lo)
		from = x->lo;
	if (to > x->end)
		to = x->end;
	if (from >= to)
		return;
	none = (f->since_ms && t->max_ms < f->since_ms) ||
	       (f->until_ms && t->min_ms >= f->until_ms);
	all = (!f->since_ms || t->min_ms >= f->since_ms) &&
	      (!f->until_ms || t->max_ms < f->until_ms);
	if (!none && !t->bad && t->from == from && t->to == to &&
	    counts_decide(f)) {
		m = counted_matches(f, t);
		if (fields && m == 0) {
			none = true;
		} else if (all && m == t->n) {
			tally_add(x->r, t, fields);
			span_add(x, from, to);
			return;
		}
	}
	if (none)
		span_add(x, from, to);
}

/* Past the spans of partition \p p from \p offset; \p *until: where the
 * next one starts. */
static int64_t span_skip(by_index_t *x, int32_t p, int64_t offset,
			 int64_t *until)
{
	size_t end;

	*until = INT64_MAX;
	if (p < 0 || (size_t)p >= x->pcnt)
		return offset;
	end = (size_t)p + 1 < x->pcnt ? x->first[p + 1] : x->cnt;
	while (x->at[p] < end && x->spans[x->at[p]].to <= offset)
		x->at[p]++;
	for (size_t i = x->at[p]; i < end; i++) {
		if (x->spans[i].from > offset) {
			*until = x->spans[i].from;
			break;
		}
		offset = x->spans[i].to;  /* spans that touch: past them all */
	}
	return offset;
}

/* drv_topic_skip_fn: past the spans, then past what the Bloom filters
 * say holds no match, until neither moves the offset. */
static int64_t skip(int32_t p, int64_t offset, int64_t *until, void *arg)
{
	by_index_t *x = ((stats_run_t *)arg)->ix;
	int64_t next, u;

	for (;;) {
		offset = span_skip(x, p, offset, until);
		if (!x->q)
			return offset;
		next = drv_dlq_index_next(x->q, p, offset, &u);
		if (next == offset) {
			if (u < *until)
				*until = u;
			return offset;
		}
		offset = next;
	}
}

/* The counts of the index's blocks of every partition into \p x. */
static drv_err_t tally_all(by_index_t *x, redisContext *c, const int64_t *lo,
			   const int64_t *hi, char *errstr, size_t errstr_size)
{
	const drv_config_t *cfg = x->r->cfg;
	drv_err_t rc = DRV_OK;
	int64_t to;

	for (size_t p = 0; p < x->pcnt && !rc && !x->nomem; p++) {
		x->first[p] = x->at[p] = x->cnt;
		if ((rc = drv_dlq_index_position(c, cfg, (int32_t)p, &to,
						 errstr, errstr_size)))
			break;
		x->lo = lo[p];
		x->end = to < hi[p] ? to : hi[p];
		if (x->end > x->lo)
			rc = drv_dlq_index_tallies(c, cfg, (int32_t)p,
						   x->lo / DRV_DLQ_INDEX_BLOCK,
						   (x->end - 1) /
						   DRV_DLQ_INDEX_BLOCK,
						   on_tally, x, errstr,
						   errstr_size);
	}
	if (!rc && (x->nomem || x->r->nomem))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	return rc;
}

/* ---- counting ----------------------------------------------------------- */

/* Count through the index (with \p c) or by reading every entry. */
static drv_err_t stats_run(const drv_config_t *cfg, redisContext *c,
			   const drv_dlq_filter_t *f, bool use_index,
			   drv_dlq_stats_t *out, char *errstr,
			   size_t errstr_size)
{
	static const drv_dlq_filter_t none;
	stats_run_t r = { .cfg = cfg, .f = f ? f : &none, .st = out, .rc = c };
	by_index_t x = { .r = &r };
	int64_t *lo = NULL, *hi = NULL;
	drv_err_t rc;

	r.ix = &x;
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
	if (!c || !use_index) {
		rc = drv_dlq_read(cfg, stats_visit, &r, &out->read, errstr,
				  errstr_size);
	} else if (!(rc = drv_dlq_offsets(cfg, &lo, &hi, &x.pcnt, errstr,
					  errstr_size))) {
		if (f && (f->handler || f->has_reason || f->schedule_id ||
			  f->label_cnt || f->group))
			x.q = drv_dlq_index_query_new(cfg, c, f);
		x.first = calloc(x.pcnt + 1, sizeof(*x.first));
		x.at = calloc(x.pcnt + 1, sizeof(*x.at));
		rc = !x.first || !x.at ?
		     drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory") :
		     tally_all(&x, c, lo, hi, errstr, errstr_size);
		if (rc && rc != DRV_ERR_NOMEM) {
			/* Redis failed: read every entry, resubmitted
			 * unknown, as without Redis */
			drv_dlq_stats_release(out);
			out->resubmitted_known = false;
			drv_strlcpy(out->redis_err, errstr,
				    sizeof(out->redis_err));
			r.rc = NULL;
			r.nomem = false;
			drv_dlq_index_query_destroy(x.q);
			x.q = drv_dlq_index_query_new(cfg, c, f);
			x.cnt = 0;
			memset(x.first, 0, (x.pcnt + 1) * sizeof(*x.first));
			memset(x.at, 0, (x.pcnt + 1) * sizeof(*x.at));
			rc = DRV_OK;
		}
		if (!rc)
			rc = drv_dlq_read_skip(cfg, lo, hi, x.pcnt, stats_visit,
					       skip, &r, &out->read, errstr,
					       errstr_size);
	}
	count_marks(&r);
	free(r.pend);
	free(r.marks);
	free(lo);
	free(hi);
	drv_dlq_index_query_destroy(x.q);
	free(x.spans);
	free(x.first);
	free(x.at);
	if (!rc && r.nomem)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	if (!rc && out->handler_cnt > 1)
		qsort(out->handlers, out->handler_cnt, sizeof(*out->handlers),
		      handler_cmp);
	return rc;
}

drv_err_t drv_dlq_stats(const drv_config_t *cfg, redisContext *c,
			const drv_dlq_filter_t *f, drv_dlq_stats_t *out,
			char *errstr, size_t errstr_size)
{
	return stats_run(cfg, c, f, true, out, errstr, errstr_size);
}

drv_err_t drv_dlq_stats_read(const drv_config_t *cfg, redisContext *c,
			     const drv_dlq_filter_t *f, drv_dlq_stats_t *out,
			     char *errstr, size_t errstr_size)
{
	return stats_run(cfg, c, f, false, out, errstr, errstr_size);
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
		json_object_set_new(o, "oldest", end_json(st->span.old_ms,
							  st->span.old_id));
		json_object_set_new(o, "newest", end_json(st->span.new_ms,
							  st->span.new_id));
	}
	json_object_set_new(o, "resubmitted", st->resubmitted_known ?
		json_integer((json_int_t)st->resubmitted) : json_null());
	json_object_set_new(o, "discarded", st->resubmitted_known ?
		json_integer((json_int_t)st->discarded) : json_null());
	json_object_set_new(o, "by_reason", r);
	json_object_set_new(o, "by_handler", h);
	return o;
}
