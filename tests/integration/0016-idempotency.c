/*
 * 0016 — a task whose idempotency key has already succeeded is not run
 * again, and every attempt leaves its state and history in Redis; copies
 * with one key that arrive at the same moment, at two workers, run once.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

Test(idempotency, a_done_key_runs_once, .timeout = 120)
{
	it_ctx_t ctx;
	char first[32], second[32], other[32], key[64], log[300], err[256];
	drv_config_t *cfg = NULL;
	drv_state_task_t st;
	redisContext *rc;
	pid_t w;

	snprintf(key, sizeof(key), "order-%lld", it_now_ms());
	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "  flaky:\n"
		 "    shell: true\n"
		 "    policy: quick\n"
		 "    command: 'echo nope; exit 75'\n"
		 "retry_policies:\n"
		 "  quick:\n"
		 "    base_delay: 100ms\n"
		 "    max_delay: 100ms\n"
		 "    max_attempts: 2\n"
		 "    jitter: none\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, first, "record", "--idempotency-key", key, NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", first, 1, 60000), 1,
		     "first task never ran; see %s", ctx.dir);
	/* the key is written in the next state batch (<= 100 ms) */
	usleep(500 * 1000);
	it_submit(&ctx, second, "record", "--idempotency-key", key, NULL);
	it_submit(&ctx, other, "flaky", NULL);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, second, 30000), "second task not seen");
	cr_assert(it_wait_file(log, "task skipped", 5000),
		  "duplicate not reported; see %s", log);
	cr_assert_eq(it_count(&ctx, "run ", second), 0, "duplicate ran");

	/* task state in Redis: the first succeeded, the flaky one is dead
	 * after two attempts, with both in its history */
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	drv_state_task_init(&st);
	cr_assert_eq(drv_state_get(rc, cfg->redis.key_prefix, first, &st, err,
				   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(st.state, DRV_TASK_SUCCEEDED);
	cr_assert_eq(st.history_cnt, 1);
	cr_assert(st.ttl_ms > 0);
	drv_state_task_release(&st);
	for (int i = 0; i < 100; i++) {
		drv_state_task_init(&st);
		if (!drv_state_get(rc, cfg->redis.key_prefix, other, &st, err,
				   sizeof(err)) && st.state == DRV_TASK_DEAD)
			break;
		drv_state_task_release(&st);
		usleep(100 * 1000);
	}
	cr_assert_eq(st.state, DRV_TASK_DEAD);
	cr_assert_eq(st.attempt, 2);
	cr_assert_eq(st.history_cnt, 2);
	cr_assert(st.last_error && strstr(st.last_error, "exit code 75"),
		  "%s", st.last_error);
	drv_state_task_release(&st);
	redisFree(rc);
	drv_config_destroy(cfg);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}

/* Publish the task \p id (\p handler, idempotency key \p key) \p n times
 * through \p rk, each copy acknowledged. */
static void publish_keyed(rd_kafka_t *rk, const drv_config_t *cfg,
			  const char *id, const char *handler, const char *key,
			  int n)
{
	char err[512];
	drv_task_t t;

	drv_task_init(&t);
	t.created_ms = it_now_ms();
	drv_strlcpy(t.id, id, sizeof(t.id));
	t.handler = drv_strdup(handler);
	t.idempotency_key = drv_strdup(key);
	for (int i = 0; i < n; i++)
		cr_assert_eq(drv_task_publish(rk, cfg, &t, 10000, NULL, 0, err,
					      sizeof(err)), DRV_OK, "%s", err);
	drv_task_release(&t);
}

/* publish_keyed() through a producer of its own. */
static void publish_copies(it_ctx_t *ctx, const char *id, const char *handler,
			   const char *key, int n)
{
	drv_config_t *cfg;
	rd_kafka_t *rk = it_producer(ctx, &cfg);

	publish_keyed(rk, cfg, id, handler, key, n);
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
}

/* Lines containing \p needle in both workers' logs. */
static int logged(it_ctx_t *ctx, const char *needle)
{
	int n = 0;

	for (int i = 1; i <= 2; i++) {
		char path[300], *text, *p;

		snprintf(path, sizeof(path), "%s/worker-%d.log", ctx->dir, i);
		if (!(text = it_read(path)))
			continue;
		for (p = text; (p = strstr(p, needle)); p++)
			n++;
		free(text);
	}
	return n;
}

/* Three copies of one task and two other tasks, all with one idempotency
 * key, published together to two workers; the handler takes 2 s, so the
 * copies meet while the first runs. The key's claim lets one run; the
 * others wait (no attempt used) and are skipped once it is done. */
Test(idempotency, copies_at_once_run_once, .timeout = 120)
{
	it_ctx_t ctx;
	char key[64], ids[3][DRV_ID_LEN + 1];
	pid_t w1, w2;
	int64_t t0;

	snprintf(key, sizeof(key), "pay-%lld", it_now_ms());
	it_setup(&ctx,
		 "  slow:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"; "
		 "sleep 2'\n");
	it_topics(&ctx);
	w1 = it_worker_start(&ctx, 1);
	w2 = it_worker_start(&ctx, 2);
	for (int i = 0; i < 3; i++)
		drv_id_new(ids[i], it_now_ms());
	publish_copies(&ctx, ids[0], "slow", key, 3);
	publish_copies(&ctx, ids[1], "slow", key, 1);
	publish_copies(&ctx, ids[2], "slow", key, 1);

	cr_assert_geq(it_wait_count(&ctx, "run ", NULL, 1, 60000), 1,
		      "nothing ran; see %s", ctx.dir);
	t0 = it_now_ms();
	while (logged(&ctx, "task skipped") < 4 && it_now_ms() - t0 < 30000)
		usleep(100 * 1000);
	/* 4, or more if a rebalance handed a copy over twice */
	cr_assert_geq(logged(&ctx, "task skipped"), 4, "see %s", ctx.dir);
	cr_assert_geq(logged(&ctx, "another copy with its idempotency key is "
			     "running"), 1, "no copy met the running one");
	sleep(1);
	cr_assert_eq(it_count(&ctx, "run ", NULL), 1, "copies ran: see %s",
		     ctx.dir);
	cr_assert_eq(it_stop(w1, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}

/* Many keyed tasks in a row, each key twice: the claims of the tasks in
 * hand are taken in batches (runner.c); every key still runs exactly
 * once, and its other copy is skipped. */
Test(idempotency, many_keys_each_once, .timeout = 180)
{
	enum { KEYS = 150 };
	it_ctx_t ctx;
	drv_config_t *cfg;
	rd_kafka_t *rk;
	char prefix[32];
	int64_t t0;
	pid_t w;

	snprintf(prefix, sizeof(prefix), "bulk-%lld-", it_now_ms());
	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	rk = it_producer(&ctx, &cfg);
	for (int copy = 0; copy < 2; copy++)
		for (int k = 0; k < KEYS; k++) {
			char id[DRV_ID_LEN + 1], key[64];

			drv_id_new(id, it_now_ms());
			snprintf(key, sizeof(key), "%s%d", prefix, k);
			publish_keyed(rk, cfg, id, "record", key, 1);
		}
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
	w = it_worker_start(&ctx, 1);
	t0 = it_now_ms();
	while (it_count(&ctx, "run ", NULL) + logged(&ctx, "task skipped") <
	       2 * KEYS && it_now_ms() - t0 < 120000)
		usleep(200 * 1000);
	sleep(1);
	cr_assert_eq(it_count(&ctx, "run ", NULL), KEYS,
		     "keys ran more or less than once: see %s", ctx.dir);
	cr_assert_eq(logged(&ctx, "task skipped"), KEYS, "see %s", ctx.dir);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
