/*
 * schedule.c — the coordinator's scheduler under load.
 *
 * Part 1, in this process (no services): BENCH_SCHEDULES (100,000)
 * schedules with varied cron expressions in three zones —
 *   - start-up: loading them from a YAML config file (every one checked:
 *     cron, zone, handler) and building the schedule set (hash + heap,
 *     first fire time of each), per schedule, with the memory the set
 *     takes; baseline: parsing the cron expressions and computing one next
 *     time each, nothing else;
 *   - the next-due lookup: peeking at the heap, and taking the due schedule
 *     and moving it on (what a fire costs the scheduler), against the
 *     baseline of a linear scan of every schedule for the earliest.
 *
 * Part 2, against the stack bench/run started: fire accuracy of the real
 * drover-coordinator — BENCH_FIRE_SCHEDULES (10,000) schedules due in the
 * same second, and one schedule firing every second — as the lateness of
 * each publish (the task message's CreateTime minus its nominal time),
 * p50/p99/max; baseline: a plain producer publishing as many tasks at a
 * whole second, waiting for every acknowledgement. Targets: p99 <= 1 s
 * for 10,000, <= 100 ms for one.
 *
 * Exit status: 0 when it ran, 1 when it could not, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/schedule.h"
#include "drover/str.h"
#include "bench.h"

static const char *const zones[] = {
	"UTC", "Europe/London", "America/New_York"
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Bytes malloc has handed out and not had back. */
static long heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long)(mi.uordblks + mi.hblkhd);
}

static void cron_of(size_t i, char *buf, size_t size)
{
	drv_fmt(buf, size, "%zu %zu %zu * * *", i % 60, (i / 60) % 60,
		(i / 3600) % 24);
}

/* ------------------------------------------------------------ part 1 */

static char *config_text(size_t n)
{
	size_t cap = 256 + n * 120, len;
	char *text = malloc(cap), cron[64];

	if (!text)
		return NULL;
	drv_fmt(text, cap, "handlers:\n  noop:\n    type: noop\nschedules:\n");
	len = strlen(text);
	for (size_t i = 0; i < n; i++) {
		cron_of(i, cron, sizeof(cron));
		if (!drv_fmt(text + len, cap - len, "  s%zu:\n    cron: "
			     "\"%s\"\n    timezone: %s\n    handler: noop\n",
			     i, cron, zones[i % 3]))
			break;
		len += strlen(text + len);
	}
	return text;
}

static bool part1(size_t n)
{
	char *text = config_text(n), err[512], cron[64];
	drv_config_t *cfg = NULL;
	drv_sched_t *set;
	drv_sched_item_t *it;
	int64_t t0, t1, t2, base_ns = 0, now = drv_now_ms(), sink = 0;
	long r0, r1;
	size_t lookups = 1000000, peeks = 10000000, scans = 200;

	if (!text)
		return false;
	t0 = now_ns();
	if (drv_config_load_string("bench.yaml", text, strlen(text), NULL,
				   &cfg, err, sizeof(err))) {
		bench_log("config: %s", err);
		free(text);
		return false;
	}
	t1 = now_ns();
	free(text);
	r0 = heap_bytes();
	set = drv_sched_new();
	for (size_t i = 0; set && i < cfg->schedule_cnt; i++) {
		if (drv_sched_put(set, &cfg->schedules[i], false, &it, err,
				  sizeof(err))) {
			bench_log("%s", err);
			return false;
		}
		drv_sched_set_next(set, it, drv_sched_next_time(it, now));
	}
	t2 = now_ns();
	r1 = heap_bytes();
	drv_config_destroy(cfg);
	if (!set)
		return false;

	/* baseline: cron parse + one next time, nothing else */
	for (size_t i = 0; i < n; i++) {
		drv_cron_t *c = NULL;
		int64_t nx = 0, s = now_ns();

		cron_of(i, cron, sizeof(cron));
		if (!drv_cron_parse(cron, &c, err, sizeof(err)))
			drv_cron_next(c, NULL, now, &nx);
		drv_cron_free(c);
		base_ns += now_ns() - s;
		sink += nx;
	}

	printf("\n== %zu schedules (3 zones): start-up and memory ==\n", n);
	printf("  %-44s %10.1f ms  (%.2f us/schedule)\n",
	       "load the YAML config (checked)", (t1 - t0) / 1e6,
	       (t1 - t0) / 1e3 / (double)n);
	printf("  %-44s %10.1f ms  (%.2f us/schedule)\n",
	       "build the schedule set (hash, heap, next)", (t2 - t1) / 1e6,
	       (t2 - t1) / 1e3 / (double)n);
	printf("  %-44s %10.1f ms  (%.2f us/schedule)\n",
	       "baseline: cron parse + one next time", base_ns / 1e6,
	       base_ns / 1e3 / (double)n);
	printf("  %-44s %10.2f x baseline\n", "start-up (load + build)",
	       (double)(t2 - t0) / (double)base_ns);
	printf("  %-44s %10.1f MB  (%.0f bytes/schedule)\n",
	       "memory of the set (heap in use)", (r1 - r0) / 1048576.0,
	       (double)(r1 - r0) / (double)n);

	/* the next-due lookup */
	t0 = now_ns();
	for (size_t i = 0; i < peeks; i++)
		sink += drv_sched_peek(set)->due_ms;
	t1 = now_ns();
	for (size_t i = 0; i < lookups; i++) {
		it = drv_sched_peek(set);
		drv_sched_set_next(set, it, drv_sched_next_time(it,
							       it->next_ms));
	}
	t2 = now_ns();
	{
		int64_t s = now_ns();

		for (size_t k = 0; k < scans; k++) {
			drv_sched_item_t *min = NULL;

			for (size_t i = 0; i < drv_sched_count(set); i++) {
				it = drv_sched_at(set, i);
				if (!min || it->due_ms < min->due_ms)
					min = it;
			}
			sink += min->due_ms;
		}
		base_ns = (now_ns() - s) / (int64_t)scans;
	}
	printf("\n== next-due lookup among %zu schedules ==\n", n);
	printf("  %-44s %10.1f ns\n", "peek at the earliest (heap)",
	       (double)(t1 - t0) / (double)peeks);
	printf("  %-44s %10.1f ns\n", "take it and move it on (heap + cron)",
	       (double)(t2 - t1) / (double)lookups);
	printf("  %-44s %10.1f ns\n", "baseline: scan every schedule",
	       (double)base_ns);
	printf("  %-44s %10.0f x faster than the scan\n", "peek",
	       (double)base_ns * (double)peeks / (double)(t1 - t0));
	printf("  %-44s %10.0f x faster than the scan\n", "take and move on",
	       (double)base_ns * (double)lookups / (double)(t2 - t1));
	drv_sched_destroy(set);
	return sink != 42;
}

