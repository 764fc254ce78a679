/*
 * limit.c — fleet-wide execution limits in Redis (include/drover/limit.h):
 * which limits match a task, the admission script (GCRA rate and
 * concurrency leases, check all then take all, clocked by Redis TIME), the
 * release script and the JSON view the API and droverctl share. Scripts
 * run with EVALSHA and fall back to EVAL when Redis answers NOSCRIPT.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/limit.h"
#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

/* KEYS: per limit, its rate key, lease key, reservation key, start key
 * and run-time settings key. ARGV[1] count, ARGV[2] task id, ARGV[3] lease
 * ms, ARGV[4] the wait (ms) the caller would rather spend in place, then
 * per limit the config's emission interval (us, 0 = no rate), burst,
 * concurrency (0 = no cap), and the busy retry ms. Settings changed at run
 * time (limit_change.c) replace the config's. Reply {1, 0, 0, 0} admitted
 * or {0, wait_ms, index, in_place} refused.
 *
 * First every concurrency cap: one full refuses and takes nothing. Then
 * every rate, as two GCRAs. The schedule (rate key) plans into the future:
 * a task over it is given the next start as a reservation and comes back
 * for it, so the refused come back one interval apart, in order, each to a
 * start kept for it. The starts (start key) are what happened: a GCRA
 * over them, with half an interval more tolerance, spaces again tasks that
 * come back late together, so no window admits more than rate + burst,
 * while the small lateness of each start does not add up. Only when
 * nothing refuses is anything but a reservation taken, and a refusal
 * reserves only where the schedule refused. */
static const char acquire_lua[] =
"pcall(redis.replicate_commands)\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local now_ms = math.floor(now / 1000)\n"
"local n, id, lease = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])\n"
"local in_place = tonumber(ARGV[4]) * 1000\n"
"local wait, who, held, plan, tat, resv, last = 0, 0, {}, {}, {}, {}, {}\n"
"local T, B, C = {}, {}, {}\n"
"local function key(i, k) return KEYS[5 * (i - 1) + k] end\n"
"local function num(k) return tonumber(redis.call('GET', k) or 0) end\n"
"local function put(k, v)\n"
"  redis.call('SET', k, string.format('%.0f', v), 'PX', "
	"math.ceil((v - now) / 1000) + 1000)\n"
"end\n"
"for i = 1, n do\n"
"  T[i], B[i], C[i] = tonumber(ARGV[4 * i + 1]), tonumber(ARGV[4 * i + 2]), "
	"tonumber(ARGV[4 * i + 3])\n"
"  local o = redis.call('HMGET', key(i, 5), 'rate', 'per_ms', 'burst', "
	"'concurrency')\n"
"  if o[1] then\n"
"    local r = tonumber(o[1])\n"
"    T[i] = r > 0 and tonumber(o[2]) * 1000 / r or 0\n"
"    B[i], C[i] = tonumber(o[3]), tonumber(o[4])\n"
"  end\n"
"  local ck, busy = key(i, 2), tonumber(ARGV[4 * i + 4])\n"
"  if C[i] > 0 then\n"
"    redis.call('ZREMRANGEBYSCORE', ck, '-inf', now_ms)\n"
"    held[i] = redis.call('ZSCORE', ck, id)\n"
"    if not held[i] and redis.call('ZCARD', ck) >= C[i] and busy > wait "
	"then\n"
