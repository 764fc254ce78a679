/*
 * resources.c — reading CPU and memory use from cgroup v2 files or /proc
 * (see resources.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "resources.h"

void resources_init(resources_t *r, const char *cgroup_root,
		    const char *proc_root, drv_cpu_scope_t scope)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(r, 0, sizeof(*r));
	drv_strlcpy(r->cg, cgroup_root, sizeof(r->cg));
	drv_strlcpy(r->proc, proc_root, sizeof(r->proc));
	r->scope = scope;
	r->cpus = n > 0 ? (double)n : 1.0;
}

/* The first line of \p dir/\p name into \p buf; false if unreadable. */
static bool read_line(const char *dir, const char *name, char *buf,
		      size_t size)
{
	char path[600];
	FILE *f;
	bool ok;

	drv_fmt(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "r")))
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	return ok;
}

/* The value of "key N" (cpu.stat) or "Key: N kB" (meminfo) in a file. */
static bool read_key(const char *dir, const char *name, const char *key,
		     int64_t *out)
{
	char path[600], line[256];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f;

	drv_fmt(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "r")))
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) &&
		    (line[klen] == ' ' || line[klen] == ':')) {
			*out = strtoll(line + klen + 1, NULL, 10);
			found = true;
		}
	fclose(f);
	return found;
}

static bool read_int(const char *dir, const char *name, int64_t *out)
{
	char buf[64], *end;

	if (!read_line(dir, name, buf, sizeof(buf)))
		return false;
	*out = strtoll(buf, &end, 10);
	return end != buf;
}

bool resources_memory(resources_t *r, double *pct)
{
	int64_t cur, max, total, avail;

	if (read_int(r->cg, "memory.current", &cur)) {
		if (!read_int(r->cg, "memory.max", &max) || max <= 0) {
			/* "max": no limit of its own, the machine's */
			if (!read_key(r->proc, "meminfo", "MemTotal", &total) ||
			    total <= 0)
				return false;
			max = total * 1024;
		}
		*pct = 100.0 * (double)cur / (double)max;
		return true;
	}
	if (!read_key(r->proc, "meminfo", "MemTotal", &total) ||
	    !read_key(r->proc, "meminfo", "MemAvailable", &avail) ||
	    total <= 0)
		return false;
	*pct = 100.0 * (double)(total - avail) / (double)total;
	return true;
}

/* The CPUs of the cgroup's quota (cpu.max); 0 when it has none ("max",
 * or no such file). */
static double cgroup_quota(const resources_t *r)
{
	char buf[64];
	long long quota, period;

	if (read_line(r->cg, "cpu.max", buf, sizeof(buf)) &&
	    sscanf(buf, "%lld %lld", &quota, &period) == 2 && quota > 0 &&
	    period > 0)
		return (double)quota / (double)period;
	return 0;
}

/* CPU time in microseconds \p usage_us (cumulative) sampled at \p now_us:
 * percent of \p cpus used since the previous sample; false on the first
 * one. */
static bool usage_sample(resources_t *r, int64_t usage_us, int64_t now_us,
			 double cpus, double *pct)
{
	int64_t du = usage_us - r->last_usage_us;
	int64_t dw = now_us - r->last_wall_us;
	bool had = r->have_sample;

	r->last_usage_us = usage_us;
	r->last_wall_us = now_us;
	r->have_sample = true;
	if (!had || dw <= 0 || du < 0)
		return false;
	*pct = 100.0 * (double)du / ((double)dw * cpus);
	return true;
}

/* The worker's own CPU time (itself and its reaped children) from
 * <proc>/self/stat, in microseconds. */
static bool self_cpu_us(const resources_t *r, int64_t *out)
{
	char path[600], line[1024], *p, *end;
	int64_t ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	bool ok;

	drv_fmt(path, sizeof(path), "%s/self/stat", r->proc);
	if (!(f = fopen(path, "r")))
		return false;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* "pid (comm) state ppid ...": comm may hold spaces and ')' */
	if (!ok || !(p = strrchr(line, ')')) || hz <= 0)
		return false;
	p++;
	/* after comm: field 3 (state) .. 13, then utime stime cutime
	 * cstime (fields 14..17) */
	for (int field = 3; field <= 17; field++, p = end) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return false;
		if (field < 14) {
			end = strchr(p, ' ');
			if (!end)
				return false;
			continue;
		}
		ticks += strtoll(p, &end, 10);
		if (end == p)
			return false;
	}
	*out = ticks * (INT64_C(1000000) / hz);
	return true;
}

/* The busy share of the machine from the first line of <proc>/stat. */
static bool host_stat(resources_t *r, double *pct)
{
	int64_t busy = 0, total = 0, db, dt;
	bool had = r->have_sample;
	char line[512], *p = line + 4, *end;

	if (!read_line(r->proc, "stat", line, sizeof(line)) ||
	    strncmp(line, "cpu ", 4))
		return false;
	for (int i = 0; i < 8; i++, p = end) {
		int64_t v = strtoll(p, &end, 10);

		if (end == p)
			break;
		total += v;
		if (i != 3 && i != 4)  /* idle, iowait */
			busy += v;
	}
	db = busy - r->last_busy;
	dt = total - r->last_total;
	r->last_busy = busy;
	r->last_total = total;
	r->have_sample = true;
	if (!had || dt <= 0)
		return false;
	*pct = 100.0 * (double)db / (double)dt;
	return true;
}

bool resources_cpu(resources_t *r, int64_t now_us, double *pct)
{
	double quota = cgroup_quota(r);
	int64_t usage;

	if (r->scope == DRV_CPU_SCOPE_PROCESS) {
		/* a limited cgroup is the worker's own container */
		if (quota > 0 &&
		    read_key(r->cg, "cpu.stat", "usage_usec", &usage))
			return usage_sample(r, usage, now_us, quota, pct);
		if (!self_cpu_us(r, &usage))
			return false;
		return usage_sample(r, usage, now_us, r->cpus, pct);
	}
	if (read_key(r->cg, "cpu.stat", "usage_usec", &usage))
		return usage_sample(r, usage, now_us,
				    quota > 0 ? quota : r->cpus, pct);
	return host_stat(r, pct);
}
