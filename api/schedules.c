/*
 * schedules.c — /api/v1/schedules: every schedule (the config file's and
 * the run-time ones in Redis) with its statistics, one by id, and enable /
 * disable, which the leading coordinator picks up from Redis, run-time
 * schedules added, changed and deleted, and a schedule fired now (queued
 * for the leading coordinator). The same core calls as `droverctl
 * schedule list|show|enable|disable|add|update|delete|trigger`.
 *
 * A definition in a body is checked here against exactly what the OpenAPI
 * document says (sched_fields[] and the Schedule* schemas below), a subset
 * of what the config file takes that the core always accepts: the cron
 * forms without ranges or names, durations in milliseconds, no start/end
 * (droverctl takes every form). Then the core checks it as it checks the
 * file's.
 */
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/fire_times.h"
#include "drover/sched_edit.h"
#include "drover/sched_view.h"
#include "drover/str.h"

/* The rows of drv_sched_rows() (\p only set) or of one page of
 * drv_sched_rows_page() (\p limit > 0), or NULL with the problem replied. */
static drv_sched_row_t *rows_of(api_call_t *call, const char *only,
				const char *cursor, size_t limit, size_t *cnt,
				char *next)
{
	redisContext *c = api_redis(call);
	drv_sched_row_t *rows = NULL;
	char err[512];
	drv_err_t rc;

	*cnt = 0;
	if (!c)
		return NULL;
	rc = limit ? drv_sched_rows_page(call->api->cfg, c, cursor, limit,
					 &rows, cnt, next,
					 DRV_SCHED_CURSOR_SIZE, err,
					 sizeof(err))
		   : drv_sched_rows(call->api->cfg, c, only, &rows, cnt, err,
				    sizeof(err));
	if (rc) {
		drv_sched_rows_free(rows, *cnt);
		if (rc == DRV_ERR_INVALID) {
			api_problem(call, 400, NULL, "%s", err);
			return NULL;
		}
		if (rc != DRV_ERR_NOMEM)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return NULL;
	}
	return rows;
}

drv_sched_row_t *api_sched_rows(api_call_t *call, const char *only,
				size_t *cnt)
{
	return rows_of(call, only, NULL, 0, cnt, NULL);
}

drv_sched_row_t *api_sched_page(api_call_t *call, const char *cursor,
				size_t limit, size_t *cnt, char *next)
{
	return rows_of(call, NULL, cursor, limit, cnt, next);
}

typedef struct list_args {
	const char *cursor;
	int64_t limit;
} list_args_t;

static bool list_param(api_call_t *call, const char *name, const char *value,
		       void *arg)
{
	list_args_t *a = arg;
	int page = api_page_param(call, name, value, &a->cursor, &a->limit,
				  DRV_SCHED_PAGE_MAX);

	if (page == 0)
		api_problem(call, 400, NULL, "unknown query parameter '%.40s'",
			    name);
	return page > 0;
}

static void list(api_call_t *call)
{
	list_args_t a = { .limit = DRV_SCHED_PAGE_DEFAULT };
	char next[DRV_SCHED_CURSOR_SIZE];
	drv_sched_row_t *rows;
	size_t n = 0;
	json_t *arr, *o;

	if (!api_query_each(call, list_param, &a) ||
	    !(rows = api_sched_page(call, a.cursor, (size_t)a.limit, &n,
				    next)))
		return;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, drv_sched_row_obj(&rows[i]));
	drv_sched_rows_free(rows, n);
	o = json_pack("{s:o}", "schedules", arr);
	if (o && next[0])
		json_object_set_new(o, "next_cursor", json_string(next));
	api_reply(call, 200, o);
}

/* Whether \p id can be a schedule's; false with the 404 replied. */
static bool id_ok(api_call_t *call, const char *id)
{
	if (drv_name_valid(id))
		return true;
	api_problem(call, 404, NULL, "'%.64s' is not a schedule id (1 to 64 "
		    "of a-z 0-9 _ . -)", id);
	return false;
}

/* Schedule {id}'s row, or NULL with a 404 (or 503) replied. */
static drv_sched_row_t *one(api_call_t *call, size_t *n)
{
	const char *id = call->params[0];
	drv_sched_row_t *rows;

	if (!id_ok(call, id))
		return NULL;
	if (!(rows = api_sched_rows(call, id, n)))
		return NULL;
	if (!*n) {
		drv_sched_rows_free(rows, *n);
		api_problem(call, 404, NULL, "no schedule '%s' (not in the "
			    "config file nor in Redis)", id);
		return NULL;
	}
	return rows;
}

