/*
 * dlq.c — /api/v1/dlq: the dead letters listed a page at a time, one shown
 * with its failure history, and counted; the filters every DLQ route
 * takes. The same core calls as `droverctl dlq list|show|stats`
 * (drover/dlq.h), so a filter means the same through both doors. Entries
 * say what their mark says (resubmitted_as, discarded). The resubmission
 * and the discard are dlq_resubmit.c.
 *
 * A list page reads at most DRV_DLQ_PAGE_SCAN messages, passing over the
 * blocks the DLQ index (drover/dlq_index.h) says cannot match; show reads
 * the blocks the index names; stats count the index's blocks from Redis
 * (no filter, or times only) and read the rest, or read every entry.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/dlq.h"
#include "drover/str.h"

void api_dlq_read_failed(api_call_t *call, drv_err_t rc, const char *err)
{
	api_problem(call, rc == DRV_ERR_NOT_FOUND ? 503 : api_status_of(rc),
		    NULL, "%s", err);
}

/* ---- filters: query parameters or a body's "filter" --------------------- */

bool api_dlq_filter_set(api_call_t *call, api_dlq_args_t *a,
			const char *name, const char *value)
{
	char err[256], pointer[64];
	drv_err_t rc;

	if (a->at)
		drv_fmt(pointer, sizeof(pointer), "%s/%s", a->at, name);
	if (!*value) {
		api_problem(call, 400, a->at ? pointer : NULL, "%s: empty",
			    name);
		return false;
	}
	rc = drv_dlq_filter_set(&a->f, name, value, a->now, err, sizeof(err));
	if (rc == DRV_ERR_NOT_FOUND)
		api_problem(call, 400, a->at ? a->at : NULL, "unknown %s "
			    "'%.40s'", a->at ? "filter" : "query parameter",
			    name);
	else if (rc)
		api_problem(call, 400, a->at ? pointer : NULL, "%s: %s", name,
			    err);
	return rc == DRV_OK;
}

static bool list_param(api_call_t *call, const char *name, const char *value,
		       void *arg)
{
	api_dlq_args_t *a = arg;

	if (a->paged && !strcmp(name, "cursor")) {
		a->cursor = value;
		return true;
	}
	if (a->paged && !strcmp(name, "message")) {
		if (!strcmp(value, "true") || !strcmp(value, "false")) {
			a->message = value[0] == 't';
			return true;
		}
		api_problem(call, 400, NULL, "message: true or false");
		return false;
	}
	if (a->paged && !strcmp(name, "limit")) {
		if (!drv_parse_int(value, 1, DRV_DLQ_PAGE_MAX, &a->limit))
			return true;
		api_problem(call, 400, NULL, "limit must be 1..%d",
			    DRV_DLQ_PAGE_MAX);
		return false;
	}
	return api_dlq_filter_set(call, a, name, value);
}

/* The query's filters (and, when \p a->paged, limit and cursor); false
 * with the 400 replied. */
static bool query_filter(api_call_t *call, api_dlq_args_t *a)
{
	/* since at or after until is an empty window, so an empty answer,
	 * not an error: every value the schema allows is served */
	return api_query_each(call, list_param, a);
}

static void list(api_call_t *call)
{
	api_dlq_args_t a = { .limit = DRV_DLQ_PAGE_DEFAULT, .now = drv_now_ms(),
			  .paged = true };
	drv_dlq_page_t page;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!query_filter(call, &a))
		return;
	/* the index is asked on this thread's connection; without Redis the
	 * topic is read */
	c = api_redis_try(call);
	rc = drv_dlq_page(call->api->cfg, c, &a.f, a.cursor, (size_t)a.limit,
			  a.message, &page, err, sizeof(err));
	/* what became of each entry (its mark); not known without Redis.
	 * Not in export lines (message=true): those are `dlq export`'s,
	 * which `dlq import` restores into another cluster's marks */
	if (!rc && !a.message && c && !c->err)
		drv_dlq_entries_mark(c, call->api->cfg, page.entries, err,
				     sizeof(err));
	api_redis_lost(call);
	if (rc == DRV_ERR_INVALID) {
		api_problem(call, 400, NULL, "cursor: %s", err);
		return;
	}
	if (rc) {
		api_dlq_read_failed(call, rc, err);
		return;
	}
	api_reply(call, 200, json_pack("{s:O, s:s?, s:I, s:I}", "entries",
				       page.entries, "next_cursor", page.next,
				       "scanned", (json_int_t)page.scanned,
				       "skipped", (json_int_t)page.skipped));
	if (!page.next)
		json_object_set_new(call->reply, "next_cursor", json_null());
	drv_dlq_page_release(&page);
}

