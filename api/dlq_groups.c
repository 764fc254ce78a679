/*
 * dlq_groups.c — /api/v1/dlq/groups: the DLQ's failure groups (handler,
 * error class and normalised message, with counts, first / last seen and
 * sample ids) a page at a time, and one group with all its samples, read
 * from the index the workers keep in Redis (drover/dlq_groups.h). The same
 * core calls serve `droverctl dlq groups`; a group's entries are
 * resubmitted through POST /api/v1/dlq/resubmit {"group": id} and
 * discarded through POST /api/v1/dlq/discard {"group": id}.
 */
#include <string.h>

#include "api_int.h"
#include "drover/dlq_groups.h"

typedef struct groups_args {
	const char *handler, *class, *cursor;
	int64_t limit;
} groups_args_t;

static bool list_param(api_call_t *call, const char *name, const char *value,
		       void *arg)
{
	groups_args_t *a = arg;
	int page = api_page_param(call, name, value, &a->cursor, &a->limit,
				  DRV_DLQ_GROUPS_MAX);

	if (page)
		return page > 0;
	if (strcmp(name, "handler") && strcmp(name, "class")) {
		api_problem(call, 400, NULL, "unknown query parameter '%.40s'",
			    name);
		return false;
	}
	if (!*value) {
		api_problem(call, 400, NULL, "%s: empty", name);
		return false;
	}
	*(name[0] == 'h' ? &a->handler : &a->class) = value;
	return true;
}

/* Reply the failure \p rc of a read on \p c. */
static void failed(api_call_t *call, drv_err_t rc, const char *err)
{
	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
		api_redis_lost(call);
	api_problem(call, api_status_of(rc), NULL, "%s", err);
}

static void list(api_call_t *call)
{
	groups_args_t a = { .limit = DRV_DLQ_GROUPS_DEFAULT };
	drv_dlq_groups_t page;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!api_query_each(call, list_param, &a) || !(c = api_redis(call)))
		return;
	rc = drv_dlq_groups_page(c, call->api->cfg, a.handler, a.class,
				 a.cursor, (size_t)a.limit, &page, err,
				 sizeof(err));
	if (rc == DRV_ERR_INVALID)
		api_problem(call, 400, NULL, "cursor: %s", err);
	else if (rc)
		failed(call, rc, err);
	else
		api_reply(call, 200, json_pack("{s:O, s:s?}", "groups",
					       page.groups, "next_cursor",
					       page.next));
	if (!rc && !page.next)
		json_object_set_new(call->reply, "next_cursor", json_null());
	drv_dlq_groups_release(&page);
}

static void show(api_call_t *call)
{
	const char *id = call->params[0];
	redisContext *c;
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;

	if (!drv_dlq_group_id_valid(id)) {
		api_problem(call, 404, NULL, "'%.64s' is not a group id (%d "
			    "hex digits)", id, DRV_DLQ_GROUP_ID_LEN);
		return;
	}
	if (!(c = api_redis(call)))
		return;
	rc = drv_dlq_group_get(c, call->api->cfg, id, &o, err, sizeof(err));
	if (rc)
		failed(call, rc, err);
	else
		api_reply(call, 200, o);
}

static const api_query_doc_t list_query[] = {
	{ "handler", API_TEXT_SCHEMA, "only this handler's groups" },
	{ "class", API_TEXT_SCHEMA, "only this error class (transient, "
	  "permanent, timeout, crashed, throttled, or the reason of a dead "
	  "letter without a failure: undecodable, handler_unknown...)" },
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500, "
	  "\"default\": 50}", "groups per page" },
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^[0-9]{1,18}-[0-9a-f]{16}$\"}", "next_cursor of the page before" },
	{ NULL, NULL, NULL },
};