static void show(api_call_t *call)
{
	size_t n = 0;
	drv_sched_row_t *rows = one(call, &n);

	if (!rows)
		return;
	api_reply(call, 200, drv_sched_row_obj(&rows[0]));
	drv_sched_rows_free(rows, n);
}

typedef struct next_args {
	int64_t count, after;
	const char *tz;       /* another zone than the schedule's */
} next_args_t;

static bool next_param(api_call_t *call, const char *name,
		       const char *value, void *arg)
{
	next_args_t *a = arg;

	if (!strcmp(name, "count")) {
		if (!drv_parse_int(value, 1, DRV_FIRE_TIMES_MAX, &a->count))
			return true;
		api_problem(call, 400, "/count", "count: not a number from 1 "
			    "to %d", DRV_FIRE_TIMES_MAX);
	} else if (!strcmp(name, "after")) {
		if (!drv_parse_time(value, &a->after))
			return true;
		api_problem(call, 400, "/after", "after: not an RFC 3339 time "
			    "such as 2026-03-08T01:30:00Z");
	} else if (!strcmp(name, "tz")) {
		a->tz = value;
		return true;
	} else {
		api_problem(call, 400, NULL, "unknown query parameter '%.40s'",
			    name);
	}
	return false;
}

/* GET /schedules/{id}/next: its next fire times, in its zone or tz (the
 * computation of `droverctl schedule next ID`). */
static void next_times(api_call_t *call)
{
	next_args_t a = { .count = 5, .after = drv_now_ms() };
	drv_sched_row_t *rows = NULL;
	drv_fire_time_t *t = NULL;
	drv_cron_t *cron = NULL;
	drv_tz_t *tz = NULL;
	size_t n = 0, got = 0;
	char err[512];
	json_t *arr;

	if (!api_query_each(call, next_param, &a) || !(rows = one(call, &n)))
		return;
	if (drv_tz_load(a.tz ? a.tz : rows[0].conf.timezone, &tz, err,
			sizeof(err))) {
		if (a.tz)
			api_problem(call, 400, "/tz", "tz: %s", err);
		else
			api_problem(call, 503, NULL, "the schedule's zone: %s",
				    err);
	} else if (drv_cron_parse(rows[0].conf.cron, &cron, err,
				  sizeof(err))) {
		api_problem(call, 503, NULL, "the schedule's cron: %s", err);
	} else if (!(t = calloc((size_t)a.count, sizeof(*t)))) {
		api_problem(call, 503, NULL, "out of memory");
	} else {
		got = drv_fire_times(cron, tz, a.after, t, (size_t)a.count);
		arr = json_array();
		for (size_t i = 0; i < got; i++)
			json_array_append_new(arr, drv_fire_time_obj(&t[i],
								     tz));
		api_reply(call, 200, json_pack("{s:s, s:b, s:s, s:s, s:o}",
			  "id", rows[0].conf.name, "enabled", rows[0].enabled,
			  "cron", rows[0].conf.cron, "zone", drv_tz_name(tz),
			  "times", arr));
	}
	free(t);
	drv_cron_free(cron);
	drv_tz_free(tz);
	drv_sched_rows_free(rows, n);
}

/* enable / disable, from the last path segment */
static void set_enabled(api_call_t *call)
{
	bool on = !strcmp(strrchr(call->route->path, '/') + 1, "enable");
	size_t n = 0;
	drv_sched_row_t *rows = one(call, &n);
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!rows)
		return;
	drv_sched_rows_free(rows, n);
	if (!(c = api_redis(call)))
		return;
	if ((rc = drv_sched_store_enable(c, call->api->cfg->redis.key_prefix,
					 call->params[0], on, err,
					 sizeof(err)))) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	if (!api_audit(call, on ? "schedule.enable" : "schedule.disable",
		       call->params[0], 1, NULL, NULL))
		return;
	if ((rows = one(call, &n))) {
		api_reply(call, 200, drv_sched_row_obj(&rows[0]));
		drv_sched_rows_free(rows, n);
	}
}

