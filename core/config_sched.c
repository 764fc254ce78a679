/*
 * config_sched.c — the key tables of the coordinator's two maps,
 * `schedules:` (cron schedules and their task template) and `triggers:`
 * (event rules and theirs), with the checks that run once an entry is read:
 * the cron expression parses, the time zone exists, start is before end, a
 * trigger's event pattern is a usable glob. config.c walks the YAML with
 * these rows the same way it walks handlers and retry policies.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "config_int.h"
#include "drover/clock.h"
#include "drover/cron.h"
#include "drover/str.h"
#include "drover/task.h"
#include "drover/tz.h"

_Static_assert(sizeof(drv_overlap_t) == sizeof(int) &&
	       sizeof(drv_catchup_t) == sizeof(int),
	       "DRV_CFG_ENUM fields are stored through an int *");

#define SEC_MS   INT64_C(1000)
#define HOUR_MS  (3600 * SEC_MS)
#define DAY_MS   (24 * HOUR_MS)

static const char *const overlap_names[] = {
	"allow", "skip", "buffer_one", NULL
};
static const char *const catchup_names[] = { "skip", "once", "all", NULL };

const char *drv_overlap_name(drv_overlap_t o)
{
	if ((int)o >= 0 && (int)o <= DRV_OVERLAP_BUFFER_ONE)
		return overlap_names[o];
	return "unknown";
}

const char *drv_catchup_name(drv_catchup_t c)
{
	if ((int)c >= 0 && (int)c <= DRV_CATCHUP_ALL)
		return catchup_names[c];
	return "unknown";
}

static drv_err_t parse_name(const char *const *names, const char *s,
			    int *out)
{
	for (int i = 0; s && names[i]; i++)
		if (!strcasecmp(names[i], s)) {
			*out = i;
			return DRV_OK;
		}
	return DRV_ERR_INVALID;
}

drv_err_t drv_overlap_parse(const char *s, drv_overlap_t *out)
{
	int v;

	if (parse_name(overlap_names, s, &v))
		return DRV_ERR_INVALID;
	*out = (drv_overlap_t)v;
	return DRV_OK;
}

drv_err_t drv_catchup_parse(const char *s, drv_catchup_t *out)
{
	int v;

	if (parse_name(catchup_names, s, &v))
		return DRV_ERR_INVALID;
	*out = (drv_catchup_t)v;
	return DRV_OK;
}

/* ------------------------------------------------------------------ */
/* Checks of string values                                             */
/* ------------------------------------------------------------------ */

static drv_err_t check_cron(const drv_cfg_key_t *k, const char *name,
			    const char *s, const drv_cfg_where_t *w,
			    char *errstr, size_t errstr_size)
{
	drv_cron_t *c = NULL;
	char msg[256];
	drv_err_t err;

	(void)k;
	err = drv_cron_parse(s, &c, msg, sizeof(msg));
	drv_cron_free(c);
	if (err == DRV_ERR_NOMEM)
		return drv_error(errstr, errstr_size, err, "out of memory");
	if (err)
		return drv_cfg_fail(errstr, errstr_size, w, name, "%s", msg);
	return DRV_OK;
}

static drv_err_t check_zone(const drv_cfg_key_t *k, const char *name,
			    const char *s, const drv_cfg_where_t *w,
			    char *errstr, size_t errstr_size)
{
	/* zones found lately: a file of many schedules names few zones */
	static _Thread_local char ok[16][128];
	static _Thread_local unsigned next;
	drv_tz_t *tz = NULL;
	char msg[256];
	drv_err_t err;

	(void)k;
	for (size_t i = 0; i < 16; i++)
		if (*ok[i] && !strcmp(ok[i], s))
			return DRV_OK;
	err = drv_tz_load(s, &tz, msg, sizeof(msg));
	drv_tz_free(tz);
	if (err)
		return drv_cfg_fail(errstr, errstr_size, w, name, "%s", msg);
	drv_strlcpy(ok[next++ % 16], s, sizeof(ok[0]));
	return DRV_OK;
}

static drv_err_t check_time(const drv_cfg_key_t *k, const char *name,
			    const char *s, const drv_cfg_where_t *w,
			    char *errstr, size_t errstr_size)
{
	int64_t ms;

	(void)k;
	if (drv_parse_time(s, &ms))
		return drv_cfg_fail(errstr, errstr_size, w, name, "'%.100s' "
				    "is not an RFC 3339 time such as "
				    "2026-03-08T09:00:00Z", s);
	return DRV_OK;
}

static drv_err_t check_json(const drv_cfg_key_t *k, const char *name,
			    const char *s, const drv_cfg_where_t *w,
			    char *errstr, size_t errstr_size)
{
	json_error_t je;
	json_t *j;

	(void)k;
	if (strstr(s, "${"))
		return DRV_OK;  /* a trigger template: checked once filled */
	if (!(j = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je)))
		return drv_cfg_fail(errstr, errstr_size, w, name, "not JSON "
				    "(%s at column %d); write a mapping or a "
				    "JSON text", je.text, je.column);
	json_decref(j);
	return DRV_OK;
}

