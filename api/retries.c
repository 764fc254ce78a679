/*
 * retries.c — GET /api/v1/retries/analytics: per handler, how many attempts
 * finished tasks took (succeeded or dead by attempt number), the share that
 * succeeded within n attempts, failed attempts by class, and how late
 * retries started, summed over a time range of the workers' per-minute
 * counters. The core's drv_retry_analytics() does the reading, as for
 * `droverctl retry analytics`.
 */
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/retry_stats.h"

typedef struct retry_args {
	const char *handler;
	int64_t since, until;
} retry_args_t;

static bool retry_param(api_call_t *call, const char *name,
			const char *value, void *arg)
{
	retry_args_t *a = arg;
	int r = api_range_param(call, name, value, &a->since, &a->until);

	if (r)
		return r > 0;
	if (!strcmp(name, "handler")) {
		a->handler = value;
		if (*value)
			return true;
		api_problem(call, 400, NULL, "handler: empty");
		return false;
	}
	api_problem(call, 400, NULL, "unknown query parameter '%.64s'", name);
	return false;
}

static void analytics(api_call_t *call)
{
	retry_args_t a = { 0 };
	redisContext *c;
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;

	if (!api_query_each(call, retry_param, &a))
		return;
	drv_retry_stats_range(&a.since, &a.until, drv_now_ms());
	if (!(c = api_redis(call)))
		return;
	rc = drv_retry_analytics(call->api->cfg, c, a.handler, a.since,
				 a.until, &o, err, sizeof(err));
	if (rc) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	api_reply(call, 200, o);
}

static const api_query_doc_t retry_query[] = {
	{ "handler", API_TEXT_SCHEMA, "only this handler (default: every "
	  "handler in the config)" },
	{ "since", API_WHEN_SCHEMA, "from" API_WHEN_DOC "; default: 24 hours "
	  "before until" },
	{ "until", API_WHEN_SCHEMA, "to" API_WHEN_DOC "; default: now. A "
	  "range over 14 days (what is kept) starts 14 days before until; "
	  "until before since counts nothing" },
	{ NULL, NULL, NULL },
};

const api_route_t api_retry_routes[] = {
	{ .method = "GET", .path = "/api/v1/retries/analytics",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = analytics,
	  .op_id = "retryAnalytics", .tag = "retries",
	  .summary = "Retry analytics per handler: attempts to success or "
		     "death, success within n attempts, failures by class, "
		     "retry lateness (as `droverctl retry analytics`)",
	  .query = retry_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/RetryAnalytics\"}",
	  .response_example =
		"{\"since_ms\": 1767225600000, \"until_ms\": 1767312000000, "
		"\"handlers\": [{\"handler\": \"billing\", \"finished\": 10, "
		"\"succeeded\": 9, \"dead\": 1, \"attempts\": 13, "
		"\"skipped\": 0, \"cancelled\": 0, "
		"\"succeeded_by_attempt\": {\"1\": 6, \"2\": 3, \"3\": 0, "
		"\"4\": 0, \"5\": 0, \"6\": 0, \"7\": 0, \"8\": 0, \"9+\": 0}, "
		"\"dead_by_attempt\": {\"0\": 0, \"1\": 1, \"2\": 0, \"3\": 0, "
		"\"4\": 0, \"5\": 0, \"6\": 0, \"7\": 0, \"8\": 0, \"9+\": 0}, "
		"\"success_within\": {\"1\": 0.6, \"2\": 0.9, \"3\": 0.9, "
		"\"4\": 0.9, \"5\": 0.9, \"6\": 0.9, \"7\": 0.9, \"8\": 0.9, "
		"\"9+\": 0.9}, "
		"\"failures\": {\"transient\": 3, \"permanent\": 1, "
		"\"timeout\": 0, \"crashed\": 0, \"throttled\": 0}, "
		"\"lateness_ms\": {\"count\": 3, \"mean\": 40, \"p50\": 50, "
		"\"p95\": 100, \"p99\": 100}, "
		"\"duration_ms\": {\"count\": 13, \"mean\": 120, \"p50\": 250, "
		"\"p95\": 500, \"p99\": 500}}]}",
	  .errors = "503" },
	{ .method = NULL },
};

#define DIST_SCHEMA(what) \
	"{\"type\": \"object\", \"description\": \"" what " (ms): mean, and " \
	"percentiles as the upper bound of their histogram bucket\", " \
	"\"required\": [\"count\", \"mean\", \"p50\", \"p95\", \"p99\"], " \
	"\"properties\": {\"count\": {\"type\": \"integer\"}, " \
	"\"mean\": {\"type\": \"integer\"}, \"p50\": {\"type\": \"integer\"}, " \
	"\"p95\": {\"type\": \"integer\"}, \"p99\": {\"type\": \"integer\"}}}"

const api_schema_t api_retry_schemas[] = {
	{ "HandlerRetryStats",
	  "{\"type\": \"object\", \"required\": [\"handler\", \"finished\", "
	  "\"succeeded\", \"dead\", \"attempts\", \"succeeded_by_attempt\", "
	  "\"dead_by_attempt\", \"success_within\", \"failures\", "
	  "\"lateness_ms\", \"duration_ms\"], \"properties\": {"
	  "\"handler\": {\"type\": \"string\"}, "
	  "\"finished\": {\"type\": \"integer\", \"description\": "
	  "\"tasks that succeeded or were dead-lettered\"}, "
	  "\"succeeded\": {\"type\": \"integer\"}, "
	  "\"dead\": {\"type\": \"integer\"}, "
	  "\"attempts\": {\"type\": \"integer\", \"description\": "
	  "\"attempts finished\"}, "
	  "\"skipped\": {\"type\": \"integer\"}, "
	  "\"cancelled\": {\"type\": \"integer\"}, "
	  "\"succeeded_by_attempt\": {\"type\": \"object\", \"description\": "
	  "\"tasks that succeeded on attempt n (1..8, 9+)\", "
	  "\"additionalProperties\": {\"type\": \"integer\"}}, "
	  "\"dead_by_attempt\": {\"type\": \"object\", \"description\": "
	  "\"tasks dead-lettered after n attempts (0..8, 9+)\", "
	  "\"additionalProperties\": {\"type\": \"integer\"}}, "
	  "\"success_within\": {\"type\": \"object\", \"description\": "
	  "\"share of finished tasks that succeeded within n attempts\", "
	  "\"additionalProperties\": {\"type\": \"number\"}}, "
	  "\"failures\": {\"type\": \"object\", \"description\": "
	  "\"failed attempts by class\", "
	  "\"additionalProperties\": {\"type\": \"integer\"}}, "
	  "\"lateness_ms\": " DIST_SCHEMA("how late retries started after "
					  "they were due") ", "
	  "\"duration_ms\": " DIST_SCHEMA("how long attempts ran") "}}" },
	{ "RetryAnalytics",
	  "{\"type\": \"object\", \"required\": [\"since_ms\", \"until_ms\", "
	  "\"handlers\"], \"properties\": {"
	  "\"since_ms\": {\"type\": \"integer\"}, "
	  "\"until_ms\": {\"type\": \"integer\"}, "
	  "\"handlers\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/HandlerRetryStats\"}}}}" },
	{ NULL, NULL },
};
