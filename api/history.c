/*
 * history.c — GET /api/v1/history: the time series of one handler's or
 * one band's tasks (or every task) over up to 14 days: throughput,
 * failure rate, submit→start and duration percentiles per step, with the
 * deploy markers of the range; /api/v1/markers: set a deploy marker
 * (audited) or list them, change or delete one by id (audited); and
 * /api/v1/dlq/depth: the DLQ depth trend the leading coordinator samples,
 * over the same ranges and steps. The core's
 * drv_history(), drv_marker_add(), drv_marker_list(), drv_marker_update(),
 * drv_marker_delete() and drv_dlq_depth_series() do the work, as for
 * `droverctl history` and `droverctl marker add|list|edit|delete`.
 */
#include <math.h>
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/dlq_depth.h"
#include "drover/history.h"
#include "drover/markers.h"
#include "drover/retry_stats.h"
#include "drover/str.h"
#include "drover/task.h"

typedef struct hist_args {
	drv_history_query_t q;
	bool markers;   /* /markers: no handler, band or step */
	bool depth;     /* /dlq/depth: no handler or band */
} hist_args_t;

static bool hist_param(api_call_t *call, const char *name,
		       const char *value, void *arg)
{
	hist_args_t *a = arg;
	int r = api_range_param(call, name, value, &a->q.since_ms,
				&a->q.until_ms);

	if (r)
		return r > 0;
	if (!a->markers && !a->depth && (!strcmp(name, "handler") ||
			    !strcmp(name, "band"))) {
		if (!*value) {
			api_problem(call, 400, NULL, "%s: empty", name);
			return false;
		}
		*(name[0] == 'h' ? &a->q.handler : &a->q.band) = value;
		return true;
	}
	if (!a->markers && !strcmp(name, "step")) {
		if (!drv_parse_duration(value, &a->q.step_ms) &&
		    a->q.step_ms > 0)
			return true;
		api_problem(call, 400, NULL, "step: '%.64s' is not a "
			    "duration (5m, 1h)", value);
		return false;
	}
	api_problem(call, 400, NULL, "unknown query parameter '%.64s'", name);
	return false;
}

/* Reply series \p o (\p rc DRV_OK), else the problem \p err (a failure
 * but a bad query drops the Redis connection). */
static void reply_series(api_call_t *call, drv_err_t rc, json_t *o,
			 const char *err)
{
	if (!rc) {
		api_reply(call, 200, o);
		return;
	}
	if (rc != DRV_ERR_INVALID)
		api_redis_lost(call);
	api_problem(call, api_status_of(rc), NULL, "%s", err);
}

/* The range of the query: defaults filled (the 24 hours before until,
 * until now), cut to the 14 days kept; false with the 400 replied when
 * it ends at or before its start. */
static bool range_of(api_call_t *call, int64_t *since, int64_t *until,
		     int64_t now)
{
	drv_retry_stats_range(since, until, now);
	return api_range_check(call, *since, *until);
}

static void history(api_call_t *call)
{
	int64_t now = drv_now_ms();
	hist_args_t a = { 0 };
	redisContext *c;
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;

	if (!api_query_each(call, hist_param, &a) ||
	    !range_of(call, &a.q.since_ms, &a.q.until_ms, now))
		return;
	/* the handler's series: a band beside it is not a narrower one */
	if (a.q.handler)
		a.q.band = NULL;
	if (!(c = api_redis(call)))
		return;
	rc = drv_history(call->api->cfg, c, &a.q, now, &o, err, sizeof(err));
	reply_series(call, rc, o, err);
}

static void dlq_depth(api_call_t *call)
{
	int64_t now = drv_now_ms();
	hist_args_t a = { .depth = true };
	redisContext *c;
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;

	if (!api_query_each(call, hist_param, &a) ||
	    !range_of(call, &a.q.since_ms, &a.q.until_ms, now) ||
	    !(c = api_redis(call)))
		return;
	rc = drv_dlq_depth_series(call->api->cfg, c, a.q.since_ms,
				  a.q.until_ms, a.q.step_ms, now, &o, err,
				  sizeof(err));
	reply_series(call, rc, o, err);
}

