/*
 * claim.c — idempotency claims in Redis (see include/drover/claim.h).
 *
 * Takes and releases go over a pool of connections, one per caller at a
 * time (so as many round trips are in flight as runners ask), made as
 * needed and kept; after a failure nobody connects before a shared
 * backoff. The renewal thread, on a connection of its own, renews every
 * claim held, in one pipeline, every lease/3. Each change is a Lua script
 * that checks the value first, so a claim that lapsed and was taken by
 * another copy is never renewed or deleted by its old holder.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "drover/claim.h"
#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define TOKEN_PREFIX   "run:"

/* For each key: free, claim it (with its token ARGV[i]; the lease is the
 * last argument); claimed, how long the lease has left; done, by whom. */
static const char take_lua[] =
	"local out, lease = {}, ARGV[#KEYS + 1]\n"
	"for i, k in ipairs(KEYS) do\n"
	"  local v = redis.call('GET', k)\n"
	"  if not v then\n"
	"    redis.call('SET', k, ARGV[i], 'PX', lease)\n"
	"    out[i] = {0}\n"
	"  elseif string.sub(v, 1, 4) == '" TOKEN_PREFIX "' then\n"
	"    out[i] = {1, redis.call('PTTL', k)}\n"
	"  else\n"
	"    out[i] = {2, v}\n"
	"  end\n"
	"end\n"
	"return out\n";

static const char release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  return redis.call('DEL', KEYS[1])\n"
	"end\n"
	"return 0\n";

static const char renew_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"end\n"
	"return 0\n";

/* A claim this object holds. */
typedef struct held {
	char *rkey;                                   /* P idem:<key> */
	char  token[sizeof(TOKEN_PREFIX) + DRV_ID_LEN];
} held_t;

/* A connection of the pool: one per runner taking or giving back a claim
 * at the same moment, so runners do not wait on each other's round
 * trips. */
typedef struct conn {
	redisContext *rc;
	bool          busy;
} conn_t;

struct drv_claims {
	drv_redis_conf_t redis;
	int64_t      lease_ms;
	char         lease[24];

	pthread_mutex_t lock;       /* everything below */
	pthread_cond_t  cond;
	conn_t        **pool;
	size_t          pool_cnt, pool_cap;
	int64_t         retry_ms;   /* no connect before (mono): Redis down */
	int64_t         backoff_ms;
	held_t         *held;
	size_t          cnt, cap;
	bool            stop;
	pthread_t       thread;
	bool            started;
	redisContext   *renew_rc;   /* the renewal thread's own */
};

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

/* A connection failed: drop it; nobody connects before the backoff. */
static void broken(drv_claims_t *c, redisContext **rc)
{
	redisFree(*rc);
	*rc = NULL;
	pthread_mutex_lock(&c->lock);
	c->retry_ms = drv_mono_ms() + c->backoff_ms;
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	pthread_mutex_unlock(&c->lock);
}

/* Connect *rc if it is not, unless Redis is in its backoff. */
static drv_err_t connected(drv_claims_t *c, redisContext **rc)
{
	drv_err_t err;
	bool wait;

	if (*rc)
		return DRV_OK;
	pthread_mutex_lock(&c->lock);
	wait = drv_mono_ms() < c->retry_ms;
	pthread_mutex_unlock(&c->lock);
	if (wait)
		return DRV_ERR_REDIS;
	if ((err = drv_redis_connect(&c->redis.cfg, rc, NULL, 0))) {
		*rc = NULL;
		broken(c, rc);
	}
	return err;
}

/* A free connection of the pool, marked busy (a new slot when all are);
 * NULL when out of memory. */
