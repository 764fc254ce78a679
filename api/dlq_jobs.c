/*
 * dlq_jobs.c — /api/v1/dlq/jobs: DLQ resubmission (or discard, "kind":
 * "discard") as a durable job (drover/dlq_job.h). A dry run counts exactly
 * what a job would resubmit (or discard) and makes nothing; a real one
 * makes the job (202) and a coordinator's runner does the work, so no API
 * thread is held while the DLQ is read. POST /dlq/discard with a filter or
 * a group makes its job here too (api_dlq_job_start()).
 * Jobs are listed, shown, their failures paged, and paused, resumed or
 * cancelled (409 when their state does not allow it). Writes are audited
 * as dlq.job.create / pause / resume / cancel, as `droverctl dlq job`
 * does.
 */
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/dlq_job.h"
#include "drover/str.h"

#define PAGE_DEFAULT 50

/* The {id} of the path, or NULL with a 404 replied. */
static const char *job_id(api_call_t *call)
{
	if (drv_id_valid(call->params[0]))
		return call->params[0];
	api_problem(call, 404, NULL, "'%.64s' is not a job id (a ULID)",
		    call->params[0]);
	return NULL;
}

/* The problem of a failed core call: 409 for a state that does not allow
 * what was asked. (A failed DLQ read is api_dlq_read_failed()'s.) */
static void failed(api_call_t *call, drv_err_t rc, const char *err)
{
	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
		api_redis_lost(call);
	if (rc == DRV_ERR_RANGE)
		api_problem(call, 409, NULL, "%s", err);
	else
		api_problem(call, api_status_of(rc), NULL, "%s", err);
}

void api_dlq_job_start(api_call_t *call, const json_t *spec, bool dry,
		       const char *action)
{
	const char *kind = json_string_value(json_object_get(spec, "kind"));
	char err[512], pointer[128], by[160];
	drv_dlq_job_counts_t n;
	drv_dlq_job_t j = { 0 };
	redisContext *c;
	drv_err_t rc;

	if (!(c = api_redis(call)))
		return;
	if (dry) {
		rc = drv_dlq_job_count(call->api->cfg, c, spec, drv_now_ms(),
				       &n, pointer, sizeof(pointer), err,
				       sizeof(err));
		if (rc == DRV_ERR_INVALID)
			api_problem(call, 400, pointer, "%s", err);
		else if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
			failed(call, rc, err);
		else if (rc)
			api_dlq_read_failed(call, rc, err);
		else
			api_reply(call, 200, json_pack(
				"{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
				"dry_run", 1, "kind", kind ? kind : "resubmit",
				"count", (json_int_t)n.sent,
				"matched", (json_int_t)n.matched,
				"already_resubmitted", (json_int_t)n.already,
				"already_discarded",
				(json_int_t)n.already_discarded,
				"failed", (json_int_t)n.failed,
				"undecodable", (json_int_t)n.undecodable));
		return;
	}
	drv_fmt(by, sizeof(by), "api:%s", call->token->name);
	rc = drv_dlq_job_create(call->api->cfg, c, spec, by, drv_now_ms(), &j,
				pointer, sizeof(pointer), err, sizeof(err));
	if (rc == DRV_ERR_INVALID) {
		api_problem(call, 400, pointer, "%s", err);
		goto out;
	}
	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT) {
		failed(call, rc, err);
		goto out;
	}
	if (rc) {
		api_dlq_read_failed(call, rc, err);  /* the offsets' read */
		goto out;
	}
	if (api_audit(call, action, j.id, 0, json_pack("{s:O}", "spec", spec),
		      NULL))
		api_reply(call, 202, drv_dlq_job_json(&j));
out:
	drv_dlq_job_release(&j);
}

