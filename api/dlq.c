/*
 * dlq.c — /api/v1/dlq: the dead letters listed a page at a time, one shown
 * with its failure history, counted, and resubmitted (filtered or by id,
 * patched, dry run first if wanted). The same core calls as `droverctl dlq
 * list|show|stats|resubmit` (drover/dlq.h, drover/dlq_resubmit.h), so a
 * filter and a resubmission mean the same through both doors.
 *
 * Every call reads the DLQ topic (there is no index yet): a list page reads
 * at most DRV_DLQ_PAGE_SCAN messages, but show, stats and resubmit read to
 * the end, so they cost what the DLQ holds.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/dlq.h"
#include "drover/dlq_resubmit.h"
#include "drover/str.h"

/* Most entries one POST /dlq/resubmit sends, and its default. */
#define RESUBMIT_MAX         10000
#define RESUBMIT_MAX_DEFAULT 1000

static void read_failed(api_call_t *call, drv_err_t rc, const char *err)
{
	api_problem(call, rc == DRV_ERR_NOT_FOUND ? 503 : api_status_of(rc),
		    NULL, "%s", err);
}

/* ---- filters: query parameters or a body's "filter" --------------------- */

typedef struct list_args {
	drv_dlq_filter_t f;
	const char *cursor;
	int64_t limit, now;
	bool paged;          /* limit and cursor are taken */
	const char *at;      /* body: "/filter" (problem pointers); NULL =
				query */
} list_args_t;

/* One filter \p name = \p value into \p a; false with the 400 replied. */
static bool filter_set(api_call_t *call, list_args_t *a, const char *name,
		       const char *value)
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
	list_args_t *a = arg;

	if (a->paged && !strcmp(name, "cursor")) {
		a->cursor = value;
		return true;
	}
	if (a->paged && !strcmp(name, "limit")) {
		if (!drv_parse_int(value, 1, DRV_DLQ_PAGE_MAX, &a->limit))
			return true;
		api_problem(call, 400, NULL, "limit must be 1..%d",
			    DRV_DLQ_PAGE_MAX);
		return false;
	}
	return filter_set(call, a, name, value);
}

/* The query's filters (and, when \p a->paged, limit and cursor); false
 * with the 400 replied. */
static bool query_filter(api_call_t *call, list_args_t *a)
{
	/* since at or after until is an empty window, so an empty answer,
	 * not an error: every value the schema allows is served */
	return api_query_each(call, list_param, a);
}

static void list(api_call_t *call)
{
	list_args_t a = { .limit = DRV_DLQ_PAGE_DEFAULT, .now = drv_now_ms(),
			  .paged = true };
	drv_dlq_page_t page;
	char err[512];
	drv_err_t rc;

	if (!query_filter(call, &a))
		return;
	rc = drv_dlq_page(call->api->cfg, &a.f, a.cursor, (size_t)a.limit,
			  &page, err, sizeof(err));
	if (rc == DRV_ERR_INVALID) {
		api_problem(call, 400, NULL, "cursor: %s", err);
		return;
	}
	if (rc) {
		read_failed(call, rc, err);
		return;
	}
	api_reply(call, 200, json_pack("{s:O, s:s?, s:I}", "entries",
				       page.entries, "next_cursor", page.next,
				       "scanned", (json_int_t)page.scanned));
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
	rc = drv_dlq_show(call->api->cfg, id, show_visit, &s, &found, err,
			  sizeof(err));
	if (!rc && s.nomem)
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM,
			       "out of memory");
	if (rc == DRV_ERR_INVALID)
		api_problem(call, 404, NULL, "%s", err);
	else if (rc)
		read_failed(call, rc, err);
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
	list_args_t a = { .now = drv_now_ms() };
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
		read_failed(call, rc, err);
	} else {
		drv_topic_name(call->api->cfg, DRV_TOPIC_DLQ, NULL, 0, topic,
			       sizeof(topic));
		api_reply(call, 200, drv_dlq_stats_obj(&st, topic));
	}
	drv_dlq_stats_release(&st);
}

/* ---- resubmit ----------------------------------------------------------- */

