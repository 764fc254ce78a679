/*
 * markers.c — deploy markers (see include/drover/markers.h): one sorted
 * set by time, each member the marker's JSON; added by the API and
 * droverctl, listed with the history, changed and deleted by id. Old
 * markers go when a new one is added, so the set holds at most 14 days.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/json_out.h"
#include "drover/markers.h"
#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"
#include "drover/task.h"

static void markers_key(char *buf, size_t size, const char *prefix)
{
	drv_fmt(buf, size, "%smarkers", prefix);
}

/* The characters (code points) of UTF-8 text \p s. */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

drv_err_t drv_marker_check(const drv_marker_t *m, char *errstr,
			   size_t errstr_size)
{
	if (!m->label || !*m->label)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "label: required");
	if (!drv_jout_utf8_ok(m->label) ||
	    chars(m->label) > DRV_MARKER_LABEL_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "label: at most %d characters of UTF-8",
				 DRV_MARKER_LABEL_MAX);
	if (m->note && (!drv_jout_utf8_ok(m->note) ||
			chars(m->note) > DRV_MARKER_NOTE_MAX))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "note: at most %d characters of UTF-8",
				 DRV_MARKER_NOTE_MAX);
	if (m->actor && !drv_jout_utf8_ok(m->actor))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "actor: not UTF-8");
	return DRV_OK;
}

drv_err_t drv_marker_add(redisContext *c, const char *key_prefix,
			 const drv_marker_t *m, int64_t now_ms, json_t **out,
			 char *errstr, size_t errstr_size)
{
	char key[512], id[DRV_ID_LEN + 1], score[24], floor_s[24];
	int64_t at = m->at_ms ? m->at_ms : now_ms;
	json_t *o;
	char *text;
	redisReply *r = NULL;
	drv_err_t err;

	if ((err = drv_marker_check(m, errstr, errstr_size)))
		return err;
	drv_id_new(id, now_ms);
	o = json_pack("{s:s, s:I, s:s}", "id", id, "at_ms", (json_int_t)at,
		      "label", m->label);
	if (o && ((m->note && json_object_set_new(o, "note",
						  json_string(m->note))) ||
		  (m->actor && json_object_set_new(o, "actor",
						   json_string(m->actor))) ||
		  json_object_set_new(o, "created_ms",
				      json_integer(now_ms)))) {
		json_decref(o);
		o = NULL;
	}
	if (!o || !(text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		json_decref(o);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	markers_key(key, sizeof(key), key_prefix);
	drv_fmt(score, sizeof(score), "%lld", (long long)at);
	drv_fmt(floor_s, sizeof(floor_s), "(%lld",
		(long long)(now_ms - DRV_MARKER_KEEP_MS));
	redisAppendCommand(c, "ZADD %s %s %s", key, score, text);
	redisAppendCommand(c, "ZREMRANGEBYSCORE %s -inf %s", key, floor_s);
	free(text);
	err = DRV_OK;
	for (int k = 0; k < 2; k++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			json_decref(o);
			return drv_redis_fail(c, NULL, "ZADD", errstr,
					      errstr_size);
		}
		if (!err && r->type == REDIS_REPLY_ERROR)
			err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
					"redis %s: %s", k ? "ZREMRANGEBYSCORE"
					: "ZADD", r->str);
		freeReplyObject(r);
	}
	if (err) {
		json_decref(o);
		return err;
	}
	if (out)
		*out = o;
	else
		json_decref(o);
	return DRV_OK;
}

drv_err_t drv_marker_list(redisContext *c, const char *key_prefix,
			  int64_t since_ms, int64_t until_ms, json_t **out,
			  char *errstr, size_t errstr_size)
{
	char key[512], lo[24], hi[24], max[24];
	json_t *list = json_array();
	redisReply *r = NULL;
	drv_err_t err;

	if (!list)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	markers_key(key, sizeof(key), key_prefix);
	drv_fmt(lo, sizeof(lo), "%lld", (long long)since_ms);
	drv_fmt(hi, sizeof(hi), "%lld", (long long)until_ms);
	drv_fmt(max, sizeof(max), "%d", DRV_MARKER_LIST_MAX);
	if ((err = drv_redis_cmd(c, &r, errstr, errstr_size,
				 "ZRANGEBYSCORE %s %s %s LIMIT 0 %s", key, lo,
				 hi, max))) {
		json_decref(list);
		return err;
	}
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
	     i++) {
		const redisReply *e = r->element[i];
		json_t *m;

		if (e->type != REDIS_REPLY_STRING ||
		    !(m = json_loadb(e->str, e->len, 0, NULL)))
			continue;
		if (json_is_object(m) &&
		    json_is_string(json_object_get(m, "label")) &&
		    json_is_integer(json_object_get(m, "at_ms")))
			json_array_append_new(list, m);
		else
			json_decref(m);
	}
	freeReplyObject(r);
	*out = list;
	return DRV_OK;
}

/* Marker \p id of the set \p key: its member's text in *member (malloc'd)
 * and its JSON in *m; DRV_ERR_NOT_FOUND when no member has that id. */
