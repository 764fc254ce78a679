/*
 * 0107 — operator actions over the HTTP API against the real Kafka, Redis,
 * a coordinator serving the API and a worker:
 *  - GET /api/v1/audit lists what tokens did, newest first, filtered by
 *    actor, action (or a prefix), target and time, in pages that together
 *    hold every record exactly once, as `droverctl audit list` does;
 *  - GET /api/v1/tasks/{id}/retries says a dead task's attempts;
 *  - POST /api/v1/tasks/{id}/retry runs a dead task again from its dead
 *    letter with a patched payload (a dry run sends nothing), is audited,
 *    404s for a task not in the DLQ and 400s for bad fields;
 *  - schedules are added, updated (a null member taken out, back to its
 *    default; not cron) and deleted (run-time ones only; a
 *    config file's is 409), audited, and seen by droverctl.
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

#define OPS    "ops-token-0107"
#define VIEWER "viewer-token-0107"

/* picky succeeds only when the payload has "ok":true; exit 3 is a
 * permanent failure */
static const char handlers[] =
	"  picky:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"echo \"ok $DROVER_TASK_ID\" >> \"$OUT\";; *) exit 3;; esac'\n";

/* \p method \p path as \p token; the status, the JSON reply in *out. */
#define api it_http_json

/* The status of \p method \p path, the reply dropped. */
static int status_of(int port, const char *method, const char *path,
		     const char *token, const char *body)
{
	json_t *o;
	int st = api(port, method, path, token, body, &o);

	json_decref(o);
	return st;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Every page of GET /audit?QUERY&limit=LIMIT: asserts newest first and no
 * record twice; returns the count. */
static int audit_pages(int port, const char *query, int limit)
{
	char path[512], cursor[128] = "", seen[64][DRV_ID_LEN + 1];
	long long last_ms = -1;
	int n = 0, pages = 0;
	json_t *o, *r;
	size_t i;

	for (;;) {
		drv_fmt(path, sizeof(path), "/api/v1/audit?%s%slimit=%d%s%s",
			query, *query ? "&" : "", limit,
			*cursor ? "&cursor=" : "", cursor);
		cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200,
			     "%s", path);
		cr_assert_leq(json_array_size(json_object_get(o, "records")),
			      (size_t)limit);
		json_array_foreach(json_object_get(o, "records"), i, r) {
			long long t = json_integer_value(json_object_get(r,
								"time_ms"));

			cr_assert(last_ms < 0 || t <= last_ms, "not newest "
				  "first: %lld after %lld", t, last_ms);
			last_ms = t;
			for (int j = 0; j < n; j++)
				cr_assert_str_neq(seen[j], str(r, "id"));
			cr_assert_lt(n, 64);
			drv_strlcpy(seen[n++], str(r, "id"), DRV_ID_LEN + 1);
		}
		pages++;
		if (!json_object_get(o, "next_cursor")) {
			json_decref(o);
			break;
		}
		cr_assert_gt(json_array_size(json_object_get(o, "records")),
			     0, "an empty page with a cursor");
		drv_strlcpy(cursor, str(o, "next_cursor"), sizeof(cursor));
		json_decref(o);
		cr_assert_lt(pages, 40, "the pages never end");
	}
	return n;
}

static const char *const bad_audit[] = {
	"/api/v1/audit?limit=0", "/api/v1/audit?limit=501",
	"/api/v1/audit?cursor=garbage", "/api/v1/audit?colour=red",
	"/api/v1/audit?since=yesterday", "/api/v1/audit?actor=",
	"/api/v1/audit?cursor=",
};