/* POST /schedules/{id}/trigger: queued for the leader, hence 202 */
static void trigger(api_call_t *call)
{
	const char *id = call->params[0];
	drv_sched_trigger_t t;
	redisContext *c;
	char err[512], when[40];
	drv_err_t rc;

	if (!id_ok(call, id))
		return;
	if (!(c = api_redis(call)))
		return;
	if ((rc = drv_sched_trigger(c, call->api->cfg, id, call->token ?
				    call->token->name : "", &t, err,
				    sizeof(err)))) {
		if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	if (!api_audit(call, "schedule.trigger", id, 1,
		       json_pack("{s:s}", "task_id", t.task_id), NULL))
		return;
	drv_format_time(t.requested_ms, when, sizeof(when));
	api_reply(call, 202, json_pack("{s:s, s:s, s:s, s:I}", "id",
				       t.task_id, "schedule", id,
				       "requested_at", when, "requested_ms",
				       (json_int_t)t.requested_ms));
}

/* ---- add, update, delete ------------------------------------------------ */

/* The cron forms the API takes (a regular expression both JSON Schema and
 * POSIX ERE read alike): an @macro, or five fields of *, * /STEP or
 * numbers, lists of up to four; days of the month up to 28. */
#define CRON_MIN "(\\*(/([1-9]|[1-5][0-9]))?|[0-9]|[1-5][0-9])"
#define CRON_HOUR "(\\*(/([1-9]|1[0-9]|2[0-3]))?|[0-9]|1[0-9]|2[0-3])"
#define CRON_DOM "(\\*|[1-9]|1[0-9]|2[0-8])"
#define CRON_MON "(\\*|[1-9]|1[0-2])"
#define CRON_DOW "(\\*|[0-7])"
#define CRON_RE "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|" \
	CRON_MIN "(," CRON_MIN "){0,3} " CRON_HOUR "(," CRON_HOUR "){0,3} " \
	CRON_DOM "(," CRON_DOM "){0,3} " CRON_MON "(," CRON_MON "){0,3} " \
	CRON_DOW "(," CRON_DOW "){0,3})$"
/* In a JSON string: every backslash doubled. */
#define CRON_MIN_J "(\\\\*(/([1-9]|[1-5][0-9]))?|[0-9]|[1-5][0-9])"
#define CRON_HOUR_J "(\\\\*(/([1-9]|1[0-9]|2[0-3]))?|[0-9]|1[0-9]|2[0-3])"
#define CRON_DOM_J "(\\\\*|[1-9]|1[0-9]|2[0-8])"
#define CRON_MON_J "(\\\\*|[1-9]|1[0-2])"
#define CRON_DOW_J "(\\\\*|[0-7])"
#define CRON_RE_J "^(@(yearly|annually|monthly|weekly|daily|midnight|" \
	"hourly)|" CRON_MIN_J "(," CRON_MIN_J "){0,3} " CRON_HOUR_J "(," \
	CRON_HOUR_J "){0,3} " CRON_DOM_J "(," CRON_DOM_J "){0,3} " CRON_MON_J \
	"(," CRON_MON_J "){0,3} " CRON_DOW_J "(," CRON_DOW_J "){0,3})$"

static regex_t cron_re;
static json_t *zones;         /* the zone names, sorted as in tzdata.zi */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The zones drover can load: tzdata.zi's zones and links whose TZif file
 * is there, and UTC. */
static void init_once(void)
{
	const char *dir = getenv("TZDIR");
	char path[512], line[512], name[256];
	struct stat st;
	FILE *f;

	regcomp(&cron_re, CRON_RE, REG_EXTENDED | REG_NOSUB);
	zones = json_array();
	json_array_append_new(zones, json_string("UTC"));
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	drv_fmt(path, sizeof(path), "%s/tzdata.zi", dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *n = NULL;

		if (line[0] == 'Z' && line[1] == ' ')
			n = line + 2;
		else if (line[0] == 'L' && line[1] == ' ' &&
			 (n = strchr(line + 2, ' ')))
			n++;
		if (!n)
			continue;
		drv_fmt(name, sizeof(name), "%.*s", (int)strcspn(n, " \t\n"),
			n);
		drv_fmt(path, sizeof(path), "%s/%s", dir, name);
		if (strcmp(name, "UTC") && !strstr(name, "..") &&
		    !stat(path, &st) && S_ISREG(st.st_mode))
			json_array_append_new(zones, json_string(name));
	}
	fclose(f);
}

json_t *api_zone_names(void)
{
	pthread_once(&once, init_once);
	return zones;
}

static bool zone_known(const char *name)
{
	size_t i;
	json_t *z;

	json_array_foreach(api_zone_names(), i, z)
		if (!strcmp(json_string_value(z), name))
			return true;
	return false;
}

typedef enum field_kind {
	F_CRON, F_ZONE, F_HANDLER, F_POLICY, F_INT, F_BOOL, F_ENUM, F_PAYLOAD,
	F_LABELS,
} field_kind_t;

static const char *const overlap_enum[] = { "allow", "skip", "buffer_one",
					    NULL };
static const char *const catchup_enum[] = { "skip", "once", "all", NULL };

/* The members a definition may have in a body, as the schemas say. */
static const struct sched_field {
	const char *name;
	field_kind_t kind;
	int64_t lo, hi;
	const char *const *enums;
	bool required;               /* in POST; never null in PATCH */
} sched_fields[] = {
	{ "cron", F_CRON, 0, 0, NULL, true },
	{ "handler", F_HANDLER, 0, 0, NULL, true },
	{ "timezone", F_ZONE, 0, 0, NULL, false },
	{ "payload", F_PAYLOAD, 0, 0, NULL, false },
	{ "priority", F_INT, DRV_PRIORITY_MIN, DRV_PRIORITY_MAX, NULL, false },
	{ "policy", F_POLICY, 0, 0, NULL, false },
	{ "max_attempts", F_INT, 0, 1000, NULL, false },
	{ "deadline", F_INT, 0, 31536000000LL, NULL, false },
	{ "jitter", F_INT, 0, 3600000, NULL, false },
	{ "catchup_window", F_INT, 0, 2592000000LL, NULL, false },
	{ "overlap", F_ENUM, 0, 0, overlap_enum, false },
	{ "catchup", F_ENUM, 0, 0, catchup_enum, false },
	{ "enabled", F_BOOL, 0, 0, NULL, false },
	{ "labels", F_LABELS, 0, 0, NULL, false },
};
#define SCHED_FIELD_CNT (sizeof(sched_fields) / sizeof(sched_fields[0]))

/* A string without NUL, of 1..max bytes. */
static bool text_ok(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) >= 1 &&
	       json_string_length(v) <= max &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

static bool labels_ok(const json_t *v, bool patch)
{
	const char *k;
	json_t *l;

	if (!json_is_object(v) || json_object_size(v) > 1024)
		return false;
	json_object_foreach((json_t *)v, k, l)
		if (!*k || !((patch && json_is_null(l)) ||
			     (json_is_string(l) && strlen(json_string_value(l))
			      == json_string_length(l))))
			return false;
	return true;
}

/* Member \p f of a definition is \p v: false, with the 400 replied, when
 * the schema refuses it. */
static bool field_ok(api_call_t *call, const struct sched_field *f,
		     const json_t *v, bool patch)
{
	const drv_config_t *cfg = call->api->cfg;
	const char *s = json_string_value(v);
	bool ok = false;

	/* in a PATCH, null takes a member out: back to its default */
	if (patch && !f->required && json_is_null(v))
		return true;
	switch (f->kind) {
	case F_CRON:
		ok = text_ok(v, 256) && !regexec(&cron_re, s, 0, NULL, 0);
		break;
	case F_ZONE:
		ok = text_ok(v, 128) && zone_known(s);
		break;
	case F_HANDLER:
		ok = json_is_string(v) && drv_name_valid(s) &&
		     (!cfg->handler_cnt || drv_config_handler(cfg, s));
		break;
	case F_POLICY:
		ok = json_is_string(v) && drv_config_policy(cfg, s);
		break;
	case F_INT:
		/* 10.0 is an integer to JSON Schema, a real to jansson */
		ok = json_is_number(v) && json_number_value(v) >= (double)f->lo
		     && json_number_value(v) <= (double)f->hi &&
		     json_number_value(v) ==
		     (double)(int64_t)json_number_value(v);
		break;
	case F_BOOL:
		ok = json_is_boolean(v);
		break;
	case F_ENUM:
		for (size_t i = 0; json_is_string(v) && f->enums[i] && !ok;
		     i++)
			ok = !strcmp(f->enums[i], s);
		break;
	case F_PAYLOAD:
		ok = json_is_object(v);
		break;
	case F_LABELS:
		ok = labels_ok(v, patch);
		break;
	}
	if (!ok) {
		char pointer[64];

		drv_fmt(pointer, sizeof(pointer), "/%s", f->name);
		api_problem(call, 400, pointer, "%s: not a value the API "
			    "takes (see the ScheduleCreate schema)", f->name);
	}
	return ok;
}

/* Check body \p o (a definition, plus "id" in a POST); false with the
 * 400 replied. */
static bool def_ok(api_call_t *call, json_t *o, bool patch)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		api_problem(call, 400, "", "the body must be an object");
		return false;
	}
	pthread_once(&once, init_once);
	json_object_foreach(o, key, v) {
		size_t i;

		if (!patch && !strcmp(key, "id")) {
			if (json_is_string(v) && drv_name_valid(
				json_string_value(v)) && strlen(
				json_string_value(v)) == json_string_length(v))
				continue;
			api_problem(call, 400, "/id", "id: 1 to 64 of a-z 0-9 "
				    "_ . -");
			return false;
		}
		for (i = 0; i < SCHED_FIELD_CNT &&
		     strcmp(key, sched_fields[i].name); i++)
			;
		if (i == SCHED_FIELD_CNT) {
			api_problem(call, 400, "", "unknown field '%.40s'",
				    key);
			return false;
		}
		if (!field_ok(call, &sched_fields[i], v, patch))
			return false;
	}
	for (size_t i = 0; !patch && i < SCHED_FIELD_CNT; i++)
		if (sched_fields[i].required &&
		    !json_object_get(o, sched_fields[i].name)) {
			api_problem(call, 400, "", "%s is required",
				    sched_fields[i].name);
			return false;
		}
	if (!patch && !json_object_get(o, "id")) {
		api_problem(call, 400, "", "id is required");
		return false;
	}
	/* the core reads 10.0 as text: give it 10 */
	for (size_t i = 0; i < SCHED_FIELD_CNT; i++)
		if (sched_fields[i].kind == F_INT &&
		    json_is_real(v = json_object_get(o, sched_fields[i].name)))
			json_object_set_new(o, sched_fields[i].name,
				json_integer((json_int_t)json_real_value(v)));
	return true;
}

