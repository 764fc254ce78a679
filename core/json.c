/*
 * json.c — one-line JSON renderings of tasks, events, dead letters and
 * audit records, for `droverctl --json` and `droverctl dlq show`. Payloads
 * (and a dead letter's raw bytes) are embedded as JSON values when they
 * parse as JSON and as base64 otherwise; every time appears in ms and in
 * RFC 3339. Keys come out in a fixed order, and absent optional fields are
 * left out. Built with jansson; returns NULL only when out of memory.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "drover/audit.h"
#include "drover/clock.h"
#include "drover/dead_letter.h"
#include "drover/event.h"
#include "drover/json_out.h"
#include "drover/str.h"
#include "drover/task.h"
#include "codec_internal.h"

/* Set \p key to \p v (a new reference, may be NULL) and note failure. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = false;
}

/* Optional string: left out when NULL or empty. */
static void put_str(json_t *obj, const char *key, const char *s, bool *ok)
{
	if (s && *s)
		put(obj, key, drv_json_str_lossy(s), ok);
}

static void put_int(json_t *obj, const char *key, int64_t n, bool *ok)
{
	put(obj, key, json_integer((json_int_t)n), ok);
}

/* Times RFC 3339 can show: 1970-01-01 up to the end of year 9999. */
#define RFC3339_MAX_MS INT64_C(253402300799999)

/* A time as "<name>_ms" and RFC 3339 "<name>"; left out when 0 unless
 * \p always. A time outside RFC 3339's range (a corrupt or hostile value)
 * only gets its ms. */
static void put_time(json_t *obj, const char *name, int64_t ms, bool always,
		     bool *ok)
{
	char key[64], text[40];

	if (!ms && !always)
		return;
	drv_fmt(key, sizeof(key), "%s_ms", name);
	put_int(obj, key, ms, ok);
	if (ms < 0 || ms > RFC3339_MAX_MS)
		return;
	drv_format_time(ms, text, sizeof(text));
	put(obj, name, json_string(text), ok);
}

/* Bytes as the JSON value they hold ("<name>"), else base64
 * ("<name>_base64"). Left out when empty. */
static void put_bytes(json_t *obj, const char *name, const uint8_t *data,
		      size_t len, bool *ok)
{
	char key[64], *b64;
	json_t *v;

	if (!len)
		return;
	v = json_loadb((const char *)data, len, JSON_DECODE_ANY, NULL);
	if (v) {
		put(obj, name, v, ok);
		return;
	}
	drv_fmt(key, sizeof(key), "%s_base64", name);
	if (!(b64 = drv_base64_encode(data, len))) {
		*ok = false;
		return;
	}
	put(obj, key, json_string(b64), ok);
	free(b64);
}

static json_t *kv_object(const drv_label_t *kv, size_t cnt, bool *ok)
{
	const drv_label_t **sorted = drv__kv_sorted(kv, cnt);
	json_t *obj = json_object();

	if (!obj || (cnt && !sorted)) {
		*ok = false;
		free(sorted);
		json_decref(obj);
		return NULL;
	}
	for (size_t i = 0; i < cnt; i++) {
		const char *key = sorted[i]->key;
		json_t *v, *clean;

		if (!key)
			continue;
		v = drv_json_str_lossy(sorted[i]->value ? sorted[i]->value : "");
		if (!v) {
			*ok = false;
			continue;
		}
		json_incref(v);
		if (json_object_set_new(obj, key, v) != 0) {
			/* not UTF-8: show the key with '?' for such bytes */
			clean = drv_json_str_lossy(key);
			if (!clean || json_object_set(obj,
					json_string_value(clean), v) != 0)
				*ok = false;
			json_decref(clean);
		}
		json_decref(v);
	}
	free(sorted);
	return obj;
}

static char *dump(json_t *obj, bool ok)
{
	char *s = ok && obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	return s;
}

/* --- task ---------------------------------------------------------------- */

static json_t *failure_json(const drv_failure_t *f, bool *ok)
{
	json_t *obj = json_object();

	if (!obj) {
		*ok = false;
		return NULL;
	}
	put_int(obj, "attempt", f->attempt, ok);
	put_time(obj, "time", f->time_ms, true, ok);
	put_str(obj, "worker_id", f->worker_id, ok);
	put(obj, "failure_class",
	    json_string(drv_failure_class_name(f->failure_class)), ok);
	put_str(obj, "message", f->message, ok);
	if (f->exit_code)
		put_int(obj, "exit_code", f->exit_code, ok);
	if (f->http_status)
		put_int(obj, "http_status", f->http_status, ok);
	put_int(obj, "duration_ms", f->duration_ms, ok);
	return obj;
}

/* A failure history, oldest first. */
static json_t *failures_json(const drv_failure_t *f, size_t cnt, bool *ok)
{
	json_t *arr = json_array();

	if (!arr) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < cnt; i++)
		if (json_array_append_new(arr, failure_json(&f[i], ok)) != 0)
			*ok = false;
	return arr;
}

