/*
 * breakers.c — the worker's side of the shared circuit breakers
 * (include/drover/breaker.h).
 *
 * Each breaker the worker meets has an entry holding the shared state as
 * last seen, the outcomes not yet sent, and a local breaker for when Redis
 * is away. Deciding is a lookup under a mutex: in CLOSED (and the forced
 * and disabled states) and in OPEN before its time there is no Redis round
 * trip. Only an OPEN breaker past its wait, or a HALF_OPEN one, asks Redis
 * for a probe lease (acquire script), so probes are counted fleet-wide.
 *
 * Three threads touch it: runners (breakers_admit/breakers_record), the
 * flusher started here (sends the gathered outcomes at most every
 * FLUSH_MS through the record script, produces breaker.* events) and the
 * drv_watch thread (transition messages, and a full re-read on connect and
 * every RESYNC_MS). Lock order: cmd_lock, then lock.
 *
 * Redis down: the flusher or the watch notices, the worker logs it once,
 * decides with the local breakers (seeded with the last shared state) and
 * says so in /readyz and drover_breakers_shared; once both connections are
 * back it uses the shared state again.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "drover/breaker.h"
#include "drover/clock.h"
#include "drover/event.h"
#include "drover/log.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/watch.h"
#include "worker.h"

#define FLUSH_MS       100   /* outcomes reach Redis at most this late */
#define RESYNC_MS      1000  /* full re-read of the shared state */
#define RECONNECT_MS   1000  /* flusher's connect attempts while down */
#define ENTRIES_MAX    4096  /* breakers one worker tracks */

typedef struct brk_entry {
	char name[DRV_BREAKER_NAME_MAX + 1];
	const drv_breaker_conf_t *conf;
	drv_breaker_view_t  view;     /* shared state as last seen */
	drv_breaker_local_t local;    /* used while Redis is away */
	drv_breaker_batch_t pending;  /* outcomes not yet sent */
	drv_breaker_state_t shown;    /* state in the metrics */
} brk_entry_t;

/* A transition this worker made, to be told on the events topic. */
typedef struct brk_news {
	struct brk_news *next;
	char name[DRV_BREAKER_NAME_MAX + 1];
	drv_breaker_state_t state;
	int64_t open_until_ms;
	bool local;
} brk_news_t;

struct breakers {
	worker_t        *w;
	pthread_mutex_t  lock;       /* everything below but cmd */
	brk_entry_t    **e;
	size_t           cnt, cap;
	bool             cmd_up, watch_up, shared;
	bool             watch_known;  /* the watch reported once */
	int              told;         /* mode last logged: -1, 0 local,
					  1 shared */
	bool             quit, kick;
	pthread_cond_t   cond;
	brk_news_t      *news;
	pthread_mutex_t  cmd_lock;   /* cmd: flusher and probe leases */
	redisContext    *cmd;
	int64_t          cmd_retry;  /* mono ms of the next connect */
	drv_watch_t     *watch;
	pthread_t        thread;
	bool             started;
	rd_kafka_t      *events;     /* breaker.* events */
	drv_gauge_t     *g_state, *g_shared;
	drv_counter_t   *c_trans, *c_rejected, *c_fallback;
};

static const char *const breaker_only[] = { "breaker", NULL };
static const char *const breaker_state[] = { "breaker", "state", NULL };

/* ------------------------------------------------------------- entries */

/* The entry of \p name, made if new (then *created, if given, is set).
 * @locks_required lock */
