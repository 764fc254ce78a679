/*
 * 0124 — a task's lineage against the real Kafka, Redis, a coordinator
 * serving the API and a worker: a task dies, its dead letter is resubmitted
 * and dies again, that one is resubmitted with a patch and succeeds.
 * GET /tasks/{id}/lineage of any of the three answers the same chain,
 * oldest first: each task with its state and origin, each dead letter with
 * the task its resubmission sent; `droverctl task lineage --json` says the
 * same; an unknown task is 404.
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

#define OPS    "ops-token-0124"
#define VIEWER "viewer-token-0124"

/* succeeds only when the payload has "ok":true; exit 3 is permanent */
static const char handlers[] =
	"  picky:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"exit 0;; *) exit 3;; esac'\n";

/* GET path as the viewer until it answers 200 (at most 30 s). */
static json_t *get_200(int port, const char *path)
{
	json_t *o = NULL;

	for (int i = 0; i < 300; i++) {
		if (it_http_json(port, "GET", path, VIEWER, NULL, &o) == 200)
			return o;
		json_decref(o);
		o = NULL;
		usleep(100 * 1000);
	}
	cr_assert_fail("%s never answered 200", path);
	return NULL;
}

/* Resubmit task \p task_id's dead letter, with \p set (JSON array text). */
static void resubmit(int port, const char *task_id, const char *set)
{
	char path[128], body[256];
	json_t *o = NULL;

	drv_fmt(path, sizeof(path), "/api/v1/dlq/%s", task_id);
	json_decref(get_200(port, path));
	drv_fmt(body, sizeof(body), "{\"ids\": [\"%s\"], \"set\": %s}",
		task_id, set);
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/dlq/resubmit", OPS,
				  body, &o), 200);
	cr_assert_eq(it_json_int(o, "resubmitted"), 1);
	json_decref(o);
}

/* The lineage of \p id once it holds \p n tasks. */
static json_t *lineage(int port, const char *id, size_t n)
{
	char path[128];
	json_t *o = NULL;

	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/lineage", id);
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o),
			     200, "%s", path);
		if (json_array_size(json_object_get(o, "tasks")) == n)
			return o;
		json_decref(o);
		usleep(100 * 1000);
	}
	cr_assert_fail("%s: never %zu tasks", path, n);
	return NULL;
}

static const char *str_at(json_t *tasks, size_t i, const char *a,
			  const char *b)
{
	json_t *v = json_object_get(json_array_get(tasks, i), a);

	return json_string_value(b ? json_object_get(v, b) : v);
}

Test(lineage, three_tasks_two_resubmissions, .timeout = 180)
{
	char t0[DRV_ID_LEN + 1], t1[DRV_ID_LEN + 1], t2[DRV_ID_LEN + 1],
	     path[128], *out = NULL;
	json_t *o, *tasks, *dl;
	pid_t coord, worker;
	it_ctx_t ctx;
	int port;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0124", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);

	cr_assert_eq(it_http_json(port, "POST", "/api/v1/tasks", OPS,
				  "{\"handler\": \"picky\", \"payload\": "
				  "{\"n\": 1}}", &o), 201);
	drv_strlcpy(t0, it_json_str(o, "id"), sizeof(t0));
	json_decref(o);

	resubmit(port, t0, "[]");                 /* dies again */
	o = lineage(port, t0, 2);
	drv_strlcpy(t1, str_at(json_object_get(o, "tasks"), 1, "id", NULL),
		    sizeof(t1));
	json_decref(o);
	resubmit(port, t1, "[\"ok=true\"]");      /* succeeds */
	o = lineage(port, t1, 3);
	tasks = json_object_get(o, "tasks");
	drv_strlcpy(t2, str_at(tasks, 2, "id", NULL), sizeof(t2));
	json_decref(o);

	/* the last one done, the whole chain from each of the three */
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s", t2);
	for (int i = 0; i < 300; i++) {
		o = get_200(port, path);
		if (!strcmp(it_json_str(o, "state"), "succeeded"))
			break;
		json_decref(o);
		o = NULL;
		usleep(100 * 1000);
	}
	cr_assert_not_null(o, "%s never succeeded", t2);
	json_decref(o);
	for (int k = 0; k < 3; k++) {
		o = lineage(port, k == 0 ? t0 : k == 1 ? t1 : t2, 3);
		tasks = json_object_get(o, "tasks");
		cr_assert_str_eq(str_at(tasks, 0, "id", NULL), t0);
		cr_assert_str_eq(str_at(tasks, 1, "id", NULL), t1);
		cr_assert_str_eq(str_at(tasks, 2, "id", NULL), t2);
		cr_assert_str_eq(str_at(tasks, 0, "state", "state"), "dead");
		cr_assert_str_eq(str_at(tasks, 1, "state", "state"), "dead");
		cr_assert_str_eq(str_at(tasks, 2, "state", "state"),
				 "succeeded");
		/* t0's dead letter sent t1; t1's sent t2, which was sent from
		 * that dead letter */
		dl = json_array_get(json_object_get(json_array_get(tasks, 0),
						    "dead_letters"), 0);
		cr_assert_str_eq(it_json_str(dl, "resubmitted_as"), t1);
		cr_assert_str_eq(str_at(tasks, 1, "origin", "dead_letter_id"),
				 it_json_str(dl, "id"));
		dl = json_array_get(json_object_get(json_array_get(tasks, 1),
						    "dead_letters"), 0);
		cr_assert_str_eq(it_json_str(dl, "resubmitted_as"), t2);
		cr_assert_str_eq(str_at(tasks, 2, "origin", "dead_letter_id"),
				 it_json_str(dl, "id"));
		cr_assert_eq(json_array_size(json_object_get(
			json_array_get(tasks, 2), "dead_letters")), 0);
		cr_assert(json_is_false(json_object_get(o, "truncated")));
		json_decref(o);
	}

	/* droverctl says the same */
	cr_assert_eq(it_ctl(&ctx, &out, "task", "lineage", t1, "--json",
			    NULL), 0, "%s", out);
	cr_assert(strstr(out, t0) && strstr(out, t2), "%s", out);
	free(out);

	/* unknown: 404 */
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/lineage",
		"01HZY3K4M5N6P7Q8R9S0T1V2W3");
	cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o), 404);
	json_decref(o);

	it_stop(worker, SIGTERM, 15000);
	/* a clean exit: nothing leaked (ASan builds report leaks at exit) */
	cr_assert_eq(it_stop(coord, SIGTERM, 10000), 0,
		     "the coordinator did not exit cleanly (see its log in %s)",
		     ctx.dir);
	it_teardown(&ctx);
}
