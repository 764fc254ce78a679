/*
 * 0119 — the DLQ depth trend (issue 16): with coordinator.dlq_depth_interval
 * at 1s, the leading coordinator samples the DLQ depth into Redis; GET
 * /api/v1/dlq/depth shows the alert threshold, the interval, a depth of 0
 * before any dead letter and of 3 once three tasks died (current and the
 * points: last, highest, lowest per step). A sample replaces any other of
 * its interval (one member per interval however often written), samples
 * older than 14 days are trimmed, the core read of 14 days gives 15-minute
 * steps, and bad queries are refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/dlq_depth.h"
#include "drover/history.h"
#include "drover/redis.h"
#include "harness.h"

#define OPS "ops-token-0119"
#define DAY_MS 86400000LL

extern char **environ;

#define num it_json_num

/* GET /dlq/depth?since=10m until its current depth is \p depth. New
 * reference. */
static json_t *wait_depth(int port, long long depth)
{
	json_t *o = NULL;

	for (int i = 0; i < 150; i++) {
		cr_assert_eq(it_http_json(port, "GET",
					  "/api/v1/dlq/depth?since=10m", OPS,
					  NULL, &o), 200);
		if (json_is_object(json_object_get(o, "current")) &&
		    num(json_object_get(o, "current"), "depth", NULL) == depth)
			return o;
		json_decref(o);
		usleep(200 * 1000);
	}
	cr_assert_fail("the DLQ depth trend never showed %lld", depth);
	return NULL;
}

Test(dlq_depth, sampled_by_the_leader_and_read_back, .timeout = 180)
{
	it_ctx_t ctx;
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	it_msg_t *msgs;
	json_t *o, *p;
	redisReply *r;
	char id[32], err[512], key[256];
	long long lo = -1, hi = -1, now, slot;
	size_t i;
	pid_t coord, w;
	int port, n;

	it_setup(&ctx,
		 "  fail:\n"
		 "    command: [\"false\"]\n");
	it_topics(&ctx);
	setenv("IT_API_TOKEN_0119", OPS, 1);
	port = it_api_start_coord(&ctx, "  dlq_depth_interval: 1s\n"
				  "  dlq_depth_alert: 5\n", "",
				  "  ops: {role: operator, env: "
				  "IT_API_TOKEN_0119}\n", &coord);
	w = it_worker_start(&ctx, 1);

	o = wait_depth(port, 0);
	cr_assert_eq(num(o, "threshold", NULL), 5);
	cr_assert_eq(num(o, "interval_ms", NULL), 1000);
	cr_assert_eq(num(o, "step_ms", NULL), 60000);
	json_decref(o);

	for (int k = 0; k < 3; k++)
		it_submit(&ctx, id, "fail", NULL);
	n = it_consume(&ctx, "dlq", 3, 60000, &msgs);
	cr_assert_eq(n, 3, "expected 3 dead letters, got %d; see %s", n,
		     ctx.dir);
	it_msgs_free(msgs, n);
	o = wait_depth(port, 3);
	cr_assert_gt(json_array_size(json_object_get(o, "points")), 0);
	json_array_foreach(json_object_get(o, "points"), i, p) {
		cr_assert_eq(num(p, "t", NULL) % 60000, 0);
		cr_assert_geq(num(p, "samples", NULL), 1);
		cr_assert(num(p, "min", NULL) <= num(p, "depth", NULL) &&
			  num(p, "depth", NULL) <= num(p, "max", NULL));
		if (lo < 0 || num(p, "min", NULL) < lo)
			lo = num(p, "min", NULL);
		if (num(p, "max", NULL) > hi)
			hi = num(p, "max", NULL);
	}
	cr_assert_eq(lo, 0, "the depth before the dead letters is gone");
	cr_assert_eq(hi, 3);
	p = json_array_get(json_object_get(o, "points"),
			   json_array_size(json_object_get(o, "points")) - 1);
	cr_assert_eq(num(p, "depth", NULL), 3, "the last step's last sample");
	json_decref(o);

	/* the core: one member per interval, trimmed by age */
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	snprintf(key, sizeof(key), "%sdlq:depth", cfg->redis.key_prefix);
	now = it_now_ms();
	slot = (now - 3600000) / 60000 * 60000;
	cr_assert_eq(drv_dlq_depth_record(rc, cfg, now - 15 * DAY_MS, 9, err,
					  sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_dlq_depth_record(rc, cfg, slot, 7, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(drv_dlq_depth_record(rc, cfg, slot, 8, err, sizeof(err)),
		     DRV_OK, "%s", err);
	r = redisCommand(rc, "ZRANGEBYSCORE %s %lld %lld", key, slot, slot);
	cr_assert(r && r->type == REDIS_REPLY_ARRAY);
	cr_assert_eq(r->elements, 1, "%zu members for one interval",
		     r->elements);
	cr_assert(strchr(r->element[0]->str, ':') &&
		  !strcmp(strchr(r->element[0]->str, ':'), ":8"), "%s",
		  r->element[0]->str);
	freeReplyObject(r);
	r = redisCommand(rc, "ZCOUNT %s -inf %lld", key, now - 14 * DAY_MS);
	cr_assert_eq(r->integer, 0, "a sample older than 14 days kept");
	freeReplyObject(r);
	r = redisCommand(rc, "PTTL %s", key);
	cr_assert_gt(r->integer, 13 * DAY_MS);
	freeReplyObject(r);
	cr_assert_eq(drv_dlq_depth_series(cfg, rc, now - 14 * DAY_MS, now, 0,
					  now, &o, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(num(o, "step_ms", NULL), 15 * 60000);
	cr_assert_leq(json_array_size(json_object_get(o, "points")),
		      DRV_HISTORY_POINTS_MAX);
	json_array_foreach(json_object_get(o, "points"), i, p)
		if (num(p, "t", NULL) == slot / (15 * 60000) * (15 * 60000))
			cr_assert_eq(num(p, "max", NULL), 8);
	json_decref(o);

	/* bad queries */
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/dlq/depth?step=30s",
				  OPS, NULL, &o), 400);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "GET",
				  "/api/v1/dlq/depth?handler=fail", OPS, NULL,
				  &o), 400);
	json_decref(o);

	redisFree(rc);
	drv_config_destroy(cfg);
	cr_assert_eq(it_stop(coord, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