static brk_entry_t *entry_made(struct breakers *b, const char *name,
			       bool *created)
{
	brk_entry_t *e;

	for (size_t i = 0; i < b->cnt; i++)
		if (!strcmp(b->e[i]->name, name))
			return b->e[i];
	if (b->cnt >= ENTRIES_MAX)
		return NULL;
	if (b->cnt == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		brk_entry_t **n = realloc(b->e, cap * sizeof(*n));
		if (!n)
			return NULL;
		b->e = n;
		b->cap = cap;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return NULL;
	drv_strlcpy(e->name, name, sizeof(e->name));
	drv_strlcpy(e->view.name, name, sizeof(e->view.name));
	e->conf = drv_config_breaker(b->w->cfg, name);
	drv_breaker_local_init(&e->local, e->conf);
	b->e[b->cnt++] = e;
	if (created)
		*created = true;
	return e;
}

static brk_entry_t *entry(struct breakers *b, const char *name)
{
	return entry_made(b, name, NULL);
}

/* Publish a state change in the metrics (and the log when it is a new
 * state). @locks_required lock */
static void shown(struct breakers *b, brk_entry_t *e, drv_breaker_state_t s,
		  bool local)
{
	if (s == e->shown)
		return;
	e->shown = s;
	park_kick(b->w);
	drv_gauge_set(b->g_state, (const char *const[]){ e->name }, s);
	drv_counter_inc(b->c_trans, (const char *const[]){
			e->name, drv_breaker_state_name(s) });
	drv_log_kv(s == DRV_BREAKER_OPEN ? DRV_LOG_WARN : DRV_LOG_INFO,
		   "breaker state changed", "breaker", e->name,
		   "state", drv_breaker_state_name(s),
		   "scope", local ? "local" : "shared", NULL);
}

/* Queue an event for a transition this worker made. @locks_required lock */
static void news(struct breakers *b, const char *name, drv_breaker_state_t s,
		 int64_t open_until, bool local)
{
	brk_news_t *n = calloc(1, sizeof(*n));

	if (!n)
		return;
	drv_strlcpy(n->name, name, sizeof(n->name));
	n->state = s;
	n->open_until_ms = open_until;
	n->local = local;
	n->next = b->news;
	b->news = n;
	b->kick = true;
	pthread_cond_signal(&b->cond);
}

/* Take a shared view if it is not older than what we have.
 * @locks_required lock */
static void apply_view(struct breakers *b, brk_entry_t *e,
		       const drv_breaker_view_t *v, bool resync)
{
	if (v->gen < e->view.gen && !(resync && v->gen == 0))
		return;
	e->view.state = v->state;
	e->view.open_until_ms = v->open_until_ms;
	e->view.gen = v->gen;
	e->view.changed_ms = v->changed_ms;
	if (b->shared)
		shown(b, e, v->state, false);
}

/* Each local breaker starts from the last shared state.
 * @locks_required lock */
static void seed_locals(struct breakers *b)
{
	int64_t now = drv_now_ms();

	for (size_t i = 0; i < b->cnt; i++) {
		brk_entry_t *e = b->e[i];

		drv_breaker_local_init(&e->local, e->conf);
		e->local.state = e->view.state;
		e->local.open_until_ms = e->view.open_until_ms;
		e->local.half_open_ms = now;
		memset(&e->pending, 0, sizeof(e->pending));
	}
}

/* Switch between the shared state and the local breakers when the
 * connections say so; say it once per change, from the watch's first
 * report on. @locks_required lock */
static void update_mode(struct breakers *b)
{
	bool shared = b->cmd_up && b->watch_up;

	if (shared != b->shared) {
		b->shared = shared;
		drv_gauge_set(b->g_shared, NULL, shared);
		if (!shared)
			seed_locals(b);
	}
	if (!b->watch_known || b->told == (int)shared)
		return;
	if (shared) {
		drv_log_kv(DRV_LOG_INFO, b->told < 0 ?
			   "breakers use the shared state in Redis" :
			   "Redis back: breakers use the shared state again",
			   NULL);
		for (size_t i = 0; i < b->cnt; i++)
			shown(b, b->e[i], b->e[i]->view.state, false);
	} else {
		drv_counter_inc(b->c_fallback, NULL);
		drv_log_kv(DRV_LOG_WARN, "Redis unreachable: breakers fall "
			   "back to local per-worker breakers with the same "
			   "settings", NULL);
	}
	b->told = shared;
}

/* ------------------------------------------------------------- Redis */

/* Drop the flusher's connection after an error. @locks_required cmd_lock */
static void cmd_lost(struct breakers *b, const char *err)
{
	redisFree(b->cmd);
	b->cmd = NULL;
	b->cmd_retry = drv_mono_ms() + RECONNECT_MS;
	pthread_mutex_lock(&b->lock);
	if (b->cmd_up)
		drv_log_kv(DRV_LOG_WARN, "breaker state: Redis call failed",
			   "error", err, NULL);
	b->cmd_up = false;
	update_mode(b);
	pthread_mutex_unlock(&b->lock);
}

/* Connect if it is time. @locks_required cmd_lock */
static bool cmd_ready(struct breakers *b)
{
	char err[512];

	if (b->cmd)
		return true;
	if (drv_mono_ms() < b->cmd_retry)
		return false;
	if (drv_redis_connect(b->w->cfg, &b->cmd, err, sizeof(err))) {
		b->cmd = NULL;
		b->cmd_retry = drv_mono_ms() + RECONNECT_MS;
		pthread_mutex_lock(&b->lock);
		b->cmd_up = false;
		update_mode(b);
		pthread_mutex_unlock(&b->lock);
		return false;
	}
	pthread_mutex_lock(&b->lock);
	b->cmd_up = true;
	update_mode(b);
	pthread_mutex_unlock(&b->lock);
	return true;
}

/* Re-read every breaker we know (watch thread, on connect and every
 * RESYNC_MS). */
static void on_resync(redisContext *cmd, void *arg)
{
	struct breakers *b = arg;
	char names[64][DRV_BREAKER_NAME_MAX + 1];
	size_t from = 0, n;

	do {
		pthread_mutex_lock(&b->lock);
		for (n = 0; n < 64 && from + n < b->cnt; n++)
			drv_strlcpy(names[n], b->e[from + n]->name,
				    sizeof(names[n]));
		pthread_mutex_unlock(&b->lock);
		for (size_t i = 0; i < n; i++) {
			drv_breaker_view_t v;
			char err[256];

			if (drv_breaker_redis_read(cmd, b->w->cfg, names[i], 0,
						   &v, err, sizeof(err)))
				return;  /* the watch reconnects */
			pthread_mutex_lock(&b->lock);
			apply_view(b, entry(b, names[i]), &v, true);
			pthread_mutex_unlock(&b->lock);
		}
		from += n;
	} while (n == 64);
}

static void on_message(redisContext *cmd, const char *channel,
		       const char *data, size_t len, void *arg)
{
	struct breakers *b = arg;
	drv_breaker_view_t v;

	(void)cmd;
	(void)channel;
	if (!drv_breaker_parse_message(data, len, &v))
		return;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->cnt; i++)
		if (!strcmp(b->e[i]->name, v.name))
			apply_view(b, b->e[i], &v, false);
	pthread_mutex_unlock(&b->lock);
}

