/*
 * sched_view.c — every schedule with its override and statistics, as
 * listed by `droverctl schedule list|show` and GET /api/v1/schedules
 * (drover/sched_view.h): all of them, one, or a page in id order, whose
 * statistics alone are read from Redis.
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

/* A schedule that may be listed: the file's (\p file) or a run-time one
 * (\p json) not shadowed by a file schedule of the same id. */
typedef struct cand {
	const char *id;
	const drv_schedule_conf_t *file;
	const char *json;
} cand_t;

static int cmp_cand(const void *x, const void *y)
{
	return strcmp(((const cand_t *)x)->id, ((const cand_t *)y)->id);
}

/* What rows_build() was asked for. */
typedef struct want {
	const char *only;   /* this id only, or NULL */
	const char *after;  /* ids after this one only (a page), or NULL */
	size_t limit;       /* 0: all, in the order file then run-time */
} want_t;

/* The candidates \p w selects, in the order they are listed; *more when
 * a page left some out. NULL when out of memory. */
static cand_t *candidates(const drv_config_t *cfg, const drv_sched_entry_t *e,
			  size_t n, const want_t *w, size_t *cnt, bool *more)
{
	cand_t *v = calloc(cfg->schedule_cnt + n + 1, sizeof(*v));
	size_t k = 0;

	*cnt = 0;
	*more = false;
	for (size_t i = 0; v && i < cfg->schedule_cnt + n; i++) {
		cand_t c = { 0 };

		if (i < cfg->schedule_cnt) {
			c.file = &cfg->schedules[i];
			c.id = c.file->name;
		} else {
			c.id = e[i - cfg->schedule_cnt].id;
			c.json = e[i - cfg->schedule_cnt].json;
			if (drv_config_schedule(cfg, c.id))
				continue;
		}
		if ((w->only && strcmp(c.id, w->only)) ||
		    (w->after && strcmp(c.id, w->after) <= 0))
			continue;
		v[k++] = c;
	}
	if (v && w->limit) {
		/* pages by id, so a schedule added or deleted between two
		 * pages moves no other one across the cursor */
		qsort(v, k, sizeof(*v), cmp_cand);
		if (k > w->limit) {
			k = w->limit;
			*more = true;
		}
	}
	*cnt = k;
	return v;
}

/* Fills \p r for \p cd (its definition and override); false when a
 * run-time definition does not parse (not listed). */
static bool row_fill(const cand_t *cd, const drv_sched_entry_t *ov,
		     size_t on, drv_sched_row_t *r)
{
	const char *o;
	char err[512];

	if (cd->file ? drv_schedule_conf_copy(&r->conf, cd->file) != DRV_OK
		     : drv_schedule_conf_from_json(cd->id, cd->json, &r->conf,
						   err, sizeof(err)) != DRV_OK)
		return false;
	r->runtime = !cd->file;
	o = find_entry(ov, on, r->conf.name);
	r->enabled = o ? !strcmp(o, "1") : r->conf.enabled;
	return true;
}

/* The statistics of the \p n rows, read in one round trip (none when
 * \p c is NULL or the read fails), and each enabled row's next fire time:
 * the leader's, or computed here when it keeps none. */
static void rows_stats(const drv_config_t *cfg, redisContext *c,
		       drv_sched_row_t *rows, size_t n, drv_sched_t *set,
		       int64_t now)
{
	const char **ids = malloc((n + 1) * sizeof(*ids));
	drv_sched_stats_t *st = calloc(n + 1, sizeof(*st));
	bool have = false;
	drv_sched_item_t *it;
	char err[512];

	for (size_t i = 0; ids && i < n; i++)
		ids[i] = rows[i].conf.name;
	if (c && ids && st)
		have = !drv_sched_store_stats(c, cfg->redis.key_prefix, ids, n,
					      st, err, sizeof(err));
	for (size_t i = 0; i < n; i++) {
		drv_sched_row_t *r = &rows[i];

		if (have) {
			r->st = st[i];
			r->have_stats = true;
		}
		if (r->st.next_ms && r->st.next_ms < now - NEXT_STALE_MS)
			r->st.next_ms = 0;
		if (r->enabled && !r->st.next_ms &&
		    !drv_sched_put(set, &r->conf, r->runtime, &it, err,
				   sizeof(err))) {
			int64_t nx = drv_sched_next_time(it, now);

			r->st.next_ms = nx == DRV_SCHED_NEVER ? 0 : nx;
			r->have_stats = true;
		}
	}
	free(ids);
	free(st);
}

