/*
 * breaker_log.c — reading the breakers' transition logs, which the Lua
 * scripts of breaker_redis.c push every transition onto: a breaker's own
 * (newest first, capped at DRV_BREAKER_LOG_MAX, expiring
 * DRV_BREAKER_LOG_KEEP_DAYS after the last one), paged by generation for
 * `droverctl breaker history`, GET /api/v1/breakers/{name}/transitions and
 * the console's timeline; and the feed of every breaker's (capped at
 * DRV_BREAKER_FEED_MAX, each entry numbered), read from a place on by the
 * API's event stream (GET /api/v1/live).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/breaker.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

void drv_breaker_log_key(const drv_config_t *cfg, const char *name,
			 char *buf, size_t size)
{
	/* not "breaker:NAME:log": a breaker may be named "x:log" */
	drv_fmt(buf, size, "%sbreaker-log:%s", cfg->redis.key_prefix, name);
}

/* Parse "AT_MS|FROM|TO|GEN|WHY" into \p t; false when it is not one. */
static bool parse_entry(const char *s, drv_breaker_transition_t *t)
{
	long long v[4];
	char *end;

	for (int i = 0; i < 4; i++) {
		v[i] = strtoll(s, &end, 10);
		if (end == s || *end != '|')
			return false;
		s = end + 1;
	}
	if (v[1] < 0 || v[1] >= DRV_BREAKER_STATE_CNT || v[2] < 0 ||
	    v[2] >= DRV_BREAKER_STATE_CNT)
		return false;
	t->at_ms = v[0];
	t->from = (drv_breaker_state_t)v[1];
	t->to = (drv_breaker_state_t)v[2];
	t->gen = v[3];
	drv_strlcpy(t->why, s, sizeof(t->why));
	return true;
}

drv_err_t drv_breaker_redis_transitions(redisContext *c,
					const drv_config_t *cfg,
					const char *name, int64_t before_gen,
					size_t limit,
					drv_breaker_transition_t *out,
					size_t *cnt, int64_t *next_gen,
					char *errstr, size_t errstr_size)
{
	char key[320];
	redisReply *r;
	drv_breaker_transition_t t;
	size_t i;

	*cnt = 0;
	*next_gen = 0;
	if (limit < 1 || limit > DRV_BREAKER_LOG_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit: 1 to %d", DRV_BREAKER_LOG_MAX);
	drv_breaker_log_key(cfg, name, key, sizeof(key));
	r = redisCommand(c, "LRANGE %s 0 %d", key, DRV_BREAKER_LOG_MAX - 1);
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return drv_redis_fail(c, r, "LRANGE", errstr, errstr_size);
	for (i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING || !parse_entry(e->str, &t) ||
		    (before_gen > 0 && t.gen >= before_gen))
			continue;
		if (*cnt == limit) {
			*next_gen = out[limit - 1].gen;
			break;
		}
		out[(*cnt)++] = t;
	}
	freeReplyObject(r);
	return DRV_OK;
}

json_t *drv_breaker_transition_json(const drv_breaker_transition_t *t)
{
	/* a why cut inside a UTF-8 sequence is no JSON string: shown empty */
	json_t *why = json_string(t->why);

	return json_pack("{s:I, s:s, s:s, s:I, s:o}", "at_ms",
			 (json_int_t)t->at_ms, "from",
			 drv_breaker_state_name(t->from), "to",
			 drv_breaker_state_name(t->to), "gen",
			 (json_int_t)t->gen, "why", why ? why :
			 json_string(""));
}

/* ---- the feed of every breaker's ------------------------------------- */

void drv_breaker_feed_key(const drv_config_t *cfg, char *buf, size_t size)
{
	drv_fmt(buf, size, "%sbreaker-feed", cfg->redis.key_prefix);
}

/* Parse "SEQ|NAME|" and a log entry into \p e; false when it is not one. */
static bool parse_feed_entry(const char *s, drv_breaker_feed_entry_t *e)
{
	const char *bar;
	char *end;
	size_t len;

	e->seq = strtoll(s, &end, 10);
	if (end == s || *end != '|' || e->seq < 1)
		return false;
	s = end + 1;
	if (!(bar = strchr(s, '|')) || (len = (size_t)(bar - s)) < 1 ||
	    len > DRV_BREAKER_NAME_MAX)
		return false;
	memcpy(e->name, s, len);
	e->name[len] = '\0';
	return parse_entry(bar + 1, &e->t);
}

/* The place of the feed's entry \p r (a string), 0 when none. */
static int64_t feed_seq(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

drv_err_t drv_breaker_feed_read(redisContext *c, const drv_config_t *cfg,
				int64_t after, size_t limit,
				drv_breaker_feed_entry_t *out, size_t *cnt,
				int64_t *head, bool *lost, char *errstr,
				size_t errstr_size)
{
	char key[320];
	redisReply *r;
	int64_t want;
	size_t n = 0;

	*cnt = 0;
	*head = 0;
	*lost = false;
	if (limit < 1 || limit > DRV_BREAKER_FEED_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit: 1 to %d", DRV_BREAKER_FEED_MAX);
	drv_breaker_feed_key(cfg, key, sizeof(key));
	r = redisCommand(c, "LINDEX %s 0", key);
	if (!r || (r->type != REDIS_REPLY_STRING &&
		   r->type != REDIS_REPLY_NIL))
		return drv_redis_fail(c, r, "LINDEX", errstr, errstr_size);
	*head = feed_seq(r);
	freeReplyObject(r);
	if (after < 0 || *head == after)
		return DRV_OK;
	if (*head < after) {
		*lost = true;  /* the feed started again */
		return DRV_OK;
	}
	/* a few more than are new: some may have come since the LINDEX */
	want = *head - after + 8;
	if (want > DRV_BREAKER_FEED_MAX)
		want = DRV_BREAKER_FEED_MAX;
	r = redisCommand(c, "LRANGE %s 0 %" PRId64, key, want - 1);
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return drv_redis_fail(c, r, "LRANGE", errstr, errstr_size);
	/* newest first: count the new ones, keep the newest limit */
	while (n < r->elements && feed_seq(r->element[n]) > after)
		n++;
	if (n)
		*head = feed_seq(r->element[0]);
	*lost = n > limit || n < (size_t)(*head - after);
	if (n > limit)
		n = limit;
	for (size_t i = n; i-- > 0;)
		if (parse_feed_entry(r->element[i]->str, &out[*cnt]))
			(*cnt)++;
	freeReplyObject(r);
	return DRV_OK;
}

json_t *drv_breaker_feed_entry_json(const drv_breaker_feed_entry_t *e)
{
	json_t *o = drv_breaker_transition_json(&e->t);

	if (o && (json_object_set_new(o, "seq", json_integer(e->seq)) ||
		  json_object_set_new(o, "name", json_string(e->name)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
