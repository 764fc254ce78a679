/*
 * routes.c — the one route table: each resource file's routes joined, the
 * matching of a request to a route, and the OpenAPI 3.1 document written
 * from the same rows (GET /api/v1/openapi.json), so every route served is
 * documented and every documented route is served.
 */
#include <string.h>

#include "api_int.h"
#include "drover/str.h"

static void serve_openapi(api_call_t *call)
{
	api_reply(call, 200, api_openapi(call->api->cfg));
}

/* Who the caller is: the console shows the buttons of its role. */
static void whoami(api_call_t *call)
{
	api_reply(call, 200, json_pack("{s:s, s:s}", "name", call->token->name,
				       "role",
				       drv_api_role_name(call->token->role)));
}

static const api_route_t meta_routes[] = {
	{ .method = "GET", .path = "/api/v1/openapi.json", .public = true,
	  .cls = API_READ, .fn = serve_openapi, .op_id = "getOpenApi",
	  .tag = "meta", .summary = "This document", .ok_status = 200,
	  .response = "{\"type\": \"object\"}" },
	{ .method = "GET", .path = "/api/v1/whoami", .role = DRV_API_VIEWER,
	  .cls = API_READ, .fn = whoami, .op_id = "whoami", .tag = "meta",
	  .summary = "The caller: its token's name and role (`loopback` for "
		     "api.loopback_viewer's callers)",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"name\", "
		      "\"role\"], \"properties\": {\"name\": {\"type\": "
		      "\"string\"}, \"role\": {\"type\": \"string\", "
		      "\"enum\": [\"viewer\", \"operator\", \"admin\"]}}}" },
	{ .method = NULL },
};

static const api_schema_t meta_schemas[] = {
	{ "Problem",
	  "{\"type\": \"object\", \"description\": \"RFC 9457 problem "
	  "details\", \"required\": [\"type\", \"title\", \"status\", "
	  "\"detail\"], \"properties\": {"
	  "\"type\": {\"type\": \"string\"}, "
	  "\"title\": {\"type\": \"string\"}, "
	  "\"status\": {\"type\": \"integer\"}, "
	  "\"detail\": {\"type\": \"string\"}, "
	  "\"pointer\": {\"type\": \"string\", \"description\": \"JSON "
	  "Pointer to the field at fault in the request body\"}}}" },
	{ NULL, NULL },
};

static const api_route_t *const tables[] = {
	meta_routes, api_task_routes, api_event_routes, api_breaker_routes,
	api_queue_routes, api_schedule_routes, api_schedule_fire_routes,
	api_dlq_routes,
	api_dlq_resubmit_routes, api_dlq_group_routes, api_dlq_job_routes,
	api_audit_routes, api_webhook_routes, api_task_limit_routes,
	api_retry_routes, api_history_routes, api_live_routes,
};
static const api_schema_t *const schema_tables[] = {
	meta_schemas, api_task_schemas, api_event_schemas,
	api_breaker_schemas, api_queue_schemas, api_schedule_schemas,
	api_schedule_fire_schemas,
	api_dlq_schemas, api_dlq_resubmit_schemas, api_dlq_group_schemas,
	api_dlq_job_schemas, api_audit_schemas, api_webhook_schemas,
	api_task_limit_schemas, api_retry_schemas, api_history_schemas,
	api_live_schemas,
};
#define TABLE_CNT (sizeof(tables) / sizeof(tables[0]))

void api_routes_each(void (*fn)(const api_route_t *r, void *arg), void *arg)
{
	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const api_route_t *r = tables[t]; r->method; r++)
			fn(r, arg);
}

/* Does \p path fit \p tmpl ("/api/v1/tasks/{id}")? Parameters into
 * \p params when it does. */
static bool path_fits(const char *tmpl, const char *path,
		      char params[API_PARAM_MAX][256])
{
	size_t np = 0;

	while (*tmpl && *path) {
		if (*tmpl == '{') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= 256 || np == API_PARAM_MAX)
				return false;
			memcpy(params[np], path, n);
			params[np++][n] = '\0';
			path += n;
			tmpl += strcspn(tmpl, "}") + 1;
		} else if (*tmpl++ != *path++) {
			return false;
		}
	}
	return !*tmpl && !*path;
}

api_match_t api_route_find(const char *method, const char *path,
			   const api_route_t **route,
			   char params[API_PARAM_MAX][256],
			   char *allow, size_t allow_size)
{
	char scratch[API_PARAM_MAX][256];
	api_match_t m = API_NO_PATH;
	size_t off = 0;

	allow[0] = '\0';
	/* pass 0: templates without parameters, so /tasks/batch is never
	 * taken for /tasks/{id}; pass 1: the others */
	for (int pass = 0; pass < 2 && m == API_NO_PATH; pass++)
		for (size_t t = 0; t < TABLE_CNT; t++)
			for (const api_route_t *r = tables[t]; r->method;
			     r++) {
				if (!strchr(r->path, '{') != !pass ||
				    !path_fits(r->path, path, scratch))
					continue;
				if (!strcmp(r->method, method)) {
					*route = r;
					memcpy(params, scratch,
					       sizeof(scratch));
					return API_MATCHED;
				}
				m = API_NO_METHOD;
				if (off < allow_size) {
					drv_fmt(allow + off, allow_size - off,
						"%s%s", off ? ", " : "",
						r->method);
					off += strlen(allow + off);
				}
			}
	return m;
}