typedef struct resub {
	api_call_t *call;
	json_t     *details;    /* the audit details: the body, borrowed */
	json_t     *items;      /* [{dead_letter_id, task_id | topic}] */
	json_t     *failures;   /* [{dead_letter_id, error}] */
	bool        audit_failed;
} resub_t;

static bool hook_start(void *arg)
{
	resub_t *r = arg;

	json_incref(r->details);
	if (api_audit(r->call, "dlq.resubmit", "started", 0, r->details, NULL))
		return true;
	r->audit_failed = true;
	return false;
}

static void hook_item_failed(const char *dl_id, const char *why, void *arg)
{
	resub_t *r = arg;

	json_array_append_new(r->failures, json_pack("{s:s, s:s}",
		"dead_letter_id", dl_id, "error", why));
}

static void hook_dry_item(const char *dl_id, const char *topic,
			  const drv_task_t *t, void *arg)
{
	resub_t *r = arg;

	json_array_append_new(r->items, json_pack("{s:s, s:s, s:s}",
		"dead_letter_id", dl_id, "task_id", t->id, "topic", topic));
}

static void hook_sent(const char *dl_id, const char *task_id, void *arg)
{
	resub_t *r = arg;

	json_array_append_new(r->items, json_pack("{s:s, s:s}",
		"dead_letter_id", dl_id, "task_id", task_id));
}

/* The body's "filter" object into \p a; false with the 400 replied. */
static bool body_filter(api_call_t *call, const json_t *fo, list_args_t *a)
{
	const char *key;
	json_t *v, *item;
	size_t i;
	char pointer[64];

	a->at = "/filter";
	if (!json_is_object(fo)) {
		api_problem(call, 400, "/filter", "filter must be an object");
		return false;
	}
	json_object_foreach((json_t *)fo, key, v) {
		if (!strcmp(key, "label") && json_is_array(v)) {
			json_array_foreach(v, i, item) {
				drv_fmt(pointer, sizeof(pointer),
					"/filter/label/%zu", i);
				if (!json_is_string(item) ||
				    strlen(json_string_value(item)) !=
				    json_string_length(item)) {
					api_problem(call, 400, pointer, "a "
						    "label is a string "
						    "KEY=VALUE");
					return false;
				}
				if (!filter_set(call, a, key,
						json_string_value(item)))
					return false;
			}
			continue;
		}
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			drv_fmt(pointer, sizeof(pointer), "/filter/%s", key);
			api_problem(call, 400, pointer, "%s must be a string "
				    "without NUL characters", key);
			return false;
		}
		if (!filter_set(call, a, key, json_string_value(v)))
			return false;
	}
	return true;
}

/* An optional integer field \p name of \p o within lo..hi into \p out;
 * false with the 400 replied. */
static bool int_field(api_call_t *call, const json_t *o, const char *name,
		      int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, name);
	char pointer[64];

	if (!v)
		return true;
	/* 10.0 is an integer to JSON Schema, a real to jansson */
	if (json_is_number(v) && json_number_value(v) >= (double)lo &&
	    json_number_value(v) <= (double)hi &&
	    json_number_value(v) == (double)(int64_t)json_number_value(v)) {
		*out = (int64_t)json_number_value(v);
		return true;
	}
	drv_fmt(pointer, sizeof(pointer), "/%s", name);
	api_problem(call, 400, pointer, "%s must be an integer %lld..%lld",
		    name, (long long)lo, (long long)hi);
	return false;
}

static bool bool_field(api_call_t *call, const json_t *o, const char *name,
		       bool *out)
{
	json_t *v = json_object_get(o, name);
	char pointer[64];

	if (!v)
		return true;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	drv_fmt(pointer, sizeof(pointer), "/%s", name);
	api_problem(call, 400, pointer, "%s must be true or false", name);
	return false;
}

/* The body's "set": merge patch objects and "KEY.PATH=VALUE" strings, in
 * order. */
