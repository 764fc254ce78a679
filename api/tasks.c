/*
 * tasks.c — /api/v1/tasks: submit one task or a batch, show a task's state
 * and attempts, and pause, resume, skip or cancel it. The same core calls
 * as `droverctl task submit|show|pause|resume|skip|cancel`.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/intervene.h"
#include "drover/kafka.h"
#include "drover/state.h"
#include "drover/lineage.h"
#include "drover/str.h"
#include "drover/task_list.h"
#include "drover/submit_json.h"

/* "api:<token>", who submitted a task */
static char *submitter(const api_call_t *call)
{
	char buf[128];

	drv_fmt(buf, sizeof(buf), "api:%s", call->token->name);
	return drv_strdup(buf);
}

/* Build task \p o into \p t; on error the problem as a new object. */
static json_t *build(api_call_t *call, const json_t *o, const char *at,
		     drv_task_t *t)
{
	char pointer[300], full[320], err[512];
	drv_err_t rc;

	rc = drv_task_from_json(o, call->api->cfg, drv_now_ms(), t, pointer,
				sizeof(pointer), err, sizeof(err));
	if (!rc && !(t->origin.submitted_by = submitter(call)))
		rc = DRV_ERR_NOMEM;
	if (!rc)
		return NULL;
	drv_fmt(full, sizeof(full), "%s%s", at, pointer);
	return api_problem_json(rc == DRV_ERR_NOMEM ? 500 : 400, full, err);
}

static json_t *accepted(const drv_task_t *t, const char *topic)
{
	return json_pack("{s:s, s:s, s:s, s:i}", "id", t->id, "topic", topic,
			 "handler", t->handler, "priority", (int)t->priority);
}

static json_t *batch_build(api_call_t *call, const json_t *o,
			   const char *at, void *item)
{
	drv_task_init(item);
	return build(call, o, at, item);
}

static drv_err_t batch_produce(api_call_t *call, void *item,
			       drv_delivery_t *dr, char *topic, size_t size,
			       char *err, size_t errlen)
{
	drv_task_route(call->api->cfg, item, drv_now_ms(), topic, size);
	return drv_task_produce(call->api->producer, item, topic, dr, err,
				errlen);
}

static json_t *batch_accepted(const void *item, const char *topic)
{
	return accepted(item, topic);
}

static void batch_release(void *item)
{
	drv_task_release(item);
}

static const api_batch_ops_t task_batch = {
	.field = "tasks", .audit = "task.submit", .size = sizeof(drv_task_t),
	.build = batch_build, .produce = batch_produce,
	.accepted = batch_accepted, .release = batch_release,
};

static void submit_batch(api_call_t *call)
{
	api_batch(call, &task_batch);
}

static void submit(api_call_t *call)
{
	json_t *o = api_body_json(call), *problem;
	drv_task_t t;

	if (!o)
		return;
	drv_task_init(&t);
	if ((problem = build(call, o, "", &t))) {
		api_reply(call, 400, problem);
		call->problem = true;
	} else {
		/* answered 201 once Kafka has the task and its audit record */
		api_produce_one(call, &task_batch, &t, t.id,
				json_pack("{s:s}", "handler", t.handler));
	}
	drv_task_release(&t);
	json_decref(o);
}

/* The {id} of the path, or NULL with a 404 replied. */
static const char *task_id(api_call_t *call)
{
	if (drv_id_valid(call->params[0]))
		return call->params[0];
	api_problem(call, 404, NULL, "'%.64s' is not a task id (26 "
		    "characters of Crockford base32)", call->params[0]);
	return NULL;
}

/* Task {id}'s state record into \p t (initialised here); false with the
 * problem replied (404 when there is none; release \p t either way). */
