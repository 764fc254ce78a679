/*
 * dlq_resubmit.c — the resubmission of dead letters (see
 * drover/dlq_resubmit.h for the guarantees): batches of marks read, tasks
 * produced without waiting, the oldest acknowledgements collected once
 * FLY_MAX are in flight, marks written for what the broker took. A discard
 * goes the same way and writes discard marks instead of producing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/dlq_resubmit.h"
#include "drover/clock.h"
#include "drover/dlq_index.h"
#include "drover/kafka.h"
#include "drover/str.h"

#define IDEM_PREFIX "drover.resubmit:"

/* Produces in flight before their acknowledgements are collected. */
#define FLY_MAX (16 * DRV_DLQ_MARK_BATCH)

/* A dead letter's new task, built and waiting to be sent. */
typedef struct pending {
	drv_task_t     task;
	char           dl_id[DRV_ID_LEN + 1];
	drv_dlq_pos_t  pos;
	char           topic[256];
} pending_t;

/* A task produced and not yet acknowledged. */
typedef struct inflight {
	char           dl_id[DRV_ID_LEN + 1];
	char           task_id[DRV_ID_LEN + 1];
	drv_dlq_pos_t  pos;
	char           topic[256];
	drv_delivery_t dr;
} inflight_t;

typedef struct run {
	const drv_config_t *cfg;
	drv_dlq_resubmit_t *r;
	redisContext *rc;
	rd_kafka_t   *rk;
	int64_t       retry_dead_ms;
	pending_t    *batch;
	size_t        batch_cnt, batch_cap;
	inflight_t   *fly;        /* a ring of FLY_MAX entries */
	size_t        fly_head, fly_cnt;
	const char  **acked_dl, **acked_task;  /* FLY_MAX each */
	drv_dlq_pos_t *acked_pos;
	char        (*marks)[DRV_ID_LEN + 1];  /* DRV_DLQ_MARK_BATCH */
	int64_t       start_ms;
	int64_t      *pos;        /* a range's next offset per partition, */
	int64_t      *done;       /* and the last one nothing is pending
				     before (progress) */
	int64_t       report_at;  /* mono ms of the next progress report */
	drv_dlq_index_query_t *q; /* a filter's blocks; NULL: read all */
	drv_err_t     err;
	char          errstr[512];
} run_t;

static void item_failed(run_t *x, const char *dl_id, const char *why)
{
	x->r->failed++;
	if (x->r->hooks.item_failed)
		x->r->hooks.item_failed(dl_id, why, x->r->hooks.arg);
}

static bool stopped(run_t *x)
{
	if (x->r->hooks.stop && x->r->hooks.stop(x->r->hooks.arg))
		x->r->interrupted = true;
	return x->r->interrupted;
}

/* ---- building the new task ---------------------------------------------- */

static drv_err_t build(run_t *x, const drv_dead_letter_t *dl,
		       drv_task_t *t, char *errstr, size_t errstr_size)
{
	const drv_dlq_resubmit_t *r = x->r;
	drv_patch_t none;
	drv_task_t src = dl->task;
	char idem[DRV_ID_LEN * 2 + 32], *payload = NULL;
	size_t len = 0;
	drv_err_t rc;

	/* a shallow view without the history when it is reset */
	if (r->reset) {
		src.failures = NULL;
		src.failure_cnt = 0;
		src.attempt = 0;
	}
	if ((rc = drv_task_copy(t, &src)))
		return drv_error(errstr, errstr_size, rc, "cannot copy the "
				 "task: %s", drv_strerror(rc));
	if (r->force)
		drv_id_new(t->id, drv_now_ms());
	else
		drv_dlq_resubmit_id(dl->id, 0, t->id);
	drv_patch_init(&none);
	if ((rc = drv_patch_apply(r->patch ? r->patch : &none,
				  dl->task.payload, dl->task.payload_len,
				  &payload, &len, errstr, errstr_size)))
		return rc;
	rc = drv_task_set_payload(t, payload, len);
	free(payload);
	if (r->priority)
		t->priority = r->priority;
	if (r->policy) {
		free(t->policy);
		t->policy = drv_strdup(r->policy);
	}
	if (r->max_attempts)
		t->max_attempts = r->max_attempts;
	if (t->max_attempts && t->attempt >= t->max_attempts)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "it has made %u of its %u attempts: add "
				 "--reset-attempts or a higher --max-attempts",
				 t->attempt, t->max_attempts);
	t->created_ms = drv_now_ms();
	t->not_before_ms = 0;
	free(t->origin.dead_letter_id);
	t->origin.dead_letter_id = drv_strdup(dl->id);
	free(t->origin.submitted_by);
	t->origin.submitted_by = drv_strdup(r->submitted_by ?
					    r->submitted_by : "");
	if (!t->idempotency_key) {
		if (r->force)
			drv_fmt(idem, sizeof(idem), IDEM_PREFIX "%s:%s", dl->id,
				t->id);
		else
			drv_fmt(idem, sizeof(idem), IDEM_PREFIX "%s", dl->id);
		t->idempotency_key = drv_strdup(idem);
	}
	if (!rc)
		rc = drv_task_set_label(t, DRV_DLQ_RESUBMIT_LABEL, dl->id);
	if (!rc && (!t->origin.dead_letter_id || !t->origin.submitted_by ||
		    !t->idempotency_key || (r->policy && !t->policy)))
		rc = DRV_ERR_NOMEM;
	if (rc)
		return drv_error(errstr, errstr_size, rc, "%s",
				 drv_strerror(rc));
	return drv_task_validate(t, errstr, errstr_size);
}

