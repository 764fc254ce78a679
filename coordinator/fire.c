/*
 * fire.c — the scheduler. While this coordinator leads, it takes the
 * schedules that are due off the heap in batches and, for each batch:
 *
 *  1. overlap: for schedules whose policy is not `allow`, reads the
 *     unfinished run (P sched:run:<id>); `skip` drops the fire,
 *     `buffer_one` keeps one for when the run ends;
 *  2. markers: one Lua script checks that this process still holds the
 *     lease and sets P fire:<id>:<nominal ms> with NX for every fire; a
 *     fire whose marker already existed was made by another leader and is
 *     not published again (at most once per schedule and time);
 *  3. publishes the tasks (labels drover.schedule, drover.scheduled_for,
 *     drover.fence; origin schedule_id, scheduled_ms, fencing_token) and
 *     waits for every acknowledgement;
 *  4. records, pipelined: the last time handled (P sched:last), the run
 *     now unfinished, the next time, the fire in the statistics and in the
 *     fire history (P sched:fires:<id>, drover/sched_fires.h: published,
 *     caught up, manual, skipped or buffered; duplicates are the other
 *     leader's fires; a failed one retried later by retry_failed() is not
 *     recorded, as it is not in the statistics).
 *
 * A fire asked for by hand (drv_sched_trigger(): `droverctl schedule
 * trigger`, POST /api/v1/schedules/{id}/trigger) is queued in Redis
 * (P sched:trigger); the leader drains the queue every loop turn and fires
 * each request through the same four steps, with the task id the request
 * holds, its request time as scheduled_for, the labels drover.fire=
 * manual and drover.actor, and the marker P fire:<id>:manual:<task id>, so
 * a request is fired at most once across leaders. A manual fire moves
 * neither the last time handled nor the next time. A request is taken off
 * the queue only once its batch was made.
 *
 * A produce that is not acknowledged is retried with the same task (its
 * marker is held) while this process leads. After a takeover every
 * schedule resumes from its last time handled (drv_sched_resume()), which
 * is what makes a fire missed in a leader gap happen late rather than
 * never (schedules.c).
 */
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/sched_edit.h"
#include "drover/sched_fires.h"
#include "drover/str.h"

#define BATCH_MAX 10000
#define ACK_TIMEOUT_MS 30000
#define BUFFER_CHECK_MS 500
#define TRIGGER_BATCH 100
/* A fire-now request no leader took within this is dropped: it was meant
 * for "now", and an hour-old "now" (no coordinator ran meanwhile) is a
 * surprise, not a fire. */
#define TRIGGER_MAX_AGE_MS (10 * 60 * 1000)

enum fire_state {
	F_PENDING,     /* to be claimed */
	F_CLAIMED,     /* marker set by us: publish */
	F_DUPLICATE,   /* marker existed: another leader fired it */
	F_OVERLAP,     /* previous run unfinished: skipped */
	F_BUFFERED,    /* previous run unfinished: kept for later */
	F_FAILED,      /* publish failed (kept for retry) */
	F_DONE,        /* published and acknowledged */
};

typedef struct fire {
	drv_sched_item_t *it;
	const drv_sched_trigger_t *req;  /* a manual fire's request (borrowed
					    until the batch is recorded) */
	int64_t nominal;
	int64_t produced_ms;   /* when its publish was sent */
	enum fire_state state;
	drv_task_t task;
	drv_delivery_t dr;
	char topic[256];
} fire_t;

/* Fires whose marker we hold but whose publish was not acknowledged. */
static fire_t *retry;
static size_t retry_cnt;

static const char claim_lua[] =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end "
	"local r = {} "
	"for i = 2, #KEYS do "
	"  if redis.call('SET', KEYS[i], ARGV[2], 'NX', 'PX', ARGV[i + 1]) then "
	"    r[#r + 1] = 1 else r[#r + 1] = 0 end "
	"end "
	"return r";

/* ------------------------------------------------------------------ */
/* One batch                                                           */
/* ------------------------------------------------------------------ */

/* Put every fire of the batch back on the heap at its nominal time (the
 * batch could not be made: Redis gone, lease lost). */
static void put_back(coord_t *c, fire_t *f, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (!f[i].req)   /* requests stay queued */
			drv_sched_set_next(c->sched, f[i].it, f[i].nominal);
}

