/*
 * webhooks.c — /api/v1/webhooks: signed webhook subscriptions (Standard
 * Webhooks), made, listed, shown, rotated, enabled again and deleted by
 * admins, and each one's delivery log. The subscriptions live in Redis
 * (drover/webhook.h);
 * the coordinators turn events into delivery tasks and the workers send
 * them. A secret is shown once: in the reply that made it (create,
 * rotate); never in a list or a show.
 */
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/str.h"
#include "drover/webhook.h"

/* The {id} of the path, or NULL with a 404 replied. */
static const char *webhook_id(api_call_t *call)
{
	if (drv_id_valid(call->params[0]))
		return call->params[0];
	api_problem(call, 404, NULL, "'%.64s' is not a webhook id (a ULID)",
		    call->params[0]);
	return NULL;
}

/* The problem of a failed core call. */
static void failed(api_call_t *call, drv_err_t rc, const char *err)
{
	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
		api_redis_lost(call);
	api_problem(call, rc == DRV_ERR_RANGE ? 409 : api_status_of(rc), NULL,
		    "%s", err);
}

/* What the audit says of a subscription. */
static json_t *audit_details(const json_t *rec)
{
	return json_pack("{s:O, s:O}", "url", json_object_get(rec, "url"),
			 "events", json_object_get(rec, "events"));
}

static void list(api_call_t *call)
{
	redisContext *c = api_redis(call);
	json_t *all = NULL, *out, *rec;
	char err[512];
	drv_err_t rc;
	size_t i;

	if (!c)
		return;
	if ((rc = drv_webhook_list(c, call->api->cfg, &all, err,
				   sizeof(err)))) {
		failed(call, rc, err);
		return;
	}
	out = json_array();
	json_array_foreach(all, i, rec)
		json_array_append_new(out, drv_webhook_public(rec));
	json_decref(all);
	api_reply(call, 200, json_pack("{s:o}", "webhooks", out));
}

static void create(api_call_t *call)
{
	json_t *req = api_body_json(call), *rec = NULL;
	char err[512], pointer[32];
	redisContext *c;
	drv_err_t rc;

	if (!req || !(c = api_redis(call)))
		goto out;
	rc = drv_webhook_create(c, call->api->cfg, req, drv_now_ms(), &rec,
				pointer, err, sizeof(err));
	if (rc == DRV_ERR_INVALID) {
		api_problem(call, 400, pointer, "%s", err);
		goto out;
	}
	if (rc) {
		failed(call, rc, err);
		goto out;
	}
	if (api_audit(call, "webhook.create",
		      json_string_value(json_object_get(rec, "id")), 1,
		      audit_details(rec), NULL))
		api_reply(call, 201, json_incref(rec));
out:
	json_decref(rec);
	json_decref(req);
}

/* GET /webhooks/{id}, and POST /webhooks/{id}/enable (audited): the
 * record without its secrets. */
static void show(api_call_t *call)
{
	const char *id = webhook_id(call);
	bool on = !strcmp(call->route->method, "POST");
	json_t *rec = NULL;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id || !(c = api_redis(call)))
		return;
	rc = on ? drv_webhook_enable(c, call->api->cfg, id, &rec, err,
				     sizeof(err)) :
		  drv_webhook_get(c, call->api->cfg, id, &rec, err,
				  sizeof(err));
	if (rc) {
		failed(call, rc, err);
		return;
	}
	if (!on || api_audit(call, "webhook.enable", id, 1, NULL, NULL))
		api_reply(call, 200, drv_webhook_public(rec));
	json_decref(rec);
}

static void del(api_call_t *call)
{
	const char *id = webhook_id(call);
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id || !(c = api_redis(call)))
		return;
	if ((rc = drv_webhook_delete(c, call->api->cfg, id, err,
				     sizeof(err)))) {
		failed(call, rc, err);
		return;
	}
	if (api_audit(call, "webhook.delete", id, 1, NULL, NULL))
		api_reply(call, 200, json_pack("{s:s, s:b}", "id", id,
					       "deleted", 1));
}