static bool state_of(api_call_t *call, drv_state_task_t *t)
{
	const char *id = task_id(call);
	redisContext *c;
	char err[512];
	drv_err_t rc;

	drv_state_task_init(t);
	if (!id || !(c = api_redis(call)))
		return false;
	rc = drv_state_get(c, call->api->cfg->redis.key_prefix, id, t, err,
			   sizeof(err));
	if (rc == DRV_ERR_NOT_FOUND)
		api_problem(call, 404, NULL, "no state for task %s (not run "
			    "yet by a worker that records state, or expired "
			    "after worker.task_state_ttl)", id);
	else if (rc) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
	}
	return rc == DRV_OK;
}

static void show(api_call_t *call)
{
	drv_state_task_t t;
	char *text;

	if (!state_of(call, &t)) {
		drv_state_task_release(&t);
		return;
	}
	if (!(text = drv_state_task_json(&t))) {
		api_problem(call, 500, NULL, "out of memory");
	} else {
		api_reply(call, 200, json_loads(text, 0, NULL));
		free(text);
	}
	drv_state_task_release(&t);
}

/* GET /tasks/{id}/retries: the retry side of the same record. */
static void retries(api_call_t *call)
{
	drv_state_task_t t;
	size_t failed = 0;
	json_t *o;

	if (!state_of(call, &t)) {
		drv_state_task_release(&t);
		return;
	}
	for (size_t i = 0; i < t.history_cnt; i++)
		if (t.history[i].state == DRV_TASK_RETRYING ||
		    t.history[i].state == DRV_TASK_DEAD)
			failed++;
	o = json_pack("{s:s, s:s, s:I, s:I, s:b}", "id", t.id ? t.id :
		      call->params[0], "state", drv_task_state_name(t.state),
		      "attempts", (json_int_t)t.attempt, "failed_attempts",
		      (json_int_t)failed, "retrying",
		      t.state == DRV_TASK_RETRYING);
	if (t.state == DRV_TASK_RETRYING && t.due_ms)
		json_object_set_new(o, "next_due_ms", json_integer(t.due_ms));
	if (t.last_error)
		json_object_set_new(o, "last_error",
				    json_string(t.last_error));
	api_reply(call, 200, o);
	drv_state_task_release(&t);
}

/* GET /tasks/{id}/lineage: the tasks resubmissions link, oldest first. */
static void lineage(api_call_t *call)
{
	const char *id = task_id(call);
	redisContext *c;
	char err[512];
	drv_err_t rc;
	json_t *o;

	if (!id || !(c = api_redis(call)))
		return;
	rc = drv_task_lineage(call->api->cfg, c, id, &o, err, sizeof(err));
	if (!rc)
		api_reply(call, 200, o);
	else if (rc == DRV_ERR_NOT_FOUND)
		api_problem(call, 404, NULL, "%s", err);
	else {
		if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
	}
}

typedef struct list_args {
	drv_task_filter_t f;
	const char *cursor;
	int64_t limit, now;
} list_args_t;

static bool list_param(api_call_t *call, const char *name, const char *value,
		       void *arg)
{
	list_args_t *a = arg;
	char err[256];
	drv_err_t rc;

	int page = api_page_param(call, name, value, &a->cursor,
				  &a->limit, DRV_TASK_LIST_MAX);

	if (page)
		return page > 0;
	rc = drv_task_filter_set(&a->f, call->api->cfg, name, value, a->now,
				 err, sizeof(err));
	return api_filter_rc(call, rc, name, err);
}

