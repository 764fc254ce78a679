/*
 * 0128 — discarding dead letters against the real Kafka and Redis, a
 * worker and a coordinator serving the API and running jobs: dead letters
 * of three handlers. Bad bodies get a 400 with the pointer of the field at
 * fault, a viewer a 403, an id not in the DLQ a 404 that discards nothing.
 * By ids (POST /dlq/discard): the dry run's count, then the discard, then
 * again nothing; the entry views (GET /dlq, /dlq/{id}, `dlq list|show
 * --json`) say discarded, not resubmitted. A resubmission job over the
 * handler skips them (already_discarded) and resubmits the rest, whose
 * views then name the task sent; a resubmission by id skips one too. By
 * group: the dry run's count is the group's and the real count, made as a
 * discard job shown in GET /dlq/jobs with its kind; the group's samples
 * say discarded; a later discard and a later resubmission job take none
 * (the handler never runs again). By filter, through `droverctl dlq
 * discard` (usage errors exit 2) and the API's job. Stats count
 * resubmitted and discarded apart; force resubmits a discarded entry,
 * which then shows resubmitted; the audit trail has the token's name.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

#define OPS    "ops-token-0128"
#define VIEWER "viewer-token-0128"
#define ALPHA  6
#define BETA   20
#define GAMMA  8

/* every handler records its run, then fails for good */
static const char handlers[] =
	"  alpha:\n"
	"    shell: true\n"
	"    command: 'echo \"alpha $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n"
	"  beta:\n"
	"    shell: true\n"
	"    command: 'echo \"beta $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n"
	"  gamma:\n"
	"    shell: true\n"
	"    command: 'echo \"gamma $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n";

#define api it_http_json
#define num it_json_int
#define str it_json_str

/* POST \p body to \p path as the operator, asserting \p status; the
 * answer. */
static json_t *post(int port, const char *path, const char *body,
		    int status)
{
	json_t *o = NULL;

	cr_assert_eq(api(port, "POST", path, OPS, body, &o), status, "%s %s",
		     path, body);
	return o;
}

static json_t *get(int port, const char *path)
{
	json_t *o = NULL;

	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200, "%s",
		     path);
	return o;
}

/* The dry run's count of POST /dlq/discard {\p fields}. */
static long long discard_count(int port, const char *fields)
{
	char body[512];
	json_t *o;
	long long n;

	drv_fmt(body, sizeof(body), "{%s, \"dry_run\": true}", fields);
	o = post(port, "/api/v1/dlq/discard", body, 200);
	cr_assert(json_is_true(json_object_get(o, "dry_run")));
	n = num(o, "count");
	json_decref(o);
	return n;
}

/* 400 for \p body, with \p pointer. */
static void refused(int port, const char *body, const char *pointer)
{
	json_t *o = post(port, "/api/v1/dlq/discard", body, 400);

	cr_assert_str_eq(str(o, "pointer"), pointer, "%s", body);
	json_decref(o);
}

/* Wait until job \p id is done; the job then. */
static json_t *job_done(int port, const char *id)
{
	char path[128];
	json_t *o = NULL;

	drv_fmt(path, sizeof(path), "/api/v1/dlq/jobs/%s", id);
	for (int t = 0; t < 300; t++) {
		o = get(port, path);
		if (!strcmp(str(o, "state"), "done"))
			return o;
		cr_assert(strcmp(str(o, "state"), "failed"), "job %s failed: "
			  "%s", id, str(o, "error"));
		json_decref(o);
		usleep(200 * 1000);
	}
	cr_assert_fail("job %s did not end", id);
	return NULL;
}

/* Make a job with POST \p path \p body (202) and wait for its end. */
static json_t *run_job(int port, const char *path, const char *body,
		       const char *kind)
{
	json_t *o = post(port, path, body, 202);
	char id[DRV_ID_LEN + 1];

	cr_assert_str_eq(str(o, "kind"), kind, "%s", body);
	cr_assert_str_eq(str(o, "state"), "pending");
	drv_strlcpy(id, str(o, "id"), sizeof(id));
	json_decref(o);
	return job_done(port, id);
}

/* GET /dlq/{id}: the entry. */
static json_t *entry(int port, const char *id)
{
	char path[128];

	drv_fmt(path, sizeof(path), "/api/v1/dlq/%s", id);
	return get(port, path);
}

static bool discarded(const json_t *e)
{
	return json_is_true(json_object_get(e, "discarded"));
}

/* How many entries of \p handler's page say discarded. */
static size_t discarded_of(int port, const char *handler, size_t *all)
{
	char path[128];
	json_t *o, *e;
	size_t n = 0, i;

	drv_fmt(path, sizeof(path), "/api/v1/dlq?handler=%s&limit=500",
		handler);
	o = get(port, path);
	*all = json_array_size(json_object_get(o, "entries"));
	json_array_foreach(json_object_get(o, "entries"), i, e) {
		cr_assert(json_is_boolean(json_object_get(e, "discarded")));
		n += discarded(e);
	}
	json_decref(o);
	return n;
}