static drv_err_t check_glob(const drv_cfg_key_t *k, const char *name,
			    const char *s, const drv_cfg_where_t *w,
			    char *errstr, size_t errstr_size)
{
	(void)k;
	if (fnmatch(s, "", 0) > 1)
		return drv_cfg_fail(errstr, errstr_size, w, name, "'%.100s' "
				    "is not a usable glob", s);
	return DRV_OK;
}

/* ------------------------------------------------------------------ */
/* The tables                                                          */
/* ------------------------------------------------------------------ */

#define SF(f) offsetof(drv_schedule_conf_t, f)
#define TF(f) offsetof(drv_trigger_conf_t, f)

/* The task template rows, for a struct whose template is at \p base. */
#define TEMPLATE_ROWS(OFF, PAYLOAD_DOC)                                      \
	{ .name = "handler", .type = DRV_CFG_STRING,                         \
	  .offset = OFF(task.handler), .min = 1, .max = 64,                  \
	  .flags = DRV_CFG_REQUIRED, .range_doc = "required; a handler",     \
	  .doc = "Handler of the task published." },                         \
	{ .name = "payload", .type = DRV_CFG_STRING,                         \
	  .offset = OFF(task.payload), .flags = DRV_CFG_JSON,                \
	  .check = check_json,                                               \
	  .range_doc = "a mapping (<= 100000 values, 1 MiB of text) or "     \
		       "JSON text",                                          \
	  .doc = PAYLOAD_DOC },                                              \
	{ .name = "priority", .type = DRV_CFG_U32,                           \
	  .offset = OFF(task.priority), .def = "5", .min = DRV_PRIORITY_MIN, \
	  .max = DRV_PRIORITY_MAX,                                           \
	  .doc = "Priority of the task (1 lowest, 10 highest)." },           \
	{ .name = "policy", .type = DRV_CFG_STRING,                          \
	  .offset = OFF(task.policy), .def_doc = "the handler's",            \
	  .range_doc = "a retry policy",                                     \
	  .doc = "Retry policy of the task." },                              \
	{ .name = "max_attempts", .type = DRV_CFG_U32,                       \
	  .offset = OFF(task.max_attempts), .def = "0", .min = 0,            \
	  .max = 1000, .doc = "Attempts of the task; 0 = the policy's." },   \
	{ .name = "deadline", .type = DRV_CFG_DURATION,                      \
	  .offset = OFF(task.deadline_ms), .def = "0ms", .min = 0,           \
	  .max = 365 * DAY_MS,                                               \
	  .doc = "The task must not start later than this after it was "     \
		 "published; 0 = no deadline." },                            \
	{ .name = "labels", .type = DRV_CFG_STRMAP,                          \
	  .offset = OFF(task.labels), .cnt_offset = OFF(task.label_cnt),     \
	  .flags = DRV_CFG_PLAIN_KEYS, .range_doc = "name: value",           \
	  .doc = "Labels of the task; drover adds `drover.schedule`, "       \
		 "`drover.trigger`, `drover.fence`." }

const drv_cfg_key_t drv_cfg_schedule_keys[] = {
	{ .name = "cron", .type = DRV_CFG_STRING, .offset = SF(cron),
	  .min = 1, .max = 256, .flags = DRV_CFG_REQUIRED,
	  .check = check_cron, .range_doc = "required",
	  .doc = "When it fires: 5 fields, 6 with leading seconds, or an "
		 "@macro (see docs/coordinator.md)." },
	{ .name = "timezone", .type = DRV_CFG_STRING, .offset = SF(timezone),
	  .def = "UTC", .min = 1, .max = 128, .check = check_zone,
	  .range_doc = "an IANA zone",
	  .doc = "Zone the cron expression's wall-clock times are in." },
	{ .name = "enabled", .type = DRV_CFG_BOOL, .offset = SF(enabled),
	  .def = "true",
	  .doc = "A disabled schedule does not fire (`droverctl schedule "
		 "enable` overrides it at run time)." },
	{ .name = "start", .type = DRV_CFG_STRING, .offset = SF(start),
	  .check = check_time, .range_doc = "RFC 3339 time",
	  .def_doc = "none", .doc = "No fire before this time." },
	{ .name = "end", .type = DRV_CFG_STRING, .offset = SF(end),
	  .check = check_time, .range_doc = "RFC 3339 time",
	  .def_doc = "none", .doc = "No fire after this time." },
	{ .name = "jitter", .type = DRV_CFG_DURATION, .offset = SF(jitter_ms),
	  .def = "0ms", .min = 0, .max = HOUR_MS,
	  .doc = "Publish up to this long after the nominal time (the same "
		 "delay for a given fire on every coordinator)." },
	{ .name = "overlap", .type = DRV_CFG_ENUM, .offset = SF(overlap),
	  .def = "allow", .enums = overlap_names,
	  .doc = "While the previous run is unfinished: `allow` fires anyway, "
		 "`skip` skips the fire, `buffer_one` keeps one fire for when "
		 "the run ends." },
	{ .name = "catchup", .type = DRV_CFG_ENUM, .offset = SF(catchup),
	  .def = "once", .enums = catchup_names,
	  .doc = "Fire times missed while no coordinator led: `skip` them, "
		 "fire `once` for the latest, or fire `all`." },
	{ .name = "catchup_window", .type = DRV_CFG_DURATION,
	  .offset = SF(catchup_window_ms), .def = "1h", .min = 0,
	  .max = 30 * DAY_MS,
	  .doc = "Missed times older than this are dropped whatever the "
		 "policy." },
	TEMPLATE_ROWS(SF, "Payload of the task; default `{}`."),
};
const size_t drv_cfg_schedule_key_cnt =
	sizeof(drv_cfg_schedule_keys) / sizeof(drv_cfg_schedule_keys[0]);