static void marker_list(api_call_t *call)
{
	hist_args_t a = { .markers = true };
	redisContext *c;
	json_t *list = NULL;
	char err[512];
	drv_err_t rc;

	if (!api_query_each(call, hist_param, &a) ||
	    !range_of(call, &a.q.since_ms, &a.q.until_ms, drv_now_ms()) ||
	    !(c = api_redis(call)))
		return;
	rc = drv_marker_list(c, call->api->cfg->redis.key_prefix,
			     a.q.since_ms, a.q.until_ms, &list, err,
			     sizeof(err));
	if (rc) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	api_reply(call, 200, json_pack("{s:I, s:I, s:o}", "since_ms",
				       (json_int_t)a.q.since_ms, "until_ms",
				       (json_int_t)a.q.until_ms, "markers",
				       list));
}

/** The latest marker time taken: the end of year 9999. */
#define AT_MAX 253402300799999LL

/* The body of POST /markers into \p m (strings borrowed from \p body);
 * false with the 400 replied. */
static bool marker_of(api_call_t *call, json_t *body, drv_marker_t *m)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body)) {
		api_problem(call, 400, "", "the body must be an object with "
			    "a label");
		return false;
	}
	json_object_foreach(body, k, v) {
		if (!strcmp(k, "label") || !strcmp(k, "note")) {
			if (!json_is_string(v) ||
			    strlen(json_string_value(v)) !=
			    json_string_length(v)) {
				api_problem(call, 400, k[0] == 'l' ? "/label"
					    : "/note", "%s must be a string "
					    "without NUL", k);
				return false;
			}
			*(k[0] == 'l' ? &m->label : &m->note) =
				json_string_value(v);
		} else if (!strcmp(k, "at")) {
			double d = json_number_value(v);

			/* 249.0 is an integer to JSON Schema too */
			if (json_is_number(v) && d >= 1 && d <= AT_MAX &&
			    d == floor(d)) {
				m->at_ms = (int64_t)d;
			} else if (!json_is_string(v) ||
				   drv_parse_when(json_string_value(v),
						  drv_now_ms(), &m->at_ms)) {
				api_problem(call, 400, "/at", "at must be ms "
					    "since 1970 or an RFC 3339 time");
				return false;
			}
		} else {
			char ptr[80];

			drv_fmt(ptr, sizeof(ptr), "/%.64s", k);
			api_problem(call, 400, ptr, "unknown member '%.64s'",
				    k);
			return false;
		}
	}
	return true;
}

static void marker_add(api_call_t *call)
{
	json_t *body = api_body_json(call), *o = NULL;
	drv_marker_t m = { 0 };
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!body)
		return;
	if (!marker_of(call, body, &m) || !(c = api_redis(call))) {
		json_decref(body);
		return;
	}
	m.actor = call->token ? call->token->name : NULL;
	rc = drv_marker_add(c, call->api->cfg->redis.key_prefix, &m,
			    drv_now_ms(), &o, err, sizeof(err));
	json_decref(body);
	if (rc) {
		if (rc != DRV_ERR_INVALID)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), rc == DRV_ERR_INVALID ?
			    "" : NULL, "%s", err);
		return;
	}
	if (!api_audit(call, "marker.add",
		       json_string_value(json_object_get(o, "label")), 1,
		       json_deep_copy(o), NULL)) {
		json_decref(o);
		return;
	}
	api_reply(call, 201, o);
}

/* The body of PATCH /markers/{id} into \p ch (strings borrowed from
 * \p body): label, note (null: taken out) and at as an add takes them;
 * false with the 400 replied. */