Test(api_ops, audit_list, .timeout = 120)
{
	static const char *const ids[] = {
		"01ARZ3NDEKTSV4RRFFQ69G5FA1", "01ARZ3NDEKTSV4RRFFQ69G5FA2",
		"01ARZ3NDEKTSV4RRFFQ69G5FA3",
	};
	it_ctx_t ctx;
	pid_t coord;
	char path[256], *out = NULL;
	int port, n;
	json_t *o;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0107", OPS, VIEWER, "",
			    &coord);
	/* three pauses and one resume by the operator token */
	for (size_t i = 0; i < 3; i++) {
		drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/pause", ids[i]);
		cr_assert_eq(status_of(port, "POST", path, OPS,
				       "{\"reason\": \"0107\"}"), 200);
	}
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/resume", ids[0]);
	cr_assert_eq(status_of(port, "POST", path, OPS, NULL), 200);

	/* everything, newest first: the resume leads */
	cr_assert_eq(api(port, "GET", "/api/v1/audit", VIEWER, NULL, &o), 200);
	cr_assert_eq(json_integer_value(json_object_get(o, "matched")), 4);
	cr_assert_eq(json_array_size(json_object_get(o, "records")), 4);
	cr_assert_null(json_object_get(o, "next_cursor"), "one page");
	cr_assert_str_eq(str(json_array_get(json_object_get(o, "records"), 0),
			     "action"), "task.resume");
	cr_assert_str_eq(str(json_array_get(json_object_get(o, "records"), 0),
			     "actor"), "ops");
	cr_assert_str_eq(str(json_array_get(json_object_get(o, "records"), 0),
			     "target"), ids[0]);
	json_decref(o);

	/* pages of one hold each record once; filters narrow */
	cr_assert_eq(audit_pages(port, "", 1), 4);
	cr_assert_eq(audit_pages(port, "", 3), 4);
	cr_assert_eq(audit_pages(port, "actor=ops", 2), 4);
	cr_assert_eq(audit_pages(port, "actor=nobody", 2), 0);
	cr_assert_eq(audit_pages(port, "action=task.pause", 1), 3);
	cr_assert_eq(audit_pages(port, "action=task.", 50), 4);
	cr_assert_eq(audit_pages(port, "action=task", 50), 0);
	drv_fmt(path, sizeof(path), "target=%s", ids[0]);
	cr_assert_eq(audit_pages(port, path, 1), 2);
	cr_assert_eq(audit_pages(port, "since=1h", 2), 4);
	cr_assert_eq(audit_pages(port, "until=1h", 2), 0);

	/* droverctl reads the same records through the same core call */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--target", ids[0],
			    "--json", NULL), 0);
	n = 0;
	for (const char *p = out; (p = strstr(p, "\"action\"")); p++)
		n++;
	cr_assert_eq(n, 2, "%s", out);
	cr_assert(strstr(out, "task.resume") && strstr(out, "task.pause"),
		  "%s", out);
	free(out);

	/* bad queries are 400; a token is needed */
	for (size_t i = 0; i < sizeof(bad_audit) / sizeof(bad_audit[0]); i++)
		cr_assert_eq(status_of(port, "GET", bad_audit[i], VIEWER,
				       NULL), 400, "%s", bad_audit[i]);
	cr_assert_eq(status_of(port, "GET", "/api/v1/audit", NULL, NULL), 401);

	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}

/* The task id of picky's newest dead letter, once there is one. */
static void dead_task(int port, char *task_id)
{
	json_t *o, *e;

	for (int i = 0; i < 120; i++) {
		cr_assert_eq(api(port, "GET", "/api/v1/dlq?handler=picky",
				 VIEWER, NULL, &o), 200);
		e = json_array_get(json_object_get(o, "entries"), 0);
		if (e) {
			drv_strlcpy(task_id, str(json_object_get(e, "task"),
						 "id"), DRV_ID_LEN + 1);
			json_decref(o);
			return;
		}
		json_decref(o);
		sleep(1);
	}
	cr_assert_fail("nothing was dead-lettered");
}

