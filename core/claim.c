/*
 * claim.c — idempotency claims in Redis (see include/drover/claim.h).
 *
 * One connection behind a mutex serves the runners' takes and releases and
 * the renewal thread, which every lease/3 renews, in one pipeline, every
 * claim this object holds. Each change is a Lua script that checks the
 * value first, so a claim that lapsed and was taken by another copy is
 * never renewed or deleted by its old holder.
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

/* Free: claim it. Claimed: how long the lease has left. Done: by whom. */
static const char take_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then\n"
	"  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"  return {0}\n"
	"end\n"
	"if string.sub(v, 1, 4) == '" TOKEN_PREFIX "' then\n"
	"  return {1, redis.call('PTTL', KEYS[1])}\n"
	"end\n"
	"return {2, v}\n";

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
	bool  lost;                                   /* renewal found it
							 taken by another */
} held_t;

struct drv_claims {
	drv_config_t rcfg;          /* redis.* point at the copies below */
	char        *url, *password, *prefix;
	int64_t      lease_ms;
	char         lease[24];

	pthread_mutex_t lock;       /* everything below */
	pthread_cond_t  cond;
	redisContext   *conn;
	int64_t         retry_ms;   /* no connect before (mono) */
	int64_t         backoff_ms;
	held_t         *held;
	size_t          cnt, cap;
	bool            stop;
	pthread_t       thread;
	bool            started;
};

/* ------------------------------------------------------------------ */
/* The connection (c->lock held)                                       */
/* ------------------------------------------------------------------ */

static void broken(drv_claims_t *c)
{
	redisFree(c->conn);
	c->conn = NULL;
	c->retry_ms = drv_mono_ms() + c->backoff_ms;
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
}

/*
 * Run one script on \p key with \p token (and the lease). Connects when
 * there is no connection and the backoff allows it. A kept connection
 * that fails at once (Redis restarted since) is replaced and the command
 * tried once more; a timeout is not tried again. NULL: *err says why.
 */
static redisReply *eval(drv_claims_t *c, const char *script,
			const char *rkey, const char *token, drv_err_t *err)
{
	const char *argv[6] = { "EVAL", script, "1", rkey, token, c->lease };
	size_t argl[6];

	for (int i = 0; i < 6; i++)
		argl[i] = strlen(argv[i]);
	for (int tries = 0;; tries++) {
		bool fresh = false;
		redisReply *r;

		if (!c->conn) {
			if (drv_mono_ms() < c->retry_ms) {
				*err = DRV_ERR_REDIS;
				return NULL;
			}
			if ((*err = drv_redis_connect(&c->rcfg, &c->conn, NULL,
						      0))) {
				c->conn = NULL;
				broken(c);
				return NULL;
			}
			fresh = true;
		}
		if ((r = redisCommandArgv(c->conn, 6, argv, argl))) {
			c->backoff_ms = BACKOFF_MIN_MS;
			return r;
		}
		*err = drv_redis_err(c->conn);
		if (!fresh && !tries && *err != DRV_ERR_TIMEOUT) {
			redisFree(c->conn);
			c->conn = NULL;
			continue;
		}
		broken(c);
		return NULL;
	}
}

/* Index of the held claim on \p rkey, or -1. */
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

/* Renew every held claim in one pipeline (c->lock held). A claim that is
 * no longer ours (it lapsed and another copy took it) is dropped. */
static void renew_all(drv_claims_t *c)
{
	size_t n = c->cnt;

	if (!n || (!c->conn && drv_mono_ms() < c->retry_ms))
		return;
	if (!c->conn) {
		if (drv_redis_connect(&c->rcfg, &c->conn, NULL, 0)) {
			c->conn = NULL;
			broken(c);
			return;
		}
	}
	for (size_t i = 0; i < n; i++)
		redisAppendCommand(c->conn, "EVAL %s 1 %s %s %s", renew_lua,
				   c->held[i].rkey, c->held[i].token, c->lease);
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c->conn, (void **)&r) != REDIS_OK) {
			broken(c);
			return;
		}
		c->held[i].lost = r->type == REDIS_REPLY_INTEGER &&
				  r->integer == 0;
		freeReplyObject(r);
	}
	for (size_t i = n; i-- > 0;)
		if (c->held[i].lost)
			drop(c, i);
}