/* ---- one batch: marks, produce, acknowledgements, marks ----------------- */

/* Wait for the \p k oldest produces in flight, then mark what the broker
 * acknowledged (one pipelined round of SETs). The younger ones stay in
 * flight meanwhile. */
static void settle_oldest(run_t *x, size_t k)
{
	int64_t deadline = drv_mono_ms() + x->cfg->kafka.connect_timeout_ms;
	drv_dlq_resubmit_t *r = x->r;
	size_t acked = 0;
	char err[512];

	if (k > x->fly_cnt)
		k = x->fly_cnt;
	for (size_t i = 0; i < k; i++) {
		inflight_t *f = &x->fly[(x->fly_head + i) % FLY_MAX];
		int64_t left = deadline - drv_mono_ms();

		if (drv_kafka_wait(x->rk, &f->dr, f->topic,
				   left > 0 ? left : 1, err, sizeof(err))) {
			item_failed(x, f->dl_id, err);
			continue;
		}
		x->acked_dl[acked] = f->dl_id;
		x->acked_pos[acked] = f->pos;
		x->acked_task[acked++] = f->task_id;
		drv_strlcpy(r->last_id, f->task_id, sizeof(r->last_id));
	}
	if (acked && !x->err &&
	    (x->err = drv_dlq_marks_set(x->rc, x->cfg, x->acked_dl,
					x->acked_task, x->acked_pos, acked,
					x->errstr,
					sizeof(x->errstr)))) {
		/* sent but not marked: a rerun sends the same task ids with
		 * the same idempotency keys; say so */
		if (r->hooks.unmarked)
			r->hooks.unmarked(acked, r->hooks.arg);
	} else {
		r->sent += acked;
		for (size_t i = 0; r->hooks.sent && i < acked; i++)
			r->hooks.sent(x->acked_dl[i], x->acked_task[i],
				      r->hooks.arg);
	}
	/* the ring's slots are reused only now: acked_* point into them */
	x->fly_head = (x->fly_head + k) % FLY_MAX;
	x->fly_cnt -= k;
}

/* Wait for everything in flight and mark it. */
static void settle(run_t *x)
{
	settle_oldest(x, x->fly_cnt);
}

/* Write the discard marks of the \p n entries gathered in x->acked_dl /
 * x->acked_pos; one that another run marked meanwhile is skipped as the
 * mark found says. */
static void discard(run_t *x, size_t n)
{
	drv_dlq_resubmit_t *r = x->r;

	if ((x->err = drv_dlq_marks_discard(x->rc, x->cfg, x->acked_dl,
					    x->acked_pos, n, x->marks,
					    x->errstr, sizeof(x->errstr))))
		return;
	for (size_t i = 0; i < n; i++) {
		if (drv_dlq_mark_discarded(x->marks[i])) {
			r->already_discarded++;
		} else if (x->marks[i][0]) {
			r->already++;
		} else {
			r->sent++;
			if (r->hooks.sent)
				r->hooks.sent(x->acked_dl[i],
					      DRV_DLQ_DISCARDED, r->hooks.arg);
		}
	}
}

