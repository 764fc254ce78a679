/*
 * schedule_conf.c — a schedule's settings outside the YAML file: deep copy,
 * and the JSON form run-time schedules have in Redis. The JSON members are
 * the keys of a `schedules:` entry and go through the same table rows and
 * checks as the file (config_sched.c), so a schedule made with droverctl is
 * exactly as valid as one written in drover.yaml.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_int.h"
#include "drover/schedule.h"
#include "drover/str.h"

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*fail = true;
	return d;
}

drv_err_t drv_schedule_conf_copy(drv_schedule_conf_t *dst,
				 const drv_schedule_conf_t *src)
{
	bool fail = false;

	*dst = *src;
	dst->name = dup_or_null(src->name, &fail);
	dst->cron = dup_or_null(src->cron, &fail);
	dst->timezone = dup_or_null(src->timezone, &fail);
	dst->start = dup_or_null(src->start, &fail);
	dst->end = dup_or_null(src->end, &fail);
	dst->task.handler = dup_or_null(src->task.handler, &fail);
	dst->task.payload = dup_or_null(src->task.payload, &fail);
	dst->task.policy = dup_or_null(src->task.policy, &fail);
	dst->task.labels = NULL;
	dst->task.label_cnt = 0;
	if (!fail && src->task.label_cnt) {
		dst->task.labels = calloc(src->task.label_cnt,
					  sizeof(drv_kv_t));
		fail = !dst->task.labels;
		for (size_t i = 0; !fail && i < src->task.label_cnt; i++) {
			dst->task.labels[i].key =
				dup_or_null(src->task.labels[i].key, &fail);
			dst->task.labels[i].value =
				dup_or_null(src->task.labels[i].value, &fail);
			dst->task.label_cnt = i + 1;
		}
	}
	if (!fail)
		return DRV_OK;
	drv_schedule_conf_release(dst);
	return DRV_ERR_NOMEM;
}

void drv_schedule_conf_release(drv_schedule_conf_t *c)
{
	if (!c)
		return;
	drv_cfg_schedule_release(c);
	memset(c, 0, sizeof(*c));
}

/* A JSON scalar's text as a user would write it in YAML. */
static char *scalar_text(const json_t *j, bool *null)
{
	*null = json_is_null(j);
	if (json_is_string(j))
		return strdup(json_string_value(j));
	if (json_is_true(j))
		return strdup("true");
	if (json_is_false(j))
		return strdup("false");
	if (*null)
		return strdup("");
	return json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* Free the texts a value built by to_value() holds. */
static void value_free(drv_cfg_value_t *v, drv_cfg_value_t *items)
{
	free((char *)v->text);
	for (size_t i = 0; items && i < v->item_cnt; i++)
		free((char *)items[i].text);
	free(items);
}

/* Member \p j of row \p k as a drv_cfg_value_t. */
static drv_err_t to_value(const drv_cfg_key_t *k, const char *name,
			  const json_t *j, drv_cfg_value_t *v,
			  drv_cfg_value_t **items, char *errstr,
			  size_t errstr_size)
{
	const char *key;
	json_t *val;
	size_t i = 0;

	*items = NULL;
	if (json_is_object(j) && k->type == DRV_CFG_STRMAP) {
		v->kind = DRV_CFG_MAPPING;
		v->item_cnt = 2 * json_object_size(j);
		if (!(*items = calloc(v->item_cnt + 1, sizeof(**items))))
			return DRV_ERR_NOMEM;
		json_object_foreach((json_t *)j, key, val) {
			drv_cfg_value_t *kv = &(*items)[i], *vv = kv + 1;

			kv->kind = vv->kind = DRV_CFG_SCALAR;
			kv->where = vv->where = v->where;
			kv->text = strdup(key);
			if (json_is_object(val) || json_is_array(val))
				vv->kind = DRV_CFG_MAPPING;
			vv->text = scalar_text(val, &vv->null);
			if (!kv->text || !vv->text)
				return DRV_ERR_NOMEM;
			i += 2;
		}
		v->items = *items;
		return DRV_OK;
	}
	v->kind = DRV_CFG_SCALAR;
	if ((k->flags & DRV_CFG_JSON) && !json_is_string(j))
		v->text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	else if (json_is_object(j) || json_is_array(j))
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a single value, got %s",
				    json_is_object(j) ? "an object" :
				    "a list");
	else
		v->text = scalar_text(j, &v->null);
	return v->text ? DRV_OK : DRV_ERR_NOMEM;
}