static void rotate(api_call_t *call)
{
	const char *id = webhook_id(call), *secret = NULL, *k;
	json_t *req = NULL, *rec = NULL, *v;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id)
		return;
	if (call->body_len) {
		if (!(req = api_body_json(call)))
			return;
		if (!json_is_object(req)) {
			api_problem(call, 400, "", "the body is a JSON object");
			goto out;
		}
		json_object_foreach(req, k, v)
			if (strcmp(k, "secret")) {
				api_problem(call, 400, "", "unknown field "
					    "'%.64s' (secret)", k);
				goto out;
			}
		v = json_object_get(req, "secret");
		if (v && (!json_is_string(v) || strlen(json_string_value(v)) !=
			  json_string_length(v))) {
			api_problem(call, 400, "/secret", "secret is a string");
			goto out;
		}
		secret = json_string_value(v);
	}
	if (!(c = api_redis(call)))
		goto out;
	rc = drv_webhook_rotate(c, call->api->cfg, id, secret, drv_now_ms(),
				&rec, err, sizeof(err));
	if (rc == DRV_ERR_INVALID) {
		api_problem(call, 400, "/secret", "%s", err);
		goto out;
	}
	if (rc) {
		failed(call, rc, err);
		goto out;
	}
	if (api_audit(call, "webhook.rotate", id, 1, json_pack("{s:O}",
			"previous_until_ms", json_object_get(rec,
			"previous_until_ms")), NULL))
		api_reply(call, 200, json_pack("{s:s, s:O, s:O}", "id", id,
			  "secret", json_object_get(rec, "secret"),
			  "previous_until_ms", json_object_get(rec,
			  "previous_until_ms")));
out:
	json_decref(rec);
	json_decref(req);
}

static bool delivery_param(api_call_t *call, const char *name,
			   const char *value, void *arg)
{
	int64_t *limit = arg;

	if (strcmp(name, "limit"))
		return api_filter_rc(call, DRV_ERR_NOT_FOUND, name,
				     "unknown query parameter (limit)");
	if (drv_parse_int(value, 1, DRV_WEBHOOK_LOG_MAX, limit)) {
		api_problem(call, 400, NULL, "limit is 1 to %d",
			    DRV_WEBHOOK_LOG_MAX);
		return false;
	}
	return true;
}

static void deliveries(api_call_t *call)
{
	const char *id = webhook_id(call);
	int64_t limit = DRV_WEBHOOK_LOG_MAX;
	json_t *rec = NULL, *log = NULL;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id || !api_query_each(call, delivery_param, &limit) ||
	    !(c = api_redis(call)))
		return;
	if ((rc = drv_webhook_get(c, call->api->cfg, id, &rec, err,
				  sizeof(err))) ||
	    (rc = drv_webhook_deliveries(c, call->api->cfg, id, (size_t)limit,
					 &log, err, sizeof(err)))) {
		json_decref(rec);
		failed(call, rc, err);
		return;
	}
	json_decref(rec);
	api_reply(call, 200, json_pack("{s:s, s:o}", "id", id, "deliveries",
				       log));
}

#define ID_DOC "Webhook id (a ULID)"
#define VIEW "{\"$ref\": \"#/components/schemas/Webhook\"}"

static const api_query_doc_t deliveries_query[] = {
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100}",
	  "most entries, newest first (default 100)" },
	{ NULL, NULL, NULL },
};

