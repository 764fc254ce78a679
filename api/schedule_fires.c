/*
 * schedule_fires.c — the fire history of schedules: GET
 * /api/v1/schedules/{id}/fires (one schedule's fires in a time range,
 * newest first, as `droverctl schedule fires`) and GET
 * /api/v1/schedules/timeline (a page of schedules, by id, each with its
 * fires in the range and its next fire time: the console's Gantt). Both
 * read through the core's drv_sched_fires_read().
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/sched_fires.h"
#include "drover/sched_view.h"
#include "drover/str.h"

#define DAY_MS (24LL * 3600 * 1000)
#define FIRES_LIMIT 100
#define FIRES_MAX 1000
#define TIMELINE_LIMIT 50
#define TIMELINE_MAX 200

typedef struct fires_args {
	int64_t since, until, limit;
	const char *cursor;
} fires_args_t;

static bool fires_param(api_call_t *call, const char *name,
			const char *value, void *arg)
{
	fires_args_t *a = arg;
	bool timeline = !call->route->param_doc[0];
	int r = api_range_param(call, name, value, &a->since, &a->until);

	if (!r)
		r = api_page_param(call, name, value, &a->cursor, &a->limit,
				   timeline ? TIMELINE_MAX : FIRES_MAX);
	if (r > 0 && !timeline && a->cursor) {
		api_problem(call, 400, NULL, "unknown query parameter "
			    "'cursor'");
		return false;
	}
	if (r > 0 && a->cursor && !drv_name_valid(a->cursor)) {
		api_problem(call, 400, NULL, "cursor: not a schedule id");
		return false;
	}
	if (r)
		return r > 0;
	api_problem(call, 400, NULL, "unknown query parameter '%.64s'", name);
	return false;
}

/* Take the query into \p a (defaults: the 24 hours before until, until
 * now); false with the 400 replied, also when until is not after
 * since. */
static bool args_of(api_call_t *call, fires_args_t *a, int64_t limit)
{
	memset(a, 0, sizeof(*a));
	a->limit = limit;
	if (!api_query_each(call, fires_param, a))
		return false;
	if (!a->until)
		a->until = drv_now_ms();
	if (!a->since)
		a->since = a->until - DAY_MS;
	return api_range_check(call, a->since, a->until);
}

/* Fires of \p ids, or NULL with the problem replied. */
static drv_sched_fires_t *read_fires(api_call_t *call, redisContext *c,
				     const char *const *ids, size_t n,
				     const fires_args_t *a, size_t limit)
{
	drv_sched_fires_t *f = NULL;
	char err[512];
	drv_err_t rc = drv_sched_fires_read(c, call->api->cfg->redis.key_prefix,
					    ids, n, a->since, a->until, limit,
					    true, &f, err, sizeof(err));

	if (!rc)
		return f;
	if (rc != DRV_ERR_NOMEM)
		api_redis_lost(call);
	api_problem(call, api_status_of(rc), NULL, "%s", err);
	return NULL;
}

static json_t *fire_array(const drv_sched_fires_t *f)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < f->cnt; i++)
		json_array_append_new(arr, drv_sched_fire_obj(&f->fires[i]));
	return arr;
}

/* GET /schedules/{id}/fires */
static void fires(api_call_t *call)
{
	const char *id = call->params[0];
	fires_args_t a;
	redisContext *c;
	drv_sched_row_t *rows;
	drv_sched_fires_t *f;
	size_t n = 0;

	if (!drv_name_valid(id)) {
		api_problem(call, 404, NULL, "'%.64s' is not a schedule id",
			    id);
		return;
	}
	if (!args_of(call, &a, FIRES_LIMIT) || !(c = api_redis(call)) ||
	    !(rows = api_sched_rows(call, id, &n)))
		return;
	drv_sched_rows_free(rows, n);
	if (!n) {
		api_problem(call, 404, NULL, "no schedule '%s'", id);
		return;
	}
	if (!(f = read_fires(call, c, &id, 1, &a, (size_t)a.limit)))
		return;
	api_reply(call, 200, json_pack("{s:s, s:I, s:I, s:o, s:b}",
				       "schedule", id, "since_ms",
				       (json_int_t)a.since, "until_ms",
				       (json_int_t)a.until, "fires",
				       fire_array(&f[0]), "truncated",
				       f[0].truncated));
	drv_sched_fires_free(f, 1);
}

