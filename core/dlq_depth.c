/*
 * dlq_depth.c — the DLQ depth trend in Redis (see
 * include/drover/dlq_depth.h): one script that records a sample of an
 * interval and trims the set, and the read that turns the samples of a
 * range into one point per step (last, highest, lowest).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/dlq_depth.h"
#include "drover/history.h"
#include "drover/redis_cmd.h"
#include "drover/retry_stats.h"
#include "drover/str.h"

/* KEYS: the set. ARGV: at, depth, oldest kept, most kept, expiry ms. */
static drv_redis_script_t record_script = DRV_REDIS_SCRIPT_INIT(
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1]) "
	"redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. ':' .. ARGV[2]) "
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3]) "
	"redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1) "
	"redis.call('PEXPIRE', KEYS[1], ARGV[5]) "
	"return {redis.call('ZCARD', KEYS[1])}");

static void depth_key(const drv_config_t *cfg, char *buf, size_t size)
{
	drv_fmt(buf, size, "%sdlq:depth", cfg->redis.key_prefix);
}

drv_err_t drv_dlq_depth_record(redisContext *c, const drv_config_t *cfg,
			       int64_t at_ms, int64_t depth, char *errstr,
			       size_t errstr_size)
{
	char key[300], num[4][24];
	const char *argv[6] = { key, num[0], num[1], num[2], "", num[3] };
	char max[24];
	redisReply *r = NULL;
	drv_err_t rc;

	depth_key(cfg, key, sizeof(key));
	drv_fmt(num[0], sizeof(num[0]), "%lld", (long long)at_ms);
	drv_fmt(num[1], sizeof(num[1]), "%lld", (long long)depth);
	drv_fmt(num[2], sizeof(num[2]), "%lld",
		(long long)(at_ms - DRV_DLQ_DEPTH_KEEP_MS));
	drv_fmt(max, sizeof(max), "%d", DRV_DLQ_DEPTH_SAMPLES_MAX);
	drv_fmt(num[3], sizeof(num[3]), "%lld",
		(long long)DRV_DLQ_DEPTH_KEEP_MS);
	argv[4] = max;
	rc = drv_redis_script_run(c, &record_script, 1, 6, argv, 1,
				  "DLQ depth script", &r, errstr,
				  errstr_size);
	freeReplyObject(r);
	return rc;
}

/* One step's samples. */
typedef struct step {
	int64_t last_at, last, max, min, n;
} step_t;

/* Parse "AT:DEPTH". */
static bool parse_member(const char *s, int64_t *at, int64_t *depth)
{
	char *end;

	*at = strtoll(s, &end, 10);
	if (end == s || *end != ':')
		return false;
	s = end + 1;
	*depth = strtoll(s, &end, 10);
	return end != s && !*end;
}

/* Add the samples of reply \p r (ZRANGEBYSCORE members) to \p steps. */
static void add_samples(const redisReply *r, int64_t first, int64_t step,
			int64_t npts, step_t *steps)
{
	for (size_t i = 0; i < r->elements; i++) {
		int64_t at, depth, k;
		step_t *s;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    !parse_member(r->element[i]->str, &at, &depth) ||
		    at < first || (k = (at - first) / step) >= npts)
			continue;
		s = &steps[k];
		if (!s->n || at >= s->last_at) {
			s->last_at = at;
			s->last = depth;
		}
		if (!s->n || depth > s->max)
			s->max = depth;
		if (!s->n || depth < s->min)
			s->min = depth;
		s->n++;
	}
}

drv_err_t drv_dlq_depth_current(const drv_config_t *cfg, redisContext *c,
				json_t **out, char *errstr,
				size_t errstr_size)
{
	char key[300];
	redisReply *r;
	int64_t at, depth;

	depth_key(cfg, key, sizeof(key));
	r = redisCommand(c, "ZRANGE %s -1 -1", key);
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return drv_redis_fail(c, r, "ZRANGE", errstr, errstr_size);
	*out = r->elements == 1 && r->element[0]->type == REDIS_REPLY_STRING &&
	       parse_member(r->element[0]->str, &at, &depth) ?
	       json_pack("{s:I, s:I}", "at_ms", (json_int_t)at, "depth",
			 (json_int_t)depth) : json_null();
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_dlq_depth_series(const drv_config_t *cfg, redisContext *c,
			       int64_t since_ms, int64_t until_ms,
			       int64_t step_ms, int64_t now_ms, json_t **out,
			       char *errstr, size_t errstr_size)
{
	char key[300];
	int64_t npts, first;
	step_t *steps;
	redisReply *r;
	json_t *points = NULL, *cur = NULL, *o;
	drv_err_t err;

	drv_retry_stats_range(&since_ms, &until_ms, now_ms);
	if ((err = drv_history_step(since_ms, until_ms, &step_ms, errstr,
				    errstr_size)))
		return err;
	npts = drv_history_points(since_ms, until_ms, step_ms);
	first = since_ms / step_ms * step_ms;
	if (!(steps = calloc((size_t)npts + 1, sizeof(*steps))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	depth_key(cfg, key, sizeof(key));
	if (npts > 0) {
		r = redisCommand(c, "ZRANGEBYSCORE %s %lld %lld", key,
				 (long long)since_ms, (long long)until_ms);
		if (!r || r->type != REDIS_REPLY_ARRAY) {
			free(steps);
			return drv_redis_fail(c, r, "ZRANGEBYSCORE", errstr,
					      errstr_size);
		}
		add_samples(r, first, step_ms, npts, steps);
		freeReplyObject(r);
	}
	if ((err = drv_dlq_depth_current(cfg, c, &cur, errstr,
					 errstr_size))) {
		free(steps);
		return err;
	}
	points = json_array();
	for (int64_t i = 0; points && i < npts; i++)
		if (steps[i].n && json_array_append_new(points, json_pack(
			"{s:I, s:I, s:I, s:I, s:I}",
			"t", (json_int_t)(first + i * step_ms),
			"depth", (json_int_t)steps[i].last,
			"max", (json_int_t)steps[i].max,
			"min", (json_int_t)steps[i].min,
			"samples", (json_int_t)steps[i].n))) {
			json_decref(points);
			points = NULL;
		}
	free(steps);
	o = points && cur ? json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
		"since_ms", (json_int_t)since_ms,
		"until_ms", (json_int_t)until_ms,
		"step_ms", (json_int_t)step_ms,
		"interval_ms",
		(json_int_t)cfg->coordinator.dlq_depth_interval_ms,
		"threshold", cfg->coordinator.dlq_depth_alert ?
		json_integer(cfg->coordinator.dlq_depth_alert) : json_null(),
		"current", cur, "points", points) : NULL;
	if (!o) {
		/* json_pack took neither on failure */
		json_decref(points);
		json_decref(cur);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	*out = o;
	return DRV_OK;
}
