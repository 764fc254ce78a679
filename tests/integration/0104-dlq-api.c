/*
 * 0104 — the DLQ over the HTTP API against the real Kafka, Redis, a
 * coordinator serving the API and a worker: tasks of two handlers fail
 * permanently into the DLQ; GET /dlq lists them with filters and pages
 * that together hold every entry exactly once; GET /dlq/{id} shows one with
 * its failures; GET /dlq/stats counts them; POST /dlq/resubmit as a dry run
 * changes nothing, for real sends the patched tasks (which then run) and
 * marks the entries, and refuses a viewer (403); bad filters are 400.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/redis.h"
#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

#define OPS    "ops-token-0104"
#define VIEWER "viewer-token-0104"
#define PICKY  4
#define GRUMPY 3

/* picky succeeds only when the payload has "ok":true, grumpy never;
 * exit 3 is a permanent failure */
static const char handlers[] =
	"  picky:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"echo \"ok $DROVER_TASK_ID\" >> \"$OUT\";; *) exit 3;; esac'\n"
	"  grumpy:\n"
	"    shell: true\n"
	"    command: 'exit 3'\n";

/* \p method \p path as \p token; the status, the JSON reply in *out. */
#define api it_http_json

/* o[a] or o[a][b] */
#define num it_json_num

static int start(it_ctx_t *ctx, pid_t *coord, pid_t *worker)
{
	int port;

	it_setup(ctx, handlers);
	it_topics(ctx);
	port = it_api_start(ctx, "IT_API_TOKEN_0104", OPS, VIEWER, "", coord);
	*worker = it_worker_start(ctx, 1);
	return port;
}

/* Every page of GET /dlq?QUERY&limit=LIMIT: each entry's id into \p ids
 * (asserting none comes twice); returns the count. */
static int all_pages(int port, const char *query, int limit,
		     char ids[][DRV_ID_LEN + 1], int max)
{
	char path[512], cursor[4096] = "";
	int n = 0, pages = 0;
	json_t *o;

	for (;;) {
		drv_fmt(path, sizeof(path), "/api/v1/dlq?%s%slimit=%d%s%s",
			query, *query ? "&" : "", limit,
			*cursor ? "&cursor=" : "", cursor);
		cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200,
			     "%s", path);
		cr_assert_leq(json_array_size(json_object_get(o, "entries")),
			      (size_t)limit);
		for (size_t i = 0; i < json_array_size(json_object_get(o,
							"entries")); i++) {
			const char *id = json_string_value(json_object_get(
				json_array_get(json_object_get(o, "entries"),
					       i), "id"));

			cr_assert_not_null(id);
			for (int j = 0; j < n; j++)
				cr_assert_str_neq(ids[j], id, "%s twice", id);
			cr_assert_lt(n, max);
			drv_strlcpy(ids[n++], id, DRV_ID_LEN + 1);
		}
		pages++;
		if (json_is_null(json_object_get(o, "next_cursor"))) {
			json_decref(o);
			break;
		}
		drv_strlcpy(cursor, json_string_value(json_object_get(o,
			    "next_cursor")), sizeof(cursor));
		json_decref(o);
		cr_assert_lt(pages, 50, "the pages never end");
	}
	return n;
}

/* Bad queries, and the word their problem's detail must hold. */
static const struct { const char *path, *named; } bad[] = {
	{ "/api/v1/dlq?reason=exploded", "reason" },
	{ "/api/v1/dlq?since=yesterday", "since" },
	{ "/api/v1/dlq/stats?colour=red", "colour" },
	{ "/api/v1/dlq?label=nokv", "label" },
	{ "/api/v1/dlq?cursor=garbage", "cursor" },
	{ "/api/v1/dlq?limit=501", "limit" },
	{ "/api/v1/dlq/stats?until=%00", "until" },
};