/* The problem of a failed edit: a file schedule is 409. */
static void edit_failed(api_call_t *call, drv_err_t rc, const char *err)
{
	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
		api_redis_lost(call);
	api_problem(call, rc == DRV_ERR_UNSUPPORTED ? 409 : api_status_of(rc),
		    NULL, "%s", err);
}

/* Reply schedule \p id's row with \p status. */
static void reply_row(api_call_t *call, const char *id, unsigned status)
{
	size_t n = 0;
	drv_sched_row_t *rows = api_sched_rows(call, id, &n);

	if (!rows)
		return;
	if (n)
		api_reply(call, status, drv_sched_row_obj(&rows[0]));
	else
		api_problem(call, 404, NULL, "schedule '%s' is gone", id);
	drv_sched_rows_free(rows, n);
}

/* POST /schedules and PATCH /schedules/{id} */
static void put(api_call_t *call)
{
	bool create = !strcmp(call->route->method, "POST");
	json_t *o = api_body_json(call);
	redisContext *c;
	char id[65], err[512], *text = NULL, *stored = NULL;
	drv_err_t rc;

	if (!o)
		return;
	if (!create && !id_ok(call, call->params[0]))
		goto out;
	if (!def_ok(call, o, !create) || !(c = api_redis(call)))
		goto out;
	drv_strlcpy(id, create ? json_string_value(json_object_get(o, "id")) :
		    call->params[0], sizeof(id));
	json_object_del(o, "id");
	text = json_dumps(o, JSON_COMPACT);
	if ((rc = drv_sched_edit_put(c, call->api->cfg, id, create, text,
				     &stored, err, sizeof(err)))) {
		edit_failed(call, rc, err);
		goto out;
	}
	if (api_audit(call, create ? "schedule.add" : "schedule.update", id,
		      1, json_loads(stored, JSON_ALLOW_NUL, NULL), NULL))
		reply_row(call, id, create ? 201 : 200);
out:
	free(text);
	free(stored);
	json_decref(o);
}

