/*
 * codec_event.c — the event: its life in memory, its protobuf wire form
 * (`drover.v1.Event`) and the plain-JSON form producers may write instead
 * (drv_event_decode_any), so that anything able to put a JSON object with a
 * "type" on a Kafka topic — even kcat — can trigger tasks. Whatever the
 * bytes, decoding yields a valid event or DRV_ERR_DECODE with a reason,
 * never a crash.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/event.h"
#include "drover/str.h"
#include "drover/task.h"
#include "codec_internal.h"
#include "event.pb-c.h"

#define JSON_CONTENT_TYPE "application/json"

/* --- lifecycle -------------------------------------------------------------- */

void drv_event_init(drv_event_t *e)
{
	memset(e, 0, sizeof(*e));
	e->schema_version = DRV_SCHEMA_VERSION;
}

void drv_event_release(drv_event_t *e)
{
	free(e->id);
	free(e->type);
	free(e->source);
	free(e->payload);
	free(e->content_type);
	drv__kv_free(&e->attributes, &e->attribute_cnt);
	free(e->task_id);
	drv_event_init(e);
}

drv_err_t drv_event_new_json(drv_event_t *e, const char *type,
			     const char *source, const json_t *payload)
{
	char id[DRV_ID_LEN + 1], *text;
	drv_err_t rc = DRV_ERR_NOMEM;

	drv_event_init(e);
	e->time_ms = drv_now_ms();
	drv_id_new(id, e->time_ms);
	e->id = drv_strdup(id);
	e->type = drv_strdup(type);
	e->source = drv_strdup(source);
	e->content_type = drv_strdup(JSON_CONTENT_TYPE);
	if (e->id && e->type && e->source && e->content_type &&
	    (text = json_dumps(payload, JSON_COMPACT))) {
		rc = drv_event_set_payload(e, text, strlen(text));
		free(text);
	}
	return rc;
}

drv_err_t drv_event_set_payload(drv_event_t *e, const void *data, size_t len)
{
	return drv__bytes_set(&e->payload, &e->payload_len, data, len);
}

drv_err_t drv_event_set_attribute(drv_event_t *e, const char *key,
				  const char *value)
{
	return drv__kv_set(&e->attributes, &e->attribute_cnt, key, value);
}

const char *drv_event_attribute(const drv_event_t *e, const char *key)
{
	return drv__kv_get(e->attributes, e->attribute_cnt, key);
}

drv_err_t drv_event_validate(const drv_event_t *e, char *errstr,
			     size_t errstr_size)
{
	char why[96];
	const char *bad;

	if (!e->id || !*e->id)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "event has no id");
	if (!e->type || !*e->type)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "event %s has no type", e->id);
	if (e->attribute_cnt && !e->attributes)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "event %s has %zu attributes but no array",
				 e->id, e->attribute_cnt);
	if (e->attribute_cnt > DRV_LABELS_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "event %s has %zu attributes, more than %d",
				 e->id, e->attribute_cnt, DRV_LABELS_MAX);
	for (size_t i = 0; i < e->attribute_cnt; i++) {
		const drv_label_t *a = &e->attributes[i];

		if (!a->key || !*a->key)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "event %s has an attribute with an "
					 "empty key", e->id);
		if ((bad = drv__label_problem(a->key, a->value, why,
					      sizeof(why))))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "event %s: attribute %zu %s", e->id,
					 i, bad);
	}
	return DRV_OK;
}

/* A fresh ULID on the heap, for events that arrive without an id. */
static char *new_id(void)
{
	char *id = malloc(DRV_ID_LEN + 1);

	if (id)
		drv_id_new(id, drv_now_ms());
	return id;
}

/* --- protobuf --------------------------------------------------------------------- */

