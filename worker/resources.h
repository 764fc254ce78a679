/*
 * resources.h — how much CPU and memory the worker's container (cgroup v2)
 * or, outside one, the machine (/proc) is using, for backpressure.
 *
 * In a cgroup v2 container: memory = memory.current / memory.max.
 * Otherwise: memory = 1 - MemAvailable / MemTotal from meminfo.
 *
 * CPU depends on the scope (worker.cpu_scope):
 *   - process (the default): a cgroup with a CPU limit (a quota in
 *     cpu.max) is the worker's own container: the growth of cpu.stat
 *     usage_usec over wall time, divided by the quota. Without one, the
 *     growth of the worker's own CPU time (utime + stime + cutime + cstime
 *     of <proc>/self/stat: itself and the handler processes it has
 *     reaped) over wall time, divided by the machine's CPUs. Other
 *     processes on the host never count.
 *   - host: cpu.stat's usage_usec of the cgroup root (divided by the
 *     quota, or by the machine's CPUs when cpu.max is "max" or absent),
 *     else the busy share of the first line of <proc>/stat: every process
 *     on the machine counts.
 * The roots are parameters, and the CPU count a field, so tests can point
 * them at fixture files.
 *
 * @locality one thread (the worker's main thread); not thread-safe.
 */
#ifndef DROVER_WORKER_RESOURCES_H
#define DROVER_WORKER_RESOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "drover/config.h"

typedef struct resources {
	char    cg[256], proc[256];
	drv_cpu_scope_t scope;
	double  cpus;                          /* the machine's CPUs online */
	int64_t last_usage_us, last_wall_us;   /* cgroup or process sample */
	int64_t last_busy, last_total;         /* /proc/stat sample */
	bool    have_sample;
} resources_t;

/* Remember the roots ("/sys/fs/cgroup", "/proc") and the CPU scope;
 * counts the CPUs online; no other I/O. */
void resources_init(resources_t *r, const char *cgroup_root,
		    const char *proc_root, drv_cpu_scope_t scope);

/* Percent of the memory limit in use; false if neither source reads. */
bool resources_memory(resources_t *r, double *pct);

/* Percent of the CPU quota used since the previous call (\p now_us: a
 * monotonic clock in microseconds); false on the first call or if neither
 * source reads. */
bool resources_cpu(resources_t *r, int64_t now_us, double *pct);

#endif /* DROVER_WORKER_RESOURCES_H */
