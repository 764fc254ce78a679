/*
 * limit_change.c — fleet-wide limits changed at run time
 * (PATCH /api/v1/limits/NAME, `droverctl limit set`): the new settings
 * are kept in one Redis hash per limit, which the admission script
 * (limit.c) reads on every call, so every worker applies a change at its
 * next admission, without a restart or a config rollout. A reset deletes
 * the hash: the config file's settings hold again. The bounds are the
 * config table's (core/config_table.c), so a change can set nothing the
 * file could not.
 */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "drover/clock.h"
#include "drover/limit.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

void drv_limit_change_key(const drv_config_t *cfg, const char *name,
			  char *buf, size_t size)
{
	drv_fmt(buf, size, "%slimitconf:%s", cfg->redis.key_prefix, name);
}

drv_err_t drv_limit_effective(redisContext *c, const drv_config_t *cfg,
			      const drv_limit_conf_t *l, drv_limit_conf_t *out,
			      int64_t *changed_ms, char *errstr,
			      size_t errstr_size)
{
	char key[512];
	redisReply *r = NULL;
	drv_err_t err;

	*out = *l;
	*changed_ms = 0;
	if (!c)
		return DRV_OK;
	drv_limit_change_key(cfg, l->name, key, sizeof(key));
	if ((err = drv_redis_cmd(c, &r, errstr, errstr_size,
				 "HMGET %s rate per_ms burst concurrency "
				 "changed_ms", key)))
		return err;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 5 &&
	    r->element[0]->type == REDIS_REPLY_STRING) {
		out->rate = (uint32_t)drv_redis_int_at(r, 0);
		out->per_ms = drv_redis_int_at(r, 1);
		out->burst = (uint32_t)drv_redis_int_at(r, 2);
		out->concurrency = (uint32_t)drv_redis_int_at(r, 3);
		*changed_ms = drv_redis_int_at(r, 4);
	}
	freeReplyObject(r);
	return DRV_OK;
}

/* \p v within the config table's bounds for limit key \p name. */
static bool in_bounds(const char *name, int64_t v, char *errstr,
		      size_t errstr_size)
{
	for (size_t i = 0; i < drv_cfg_limit_key_cnt; i++) {
		const drv_cfg_key_t *k = &drv_cfg_limit_keys[i];

		if (strcmp(k->name, name))
			continue;
		if (v >= k->min && v <= k->max)
			return true;
		drv_error(errstr, errstr_size, DRV_ERR_RANGE,
			  "%s: %lld is outside %lld..%lld", name,
			  (long long)v, (long long)k->min, (long long)k->max);
		return false;
	}
	return true;
}

drv_err_t drv_limit_change(redisContext *c, const drv_config_t *cfg,
			   const char *name, const drv_limit_change_t *ch,
			   char *errstr, size_t errstr_size)
{
	const drv_limit_conf_t *l = drv_config_limit(cfg, name);
	drv_limit_conf_t now;
	int64_t since;
	char key[512], v[4][24], at[24];
	redisReply *r = NULL;
	drv_err_t err;

	if (!l)
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no limit '%s' in the config", name);
	if ((ch->rate >= 0 && !in_bounds("rate", ch->rate, errstr,
					 errstr_size)) ||
	    (ch->per_ms >= 0 && !in_bounds("per", ch->per_ms, errstr,
					   errstr_size)) ||
	    (ch->burst >= 0 && !in_bounds("burst", ch->burst, errstr,
					  errstr_size)) ||
	    (ch->concurrency >= 0 && !in_bounds("concurrency",
						ch->concurrency, errstr,
						errstr_size)))
		return DRV_ERR_RANGE;
	if ((err = drv_limit_effective(c, cfg, l, &now, &since, errstr,
				       errstr_size)))
		return err;
	if (ch->rate >= 0)
		now.rate = (uint32_t)ch->rate;
	if (ch->per_ms >= 0)
		now.per_ms = ch->per_ms;
	if (ch->burst >= 0)
		now.burst = (uint32_t)ch->burst;
	if (ch->concurrency >= 0)
		now.concurrency = (uint32_t)ch->concurrency;
	if (!now.rate && !now.concurrency)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit '%s' would have neither a rate nor a "
				 "concurrency", name);
	drv_limit_change_key(cfg, name, key, sizeof(key));
	drv_fmt(v[0], 24, "%u", now.rate);
	drv_fmt(v[1], 24, "%lld", (long long)now.per_ms);
	drv_fmt(v[2], 24, "%u", now.burst);
	drv_fmt(v[3], 24, "%u", now.concurrency);
	drv_fmt(at, sizeof(at), "%lld", (long long)drv_now_ms());
	if ((err = drv_redis_cmd(c, &r, errstr, errstr_size,
				 "HSET %s rate %s per_ms %s burst %s "
				 "concurrency %s changed_ms %s", key, v[0],
				 v[1], v[2], v[3], at)))
		return err;
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_limit_reset(redisContext *c, const drv_config_t *cfg,
			  const char *name, char *errstr, size_t errstr_size)
{
	char key[512];
	redisReply *r = NULL;
	drv_err_t err;

	if (!drv_config_limit(cfg, name))
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no limit '%s' in the config", name);
	drv_limit_change_key(cfg, name, key, sizeof(key));
	if ((err = drv_redis_cmd(c, &r, errstr, errstr_size, "DEL %s", key)))
		return err;
	freeReplyObject(r);
	return DRV_OK;
}