static void on_status(bool up, const char *detail, void *arg)
{
	struct breakers *b = arg;

	(void)detail;
	pthread_mutex_lock(&b->lock);
	b->watch_up = up;
	b->watch_known = true;
	update_mode(b);
	pthread_mutex_unlock(&b->lock);
}

/* ------------------------------------------------------------- flusher */

static void event_delivered(drv_delivery_t *d, void *arg)
{
	(void)arg;
	if (d->err)
		drv_log_kv(DRV_LOG_WARN, "breaker event refused by Kafka",
			   "error", rd_kafka_err2str(d->err), NULL);
	free(d);
}

/* breaker.opened, breaker.half_open or breaker.closed on the events
 * topic, asynchronously. */
static void produce_news(struct breakers *b, const brk_news_t *n)
{
	const char *type = n->state == DRV_BREAKER_OPEN ? "breaker.opened" :
			   n->state == DRV_BREAKER_HALF_OPEN ?
			   "breaker.half_open" : "breaker.closed";
	char id[DRV_ID_LEN + 1], topic[256], err[256];
	drv_delivery_t *dr = calloc(1, sizeof(*dr));
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_event_t e;
	json_t *body;
	char *text;

	if (!dr)
		return;
	drv_event_init(&e);
	e.time_ms = drv_now_ms();
	drv_id_new(id, e.time_ms);
	e.id = drv_strdup(id);
	e.type = drv_strdup(type);
	e.source = drv_strdup(b->w->daemon->id);
	e.content_type = drv_strdup("application/json");
	drv_event_set_attribute(&e, "breaker", n->name);
	drv_event_set_attribute(&e, "state", drv_breaker_state_name(n->state));
	body = json_pack("{s:s, s:s, s:I, s:s, s:s}", "breaker", n->name,
			 "state", drv_breaker_state_name(n->state),
			 "open_until_ms", (json_int_t)n->open_until_ms,
			 "scope", n->local ? "local" : "shared",
			 "worker", b->w->daemon->id);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text)
		drv_event_set_payload(&e, text, strlen(text));
	free(text);
	dr->on_delivery = event_delivered;
	drv_topic_name(b->w->cfg, DRV_TOPIC_EVENTS, NULL, 0, topic,
		       sizeof(topic));
	if (drv_event_encode(&e, &buf, &len, err, sizeof(err)) ||
	    drv_kafka_produce(b->events, topic, e.id, strlen(e.id), buf, len,
			      (const drv_header_t[]){
				{ "drover-event-id", e.id },
				{ "drover-event-type", e.type } }, 2,
			      dr, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_WARN, "cannot produce breaker event",
			   "error", err, NULL);
		free(dr);
	}
	free(buf);
	drv_event_release(&e);
}