/* ------------------------------------------------------------ part 2 */

/* A reader of the band topics from their end; topics just made may not
 * have a leader for a moment. */
static bench_reader_t *reader(bench_ns_t *ns)
{
	bench_reader_t *rd = NULL;

	for (int i = 0; i < 20 && !rd && !bench_stop; i++) {
		if (i)
			usleep(500 * 1000);
		rd = bench_reader_new(ns, true, BENCH_READ_BANDS);
	}
	return rd;
}

typedef struct run {
	bench_pct_t late;
	size_t want, got;
} run_t;

/* Read band tasks until \p want came or \p until_ms; lateness against
 * their nominal time (or \p nominal_ms when it is not 0). */
static void collect(bench_reader_t *rd, size_t want, int64_t until_ms,
		    int64_t nominal_ms, run_t *r)
{
	int64_t *late = calloc(want + 1, sizeof(*late));
	bench_msg_t m;

	r->want = want;
	r->got = 0;
	while (late && r->got < want && drv_now_ms() < until_ms &&
	       !bench_stop) {
		int rc = bench_reader_next(rd, 200, &m);

		if (rc != 1 || m.kind != BENCH_MSG_BAND_TASK)
			continue;
		late[r->got++] = m.produced_ms - (nominal_ms ? nominal_ms :
						  m.scheduled_ms);
	}
	bench_pct_compute(late, r->got, &r->late);
	free(late);
}

static bool coordinator_run(bench_ns_t *ns, const char *tag, size_t n,
			    bool every_second, size_t fires, run_t *r)
{
	size_t cap = 512 + strlen(ns->base_yaml) + n * 96, len;
	char *text = malloc(cap), path[400], id[64], cron[32];
	int64_t fire = (drv_now_ms() / 1000 + 12) * 1000;
	bench_reader_t *rd;
	bench_worker_t w;
	bool ok;

	if (!text)
		return false;
	/* every second; or every schedule due at the same second, once a
	 * minute */
	if (every_second)
		drv_strlcpy(cron, "* * * * * *", sizeof(cron));
	else
		drv_fmt(cron, sizeof(cron), "%d * * * * *",
			(int)(fire / 1000 % 60));
	drv_fmt(text, cap, "%sredis:\n  key_prefix: \"%s%s:\"\n"
		"coordinator:\n  group: \"%s%scoord\"\n  http_port: 0\n"
		"schedules:\n", ns->base_yaml, ns->prefix, tag, ns->prefix,
		tag);
	len = strlen(text);
	for (size_t i = 0; i < n; i++) {
		if (!drv_fmt(text + len, cap - len, "  f%zu:\n    cron: "
			     "\"%s\"\n    handler: noop\n", i, cron))
			break;
		len += strlen(text + len);
	}
	drv_fmt(path, sizeof(path), "%s/%s.yaml", ns->dir, tag);
	{
		FILE *f = fopen(path, "w");

		if (!f || fputs(text, f) < 0) {
			bench_log("cannot write %s", path);
			free(text);
			if (f)
				fclose(f);
			return false;
		}
		fclose(f);
	}
	free(text);
	if (!(rd = reader(ns)))
		return false;
	drv_fmt(id, sizeof(id), "bench-coordinator-%s", tag);
	if (!bench_daemon_start(&w, ns, "coordinator/drover-coordinator", path,
				id)) {
		bench_reader_destroy(rd);
		return false;
	}
	if (every_second)
		collect(rd, fires, drv_now_ms() + (int64_t)fires * 1000 + 15000,
			0, r);
	else
		collect(rd, n, fire + 30000, 0, r);
	ok = bench_worker_stop(&w, 20000);
	if (r->got < r->want) {
		bench_log("%s: %zu of %zu fires read; the coordinator's log:",
			  tag, r->got, r->want);
		bench_worker_tail(&w, 20);
	}
	bench_reader_destroy(rd);
	return ok && r->got == r->want;
}