static bool body_patch(api_call_t *call, const json_t *set, drv_patch_t *p)
{
	char pointer[64], err[512];
	json_t *item;
	size_t i;

	if (!set)
		return true;
	if (!json_is_array(set)) {
		api_problem(call, 400, "/set", "set must be an array of merge "
			    "patches and KEY.PATH=VALUE strings");
		return false;
	}
	json_array_foreach(set, i, item) {
		drv_err_t rc;

		drv_fmt(pointer, sizeof(pointer), "/set/%zu", i);
		if (json_is_object(item))
			rc = drv_patch_add_json(p, json_incref(item)) ?
			     drv_error(err, sizeof(err), DRV_ERR_NOMEM,
				       "out of memory") : DRV_OK;
		else if (json_is_string(item) &&
			 strlen(json_string_value(item)) ==
			 json_string_length(item) &&
			 json_string_value(item)[strspn(json_string_value(
				item), " \t\n\v\f\r")] != '{')
			rc = drv_patch_add(p, json_string_value(item), err,
					   sizeof(err));
		else
			rc = drv_error(err, sizeof(err), DRV_ERR_INVALID,
				       "want a merge patch object or "
				       "KEY.PATH=VALUE");
		if (rc) {
			api_problem(call, rc == DRV_ERR_NOMEM ? 500 : 400,
				    pointer, "%s", err);
			return false;
		}
	}
	return true;
}

static const char *const resubmit_fields[] = {
	"ids", "filter", "set", "priority", "max_attempts", "reset_attempts",
	"force", "dry_run", "max", NULL,
};

/* The body's "ids" into \p ids (borrowed from the body); false with the
 * 400 replied. */
static bool body_ids(api_call_t *call, const json_t *arr, const char ***ids,
		     size_t *cnt)
{
	char pointer[64];
	json_t *item;
	size_t i;

	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > RESUBMIT_MAX) {
		api_problem(call, 400, "/ids", "ids must be an array of 1..%d "
			    "dead letter or task ids", RESUBMIT_MAX);
		return false;
	}
	if (!(*ids = calloc(json_array_size(arr), sizeof(**ids)))) {
		api_problem(call, 500, NULL, "out of memory");
		return false;
	}
	json_array_foreach(arr, i, item) {
		if (!drv_id_valid(json_string_value(item))) {
			drv_fmt(pointer, sizeof(pointer), "/ids/%zu", i);
			api_problem(call, 400, pointer, "not a dead letter or "
				    "task id (26 characters of Crockford "
				    "base32)");
			return false;
		}
		(*ids)[i] = json_string_value(item);
	}
	*cnt = json_array_size(arr);
	return true;
}

/* The problem of a run by ids that sent nothing: 404 for ids not in the
 * DLQ, else 400 with the first failure. */
static void refused(api_call_t *call, const drv_dlq_resubmit_t *run,
		    const resub_t *r)
{
	json_t *missing = json_array(), *p;

	for (size_t i = 0; i < run->id_cnt; i++)
		if (!run->id_found[i])
			json_array_append_new(missing,
					      json_string(run->ids[i]));
	if (json_array_size(missing)) {
		p = api_problem_json(404, NULL, "not in the DLQ; nothing sent");
		json_object_set_new(p, "missing", missing);
		api_reply(call, 404, p);
	} else {
		json_decref(missing);
		p = api_problem_json(400, NULL, run->undecodable ? "an id names "
				     "an undecodable entry; nothing sent" :
				     "an entry cannot be resubmitted; "
				     "nothing sent");
		json_object_set(p, "failures", r->failures);
		api_reply(call, 400, p);
	}
	call->problem = true;
}

