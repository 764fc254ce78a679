/*
 * limits.c — the worker's side of fleet-wide execution limits
 * (include/drover/limit.h, docs/limits.md): before a task of a limited
 * handler runs, one Redis script admits it against every limit that
 * matches it; a task refused waits on the delay topics until a little
 * before the slot the script gave it (the slots are spaced, so a crowd
 * does not come back at once), its attempt not charged, and its runner
 * moves on. Back, it waits the rest in place and takes its slot on time:
 * a slot nobody takes is capacity a rate limit loses for good. When the run
 * ends, whatever its outcome, its concurrency leases are given back.
 * Tasks of handlers without a limit never reach Redis here.
 *
 * Redis unreachable: tasks are admitted (a limit protects a dependency; a
 * stalled queue protects nothing) and the worker logs it once per outage.
 * Each runner thread keeps its own connection.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "worker.h"

#define RECONNECT_MS 2000
/* A refused task whose start is at most PARK_WAIT_MS away waits for it in
 * memory (park.c), off its runner, until NAP_MS / 2 before it; one further
 * away waits on the delay topics until EARLY_MS before it, then parks. The
 * last few milliseconds (at most NAP_MS, which a park's wake-up does not
 * keep to) it waits in its runner. A start nobody takes is capacity a rate
 * limit loses for good, and the delay topics hand tasks back a little late
 * now and then. */
#define PARK_WAIT_MS 1000
#define EARLY_MS 500
#define NAP_MS 30
#define NAP_TRIES 3

struct limits {
	drv_counter_t  *admitted, *delayed, *unchecked;
	pthread_mutex_t lock;
	bool            down;   /* the last call failed: logged already */
};

static __thread redisContext *lim_redis;
static __thread int64_t lim_retry_at;   /* mono ms: no reconnect before */

static const char *const limit_only[] = { "limit", NULL };

bool limits_start(worker_t *w)
{
	struct limits *l = calloc(1, sizeof(*l));
	observe_t *o = &w->obs;

	if (!l)
		return false;
	pthread_mutex_init(&l->lock, NULL);
	l->admitted = drv_metrics_counter(o->m, "drover_limit_admitted_total",
		"Tasks a fleet-wide limit let start, by limit.", limit_only);
	l->delayed = drv_metrics_counter(o->m, "drover_limit_delayed_total",
		"Tasks over a fleet-wide limit, made to wait (in memory or on "
		"the delay topics; no attempt used), by the limit that refused.",
		limit_only);
	l->unchecked = drv_metrics_counter(o->m,
		"drover_limit_unchecked_total",
		"Tasks of a limited handler admitted without a check because "
		"Redis was unreachable.", NULL);
	w->limits = l;
	return true;
}

void limits_stop(worker_t *w)
{
	if (!w->limits)
		return;
	pthread_mutex_destroy(&w->limits->lock);
	free(w->limits);
	w->limits = NULL;
}

void limits_thread_end(void)
{
	redisFree(lim_redis);
	lim_redis = NULL;
}

/* Note whether Redis answered; log the edges only. */
static void redis_state(struct limits *l, bool up, const char *err)
{
	bool was;

	pthread_mutex_lock(&l->lock);
	was = l->down;
	l->down = !up;
	pthread_mutex_unlock(&l->lock);
	if (!up && !was)
		drv_log_kv(DRV_LOG_WARN, "limits: Redis unreachable; tasks "
			   "run unchecked until it answers", "error", err,
			   NULL);
	else if (up && was)
		drv_log_kv(DRV_LOG_INFO, "limits: Redis answers again", NULL);
}

/* This thread's connection, or NULL (then \p err says why). */
static redisContext *conn(const worker_t *w, char *err, size_t size)
{
	if (lim_redis)
		return lim_redis;
	if (drv_mono_ms() < lim_retry_at) {
		drv_strlcpy(err, "not reconnecting yet", size);
		return NULL;
	}
	if (drv_redis_connect(w->cfg, &lim_redis, err, size)) {
		lim_redis = NULL;
		lim_retry_at = drv_mono_ms() + RECONNECT_MS;
	}
	return lim_redis;
}

/* Drop this thread's connection after a failed call. */
static void conn_lost(void)
{
	if (lim_redis && lim_redis->err) {
		redisFree(lim_redis);
		lim_redis = NULL;
	}
}

bool limits_admit(worker_t *w, job_t *job, const drv_handler_conf_t *h,
		  lim_ticket_t *t)
{
	struct limits *l = w->limits;
	redisContext *c;
	char err[512], until[32];
	bool ok = false, in_place = false;
	int64_t wait = 0;
	size_t who = 0;
	int naps = 0;

	t->set.cnt = 0;
	if (!l || !w->cfg->limit_cnt ||
	    !drv_limit_match(w->cfg, &job->task, &t->set))
		return true;
again:
	if (!(c = conn(w, err, sizeof(err))) ||
	    drv_limit_acquire(c, w->cfg, &t->set, job->task.id,
			      drv_limit_lease_ms(w->cfg, h), PARK_WAIT_MS, &ok,
			      &wait, &in_place, &who, err, sizeof(err))) {
		conn_lost();
		redis_state(l, false, err);
		drv_counter_inc(l->unchecked, NULL);
		t->set.cnt = 0;  /* nothing taken: nothing to give back */
		return true;
	}
	redis_state(l, true, NULL);
	if (!ok && in_place && wait <= NAP_MS && naps++ < NAP_TRIES) {
		usleep((useconds_t)wait * 1000);
		goto again;
	}
	if (ok) {
		if (naps)  /* the attempt starts now, not before the nap */
			job->started_ms = drv_now_ms();
		for (size_t i = 0; i < t->set.cnt; i++)
			drv_counter_inc(l->admitted, (const char *const[]){
					t->set.conf[i]->name });
		return true;
	}
	drv_counter_inc(l->delayed, (const char *const[]){
			t->set.conf[who]->name });
	job->task.not_before_ms = drv_now_ms() + wait;
	if (in_place && (job->park_until = park_until(job, drv_mono_ms(),
						      wait - NAP_MS / 2))) {
		job->step = STEP_PARK;
		job->park_limit = true;
	} else {
		if (wait > PARK_WAIT_MS)
			job->task.not_before_ms -= EARLY_MS;
		job->step = STEP_RELEASE;
	}
	drv_fmt(job->detail, sizeof(job->detail), "over limit %s",
		t->set.conf[who]->name);
	record_wait(w, job, "limit", t->set.conf[who]->name, NULL);
	drv_fmt(until, sizeof(until), "%lld", (long long)wait);
	drv_log_kv(DRV_LOG_DEBUG, "over a limit; task waits without using an "
		   "attempt", "task_id", job->task.id, "limit",
		   t->set.conf[who]->name, "wait_ms", until, "in_memory",
		   job->step == STEP_PARK ? "true" : "false", NULL);
	t->set.cnt = 0;
	return false;
}

void limits_release(worker_t *w, lim_ticket_t *t, const char *task_id)
{
	char err[512];
	redisContext *c;

	if (!t->set.cnt)
		return;
	if (!(c = conn(w, err, sizeof(err))) ||
	    drv_limit_release(c, w->cfg, &t->set, task_id, err,
			      sizeof(err))) {
		conn_lost();
		redis_state(w->limits, false, err);
	}
	t->set.cnt = 0;
}
