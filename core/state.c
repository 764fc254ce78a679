/*
 * state.c — task state, task history and idempotency keys in Redis, written
 * by one background thread so that a runner never waits on Redis (see
 * include/drover/state.h for the keys and the contract).
 *
 * Runner threads copy each record into one heap block (entry_t) and push it
 * on a bounded ring under a mutex; a full ring drops its oldest entry. The
 * thread wakes every flush_ms, moves up to BATCH_MAX entries at a time to
 * `inflight`, writes them as one pipeline and, if the connection breaks
 * half way, puts back at the front of the ring every entry whose replies
 * did not all arrive. It keeps its connection alive with a PING when idle,
 * and reconnects with exponential backoff; status transitions go to the
 * owner's on_status callback. Retry analytics (drover/retry_stats.h) ride
 * along: each record that ends an attempt is counted in memory in a row
 * per (handler, minute), and the next batch carries one HINCRBY per
 * counter that changed. drv_state_get() and the drv_state_task_t
 * helpers read a task back for droverctl. (Idempotency claims, the check
 * before a run, are claim.c's.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "drover/clock.h"
#include "drover/dlq_groups.h"
#include "drover/json_out.h"
#include "drover/redis.h"
#include "drover/retry_stats.h"
#include "drover/state.h"
#include "drover/str.h"

/** Entries written in one pipeline, and records in one script call.
 *  Redis serves no other client while a call runs: 64 keep it under about
 *  a millisecond, so a worker's claims do not wait behind it (256 took
 *  2.5-3 ms a call under load, and keyed tasks slowed down with it). */
#define BATCH_MAX 64
/** Rows of retry analytics counted and not yet written: (handler, minute)
 *  pairs; while Redis is down, a record that needs one more is lost. */
#define STATS_ROWS_MAX 512
/** PING an idle connection this often (also notices a dead Redis). */
#define PING_MS 1000
/** Room for a key: prefix, "task:" or "idem:", id or key, ":history". */
#define KEY_BUF (2 * DRV_STATE_KEY_MAX + 32)

enum { ST_UNKNOWN = 0, ST_UP = 1, ST_DOWN = 2 };
enum { E_REC = 0, E_IDEM = 1, E_DLG = 2, E_WAIT = 3 };

/* E_DLG: the arguments of group_lua for one dead letter, in order. */
enum { G_ID, G_HANDLER, G_CLASS, G_MESSAGE, G_SAMPLE, G_MEMBER, G_MS, G_CNT };

/* One queued write: a record, an idempotency key or a dead letter's
 * failure group. The strings live in data[], after the struct, so an entry
 * is one allocation. */
typedef struct entry {
	int         kind;
	uint64_t    seq;      /* its ticket: 1, 2, ... in the order queued */
	drv_state_rec_t rec;  /* E_REC: strings point into data */
	const char *key;      /* E_IDEM: the idempotency key; rec.task_id the
				 task */
	const char *group[G_CNT]; /* E_DLG */
	const char *wait;     /* E_WAIT: drv_state_wait_prefix(); rec.task_id
				 the task */
	int64_t     wait_at, wait_until;  /* E_WAIT */
	char        data[];
} entry_t;

/* The analytics counters of one handler (or band) and minute, not yet
 * written. */
typedef struct stats_row {
	int64_t  minute;
	uint64_t recs;         /* records counted in it */
	drv_stats_scope_t scope;
	drv_stats_counts_t c;
	char     name[];       /* the handler's, or the band's */
} stats_row_t;

struct drv_state {
	drv_redis_conf_t redis;   /* the config's redis.*, copied */
	drv_task_state_mode_t mode;
	int64_t state_ttl_ms, idem_ttl_ms, dlq_ttl_ms;
	char    where[280];       /* host:port or socket path, for messages */
	drv_state_opts_t opts;

	/* the queue; lock also guards stop */
	pthread_mutex_t lock;
	pthread_cond_t  cond;
	entry_t **ring;       /* queued, oldest first; seq ascending */
	size_t   cap, head, cnt;
	uint64_t last_seq;
	entry_t *inflight[BATCH_MAX];  /* taken by the thread, being written */
	size_t   inflight_cnt;
	bool     stop;
	bool     started;              /* the thread runs (destroy joins) */

	_Atomic int      status;
	_Atomic uint64_t written, dropped, errors, shed, merged, stats_lost;
	_Atomic uint64_t groups_written, groups_failed;

	/* retry analytics (worker.retry_analytics), under stats_lock */
	bool           analytics;
	pthread_mutex_t stats_lock;
	stats_row_t   *rows[STATS_ROWS_MAX];
	size_t         rows_cnt;

	/* the background thread's */
	pthread_t     thread;
	redisContext *conn;
	int64_t       last_io_ms;
	bool          index;       /* worker.task_index */
	char          sha[41];     /* the record script's, once loaded */
	char          wsha[41];    /* the wait script's */
	int64_t       last_trim_ms;
};

/*
 * A batch of records, each in one step: the hash, the history and, with
 * worker.task_index on, the move between the per-state sets. One call per
 * batch, not per record: a script call costs Redis about what the work in
 * it does. The history lives in the hash (field "history": one JSON entry
 * per finished attempt, a line each), so a record is one hash and one
 * expiry. ARGV: the key prefix, the TTL, "1" to keep the index, then per
 * record the score (updated_ms), the task id, the history entry ('' =
 * none), the number of field/value pairs and the pairs, "state" first.
 */
static const char record_lua[] =
	"local p, ttl, ix, i = ARGV[1], ARGV[2], ARGV[3] == '1', 4\n"
	"while i <= #ARGV do\n"
	"  local id, nf = ARGV[i + 1], tonumber(ARGV[i + 3])\n"
	"  local key, new, h = p .. 'task:' .. id, ARGV[i + 5], ARGV[i + 2]\n"
	"  local old = redis.call('HMGET', key, 'state', 'history')\n"
	"  if h == '' then\n"
	"    redis.call('HSET', key, unpack(ARGV, i + 4, i + 3 + 2 * nf))\n"
	"  else\n"
	"    if old[2] then h = old[2] .. '\\n' .. h end\n"
	"    redis.call('HSET', key, 'history', h,\n"
	"                unpack(ARGV, i + 4, i + 3 + 2 * nf))\n"
	"  end\n"
	"  redis.call('PEXPIRE', key, ttl)\n"
	"  if ix then\n"
	"    if old[1] and old[1] ~= new then\n"
	"      redis.call('ZREM', p .. 'tasks:' .. old[1], id)\n"
	"    end\n"
	"    redis.call('ZADD', p .. 'tasks:' .. new, ARGV[i], id)\n"
	"  end\n"
	"  i = i + 4 + 2 * nf\n"
	"end\n";

/*
 * One wait of a task without an attempt (drv_state_wait()), into its
 * hash's "waits" field, only when the hash has a state. A turn-away whose
 * line starts like the last one (same kind, name, state and attempts
 * made: drv_state_wait_prefix()) extends that line: it keeps its at_ms,
 * takes the new until_ms and counts one more turn. The newest ARGV[4]
 * lines are kept. The task is not running while it waits: a hash still
 * `running` the attempt it was turned away from (attempt = attempts made
 * + 1, written just before) goes back to `queued` (no attempt made yet)
 * or `retrying` (attempt: the attempts made; due_ms: when it may try
 * again), moving in the state index when it is kept; a later turn-away
 * of that task moves its due_ms on. KEYS: the hash.
 * ARGV: the prefix of the line, at_ms, until_ms, the cap, the TTL, the
 * attempts made, the task id, the key prefix, "1" to keep the index.
 * Returns the line's turns (0: no state, nothing written).
 */
static const char wait_lua[] =
	"local k, pre, at = KEYS[1], ARGV[1], ARGV[2]\n"
	"local old = redis.call('HMGET', k, 'state', 'waits', 'attempt')\n"
	"if not old[1] then return 0 end\n"
	"local made, att = tonumber(ARGV[6]), tonumber(old[3]) or 0\n"
	"if old[1] == 'running' and att == made + 1 then\n"
	"  local st = made == 0 and 'queued' or 'retrying'\n"
	"  redis.call('HSET', k, 'state', st, 'attempt', ARGV[6],\n"
	"              'due_ms', ARGV[3])\n"
	"  if ARGV[9] == '1' then\n"
	"    redis.call('ZREM', ARGV[8] .. 'tasks:running', ARGV[7])\n"
	"    redis.call('ZADD', ARGV[8] .. 'tasks:' .. st, ARGV[2], ARGV[7])\n"
	"  end\n"
	"elseif (old[1] == 'queued' or old[1] == 'retrying') and att == made then\n"
	"  redis.call('HSET', k, 'due_ms', ARGV[3])\n"
	"end\n"
	"local lines, turns, cap = {}, 1, tonumber(ARGV[4])\n"
	"for l in string.gmatch(old[2] or '', '[^\\n]+') do\n"
	"  lines[#lines + 1] = l\n"
	"end\n"
	"local last = lines[#lines]\n"
	"if last and string.sub(last, 1, #pre) == pre then\n"
	"  local a, n = string.match(last,\n"
	"    '\"at_ms\":(%d+),\"until_ms\":%d+,\"turns\":(%d+)}$')\n"
	"  if a then\n"
	"    at, turns = a, tonumber(n) + 1\n"
	"    lines[#lines] = nil\n"
	"  end\n"
	"end\n"
	"lines[#lines + 1] = pre .. '\"at_ms\":' .. at .. ',\"until_ms\":' ..\n"
	"  ARGV[3] .. ',\"turns\":' .. turns .. '}'\n"
	"local from = #lines > cap and #lines - cap + 1 or 1\n"
	"redis.call('HSET', k, 'waits', table.concat(lines, '\\n', from),\n"
	"  'updated_ms', ARGV[2])\n"
	"redis.call('PEXPIRE', k, ARGV[5])\n"
	"return turns\n";