static bool change_of(api_call_t *call, json_t *body, drv_marker_change_t *ch)
{
	drv_marker_t m = { 0 };
	json_t *note;

	if (!json_is_object(body) || !json_object_size(body)) {
		api_problem(call, 400, "", "the body must be an object with "
			    "one or more of label, note and at");
		return false;
	}
	/* a null note is taken out: the rest is checked as an add's */
	if (json_is_null(note = json_object_get(body, "note"))) {
		ch->drop_note = true;
		json_object_del(body, "note");
	}
	if (!marker_of(call, body, &m))
		return false;
	if (m.label && !*m.label) {
		api_problem(call, 400, "/label", "label: 1 to %d characters",
			    DRV_MARKER_LABEL_MAX);
		return false;
	}
	ch->label = m.label;
	ch->note = m.note;
	ch->at_ms = m.at_ms;
	return true;
}

/* Marker {id}'s problem for \p rc: 404, 400, 409 or 503. */
static void marker_failed(api_call_t *call, drv_err_t rc, const char *err)
{
	const char *pointer = NULL;

	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
		api_redis_lost(call);
	if (rc == DRV_ERR_INVALID)
		pointer = !strncmp(err, "label:", 6) ? "/label" :
			  !strncmp(err, "note:", 5) ? "/note" : "";
	api_problem(call, api_status_of(rc), pointer, "%s", err);
}

/* Whether {id} can be a marker's (a ULID); false with the 404 replied. */
static bool marker_id_ok(api_call_t *call)
{
	if (drv_id_valid(call->params[0]))
		return true;
	api_problem(call, 404, NULL, "no marker '%.64s' (a marker's id is a "
		    "ULID)", call->params[0]);
	return false;
}

static void marker_update(api_call_t *call)
{
	json_t *body, *before = NULL, *after = NULL;
	drv_marker_change_t ch = { 0 };
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!marker_id_ok(call) || !(body = api_body_json(call)))
		return;
	if (!change_of(call, body, &ch) || !(c = api_redis(call))) {
		json_decref(body);
		return;
	}
	ch.editor = call->token ? call->token->name : NULL;
	rc = drv_marker_update(c, call->api->cfg->redis.key_prefix,
			       call->params[0], &ch, drv_now_ms(), &before,
			       &after, err, sizeof(err));
	json_decref(body);
	if (rc) {
		marker_failed(call, rc, err);
		return;
	}
	if (!api_audit(call, "marker.update",
		       json_string_value(json_object_get(after, "label")), 1,
		       json_pack("{s:o, s:O}", "before", before, "after",
				 after), NULL)) {
		json_decref(after);
		return;
	}
	api_reply(call, 200, after);
}

static void marker_delete(api_call_t *call)
{
	json_t *m = NULL;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!marker_id_ok(call) || !(c = api_redis(call)))
		return;
	rc = drv_marker_delete(c, call->api->cfg->redis.key_prefix,
			       call->params[0], &m, err, sizeof(err));
	if (rc) {
		marker_failed(call, rc, err);
		return;
	}
	if (!api_audit(call, "marker.delete",
		       json_string_value(json_object_get(m, "label")), 1,
		       json_deep_copy(m), NULL)) {
		json_decref(m);
		return;
	}
	api_reply(call, 200, json_pack("{s:s, s:b, s:o}", "id",
				       call->params[0], "deleted", 1,
				       "marker", m));
}

/* since, until and step of a series (/history, /dlq/depth); \p what
 * says what a step gives. */
#define SERIES_QUERY(what) \
	{ "since", API_WHEN_SCHEMA, "from" API_WHEN_DOC "; default: 24 " \
	  "hours before until" }, \
	{ "until", API_WHEN_SCHEMA, "to" API_WHEN_DOC "; default: now; " \
	  "after since (else 400, pointer /until). A range over 14 days " \
	  "(what is kept) starts 14 days before until" }, \
	{ "step", "{\"type\": \"string\", \"pattern\": " \
	  "\"^([1-9][0-9]{0,4}m|[1-9][0-9]{0,2}h|[1-9][0-9]?d)$\"}", \
	  what ": a whole number of minutes (1d at most; longer is 1d). " \
	  "Default, and instead of a step giving more than 1500 points: the " \
	  "smallest of 1m, 5m, 15m, 1h, 6h, 1d that gives at most 1500; " \
	  "step_ms says which" }