static void list(api_call_t *call)
{
	list_args_t a = { .limit = DRV_TASK_LIST_DEFAULT,
			  .now = drv_now_ms() };
	drv_task_page_t page;
	redisContext *c;
	char err[512];
	drv_err_t rc;
	bool queued;

	if (!api_query_each(call, list_param, &a))
		return;
	queued = drv_task_list_from_kafka(&a.f, a.cursor);
	if (!(c = api_redis(call)))
		return;
	if (queued)
		rc = api_queued_list(call, c, &a.f, a.cursor, (size_t)a.limit,
				     &page, err, sizeof(err));
	else
		rc = drv_task_list(c, call->api->cfg->redis.key_prefix, &a.f,
				   a.cursor, (size_t)a.limit, &page, err,
				   sizeof(err));
	if (rc == DRV_ERR_INVALID) {
		api_problem(call, 400, NULL, "%s", err);
		return;
	}
	if (rc) {
		if (!queued)
			api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	api_reply(call, 200, drv_task_page_obj(&page));
	drv_task_page_release(&page);
}

/* pause / resume / skip / cancel, from the last path segment */
static void intervene(api_call_t *call)
{
	const char *id = task_id(call), *verb = strrchr(call->route->path,
							'/') + 1;
	drv_iv_action_t action = !strcmp(verb, "pause") ? DRV_IV_PAUSE :
				 !strcmp(verb, "skip") ? DRV_IV_SKIP :
				 !strcmp(verb, "cancel") ? DRV_IV_CANCEL :
				 DRV_IV_NONE;
	const char *reason = NULL;
	json_t *o = NULL;
	redisContext *c;
	char field[64], actor[128], err[512], audit[32];
	bool no_state = false;
	drv_err_t rc;

	if (!id)
		return;
	if (call->body_len && !(o = api_body_json(call)))
		return;
	if (o && (!json_is_object(o) || json_object_size(o) >
		  (json_object_get(o, "reason") ? 1u : 0u))) {
		api_problem(call, 400, "", "the body may only hold "
			    "{\"reason\": \"...\"}");
		goto out;
	}
	if (o && json_object_get(o, "reason") &&
	    (!(reason = json_string_value(json_object_get(o, "reason"))) ||
	     strlen(reason) != json_string_length(json_object_get(o,
								 "reason")))) {
		api_problem(call, 400, "/reason", "reason must be a string "
			    "without NUL characters");
		goto out;
	}
	if (action == DRV_IV_SKIP && (!reason || !*reason)) {
		api_problem(call, 400, "/reason", "skip needs a reason");
		goto out;
	}
	if (!(c = api_redis(call)))
		goto out;
	drv_fmt(field, sizeof(field), "task:%s", id);
	drv_fmt(actor, sizeof(actor), "api:%s", call->token->name);
	rc = drv_iv_request(c, call->api->cfg, field, action, reason, actor,
			    &no_state, err, sizeof(err));
	if (rc) {
		api_redis_lost(call);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		goto out;
	}
	drv_fmt(audit, sizeof(audit), "task.%s", verb);
	if (api_audit(call, audit, id, 1, json_pack("{s:s, s:s?}", "field",
						     field, "reason", reason),
		      NULL))
		api_reply(call, 200, json_pack("{s:s, s:s, s:b}", "id", id,
					       "action", verb, "state_known",
					       !no_state));
out:
	json_decref(o);
}

#define ID_DOC "Task id (a ULID)"
#define REASON_BODY \
	"{\"type\": \"object\", \"additionalProperties\": false, " \
	"\"properties\": {\"reason\": {\"type\": \"string\", " \
	"\"pattern\": \"^[^\\\\u0000]*$\"}}}"
#define IV_RESULT "{\"$ref\": \"#/components/schemas/Intervention\"}"

#define STATE_RE "(queued|running|succeeded|retrying|dead|skipped|paused|" \
		 "cancelled)"
#define NAME_SCHEMA "{\"type\": \"string\", \"pattern\": " \
	"\"^[a-z0-9_.-]{1,64}$\"}"

static const api_query_doc_t list_query[] = {
	{ "state", "{\"type\": \"string\", \"pattern\": \"^" STATE_RE "(," STATE_RE
	  ")*$\"}", "states, joined by commas (default: every state but "
	  "queued; queued tasks are read from the band topics, after the "
	  "others when asked for with them)" },
	{ "handler", NAME_SCHEMA,
	  "only this handler's tasks" },
	{ "band", "{\"type\": \"string\", \"enum\": [\"high\", \"normal\", "
	  "\"low\"]}", "only tasks of this band" },
	{ "label", API_LABEL_SCHEMA,
	  "KEY=VALUE: only tasks with this label (repeatable)" },
	{ "schedule", NAME_SCHEMA,
	  "only tasks fired by this schedule" },
	{ "since", API_WHEN_SCHEMA, "updated at or after" API_WHEN_DOC },
	{ "until", API_WHEN_SCHEMA, "updated before" API_WHEN_DOC },
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500, "
	  "\"default\": 50}", "tasks per page" },
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^([0-9]{1,18}:[0-9A-Za-z._~-]{1,128}|q[0-2][.][0-9]{1,9}[.]"
	  "[0-9]{1,18})$\"}",
	  "next_cursor of the page before" },
	{ NULL, NULL, NULL },
};

