/*
 * breaker_redis.c — circuit breakers shared through Redis.
 *
 * Keys (prefix redis.key_prefix, "drover:" by default):
 *   drover:breaker:NAME     hash: state, open_until, gen, changed, leased,
 *                           probe_ok, probe_failed, half_open
 *   drover:breaker:NAME:w   hash of the window: "<second>:c|f|s" -> count
 *                           (calls, failures, slow), pruned as it slides
 *   drover:breakers         set of every breaker name
 *   drover:breaker-log:NAME list of its last DRV_BREAKER_LOG_MAX
 *                           transitions, newest first, each
 *                           "AT_MS|FROM|TO|GEN|WHY" (states as numbers),
 *                           expiring DRV_BREAKER_LOG_KEEP_DAYS after the
 *                           last (read by breaker_log.c)
 *   drover:breaker-feed     list of the last DRV_BREAKER_FEED_MAX
 *                           transitions of every breaker, newest first,
 *                           each "SEQ|NAME|" and its log entry, SEQ one
 *                           more than the head's (read by breaker_log.c)
 * Channel drover:breaker carries "NAME STATE OPEN_UNTIL GEN CHANGED" for
 * every transition.
 *
 * Every change goes through one of three Lua scripts (record, acquire,
 * set), each atomic and clocked by Redis TIME. They apply the rules of
 * breaker.c; keep the two in step. Scripts run with EVALSHA and fall back
 * to EVAL when Redis answers NOSCRIPT (a restarted Redis).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drover/breaker.h"
#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

#define LUA_STR_(x) #x
#define LUA_STR(x) LUA_STR_(x)

/* KEYS: state hash, window hash, names set, transition log, feed; ARGV[1]
 * channel, ARGV[2] name. Loads the state into locals; transition()
 * publishes and logs (why: a short reason); save() writes. */
#define LUA_PRELUDE \
"pcall(redis.replicate_commands)\n" \
"local st, wk, names, lg, feed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], " \
	"KEYS[5]\n" \
"local chan, name = ARGV[1], ARGV[2]\n" \
"local t = redis.call('TIME')\n" \
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
"local h = redis.call('HMGET', st, 'state', 'open_until', 'gen', " \
	"'changed', 'leased', 'probe_ok', 'probe_failed', 'half_open')\n" \
"local state = tonumber(h[1]) or 0\n" \
"local open_until = tonumber(h[2]) or 0\n" \
"local gen = tonumber(h[3]) or 0\n" \
"local changed = tonumber(h[4]) or 0\n" \
"local leased = tonumber(h[5]) or 0\n" \
"local ok = tonumber(h[6]) or 0\n" \
"local failed = tonumber(h[7]) or 0\n" \
"local half_open = tonumber(h[8]) or 0\n" \
"local moved = 0\n" \
"local function transition(s, why)\n" \
"  local from = state\n" \
"  state = s; gen = gen + 1; changed = now; moved = 1\n" \
"  redis.call('PUBLISH', chan, name .. ' ' .. s .. ' ' .. open_until .. " \
	"' ' .. gen .. ' ' .. changed)\n" \
"  local e = now .. '|' .. from .. '|' .. s .. '|' .. gen .. '|' .. why\n" \
"  redis.call('LPUSH', lg, e)\n" \
"  redis.call('LTRIM', lg, 0, " LUA_STR(DRV_BREAKER_LOG_MAX) " - 1)\n" \
"  redis.call('PEXPIRE', lg, " LUA_STR(DRV_BREAKER_LOG_KEEP_DAYS) \
	" * 86400000)\n" \
"  local head = redis.call('LINDEX', feed, 0)\n" \
"  local seq = 1\n" \
"  if head then seq = (tonumber(string.match(head, '^%d+')) or 0) + 1 end\n" \
"  redis.call('LPUSH', feed, seq .. '|' .. name .. '|' .. e)\n" \
"  redis.call('LTRIM', feed, 0, " LUA_STR(DRV_BREAKER_FEED_MAX) " - 1)\n" \
"end\n" \
"local function save()\n" \
"  redis.call('HMSET', st, 'state', state, 'open_until', open_until, " \
	"'gen', gen, 'changed', changed, 'leased', leased, 'probe_ok', ok, " \
	"'probe_failed', failed, 'half_open', half_open)\n" \
