/*
 * task_json.c — a task submission in JSON (drover/submit_json.h) into a
 * drv_task_t, with the same checks `droverctl task submit` makes on its
 * flags, and each refusal naming the field it is about.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/str.h"
#include "drover/submit_json.h"

/* The largest integer every JSON reader holds exactly (2^53 - 1). */
#define DRV_JSON_INT_MAX INT64_C(9007199254740991)

typedef struct ctx {
	char  *pointer, *errstr;
	size_t pointer_size, errstr_size;
} ctx_t;

static drv_err_t bad(ctx_t *x, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static drv_err_t bad(ctx_t *x, const char *field, const char *fmt, ...)
{
	va_list ap;

	drv_fmt(x->pointer, x->pointer_size, "%s%s", *field ? "/" : "", field);
	va_start(ap, fmt);
	if (x->errstr_size)
		vsnprintf(x->errstr, x->errstr_size, fmt, ap);
	va_end(ap);
	return DRV_ERR_INVALID;
}

/* A string field into *dst (replacing it); absent leaves it. */
static drv_err_t take_string(ctx_t *x, json_t *o, const char *field,
			     char **dst)
{
	json_t *v = json_object_get(o, field);

	if (!v)
		return DRV_OK;
	if (!json_is_string(v) || !json_string_length(v))
		return bad(x, field, "%s must be a non-empty string", field);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(x, field, "%s holds a NUL character", field);
	free(*dst);
	if (!(*dst = drv_strdup(json_string_value(v))))
		return DRV_ERR_NOMEM;
	return DRV_OK;
}

/* An integer in [min, max], written 3 or 3.0 (JSON does not tell them
 * apart). */
static bool int_in(json_t *v, int64_t min, int64_t max, int64_t *out)
{
	double d = json_real_value(v);

	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (json_is_real(v) && d == floor(d) && d >= (double)min &&
		 d <= (double)max)
		*out = (int64_t)d;
	else
		return false;
	return *out >= min && *out <= max;
}

static drv_err_t take_int(ctx_t *x, json_t *o, const char *field,
			  int64_t min, int64_t max, uint32_t *dst)
{
	json_t *v = json_object_get(o, field);
	int64_t n;

	if (!v)
		return DRV_OK;
	if (!int_in(v, min, max, &n))
		return bad(x, field, "%s must be an integer from %lld to %lld",
			   field, (long long)min, (long long)max);
	*dst = (uint32_t)n;
	return DRV_OK;
}

/* The durations a submission takes, as its OpenAPI schema says: up to four
 * groups of 1 to 9 digits and a unit, so no sum can overflow. */
static bool duration_text_ok(const char *p)
{
	int groups = 0;

	while (*p && groups < 4) {
		size_t digits = strspn(p, "0123456789");

		if (digits < 1 || digits > 9)
			return false;
		p += digits;
		if (!strncmp(p, "ms", 2))
			p += 2;
		else if (*p && strchr("smhd", *p))
			p++;
		else
			return false;
		groups++;
	}
	return !*p && groups > 0;
}

/* "30s" or whole milliseconds up to 2^53 - 1, into *ms (0 when absent). */
static drv_err_t take_duration(ctx_t *x, json_t *o, const char *field,
			       int64_t *ms)
{
	json_t *v = json_object_get(o, field);

	*ms = 0;
	if (!v)
		return DRV_OK;
	if (int_in(v, 0, DRV_JSON_INT_MAX, ms))
		return DRV_OK;
	if (json_is_string(v) && duration_text_ok(json_string_value(v)) &&
	    !drv_parse_duration(json_string_value(v), ms))
		return DRV_OK;
	return bad(x, field, "%s must be a duration such as \"30s\" or "
		   "\"1h30m\" (at most four groups of up to 9 digits and a "
		   "unit: ms, s, m, h, d), or whole milliseconds", field);
}

/* An object of strings (task labels, event attributes) given to \p set
 * (drv_task_set_label or drv_event_set_attribute) one by one. */
static drv_err_t take_map(ctx_t *x, json_t *o, const char *field, void *obj,
			  drv_err_t (*set)(void *obj, const char *k,
					   const char *v))
{
	json_t *map = json_object_get(o, field), *v;
	const char *k;

	if (!map)
		return DRV_OK;
	if (!json_is_object(map))
		return bad(x, field, "%s must be an object of strings", field);
	json_object_foreach(map, k, v) {
		char at[300];

		drv_fmt(at, sizeof(at), "%s/%s", field, k);
		if (!*k)
			return bad(x, field, "a key of %s is empty", field);
		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return bad(x, at, "%s must be a string without NUL "
				   "characters", at);
		if (set(obj, k, json_string_value(v)))
			return DRV_ERR_NOMEM;
	}
	return DRV_OK;
}

static drv_err_t set_label(void *t, const char *k, const char *v)
{
	return drv_task_set_label(t, k, v);
}

static drv_err_t set_attribute(void *e, const char *k, const char *v)
{
	return drv_event_set_attribute(e, k, v);
}

/* Refuse a field of \p o not in \p known (NULL-terminated). */
static drv_err_t only_fields(ctx_t *x, json_t *o, const char *const *known)
{
	json_t *v;
	const char *k;

	json_object_foreach(o, k, v) {
		size_t i = 0;

		while (known[i] && strcmp(known[i], k))
			i++;
		if (!known[i])
			return bad(x, k, "unknown field '%.100s'", k);
	}
	return DRV_OK;
}

/* "payload": any JSON value, kept as its compact text through \p set. */
static drv_err_t take_payload(json_t *o, void *obj,
			      drv_err_t (*set)(void *, const void *, size_t))
{
	json_t *payload = json_object_get(o, "payload");
	char *text;
	drv_err_t err;

	if (!payload)
		return DRV_OK;
	if (!(text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY)))
		return DRV_ERR_NOMEM;
	err = set(obj, text, strlen(text));
	free(text);
	return err;
}