/* ---- show --------------------------------------------------------------- */

/* The newest entry of those {id} names (a task dead-lettered more than
 * once has several), and how many there were. */
typedef struct show_ctx {
	json_t *entry;
	int64_t dead_ms;
	bool    nomem;
} show_ctx_t;

static bool show_visit(const drv_dlq_entry_t *e, void *arg)
{
	show_ctx_t *s = arg;
	int64_t t = e->undecodable ? e->timestamp_ms : e->dl.dead_ms;
	char *text;

	if (s->entry && t < s->dead_ms)
		return true;
	if (!(text = drv_dlq_entry_json(e))) {
		s->nomem = true;
		return false;
	}
	json_decref(s->entry);
	s->entry = json_loads(text, 0, NULL);
	s->dead_ms = t;
	free(text);
	return true;
}

static void show(api_call_t *call)
{
	const char *id = call->params[0];
	show_ctx_t s = { 0 };
	redisContext *c;
	char err[512];
	size_t found;
	drv_err_t rc;

	/* an id, a task id or PARTITION:OFFSET; anything else names nothing */
	if (!drv_id_valid(id) && !strchr(id, ':')) {
		api_problem(call, 404, NULL, "'%.64s' is neither a dead letter "
			    "or task id (26 characters of Crockford base32) "
			    "nor PARTITION:OFFSET", id);
		return;
	}
	c = api_redis_try(call);
	rc = drv_dlq_show(call->api->cfg, c, id, show_visit, &s, &found, err,
			  sizeof(err));
	if (!rc && s.entry && c && !c->err)
		drv_dlq_entries_mark(c, call->api->cfg, s.entry, err,
				     sizeof(err));
	api_redis_lost(call);
	if (!rc && s.nomem)
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM,
			       "out of memory");
	if (rc == DRV_ERR_INVALID)
		api_problem(call, 404, NULL, "%s", err);
	else if (rc)
		api_dlq_read_failed(call, rc, err);
	else if (!found || !s.entry)
		api_problem(call, 404, NULL, "%.64s is not in the DLQ", id);
	else {
		json_object_set_new(s.entry, "dead_letters_of_id",
				    json_integer((json_int_t)found));
		api_reply(call, 200, s.entry);
		s.entry = NULL;
	}
	json_decref(s.entry);
}

/* ---- stats -------------------------------------------------------------- */

static void stats(api_call_t *call)
{
	api_dlq_args_t a = { .now = drv_now_ms() };
	drv_dlq_stats_t st;
	redisContext *c;
	char err[512], topic[256];
	drv_err_t rc;

	if (!query_filter(call, &a))
		return;
	/* without Redis only "resubmitted" is unknown (null) */
	c = api_redis(call);
	rc = drv_dlq_stats(call->api->cfg, c, &a.f, &st, err, sizeof(err));
	if (c && !st.resubmitted_known)
		api_redis_lost(call);
	if (rc) {
		api_dlq_read_failed(call, rc, err);
	} else {
		drv_topic_name(call->api->cfg, DRV_TOPIC_DLQ, NULL, 0, topic,
			       sizeof(topic));
		api_reply(call, 200, drv_dlq_stats_obj(&st, topic));
	}
	drv_dlq_stats_release(&st);
}

