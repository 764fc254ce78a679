/*
 * dlq_resubmit.c — POST /api/v1/dlq/resubmit: dead letters back on the task
 * topics, by id or by filter, patched, at most once each, with a dry run
 * that says what would go. The core's drv_dlq_resubmit_run() does the work
 * (the same as `droverctl dlq resubmit`); this file reads the body, audits
 * the run ("started" before anything is sent, then its counts) and replies
 * what was sent. POST /api/v1/dlq/discard is here too: the same selectors,
 * the same run with discard set (drover/dlq_resubmit.h), a filter or a
 * group made a discard job (dlq_jobs.c).
 *
 * The call reads the DLQ to its end and holds one API thread meanwhile;
 * "max" bounds what one call sends.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/dlq_resubmit.h"
#include "drover/str.h"

/* Most entries one call sends, and its default. */
#define RESUBMIT_MAX         10000
#define RESUBMIT_MAX_DEFAULT 1000

typedef struct resub {
	api_call_t *call;
	const char *action;     /* audited: "dlq.resubmit", "task.retry" */
	const char *target;     /* of the "started" record */
	bool        full_task;  /* a dry run's entries carry the task */
	json_t     *details;    /* the audit details: the body, borrowed */
	json_t     *items;      /* [{dead_letter_id, task_id | topic}] */
	json_t     *failures;   /* [{dead_letter_id, error}] */
	bool        audit_failed;
} resub_t;

static bool hook_start(void *arg)
{
	resub_t *r = arg;

	json_incref(r->details);
	if (api_audit(r->call, r->action, r->target, 0, r->details, NULL))
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
	json_t *item;
	char *text;

	if (!t) {  /* a discard's */
		json_array_append_new(r->items, json_pack("{s:s}",
			"dead_letter_id", dl_id));
		return;
	}
	item = json_pack("{s:s, s:s, s:s}", "dead_letter_id", dl_id,
			 "task_id", t->id, "topic", topic);

	if (r->full_task && (text = drv_task_to_json(t))) {
		json_object_set_new(item, "task", json_loads(text, 0, NULL));
		free(text);
	}
	json_array_append_new(r->items, item);
}

static void hook_sent(const char *dl_id, const char *task_id, void *arg)
{
	resub_t *r = arg;

	if (drv_dlq_mark_discarded(task_id))
		json_array_append_new(r->items, json_pack("{s:s}",
			"dead_letter_id", dl_id));
	else
		json_array_append_new(r->items, json_pack("{s:s, s:s}",
			"dead_letter_id", dl_id, "task_id", task_id));
}

/* The body's "filter" object into \p a; false with the 400 replied. */
static bool body_filter(api_call_t *call, const json_t *fo, api_dlq_args_t *a)
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
				if (!api_dlq_filter_set(call, a, key,
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
		if (!api_dlq_filter_set(call, a, key, json_string_value(v)))
			return false;
	}
	return true;
}

/* The body's "group" (a failure group id, drover/dlq_groups.h): the
 * filter of the group's entries, so a group is resubmitted over the whole
 * DLQ as any filter is; false with the 400 replied. */
static bool body_group(api_call_t *call, const json_t *g, api_dlq_args_t *a)
{
	a->at = "";
	if (!json_is_string(g) ||
	    strlen(json_string_value(g)) != json_string_length(g)) {
		api_problem(call, 400, "/group", "group must be a string");
		return false;
	}
	return api_dlq_filter_set(call, a, "group", json_string_value(g));
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
	"ids", "filter", "group", "set", "priority", "max_attempts",
	"reset_attempts", "force", "dry_run", "max", NULL,
};

/* Is every field of body \p o one of \p fields? false with the 400
 * replied. */