const api_route_t api_webhook_routes[] = {
	{ .method = "GET", .path = "/api/v1/webhooks",
	  .role = DRV_API_ADMIN, .cls = API_READ, .fn = list,
	  .op_id = "listWebhooks", .tag = "webhooks",
	  .summary = "Every webhook subscription (never its secret)",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"webhooks\"], "
		      "\"properties\": {\"webhooks\": {\"type\": \"array\", "
		      "\"items\": " VIEW "}}}",
	  .errors = "503" },
	{ .method = "POST", .path = "/api/v1/webhooks",
	  .role = DRV_API_ADMIN, .cls = API_WRITE, .fn = create,
	  .op_id = "createWebhook", .tag = "webhooks",
	  .summary = "Subscribe a URL to events; signed deliveries "
		     "(Standard Webhooks). Without a secret one is made; "
		     "the reply is the only place it is shown",
	  .request = "{\"$ref\": \"#/components/schemas/WebhookCreate\"}",
	  .request_example = "{\"url\": \"https://example.com/hooks\", "
			     "\"events\": [\"task.dead\"], \"filter\": "
			     "{\"handler\": \"billing\"}}",
	  .ok_status = 201,
	  .response = "{\"$ref\": \"#/components/schemas/WebhookSecret\"}",
	  .errors = "409 503" },
	{ .method = "GET", .path = "/api/v1/webhooks/{id}",
	  .role = DRV_API_ADMIN, .cls = API_READ, .fn = show,
	  .op_id = "getWebhook", .tag = "webhooks",
	  .summary = "One webhook subscription (never its secret)",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = VIEW,
	  .errors = "404 503" },
	{ .method = "DELETE", .path = "/api/v1/webhooks/{id}",
	  .role = DRV_API_ADMIN, .cls = API_WRITE, .fn = del,
	  .op_id = "deleteWebhook", .tag = "webhooks",
	  .summary = "Delete a subscription and its delivery log; deliveries "
		     "still queued are dropped when their turn comes",
	  .param_doc = { ID_DOC }, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"deleted\"], \"properties\": {\"id\": {\"type\": "
		      "\"string\"}, \"deleted\": {\"type\": \"boolean\"}}}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/webhooks/{id}/rotate",
	  .role = DRV_API_ADMIN, .cls = API_WRITE, .fn = rotate,
	  .op_id = "rotateWebhookSecret", .tag = "webhooks",
	  .summary = "A new secret (the body's, or a made one, shown once); "
		     "the old one still signs beside it for "
		     "api.webhook_rotate_overlap",
	  .param_doc = { ID_DOC },
	  .request = "{\"type\": \"object\", \"additionalProperties\": false, "
		     "\"properties\": {\"secret\": "
		     "{\"$ref\": \"#/components/schemas/WebhookSecretText\"}}}",
	  .body_optional = true, .request_example = "{}",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"secret\", \"previous_until_ms\"], \"properties\": "
		      "{\"id\": {\"type\": \"string\"}, \"secret\": {\"type\": "
		      "\"string\"}, \"previous_until_ms\": {\"type\": "
		      "\"integer\"}}}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/webhooks/{id}/enable",
	  .role = DRV_API_ADMIN, .cls = API_WRITE, .fn = show,
	  .op_id = "enableWebhook", .tag = "webhooks",
	  .summary = "Send to a subscription again after its endpoint said "
		     "410 Gone (events meanwhile were not kept for it)",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = VIEW,
	  .errors = "404 503" },
	{ .method = "GET", .path = "/api/v1/webhooks/{id}/deliveries",
	  .role = DRV_API_ADMIN, .cls = API_READ, .fn = deliveries,
	  .op_id = "listWebhookDeliveries", .tag = "webhooks",
	  .summary = "The subscription's last delivery attempts (100 kept), "
		     "newest first",
	  .param_doc = { ID_DOC }, .query = deliveries_query,
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"deliveries\"], \"properties\": {\"id\": {\"type\": "
		      "\"string\"}, \"deliveries\": {\"type\": \"array\", "
		      "\"items\": {\"$ref\": "
		      "\"#/components/schemas/WebhookDelivery\"}}}}",
	  .errors = "404 503" },
	{ .method = NULL },
};