"  redis.call('SADD', names, name)\n" \
"end\n" \
"local function reply(a, b)\n" \
"  return {a, b, state, open_until, gen, changed, leased, ok, failed, " \
	"moved}\n" \
"end\n"

/* ARGV[3..]: window_s, min_calls, failure_rate, slow_rate, wait_ms,
 * half_calls, half_successes, calls, failures, slow, probe_ok,
 * probe_failed */
static const char record_lua[] = LUA_PRELUDE
"local W, minc, frate, srate = tonumber(ARGV[3]), tonumber(ARGV[4]), " \
	"tonumber(ARGV[5]), tonumber(ARGV[6])\n"
"local wait, hc, hs = tonumber(ARGV[7]), tonumber(ARGV[8]), " \
	"tonumber(ARGV[9])\n"
"local calls, fails, slow = tonumber(ARGV[10]), tonumber(ARGV[11]), " \
	"tonumber(ARGV[12])\n"
"local pok, pfail = tonumber(ARGV[13]), tonumber(ARGV[14])\n"
"if (state == 0 or state == 6) and calls > 0 then\n"
"  local sec = math.floor(now / 1000)\n"
"  redis.call('HINCRBY', wk, sec .. ':c', calls)\n"
"  if fails > 0 then redis.call('HINCRBY', wk, sec .. ':f', fails) end\n"
"  if slow > 0 then redis.call('HINCRBY', wk, sec .. ':s', slow) end\n"
"  local all = redis.call('HGETALL', wk)\n"
"  local n, f, s = 0, 0, 0\n"
"  for i = 1, #all, 2 do\n"
"    local fs = all[i]\n"
"    local c = string.find(fs, ':', 1, true)\n"
"    local ss = tonumber(string.sub(fs, 1, c - 1))\n"
"    local kind = string.sub(fs, c + 1)\n"
"    if ss <= sec - W then redis.call('HDEL', wk, fs)\n"
"    else\n"
"      local v = tonumber(all[i + 1])\n"
"      if kind == 'c' then n = n + v elseif kind == 'f' then f = f + v\n"
"      else s = s + v end\n"
"    end\n"
"  end\n"
"  redis.call('PEXPIRE', wk, W * 1000 + 60000)\n"
"  if state == 0 and n >= minc and (f * 100 >= frate * n or " \
	"s * 100 >= srate * n) then\n"
"    open_until = now + wait; leased = 0; ok = 0; failed = 0\n"
"    redis.call('DEL', wk)\n"
"    if f * 100 >= frate * n then\n"
"      transition(1, string.format('failure rate %d%% of %d calls "
	"(threshold %s%%)', math.floor(f * 100 / n), n, ARGV[5]))\n"
"    else\n"
"      transition(1, string.format('slow calls %d%% of %d (threshold "
	"%s%%)', math.floor(s * 100 / n), n, ARGV[6]))\n"
"    end\n"
"  end\n"
"elseif state == 2 then\n"
"  ok = ok + pok; failed = failed + pfail\n"
"  if ok >= hs then\n"
"    open_until = 0; leased = 0; ok = 0; failed = 0\n"
"    redis.call('DEL', wk)\n"
"    transition(0, 'probes succeeded: ' .. hs)\n"
"  elseif failed > hc - hs then\n"
"    local why = failed .. ' of ' .. hc .. ' probes failed'\n"
"    open_until = now + wait; leased = 0; ok = 0; failed = 0\n"
"    transition(1, why)\n"
"  end\n"
"end\n"
"save()\n"
"return reply(0, 0)\n";