/* The enable/disable overrides of the \p n candidates of a page. */
static drv_err_t page_overrides(const drv_config_t *cfg, redisContext *c,
				const cand_t *cands, size_t n,
				drv_sched_entry_t **ov, size_t *on,
				char *errstr, size_t errstr_size)
{
	const char **ids = malloc((n + 1) * sizeof(*ids));
	drv_err_t rc;

	if (!ids)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < n; i++)
		ids[i] = cands[i].id;
	rc = drv_sched_store_overrides(c, cfg->redis.key_prefix, ids, n, ov,
				       on, errstr, errstr_size);
	free(ids);
	return rc;
}

/* The rows \p w asks for; statistics are read for those rows only. On a
 * page with more after it, \p next gets the last id the page covered. */
static drv_err_t rows_build(const drv_config_t *cfg, redisContext *c,
			    const want_t *w, drv_sched_row_t **out,
			    size_t *cnt, char *next, size_t next_size,
			    char *errstr, size_t errstr_size)
{
	drv_sched_entry_t *e = NULL, *ov = NULL;
	size_t n = 0, on = 0, k = 0, cn = 0;
	drv_sched_t *set = drv_sched_new();
	int64_t now = drv_now_ms();
	drv_err_t rc = DRV_OK;
	drv_sched_row_t *rows = NULL;
	cand_t *cands;
	bool more;

	*out = NULL;
	*cnt = 0;
	if (next && next_size)
		next[0] = '\0';
	/* a page reads its share of the run-time schedules: as many as
	 * it shows, and those the file's may shadow */
	if (c && (rc = w->limit ?
		  drv_sched_store_page(c, cfg->redis.key_prefix, w->after,
				       w->limit + cfg->schedule_cnt + 1, &e,
				       &n, errstr, errstr_size) :
		  drv_sched_store_list(c, cfg->redis.key_prefix, &e, &n, &ov,
				       &on, NULL, errstr, errstr_size))) {
		c = NULL;  /* no statistics either */
		n = on = 0;
	}
	cands = candidates(cfg, e, n, w, &cn, &more);
	if (c && cands && w->limit &&
	    (rc = page_overrides(cfg, c, cands, cn, &ov, &on, errstr,
				 errstr_size)))
		c = NULL;
	if (cands)
		rows = calloc(cn + 1, sizeof(*rows));
	for (size_t i = 0; rows && i < cn; i++)
		if (row_fill(&cands[i], ov, on, &rows[k]))
			k++;
	if (rows && set)
		rows_stats(cfg, c, rows, k, set, now);
	if (rows && more && next && next_size)
		drv_strlcpy(next, cands[cn - 1].id, next_size);
	free(cands);
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

drv_err_t drv_sched_rows(const drv_config_t *cfg, redisContext *c,
			 const char *only, drv_sched_row_t **out, size_t *cnt,
			 char *errstr, size_t errstr_size)
{
	want_t w = { .only = only };

	return rows_build(cfg, c, &w, out, cnt, NULL, 0, errstr,
			  errstr_size);
}

drv_err_t drv_sched_rows_page(const drv_config_t *cfg, redisContext *c,
			      const char *cursor, size_t limit,
			      drv_sched_row_t **out, size_t *cnt, char *next,
			      size_t next_size, char *errstr,
			      size_t errstr_size)
{
	want_t w = { .after = cursor && *cursor ? cursor : NULL,
		     .limit = limit };

	*out = NULL;
	*cnt = 0;
	if (next_size)
		next[0] = '\0';
	if (!limit || limit > DRV_SCHED_PAGE_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit must be 1 to %d", DRV_SCHED_PAGE_MAX);
	if (w.after && !drv_name_valid(w.after))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "bad cursor '%.64s' (a schedule id: 1 to 64 "
				 "of a-z 0-9 _ . -)", w.after);
	return rows_build(cfg, c, &w, out, cnt, next, next_size, errstr,
			  errstr_size);
}

void drv_sched_rows_free(drv_sched_row_t *rows, size_t cnt)
{
	for (size_t i = 0; rows && i < cnt; i++)
		drv_schedule_conf_release(&rows[i].conf);
	free(rows);
}