"      wait = busy; who = i\n"
"    end\n"
"  end\n"
"end\n"
"if wait > 0 then return {0, wait, who - 1, 0} end\n"
"for i = 1, n do\n"
"  if T[i] > 0 and not held[i] then\n"
"    local r = redis.call('ZSCORE', key(i, 3), id)\n"
"    if r then\n"
"      resv[i] = true; plan[i] = tonumber(r)\n"
"    else\n"
"      tat[i] = math.max(num(key(i, 1)), now)\n"
"      plan[i] = tat[i] + T[i] - T[i] * B[i]\n"
"    end\n"
"    last[i] = math.max(num(key(i, 4)), now)\n"
"    local s = math.max(plan[i], last[i] + T[i] / 2 - T[i] * B[i])\n"
"    if s - now > wait then wait = s - now; who = i end\n"
"  end\n"
"end\n"
"for i = 1, n do\n"
"  if tat[i] and (wait == 0 or plan[i] > now) then\n"
"    put(key(i, 1), tat[i] + T[i])\n"
"  end\n"
"  if tat[i] and wait > 0 and plan[i] > now then\n"
"    local qk = key(i, 3)\n"
"    redis.call('ZREMRANGEBYSCORE', qk, '-inf', now - 60000000)\n"
"    redis.call('ZADD', qk, string.format('%.0f', plan[i]), id)\n"
"    redis.call('PEXPIRE', qk, math.ceil((plan[i] - now) / 1000) + 60000)\n"
"  end\n"
"  if last[i] and wait == 0 then\n"
"    put(key(i, 4), last[i] + T[i])\n"
"    if resv[i] then redis.call('ZREM', key(i, 3), id) end\n"
"  end\n"
"end\n"
"if wait > 0 then\n"
"  return {0, math.ceil(wait / 1000), who - 1, wait <= in_place and 1 or 0}\n"
"end\n"
"for i = 1, n do\n"
"  if C[i] > 0 and not held[i] then\n"
"    redis.call('ZADD', key(i, 2), now_ms + lease, id)\n"
"    redis.call('PEXPIRE', key(i, 2), lease + 1000)\n"
"  end\n"
"end\n"
"return {1, 0, 0, 0}\n";

/* KEYS: the lease sets; ARGV[1] the task id. */
static const char release_lua[] =
"for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end\n"
"return {1, 0, 0}\n";

static drv_redis_script_t acquire_script =
	DRV_REDIS_SCRIPT_INIT(acquire_lua);
static drv_redis_script_t release_script =
	DRV_REDIS_SCRIPT_INIT(release_lua);

#define int_at drv_redis_int_at

/* keys and values of one admission */
#define KEYS_PER 5  /* rate, leases, reservations, starts, settings */
#define ARGV_MAX (KEYS_PER * DRV_LIMIT_MATCH_MAX + 4 + 4 * DRV_LIMIT_MATCH_MAX)
_Static_assert(ARGV_MAX <= DRV_REDIS_SCRIPT_ARGS, "raise DRV_REDIS_SCRIPT_ARGS");

size_t drv_limit_match(const drv_config_t *cfg, const drv_task_t *t,
		       drv_limit_set_t *out)
{
	out->cnt = 0;
	for (size_t i = 0; i < cfg->limit_cnt &&
	     out->cnt < DRV_LIMIT_MATCH_MAX; i++) {
		const drv_limit_conf_t *l = &cfg->limits[i];
		const char *v = "";

		if (strcmp(l->handler, t->handler))
			continue;
		if (l->key && !(v = drv_task_label(t, l->key + 6)))
			continue;
		out->conf[out->cnt] = l;
		out->value[out->cnt++] = v;
	}
	return out->cnt;
}

int64_t drv_limit_lease_ms(const drv_config_t *cfg,
			   const drv_handler_conf_t *h)
{
	int64_t run = h && h->timeout_ms ? h->timeout_ms :
		      cfg->worker.default_timeout_ms;

	return (run > 0 ? run : 3600000) + DRV_LIMIT_LEASE_MARGIN_MS;
}

/* The KEYS_PER keys of limit \p l for value \p v: schedule (the GCRA's
 * theoretical arrival time), leases, reservations, starts, and the
 * settings changed at run time (one for all values). */
static void keys_for(const drv_config_t *cfg, const drv_limit_conf_t *l,
		     const char *v, char k[KEYS_PER][512])
{
	static const char *const suffix[KEYS_PER - 1] = { "", ":c", ":r",
							  ":s" };

	for (int i = 0; i < KEYS_PER - 1; i++)
		drv_fmt(k[i], 512, "%slimit:%s:%s%s", cfg->redis.key_prefix,
			l->name, v, suffix[i]);
	drv_limit_change_key(cfg, l->name, k[KEYS_PER - 1], 512);
}

/* Microseconds between two starts of a rate limit; 0 = no rate. */
static double interval_us(const drv_limit_conf_t *l)
{
	return l->rate ? (double)l->per_ms * 1000.0 / l->rate : 0;
}