/* Step 1: overlap. @returns false if Redis failed. */
static bool check_overlap(coord_t *c, fire_t *f, size_t n)
{
	char key[512];

	if (!c->redis)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (f[i].it->conf.overlap == DRV_OVERLAP_ALLOW)
			continue;
		coord_key(c, key, sizeof(key), "sched:run:%s",
			  f[i].it->conf.name);
		redisAppendCommand(c->redis, "EXISTS %s", key);
	}
	for (size_t i = 0; i < n; i++) {
		sched_state_t *st = coord_state(f[i].it);
		redisReply *r = NULL;

		if (f[i].it->conf.overlap == DRV_OVERLAP_ALLOW)
			continue;
		if (redisGetReply(c->redis, (void **)&r) != REDIS_OK) {
			coord_redis_lost(c, NULL);
			return false;
		}
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
			if (f[i].it->conf.overlap == DRV_OVERLAP_BUFFER_ONE &&
			    !st->buffered_ms && !st->buffered_req) {
				/* a request is kept as itself (its task id);
				 * out of memory, it is skipped */
				if (!f[i].req)
					st->buffered_ms = f[i].nominal;
				else if ((st->buffered_req = malloc(
					sizeof(*st->buffered_req))))
					*st->buffered_req = *f[i].req;
				f[i].state = st->buffered_ms ||
					     st->buffered_req ? F_BUFFERED :
					     F_OVERLAP;
			} else {
				f[i].state = F_OVERLAP;
			}
		}
		freeReplyObject(r);
	}
	return true;
}

/* Step 2: markers. @returns false if Redis failed or the lease is gone. */
static bool claim(coord_t *c, fire_t *f, size_t n)
{
	const char **argv;
	size_t *lens, argc = 0, k = 0, want = 0;
	char (*keys)[320], (*ttls)[24] = NULL, lease[512], val[200];
	char nkeys[16];
	redisReply *r;
	bool ok = false;

	for (size_t i = 0; i < n; i++)
		want += f[i].state == F_PENDING;
	if (!want)
		return true;
	if (!c->redis)
		return false;
	argv = calloc(2 * want + 8, sizeof(*argv));
	lens = calloc(2 * want + 8, sizeof(*lens));
	keys = calloc(want, sizeof(*keys));
	ttls = calloc(want, sizeof(*ttls));
	if (!argv || !lens || !keys || !ttls)
		goto out;
	coord_key(c, lease, sizeof(lease), "coord:leader");
	drv_fmt(val, sizeof(val), "%llu %s", (unsigned long long)c->fence,
		c->d->id);
	drv_fmt(nkeys, sizeof(nkeys), "%zu", want + 1);
	argv[argc++] = "EVAL";
	argv[argc++] = claim_lua;
	argv[argc++] = nkeys;
	argv[argc++] = lease;
	for (size_t i = 0; i < n; i++) {
		if (f[i].state != F_PENDING)
			continue;
		if (f[i].req)
			coord_key(c, keys[k], sizeof(keys[k]),
				  "fire:%s:manual:%s", f[i].it->conf.name,
				  f[i].req->task_id);
		else
			coord_key(c, keys[k], sizeof(keys[k]), "fire:%s:%lld",
				  f[i].it->conf.name, (long long)f[i].nominal);
		argv[argc++] = keys[k++];
	}
	argv[argc++] = c->d->id;
	argv[argc++] = val;
	/* a marker lives as long as a leader could fire its time again: the
	 * schedule's catch-up window plus the grace, at least marker_ttl */
	k = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t ttl = f[i].it ? f[i].it->conf.catchup_window_ms +
			      c->cfg->coordinator.misfire_grace_ms : 0;

		if (f[i].state != F_PENDING)
			continue;
		if (ttl < c->cfg->coordinator.marker_ttl_ms)
			ttl = c->cfg->coordinator.marker_ttl_ms;
		coord_fmt_ms(ttls[k], sizeof(ttls[k]), ttl);
		argv[argc++] = ttls[k++];
	}
	for (size_t i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	r = redisCommandArgv(c->redis, (int)argc, argv, lens);
	if (!r) {
		coord_redis_lost(c, NULL);
		goto out;
	}
	if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
		leader_lost(c, "the lease is held by another coordinator");
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == want) {
		k = 0;
		for (size_t i = 0; i < n; i++) {
			if (f[i].state != F_PENDING)
				continue;
			f[i].state = r->element[k++]->integer == 1 ?
				     F_CLAIMED : F_DUPLICATE;
		}
		ok = true;
	} else {
		drv_log_kv(DRV_LOG_ERROR, "fire markers refused", "error",
			   r->type == REDIS_REPLY_ERROR ? r->str : "reply",
			   NULL);
	}
	freeReplyObject(r);