/* Send every entry's pending outcomes through the record script. */
static void flush(struct breakers *b)
{
	pthread_mutex_lock(&b->cmd_lock);
	if (!cmd_ready(b)) {
		pthread_mutex_unlock(&b->cmd_lock);
		return;
	}
	for (size_t i = 0;; i++) {
		drv_breaker_batch_t batch;
		drv_breaker_view_t v;
		const drv_breaker_conf_t *conf;
		char name[DRV_BREAKER_NAME_MAX + 1], err[512];
		bool changed = false;

		pthread_mutex_lock(&b->lock);
		if (i >= b->cnt) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		batch = b->e[i]->pending;
		memset(&b->e[i]->pending, 0, sizeof(batch));
		conf = b->e[i]->conf;
		drv_strlcpy(name, b->e[i]->name, sizeof(name));
		pthread_mutex_unlock(&b->lock);
		if (!batch.calls && !batch.probe_ok && !batch.probe_failed)
			continue;
		if (drv_breaker_redis_record(b->cmd, b->w->cfg, conf, name,
					     &batch, &v, &changed, err,
					     sizeof(err))) {
			cmd_lost(b, err);
			break;
		}
		pthread_mutex_lock(&b->lock);
		apply_view(b, b->e[i], &v, false);
		if (changed)
			news(b, name, v.state, v.open_until_ms, false);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&b->cmd_lock);
}

static void *flusher_main(void *arg)
{
	struct breakers *b = arg;

	for (;;) {
		struct timespec ts;
		brk_news_t *n;
		bool quit;

		pthread_mutex_lock(&b->lock);
		if (!b->kick && !b->quit) {
			ts = drv_deadline(CLOCK_REALTIME, FLUSH_MS);
			pthread_cond_timedwait(&b->cond, &b->lock, &ts);
		}
		b->kick = false;
		quit = b->quit;
		n = b->news;
		b->news = NULL;
		pthread_mutex_unlock(&b->lock);
		flush(b);
		while (n) {
			brk_news_t *next = n->next;
			produce_news(b, n);
			free(n);
			n = next;
		}
		rd_kafka_poll(b->events, 0);
		if (quit)
			break;
	}
	return NULL;
}

/* ------------------------------------------------------------- runners */

/* Reject: the task waits on the delay topics until \p retry_at, its
 * attempt not charged; while the breaker is half-open it waits in memory
 * for the probes instead, if it may (park.c). */
