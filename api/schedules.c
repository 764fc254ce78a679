/*
 * schedules.c — /api/v1/schedules: every schedule (the config file's and
 * the run-time ones in Redis) with its statistics, one by id, and enable /
 * disable, which the leading coordinator picks up from Redis. The same
 * core calls as `droverctl schedule list|show|enable|disable`.
 */
#include <string.h>

#include "api_int.h"
#include "drover/sched_view.h"
#include "drover/str.h"

/* Rows of every schedule, or of \p only; NULL (problem replied) on a
 * Redis failure. */
static drv_sched_row_t *rows_of(api_call_t *call, const char *only,
				size_t *cnt)
{
	redisContext *c = api_redis(call);
	drv_sched_row_t *rows = NULL;
	char err[512];
	drv_err_t rc;

	if (!c)
		return NULL;
	if ((rc = drv_sched_rows(call->api->cfg, c, only, &rows, cnt, err,
				 sizeof(err)))) {
		drv_sched_rows_free(rows, *cnt);
		if (rc != DRV_ERR_NOMEM)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return NULL;
	}
	return rows;
}

static void list(api_call_t *call)
{
	size_t n = 0;
	drv_sched_row_t *rows = rows_of(call, NULL, &n);
	json_t *arr;

	if (!rows)
		return;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, drv_sched_row_obj(&rows[i]));
	drv_sched_rows_free(rows, n);
	api_reply(call, 200, json_pack("{s:o}", "schedules", arr));
}

/* Schedule {id}'s row, or NULL with a 404 (or 503) replied. */
static drv_sched_row_t *one(api_call_t *call, size_t *n)
{
	const char *id = call->params[0];
	drv_sched_row_t *rows;

	if (!drv_name_valid(id)) {
		api_problem(call, 404, NULL, "'%.64s' is not a schedule id (1 "
			    "to 64 of a-z 0-9 _ . -)", id);
		return NULL;
	}
	if (!(rows = rows_of(call, id, n)))
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

#define ID_DOC "Schedule id"
#define ROW "{\"$ref\": \"#/components/schemas/Schedule\"}"

const api_route_t api_schedule_routes[] = {
	{ .method = "GET", .path = "/api/v1/schedules",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listSchedules", .tag = "schedules",
	  .summary = "Every schedule, the config file's then the run-time "
		     "ones, with its statistics and next fire time",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"schedules\"], "
		      "\"properties\": {\"schedules\": {\"type\": \"array\", "
		      "\"items\": " ROW "}}}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/schedules/{id}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getSchedule", .tag = "schedules",
	  .summary = "One schedule: definition, source, enabled, statistics",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = ROW,
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
	{ .method = NULL },
};

const api_schema_t api_schedule_schemas[] = {
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
	{ NULL, NULL },
};
