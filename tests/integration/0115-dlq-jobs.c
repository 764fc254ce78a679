/*
 * 0115 — DLQ resubmission as a durable job, against the real Kafka and
 * Redis, a worker and coordinators serving the API and running jobs: 200
 * dead letters of three handlers; a dry run counts each kind exactly and
 * makes no job; a job over one kind (slowed by its rate) is paused mid-way
 * and its counts stop moving, resumed, and ends with every entry
 * resubmitted exactly once (the handler's runs counted); those tasks die
 * again and the job does not resubmit the new dead letters; a job is
 * cancelled and stays so; a coordinator running a job is SIGKILLed and a
 * second one finishes it with nothing sent twice. Listing, paging,
 * failures, 404 / 409 / 403, the audit trail, and `droverctl dlq job`.
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

#define OPS    "ops-token-0115"
#define VIEWER "viewer-token-0115"
#define ALPHA  100
#define BETA   40
#define GAMMA  60

/* every handler records its run, then fails for good; gamma succeeds
 * when its payload says "ok":true */
static const char handlers[] =
	"  alpha:\n"
	"    shell: true\n"
	"    command: 'echo \"alpha $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n"
	"  beta:\n"
	"    shell: true\n"
	"    command: 'echo \"beta $DROVER_TASK_ID\" >> \"$OUT\"; exit 3'\n"
	"  gamma:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"echo \"gok $DROVER_TASK_ID\" >> \"$OUT\";; *) "
	"echo \"gfail $DROVER_TASK_ID\" >> \"$OUT\"; exit 3;; esac'\n";

#define api it_http_json

#define num it_json_int
#define str it_json_str

/* The dry run's count of \p spec_fields ("\"filter\": {...}"). */
static long long dry_count(int port, const char *spec_fields)
{
	char body[512];
	json_t *o = NULL;
	long long n;

	drv_fmt(body, sizeof(body), "{%s, \"dry_run\": true}", spec_fields);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/jobs", OPS, body, &o),
		     200, "%s", body);
	cr_assert(json_is_true(json_object_get(o, "dry_run")));
	n = num(o, "count");
	json_decref(o);
	return n;
}

/* Make a job of \p spec; its id into \p id. */
static void start_job(int port, const char *spec, char *id)
{
	json_t *o = NULL;

	cr_assert_eq(api(port, "POST", "/api/v1/dlq/jobs", OPS, spec, &o),
		     202, "%s", spec);
	cr_assert_str_eq(str(o, "state"), "pending");
	cr_assert_eq(strlen(str(o, "id")), DRV_ID_LEN);
	drv_strlcpy(id, str(o, "id"), DRV_ID_LEN + 1);
	json_decref(o);
}

static json_t *job(int port, const char *id)
{
	char path[128];
	json_t *o = NULL;

	drv_fmt(path, sizeof(path), "/api/v1/dlq/jobs/%s", id);
	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200, "%s",
		     path);
	return o;
}

static int control(int port, const char *id, const char *verb)
{
	char path[128];
	json_t *o = NULL;
	int st;

	drv_fmt(path, sizeof(path), "/api/v1/dlq/jobs/%s/%s", id, verb);
	st = api(port, "POST", path, OPS, NULL, &o);
	json_decref(o);
	return st;
}

/* Wait until job \p id has resubmitted at least \p n (or ended). */
static long long wait_sent(int port, const char *id, long long n,
			   int timeout_s)
{
	long long sent = -1;

	for (int t = 0; t < timeout_s * 5; t++) {
		json_t *o = job(port, id);
		bool ended = !strcmp(str(o, "state"), "done") ||
			     !strcmp(str(o, "state"), "failed");

		sent = num(o, "resubmitted");
		json_decref(o);
		if (sent >= n || ended)
			break;
		usleep(200 * 1000);
	}
	return sent;
}

/* Wait until job \p id is in \p state; the job then. */
static json_t *wait_state(int port, const char *id, const char *state,
			  int timeout_s)
{
	json_t *o = NULL;

	for (int t = 0; t < timeout_s * 5; t++) {
		o = job(port, id);
		if (!strcmp(str(o, "state"), state))
			return o;
		json_decref(o);
		usleep(200 * 1000);
	}
	o = job(port, id);
	cr_assert_fail("job %s is %s, not %s (%s)", id, str(o, "state"),
		       state, str(o, "error"));
	return o;
}