const api_route_t api_task_routes[] = {
	{ .method = "POST", .path = "/api/v1/tasks",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = submit,
	  .op_id = "submitTask", .tag = "tasks",
	  .summary = "Submit a task; answers once Kafka has it",
	  .request = "{\"$ref\": \"#/components/schemas/TaskSubmit\"}",
	  .request_example = "{\"handler\": \"resize\", \"payload\": "
			     "{\"image\": \"a.png\"}, \"priority\": 8, "
			     "\"labels\": {\"customer\": \"42\"}}",
	  .ok_status = 201,
	  .response = "{\"$ref\": \"#/components/schemas/Submitted\"}",
	  .errors = "503" },
	{ .method = "POST", .path = "/api/v1/tasks/batch",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = submit_batch,
	  .op_id = "submitTaskBatch", .tag = "tasks",
	  .summary = "Submit up to 1000 tasks; one result per item, in "
		     "order",
	  .request = "{\"type\": \"object\", \"required\": [\"tasks\"], "
		     "\"additionalProperties\": false, \"properties\": "
		     "{\"tasks\": {\"type\": \"array\", \"minItems\": 1, "
		     "\"maxItems\": 1000, \"description\": \"TaskSubmit "
		     "objects; each is checked on its own and a bad one fails "
		     "alone, in its result\", \"items\": {\"type\": "
		     "\"object\", \"propertyNames\": {\"pattern\": "
		     "\"^[^\\\\u0000]*$\"}, \"additionalProperties\": "
		     "{\"$ref\": \"#/components/schemas/JsonValue\"}}}}}",
	  .request_example = "{\"tasks\": [{\"handler\": \"resize\"}, "
			     "{\"handler\": \"resize\", \"priority\": 9}]}",
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/BatchResult\"}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/tasks",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listTasks", .tag = "tasks",
	  .summary = "Tasks by state, newest update first, a page at a time "
		     "(from the index workers keep: worker.task_index)",
	  .query = list_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/TaskPage\"}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/tasks/{id}/retries",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = retries,
	  .op_id = "getTaskRetries", .tag = "tasks",
	  .summary = "A task's retry status: attempts so far, failed ones, "
		     "when the next is due, the last error (from its state "
		     "record, as GET /tasks/{id})",
	  .param_doc = { "Task id" }, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"state\", \"attempts\", \"failed_attempts\", "
		      "\"retrying\"], \"properties\": {"
		      "\"id\": {\"type\": \"string\"}, "
		      "\"state\": {\"type\": \"string\"}, "
		      "\"attempts\": {\"type\": \"integer\"}, "
		      "\"failed_attempts\": {\"type\": \"integer\"}, "
		      "\"retrying\": {\"type\": \"boolean\"}, "
		      "\"next_due_ms\": {\"type\": \"integer\", "
		      "\"description\": \"retrying: when the next attempt "
		      "is due\"}, "
		      "\"last_error\": {\"type\": \"string\"}}}",
	  .errors = "404 503" },
	{ .method = "GET", .path = "/api/v1/tasks/{id}/lineage",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = lineage,
	  .op_id = "getTaskLineage", .tag = "tasks",
	  .summary = "The tasks resubmissions of dead letters link to this "
		     "one, oldest first, each with its state, origin and dead "
		     "letters",
	  .param_doc = { "Task id" }, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"tasks\", \"truncated\"], \"properties\": {"
		      "\"id\": {\"type\": \"string\"}, "
		      "\"truncated\": {\"type\": \"boolean\", "
		      "\"description\": \"more than 16 tasks: the rest left "
		      "out\"}, "
		      "\"tasks\": {\"type\": \"array\", \"items\": {"
		      "\"type\": \"object\", \"required\": [\"id\", "
		      "\"state\", \"origin\", \"dead_letters\"], "
		      "\"properties\": {\"id\": {\"type\": \"string\"}, "
		      "\"state\": {\"type\": [\"object\", \"null\"], "
		      "\"description\": \"as GET /tasks/{id}; null when its "
		      "record expired\"}, "
		      "\"origin\": {\"type\": [\"object\", \"null\"]}, "
		      "\"dead_letters\": {\"type\": \"array\", \"items\": {"
		      "\"type\": \"object\", \"required\": [\"id\", "
		      "\"reason\", \"dead_ms\", \"resubmitted_as\"], "
		      "\"properties\": {\"id\": {\"type\": \"string\"}, "
		      "\"reason\": {\"type\": \"string\"}, "
		      "\"dead_ms\": {\"type\": \"integer\"}, "
		      "\"detail\": {\"type\": \"string\"}, "
		      "\"resubmitted_as\": {\"type\": [\"string\", "
		      "\"null\"]}, \"discarded\": {\"type\": "
		      "\"boolean\", \"description\": \"present (true) when "
		      "it was discarded (resubmitted_as is null)\"}}}}}}}}}",
	  .errors = "404 503" },
	{ .method = "GET", .path = "/api/v1/tasks/{id}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getTask", .tag = "tasks",
	  .summary = "A task's state, attempts (times, workers, errors) and "
		     "origin",
	  .param_doc = { ID_DOC }, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/Task\"}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/tasks/{id}/pause",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = intervene,
	  .op_id = "pauseTask", .tag = "tasks",
	  .summary = "Park a queued or delayed task; stop a running exec "
		     "task",
	  .param_doc = { ID_DOC }, .request = REASON_BODY,
	  .body_optional = true,
	  .request_example = "{\"reason\": \"waiting for a fix\"}",
	  .ok_status = 200, .response = IV_RESULT, .errors = "404 409 503" },
	{ .method = "POST", .path = "/api/v1/tasks/{id}/resume",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = intervene,
	  .op_id = "resumeTask", .tag = "tasks",
	  .summary = "Release a paused task",
	  .param_doc = { ID_DOC }, .request = REASON_BODY,
	  .body_optional = true,
	  .request_example = "{}",
	  .ok_status = 200, .response = IV_RESULT, .errors = "404 409 503" },
	{ .method = "POST", .path = "/api/v1/tasks/{id}/skip",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = intervene,
	  .op_id = "skipTask", .tag = "tasks",
	  .summary = "Never run a task; dead-letter it as skipped",
	  .param_doc = { ID_DOC },
	  .request = "{\"type\": \"object\", \"required\": [\"reason\"], "
		     "\"additionalProperties\": false, \"properties\": "
		     "{\"reason\": {\"type\": \"string\", \"minLength\": 1, "
		     "\"pattern\": \"^[^\\\\u0000]*$\"}}}",
	  .request_example = "{\"reason\": \"customer deleted\"}",
	  .ok_status = 200, .response = IV_RESULT, .errors = "404 409 503" },
	{ .method = "POST", .path = "/api/v1/tasks/{id}/cancel",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = intervene,
	  .op_id = "cancelTask", .tag = "tasks",
	  .summary = "Kill a running task, or never run a queued one",
	  .param_doc = { ID_DOC }, .request = REASON_BODY,
	  .body_optional = true,
	  .request_example = "{}",
	  .ok_status = 200, .response = IV_RESULT, .errors = "404 409 503" },
	{ .method = NULL },
};