/* DELETE /schedules/{id} */
static void del(api_call_t *call)
{
	const char *id = call->params[0];
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id_ok(call, id))
		return;
	if (!(c = api_redis(call)))
		return;
	if ((rc = drv_sched_edit_delete(c, call->api->cfg, id, err,
					sizeof(err)))) {
		edit_failed(call, rc, err);
		return;
	}
	if (api_audit(call, "schedule.delete", id, 1, NULL, NULL))
		api_reply(call, 200, json_pack("{s:s, s:b}", "id", id,
					       "deleted", 1));
}

/* A zone: routes.c lists api_zone_names() as its enum. */
#define ZONE_SCHEMA(T) "{\"type\": " T("string") ", \"description\": " \
	"\"an IANA zone this machine has (default UTC)\"}"

#define ID_DOC "Schedule id"
#define ROW "{\"$ref\": \"#/components/schemas/Schedule\"}"

static const api_query_doc_t list_query[] = {
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500, "
	  "\"default\": 50}", "schedules per page" },
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^[a-z0-9_.-]{1,64}$\"}", "next_cursor of the page before "
	  "(opaque; stable while schedules are added or deleted)" },
	{ NULL, NULL, NULL },
};

static const api_query_doc_t next_query[] = {
	{ "count", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": "
	  "1000, \"default\": 5}", "how many fire times" },
	{ "after", "{\"type\": \"string\", \"format\": \"date-time\"}",
	  "the first fire time after this RFC 3339 time (default now)" },
	{ "tz", "{\"$ref\": \"#/components/schemas/Zone\"}", "an IANA zone "
	  "this machine has, instead of the schedule's (else 400, pointer "
	  "/tz)" },
	{ NULL, NULL, NULL },
};