/*
 * One dead letter's failure group (drover/dlq_groups.h): the hash, its
 * samples, both sorted sets by last seen, their TTLs and the trim of
 * members older than the DLQ's retention. KEYS: the hash, the samples,
 * the set of all groups, the handler's set. ARGV: the G_* fields, the
 * sample cap, the TTL.
 */
static const char group_lua[] =
	"local ms, ttl = tonumber(ARGV[7]), tonumber(ARGV[9])\n"
	"local g = KEYS[1]\n"
	"redis.call('HSET', g, 'handler', ARGV[2], 'class', ARGV[3],\n"
	"  'message', ARGV[4])\n"
	"local n = redis.call('HINCRBY', g, 'count', 1)\n"
	"local f = tonumber(redis.call('HGET', g, 'first_seen'))\n"
	"if not f or ms < f then\n"
	"  redis.call('HSET', g, 'first_seen', ARGV[7])\n"
	"end\n"
	"local l = tonumber(redis.call('HGET', g, 'last_seen'))\n"
	"if not l or ms >= l then\n"
	"  redis.call('HSET', g, 'last_seen', ARGV[7], 'sample_message',\n"
	"    ARGV[5])\n"
	"  l = ms\n"
	"end\n"
	"redis.call('LPUSH', KEYS[2], ARGV[6])\n"
	"redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[8]) - 1)\n"
	"for i = 3, 4 do\n"
	"  redis.call('ZADD', KEYS[i], l, ARGV[1])\n"
	"  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. (ms - ttl))\n"
	"end\n"
	"for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end\n"
	"return n\n";

/* ------------------------------------------------------------------ */
/* Names and small helpers                                             */
/* ------------------------------------------------------------------ */

static const char *const state_names[DRV_TASK_STATE_CNT] = {
	"queued", "running", "succeeded", "retrying", "dead", "skipped",
	"paused", "cancelled"
};

const char *drv_task_state_name(drv_task_state_t s)
{
	if ((int)s >= 0 && (int)s < DRV_TASK_STATE_CNT)
		return state_names[s];
	return "unknown";
}

drv_err_t drv_task_state_parse(const char *s, drv_task_state_t *out)
{
	for (int i = 0; s && i < DRV_TASK_STATE_CNT; i++) {
		if (!strcmp(s, state_names[i])) {
			*out = (drv_task_state_t)i;
			return DRV_OK;
		}
	}
	return DRV_ERR_INVALID;
}

/* Does a record in state \p s end an attempt (and go to the history)? */
static bool ends_attempt(drv_task_state_t s)
{
	return s == DRV_TASK_SUCCEEDED || s == DRV_TASK_RETRYING ||
	       s == DRV_TASK_DEAD || s == DRV_TASK_SKIPPED ||
	       s == DRV_TASK_CANCELLED;
}

bool drv_state_mode_keeps(drv_task_state_mode_t mode,
			  const drv_state_rec_t *rec)
{
	switch (mode) {
	case DRV_TASK_STATE_ALL:
		return true;
	case DRV_TASK_STATE_FAILURES:
		return rec->state == DRV_TASK_RETRYING ||
		       rec->state == DRV_TASK_DEAD ||
		       rec->state == DRV_TASK_PAUSED ||
		       rec->state == DRV_TASK_CANCELLED ||
		       (rec->state == DRV_TASK_SKIPPED && rec->error) ||
		       rec->attempt > 1;
	default:
		return false;
	}
}

static int64_t backoff_next(int64_t ms)
{
	ms *= 2;
	return ms > DRV_STATE_BACKOFF_MAX_MS ? DRV_STATE_BACKOFF_MAX_MS : ms;
}

/* Length of \p s cut to at most \p max bytes, not inside a UTF-8
 * character. */
