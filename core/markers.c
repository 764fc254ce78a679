/*
 * markers.c — deploy markers (see include/drover/markers.h): one sorted
 * set by time, each member the marker's JSON; added by the API and
 * droverctl, listed with the history. Old markers go when a new one is
 * added, so the set holds at most 14 days.
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