static void resubmit(api_call_t *call)
{
	json_t *o = api_body_json(call), *ids_j;
	list_args_t a = { .now = drv_now_ms() };
	drv_dlq_resubmit_t run = { 0 };
	resub_t r = { .call = call };
	const char **ids = NULL;
	int64_t priority = 0, max_attempts = 0, max = RESUBMIT_MAX_DEFAULT;
	drv_patch_t patch;
	redisContext *c;
	char err[512], by[128];
	const char *key;
	json_t *v;
	drv_err_t rc;

	drv_patch_init(&patch);
	if (!o)
		return;
	if (!json_is_object(o)) {
		api_problem(call, 400, "", "the body must be an object");
		goto out;
	}
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; resubmit_fields[i] && strcmp(key,
							 resubmit_fields[i]);
		     i++)
			;
		if (!resubmit_fields[i]) {
			api_problem(call, 400, "", "unknown field '%.40s'",
				    key);
			goto out;
		}
	}
	ids_j = json_object_get(o, "ids");
	if (!ids_j == !json_object_get(o, "filter")) {
		api_problem(call, 400, "", "give \"ids\" or a \"filter\" ({} "
			    "for every entry), not both");
		goto out;
	}
	if ((ids_j ? !body_ids(call, ids_j, &ids, &run.id_cnt) :
	     !body_filter(call, json_object_get(o, "filter"), &a)) ||
	    !body_patch(call, json_object_get(o, "set"), &patch) ||
	    !int_field(call, o, "priority", DRV_PRIORITY_MIN,
		       DRV_PRIORITY_MAX, &priority) ||
	    !int_field(call, o, "max_attempts", 1, 1000, &max_attempts) ||
	    !int_field(call, o, "max", 1, RESUBMIT_MAX, &max) ||
	    !bool_field(call, o, "reset_attempts", &run.reset) ||
	    !bool_field(call, o, "force", &run.force) ||
	    !bool_field(call, o, "dry_run", &run.dry_run))
		goto out;
	if (!(c = api_redis(call)))
		goto out;
	drv_fmt(by, sizeof(by), "api:%s", call->token->name);
	run.every = !ids_j;
	run.filter = &a.f;
	run.ids = ids;
	if (ids && !(run.id_found = calloc(run.id_cnt, sizeof(bool)))) {
		api_problem(call, 500, NULL, "out of memory");
		goto out;
	}
	run.patch = &patch;
	run.priority = (uint32_t)priority;
	run.max_attempts = (uint32_t)max_attempts;
	run.max = (uint64_t)max;
	run.submitted_by = by;
	r.details = o;
	r.items = json_array();
	r.failures = json_array();
	run.hooks = (drv_dlq_resubmit_hooks_t){
		.start = hook_start, .item_failed = hook_item_failed,
		.dry_item = hook_dry_item, .sent = hook_sent, .arg = &r };
	rc = drv_dlq_resubmit_run(call->api->cfg, c,
				  run.dry_run ? NULL : call->api->producer,
				  &run, err, sizeof(err));
	if (run.aborted)
		goto done;  /* the audit's problem is replied */
	if (run.nothing_sent) {
		refused(call, &run, &r);
		goto done;
	}
	if (rc) {
		if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
			api_redis_lost(call);
		/* what was sent before the failure is marked and audited */
		read_failed(call, rc, err);
	}
	if (!run.dry_run && !api_audit(call, "dlq.resubmit", ids ? "ids" :
				       "filter", run.sent, json_pack(
				       "{s:O, s:I, s:I, s:I, s:s}", "request",
				       o, "matched", (json_int_t)run.matched,
				       "already_resubmitted",
				       (json_int_t)run.already, "failed",
				       (json_int_t)run.failed, "result",
				       rc ? err : "ok"), NULL))
		goto done;
	if (!rc)
		api_reply(call, 200, json_pack(
			"{s:b, s:I, s:I, s:I, s:I, s:I, s:b, s:O, s:O}",
			"dry_run", run.dry_run,
			"matched", (json_int_t)run.matched,
			"resubmitted", (json_int_t)run.sent,
			"already_resubmitted", (json_int_t)run.already,
			"undecodable", (json_int_t)run.undecodable,
			"failed", (json_int_t)run.failed,
			"max_reached", run.max && run.sent >= run.max,
			"entries", r.items, "failures", r.failures));
done:
	json_decref(r.items);
	json_decref(r.failures);
out:
	free(ids);
	free(run.id_found);
	drv_patch_release(&patch);
	json_decref(o);
}

/* ---- the routes ---------------------------------------------------------- */