drv_err_t drv_event_encode(const drv_event_t *e, uint8_t **out,
			   size_t *out_len, char *errstr, size_t errstr_size)
{
	Drover__V1__Event m;
	Drover__V1__Attribute *attrs = NULL, **ptrs = NULL;
	const drv_label_t **sorted = NULL;
	drv_err_t err;

	if ((err = drv_event_validate(e, errstr, errstr_size)) != DRV_OK)
		return err;

	drover__v1__event__init(&m);
	m.schema_version = DRV_SCHEMA_VERSION;
	m.id = drv__pb_str(e->id);
	m.type = drv__pb_str(e->type);
	m.source = drv__pb_str(e->source);
	m.time_ms = e->time_ms;
	m.payload.data = e->payload_len ? e->payload : NULL;
	m.payload.len = e->payload_len;
	m.content_type = drv__pb_str(e->content_type);
	m.task_id = drv__pb_str(e->task_id);
	m.chain_depth = e->chain_depth;

	if (e->attribute_cnt) {
		sorted = drv__kv_sorted(e->attributes, e->attribute_cnt);
		attrs = calloc(e->attribute_cnt, sizeof(*attrs));
		ptrs = calloc(e->attribute_cnt, sizeof(*ptrs));
		if (!sorted || !attrs || !ptrs) {
			err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					"out of memory encoding event %s",
					e->id);
			goto out;
		}
		for (size_t i = 0; i < e->attribute_cnt; i++) {
			drover__v1__attribute__init(&attrs[i]);
			attrs[i].key = drv__pb_str(sorted[i]->key);
			attrs[i].value = drv__pb_str(sorted[i]->value);
			ptrs[i] = &attrs[i];
		}
		m.n_attributes = e->attribute_cnt;
		m.attributes = ptrs;
	}
	err = drv__pb_pack(&m.base, out, out_len, errstr, errstr_size);
out:
	free(sorted);
	free(attrs);
	free(ptrs);
	return err;
}

static drv_err_t event_from_pb(const Drover__V1__Event *m, drv_event_t *e,
			       char *errstr, size_t errstr_size)
{
	const char *what = drover__v1__event__descriptor.name;
	char why[256];
	drv_err_t err = DRV_OK;

	e->schema_version = m->schema_version;
	e->time_ms = m->time_ms;
	e->chain_depth = m->chain_depth;
	if (!drv__pb_dup(m->id, &e->id) ||
	    !drv__pb_dup(m->type, &e->type) ||
	    !drv__pb_dup(m->source, &e->source) ||
	    !drv__pb_dup(m->content_type, &e->content_type) ||
	    !drv__pb_dup(m->task_id, &e->task_id) ||
	    (!e->id && !(e->id = new_id())))
		err = DRV_ERR_NOMEM;
	if (!err && m->payload.len)
		err = drv_event_set_payload(e, m->payload.data, m->payload.len);
	if (!err && (err = drv__pairs_from_pb(
			     (const void *const *)m->attributes,
			     m->n_attributes,
			     offsetof(Drover__V1__Attribute, key),
			     offsetof(Drover__V1__Attribute, value),
			     &e->attributes, &e->attribute_cnt, what,
			     "attribute", errstr, errstr_size)) != DRV_OK) {
		drv_event_release(e);
		return err;
	}
	if (err) {
		drv_event_release(e);
		return drv_error(errstr, errstr_size, err,
				 "out of memory decoding %s", what);
	}
	if (drv_event_validate(e, why, sizeof(why)) != DRV_OK) {
		drv_event_release(e);
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: %s", what, why);
	}
	return DRV_OK;
}

drv_err_t drv_event_decode(const void *buf, size_t len, drv_event_t *e,
			   char *errstr, size_t errstr_size)
{
	Drover__V1__Event *m;
	drv_err_t err;

	drv_event_release(e);
	if (len > DRV_MESSAGE_MAX)
		return drv__too_long(drover__v1__event__descriptor.name, len,
				     errstr, errstr_size);
	m = drover__v1__event__unpack(NULL, len,
				      buf ? buf : (const void *)"");
	if (!m)
		return drv__pb_unpack_error(&drover__v1__event__descriptor,
					    len, errstr, errstr_size);
	err = event_from_pb(m, e, errstr, errstr_size);
	drover__v1__event__free_unpacked(m, NULL);
	return err;
}

/* --- plain JSON ---------------------------------------------------------------------- */

/* Members with a meaning of their own; the rest may become attributes. */
static bool json_reserved_member(const char *key)
{
	static const char *const reserved[] = {
		"type", "id", "source", "time", "payload",
	};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(key, reserved[i]))
			return true;
	return false;
}