static size_t cut_len(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* obj[name] = value, taking the reference; false when out of memory. */
static bool jset(json_t *obj, const char *name, json_t *value)
{
	return value && json_object_set_new(obj, name, value) == 0;
}

/* ------------------------------------------------------------------ */
/* The queue (st->lock held)                                           */
/* ------------------------------------------------------------------ */

static void drop(drv_state_t *st, entry_t *e)
{
	if (e->kind == E_DLG)
		atomic_fetch_add(&st->groups_failed, 1);
	free(e);
	atomic_fetch_add(&st->dropped, 1);
}

static void drop_oldest(drv_state_t *st)
{
	drop(st, st->ring[st->head]);
	st->head = (st->head + 1) % st->cap;
	st->cnt--;
}

static void push_back(drv_state_t *st, entry_t *e)
{
	e->seq = ++st->last_seq;
	if (st->cnt == st->cap)
		drop_oldest(st);
	st->ring[(st->head + st->cnt) % st->cap] = e;
	st->cnt++;
}

/* Put \p n entries back at the front, in order; when they do not all fit,
 * the oldest of them (they are older than anything queued) are dropped. */
static void push_front(drv_state_t *st, entry_t **es, size_t n)
{
	size_t room = st->cap - st->cnt, skip = n > room ? n - room : 0;

	for (size_t i = 0; i < skip; i++)
		drop(st, es[i]);
	for (size_t i = n; i > skip; i--) {
		st->head = (st->head + st->cap - 1) % st->cap;
		st->ring[st->head] = es[i - 1];
		st->cnt++;
	}
}

/* ------------------------------------------------------------------ */
/* Producers                                                           */
/* ------------------------------------------------------------------ */

/* Copy \p s (\p n bytes) to *p, NUL-terminate, advance; NULL stays NULL. */
static const char *put(char **p, const char *s, size_t n)
{
	char *d = *p;

	if (!s)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	*p += n + 1;
	return d;
}

/* A queued entry of \p rec's strings, or NULL (no memory). */
static entry_t *entry_new(const drv_state_rec_t *rec)
{
	size_t lid, lh, lw, le, lo, ll;
	entry_t *e;
	char *p;

	lid = strlen(rec->task_id);
	lh = rec->handler ? strlen(rec->handler) : 0;
	lw = rec->worker ? strlen(rec->worker) : 0;
	le = rec->error ? cut_len(rec->error, DRV_STATE_ERROR_MAX) : 0;
	lo = rec->origin ? strlen(rec->origin) : 0;
	ll = rec->labels ? strlen(rec->labels) : 0;
	e = malloc(sizeof(*e) + lid + lh + lw + le + lo + ll + 6);
	if (!e)
		return NULL;
	e->kind = E_REC;
	e->seq = 0;
	e->rec = *rec;
	e->key = NULL;
	p = e->data;
	e->rec.task_id = put(&p, rec->task_id, lid);
	e->rec.handler = put(&p, rec->handler, lh);
	e->rec.worker = put(&p, rec->worker, lw);
	e->rec.error = put(&p, rec->error, le);
	e->rec.origin = put(&p, rec->origin, lo);
	e->rec.labels = put(&p, rec->labels, ll);
	if (!e->rec.updated_ms)
		e->rec.updated_ms = drv_now_ms();
	return e;
}

/* The ring slot of the record of \p task_id queued with ticket \p seq, or
 * NULL when it is no longer queued (taken by the thread, or dropped). The
 * ring's tickets ascend; a gap (entries put back after a drop) only makes
 * the lookup miss. Under st->lock. */
static entry_t **queued_rec(drv_state_t *st, uint64_t seq,
			    const char *task_id)
{
	uint64_t front;
	entry_t **slot;

	if (!seq || !st->cnt)
		return NULL;
	front = st->ring[st->head]->seq;
	if (seq < front || seq - front >= st->cnt)
		return NULL;
	slot = &st->ring[(st->head + (seq - front)) % st->cap];
	if ((*slot)->seq != seq || (*slot)->kind != E_REC ||
	    strcmp((*slot)->rec.task_id, task_id))
		return NULL;
	return slot;
}

/* Put \p rec in the place of \p old, the same task's earlier record still
 * queued: what \p rec leaves as it is comes from \p old, so one write
 * does the work of both. Under st->lock. */
static drv_err_t replace(entry_t **old, const drv_state_rec_t *rec)
{
	const drv_state_rec_t *o = &(*old)->rec;
	drv_state_rec_t m = *rec;
	entry_t *e;

	m.handler = m.handler ? m.handler : o->handler;
	m.worker = m.worker ? m.worker : o->worker;
	m.origin = m.origin ? m.origin : o->origin;
	m.labels = m.labels ? m.labels : o->labels;
	m.created_ms = m.created_ms ? m.created_ms : o->created_ms;
	m.started_ms = m.started_ms ? m.started_ms : o->started_ms;
	m.priority = m.priority ? m.priority : o->priority;
	m.due_ms = m.due_ms ? m.due_ms : o->due_ms;
	if (!(e = entry_new(&m)))
		return DRV_ERR_NOMEM;
	e->seq = (*old)->seq;
	free(*old);
	*old = e;
	return DRV_OK;
}

/* Count \p rec in the row of (\p scope, \p name, \p minute). Under
 * stats_lock. */
static void stats_count_in(drv_state_t *st, const drv_state_rec_t *rec,
			   drv_stats_scope_t scope, const char *name,
			   int64_t minute)
{
	stats_row_t *row = NULL;
	size_t i, ln = strlen(name);

	for (i = st->rows_cnt; i > 0 && !row; i--)
		if (st->rows[i - 1]->minute == minute &&
		    st->rows[i - 1]->scope == scope &&
		    !strcmp(st->rows[i - 1]->name, name))
			row = st->rows[i - 1];
	if (!row && st->rows_cnt < STATS_ROWS_MAX &&
	    (row = calloc(1, sizeof(*row) + ln + 1))) {
		row->minute = minute;
		row->scope = scope;
		memcpy(row->name, name, ln + 1);
		st->rows[st->rows_cnt++] = row;
	}
	if (row) {
		drv_stats_count_rec(&row->c, rec);
		row->recs++;
	} else {
		atomic_fetch_add(&st->stats_lost, 1);
	}
}

/* Count \p rec in its (handler, minute) row and, when it has a band, its
 * (band, minute) row, whatever worker.task_state keeps: a few additions
 * under stats_lock, no Redis. */
static void stats_count(drv_state_t *st, const drv_state_rec_t *rec)
{
	int64_t at = rec->finished_ms ? rec->finished_ms :
		     rec->updated_ms ? rec->updated_ms : drv_now_ms();
	int64_t minute = at / DRV_STATS_BUCKET_MS;

	if (!rec->handler || !ends_attempt(rec->state))
		return;
	pthread_mutex_lock(&st->stats_lock);
	stats_count_in(st, rec, DRV_STATS_HANDLER, rec->handler, minute);
	if (rec->band && *rec->band)
		stats_count_in(st, rec, DRV_STATS_BAND, rec->band, minute);
	pthread_mutex_unlock(&st->stats_lock);
}

/* Behind by half the queue: Redis takes records slower than tasks end.
 * Shed the `running` records, which the outcome soon replaces, and the
 * waits, so the queue keeps outcomes instead of dropping the oldest of
 * everything (which loses outcomes and leaves tasks listed as running).
 * True (and counted) when the caller sheds its entry. */
static bool shed(drv_state_t *st)
{
	size_t behind;

	pthread_mutex_lock(&st->lock);
	behind = st->cnt;
	pthread_mutex_unlock(&st->lock);
	if (behind < st->cap / 2)
		return false;
	atomic_fetch_add(&st->shed, 1);
	return true;
}

drv_err_t drv_state_record(drv_state_t *st, const drv_state_rec_t *rec)
{
	return drv_state_record_ticket(st, rec, NULL);
}

drv_err_t drv_state_record_ticket(drv_state_t *st, const drv_state_rec_t *rec,
				  uint64_t *ticket)
{
	entry_t *e, **old;
	drv_err_t err;

	if (ticket)
		*ticket = 0;
	if (!rec || !rec->task_id || !*rec->task_id ||
	    strlen(rec->task_id) > DRV_STATE_KEY_MAX)
		return DRV_ERR_INVALID;
	if (st->analytics)
		stats_count(st, rec);
	if (!drv_state_mode_keeps(st->mode, rec))
		return DRV_OK;
	if (rec->state == DRV_TASK_RUNNING && shed(st))
		return DRV_OK;
	if (rec->replaces) {
		pthread_mutex_lock(&st->lock);
		old = queued_rec(st, rec->replaces, rec->task_id);
		err = old ? replace(old, rec) : DRV_OK;
		if (old && !err)
			atomic_fetch_add(&st->merged, 1);
		pthread_mutex_unlock(&st->lock);
		if (old)
			return err;
	}
	if (!(e = entry_new(rec)))
		return DRV_ERR_NOMEM;
	pthread_mutex_lock(&st->lock);
	push_back(st, e);
	if (ticket)
		*ticket = e->seq;
	pthread_mutex_unlock(&st->lock);
	return DRV_OK;
}

char *drv_state_wait_prefix(const drv_state_wait_rec_t *w)
{
	drv_jout_t j;
	char *s;
	size_t n;

	drv_jout_begin(&j);
	drv_jout_str_lossy(&j, "kind", w->kind);
	drv_jout_str_lossy(&j, "name", w->name);
	if (w->state)
		drv_jout_str_lossy(&j, "state", w->state);
	drv_jout_int(&j, "attempt", w->attempt);
	if (!(s = drv_jout_end(&j)))
		return NULL;
	n = strlen(s);  /* the closing brace becomes a comma */
	s[n - 1] = ',';
	return s;
}

drv_err_t drv_state_wait(drv_state_t *st, const drv_state_wait_rec_t *w)
{
	drv_state_rec_t as = { .state = DRV_TASK_RUNNING };
	size_t lid, lp;
	char *prefix;
	entry_t *e;
	char *p;

	if (!w || !w->task_id || !*w->task_id || !w->kind || !*w->kind ||
	    !w->name || !*w->name || strlen(w->task_id) > DRV_STATE_KEY_MAX)
		return DRV_ERR_INVALID;
	as.task_id = w->task_id;
	as.attempt = w->attempt + 1;
	if (!drv_state_mode_keeps(st->mode, &as) || shed(st))
		return DRV_OK;
	if (!(prefix = drv_state_wait_prefix(w)))
		return DRV_ERR_NOMEM;
	lid = strlen(w->task_id);
	lp = strlen(prefix);
	e = calloc(1, sizeof(*e) + lid + lp + 2);
	if (!e) {
		free(prefix);
		return DRV_ERR_NOMEM;
	}
	e->kind = E_WAIT;
	p = e->data;
	e->rec.task_id = put(&p, w->task_id, lid);
	e->wait = put(&p, prefix, lp);
	free(prefix);
	e->wait_at = w->at_ms ? w->at_ms : drv_now_ms();
	e->wait_until = w->until_ms;
	e->rec.attempt = w->attempt;
	pthread_mutex_lock(&st->lock);
	push_back(st, e);
	pthread_mutex_unlock(&st->lock);
	return DRV_OK;
}

drv_err_t drv_state_idem_done(drv_state_t *st, const char *key,
			      const char *task_id)
{
	size_t lk, lid;
	entry_t *e;
	char *p;

	if (!key || !*key || !task_id || !*task_id ||
	    strlen(key) > DRV_STATE_KEY_MAX ||
	    strlen(task_id) > DRV_STATE_KEY_MAX)
		return DRV_ERR_INVALID;
	lk = strlen(key);
	lid = strlen(task_id);
	e = calloc(1, sizeof(*e) + lk + lid + 2);
	if (!e)
		return DRV_ERR_NOMEM;
	e->kind = E_IDEM;
	p = e->data;
	e->key = put(&p, key, lk);
	e->rec.task_id = put(&p, task_id, lid);
	pthread_mutex_lock(&st->lock);
	push_back(st, e);
	pthread_mutex_unlock(&st->lock);
	return DRV_OK;
}

drv_err_t drv_state_dead_letter(drv_state_t *st, const drv_dead_letter_t *dl)
{
	drv_dlq_group_key_t k;
	const char *v[G_CNT];
	size_t len[G_CNT], total = 0;
	char ms[24];
	entry_t *e;
	char *p;

	drv_dlq_group_of(dl, &k);
	drv_fmt(ms, sizeof(ms), "%lld", (long long)dl->dead_ms);
	v[G_ID] = k.id;
	v[G_HANDLER] = k.handler;
	v[G_CLASS] = k.class;
	v[G_MESSAGE] = k.message;
	v[G_SAMPLE] = k.raw;
	v[G_MEMBER] = dl->id;  /* then " <task id>", added below */
	v[G_MS] = ms;
	for (int i = 0; i < G_CNT; i++) {
		len[i] = i == G_SAMPLE ? cut_len(v[i], DRV_DLQ_GROUP_SAMPLE_MAX) :
			 strlen(v[i]);
		total += len[i] + 1;
	}
	if (strlen(k.handler) > DRV_STATE_KEY_MAX)
		return DRV_ERR_INVALID;
	total += strlen(dl->task.id) + 1;
	if (!(e = calloc(1, sizeof(*e) + total)))
		return DRV_ERR_NOMEM;
	e->kind = E_DLG;
	p = e->data;
	for (int i = 0; i < G_CNT; i++) {
		e->group[i] = put(&p, v[i], len[i]);
		if (i == G_MEMBER) {  /* "<dead letter id> <task id>" */
			p[-1] = ' ';
			put(&p, dl->task.id, strlen(dl->task.id));
		}
	}
	pthread_mutex_lock(&st->lock);
	push_back(st, e);
	pthread_mutex_unlock(&st->lock);
	return DRV_OK;
}

bool drv_state_degraded(const drv_state_t *st)
{
	return atomic_load(&((drv_state_t *)st)->status) != ST_UP;
}

bool drv_state_behind(drv_state_t *st)
{
	size_t cnt;

	if (atomic_load(&st->status) != ST_UP)
		return false;
	pthread_mutex_lock(&st->lock);
	cnt = st->cnt;
	pthread_mutex_unlock(&st->lock);
	return cnt >= st->cap - st->cap / 4;
}

void drv_state_stats(drv_state_t *st, drv_state_stats_t *out)
{
	out->written = atomic_load(&st->written);
	out->dropped = atomic_load(&st->dropped);
	out->shed = atomic_load(&st->shed);
	out->merged = atomic_load(&st->merged);
	out->errors = atomic_load(&st->errors);
	out->groups_written = atomic_load(&st->groups_written);
	out->groups_failed = atomic_load(&st->groups_failed);
	out->stats_lost = atomic_load(&st->stats_lost);
	pthread_mutex_lock(&st->lock);
	out->queued = st->cnt + st->inflight_cnt;
	pthread_mutex_unlock(&st->lock);
}

/* ------------------------------------------------------------------ */
/* The background thread                                               */
/* ------------------------------------------------------------------ */

static void set_status(drv_state_t *st, int status, const char *detail)
{
	int old = atomic_exchange(&st->status, status);

	if (old != status && st->opts.on_status)
		st->opts.on_status(status == ST_UP, detail, st->opts.arg);
}

/* SCRIPT LOAD \p lua on the connection, its SHA1 into \p sha. */
static bool load_one(drv_state_t *st, const char *lua, char *sha, char *err,
		     size_t err_size)
{
	redisReply *r = redisCommand(st->conn, "SCRIPT LOAD %s", lua);
	bool ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;

	if (ok)
		memcpy(sha, r->str, 41);
	else
		drv_fmt(err, err_size, "cannot load the task state script: %s",
			r ? (r->type == REDIS_REPLY_ERROR ? r->str :
			     "unexpected reply") : st->conn->errstr);
	freeReplyObject(r);
	return ok;
}

/* SCRIPT LOAD the record and wait scripts on the new connection. */
static bool load_script(drv_state_t *st, char *err, size_t err_size)
{
	return load_one(st, record_lua, st->sha, err, err_size) &&
	       load_one(st, wait_lua, st->wsha, err, err_size);
}

/* Connect the thread's connection within \p timeout_ms. On failure the
 * reason is in \p err and the caller says what it means. */
static bool connect_main(drv_state_t *st, int64_t timeout_ms, char *err,
			 size_t err_size)
{
	drv_config_t c = st->redis.cfg;
	char detail[400];
	int old;

	c.redis.connect_timeout_ms = timeout_ms < 1 ? 1 : timeout_ms;
	if (drv_redis_connect(&c, &st->conn, err, err_size)) {
		st->conn = NULL;
		atomic_fetch_add(&st->errors, 1);
		return false;
	}
	if (!load_script(st, err, err_size)) {
		redisFree(st->conn);
		st->conn = NULL;
		atomic_fetch_add(&st->errors, 1);
		return false;
	}
	old = atomic_load(&st->status);
	drv_fmt(detail, sizeof(detail), "task state: %s Redis at %s",
		old == ST_DOWN ? "back on" : "connected to", st->where);
	set_status(st, ST_UP, detail);
	st->last_io_ms = drv_mono_ms();
	return true;
}

static void set_timeout(redisContext *c, int64_t ms)
{
	struct timeval tv;

	if (ms < 1)
		ms = 1;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	redisSetTimeout(c, tv);
}

/* Room for the arguments of one command: HSET, the key and the hash's 11
 * field/value pairs. */
#define ARGS_MAX 32

typedef struct args {
	const char *v[ARGS_MAX];
	size_t      len[ARGS_MAX];
	int         n;
} args_t;

static void arg(args_t *a, const char *s)
{
	a->v[a->n] = s;
	a->len[a->n++] = strlen(s);
}

static void arg_field(args_t *a, const char *name, const char *value)
{
	if (value) {
		arg(a, name);
		arg(a, value);
	}
}

/* "<type><n>\r\n" at p; returns the end. */
static char *resp_head(char *p, char type, size_t n)
{
	char digits[24];
	size_t k = 0;

	*p++ = type;
	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	while (k)
		*p++ = digits[--k];
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Append the command to the pipeline in Redis's wire form, built here:
 * redisAppendCommandArgv() formats with sdscatfmt, which cost more than
 * the rest of a task's state write. */
static int append(redisContext *c, args_t *a)
{
	char stack[2048], *buf = stack, *p;
	size_t need = 32;
	int rc;

	for (int i = 0; i < a->n; i++)
		need += a->len[i] + 32;
	if (need > sizeof(stack) && !(buf = malloc(need)))
		return REDIS_ERR;
	p = resp_head(buf, '*', (size_t)a->n);
	for (int i = 0; i < a->n; i++) {
		p = resp_head(p, '$', a->len[i]);
		memcpy(p, a->v[i], a->len[i]);
		p += a->len[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	rc = redisAppendFormattedCommand(c, buf, (size_t)(p - buf));
	if (buf != stack)
		free(buf);
	return rc;
}

/* One command of any size in Redis's wire form, argument by argument:
 * the script call of a whole batch. Room is kept in front for the head,
 * written once the count is known. */
#define WIRE_HEAD 24

typedef struct wire {
	char  *buf;
	size_t len, cap;
	size_t argc;
	bool   failed;     /* out of memory: the command is not sent */
} wire_t;

static void wire_arg(wire_t *w, const char *s, size_t n)
{
	size_t need = w->len + n + 32;
	char *p;

	if (w->failed)
		return;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 16384;

		while (cap < need)
			cap *= 2;
		if (!(p = realloc(w->buf, cap))) {
			w->failed = true;
			return;
		}
		w->buf = p;
		w->cap = cap;
		if (!w->len)
			w->len = WIRE_HEAD;
	}
	p = resp_head(w->buf + w->len, '$', n);
	memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	w->len = (size_t)(p - w->buf);
	w->argc++;
}

static void wire_args(wire_t *w, const args_t *a)
{
	for (int i = 0; i < a->n; i++)
		wire_arg(w, a->v[i], a->len[i]);
}

/* Write the head before the arguments and append the command. */
static int wire_append(redisContext *c, wire_t *w)
{
	char head[WIRE_HEAD], *end = resp_head(head, '*', w->argc);
	size_t hl = (size_t)(end - head);

	if (w->failed)
		return REDIS_ERR;
	memcpy(w->buf + WIRE_HEAD - hl, head, hl);
	return redisAppendFormattedCommand(c, w->buf + WIRE_HEAD - hl,
					   w->len - (WIRE_HEAD - hl));
}

/* Append the group script call of dead letter entry \p e; returns 1, or 0
 * when out of memory. */
static int append_group(drv_state_t *st, const entry_t *e)
{
	char key[KEY_BUF], skey[KEY_BUF], all[KEY_BUF], hset[2 * KEY_BUF];
	char cap[8], ttl[24];
	args_t a = { .n = 0 };

	drv_dlq_group_key_name(st->redis.prefix, e->group[G_ID], key,
			       sizeof(key));
	drv_fmt(skey, sizeof(skey), "%s:samples", key);
	drv_fmt(all, sizeof(all), "%sdlq:groups", st->redis.prefix);
	drv_fmt(hset, sizeof(hset), "%s:handler:%s", all, e->group[G_HANDLER]);
	drv_fmt(cap, sizeof(cap), "%d", DRV_DLQ_GROUP_SAMPLES);
	drv_fmt(ttl, sizeof(ttl), "%lld", (long long)st->dlq_ttl_ms);
	arg(&a, "EVAL");
	arg(&a, group_lua);
	arg(&a, "4");
	arg(&a, key);
	arg(&a, skey);
	arg(&a, all);
	arg(&a, hset);
	for (int i = 0; i < G_CNT; i++)
		arg(&a, e->group[i]);
	arg(&a, cap);
	arg(&a, ttl);
	return append(st->conn, &a) == REDIS_OK ? 1 : 0;
}

/* Append the wait script call of wait entry \p e; returns 1, or 0 when
 * out of memory. */
static int append_wait(drv_state_t *st, const entry_t *e)
{
	char key[KEY_BUF], at[24], until[24], cap[8], ttl[24], made[16];
	args_t a = { .n = 0 };

	drv_fmt(key, sizeof(key), "%stask:%s", st->redis.prefix,
		e->rec.task_id);
	drv_fmt(at, sizeof(at), "%lld", (long long)e->wait_at);
	drv_fmt(until, sizeof(until), "%lld", (long long)e->wait_until);
	drv_fmt(cap, sizeof(cap), "%d", DRV_STATE_WAITS_MAX);
	drv_fmt(ttl, sizeof(ttl), "%lld", (long long)st->state_ttl_ms);
	arg(&a, "EVALSHA");
	arg(&a, st->wsha);
	arg(&a, "1");
	arg(&a, key);
	arg(&a, e->wait);
	arg(&a, at);
	arg(&a, until);
	arg(&a, cap);
	arg(&a, ttl);
	drv_fmt(made, sizeof(made), "%u", (unsigned)e->rec.attempt);
	arg(&a, made);
	arg(&a, e->rec.task_id);
	arg(&a, st->redis.prefix);
	arg(&a, st->index ? "1" : "0");
	return append(st->conn, &a) == REDIS_OK ? 1 : 0;
}

/* Append the commands of \p e to the pipeline, or add its record to the
 * batch's script call \p w; returns how many commands were appended,
 * IN_SCRIPT when added to \p w, AFTER_SCRIPT for a wait (appended after
 * the script call, so that the `running` record queued before it has
 * made the hash it needs), 0 when out of memory. */
#define IN_SCRIPT (-1)
#define AFTER_SCRIPT (-2)

static int append_entry(drv_state_t *st, const entry_t *e, wire_t *w)
{
	const drv_state_rec_t *r = &e->rec;
	char key[KEY_BUF], ttl[24], att[16];
	char upd[24], cre[24], due[24], pri[16], nf[8];
	char *hist = NULL;
	args_t a = { .n = 0 };

	if (e->kind == E_DLG)
		return append_group(st, e);
	if (e->kind == E_WAIT)
		return AFTER_SCRIPT;
	if (e->kind == E_IDEM) {
		drv_fmt(key, sizeof(key), "%sidem:%s", st->redis.prefix, e->key);
		drv_fmt(ttl, sizeof(ttl), "%lld", (long long)st->idem_ttl_ms);
		arg(&a, "SET");
		arg(&a, key);
		arg(&a, r->task_id);
		arg(&a, "PX");
		arg(&a, ttl);
		return append(st->conn, &a) == REDIS_OK ? 1 : 0;
	}
	if (ends_attempt(r->state) && !(hist = drv_state_history_json(r)))
		return 0;
	drv_fmt(att, sizeof(att), "%u", (unsigned)r->attempt);
	drv_fmt(upd, sizeof(upd), "%lld", (long long)r->updated_ms);
	drv_fmt(cre, sizeof(cre), "%lld", (long long)r->created_ms);
	drv_fmt(due, sizeof(due), "%lld", (long long)r->due_ms);
	drv_fmt(pri, sizeof(pri), "%u", (unsigned)r->priority);
	arg_field(&a, "state", drv_task_state_name(r->state));
	arg_field(&a, "attempt", att);
	arg_field(&a, "handler", r->handler);
	arg_field(&a, "worker", r->worker);
	arg_field(&a, "last_error", r->error);
	arg_field(&a, "updated_ms", upd);
	arg_field(&a, "created_ms", r->created_ms ? cre : NULL);
	arg_field(&a, "due_ms", r->due_ms ? due : NULL);
	arg_field(&a, "priority", r->priority ? pri : NULL);
	arg_field(&a, "labels", r->labels);
	arg_field(&a, "origin", r->origin);
	drv_fmt(nf, sizeof(nf), "%d", a.n / 2);
	wire_arg(w, upd, strlen(upd));
	wire_arg(w, r->task_id, strlen(r->task_id));
	wire_arg(w, hist ? hist : "", hist ? strlen(hist) : 0);
	wire_arg(w, nf, strlen(nf));
	wire_args(w, &a);
	free(hist);
	return IN_SCRIPT;
}

/* Drop the members of the per-state sets older than the task state's TTL
 * (their hashes are gone): one pipeline, every DRV_STATE_TRIM_MS. */
static void trim(drv_state_t *st)
{
	char cut[24], key[KEY_BUF];
	bool ok = true;

	st->last_trim_ms = drv_mono_ms();
	drv_fmt(cut, sizeof(cut), "(%lld",
		(long long)(drv_now_ms() - st->state_ttl_ms));
	for (int s = 0; s < DRV_TASK_STATE_CNT; s++) {
		args_t a = { .n = 0 };

		drv_fmt(key, sizeof(key), "%stasks:%s", st->redis.prefix,
			drv_task_state_name((drv_task_state_t)s));
		arg(&a, "ZREMRANGEBYSCORE");
		arg(&a, key);
		arg(&a, "-inf");
		arg(&a, cut);
		ok = ok && append(st->conn, &a) == REDIS_OK;
	}
	for (int s = 0; ok && s < DRV_TASK_STATE_CNT; s++) {
		redisReply *r = NULL;

		if (redisGetReply(st->conn, (void **)&r) != REDIS_OK)
			ok = false;
		freeReplyObject(r);
	}
	st->last_io_ms = drv_mono_ms();
	if (!ok)
		atomic_fetch_add(&st->errors, 1);
}

/* Take the analytics rows counted so far into \p rows (the caller frees
 * them); returns how many. */
static size_t stats_take(drv_state_t *st, stats_row_t **rows)
{
	size_t n;

	pthread_mutex_lock(&st->stats_lock);
	n = st->rows_cnt;
	memcpy(rows, st->rows, n * sizeof(*rows));
	st->rows_cnt = 0;
	pthread_mutex_unlock(&st->stats_lock);
	return n;
}

static bool stats_pending(drv_state_t *st)
{
	bool any;

	pthread_mutex_lock(&st->stats_lock);
	any = st->rows_cnt > 0;
	pthread_mutex_unlock(&st->stats_lock);
	return any;
}

/* Append one HINCRBY per counter of \p rows that changed and a PEXPIRE
 * per key; returns the commands appended. A row that could not be
 * appended whole is counted lost. */
static int stats_append(drv_state_t *st, stats_row_t **rows, size_t n)
{
	char key[KEY_BUF], num[24], keep[24];
	int cmds = 0;

	drv_fmt(keep, sizeof(keep), "%lld", (long long)DRV_STATS_KEEP_MS);
	for (size_t i = 0; i < n; i++) {
		const stats_row_t *r = rows[i];
		bool ok = true;
		args_t a = { .n = 0 };

		drv_stats_key(key, sizeof(key), st->redis.prefix, r->scope,
			      r->name, r->minute);
		for (int f = 0; f < DRV_STATS_FIELD_CNT; f++) {
			if (!r->c.v[f])
				continue;
			drv_fmt(num, sizeof(num), "%lld",
				(long long)r->c.v[f]);
			a.n = 0;
			arg(&a, "HINCRBY");
			arg(&a, key);
			arg(&a, drv_stats_field_name(f));
			arg(&a, num);
			ok = append(st->conn, &a) == REDIS_OK && ok;
			cmds += ok;
		}
		a.n = 0;
		arg(&a, "PEXPIRE");
		arg(&a, key);
		arg(&a, keep);
		ok = append(st->conn, &a) == REDIS_OK && ok;
		cmds += ok;
		if (!ok)
			atomic_fetch_add(&st->stats_lost, r->recs);
	}
	return cmds;
}

/* Read the replies of stats_append()'s \p cmds commands; false when the
 * connection broke (the rows' counts are lost). */
static bool stats_replies(drv_state_t *st, stats_row_t **rows, size_t n,
			  int cmds, char *err, size_t err_size)
{
	for (int k = 0; k < cmds; k++) {
		redisReply *r = NULL;

		if (redisGetReply(st->conn, (void **)&r) != REDIS_OK) {
			drv_fmt(err, err_size, "%s", st->conn->errstr);
			for (size_t i = 0; i < n; i++)
				atomic_fetch_add(&st->stats_lost,
						 rows[i]->recs);
			return false;
		}
		if (r->type == REDIS_REPLY_ERROR)
			atomic_fetch_add(&st->errors, 1);
		freeReplyObject(r);
	}
	return true;
}

/*
 * Write st->inflight[0..n) as one pipeline, after the analytics counted
 * since the last batch. Returns how many entries (from
 * the first) are finished: every reply read, errors included (an error
 * reply is counted, not retried). Fewer than \p n means the connection
 * broke; \p err then says why.
 */
static size_t write_batch(drv_state_t *st, size_t n, char *err,
			  size_t err_size)
{
	int cmds[BATCH_MAX], scmds;
	bool noscript = false, script = false, script_ok = false, sok;
	bool waits = false;
	stats_row_t *rows[STATS_ROWS_MAX];
	size_t nrows = stats_take(st, rows);
	wire_t w = { 0 };
	char ttl[24];
	size_t done;

	drv_fmt(ttl, sizeof(ttl), "%lld", (long long)st->state_ttl_ms);
	wire_arg(&w, "EVALSHA", 7);
	wire_arg(&w, st->sha, strlen(st->sha));
	wire_arg(&w, "0", 1);
	wire_arg(&w, st->redis.prefix, strlen(st->redis.prefix));
	wire_arg(&w, ttl, strlen(ttl));
	wire_arg(&w, st->index ? "1" : "0", 1);
	scmds = stats_append(st, rows, nrows);
	for (size_t i = 0; i < n; i++) {
		cmds[i] = append_entry(st, st->inflight[i], &w);
		script |= cmds[i] == IN_SCRIPT;
		waits |= cmds[i] == AFTER_SCRIPT;
	}
	/* the script call goes last, its reply is read last; when it is not
	 * read (the connection broke) the whole batch is written again: a
	 * record is idempotent but for its history entry, which may then be
	 * there twice */
	if (script && wire_append(st->conn, &w) != REDIS_OK) {
		script = false;
		for (size_t i = 0; i < n; i++)
			if (cmds[i] == IN_SCRIPT)
				cmds[i] = 0;
	}
	for (size_t i = 0; i < n; i++)
		if (cmds[i] == AFTER_SCRIPT &&
		    !append_wait(st, st->inflight[i]))
			cmds[i] = 0;
	free(w.buf);
	sok = stats_replies(st, rows, nrows, scmds, err, err_size);
	for (size_t i = 0; i < nrows; i++)
		free(rows[i]);
	if (!sok)
		return 0;
	for (done = 0; done < n; done++) {
		bool ok = cmds[done] > 0;

		if (cmds[done] == AFTER_SCRIPT)
			continue;  /* read below */
		for (int k = 0; k < cmds[done]; k++) {
			redisReply *r = NULL;

			if (redisGetReply(st->conn, (void **)&r) != REDIS_OK) {
				drv_fmt(err, err_size, "%s", st->conn->errstr);
				return script || waits ? 0 : done;
			}
			if (r->type == REDIS_REPLY_ERROR) {
				drv_fmt(err, err_size, "%s", r->str);
				noscript |= !strncmp(r->str, "NOSCRIPT", 8);
				ok = false;
			}
			freeReplyObject(r);
		}
		if (cmds[done] != IN_SCRIPT)
			atomic_fetch_add(ok ? &st->written : &st->errors, 1);
		if (st->inflight[done]->kind == E_DLG)
			atomic_fetch_add(ok ? &st->groups_written :
					 &st->groups_failed, 1);
	}
	if (script) {
		redisReply *r = NULL;

		if (redisGetReply(st->conn, (void **)&r) != REDIS_OK) {
			drv_fmt(err, err_size, "%s", st->conn->errstr);
			return 0;
		}
		script_ok = r->type != REDIS_REPLY_ERROR;
		if (!script_ok) {
			drv_fmt(err, err_size, "%s", r->str);
			noscript = !strncmp(r->str, "NOSCRIPT", 8);
		}
		freeReplyObject(r);
		for (size_t i = 0; i < n; i++)
			if (cmds[i] == IN_SCRIPT)
				atomic_fetch_add(script_ok ? &st->written :
						 &st->errors, 1);
	}
	/* the waits' replies come last; a broken connection here writes
	 * the whole batch again (a wait then counts one turn more) */
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (cmds[i] != AFTER_SCRIPT)
			continue;
		if (redisGetReply(st->conn, (void **)&r) != REDIS_OK) {
			drv_fmt(err, err_size, "%s", st->conn->errstr);
			return 0;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			drv_fmt(err, err_size, "%s", r->str);
			noscript |= !strncmp(r->str, "NOSCRIPT", 8);
		}
		atomic_fetch_add(r->type == REDIS_REPLY_ERROR ? &st->errors :
				 &st->written, 1);
		freeReplyObject(r);
	}
	/* the script cache was flushed (SCRIPT FLUSH): load it again; those
	 * records were counted as errors */
	if (noscript && !load_script(st, err, err_size))
		return 0;
	return done;
}

/* The connection broke: drop it and try once more at once (Redis closes
 * idle clients after `timeout`); if that fails too, Redis is down. */
static void lost(drv_state_t *st, const char *why, int64_t timeout_ms,
		 int64_t *next_try, int64_t *backoff)
{
	char detail[600], err[256];

	redisFree(st->conn);
	st->conn = NULL;
	atomic_fetch_add(&st->errors, 1);
	if (connect_main(st, timeout_ms, err, sizeof(err)))
		return;
	drv_fmt(detail, sizeof(detail), "task state: lost Redis at %s, "
		"queueing: %s; reconnecting: %s", st->where, why, err);
	set_status(st, ST_DOWN, detail);
	*backoff = DRV_STATE_BACKOFF_MIN_MS;
	*next_try = drv_mono_ms() + *backoff;
}

/*
 * Write everything queued, BATCH_MAX entries at a time, until the queue is
 * empty, the connection breaks or \p deadline (mono ms, 0 = none) passes.
 */
static void flush(drv_state_t *st, int64_t deadline, int64_t *next_try,
		  int64_t *backoff)
{
	int64_t timeout = st->redis.cfg.redis.connect_timeout_ms;
	bool wrote = false;

	while (st->conn) {
		char err[256] = "";
		size_t n, done;

		if (deadline) {
			timeout = deadline - drv_mono_ms();
			if (timeout <= 0)
				return;
			set_timeout(st->conn, timeout);
		}
		pthread_mutex_lock(&st->lock);
		n = st->cnt < BATCH_MAX ? st->cnt : BATCH_MAX;
		for (size_t i = 0; i < n; i++) {
			st->inflight[i] = st->ring[st->head];
			st->head = (st->head + 1) % st->cap;
		}
		st->cnt -= n;
		st->inflight_cnt = n;
		pthread_mutex_unlock(&st->lock);
		/* nothing queued: the analytics alone, once a flush (with
		 * worker.task_state off, or every record filtered out) */
		if (!n && (wrote || !stats_pending(st)))
			return;
		wrote = true;
		done = write_batch(st, n, err, sizeof(err));
		st->last_io_ms = drv_mono_ms();
		pthread_mutex_lock(&st->lock);
		for (size_t i = 0; i < done; i++)
			free(st->inflight[i]);
		push_front(st, st->inflight + done, n - done);
		st->inflight_cnt = 0;
		pthread_mutex_unlock(&st->lock);
		if (done < n) {
			lost(st, err, timeout, next_try, backoff);
			return;
		}
	}
}

static void ping(drv_state_t *st, int64_t *next_try, int64_t *backoff)
{
	redisReply *r = redisCommand(st->conn, "PING");
	char err[256];

	st->last_io_ms = drv_mono_ms();
	if (r) {
		freeReplyObject(r);
		return;
	}
	drv_strlcpy(err, st->conn->errstr, sizeof(err));
	lost(st, err, st->redis.cfg.redis.connect_timeout_ms, next_try, backoff);
}

/* Wait on the condition variable until \p ms from now or a signal. */
static void wait_ms(drv_state_t *st, int64_t ms)
{
	struct timespec ts = drv_deadline(CLOCK_MONOTONIC, ms);

	pthread_cond_timedwait(&st->cond, &st->lock, &ts);
}

static void *run(void *arg)
{
	drv_state_t *st = arg;
	int64_t next_try = 0, backoff = DRV_STATE_BACKOFF_MIN_MS, deadline;

	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		pthread_mutex_unlock(&st->lock);
		if (!st->conn && drv_mono_ms() >= next_try) {
			char err[256], detail[400];

			if (connect_main(st, st->redis.cfg.redis.connect_timeout_ms,
					 err, sizeof(err))) {
				backoff = DRV_STATE_BACKOFF_MIN_MS;
			} else {
				drv_fmt(detail, sizeof(detail), "task state: "
					"Redis at %s unreachable, queueing: %s",
					st->where, err);
				set_status(st, ST_DOWN, detail);
				next_try = drv_mono_ms() + backoff;
				backoff = backoff_next(backoff);
			}
		}
		if (st->conn)
			flush(st, 0, &next_try, &backoff);
		if (st->conn && st->index &&
		    drv_mono_ms() - st->last_trim_ms >= DRV_STATE_TRIM_MS)
			trim(st);
		if (st->conn && drv_mono_ms() - st->last_io_ms >= PING_MS)
			ping(st, &next_try, &backoff);
		pthread_mutex_lock(&st->lock);
		if (!st->stop)
			wait_ms(st, st->opts.flush_ms);
	}
	pthread_mutex_unlock(&st->lock);

	/* Closing: write what is queued within close_ms, unless Redis is
	 * known to be down. */
	deadline = drv_mono_ms() + st->opts.close_ms;
	if (!st->conn && atomic_load(&st->status) != ST_DOWN) {
		int64_t t = st->redis.cfg.redis.connect_timeout_ms;
		char err[256];

		connect_main(st, t < st->opts.close_ms ? t : st->opts.close_ms,
			     err, sizeof(err));
	}
	if (st->conn)
		flush(st, deadline, &next_try, &backoff);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

drv_state_t *drv_state_new(const drv_config_t *cfg,
			   const drv_state_opts_t *opts,
			   char *errstr, size_t errstr_size)
{
	pthread_condattr_t ca;
	drv_redis_addr_t addr;
	drv_state_t *st;
	int rc;

	if (drv_redis_parse_url(cfg->redis.url, &addr, errstr, errstr_size))
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto nomem;
	if (opts)
		st->opts = *opts;
	if (!st->opts.queue_max)
		st->opts.queue_max = DRV_STATE_QUEUE_MAX;
	if (st->opts.flush_ms <= 0)
		st->opts.flush_ms = DRV_STATE_FLUSH_MS;
	if (st->opts.close_ms <= 0)
		st->opts.close_ms = DRV_STATE_CLOSE_MS;
	st->cap = st->opts.queue_max;
	st->ring = calloc(st->cap, sizeof(*st->ring));
	if (drv_redis_conf_copy(&st->redis, cfg) || !st->ring) {
		drv_state_destroy(st);
		goto nomem;
	}
	if (strlen(st->redis.prefix) > DRV_STATE_KEY_MAX) {
		drv_state_destroy(st);
		drv_error(errstr, errstr_size, DRV_ERR_INVALID,
			  "redis.key_prefix is longer than %d bytes",
			  DRV_STATE_KEY_MAX);
		return NULL;
	}
	st->mode = cfg->worker.task_state;
	st->state_ttl_ms = cfg->worker.task_state_ttl_ms;
	st->index = cfg->worker.task_index;
	st->idem_ttl_ms = cfg->worker.idempotency_ttl_ms;
	st->dlq_ttl_ms = cfg->kafka.dlq_retention_ms;
	st->analytics = cfg->worker.retry_analytics;
	if (addr.path)
		drv_fmt(st->where, sizeof(st->where), "%s", addr.path);
	else
		drv_fmt(st->where, sizeof(st->where), "%s:%d", addr.host,
			addr.port);
	atomic_init(&st->status, ST_UNKNOWN);

	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->stats_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&st->thread, NULL, run, st))) {
		drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
			  "task state: cannot start thread: %s", strerror(rc));
		pthread_cond_destroy(&st->cond);
		pthread_mutex_destroy(&st->lock);
		pthread_mutex_destroy(&st->stats_lock);
		drv_state_destroy(st);
		return NULL;
	}
	st->started = true;
	return st;