static void reject(struct breakers *b, job_t *job, const brk_entry_t *e,
		   drv_breaker_state_t s, int64_t retry_at)
{
	char until[32];

	drv_counter_inc(b->c_rejected, (const char *const[]){ e->name });
	job->task.not_before_ms = retry_at;
	record_wait(b->w, job, "breaker", e->name, drv_breaker_state_name(s));
	if (s == DRV_BREAKER_HALF_OPEN &&
	    (job->park_until = park_until(job, drv_mono_ms(),
					  e->conf->wait_in_open_ms))) {
		job->step = STEP_PARK;
		job->park_limit = false;
		return;
	}
	job->step = STEP_RELEASE;
	drv_fmt(job->detail, sizeof(job->detail), "breaker %s is %s",
		e->name, drv_breaker_state_name(s));
	drv_fmt(until, sizeof(until), "%lld", (long long)retry_at);
	drv_log_kv(DRV_LOG_INFO, "breaker not closed; task waits without "
		   "using an attempt", "task_id", job->task.id, "breaker",
		   e->name, "state", drv_breaker_state_name(s),
		   "until_ms", until, NULL);
}

/* A breaker this worker meets for the first time (a task's label): read
 * its shared state before deciding, so a breaker an operator forced open
 * holds even the first task. */
static void read_new(struct breakers *b, brk_entry_t *e)
{
	drv_breaker_view_t v;
	char err[512];
	bool shared;

	pthread_mutex_lock(&b->lock);
	shared = b->shared;
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_lock(&b->cmd_lock);
	if (shared && cmd_ready(b)) {
		if (drv_breaker_redis_read(b->cmd, b->w->cfg, e->name, 0, &v,
					   err, sizeof(err))) {
			cmd_lost(b, err);
		} else {
			pthread_mutex_lock(&b->lock);
			apply_view(b, e, &v, true);
			pthread_mutex_unlock(&b->lock);
		}
	}
	pthread_mutex_unlock(&b->cmd_lock);
}

/* Ask Redis for a probe lease (OPEN past its wait, or HALF_OPEN). */
static drv_breaker_verdict_t lease(struct breakers *b, brk_entry_t *e,
				   int64_t *retry_at, bool *fell_back)
{
	drv_breaker_verdict_t v = DRV_BREAKER_REJECT;
	drv_breaker_view_t view;
	char err[512];
	bool changed = false;

	*fell_back = false;
	pthread_mutex_lock(&b->cmd_lock);
	if (!cmd_ready(b)) {
		*fell_back = true;
	} else if (drv_breaker_redis_acquire(b->cmd, b->w->cfg, e->conf,
					     e->name, &v, retry_at, &view,
					     &changed, err, sizeof(err))) {
		cmd_lost(b, err);
		*fell_back = true;
	} else {
		pthread_mutex_lock(&b->lock);
		apply_view(b, e, &view, false);
		if (changed)
			news(b, e->name, view.state, view.open_until_ms, false);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&b->cmd_lock);
	return v;
}

