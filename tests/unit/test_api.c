/*
 * Unit tests of the HTTP API's pieces that need no server: the route
 * table's matching, the OpenAPI document written from it, the rate-limit
 * buckets, API tokens in the config, and task submissions in JSON.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/audit_list.h"
#include "drover/digest.h"
#include "drover/str.h"
#include "drover/submit_json.h"

static drv_config_t *load(const char *yaml, char *const *envp, char *err,
			  size_t errlen)
{
	drv_config_t *cfg = NULL;

	err[0] = '\0';
	drv_config_load_string("f.yaml", yaml, strlen(yaml), envp, &cfg, err,
			       errlen);
	return cfg;
}

Test(api, route_matching)
{
	const api_route_t *r = NULL;
	char params[API_PARAM_MAX][256], allow[64];

	cr_assert_eq(api_route_find("GET", "/api/v1/tasks/01HZY3K4M5N6P7Q8R9"
				    "S0T1V2W3", &r, params, allow,
				    sizeof(allow)), API_MATCHED);
	cr_assert_str_eq(r->op_id, "getTask");
	cr_assert_str_eq(params[0], "01HZY3K4M5N6P7Q8R9S0T1V2W3");

	cr_assert_eq(api_route_find("POST", "/api/v1/tasks/batch", &r, params,
				    allow, sizeof(allow)), API_MATCHED);
	cr_assert_str_eq(r->op_id, "submitTaskBatch");
	cr_assert_eq(api_route_find("POST", "/api/v1/tasks/X/pause", &r,
				    params, allow, sizeof(allow)),
		     API_MATCHED);
	cr_assert_str_eq(r->op_id, "pauseTask");
	cr_assert_str_eq(params[0], "X");

	cr_assert_eq(api_route_find("GET", "/api/v1/tasks", &r, params,
				    allow, sizeof(allow)), API_MATCHED);
	cr_assert_str_eq(r->op_id, "listTasks");
	cr_assert_eq(api_route_find("DELETE", "/api/v1/tasks", &r, params,
				    allow, sizeof(allow)), API_NO_METHOD);
	cr_assert_str_eq(allow, "POST, GET");
	/* a literal segment wins over a parameter */
	cr_assert_eq(api_route_find("OPTIONS", "/api/v1/tasks/batch", &r,
				    params, allow, sizeof(allow)),
		     API_NO_METHOD);
	cr_assert_str_eq(allow, "POST");
	cr_assert_eq(api_route_find("GET", "/api/v1/tasks/a/b", &r, params,
				    allow, sizeof(allow)), API_NO_PATH);
	cr_assert_eq(api_route_find("GET", "/api/v1/tasks/", &r, params,
				    allow, sizeof(allow)), API_NO_PATH);
	cr_assert_eq(api_route_find("GET", "/api/v1", &r, params, allow,
				    sizeof(allow)), API_NO_PATH);
}

/* Every "$ref" in \p v names a schema of \p schemas. */
static void check_refs(json_t *v, json_t *schemas)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if (!strcmp(k, "$ref")) {
				const char *ref = json_string_value(e);

				cr_assert(ref && !strncmp(ref,
					"#/components/schemas/", 21), "%s",
					ref ? ref : "(not a string)");
				cr_assert_not_null(json_object_get(schemas,
					ref + 21), "no schema %s", ref);
			} else {
				check_refs(e, schemas);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			check_refs(e, schemas);
	}
}

static void check_route(const api_route_t *r, void *arg)
{
	json_t *paths = arg, *op, *p;
	char method[16], st[8];
	size_t i, params = 0, in_path = 0;

	for (i = 0; r->method[i]; i++)
		method[i] = (char)(r->method[i] | 0x20);
	method[i] = '\0';
	op = json_object_get(json_object_get(paths, r->path), method);
	cr_assert_not_null(op, "%s %s is not in the document", r->method,
			   r->path);
	cr_assert_str_eq(json_string_value(json_object_get(op, "operationId")),
			 r->op_id);
	for (const char *s = r->path; (s = strchr(s, '{')); s++)
		params++;
	json_array_foreach(json_object_get(op, "parameters"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "in")),
			    "path"))
			in_path++;
	cr_assert_eq(in_path, params, "%s %s", r->method, r->path);
	drv_fmt(st, sizeof(st), "%u", r->ok_status);
	cr_assert_not_null(json_object_get(json_object_get(op, "responses"),
					   st), "%s %s: no %s response",
			   r->method, r->path, st);
}

