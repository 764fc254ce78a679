/*
 * breakers.c — /api/v1/breakers: the circuit breakers shared in Redis,
 * listed and shown with their window counts, their transitions read
 * back from their logs, and forced open, forced closed or released to
 * their rules. The same core calls as `droverctl breaker
 * list|show|history|open|close|reset`.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/breaker.h"
#include "drover/str.h"

/* Read breaker \p name with its config's window; NULL (problem replied)
 * on failure. */
static json_t *read_one(api_call_t *call, redisContext *c, const char *name)
{
	const drv_breaker_conf_t *bc = drv_config_breaker(call->api->cfg,
							  name);
	drv_breaker_view_t v;
	char err[512];
	drv_err_t rc;

	rc = drv_breaker_redis_read(c, call->api->cfg, name, bc->window_ms,
				    &v, err, sizeof(err));
	if (rc) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return NULL;
	}
	return drv_breaker_view_json(call->api->cfg, &v);
}

static void list(api_call_t *call)
{
	redisContext *c = api_redis(call);
	char **names = NULL, err[512];
	size_t cnt = 0;
	json_t *arr, *one;
	drv_err_t rc;

	if (!c)
		return;
	if ((rc = drv_breaker_redis_list(c, call->api->cfg, &names, &cnt, err,
					 sizeof(err)))) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < cnt; i++) {
		if (!(one = read_one(call, c, names[i]))) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		json_array_append_new(arr, one);
	}
	drv_breaker_names_free(names, cnt);
	if (arr)
		api_reply(call, 200, json_pack("{s:o}", "breakers", arr));
}

/* The {name} of the path, or NULL with a 404 replied. */
static const char *breaker_name(api_call_t *call)
{
	if (drv_breaker_name_valid(call->params[0]))
		return call->params[0];
	api_problem(call, 404, NULL, "'%.64s' is not a breaker name (1 to 64 "
		    "of a-z A-Z 0-9 _ . - :)", call->params[0]);
	return NULL;
}

static void show(api_call_t *call)
{
	const char *name = breaker_name(call);
	redisContext *c;
	json_t *o;

	if (name && (c = api_redis(call)) && (o = read_one(call, c, name)))
		api_reply(call, 200, o);
}

/* open / close / release, from the last path segment */
static void change(api_call_t *call)
{
	const char *name = breaker_name(call), *verb = strrchr(
		call->route->path, '/') + 1;
	drv_breaker_state_t state = !strcmp(verb, "open") ?
		DRV_BREAKER_FORCED_OPEN : !strcmp(verb, "close") ?
		DRV_BREAKER_FORCED_CLOSED : DRV_BREAKER_CLOSED;
	drv_breaker_view_t v;
	redisContext *c;
	char err[512], source[128], action[32];
	drv_err_t rc;

	if (!name || !(c = api_redis(call)))
		return;
	drv_fmt(source, sizeof(source), "api:%s", call->token->name);
	if ((rc = drv_breaker_redis_set(c, call->api->cfg, name, state,
					source, &v, err, sizeof(err)))) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	if (drv_breaker_tell(call->api->producer, call->api->cfg, &v, verb,
			     source, err, sizeof(err))) {
		api_problem(call, 503, NULL, "breaker %s is %s, but its event "
			    "was not written: %s", name,
			    drv_breaker_state_name(v.state), err);
		return;
	}
	drv_fmt(action, sizeof(action), "breaker.%s", verb);
	if (api_audit(call, action, name, 1, json_pack("{s:s}", "state",
			drv_breaker_state_name(v.state)), NULL))
		api_reply(call, 200, drv_breaker_view_json(call->api->cfg,
								 &v));
}

/* ---- transitions ------------------------------------------------------ */

#define LOG_LIMIT 50

typedef struct log_args {
	const char *cursor;
	int64_t limit, before;
} log_args_t;