const api_route_t api_schedule_routes[] = {
	{ .method = "GET", .path = "/api/v1/schedules",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listSchedules", .tag = "schedules",
	  .summary = "The schedules, the config file's and the run-time "
		     "ones merged in id order, a page at a time, each with "
		     "its statistics and next fire time",
	  .query = list_query, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"schedules\"], "
		      "\"properties\": {\"schedules\": {\"type\": \"array\", "
		      "\"items\": " ROW "}, \"next_cursor\": {\"type\": "
		      "\"string\", \"description\": \"the cursor of the next "
		      "page; absent on the last\"}}}",
	  .errors = "400 503" },
	{ .method = "GET", .path = "/api/v1/schedules/{id}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getSchedule", .tag = "schedules",
	  .summary = "One schedule: definition, source, enabled, statistics",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = ROW,
	  .errors = "404 503" },
	{ .method = "GET", .path = "/api/v1/schedules/{id}/next",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = next_times,
	  .op_id = "nextScheduleFires", .tag = "schedules",
	  .summary = "A schedule's next fire times from its cron in its time "
		     "zone (or tz), each in local time with its offset and "
		     "abbreviation and in UTC, as `droverctl schedule next "
		     "ID`; fewer than count when it fires no more within 8 "
		     "years (DST: a skipped time fires at the jump, a "
		     "repeated one once)",
	  .param_doc = { ID_DOC }, .query = next_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/ScheduleNext\"}",
	  .response_example = "{\"id\": \"backup\", \"enabled\": true, "
		"\"cron\": \"0 3 * * *\", \"zone\": \"Europe/Paris\", "
		"\"times\": [{\"local\": \"2026-03-29T03:00:00+02:00\", "
		"\"abbr\": \"CEST\", \"zone\": \"Europe/Paris\", \"utc\": "
		"\"2026-03-29T01:00:00Z\", \"unix_ms\": 1774746000000}]}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/schedules/{id}/enable",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = set_enabled,
	  .op_id = "enableSchedule", .tag = "schedules",
	  .summary = "Enable a schedule until disabled (kept in Redis; "
		     "overrides the file's enabled flag)",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = ROW,
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/schedules/{id}/disable",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = set_enabled,
	  .op_id = "disableSchedule", .tag = "schedules",
	  .summary = "Stop a schedule from firing (kept in Redis; overrides "
		     "the file's enabled flag)",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = ROW,
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/schedules/{id}/trigger",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = trigger,
	  .op_id = "triggerSchedule", .tag = "schedules",
	  .summary = "Fire a schedule now (file or run-time): queued for the "
		     "leading coordinator, which fires it within about a "
		     "second under the schedule's overlap policy (skip drops "
		     "it while a run is unfinished, buffer_one keeps it); the "
		     "task is labelled drover.fire=manual (as `droverctl "
		     "schedule trigger`)",
	  .param_doc = { ID_DOC }, .ok_status = 202,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"schedule\", \"requested_at\", \"requested_ms\"], "
		      "\"properties\": {\"id\": {\"type\": \"string\", "
		      "\"description\": \"the task id the fire will have "
		      "(GET /api/v1/tasks/{id})\"}, \"schedule\": {\"type\": "
		      "\"string\"}, \"requested_at\": {\"type\": "
		      "\"string\"}, \"requested_ms\": {\"type\": "
		      "\"integer\"}}}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/schedules",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = put,
	  .op_id = "addSchedule", .tag = "schedules",
	  .summary = "Add a run-time schedule (kept in Redis; as `droverctl "
		     "schedule add`)",
	  .request = "{\"$ref\": \"#/components/schemas/ScheduleCreate\"}",
	  .request_example = "{\"id\": \"backup\", \"cron\": \"0 3 * * *\", "
			     "\"timezone\": \"Europe/Paris\", \"handler\": "
			     "\"resize\", \"payload\": {\"full\": true}, "
			     "\"catchup\": \"once\"}",
	  .ok_status = 201, .response = ROW, .errors = "409 503" },
	{ .method = "PATCH", .path = "/api/v1/schedules/{id}",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = put,
	  .op_id = "updateSchedule", .tag = "schedules",
	  .summary = "Change a run-time schedule: the members given replace "
		     "the stored ones, labels merge (as "
		     "`droverctl schedule update`); a config file's is 409",
	  .param_doc = { ID_DOC },
	  .request = "{\"$ref\": \"#/components/schemas/ScheduleUpdate\"}",
	  .request_example = "{\"cron\": \"0 4 * * *\", \"jitter\": null}",
	  .ok_status = 200, .response = ROW, .errors = "404 409 503" },
	{ .method = "DELETE", .path = "/api/v1/schedules/{id}",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = del,
	  .op_id = "deleteSchedule", .tag = "schedules",
	  .summary = "Delete a run-time schedule with its statistics (as "
		     "`droverctl schedule delete`); a config file's is 409",
	  .param_doc = { ID_DOC }, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"deleted\"], \"properties\": {\"id\": {\"type\": "
		      "\"string\"}, \"deleted\": {\"type\": \"boolean\"}}}",
	  .errors = "404 409 503" },
	{ .method = NULL },
};