static conn_t *conn_get(drv_claims_t *c)
{
	conn_t *k = NULL;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->pool_cnt && !k; i++)
		if (!c->pool[i]->busy)
			k = c->pool[i];
	if (!k && c->pool_cnt == c->pool_cap) {
		size_t cap = c->pool_cap ? c->pool_cap * 2 : 8;
		conn_t **m = realloc(c->pool, cap * sizeof(*m));

		if (m) {
			c->pool = m;
			c->pool_cap = cap;
		}
	}
	if (!k && c->pool_cnt < c->pool_cap &&
	    (k = calloc(1, sizeof(*k))))
		c->pool[c->pool_cnt++] = k;
	if (k)
		k->busy = true;
	pthread_mutex_unlock(&c->lock);
	return k;
}

static void conn_put(drv_claims_t *c, conn_t *k)
{
	pthread_mutex_lock(&c->lock);
	k->busy = false;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Run one command over a connection of the pool. A kept connection that
 * fails at once (Redis restarted since) is replaced and the command tried
 * once more; a timeout is not tried again. NULL: *err says why.
 */
static redisReply *command(drv_claims_t *c, int argc, const char **argv,
			   const size_t *argl, drv_err_t *err)
{
	redisReply *r = NULL;
	conn_t *k;

	if (!(k = conn_get(c))) {
		*err = DRV_ERR_NOMEM;
		return NULL;
	}
	for (int tries = 0;; tries++) {
		bool fresh = !k->rc;

		if ((*err = connected(c, &k->rc)))
			break;
		if ((r = redisCommandArgv(k->rc, argc, argv, argl))) {
			pthread_mutex_lock(&c->lock);
			c->backoff_ms = BACKOFF_MIN_MS;
			pthread_mutex_unlock(&c->lock);
			break;
		}
		*err = drv_redis_err(k->rc);
		if (!fresh && !tries && *err != DRV_ERR_TIMEOUT) {
			redisFree(k->rc);
			k->rc = NULL;
			continue;
		}
		broken(c, &k->rc);
		break;
	}
	conn_put(c, k);
	return r;
}

/* Run one script on \p rkey with \p token and the lease. */
static redisReply *eval(drv_claims_t *c, const char *script,
			const char *rkey, const char *token, drv_err_t *err)
{
	const char *argv[6] = { "EVAL", script, "1", rkey, token, c->lease };
	size_t argl[6];

	for (int i = 0; i < 6; i++)
		argl[i] = strlen(argv[i]);
	return command(c, 6, argv, argl, err);
}

/* Index of the held claim on \p rkey, or -1 (c->lock held). */
static ssize_t find(const drv_claims_t *c, const char *rkey)
{
	for (size_t i = 0; i < c->cnt; i++)
		if (!strcmp(c->held[i].rkey, rkey))
			return (ssize_t)i;
	return -1;
}

static void drop(drv_claims_t *c, size_t i)
{
	free(c->held[i].rkey);
	c->held[i] = c->held[--c->cnt];
}

/* ------------------------------------------------------------------ */
/* Renewal                                                             */
/* ------------------------------------------------------------------ */

/* Renew every held claim in one pipeline on the thread's own connection,
 * from a copy of the list taken under the lock. A claim that is no
 * longer ours (it lapsed and another copy took it) is dropped. */
static void renew_all(drv_claims_t *c)
{
	held_t *snap;
	bool *lost;
	size_t n, got = 0;

	pthread_mutex_lock(&c->lock);
	n = c->cnt;
	snap = n ? calloc(n, sizeof(*snap)) : NULL;
	lost = n ? calloc(n, sizeof(*lost)) : NULL;
	for (size_t i = 0; snap && i < n; i++) {
		snap[i] = c->held[i];
		snap[i].rkey = drv_strdup(c->held[i].rkey);
	}
	pthread_mutex_unlock(&c->lock);
	if (!snap || !lost || connected(c, &c->renew_rc))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (snap[i].rkey)
			redisAppendCommand(c->renew_rc, "EVAL %s 1 %s %s %s",
					   renew_lua, snap[i].rkey,
					   snap[i].token, c->lease);
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (!snap[i].rkey)
			continue;
		if (redisGetReply(c->renew_rc, (void **)&r) != REDIS_OK) {
			broken(c, &c->renew_rc);
			break;
		}
		lost[i] = r->type == REDIS_REPLY_INTEGER && r->integer == 0;
		freeReplyObject(r);
		got++;
	}
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; got && i < n; i++) {
		ssize_t k;

		if (lost[i] && (k = find(c, snap[i].rkey)) >= 0 &&
		    !strcmp(c->held[k].token, snap[i].token))
			drop(c, (size_t)k);
	}
	pthread_mutex_unlock(&c->lock);