nomem:
	drv_error(errstr, errstr_size, DRV_ERR_NOMEM, "out of memory");
	return NULL;
}

void drv_state_destroy(drv_state_t *st)
{
	if (!st)
		return;
	if (st->started) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
		pthread_cond_destroy(&st->cond);
		pthread_mutex_destroy(&st->lock);
		while (st->cnt)
			drop_oldest(st);
		for (size_t i = 0; i < st->rows_cnt; i++) {
			atomic_fetch_add(&st->stats_lost, st->rows[i]->recs);
			free(st->rows[i]);
		}
		pthread_mutex_destroy(&st->stats_lock);
		redisFree(st->conn);
	}
	free(st->ring);
	drv_redis_conf_free(&st->redis);
	free(st);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

char *drv_state_history_json(const drv_state_rec_t *rec)
{
	drv_jout_t j;

	if (!ends_attempt(rec->state))
		return NULL;
	/* written once per attempt: drv_jout, not a jansson tree; strings
	 * that are not UTF-8 come out as drv_json_str_lossy() makes them */
	drv_jout_begin(&j);
	drv_jout_int(&j, "attempt", rec->attempt);
	drv_jout_str(&j, "state", drv_task_state_name(rec->state));
	if (rec->worker)
		drv_jout_str_lossy(&j, "worker", rec->worker);
	drv_jout_int(&j, "started_ms", rec->started_ms);
	drv_jout_int(&j, "finished_ms", rec->finished_ms);
	if (rec->error)
		drv_jout_str_lossy(&j, "error", rec->error);
	if (rec->failure_class != DRV_FAILURE_UNSPECIFIED)
		drv_jout_str(&j, "class",
			     drv_failure_class_name(rec->failure_class));
	return drv_jout_end(&j);
}