static const api_query_doc_t hist_query[] = {
	{ "handler", API_TEXT_SCHEMA, "only this handler's tasks" },
	{ "band", "{\"type\": \"string\", \"enum\": [\"high\", \"normal\", "
	  "\"low\"]}", "only this priority band's tasks (ignored with "
	  "handler; neither: every task)" },
	SERIES_QUERY("one point per step"),
	{ NULL, NULL, NULL },
};

static const api_query_doc_t depth_query[] = {
	SERIES_QUERY("one point per step with samples (its last sample, "
		     "highest and lowest)"),
	{ NULL, NULL, NULL },
};

static const api_query_doc_t marker_query[] = {
	{ "since", API_WHEN_SCHEMA, "from" API_WHEN_DOC "; default: 24 hours "
	  "before until" },
	{ "until", API_WHEN_SCHEMA, "to" API_WHEN_DOC "; default: now; "
	  "after since (else 400, pointer /until)" },
	{ NULL, NULL, NULL },
};

#define MARKER_EXAMPLE \
	"{\"id\": \"01KBQ3M5Z8X0V7D6N4R2T9C1HA\", \"at_ms\": 1767225600000, " \
	"\"label\": \"v1.4.2\", \"note\": \"billing rollout\", " \
	"\"actor\": \"ci\", \"created_ms\": 1767225600000}"

#define MARKER_EDITED_EXAMPLE \
	"{\"id\": \"01KBQ3M5Z8X0V7D6N4R2T9C1HA\", \"at_ms\": 1767226200000, " \
	"\"label\": \"v1.4.3\", \"actor\": \"ci\", \"created_ms\": " \
	"1767225600000, \"updated_ms\": 1767229200000, \"updated_by\": " \
	"\"ops\"}"

