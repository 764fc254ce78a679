/*
 * task_limits.c — /api/v1/limits: the fleet-wide execution limits of the
 * config (`limits:`, docs/limits.md), each with its settings in force and,
 * for a limit without a key, its state in Redis; and changing a limit's
 * settings at run time for the whole fleet, or going back to the config's.
 * The same core calls serve `droverctl limit list|show|set|reset`.
 * (api/limit.c is the API's own request limits.)
 */
#include <string.h>

#include "api_int.h"
#include "drover/limit.h"

static void list(api_call_t *call)
{
	redisContext *c = api_redis(call);
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;

	if (!c)
		return;
	if ((rc = drv_limit_list(c, call->api->cfg, &o, err, sizeof(err)))) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	api_reply(call, 200, o);
}

/* Reply limit \p name as it is now, after \p action was audited (NULL:
 * no write). */
static void reply_limit(api_call_t *call, redisContext *c, const char *name,
			const char *action, json_t *details)
{
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;

	if ((rc = drv_limit_show(c, call->api->cfg, name, &o, err,
				 sizeof(err)))) {
		json_decref(details);
		if (rc != DRV_ERR_NOT_FOUND)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	if (action && !api_audit(call, action, name, 1, details, NULL)) {
		json_decref(o);
		return;
	}
	api_reply(call, 200, o);
}

static void show(api_call_t *call)
{
	redisContext *c = api_redis(call);

	if (c)
		reply_limit(call, c, call->params[0], NULL, NULL);
}

/* The body's settings: each a whole number or absent (-1). */
static bool change_of(api_call_t *call, json_t *body, drv_limit_change_t *ch)
{
	static const char *const names[] = { "rate", "per_ms", "burst",
					     "concurrency" };
	int64_t *field[] = { &ch->rate, &ch->per_ms, &ch->burst,
			     &ch->concurrency };
	const char *k;
	json_t *v;
	char ptr[64];

	if (!json_is_object(body) || !json_object_size(body)) {
		api_problem(call, 400, "", "the body must be an object with "
			    "rate, per_ms, burst or concurrency");
		return false;
	}
	for (size_t i = 0; i < 4; i++)
		*field[i] = -1;
	json_object_foreach(body, k, v) {
		size_t i = 0;

		while (i < 4 && strcmp(k, names[i]))
			i++;
		snprintf(ptr, sizeof(ptr), "/%s", k);
		if (i == 4) {
			api_problem(call, 400, ptr, "unknown member '%s'", k);
			return false;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			api_problem(call, 400, ptr, "%s must be a whole "
				    "number, 0 or more", k);
			return false;
		}
		*field[i] = json_integer_value(v);
	}
	return true;
}

static void change(api_call_t *call)
{
	json_t *body = api_body_json(call);
	drv_limit_change_t ch;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!body)
		return;
	if (!change_of(call, body, &ch) || !(c = api_redis(call))) {
		json_decref(body);
		return;
	}
	if ((rc = drv_limit_change(c, call->api->cfg, call->params[0], &ch,
				   err, sizeof(err)))) {
		json_decref(body);
		if (rc == DRV_ERR_REDIS || rc == DRV_ERR_IO)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	reply_limit(call, c, call->params[0], "limit.change", body);
}

static void reset(api_call_t *call)
{
	redisContext *c = api_redis(call);
	char err[512];
	drv_err_t rc;

	if (!c)
		return;
	if ((rc = drv_limit_reset(c, call->api->cfg, call->params[0], err,
				  sizeof(err)))) {
		if (rc != DRV_ERR_NOT_FOUND)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	reply_limit(call, c, call->params[0], "limit.reset", NULL);
}

#define NAME_DOC "Limit name (a key of `limits:` in the config)"
#define LIMIT "{\"$ref\": \"#/components/schemas/Limit\"}"

const api_route_t api_task_limit_routes[] = {
	{ .method = "GET", .path = "/api/v1/limits",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listLimits", .tag = "limits",
	  .summary = "Every fleet-wide execution limit, its settings and, "
		     "for a limit without a key, its state",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"limits\"], "
		      "\"properties\": {\"limits\": {\"type\": \"array\", "
		      "\"items\": {\"$ref\": \"#/components/schemas/Limit\"}}}}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/limits/{name}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getLimit", .tag = "limits",
	  .summary = "One fleet-wide limit: its settings in force (and the "
		     "config's, when changed at run time) and, without a "
		     "key, its state",
	  .param_doc = { NAME_DOC }, .ok_status = 200, .response = LIMIT,
	  .errors = "404 503" },
	{ .method = "PATCH", .path = "/api/v1/limits/{name}",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = change,
	  .op_id = "changeLimit", .tag = "limits",
	  .summary = "Change a limit's settings for the whole fleet (kept in "
		     "Redis; every worker's next admission uses them; as "
		     "`droverctl limit set`): the members given replace those "
		     "in force, within the config file's bounds",
	  .param_doc = { NAME_DOC },
	  .request = "{\"$ref\": \"#/components/schemas/LimitChange\"}",
	  .request_example = "{\"rate\": 50, \"burst\": 5}",
	  .ok_status = 200, .response = LIMIT, .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/limits/{name}/reset",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = reset,
	  .op_id = "resetLimit", .tag = "limits",
	  .summary = "Drop a limit's run-time change: the config file's "
		     "settings hold again (as `droverctl limit reset`)",
	  .param_doc = { NAME_DOC }, .ok_status = 200, .response = LIMIT,
	  .errors = "404 503" },
	{ .method = NULL },
};

const api_schema_t api_task_limit_schemas[] = {
	{ "Limit",
	  "{\"type\": \"object\", \"required\": [\"name\", \"handler\", "
	  "\"rate\", \"per_ms\", \"burst\", \"concurrency\"], "
	  "\"properties\": {"
	  "\"name\": {\"type\": \"string\"}, "
	  "\"handler\": {\"type\": \"string\"}, "
	  "\"key\": {\"type\": [\"string\", \"null\"], \"description\": "
	  "\"label.NAME: one bucket per value\"}, "
	  "\"rate\": {\"type\": \"integer\", \"description\": \"starts per "
	  "per_ms; 0 = none\"}, "
	  "\"per_ms\": {\"type\": \"integer\"}, "
	  "\"burst\": {\"type\": \"integer\"}, "
	  "\"concurrency\": {\"type\": \"integer\", \"description\": \"0 = "
	  "none\"}, "
	  "\"running\": {\"type\": \"integer\", \"description\": \"leases "
	  "held now (no key, concurrency set)\"}, "
	  "\"next_start_ms\": {\"type\": \"integer\", \"description\": "
	  "\"when the next task may start; 0 = now (no key, rate set)\"}, "
	  "\"config\": {\"type\": \"object\", \"description\": \"the "
	  "config file's settings, when changed at run time\", "
	  "\"properties\": {\"rate\": {\"type\": \"integer\"}, "
	  "\"per_ms\": {\"type\": \"integer\"}, \"burst\": {\"type\": "
	  "\"integer\"}, \"concurrency\": {\"type\": \"integer\"}}}, "
	  "\"changed_ms\": {\"type\": \"integer\", \"description\": "
	  "\"when the settings were changed at run time (ms since 1970)\"}}}" },
	{ "LimitChange",
	  "{\"type\": \"object\", \"minProperties\": 1, "
	  "\"additionalProperties\": false, \"properties\": {"
	  "\"rate\": {\"type\": \"integer\", \"minimum\": 0, "
	  "\"maximum\": 1000000, \"description\": \"starts per per_ms; 0 = "
	  "none\"}, "
	  "\"per_ms\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 86400000}, "
	  "\"burst\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 1000000}, "
	  "\"concurrency\": {\"type\": \"integer\", \"minimum\": 0, "
	  "\"maximum\": 100000, \"description\": \"0 = none\"}}}" },
	{ NULL, NULL },
};
