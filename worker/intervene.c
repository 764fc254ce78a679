/*
 * intervene.c — the worker's side of operator interventions
 * (drover/intervene.h): a cached copy of the interventions hash, kept by a
 * drv_watch thread (re-read on every announcement and every second), and
 * what a runner does with it:
 *
 *   - before an attempt: a paused task, or any task of a paused handler, is
 *     parked: released to a delay tier IV_PARK_MS (IV_PARK_HANDLER_MS for a
 *     paused handler) ahead, no attempt charged
 *     (Kafka keeps holding it, as it holds every task in flight), and looked
 *     at again when it comes back; a skipped task is dead-lettered with
 *     reason "skipped" and never run; a cancelled one is recorded and never
 *     run;
 *   - while an exec attempt runs: pause stops its process group (SIGSTOP),
 *     resume continues it (SIGCONT), cancel kills it (SIGKILL);
 *   - after an attempt: a task cancelled meanwhile is recorded cancelled,
 *     whatever its handler returned, and not retried.
 *
 * Runners look only at the cache (one mutex, no Redis round trip). Redis
 * down keeps the last copy; a worker that never reached Redis sees no
 * interventions.
 *
 * Threads: intervene_start()/intervene_stop() on the main thread; the other
 * functions on runner threads; the cache and the running list are guarded
 * by iv->lock, which the watch thread takes to swap the cache and signal
 * running processes.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/intervene.h"
#include "drover/log.h"
#include "drover/str.h"
#include "drover/watch.h"
#include "worker.h"

#define IV_RESYNC_MS 1000  /* the cache is at most this stale */
#define IV_PARK_MS   1000  /* a paused task comes back after this */
#define IV_PARK_HANDLER_MS 5000 /* a task of a paused handler: there may
				   be many, so each comes round less often */

typedef struct iv_entry {
	char    *field;   /* "task:<id>" or "handler:<name>" */
	drv_iv_t iv;
} iv_entry_t;

/* An exec attempt running now. */
typedef struct iv_run {
	char        id[DRV_ID_LEN + 1];
	uint32_t    attempt;
	drv_exec_t *ex;
	bool        stopped, killed;
} iv_run_t;

struct intervene {
	worker_t    *w;
	drv_watch_t *watch;
	char         key[600];
	pthread_mutex_t lock;
	iv_entry_t  *e;
	size_t       cnt;
	iv_run_t    *run;
	size_t       run_cnt, run_cap;
};

static void free_entries(iv_entry_t *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].field);
		drv_iv_release(&e[i].iv);
	}
	free(e);
}

/* The entry for \p kind:\p name, or NULL. Lock held. */
static const drv_iv_t *lookup(struct intervene *iv, const char *kind,
			      const char *name)
{
	size_t klen = strlen(kind);

	for (size_t i = 0; name && i < iv->cnt; i++) {
		const char *f = iv->e[i].field;

		if (!strncmp(f, kind, klen) && f[klen] == ':' &&
		    !strcmp(f + klen + 1, name))
			return &iv->e[i].iv;
	}
	return NULL;
}

static drv_iv_action_t task_action(struct intervene *iv, const char *id)
{
	const drv_iv_t *x = lookup(iv, "task", id);

	return x ? x->action : DRV_IV_NONE;
}

static void record(worker_t *w, const char *id, drv_task_state_t state,
		   uint32_t attempt, const char *handler, const char *why)
{
	drv_state_rec_t rec = {
		.task_id = id,
		.state = state,
		.attempt = attempt,
		.handler = handler,
		.worker = w->daemon->id,
		.error = why,
		.finished_ms = state == DRV_TASK_CANCELLED ? drv_now_ms() : 0,
	};

	drv_state_record(w->state, &rec);
}