drv_err_t drv_limit_acquire(redisContext *c, const drv_config_t *cfg,
			    const drv_limit_set_t *set, const char *task_id,
			    int64_t lease_ms, int64_t in_place_ms,
			    bool *admitted, int64_t *retry_ms,
			    bool *wait_in_place, size_t *refused_by,
			    char *errstr, size_t errstr_size)
{
	char keys[DRV_LIMIT_MATCH_MAX][KEYS_PER][512];
	char num[4 + 4 * DRV_LIMIT_MATCH_MAX][32];
	const char *argv[ARGV_MAX];
	size_t n = set->cnt < DRV_LIMIT_MATCH_MAX ? set->cnt :
		   DRV_LIMIT_MATCH_MAX;
	int argc = 0;
	redisReply *r = NULL;
	drv_err_t err;

	if (!n) {
		*admitted = true;
		*retry_ms = 0;
		if (wait_in_place)
			*wait_in_place = false;
		return DRV_OK;
	}
	for (size_t i = 0; i < n; i++) {
		keys_for(cfg, set->conf[i], set->value[i], keys[i]);
		for (int k = 0; k < KEYS_PER; k++)
			argv[argc++] = keys[i][k];
	}
	drv_fmt(num[0], 32, "%zu", n);
	drv_fmt(num[2], 32, "%lld", (long long)lease_ms);
	argv[argc++] = num[0];
	argv[argc++] = task_id;
	argv[argc++] = num[2];
	drv_fmt(num[3], 32, "%lld", (long long)(in_place_ms > 0 ?
						in_place_ms : 0));
	argv[argc++] = num[3];
	for (size_t i = 0; i < n; i++) {
		const drv_limit_conf_t *l = set->conf[i];
		char *p = num[4 + 4 * i];

		drv_fmt(p, 32, "%.3f", interval_us(l));
		drv_fmt(p + 32, 32, "%u", l->burst ? l->burst : 1);
		drv_fmt(p + 64, 32, "%u", l->concurrency);
		drv_fmt(p + 96, 32, "%d", DRV_LIMIT_BUSY_RETRY_MS);
		for (int k = 0; k < 4; k++)
			argv[argc++] = p + 32 * k;
	}
	if ((err = drv_redis_script_run(c, &acquire_script, (int)(KEYS_PER * n), argc,
					argv, 3, "limit script", &r, errstr,
					errstr_size)))
		return err;
	*admitted = int_at(r, 0) == 1;
	*retry_ms = *admitted ? 0 : int_at(r, 1) < 1 ? 1 : int_at(r, 1);
	if (wait_in_place)
		*wait_in_place = !*admitted && int_at(r, 3) == 1;
	if (refused_by) {
		int64_t who = int_at(r, 2);

		*refused_by = who >= 0 && (size_t)who < n ? (size_t)who : 0;
	}
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_limit_release(redisContext *c, const drv_config_t *cfg,
			    const drv_limit_set_t *set, const char *task_id,
			    char *errstr, size_t errstr_size)
{
	char keys[DRV_LIMIT_MATCH_MAX][KEYS_PER][512];
	const char *argv[DRV_LIMIT_MATCH_MAX + 1];
	int nk = 0;
	redisReply *r = NULL;
	drv_err_t err;

	/* every limit, capped in the config or not: a run-time change may
	 * have given it a cap since the lease was taken */
	for (size_t i = 0; i < set->cnt && i < DRV_LIMIT_MATCH_MAX; i++) {
		keys_for(cfg, set->conf[i], set->value[i], keys[nk]);
		argv[nk] = keys[nk][1];
		nk++;
	}
	if (!nk)
		return DRV_OK;
	argv[nk] = task_id;
	if ((err = drv_redis_script_run(c, &release_script, nk, nk + 1, argv,
					1, "limit script", &r, errstr,
					errstr_size)))
		return err;
	freeReplyObject(r);
	return DRV_OK;
}

/* The state of an unkeyed limit: leases held and the next start. */
static drv_err_t read_state(redisContext *c, const drv_config_t *cfg,
			    const drv_limit_conf_t *l, json_t *o,
			    char *errstr, size_t errstr_size)
{
	char k[KEYS_PER][512], now[32];
	const char *rk = k[0], *ck = k[1];
	redisReply *r = NULL;
	int64_t now_ms = drv_now_ms();
	drv_err_t err;

	keys_for(cfg, l, "", k);
	if (l->concurrency) {
		drv_fmt(now, sizeof(now), "(%lld", (long long)now_ms);
		if ((err = drv_redis_cmd(c, &r, errstr, errstr_size,
					 "ZCOUNT %s %s +inf", ck, now)))
			return err;
		json_object_set_new(o, "running", json_integer(
			r->type == REDIS_REPLY_INTEGER ? r->integer : 0));
		freeReplyObject(r);
	}
	if (l->rate) {
		int64_t tat_ms, next;

		if ((err = drv_redis_cmd(c, &r, errstr, errstr_size, "GET %s",
					 rk)))
			return err;
		tat_ms = r->type == REDIS_REPLY_STRING ?
			 strtoll(r->str, NULL, 10) / 1000 : 0;
		freeReplyObject(r);
		next = (int64_t)(tat_ms - interval_us(l) / 1000.0 *
					((l->burst ? l->burst : 1) - 1));
		json_object_set_new(o, "next_start_ms",
				    json_integer(next > now_ms ? next : 0));
	}
	return DRV_OK;
}

/* The settings \p l as JSON members of \p o. */
static int settings_json(json_t *o, const drv_limit_conf_t *l)
{
	return json_object_set_new(o, "rate", json_integer(l->rate)) ||
	       json_object_set_new(o, "per_ms", json_integer(l->per_ms)) ||
	       json_object_set_new(o, "burst", json_integer(l->burst)) ||
	       json_object_set_new(o, "concurrency",
				   json_integer(l->concurrency));
}

/* Limit \p l as drv_limit_list() shows it into \p out. */
static drv_err_t limit_json(redisContext *c, const drv_config_t *cfg,
			    const drv_limit_conf_t *l, json_t **out,
			    char *errstr, size_t errstr_size)
{
	drv_limit_conf_t now;
	int64_t changed;
	json_t *o = NULL, *conf = NULL;
	drv_err_t err;

	if ((err = drv_limit_effective(c, cfg, l, &now, &changed, errstr,
				       errstr_size)))
		return err;
	/* json_object_set_new() takes its value even when it fails */
	if (!(o = json_pack("{s:s, s:s, s:o}", "name", l->name, "handler",
			    l->handler, "key", l->key ? json_string(l->key) :
			    json_null())) ||
	    settings_json(o, &now) ||
	    (changed && (json_object_set_new(o, "config",
					      conf = json_object()) ||
			 settings_json(conf, l) ||
			 json_object_set_new(o, "changed_ms",
					     json_integer(changed))))) {
		json_decref(o);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	if (c && !l->key &&
	    (err = read_state(c, cfg, &now, o, errstr, errstr_size))) {
		json_decref(o);
		return err;
	}
	*out = o;
	return DRV_OK;
}

drv_err_t drv_limit_list(redisContext *c, const drv_config_t *cfg,
			 json_t **out, char *errstr, size_t errstr_size)
{
	json_t *arr = json_array(), *root = json_object(), *o;
	drv_err_t err;

	if (!arr || !root || json_object_set_new(root, "limits", arr)) {
		json_decref(root);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < cfg->limit_cnt; i++) {
		if ((err = limit_json(c, cfg, &cfg->limits[i], &o, errstr,
				      errstr_size))) {
			json_decref(root);
			return err;
		}
		if (json_array_append_new(arr, o)) {
			json_decref(root);
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		}
	}
	*out = root;
	return DRV_OK;
}

drv_err_t drv_limit_show(redisContext *c, const drv_config_t *cfg,
			 const char *name, json_t **out, char *errstr,
			 size_t errstr_size)
{
	const drv_limit_conf_t *l = drv_config_limit(cfg, name);

	if (!l)
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no limit '%s' in the config", name);
	return limit_json(c, cfg, l, out, errstr, errstr_size);
}