out:
	free(argv);
	free(lens);
	free(keys);
	free(ttls);
	return ok;
}

/* The task of fire \p f. */
static bool build(coord_t *c, fire_t *f, int64_t now)
{
	char when[40], fence[32];
	drv_err_t err;

	if (coord_task_build(c, &f->it->conf.task, NULL, now, &f->task))
		return false;
	drv_format_time(f->nominal, when, sizeof(when));
	drv_fmt(fence, sizeof(fence), "%llu", (unsigned long long)c->fence);
	f->task.origin.schedule_id = drv_strdup(f->it->conf.name);
	f->task.origin.scheduled_ms = f->nominal;
	f->task.origin.fencing_token = c->fence;
	err = f->task.origin.schedule_id ? DRV_OK : DRV_ERR_NOMEM;
	if (!err)
		err = drv_task_set_label(&f->task, "drover.schedule",
					 f->it->conf.name);
	if (!err)
		err = drv_task_set_label(&f->task, "drover.scheduled_for",
					 when);
	if (!err)
		err = drv_task_set_label(&f->task, "drover.fence", fence);
	if (!err && f->req) {
		drv_strlcpy(f->task.id, f->req->task_id, sizeof(f->task.id));
		err = drv_task_set_label(&f->task, "drover.fire", "manual");
		if (!err && f->req->actor[0])
			err = drv_task_set_label(&f->task, "drover.actor",
						 f->req->actor);
	}
	return !err;
}

/* Step 3: produce every claimed fire (and the retries), then wait for
 * every acknowledgement. */
static void publish(coord_t *c, fire_t *f, size_t n)
{
	int64_t now = drv_now_ms(), deadline = drv_mono_ms() + ACK_TIMEOUT_MS;
	char err[512];
	size_t waiting = 0;

	for (size_t i = 0; i < n; i++) {
		if (f[i].state != F_CLAIMED && f[i].state != F_FAILED)
			continue;
		if (f[i].state == F_CLAIMED && !build(c, &f[i], now)) {
			f[i].state = F_FAILED;
			continue;
		}
		memset(&f[i].dr, 0, sizeof(f[i].dr));
		drv_task_route(c->cfg, &f[i].task, now, f[i].topic,
			       sizeof(f[i].topic));
		if (drv_task_produce(c->producer, &f[i].task, f[i].topic,
				     &f[i].dr, err, sizeof(err))) {
			f[i].state = F_FAILED;
			drv_log_kv(DRV_LOG_ERROR, "cannot publish a fire",
				   "schedule", f[i].it ? f[i].it->conf.name :
				   f[i].task.origin.schedule_id, "error", err,
				   NULL);
			continue;
		}
		f[i].state = F_CLAIMED;
		f[i].produced_ms = now;
		waiting++;
	}
	while (waiting && drv_mono_ms() < deadline) {
		waiting = 0;
		for (size_t i = 0; i < n; i++)
			waiting += f[i].state == F_CLAIMED && !f[i].dr.done;
		if (waiting)
			rd_kafka_poll(c->producer, 5);
	}
	if (waiting)
		rd_kafka_purge(c->producer, RD_KAFKA_PURGE_F_QUEUE |
			       RD_KAFKA_PURGE_F_INFLIGHT);
	while (waiting) {   /* purged messages report too */
		waiting = 0;
		for (size_t i = 0; i < n; i++)
			waiting += f[i].state == F_CLAIMED && !f[i].dr.done;
		rd_kafka_poll(c->producer, 5);
	}
	for (size_t i = 0; i < n; i++) {
		if (f[i].state != F_CLAIMED)
			continue;
		if (f[i].dr.err) {
			f[i].state = F_FAILED;
			drv_log_kv(DRV_LOG_ERROR, "publish of a fire not "
				   "acknowledged; will retry", "schedule",
				   f[i].task.origin.schedule_id, "error",
				   rd_kafka_err2str(f[i].dr.err), NULL);
		} else {
			f[i].state = F_DONE;
		}
	}
}

/* The history entry of fire \p f (recorded at \p now; published when
 * its produce was sent); false when it is not kept (a duplicate). */