const api_route_t api_dlq_group_routes[] = {
	{ .method = "GET", .path = "/api/v1/dlq/groups",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listDeadLetterGroups", .tag = "dlq",
	  .summary = "Dead letters grouped by handler, error class and "
		     "normalised message, most recently seen first, a page "
		     "at a time (from the index in Redis, not a topic scan)",
	  .query = list_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/"
		      "DeadLetterGroupPage\"}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/dlq/groups/{id}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getDeadLetterGroup", .tag = "dlq",
	  .summary = "One failure group with its latest 20 samples, each "
		     "with the task its resubmission sent, if any",
	  .param_doc = { "Group id (16 hex digits)" },
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/DeadLetterGroup\"}",
	  .errors = "404 503" },
	{ .method = NULL },
};

const api_schema_t api_dlq_group_schemas[] = {
	{ "DeadLetterGroup",
	  "{\"type\": \"object\", \"required\": [\"id\", \"handler\", "
	  "\"class\", \"message\", \"sample_message\", \"count\", "
	  "\"first_seen_ms\", \"first_seen\", \"last_seen_ms\", "
	  "\"last_seen\", \"samples\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\", \"pattern\": \"^[0-9a-f]{16}$\"}, "
	  "\"handler\": {\"type\": \"string\"}, "
	  "\"class\": {\"type\": \"string\"}, "
	  "\"message\": {\"type\": \"string\", \"description\": \"the "
	  "normalised message: numbers, ids, addresses, quoted values "
	  "replaced by <n>, <hex>, <uuid>, <id>, <addr>, <str>, ?<query>\"}, "
	  "\"sample_message\": {\"type\": \"string\", \"description\": "
	  "\"the message of the latest dead letter, as it was\"}, "
	  "\"count\": {\"type\": \"integer\", \"description\": \"dead "
	  "letters of the group within the DLQ's retention (resubmitting "
	  "or discarding them does not lower it)\"}, "
	  "\"first_seen_ms\": {\"type\": \"integer\"}, "
	  "\"first_seen\": {\"type\": \"string\"}, "
	  "\"last_seen_ms\": {\"type\": \"integer\"}, "
	  "\"last_seen\": {\"type\": \"string\"}, "
	  "\"samples\": {\"type\": \"array\", \"description\": \"newest "
	  "first\", \"items\": {\"type\": \"object\", \"required\": "
	  "[\"id\", \"task_id\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\", \"description\": \"dead letter "
	  "id\"}, \"task_id\": {\"type\": \"string\"}, "
	  "\"resubmitted_task_id\": {\"type\": [\"string\", \"null\"], "
	  "\"description\": \"GET /dlq/groups/{id} only: the task its "
	  "resubmission sent (its mark), null when not resubmitted\"}, "
	  "\"discarded\": {\"type\": \"boolean\", \"description\": "
	  "\"GET /dlq/groups/{id} only: the entry was discarded (its "
	  "mark; resubmitted_task_id is null)\"}}}}}, "
	  "\"example\": {\"id\": \"3f9a0c1d2e4b5a69\", \"handler\": "
	  "\"billing\", \"class\": \"transient\", \"message\": "
	  "\"connection refused to <addr> after <n> ms\", "
	  "\"sample_message\": \"connection refused to 10.0.0.3:5432 "
	  "after 1500 ms\", \"count\": 42, \"first_seen_ms\": "
	  "1764900000000, \"first_seen\": \"2025-12-05T02:00:00.000Z\", "
	  "\"last_seen_ms\": 1764903600000, \"last_seen\": "
	  "\"2025-12-05T03:00:00.000Z\", \"samples\": [{\"id\": "
	  "\"01HZY3K4M5N6P7Q8R9S0T1V2W3\", \"task_id\": "
	  "\"01HZY3K4M5N6P7Q8R9S0T1V2W4\", \"resubmitted_task_id\": "
	  "null, \"discarded\": false}]}}" },
	{ "DeadLetterGroupPage",
	  "{\"type\": \"object\", \"required\": [\"groups\", "
	  "\"next_cursor\"], \"properties\": {"
	  "\"groups\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/DeadLetterGroup\"}, \"description\": "
	  "\"each with its 5 newest samples\"}, "
	  "\"next_cursor\": {\"type\": [\"string\", \"null\"], "
	  "\"description\": \"null: the last page\"}}}" },
	{ NULL, NULL },
};
