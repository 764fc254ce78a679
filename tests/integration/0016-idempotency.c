/*
 * 0016 — a task whose idempotency key has already succeeded is not run
 * again, and every attempt leaves its state and history in Redis.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/redis.h"
#include "drover/state.h"
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
