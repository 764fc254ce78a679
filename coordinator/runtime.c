/*
 * runtime.c — run-time schedules: `droverctl schedule add|update|delete|
 * enable|disable` write Redis and bump P schedules:version; every
 * coordinator reads the version once a second and, when it changed (or
 * after a reconnect or a config reload), loads the run-time schedules and
 * the enable/disable overrides and brings its set in line. They live in
 * Redis, so they survive a restart of every coordinator.
 */
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/log.h"
#include "drover/sched_store.h"

#define RUNTIME_POLL_MS 1000

static const char *find(const drv_sched_entry_t *e, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].id, id))
			return e[i].json;
	return NULL;
}

static void apply(coord_t *c, const drv_sched_entry_t *e, size_t n,
		  const drv_sched_entry_t *ov, size_t on)
{
	char err[512];

	for (size_t i = 0; i < n; i++) {
		drv_sched_item_t *it = drv_sched_get(c->sched, e[i].id);
		sched_state_t *st = it ? it->user : NULL;
		drv_schedule_conf_t conf;

		if (st && (st->file || (st->json &&
					!strcmp(st->json, e[i].json))))
			continue;
		if (drv_schedule_conf_from_json(e[i].id, e[i].json, &conf,
						err, sizeof(err))) {
			drv_log_kv(DRV_LOG_ERROR, "run-time schedule refused",
				   "schedule", e[i].id, "error", err, NULL);
			continue;
		}
		if (fire_put(c, &conf, false, e[i].json))
			drv_log_kv(DRV_LOG_INFO, st ? "schedule updated" :
				   "schedule added", "schedule", e[i].id,
				   NULL);
		drv_schedule_conf_release(&conf);
	}
	for (size_t i = 0; i < drv_sched_count(c->sched); i++) {
		drv_sched_item_t *it = drv_sched_at(c->sched, i);
		sched_state_t *st = it->user;

		if (!st->file && !find(e, n, it->conf.name)) {
			drv_log_kv(DRV_LOG_INFO, "schedule deleted",
				   "schedule", it->conf.name, NULL);
			fire_remove(c, it->conf.name);
			i--;
		}
	}
	for (size_t i = 0; i < drv_sched_count(c->sched); i++) {
		drv_sched_item_t *it = drv_sched_at(c->sched, i);
		sched_state_t *st = it->user;
		const char *o = find(ov, on, it->conf.name);

		fire_set_enabled(c, it, o ? !strcmp(o, "1") :
				 st->base_enabled);
	}
}

void runtime_tick(coord_t *c, bool force)
{
	int64_t now = drv_mono_ms();
	drv_sched_entry_t *e = NULL, *ov = NULL;
	size_t n = 0, on = 0;
	long long version;
	char err[512];

	if (!c->redis || (!force && now - c->rt_checked < RUNTIME_POLL_MS))
		return;
	c->rt_checked = now;
	if (!force) {   /* the cheap check first */
		char key[512];
		redisReply *r;

		coord_key(c, key, sizeof(key), "schedules:version");
		if (!(r = coord_redis(c, "GET %s", key)))
			return;
		version = r->type == REDIS_REPLY_STRING ?
			  strtoll(r->str, NULL, 10) : 0;
		freeReplyObject(r);
		if (version == c->rt_version)
			return;
	}
	if (drv_sched_store_list(c->redis, c->cfg->redis.key_prefix, &e, &n,
				 &ov, &on, &version, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_WARN, "cannot read run-time schedules",
			   "error", err, NULL);
		if (c->redis->err)
			coord_redis_lost(c, err);
		return;
	}
	if (force || version != c->rt_version) {
		c->rt_version = version;
		apply(c, e, n, ov, on);
	}
	drv_sched_entries_free(e, n);
	drv_sched_entries_free(ov, on);
}