static bool history_of(coord_t *c, const fire_t *f, int64_t now,
		       drv_sched_fire_t *h)
{
	memset(h, 0, sizeof(*h));
	h->nominal_ms = f->nominal;
	switch (f->state) {
	case F_DONE:
		h->published_ms = f->produced_ms ? f->produced_ms : now;
		drv_strlcpy(h->task_id, f->task.id, sizeof(h->task_id));
		h->kind = f->req ? DRV_FIRE_MANUAL :
			  h->published_ms - f->nominal -
			  drv_sched_jitter(f->it, f->nominal)
			  > c->cfg->coordinator.misfire_grace_ms ?
			  DRV_FIRE_CAUGHT_UP : DRV_FIRE_PUBLISHED;
		return true;
	case F_OVERLAP:
	case F_BUFFERED:
		h->kind = f->state == F_OVERLAP ? DRV_FIRE_SKIPPED :
			  DRV_FIRE_BUFFERED;
		if (f->req)
			drv_strlcpy(h->task_id, f->req->task_id,
				    sizeof(h->task_id));
		return true;
	default:
		return false;
	}
}

/* Step 4: what Redis keeps of the batch, pipelined. */
static void record(coord_t *c, fire_t *f, size_t n)
{
	char last[512], next[512], key[512], ms[32], nx[32], ttl[32];
	int64_t now = drv_now_ms();
	drv_sched_fire_t h;
	size_t cmds = 0;

	if (!c->redis)
		return;
	coord_key(c, last, sizeof(last), "sched:last");
	coord_key(c, next, sizeof(next), "sched:next");
	coord_fmt_ms(ttl, sizeof(ttl), c->cfg->coordinator.run_timeout_ms);
	for (size_t i = 0; i < n; i++) {
		drv_sched_item_t *it = f[i].it;

		if (f[i].state == F_FAILED || !it)
			continue;
		coord_fmt_ms(ms, sizeof(ms), f[i].nominal);
		coord_fmt_ms(nx, sizeof(nx), it->next_ms);
		if (f[i].req) {
			/* the cron times are not the manual fire's */
		} else if (f[i].nominal > coord_state(it)->last_ms) {
			coord_state(it)->last_ms = f[i].nominal;
			redisAppendCommand(c->redis, "HSET %s %s %s", last,
					   it->conf.name, ms);
			cmds++;
		}
		if (!f[i].req) {
			redisAppendCommand(c->redis, "HSET %s %s %s", next,
					   it->conf.name, nx);
			cmds++;
		}
		if (f[i].state == F_DONE &&
		    it->conf.overlap != DRV_OVERLAP_ALLOW) {
			coord_key(c, key, sizeof(key), "sched:run:%s",
				  it->conf.name);
			redisAppendCommand(c->redis, "SET %s %s PX %s", key,
					   f[i].task.id, ttl);
			cmds++;
		}
		coord_key(c, key, sizeof(key), "sched:stats:%s",
			  it->conf.name);
		redisAppendCommand(c->redis, "HINCRBY %s %s 1", key,
				   f[i].state == F_DONE ? "fires" :
				   f[i].state == F_DUPLICATE ? "duplicates" :
				   f[i].state == F_BUFFERED ? "buffered" :
				   "skipped");
		cmds++;
		if (history_of(c, &f[i], now, &h))
			cmds += (size_t)drv_sched_fire_append(c->redis,
				c->cfg->redis.key_prefix, it->conf.name, &h,
				now, DRV_SCHED_FIRES_KEEP_MS,
				DRV_SCHED_FIRES_MAX);
	}
	for (size_t i = 0; i < cmds; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c->redis, (void **)&r) != REDIS_OK) {
			coord_redis_lost(c, NULL);
			return;
		}
		freeReplyObject(r);
	}
}

