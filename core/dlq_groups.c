/*
 * dlq_groups.c — reading the DLQ failure groups from their index in Redis
 * (include/drover/dlq_groups.h): a page of groups by last seen behind a
 * cursor, and one group with its samples. Each step is one pipelined round
 * trip: the ids of a batch from the sorted set, then every group's hash
 * and samples.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/dlq.h"
#include "drover/dlq_groups.h"
#include "drover/json_out.h"
#include "drover/redis_cmd.h"
#include "drover/state.h"
#include "drover/str.h"

#define KEY_MAX 1200
/** Samples shown per group in a page (drv_dlq_group_get() shows all). */
#define PAGE_SAMPLES 5

/* One walk over a sorted set of groups. */
typedef struct walk {
	redisContext *c;
	const drv_config_t *cfg;
	const char *class;
	size_t limit, scanned;
	json_t *groups;
	int64_t score;   /* position: the last group looked at */
	char    id[DRV_DLQ_GROUP_ID_LEN + 1];
	bool    full;    /* limit groups taken */
	char   *errstr;
	size_t  errstr_size;
} walk_t;

static bool set_time(json_t *o, const char *name, const char *ms_name,
		     int64_t ms)
{
	char t[40];

	drv_format_time(ms, t, sizeof(t));
	return !json_object_set_new(o, ms_name, json_integer(ms)) &&
	       !json_object_set_new(o, name, json_string(t));
}

static int64_t int_field(const redisReply *h, const char *name)
{
	const char *s = drv_redis_hash_field(h, name);
	int64_t v = 0;

	if (s)
		drv_parse_int(s, INT64_MIN, INT64_MAX, &v);
	return v;
}

/* Field \p name of hash reply \p h as a JSON string ("" when absent). */
static json_t *hstr(const redisReply *h, const char *name)
{
	const char *s = drv_redis_hash_field(h, name);

	return drv_json_str_lossy(s ? s : "");
}

/* The group object of hash \p h and samples list \p s; NULL when out of
 * memory. */