/* Check the marks of pending[0..n) and produce the unmarked ones without
 * waiting; settle() collects the acknowledgements once FLY_MAX are in
 * flight, so several batches overlap with the broker's latency. */
static void flush(run_t *x, pending_t *pv, size_t n)
{
	const char *dl_ids[DRV_DLQ_MARK_BATCH];
	drv_dlq_resubmit_t *r = x->r;
	int64_t now = drv_now_ms();
	size_t disc = 0;
	char err[512];

	if (n == 0 || x->err)
		return;
	if (x->fly_cnt + n > FLY_MAX)
		settle_oldest(x, x->fly_cnt + n - FLY_MAX);
	for (size_t i = 0; i < n; i++)
		dl_ids[i] = pv[i].dl_id;
	if (r->force && !r->discard)
		memset(x->marks, 0, DRV_DLQ_MARK_BATCH * sizeof(*x->marks));
	else if ((x->err = drv_dlq_marks_get(x->rc, x->cfg, dl_ids, n,
					     x->marks, x->errstr,
					     sizeof(x->errstr))))
		return;
	for (size_t i = 0; i < n; i++) {
		pending_t *p = &pv[i];
		inflight_t *f;

		if (x->marks[i][0]) {
			if (drv_dlq_mark_discarded(x->marks[i]))
				r->already_discarded++;
			else
				r->already++;
			continue;
		}
		if (r->discard) {
			if (r->dry_run) {
				if (r->hooks.dry_item)
					r->hooks.dry_item(p->dl_id, NULL, NULL,
							  r->hooks.arg);
				r->sent++;
				continue;
			}
			/* nothing in flight when discarding: the slots
			 * of the acknowledged are free */
			x->acked_dl[disc] = p->dl_id;
			x->acked_pos[disc++] = p->pos;
			continue;
		}
		drv_task_route(x->cfg, &p->task, now, p->topic,
			       sizeof(p->topic));
		if (r->dry_run) {
			if (r->hooks.dry_item)
				r->hooks.dry_item(p->dl_id, p->topic, &p->task,
						  r->hooks.arg);
			r->sent++;
			continue;
		}
		f = &x->fly[(x->fly_head + x->fly_cnt) % FLY_MAX];
		memset(&f->dr, 0, sizeof(f->dr));
		if (drv_task_produce(x->rk, &p->task, p->topic, &f->dr, err,
				     sizeof(err))) {
			item_failed(x, p->dl_id, err);
			continue;
		}
		drv_strlcpy(f->dl_id, p->dl_id, sizeof(f->dl_id));
		drv_strlcpy(f->task_id, p->task.id, sizeof(f->task_id));
		f->pos = p->pos;
		drv_strlcpy(f->topic, p->topic, sizeof(f->topic));
		x->fly_cnt++;
	}
	if (disc)
		discard(x, disc);
	if (x->rk)
		rd_kafka_poll(x->rk, 0);
}

static void release_batch(run_t *x)
{
	for (size_t i = 0; i < x->batch_cnt; i++)
		drv_task_release(&x->batch[i].task);
	x->batch_cnt = 0;
}

static void flush_batch(run_t *x)
{
	for (size_t i = 0; i < x->batch_cnt && !x->err;
	     i += DRV_DLQ_MARK_BATCH) {
		size_t n = x->batch_cnt - i;

		flush(x, x->batch + i, n > DRV_DLQ_MARK_BATCH ?
		      DRV_DLQ_MARK_BATCH : n);
	}
	release_batch(x);
}

/* The rate: wait until the next entry is due. */
static void pace(run_t *x)
{
	drv_dlq_resubmit_t *r = x->r;
	int64_t due, now;
	struct timespec ts;

	if (r->rate <= 0)
		return;
	due = x->start_ms + (int64_t)((double)(r->sent + r->already +
					       r->already_discarded +
					       x->fly_cnt + x->batch_cnt) *
				      1000.0 / r->rate);
	if ((now = drv_mono_ms()) >= due)
		return;
	flush_batch(x); /* nothing waits unsent while we sleep */
	settle(x);
	/* in steps, asking hooks.stop between them: a slow rate must not
	 * keep a job's runner from its lease or a pause */
	while ((now = drv_mono_ms()) < due && !stopped(x)) {
		int64_t step = due - now < 200 ? due - now : 200;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		nanosleep(&ts, NULL);
	}
}