static drv_err_t marker_find(redisContext *c, const char *key,
			     const char *id, char **member, json_t **m,
			     char *errstr, size_t errstr_size)
{
	redisReply *r = NULL;
	drv_err_t err;

	*member = NULL;
	*m = NULL;
	if ((err = drv_redis_cmd(c, &r, errstr, errstr_size,
				 "ZRANGE %s 0 -1", key)))
		return err;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements &&
	     !*m; i++) {
		const redisReply *e = r->element[i];
		json_t *o;

		if (e->type != REDIS_REPLY_STRING ||
		    !(o = json_loadb(e->str, e->len, 0, NULL)))
			continue;
		if (json_is_object(o) && json_is_string(json_object_get(o,
			"id")) && !strcmp(json_string_value(json_object_get(o,
			"id")), id) && (*member = strndup(e->str, e->len)))
			*m = o;
		else
			json_decref(o);
	}
	freeReplyObject(r);
	if (!*m)
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no marker '%.64s' (kept 14 days)", id);
	return DRV_OK;
}

/* Swap member ARGV[1] for ARGV[2] scored ARGV[3] (ARGV[2] empty: only
 * remove it) if ARGV[1] is still there; drop the markers scored below
 * ARGV[4]. {1} when done, {0} when ARGV[1] was gone. */
static drv_redis_script_t swap_script = DRV_REDIS_SCRIPT_INIT(
	"if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0} end\n"
	"redis.call('ZREM', KEYS[1], ARGV[1])\n"
	"if ARGV[2] ~= '' then\n"
	"  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])\n"
	"  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])\n"
	"end\n"
	"return {1}\n");

/* The new marker: \p m with \p ch's members; NULL when out of memory. */
static json_t *changed(const json_t *m, const drv_marker_change_t *ch,
		       int64_t now_ms)
{
	json_t *o = json_deep_copy(m);
	int bad = !o;

	if (!bad && ch->label)
		bad |= json_object_set_new(o, "label", json_string(ch->label));
	if (!bad && ch->drop_note)
		json_object_del(o, "note");
	else if (!bad && ch->note)
		bad |= json_object_set_new(o, "note", json_string(ch->note));
	if (!bad && ch->at_ms)
		bad |= json_object_set_new(o, "at_ms",
					   json_integer(ch->at_ms));
	if (!bad)
		bad |= json_object_set_new(o, "updated_ms",
					   json_integer(now_ms));
	if (!bad && ch->editor)
		bad |= json_object_set_new(o, "updated_by",
					   json_string(ch->editor));
	else if (!bad)
		json_object_del(o, "updated_by");
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Try to swap marker \p id (\p ch NULL: delete it) up to three times. */
static drv_err_t marker_swap(redisContext *c, const char *key_prefix,
			     const char *id, const drv_marker_change_t *ch,
			     int64_t now_ms, json_t **before, json_t **after,
			     char *errstr, size_t errstr_size)
{
	char key[512], score[24], floor_s[24];
	drv_err_t err = DRV_OK;

	markers_key(key, sizeof(key), key_prefix);
	drv_fmt(floor_s, sizeof(floor_s), "(%lld",
		(long long)(now_ms - DRV_MARKER_KEEP_MS));
	for (int attempt = 0; attempt < 3; attempt++) {
		char *member = NULL, *text = NULL;
		json_t *m = NULL, *o = NULL;
		redisReply *r = NULL;
		const char *argv[5];
		bool done;

		if ((err = marker_find(c, key, id, &member, &m, errstr,
				       errstr_size)))
			return err;
		if (ch) {
			drv_marker_t check = { 0 };

			if (!(o = changed(m, ch, now_ms)) ||
			    !(text = json_dumps(o, JSON_COMPACT |
						JSON_PRESERVE_ORDER))) {
				err = drv_error(errstr, errstr_size,
						DRV_ERR_NOMEM, "out of memory");
				goto next;
			}
			check.label = json_string_value(json_object_get(o,
							"label"));
			check.note = json_string_value(json_object_get(o,
						       "note"));
			if ((err = drv_marker_check(&check, errstr,
						    errstr_size)))
				goto next;
			drv_fmt(score, sizeof(score), "%lld", (long long)
				json_integer_value(json_object_get(o,
								   "at_ms")));
		}
		argv[0] = key;
		argv[1] = member;
		argv[2] = text ? text : "";
		argv[3] = ch ? score : "0";
		argv[4] = floor_s;
		err = drv_redis_script_run(c, &swap_script, 1, 5, argv, 1,
					   "marker script", &r, errstr,
					   errstr_size);
		done = !err && drv_redis_int_at(r, 0) == 1;
		freeReplyObject(r);
		if (done) {
			if (before)
				*before = json_incref(m);
			if (after && o)
				*after = json_incref(o);
		}
next:
		free(member);
		free(text);
		json_decref(m);
		json_decref(o);
		if (err || done)
			return err;
	}
	return drv_error(errstr, errstr_size, DRV_ERR_EXISTS, "marker "
			 "'%.64s' kept changing meanwhile; try again", id);
}

drv_err_t drv_marker_update(redisContext *c, const char *key_prefix,
			    const char *id, const drv_marker_change_t *ch,
			    int64_t now_ms, json_t **before, json_t **after,
			    char *errstr, size_t errstr_size)
{
	return marker_swap(c, key_prefix, id, ch, now_ms, before, after,
			   errstr, errstr_size);
}

drv_err_t drv_marker_delete(redisContext *c, const char *key_prefix,
			    const char *id, json_t **out, char *errstr,
			    size_t errstr_size)
{
	return marker_swap(c, key_prefix, id, NULL, 0, out, NULL, errstr,
			   errstr_size);
}