bool breakers_admit(worker_t *w, job_t *job, const drv_handler_conf_t *h,
		    brk_ticket_t *t)
{
	struct breakers *b = w->breakers;
	const char *label = drv_task_label(&job->task, "drover.breaker");
	drv_breaker_verdict_t v = DRV_BREAKER_ALLOW;
	drv_breaker_state_t s = DRV_BREAKER_CLOSED;
	char name[DRV_BREAKER_NAME_MAX + 1];
	int64_t now = drv_now_ms(), retry = 0;
	brk_entry_t *e;
	bool changed = false, fell_back, created = false;

	memset(t, 0, sizeof(*t));
	if (!b)
		return true;
	drv_breaker_name_for(h, label, name, sizeof(name));
	pthread_mutex_lock(&b->lock);
	if (!(e = entry_made(b, name, &created)) ||
	    e->conf->mode == DRV_BREAKER_MODE_DISABLED) {
		pthread_mutex_unlock(&b->lock);
		return true;
	}
	if (created) {
		pthread_mutex_unlock(&b->lock);
		read_new(b, e);
		pthread_mutex_lock(&b->lock);
	}
	t->e = e;
	for (int round = 0; round < 2; round++) {
		if (!b->shared) {
			v = drv_breaker_local_acquire(&e->local, now, &retry,
						      &changed);
			s = e->local.state;
			if (changed) {
				shown(b, e, s, true);
				news(b, name, s, e->local.open_until_ms, true);
			}
			break;
		}
		s = e->view.state;
		if (s == DRV_BREAKER_DISABLED) {
			t->e = NULL;
			break;
		}
		if (s == DRV_BREAKER_FORCED_OPEN) {
			v = DRV_BREAKER_REJECT;
			retry = now + e->conf->wait_in_open_ms;
			break;
		}
		if (s == DRV_BREAKER_OPEN && now < e->view.open_until_ms) {
			v = DRV_BREAKER_REJECT;
			retry = e->view.open_until_ms;
			break;
		}
		if (s != DRV_BREAKER_OPEN && s != DRV_BREAKER_HALF_OPEN)
			break;
		pthread_mutex_unlock(&b->lock);
		v = lease(b, e, &retry, &fell_back);
		pthread_mutex_lock(&b->lock);
		s = e->view.state;
		if (!fell_back)
			break;
	}
	pthread_mutex_unlock(&b->lock);
	if (e->conf->mode == DRV_BREAKER_MODE_METRICS_ONLY &&
	    v == DRV_BREAKER_REJECT)
		v = DRV_BREAKER_ALLOW;
	t->probe = v == DRV_BREAKER_PROBE;
	if (t->probe)
		drv_log_kv(DRV_LOG_INFO, "breaker half-open: task runs as a "
			   "probe", "task_id", job->task.id, "breaker", name,
			   NULL);
	if (v != DRV_BREAKER_REJECT)
		return true;
	t->e = NULL;
	reject(b, job, e, s, retry);
	return false;
}

void breakers_record(worker_t *w, const brk_ticket_t *t,
		     const drv_result_t *res)
{
	struct breakers *b = w->breakers;
	brk_entry_t *e = t->e;
	/* a permanent failure is the task's fault (bad input), not the
	 * dependency's: it counts as a call the dependency answered */
	bool failed = res->failure != DRV_FAILURE_UNSPECIFIED &&
		      res->failure != DRV_FAILURE_PERMANENT;
	bool slow = res->duration_ms >= (e ? e->conf->slow_call_ms : 0);

	if (!b || !e)
		return;
	pthread_mutex_lock(&b->lock);
	if (!b->shared) {
		if (drv_breaker_local_record(&e->local, drv_now_ms(),
					     !t->probe, !t->probe && failed,
					     !t->probe && slow,
					     t->probe && !failed,
					     t->probe && failed)) {
			shown(b, e, e->local.state, true);
			news(b, e->name, e->local.state,
			     e->local.open_until_ms, true);
		}
	} else if (t->probe) {
		e->pending.probe_ok += !failed;
		e->pending.probe_failed += failed;
		b->kick = true;     /* probes decide: send at once */
		pthread_cond_signal(&b->cond);
	} else {
		e->pending.calls++;
		e->pending.failures += failed;
		e->pending.slow += slow;
	}
	pthread_mutex_unlock(&b->lock);
}

bool breakers_local(worker_t *w)
{
	struct breakers *b = w->breakers;
	bool local;

	if (!b)
		return false;
	pthread_mutex_lock(&b->lock);
	local = b->told == 0;
	pthread_mutex_unlock(&b->lock);
	return local;
}

/* ------------------------------------------------------------- life */