static bool wanted(run_t *x, const drv_dlq_entry_t *e)
{
	drv_dlq_resubmit_t *r = x->r;
	bool hit = false;

	if (r->every)
		return !r->filter || drv_dlq_filter_match(r->filter, e);
	for (size_t i = 0; i < r->id_cnt; i++)
		if (!e->undecodable && (!strcmp(e->dl.id, r->ids[i]) ||
					!strcmp(e->dl.task.id, r->ids[i]))) {
			if (r->id_found)
				r->id_found[i] = true;
			hit = true;
		}
	return hit;
}

static bool visit_entry(run_t *x, const drv_dlq_entry_t *e)
{
	drv_dlq_resubmit_t *r = x->r;
	pending_t *p;
	char err[512], why[600];

	if (!wanted(x, e))
		return true;
	r->matched++;
	if (e->undecodable) {
		r->undecodable++;
		return true;
	}
	if (r->max && r->sent + x->fly_cnt + x->batch_cnt >= r->max) {
		flush_batch(x);
		settle(x);
		if (x->err || r->sent >= r->max)
			return false;
	}
	if (r->every)
		pace(x);
	if (r->newest_only && x->batch_cnt) {
		/* a task dead-lettered more than once: the newest wins */
		if (e->dl.dead_ms < x->retry_dead_ms)
			return true;
		release_batch(x);
	}
	x->retry_dead_ms = e->dl.dead_ms;
	if (x->batch_cnt == x->batch_cap) {
		size_t cap = x->batch_cap ? x->batch_cap * 2 : 64;
		pending_t *nb = realloc(x->batch, cap * sizeof(*nb));

		if (!nb) {
			x->err = drv_error(x->errstr, sizeof(x->errstr),
					   DRV_ERR_NOMEM, "out of memory");
			return false;
		}
		x->batch = nb;
		x->batch_cap = cap;
	}
	p = &x->batch[x->batch_cnt];
	memset(p, 0, sizeof(*p));
	drv_task_init(&p->task);
	drv_strlcpy(p->dl_id, e->dl.id, sizeof(p->dl_id));
	p->pos = (drv_dlq_pos_t){ e->partition, e->offset };
	if (!r->discard && build(x, &e->dl, &p->task, err, sizeof(err))) {
		drv_fmt(why, sizeof(why), "cannot resubmit: %s", err);
		drv_task_release(&p->task);
		item_failed(x, e->dl.id, why);
		return true;
	}
	x->batch_cnt++;
	/* every: send in batches as the read goes; ids: keep all until every
	 * id was found, so an unknown id sends nothing */
	if (r->every && x->batch_cnt >= DRV_DLQ_MARK_BATCH)
		flush_batch(x);
	return !x->err && !stopped(x);
}

/* Tell hooks.progress where the range is settled. */
static void report(run_t *x)
{
	drv_dlq_resubmit_t *r = x->r;

	x->report_at = drv_mono_ms() + 1000;
	r->hooks.progress(x->done, r->part_cnt, r->hooks.arg);
}

/* The DLQ index's answer: what it skips holds no entry of the filter, so
 * it is settled as soon as what was before it is. */
static int64_t skip(int32_t p, int64_t offset, int64_t *until, void *arg)
{
	run_t *x = arg;
	int64_t n = drv_dlq_index_next(x->q, p, offset, until);

	if (n > offset && x->pos && (size_t)p < x->r->part_cnt) {
		x->pos[p] = n;
		if (!x->batch_cnt)
			x->done[p] = n;
	}
	return n;
}