static bool known_fields(api_call_t *call, json_t *o,
			 const char *const *fields)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		api_problem(call, 400, "", "the body must be an object");
		return false;
	}
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; fields[i] && strcmp(key, fields[i]); i++)
			;
		if (!fields[i]) {
			api_problem(call, 400, "", "unknown field '%.40s'",
				    key);
			return false;
		}
	}
	return true;
}

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
		p = api_problem_json(404, NULL, run->discard ?
				     "not in the DLQ; nothing discarded" :
				     "not in the DLQ; nothing sent");
		json_object_set_new(p, "missing", missing);
		api_reply(call, 404, p);
	} else {
		json_decref(missing);
		p = api_problem_json(400, NULL, run->undecodable ?
				     "an id names an undecodable entry; "
				     "nothing sent" :
				     "an entry cannot be resubmitted; "
				     "nothing sent");
		json_object_set(p, "failures", r->failures);
		api_reply(call, 400, p);
	}
	call->problem = true;
}

/* Run \p run with the hooks of \p r, the body \p o as the audit's details
 * and "api:<token>" as the tasks' submitter. */
static drv_err_t run_hooked(api_call_t *call, redisContext *c,
			    drv_dlq_resubmit_t *run, resub_t *r, json_t *o,
			    char *err, size_t errlen)
{
	char by[128];

	drv_fmt(by, sizeof(by), "api:%s", call->token->name);
	run->submitted_by = by;
	r->details = o;
	r->items = json_array();
	r->failures = json_array();
	run->hooks = (drv_dlq_resubmit_hooks_t){
		.start = hook_start, .item_failed = hook_item_failed,
		.dry_item = hook_dry_item, .sent = hook_sent, .arg = r };
	return drv_dlq_resubmit_run(call->api->cfg, c, run->dry_run ? NULL :
				    call->api->producer, run, err, errlen);
}

/* run_hooked() for a resubmission or a discard by ids or filter: false
 * when the call is answered (the audit failed, or an id sends nothing:
 * refused()); else true with the run's result in *rc, a failure already
 * answered (what went before it is marked, and the caller audits it). */
static bool run_answered(api_call_t *call, redisContext *c,
			 drv_dlq_resubmit_t *run, resub_t *r, json_t *o,
			 drv_err_t *rc, char *err, size_t errlen)
{
	*rc = run_hooked(call, c, run, r, o, err, errlen);
	if (run->aborted)
		return false;  /* the audit's problem is replied */
	if (run->nothing_sent) {
		refused(call, run, r);
		return false;
	}
	if (*rc) {
		if (*rc == DRV_ERR_REDIS || *rc == DRV_ERR_TIMEOUT)
			api_redis_lost(call);
		api_dlq_read_failed(call, *rc, err);
	}
	return true;
}