/* Job \p id is in \p state 2 s after it was stopped, and its count of
 * resubmitted entries does not move for 3 s more: that count. */
static long long stopped(int port, const char *id, const char *state)
{
	long long n;
	json_t *o;

	sleep(2);
	o = job(port, id);
	cr_assert_str_eq(str(o, "state"), state);
	n = num(o, "resubmitted");
	json_decref(o);
	sleep(3);
	o = job(port, id);
	cr_assert_eq(num(o, "resubmitted"), n, "a %s job went on: %lld then "
		     "%lld", state, n, num(o, "resubmitted"));
	cr_assert_gt(json_real_value(json_object_get(o, "progress")), 0);
	json_decref(o);
	return n;
}

/* The API of a coordinator just started on the same config: wait for it. */
static void wait_api(int port)
{
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 20000),
		  "the API did not come back");
}

Test(dlq_jobs, dry_run_pause_resume_cancel_failover, .timeout = 420)
{
	char alpha[DRV_ID_LEN + 1], beta[DRV_ID_LEN + 1];
	char gamma[DRV_ID_LEN + 1], path[256], *out;
	long long a, b, before;
	pid_t coord, worker, coord2;
	it_ctx_t ctx;
	json_t *o;
	int port;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0115", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "alpha", ALPHA);
	it_publish_many(&ctx, "beta", BETA);
	it_publish_many(&ctx, "gamma", GAMMA);
	for (int t = 0; t < 120 && dry_count(port, "\"filter\": {}") <
	     ALPHA + BETA + GAMMA; t++)
		sleep(1);

	/* the dry run is exact, per kind, and makes no job */
	cr_assert_eq(dry_count(port, "\"filter\": {}"), ALPHA + BETA + GAMMA);
	cr_assert_eq(dry_count(port, "\"filter\": {\"handler\": \"alpha\"}"),
		     ALPHA);
	cr_assert_eq(dry_count(port, "\"filter\": {\"handler\": \"beta\"}"),
		     BETA);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/jobs", VIEWER, NULL, &o),
		     200);
	cr_assert_eq(json_array_size(json_object_get(o, "jobs")), 0);
	json_decref(o);
	/* bad bodies, roles */
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/jobs", OPS,
			 "{\"filter\": {\"reason\": \"nope\"}}", &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/filter/reason");
	json_decref(o);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/jobs", OPS,
			 "{\"set\": []}", &o), 400);
	json_decref(o);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/jobs", VIEWER,
			 "{\"filter\": {}}", &o), 403);
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/jobs/"
			 "01ARZ3NDEKTSV4RRFFQ69G5FAV", VIEWER, NULL, &o), 404);
	json_decref(o);
	cr_assert_eq(control(port, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "pause"),
		     404);

	/* alpha, slowly: paused mid-way, the counts stop moving */
	start_job(port, "{\"filter\": {\"handler\": \"alpha\"}, \"rate\": 20}",
		  alpha);
	cr_assert_geq(wait_sent(port, alpha, 10, 60), 10);
	cr_assert_eq(control(port, alpha, "pause"), 200);
	cr_assert_eq(control(port, alpha, "pause"), 409);
	b = stopped(port, alpha, "paused");
	cr_assert_lt(b, ALPHA, "too fast to pause");
	cr_assert_eq(it_wait_count(&ctx, "alpha", NULL, ALPHA + b, 30000),
		     ALPHA + b);

	/* resumed: done, each entry once */
	cr_assert_eq(control(port, alpha, "resume"), 200);
	cr_assert_eq(control(port, alpha, "resume"), 409);
	o = wait_state(port, alpha, "done", 90);
	cr_assert_eq(num(o, "matched"), ALPHA);
	cr_assert_eq(num(o, "resubmitted"), ALPHA);
	cr_assert_eq(num(o, "already_resubmitted"), 0);
	cr_assert_eq(num(o, "failed"), 0);
	cr_assert(json_real_value(json_object_get(o, "progress")) == 1.0);
	cr_assert_gt(num(o, "ended_ms"), 0);
	json_decref(o);
	cr_assert_eq(control(port, alpha, "cancel"), 409);
	cr_assert_eq(it_wait_count(&ctx, "alpha", NULL, 2 * ALPHA, 60000),
		     2 * ALPHA);
	/* they died again: new dead letters the job did not resubmit */
	for (int t = 0; t < 60 && dry_count(port, "\"filter\": {\"handler\": "
					    "\"alpha\"}") < ALPHA; t++)
		sleep(1);
	cr_assert_eq(dry_count(port, "\"filter\": {\"handler\": \"alpha\"}"),
		     ALPHA);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "alpha", NULL), 2 * ALPHA);
	drv_fmt(path, sizeof(path), "/api/v1/dlq/jobs/%s/failures", alpha);
	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200);
	cr_assert_eq(num(o, "failures_total"), 0);
	cr_assert_eq(json_array_size(json_object_get(o, "failures")), 0);
	json_decref(o);

	/* beta: cancelled for good */
	start_job(port, "{\"filter\": {\"handler\": \"beta\"}, \"rate\": 4}",
		  beta);
	cr_assert_geq(wait_sent(port, beta, 2, 60), 2);
	cr_assert_eq(control(port, beta, "cancel"), 200);
	cr_assert_eq(control(port, beta, "resume"), 409);
	cr_assert_eq(control(port, beta, "cancel"), 409);
	a = stopped(port, beta, "cancelled");
	cr_assert_lt(a, BETA);

	/* the list: newest first, a page at a time */
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/jobs?limit=1", VIEWER,
			 NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "jobs")), 1);
	cr_assert_str_eq(str(json_array_get(json_object_get(o, "jobs"), 0),
			     "id"), beta);
	drv_fmt(path, sizeof(path), "/api/v1/dlq/jobs?limit=1&cursor=%s",
		str(o, "next_cursor"));
	json_decref(o);
	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200);
	cr_assert_str_eq(str(json_array_get(json_object_get(o, "jobs"), 0),
			     "id"), alpha);
	cr_assert_null(json_object_get(o, "next_cursor"));
	json_decref(o);

	/* droverctl reads the same jobs */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "job", "show", alpha, "--json",
			    NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_str_eq(str(o, "state"), "done");
	cr_assert_eq(num(o, "resubmitted"), ALPHA);
	json_decref(o);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "job", "list", NULL), 0);
	cr_assert(strstr(out, alpha) && strstr(out, beta), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "job", "start", "--handler",
			    "gamma", "--dry-run", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(num(o, "count"), GAMMA);
	json_decref(o);
	free(out);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "job", "pause", alpha, NULL),
		     1);
	/* on the audit trail: made, paused, resumed, cancelled, and the end
	 * of a job (the runner's, on behalf of who made it) */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--action",
			    "dlq.job.", "--json", NULL), 0);
	cr_assert(strstr(out, "\"dlq.job.create\"") &&
		  strstr(out, "\"dlq.job.pause\"") &&
		  strstr(out, "\"dlq.job.resume\"") &&
		  strstr(out, "\"dlq.job.cancel\"") &&
		  strstr(out, "\"dlq.job.done\""), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "job", "show", NULL), 2);

	/* gamma: the coordinator running it is killed; a second one
	 * finishes it, nothing twice */
	start_job(port, "{\"filter\": {\"handler\": \"gamma\"}, \"set\": "
		  "[\"ok=true\"], \"rate\": 10}", gamma);
	cr_assert_geq(wait_sent(port, gamma, 15, 60), 15);
	cr_assert_eq(it_stop(coord, SIGKILL, 5000) >= 0, 1);
	before = it_count(&ctx, "gok", NULL);
	cr_assert_lt(before, GAMMA);
	coord2 = it_coordinator_start(&ctx, "c2");
	wait_api(port);
	o = wait_state(port, gamma, "done", 120);
	cr_assert_str_eq(str(o, "runner"), "c2");
	cr_assert_eq(num(o, "matched"), GAMMA);
	cr_assert_eq(num(o, "resubmitted") + num(o, "already_resubmitted"),
		     GAMMA);
	json_decref(o);
	cr_assert_eq(it_wait_count(&ctx, "gok", NULL, GAMMA, 60000), GAMMA);
	sleep(3);
	cr_assert_eq(it_count(&ctx, "gok", NULL), GAMMA,
		     "a task was sent twice");
	cr_assert_eq(dry_count(port, "\"filter\": {\"handler\": \"gamma\"}"),
		     0);

	it_stop(worker, SIGTERM, 10000);
	it_stop(coord2, SIGTERM, 10000);
	it_teardown(&ctx);
}
