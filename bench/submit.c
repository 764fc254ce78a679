/*
 * submit.c — getting tasks into Kafka from the command line.
 *
 *  1. Baseline: BENCH_SUBMIT_TASKS (default 200,000) `noop` tasks produced
 *     by a bare loop over the core's drv_task_produce() in this process
 *     (bench_produce_tasks: no JSON, no process start), every
 *     acknowledgement awaited.
 *  2. `droverctl task submit --file` on the same number of JSON lines (a
 *     small payload each): start, parse, produce through the bulk path,
 *     print every id, audit. Printed as tasks/s and as a ratio of 1.
 *     Target (the issue): >= 100,000 tasks/s into Kafka.
 *  3. One `droverctl task submit` at a time, BENCH_SUBMIT_SINGLES times
 *     (default 20): p50 / max wall time, beside `droverctl --version`
 *     (a process start with nothing to do) and `droverctl config check`
 *     (start and config load, no Kafka): what a single submit pays
 *     beyond starting.
 *
 * It prints figures and never fails on one. Exit status: 0 when every step
 * ran, 1 otherwise, 2 on bad usage. Run through bench/run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "bench.h"

static double rate(size_t n, int64_t ms)
{
	return ms > 0 ? (double)n * 1000.0 / (double)ms : 0;
}

/* Run \p args \p k times; their wall times' percentiles into \p out. */
static bool repeat(const bench_ns_t *ns, char *const *args, int k,
		   bench_pct_t *out)
{
	int64_t *ms = calloc((size_t)k, sizeof(*ms));
	bench_run_t r;
	bool ok = ms != NULL;

	for (int i = 0; ok && i < k && !bench_stop; i++) {
		ok = bench_ctl(ns, &r, args);
		ms[i] = r.ms;
	}
	if (ok)
		bench_pct_compute(ms, (size_t)k, out);
	free(ms);
	return ok;
}

int main(int argc, char **argv)
{
	bench_ns_t ns = { 0 };
	size_t n = (size_t)bench_env_int("BENCH_SUBMIT_TASKS", 200000, 100,
					 10000000);
	int k = (int)bench_env_int("BENCH_SUBMIT_SINGLES", 20, 1, 1000);
	char path[320], topic[256], a[32], b[32];
	char *file_args[] = { "task", "submit", "--file", path, NULL };
	char *one_args[] = { "task", "submit", "--handler", "noop", NULL };
	char *version_args[] = { "--version", NULL };
	char *check_args[] = { "config", "check", ns.config, NULL };
	bench_produce_t base = { .handler = "noop",
				 .payload = "{\"image\":\"a.png\"}" };
	bench_pct_t one, version, check;
	bench_run_t file;
	double base_rate, file_rate;
	FILE *f;
	bool ok;

	if (!bench_no_args(argc, argv))
		return 2;
	bench_signals_install();
	if (!bench_ns_open(&ns, "submit", "handlers:\n  noop:\n    type: noop\n")) {
		bench_ns_close(&ns);
		return 1;
	}
	bench_ns_band_topic(&ns, topic, sizeof(topic));
	base.n = n;
	bench_log("baseline: producing %zu tasks with drv_task_produce()", n);
	ok = bench_produce_tasks(&ns, topic, &base);
	drv_fmt(path, sizeof(path), "%s/tasks.ndjson", ns.dir);
	if (ok && (f = fopen(path, "w"))) {
		for (size_t i = 0; i < n; i++)
			fprintf(f, "{\"handler\":\"noop\",\"payload\":"
				"{\"image\":\"a.png\",\"n\":%zu}}\n", i);
		ok = fclose(f) == 0;
	} else {
		ok = false;
	}
	bench_log("droverctl task submit --file: %zu lines", n);
	ok = ok && bench_ctl(&ns, &file, file_args);
	bench_log("single submits, %d of each", k);
	ok = ok && repeat(&ns, version_args, k, &version) &&
	     repeat(&ns, check_args, k, &check) &&
	     repeat(&ns, one_args, k, &one);
	if (!ok) {
		printf("INCOMPLETE: a step failed (see above)\n");
		bench_ns_close(&ns);
		return 1;
	}
	base_rate = rate(base.acked, base.elapsed_ms);
	file_rate = rate(n, file.ms);
	printf("\n## submit (drover-bench-submit)\n\n");
	printf("| run | tasks | time | tasks/s | of baseline | peak RSS |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	printf("| baseline: drv_task_produce() loop, in process | %zu | "
	       "%lld ms | %s | 1.00 | — |\n", base.acked,
	       (long long)base.elapsed_ms, bench_thousands(base_rate, a,
							   sizeof(a)));
	printf("| `droverctl task submit --file` (start to exit) | %zu | "
	       "%lld ms | %s | %.2f | %ld MB |\n", n, (long long)file.ms,
	       bench_thousands(file_rate, b, sizeof(b)),
	       base_rate > 0 ? file_rate / base_rate : 0,
	       file.peak_kb / 1024);
	printf("\ntarget >= 100,000 tasks/s into Kafka: %s\n\n",
	       file_rate >= 100000 ? "met" : "NOT met");
	printf("| one process, %d runs each | p50 | max |\n", k);
	printf("|---|---:|---:|\n");
	printf("| `droverctl --version` (start only) | %lld ms | %lld ms |\n",
	       (long long)version.p50, (long long)version.max);
	printf("| `droverctl config check` (start, config) | %lld ms | "
	       "%lld ms |\n", (long long)check.p50, (long long)check.max);
	printf("| `droverctl task submit --handler noop` | %lld ms | "
	       "%lld ms |\n", (long long)one.p50, (long long)one.max);
	bench_ns_close(&ns);
	return 0;
}
