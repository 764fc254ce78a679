/*
 * 0076 — tasks that meet a half-open breaker wait in memory for its probes
 * (worker/park.c), not on the delay topics: with one slow probe out for
 * 2 s (its lease lasting the breaker's wait_in_open, 3 s), none of the waiting tasks goes through a delay tier while the
 * breaker is half-open, the probe's success closes it, and the parked
 * tasks then run, each with its first attempt.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/breaker.h"
#include "drover/redis.h"
#include "harness.h"

extern char **environ;

#define TASKS 120

/* Lines of \p text holding both \p a and \p b (\p text is cut up). */
static int lines_with(char *text, const char *a, const char *b)
{
	char *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		n += strstr(line, a) && strstr(line, b);
	return n;
}

/* Calls the handler logged with a start time before \p to (ms). */
static int calls_before(it_ctx_t *ctx, long long to)
{
	char *text = it_read(ctx->out), *line, *save = NULL;
	long long ts;
	int n = 0;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		n += sscanf(line, "call %lld", &ts) == 1 && ts < to;
	free(text);
	return n;
}

static bool wait_state(redisContext *rc, const drv_config_t *cfg,
		       drv_breaker_state_t state, int64_t after,
		       drv_breaker_view_t *v, int timeout_ms)
{
	char err[256];

	for (long long end = it_now_ms() + timeout_ms; it_now_ms() < end;) {
		cr_assert_eq(drv_breaker_redis_read(rc, cfg, "dep", 5000, v,
						    err, sizeof(err)),
			     DRV_OK, "%s", err);
		if (v->state == state && v->gen > after)
			return true;
		usleep(5 * 1000);
	}
	return false;
}

Test(breaker, half_open_waits_park_in_memory, .timeout = 180)
{
	it_ctx_t ctx;
	char yaml[2048], path[320], log[300], err[256], *text, *p;
	drv_breaker_view_t open, closed;
	drv_config_t *cfg;
	redisContext *rc;
	long long parked = -1;
	int failed, to_delay;
	pid_t w;

	/* fails until $OUT.ok exists; the first call after that (the probe)
	 * takes 2 s */
	snprintf(yaml, sizeof(yaml),
		 "  dep:\n"
		 "    shell: true\n"
		 "    command: 'echo \"call $(date +%%s%%3N) $DROVER_TASK_ID\" "
		 ">> \"$OUT\"; if [ -f \"$OUT.ok\" ]; then "
		 "if rm \"$OUT.slow\" 2>/dev/null; then sleep 2; fi; "
		 "echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"; exit 0; fi; exit 75'\n"
		 "    max_attempts: 1\n"
		 "redis:\n"
		 "  key_prefix: \"it%db76:\"\n"
		 "breakers:\n"
		 "  dep:\n"
		 "    window: 5s\n"
		 "    min_calls: 4\n"
		 "    failure_rate: 50\n"
		 "    wait_in_open: 3s\n"
		 "    half_open_calls: 1\n"
		 "    half_open_successes: 1\n", (int)getpid());
	it_setup(&ctx, yaml);
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	it_topics(&ctx);
	setenv("DROVER_WORKER_CONCURRENCY", "8", 1);
	w = it_worker_start(&ctx, 1);
	unsetenv("DROVER_WORKER_CONCURRENCY");
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "breakers use the shared state", 30000));
	cr_assert(it_wait_file(log, "partitions assigned", 30000));

	it_publish_many(&ctx, "dep", TASKS);
	cr_assert(wait_state(rc, cfg, DRV_BREAKER_OPEN, 0, &open, 30000),
		  "breaker never opened; see %s", ctx.dir);
	/* the dependency heals, slowly: its first call takes 2 s */
	snprintf(path, sizeof(path), "%s.slow", ctx.out);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s.ok", ctx.out);
	fclose(fopen(path, "w"));
	cr_assert(wait_state(rc, cfg, DRV_BREAKER_CLOSED, open.gen, &closed,
			     30000), "breaker never closed; see %s", ctx.dir);
	cr_assert_eq(closed.gen, open.gen + 2, "open -> half_open -> closed");
	cr_assert(closed.changed_ms - open.open_until_ms >= 1900,
		  "half-open for %lld ms only: the probe was not slow",
		  (long long)(closed.changed_ms - open.open_until_ms));

	failed = calls_before(&ctx, open.open_until_ms);
	cr_assert(failed >= 4 && failed < TASKS / 2, "failed calls: %d",
		  failed);
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, TASKS - failed, 60000),
		     TASKS - failed, "tasks that waited did not all run; see %s",
		     ctx.dir);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);

	text = it_read(log);
	cr_assert_not_null(text);
	/* a task turned away while half-open would say so on its way to a
	 * delay tier */
	if ((p = strstr(text, "parked=")))
		parked = strtoll(p + 7, NULL, 10);
	to_delay = lines_with(text, "task waits without using an attempt",
			      "state=half_open");
	free(text);
	cr_log_info("%d failed, %lld parks, %d half-open waits on a delay tier",
		    failed, parked, to_delay);
	cr_assert_eq(to_delay, 0, "%d tasks went to a delay tier while "
		     "half-open; see %s", to_delay, ctx.dir);
	cr_assert(parked >= TASKS / 2, "only %lld parks", parked);
	/* each ran once, at its first attempt: no task was called twice */
	cr_assert_eq(it_count(&ctx, "ok ", NULL), TASKS - failed);
	redisFree(rc);
	drv_config_destroy(cfg);
	it_teardown(&ctx);
}