/* The members of a definition in a body; labels' values are \p LABEL
 * (a JSON type); the type of a member that is not required is T(type)
 * and its enum ends with ENUL (null in an update: the member taken out,
 * back to its default). */
#define T_ONE(t) "\"" t "\""
#define T_NUL(t) "[\"" t "\", \"null\"]"
#define SCHED_PROPS(LABEL, T, ENUL) \
	"\"cron\": {\"type\": \"string\", \"maxLength\": 256, " \
	"\"pattern\": \"" CRON_RE_J "\", \"description\": \"an @macro, " \
	"or five fields of *, */STEP or numbers (lists of up to four; " \
	"days of the month up to 28); droverctl takes every cron form\"}, " \
	"\"handler\": {\"type\": \"string\", \"pattern\": " \
	"\"^[a-z0-9_.-]{1,64}$\"}, " \
	"\"timezone\": " ZONE_SCHEMA(T) ", " \
	"\"payload\": {\"type\": " T("object") ", \"propertyNames\": " \
	"{\"pattern\": \"^[^\\\\u0000]*$\"}, \"additionalProperties\": " \
	"{\"$ref\": \"#/components/schemas/JsonValue\"}}, " \
	"\"priority\": {\"type\": " T("integer") ", \"minimum\": 1, " \
	"\"maximum\": 10}, " \
	"\"policy\": {\"type\": " T("string") ", \"description\": " \
	"\"a retry policy's name (the config's retry_policies or a " \
	"built-in); default: the handler's\"}, " \
	"\"max_attempts\": {\"type\": " T("integer") ", \"minimum\": 0, " \
	"\"maximum\": 1000, \"description\": \"0: the policy's\"}, " \
	"\"deadline\": {\"type\": " T("integer") ", \"minimum\": 0, " \
	"\"maximum\": 31536000000, \"description\": \"ms\"}, " \
	"\"jitter\": {\"type\": " T("integer") ", \"minimum\": 0, " \
	"\"maximum\": 3600000, \"description\": \"ms\"}, " \
	"\"catchup_window\": {\"type\": " T("integer") ", \"minimum\": 0, " \
	"\"maximum\": 2592000000, \"description\": \"ms\"}, " \
	"\"overlap\": {\"type\": " T("string") ", \"enum\": [\"allow\", " \
	"\"skip\", \"buffer_one\"" ENUL "]}, " \
	"\"catchup\": {\"type\": " T("string") ", \"enum\": [\"skip\", " \
	"\"once\", \"all\"" ENUL "]}, " \
	"\"enabled\": {\"type\": " T("boolean") "}, " \
	"\"labels\": {\"type\": " T("object") ", \"maxProperties\": 1024, " \
	"\"propertyNames\": {\"minLength\": 1, " \
	"\"pattern\": \"^[^\\\\u0000]*$\"}, \"additionalProperties\": " \
	"{\"type\": " LABEL ", \"pattern\": \"^[^\\\\u0000]*$\"}}"