static bool log_param(api_call_t *call, const char *name, const char *value,
		      void *arg)
{
	log_args_t *a = arg;
	int r = api_page_param(call, name, value, &a->cursor, &a->limit,
			       DRV_BREAKER_LOG_MAX);

	if (r > 0 && a->cursor && drv_parse_int(a->cursor, 1, INT64_MAX,
						&a->before)) {
		api_problem(call, 400, NULL, "cursor: not a next_cursor of "
			    "this list");
		return false;
	}
	if (r)
		return r > 0;
	api_problem(call, 400, NULL, "unknown query parameter '%.64s'", name);
	return false;
}

static void transitions(api_call_t *call)
{
	const char *name = breaker_name(call);
	log_args_t a = { .limit = LOG_LIMIT };
	drv_breaker_transition_t *t;
	redisContext *c;
	char err[512], next[24];
	int64_t next_gen;
	size_t cnt;
	json_t *arr, *o;
	drv_err_t rc;

	if (!name || !api_query_each(call, log_param, &a) ||
	    !(c = api_redis(call)))
		return;
	if (!(t = calloc((size_t)a.limit, sizeof(*t)))) {
		api_problem(call, 500, NULL, "out of memory");
		return;
	}
	rc = drv_breaker_redis_transitions(c, call->api->cfg, name, a.before,
					   (size_t)a.limit, t, &cnt, &next_gen,
					   err, sizeof(err));
	if (rc) {
		free(t);
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < cnt; i++)
		json_array_append_new(arr, drv_breaker_transition_json(&t[i]));
	free(t);
	o = json_pack("{s:s, s:o, s:n}", "name", name, "transitions", arr,
		      "next_cursor");
	if (o && next_gen) {
		drv_fmt(next, sizeof(next), "%lld", (long long)next_gen);
		json_object_set_new(o, "next_cursor", json_string(next));
	}
	api_reply(call, 200, o);
}

static const api_query_doc_t log_query[] = {
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 200, "
	  "\"default\": 50}", "transitions per page" },
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^[1-9][0-9]{0,17}$\"}", "next_cursor of the page before" },
	{ NULL, NULL, NULL },
};

#define NAME_DOC "Breaker name"
#define VIEW "{\"$ref\": \"#/components/schemas/Breaker\"}"

const api_route_t api_breaker_routes[] = {
	{ .method = "GET", .path = "/api/v1/breakers",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listBreakers", .tag = "breakers",
	  .summary = "Every breaker Redis knows, with its state and window",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"breakers\"], "
		      "\"properties\": {\"breakers\": {\"type\": \"array\", "
		      "\"items\": " VIEW "}}}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/breakers/{name}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getBreaker", .tag = "breakers",
	  .summary = "One breaker (a name Redis has not seen reads as "
		     "closed)",
	  .param_doc = { NAME_DOC }, .ok_status = 200, .response = VIEW,
	  .errors = "404 503" },
	{ .method = "GET", .path = "/api/v1/breakers/{name}/transitions",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = transitions,
	  .op_id = "listBreakerTransitions", .tag = "breakers",
	  .summary = "A breaker's transitions, newest first: the last 200 "
		     "any worker or operator made, kept 30 days after the "
		     "last (as `droverctl breaker history`)",
	  .param_doc = { NAME_DOC }, .query = log_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/"
		      "BreakerTransitionPage\"}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/breakers/{name}/open",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = change,
	  .op_id = "openBreaker", .tag = "breakers",
	  .summary = "Force a breaker open: its tasks wait, no calls go out",
	  .param_doc = { NAME_DOC }, .ok_status = 200, .response = VIEW,
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/breakers/{name}/close",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = change,
	  .op_id = "closeBreaker", .tag = "breakers",
	  .summary = "Force a breaker closed: calls go out whatever their "
		     "outcome",
	  .param_doc = { NAME_DOC }, .ok_status = 200, .response = VIEW,
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/breakers/{name}/release",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = change,
	  .op_id = "releaseBreaker", .tag = "breakers",
	  .summary = "Leave any forced state: closed, window emptied, rules "
		     "apply again",
	  .param_doc = { NAME_DOC }, .ok_status = 200, .response = VIEW,
	  .errors = "404 503" },
	{ .method = NULL },
};