/* obj[name] = ms and obj[tname] = the time in RFC 3339, when ms != 0. */
static bool jtime(json_t *o, const char *name, const char *tname,
		  int64_t ms)
{
	char buf[40];

	if (!ms)
		return true;
	drv_format_time(ms, buf, sizeof(buf));
	return jset(o, name, json_integer(ms)) &&
	       (!tname || jset(o, tname, json_string(buf)));
}

static bool jopt(json_t *o, const char *name, const char *s)
{
	return !s || jset(o, name, drv_json_str_lossy(s));
}

/* obj[name] = the JSON object in \p text (or the text as a string when it
 * is not JSON); NULL text = nothing. */
static bool jobj(json_t *o, const char *name, const char *text)
{
	json_t *v;

	if (!text)
		return true;
	v = json_loads(text, 0, NULL);
	return jset(o, name, v ? v : json_string(text));
}

json_t *drv_state_task_obj(const drv_state_task_t *t, bool with_history)
{
	json_t *o = json_object(), *h = NULL;
	bool ok = o != NULL;

	ok = ok && jopt(o, "id", t->id) &&
	     jset(o, "state", json_string(drv_task_state_name(t->state))) &&
	     jset(o, "attempt", json_integer(t->attempt)) &&
	     jopt(o, "handler", t->handler) && jopt(o, "worker", t->worker) &&
	     jopt(o, "last_error", t->last_error) &&
	     jtime(o, "created_ms", "created", t->created_ms) &&
	     jtime(o, "updated_ms", "updated", t->updated_ms) &&
	     jtime(o, "due_ms", "due",
		   t->state == DRV_TASK_RETRYING ? t->due_ms : 0) &&
	     (!t->priority || jset(o, "priority", json_integer(t->priority))) &&
	     jobj(o, "labels", t->labels) && jobj(o, "origin", t->origin);
	if (!with_history || !ok)
		goto out;
	ok = jset(o, "ttl_ms", json_integer(t->ttl_ms)) &&
	     jset(o, "history", h = json_array());
	for (size_t i = 0; ok && i < t->history_cnt; i++) {
		const drv_state_attempt_t *a = &t->history[i];
		json_t *e = json_object();

		ok = e && json_array_append_new(h, e) == 0 &&
		     jset(e, "attempt", json_integer(a->attempt)) &&
		     jset(e, "state",
			  json_string(drv_task_state_name(a->state))) &&
		     jopt(e, "worker", a->worker) &&
		     jtime(e, "started_ms", NULL, a->started_ms) &&
		     jtime(e, "finished_ms", NULL, a->finished_ms) &&
		     jopt(e, "error", a->error) &&
		     (a->failure_class == DRV_FAILURE_UNSPECIFIED ||
		      jset(e, "class", json_string(
			   drv_failure_class_name(a->failure_class))));
	}
	ok = ok && jset(o, "waits", h = json_array());
	for (size_t i = 0; ok && i < t->waits_cnt; i++) {
		const drv_state_wait_t *w = &t->waits[i];
		json_t *e = json_object();

		ok = e && json_array_append_new(h, e) == 0 &&
		     jopt(e, "kind", w->kind) && jopt(e, "name", w->name) &&
		     jopt(e, "state", w->state) &&
		     jset(e, "attempt", json_integer(w->attempt)) &&
		     jset(e, "at_ms", json_integer(w->at_ms)) &&
		     jset(e, "until_ms", json_integer(w->until_ms)) &&
		     jset(e, "turns", json_integer(w->turns));
	}
out:
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *drv_state_task_json(const drv_state_task_t *t)
{
	json_t *o = drv_state_task_obj(t, true);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* ------------------------------------------------------------------ */
/* Reading a task back                                                 */
/* ------------------------------------------------------------------ */

void drv_state_task_init(drv_state_task_t *t)
{
	memset(t, 0, sizeof(*t));
	t->ttl_ms = -1;
}

void drv_state_task_release(drv_state_task_t *t)
{
	for (size_t i = 0; i < t->history_cnt; i++) {
		free(t->history[i].worker);
		free(t->history[i].error);
	}
	free(t->history);
	for (size_t i = 0; i < t->waits_cnt; i++)
		drv_state_wait_release(&t->waits[i]);
	free(t->waits);
	free(t->id);
	free(t->handler);
	free(t->worker);
	free(t->last_error);
	free(t->origin);
	free(t->labels);
	drv_state_task_init(t);
}

static drv_err_t bad(char *errstr, size_t errstr_size, const char *id,
		     const char *what, const char *value)
{
	return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
			 "task %s: bad %s in Redis: '%.80s'", id, what, value);
}

/* One history entry (JSON text) into \p a. */
static drv_err_t parse_attempt(const char *text, drv_state_attempt_t *a)
{
	json_t *o = json_loads(text, 0, NULL), *v;
	drv_err_t err = DRV_ERR_DECODE;

	memset(a, 0, sizeof(*a));
	if (!json_is_object(o))
		goto out;
	v = json_object_get(o, "attempt");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > UINT32_MAX)
		goto out;
	a->attempt = (uint32_t)json_integer_value(v);
	v = json_object_get(o, "state");
	if (!json_is_string(v) ||
	    drv_task_state_parse(json_string_value(v), &a->state))
		goto out;
	if ((v = json_object_get(o, "class")) &&
	    (!json_is_string(v) ||
	     drv_failure_class_parse(json_string_value(v), &a->failure_class)))
		goto out;
	a->started_ms = json_integer_value(json_object_get(o, "started_ms"));
	a->finished_ms = json_integer_value(json_object_get(o, "finished_ms"));
	err = DRV_ERR_NOMEM;
	if ((v = json_object_get(o, "worker")) && json_is_string(v) &&
	    !(a->worker = strdup(json_string_value(v))))
		goto out;
	if ((v = json_object_get(o, "error")) && json_is_string(v) &&
	    !(a->error = strdup(json_string_value(v))))
		goto out;
	err = DRV_OK;
out:
	json_decref(o);
	if (err) {
		free(a->worker);
		free(a->error);
		memset(a, 0, sizeof(*a));
	}
	return err;
}