drv_err_t drv_schedule_conf_from_json(const char *id, const char *json,
				      drv_schedule_conf_t *out,
				      char *errstr, size_t errstr_size)
{
	drv_cfg_where_t where = { .origin = "json" };
	drv_cfg_where_t vw[DRV_CFG_HANDLER_KEY_MAX];
	bool given[DRV_CFG_HANDLER_KEY_MAX] = { false };
	json_error_t je;
	json_t *root, *val;
	const char *key;
	char name[160];
	drv_err_t err = DRV_OK;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < DRV_CFG_HANDLER_KEY_MAX; i++)
		vw[i] = where;
	if (!id || !drv_name_valid(id))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "invalid schedule id '%.100s' (use 1 to 64 "
				 "of a-z 0-9 _ . -)", id ? id : "");
	if (!(root = json_loads(json ? json : "", JSON_ALLOW_NUL, &je)) ||
	    !json_is_object(root)) {
		json_decref(root);
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "schedule %s: not a JSON object", id);
	}
	if (!(out->name = strdup(id)))
		err = DRV_ERR_NOMEM;
	for (size_t i = 0; !err && i < drv_cfg_schedule_key_cnt; i++) {
		const drv_cfg_key_t *k = &drv_cfg_schedule_keys[i];
		drv_cfg_value_t v = { .kind = DRV_CFG_SCALAR, .text = k->def };

		if (k->def)
			err = drv_cfg_parse(k, k->name, &v, out, errstr,
					    errstr_size);
	}
	json_object_foreach(root, key, val) {
		const drv_cfg_key_t *k;
		drv_cfg_value_t v = { .where = where }, *items = NULL;
		drv_cfg_suggest_t s;
		size_t sid;

		if (err)
			break;
		drv_fmt(name, sizeof(name), "schedules.%s.%s", id, key);
		k = drv_cfg_find(drv_cfg_schedule_keys,
				 drv_cfg_schedule_key_cnt, key);
		if (!k) {
			drv_cfg_suggest_init(&s, key);
			for (size_t i = 0; i < drv_cfg_schedule_key_cnt; i++)
				drv_cfg_suggest_add(&s,
					drv_cfg_schedule_keys[i].name, i);
			err = drv_cfg_suggestion(&s, &sid) ?
			      drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
					"unknown key '%s' (did you mean "
					"'%s'?)", name,
					drv_cfg_schedule_keys[sid].name) :
			      drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
					"unknown key '%s'", name);
			break;
		}
		err = to_value(k, name, val, &v, &items, errstr, errstr_size);
		if (err == DRV_ERR_NOMEM)
			drv_error(errstr, errstr_size, err, "out of memory");
		if (!err)
			err = drv_cfg_parse(k, name, &v, out, errstr,
					    errstr_size);
		given[k - drv_cfg_schedule_keys] = true;
		value_free(&v, items);
	}
	json_decref(root);
	if (!err)
		err = drv_cfg_check_schedule(out, given, vw, &where, errstr,
					     errstr_size);
	if (err)
		drv_schedule_conf_release(out);
	return err;
}

char *drv_schedule_conf_to_json(const drv_schedule_conf_t *c)
{
	json_t *o = json_object(), *labels = json_object(), *payload = NULL;
	char *text;

	if (!o || !labels) {
		json_decref(o);
		json_decref(labels);
		return NULL;
	}
	for (size_t i = 0; i < c->task.label_cnt; i++)
		json_object_set_new(labels, c->task.labels[i].key,
				    json_string(c->task.labels[i].value));
	if (c->task.payload)
		payload = json_loads(c->task.payload, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_object_set_new(o, "cron", json_string(c->cron));
	json_object_set_new(o, "timezone", json_string(c->timezone ?
						       c->timezone : "UTC"));
	json_object_set_new(o, "enabled", json_boolean(c->enabled));
	if (c->start)
		json_object_set_new(o, "start", json_string(c->start));
	if (c->end)
		json_object_set_new(o, "end", json_string(c->end));
	json_object_set_new(o, "jitter", json_integer(c->jitter_ms));
	json_object_set_new(o, "overlap",
			    json_string(drv_overlap_name(c->overlap)));
	json_object_set_new(o, "catchup",
			    json_string(drv_catchup_name(c->catchup)));
	json_object_set_new(o, "catchup_window",
			    json_integer(c->catchup_window_ms));
	json_object_set_new(o, "handler", json_string(c->task.handler));
	if (payload)
		json_object_set_new(o, "payload", payload);
	json_object_set_new(o, "priority", json_integer(c->task.priority));
	if (c->task.policy)
		json_object_set_new(o, "policy", json_string(c->task.policy));
	json_object_set_new(o, "max_attempts",
			    json_integer(c->task.max_attempts));
	json_object_set_new(o, "deadline",
			    json_integer(c->task.deadline_ms));
	json_object_set_new(o, "labels", labels);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}