static drv_err_t set_task_payload(void *t, const void *p, size_t n)
{
	return drv_task_set_payload(t, p, n);
}

static drv_err_t set_event_payload(void *e, const void *p, size_t n)
{
	return drv_event_set_payload(e, p, n);
}

static const char *const task_fields[] = {
	"handler", "payload", "priority", "key", "idempotency_key",
	"max_attempts", "policy", "delay", "deadline", "labels", NULL
};

drv_err_t drv_task_from_json(const json_t *in, const drv_config_t *cfg,
			     int64_t now_ms, drv_task_t *t,
			     char *pointer, size_t pointer_size,
			     char *errstr, size_t errstr_size)
{
	ctx_t x = { pointer, errstr, pointer_size, errstr_size };
	json_t *o = (json_t *)in;
	int64_t delay, deadline;
	drv_err_t err;

	drv_strlcpy(pointer, "", pointer_size);
	if (!json_is_object(o))
		return bad(&x, "", "a task must be a JSON object");
	if ((err = only_fields(&x, o, task_fields)))
		return err;
	if (!json_object_get(o, "handler"))
		return bad(&x, "handler", "handler is required");
	if ((err = take_string(&x, o, "handler", &t->handler)) ||
	    (err = take_int(&x, o, "priority", DRV_PRIORITY_MIN,
			    DRV_PRIORITY_MAX, &t->priority)) ||
	    (err = take_string(&x, o, "key", &t->key)) ||
	    (err = take_string(&x, o, "idempotency_key",
			       &t->idempotency_key)) ||
	    (err = take_int(&x, o, "max_attempts", 1, 1000,
			    &t->max_attempts)) ||
	    (err = take_string(&x, o, "policy", &t->policy)) ||
	    (err = take_duration(&x, o, "delay", &delay)) ||
	    (err = take_duration(&x, o, "deadline", &deadline)) ||
	    (err = take_map(&x, o, "labels", t, set_label)))
		return err;
	if (cfg && cfg->handler_cnt && !drv_config_handler(cfg, t->handler))
		return bad(&x, "handler", "no handler '%.100s' in the config",
			   t->handler);
	if (cfg && t->policy && !drv_config_policy(cfg, t->policy))
		return bad(&x, "policy", "no retry policy '%.100s'",
			   t->policy);
	if ((err = take_payload(o, t, set_task_payload)))
		return err;
	t->created_ms = now_ms;
	drv_id_new(t->id, now_ms);
	if (delay)
		t->not_before_ms = now_ms + delay;
	if (deadline)
		t->deadline_ms = now_ms + deadline;
	if ((err = drv_task_validate(t, errstr, errstr_size)))
		drv_strlcpy(pointer, "", pointer_size);
	return err;
}

static const char *const event_fields[] = {
	"type", "payload", "source", "id", "attributes", NULL
};

drv_err_t drv_event_from_json(const json_t *in, const char *source,
			      int64_t now_ms, drv_event_t *e,
			      char *pointer, size_t pointer_size,
			      char *errstr, size_t errstr_size)
{
	ctx_t x = { pointer, errstr, pointer_size, errstr_size };
	json_t *o = (json_t *)in;
	char id[DRV_ID_LEN + 1];
	drv_err_t err;

	drv_strlcpy(pointer, "", pointer_size);
	if (!json_is_object(o))
		return bad(&x, "", "an event must be a JSON object");
	if ((err = only_fields(&x, o, event_fields)))
		return err;
	if (!json_object_get(o, "type"))
		return bad(&x, "type", "type is required");
	if ((err = take_string(&x, o, "type", &e->type)) ||
	    (err = take_string(&x, o, "source", &e->source)) ||
	    (err = take_string(&x, o, "id", &e->id)) ||
	    (err = take_map(&x, o, "attributes", e, set_attribute)) ||
	    (err = take_payload(o, e, set_event_payload)))
		return err;
	e->time_ms = now_ms;
	if (!e->source && source && !(e->source = drv_strdup(source)))
		return DRV_ERR_NOMEM;
	if (!e->id) {
		drv_id_new(id, now_ms);
		if (!(e->id = drv_strdup(id)))
			return DRV_ERR_NOMEM;
	}
	if (!(e->content_type = drv_strdup("application/json")))
		return DRV_ERR_NOMEM;
	if ((err = drv_event_validate(e, errstr, errstr_size)))
		drv_strlcpy(pointer, "", pointer_size);
	return err;
}