/* ------------------------------------------------------------------ */
/* The OpenAPI document                                                */
/* ------------------------------------------------------------------ */

static json_t *schema_of(const char *text)
{
	json_t *s = json_loads(text, 0, NULL);

	return s ? s : json_pack("{s:s}", "description",
				 "(schema text does not parse)");
}

static json_t *problem_response(const char *why)
{
	return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", why,
			 "content", "application/problem+json", "schema",
			 "$ref", "#/components/schemas/Problem");
}

static const char *error_doc(unsigned status)
{
	switch (status) {
	case 400: return "Bad request: malformed JSON, or a field or a "
			 "query parameter out of bounds (pointer names it)";
	case 401: return "No valid bearer token";
	case 403: return "The token's role may not do this";
	case 404: return "No such thing";
	case 405: return "Method not allowed on this path";
	case 409: return "Conflicts with the current state";
	case 413: return "Body larger than api.max_body";
	case 422: return "Idempotency-Key reused with another body";
	case 429: return "Rate limit exceeded; see Retry-After";
	case 503: return "Kafka or Redis unreachable";
	default:  return "Error";
	}
}

static json_t *operation(const api_route_t *r)
{
	json_t *op = json_object(), *params = json_array(), *resp, *ok;
	const char *p = r->path, *type = r->ok_type ? r->ok_type :
					       "application/json";
	size_t np = 0;
	char st[8], desc[160];

	json_object_set_new(op, "operationId", json_string(r->op_id));
	json_object_set_new(op, "tags", json_pack("[s]", r->tag));
	json_object_set_new(op, "summary", json_string(r->summary));
	drv_fmt(desc, sizeof(desc), r->public ? "No token needed." :
		"Needs a token with role %s or above.",
		drv_api_role_name(r->role));
	json_object_set_new(op, "description", json_string(desc));
	if (r->public)
		json_object_set_new(op, "security", json_array());
	while ((p = strchr(p, '{'))) {
		size_t n = strcspn(p + 1, "}");
		char name[64];

		drv_fmt(name, sizeof(name), "%.*s", (int)n, p + 1);
		json_array_append_new(params, json_pack(
			"{s:s, s:s, s:b, s:s, s:{s:s, s:i}}", "name", name,
			"in", "path", "required", 1, "description",
			np < API_PARAM_MAX && r->param_doc[np] ?
			r->param_doc[np] : name,
			"schema", "type", "string", "minLength", 1));
		np++;
		p += n + 1;
	}
	for (const api_query_doc_t *q = r->query; q && q->name; q++)
		json_array_append_new(params, json_pack(
			"{s:s, s:s, s:b, s:s, s:o}", "name", q->name, "in",
			"query", "required", 0, "description", q->doc,
			"schema", schema_of(q->schema)));
	if (json_array_size(params))
		json_object_set(op, "parameters", params);
	json_decref(params);
	if (r->request) {
		json_t *media = json_pack("{s:o}", "schema",
					  schema_of(r->request));

		if (r->request_example)
			json_object_set_new(media, "example",
					    schema_of(r->request_example));
		json_object_set_new(op, "requestBody", json_pack(
			"{s:b, s:{s:o}}", "required", !r->body_optional,
			"content",
			"application/json", media));
	}
	resp = json_object();
	ok = json_pack("{s:s, s:{s:{s:o}}}", "description", "Done",
		       "content", type, "schema", schema_of(r->response));
	if (r->response_example)
		json_object_set_new(json_object_get(json_object_get(ok,
				    "content"), type),
				    "example", schema_of(r->response_example));
	drv_fmt(st, sizeof(st), "%u", r->ok_status);
	json_object_set_new(resp, st, ok);
	if (r->alt_status) {
		drv_fmt(st, sizeof(st), "%u", r->alt_status);
		json_object_set_new(resp, st, json_pack(
			"{s:s, s:{s:{s:o}}}", "description", "Done",
			"content", type, "schema",
			schema_of(r->alt_response)));
	}
	if (r->request || r->query)
		json_object_set_new(resp, "400", problem_response(
			error_doc(400)));
	if (!r->public) {
		static const unsigned always[] = { 401, 403, 429 };

		for (size_t i = 0; i < 3; i++) {
			drv_fmt(st, sizeof(st), "%u", always[i]);
			json_object_set_new(resp, st, problem_response(
				error_doc(always[i])));
		}
	}
	if (r->cls == API_WRITE) {
		json_object_set_new(resp, "413", problem_response(
			error_doc(413)));
		json_object_set_new(resp, "422", problem_response(
			error_doc(422)));
	}
	for (const char *e = r->errors; e && *e; ) {
		unsigned code = 0;

		while (*e >= '0' && *e <= '9')
			code = code * 10 + (unsigned)(*e++ - '0');
		while (*e == ' ')
			e++;
		drv_fmt(st, sizeof(st), "%u", code);
		json_object_set_new(resp, st, problem_response(
			error_doc(code)));
	}
	json_object_set_new(op, "responses", resp);
	return op;
}