out:
	for (size_t i = 0; snap && i < n; i++)
		free(snap[i].rkey);
	free(snap);
	free(lost);
}

static void *run(void *arg)
{
	drv_claims_t *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct timespec ts = drv_deadline(CLOCK_MONOTONIC,
						  c->lease_ms / 3);

		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->lock);
		renew_all(c);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

drv_claims_t *drv_claims_new(const drv_config_t *cfg, int64_t lease_ms,
			     char *errstr, size_t errstr_size)
{
	pthread_condattr_t ca;
	drv_redis_addr_t addr;
	drv_claims_t *c;
	int rc;

	if (drv_redis_parse_url(cfg->redis.url, &addr, errstr, errstr_size))
		return NULL;
	if (!(c = calloc(1, sizeof(*c))))
		goto nomem;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (drv_redis_conf_copy(&c->redis, cfg)) {
		drv_claims_destroy(c);
		goto nomem;
	}
	c->lease_ms = lease_ms > 0 ? lease_ms : DRV_CLAIM_LEASE_MS;
	drv_fmt(c->lease, sizeof(c->lease), "%lld", (long long)c->lease_ms);
	c->backoff_ms = BACKOFF_MIN_MS;
	if ((rc = pthread_create(&c->thread, NULL, run, c))) {
		drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
			  "idempotency claims: cannot start thread: %s",
			  strerror(rc));
		drv_claims_destroy(c);
		return NULL;
	}
	c->started = true;
	return c;
nomem:
	drv_error(errstr, errstr_size, DRV_ERR_NOMEM, "out of memory");
	return NULL;
}

