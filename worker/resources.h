/*
 * resources.h — how much CPU and memory the worker's container (cgroup v2)
 * or, outside one, the machine (/proc) is using, for backpressure.
 *
 * In a cgroup v2 container: memory = memory.current / memory.max, CPU =
 * the growth of cpu.stat usage_usec over wall time, divided by the quota
 * of cpu.max (the machine's CPUs when it is "max"). Otherwise: memory =
 * 1 - MemAvailable / MemTotal from meminfo, CPU = the busy share of the
 * first line of stat. The roots are parameters so tests can point them at
 * fixture files.
 *
 * @locality one thread (the worker's main thread); not thread-safe.
 */
#ifndef DROVER_WORKER_RESOURCES_H
#define DROVER_WORKER_RESOURCES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct resources {
	char    cg[256], proc[256];
	int64_t last_usage_us, last_wall_us;   /* cgroup CPU sample */
	int64_t last_busy, last_total;         /* /proc/stat sample */
	bool    have_sample;
} resources_t;

/* Remember the roots ("/sys/fs/cgroup", "/proc"); no I/O. */
void resources_init(resources_t *r, const char *cgroup_root,
		    const char *proc_root);

/* Percent of the memory limit in use; false if neither source reads. */
bool resources_memory(resources_t *r, double *pct);

/* Percent of the CPU quota used since the previous call (\p now_us: a
 * monotonic clock in microseconds); false on the first call or if neither
 * source reads. */
bool resources_cpu(resources_t *r, int64_t now_us, double *pct);

#endif /* DROVER_WORKER_RESOURCES_H */