/* An optional string member: absent or null leaves *out NULL. */
static drv_err_t json_opt_string(json_t *root, const char *name, char **out,
				 char *errstr, size_t errstr_size)
{
	json_t *v = json_object_get(root, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return DRV_OK;
	if (!json_is_string(v) || !json_string_length(v))
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "JSON event: member \"%s\" must be a "
				 "non-empty string", name);
	if (!(*out = strdup(json_string_value(v))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory decoding a JSON event");
	return DRV_OK;
}

/* The text of a scalar member as an attribute value: strings as they are,
 * integers in decimal, reals in the shortest form that reads back exactly,
 * booleans as true/false. False for null, arrays and objects. */
static bool json_scalar_text(json_t *v, char *buf, size_t size,
			     const char **out)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*out = json_string_value(v);
		return true;
	case JSON_INTEGER:
		drv_fmt(buf, size, "%" JSON_INTEGER_FORMAT,
			json_integer_value(v));
		*out = buf;
		return true;
	case JSON_REAL: {
		double d = json_real_value(v);

		for (int prec = 15; prec <= 17; prec++) {
			drv_fmt(buf, size, "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		*out = buf;
		return true;
	}
	case JSON_TRUE:
		*out = "true";
		return true;
	case JSON_FALSE:
		*out = "false";
		return true;
	default:
		return false;
	}
}

static drv_err_t event_from_json_object(json_t *root, drv_event_t *e,
					char *errstr, size_t errstr_size)
{
	json_t *type = json_object_get(root, "type");
	json_t *time = json_object_get(root, "time");
	json_t *payload = json_object_get(root, "payload");
	const char *key;
	json_t *value;
	char *body;
	drv_err_t err;

	if (!type)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "JSON event has no \"type\" member");
	if (!json_is_string(type) || !json_string_length(type))
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "JSON event: member \"type\" must be a "
				 "non-empty string");
	if ((err = json_opt_string(root, "id", &e->id, errstr,
				   errstr_size)) != DRV_OK ||
	    (err = json_opt_string(root, "source", &e->source, errstr,
				   errstr_size)) != DRV_OK)
		return err;

	if (!time || json_is_null(time)) {
		e->time_ms = drv_now_ms();
	} else if (json_is_integer(time)) {
		e->time_ms = json_integer_value(time);
	} else if (json_is_real(time) && isfinite(json_real_value(time)) &&
		   fabs(json_real_value(time)) < 9.2e18) {
		e->time_ms = (int64_t)json_real_value(time);
	} else {
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "JSON event: member \"time\" must be a number "
				 "of milliseconds since the epoch");
	}

	if (!(e->type = strdup(json_string_value(type))) ||
	    !(e->content_type = strdup(JSON_CONTENT_TYPE)) ||
	    (!e->id && !(e->id = new_id())))
		goto nomem;

	body = json_dumps(payload ? payload : root,
			  JSON_COMPACT | JSON_ENCODE_ANY);
	if (!body)
		goto nomem;
	err = drv_event_set_payload(e, body, strlen(body));
	free(body);
	if (err)
		goto nomem;

	/* Members are unique (jansson keeps the last of a repeated one), so
	 * the attributes are appended without a search: linear in the
	 * members. */
	if (drv__kv_reserve(&e->attributes, json_object_size(root)) != DRV_OK)
		goto nomem;
	json_object_foreach(root, key, value) {
		char num[64], why[96];
		const char *text;

		if (!*key || json_reserved_member(key) ||
		    !json_scalar_text(value, num, sizeof(num), &text) ||
		    drv__label_problem(key, text, why, sizeof(why)))
			continue; /* not an attribute; still in the payload */
		if (drv__kv_append(e->attributes, &e->attribute_cnt, key,
				   text) != DRV_OK)
			goto nomem;
	}
	return DRV_OK;

nomem:
	return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			 "out of memory decoding a JSON event");
}

static drv_err_t event_from_json(const char *buf, size_t len, drv_event_t *e,
				 char *errstr, size_t errstr_size)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr);
	drv_err_t err;

	if (!root)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "JSON event (%zu bytes) does not parse: %s "
				 "at line %d column %d", len, jerr.text,
				 jerr.line, jerr.column);
	if (!json_is_object(root))
		err = drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				"JSON event must be an object");
	else if (json_object_size(root) > DRV_LABELS_MAX + 5)
		err = drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				"JSON event has %zu members, more than %d "
				"(attributes and the 5 reserved ones); put "
				"the data under \"payload\"",
				json_object_size(root), DRV_LABELS_MAX + 5);
	else
		err = event_from_json_object(root, e, errstr, errstr_size);
	json_decref(root);
	if (err)
		drv_event_release(e);
	return err;
}

drv_err_t drv_event_decode_any(const void *buf, size_t len, drv_event_t *e,
			       char *errstr, size_t errstr_size)
{
	const char *p = buf;
	size_t i = 0;

	drv_event_release(e);
	if (len > DRV_MESSAGE_MAX)
		return drv__too_long("event", len, errstr, errstr_size);
	while (p && i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
				p[i] == '\r'))
		i++;
	if (p && i < len && p[i] == '{')
		return event_from_json(p, len, e, errstr, errstr_size);
	return drv_event_decode(buf, len, e, errstr, errstr_size);
}