const drv_cfg_key_t drv_cfg_trigger_keys[] = {
	{ .name = "event", .type = DRV_CFG_STRING, .offset = TF(event),
	  .min = 1, .max = 256, .flags = DRV_CFG_REQUIRED,
	  .check = check_glob, .range_doc = "required; a glob",
	  .doc = "Event type the rule reacts to (`order.created`, "
		 "`task.succeeded`, `order.*`)." },
	{ .name = "where", .type = DRV_CFG_STRMAP, .offset = TF(where),
	  .cnt_offset = TF(where_cnt), .flags = DRV_CFG_PLAIN_KEYS,
	  .range_doc = "attribute: glob",
	  .doc = "Attributes the event must have, each equal to the value or "
		 "matching it as a glob (`eu-*`)." },
	TEMPLATE_ROWS(TF, "Payload of the task, with `${event.id}`, "
		      "`${event.type}`, `${event.source}`, `${event.payload}` "
		      "and `${attr.NAME}` filled in (inside a JSON string as "
		      "escaped text; elsewhere as one JSON value, or a JSON "
		      "string when the value is not one); default the event's "
		      "payload."),
};
const size_t drv_cfg_trigger_key_cnt =
	sizeof(drv_cfg_trigger_keys) / sizeof(drv_cfg_trigger_keys[0]);

/* ------------------------------------------------------------------ */
/* Entry checks                                                        */
/* ------------------------------------------------------------------ */

static size_t row_of(const drv_cfg_key_t *keys, size_t cnt, const char *n)
{
	const drv_cfg_key_t *k = drv_cfg_find(keys, cnt, n);

	return k ? (size_t)(k - keys) : 0;
}

static drv_err_t check_required(const char *sec, const char *name,
				const drv_cfg_key_t *keys, size_t cnt,
				const bool *given,
				const drv_cfg_where_t *where,
				char *errstr, size_t errstr_size)
{
	char key[160];

	drv_fmt(key, sizeof(key), "%s.%s", sec, name);
	for (size_t i = 0; i < cnt; i++)
		if ((keys[i].flags & DRV_CFG_REQUIRED) && !given[i])
			return drv_cfg_fail(errstr, errstr_size, where, key,
					    "needs a %s", keys[i].name);
	return DRV_OK;
}

drv_err_t drv_cfg_check_schedule(drv_schedule_conf_t *s, const bool *given,
				 const drv_cfg_where_t *val_where,
				 const drv_cfg_where_t *where,
				 char *errstr, size_t errstr_size)
{
	size_t ie = row_of(drv_cfg_schedule_keys, drv_cfg_schedule_key_cnt,
			   "end");
	char key[160];
	drv_err_t err;

	err = check_required("schedules", s->name, drv_cfg_schedule_keys,
			     drv_cfg_schedule_key_cnt, given, where, errstr,
			     errstr_size);
	if (err)
		return err;
	s->start_ms = 0;
	s->end_ms = 0;
	if (s->start)
		drv_parse_time(s->start, &s->start_ms);
	if (s->end)
		drv_parse_time(s->end, &s->end_ms);
	if (s->start && s->end && s->end_ms <= s->start_ms) {
		drv_fmt(key, sizeof(key), "schedules.%s.end", s->name);
		return drv_cfg_fail(errstr, errstr_size, &val_where[ie], key,
				    "%s is not after start %s", s->end,
				    s->start);
	}
	return DRV_OK;
}

drv_err_t drv_cfg_check_trigger(drv_trigger_conf_t *t, const bool *given,
				const drv_cfg_where_t *val_where,
				const drv_cfg_where_t *where,
				char *errstr, size_t errstr_size)
{
	(void)val_where;
	return check_required("triggers", t->name, drv_cfg_trigger_keys,
			      drv_cfg_trigger_key_cnt, given, where, errstr,
			      errstr_size);
}

void drv_cfg_schedule_release(drv_schedule_conf_t *s)
{
	for (size_t i = 0; i < drv_cfg_schedule_key_cnt; i++)
		drv_cfg_release(&drv_cfg_schedule_keys[i], s);
	free(s->name);
	s->name = NULL;
}

void drv_cfg_trigger_release(drv_trigger_conf_t *t)
{
	for (size_t i = 0; i < drv_cfg_trigger_key_cnt; i++)
		drv_cfg_release(&drv_cfg_trigger_keys[i], t);
	free(t->name);
	t->name = NULL;
}
