/*
 * audit.c — GET /api/v1/audit: the operator actions on the audit topic,
 * newest first, filtered by actor, action, target and time, a page at a
 * time. The core's drv_audit_list() does the reading, as for `droverctl
 * audit list`.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/audit_list.h"
#include "drover/clock.h"
#include "drover/str.h"

typedef struct audit_args {
	drv_audit_filter_t f;
	const char *cursor;
	int64_t limit, now;
} audit_args_t;

static bool audit_param(api_call_t *call, const char *name,
			const char *value, void *arg)
{
	audit_args_t *a = arg;
	char err[256];
	drv_err_t rc;

	int page = api_page_param(call, name, value, &a->cursor,
				  &a->limit, DRV_AUDIT_PAGE_MAX);

	if (page)
		return page > 0;
	rc = drv_audit_filter_set(&a->f, name, value, a->now, err,
				  sizeof(err));
	return api_filter_rc(call, rc, name, err);
}

static void list(api_call_t *call)
{
	audit_args_t a = { .limit = DRV_AUDIT_PAGE_DEFAULT,
			   .now = drv_now_ms() };
	drv_audit_page_t page;
	json_t *records, *o;
	char err[512];
	drv_err_t rc;

	if (!api_query_each(call, audit_param, &a))
		return;
	rc = drv_audit_list(call->api->cfg, &a.f, a.cursor, (size_t)a.limit,
			    &page, err, sizeof(err));
	if (rc) {
		drv_audit_page_release(&page);
		api_problem(call, rc == DRV_ERR_NOT_FOUND ? 503 :
			    api_status_of(rc), NULL, "%s", err);
		return;
	}
	records = json_array();
	for (size_t i = 0; i < page.cnt; i++) {
		char *text = drv_audit_to_json(&page.records[i]);

		json_array_append_new(records, text ? json_loads(text, 0, NULL)
				      : json_null());
		free(text);
	}
	o = json_pack("{s:o, s:I}", "records", records, "matched",
		      (json_int_t)page.matched);
	if (page.next[0])
		json_object_set_new(o, "next_cursor", json_string(page.next));
	drv_audit_page_release(&page);
	api_reply(call, 200, o);
}

static const api_query_doc_t audit_query[] = {
	{ "actor", API_TEXT_SCHEMA, "only what this caller did (a token "
	  "name, or droverctl's user)" },
	{ "action", API_TEXT_SCHEMA, "only this action (dlq.resubmit), or a "
	  "prefix ending in '.' (task.)" },
	{ "target", API_TEXT_SCHEMA, "only actions on this target (a task "
	  "id, a breaker or schedule name)" },
	{ "since", API_WHEN_SCHEMA, "at or after" API_WHEN_DOC },
	{ "until", API_WHEN_SCHEMA, "before" API_WHEN_DOC },
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500, "
	  "\"default\": 50}", "records per page" },
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^[0-9]{1,18}[.][0-9A-Za-z]{0,26}$\"}",
	  "next_cursor of the page before" },
	{ NULL, NULL, NULL },
};

const api_route_t api_audit_routes[] = {
	{ .method = "GET", .path = "/api/v1/audit",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listAudit", .tag = "audit",
	  .summary = "Operator actions from the audit topic, newest first, "
		     "a page at a time (as `droverctl audit list`)",
	  .query = audit_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/AuditPage\"}",
	  .errors = "503" },
	{ .method = NULL },
};

const api_schema_t api_audit_schemas[] = {
	{ "AuditRecord",
	  "{\"type\": \"object\", \"required\": [\"id\", \"time_ms\", "
	  "\"action\", \"count\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"schema_version\": {\"type\": \"integer\"}, "
	  "\"time_ms\": {\"type\": \"integer\"}, "
	  "\"time\": {\"type\": \"string\"}, "
	  "\"actor\": {\"type\": \"string\"}, "
	  "\"host\": {\"type\": \"string\"}, "
	  "\"action\": {\"type\": \"string\"}, "
	  "\"target\": {\"type\": \"string\"}, "
	  "\"count\": {\"type\": \"integer\"}, "
	  "\"details\": {\"description\": \"further parameters (JSON)\"}, "
	  "\"details_json\": {\"type\": \"string\"}, "
	  "\"result\": {\"type\": \"string\", \"description\": \"ok, "
	  "started, or what went wrong\"}}}" },
	{ "AuditPage",
	  "{\"type\": \"object\", \"required\": [\"records\", \"matched\"], "
	  "\"properties\": {"
	  "\"records\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/AuditRecord\"}}, "
	  "\"matched\": {\"type\": \"integer\", \"description\": \"records "
	  "on the topic that pass the filters, on every page\"}, "
	  "\"next_cursor\": {\"type\": \"string\", \"description\": \"the "
	  "cursor of the next page; absent on the last\"}}}" },
	{ NULL, NULL },
};