bool breakers_start(worker_t *w)
{
	struct breakers *b = calloc(1, sizeof(*b));
	drv_watch_opts_t wo = {
		.channel_cnt = 1, .resync_ms = RESYNC_MS,
		.resync = on_resync, .message = on_message,
		.on_status = on_status,
	};
	char channel[256], err[512];
	observe_t *o = &w->obs;

	if (!b)
		return false;
	w->breakers = b;
	b->w = w;
	b->told = -1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->cmd_lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->g_state = drv_metrics_gauge(o->m, "drover_breaker_state",
		"State of each breaker this worker uses: 0 closed, 1 open, "
		"2 half_open, 3 forced_open, 4 forced_closed, 5 disabled, "
		"6 metrics_only.", breaker_only);
	b->g_shared = drv_metrics_gauge(o->m, "drover_breakers_shared",
		"1 while breakers use the shared state in Redis, 0 while "
		"they fall back to local per-worker breakers.", NULL);
	b->c_trans = drv_metrics_counter(o->m,
		"drover_breaker_transitions_total",
		"Breaker state changes this worker saw, by new state.",
		breaker_state);
	b->c_rejected = drv_metrics_counter(o->m,
		"drover_breaker_rejected_total",
		"Tasks not run because their breaker was not closed (sent "
		"to wait on the delay topics, no attempt used).",
		breaker_only);
	b->c_fallback = drv_metrics_counter(o->m,
		"drover_breaker_fallbacks_total",
		"Times the worker fell back to local breakers (Redis "
		"unreachable).", NULL);
	if (!(b->events = drv_kafka_producer_new(w->cfg, err, sizeof(err)))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka producer",
			   "error", err, NULL);
		return false;
	}
	/* the handlers' breakers, read before the first task: starting a
	 * worker reads the shared state and never resets it */
	pthread_mutex_lock(&b->cmd_lock);
	cmd_ready(b);
	for (size_t i = 0; i < w->cfg->handler_cnt; i++) {
		const drv_handler_conf_t *h = &w->cfg->handlers[i];
		drv_breaker_view_t v;
		char name[DRV_BREAKER_NAME_MAX + 1];
		brk_entry_t *e;

		drv_breaker_name_for(h, NULL, name, sizeof(name));
		pthread_mutex_lock(&b->lock);
		e = entry(b, name);
		pthread_mutex_unlock(&b->lock);
		if (!e || !b->cmd)
			continue;
		if (drv_breaker_redis_read(b->cmd, w->cfg, name, 0, &v, err,
					   sizeof(err))) {
			cmd_lost(b, err);
			continue;
		}
		pthread_mutex_lock(&b->lock);
		apply_view(b, e, &v, true);
		e->shown = v.state;
		drv_gauge_set(b->g_state, (const char *const[]){ name },
			      v.state);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&b->cmd_lock);
	/* shared once the watch is up too; until then the local breakers
	 * decide, seeded with what was just read */
	pthread_mutex_lock(&b->lock);
	seed_locals(b);
	pthread_mutex_unlock(&b->lock);

	drv_breaker_channel(w->cfg, channel, sizeof(channel));
	wo.channels[0] = channel;
	wo.arg = b;
	if (drv_watch_new(w->cfg, &wo, &b->watch, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot watch breakers", "error",
			   err, NULL);
		return false;
	}
	if (pthread_create(&b->thread, NULL, flusher_main, b))
		return false;
	b->started = true;
	return true;
}

void breakers_stop(worker_t *w)
{
	struct breakers *b = w->breakers;

	if (!b)
		return;
	drv_watch_destroy(b->watch);
	if (b->started) {
		pthread_mutex_lock(&b->lock);
		b->quit = true;
		pthread_cond_signal(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->thread, NULL);
	}
	if (b->events) {
		rd_kafka_flush(b->events, 2000);
		rd_kafka_purge(b->events, RD_KAFKA_PURGE_F_QUEUE |
			       RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(b->events, 0);
		rd_kafka_destroy(b->events);
	}
	while (b->news) {
		brk_news_t *n = b->news;
		b->news = n->next;
		free(n);
	}
	redisFree(b->cmd);
	for (size_t i = 0; i < b->cnt; i++)
		free(b->e[i]);
	free(b->e);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->cmd_lock);
	pthread_mutex_destroy(&b->lock);
	free(b);
	w->breakers = NULL;
}