static void count_route(const api_route_t *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
}

Test(api, openapi_matches_the_routes)
{
	char err[256];
	drv_config_t *cfg = load("handlers:\n  resize: {type: noop}\n", NULL,
				 err, sizeof(err));
	json_t *doc = api_openapi(cfg), *paths, *item, *op, *e;
	char *text = json_dumps(doc, 0);
	size_t routes = 0, ops = 0;
	const char *k, *m;

	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "does not parse"), "a schema text in the "
		       "route table is not JSON");
	free(text);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "openapi")),
			 "3.1.0");
	paths = json_object_get(doc, "paths");
	api_routes_each(check_route, paths);
	api_routes_each(count_route, &routes);
	json_object_foreach(paths, k, item)
		json_object_foreach(item, m, op)
			ops++;
	cr_assert_eq(ops, routes, "the document has %zu operations for %zu "
		     "routes", ops, routes);
	check_refs(doc, json_object_get(json_object_get(doc, "components"),
					"schemas"));
	/* the deployment's handlers and policies are the enums */
	e = json_object_get(json_object_get(json_object_get(json_object_get(
		json_object_get(json_object_get(doc, "components"), "schemas"),
		"TaskSubmit"), "properties"), "handler"), "enum");
	cr_assert_eq(json_array_size(e), 1);
	cr_assert_str_eq(json_string_value(json_array_get(e, 0)), "resize");
	json_decref(doc);
	drv_config_destroy(cfg);
}

Test(api, rate_limit_buckets)
{
	char err[256];
	drv_config_t *cfg = load("api:\n  write_rate: 5\n  read_rate: 100\n",
				 NULL, err, sizeof(err));
	api_limits_t l;
	api_quota_t q;

	cr_assert_not_null(cfg, "%s", err);
	cr_assert(api_limits_init(&l, cfg, 2));
	for (int i = 0; i < 5; i++) {
		q = api_limits_take(&l, 1, API_WRITE, 1000000);
		cr_assert(q.allowed);
		cr_assert_eq(q.limit, 5);
		cr_assert_eq(q.remaining, 4 - i);
	}
	q = api_limits_take(&l, 1, API_WRITE, 1000000);
	cr_assert(!q.allowed);
	cr_assert_eq(q.remaining, 0);
	cr_assert_eq(q.reset_s, 1);
	/* other token, other class: their own buckets */
	cr_assert(api_limits_take(&l, 0, API_WRITE, 1000000).allowed);
	cr_assert(api_limits_take(&l, 1, API_READ, 1000000).allowed);
	/* 200 ms at 5/s brings one back, not two */
	cr_assert(api_limits_take(&l, 1, API_WRITE, 1200000).allowed);
	cr_assert(!api_limits_take(&l, 1, API_WRITE, 1200000).allowed);
	api_limits_release(&l);
	drv_config_destroy(cfg);
}

