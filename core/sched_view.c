/*
 * sched_view.c — every schedule with its override and statistics, as
 * listed by `droverctl schedule list|show` and GET /api/v1/schedules
 * (drover/sched_view.h).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/sched_view.h"
#include "drover/schedule.h"
#include "drover/str.h"

/* A stored next fire time older than this has no leader keeping it. */
#define NEXT_STALE_MS 5000

static void time_s(json_t *o, const char *key, const char *key_ms,
		   int64_t ms)
{
	char t[32];

	drv_format_time_s(ms / 1000, t, sizeof(t));
	json_object_set_new(o, key_ms, json_integer(ms));
	json_object_set_new(o, key, json_string(t));
}

json_t *drv_sched_row_obj(const drv_sched_row_t *r)
{
	char *def = drv_schedule_conf_to_json(&r->conf);
	json_t *o = json_pack("{s:s, s:s, s:b, s:o}", "id", r->conf.name,
			      "source", r->runtime ? "runtime" : "file",
			      "enabled", r->enabled, "definition",
			      def ? json_loads(def, JSON_ALLOW_NUL, NULL) : json_null());
	const drv_sched_stats_t *st = &r->st;
	json_t *s;

	free(def);
	if (!o || !r->have_stats)
		return o;
	s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:b}", "fires", (json_int_t)st->fires,
		      "duplicates", (json_int_t)st->duplicates,
		      "skipped", (json_int_t)st->skipped,
		      "buffered", (json_int_t)st->buffered,
		      "runs", (json_int_t)st->runs,
		      "successes", (json_int_t)st->successes,
		      "failures", (json_int_t)st->failures,
		      "retries", (json_int_t)st->retries,
		      "avg_ms", (json_int_t)st->avg_ms,
		      "p95_ms", (json_int_t)st->p95_ms,
		      "running", st->running);
	if (s && st->last_run_ms) {
		time_s(s, "last_run", "last_run_ms", st->last_run_ms);
		json_object_set_new(s, "last_outcome",
				    json_string(st->last_outcome));
		json_object_set_new(s, "last_task",
				    json_string(st->last_task));
	}
	if (s && st->last_fire_ms)
		time_s(s, "last_fire", "last_fire_ms", st->last_fire_ms);
	if (s && st->next_ms)
		time_s(s, "next", "next_ms", st->next_ms);
	json_object_set_new(o, "stats", s);
	return o;
}

static const char *find_entry(const drv_sched_entry_t *e, size_t n,
			      const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].id, id))
			return e[i].json;
	return NULL;
}

drv_err_t drv_sched_rows(const drv_config_t *cfg, redisContext *c,
			 const char *only, drv_sched_row_t **out, size_t *cnt,
			 char *errstr, size_t errstr_size)
{
	drv_sched_entry_t *e = NULL, *ov = NULL;
	size_t n = 0, on = 0, k = 0;
	drv_sched_t *set = drv_sched_new();
	int64_t now = drv_now_ms();
	char err[512];
	drv_err_t rc = DRV_OK;
	drv_sched_row_t *rows;

	*out = NULL;
	*cnt = 0;
	if (c && (rc = drv_sched_store_list(c, cfg->redis.key_prefix, &e, &n,
					    &ov, &on, NULL, errstr,
					    errstr_size))) {
		c = NULL;  /* no statistics either */
		n = on = 0;
	}
	rows = calloc(cfg->schedule_cnt + n + 1, sizeof(*rows));
	for (size_t i = 0; rows && set && i < cfg->schedule_cnt + n; i++) {
		bool rt = i >= cfg->schedule_cnt;
		const drv_schedule_conf_t *f = rt ? NULL : &cfg->schedules[i];
		drv_sched_row_t *r = &rows[k];
		const char *o;
		drv_sched_item_t *it;

		if (rt) {
			const drv_sched_entry_t *en = &e[i - cfg->schedule_cnt];

			if ((only && strcmp(en->id, only)) ||
			    drv_config_schedule(cfg, en->id) ||
			    drv_schedule_conf_from_json(en->id, en->json,
				&r->conf, err, sizeof(err)))
				continue;
		} else if ((only && strcmp(f->name, only)) ||
			   drv_schedule_conf_copy(&r->conf, f)) {
			continue;
		}
		r->runtime = rt;
		o = find_entry(ov, on, r->conf.name);
		r->enabled = o ? !strcmp(o, "1") : r->conf.enabled;
		if (c)
			r->have_stats = !drv_sched_store_stats(c,
				cfg->redis.key_prefix, r->conf.name, &r->st,
				err, sizeof(err));
		if (r->st.next_ms && r->st.next_ms < now - NEXT_STALE_MS)
			r->st.next_ms = 0;
		if (r->enabled && !r->st.next_ms &&
		    !drv_sched_put(set, &r->conf, rt, &it, err, sizeof(err))) {
			int64_t nx = drv_sched_next_time(it, now);

			r->st.next_ms = nx == DRV_SCHED_NEVER ? 0 : nx;
			r->have_stats = true;
		}
		k++;
	}
	drv_sched_destroy(set);
	drv_sched_entries_free(e, n);
	drv_sched_entries_free(ov, on);
	if (!rows)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	*out = rows;
	*cnt = k;
	return rc;
}

void drv_sched_rows_free(drv_sched_row_t *rows, size_t cnt)
{
	for (size_t i = 0; rows && i < cnt; i++)
		drv_schedule_conf_release(&rows[i].conf);
	free(rows);
}
