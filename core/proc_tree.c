/*
 * proc_tree.c — the process tree of an exec task, read from /proc/<pid>/stat:
 * the descendants of a task's leader by parent pid, whatever their process
 * group or session (a child that called setsid() leaves the group the
 * timeout kills, not the tree). A descendant whose parent exited is
 * reparented to the worker (a child subreaper) and so leaves the tree; it
 * is found again by the run's mark, an environment entry every process of
 * the run inherits (read from /proc/<pid>/environ), and by having been seen
 * before. Each process is remembered with its start time so a later signal
 * never reaches a process that reused its pid.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "proc_tree.h"

/** Read at most this much of a process's environment to find a run's mark. */
#define ENVIRON_MAX (1024 * 1024)

/* Reads pid, ppid, state and start time of /proc/PID/stat; false when
 * the process is gone. */
static bool read_stat(pid_t pid, pid_t *ppid, char *state, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	int pp = 0;
	size_t n;
	FILE *f;

	drv_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and ')': skip to the last ')' */
	if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %c %d %*d %*d %*d %*d "
	    "%*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	    state, &pp, &st) != 3)
		return false;
	*ppid = pp;
	*start = st;
	return true;
}

/* Every process on the system: pid, ppid, start time. */
struct pentry {
	pid_t pid, ppid;
	uint64_t start;
	char state;
};

static struct pentry *snapshot(size_t *count)
{
	struct pentry *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir("/proc");

	*count = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		int64_t pid;
		struct pentry pe;

		if (drv_parse_int(e->d_name, 1, INT32_MAX, &pid) != DRV_OK)
			continue;
		pe.pid = (pid_t)pid;
		if (!read_stat(pe.pid, &pe.ppid, &pe.state, &pe.start))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if (!(nv = realloc(v, cap * sizeof(*v))))
				break;
			v = nv;
		}
		v[n++] = pe;
	}
	closedir(d);
	*count = n;
	return v;
}

static bool set_has(const proc_set_t *set, pid_t pid)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].pid == pid)
			return true;
	return false;
}

/* Is \p e the very process (pid and start time) recorded in \p set? */
static bool set_has_same(const proc_set_t *set, const struct pentry *e)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].pid == e->pid && set->v[i].start == e->start)
			return true;
	return false;
}

static int set_add(proc_set_t *set, pid_t pid, uint64_t start)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		proc_id_t *nv = realloc(set->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		set->v = nv;
		set->cap = cap;
	}
	set->v[set->n++] = (proc_id_t){ pid, start };
	return 0;
}

/* Does the environment /proc/PID/environ was started with hold the entry
 * \p mark ("KEY=VALUE") exactly? Unreadable (gone, another user): no. */
