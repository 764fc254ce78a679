/*
 * 0123 — the DLQ search index against the real Kafka and Redis: 3,000 dead
 * letters go straight onto the DLQ (3 of handler "rare", the rest "bulk",
 * plus one undecodable message); once the leading coordinator's index has
 * taken them in (drover_dlq_index_lag 0), GET /dlq with a handler, a label
 * or a time filter finds exactly what a scan finds (checked against a
 * grep filter, which the index does not serve), reading only a few blocks
 * and skipping the rest; GET /dlq/{id} finds an entry by its task's id and
 * by its own through the index, and a resubmission job's dry run counts
 * the filter's entries through it. A payload over 64 KiB is left out of a
 * page (its size said) and whole in the entry's own GET. With the index deleted from Redis the same
 * queries read everything and still answer right; the coordinator notices
 * the loss at its next write and indexes the DLQ again from the start.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/dead_letter.h"
#include "drover/digest.h"
#include "drover/dlq_index.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/topic_read.h"
#include "harness.h"

#define VIEWER "viewer-token-0123"
#define OPS    "ops-token-0123"
#define N      3000
#define BASE   1700000000000LL   /* dead_ms of entry i: BASE + i s */

static rd_kafka_t *prod;
static drv_config_t *pcfg;

/* Dead letter \p i: "rare" (with a message of its own) every 1000th from
 * 500, else "bulk"; label customer=c<i> on the rare ones. */
static void produce(it_ctx_t *ctx, int i, int64_t dead_ms)
{
	drv_failure_t f = { .attempt = 1, .time_ms = dead_ms,
			    .failure_class = DRV_FAILURE_PERMANENT,
			    .exit_code = 3 };
	bool rare = i % 1000 == 500, wait = i % 500 == 499 || rare;
	char err[512], customer[32];
	drv_dead_letter_t dl;
	drv_delivery_t dr = { 0 };

	(void)ctx;
	drv_dead_letter_init(&dl);
	drv_id_new(dl.id, dead_ms);
	drv_id_new(dl.task.id, dead_ms - 1000);
	dl.task.handler = drv_strdup(rare ? "rare" : "bulk");
	dl.task.created_ms = dead_ms - 1000;
	dl.task.attempt = 1;
	drv_fmt(customer, sizeof(customer), "c%d", i);
	cr_assert_eq(drv_task_set_label(&dl.task, "customer",
					rare ? customer : "common"), DRV_OK);
	f.message = rare ? "rare-failure" : "exit code 3";
	drv_dead_letter_add_failure(&dl, &f);
	dl.reason = DRV_DL_PERMANENT_FAILURE;
	dl.dead_ms = dead_ms;
	/* a report for each waited one only: a report that comes later
	 * must not write into a frame this call has left */
	cr_assert_eq(drv_dead_letter_produce(prod, pcfg, &dl,
					     wait ? &dr : NULL, err,
					     sizeof(err)), DRV_OK, "%s", err);
	drv_dead_letter_release(&dl);
	if (wait)
		cr_assert_eq(drv_kafka_wait(prod, &dr, "dlq", 30000, err,
					    sizeof(err)), DRV_OK, "%s", err);
}