Test(dlq_api, list_show_stats_resubmit, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	int port = start(&ctx, &coord, &worker);
	char ids[16][DRV_ID_LEN + 1], path[256], task_id[DRV_ID_LEN + 1];
	long long dead = 0;
	json_t *o, *e;
	int n;

	it_publish_many(&ctx, "picky", PICKY);
	it_publish_many(&ctx, "grumpy", GRUMPY);
	for (int i = 0; i < 120 && dead < PICKY + GRUMPY; i++) {
		cr_assert_eq(api(port, "GET", "/api/v1/dlq/stats", VIEWER,
				 NULL, &o), 200);
		dead = num(o, "count", NULL);
		json_decref(o);
		if (dead < PICKY + GRUMPY)
			sleep(1);
	}
	cr_assert_eq(dead, PICKY + GRUMPY, "%lld dead-lettered", dead);

	/* pages of 2 hold every entry exactly once; a filter narrows */
	n = all_pages(port, "", 2, ids, 16);
	cr_assert_eq(n, PICKY + GRUMPY, "%d listed", n);
	n = all_pages(port, "", 500, ids, 16);
	cr_assert_eq(n, PICKY + GRUMPY);
	n = all_pages(port, "handler=picky&reason=permanent_failure", 3, ids,
		      16);
	cr_assert_eq(n, PICKY);
	n = all_pages(port, "handler=grumpy&since=1h", 1, ids, 16);
	cr_assert_eq(n, GRUMPY);
	n = all_pages(port, "handler=grumpy&until=1h", 1, ids, 16);
	cr_assert_eq(n, 0);

	/* show: by dead letter id with its failures, by task id, 404s */
	n = all_pages(port, "handler=grumpy", 50, ids, 16);
	drv_fmt(path, sizeof(path), "/api/v1/dlq/%s", ids[0]);
	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200);
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")), ids[0]);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o,
			 "task"), "handler")), "grumpy");
	cr_assert_geq(json_array_size(json_object_get(o, "failures")), 1);
	drv_strlcpy(task_id, json_string_value(json_object_get(
		    json_object_get(o, "task"), "id")), sizeof(task_id));
	json_decref(o);
	drv_fmt(path, sizeof(path), "/api/v1/dlq/%s", task_id);
	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200);
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")), ids[0]);
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/01ARZ3NDEKTSV4RRFFQ69G5FAV",
			 VIEWER, NULL, &o), 404);
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/not-an-id", VIEWER, NULL,
			 &o), 404);
	json_decref(o);

	/* stats by handler and reason */
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/stats", VIEWER, NULL, &o),
		     200);
	cr_assert_eq(num(o, "by_handler", "picky"), PICKY);
	cr_assert_eq(num(o, "by_handler", "grumpy"), GRUMPY);
	cr_assert_eq(num(o, "by_reason", "permanent_failure"), PICKY + GRUMPY);
	cr_assert_eq(num(o, "resubmitted", NULL), 0);
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/stats?handler=picky",
			 VIEWER, NULL, &o), 200);
	cr_assert_eq(num(o, "count", NULL), PICKY);
	json_decref(o);

	/* bad filters: 400 naming the parameter */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *detail;

		cr_assert_eq(api(port, "GET", bad[i].path, VIEWER, NULL, &o),
			     400, "%s", bad[i].path);
		detail = json_string_value(json_object_get(o, "detail"));
		cr_assert(detail && strstr(detail, bad[i].named), "%s: %s",
			  bad[i].path, detail);
		json_decref(o);
	}
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"filter\": {\"reason\": \"exploded\"}}", &o), 400);
	cr_assert_str_eq(json_string_value(json_object_get(o, "pointer")),
			 "/filter/reason");
	json_decref(o);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"dry_run\": true}", &o), 400);
	json_decref(o);

	/* a viewer may look, not resubmit */
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", VIEWER,
			 "{\"filter\": {}, \"dry_run\": true}", &o), 403);
	json_decref(o);

	/* a dry run says what would go and changes nothing */
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"filter\": {\"handler\": \"picky\"}, \"set\": "
			 "[{\"ok\": true}], \"dry_run\": true}", &o), 200);
	cr_assert_eq(num(o, "resubmitted", NULL), PICKY);
	cr_assert_eq(num(o, "matched", NULL), PICKY);
	cr_assert_eq(json_array_size(json_object_get(o, "entries")), PICKY);
	json_decref(o);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "ok", NULL), 0);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/stats", VIEWER, NULL, &o),
		     200);
	cr_assert_eq(num(o, "resubmitted", NULL), 0);
	json_decref(o);

	/* an id not in the DLQ sends nothing */
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"ids\": [\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"]}", &o),
		     404);
	json_decref(o);

	/* for real: the patched tasks run, the entries are marked, once */
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"filter\": {\"handler\": \"picky\"}, \"set\": "
			 "[\"ok=true\"], \"max\": 10}", &o), 200);
	cr_assert_eq(num(o, "resubmitted", NULL), PICKY);
	cr_assert_eq(num(o, "failed", NULL), 0);
	e = json_array_get(json_object_get(o, "entries"), 0);
	cr_assert_not_null(json_string_value(json_object_get(e, "task_id")));
	json_decref(o);
	cr_assert_eq(it_wait_count(&ctx, "ok", NULL, PICKY, 60000), PICKY);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/stats", VIEWER, NULL, &o),
		     200);
	cr_assert_eq(num(o, "resubmitted", NULL), PICKY);
	json_decref(o);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"filter\": {\"handler\": \"picky\"}}", &o), 200);
	cr_assert_eq(num(o, "resubmitted", NULL), 0);
	cr_assert_eq(num(o, "already_resubmitted", NULL), PICKY);
	json_decref(o);
	sleep(1);
	cr_assert_eq(it_count(&ctx, "ok", NULL), PICKY);

	/* max bounds a run */
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"filter\": {\"handler\": \"grumpy\"}, \"max\": 1, "
			 "\"dry_run\": true}", &o), 200);
	cr_assert_eq(num(o, "resubmitted", NULL), 1);
	cr_assert(json_is_true(json_object_get(o, "max_reached")));
	json_decref(o);

	it_stop(worker, SIGTERM, 10000);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}