const api_route_t api_history_routes[] = {
	{ .method = "GET", .path = "/api/v1/history",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = history,
	  .op_id = "getHistory", .tag = "history",
	  .summary = "History of a handler's or a band's tasks (or every "
		     "task) per step over up to 14 days: throughput, failure "
		     "rate, submit→start and duration percentiles (bucket "
		     "estimates), with the deploy markers of the range (as "
		     "`droverctl history`)",
	  .query = hist_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/History\"}",
	  .response_example =
		"{\"handler\": \"billing\", \"band\": null, "
		"\"since_ms\": 1767225600000, \"until_ms\": 1767225720000, "
		"\"step_ms\": 60000, \"points\": [{\"t\": 1767225600000, "
		"\"attempts\": 12, \"per_s\": 0.2, \"succeeded\": 10, "
		"\"dead\": 1, \"failed\": 2, \"failure_rate\": 0.1667, "
		"\"wait_ms\": {\"count\": 11, \"p50\": 30, \"p95\": 48, "
		"\"p99\": 50}, \"duration_ms\": {\"count\": 12, \"p50\": 175, "
		"\"p95\": 475, \"p99\": 495}}], "
		"\"total\": {\"attempts\": 12, \"per_s\": 0.0999, "
		"\"succeeded\": 10, \"dead\": 1, \"failed\": 2, "
		"\"failure_rate\": 0.1667, \"wait_ms\": {\"count\": 11, "
		"\"p50\": 30, \"p95\": 48, \"p99\": 50}, \"duration_ms\": "
		"{\"count\": 12, \"p50\": 175, \"p95\": 475, \"p99\": 495}}, "
		"\"markers\": [" MARKER_EXAMPLE "]}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/dlq/depth",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = dlq_depth,
	  .op_id = "getDlqDepth", .tag = "dlq",
	  .summary = "The DLQ depth trend over up to 14 days: the depth the "
		     "leading coordinator samples every "
		     "coordinator.dlq_depth_interval, per step (last, "
		     "highest, lowest), the newest sample and the alert "
		     "threshold",
	  .query = depth_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/DlqDepth\"}",
	  .response_example =
		"{\"since_ms\": 1767225600000, \"until_ms\": 1767225720000, "
		"\"step_ms\": 60000, \"interval_ms\": 60000, "
		"\"threshold\": 1000, \"current\": {\"at_ms\": "
		"1767225660000, \"depth\": 42}, \"points\": [{\"t\": "
		"1767225600000, \"depth\": 40, \"max\": 40, \"min\": 40, "
		"\"samples\": 1}, {\"t\": 1767225660000, \"depth\": 42, "
		"\"max\": 42, \"min\": 42, \"samples\": 1}]}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/markers",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = marker_list,
	  .op_id = "listMarkers", .tag = "history",
	  .summary = "Deploy markers of a time range, oldest first, at most "
		     "1000 (as `droverctl marker list`)",
	  .query = marker_query, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"since_ms\", "
		      "\"until_ms\", \"markers\"], \"properties\": {"
		      "\"since_ms\": {\"type\": \"integer\"}, "
		      "\"until_ms\": {\"type\": \"integer\"}, "
		      "\"markers\": {\"type\": \"array\", \"items\": "
		      "{\"$ref\": \"#/components/schemas/Marker\"}}}}",
	  .response_example = "{\"since_ms\": 1767139200000, "
		"\"until_ms\": 1767225600000, \"markers\": ["
		MARKER_EXAMPLE "]}",
	  .errors = "503" },
	{ .method = "POST", .path = "/api/v1/markers",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = marker_add,
	  .op_id = "addMarker", .tag = "history",
	  .summary = "Set a deploy marker (kept 14 days; audited as "
		     "marker.add; as `droverctl marker add`)",
	  .request = "{\"$ref\": \"#/components/schemas/MarkerAdd\"}",
	  .request_example = "{\"label\": \"v1.4.2\", \"note\": \"billing "
			     "rollout\"}",
	  .ok_status = 201,
	  .response = "{\"$ref\": \"#/components/schemas/Marker\"}",
	  .response_example = MARKER_EXAMPLE,
	  .errors = "503" },
	{ .method = "PATCH", .path = "/api/v1/markers/{id}",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = marker_update,
	  .op_id = "updateMarker", .tag = "history",
	  .summary = "Change a deploy marker's label, note or time (a null "
		     "note is taken out); it gets updated_ms and updated_by "
		     "(audited as marker.update with the marker before and "
		     "after; as `droverctl marker edit`)",
	  .param_doc = { "Marker id (a ULID)" },
	  .request = "{\"$ref\": \"#/components/schemas/MarkerUpdate\"}",
	  .request_example = "{\"label\": \"v1.4.3\", \"at\": "
			     "\"2026-01-01T00:10:00Z\", \"note\": null}",
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/Marker\"}",
	  .response_example = MARKER_EDITED_EXAMPLE,
	  .errors = "404 409 503" },
	{ .method = "DELETE", .path = "/api/v1/markers/{id}",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = marker_delete,
	  .op_id = "deleteMarker", .tag = "history",
	  .summary = "Delete a deploy marker (audited as marker.delete with "
		     "the marker; as `droverctl marker delete`)",
	  .param_doc = { "Marker id (a ULID)" }, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"deleted\", \"marker\"], \"properties\": {\"id\": "
		      "{\"type\": \"string\"}, \"deleted\": {\"type\": "
		      "\"boolean\"}, \"marker\": {\"$ref\": "
		      "\"#/components/schemas/Marker\"}}}",
	  .response_example = "{\"id\": \"01KBQ3M5Z8X0V7D6N4R2T9C1HA\", "
			      "\"deleted\": true, \"marker\": "
			      MARKER_EXAMPLE "}",
	  .errors = "404 503" },
	{ .method = NULL },
};