/* Bring every running exec attempt in line with the cache. Lock held. */
static void apply_running(struct intervene *iv)
{
	for (size_t i = 0; i < iv->run_cnt; i++) {
		iv_run_t *r = &iv->run[i];
		drv_iv_action_t a = task_action(iv, r->id);

		if (a == DRV_IV_CANCEL && !r->killed) {
			drv_exec_signal(r->ex, SIGKILL);
			r->killed = true;
			drv_log_kv(DRV_LOG_INFO, "task cancelled by an operator: "
				   "killed", "task_id", r->id, NULL);
		} else if (a == DRV_IV_PAUSE && !r->stopped && !r->killed) {
			drv_exec_signal(r->ex, SIGSTOP);
			r->stopped = true;
			record(iv->w, r->id, DRV_TASK_PAUSED, r->attempt, NULL,
			       NULL);
			drv_log_kv(DRV_LOG_INFO, "task paused by an operator: "
				   "process group stopped", "task_id", r->id,
				   NULL);
		} else if (a != DRV_IV_PAUSE && r->stopped) {
			drv_exec_signal(r->ex, SIGCONT);
			r->stopped = false;
			if (a != DRV_IV_CANCEL)
				record(iv->w, r->id, DRV_TASK_RUNNING,
				       r->attempt, NULL, NULL);
			drv_log_kv(DRV_LOG_INFO, "task resumed: process group "
				   "continued", "task_id", r->id, NULL);
		}
	}
}

/* Re-read the whole hash and swap it in (watch thread). */
static void resync(redisContext *cmd, void *arg)
{
	struct intervene *iv = arg;
	const char *argv[] = { "HGETALL", iv->key };
	redisReply *r = redisCommandArgv(cmd, 2, argv, NULL);
	iv_entry_t *e = NULL, *old;
	size_t n = 0, old_cnt;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return; /* keep the last copy; the watch reconnects */
	}
	if (r->elements && !(e = calloc(r->elements / 2 + 1, sizeof(*e)))) {
		freeReplyObject(r);
		return;
	}
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    drv_iv_parse(v->str, v->len, &e[n].iv))
			continue;
		if (!(e[n].field = strdup(f->str))) {
			drv_iv_release(&e[n].iv);
			continue;
		}
		n++;
	}
	freeReplyObject(r);
	pthread_mutex_lock(&iv->lock);
	old = iv->e;
	old_cnt = iv->cnt;
	iv->e = e;
	iv->cnt = n;
	apply_running(iv);
	pthread_mutex_unlock(&iv->lock);
	free_entries(old, old_cnt);
}

static void message(redisContext *cmd, const char *channel, const char *data,
		    size_t len, void *arg)
{
	(void)channel;
	(void)data;
	(void)len;
	resync(cmd, arg);
}

static void on_status(bool up, const char *detail, void *arg)
{
	(void)arg;
	drv_log_kv(up ? DRV_LOG_INFO : DRV_LOG_WARN, up ?
		   "interventions: watching Redis" :
		   "interventions: Redis unreachable; keeping the last copy",
		   "detail", detail, NULL);
}

bool intervene_start(worker_t *w)
{
	struct intervene *iv = calloc(1, sizeof(*iv));
	drv_watch_opts_t o = { .channel_cnt = 1, .resync_ms = IV_RESYNC_MS,
			       .resync = resync, .message = message,
			       .on_status = on_status };
	char err[512];

	if (!iv)
		return false;
	iv->w = w;
	pthread_mutex_init(&iv->lock, NULL);
	drv_iv_key(w->cfg, iv->key, sizeof(iv->key));
	o.channels[0] = iv->key;
	o.arg = iv;
	w->iv = iv;
	if (drv_watch_new(w->cfg, &o, &iv->watch, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot watch interventions",
			   "error", err, NULL);
		return false;
	}
	return true;
}

void intervene_stop(worker_t *w)
{
	struct intervene *iv = w->iv;

	if (!iv)
		return;
	drv_watch_destroy(iv->watch);
	free_entries(iv->e, iv->cnt);
	free(iv->run);
	pthread_mutex_destroy(&iv->lock);
	free(iv);
	w->iv = NULL;
}