static void create(api_call_t *call)
{
	json_t *o = api_body_json(call), *spec, *dry;

	if (!o)
		return;
	if (!json_is_object(o)) {
		api_problem(call, 400, "", "the body must be an object");
		goto out;
	}
	dry = json_object_get(o, "dry_run");
	if (dry && !json_is_boolean(dry)) {
		api_problem(call, 400, "/dry_run", "dry_run must be true or "
			    "false");
		goto out;
	}
	spec = json_deep_copy(o);
	json_object_del(spec, "dry_run");
	api_dlq_job_start(call, spec, json_is_true(dry), "dlq.job.create");
	json_decref(spec);
out:
	json_decref(o);
}

typedef struct page_args {
	const char *cursor;
	int64_t limit;
} page_args_t;

static bool page_param(api_call_t *call, const char *name, const char *value,
		       void *arg)
{
	page_args_t *a = arg;
	int page = api_page_param(call, name, value, &a->cursor, &a->limit,
				  DRV_DLQ_JOB_PAGE_MAX);

	if (page == 0)
		api_problem(call, 400, NULL, "unknown query parameter (%.40s)",
			    name);
	return page > 0;
}

static void list(api_call_t *call)
{
	page_args_t a = { .limit = PAGE_DEFAULT };
	drv_dlq_job_t *jobs = NULL;
	char err[512], *next = NULL;
	json_t *arr, *o;
	redisContext *c;
	size_t cnt = 0;
	drv_err_t rc;

	if (!api_query_each(call, page_param, &a) || !(c = api_redis(call)))
		return;
	rc = drv_dlq_job_list(call->api->cfg, c, a.cursor, (size_t)a.limit,
			      &jobs, &cnt, &next, err, sizeof(err));
	if (rc) {
		if (rc == DRV_ERR_INVALID)
			api_problem(call, 400, NULL, "%s", err);
		else
			failed(call, rc, err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < cnt; i++) {
		json_array_append_new(arr, drv_dlq_job_json(&jobs[i]));
		drv_dlq_job_release(&jobs[i]);
	}
	free(jobs);
	o = json_pack("{s:o}", "jobs", arr);
	if (next)
		json_object_set_new(o, "next_cursor", json_string(next));
	free(next);
	api_reply(call, 200, o);
}

static void show(api_call_t *call)
{
	const char *id = job_id(call);
	drv_dlq_job_t j;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id || !(c = api_redis(call)))
		return;
	if ((rc = drv_dlq_job_get(call->api->cfg, c, id, &j, err,
				  sizeof(err)))) {
		failed(call, rc, err);
		return;
	}
	api_reply(call, 200, drv_dlq_job_json(&j));
	drv_dlq_job_release(&j);
}

static void failures(api_call_t *call)
{
	const char *id = job_id(call);
	page_args_t a = { .limit = PAGE_DEFAULT };
	int64_t from = 0, next;
	json_t *items = NULL, *o;
	drv_dlq_job_t j;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!id || !api_query_each(call, page_param, &a))
		return;
	if (a.cursor && drv_parse_int(a.cursor, 0, 999999999, &from)) {
		api_problem(call, 400, NULL, "bad cursor");
		return;
	}
	if (!(c = api_redis(call)))
		return;
	if ((rc = drv_dlq_job_get(call->api->cfg, c, id, &j, err,
				  sizeof(err))) ||
	    (rc = drv_dlq_job_failures(call->api->cfg, c, id, from,
				       (size_t)a.limit, &items, &next, err,
				       sizeof(err)))) {
		failed(call, rc, err);
		return;
	}
	o = json_pack("{s:s, s:I, s:o}", "id", id, "failures_total",
		      (json_int_t)j.failures_total, "failures", items);
	drv_dlq_job_release(&j);
	if (next >= 0) {
		char buf[32];

		drv_fmt(buf, sizeof(buf), "%lld", (long long)next);
		json_object_set_new(o, "next_cursor", json_string(buf));
	}
	api_reply(call, 200, o);
}

/* POST /dlq/jobs/{id}/pause | resume | cancel: the last path segment says
 * which. */