#define PCT_SCHEMA(what) \
	"{\"type\": \"object\", \"description\": \"" what " (ms): estimates " \
	"from histogram buckets, interpolated within the bucket\", " \
	"\"required\": [\"count\", \"p50\", \"p95\", \"p99\"], " \
	"\"properties\": {\"count\": {\"type\": \"integer\"}, " \
	"\"p50\": {\"type\": \"integer\"}, \"p95\": {\"type\": \"integer\"}, " \
	"\"p99\": {\"type\": \"integer\"}}}"

#define POINT_PROPS \
	"\"attempts\": {\"type\": \"integer\", \"description\": " \
	"\"attempts finished\"}, " \
	"\"per_s\": {\"type\": \"number\", \"description\": \"attempts per " \
	"second\"}, " \
	"\"succeeded\": {\"type\": \"integer\"}, " \
	"\"dead\": {\"type\": \"integer\"}, " \
	"\"skipped\": {\"type\": \"integer\", \"description\": \"tasks " \
	"skipped (their idempotency key was seen, or an operator)\"}, " \
	"\"cancelled\": {\"type\": \"integer\", \"description\": \"tasks " \
	"an operator cancelled\"}, " \
	"\"failed\": {\"type\": \"integer\", \"description\": \"failed " \
	"attempts\"}, " \
	"\"failure_rate\": {\"type\": \"number\", \"description\": \"failed " \
	"/ attempts\"}, " \
	"\"wait_ms\": " PCT_SCHEMA("submit to start of first attempts") ", " \
	"\"duration_ms\": " PCT_SCHEMA("how long attempts ran")
#define POINT_REQUIRED \
	"\"attempts\", \"per_s\", \"succeeded\", \"dead\", \"skipped\", " \
	"\"cancelled\", \"failed\", " \
	"\"failure_rate\", \"wait_ms\", \"duration_ms\""