static void report(coord_t *c, fire_t *f, size_t n)
{
	static const char *const outcome[] = {
		[F_PENDING] = "unclaimed", [F_CLAIMED] = "unacknowledged",
		[F_DUPLICATE] = "duplicate", [F_OVERLAP] = "skipped_overlap",
		[F_BUFFERED] = "buffered", [F_FAILED] = "failed",
		[F_DONE] = "published",
	};
	int64_t now = drv_now_ms();
	bool quiet = n > 50;

	for (size_t i = 0; i < n; i++) {
		const char *id = f[i].it ? f[i].it->conf.name :
				 f[i].task.origin.schedule_id;
		char when[40], late[32];

		drv_counter_inc(c->obs.fires,
				(const char *const[]){ outcome[f[i].state] });
		if (f[i].state == F_DONE && f[i].it && !f[i].req)
			drv_histogram_observe(c->obs.lateness, NULL,
				(double)(now - f[i].nominal -
				 drv_sched_jitter(f[i].it, f[i].nominal)) /
				1000.0);
		if (quiet && f[i].state == F_DONE)
			continue;
		drv_format_time(f[i].nominal, when, sizeof(when));
		coord_fmt_ms(late, sizeof(late), now - f[i].nominal);
		drv_log_kv(f[i].state == F_FAILED ? DRV_LOG_WARN :
			   DRV_LOG_INFO, f[i].state == F_DONE ?
			   "schedule fired" : "schedule fire not published",
			   "schedule", id, "scheduled_for", when,
			   "outcome", outcome[f[i].state], "task_id",
			   f[i].state == F_DONE ? f[i].task.id :
			   f[i].req ? f[i].req->task_id : "",
			   "trigger", f[i].req ? "manual" : "schedule",
			   "topic", f[i].state == F_DONE ? f[i].topic : "",
			   "late_ms", late, NULL);
	}
	if (quiet) {
		char cnt[32];

		coord_fmt_ms(cnt, sizeof(cnt), (int64_t)n);
		drv_log_kv(DRV_LOG_INFO, "schedules fired", "count", cnt,
			   NULL);
	}
}

/* Keep failed fires (their markers are ours) for the next turn. */
static void keep_failed(fire_t *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fire_t *more;

		if (f[i].state != F_FAILED || !f[i].task.handler) {
			drv_task_release(&f[i].task);
			continue;
		}
		more = realloc(retry, (retry_cnt + 1) * sizeof(*retry));
		if (!more) {
			drv_task_release(&f[i].task);
			continue;
		}
		retry = more;
		retry[retry_cnt] = f[i];
		retry[retry_cnt].it = NULL;  /* the item may go away */
		retry[retry_cnt].req = NULL; /* the request too */
		retry_cnt++;
	}
}

/* Publish the fires that failed before, while we lead. */
static void retry_failed(coord_t *c)
{
	fire_t *f = retry;
	size_t n = retry_cnt;

	if (!n)
		return;
	retry = NULL;
	retry_cnt = 0;
	if (!leader_safe(c)) {
		for (size_t i = 0; i < n; i++) {
			drv_log_kv(DRV_LOG_ERROR, "fire lost: no longer leader "
				   "before its publish was acknowledged",
				   "schedule", f[i].task.origin.schedule_id,
				   "task_id", f[i].task.id, NULL);
			drv_task_release(&f[i].task);
		}
		free(f);
		return;
	}
	publish(c, f, n);
	report(c, f, n);
	keep_failed(f, n);
	free(f);
}

/* Claim and publish the fires \p f (states set by the caller).
 * @returns false when the batch could not be made (put back). */
static bool run_batch(coord_t *c, fire_t *f, size_t n)
{
	if (!check_overlap(c, f, n) || !claim(c, f, n)) {
		put_back(c, f, n);
		return false;
	}
	publish(c, f, n);
	record(c, f, n);
	report(c, f, n);
	keep_failed(f, n);
	return true;
}

int64_t fire_due(coord_t *c, int64_t cap_ms)
{
	static fire_t *f;
	drv_sched_item_t *it;
	int64_t now;
	size_t n = 0;

	if (!leader_safe(c) || !c->redis)
		return cap_ms;
	if (!c->resumed)
		fire_resume_all(c);
	if (!c->resumed)
		return cap_ms;
	retry_failed(c);
	if (!f && !(f = calloc(BATCH_MAX, sizeof(*f))))
		return cap_ms;
	now = drv_now_ms();
	while (n < BATCH_MAX && (it = drv_sched_peek(c->sched)) &&
	       it->due_ms <= now) {
		bool again = false;

		/* one fire per schedule and batch when runs may overlap */
		for (size_t i = 0; i < n && it->conf.overlap !=
		     DRV_OVERLAP_ALLOW; i++)
			again |= f[i].it == it;
		if (again)
			break;
		memset(&f[n], 0, sizeof(f[n]));
		f[n].it = it;
		f[n].nominal = it->next_ms;
		drv_sched_set_next(c->sched, it,
				   drv_sched_next_time(it, it->next_ms));
		n++;
	}
	if (n)
		run_batch(c, f, n);
	if (n == BATCH_MAX || !leader_safe(c))
		return 0;
	it = drv_sched_peek(c->sched);
	if (!it)
		return cap_ms;
	now = drv_now_ms();
	return it->due_ms <= now ? 0 :
	       it->due_ms - now < cap_ms ? it->due_ms - now : cap_ms;
}