static json_t *origin_json(const drv_origin_t *o, bool *ok)
{
	json_t *obj = json_object();

	if (!obj) {
		*ok = false;
		return NULL;
	}
	put_str(obj, "schedule_id", o->schedule_id, ok);
	put_time(obj, "scheduled", o->scheduled_ms, false, ok);
	put_str(obj, "event_id", o->event_id, ok);
	put_str(obj, "parent_task_id", o->parent_task_id, ok);
	if (o->chain_depth)
		put_int(obj, "chain_depth", o->chain_depth, ok);
	put_str(obj, "dead_letter_id", o->dead_letter_id, ok);
	put_str(obj, "submitted_by", o->submitted_by, ok);
	if (o->fencing_token)
		put(obj, "fencing_token",
		    json_integer((json_int_t)o->fencing_token), ok);
	return obj;
}

static json_t *task_json(const drv_task_t *t, bool *ok)
{
	json_t *obj = json_object(), *origin;

	if (!obj) {
		*ok = false;
		return NULL;
	}
	put_int(obj, "schema_version", t->schema_version, ok);
	put(obj, "id", drv_json_str_lossy(t->id), ok);
	put(obj, "handler", drv_json_str_lossy(t->handler ? t->handler : ""), ok);
	put_int(obj, "priority", t->priority, ok);
	put_int(obj, "attempt", t->attempt, ok);
	put_int(obj, "max_attempts", t->max_attempts, ok);
	put_str(obj, "policy", t->policy, ok);
	put_time(obj, "created", t->created_ms, true, ok);
	put_time(obj, "not_before", t->not_before_ms, false, ok);
	put_time(obj, "deadline", t->deadline_ms, false, ok);
	put_str(obj, "idempotency_key", t->idempotency_key, ok);
	put_str(obj, "key", t->key, ok);
	put(obj, "labels", kv_object(t->labels, t->label_cnt, ok), ok);
	origin = origin_json(&t->origin, ok);
	if (origin && json_object_size(origin))
		put(obj, "origin", origin, ok);
	else
		json_decref(origin);
	if (t->failure_cnt)
		put(obj, "failures",
		    failures_json(t->failures, t->failure_cnt, ok), ok);
	put_bytes(obj, "payload", t->payload, t->payload_len, ok);
	return obj;
}

char *drv_task_to_json(const drv_task_t *t)
{
	bool ok = true;
	json_t *obj = task_json(t, &ok);

	return dump(obj, ok);
}

/* --- event ----------------------------------------------------------------- */

char *drv_event_to_json(const drv_event_t *e)
{
	bool ok = true;
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	put_int(obj, "schema_version", e->schema_version, &ok);
	put(obj, "id", drv_json_str_lossy(e->id ? e->id : ""), &ok);
	put(obj, "type", drv_json_str_lossy(e->type ? e->type : ""), &ok);
	put_str(obj, "source", e->source, &ok);
	put_time(obj, "time", e->time_ms, true, &ok);
	put_str(obj, "content_type", e->content_type, &ok);
	put(obj, "attributes",
	    kv_object(e->attributes, e->attribute_cnt, &ok), &ok);
	put_str(obj, "task_id", e->task_id, &ok);
	put_int(obj, "chain_depth", e->chain_depth, &ok);
	put_bytes(obj, "payload", e->payload, e->payload_len, &ok);
	return dump(obj, ok);
}

/* --- dead letter ------------------------------------------------------------- */

char *drv_dead_letter_to_json(const drv_dead_letter_t *dl)
{
	bool ok = true;
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	put_int(obj, "schema_version", dl->schema_version, &ok);
	put(obj, "id", drv_json_str_lossy(dl->id), &ok);
	put(obj, "reason", json_string(drv_dl_reason_name(dl->reason)), &ok);
	put_str(obj, "detail", dl->detail, &ok);
	put_time(obj, "dead", dl->dead_ms, true, &ok);
	put_str(obj, "source_topic", dl->source_topic, &ok);
	put_int(obj, "source_partition", dl->source_partition, &ok);
	put_int(obj, "source_offset", dl->source_offset, &ok);
	put_str(obj, "worker_id", dl->worker_id, &ok);
	if (dl->task.id[0])
		put(obj, "task", task_json(&dl->task, &ok), &ok);
	put(obj, "failures", failures_json(dl->failures, dl->failure_cnt, &ok),
	    &ok);
	put_bytes(obj, "raw", dl->raw, dl->raw_len, &ok);
	return dump(obj, ok);
}

/* --- audit ----------------------------------------------------------------------- */

char *drv_audit_to_json(const drv_audit_t *a)
{
	bool ok = true;
	json_t *obj = json_object(), *details = NULL;

	if (!obj)
		return NULL;
	put_int(obj, "schema_version", a->schema_version, &ok);
	put(obj, "id", drv_json_str_lossy(a->id), &ok);
	put_time(obj, "time", a->time_ms, true, &ok);
	put_str(obj, "actor", a->actor, &ok);
	put_str(obj, "host", a->host, &ok);
	put(obj, "action", drv_json_str_lossy(a->action ? a->action : ""), &ok);
	put_str(obj, "target", a->target, &ok);
	put(obj, "count", json_integer((json_int_t)a->count), &ok);
	if (a->details_json && *a->details_json)
		details = json_loads(a->details_json, JSON_DECODE_ANY, NULL);
	if (details)
		put(obj, "details", details, &ok);
	else
		put_str(obj, "details_json", a->details_json, &ok);
	put_str(obj, "result", a->result, &ok);
	return dump(obj, ok);
}
