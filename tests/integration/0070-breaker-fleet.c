/*
 * 0070 — a breaker shared by two workers: a failing dependency trips it,
 * both workers stop calling it within 250 ms of the transition, after
 * wait_in_open exactly the permitted probes go out fleet-wide, their
 * success closes it everywhere, and the tasks that arrived while it was
 * open ran afterwards without using an attempt. Every transition is an
 * event.
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

#define TASKS 200

static drv_config_t *cfg;
static redisContext *rc;

static void read_view(drv_breaker_view_t *v)
{
	char err[256];

	cr_assert_eq(drv_breaker_redis_read(rc, cfg, "dep", 5000, v, err,
					    sizeof(err)), DRV_OK, "%s", err);
}

/* Wait until breaker dep is in \p state with a gen above \p after. */
static bool wait_state(drv_breaker_state_t state, int64_t after,
		       drv_breaker_view_t *v, int timeout_ms)
{
	for (long long end = it_now_ms() + timeout_ms; it_now_ms() < end;) {
		read_view(v);
		if (v->state == state && v->gen > after)
			return true;
		usleep(5 * 1000);
	}
	return false;
}

/* Calls the handler logged with a start time in [from, to). */
static int calls_between(it_ctx_t *ctx, long long from, long long to)
{
	char *text = it_read(ctx->out), *line, *save = NULL;
	int n = 0;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		long long ts;

		if (sscanf(line, "call %lld", &ts) == 1 && ts >= from &&
		    ts < to)
			n++;
	}
	free(text);
	return n;
}

typedef struct want {
	int succeeded;
} want_t;

static bool enough(const it_event_t *ev, int n, void *arg)
{
	const want_t *w = arg;
	int closed = 0;

	for (int i = 0; i < n; i++)
		closed += !strcmp(ev[i].type, "breaker.closed");
	return closed > 0 &&
	       it_events_distinct(ev, n, "task.succeeded", NULL) >=
	       w->succeeded;
}

Test(breaker, fleet_trips_probes_and_closes, .timeout = 180)
{
	it_ctx_t ctx;
	char yaml[2048], okfile[320], log[2][300], err[256];
	drv_breaker_view_t open, closed;
	it_event_t *ev = NULL;
	want_t want;
	pid_t w1, w2;
	int failed, late, probes, n, opened = 0, half = 0, shut = 0;

	snprintf(yaml, sizeof(yaml),
		 "  dep:\n"
		 "    shell: true\n"
		 "    command: 'echo \"call $(date +%%s%%3N) $DROVER_TASK_ID\" "
		 ">> \"$OUT\"; if [ -f \"$OUT.ok\" ]; then echo \"ok "
		 "$DROVER_TASK_ID\" >> \"$OUT\"; exit 0; fi; exit 75'\n"
		 "    max_attempts: 1\n"
		 "redis:\n"
		 "  key_prefix: \"it%db70:\"\n"
		 "breakers:\n"
		 "  dep:\n"
		 "    window: 5s\n"
		 "    min_calls: 4\n"
		 "    failure_rate: 50\n"
		 "    wait_in_open: 2s\n"
		 "    half_open_calls: 3\n"
		 "    half_open_successes: 3\n", (int)getpid());
	it_setup(&ctx, yaml);
	snprintf(okfile, sizeof(okfile), "%s.ok", ctx.out);
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	it_topics(&ctx);
	w1 = it_worker_start(&ctx, 1);
	w2 = it_worker_start(&ctx, 2);
	for (int i = 0; i < 2; i++) {
		snprintf(log[i], sizeof(log[i]), "%s/worker-%d.log", ctx.dir,
			 i + 1);
		cr_assert(it_wait_file(log[i], "breakers use the shared state",
				       30000), "worker %d not on Redis", i + 1);
		cr_assert(it_wait_file(log[i], "partitions assigned", 30000));
	}
	sleep(3);  /* let the group settle on both workers */

	it_publish_many(&ctx, "dep", TASKS);
	cr_assert(wait_state(DRV_BREAKER_OPEN, 0, &open, 30000),
		  "breaker never opened; see %s", ctx.dir);
	cr_log_info("opened at %lld, probes from %lld", (long long)open.changed_ms,
		    (long long)open.open_until_ms);
	/* the dependency heals; only probes may find out */
	fclose(fopen(okfile, "w"));
	cr_assert(wait_state(DRV_BREAKER_CLOSED, open.gen, &closed, 30000),
		  "breaker never closed; see %s", ctx.dir);
	cr_assert_eq(closed.gen, open.gen + 2, "open -> half_open -> closed");

	failed = calls_between(&ctx, 0, open.open_until_ms);
	cr_assert(failed >= 4 && failed < TASKS, "failed calls: %d", failed);
	want.succeeded = TASKS - failed;
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, want.succeeded, 90000),
		     want.succeeded, "tasks that waited did not all run; "
		     "see %s", ctx.dir);

	late = calls_between(&ctx, open.changed_ms + 250, open.open_until_ms);
	cr_assert_eq(late, 0, "%d calls more than 250 ms after it opened",
		     late);
	/* leases, fleet-wide, from both workers' logs */
	probes = 0;
	for (int i = 0; i < 2; i++) {
		char *text = it_read(log[i]);

		for (char *p = text; p && (p = strstr(p, "runs as a probe"));
		     p++)
			probes++;
		free(text);
	}
	cr_assert_eq(probes, 3, "%d probes leased, 3 permitted", probes);
	/* and the calls between the end of the wait and the close (a probe
	 * may start in the very millisecond it closes) */
	n = calls_between(&ctx, open.open_until_ms, closed.changed_ms + 1);
	cr_assert(n >= 3 && n <= 4, "%d calls while half-open", n);
	cr_log_info("failed %d before opening, %d probes, %d ran after",
		    failed, probes, want.succeeded);

	n = it_events(&ctx, 30000, enough, &want, &ev);
	for (int i = 0; i < n; i++) {
		opened += !strcmp(ev[i].type, "breaker.opened");
		half += !strcmp(ev[i].type, "breaker.half_open");
		shut += !strcmp(ev[i].type, "breaker.closed");
		if (!strcmp(ev[i].type, "task.succeeded"))
			cr_assert_eq(ev[i].attempt, 1, "task %s used attempt "
				     "%d", ev[i].task_id, ev[i].attempt);
	}
	cr_assert_eq(opened, 1);
	cr_assert_eq(half, 1);
	cr_assert_eq(shut, 1);
	cr_assert_eq(it_events_distinct(ev, n, "task.succeeded", NULL),
		     want.succeeded);
	free(ev);
	for (int i = 0; i < 2; i++)
		cr_assert(it_wait_file(log[i], "state=open", 1000),
			  "worker %d never saw it open", i + 1);

	cr_assert_eq(it_stop(w1, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w2, SIGTERM, 30000), 0);
	redisFree(rc);
	drv_config_destroy(cfg);
	it_teardown(&ctx);
}