Test(api, tokens_are_kept_as_hashes)
{
	char *envp[] = { "OPS_TOKEN=s3cret", "EMPTY=", NULL };
	char err[256], hex[65];
	unsigned char d[DRV_SHA256_LEN];
	drv_config_t *cfg;

	drv_sha256("viewer-token", 12, d);
	drv_hex(d, sizeof(d), hex);
	{
		char yaml[512];

		snprintf(yaml, sizeof(yaml), "api_tokens:\n"
			 "  ops: {role: admin, env: OPS_TOKEN}\n"
			 "  dash: {sha256: %s}\n"
			 "  off: {role: operator, env: EMPTY}\n", hex);
		cfg = load(yaml, envp, err, sizeof(err));
	}
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->api_token_cnt, 3);
	cr_assert_eq(cfg->api_tokens[0].role, DRV_API_ADMIN);
	cr_assert(cfg->api_tokens[0].active);
	drv_sha256("s3cret", 6, d);
	cr_assert(drv_equal_ct(cfg->api_tokens[0].digest, d, sizeof(d)));
	cr_assert_eq(cfg->api_tokens[1].role, DRV_API_VIEWER);
	cr_assert(cfg->api_tokens[1].active);
	drv_sha256("viewer-token", 12, d);
	cr_assert(drv_equal_ct(cfg->api_tokens[1].digest, d, sizeof(d)));
	cr_assert(!cfg->api_tokens[2].active);
	drv_config_destroy(cfg);

	cr_assert_null(load("api_tokens:\n  x: {role: admin}\n", envp, err,
			    sizeof(err)));
	cr_assert_str_eq(err, "f.yaml:2:3: api_tokens.x: give either sha256 "
			 "or env (one of them)");
	cr_assert_null(load("api_tokens:\n  x: {sha256: abc}\n", envp, err,
			    sizeof(err)));
	cr_assert(strstr(err, "f.yaml:2:15: api_tokens.x.sha256: expected 64 "
			 "hex digits"), "%s", err);
	cr_assert_null(load("api_tokens:\n  x: {role: root, env: A}\n", envp,
			    err, sizeof(err)));
	cr_assert(strstr(err, "expected one of viewer, operator, admin"), "%s",
		  err);
}

/* drv_task_from_json on \p text: the error's pointer, or "ok". */
static void expect_task(const char *text, const drv_config_t *cfg,
			const char *pointer, const char *msg)
{
	json_t *o = json_loads(text, JSON_DECODE_ANY, NULL);
	char p[128], err[256];
	drv_task_t t;
	drv_err_t rc;

	cr_assert_not_null(o, "%s", text);
	drv_task_init(&t);
	rc = drv_task_from_json(o, cfg, 1000, &t, p, sizeof(p), err,
				sizeof(err));
	if (!pointer) {
		cr_assert_eq(rc, DRV_OK, "%s: %s", text, err);
	} else {
		cr_assert_eq(rc, DRV_ERR_INVALID, "%s", text);
		cr_assert_str_eq(p, pointer, "%s", text);
		cr_assert(strstr(err, msg), "%s: %s", text, err);
	}
	drv_task_release(&t);
	json_decref(o);
}

Test(api, task_submissions_in_json)
{
	char err[256];
	drv_config_t *cfg = load("handlers:\n  resize: {type: noop}\n", NULL,
				 err, sizeof(err));
	json_t *o = json_loads("{\"handler\": \"resize\", \"payload\": "
			       "{\"a\": [1, 2]}, \"priority\": 9, \"key\": "
			       "\"k1\", \"idempotency_key\": \"i1\", "
			       "\"max_attempts\": 3, \"policy\": \"aggressive\", "
			       "\"delay\": \"30s\", \"deadline\": 60000, "
			       "\"labels\": {\"customer\": \"42\"}}", 0, NULL);
	char p[64];
	drv_task_t t;

	cr_assert_not_null(cfg, "%s", err);
	drv_task_init(&t);
	cr_assert_eq(drv_task_from_json(o, cfg, 5000, &t, p, sizeof(p), err,
					sizeof(err)), DRV_OK, "%s", err);
	cr_assert(drv_id_valid(t.id));
	cr_assert_str_eq(t.handler, "resize");
	cr_assert_eq(t.payload_len, strlen("{\"a\":[1,2]}"));
	cr_assert_eq(memcmp(t.payload, "{\"a\":[1,2]}", t.payload_len), 0);
	cr_assert_eq(t.priority, 9);
	cr_assert_str_eq(t.key, "k1");
	cr_assert_str_eq(t.idempotency_key, "i1");
	cr_assert_eq(t.max_attempts, 3);
	cr_assert_str_eq(t.policy, "aggressive");
	cr_assert_eq(t.created_ms, 5000);
	cr_assert_eq(t.not_before_ms, 35000);
	cr_assert_eq(t.deadline_ms, 65000);
	cr_assert_str_eq(drv_task_label(&t, "customer"), "42");
	drv_task_release(&t);
	json_decref(o);

	expect_task("{\"handler\": \"resize\"}", cfg, NULL, NULL);
	expect_task("[1]", cfg, "", "must be a JSON object");
	expect_task("{}", cfg, "/handler", "handler is required");
	expect_task("{\"handler\": \"nope\"}", cfg, "/handler",
		    "no handler 'nope'");
	expect_task("{\"handler\": \"resize\", \"prio\": 1}", cfg, "/prio",
		    "unknown field");
	expect_task("{\"handler\": \"resize\", \"priority\": 11}", cfg,
		    "/priority", "from 1 to 10");
	expect_task("{\"handler\": \"resize\", \"priority\": \"9\"}", cfg,
		    "/priority", "integer");
	expect_task("{\"handler\": \"resize\", \"delay\": \"soon\"}", cfg,
		    "/delay", "duration");
	expect_task("{\"handler\": \"resize\", \"labels\": {\"a\": 1}}", cfg,
		    "/labels/a", "must be a string");
	expect_task("{\"handler\": \"resize\", \"policy\": \"nope\"}", cfg,
		    "/policy", "no retry policy");
	expect_task("{\"handler\": \"\"}", cfg, "/handler", "non-empty");
	expect_task("{\"handler\": \"resize\", \"delay\": \"1234567890d\"}",
		    cfg, "/delay", "duration");
	expect_task("{\"handler\": \"resize\", \"delay\": \"1h30m\"}", cfg,
		    NULL, NULL);
	drv_config_destroy(cfg);
}