static void resubmit(api_call_t *call)
{
	json_t *o = api_body_json(call), *ids_j, *group_j;
	api_dlq_args_t a = { .now = drv_now_ms() };
	drv_dlq_resubmit_t run = { 0 };
	resub_t r = { .call = call, .action = "dlq.resubmit",
		      .target = "started" };
	const char **ids = NULL;
	int64_t priority = 0, max_attempts = 0, max = RESUBMIT_MAX_DEFAULT;
	drv_patch_t patch;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	drv_patch_init(&patch);
	if (!o)
		return;
	if (!known_fields(call, o, resubmit_fields))
		goto out;
	ids_j = json_object_get(o, "ids");
	group_j = json_object_get(o, "group");
	if (!!ids_j + !!json_object_get(o, "filter") + !!group_j != 1) {
		api_problem(call, 400, "", "give \"ids\", a \"filter\" ({} "
			    "for every entry) or a \"group\", one of them");
		goto out;
	}
	if ((ids_j ? !body_ids(call, ids_j, &ids, &run.id_cnt) :
	     group_j ? !body_group(call, group_j, &a) :
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
	if (!run_answered(call, c, &run, &r, o, &rc, err, sizeof(err)))
		goto done;
	if (!run.dry_run && !api_audit(call, "dlq.resubmit", ids ? "ids" :
				       group_j ? "group" : "filter", run.sent,
				       json_pack("{s:O, s:I, s:I, s:I, s:I, "
				       "s:s}", "request", o, "matched",
				       (json_int_t)run.matched,
				       "already_resubmitted",
				       (json_int_t)run.already,
				       "already_discarded",
				       (json_int_t)run.already_discarded,
				       "failed",
				       (json_int_t)run.failed, "result",
				       rc ? err : "ok"), NULL))
		goto done;
	if (!rc)
		api_reply(call, 200, json_pack(
			"{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:O, s:O}",
			"dry_run", run.dry_run,
			"matched", (json_int_t)run.matched,
			"resubmitted", (json_int_t)run.sent,
			"already_resubmitted", (json_int_t)run.already,
			"already_discarded", (json_int_t)run.already_discarded,
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

/* ---- POST /dlq/discard ----------------------------------------------------- */

static const char *const discard_fields[] = {
	"ids", "filter", "group", "dry_run", NULL,
};

/* What only a resubmission takes: a 400 that says so, at the field. */
static const char *const resubmit_only[] = {
	"set", "priority", "max_attempts", "reset_attempts", "force", "max",
	NULL,
};

/* Discard the dead letters \p ids_j names, here and now (they are few):
 * every one must be in the DLQ, else none is. */
static void discard_ids(api_call_t *call, json_t *o, const json_t *ids_j,
			bool dry)
{
	drv_dlq_resubmit_t run = { .discard = true, .dry_run = dry };
	resub_t r = { .call = call, .action = "dlq.discard",
		      .target = "started" };
	const char **ids = NULL;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!body_ids(call, ids_j, &ids, &run.id_cnt) ||
	    !(c = api_redis(call)))
		goto out;
	run.ids = ids;
	if (!(run.id_found = calloc(run.id_cnt, sizeof(bool)))) {
		api_problem(call, 500, NULL, "out of memory");
		goto out;
	}
	if (!run_answered(call, c, &run, &r, o, &rc, err, sizeof(err)))
		goto done;
	if (!dry && !api_audit(call, "dlq.discard", "ids", run.sent,
			       json_pack("{s:O, s:I, s:I, s:I, s:s}",
			       "request", o, "matched",
			       (json_int_t)run.matched,
			       "already_resubmitted", (json_int_t)run.already,
			       "already_discarded",
			       (json_int_t)run.already_discarded, "result",
			       rc ? err : "ok"), NULL))
		goto done;
	if (!rc)
		api_reply(call, 200, json_pack(
			"{s:b, s:I, s:I, s:I, s:I, s:I, s:O}",
			"dry_run", dry, dry ? "count" : "discarded",
			(json_int_t)run.sent,
			"matched", (json_int_t)run.matched,
			"already_resubmitted", (json_int_t)run.already,
			"already_discarded", (json_int_t)run.already_discarded,
			"undecodable", (json_int_t)run.undecodable,
			"entries", r.items));
done:
	json_decref(r.items);
	json_decref(r.failures);
out:
	free(ids);
	free(run.id_found);
}

/* POST /dlq/discard: "these dead letters need nothing". By ids at once; a
 * filter or a group as a discard job (202), its dry run the exact count. */
static void discard(api_call_t *call)
{
	json_t *o = api_body_json(call), *ids_j, *spec;
	bool dry = false;
	char pointer[64];

	if (!o)
		return;
	for (size_t i = 0; json_is_object(o) && resubmit_only[i]; i++)
		if (json_object_get(o, resubmit_only[i])) {
			drv_fmt(pointer, sizeof(pointer), "/%s",
				resubmit_only[i]);
			api_problem(call, 400, pointer, "a discard sends no "
				    "task: no %s", resubmit_only[i]);
			goto out;
		}
	if (!known_fields(call, o, discard_fields) ||
	    !bool_field(call, o, "dry_run", &dry))
		goto out;
	ids_j = json_object_get(o, "ids");
	if (!!ids_j + !!json_object_get(o, "filter") +
	    !!json_object_get(o, "group") != 1) {
		api_problem(call, 400, "", "give \"ids\", a \"filter\" ({} "
			    "for every entry) or a \"group\", one of them");
		goto out;
	}
	if (ids_j) {
		discard_ids(call, o, ids_j, dry);
		goto out;
	}
	/* the body without dry_run is the job's spec, so a bad field's
	 * pointer is the body's */
	spec = json_deep_copy(o);
	json_object_del(spec, "dry_run");
	json_object_set_new(spec, "kind", json_string("discard"));
	api_dlq_job_start(call, spec, dry, "dlq.discard");
	json_decref(spec);
out:
	json_decref(o);
}

static const char *const retry_fields[] = {
	"set", "priority", "policy", "max_attempts", "dry_run", NULL,
};

/* The body's "policy": a retry policy of the config; false with the 400
 * replied. */
static bool policy_field(api_call_t *call, const json_t *o,
			 const char **out)
{
	json_t *v = json_object_get(o, "policy");

	if (!v)
		return true;
	if (json_is_string(v) && drv_config_policy(call->api->cfg,
						   json_string_value(v))) {
		*out = json_string_value(v);
		return true;
	}
	api_problem(call, 400, "/policy", "policy must be the name of a retry "
		    "policy of the config");
	return false;
}

/* POST /tasks/{id}/retry: `droverctl task retry`, a dead task again from
 * its newest dead letter, as a new task (new id, attempts reset), even if
 * that dead letter was resubmitted before. */
static void retry(api_call_t *call)
{
	const char *id = call->params[0], *policy = NULL;
	drv_dlq_resubmit_t run = { 0 };
	resub_t r = { .call = call, .action = "task.retry", .target = id,
		      .full_task = true };
	int64_t priority = 0, max_attempts = 0;
	bool found = false;
	json_t *o, *item;
	drv_patch_t patch;
	redisContext *c;
	char err[512];
	drv_err_t rc;

	if (!drv_id_valid(id)) {
		api_problem(call, 404, NULL, "'%.64s' is not a task id (26 "
			    "characters of Crockford base32)", id);
		return;
	}
	if (!(o = call->body_len ? api_body_json(call) : json_object()))
		return;
	drv_patch_init(&patch);
	if (!known_fields(call, o, retry_fields) ||
	    !body_patch(call, json_object_get(o, "set"), &patch) ||
	    !int_field(call, o, "priority", DRV_PRIORITY_MIN,
		       DRV_PRIORITY_MAX, &priority) ||
	    !policy_field(call, o, &policy) ||
	    !int_field(call, o, "max_attempts", 1, 1000, &max_attempts) ||
	    !bool_field(call, o, "dry_run", &run.dry_run) ||
	    !(c = api_redis(call)))
		goto out;
	run.ids = &id;
	run.id_cnt = 1;
	run.id_found = &found;
	run.newest_only = true;
	run.force = true;
	run.reset = true;
	run.patch = &patch;
	run.priority = (uint32_t)priority;
	run.policy = policy;
	run.max_attempts = (uint32_t)max_attempts;
	rc = run_hooked(call, c, &run, &r, o, err, sizeof(err));
	if (run.aborted)
		goto done;
	if (run.nothing_sent) {
		refused(call, &run, &r);
		goto done;
	}
	item = json_array_get(r.items, 0);
	if (!rc && !item)
		rc = drv_error(err, sizeof(err), DRV_ERR_KAFKA, "not sent: %s",
			       json_string_value(json_object_get(
				json_array_get(r.failures, 0), "error")));
	if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT)
		api_redis_lost(call);
	if (!run.dry_run && !api_audit(call, "task.retry", id, run.sent,
				       json_pack("{s:O, s:s, s:s?}", "request",
				       o, "result", rc ? err : "ok", "task_id",
				       item ? json_string_value(json_object_get(
				       item, "task_id")) : NULL), NULL))
		goto done;
	if (rc) {
		api_dlq_read_failed(call, rc, err);
		goto done;
	}
	json_object_set_new(item, "dry_run", json_boolean(run.dry_run));
	json_object_set_new(item, "retry_of", json_string(id));
	json_object_set(item, "id", json_object_get(item, "task_id"));
	json_object_del(item, "task_id");
	api_reply(call, 200, json_incref(item));
done:
	json_decref(r.items);
	json_decref(r.failures);
out:
	drv_patch_release(&patch);
	json_decref(o);
}

const api_route_t api_dlq_resubmit_routes[] = {
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
	{ .method = "POST", .path = "/api/v1/dlq/discard",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = discard,
	  .op_id = "discardDeadLetters", .tag = "dlq",
	  .summary = "Mark dead letters discarded: they need nothing, and no "
		     "later resubmission or discard takes them (force "
		     "resubmits one). ids: at once (200); a filter or a "
		     "group: a discard job a coordinator runs (202); "
		     "dry_run: the exact count, nothing marked (200)",
	  .request = "{\"$ref\": \"#/components/schemas/DeadLetterDiscard\"}",
	  .request_example = "{\"group\": \"3f2a9c0d1e4b5a67\", "
			     "\"dry_run\": true}",
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/DiscardResult\"}",
	  .response_example = "{\"dry_run\": true, \"count\": 120, "
			      "\"matched\": 131, \"already_resubmitted\": 9, "
			      "\"already_discarded\": 2, \"undecodable\": 0}",
	  .alt_status = 202,
	  .alt_response = "{\"$ref\": \"#/components/schemas/DlqJob\"}",
	  .errors = "404 503" },
	{ .method = "POST", .path = "/api/v1/tasks/{id}/retry",
	  .role = DRV_API_OPERATOR, .cls = API_WRITE, .fn = retry,
	  .op_id = "retryTask", .tag = "tasks",
	  .summary = "Run a dead task again from its newest dead letter, as a "
		     "new task (attempts reset), maybe patched (as `droverctl "
		     "task retry`; dry_run: the task that would be sent)",
	  .param_doc = { "Task id (or dead letter id)" },
	  .request = "{\"$ref\": \"#/components/schemas/TaskRetry\"}",
	  .body_optional = true,
	  .request_example = "{\"set\": [{\"quality\": 80}, "
			     "\"size.width=640\"], \"priority\": 9, "
			     "\"max_attempts\": 3}",
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/RetryResult\"}",
	  .errors = "404 503" },
	{ .method = NULL },
};

/* "set": payload patches, as the body of a resubmission or retry takes
 * them. */
#define PATCHES_SCHEMA "{\"type\": \"array\", \"description\": \"payload " \
	"patches in order: JSON merge patches (objects) or " \
	"KEY.PATH=VALUE\", \"items\": {\"oneOf\": [{\"type\": " \
	"\"object\", \"propertyNames\": {\"pattern\": " \
	"\"^[^\\\\u0000]*$\"}, \"additionalProperties\": {\"$ref\": " \
	"\"#/components/schemas/JsonValue\"}}, {\"type\": \"string\", " \
	"\"pattern\": " \
	"\"^[^.={\\\\s\\\\u0000][^.={\\\\u0000]{0,62}" \
	"(\\\\.[^.={\\\\u0000]{1,63})*=[^\\\\u0000]*$\"}]}}"

const api_schema_t api_dlq_resubmit_schemas[] = {
	{ "DeadLetterFilter",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"description\": \"as GET /dlq's query; {} is every entry\", "
	  "\"properties\": {"
	  "\"handler\": " API_TEXT_SCHEMA ", "
	  "\"reason\": " API_DLQ_REASON_SCHEMA ", "
	  "\"schedule\": " API_TEXT_SCHEMA ", "
	  "\"label\": {\"type\": \"array\", \"maxItems\": 16, \"items\": "
	  API_LABEL_SCHEMA "}, "
	  "\"since\": " API_WHEN_SCHEMA ", "
	  "\"until\": " API_WHEN_SCHEMA ", "
	  "\"grep\": " API_TEXT_SCHEMA ", "
	  "\"group\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-9a-f]{16}$\"}}}" },
	{ "PayloadPatches", PATCHES_SCHEMA },
	{ "DeadLetterResubmit",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"oneOf\": [{\"required\": [\"ids\"]}, {\"required\": "
	  "[\"filter\"]}, {\"required\": [\"group\"]}], \"properties\": {"
	  "\"group\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-9a-f]{16}$\", \"description\": \"a failure group's id "
	  "(GET /dlq/groups): every entry of that group\"}, "
	  "\"ids\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": "
	  "10000, \"items\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-7][0-9A-HJKMNP-TV-Z]{25}$\"}, \"description\": \"dead "
	  "letter or task ids; one not in the DLQ sends nothing (404)\"}, "
	  "\"filter\": {\"$ref\": \"#/components/schemas/DeadLetterFilter\"}, "
	  "\"set\": {\"$ref\": \"#/components/schemas/PayloadPatches\"}, "
	  "\"priority\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 10}, "
	  "\"max_attempts\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 1000}, "
	  "\"reset_attempts\": {\"type\": \"boolean\", \"default\": false}, "
	  "\"force\": {\"type\": \"boolean\", \"default\": false, "
	  "\"description\": \"also what was resubmitted or discarded before\"}, "
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
	  "\"already_discarded\": {\"type\": \"integer\", \"description\": "
	  "\"skipped: discarded before (force resubmits them)\"}, "
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
	{ "DeadLetterDiscard",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"oneOf\": [{\"required\": [\"ids\"]}, {\"required\": "
	  "[\"filter\"]}, {\"required\": [\"group\"]}], \"properties\": {"
	  "\"group\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-9a-f]{16}$\", \"description\": \"a failure group's id "
	  "(GET /dlq/groups): every entry of that group, as a discard "
	  "job\"}, "
	  "\"ids\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": "
	  "10000, \"items\": {\"type\": \"string\", \"pattern\": "
	  "\"^[0-7][0-9A-HJKMNP-TV-Z]{25}$\"}, \"description\": \"dead "
	  "letter or task ids, discarded at once; one not in the DLQ "
	  "discards nothing (404)\"}, "
	  "\"filter\": {\"$ref\": \"#/components/schemas/DeadLetterFilter\", "
	  "\"description\": \"every entry it matches, as a discard job\"}, "
	  "\"dry_run\": {\"type\": \"boolean\", \"default\": false, "
	  "\"description\": \"count exactly what would be discarded; mark "
	  "nothing, make no job\"}}}" },
	{ "DiscardResult",
	  "{\"type\": \"object\", \"required\": [\"dry_run\", \"matched\", "
	  "\"already_resubmitted\", \"already_discarded\"], "
	  "\"description\": \"a dry run's count, or what a discard by ids "
	  "did\", \"properties\": {"
	  "\"dry_run\": {\"type\": \"boolean\"}, "
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"discard\"]}, "
	  "\"count\": {\"type\": \"integer\", \"description\": \"dry run: "
	  "what would be discarded now (matched minus already resubmitted "
	  "or discarded and undecodable)\"}, "
	  "\"discarded\": {\"type\": \"integer\", \"description\": \"ids: "
	  "marked discarded by this call\"}, "
	  "\"matched\": {\"type\": \"integer\"}, "
	  "\"already_resubmitted\": {\"type\": \"integer\", "
	  "\"description\": \"skipped: resubmitted before\"}, "
	  "\"already_discarded\": {\"type\": \"integer\", "
	  "\"description\": \"skipped: discarded before\"}, "
	  "\"failed\": {\"type\": \"integer\"}, "
	  "\"undecodable\": {\"type\": \"integer\"}, "
	  "\"entries\": {\"type\": \"array\", \"description\": \"ids: "
	  "the entries discarded (dry run: that would be)\", \"items\": "
	  "{\"type\": \"object\", \"properties\": {\"dead_letter_id\": "
	  "{\"type\": \"string\"}}}}}}" },
	{ "TaskRetry",
	  "{\"type\": \"object\", \"additionalProperties\": false, "
	  "\"properties\": {"
	  "\"set\": {\"$ref\": \"#/components/schemas/PayloadPatches\"}, "
	  "\"priority\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 10}, "
	  "\"policy\": {\"type\": \"string\", \"description\": \"a retry "
	  "policy of the config\"}, "
	  "\"max_attempts\": {\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 1000}, "
	  "\"dry_run\": {\"type\": \"boolean\", \"default\": false}}}" },
	{ "RetryResult",
	  "{\"type\": \"object\", \"required\": [\"id\", \"retry_of\", "
	  "\"dead_letter_id\", \"dry_run\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\", \"description\": \"the new "
	  "task's id (dry run: the id it would have)\"}, "
	  "\"retry_of\": {\"type\": \"string\"}, "
	  "\"dead_letter_id\": {\"type\": \"string\"}, "
	  "\"dry_run\": {\"type\": \"boolean\"}, "
	  "\"topic\": {\"type\": \"string\", \"description\": \"dry run: "
	  "where it would go\"}, "
	  "\"task\": {\"type\": \"object\", \"description\": \"dry run: "
	  "the task that would be sent\"}}}" },
	{ NULL, NULL },
};