static bool environ_has(pid_t pid, const char *mark)
{
	size_t ml = strlen(mark), len = 0, cap = 0;
	char path[64], *buf = NULL, *nb;
	bool found = false;
	FILE *f;

	drv_fmt(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	for (;;) {
		size_t r;

		if (len + 4096 + 1 > cap) {
			if (cap >= ENVIRON_MAX ||
			    !(nb = realloc(buf, cap ? cap * 2 : 8192)))
				break;
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		if (!(r = fread(buf + len, 1, cap - len - 1, f)))
			break;
		len += r;
	}
	fclose(f);
	for (size_t off = 0; buf && off < len;) {
		size_t el = strnlen(buf + off, len - off);

		if (el == ml && !memcmp(buf + off, mark, ml)) {
			found = true;
			break;
		}
		off += el + 1;
	}
	free(buf);
	return found;
}

static bool queued(const pid_t *queue, size_t qn, pid_t pid)
{
	for (size_t i = 0; i < qn; i++)
		if (queue[i] == pid)
			return true;
	return false;
}

int proc_snap_take(proc_snap_t *snap)
{
	snap->v = snapshot(&snap->n);
	return snap->v ? 0 : -1;
}

void proc_snap_release(proc_snap_t *snap)
{
	if (!snap)
		return;
	free(snap->v);
	memset(snap, 0, sizeof(*snap));
}

int proc_tree_collect(proc_set_t *set, const proc_snap_t *snap, pid_t root,
		      const char *mark)
{
	proc_snap_t own = { 0 };
	size_t n, head = 0, qn = 0, before = set->n;
	const struct pentry *all;
	pid_t self = getpid(), *queue;
	int rc = 0;

	if (!snap && proc_snap_take(&own) < 0)
		return -1;
	all = snap ? snap->v : own.v;
	n = snap ? snap->n : own.n;
	if (!(queue = malloc((n + 1) * sizeof(*queue)))) {
		proc_snap_release(&own);
		return -1;
	}
	/* the roots: the leader, the members seen before (an orphan keeps
	 * its descendants), and the orphans this subreaper adopted that
	 * carry the run's mark (their parent exited before we saw them) */
	queue[qn++] = root;
	for (size_t i = 0; i < n; i++) {
		bool member = all[i].pid != root && all[i].state != 'Z' &&
			      set_has_same(set, &all[i]);

		if (!member && mark && all[i].ppid == self &&
		    all[i].pid != root && all[i].state != 'Z' &&
		    environ_has(all[i].pid, mark)) {
			member = true;
			if (set_add(set, all[i].pid, all[i].start) < 0)
				rc = -1;
		}
		if (member && qn < n + 1)
			queue[qn++] = all[i].pid;
	}
	/* breadth-first over the parent links; each pid is queued once */
	while (head < qn) {
		pid_t parent = queue[head++];

		for (size_t i = 0; i < n; i++) {
			if (all[i].ppid != parent || all[i].pid == root ||
			    queued(queue, qn, all[i].pid))
				continue;
			queue[qn++] = all[i].pid;
			if (all[i].state != 'Z' && !set_has(set, all[i].pid) &&
			    set_add(set, all[i].pid, all[i].start) < 0)
				rc = -1;
		}
	}
	free(queue);
	proc_snap_release(&own);
	return rc < 0 ? rc : (int)(set->n - before);
}

/* Is the process still the one we recorded? */
static bool same_process(const proc_id_t *p, char *state)
{
	pid_t ppid;
	uint64_t start;

	return read_stat(p->pid, &ppid, state, &start) && start == p->start;
}

void proc_tree_signal(const proc_set_t *set, int sig)
{
	for (size_t i = 0; i < set->n; i++) {
		char state;

		if (same_process(&set->v[i], &state) && state != 'Z')
			kill(set->v[i].pid, sig);
	}
}

void proc_tree_reap(const proc_set_t *set, int64_t wait_ms)
{
	int64_t until = drv_mono_ms() + wait_ms;
	bool pending;

	do {
		pending = false;
		for (size_t i = 0; i < set->n; i++) {
			pid_t ppid;
			uint64_t start;
			char state;
			int st;

			if (!read_stat(set->v[i].pid, &ppid, &state, &start) ||
			    start != set->v[i].start || ppid != getpid())
				continue; /* gone, reused, or not ours */
			if (waitpid(set->v[i].pid, &st, WNOHANG) == 0)
				pending = true;
		}
		if (pending) {
			struct timespec ts = { 0, 10 * 1000000L };

			nanosleep(&ts, NULL);
		}
	} while (pending && drv_mono_ms() < until);
}

void proc_set_release(proc_set_t *set)
{
	if (!set)
		return;
	free(set->v);
	memset(set, 0, sizeof(*set));
}

void proc_reap_zombies(const proc_snap_t *snap, const pid_t *skip,
		       size_t nskip)
{
	proc_snap_t own = { 0 };
	const struct pentry *all;
	pid_t self = getpid();
	size_t n;

	if (!snap)
		proc_snap_take(&own);
	all = snap ? snap->v : own.v;
	n = snap ? snap->n : own.n;
	for (size_t i = 0; all && i < n; i++) {
		bool skipped = false;
		int st;

		if (all[i].ppid != self || all[i].state != 'Z')
			continue;
		for (size_t j = 0; j < nskip && !skipped; j++)
			skipped = skip[j] == all[i].pid;
		if (!skipped)
			waitpid(all[i].pid, &st, WNOHANG);
	}
	proc_snap_release(&own);
}