/* GET /schedules/timeline */
static void timeline(api_call_t *call)
{
	fires_args_t a;
	redisContext *c;
	drv_sched_row_t *rows;
	drv_sched_fires_t *f = NULL;
	const char **ids = NULL;
	char next[DRV_SCHED_CURSOR_SIZE];
	size_t cnt = 0;
	json_t *arr, *o;

	/* a page by id (drv_sched_rows_page()), so a schedule added or
	 * deleted between two pages moves no other one across the cursor */
	if (!args_of(call, &a, TIMELINE_LIMIT) || !(c = api_redis(call)) ||
	    !(rows = api_sched_page(call, a.cursor, (size_t)a.limit, &cnt,
				    next)))
		return;
	if (cnt && !(ids = calloc(cnt, sizeof(*ids)))) {
		drv_sched_rows_free(rows, cnt);
		api_problem(call, 503, NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < cnt; i++)
		ids[i] = rows[i].conf.name;
	if (cnt && !(f = read_fires(call, c, ids, cnt, &a,
				    DRV_SCHED_TIMELINE_FIRES))) {
		free(ids);
		drv_sched_rows_free(rows, cnt);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < cnt; i++) {
		const drv_sched_row_t *r = &rows[i];
		json_t *s = json_pack("{s:s, s:b, s:o, s:b}", "id",
				      r->conf.name, "enabled", r->enabled,
				      "fires", fire_array(&f[i]), "truncated",
				      f[i].truncated);
		char when[40];

		if (s && r->st.next_ms) {
			drv_format_time(r->st.next_ms, when, sizeof(when));
			json_object_set_new(s, "next_ms",
					    json_integer(r->st.next_ms));
			json_object_set_new(s, "next", json_string(when));
		}
		json_array_append_new(arr, s);
	}
	o = json_pack("{s:I, s:I, s:o}", "since_ms", (json_int_t)a.since,
		      "until_ms", (json_int_t)a.until, "schedules", arr);
	if (o && next[0])
		json_object_set_new(o, "next_cursor", json_string(next));
	api_reply(call, 200, o);
	drv_sched_fires_free(f, cnt);
	free(ids);
	drv_sched_rows_free(rows, cnt);
}

#define RANGE_QUERY \
	{ "since", API_WHEN_SCHEMA, "fires scheduled at or after" \
	  API_WHEN_DOC "; default: 24 hours before until" }, \
	{ "until", API_WHEN_SCHEMA, "fires scheduled at or before" \
	  API_WHEN_DOC "; default: now; after since (else 400, pointer " \
	  "/until)" }

static const api_query_doc_t fires_query[] = {
	RANGE_QUERY,
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000, "
	  "\"default\": 100}", "at most this many fires, the newest" },
	{ NULL, NULL, NULL },
};

static const api_query_doc_t timeline_query[] = {
	RANGE_QUERY,
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 200, "
	  "\"default\": 50}", "schedules per page" },
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^[a-z0-9_.-]{1,64}$\"}", "next_cursor of the page before (the "
	  "last schedule id it held)" },
	{ NULL, NULL, NULL },
};

#define FIRE_EXAMPLE(ms, at, kind, task, end) \
	"{\"scheduled_ms\": " ms ", \"scheduled_at\": \"" at "\", " \
	"\"kind\": \"" kind "\"" task end "}"
#define EX_DONE FIRE_EXAMPLE("1767225600000", "2026-01-01T00:00:00.000Z", \
	"published", ", \"task_id\": \"01KD8X3J0000000000000000AB\", " \
	"\"published_ms\": 1767225600012", ", \"outcome\": \"succeeded\", " \
	"\"finished_ms\": 1767225601300, \"duration_ms\": 1250")
#define EX_SKIP FIRE_EXAMPLE("1767225660000", "2026-01-01T00:01:00.000Z", \
	"skipped_overlap", "", "")