const api_schema_t api_task_schemas[] = {
	{ "TaskSubmit",
	  "{\"type\": \"object\", \"required\": [\"handler\"], "
	  "\"additionalProperties\": false, \"properties\": "
	  "{\"handler\": {\"type\": \"string\", \"minLength\": 1, "
	  "\"pattern\": \"^[^\\\\u0000]*$\"}, \"payload\": {\"$ref\": "
	  "\"#/components/schemas/JsonValue\"}, \"priority\": {\"type\": "
	  "\"integer\", \"minimum\": 1, \"maximum\": 10, \"default\": "
	  "5}, \"key\": {\"type\": \"string\", \"minLength\": 1, "
	  "\"maxLength\": 256, \"pattern\": "
	  "\"^[^\\\\u0000-\\\\u001f\\\\u007f-\\\\u009f]*$\", "
	  "\"description\": \"partition key (default: the task id); at "
	  "most 256 bytes, no control characters\"}, "
	  "\"idempotency_key\": {\"type\": \"string\", \"minLength\": 1, "
	  "\"maxLength\": 256, \"pattern\": "
	  "\"^[^\\\\u0000-\\\\u001f\\\\u007f-\\\\u009f]*$\", "
	  "\"description\": \"tasks with the same key run once; at most "
	  "256 bytes, no control characters\"}, \"max_attempts\": "
	  "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000}, "
	  "\"policy\": {\"type\": \"string\", \"minLength\": 1, "
	  "\"pattern\": \"^[^\\\\u0000]*$\"}, \"delay\": {\"oneOf\": "
	  "[{\"type\": \"integer\", \"minimum\": 0, \"maximum\": "
	  "9007199254740991}, {\"type\": \"string\", \"pattern\": "
	  "\"^([0-9]{1,9}(ms|s|m|h|d)){1,4}$\"}], \"description\": \"a "
	  "duration: milliseconds, or up to four groups of at most 9 "
	  "digits and a unit (ms, s, m, h, d): \\\"30s\\\", "
	  "\\\"1h30m\\\"\"}, \"deadline\": {\"oneOf\": [{\"type\": "
	  "\"integer\", \"minimum\": 0, \"maximum\": 9007199254740991}, "
	  "{\"type\": \"string\", \"pattern\": "
	  "\"^([0-9]{1,9}(ms|s|m|h|d)){1,4}$\"}], \"description\": \"a "
	  "duration: milliseconds, or up to four groups of at most 9 "
	  "digits and a unit (ms, s, m, h, d): \\\"30s\\\", "
	  "\\\"1h30m\\\"\"}, \"labels\": {\"type\": \"object\", "
	  "\"maxProperties\": 1024, \"description\": \"at most 1024; "
	  "keys at most 256 bytes, values at most 4096\", "
	  "\"propertyNames\": {\"minLength\": 1, \"maxLength\": 256, "
	  "\"pattern\": \"^[^\\\\u0000]*$\"}, \"additionalProperties\": "
	  "{\"type\": \"string\", \"maxLength\": 4096, \"pattern\": "
	  "\"^[^\\\\u0000]*$\"}}}}" },
	{ "JsonValue",
	  "{\"description\": \"any JSON value; numbers within "
	  "+-(2^53-1), no NUL in object keys\", \"anyOf\": [{\"type\": "
	  "[\"null\", \"boolean\", \"string\"]}, {\"type\": \"number\", "
	  "\"minimum\": -9007199254740991, \"maximum\": "
	  "9007199254740991}, {\"type\": \"array\", \"items\": "
	  "{\"$ref\": \"#/components/schemas/JsonValue\"}}, {\"type\": "
	  "\"object\", \"propertyNames\": {\"pattern\": "
	  "\"^[^\\\\u0000]*$\"}, \"additionalProperties\": {\"$ref\": "
	  "\"#/components/schemas/JsonValue\"}}]}" },
	{ "Submitted",
	  "{\"type\": \"object\", \"required\": [\"id\", \"topic\", "
	  "\"handler\", \"priority\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, \"topic\": {\"type\": \"string\"}, "
	  "\"handler\": {\"type\": \"string\"}, "
	  "\"priority\": {\"type\": \"integer\"}, "
	  "\"status\": {\"type\": \"integer\"}}}" },
	{ "BatchResult",
	  "{\"type\": \"object\", \"required\": [\"submitted\", \"failed\", "
	  "\"results\"], \"properties\": {"
	  "\"submitted\": {\"type\": \"integer\"}, "
	  "\"failed\": {\"type\": \"integer\"}, "
	  "\"results\": {\"type\": \"array\", \"items\": {\"oneOf\": ["
	  "{\"$ref\": \"#/components/schemas/Submitted\"}, "
	  "{\"$ref\": \"#/components/schemas/Problem\"}]}}}}" },
	{ "Task",
	  "{\"type\": \"object\", \"required\": [\"id\", \"state\", "
	  "\"attempt\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"state\": {\"type\": \"string\", \"enum\": [\"queued\", "
	  "\"running\", \"retrying\", \"succeeded\", \"dead\", \"paused\", "
	  "\"skipped\", \"cancelled\"]}, "
	  "\"attempt\": {\"type\": \"integer\"}, "
	  "\"handler\": {\"type\": \"string\"}, "
	  "\"worker\": {\"type\": \"string\"}, "
	  "\"last_error\": {\"type\": \"string\"}, "
	  "\"created_ms\": {\"type\": \"integer\"}, "
	  "\"updated_ms\": {\"type\": \"integer\"}, "
	  "\"due_ms\": {\"type\": \"integer\", \"description\": \"retrying: "
	  "when it runs next\"}, "
	  "\"priority\": {\"type\": \"integer\"}, "
	  "\"labels\": {\"type\": \"object\"}, "
	  "\"origin\": {}, "
	  "\"history\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\"}}, "
	  "\"waits\": {\"type\": \"array\", \"description\": \"where "
	  "history is: the waits without an attempt, oldest first (at most "
	  "32)\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/TaskWait\"}}}}" },
	{ "TaskWait",
	  "{\"type\": \"object\", \"required\": [\"kind\", \"name\", "
	  "\"attempt\", \"at_ms\", \"until_ms\", \"turns\"], "
	  "\"description\": \"the task was turned away without an attempt "
	  "by an open circuit breaker or an execution limit\", "
	  "\"properties\": {"
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"breaker\", "
	  "\"limit\"]}, "
	  "\"name\": {\"type\": \"string\", \"description\": \"the "
	  "breaker's or limit's\"}, "
	  "\"state\": {\"type\": \"string\", \"description\": \"a "
	  "breaker's state when it turned the task away: open, forced_open "
	  "or half_open\"}, "
	  "\"attempt\": {\"type\": \"integer\", \"description\": "
	  "\"attempts the task had made before the wait\"}, "
	  "\"at_ms\": {\"type\": \"integer\", \"description\": \"first "
	  "turned away\"}, "
	  "\"until_ms\": {\"type\": \"integer\", \"description\": "
	  "\"when the last turn-away let it try again\"}, "
	  "\"turns\": {\"type\": \"integer\", \"description\": "
	  "\"turn-aways merged in this wait (same kind, name and state, "
	  "no attempt between)\"}}}" },
	{ "TaskPage",
	  "{\"type\": \"object\", \"required\": [\"tasks\", \"scanned\"], "
	  "\"properties\": {"
	  "\"tasks\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/Task\"}}, "
	  "\"next_cursor\": {\"type\": \"string\", "
	  "\"description\": \"the cursor of the next page; absent on the "
	  "last\"}, "
	  "\"scanned\": {\"type\": \"integer\", \"description\": "
	  "\"candidates read for this page (at most 10000; a narrow filter "
	  "may give a short page with a cursor)\"}}}" },
	{ "Intervention",
	  "{\"type\": \"object\", \"required\": [\"id\", \"action\", "
	  "\"state_known\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"action\": {\"type\": \"string\", \"enum\": [\"pause\", "
	  "\"resume\", \"skip\", \"cancel\"]}, "
	  "\"state_known\": {\"type\": \"boolean\", \"description\": "
	  "\"false: no worker had recorded the task yet; workers act when "
	  "they reach it\"}}}" },
	{ NULL, NULL },
};