static bool visit(const drv_dlq_entry_t *e, void *arg)
{
	run_t *x = arg;
	bool more;

	if (stopped(x))
		return false;
	more = visit_entry(x, e);
	if (!x->pos || e->partition < 0 ||
	    (size_t)e->partition >= x->r->part_cnt)
		return more;
	/* e is handled: pending, sent, skipped or failed */
	x->pos[e->partition] = e->offset + 1;
	if (!x->batch_cnt)
		memcpy(x->done, x->pos, x->r->part_cnt * sizeof(*x->pos));
	if (x->r->hooks.progress && drv_mono_ms() >= x->report_at &&
	    !x->err && !x->r->interrupted) {
		flush_batch(x);
		settle(x);
		memcpy(x->done, x->pos, x->r->part_cnt * sizeof(*x->pos));
		report(x);
	}
	return more;
}

/* With ids: was every one found, and built? */
static bool ids_ok(const drv_dlq_resubmit_t *r)
{
	for (size_t i = 0; r->id_found && i < r->id_cnt; i++)
		if (!r->id_found[i])
			return false;
	return !r->failed && !r->undecodable;
}

static bool start(drv_dlq_resubmit_t *r)
{
	if (r->dry_run || !r->hooks.start || r->hooks.start(r->hooks.arg))
		return true;
	r->aborted = true;
	return false;
}

drv_err_t drv_dlq_resubmit_run(const drv_config_t *cfg, redisContext *c,
			       rd_kafka_t *rk, drv_dlq_resubmit_t *r,
			       char *errstr, size_t errstr_size)
{
	run_t x = { .cfg = cfg, .r = r, .rc = c, .rk = rk };
	drv_err_t rc;

	if (!r->dry_run && !r->discard && !rk)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "no producer");
	x.fly = calloc(FLY_MAX, sizeof(*x.fly));
	x.acked_dl = calloc(FLY_MAX, sizeof(*x.acked_dl));
	x.acked_task = calloc(FLY_MAX, sizeof(*x.acked_task));
	x.acked_pos = calloc(FLY_MAX, sizeof(*x.acked_pos));
	x.marks = calloc(DRV_DLQ_MARK_BATCH, sizeof(*x.marks));
	if (!x.fly || !x.acked_dl || !x.acked_task || !x.acked_pos ||
	    !x.marks) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	if (r->every && r->to && r->part_cnt) {
		x.pos = calloc(r->part_cnt, sizeof(*x.pos));
		x.done = calloc(r->part_cnt, sizeof(*x.done));
		if (!x.pos || !x.done) {
			rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				       "out of memory");
			goto out;
		}
		for (size_t p = 0; r->from && p < r->part_cnt; p++)
			x.pos[p] = x.done[p] = r->from[p];
		x.report_at = drv_mono_ms() + 1000;
	}
	x.start_ms = drv_mono_ms();
	if (r->every && !start(r)) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_IO, "not started");
		goto out;
	}
	if (r->every && r->filter)
		x.q = drv_dlq_index_query_new(cfg, c, r->filter);
	rc = drv_dlq_read_skip(cfg, r->to ? r->from : NULL, r->to,
			       r->to ? r->part_cnt : 0, visit,
			       x.q ? skip : NULL, &x, NULL, errstr,
			       errstr_size);
	if (!rc && !r->every && !x.err && !r->interrupted) {
		if (!ids_ok(r)) {
			r->nothing_sent = true;
			release_batch(&x);
			rc = drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				       "nothing sent");
			goto out;
		}
		if (!start(r)) {
			release_batch(&x);
			rc = drv_error(errstr, errstr_size, DRV_ERR_IO,
				       "not started");
			goto out;
		}
	}
	/* a range (a job) interrupted still sends what it has built and
	 * counted, so its progress ends where its counts do */
	if (!rc && (!r->interrupted || x.pos)) {
		flush_batch(&x);
		if (x.pos)
			memcpy(x.done, x.pos, r->part_cnt * sizeof(*x.pos));
	} else {
		release_batch(&x);
	}
	settle(&x);  /* what was produced is marked, interrupted or not */
	if (x.pos && r->hooks.progress && !x.err)
		report(&x);
	if (!rc && x.err)
		rc = drv_error(errstr, errstr_size, x.err, "%s", x.errstr);
out:
	release_batch(&x);
	free(x.batch);
	free(x.fly);
	free(x.acked_dl);
	free(x.acked_task);
	free(x.acked_pos);
	free(x.marks);
	free(x.pos);
	free(x.done);
	drv_dlq_index_query_destroy(x.q);
	return rc;
}