const api_schema_t api_breaker_schemas[] = {
	{ "Breaker",
	  "{\"type\": \"object\", \"required\": [\"name\", \"state\"], "
	  "\"properties\": {"
	  "\"name\": {\"type\": \"string\"}, "
	  "\"state\": {\"type\": \"string\", \"enum\": [\"closed\", \"open\", "
	  "\"half_open\", \"forced_open\", \"forced_closed\", \"disabled\", "
	  "\"metrics_only\"]}, "
	  "\"open_until_ms\": {\"type\": \"integer\"}, "
	  "\"changed_ms\": {\"type\": \"integer\"}, "
	  "\"transitions\": {\"type\": \"integer\"}, "
	  "\"calls\": {\"type\": \"integer\"}, "
	  "\"failures\": {\"type\": \"integer\"}, "
	  "\"slow\": {\"type\": \"integer\"}, "
	  "\"failure_rate\": {\"type\": \"number\"}, "
	  "\"slow_call_rate\": {\"type\": \"number\"}, "
	  "\"probes_leased\": {\"type\": \"integer\"}, "
	  "\"probes_ok\": {\"type\": \"integer\"}, "
	  "\"probes_failed\": {\"type\": \"integer\"}, "
	  "\"policy\": {\"$ref\": \"#/components/schemas/BreakerPolicy\"}}}" },
	{ "BreakerPolicy",
	  "{\"type\": \"object\", \"description\": \"The breaker's "
	  "`breakers:` entry in the serving coordinator's config (else "
	  "`default`), under the config's key names; durations in "
	  "milliseconds as <key>_ms\", \"required\": [\"entry\", "
	  "\"mode\", \"window_ms\", \"min_calls\", \"failure_rate\", "
	  "\"slow_call_ms\", \"slow_call_rate\", \"wait_in_open_ms\", "
	  "\"half_open_calls\", \"half_open_successes\"], "
	  "\"properties\": {"
	  "\"entry\": {\"type\": \"string\", \"description\": \"the "
	  "entry used: the breaker's own name, or default\"}, "
	  "\"mode\": {\"type\": \"string\", \"enum\": [\"auto\", "
	  "\"metrics_only\", \"disabled\"]}, "
	  "\"window_ms\": {\"type\": \"integer\"}, "
	  "\"min_calls\": {\"type\": \"integer\"}, "
	  "\"failure_rate\": {\"type\": \"number\", \"description\": "
	  "\"percent of failed calls that opens it\"}, "
	  "\"slow_call_ms\": {\"type\": \"integer\"}, "
	  "\"slow_call_rate\": {\"type\": \"number\", \"description\": "
	  "\"percent of slow calls that opens it\"}, "
	  "\"wait_in_open_ms\": {\"type\": \"integer\"}, "
	  "\"half_open_calls\": {\"type\": \"integer\", "
	  "\"description\": \"probes leased fleet-wide in half-open\"}, "
	  "\"half_open_successes\": {\"type\": \"integer\"}}}" },
	{ "BreakerTransitionPage",
	  "{\"type\": \"object\", \"required\": [\"name\", \"transitions\", "
	  "\"next_cursor\"], \"properties\": {"
	  "\"name\": {\"type\": \"string\"}, "
	  "\"transitions\": {\"type\": \"array\", \"items\": {"
	  "\"type\": \"object\", \"required\": [\"at_ms\", \"from\", \"to\", "
	  "\"gen\", \"why\"], \"properties\": {"
	  "\"at_ms\": {\"type\": \"integer\", \"description\": \"Redis "
	  "clock\"}, "
	  "\"from\": {\"type\": \"string\"}, \"to\": {\"type\": \"string\"}, "
	  "\"gen\": {\"type\": \"integer\", \"description\": \"the "
	  "breaker's transitions so far, this one included\"}, "
	  "\"why\": {\"type\": \"string\", \"description\": \"failure "
	  "rate, probes, wait over, or who forced it\"}}}}, "
	  "\"next_cursor\": {\"type\": [\"string\", \"null\"], "
	  "\"description\": \"the cursor of the next (older) page; null on "
	  "the last\"}}}" },
	{ NULL, NULL },
};
