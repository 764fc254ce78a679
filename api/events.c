/*
 * events.c — /api/v1/events: emit an event, or a batch of them, on the
 * events topic, where the coordinators' triggers read them. The same core
 * call as `droverctl event emit`.
 */
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/str.h"
#include "drover/submit_json.h"

/* Build event \p o into \p e; on error the problem as a new object. */
static json_t *build(api_call_t *call, const json_t *o, const char *at,
		     drv_event_t *e)
{
	char pointer[300], full[320], source[128], err[512];
	drv_err_t rc;

	drv_fmt(source, sizeof(source), "api:%s", call->token->name);
	rc = drv_event_from_json(o, source, drv_now_ms(), e, pointer,
				 sizeof(pointer), err, sizeof(err));
	if (!rc)
		return NULL;
	drv_fmt(full, sizeof(full), "%s%s", at, pointer);
	return api_problem_json(rc == DRV_ERR_NOMEM ? 500 : 400, full, err);
}

static json_t *accepted(const void *item, const char *topic)
{
	const drv_event_t *e = item;

	return json_pack("{s:s, s:s, s:s}", "id", e->id, "type", e->type,
			 "topic", topic);
}

static json_t *batch_build(api_call_t *call, const json_t *o,
			   const char *at, void *item)
{
	drv_event_init(item);
	return build(call, o, at, item);
}

static drv_err_t batch_produce(api_call_t *call, void *item,
			       drv_delivery_t *dr, char *topic, size_t size,
			       char *err, size_t errlen)
{
	drv_topic_name(call->api->cfg, DRV_TOPIC_EVENTS, NULL, 0, topic,
		       size);
	return drv_event_produce(call->api->producer, call->api->cfg, item,
				 dr, err, errlen);
}

static void batch_release(void *item)
{
	drv_event_release(item);
}

static const api_batch_ops_t event_batch = {
	.field = "events", .audit = "event.emit", .size = sizeof(drv_event_t),
	.build = batch_build, .produce = batch_produce, .accepted = accepted,
	.release = batch_release,
};

static void emit_batch(api_call_t *call)
{
	api_batch(call, &event_batch);
}

static void emit(api_call_t *call)
{
	json_t *o = api_body_json(call), *problem;
	drv_event_t e;

	if (!o)
		return;
	drv_event_init(&e);
	if ((problem = build(call, o, "", &e))) {
		api_reply(call, 400, problem);
		call->problem = true;
	} else {
		/* answered 201 once Kafka has the event and its audit record */
		api_produce_one(call, &event_batch, &e, e.id,
				json_pack("{s:s}", "type", e.type));
	}
	drv_event_release(&e);
	json_decref(o);
}

#define NONUL "\"pattern\": \"^[^\\\\u0000]*$\""

const api_route_t api_event_routes[] = {
	{ .method = "POST", .path = "/api/v1/events",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = emit,
	  .op_id = "emitEvent", .tag = "events",
	  .summary = "Emit an event for the triggers; answers once Kafka has "
		     "it",
	  .request = "{\"$ref\": \"#/components/schemas/EventEmit\"}",
	  .request_example = "{\"type\": \"order.created\", \"payload\": "
			     "{\"order\": 42}, \"attributes\": {\"region\": "
			     "\"eu\"}}",
	  .ok_status = 201,
	  .response = "{\"$ref\": \"#/components/schemas/Emitted\"}",
	  .errors = "503" },
	{ .method = "POST", .path = "/api/v1/events/batch",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = emit_batch,
	  .op_id = "emitEventBatch", .tag = "events",
	  .summary = "Emit up to 1000 events; one result per item, in order",
	  .request = "{\"type\": \"object\", \"required\": [\"events\"], "
		     "\"additionalProperties\": false, \"properties\": "
		     "{\"events\": {\"type\": \"array\", \"minItems\": 1, "
		     "\"maxItems\": 1000, \"description\": \"EventEmit "
		     "objects; each is checked on its own and a bad one fails "
		     "alone, in its result\", \"items\": {\"type\": "
		     "\"object\", \"propertyNames\": {" NONUL "}, "
		     "\"additionalProperties\": {\"$ref\": "
		     "\"#/components/schemas/JsonValue\"}}}}}",
	  .request_example = "{\"events\": [{\"type\": \"order.created\"}, "
			     "{\"type\": \"order.paid\", \"id\": \"pay-7\"}]}",
	  .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"submitted\", "
		      "\"failed\", \"results\"], \"properties\": {"
		      "\"submitted\": {\"type\": \"integer\"}, "
		      "\"failed\": {\"type\": \"integer\"}, "
		      "\"results\": {\"type\": \"array\", \"items\": "
		      "{\"oneOf\": [{\"$ref\": "
		      "\"#/components/schemas/Emitted\"}, {\"$ref\": "
		      "\"#/components/schemas/Problem\"}]}}}}",
	  .errors = "503" },
	{ .method = NULL },
};

const api_schema_t api_event_schemas[] = {
	{ "EventEmit",
	  "{\"type\": \"object\", \"required\": [\"type\"], "
	  "\"additionalProperties\": false, \"properties\": {"
	  "\"type\": {\"type\": \"string\", \"minLength\": 1, " NONUL "}, "
	  "\"payload\": {\"$ref\": \"#/components/schemas/JsonValue\"}, "
	  "\"source\": {\"type\": \"string\", \"minLength\": 1, " NONUL "}, "
	  "\"id\": {\"type\": \"string\", \"minLength\": 1, " NONUL ", "
	  "\"description\": \"default: a new ULID; give one so a retried emit "
	  "counts once\"}, "
	  "\"attributes\": {\"type\": \"object\", \"maxProperties\": 1024, "
	  "\"propertyNames\": {\"minLength\": 1, \"maxLength\": 256, "
	  NONUL "}, \"additionalProperties\": {\"type\": \"string\", "
	  "\"maxLength\": 4096, " NONUL "}}}}" },
	{ "Emitted",
	  "{\"type\": \"object\", \"required\": [\"id\", \"type\", "
	  "\"topic\"], \"properties\": {\"id\": {\"type\": \"string\"}, "
	  "\"type\": {\"type\": \"string\"}, \"topic\": {\"type\": "
	  "\"string\"}, \"status\": {\"type\": \"integer\"}}}" },
	{ NULL, NULL },
};