drv_err_t drv_state_task_from_hash(const redisReply *r, const char *id,
				   drv_state_task_t *t, char *errstr,
				   size_t errstr_size)
{
	bool have_state = false;

	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		const char *name = f->str, *val = v->str;
		char **dst = NULL;
		int64_t num;

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			return bad(errstr, errstr_size, id, "hash", "");
		if (!strcmp(name, "state")) {
			if (drv_task_state_parse(val, &t->state))
				return bad(errstr, errstr_size, id, name, val);
			have_state = true;
		} else if (!strcmp(name, "attempt")) {
			if (drv_parse_int(val, 0, UINT32_MAX, &num))
				return bad(errstr, errstr_size, id, name, val);
			t->attempt = (uint32_t)num;
		} else if (!strcmp(name, "updated_ms") ||
			   !strcmp(name, "created_ms") ||
			   !strcmp(name, "due_ms")) {
			if (drv_parse_int(val, 0, INT64_MAX, &num))
				return bad(errstr, errstr_size, id, name, val);
			*(name[0] == 'u' ? &t->updated_ms : name[0] == 'c' ?
			  &t->created_ms : &t->due_ms) = num;
		} else if (!strcmp(name, "priority")) {
			if (drv_parse_int(val, 0, UINT32_MAX, &num))
				return bad(errstr, errstr_size, id, name, val);
			t->priority = (uint32_t)num;
		} else if (!strcmp(name, "labels")) {
			dst = &t->labels;
		} else if (!strcmp(name, "handler")) {
			dst = &t->handler;
		} else if (!strcmp(name, "worker")) {
			dst = &t->worker;
		} else if (!strcmp(name, "last_error")) {
			dst = &t->last_error;
		} else if (!strcmp(name, "origin")) {
			dst = &t->origin;
		} /* other fields: from a newer drover; ignored */
		if (dst) {
			free(*dst);
			if (!(*dst = strdup(val)))
				return drv_error(errstr, errstr_size,
						 DRV_ERR_NOMEM, "no memory");
		}
	}
	if (!have_state)
		return bad(errstr, errstr_size, id, "hash (no state)", "");
	return DRV_OK;
}