const api_route_t api_schedule_fire_routes[] = {
	{ .method = "GET", .path = "/api/v1/schedules/timeline",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = timeline,
	  .op_id = "scheduleTimeline", .tag = "schedules",
	  .summary = "The execution timeline: a page of schedules (by id), "
		     "each with its fires in the range (the newest 500) and "
		     "its next fire time; a schedule named `timeline` is "
		     "read with GET /schedules/timeline/fires only",
	  .query = timeline_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/ScheduleTimeline\"}",
	  .response_example = "{\"since_ms\": 1767139200000, \"until_ms\": "
		"1767225700000, \"schedules\": [{\"id\": \"backup\", "
		"\"enabled\": true, \"next_ms\": 1767225720000, \"next\": "
		"\"2026-01-01T00:02:00Z\", \"truncated\": false, \"fires\": ["
		EX_SKIP ", " EX_DONE "]}], \"next_cursor\": \"backup\"}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/schedules/{id}/fires",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = fires,
	  .op_id = "listScheduleFires", .tag = "schedules",
	  .summary = "A schedule's fires in a time range, newest first, with "
		     "the outcome and duration of each run (as `droverctl "
		     "schedule fires`); kept 14 days, at most 10,000",
	  .param_doc = { "Schedule id" }, .query = fires_query,
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/ScheduleFires\"}",
	  .response_example = "{\"schedule\": \"backup\", \"since_ms\": "
		"1767139200000, \"until_ms\": 1767225700000, \"truncated\": "
		"false, \"fires\": [" EX_SKIP ", " EX_DONE "]}",
	  .errors = "404 503" },
	{ .method = NULL },
};

const api_schema_t api_schedule_fire_schemas[] = {
	{ "ScheduleFire",
	  "{\"type\": \"object\", \"required\": [\"scheduled_ms\", "
	  "\"scheduled_at\", \"kind\"], \"properties\": {"
	  "\"scheduled_ms\": {\"type\": \"integer\", \"description\": \"the "
	  "time the fire was for (a manual fire's: when it was asked for)\"}, "
	  "\"scheduled_at\": {\"type\": \"string\"}, "
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"published\", "
	  "\"caught_up\", \"manual\", \"skipped_overlap\", \"buffered\"], "
	  "\"description\": \"caught_up: published later than "
	  "coordinator.misfire_grace after its time (after a leader gap)\"}, "
	  "\"task_id\": {\"type\": \"string\"}, "
	  "\"published_ms\": {\"type\": \"integer\"}, "
	  "\"outcome\": {\"type\": \"string\", \"enum\": [\"succeeded\", "
	  "\"dead\", \"running\"], \"description\": \"running: published, "
	  "no end recorded yet\"}, "
	  "\"finished_ms\": {\"type\": \"integer\"}, "
	  "\"duration_ms\": {\"type\": \"integer\", \"description\": \"of "
	  "the last attempt\"}}}" },
	{ "ScheduleFires",
	  "{\"type\": \"object\", \"required\": [\"schedule\", \"since_ms\", "
	  "\"until_ms\", \"fires\", \"truncated\"], \"properties\": {"
	  "\"schedule\": {\"type\": \"string\"}, "
	  "\"since_ms\": {\"type\": \"integer\"}, "
	  "\"until_ms\": {\"type\": \"integer\"}, "
	  "\"fires\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/ScheduleFire\"}}, "
	  "\"truncated\": {\"type\": \"boolean\", \"description\": \"more "
	  "fires were in the range than the limit\"}}}" },
	{ "ScheduleTimeline",
	  "{\"type\": \"object\", \"required\": [\"since_ms\", \"until_ms\", "
	  "\"schedules\"], \"properties\": {"
	  "\"since_ms\": {\"type\": \"integer\"}, "
	  "\"until_ms\": {\"type\": \"integer\"}, "
	  "\"schedules\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\", \"required\": [\"id\", \"enabled\", \"fires\", "
	  "\"truncated\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"enabled\": {\"type\": \"boolean\"}, "
	  "\"next_ms\": {\"type\": \"integer\"}, "
	  "\"next\": {\"type\": \"string\"}, "
	  "\"fires\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/ScheduleFire\"}}, "
	  "\"truncated\": {\"type\": \"boolean\", \"description\": \"over "
	  "500 fires in the range: the newest 500 are given\"}}}}, "
	  "\"next_cursor\": {\"type\": \"string\", \"description\": \"the "
	  "cursor of the next page; absent on the last\"}}}" },
	{ NULL, NULL },
};