static json_t *group_obj(const char *id, const redisReply *h,
			 const redisReply *s)
{
	static const char *const strs[] = { "handler", "class", "message",
					    "sample_message" };
	json_t *o = json_object(), *samples = json_array();
	bool ok = o && samples &&
		  !json_object_set_new(o, "id", json_string(id));

	for (size_t i = 0; ok && i < sizeof(strs) / sizeof(strs[0]); i++)
		ok = !json_object_set_new(o, strs[i], hstr(h, strs[i]));
	ok = ok && !json_object_set_new(o, "count",
					json_integer(int_field(h, "count"))) &&
	     set_time(o, "first_seen", "first_seen_ms",
		      int_field(h, "first_seen")) &&
	     set_time(o, "last_seen", "last_seen_ms",
		      int_field(h, "last_seen"));
	for (size_t i = 0; ok && s && s->type == REDIS_REPLY_ARRAY &&
	     i < s->elements; i++) {
		/* "<dead letter id> <task id>" */
		char v[2 * DRV_STATE_KEY_MAX + 2], *sp;
		json_t *item;

		drv_strlcpy(v, s->element[i]->str ? s->element[i]->str : "",
			    sizeof(v));
		if ((sp = strchr(v, ' ')))
			*sp++ = '\0';
		item = json_object();
		ok = item && !json_object_set_new(item, "id",
						  drv_json_str_lossy(v)) &&
		     !json_object_set_new(item, "task_id",
					  drv_json_str_lossy(sp ? sp : "")) &&
		     !json_array_append(samples, item);
		json_decref(item);
	}
	ok = ok && !json_object_set(o, "samples", samples);
	json_decref(samples);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Read the hashes and samples of the \p n groups \p ids (one pipeline)
 * and append those that match to the page, until it is full; the walk's
 * position moves to the last one looked at, *used says how many were. */
static drv_err_t take(walk_t *w, char **ids, const int64_t *scores,
		      size_t n, size_t *used)
{
	char key[KEY_MAX], skey[KEY_MAX + 16];
	drv_err_t rc = DRV_OK;

	*used = 0;
	for (size_t i = 0; i < n; i++) {
		drv_dlq_group_key_name(w->cfg->redis.key_prefix, ids[i], key,
				       sizeof(key));
		drv_fmt(skey, sizeof(skey), "%s:samples", key);
		redisAppendCommand(w->c, "HGETALL %s", key);
		redisAppendCommand(w->c, "LRANGE %s 0 %d", skey,
				   PAGE_SAMPLES - 1);
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *h = NULL, *s = NULL;
		const char *cls;

		if (redisGetReply(w->c, (void **)&h) != REDIS_OK ||
		    redisGetReply(w->c, (void **)&s) != REDIS_OK) {
			freeReplyObject(h);
			return drv_redis_fail(w->c, NULL, "dlq groups",
					      w->errstr, w->errstr_size);
		}
		if (!rc && !w->full) {
			/* an expired hash (the set not trimmed yet) is
			 * passed over */
			cls = drv_redis_hash_field(h, "class");
			if (cls && (!w->class || !strcmp(w->class, cls))) {
				json_t *o = group_obj(ids[i], h, s);

				if (!o || json_array_append_new(w->groups, o))
					rc = drv_error(w->errstr,
						       w->errstr_size,
						       DRV_ERR_NOMEM,
						       "out of memory");
				w->full = json_array_size(w->groups) ==
					  w->limit;
			}
			w->score = scores[i];
			drv_strlcpy(w->id, ids[i], sizeof(w->id));
			(*used)++;
		}
		freeReplyObject(h);
		freeReplyObject(s);
	}
	w->scanned += *used;
	return rc;
}

/* The next batch of the walk after (w->score, w->id): with \p ties the
 * groups of exactly that score whose id sorts before w->id, else up to
 * \p n with a lower score. Hands them to take(); *cnt says how many the
 * set gave, *used how many were looked at. */
static drv_err_t step(walk_t *w, const char *set, bool ties, size_t n,
		      size_t *cnt, size_t *used)
{
	char *ids[DRV_DLQ_GROUPS_MAX + 1];
	int64_t scores[DRV_DLQ_GROUPS_MAX + 1];
	char hi[32], lo[32], lim[16];
	redisReply *r = NULL;
	size_t k = 0;
	drv_err_t rc;

	if (w->score == INT64_MAX)
		drv_strlcpy(hi, "+inf", sizeof(hi));
	else
		drv_fmt(hi, sizeof(hi), "%s%" PRId64, ties ? "" : "(",
			w->score);
	drv_fmt(lo, sizeof(lo), "%s", ties ? hi : "-inf");
	drv_fmt(lim, sizeof(lim), "%zu", n);
	rc = drv_redis_cmd(w->c, &r, w->errstr, w->errstr_size,
			   "ZREVRANGEBYSCORE %s %s %s WITHSCORES LIMIT 0 %s",
			   set, hi, lo, lim);
	if (rc)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY)
		return drv_redis_fail(w->c, r, "dlq groups", w->errstr,
				      w->errstr_size);
	*cnt = r->elements / 2;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *id = r->element[i]->str;
		int64_t sc = drv_redis_int_at(r, i + 1);

		if (!id || !drv_dlq_group_id_valid(id) ||
		    (ties && strcmp(id, w->id) >= 0))
			continue;
		ids[k] = r->element[i]->str;
		scores[k++] = sc;
	}
	rc = take(w, ids, scores, k, used);
	freeReplyObject(r);
	return rc;
}

static bool parse_cursor(const char *s, walk_t *w)
{
	const char *dash = strrchr(s, '-');
	char num[32];
	int64_t v;

	if (!dash || (size_t)(dash - s) >= sizeof(num) ||
	    !drv_dlq_group_id_valid(dash + 1))
		return false;
	memcpy(num, s, (size_t)(dash - s));
	num[dash - s] = '\0';
	if (drv_parse_int(num, 0, INT64_MAX - 1, &v))
		return false;
	w->score = v;
	drv_strlcpy(w->id, dash + 1, sizeof(w->id));
	return true;
}

