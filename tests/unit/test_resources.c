/*
 * test_resources.c — CPU and memory use from cgroup v2 files and from
 * /proc, read from fixture files written here.
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
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
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

static void roots(resources_t *r)
{
	char cg[128], proc[128];

	snprintf(cg, sizeof(cg), "%s/cg", dir);
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	resources_init(r, cg, proc);
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