void drv_state_wait_release(drv_state_wait_t *w)
{
	free(w->kind);
	free(w->name);
	free(w->state);
	memset(w, 0, sizeof(*w));
}

/* The string member \p name of \p o into *dst (strdup); absent = NULL.
 * DRV_ERR_DECODE when it is there but not a string. */
static drv_err_t jstr_dup(json_t *o, const char *name, char **dst)
{
	json_t *v = json_object_get(o, name);

	if (!v)
		return DRV_OK;
	if (!json_is_string(v))
		return DRV_ERR_DECODE;
	return (*dst = strdup(json_string_value(v))) ? DRV_OK : DRV_ERR_NOMEM;
}

/* The integer member \p name of \p o, in [0, max]; -1 when absent or
 * not such an integer. */
static int64_t jnum(json_t *o, const char *name, int64_t max)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return -1;
	return json_integer_value(v);
}

drv_err_t drv_state_wait_parse(const char *line, drv_state_wait_t *w)
{
	json_t *o = json_loads(line, 0, NULL);
	drv_err_t err = DRV_ERR_DECODE;
	int64_t att, at, until, turns;

	memset(w, 0, sizeof(*w));
	if (!json_is_object(o))
		goto out;
	att = jnum(o, "attempt", UINT32_MAX);
	at = jnum(o, "at_ms", INT64_MAX);
	until = jnum(o, "until_ms", INT64_MAX);
	turns = jnum(o, "turns", UINT32_MAX);
	if (att < 0 || at < 0 || until < 0 || turns < 1)
		goto out;
	w->attempt = (uint32_t)att;
	w->at_ms = at;
	w->until_ms = until;
	w->turns = (uint32_t)turns;
	if ((err = jstr_dup(o, "kind", &w->kind)) ||
	    (err = jstr_dup(o, "name", &w->name)) ||
	    (err = jstr_dup(o, "state", &w->state)))
		goto out;
	err = w->kind && w->name ? DRV_OK : DRV_ERR_DECODE;
out:
	json_decref(o);
	if (err)
		drv_state_wait_release(w);
	return err;
}