const api_schema_t api_schedule_schemas[] = {
	{ "Zone", "{\"type\": \"string\", \"description\": \"an IANA time "
	  "zone this machine has (routes.c lists them as the enum)\"}" },
	{ "ScheduleNext",
	  "{\"type\": \"object\", \"required\": [\"id\", \"enabled\", "
	  "\"cron\", \"zone\", \"times\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"enabled\": {\"type\": \"boolean\", \"description\": \"a "
	  "disabled schedule does not fire at these times until enabled\"}, "
	  "\"cron\": {\"type\": \"string\"}, "
	  "\"zone\": {\"type\": \"string\", \"description\": \"the zone "
	  "the times were computed in\"}, "
	  "\"times\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\", \"required\": [\"local\", \"abbr\", \"zone\", "
	  "\"utc\", \"unix_ms\"], \"properties\": {"
	  "\"local\": {\"type\": \"string\", \"description\": \"local "
	  "time with its UTC offset\"}, "
	  "\"abbr\": {\"type\": \"string\"}, "
	  "\"zone\": {\"type\": \"string\"}, "
	  "\"utc\": {\"type\": \"string\"}, "
	  "\"unix_ms\": {\"type\": \"integer\"}}}}}}" },
	{ "Schedule",
	  "{\"type\": \"object\", \"required\": [\"id\", \"source\", "
	  "\"enabled\", \"definition\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"source\": {\"type\": \"string\", \"enum\": [\"file\", "
	  "\"runtime\"]}, "
	  "\"enabled\": {\"type\": \"boolean\"}, "
	  "\"definition\": {\"type\": \"object\", \"description\": \"as "
	  "`droverctl schedule add` takes it: cron, timezone, handler, "
	  "payload, overlap, catchup, ...\"}, "
	  "\"stats\": {\"type\": \"object\", \"properties\": {"
	  "\"fires\": {\"type\": \"integer\"}, "
	  "\"duplicates\": {\"type\": \"integer\"}, "
	  "\"skipped\": {\"type\": \"integer\"}, "
	  "\"buffered\": {\"type\": \"integer\"}, "
	  "\"runs\": {\"type\": \"integer\"}, "
	  "\"successes\": {\"type\": \"integer\"}, "
	  "\"failures\": {\"type\": \"integer\"}, "
	  "\"retries\": {\"type\": \"integer\"}, "
	  "\"avg_ms\": {\"type\": \"integer\"}, "
	  "\"p95_ms\": {\"type\": \"integer\"}, "
	  "\"running\": {\"type\": \"boolean\"}, "
	  "\"last_run\": {\"type\": \"string\"}, "
	  "\"last_run_ms\": {\"type\": \"integer\"}, "
	  "\"last_outcome\": {\"type\": \"string\"}, "
	  "\"last_task\": {\"type\": \"string\"}, "
	  "\"last_fire\": {\"type\": \"string\"}, "
	  "\"last_fire_ms\": {\"type\": \"integer\"}, "
	  "\"next\": {\"type\": \"string\"}, "
	  "\"next_ms\": {\"type\": \"integer\"}}}}}" },
	{ "ScheduleCreate",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"required\": [\"id\", \"cron\", \"handler\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\", \"pattern\": "
	  "\"^[a-z0-9_.-]{1,64}$\"}, "
	  SCHED_PROPS("\"string\"", T_ONE, "")
	  "}}" },
	{ "ScheduleUpdate",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"description\": \"members replace the stored ones; a null "
	  "member (not cron nor handler) is taken out, back to its default; "
	  "labels merge, a null label is removed\", "
	  "\"properties\": {"
	  SCHED_PROPS("[\"string\", \"null\"]", T_NUL, ", null")
	  "}}" },
	{ NULL, NULL },
};