static void control(api_call_t *call)
{
	static const struct {
		const char *verb, *audit;
		drv_dlq_job_action_t action;
	} verbs[] = {
		{ "/pause", "dlq.job.pause", DRV_DLQ_JOB_PAUSE },
		{ "/resume", "dlq.job.resume", DRV_DLQ_JOB_RESUME },
		{ "/cancel", "dlq.job.cancel", DRV_DLQ_JOB_CANCEL },
	};
	const char *id = job_id(call), *path = call->route->path;
	drv_dlq_job_t j;
	redisContext *c;
	char err[512];
	drv_err_t rc;
	size_t v = 0;

	if (!id || !(c = api_redis(call)))
		return;
	while (v < 2 && (strlen(path) < strlen(verbs[v].verb) ||
			 strcmp(path + strlen(path) - strlen(verbs[v].verb),
				verbs[v].verb)))
		v++;
	if ((rc = drv_dlq_job_control(call->api->cfg, c, id, verbs[v].action,
				      drv_now_ms(), &j, err, sizeof(err)))) {
		failed(call, rc, err);
		return;
	}
	if (api_audit(call, verbs[v].audit, id, 1, NULL, NULL))
		api_reply(call, 200, drv_dlq_job_json(&j));
	drv_dlq_job_release(&j);
}

#define ID_DOC "Job id (a ULID)"
#define JOB "{\"$ref\": \"#/components/schemas/DlqJob\"}"
#define PAGE_QUERY(what) \
	{ "limit", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": " \
	  "500, \"default\": 50}", what " per page" }

static const api_query_doc_t list_query[] = {
	PAGE_QUERY("jobs"),
	{ "cursor", "{\"type\": \"string\", \"pattern\": "
	  "\"^[0-7][0-9A-HJKMNP-TV-Z]{25}$\"}",
	  "next_cursor of the page before" },
	{ NULL, NULL, NULL },
};

static const api_query_doc_t failures_query[] = {
	PAGE_QUERY("failures"),
	{ "cursor", "{\"type\": \"string\", \"pattern\": \"^[0-9]{1,9}$\"}",
	  "next_cursor of the page before" },
	{ NULL, NULL, NULL },
};

#define CONTROL(verb_, op_, summary_) \
	{ .method = "POST", .path = "/api/v1/dlq/jobs/{id}/" verb_, \
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = control, \
	  .op_id = op_, .tag = "dlq", .summary = summary_, \
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = JOB, \
	  .errors = "404 409 503" }