static void *run(void *arg)
{
	drv_claims_t *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct timespec ts = drv_deadline(CLOCK_MONOTONIC,
						  c->lease_ms / 3);

		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		if (!c->stop)
			renew_all(c);
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
	c->url = drv_strdup(cfg->redis.url);
	c->password = drv_strdup(cfg->redis.password ? cfg->redis.password
						     : "");
	c->prefix = drv_strdup(cfg->redis.key_prefix ? cfg->redis.key_prefix
						     : "");
	if (!c->url || !c->password || !c->prefix) {
		drv_claims_destroy(c);
		goto nomem;
	}
	c->rcfg.redis.url = c->url;
	c->rcfg.redis.password = c->password;
	c->rcfg.redis.key_prefix = c->prefix;
	c->rcfg.redis.connect_timeout_ms = cfg->redis.connect_timeout_ms;
	c->lease_ms = lease_ms > 0 ? lease_ms : DRV_CLAIM_LEASE_MS;
	drv_fmt(c->lease, sizeof(c->lease), "%lld", (long long)c->lease_ms);
	c->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
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
	if (c->url && c->password && c->prefix) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
	}
	while (c->cnt)
		drop(c, c->cnt - 1);
	free(c->held);
	redisFree(c->conn);
	free(c->url);
	free(c->password);
	free(c->prefix);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Take, release, forget                                               */
/* ------------------------------------------------------------------ */

/* Lock, waiting no longer than one command may take. */
static bool lock_within(drv_claims_t *c)
{
	struct timespec until = drv_deadline(CLOCK_REALTIME,
					     c->rcfg.redis.connect_timeout_ms);

	return pthread_mutex_timedlock(&c->lock, &until) == 0;
}

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

drv_err_t drv_claims_take(drv_claims_t *c, const char *key,
			  drv_claim_t *out)
{
	char rkey[DRV_STATE_KEY_MAX * 2 + 8], token[sizeof(TOKEN_PREFIX) +
						      DRV_ID_LEN];
	drv_err_t err = DRV_OK;
	redisReply *r;

	if (!key || !*key || strlen(key) > DRV_STATE_KEY_MAX)
		return DRV_ERR_INVALID;
	drv_fmt(rkey, sizeof(rkey), "%sidem:%s", c->prefix, key);
	memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	drv_id_new(token + sizeof(TOKEN_PREFIX) - 1, drv_now_ms());
	if (!lock_within(c))
		return DRV_ERR_TIMEOUT;
	if (!(r = eval(c, take_lua, rkey, token, &err))) {
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	err = r->type == REDIS_REPLY_ERROR ? DRV_ERR_REDIS
					   : take_reply(r, out);
	freeReplyObject(r);
	if (!err && out->verdict == DRV_CLAIM_TAKEN) {
		held_t *h;

		if (c->cnt == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16;
			held_t *m = realloc(c->held, cap * sizeof(*m));

			if (!m) {
				err = DRV_ERR_NOMEM;
				goto out;
			}
			c->held = m;
			c->cap = cap;
		}
		h = &c->held[c->cnt];
		if (!(h->rkey = drv_strdup(rkey))) {
			err = DRV_ERR_NOMEM;
			goto out;
		}
		memcpy(h->token, token, sizeof(h->token));
		h->lost = false;
		c->cnt++;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Stop holding the claim of \p key; give it back in Redis when \p del. */
static void let_go(drv_claims_t *c, const char *key, bool del)
{
	char rkey[DRV_STATE_KEY_MAX * 2 + 8];
	drv_err_t err;
	redisReply *r;
	ssize_t i;

	if (!key || strlen(key) > DRV_STATE_KEY_MAX)
		return;
	drv_fmt(rkey, sizeof(rkey), "%sidem:%s", c->prefix, key);
	pthread_mutex_lock(&c->lock);
	if ((i = find(c, rkey)) >= 0) {
		if (del && (r = eval(c, release_lua, rkey, c->held[i].token,
				     &err)))
			freeReplyObject(r);
		drop(c, (size_t)i);
	}
	pthread_mutex_unlock(&c->lock);
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