#define WHEN_DOC " (RFC 3339, a date, or a duration ago: 2h)"
#define REASON_ENUM "[\"permanent_failure\", \"attempts_exhausted\", " \
	"\"deadline_exceeded\", \"undecodable\", \"handler_unknown\", " \
	"\"skipped\"]"
#define NONEMPTY "{\"type\": \"string\", \"minLength\": 1, \"pattern\": " \
	"\"^[^\\\\u0000]*$\"}"
#define LABEL_RE "{\"type\": \"string\", \"pattern\": \"^[^=\\\\u0000]+=" \
	"[^\\\\u0000]*$\"}"
/* The filters, as query parameters (list, stats). */
#define FILTER_QUERY \
	{ "handler", NONEMPTY, "only this handler's tasks" }, \
	{ "reason", "{\"type\": \"string\", \"enum\": " REASON_ENUM "}", \
	  "only entries dead-lettered for this reason" }, \
	{ "schedule", NONEMPTY, "only tasks fired by this schedule" }, \
	{ "label", LABEL_RE, "KEY=VALUE: only tasks with this label " \
	  "(repeatable, up to 16)" }, \
	{ "since", API_WHEN_SCHEMA, "dead at or after" WHEN_DOC }, \
	{ "until", API_WHEN_SCHEMA, "dead before" WHEN_DOC }, \
	{ "grep", NONEMPTY, "text in the last error message or the detail" }