bool intervene_before(worker_t *w, job_t *job)
{
	struct intervene *iv = w->iv;
	drv_task_t *t = &job->task;
	const drv_iv_t *x;
	drv_iv_action_t a = DRV_IV_NONE;
	bool handler_paused = false;
	char why[512] = "";

	if (!iv)
		return false;
	pthread_mutex_lock(&iv->lock);
	if (iv->cnt) {
		if ((x = lookup(iv, "task", t->id))) {
			a = x->action;
			drv_fmt(why, sizeof(why), "%s by %s%s%s",
				a == DRV_IV_SKIP ? "skipped" : a == DRV_IV_CANCEL
				? "cancelled" : "paused",
				x->actor ? x->actor : "an operator",
				x->reason ? ": " : "",
				x->reason ? x->reason : "");
		}
		x = lookup(iv, "handler", t->handler);
		handler_paused = x && x->action == DRV_IV_PAUSE;
	}
	pthread_mutex_unlock(&iv->lock);

	switch (a) {
	case DRV_IV_SKIP:
		job->step = STEP_DEAD;
		job->dl_reason = DRV_DL_SKIPPED;
		drv_strlcpy(job->detail, why, sizeof(job->detail));
		record(w, t->id, DRV_TASK_SKIPPED, t->attempt, t->handler, why);
		drv_log_kv(DRV_LOG_INFO, "task skipped by an operator; "
			   "dead-lettering it", "task_id", t->id, "why", why,
			   NULL);
		return true;
	case DRV_IV_CANCEL:
		job->step = STEP_DONE;
		job->skipped = true;
		record(w, t->id, DRV_TASK_CANCELLED, t->attempt, t->handler,
		       why);
		drv_log_kv(DRV_LOG_INFO, "task cancelled by an operator; not "
			   "run", "task_id", t->id, NULL);
		return true;
	default:
		break;
	}
	if (a != DRV_IV_PAUSE && !handler_paused)
		return false;
	/* parked: back to a delay tier, no attempt charged */
	t->not_before_ms = drv_now_ms() + (a == DRV_IV_PAUSE ? IV_PARK_MS :
					   IV_PARK_HANDLER_MS);
	job->step = STEP_RELEASE;
	record(w, t->id, DRV_TASK_PAUSED, t->attempt, t->handler,
	       a == DRV_IV_PAUSE ? why : "its handler is paused");
	drv_log_kv(DRV_LOG_DEBUG, "task parked: paused", "task_id", t->id,
		   "handler", t->handler, NULL);
	return true;
}

void intervene_exec_start(worker_t *w, job_t *job, drv_exec_t *ex)
{
	struct intervene *iv = w->iv;
	iv_run_t *r;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	if (iv->run_cnt == iv->run_cap) {
		size_t cap = iv->run_cap * 2 + 8;
		iv_run_t *nr = realloc(iv->run, cap * sizeof(*nr));

		if (!nr) { /* not pausable; it still runs */
			pthread_mutex_unlock(&iv->lock);
			return;
		}
		iv->run = nr;
		iv->run_cap = cap;
	}
	r = &iv->run[iv->run_cnt++];
	memset(r, 0, sizeof(*r));
	drv_strlcpy(r->id, job->task.id, sizeof(r->id));
	r->attempt = job->task.attempt + 1;
	r->ex = ex;
	apply_running(iv);  /* paused or cancelled while it was starting */
	pthread_mutex_unlock(&iv->lock);
}

void intervene_exec_end(worker_t *w, drv_exec_t *ex)
{
	struct intervene *iv = w->iv;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	for (size_t i = 0; i < iv->run_cnt; i++)
		if (iv->run[i].ex == ex) {
			iv->run[i] = iv->run[--iv->run_cnt];
			break;
		}
	pthread_mutex_unlock(&iv->lock);
}

bool intervene_after(worker_t *w, job_t *job)
{
	struct intervene *iv = w->iv;
	drv_task_t *t = &job->task;
	drv_iv_action_t a = DRV_IV_NONE;

	if (!iv)
		return false;
	pthread_mutex_lock(&iv->lock);
	if (iv->cnt)
		a = task_action(iv, t->id);
	pthread_mutex_unlock(&iv->lock);
	if (a != DRV_IV_CANCEL)
		return false;
	job->step = STEP_DONE;
	job->skipped = true;
	record(w, t->id, DRV_TASK_CANCELLED, t->attempt + 1, t->handler,
	       "cancelled by an operator while running");
	drv_log_kv(DRV_LOG_INFO, "task cancelled by an operator while it ran",
		   "task_id", t->id, NULL);
	return true;
}