void fire_buffered(coord_t *c)
{
	int64_t now = drv_mono_ms();
	fire_t one;
	char key[512];

	if (now - c->buffer_checked < BUFFER_CHECK_MS || !leader_safe(c) ||
	    !c->resumed)
		return;
	c->buffer_checked = now;
	for (size_t i = 0; i < drv_sched_count(c->sched); i++) {
		drv_sched_item_t *it = drv_sched_at(c->sched, i);
		sched_state_t *st = coord_state(it);
		redisReply *r;

		if (!st->buffered_ms && !st->buffered_req)
			continue;
		coord_key(c, key, sizeof(key), "sched:run:%s", it->conf.name);
		if (!(r = coord_redis(c, "EXISTS %s", key)))
			return;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
			drv_sched_trigger_t *req = st->buffered_req;

			memset(&one, 0, sizeof(one));
			one.it = it;
			one.req = req;
			one.nominal = req ? req->requested_ms :
				      st->buffered_ms;
			st->buffered_ms = 0;
			st->buffered_req = NULL;
			if (claim(c, &one, 1)) {
				publish(c, &one, 1);
				record(c, &one, 1);
				report(c, &one, 1);
				keep_failed(&one, 1);
			}
			free(req);
		}
		freeReplyObject(r);
	}
}

/* The schedule of request \p t, reading the run-time schedules again once
 * when it is unknown (added less than a second ago); NULL when gone. */
static drv_sched_item_t *request_item(coord_t *c, const drv_sched_trigger_t *t,
				      bool *reloaded)
{
	drv_sched_item_t *it = drv_sched_get(c->sched, t->schedule);

	if (!it && !*reloaded) {
		*reloaded = true;
		runtime_tick(c, true);
		it = drv_sched_get(c->sched, t->schedule);
	}
	return it;
}

void fire_requested(coord_t *c)
{
	drv_sched_trigger_t req[TRIGGER_BATCH];
	fire_t f[TRIGGER_BATCH];
	char key[512], err[512], ms[32];
	bool reloaded = false;
	redisReply *r;
	size_t taken, n = 0;

	if (!leader_safe(c) || !c->resumed || !c->redis)
		return;
	coord_key(c, key, sizeof(key), "sched:trigger");
	if (!(r = coord_redis(c, "LRANGE %s 0 %d", key, TRIGGER_BATCH - 1)))
		return;
	taken = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	for (size_t i = 0; i < taken; i++) {
		const redisReply *e = r->element[i];
		drv_sched_item_t *it;
		bool again = false;

		if (e->type != REDIS_REPLY_STRING ||
		    drv_sched_trigger_parse(e->str, &req[n], err,
					    sizeof(err))) {
			drv_log_kv(DRV_LOG_WARN, "trigger request dropped",
				   "error", e->type == REDIS_REPLY_STRING ?
				   err : "not a string", NULL);
			continue;
		}
		if (drv_now_ms() - req[n].requested_ms > TRIGGER_MAX_AGE_MS) {
			drv_log_kv(DRV_LOG_WARN, "trigger request expired: no "
				   "leader took it within 10 minutes",
				   "schedule", req[n].schedule, "task_id",
				   req[n].task_id, NULL);
			continue;
		}
		if (!(it = request_item(c, &req[n], &reloaded))) {
			drv_log_kv(DRV_LOG_WARN, "trigger request dropped: no "
				   "such schedule (deleted since?)",
				   "schedule", req[n].schedule, "task_id",
				   req[n].task_id, NULL);
			continue;
		}
		/* one fire per schedule and batch: the overlap check sees
		 * the run of the one before; the rest wait for next turn */
		for (size_t k = 0; k < n; k++)
			again |= f[k].it == it;
		if (again) {
			taken = i;
			break;
		}
		memset(&f[n], 0, sizeof(f[n]));
		f[n].it = it;
		f[n].req = &req[n];
		f[n].nominal = req[n].requested_ms;
		n++;
	}
	freeReplyObject(r);
	if (n && !run_batch(c, f, n))
		return;
	if (taken) {   /* requests pushed meanwhile are after these */
		coord_fmt_ms(ms, sizeof(ms), (int64_t)taken);
		freeReplyObject(coord_redis(c, "LTRIM %s %s -1", key, ms));
	}
}