/* The lines of the hash's "waits" field (\p field; NULL = none) into
 * t->waits. */
static drv_err_t waits_read(const char *field, const char *task_id,
			    drv_state_task_t *t, char *errstr,
			    size_t errstr_size)
{
	size_t n = 1;
	const char *p, *end;
	char line[4096];

	if (!field || !*field)
		return DRV_OK;
	for (p = field; *p; p++)
		n += *p == '\n';
	if (!(t->waits = calloc(n, sizeof(*t->waits))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (p = field; *p; p = *end ? end + 1 : end) {
		drv_err_t err;
		size_t len;

		end = strchr(p, '\n');
		end = end ? end : p + strlen(p);
		len = (size_t)(end - p);
		if (!len)
			continue;
		if (len >= sizeof(line))
			return bad(errstr, errstr_size, task_id, "wait", p);
		memcpy(line, p, len);
		line[len] = '\0';
		err = drv_state_wait_parse(line, &t->waits[t->waits_cnt]);
		if (err == DRV_ERR_NOMEM)
			return drv_error(errstr, errstr_size, err,
					 "out of memory");
		if (err)
			return bad(errstr, errstr_size, task_id, "wait", line);
		t->waits_cnt++;
	}
	return DRV_OK;
}

/* The value of \p name in an HGETALL reply; NULL when absent. */
static const char *hash_field(const redisReply *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING &&
		    !strcmp(r->element[i]->str, name))
			return r->element[i + 1]->str;
	return NULL;
}

/* One history entry into t->history[t->history_cnt++] (room made by the
 * caller). */
static drv_err_t history_add(drv_state_task_t *t, const char *text,
			     const char *task_id, char *errstr,
			     size_t errstr_size)
{
	drv_err_t err = parse_attempt(text, &t->history[t->history_cnt]);

	if (err == DRV_ERR_NOMEM)
		return drv_error(errstr, errstr_size, err, "out of memory");
	if (err)
		return bad(errstr, errstr_size, task_id, "history entry", text);
	t->history_cnt++;
	return DRV_OK;
}

/* The attempts of a task: the entries of its `:history` list (where
 * earlier drover versions wrote them; kept until their TTL), then the
 * lines of its hash's "history" field. */
static drv_err_t history_read(const redisReply *list, const char *field,
			      const char *task_id, drv_state_task_t *t,
			      char *errstr, size_t errstr_size)
{
	size_t n = list->elements;
	drv_err_t err = DRV_OK;
	char *lines = NULL, *line, *save = NULL;

	for (const char *p = field; p && *p; p++)
		n += *p == '\n';
	n += field && *field;
	if (!n)
		return DRV_OK;
	if (!(t->history = calloc(n, sizeof(*t->history))) ||
	    (field && !(lines = strdup(field))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; !err && i < list->elements; i++)
		err = list->element[i]->type != REDIS_REPLY_STRING ?
		      bad(errstr, errstr_size, task_id, "history", "") :
		      history_add(t, list->element[i]->str, task_id, errstr,
				  errstr_size);
	for (line = lines ? strtok_r(lines, "\n", &save) : NULL;
	     !err && line; line = strtok_r(NULL, "\n", &save))
		err = history_add(t, line, task_id, errstr, errstr_size);
	free(lines);
	return err;
}

drv_err_t drv_state_get(redisContext *c, const char *key_prefix,
			const char *task_id, drv_state_task_t *out,
			char *errstr, size_t errstr_size)
{
	char key[KEY_BUF], hkey[KEY_BUF];
	const char *argv[4];
	size_t argl[4];
	redisReply *rs[3] = { NULL, NULL, NULL };
	drv_err_t err = DRV_OK;
	drv_state_task_t t;

	drv_state_task_release(out);
	if (!task_id || !*task_id || strlen(task_id) > DRV_STATE_KEY_MAX ||
	    strlen(key_prefix) > DRV_STATE_KEY_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "no task id, or one too long");
	drv_fmt(key, sizeof(key), "%stask:%s", key_prefix, task_id);
	drv_fmt(hkey, sizeof(hkey), "%s:history", key);
	argv[0] = "HGETALL";
	argv[1] = key;
	argl[0] = 7;
	argl[1] = strlen(key);
	redisAppendCommandArgv(c, 2, argv, argl);
	argv[0] = "LRANGE";
	argv[1] = hkey;
	argv[2] = "0";
	argv[3] = "-1";
	argl[0] = 6;
	argl[1] = strlen(hkey);
	argl[2] = 1;
	argl[3] = 2;
	redisAppendCommandArgv(c, 4, argv, argl);
	argv[0] = "PTTL";
	argv[1] = key;
	argl[0] = 4;
	argl[1] = strlen(key);
	redisAppendCommandArgv(c, 2, argv, argl);
	for (int i = 0; i < 3; i++) {
		if (redisGetReply(c, (void **)&rs[i]) != REDIS_OK) {
			err = drv_error(errstr, errstr_size, drv_redis_err(c),
					"redis: %s", c->errstr);
			goto out;
		}
		if (rs[i]->type == REDIS_REPLY_ERROR && !err)
			err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
					"redis: %s", rs[i]->str);
	}
	if (err)
		goto out;
	if (rs[0]->type != REDIS_REPLY_ARRAY || rs[1]->type !=
	    REDIS_REPLY_ARRAY || rs[2]->type != REDIS_REPLY_INTEGER) {
		err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
				"redis: unexpected reply");
		goto out;
	}
	if (!rs[0]->elements) {
		err = drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				"task %s: no state in Redis (never recorded, "
				"or expired)", task_id);
		goto out;
	}
	drv_state_task_init(&t);
	if (!(t.id = strdup(task_id))) {
		err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				"out of memory");
		drv_state_task_release(&t);
		goto out;
	}
	err = drv_state_task_from_hash(rs[0], task_id, &t, errstr,
				       errstr_size);
	if (!err)
		err = history_read(rs[1], hash_field(rs[0], "history"),
				   task_id, &t, errstr, errstr_size);
	if (!err)
		err = waits_read(hash_field(rs[0], "waits"), task_id, &t,
				 errstr, errstr_size);
	t.ttl_ms = rs[2]->integer >= 0 ? rs[2]->integer : -1;
	if (err)
		drv_state_task_release(&t);
	else
		*out = t;
out:
	for (int i = 0; i < 3; i++)
		freeReplyObject(rs[i]);
	return err;
}

/* Add \p key unless \p value is NULL (bytes that are not UTF-8: '?'). */
static void jout_opt(drv_jout_t *j, const char *key, const char *value)
{
	if (value)
		drv_jout_str_lossy(j, key, value);
}

char *drv_state_origin_json(const drv_task_t *t)
{
	const drv_origin_t *g = &t->origin;
	drv_jout_t j;

	if (!g->schedule_id && !g->event_id && !g->parent_task_id &&
	    !g->dead_letter_id && !g->submitted_by)
		return NULL;
	drv_jout_begin(&j);
	jout_opt(&j, "schedule_id", g->schedule_id);
	if (g->scheduled_ms)
		drv_jout_int(&j, "scheduled_ms", g->scheduled_ms);
	jout_opt(&j, "event_id", g->event_id);
	jout_opt(&j, "parent_task_id", g->parent_task_id);
	jout_opt(&j, "dead_letter_id", g->dead_letter_id);
	jout_opt(&j, "submitted_by", g->submitted_by);
	return drv_jout_end(&j);
}

char *drv_state_labels_json(const drv_task_t *t)
{
	drv_jout_t j;

	if (!t->label_cnt)
		return NULL;
	drv_jout_begin(&j);
	for (size_t i = 0; i < t->label_cnt; i++)
		drv_jout_str_lossy(&j, t->labels[i].key, t->labels[i].value);
	return drv_jout_end(&j);
}