/* Stats' count \p field ("resubmitted", "discarded"). */
static long long stat(int port, const char *field)
{
	json_t *o = get(port, "/api/v1/dlq/stats");
	long long n = num(o, field);

	json_decref(o);
	return n;
}

/* How many lines of \p text hold \p needle. */
static int lines_with(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n'), *hit = strstr(p, needle);

		if (hit && (!nl || hit < nl))
			n++;
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

Test(dlq_discard, by_ids_group_and_filter, .timeout = 420)
{
	char a0[DRV_ID_LEN + 1], a1[DRV_ID_LEN + 1], other[DRV_ID_LEN + 1];
	char g0[DRV_ID_LEN + 1], gid[32], body[512], path[256], *out;
	const char *as;
	pid_t coord, worker;
	size_t all, i;
	it_ctx_t ctx;
	json_t *o, *e;
	int port;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0128", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "alpha", ALPHA);
	it_publish_many(&ctx, "beta", BETA);
	it_publish_many(&ctx, "gamma", GAMMA);
	for (int t = 0; t < 120 && discard_count(port, "\"filter\": {}") <
	     ALPHA + BETA + GAMMA; t++)
		sleep(1);
	cr_assert_eq(discard_count(port, "\"filter\": {}"),
		     ALPHA + BETA + GAMMA);

	/* bad bodies: 400 at the field; a viewer: 403 */
	refused(port, "{}", "");
	refused(port, "[]", "");
	refused(port, "{\"filter\": {}, \"group\": \"3f9a0c1d2e4b5a69\"}", "");
	refused(port, "{\"filter\": {}, \"what\": 1}", "");
	refused(port, "{\"ids\": [\"nope\"]}", "/ids/0");
	refused(port, "{\"ids\": []}", "/ids");
	refused(port, "{\"filter\": {\"reason\": \"nope\"}}", "/filter/reason");
	refused(port, "{\"filter\": 3}", "/filter");
	refused(port, "{\"group\": \"xyz\"}", "/group");
	refused(port, "{\"filter\": {}, \"set\": [\"a=1\"]}", "/set");
	refused(port, "{\"filter\": {}, \"force\": true}", "/force");
	refused(port, "{\"filter\": {}, \"dry_run\": 1}", "/dry_run");
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/discard", VIEWER,
			 "{\"filter\": {}, \"dry_run\": true}", &o), 403);
	json_decref(o);

	/* the alpha entries: none discarded or resubmitted yet */
	o = get(port, "/api/v1/dlq?handler=alpha&limit=100");
	cr_assert_eq(json_array_size(json_object_get(o, "entries")), ALPHA);
	json_array_foreach(json_object_get(o, "entries"), i, e) {
		cr_assert(json_is_false(json_object_get(e, "discarded")));
		cr_assert(json_is_null(json_object_get(e, "resubmitted_as")));
	}
	drv_strlcpy(a0, str(json_array_get(json_object_get(o, "entries"), 0),
			    "id"), sizeof(a0));
	drv_strlcpy(a1, str(json_array_get(json_object_get(o, "entries"), 1),
			    "id"), sizeof(a1));
	drv_strlcpy(other, str(json_array_get(json_object_get(o, "entries"),
					      2), "id"), sizeof(other));
	json_decref(o);

	/* an id not in the DLQ: 404, and nothing discarded */
	drv_fmt(body, sizeof(body), "{\"ids\": [\"%s\", "
		"\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"]}", a0);
	o = post(port, "/api/v1/dlq/discard", body, 404);
	cr_assert_eq(json_array_size(json_object_get(o, "missing")), 1);
	json_decref(o);
	o = entry(port, a0);
	cr_assert(json_is_false(json_object_get(o, "discarded")));
	json_decref(o);

	/* by ids: the dry run's count, then for real, then nothing more */
	drv_fmt(body, sizeof(body), "{\"ids\": [\"%s\", \"%s\"], \"dry_run\": "
		"true}", a0, a1);
	o = post(port, "/api/v1/dlq/discard", body, 200);
	cr_assert_eq(num(o, "count"), 2);
	cr_assert_eq(num(o, "matched"), 2);
	cr_assert_eq(json_array_size(json_object_get(o, "entries")), 2);
	json_decref(o);
	o = entry(port, a0);
	cr_assert(!discarded(o), "a dry run discarded");
	json_decref(o);
	drv_fmt(body, sizeof(body), "{\"ids\": [\"%s\", \"%s\"]}", a0, a1);
	o = post(port, "/api/v1/dlq/discard", body, 200);
	cr_assert(json_is_false(json_object_get(o, "dry_run")));
	cr_assert_eq(num(o, "discarded"), 2);
	cr_assert_eq(num(o, "already_discarded"), 0);
	json_decref(o);
	o = post(port, "/api/v1/dlq/discard", body, 200);
	cr_assert_eq(num(o, "discarded"), 0);
	cr_assert_eq(num(o, "already_discarded"), 2);
	json_decref(o);

	/* the views say discarded, not resubmitted */
	o = entry(port, a0);
	cr_assert(discarded(o));
	cr_assert(json_is_null(json_object_get(o, "resubmitted_as")));
	json_decref(o);
	cr_assert_eq(discarded_of(port, "alpha", &all), 2);
	cr_assert_eq(all, ALPHA);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "show", a1, "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert(discarded(o), "%s", out);
	cr_assert(json_is_null(json_object_get(o, "resubmitted_as")));
	json_decref(o);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "show", a1, NULL), 0);
	cr_assert(strstr(out, "discarded"), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--handler", "alpha",
			    "--json", NULL), 0);
	cr_assert_eq(lines_with(out, "\"discarded\":true"), 2, "%s", out);
	cr_assert_eq(lines_with(out, "\"discarded\":false"), ALPHA - 2, "%s",
		     out);
	free(out);

	/* a resubmission job over alpha skips them, resubmits the rest */
	o = post(port, "/api/v1/dlq/jobs", "{\"filter\": {\"handler\": "
		 "\"alpha\"}, \"dry_run\": true}", 200);
	cr_assert_eq(num(o, "count"), ALPHA - 2);
	cr_assert_eq(num(o, "already_discarded"), 2);
	json_decref(o);
	o = run_job(port, "/api/v1/dlq/jobs", "{\"filter\": {\"handler\": "
		    "\"alpha\"}}", "resubmit");
	cr_assert_eq(num(o, "matched"), ALPHA);
	cr_assert_eq(num(o, "resubmitted"), ALPHA - 2);
	cr_assert_eq(num(o, "already_discarded"), 2);
	cr_assert_eq(num(o, "discarded"), 0);
	json_decref(o);
	cr_assert_eq(it_wait_count(&ctx, "alpha", NULL, 2 * ALPHA - 2, 60000),
		     2 * ALPHA - 2);
	o = entry(port, other);
	as = str(o, "resubmitted_as");
	cr_assert_eq(strlen(as), DRV_ID_LEN, "resubmitted as '%s'", as);
	cr_assert(!discarded(o));
	json_decref(o);
	o = entry(port, a0);
	cr_assert(discarded(o));
	json_decref(o);
	/* and a resubmission by id */
	drv_fmt(body, sizeof(body), "{\"ids\": [\"%s\"]}", a0);
	o = post(port, "/api/v1/dlq/resubmit", body, 200);
	cr_assert_eq(num(o, "resubmitted"), 0);
	cr_assert_eq(num(o, "already_discarded"), 1);
	json_decref(o);

	/* by group: the dry run is the group's count and the real one */
	gid[0] = '\0';
	for (int t = 0; t < 60 && !gid[0]; t++) {
		o = get(port, "/api/v1/dlq/groups?handler=beta");
		e = json_array_get(json_object_get(o, "groups"), 0);
		if (e && num(e, "count") == BETA)
			drv_strlcpy(gid, str(e, "id"), sizeof(gid));
		json_decref(o);
		if (!gid[0])
			sleep(1);
	}
	cr_assert(gid[0], "no group of %d beta dead letters", BETA);
	drv_fmt(body, sizeof(body), "\"group\": \"%s\"", gid);
	cr_assert_eq(discard_count(port, body), BETA);
	drv_fmt(body, sizeof(body), "{\"group\": \"%s\", \"dry_run\": true}",
		gid);
	o = post(port, "/api/v1/dlq/resubmit", body, 200);
	cr_assert_eq(num(o, "resubmitted"), BETA);
	json_decref(o);
	drv_fmt(body, sizeof(body), "{\"group\": \"%s\"}", gid);
	o = run_job(port, "/api/v1/dlq/discard", body, "discard");
	cr_assert_eq(num(o, "matched"), BETA);
	cr_assert_eq(num(o, "discarded"), BETA);
	cr_assert_eq(num(o, "resubmitted"), 0);
	cr_assert_str_eq(str(json_object_get(o, "spec"), "kind"), "discard");
	json_decref(o);
	o = get(port, "/api/v1/dlq/jobs?limit=1");
	cr_assert_str_eq(str(json_array_get(json_object_get(o, "jobs"), 0),
			     "kind"), "discard");
	json_decref(o);
	drv_fmt(path, sizeof(path), "/api/v1/dlq/groups/%s", gid);
	o = get(port, path);
	cr_assert_gt(json_array_size(json_object_get(o, "samples")), 0);
	json_array_foreach(json_object_get(o, "samples"), i, e) {
		cr_assert(discarded(e), "sample %s", str(e, "id"));
		cr_assert(json_is_null(json_object_get(e,
						       "resubmitted_task_id")));
	}
	json_decref(o);
	cr_assert_eq(discarded_of(port, "beta", &all), BETA);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "group", gid, NULL), 0);
	cr_assert(strstr(out, ", discarded)"), "%s", out);
	free(out);
	/* a later discard and a later resubmission take none of them */
	drv_fmt(body, sizeof(body), "\"group\": \"%s\"", gid);
	cr_assert_eq(discard_count(port, body), 0);
	drv_fmt(body, sizeof(body), "{\"group\": \"%s\"}", gid);
	o = run_job(port, "/api/v1/dlq/discard", body, "discard");
	cr_assert_eq(num(o, "discarded"), 0);
	cr_assert_eq(num(o, "already_discarded"), BETA);
	json_decref(o);
	o = run_job(port, "/api/v1/dlq/jobs", body, "resubmit");
	cr_assert_eq(num(o, "resubmitted"), 0);
	cr_assert_eq(num(o, "already_discarded"), BETA);
	json_decref(o);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "beta", NULL), BETA, "beta ran again");

	/* droverctl dlq discard: usage errors exit 2 */
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "discard", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "discard", "--all", "--set",
			    "a=1", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "discard", "nope", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "discard", "--handler",
			    "gamma", NULL), 2);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "discard", "--all", a0, NULL),
		     2);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "discard", "--help", NULL), 0);
	cr_assert(strstr(out, "droverctl dlq discard"), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "discard",
			    "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL), 1);
	/* by id, then the rest of gamma by filter: droverctl's dry run, the
	 * API's dry run and its job agree */
	o = get(port, "/api/v1/dlq?handler=gamma&limit=1");
	drv_strlcpy(g0, str(json_array_get(json_object_get(o, "entries"), 0),
			    "id"), sizeof(g0));
	json_decref(o);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "discard", g0, "--json", NULL),
		     0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(num(o, "discarded"), 1);
	json_decref(o);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "discard", "--all", "--handler",
			    "gamma", "--dry-run", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(num(o, "count"), GAMMA - 1);
	cr_assert_eq(num(o, "already_discarded"), 1);
	json_decref(o);
	free(out);
	cr_assert_eq(discard_count(port, "\"filter\": {\"handler\": "
				   "\"gamma\"}"), GAMMA - 1);
	o = run_job(port, "/api/v1/dlq/discard", "{\"filter\": {\"handler\": "
		    "\"gamma\"}}", "discard");
	cr_assert_eq(num(o, "discarded"), GAMMA - 1);
	cr_assert_eq(num(o, "already_discarded"), 1);
	json_decref(o);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "discard", "--all", "--handler",
			    "gamma", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(num(o, "discarded"), 0);
	cr_assert_eq(num(o, "already_discarded"), GAMMA);
	json_decref(o);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "job", "list", NULL), 0);
	cr_assert(strstr(out, "discard "), "%s", out);
	free(out);

	/* stats: resubmitted and discarded apart */
	cr_assert_eq(stat(port, "discarded"), 2 + BETA + GAMMA);
	cr_assert_eq(stat(port, "resubmitted"), ALPHA - 2);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "stats", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(num(o, "discarded"), 2 + BETA + GAMMA);
	cr_assert_eq(num(o, "resubmitted"), ALPHA - 2);
	json_decref(o);
	free(out);

	/* force resubmits a discarded entry: it shows resubmitted then */
	drv_fmt(body, sizeof(body), "{\"ids\": [\"%s\"], \"force\": true}",
		a0);
	o = post(port, "/api/v1/dlq/resubmit", body, 200);
	cr_assert_eq(num(o, "resubmitted"), 1);
	json_decref(o);
	o = entry(port, a0);
	cr_assert(!discarded(o));
	cr_assert_eq(strlen(str(o, "resubmitted_as")), DRV_ID_LEN);
	json_decref(o);
	cr_assert_eq(stat(port, "discarded"), 1 + BETA + GAMMA);
	cr_assert_eq(stat(port, "resubmitted"), ALPHA - 1);

	/* on the audit trail, by the token's name */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--actor", "ops",
			    "--action", "dlq.discard", "--json", NULL), 0);
	cr_assert_geq(lines_with(out, "\"dlq.discard\""), 4, "%s", out);
	free(out);

	it_stop(worker, SIGTERM, 10000);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}