static void add_path(const api_route_t *r, void *arg)
{
	json_t *paths = arg, *item = json_object_get(paths, r->path);
	char method[16];
	size_t i;

	if (!item) {
		item = json_object();
		json_object_set_new(paths, r->path, item);
	}
	for (i = 0; r->method[i] && i + 1 < sizeof(method); i++)
		method[i] = (char)(r->method[i] | 0x20);  /* lower case */
	method[i] = '\0';
	json_object_set_new(item, method, operation(r));
}

/* Property \p prop of schema \p name (borrowed). */
static json_t *prop_of(json_t *schemas, const char *name, const char *prop)
{
	return json_object_get(json_object_get(json_object_get(schemas, name),
					       "properties"), prop);
}

/* A copy of enum \p names (a reference taken) with null at its end: an
 * update's member taken out. */
static json_t *with_null(json_t *names)
{
	json_t *e = json_copy(names);

	json_decref(names);
	json_array_append_new(e, json_null());
	return e;
}

/* The names this deployment knows, as enums of TaskSubmit (and
 * TaskRetry's policy): a handler
 * outside the config's list, or an unknown policy, is refused anyway. */
static void add_config_enums(json_t *schemas, const drv_config_t *cfg)
{
	json_t *props = json_object_get(json_object_get(schemas, "TaskSubmit"),
					"properties"), *names;

	if (cfg->handler_cnt) {
		names = json_array();
		for (size_t i = 0; i < cfg->handler_cnt; i++)
			json_array_append_new(names,
				json_string(cfg->handlers[i].name));
		json_object_set_new(json_object_get(props, "handler"), "enum",
				    names);
	}
	names = json_array();
	for (size_t i = 0; i < cfg->policy_cnt; i++)
		json_array_append_new(names, json_string(cfg->policies[i].name));
	json_object_set(json_object_get(props, "policy"), "enum", names);
	/* a retry's and a schedule's policy too; a schedule's handler */
	json_object_set(prop_of(schemas, "TaskRetry", "policy"), "enum",
			names);
	json_object_set(prop_of(schemas, "ScheduleCreate", "policy"), "enum",
			names);
	json_object_set_new(prop_of(schemas, "ScheduleUpdate", "policy"),
			    "enum", with_null(names));
	if (cfg->handler_cnt) {
		json_t *h = json_object_get(json_object_get(props, "handler"),
					    "enum");

		json_object_set(prop_of(schemas, "ScheduleCreate", "handler"),
				"enum", h);
		json_object_set(prop_of(schemas, "ScheduleUpdate", "handler"),
				"enum", h);
	}
}

/* The zones a schedule may name (both schemas; null in an update), and
 * those a query may (Zone). */
static void add_zone_enums(json_t *schemas)
{
	json_object_set(json_object_get(schemas, "Zone"), "enum",
			api_zone_names());
	json_object_set(prop_of(schemas, "ScheduleCreate", "timezone"),
			"enum", api_zone_names());
	json_object_set_new(prop_of(schemas, "ScheduleUpdate", "timezone"),
			    "enum", with_null(json_incref(api_zone_names())));
}

json_t *api_openapi(const drv_config_t *cfg)
{
	json_t *doc, *paths = json_object(), *schemas = json_object();

	api_routes_each(add_path, paths);
	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const api_schema_t *s = schema_tables[t]; s->name; s++)
			json_object_set_new(schemas, s->name,
					    schema_of(s->schema));
	if (cfg)
		add_config_enums(schemas, cfg);
	add_zone_enums(schemas);
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:[{s:[]}], "
			"s:{s:o, s:{s:{s:s, s:s}}}, s:o}",
			"openapi", "3.1.0",
			"info", "title", "drover API", "version",
			DROVER_VERSION, "description",
			"Tasks, retries, breakers and dead letters of a drover "
			"fleet over HTTP. See docs/api.md.",
			"servers", "url", "/",
			"security", "bearer",
			"components", "schemas", schemas, "securitySchemes",
			"bearer", "type", "http", "scheme", "bearer",
			"paths", paths);
	return doc;
}