static const api_query_doc_t list_query[] = {
	FILTER_QUERY,
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500, "
	  "\"default\": 50}", "entries per page" },
	{ "cursor", "{\"type\": \"string\", \"maxLength\": 8192, "
	  "\"pattern\": \"^(v1(\\\\.[0-9]{1,18})+)?$\"}",
	  "next_cursor of the page before" },
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
		     "and handler, how many were resubmitted",
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
	{ .method = "POST", .path = "/api/v1/dlq/resubmit",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = resubmit,
	  .op_id = "resubmitDeadLetters", .tag = "dlq",
	  .summary = "Put dead letters back on the task topics, patched, "
		     "each at most once (dry_run: what would be sent)",
	  .request = "{\"$ref\": \"#/components/schemas/DeadLetterResubmit\"}",
	  .request_example = "{\"filter\": {\"handler\": \"resize\", "
			     "\"reason\": \"permanent_failure\", \"since\": "
			     "\"24h\"}, \"set\": [{\"quality\": 80}, "
			     "\"size.width=640\"], \"reset_attempts\": true, "
			     "\"max\": 500, \"dry_run\": true}",
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/ResubmitResult\"}",
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
	  "\"dead_letters_of_id\": {\"type\": \"integer\", \"description\": "
	  "\"entries the id named (a task may die more than once; the "
	  "newest is shown)\"}}, "
	  "\"example\": {\"id\": \"01HZY3K4M5N6P7Q8R9S0T1V2W3\", "
	  "\"reason\": \"permanent_failure\", \"dead_ms\": 1764900000000, "
	  "\"task\": {\"id\": \"01HZY3K4M5N6P7Q8R9S0T1V2W4\", \"handler\": "
	  "\"resize\"}, \"failures\": [{\"attempt\": 1, \"failure_class\": "
	  "\"permanent\", \"message\": \"bad image\"}], "
	  "\"dlq_partition\": 0, \"dlq_offset\": 17}}" },
	{ "DeadLetterPage",
	  "{\"type\": \"object\", \"required\": [\"entries\", "
	  "\"next_cursor\", \"scanned\"], \"properties\": {"
	  "\"entries\": {\"type\": \"array\", \"items\": {\"$ref\": "
	  "\"#/components/schemas/DeadLetter\"}}, "
	  "\"next_cursor\": {\"type\": [\"string\", \"null\"], "
	  "\"description\": \"null: the end of the DLQ was reached\"}, "
	  "\"scanned\": {\"type\": \"integer\", \"description\": \"DLQ "
	  "messages read for this page (at most 20000)\"}}}" },
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
	  "\"description\": \"null: Redis could not be read\"}, "
	  "\"by_reason\": {\"type\": \"object\", \"additionalProperties\": "
	  "{\"type\": \"integer\"}}, "
	  "\"by_handler\": {\"type\": \"object\", \"additionalProperties\": "
	  "{\"type\": \"integer\"}}}, "
	  "\"example\": {\"topic\": \"drover.dlq\", \"count\": 3, "
	  "\"undecodable_entries\": 0, \"resubmitted\": 1, \"by_reason\": "
	  "{\"permanent_failure\": 3}, \"by_handler\": {\"resize\": 3}}}" },
	{ "DeadLetterResubmit",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"oneOf\": [{\"required\": [\"ids\"]}, {\"required\": "
	  "[\"filter\"]}], \"properties\": {"
	  "\"ids\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": "
	  "10000, \"items\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-7][0-9A-HJKMNP-TV-Z]{25}$\"}, \"description\": \"dead "
	  "letter or task ids; one not in the DLQ sends nothing (404)\"}, "
	  "\"filter\": {\"type\": \"object\", \"additionalProperties\": "
	  "false, \"description\": \"as GET /dlq's query; {} is every "
	  "entry\", \"properties\": {"
	  "\"handler\": " NONEMPTY ", "
	  "\"reason\": {\"type\": \"string\", \"enum\": " REASON_ENUM "}, "
	  "\"schedule\": " NONEMPTY ", "
	  "\"label\": {\"type\": \"array\", \"maxItems\": 16, \"items\": "
	  LABEL_RE "}, "
	  "\"since\": " API_WHEN_SCHEMA ", "
	  "\"until\": " API_WHEN_SCHEMA ", "
	  "\"grep\": " NONEMPTY "}}, "
	  "\"set\": {\"type\": \"array\", \"description\": \"payload "
	  "patches in order: JSON merge patches (objects) or "
	  "KEY.PATH=VALUE\", \"items\": {\"oneOf\": [{\"type\": "
	  "\"object\", \"propertyNames\": {\"pattern\": "
	  "\"^[^\\\\u0000]*$\"}, \"additionalProperties\": {\"$ref\": "
	  "\"#/components/schemas/JsonValue\"}}, {\"type\": \"string\", "
	  "\"pattern\": "
	  "\"^[^.={\\\\s\\\\u0000][^.={\\\\u0000]{0,62}"
	  "(\\\\.[^.={\\\\u0000]{1,63})*=[^\\\\u0000]*$\"}]}}, "
	  "\"priority\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 10}, "
	  "\"max_attempts\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 1000}, "
	  "\"reset_attempts\": {\"type\": \"boolean\", \"default\": false}, "
	  "\"force\": {\"type\": \"boolean\", \"default\": false, "
	  "\"description\": \"also what was resubmitted before\"}, "
	  "\"dry_run\": {\"type\": \"boolean\", \"default\": false}, "
	  "\"max\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": "
	  "10000, \"default\": 1000, \"description\": \"resubmit at most "
	  "this many\"}}}" },
	{ "ResubmitResult",
	  "{\"type\": \"object\", \"required\": [\"dry_run\", \"matched\", "
	  "\"resubmitted\", \"already_resubmitted\", \"failed\", "
	  "\"entries\", \"failures\"], \"properties\": {"
	  "\"dry_run\": {\"type\": \"boolean\"}, "
	  "\"matched\": {\"type\": \"integer\"}, "
	  "\"resubmitted\": {\"type\": \"integer\", \"description\": "
	  "\"sent and marked (dry run: would be)\"}, "
	  "\"already_resubmitted\": {\"type\": \"integer\"}, "
	  "\"undecodable\": {\"type\": \"integer\"}, "
	  "\"failed\": {\"type\": \"integer\"}, "
	  "\"max_reached\": {\"type\": \"boolean\"}, "
	  "\"entries\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\", \"properties\": {\"dead_letter_id\": {\"type\": "
	  "\"string\"}, \"task_id\": {\"type\": \"string\"}, \"topic\": "
	  "{\"type\": \"string\"}}}}, "
	  "\"failures\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\", \"properties\": {\"dead_letter_id\": {\"type\": "
	  "\"string\"}, \"error\": {\"type\": \"string\"}}}}}}" },
	{ NULL, NULL },
};
