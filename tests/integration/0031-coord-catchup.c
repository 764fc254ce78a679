/*
 * 0031-coord-catchup.c — a coordinator is down for several fire times of
 * three two-second schedules, then a new one takes the lease. With
 * misfire_grace 1s, the fire times older than a second at the takeover are
 * missed, and each schedule makes up for them as its catch-up policy says:
 * `all` fires every missed time (no gap at all), `once` fires only the
 * latest missed time, `skip` none.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "harness.h"

#define PERIOD_MS 2000
#define GRACE_MS 1000

static const char schedules[] =
	"schedules:\n"
	"  cu-skip:\n"
	"    cron: \"*/2 * * * * *\"\n"
	"    handler: noop\n"
	"    catchup: skip\n"
	"  cu-once:\n"
	"    cron: \"*/2 * * * * *\"\n"
	"    handler: noop\n"
	"    catchup: once\n"
	"  cu-all:\n"
	"    cron: \"*/2 * * * * *\"\n"
	"    handler: noop\n"
	"    catchup: all\n";

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Sorted fire times of schedule \p id; returns the count. */
static int times_of(const it_task_t *t, int n, const char *id,
		    long long *out)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(t[i].schedule, id))
			out[k++] = t[i].scheduled_ms;
	qsort(out, (size_t)k, sizeof(*out), cmp_ll);
	for (int i = 1; i < k; i++)
		cr_assert_neq(out[i], out[i - 1], "%s fired %lld twice", id,
			      out[i]);
	return k;
}

/* Index of the last time <= \p when. */
static int last_before(const long long *s, int k, long long when)
{
	int i = -1;

	while (i + 1 < k && s[i + 1] <= when)
		i++;
	cr_assert_geq(i, 0, "no fire before the stop");
	cr_assert_lt(i + 1, k, "no fire after the restart");
	return i;
}

Test(coord_catchup, skip_once_all_after_downtime, .timeout = 120)
{
	it_ctx_t ctx;
	it_task_t *t = NULL;
	long long s[200], stop_ms, resumed;
	pid_t c;
	int n, k, i;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	it_coord_config(&ctx, "  misfire_grace: 1s\n", schedules);
	it_topics(&ctx);
	c = it_coordinator_start(&ctx, "coord-1");
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "schedule=cu-all", 15000));
	sleep(3);
	stop_ms = it_now_ms();
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	sleep(9);   /* four or five fire times go by */
	c = it_coordinator_start(&ctx, "coord-2");
	cr_assert(it_coord_log_wait(&ctx, "coord-2", "became leader", 15000));
	resumed = it_coord_log_time(&ctx, "coord-2", "became leader");
	sleep(4);
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	n = it_tasks(&ctx, "tasks.normal", 1000, 4000, &t);

	/* all: every time from the first to the last, the gap filled in */
	k = times_of(t, n, "cu-all", s);
	cr_assert_gt(k, 8);
	for (i = 1; i < k; i++)
		cr_assert_eq(s[i] - s[i - 1], PERIOD_MS, "cu-all lost %lld",
			     s[i - 1] + PERIOD_MS);
	cr_assert_gt(s[k - 1], resumed);

	/* skip: after the last fire before the stop, nothing older than the
	 * grace at the takeover */
	k = times_of(t, n, "cu-skip", s);
	i = last_before(s, k, stop_ms);
	cr_assert_gt(s[i + 1] - s[i], 3 * PERIOD_MS, "no gap: %lld %lld",
		     s[i], s[i + 1]);
	cr_assert_gt(s[i + 1], resumed - GRACE_MS, "cu-skip made up %lld "
		     "(resumed at %lld)", s[i + 1], resumed);

	/* once: one fire for the latest missed time, then the normal ones */
	k = times_of(t, n, "cu-once", s);
	i = last_before(s, k, stop_ms);
	cr_assert_gt(s[i + 1] - s[i], 2 * PERIOD_MS, "no gap: %lld %lld",
		     s[i], s[i + 1]);
	cr_assert_leq(s[i + 1], resumed + 100 - GRACE_MS, "cu-once did not "
		      "make up a missed time: %lld (resumed at %lld)",
		      s[i + 1], resumed);
	cr_assert_gt(s[i + 1] + PERIOD_MS, resumed - GRACE_MS, "cu-once made "
		     "up %lld, not the latest missed time", s[i + 1]);
	cr_assert_lt(i + 2, k);
	cr_assert_eq(s[i + 2] - s[i + 1], PERIOD_MS);
	free(t);
	it_teardown(&ctx);
}
