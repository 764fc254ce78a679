/*
 * test_resources.c — CPU and memory use from cgroup v2 files and from
 * /proc, read from fixture files written here; the CPU of the worker's own
 * cgroup or process by default, of the whole host only when asked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../worker/resources.h"

static char dir[64];

static void put(const char *sub, const char *name, const char *text)
{
	char path[256], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	/* each folder of sub ("proc/self") */
	for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/'));
	     slash++) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/drover-res-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void roots_scope(resources_t *r, drv_cpu_scope_t scope)
{
	char cg[128], proc[128];

	snprintf(cg, sizeof(cg), "%s/cg", dir);
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	resources_init(r, cg, proc, scope);
	r->cpus = 2;    /* whatever this machine has */
}

static void roots(resources_t *r)
{
	roots_scope(r, DRV_CPU_SCOPE_HOST);
}

/* <proc>/self/stat with utime, stime, cutime, cstime (clock ticks) */
static void self_stat(long long ut, long long st, long long cut,
		      long long cst)
{
	char text[512];

	snprintf(text, sizeof(text), "4242 (drover worker) S 1 4242 4242 0 -1 "
		 "4194560 100 0 0 0 %lld %lld %lld %lld 20 0 5 0 99 1000 "
		 "200\n", ut, st, cut, cst);
	put("proc/self", "stat", text);
}

TestSuite(resources, .init = setup, .fini = teardown);

Test(resources, cgroup_memory_and_cpu)
{
	resources_t r;
	double pct = 0;

	put("cg", "memory.current", "900\n");
	put("cg", "memory.max", "1000\n");
	put("cg", "cpu.max", "50000 100000\n");
	put("cg", "cpu.stat", "usage_usec 1000000\nuser_usec 5\n");
	put("proc", "meminfo", "MemTotal: 100 kB\nMemAvailable: 90 kB\n");
	roots(&r);
	cr_assert(resources_memory(&r, &pct));
	cr_assert_float_eq(pct, 90.0, 1e-9);
	cr_assert_not(resources_cpu(&r, 10000000, &pct), "first sample");
	/* 0.4 s of CPU in 1 s of wall time, quota half a CPU: 80% */
	put("cg", "cpu.stat", "usage_usec 1400000\nuser_usec 5\n");
	cr_assert(resources_cpu(&r, 11000000, &pct));
	cr_assert_float_eq(pct, 80.0, 1e-9);
}

Test(resources, cgroup_without_a_memory_limit_uses_the_machine)
{
	resources_t r;
	double pct = 0;

	put("cg", "memory.current", "51200\n");
	put("cg", "memory.max", "max\n");
	put("proc", "meminfo", "MemTotal: 100 kB\nMemAvailable: 90 kB\n");
	roots(&r);
	cr_assert(resources_memory(&r, &pct));
	cr_assert_float_eq(pct, 50.0, 1e-9);
}

Test(resources, proc_when_not_in_a_cgroup)
{
	resources_t r;
	double pct = 0;

	put("proc", "meminfo", "MemTotal:       1000 kB\nMemFree: 1 kB\n"
	    "MemAvailable:    250 kB\n");
	put("proc", "stat", "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1\n");
	roots(&r);
	cr_assert(resources_memory(&r, &pct));
	cr_assert_float_eq(pct, 75.0, 1e-9);
	cr_assert_not(resources_cpu(&r, 1, &pct));
	/* +300 busy, +100 idle */
	put("proc", "stat", "cpu  300 0 200 800 100 0 0 0 0 0\n");
	cr_assert(resources_cpu(&r, 2, &pct));
	cr_assert_float_eq(pct, 75.0, 1e-9);
}

Test(resources, nothing_to_read)
{
	resources_t r;
	double pct;

	roots(&r);
	cr_assert_not(resources_memory(&r, &pct));
	cr_assert_not(resources_cpu(&r, 1, &pct));
	cr_assert_not(resources_cpu(&r, 2, &pct));
}