/* Connections Redis has accepted since it started. */
static long long redis_connections(const drv_config_t *cfg)
{
	char err[256];
	redisContext *rc;
	redisReply *r;
	const char *at;
	long long n;

	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	r = redisCommand(rc, "INFO stats");
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	at = strstr(r->str, "total_connections_received:");
	cr_assert_not_null(at);
	n = strtoll(at + strlen("total_connections_received:"), NULL, 10);
	freeReplyObject(r);
	redisFree(rc);
	return n;
}

/* An indexed page (a handler filter) asks the index on the API thread's
 * Redis connection: 30 pages and 30 shows on 2 threads open at most a few
 * connections, not one each (they did before: each connected anew, and
 * with Redis unreachable waited redis.connect_timeout first). The
 * coordinator has a Redis of its own, so that nothing else (other tests
 * run alongside) counts. */
Test(dlq_api, indexed_pages_share_the_thread_connection, .timeout = 120)
{
	int rport = it_free_port();
	pid_t redis = it_redis_start(rport);
	drv_config_t *cfg;
	rd_kafka_t *rk;
	it_ctx_t ctx;
	pid_t coord;
	long long before, opened;
	char url[64];
	json_t *o;
	int port;

	drv_fmt(url, sizeof(url), "redis://127.0.0.1:%d", rport);
	setenv("DROVER_REDIS_URL", url, 1);  /* this test's process only */
	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0104", OPS, VIEWER,
			    "  threads: 2\n", &coord);
	rk = it_producer(&ctx, &cfg);
	/* warm: each thread's connection made */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(api(port, "GET", "/api/v1/dlq?handler=grumpy",
				 VIEWER, NULL, &o), 200);
		json_decref(o);
	}
	before = redis_connections(cfg);
	for (int i = 0; i < 30; i++) {
		cr_assert_eq(api(port, "GET", "/api/v1/dlq?handler=grumpy",
				 VIEWER, NULL, &o), 200);
		json_decref(o);
		cr_assert_eq(api(port, "GET",
				 "/api/v1/dlq/01ARZ3NDEKTSV4RRFFQ69G5FAV",
				 VIEWER, NULL, &o), 404);
		json_decref(o);
	}
	/* one of them is redis_connections()' own */
	opened = redis_connections(cfg) - before - 1;
	cr_expect_lt(opened, 10, "60 indexed requests opened %lld Redis "
		     "connections", opened);
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
	it_stop(coord, SIGTERM, 10000);
	it_redis_kill(redis);
	it_teardown(&ctx);
}