/* ---- the routes ---------------------------------------------------------- */

/* The filters, as query parameters (list, stats). */
#define FILTER_QUERY \
	{ "handler", API_TEXT_SCHEMA, "only this handler's tasks" }, \
	{ "reason", API_DLQ_REASON_SCHEMA, \
	  "only entries dead-lettered for this reason" }, \
	{ "schedule", API_TEXT_SCHEMA, "only tasks fired by this schedule" }, \
	{ "label", API_LABEL_SCHEMA, "KEY=VALUE: only tasks with this label " \
	  "(repeatable, up to 16)" }, \
	{ "since", API_WHEN_SCHEMA, "dead at or after" API_WHEN_DOC }, \
	{ "until", API_WHEN_SCHEMA, "dead before" API_WHEN_DOC }, \
	{ "grep", API_TEXT_SCHEMA, \
	  "text in the last error message or the detail" }

static const api_query_doc_t list_query[] = {
	FILTER_QUERY,
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500, "
	  "\"default\": 50}", "entries per page" },
	{ "cursor", "{\"type\": \"string\", \"maxLength\": 8192, "
	  "\"pattern\": \"^(v1(\\\\.[0-9]{1,18})+)?$\"}",
	  "next_cursor of the page before" },
	{ "message", "{\"type\": \"boolean\", \"default\": false}",
	  "true: each entry with its DeadLetter message (message_base64), "
	  "i.e. as a `droverctl dlq export` line that `dlq import` restores "
	  "exactly (the console's Export)" },
	{ NULL, NULL, NULL },
};

static const api_query_doc_t stats_query[] = {
	FILTER_QUERY,
	{ NULL, NULL, NULL },
};

const api_route_t api_dlq_routes[] = {
	{ .method = "GET", .path = "/api/v1/dlq",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listDeadLetters", .tag = "dlq",
	  .summary = "Dead letters in DLQ order, a page at a time (a page "
		     "reads at most 20000 messages; a narrow filter may give "
		     "a short page with a cursor)",
	  .query = list_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/DeadLetterPage\"}",
	  .errors = "400 503" },
	{ .method = "GET", .path = "/api/v1/dlq/stats",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = stats,
	  .op_id = "getDeadLetterStats", .tag = "dlq",
	  .summary = "DLQ depth, oldest and newest entry, counts by reason "
		     "and handler, how many were resubmitted or discarded",
	  .query = stats_query, .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/DeadLetterStats\"}",
	  .errors = "400 503" },
	{ .method = "GET", .path = "/api/v1/dlq/{id}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getDeadLetter", .tag = "dlq",
	  .summary = "One dead letter with its task, payload and every "
		     "failed attempt",
	  .param_doc = { "Dead letter id, task id (its newest dead letter) "
			 "or PARTITION:OFFSET on the DLQ topic" },
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/DeadLetter\"}",
	  .errors = "404 503" },
	{ .method = NULL },
};