/* Issue 14: on a shared host with no cgroup CPU limit, a busy other
 * process must not count: by default only the worker's own CPU time does. */
Test(resources, process_scope_ignores_other_busy_processes)
{
	long hz = sysconf(_SC_CLK_TCK);
	resources_t r;
	double pct = 0;

	cr_assert_gt(hz, 0);
	/* the host's root cgroup (no cpu.max there) and /proc/stat both say
	 * the machine is 100% busy */
	put("cg", "cpu.stat", "usage_usec 1000000\n");
	put("proc", "stat", "cpu  100 0 100 700 100 0 0 0 0 0\n");
	self_stat(0, 0, 0, 0);
	roots_scope(&r, DRV_CPU_SCOPE_PROCESS);
	cr_assert_not(resources_cpu(&r, 10000000, &pct), "first sample");
	put("cg", "cpu.stat", "usage_usec 3000000\n");          /* 2 CPUs, 1 s */
	put("proc", "stat", "cpu  1100 0 1100 700 100 0 0 0 0 0\n");
	/* the worker itself: a tenth of a second of one CPU, split between
	 * itself and a reaped handler process */
	self_stat(hz / 40, hz / 40, hz / 40, hz / 40);
	cr_assert(resources_cpu(&r, 11000000, &pct));
	cr_assert_float_eq(pct, 100.0 * (4 * (hz / 40)) / hz / 2, 1e-9,
			   "%g%%", pct);
	cr_assert_lt(pct, 10.0, "other processes counted: %g%%", pct);

	/* asked for, the host's view: the same readings are 100% */
	roots_scope(&r, DRV_CPU_SCOPE_HOST);
	put("cg", "cpu.stat", "usage_usec 1000000\n");
	cr_assert_not(resources_cpu(&r, 10000000, &pct));
	put("cg", "cpu.stat", "usage_usec 3000000\n");
	cr_assert(resources_cpu(&r, 11000000, &pct));
	cr_assert_float_eq(pct, 100.0, 1e-9);
}

Test(resources, process_scope_uses_a_limited_cgroup)
{
	resources_t r;
	double pct = 0;

	/* a container with half a CPU: its cgroup is the worker's own */
	put("cg", "cpu.max", "50000 100000\n");
	put("cg", "cpu.stat", "usage_usec 1000000\n");
	self_stat(0, 0, 0, 0);
	roots_scope(&r, DRV_CPU_SCOPE_PROCESS);
	cr_assert_not(resources_cpu(&r, 10000000, &pct));
	put("cg", "cpu.stat", "usage_usec 1400000\n");
	cr_assert(resources_cpu(&r, 11000000, &pct));
	cr_assert_float_eq(pct, 80.0, 1e-9);
}

Test(resources, process_scope_reads_a_command_name_with_spaces)
{
	long hz = sysconf(_SC_CLK_TCK);
	resources_t r;
	double pct = 0;

	put("proc/self", "stat", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 "
	    "20 0 1 0 1 1 1\n");
	roots_scope(&r, DRV_CPU_SCOPE_PROCESS);
	cr_assert_not(resources_cpu(&r, 1000000, &pct));
	{
		char text[256];

		snprintf(text, sizeof(text), "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 "
			 "0 %ld 0 0 0 20 0 1 0 1 1 1\n", hz);
		put("proc/self", "stat", text);
	}
	/* one CPU-second in one second, of 2 CPUs */
	cr_assert(resources_cpu(&r, 2000000, &pct));
	cr_assert_float_eq(pct, 50.0, 1e-9);
}

Test(resources, process_scope_without_self_stat_reads_nothing)
{
	resources_t r;
	double pct;

	put("proc", "stat", "cpu  100 0 100 700 100 0 0 0 0 0\n");
	roots_scope(&r, DRV_CPU_SCOPE_PROCESS);
	cr_assert_not(resources_cpu(&r, 1, &pct));
	cr_assert_not(resources_cpu(&r, 2, &pct));
}