const api_schema_t api_history_schemas[] = {
	{ "HistoryPoint",
	  "{\"type\": \"object\", \"required\": [\"t\", " POINT_REQUIRED "], "
	  "\"properties\": {\"t\": {\"type\": \"integer\", \"description\": "
	  "\"the step's start (ms since 1970)\"}, " POINT_PROPS "}}" },
	{ "History",
	  "{\"type\": \"object\", \"required\": [\"handler\", \"band\", "
	  "\"since_ms\", \"until_ms\", \"step_ms\", \"points\", \"total\", "
	  "\"markers\"], \"properties\": {"
	  "\"handler\": {\"type\": [\"string\", \"null\"]}, "
	  "\"band\": {\"type\": [\"string\", \"null\"]}, "
	  "\"since_ms\": {\"type\": \"integer\"}, "
	  "\"until_ms\": {\"type\": \"integer\"}, "
	  "\"step_ms\": {\"type\": \"integer\"}, "
	  "\"points\": {\"type\": \"array\", \"maxItems\": 1500, \"items\": "
	  "{\"$ref\": \"#/components/schemas/HistoryPoint\"}}, "
	  "\"total\": {\"type\": \"object\", \"required\": [" POINT_REQUIRED
	  "], \"properties\": {" POINT_PROPS "}}, "
	  "\"markers\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/Marker\"}}}}" },
	{ "DlqDepth",
	  "{\"type\": \"object\", \"required\": [\"since_ms\", "
	  "\"until_ms\", \"step_ms\", \"interval_ms\", \"threshold\", "
	  "\"current\", \"points\"], \"properties\": {"
	  "\"since_ms\": {\"type\": \"integer\"}, "
	  "\"until_ms\": {\"type\": \"integer\"}, "
	  "\"step_ms\": {\"type\": \"integer\"}, "
	  "\"interval_ms\": {\"type\": \"integer\", \"description\": "
	  "\"coordinator.dlq_depth_interval: time between samples\"}, "
	  "\"threshold\": {\"type\": [\"integer\", \"null\"], "
	  "\"description\": \"coordinator.dlq_depth_alert; null when "
	  "off\"}, "
	  "\"current\": {\"description\": \"the newest sample kept, or "
	  "null\", \"oneOf\": [{\"type\": \"null\"}, {\"type\": "
	  "\"object\", \"required\": [\"at_ms\", \"depth\"], "
	  "\"properties\": {\"at_ms\": {\"type\": \"integer\"}, "
	  "\"depth\": {\"type\": \"integer\"}}}]}, "
	  "\"points\": {\"type\": \"array\", \"maxItems\": 1500, "
	  "\"description\": \"steps with samples only\", \"items\": {"
	  "\"type\": \"object\", \"required\": [\"t\", \"depth\", "
	  "\"max\", \"min\", \"samples\"], \"properties\": {"
	  "\"t\": {\"type\": \"integer\", \"description\": \"the "
	  "step's start\"}, "
	  "\"depth\": {\"type\": \"integer\", \"description\": \"the "
	  "step's last sample\"}, "
	  "\"max\": {\"type\": \"integer\"}, "
	  "\"min\": {\"type\": \"integer\"}, "
	  "\"samples\": {\"type\": \"integer\"}}}}}}" },
	{ "Marker",
	  "{\"type\": \"object\", \"required\": [\"id\", \"at_ms\", "
	  "\"label\", \"created_ms\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"at_ms\": {\"type\": \"integer\"}, "
	  "\"label\": {\"type\": \"string\"}, "
	  "\"note\": {\"type\": \"string\"}, "
	  "\"actor\": {\"type\": \"string\", \"description\": \"the token "
	  "(or droverctl user) that set it\"}, "
	  "\"created_ms\": {\"type\": \"integer\"}, "
	  "\"updated_ms\": {\"type\": \"integer\", \"description\": "
	  "\"when it was last changed (PATCH); absent until then\"}, "
	  "\"updated_by\": {\"type\": \"string\", \"description\": "
	  "\"the token (or droverctl user) that last changed it\"}}}" },
	{ "MarkerAdd",
	  "{\"type\": \"object\", \"required\": [\"label\"], "
	  "\"additionalProperties\": false, \"properties\": {"
	  "\"label\": {\"type\": \"string\", \"minLength\": 1, "
	  "\"maxLength\": 200, \"pattern\": \"^[^\\\\u0000]*$\"}, "
	  "\"note\": {\"type\": \"string\", \"maxLength\": 2000, "
	  "\"pattern\": \"^[^\\\\u0000]*$\"}, "
	  "\"at\": {\"description\": \"its time (default: now): ms since "
	  "1970, or RFC 3339, a date or a duration ago (2h); one older "
	  "than 14 days is dropped at once\", "
	  "\"oneOf\": [{\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 253402300799999}, " API_WHEN_SCHEMA "]}}}" },
	{ "MarkerUpdate",
	  "{\"type\": \"object\", \"minProperties\": 1, "
	  "\"additionalProperties\": false, \"description\": \"the members "
	  "given replace the marker's; a null note is taken out\", "
	  "\"properties\": {"
	  "\"label\": {\"type\": \"string\", \"minLength\": 1, "
	  "\"maxLength\": 200, \"pattern\": \"^[^\\\\u0000]*$\"}, "
	  "\"note\": {\"type\": [\"string\", \"null\"], \"maxLength\": "
	  "2000, \"pattern\": \"^[^\\\\u0000]*$\"}, "
	  "\"at\": {\"description\": \"its new time: ms since 1970, or "
	  "RFC 3339, a date or a duration ago (2h); one older than 14 days "
	  "is dropped at once\", "
	  "\"oneOf\": [{\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 253402300799999}, " API_WHEN_SCHEMA "]}}}" },
	{ NULL, NULL },
};