/* GET /api/v1/audit and `droverctl audit list` share this filter. */
Test(api, audit_filter)
{
	drv_audit_filter_t f = { 0 };
	drv_audit_t a;
	char err[256];

	drv_audit_init(&a);
	a.time_ms = 1000000;
	a.action = "task.retry";
	a.actor = "ops";
	a.target = "01HZY3K4M5N6P7Q8R9S0T1V2W3";
	cr_assert(drv_audit_match(&f, &a));
	cr_assert_eq(drv_audit_filter_set(&f, "action", "task.", 0, err,
					  sizeof(err)), DRV_OK);
	cr_assert(drv_audit_match(&f, &a), "a prefix ending in '.'");
	f.action = "task";
	cr_assert_not(drv_audit_match(&f, &a), "no '.': exact");
	f.action = "task.retry";
	cr_assert_eq(drv_audit_filter_set(&f, "actor", "ci", 0, err,
					  sizeof(err)), DRV_OK);
	cr_assert_not(drv_audit_match(&f, &a));
	f.actor = "ops";
	cr_assert_eq(drv_audit_filter_set(&f, "target", "other", 0, err,
					  sizeof(err)), DRV_OK);
	cr_assert_not(drv_audit_match(&f, &a));
	f.target = a.target;
	cr_assert(drv_audit_match(&f, &a));
	/* since is inclusive, until exclusive; a duration counts back */
	cr_assert_eq(drv_audit_filter_set(&f, "since", "1s", 1001000, err,
					  sizeof(err)), DRV_OK);
	cr_assert_eq(f.since_ms, 1000000);
	cr_assert(drv_audit_match(&f, &a));
	cr_assert_eq(drv_audit_filter_set(&f, "until", "1970-01-01T00:16:40Z",
					  0, err, sizeof(err)), DRV_OK);
	cr_assert_not(drv_audit_match(&f, &a));
	cr_assert_eq(drv_audit_filter_set(&f, "until", "yesterday-ish", 0,
					  err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert_eq(drv_audit_filter_set(&f, "actor", "", 0, err,
					  sizeof(err)), DRV_ERR_INVALID);
	cr_assert_eq(drv_audit_filter_set(&f, "handler", "x", 0, err,
					  sizeof(err)), DRV_ERR_NOT_FOUND);
	a.action = a.actor = a.target = NULL;  /* borrowed: not to free */
	drv_audit_release(&a);
}