const api_schema_t api_dlq_schemas[] = {
	{ "DeadLetter",
	  "{\"type\": \"object\", \"description\": \"the export form of a "
	  "dead letter (docs/dlq.md); an undecodable message has "
	  "undecodable_entry, error and its raw bytes instead\", "
	  "\"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"reason\": {\"type\": \"string\"}, "
	  "\"detail\": {\"type\": \"string\"}, "
	  "\"dead_ms\": {\"type\": \"integer\"}, "
	  "\"task\": {\"type\": \"object\"}, "
	  "\"failures\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\"}}, "
	  "\"dlq_partition\": {\"type\": \"integer\"}, "
	  "\"dlq_offset\": {\"type\": \"integer\"}, "
	  "\"undecodable_entry\": {\"type\": \"boolean\"}, "
	  "\"raw_truncated\": {\"type\": \"boolean\", \"description\": "
	  "\"in a list: the raw bytes, over 64 KiB, left out (raw_bytes "
	  "says how many; GET /dlq/{id} has them); a task's payload over "
	  "64 KiB is left out the same way (task.payload_truncated, "
	  "task.payload_bytes)\"}, "
	  "\"raw_bytes\": {\"type\": \"integer\"}, "
	  "\"message_base64\": {\"type\": \"string\", \"description\": "
	  "\"the DeadLetter message (GET /dlq/{id}; the list with "
	  "message=true)\"}, "
	  "\"dead_letters_of_id\": {\"type\": \"integer\", \"description\": "
	  "\"entries the id named (a task may die more than once; the "
	  "newest is shown)\"}, "
	  "\"resubmitted_as\": {\"type\": [\"string\", \"null\"], "
	  "\"description\": \"the task its resubmission sent (its mark); "
	  "null when not resubmitted; absent when Redis could not be "
	  "read, and in a list with message=true (export lines)\"}, "
	  "\"discarded\": {\"type\": \"boolean\", \"description\": "
	  "\"an operator discarded it (POST /dlq/discard): no resubmission "
	  "takes it unless forced; absent when Redis could not be "
	  "read\"}}, "
	  "\"example\": {\"id\": \"01HZY3K4M5N6P7Q8R9S0T1V2W3\", "
	  "\"reason\": \"permanent_failure\", \"dead_ms\": 1764900000000, "
	  "\"task\": {\"id\": \"01HZY3K4M5N6P7Q8R9S0T1V2W4\", \"handler\": "
	  "\"resize\"}, \"failures\": [{\"attempt\": 1, \"failure_class\": "
	  "\"permanent\", \"message\": \"bad image\"}], "
	  "\"dlq_partition\": 0, \"dlq_offset\": 17, \"resubmitted_as\": "
	  "null, \"discarded\": true}}" },
	{ "DeadLetterPage",
	  "{\"type\": \"object\", \"required\": [\"entries\", "
	  "\"next_cursor\", \"scanned\", \"skipped\"], \"properties\": {"
	  "\"entries\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/DeadLetter\"}}, "
	  "\"next_cursor\": {\"type\": [\"string\", \"null\"], "
	  "\"description\": \"null: the end of the DLQ was reached\"}, "
	  "\"scanned\": {\"type\": \"integer\", \"description\": \"DLQ "
	  "messages read for this page (at most 20000)\"}, "
	  "\"skipped\": {\"type\": \"integer\", \"description\": "
	  "\"DLQ messages the index showed to hold no match, passed "
	  "over unread\"}}}" },
	{ "DeadLetterStats",
	  "{\"type\": \"object\", \"required\": [\"topic\", \"count\", "
	  "\"by_reason\", \"by_handler\", \"resubmitted\"], "
	  "\"properties\": {"
	  "\"topic\": {\"type\": \"string\"}, "
	  "\"count\": {\"type\": \"integer\"}, "
	  "\"undecodable_entries\": {\"type\": \"integer\"}, "
	  "\"oldest\": {\"type\": \"object\"}, "
	  "\"newest\": {\"type\": \"object\"}, "
	  "\"resubmitted\": {\"type\": [\"integer\", \"null\"], "
	  "\"description\": \"entries resubmitted (their mark holds a "
	  "task id); null: Redis could not be read\"}, "
	  "\"discarded\": {\"type\": [\"integer\", \"null\"], "
	  "\"description\": \"entries discarded (not counted in "
	  "resubmitted); null: Redis could not be read\"}, "
	  "\"by_reason\": {\"type\": \"object\", \"additionalProperties\": "
	  "{\"type\": \"integer\"}}, "
	  "\"by_handler\": {\"type\": \"object\", \"additionalProperties\": "
	  "{\"type\": \"integer\"}}}, "
	  "\"example\": {\"topic\": \"drover.dlq\", \"count\": 3, "
	  "\"undecodable_entries\": 0, \"resubmitted\": 1, \"discarded\": "
	  "1, \"by_reason\": "
	  "{\"permanent_failure\": 3}, \"by_handler\": {\"resize\": 3}}}" },
	{ NULL, NULL },
};