/* ARGV[3..]: wait_ms, half_calls. Reply [1] verdict, [2] retry_at. */
static const char acquire_lua[] = LUA_PRELUDE
"local wait, hc = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
"local verdict, retry = 0, 0\n"
"if state == 3 then\n"
"  verdict = 2; retry = now + wait\n"
"elseif state == 1 then\n"
"  if now < open_until then verdict = 2; retry = open_until\n"
"  else\n"
"    half_open = now; leased = 0; ok = 0; failed = 0\n"
"    transition(2, 'wait in open over')\n"
"  end\n"
"end\n"
"if state == 2 then\n"
"  if leased >= hc and now - half_open >= wait then\n"
"    leased = ok + failed; half_open = now\n"
"  end\n"
"  if leased < hc then leased = leased + 1; verdict = 1\n"
"  else verdict = 2; retry = now + math.min(wait, 1000) end\n"
"end\n"
"if moved == 1 or verdict == 1 then save() end\n"
"return reply(verdict, retry)\n";

/* ARGV[3]: the new state; 0 resets. ARGV[4]: why. */
static const char set_lua[] = LUA_PRELUDE
"open_until = 0; leased = 0; ok = 0; failed = 0\n"
"redis.call('DEL', wk)\n"
"transition(tonumber(ARGV[3]), ARGV[4])\n"
"save()\n"
"return reply(0, 0)\n";

enum { SCRIPT_RECORD, SCRIPT_ACQUIRE, SCRIPT_SET, SCRIPT_CNT };

/* SHA1 of each script once Redis told us (SCRIPT LOAD). */
static drv_redis_script_t scripts[SCRIPT_CNT] = {
	DRV_REDIS_SCRIPT_INIT(record_lua), DRV_REDIS_SCRIPT_INIT(acquire_lua),
	DRV_REDIS_SCRIPT_INIT(set_lua),
};

void drv_breaker_channel(const drv_config_t *cfg, char *buf, size_t size)
{
	drv_fmt(buf, size, "%sbreaker", cfg->redis.key_prefix);
}

#define redis_fail drv_redis_fail

/* Run script \p id (drv_redis_script_run()); the reply or NULL with
 * errstr. */
static redisReply *run_script(redisContext *c, int id, int nkeys, int argc,
			      const char **argv, char *errstr,
			      size_t errstr_size)
{
	redisReply *r = NULL;

	if (drv_redis_script_run(c, &scripts[id], nkeys, argc, argv, 10,
				 "breaker script", &r, errstr, errstr_size))
		return NULL;
	return r;
}

#define int_at drv_redis_int_at

/* reply(a, b): {a, b, state, open_until, gen, changed, leased, ok, failed,
 * moved} */
static void view_from(const redisReply *r, const char *name,
		      drv_breaker_view_t *out, bool *changed)
{
	memset(out, 0, sizeof(*out));
	drv_strlcpy(out->name, name, sizeof(out->name));
	out->state = (drv_breaker_state_t)int_at(r, 2);
	out->open_until_ms = int_at(r, 3);
	out->gen = int_at(r, 4);
	out->changed_ms = int_at(r, 5);
	out->leased = (uint32_t)int_at(r, 6);
	out->probe_ok = (uint32_t)int_at(r, 7);
	out->probe_failed = (uint32_t)int_at(r, 8);
	if (changed)
		*changed = int_at(r, 9) == 1;
}

/* The five keys and the two common arguments of every script. */
typedef struct keys {
	char st[256], wk[264], names[256], lg[256], feed[256], chan[256];
} keys_t;

static void keys_for(const drv_config_t *cfg, const char *name, keys_t *k)
{
	const char *p = cfg->redis.key_prefix;

	drv_fmt(k->st, sizeof(k->st), "%sbreaker:%s", p, name);
	drv_fmt(k->wk, sizeof(k->wk), "%s:w", k->st);
	drv_fmt(k->names, sizeof(k->names), "%sbreakers", p);
	drv_breaker_log_key(cfg, name, k->lg, sizeof(k->lg));
	drv_breaker_feed_key(cfg, k->feed, sizeof(k->feed));
	drv_breaker_channel(cfg, k->chan, sizeof(k->chan));
}

/* The arguments every script starts with: its five keys (state, window,
 * names, log, feed), the channel and the breaker's name. */
#define NKEYS 5
#define NARGS (NKEYS + 2)
static void script_args(const keys_t *k, const char *name, const char **argv)
{
	argv[0] = k->st;
	argv[1] = k->wk;
	argv[2] = k->names;
	argv[3] = k->lg;
	argv[4] = k->feed;
	argv[5] = k->chan;
	argv[6] = name;
}