#define WEBHOOK_PROPS \
	"\"id\": {\"type\": \"string\"}, " \
	"\"url\": {\"type\": \"string\"}, " \
	"\"events\": {\"type\": \"array\", \"items\": {\"type\": " \
	"\"string\"}}, " \
	"\"filter\": {\"type\": \"object\", \"additionalProperties\": " \
	"{\"type\": \"string\"}}, " \
	"\"created_ms\": {\"type\": \"integer\"}, " \
	"\"enabled\": {\"type\": \"boolean\"}, " \
	"\"disabled_reason\": {\"type\": \"string\"}, " \
	"\"previous_until_ms\": {\"type\": \"integer\", \"description\": " \
	"\"the previous secret signs too until then\"}"
#define WEBHOOK_REQUIRED \
	"\"id\", \"url\", \"events\", \"filter\", \"created_ms\", \"enabled\""

const api_schema_t api_webhook_schemas[] = {
	{ "Webhook",
	  "{\"type\": \"object\", \"required\": [" WEBHOOK_REQUIRED "], "
	  "\"properties\": {" WEBHOOK_PROPS "}}" },
	{ "WebhookSecret",
	  "{\"type\": \"object\", \"required\": [" WEBHOOK_REQUIRED
	  ", \"secret\"], \"properties\": {" WEBHOOK_PROPS ", "
	  "\"secret\": {\"type\": \"string\", \"description\": \"whsec_...: "
	  "shown this once\"}}}" },
	{ "WebhookSecretText",
	  "{\"type\": \"string\", \"description\": \"whsec_ and the base64 "
	  "of 24 to 66 bytes\", \"pattern\": \"^whsec_([A-Za-z0-9+/]{4})"
	  "{8,21}([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?$\"}"
	},
	{ "WebhookCreate",
	  "{\"type\": \"object\", \"required\": [\"url\", \"events\"], "
	  "\"additionalProperties\": false, \"properties\": {"
	  "\"url\": {\"type\": \"string\", \"maxLength\": 2048, \"pattern\": "
	  "\"^https?://[!-#%-~]+$\", \"description\": \"where deliveries are "
	  "POSTed (redirects are not followed)\"}, "
	  "\"events\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": "
	  "32, \"items\": {\"type\": \"string\", \"pattern\": "
	  "\"^([*]|[A-Za-z0-9._:-]{1,128})$\"}, \"description\": \"event "
	  "types: task.succeeded, task.dead, task.retrying, breaker.opened, "
	  "breaker.half_open, breaker.closed, schedule.succeeded, "
	  "schedule.failed (a schedule's fire ended), dlq.depth_exceeded, "
	  "dlq.depth_recovered, any event type on the "
	  "events topic, or * for all\"}, "
	  "\"filter\": {\"type\": \"object\", \"maxProperties\": 16, "
	  "\"propertyNames\": {\"minLength\": 1, \"pattern\": "
	  "\"^[^\\\\u0000]*$\"}, \"additionalProperties\": {\"type\": "
	  "\"string\", \"pattern\": \"^[^\\\\u0000]*$\"}, \"description\": "
	  "\"event attributes that must be equal: {\\\"handler\\\": "
	  "\\\"billing\\\"}\"}, "
	  "\"secret\": {\"$ref\": \"#/components/schemas/WebhookSecretText\"}}}"
	},
	{ "WebhookDelivery",
	  "{\"type\": \"object\", \"required\": [\"webhook_id\", \"task_id\", "
	  "\"attempt\", \"time_ms\", \"outcome\"], \"properties\": {"
	  "\"webhook_id\": {\"type\": \"string\", \"description\": \"the "
	  "webhook-id header, the same on every retry\"}, "
	  "\"task_id\": {\"type\": \"string\"}, "
	  "\"type\": {\"type\": \"string\"}, "
	  "\"attempt\": {\"type\": \"integer\"}, "
	  "\"time_ms\": {\"type\": \"integer\"}, "
	  "\"outcome\": {\"type\": \"string\", \"enum\": [\"delivered\", "
	  "\"failed\", \"redirected\", \"gone\"]}, "
	  "\"http_status\": {\"type\": \"integer\"}, "
	  "\"duration_ms\": {\"type\": \"integer\"}, "
	  "\"message\": {\"type\": \"string\"}}}" },
	{ NULL, NULL },
};
