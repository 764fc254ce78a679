/*
 * state.c — drover-bench-state: what the per-state task index
 * (worker.task_index) costs the task-state writer and Redis, and how fast
 * the task list pages through it.
 *
 *   1. write: BENCH_STATE_TASKS tasks (default 200,000), each recorded the
 *      way a worker records it (running, then succeeded: two records),
 *      through drv_state_t into the stack's Redis, with the index on and
 *      off, interleaved on-off-off-on BENCH_STATE_ROUNDS times (default
 *      1), each run in a key prefix of its own. records/s from the first
 *      record queued to the last one written; Redis used_memory per task
 *      before the keys expire. The plain run (index off) is the baseline:
 *      the ratio is on / off.
 *   2. list: on the last run's keys (index on), drv_task_list() pages of 50:
 *      the first page with no filter, and a page with a handler filter
 *      that one task in 100 passes (the scan budget then decides), as p50
 *      and p99 of BENCH_STATE_PAGES calls (default 50).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"
#include "drover/task_list.h"

#define ROUNDS_MAX 5

typedef struct run {
	bool    index;
	char    prefix[64];
	bool    ok;
	double  rate;          /* records/s */
	double  bytes_per_task;
} run_t;

static drv_config_t *config(const char *prefix, bool index)
{
	const char *url = getenv("DROVER_REDIS_URL");
	char yaml[1024], err[256] = "";
	drv_config_t *cfg = NULL;

	drv_fmt(yaml, sizeof(yaml),
		"redis:\n  url: \"%s\"\n  key_prefix: \"%s\"\n"
		"worker:\n  task_state_ttl: 10m\n  task_index: %s\n",
		url ? url : "redis://127.0.0.1:6379", prefix,
		index ? "true" : "false");
	if (drv_config_load_string("bench.yaml", yaml, strlen(yaml), NULL,
				   &cfg, err, sizeof(err)) != DRV_OK) {
		bench_log("config: %s", err);
		return NULL;
	}
	return cfg;
}

static long long used_memory(redisContext *c)
{
	redisReply *r = redisCommand(c, "INFO memory");
	const char *p;
	long long v = -1;

	if (r && r->type == REDIS_REPLY_STRING &&
	    (p = strstr(r->str, "used_memory:")))
		v = strtoll(p + strlen("used_memory:"), NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Delete every key under \p prefix: SCAN and one DEL per batch, never
 * KEYS (which would stall Redis for the other users of the stack); DEL,
 * not UNLINK, so the memory is free before the next run measures its own. */
static void drop_keys(redisContext *c, const char *prefix)
{
	char cursor[32] = "0";

	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s* COUNT 5000",
					     cursor, prefix);
		const char **argv;
		size_t n;

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return;
		}
		drv_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
		n = r->element[1]->elements;
		if (n && (argv = calloc(n + 1, sizeof(*argv)))) {
			argv[0] = "DEL";
			for (size_t i = 0; i < n; i++)
				argv[i + 1] = r->element[1]->element[i]->str;
			freeReplyObject(redisCommandArgv(c, (int)n + 1, argv,
							 NULL));
			free(argv);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") && !bench_stop);
}

static void write_run(run_t *run, size_t tasks, redisContext *look,
		      int seq, int64_t timeout_ms)
{
	/* room for every record twice over: the writer's rate is measured,
	 * not its shedding of running records half a queue behind */
	drv_state_opts_t opts = { .queue_max = 4 * tasks + 16 };
	drv_config_t *cfg;
	drv_state_t *st;
	drv_state_stats_t s = { 0 };
	char err[256] = "", id[32], label[40];
	long long mem0, mem1;
	int64_t t0, deadline, now = drv_now_ms();

	drv_fmt(run->prefix, sizeof(run->prefix), "benchst%d-%d:",
		(int)getpid(), seq);
	if (!(cfg = config(run->prefix, run->index)))
		return;
	mem0 = used_memory(look);
	if (!(st = drv_state_new(cfg, &opts, err, sizeof(err)))) {
		bench_log("state writer: %s", err);
		drv_config_destroy(cfg);
		return;
	}
	t0 = drv_mono_ms();
	for (size_t i = 0; i < tasks && !bench_stop; i++) {
		drv_state_rec_t r = {
			.task_id = id, .state = DRV_TASK_RUNNING, .attempt = 1,
			.handler = i % 100 ? "resize" : "rare",
			.worker = "bench-worker", .created_ms = now,
			.started_ms = now, .priority = 5,
			.labels = "{\"tenant\":\"acme\"}",
		};

		drv_fmt(id, sizeof(id), "bench%010zu", i);
		drv_state_record(st, &r);
		r.state = DRV_TASK_SUCCEEDED;
		r.finished_ms = now + 1;
		r.labels = NULL;
		drv_state_record(st, &r);
	}
	deadline = t0 + timeout_ms;
	do {
		drv_state_stats(st, &s);
		if (s.written >= 2 * tasks || s.dropped)
			break;
		usleep(2000);
	} while (drv_mono_ms() < deadline && !bench_stop);
	run->ok = s.written >= 2 * tasks && !s.dropped;
	run->rate = (double)s.written * 1000.0 /
		    (double)(drv_mono_ms() - t0 + 1);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
	mem1 = used_memory(look);
	if (mem0 >= 0 && mem1 >= 0)
		run->bytes_per_task = (double)(mem1 - mem0) / (double)tasks;
	drv_fmt(label, sizeof(label), "index %s", run->index ? "on" : "off");
	bench_log("%s: %llu of %zu records written (%llu dropped, %llu "
		  "errors)", label, (unsigned long long)s.written, 2 * tasks,
		  (unsigned long long)s.dropped, (unsigned long long)s.errors);
}

/* p50/p99 in microseconds of \p pages drv_task_list() calls of \p f. */
static bool list_pages(redisContext *c, const char *prefix,
		       const drv_task_filter_t *f, int pages, bench_pct_t *out,
		       size_t *got, size_t *scanned)
{
	int64_t *us = calloc((size_t)pages, sizeof(*us));
	char err[256] = "";
	bool ok = us != NULL;

	for (int i = 0; ok && i < pages && !bench_stop; i++) {
		drv_task_page_t p;
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		ok = drv_task_list(c, prefix, f, NULL, 50, &p, err,
				   sizeof(err)) == DRV_OK;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!ok) {
			bench_log("task list: %s", err);
			break;
		}
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 +
			(b.tv_nsec - a.tv_nsec) / 1000;
		*got = p.cnt;
		*scanned = p.scanned;
		drv_task_page_release(&p);
	}
	if (ok)
		bench_pct_compute(us, (size_t)pages, out);
	free(us);
	return ok;
}