const api_route_t api_dlq_job_routes[] = {
	{ .method = "POST", .path = "/api/v1/dlq/jobs",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = create,
	  .op_id = "createDlqJob", .tag = "dlq",
	  .summary = "Resubmit (or, kind discard, discard) the dead letters "
		     "of a filter or failure group as a durable job a "
		     "coordinator runs (202); dry_run: the exact count it "
		     "would resubmit now, no job (200)",
	  .request = "{\"$ref\": \"#/components/schemas/DlqJobCreate\"}",
	  .request_example = "{\"group\": \"3f2a9c0d1e4b5a67\", \"set\": "
			     "[\"size.width=640\"], \"reset_attempts\": true, "
			     "\"rate\": 200}",
	  .ok_status = 202, .response = JOB,
	  .response_example = "{\"id\": \"01JEQ7ZKXW8T6N3M2R5V4P9H1C\", "
			      "\"kind\": \"resubmit\", \"state\": \"pending\", "
			      "\"spec\": {\"group\": "
			      "\"3f2a9c0d1e4b5a67\"}, \"created_by\": "
			      "\"api:ops\", \"runner\": \"\", \"created_ms\": "
			      "1765000000000, \"started_ms\": 0, "
			      "\"updated_ms\": 1765000000000, \"ended_ms\": 0, "
			      "\"matched\": 0, \"resubmitted\": 0, "
			      "\"discarded\": 0, \"already_resubmitted\": 0, "
			      "\"already_discarded\": 0, \"failed\": 0, "
			      "\"undecodable\": 0, \"failures_total\": 0, "
			      "\"progress\": 0.0, \"total\": 1200, \"read\": 0, "
			      "\"partitions\": [{\"partition\": 0, \"start\": "
			      "0, \"end\": 1200, \"next\": 0}]}",
	  .alt_status = 200,
	  .alt_response = "{\"$ref\": \"#/components/schemas/DlqJobCount\"}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/dlq/jobs",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = list,
	  .op_id = "listDlqJobs", .tag = "dlq",
	  .summary = "Resubmission and discard jobs (their kind), newest "
		     "first, a page at a time (kept 7 days after they end)",
	  .query = list_query, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"jobs\"], "
		      "\"properties\": {\"jobs\": {\"type\": \"array\", "
		      "\"items\": " JOB "}, \"next_cursor\": {\"type\": "
		      "\"string\", \"description\": \"the cursor of the next "
		      "page; absent on the last\"}}}",
	  .errors = "503" },
	{ .method = "GET", .path = "/api/v1/dlq/jobs/{id}",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = show,
	  .op_id = "getDlqJob", .tag = "dlq",
	  .summary = "One resubmission or discard job: kind, state, counts, "
		     "progress",
	  .param_doc = { ID_DOC }, .ok_status = 200, .response = JOB,
	  .errors = "404 503" },
	{ .method = "GET", .path = "/api/v1/dlq/jobs/{id}/failures",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = failures,
	  .op_id = "listDlqJobFailures", .tag = "dlq",
	  .summary = "The entries a job could not resubmit, and why (the "
		     "first 1000 kept, all counted), oldest first",
	  .param_doc = { ID_DOC }, .query = failures_query, .ok_status = 200,
	  .response = "{\"type\": \"object\", \"required\": [\"id\", "
		      "\"failures_total\", \"failures\"], \"properties\": {"
		      "\"id\": {\"type\": \"string\"}, \"failures_total\": "
		      "{\"type\": \"integer\"}, \"failures\": {\"type\": "
		      "\"array\", \"items\": {\"type\": \"object\", "
		      "\"properties\": {\"dead_letter_id\": {\"type\": "
		      "\"string\"}, \"error\": {\"type\": \"string\"}}}}, "
		      "\"next_cursor\": {\"type\": \"string\"}}}",
	  .errors = "404 503" },
	CONTROL("pause", "pauseDlqJob", "Pause a job: its runner stops after "
		"the entry at hand, saving where it was (409 unless pending "
		"or running)"),
	CONTROL("resume", "resumeDlqJob", "Resume a paused job from where it "
		"stopped (409 unless paused)"),
	CONTROL("cancel", "cancelDlqJob", "Cancel a job for good; what it "
		"sent stays sent (409 once it has ended)"),
	{ .method = NULL },
};

