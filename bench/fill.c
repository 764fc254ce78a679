/*
 * fill.c — drover-bench-fill: a big data set in the namespace of an
 * existing config, for the benchmarks written in shell (bench/console).
 *
 *   drover-bench-fill CONFIG DEAD RUNNING
 *
 * DEAD dead letters produced straight to the config's DLQ
 * (bench_dlq_fill(), handler "bench", none "rare") and RUNNING records of
 * running tasks through the task-state writer (bench_running_fill()), the
 * same fills as drover-bench-lists. Topics must exist (droverctl topics
 * ensure). Exit status 0 when both were filled, 1 when not, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* A count argument, or -1. */
static long long count_arg(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return *s && !*end && v >= 0 ? v : -1;
}

int main(int argc, char **argv)
{
	bench_ns_t ns = { 0 };
	long long dead, running;
	bool ok;

	if (argc != 4 || (dead = count_arg(argv[2])) < 0 ||
	    (running = count_arg(argv[3])) < 0) {
		fprintf(stderr, "usage: drover-bench-fill CONFIG DEAD "
			"RUNNING\n");
		return 2;
	}
	bench_signals_install();
	ok = bench_ns_attach(&ns, argv[1]) &&
	     (!dead || bench_dlq_fill(&ns, (size_t)dead, 0)) &&
	     (!running || bench_running_fill(&ns, (size_t)running));
	bench_ns_close(&ns);
	return ok ? 0 : 1;
}