Test(api_ops, task_retry, .timeout = 180)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	char task_id[DRV_ID_LEN + 1], path[256], new_id[DRV_ID_LEN + 1];
	int port;
	json_t *o, *task;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0107", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "picky", 1);
	dead_task(port, task_id);

	/* its retry status: dead after one failed attempt */
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/retries", task_id);
	for (int i = 0; i < 50; i++) {   /* the record may trail the DLQ */
		cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200);
		if (!strcmp(str(o, "state"), "dead"))
			break;
		json_decref(o);
		o = NULL;
		usleep(200 * 1000);
	}
	cr_assert_not_null(o, "the task never showed as dead");
	cr_assert_eq(json_integer_value(json_object_get(o, "attempts")), 1);
	cr_assert_eq(json_integer_value(json_object_get(o,
		     "failed_attempts")), 1);
	cr_assert(json_is_false(json_object_get(o, "retrying")));
	cr_assert_null(json_object_get(o, "next_due_ms"));
	json_decref(o);
	cr_assert_eq(status_of(port, "GET", "/api/v1/tasks/"
			       "01ARZ3NDEKTSV4RRFFQ69G5FAV/retries", VIEWER,
			       NULL), 404);
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/retry", task_id);

	/* bad input: 400 with a pointer; a viewer may not; unknown: 404 */
	cr_assert_eq(api(port, "POST", path, OPS, "{\"priority\": 11}", &o),
		     400);
	cr_assert_str_eq(str(o, "pointer"), "/priority");
	json_decref(o);
	cr_assert_eq(api(port, "POST", path, OPS, "{\"policy\": \"nope\"}",
			 &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/policy");
	json_decref(o);
	cr_assert_eq(api(port, "POST", path, OPS, "{\"set\": [\"no-equals\"]}",
			 &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/set/0");
	json_decref(o);
	cr_assert_eq(status_of(port, "POST", path, OPS, "{\"colour\": 1}"),
		     400);
	cr_assert_eq(status_of(port, "POST", path, OPS, "[]"), 400);
	cr_assert_eq(status_of(port, "POST", path, VIEWER, NULL), 403);
	cr_assert_eq(status_of(port, "POST", "/api/v1/tasks/"
			       "01ARZ3NDEKTSV4RRFFQ69G5FAV/retry", OPS, NULL),
		     404);
	cr_assert_eq(status_of(port, "POST", "/api/v1/tasks/nope/retry", OPS,
			       NULL), 404);

	/* a dry run: the patched task that would go, nothing sent */
	cr_assert_eq(api(port, "POST", path, OPS, "{\"set\": [\"ok=true\"], "
			 "\"priority\": 9, \"max_attempts\": 2, \"dry_run\": "
			 "true}", &o), 200);
	cr_assert(json_is_true(json_object_get(o, "dry_run")));
	cr_assert_str_eq(str(o, "retry_of"), task_id);
	cr_assert_str_neq(str(o, "id"), task_id);
	task = json_object_get(o, "task");
	cr_assert_not_null(task);
	cr_assert_eq(json_integer_value(json_object_get(task, "priority")), 9);
	cr_assert(json_is_true(json_object_get(json_object_get(task,
		  "payload"), "ok")), "the patch is applied");
	cr_assert(strstr(str(o, "topic"), "tasks.high"), "%s", str(o,
		  "topic"));
	json_decref(o);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "ok", NULL), 0, "a dry run ran");
	cr_assert_eq(audit_pages(port, "action=task.retry", 50), 0,
		     "a dry run is not audited");

	/* for real: a new task runs with the patch */
	cr_assert_eq(api(port, "POST", path, OPS, "{\"set\": [{\"ok\": "
			 "true}]}", &o), 200);
	cr_assert(json_is_false(json_object_get(o, "dry_run")));
	cr_assert_str_eq(str(o, "retry_of"), task_id);
	cr_assert(drv_id_valid(str(o, "id")));
	cr_assert_str_neq(str(o, "id"), task_id);
	drv_strlcpy(new_id, str(o, "id"), sizeof(new_id));
	json_decref(o);
	cr_assert_eq(it_wait_count(&ctx, "ok", new_id, 1, 60000), 1);

	/* audited under the token's name: started, then done with the id */
	cr_assert_eq(audit_pages(port, "action=task.retry&actor=ops", 50), 2);
	drv_fmt(path, sizeof(path), "/api/v1/audit?action=task.retry&"
		"target=%s&limit=1", task_id);
	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200);
	cr_assert_eq(json_integer_value(json_object_get(o, "matched")), 2);
	task = json_array_get(json_object_get(o, "records"), 0);
	cr_assert_eq(json_integer_value(json_object_get(task, "count")), 1);
	cr_assert_str_eq(str(json_object_get(task, "details"), "task_id"),
			 new_id);
	json_decref(o);

	it_stop(worker, SIGTERM, 10000);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}