/* One dead letter of handler "big" with a payload of \p n bytes. */
static void produce_big(size_t n)
{
	char *payload = malloc(n + 1), err[512];
	drv_failure_t f = { .attempt = 1, .time_ms = BASE,
			    .failure_class = DRV_FAILURE_PERMANENT,
			    .message = "too big", .exit_code = 3 };
	drv_delivery_t dr = { 0 };
	drv_dead_letter_t dl;

	cr_assert_not_null(payload);
	memset(payload, 'x', n);
	payload[0] = '"';
	payload[n - 1] = '"';
	payload[n] = '\0';
	drv_dead_letter_init(&dl);
	drv_id_new(dl.id, BASE);
	drv_id_new(dl.task.id, BASE - 1000);
	dl.task.handler = drv_strdup("big");
	dl.task.created_ms = BASE - 1000;
	dl.task.attempt = 1;
	cr_assert_eq(drv_task_set_payload(&dl.task, payload, n), DRV_OK);
	drv_dead_letter_add_failure(&dl, &f);
	dl.reason = DRV_DL_PERMANENT_FAILURE;
	dl.dead_ms = BASE;
	cr_assert_eq(drv_dead_letter_produce(prod, pcfg, &dl, &dr, err,
					     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_kafka_wait(prod, &dr, "dlq", 30000, err,
				    sizeof(err)), DRV_OK, "%s", err);
	drv_dead_letter_release(&dl);
	free(payload);
}

/* drover_dlq_index_lag on the coordinator's /metrics; -2 when absent. */
static long long index_lag(int hport)
{
	char *body = NULL, *p;
	long long v = -2;

	if (it_http_get(hport, "/metrics", &body) == 200 &&
	    (p = strstr(body, "\ndrover_dlq_index_lag ")))
		v = strtoll(p + strlen("\ndrover_dlq_index_lag "), NULL, 10);
	free(body);
	return v;
}

/* Whether the index in Redis covers every message the DLQ holds now. */
static bool covered(void)
{
	char err[256];
	bool all;

	cr_assert_eq(drv_dlq_index_covers(pcfg, &all, err, sizeof(err)),
		     DRV_OK, "%s", err);
	return all;
}

/* Until the index covers the DLQ as it is now, and the coordinator says
 * so (the gauge is as old as its last look at the DLQ: 0 alone could
 * predate what was just produced). */
static void wait_indexed(int hport)
{
	long long lag = -2;
	int i = 0;

	while (i++ < 300 && !covered())
		usleep(100 * 1000);
	cr_assert_lt(i, 300, "the index does not cover the DLQ");
	while (i++ < 300 && (lag = index_lag(hport)) != 0)
		usleep(100 * 1000);
	cr_assert_eq(lag, 0, "the index did not catch up (lag %lld)", lag);
}

typedef struct found {
	char ids[16][DRV_ID_LEN + 1];
	int  n;
	long long scanned, skipped;
} found_t;

/* Every page of GET /dlq?QUERY (limit 50), summed. */
static found_t search(int port, const char *query)
{
	char path[1024], cursor[4096] = "";
	found_t r = { .n = 0 };
	json_t *o, *e;

	for (int pages = 0; pages < 200; pages++) {
		drv_fmt(path, sizeof(path), "/api/v1/dlq?%s&limit=50%s%s",
			query, *cursor ? "&cursor=" : "", cursor);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o),
			     200, "%s", path);
		r.scanned += it_json_int(o, "scanned");
		r.skipped += it_json_int(o, "skipped");
		for (size_t i = 0; (e = json_array_get(json_object_get(o,
						"entries"), i)); i++) {
			const char *id = json_string_value(json_object_get(
				json_object_get(e, "task"), "id"));

			cr_assert_lt(r.n, 16, "%s: too many entries", query);
			drv_strlcpy(r.ids[r.n++], id ? id : "-",
				    DRV_ID_LEN + 1);
		}
		if (json_is_null(json_object_get(o, "next_cursor"))) {
			json_decref(o);
			return r;
		}
		drv_strlcpy(cursor, json_string_value(json_object_get(o,
						"next_cursor")), sizeof(cursor));
		json_decref(o);
	}
	cr_assert_fail("%s: no end after 200 pages", query);
	return r;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The same entries (pages interleave partitions as they arrive: the order
 * is not compared). */
static void same(found_t *a, found_t *b, const char *what)
{
	cr_assert_eq(a->n, b->n, "%s: %d entries, the scan %d", what, a->n,
		     b->n);
	qsort(a->ids, (size_t)a->n, sizeof(a->ids[0]), by_id);
	qsort(b->ids, (size_t)b->n, sizeof(b->ids[0]), by_id);
	for (int i = 0; i < a->n; i++)
		cr_assert_str_eq(a->ids[i], b->ids[i], "%s: entry %d", what,
				 i);
}