int main(int argc, char **argv)
{
	size_t tasks = (size_t)bench_env_int("BENCH_STATE_TASKS", 200000, 10,
					     5000000);
	int rounds = (int)bench_env_int("BENCH_STATE_ROUNDS", 1, 1,
					ROUNDS_MAX);
	int pages = (int)bench_env_int("BENCH_STATE_PAGES", 50, 1, 10000);
	int64_t timeout_ms = bench_env_int("BENCH_TIMEOUT", 60, 5, 3600) *
			     1000;
	run_t runs[4 * ROUNDS_MAX];
	int nruns = 4 * rounds, n_on = 0, n_off = 0, last_on = -1;
	double on = 0, off = 0, mem_on = 0, mem_off = 0;
	drv_config_t *cfg;
	redisContext *look = NULL;
	char err[256] = "", a[32];
	bool ok = true;

	if (!bench_no_args(argc, argv))
		return 2;
	bench_signals_install();
	if (!(cfg = config("benchst-look:", false)))
		return 1;
	if (drv_redis_connect(cfg, &look, err, sizeof(err)) != DRV_OK) {
		bench_log("redis: %s", err);
		drv_config_destroy(cfg);
		return 1;
	}
	memset(runs, 0, sizeof(runs));
	/* the last run (index on) is kept for the list; the others' keys go
	 * at once */
	for (int i = 0; i < nruns && !bench_stop; i++) {
		runs[i].index = i % 4 == 0 || i % 4 == 3;
		write_run(&runs[i], tasks, look, i, timeout_ms);
		ok &= runs[i].ok;
		if (i < nruns - 1)
			drop_keys(look, runs[i].prefix);
	}
	last_on = nruns - 1;

	printf("\n== task state writer: worker.task_index on vs off, %zu "
	       "tasks x 2 records (running, succeeded), a fresh prefix per "
	       "run ==\n", tasks);
	for (int i = 0; i < nruns; i++) {
		printf("  index %-3s %28s %12s records/s   %6.0f bytes/task "
		       "in Redis%s\n", runs[i].index ? "on" : "off", "",
		       bench_thousands(runs[i].rate, a, sizeof(a)),
		       runs[i].bytes_per_task,
		       runs[i].ok ? "" : "  INCOMPLETE");
		if (!runs[i].ok)
			continue;
		*(runs[i].index ? &on : &off) += runs[i].rate;
		*(runs[i].index ? &mem_on : &mem_off) += runs[i].bytes_per_task;
		(*(runs[i].index ? &n_on : &n_off))++;
	}
	if (n_on && n_off)
		printf("  %-40s %12.4f   (index on / off, mean of %d and %d "
		       "runs; memory %+.0f bytes/task)\n", "records/s on / off",
		       (on / n_on) / (off / n_off), n_on, n_off,
		       mem_on / n_on - mem_off / n_off);

	if (last_on >= 0 && runs[last_on].ok && !bench_stop) {
		drv_task_filter_t all = { 0 }, rare = { .handler = "rare" };
		bench_pct_t p;
		size_t got = 0, scanned = 0;

		printf("\n== task list: pages of 50 over %zu indexed tasks, "
		       "%d calls each ==\n", tasks, pages);
		if ((ok &= list_pages(look, runs[last_on].prefix, &all, pages,
				      &p, &got, &scanned)))
			printf("  %-40s p50 %6.2f ms  p99 %6.2f ms  (%zu tasks, "
			       "%zu read)\n", "first page, no filter",
			       (double)p.p50 / 1000, (double)p.p99 / 1000, got,
			       scanned);
		if (ok && (ok &= list_pages(look, runs[last_on].prefix, &rare,
					   pages, &p, &got, &scanned)))
			printf("  %-40s p50 %6.2f ms  p99 %6.2f ms  (%zu tasks, "
			       "%zu read)\n", "first page, 1 task in 100 passes",
			       (double)p.p50 / 1000, (double)p.p99 / 1000, got,
			       scanned);
	}
	fflush(stdout);
	drop_keys(look, runs[last_on].prefix);
	redisFree(look);
	drv_config_destroy(cfg);
	return ok && !bench_stop ? 0 : 1;
}