/* `droverctl schedule show ID --json`: the definition's \p key, or NULL
 * when droverctl knows no such schedule. New reference. */
static json_t *ctl_def(it_ctx_t *ctx, const char *id, const char *key)
{
	char *out = NULL;
	json_t *j, *v = NULL;

	if (it_ctl(ctx, &out, "schedule", "show", id, "--json", NULL) == 0) {
		j = json_loads(out, 0, NULL);
		cr_assert_not_null(j, "not JSON: %s", out);
		v = json_incref(json_object_get(json_object_get(j,
						"definition"), key));
		json_decref(j);
	}
	free(out);
	return v;
}

Test(api_ops, schedule_add_update_delete, .timeout = 120)
{
	it_ctx_t ctx;
	pid_t coord;
	int port;
	json_t *o, *v;
	char *out = NULL;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	/* after the api: keys, a top-level section: a file schedule */
	port = it_api_start(&ctx, "IT_API_TOKEN_0107", OPS, VIEWER,
			    "schedules:\n  filed:\n    cron: \"@daily\"\n"
			    "    handler: picky\n", &coord);

	/* add: 201 with the row; droverctl sees it */
	cr_assert_eq(api(port, "POST", "/api/v1/schedules", OPS,
			 "{\"id\": \"backup\", \"cron\": \"0 3 * * *\", "
			 "\"timezone\": \"Europe/Paris\", \"handler\": \"picky\", "
			 "\"payload\": {\"full\": true}, \"labels\": "
			 "{\"team\": \"ops\"}}", &o), 201);
	cr_assert_str_eq(str(o, "id"), "backup");
	cr_assert_str_eq(str(o, "source"), "runtime");
	cr_assert_str_eq(str(json_object_get(o, "definition"), "cron"),
			 "0 3 * * *");
	json_decref(o);
	v = ctl_def(&ctx, "backup", "timezone");
	cr_assert_str_eq(json_string_value(v), "Europe/Paris");
	json_decref(v);
	cr_assert_eq(status_of(port, "POST", "/api/v1/schedules", OPS,
			       "{\"id\": \"backup\", \"cron\": \"@daily\", "
			       "\"handler\": \"picky\"}"), 409, "twice");

	/* bad definitions: 400 naming the member; a viewer may not */
	cr_assert_eq(api(port, "POST", "/api/v1/schedules", OPS,
			 "{\"id\": \"b2\", \"cron\": \"61 * * * *\", "
			 "\"handler\": \"picky\"}", &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/cron");
	json_decref(o);
	cr_assert_eq(api(port, "POST", "/api/v1/schedules", OPS,
			 "{\"id\": \"b2\", \"cron\": \"@daily\", "
			 "\"handler\": \"nope\"}", &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/handler");
	json_decref(o);
	cr_assert_eq(status_of(port, "POST", "/api/v1/schedules", OPS,
			       "{\"id\": \"b2\", \"cron\": \"@daily\", "
			       "\"handler\": \"picky\", \"timezone\": "
			       "\"Mars/Olympus\"}"), 400);
	cr_assert_eq(status_of(port, "POST", "/api/v1/schedules", OPS,
			       "{\"id\": \"B 2\", \"cron\": \"@daily\", "
			       "\"handler\": \"picky\"}"), 400);
	cr_assert_eq(status_of(port, "POST", "/api/v1/schedules", OPS,
			       "{\"cron\": \"@daily\", \"handler\": "
			       "\"picky\"}"), 400, "no id");
	cr_assert_eq(status_of(port, "POST", "/api/v1/schedules", VIEWER,
			       "{\"id\": \"b2\", \"cron\": \"@daily\", "
			       "\"handler\": \"picky\"}"), 403);
	v = ctl_def(&ctx, "b2", "cron");
	cr_assert_null(v, "a refused schedule was stored");

	/* update: given members change, labels merge, the rest stays */
	cr_assert_eq(api(port, "PATCH", "/api/v1/schedules/backup", OPS,
			 "{\"cron\": \"0 4 * * *\", \"labels\": {\"tier\": "
			 "\"gold\"}}", &o), 200);
	cr_assert_str_eq(str(json_object_get(o, "definition"), "cron"),
			 "0 4 * * *");
	json_decref(o);
	v = ctl_def(&ctx, "backup", "labels");
	cr_assert_str_eq(str(v, "team"), "ops");
	cr_assert_str_eq(str(v, "tier"), "gold");
	json_decref(v);
	v = ctl_def(&ctx, "backup", "timezone");
	cr_assert_str_eq(json_string_value(v), "Europe/Paris");
	json_decref(v);
	cr_assert_eq(status_of(port, "PATCH", "/api/v1/schedules/backup", OPS,
			       "{\"priority\": 0}"), 400);
	/* null takes a member out (back to its default); not cron */
	cr_assert_eq(api(port, "PATCH", "/api/v1/schedules/backup", OPS,
			 "{\"timezone\": null, \"payload\": null, "
			 "\"max_attempts\": 3, \"jitter\": 2000}", &o), 200);
	v = json_object_get(o, "definition");
	cr_assert_str_eq(str(v, "timezone"), "UTC");
	cr_assert_null(json_object_get(v, "payload"));
	cr_assert_eq(json_integer_value(json_object_get(v, "max_attempts")), 3);
	cr_assert_eq(json_integer_value(json_object_get(v, "jitter")), 2000);
	cr_assert_str_eq(str(v, "cron"), "0 4 * * *");
	json_decref(o);
	cr_assert_eq(api(port, "PATCH", "/api/v1/schedules/backup", OPS,
			 "{\"jitter\": null, \"catchup\": null}", &o), 200);
	v = json_object_get(o, "definition");
	cr_assert_eq(json_integer_value(json_object_get(v, "jitter")), 0);
	cr_assert_str_eq(str(v, "catchup"), "once");
	cr_assert_eq(json_integer_value(json_object_get(v, "max_attempts")), 3);
	json_decref(o);
	cr_assert_eq(api(port, "PATCH", "/api/v1/schedules/backup", OPS,
			 "{\"cron\": null}", &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/cron");
	json_decref(o);
	cr_assert_eq(status_of(port, "PATCH", "/api/v1/schedules/nope", OPS,
			       "{\"cron\": \"@daily\"}"), 404);

	/* a config file's schedule is changed in the file: 409 */
	cr_assert_eq(api(port, "PATCH", "/api/v1/schedules/filed", OPS,
			 "{\"cron\": \"@daily\"}", &o), 409);
	cr_assert(strstr(str(o, "detail"), "defined in"), "%s",
		  str(o, "detail"));
	json_decref(o);
	cr_assert_eq(status_of(port, "DELETE", "/api/v1/schedules/filed", OPS,
			       NULL), 409);

	/* delete: gone for droverctl too; again is 404 */
	cr_assert_eq(status_of(port, "DELETE", "/api/v1/schedules/backup",
			       VIEWER, NULL), 403);
	cr_assert_eq(api(port, "DELETE", "/api/v1/schedules/backup", OPS,
			 NULL, &o), 200);
	cr_assert(json_is_true(json_object_get(o, "deleted")));
	json_decref(o);
	cr_assert_null(ctl_def(&ctx, "backup", "cron"));
	cr_assert_eq(status_of(port, "DELETE", "/api/v1/schedules/backup", OPS,
			       NULL), 404);

	/* each change audited under the token's name */
	cr_assert_eq(audit_pages(port, "action=schedule.&actor=ops&"
				 "target=backup", 50), 5);
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--action",
			    "schedule.", "--json", NULL), 0);
	cr_assert(strstr(out, "schedule.add") && strstr(out,
		  "schedule.update") && strstr(out, "schedule.delete"), "%s",
		  out);
	free(out);

	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}