void drv_claims_destroy(drv_claims_t *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	while (c->cnt)
		drop(c, c->cnt - 1);
	free(c->held);
	for (size_t i = 0; i < c->pool_cnt; i++) {
		redisFree(c->pool[i]->rc);
		free(c->pool[i]);
	}
	free(c->pool);
	redisFree(c->renew_rc);
	drv_redis_conf_free(&c->redis);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Take, release, forget                                               */
/* ------------------------------------------------------------------ */

/* Read the take script's reply into \p out. */
static drv_err_t take_reply(const redisReply *r, drv_claim_t *out)
{
	const redisReply *v;

	memset(out, 0, sizeof(*out));
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return DRV_ERR_REDIS;
	out->verdict = (drv_claim_verdict_t)r->element[0]->integer;
	v = r->elements > 1 ? r->element[1] : NULL;
	switch (out->verdict) {
	case DRV_CLAIM_TAKEN:
		return DRV_OK;
	case DRV_CLAIM_HELD:
		if (!v || v->type != REDIS_REPLY_INTEGER)
			return DRV_ERR_REDIS;
		out->held_ms = v->integer > 0 ? v->integer : 0;
		return DRV_OK;
	case DRV_CLAIM_DONE:
		if (!v || v->type != REDIS_REPLY_STRING)
			return DRV_ERR_REDIS;
		if (v->len <= DRV_ID_LEN)
			memcpy(out->done_by, v->str, v->len);
		return DRV_OK;
	}
	return DRV_ERR_REDIS;
}

/* Note a claim taken: the renewal keeps it alive until it is let go. */
static drv_err_t hold(drv_claims_t *c, const char *rkey, const char *token)
{
	drv_err_t err = DRV_ERR_NOMEM;
	held_t *h;

	pthread_mutex_lock(&c->lock);
	if (c->cnt == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		held_t *m = realloc(c->held, cap * sizeof(*m));

		if (!m)
			goto out;
		c->held = m;
		c->cap = cap;
	}
	h = &c->held[c->cnt];
	if (!(h->rkey = drv_strdup(rkey)))
		goto out;
	memcpy(h->token, token, sizeof(h->token));
	c->cnt++;
	err = DRV_OK;
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

#define RKEY_SIZE  (DRV_STATE_KEY_MAX * 2 + 8)
#define TOKEN_SIZE (sizeof(TOKEN_PREFIX) + DRV_ID_LEN)

drv_err_t drv_claims_take_many(drv_claims_t *c, const char *const *keys,
			       size_t n, drv_claim_t *out)
{
	size_t argc = 3 + 2 * n + 1;  /* EVAL script numkeys keys tokens lease */
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *argl = calloc(argc, sizeof(*argl));
	char *buf = malloc(n * (RKEY_SIZE + TOKEN_SIZE) + 1), cnt[24];
	drv_err_t err = DRV_OK;
	redisReply *r = NULL;
	int64_t now = drv_now_ms();

	if (!argv || !argl || !buf) {
		err = DRV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!keys[i] || !*keys[i] ||
		    strlen(keys[i]) > DRV_STATE_KEY_MAX) {
			err = DRV_ERR_INVALID;
			goto out;
		}
	if (!n)
		goto out;
	drv_fmt(cnt, sizeof(cnt), "%zu", n);
	argv[0] = "EVAL";
	argv[1] = take_lua;
	argv[2] = cnt;
	for (size_t i = 0; i < n; i++) {
		char *rkey = buf + i * (RKEY_SIZE + TOKEN_SIZE);
		char *token = rkey + RKEY_SIZE;

		drv_fmt(rkey, RKEY_SIZE, "%sidem:%s", c->redis.prefix,
			keys[i]);
		memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
		drv_id_new(token + sizeof(TOKEN_PREFIX) - 1, now);
		argv[3 + i] = rkey;
		argv[3 + n + i] = token;
	}
	argv[argc - 1] = c->lease;
	for (size_t i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	if (!(r = command(c, (int)argc, argv, argl, &err)))
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
		err = DRV_ERR_REDIS;
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++)
		err = take_reply(r->element[i], &out[i]);
	/* ours: renewed from now on (on NOMEM they lapse after the lease) */
	for (size_t i = 0; i < n && !err; i++)
		if (out[i].verdict == DRV_CLAIM_TAKEN)
			err = hold(c, argv[3 + i], argv[3 + n + i]);
out:
	freeReplyObject(r);
	free(argv);
	free(argl);
	free(buf);
	return err;
}

drv_err_t drv_claims_take(drv_claims_t *c, const char *key,
			  drv_claim_t *out)
{
	return drv_claims_take_many(c, &key, 1, out);
}

/* Stop holding the claim of \p key; give it back in Redis when \p del. */
static void let_go(drv_claims_t *c, const char *key, bool del)
{
	char rkey[RKEY_SIZE], token[TOKEN_SIZE] = "";
	drv_err_t err;
	redisReply *r;
	ssize_t i;

	if (!key || strlen(key) > DRV_STATE_KEY_MAX)
		return;
	drv_fmt(rkey, sizeof(rkey), "%sidem:%s", c->redis.prefix, key);
	pthread_mutex_lock(&c->lock);
	if ((i = find(c, rkey)) >= 0) {
		memcpy(token, c->held[i].token, sizeof(token));
		drop(c, (size_t)i);
	}
	pthread_mutex_unlock(&c->lock);
	if (del && *token && (r = eval(c, release_lua, rkey, token, &err)))
		freeReplyObject(r);
}

void drv_claims_release(drv_claims_t *c, const char *key)
{
	let_go(c, key, true);
}

void drv_claims_forget(drv_claims_t *c, const char *key)
{
	let_go(c, key, false);
}

size_t drv_claims_held(drv_claims_t *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->cnt;
	pthread_mutex_unlock(&c->lock);
	return n;
}