drv_err_t drv_dlq_groups_page(redisContext *c, const drv_config_t *cfg,
			      const char *handler, const char *class,
			      const char *cursor, size_t limit,
			      drv_dlq_groups_t *out, char *errstr,
			      size_t errstr_size)
{
	walk_t w = { .c = c, .cfg = cfg, .class = class, .limit = limit,
		     .score = INT64_MAX, .errstr = errstr,
		     .errstr_size = errstr_size };
	char set[KEY_MAX], next[64];
	size_t cnt = 0, used = 0;
	bool more = true;
	drv_err_t rc = DRV_OK;

	memset(out, 0, sizeof(*out));
	if (!limit || limit > DRV_DLQ_GROUPS_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit must be 1..%d", DRV_DLQ_GROUPS_MAX);
	if (cursor && *cursor && !parse_cursor(cursor, &w))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "bad cursor '%s'", cursor);
	if (handler)
		drv_fmt(set, sizeof(set), "%sdlq:groups:handler:%s",
			cfg->redis.key_prefix, handler);
	else
		drv_fmt(set, sizeof(set), "%sdlq:groups",
			cfg->redis.key_prefix);
	if (!(w.groups = out->groups = json_array()))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if (w.score != INT64_MAX)
		/* the groups of the cursor's own score are few: one step */
		rc = step(&w, set, true, DRV_DLQ_GROUPS_MAX, &cnt, &used);
	while (!rc && !w.full && w.scanned < DRV_DLQ_GROUPS_SCAN) {
		size_t want = limit - json_array_size(w.groups) + 1;

		rc = step(&w, set, false, want, &cnt, &used);
		if (!rc && cnt < want && used == cnt) {
			more = false;   /* the set ends on this page */
			break;
		}
	}
	if (rc || !more)
		return rc;
	drv_fmt(next, sizeof(next), "%" PRId64 "-%s", w.score, w.id);
	if (!(out->next = drv_strdup(next)))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	return DRV_OK;
}

void drv_dlq_groups_release(drv_dlq_groups_t *g)
{
	json_decref(g->groups);
	free(g->next);
	memset(g, 0, sizeof(*g));
}

/* Each sample of group \p o gets "resubmitted_task_id": the task its
 * resubmission mark holds (drover/dlq.h), or null; and "discarded": its
 * mark is a discard mark; one MGET. */
static drv_err_t add_marks(redisContext *c, const drv_config_t *cfg,
			   json_t *o, char *errstr, size_t errstr_size)
{
	json_t *samples = json_object_get(o, "samples"), *sm;
	const char *ids[DRV_DLQ_GROUP_SAMPLES];
	char marks[DRV_DLQ_GROUP_SAMPLES][DRV_ID_LEN + 1];
	size_t n = 0, i;
	drv_err_t rc;

	json_array_foreach(samples, i, sm)
		if (n < DRV_DLQ_GROUP_SAMPLES)
			ids[n++] = json_string_value(json_object_get(sm, "id"));
	if (!n)
		return DRV_OK;
	if ((rc = drv_dlq_marks_get(c, cfg, ids, n, marks, errstr,
				    errstr_size)))
		return rc;
	for (i = 0; i < n; i++) {
		bool discarded = drv_dlq_mark_discarded(marks[i]);

		if (json_object_set_new(json_array_get(samples, i),
					"resubmitted_task_id",
					marks[i][0] && !discarded ?
					json_string(marks[i]) : json_null()) ||
		    json_object_set_new(json_array_get(samples, i),
					"discarded", json_boolean(discarded)))
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
	}
	return DRV_OK;
}

drv_err_t drv_dlq_group_get(redisContext *c, const drv_config_t *cfg,
			    const char *id, json_t **out, char *errstr,
			    size_t errstr_size)
{
	char key[KEY_MAX], skey[KEY_MAX + 16];
	redisReply *h = NULL, *s = NULL;
	drv_err_t rc;

	if (!drv_dlq_group_id_valid(id))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "'%s' is not a group id (%d hex digits)", id,
				 DRV_DLQ_GROUP_ID_LEN);
	drv_dlq_group_key_name(cfg->redis.key_prefix, id, key, sizeof(key));
	drv_fmt(skey, sizeof(skey), "%s:samples", key);
	rc = drv_redis_cmd(c, &h, errstr, errstr_size, "HGETALL %s", key);
	if (!rc)
		rc = drv_redis_cmd(c, &s, errstr, errstr_size, "LRANGE %s 0 -1",
				   skey);
	if (!rc && (h->type != REDIS_REPLY_ARRAY || !h->elements))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
			       "no group '%s'", id);
	if (!rc && !(*out = group_obj(id, h, s)))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	if (!rc && (rc = add_marks(c, cfg, *out, errstr, errstr_size))) {
		json_decref(*out);
		*out = NULL;
	}
	freeReplyObject(h);
	freeReplyObject(s);
	return rc;
}