/* Delete every key of the index, as a Redis flush would. */
static int drop_index(void)
{
	char err[256], pat[300];
	redisContext *rc;
	redisReply *r;
	int n = 0;

	cr_assert_eq(drv_redis_connect(pcfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	drv_fmt(pat, sizeof(pat), "%sdlq:ix1:*", pcfg->redis.key_prefix);
	r = redisCommand(rc, "KEYS %s", pat);
	cr_assert(r && r->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++, n++)
		freeReplyObject(redisCommand(rc, "DEL %s",
					     r->element[i]->str));
	freeReplyObject(r);
	redisFree(rc);
	return n;
}

Test(dlq_index, pages_skip_what_cannot_match, .timeout = 240)
{
	it_ctx_t ctx;
	unsigned char d[DRV_SHA256_LEN];
	char hex[2 * DRV_SHA256_LEN + 1], ohex[2 * DRV_SHA256_LEN + 1],
	     keys[128], sections[1024], q[128];
	int hport = it_free_port(), port = it_free_port();
	found_t idx, scan;
	pid_t coord;

	it_setup(&ctx, "");
	it_topics(&ctx);
	drv_sha256(VIEWER, strlen(VIEWER), d);
	drv_hex(d, sizeof(d), hex);
	drv_sha256(OPS, strlen(OPS), d);
	drv_hex(d, sizeof(d), ohex);
	drv_fmt(keys, sizeof(keys), "  http_port: %d\n", hport);
	drv_fmt(sections, sizeof(sections), "api:\n  port: %d\n"
		"api_tokens:\n  viewer: {sha256: %s}\n"
		"  ops: {role: operator, sha256: %s}\n", port, hex, ohex);
	it_coord_config(&ctx, keys, sections);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 20000));

	prod = it_producer(&ctx, &pcfg);
	for (int i = 0; i < N; i++)
		produce(&ctx, i, BASE + (int64_t)i * 1000);
	cr_assert_eq(rd_kafka_flush(prod, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	it_produce_raw(&ctx, "dlq", "not a dead letter", 17);
	wait_indexed(hport);

	/* a handler: the three rare ones, the same as a scan finds them */
	idx = search(port, "handler=rare");
	scan = search(port, "grep=rare-failure");
	cr_assert_eq(idx.n, 3);
	same(&idx, &scan, "handler=rare");
	cr_assert_eq(scan.skipped, 0, "grep is not indexed");
	cr_assert_geq(scan.scanned, N);
	cr_assert_leq(idx.scanned, 6 * DRV_DLQ_INDEX_BLOCK,
		      "read %lld messages for 3 entries", idx.scanned);
	cr_assert_geq(idx.skipped, N - 6 * DRV_DLQ_INDEX_BLOCK);

	/* a label and a handler together: one entry */
	idx = search(port, "handler=rare&label=customer%3Dc1500");
	cr_assert_eq(idx.n, 1);
	cr_assert_eq(search(port, "grep=rare-failure&label=customer%3Dc1500")
		     .n, 1);
	idx = search(port, "label=customer%3Dc1501");
	cr_assert_eq(idx.n, 0);

	/* a time: entries 2990..2999, skipping the blocks that end before */
	drv_fmt(q, sizeof(q), "since=2023-11-14T23:03:10Z"); /* BASE + 2990 s */
	idx = search(port, q);
	/* and the undecodable message, which goes by its Kafka time (now) */
	cr_assert_eq(idx.n, 11, "%s: %d entries", q, idx.n);
	cr_assert_gt(idx.skipped, 0);

	/* one entry by its task's id and by its own, found through the
	 * blocks that hold those ids */
	for (int i = 0; i < 3; i++) {
		char path[128], dl_id[DRV_ID_LEN + 1];
		json_t *o;

		drv_fmt(path, sizeof(path), "/api/v1/dlq/%s", scan.ids[i]);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o),
			     200, "%s", path);
		cr_assert_str_eq(json_string_value(json_object_get(
			json_object_get(o, "task"), "id")), scan.ids[i]);
		drv_strlcpy(dl_id, json_string_value(json_object_get(o, "id")),
			    sizeof(dl_id));
		json_decref(o);
		drv_fmt(path, sizeof(path), "/api/v1/dlq/%s", dl_id);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o),
			     200, "%s", path);
		cr_assert_str_eq(it_json_str(o, "id"), dl_id);
		json_decref(o);
	}

	/* a resubmission job's dry run over the filter reads its blocks */
	{
		json_t *o;

		cr_assert_eq(it_http_json(port, "POST", "/api/v1/dlq/jobs", OPS,
			"{\"filter\": {\"handler\": \"rare\"}, "
			"\"dry_run\": true}", &o), 200);
		cr_assert_eq(it_json_int(o, "count"), 3);
		json_decref(o);
	}

	/* a payload over 64 KiB: left out of a page, whole in the entry */
	produce_big(100000);
	{
		json_t *o, *e;
		char path[128];

		cr_assert_eq(it_http_json(port, "GET", "/api/v1/dlq?handler=big",
					  VIEWER, NULL, &o), 200);
		e = json_object_get(json_array_get(json_object_get(o,
							"entries"), 0), "task");
		cr_assert(json_is_true(json_object_get(e, "payload_truncated")));
		cr_assert_eq(it_json_int(e, "payload_bytes"), 100000);
		cr_assert_null(json_object_get(e, "payload"));
		drv_fmt(path, sizeof(path), "/api/v1/dlq/%s",
			it_json_str(e, "id"));
		json_decref(o);
		cr_assert_eq(it_http_json(port, "GET", path, VIEWER, NULL, &o),
			     200, "%s", path);
		e = json_object_get(json_object_get(o, "task"), "payload");
		cr_assert(json_is_string(e));
		cr_assert_eq(json_string_length(e), 100000 - 2);
		json_decref(o);
	}

	/* the index gone: a scan, the same answer (once the big entry is
	 * written: the indexer writes nothing more until the next entry) */
	wait_indexed(hport);
	cr_assert_gt(drop_index(), 1);
	idx = search(port, "handler=rare");
	cr_assert_eq(idx.skipped, 0);
	same(&idx, &scan, "handler=rare without an index");

	/* the next write finds it gone, and it is built again */
	produce(&ctx, 3500, BASE + 3500000LL);
	cr_assert(it_coord_log_wait(&ctx, "c1", "indexing the DLQ again",
				    20000));
	wait_indexed(hport);
	idx = search(port, "handler=rare");
	cr_assert_eq(idx.n, 4);
	cr_assert_gt(idx.skipped, 0);

	rd_kafka_destroy(prod);
	drv_config_destroy(pcfg);
	/* a clean exit: nothing leaked (ASan builds report leaks at exit) */
	cr_assert_eq(it_stop(coord, SIGTERM, 10000), 0,
		     "the coordinator did not exit cleanly (see its log in %s)",
		     ctx.dir);
	it_teardown(&ctx);
}
