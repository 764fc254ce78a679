/*
 * 0030-coord-failover.c — two coordinators against the real Kafka and
 * Redis. Killing the leader with SIGKILL a moment before a fire: the
 * standby takes the lease over and the fire still happens, exactly once,
 * with every other fire time once too and a higher fencing token after the
 * takeover. And a fire whose marker is already in Redis (as another leader
 * would have left it) is not published again.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

#define PERIOD_MS 3000

static const char schedules[] =
	"schedules:\n"
	"  tick:\n"
	"    cron: \"*/3 * * * * *\"\n"
	"    handler: noop\n";

static void sleep_until(long long ms)
{
	long long now = it_now_ms();

	if (ms > now)
		usleep((useconds_t)(ms - now) * 1000);
}

static int cmp_task(const void *a, const void *b)
{
	long long x = ((const it_task_t *)a)->scheduled_ms;
	long long y = ((const it_task_t *)b)->scheduled_ms;

	return (x > y) - (x < y);
}

Test(coord_failover, kill9_leader_just_before_a_fire, .timeout = 120)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	pid_t a, b;
	long long fire, start;
	unsigned long long fence_before = 0;
	int n, at_fire = 0, status;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	it_coord_config(&ctx, "", schedules);
	it_topics(&ctx);
	a = it_coordinator_start(&ctx, "coord-a");
	cr_assert(it_coord_log_wait(&ctx, "coord-a", "became leader", 15000),
		  "coord-a never led");
	b = it_coordinator_start(&ctx, "coord-b");
	cr_assert(it_coord_log_wait(&ctx, "coord-a", "schedule fired", 10000),
		  "coord-a never fired");
	/* the next fire time at least 1.5 s away; kill 300 ms before it */
	start = it_now_ms();
	fire = (start / PERIOD_MS + 1) * PERIOD_MS;
	if (fire - start < 1500)
		fire += PERIOD_MS;
	sleep_until(fire - 300);
	kill(a, SIGKILL);
	waitpid(a, &status, 0);
	cr_assert(it_coord_log_wait(&ctx, "coord-b", "became leader", 10000),
		  "coord-b did not take over");
	sleep_until(fire + 2 * PERIOD_MS + 500);
	cr_assert_eq(it_stop(b, SIGTERM, 20000) >= 0, 1);

	n = it_tasks(&ctx, "tasks.normal", 1000, 4000, &t);
	cr_assert_geq(n, 4, "only %d fires", n);
	qsort(t, (size_t)n, sizeof(*t), cmp_task);
	for (int i = 0; i < n; i++) {
		cr_assert_str_eq(t[i].schedule, "tick");
		cr_assert_eq(t[i].scheduled_ms % PERIOD_MS, 0);
		if (i)
			cr_assert_eq(t[i].scheduled_ms - t[i - 1].scheduled_ms,
				     PERIOD_MS, "fire times %lld then %lld: "
				     "%s", t[i - 1].scheduled_ms,
				     t[i].scheduled_ms,
				     t[i].scheduled_ms == t[i - 1].scheduled_ms ?
				     "doubled" : "lost");
		if (t[i].scheduled_ms == fire)
			at_fire++;
		if (t[i].scheduled_ms < fire && t[i].fence > fence_before)
			fence_before = t[i].fence;
		if (t[i].scheduled_ms >= fire)
			cr_assert_gt(t[i].fence, fence_before, "no new fencing "
				     "token after the takeover");
	}
	cr_assert_eq(at_fire, 1, "the fire at the kill happened %d times",
		     at_fire);
	cr_assert_lt(t[0].scheduled_ms, fire);
	cr_assert_geq(t[n - 1].scheduled_ms, fire + PERIOD_MS);
	free(t);
	it_teardown(&ctx);
}

Test(coord_failover, an_existing_marker_stops_the_fire, .timeout = 60)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	redisReply *r;
	char err[512], key[256];
	pid_t a;
	long long fire;
	int n, before = 0, at = 0, after = 0;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	it_coord_config(&ctx, "", schedules);
	it_topics(&ctx);
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	a = it_coordinator_start(&ctx, "coord-a");
	cr_assert(it_coord_log_wait(&ctx, "coord-a", "schedule fired", 15000));
	fire = (it_now_ms() / PERIOD_MS + 2) * PERIOD_MS;
	/* what a leader that lost its lease mid-fire would have left */
	drv_fmt(key, sizeof(key), "%sfire:tick:%lld", cfg->redis.key_prefix,
		fire);
	r = redisCommand(rc, "SET %s other-leader PX 60000", key);
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	sleep_until(fire + PERIOD_MS + 500);
	cr_assert_eq(it_stop(a, SIGTERM, 20000) >= 0, 1);
	cr_assert(it_coord_log_wait(&ctx, "coord-a", "outcome=duplicate", 1));

	n = it_tasks(&ctx, "tasks.normal", 1000, 3000, &t);
	for (int i = 0; i < n; i++) {
		before += t[i].scheduled_ms == fire - PERIOD_MS;
		at += t[i].scheduled_ms == fire;
		after += t[i].scheduled_ms == fire + PERIOD_MS;
	}
	cr_assert_eq(at, 0, "a marked fire was published");
	cr_assert_eq(before, 1);
	cr_assert_eq(after, 1);
	free(t);
	redisFree(rc);
	drv_config_destroy(cfg);
	it_teardown(&ctx);
}