static bool baseline_run(bench_ns_t *ns, size_t n, run_t *r)
{
	drv_delivery_t *dr = calloc(n, sizeof(*dr));
	drv_task_t t;
	bench_reader_t *rd = reader(ns);
	char topic[256], err[256];
	int64_t at = (drv_now_ms() / 1000 + 2) * 1000;
	size_t waiting = n;

	if (!dr || !rd) {
		free(dr);
		bench_reader_destroy(rd);
		return false;
	}
	while (drv_now_ms() < at)
		usleep(1000);
	for (size_t i = 0; i < n; i++) {
		drv_task_init(&t);
		drv_id_new(t.id, drv_now_ms());
		t.handler = drv_strdup("noop");
		drv_task_route(ns->cfg, &t, drv_now_ms(), topic,
			       sizeof(topic));
		if (drv_task_produce(ns->producer, &t, topic, &dr[i], err,
				     sizeof(err)))
			bench_log("baseline produce: %s", err);
		drv_task_release(&t);
	}
	while (waiting) {
		waiting = 0;
		for (size_t i = 0; i < n; i++)
			waiting += !dr[i].done;
		rd_kafka_poll(ns->producer, 5);
	}
	collect(rd, n, drv_now_ms() + 20000, at, r);
	bench_reader_destroy(rd);
	free(dr);
	return r->got == n;
}

static void print_run(const char *name, const run_t *r, const run_t *b,
		      int64_t target)
{
	if (!r->got) {
		printf("  %-36s did not run\n", name);
		return;
	}
	printf("  %-36s n=%-6zu p50 %5lld ms  p99 %5lld ms  max %5lld ms",
	       name, r->got, (long long)r->late.p50, (long long)r->late.p99,
	       (long long)r->late.max);
	if (b && b->late.p99 > 0)
		printf("  p99 = %.2f x baseline", (double)r->late.p99 /
		       (double)b->late.p99);
	if (target)
		printf("  (target p99 <= %lld ms: %s)", (long long)target,
		       r->late.p99 <= target ? "met" : "MISSED");
	printf("\n");
}

static bool part2(size_t n, size_t fires)
{
	bench_ns_t ns;
	run_t many = { 0 }, one = { 0 }, base = { 0 }, base1 = { 0 };
	bool ok;

	ok = bench_ns_open(&ns, "sched", "handlers:\n  noop:\n    type: "
			   "noop\n");
	if (ok)
		ok = baseline_run(&ns, n, &base) & baseline_run(&ns, 1, &base1);
	if (ok)
		ok = coordinator_run(&ns, "one", 1, true, fires, &one);
	if (ok)
		ok = coordinator_run(&ns, "many", n, false, 0, &many);
	printf("\n== fire accuracy of drover-coordinator (lateness of the "
	       "publish after the nominal time) ==\n");
	print_run("baseline: plain producer, 1 task", &base1, NULL, 0);
	print_run("one schedule, every second", &one, &base1, 100);
	print_run("baseline: plain producer, n tasks", &base, NULL, 0);
	print_run("n schedules due in the same second", &many, &base, 1000);
	bench_ns_close(&ns);
	return ok;
}

int main(int argc, char **argv)
{
	size_t n = (size_t)bench_env_int("BENCH_SCHEDULES", 100000, 1,
					 10000000);
	size_t fire_n = (size_t)bench_env_int("BENCH_FIRE_SCHEDULES", 10000, 1,
					      1000000);
	size_t fires = (size_t)bench_env_int("BENCH_SINGLE_FIRES", 10, 1,
					     3600);
	bool ok;

	if (argc > 1) {
		fprintf(stderr, "usage: %s (settings come from the "
			"environment: BENCH_SCHEDULES, BENCH_FIRE_SCHEDULES, "
			"BENCH_SINGLE_FIRES)\n", argv[0]);
		return 2;
	}
	bench_signals_install();
	ok = part1(n);
	if (!getenv("DROVER_KAFKA_BROKERS")) {
		bench_log("DROVER_KAFKA_BROKERS unset: fire accuracy needs the "
			  "stack bench/run starts; skipped");
		return ok ? 0 : 1;
	}
	ok &= part2(fire_n, fires);
	return ok ? 0 : 1;
}
