/*
 * 0072 — Redis goes away under two running workers: they say so once,
 * show it in /readyz, keep processing with local per-worker breakers that
 * follow the same rules (a failing handler still trips one), lose nothing,
 * and rejoin the shared state once Redis is back.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void wait_both(it_ctx_t *ctx, const char *needle, int timeout_ms)
{
	char log[300];

	for (int i = 1; i <= 2; i++) {
		snprintf(log, sizeof(log), "%s/worker-%d.log", ctx->dir, i);
		cr_assert(it_wait_file(log, needle, timeout_ms),
			  "worker %d never logged '%s'; see %s", i, needle,
			  ctx->dir);
	}
}

Test(breaker, redis_down_local_breakers_then_rejoin, .timeout = 240)
{
	int rport = it_free_port(), hport = it_free_port();
	char url[64], port[16], yaml[1024], log[300], *body = NULL;
	it_ctx_t ctx;
	pid_t redis, w1, w2;
	const char *saved = getenv("DROVER_REDIS_URL");
	char *old = saved ? strdup(saved) : NULL;

	redis = it_redis_start(rport);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rport);
	setenv("DROVER_REDIS_URL", url, 1);
	snprintf(yaml, sizeof(yaml),
		 "  ok:\n"
		 "    shell: true\n"
		 "    command: 'echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "  bad:\n"
		 "    shell: true\n"
		 "    command: 'echo \"bad $DROVER_TASK_ID\" >> \"$OUT\"; "
		 "exit 75'\n"
		 "    max_attempts: 1\n"
		 "redis:\n"
		 "  connect_timeout: 300ms\n"
		 "breakers:\n"
		 "  bad:\n"
		 "    min_calls: 4\n"
		 "    wait_in_open: 30s\n");
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	snprintf(port, sizeof(port), "%d", hport);
	setenv("DROVER_WORKER_HTTP_PORT", port, 1);
	w1 = it_worker_start(&ctx, 1);
	unsetenv("DROVER_WORKER_HTTP_PORT");
	w2 = it_worker_start(&ctx, 2);
	wait_both(&ctx, "breakers use the shared state", 30000);
	wait_both(&ctx, "partitions assigned", 30000);
	sleep(3);

	it_publish_many(&ctx, "ok", 50);
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, 50, 60000), 50);

	it_redis_kill(redis);
	wait_both(&ctx, "fall back to local per-worker breakers", 10000);
	cr_assert_eq(it_http_get(hport, "/readyz", &body), 200);
	cr_assert(strstr(body, "breakers are local"), "%s", body);
	free(body);

	it_publish_many(&ctx, "ok", 50);
	it_publish_many(&ctx, "bad", 30);
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, 100, 60000), 100,
		     "tasks lost while Redis was down; see %s", ctx.dir);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	{
		char log2[300];

		snprintf(log2, sizeof(log2), "%s/worker-2.log", ctx.dir);
		cr_assert(it_wait_file(log, "state=open scope=local", 20000) ||
			  it_wait_file(log2, "state=open scope=local", 100),
			  "no local breaker tripped; see %s", ctx.dir);
	}
	cr_assert(it_count(&ctx, "bad ", NULL) < 30,
		  "the local breaker let every failing call through");

	redis = it_redis_start(rport);
	wait_both(&ctx, "breakers use the shared state again", 45000);
	cr_assert_eq(it_http_get(hport, "/readyz", &body), 200);
	cr_assert_null(strstr(body, "breakers are local"), "%s", body);
	free(body);
	it_publish_many(&ctx, "ok", 20);
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, 120, 60000), 120);

	cr_assert_eq(it_stop(w1, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);
	it_redis_kill(redis);
	if (old)
		setenv("DROVER_REDIS_URL", old, 1);
	free(old);
	it_teardown(&ctx);
}