const api_schema_t api_dlq_job_schemas[] = {
	{ "DlqJobCreate",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"oneOf\": [{\"required\": [\"filter\"]}, {\"required\": "
	  "[\"group\"]}], "
	  /* a discard changes no task */
	  "\"if\": {\"required\": [\"kind\"], \"properties\": {\"kind\": "
	  "{\"const\": \"discard\"}}}, \"then\": {\"not\": {\"anyOf\": ["
	  "{\"required\": [\"set\"]}, {\"required\": [\"priority\"]}, "
	  "{\"required\": [\"max_attempts\"]}, {\"required\": "
	  "[\"reset_attempts\"]}]}}, \"properties\": {"
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"resubmit\", "
	  "\"discard\"], \"default\": \"resubmit\", \"description\": "
	  "\"discard: mark the entries discarded instead (POST /dlq/discard "
	  "makes such a job); it takes no set, priority, max_attempts or "
	  "reset_attempts\"}, "
	  "\"filter\": {\"$ref\": \"#/components/schemas/DeadLetterFilter\"}, "
	  "\"group\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-9a-f]{16}$\", \"description\": \"a failure group's id "
	  "(GET /dlq/groups)\"}, "
	  "\"set\": {\"$ref\": \"#/components/schemas/PayloadPatches\"}, "
	  "\"priority\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 10}, "
	  "\"max_attempts\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 1000}, "
	  "\"reset_attempts\": {\"type\": \"boolean\", \"default\": false}, "
	  "\"rate\": {\"type\": \"number\", \"minimum\": 0.001, \"maximum\": "
	  "10000000, \"description\": \"most entries per second (none: as "
	  "fast as it goes)\"}, "
	  "\"dry_run\": {\"type\": \"boolean\", \"default\": false, "
	  "\"description\": \"count, make no job\"}}}" },
	{ "DlqJobCount",
	  "{\"type\": \"object\", \"required\": [\"dry_run\", \"count\"], "
	  "\"properties\": {\"dry_run\": {\"type\": \"boolean\"}, "
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"resubmit\", "
	  "\"discard\"]}, "
	  "\"count\": {\"type\": \"integer\", \"description\": \"what a job "
	  "made now would resubmit (or discard): matched minus already "
	  "resubmitted or discarded, failed and undecodable\"}, "
	  "\"matched\": {\"type\": \"integer\"}, "
	  "\"already_resubmitted\": {\"type\": \"integer\"}, "
	  "\"already_discarded\": {\"type\": \"integer\"}, "
	  "\"failed\": {\"type\": \"integer\"}, "
	  "\"undecodable\": {\"type\": \"integer\"}}}" },
	{ "DlqJob",
	  "{\"type\": \"object\", \"required\": [\"id\", \"state\", "
	  "\"spec\", \"created_ms\", \"matched\", \"resubmitted\", "
	  "\"already_resubmitted\", \"failed\", \"progress\", "
	  "\"partitions\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, "
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"resubmit\", "
	  "\"discard\"], \"description\": \"what it does to the entries: "
	  "its spec's kind\"}, "
	  "\"state\": {\"type\": \"string\", \"enum\": [\"pending\", "
	  "\"running\", \"paused\", \"cancelled\", \"done\", \"failed\"]}, "
	  "\"spec\": {\"type\": \"object\", \"description\": \"what it "
	  "resubmits or discards (the create body without dry_run)\"}, "
	  "\"created_by\": {\"type\": \"string\"}, "
	  "\"runner\": {\"type\": \"string\", \"description\": \"the "
	  "coordinator running it, or that last did\"}, "
	  "\"error\": {\"type\": \"string\"}, "
	  "\"created_ms\": {\"type\": \"integer\"}, "
	  "\"started_ms\": {\"type\": \"integer\"}, "
	  "\"updated_ms\": {\"type\": \"integer\"}, "
	  "\"ended_ms\": {\"type\": \"integer\"}, "
	  "\"matched\": {\"type\": \"integer\"}, "
	  "\"resubmitted\": {\"type\": \"integer\", \"description\": \"0 "
	  "in a discard job\"}, "
	  "\"discarded\": {\"type\": \"integer\", \"description\": \"0 "
	  "in a resubmission job\"}, "
	  "\"already_resubmitted\": {\"type\": \"integer\"}, "
	  "\"already_discarded\": {\"type\": \"integer\"}, "
	  "\"failed\": {\"type\": \"integer\"}, "
	  "\"undecodable\": {\"type\": \"integer\"}, "
	  "\"failures_total\": {\"type\": \"integer\"}, "
	  "\"progress\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": "
	  "1, \"description\": \"fraction of the snapshot read\"}, "
	  "\"total\": {\"type\": \"integer\", \"description\": \"DLQ "
	  "records in the snapshot\"}, "
	  "\"read\": {\"type\": \"integer\"}, "
	  "\"partitions\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\", \"properties\": {\"partition\": {\"type\": "
	  "\"integer\"}, \"start\": {\"type\": \"integer\"}, \"end\": "
	  "{\"type\": \"integer\"}, \"next\": {\"type\": \"integer\"}}}}}}" },
	{ NULL, NULL },
};
