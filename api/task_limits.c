/*
 * task_limits.c — /api/v1/limits: the fleet-wide execution limits of the
 * config (`limits:`, docs/limits.md), each with its settings and, for a
 * limit without a key, its state in Redis. The same core call serves
 * `droverctl limit list`. (api/limit.c is the API's own request limits.)
 */
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
	  "\"when the next task may start; 0 = now (no key, rate set)\"}}}" },
	{ NULL, NULL },
};