drv_err_t drv_breaker_redis_record(redisContext *c, const drv_config_t *cfg,
				   const drv_breaker_conf_t *bc,
				   const char *name,
				   const drv_breaker_batch_t *b,
				   drv_breaker_view_t *out, bool *changed,
				   char *errstr, size_t errstr_size)
{
	char num[12][32];
	const char *argv[NARGS + 12];
	keys_t k;
	redisReply *r;

	keys_for(cfg, name, &k);
	drv_fmt(num[0], 32, "%lld", (long long)(bc->window_ms / 1000 < 1 ? 1 :
						bc->window_ms / 1000));
	drv_fmt(num[1], 32, "%u", bc->min_calls);
	drv_fmt(num[2], 32, "%.6g", bc->failure_rate);
	drv_fmt(num[3], 32, "%.6g", bc->slow_call_rate);
	drv_fmt(num[4], 32, "%lld", (long long)bc->wait_in_open_ms);
	drv_fmt(num[5], 32, "%u", bc->half_open_calls);
	drv_fmt(num[6], 32, "%u", bc->half_open_successes);
	drv_fmt(num[7], 32, "%u", b->calls);
	drv_fmt(num[8], 32, "%u", b->failures);
	drv_fmt(num[9], 32, "%u", b->slow);
	drv_fmt(num[10], 32, "%u", b->probe_ok);
	drv_fmt(num[11], 32, "%u", b->probe_failed);
	script_args(&k, name, argv);
	for (int i = 0; i < 12; i++)
		argv[NARGS + i] = num[i];
	if (!(r = run_script(c, SCRIPT_RECORD, NKEYS, NARGS + 12, argv,
			     errstr, errstr_size)))
		return c->err ? drv_redis_err(c) : DRV_ERR_REDIS;
	view_from(r, name, out, changed);
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_breaker_redis_acquire(redisContext *c, const drv_config_t *cfg,
				    const drv_breaker_conf_t *bc,
				    const char *name,
				    drv_breaker_verdict_t *verdict,
				    int64_t *retry_at, drv_breaker_view_t *out,
				    bool *changed, char *errstr,
				    size_t errstr_size)
{
	char wait[32], hc[32];
	const char *argv[NARGS + 2];
	keys_t k;
	redisReply *r;

	keys_for(cfg, name, &k);
	drv_fmt(wait, sizeof(wait), "%lld", (long long)bc->wait_in_open_ms);
	drv_fmt(hc, sizeof(hc), "%u", bc->half_open_calls);
	script_args(&k, name, argv);
	argv[NARGS] = wait;
	argv[NARGS + 1] = hc;
	if (!(r = run_script(c, SCRIPT_ACQUIRE, NKEYS, NARGS + 2, argv,
			     errstr, errstr_size)))
		return c->err ? drv_redis_err(c) : DRV_ERR_REDIS;
	*verdict = (drv_breaker_verdict_t)int_at(r, 0);
	*retry_at = int_at(r, 1);
	view_from(r, name, out, changed);
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_breaker_redis_set(redisContext *c, const drv_config_t *cfg,
				const char *name, drv_breaker_state_t state,
				const char *by, drv_breaker_view_t *out,
				char *errstr, size_t errstr_size)
{
	char s[8], why[DRV_BREAKER_WHY_MAX];
	const char *argv[NARGS + 2];
	keys_t k;
	redisReply *r;

	keys_for(cfg, name, &k);
	drv_fmt(s, sizeof(s), "%d", (int)state);
	script_args(&k, name, argv);
	drv_fmt(why, sizeof(why), "%s by %s", state == DRV_BREAKER_CLOSED ?
		"reset" : "forced", by && *by ? by : "an operator");
	argv[NARGS] = s;
	argv[NARGS + 1] = why;
	if (!(r = run_script(c, SCRIPT_SET, NKEYS, NARGS + 2, argv, errstr,
			     errstr_size)))
		return c->err ? drv_redis_err(c) : DRV_ERR_REDIS;
	view_from(r, name, out, NULL);
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_breaker_redis_read(redisContext *c, const drv_config_t *cfg,
				 const char *name, int64_t window_ms,
				 drv_breaker_view_t *out, char *errstr,
				 size_t errstr_size)
{
	keys_t k;
	redisReply *r, *t;
	int64_t now_s, w = window_ms / 1000 < 1 ? 1 : window_ms / 1000;

	keys_for(cfg, name, &k);
	memset(out, 0, sizeof(*out));
	drv_strlcpy(out->name, name, sizeof(out->name));
	r = redisCommand(c, "HMGET %s state open_until gen changed leased "
			 "probe_ok probe_failed", k.st);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 7)
		return redis_fail(c, r, "HMGET", errstr, errstr_size);
	out->state = (drv_breaker_state_t)int_at(r, 0);
	out->open_until_ms = int_at(r, 1);
	out->gen = int_at(r, 2);
	out->changed_ms = int_at(r, 3);
	out->leased = (uint32_t)int_at(r, 4);
	out->probe_ok = (uint32_t)int_at(r, 5);
	out->probe_failed = (uint32_t)int_at(r, 6);
	freeReplyObject(r);
	if ((int)out->state < 0 || out->state >= DRV_BREAKER_STATE_CNT)
		out->state = DRV_BREAKER_CLOSED;
	if (window_ms <= 0)
		return DRV_OK;  /* the state only */
	if (!(t = redisCommand(c, "TIME")) || t->type != REDIS_REPLY_ARRAY ||
	    t->elements != 2)
		return redis_fail(c, t, "TIME", errstr, errstr_size);
	now_s = strtoll(t->element[0]->str, NULL, 10);
	freeReplyObject(t);
	r = redisCommand(c, "HGETALL %s", k.wk);
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return redis_fail(c, r, "HGETALL", errstr, errstr_size);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *f = r->element[i]->str;
		const char *colon = f ? strchr(f, ':') : NULL;
		int64_t sec = f ? strtoll(f, NULL, 10) : 0;
		uint32_t v = (uint32_t)int_at(r, i + 1);

		if (!colon || sec <= now_s - w)
			continue;
		if (colon[1] == 'c')
			out->calls += v;
		else if (colon[1] == 'f')
			out->failures += v;
		else
			out->slow += v;
	}
	freeReplyObject(r);
	return DRV_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

drv_err_t drv_breaker_redis_list(redisContext *c, const drv_config_t *cfg,
				 char ***names, size_t *cnt, char *errstr,
				 size_t errstr_size)
{
	keys_t k;
	redisReply *r;
	char **v;

	keys_for(cfg, "", &k);
	*names = NULL;
	*cnt = 0;
	r = redisCommand(c, "SMEMBERS %s", k.names);
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return redis_fail(c, r, "SMEMBERS", errstr, errstr_size);
	if (!(v = calloc(r->elements + 1, sizeof(*v)))) {
		freeReplyObject(r);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    (v[*cnt] = drv_strdup(r->element[i]->str)))
			(*cnt)++;
	freeReplyObject(r);
	if (*cnt > 1)
		qsort(v, *cnt, sizeof(*v), cmp_names);
	*names = v;
	return DRV_OK;
}

void drv_breaker_names_free(char **names, size_t cnt)
{
	for (size_t i = 0; names && i < cnt; i++)
		free(names[i]);
	free(names);
}

bool drv_breaker_parse_message(const char *data, size_t len,
			       drv_breaker_view_t *out)
{
	char buf[256], *sp, *end;
	long long v[4];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, data, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (!(sp = strchr(buf, ' ')))
		return false;
	*sp++ = '\0';
	if (!drv_breaker_name_valid(buf))
		return false;
	drv_strlcpy(out->name, buf, sizeof(out->name));
	for (int i = 0; i < 4; i++) {
		v[i] = strtoll(sp, &end, 10);
		if (end == sp)
			return false;
		sp = end;
	}
	if (v[0] < 0 || v[0] >= DRV_BREAKER_STATE_CNT)
		return false;
	out->state = (drv_breaker_state_t)v[0];
	out->open_until_ms = v[1];
	out->gen = v[2];
	out->changed_ms = v[3];
	return true;
}
