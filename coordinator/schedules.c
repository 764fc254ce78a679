/*
 * schedules.c — the coordinator's schedule set and where each schedule
 * resumes: schedules come and go (config file, reloads, run-time changes),
 * are enabled and disabled, and after a takeover every one resumes from
 * the last fire time handled, kept in Redis (P sched:last), under its
 * catch-up policy (drv_sched_resume()). The leader also keeps each next
 * fire time in P sched:next for `droverctl schedule list`. fire.c fires
 * what this makes due.
 */
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"

/* Last time handled of \p id from Redis; -1 if none or unknown. */
static int64_t redis_last(coord_t *c, const char *id)
{
	char key[512];
	redisReply *r;
	int64_t v = -1;

	coord_key(c, key, sizeof(key), "sched:last");
	r = coord_redis(c, "HGET %s %s", key, id);
	if (r && r->type == REDIS_REPLY_STRING)
		drv_parse_int(r->str, 0, INT64_MAX, &v);
	freeReplyObject(r);
	return v;
}

static void publish_next(coord_t *c, drv_sched_item_t *it)
{
	char key[512], ms[32];

	if (!c->redis)
		return;
	coord_key(c, key, sizeof(key), "sched:next");
	if (it->next_ms == DRV_SCHED_NEVER) {
		freeReplyObject(coord_redis(c, "HDEL %s %s", key,
					    it->conf.name));
		return;
	}
	coord_fmt_ms(ms, sizeof(ms), it->next_ms);
	freeReplyObject(coord_redis(c, "HSET %s %s %s", key, it->conf.name,
				    ms));
}

/* Where \p it starts: from its last time handled (catch-up) when
 * \p catch_up, else from now on. */
static void resume(coord_t *c, drv_sched_item_t *it, bool catch_up,
		   bool publish)
{
	sched_state_t *st = coord_state(it);
	int64_t now = drv_now_ms(), missed = 0, next;
	char m[32];

	if (!it->conf.enabled) {
		drv_sched_set_next(c->sched, it, DRV_SCHED_NEVER);
		return;
	}
	if (catch_up) {
		next = drv_sched_resume(it, st->last_ms, now,
					c->cfg->coordinator.misfire_grace_ms,
					&missed);
	} else {
		next = drv_sched_next_time(it, st->last_ms > now - 1 ?
					   st->last_ms : now - 1);
	}
	drv_sched_set_next(c->sched, it, next);
	if (missed) {
		coord_fmt_ms(m, sizeof(m), missed);
		drv_log_kv(DRV_LOG_WARN, "fire times missed", "schedule",
			   it->conf.name, "missed", m, "catchup",
			   drv_catchup_name(it->conf.catchup), NULL);
	}
	if (publish)
		publish_next(c, it);
}

void fire_resume_all(coord_t *c)
{
	char key[512];
	redisReply *r;
	size_t pending = 0;

	coord_key(c, key, sizeof(key), "sched:last");
	if (!(r = coord_redis(c, "HGETALL %s", key)))
		return;
	for (size_t i = 0; i < drv_sched_count(c->sched); i++)
		coord_state(drv_sched_at(c->sched, i))->last_ms = -1;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY &&
	     i + 1 < r->elements; i += 2) {
		drv_sched_item_t *it = drv_sched_get(c->sched,
						     r->element[i]->str);
		int64_t v;

		if (it && !drv_parse_int(r->element[i + 1]->str, 0,
					 INT64_MAX, &v))
			coord_state(it)->last_ms = v;
	}
	freeReplyObject(r);
	for (size_t i = 0; i < drv_sched_count(c->sched); i++)
		resume(c, drv_sched_at(c->sched, i), true, false);
	/* the next times, pipelined: 100,000 round trips would take seconds */
	coord_key(c, key, sizeof(key), "sched:next");
	freeReplyObject(coord_redis(c, "DEL %s", key));
	for (size_t i = 0; c->redis && i < drv_sched_count(c->sched); i++) {
		drv_sched_item_t *it = drv_sched_at(c->sched, i);
		char ms[32];

		if (it->next_ms == DRV_SCHED_NEVER)
			continue;
		coord_fmt_ms(ms, sizeof(ms), it->next_ms);
		redisAppendCommand(c->redis, "HSET %s %s %s", key,
				   it->conf.name, ms);
		pending++;
	}
	for (size_t i = 0; c->redis && i < pending; i++) {
		redisReply *rr = NULL;

		if (redisGetReply(c->redis, (void **)&rr) != REDIS_OK) {
			coord_redis_lost(c, NULL);
			break;
		}
		freeReplyObject(rr);
	}
	c->resumed = true;
}

void fire_resume(coord_t *c, drv_sched_item_t *it)
{
	if (c->leader && c->resumed)
		resume(c, it, false, true);
}

bool fire_put(coord_t *c, const drv_schedule_conf_t *conf, bool file,
	      const char *json)
{
	drv_sched_item_t *it, *old = drv_sched_get(c->sched, conf->name);
	sched_state_t *st = old ? old->user : NULL;
	bool fresh = !st;
	char err[512];

	if (old && coord_state(old)->file != file) {
		drv_log_kv(DRV_LOG_WARN, "schedule id used twice; the config "
			   "file's wins", "schedule", conf->name, NULL);
		if (!file)
			return false;
	}
	if (fresh && !(st = calloc(1, sizeof(*st)))) {
		drv_log_kv(DRV_LOG_ERROR, "out of memory", NULL);
		return false;
	}
	if (drv_sched_put(c->sched, conf, !file, &it, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "schedule refused", "schedule",
			   conf->name, "error", err, NULL);
		if (fresh)
			free(st);
		return false;
	}
	it->user = st;
	st->file = file;
	st->base_enabled = conf->enabled;
	free(st->json);
	st->json = json ? drv_strdup(json) : NULL;
	if (fresh) {
		st->last_ms = -1;
		if (c->leader && c->resumed) {
			st->last_ms = redis_last(c, conf->name);
			resume(c, it, true, true);
		}
	} else {
		fire_resume(c, it);
	}
	drv_gauge_set(c->obs.schedules, NULL,
		      (int64_t)drv_sched_count(c->sched));
	return true;
}

void coord_state_free(sched_state_t *st)
{
	if (!st)
		return;
	free(st->json);
	free(st->buffered_req);
	free(st);
}

void fire_remove(coord_t *c, const char *name)
{
	void *user = NULL;
	char key[512], id[128];

	/* \p name may be the item's own, which the removal frees */
	drv_strlcpy(id, name, sizeof(id));
	if (!drv_sched_remove(c->sched, id, &user))
		return;
	coord_state_free(user);
	if (c->leader && c->redis) {
		coord_key(c, key, sizeof(key), "sched:next");
		freeReplyObject(coord_redis(c, "HDEL %s %s", key, id));
	}
	drv_gauge_set(c->obs.schedules, NULL,
		      (int64_t)drv_sched_count(c->sched));
}

void fire_set_enabled(coord_t *c, drv_sched_item_t *it, bool on)
{
	if (it->conf.enabled == on)
		return;
	it->conf.enabled = on;
	drv_log_kv(DRV_LOG_INFO, on ? "schedule enabled" :
		   "schedule disabled", "schedule", it->conf.name, NULL);
	if (!on) {
		drv_sched_set_next(c->sched, it, DRV_SCHED_NEVER);
		if (c->leader)
			publish_next(c, it);
		return;
	}
	fire_resume(c, it);
}
