#define _GNU_SOURCE   /* sched_setaffinity, cpu_set_t */
/*
 * bench.c — the plumbing drover's benchmarks share (see bench.h): private
 * namespaces and their config files, producing tasks at a given rate,
 * drover-worker as a child process and its peak RSS, reading lifecycle
 * events and delayed tasks back, per-task records and percentiles,
 * awaiting a known set of tasks' successes, and the paced latency run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "drover/clock.h"
#include "drover/event.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "bench.h"

extern char **environ;

volatile int bench_stop;

/* ------------------------------------------------------------ process */

static void on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

bool bench_no_args(int argc, char **argv)
{
	if (argc <= 1)
		return true;
	fprintf(stderr, "usage: %s  (settings come from BENCH_* environment "
		"variables; see bench/README.md)\n", argv[0]);
	return false;
}

void bench_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void bench_log(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	drv_vfmt(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bench: %s\n", buf);
}

int64_t bench_env_int(const char *name, int64_t def, int64_t min, int64_t max)
{
	const char *s = getenv(name);
	int64_t v;

	if (!s || !*s)
		return def;
	if (drv_parse_int(s, min, max, &v)) {
		bench_log("%s=%s is not a whole number in [%lld, %lld]; using "
			  "%lld", name, s, (long long)min, (long long)max,
			  (long long)def);
		return def;
	}
	return v;
}

const char *bench_build_dir(void)
{
	const char *b = getenv("BENCH_BUILD_DIR");

	return b && *b ? b : "build";
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f) {
		bench_log("cannot write %s: %s", path, strerror(errno));
		return false;
	}
	ok = fputs(text, f) >= 0;
	ok &= fclose(f) == 0;
	if (!ok)
		bench_log("cannot write %s", path);
	return ok;
}

/* A malloc'd string of \p a then \p b. */
static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* ---------------------------------------------------------- namespace */

/* BENCH_KAFKA_PROPERTIES="name=value,name=value" as YAML lines under
 * kafka.properties, for trying librdkafka settings; "" when unset. */
static bool extra_properties(char *buf, size_t size)
{
	const char *s = getenv("BENCH_KAFKA_PROPERTIES");
	size_t len = 0;

	buf[0] = '\0';
	if (s && *s) {
		drv_strlcpy(buf, "  properties:\n", size);
		len = strlen(buf);
	}
	while (s && *s) {
		const char *end = strchr(s, ','), *eq, *bad;
		size_t n = end ? (size_t)(end - s) : strlen(s);
		char line[256];

		eq = memchr(s, '=', n);
		bad = strpbrk(s, "\"\n");
		if (!eq || eq == s || (bad && bad < s + n)) {
			bench_log("BENCH_KAFKA_PROPERTIES: expected "
				  "name=value[,name=value...]");
			return false;
		}
		if (!drv_fmt(line, sizeof(line), "    %.*s: \"%.*s\"\n",
			     (int)(eq - s), s, (int)(s + n - eq - 1), eq + 1) ||
		    len + strlen(line) >= size)
			return false;
		memcpy(buf + len, line, strlen(line) + 1);
		len += strlen(line);
		s = end ? end + 1 : NULL;
	}
	return true;
}

bool bench_ns_open(bench_ns_t *ns, const char *tag, const char *sections_yaml)
{
	char tmpl[] = "/tmp/drover-bench-XXXXXX";
	char head[2048], props[1024], err[512];
	drv_topic_report_t *rep = NULL;
	size_t cnt = 0;
	drv_err_t rc;

	memset(ns, 0, sizeof(*ns));
	if (!mkdtemp(tmpl)) {
		bench_log("mkdtemp: %s", strerror(errno));
		return false;
	}
	drv_strlcpy(ns->dir, tmpl, sizeof(ns->dir));
	drv_fmt(ns->config, sizeof(ns->config), "%s/base.yaml", ns->dir);
	drv_fmt(ns->prefix, sizeof(ns->prefix), "bench%s%dx%lld.", tag,
		(int)getpid(), (long long)(drv_now_ms() % 100000000));
	if (!extra_properties(props, sizeof(props)))
		return false;
	drv_fmt(head, sizeof(head),
		"# written by drover's benchmarks (bench/)\n"
		"kafka:\n"
		"  topic_prefix: \"%s\"\n"
		"  partitions: %lld\n"
		"%s"
		"log:\n"
		"  level: info\n"
		"  format: json\n",
		ns->prefix,
		(long long)bench_env_int("BENCH_PARTITIONS", 6, 1, 1024),
		props);
	if (!(ns->base_yaml = concat(head, sections_yaml)) ||
	    !write_file(ns->config, ns->base_yaml))
		return false;
	if (drv_config_load(ns->config, environ, &ns->cfg, err, sizeof(err))) {
		bench_log("config: %s", err);
		return false;
	}
	if (!(ns->producer = drv_kafka_producer_new(ns->cfg, err,
						    sizeof(err)))) {
		bench_log("producer: %s", err);
		return false;
	}
	rc = drv_topics_ensure(ns->producer, ns->cfg, 30000, &rep, &cnt, err,
			       sizeof(err));
	free(rep);
	if (rc) {
		bench_log("topics ensure (%s*): %s", ns->prefix, err);
		return false;
	}
	return true;
}

bool bench_ns_attach(bench_ns_t *ns, const char *path)
{
	char err[512];

	memset(ns, 0, sizeof(*ns));
	drv_strlcpy(ns->config, path, sizeof(ns->config));
	if (drv_config_load(ns->config, environ, &ns->cfg, err, sizeof(err))) {
		bench_log("config %s: %s", path, err);
		return false;
	}
	if (!(ns->producer = drv_kafka_producer_new(ns->cfg, err,
						    sizeof(err)))) {
		bench_log("producer: %s", err);
		return false;
	}
	return true;
}

/* Remove our temp folder: it holds only files (configs, worker logs). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		drv_fmt(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			bench_log("cannot remove %s: %s", path, strerror(errno));
	}
	if (d)
		closedir(d);
	if (rmdir(dir) != 0)
		bench_log("cannot remove %s: %s", dir, strerror(errno));
}

void bench_ns_close(bench_ns_t *ns)
{
	if (ns->producer) {
		rd_kafka_flush(ns->producer, 5000);
		rd_kafka_destroy(ns->producer);
	}
	drv_config_destroy(ns->cfg);
	free(ns->base_yaml);
	if (ns->dir[0]) {
		if (getenv("BENCH_KEEP"))
			bench_log("kept %s", ns->dir);
		else
			remove_tree(ns->dir);
	}
	memset(ns, 0, sizeof(*ns));
}

bool bench_ns_worker_config(const bench_ns_t *ns, const char *name,
			    const char *group, int concurrency,
			    char *path, size_t path_size)
{
	return bench_ns_worker_config_with(ns, name, group, concurrency, NULL,
					   path, path_size);
}

bool bench_ns_worker_config_with(const bench_ns_t *ns, const char *name,
				 const char *group, int concurrency,
				 const char *extra_yaml, char *path,
				 size_t path_size)
{
	char worker[1024];
	char *text;
	bool ok;

	drv_fmt(path, path_size, "%s/%s.yaml", ns->dir, name);
	drv_fmt(worker, sizeof(worker),
		"worker:\n"
		"  group: \"%s\"\n"
		"  concurrency: %d\n"
		"  lifecycle_events: true\n"
		"  shutdown_grace: 10s\n"
		/* no health/metrics server: other workers on this host
		 * may hold its default port */
		"  http_port: 0\n"
		/* the benchmark keeps this host's CPUs busy itself */
		"  cpu_limit: 0\n"
		"%s",
		group, concurrency, extra_yaml ? extra_yaml : "");
	if (!(text = concat(ns->base_yaml, worker)))
		return false;
	ok = write_file(path, text);
	free(text);
	return ok;
}

bool bench_topic_append_time(const bench_ns_t *ns, const char *topic)
{
	rd_kafka_ConfigResource_t *res =
		rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(ns->producer);
	const rd_kafka_ConfigResource_t **done;
	rd_kafka_event_t *ev;
	const char *why = "no answer in 30 s";
	size_t n = 0;
	bool ok = false;

	/* AlterConfigs replaces every dynamic setting: keep the retention
	 * drv_topics_ensure() gave task topics */
	rd_kafka_ConfigResource_set_config(res, "message.timestamp.type",
					   "LogAppendTime");
	rd_kafka_ConfigResource_set_config(res, "retention.ms", "-1");
	rd_kafka_AlterConfigs(ns->producer, &res, 1, NULL, q);
	if ((ev = rd_kafka_queue_poll(q, 30000))) {
		if (rd_kafka_event_error(ev))
			why = rd_kafka_event_error_string(ev);
		else if ((done = rd_kafka_AlterConfigs_result_resources(
				rd_kafka_event_AlterConfigs_result(ev), &n)) &&
			 n == 1 && rd_kafka_ConfigResource_error(done[0]))
			why = rd_kafka_ConfigResource_error_string(done[0]);
		else
			ok = n == 1;
	}
	if (!ok)
		bench_log("%s: cannot set message.timestamp.type: %s", topic,
			  why ? why : "?");
	rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy(res);
	return ok;
}

void bench_ns_band_topic(const bench_ns_t *ns, char *buf, size_t size)
{
	drv_topic_name(ns->cfg, DRV_TOPIC_TASKS,
		       drv_band_for_priority(ns->cfg,
					     DRV_PRIORITY_DEFAULT)->name, 0,
		       buf, size);
}

/* ----------------------------------------------------------- producing */

static size_t count_acked(const drv_delivery_t *drs, size_t n, size_t *undone)
{
	size_t ok = 0;

	*undone = 0;
	for (size_t i = 0; i < n; i++) {
		if (!__atomic_load_n(&drs[i].done, __ATOMIC_ACQUIRE))
			(*undone)++;
		else if (!drs[i].err)
			ok++;
	}
	return ok;
}

bool bench_produce_tasks(bench_ns_t *ns, const char *topic,
			 bench_produce_t *p)
{
	rd_kafka_t *rk = ns->producer;
	drv_delivery_t *drs = calloc(p->n ? p->n : 1, sizeof(*drs));
	int64_t t0, deadline;
	size_t produced = 0, undone = 0;
	drv_task_t t;
	char err[512];

	p->acked = p->failed = 0;
	p->elapsed_ms = 0;
	if (!drs)
		return false;
	drv_task_init(&t);
	t.handler = drv_strdup(p->handler);
	t.priority = p->priority ? p->priority : DRV_PRIORITY_DEFAULT;
	if (!t.handler ||
	    drv_task_set_payload(&t, p->payload, strlen(p->payload))) {
		drv_task_release(&t);
		free(drs);
		return false;
	}

	t0 = drv_mono_ms();
	for (size_t i = 0; i < p->n && !bench_stop; i++) {
		int64_t give_up;

		if (p->rate > 0) {
			int64_t due = t0 + (int64_t)((double)i * 1000.0 /
						     (double)p->rate);
			int64_t left;
			while ((left = due - drv_mono_ms()) > 0 && !bench_stop)
				rd_kafka_poll(rk, left > 100 ? 100 : (int)left);
		}
		t.created_ms = drv_now_ms();
		drv_id_new(t.id, t.created_ms);
		if (p->keyed) {
			char key[DRV_ID_LEN + 8];

			drv_fmt(key, sizeof(key), "bench:%s", t.id);
			free(t.idempotency_key);
			if (!(t.idempotency_key = drv_strdup(key)))
				break;
		}
		if (p->ids)
			memcpy(p->ids[i], t.id, sizeof(p->ids[i]));
		give_up = drv_mono_ms() + 30000;
		/* a full local queue (or a passing broker hiccup) clears as
		 * delivery reports are served */
		while (drv_task_produce(rk, &t, topic, &drs[i], err,
					sizeof(err))) {
			if (drv_mono_ms() > give_up || bench_stop) {
				bench_log("produce: %s", err);
				goto wait;
			}
			rd_kafka_poll(rk, 10);
		}
		produced++;
		if ((i & 127) == 0)
			rd_kafka_poll(rk, 0);
	}
wait:
	deadline = drv_mono_ms() + 120000;
	while (rd_kafka_flush(rk, 100) == RD_KAFKA_RESP_ERR__TIMED_OUT &&
	       drv_mono_ms() < deadline && !bench_stop)
		;
	p->elapsed_ms = drv_mono_ms() - t0;
	p->acked = count_acked(drs, produced, &undone);
	if (undone) {
		/* so no late report writes into drs after it is freed */
		rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE |
				   RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 50 && rd_kafka_outq_len(rk) > 0; i++)
			rd_kafka_poll(rk, 100);
		p->acked = count_acked(drs, produced, &undone);
	}
	p->failed = p->n - p->acked;
	drv_task_release(&t);
	if (undone)
		bench_log("%zu produces never reported; leaking their records",
			  undone);
	else
		free(drs);
	if (p->failed)
		bench_log("%zu of %zu tasks were not acknowledged", p->failed,
			  p->n);
	return p->failed == 0;
}

/* --------------------------------------------------------------- CPUs */

static struct {
	bool      saved, split;
	cpu_set_t all;       /* what this process started with */
	cpu_set_t rest;      /* split: the stack and this process */
	cpu_set_t worker;    /* split: workers started from then on */
} cpus;

/* Every thread of \p pid (0: this process) onto \p set. */
static bool pin_process(pid_t pid, const cpu_set_t *set)
{
	char dir[64];
	struct dirent *e;
	bool ok = true;
	DIR *d;

	drv_fmt(dir, sizeof(dir), "/proc/%d/task", pid ? (int)pid :
		(int)getpid());
	if (!(d = opendir(dir))) {
		bench_log("%s: %s", dir, strerror(errno));
		return false;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    sched_setaffinity((pid_t)atoi(e->d_name), sizeof(*set),
				      set) != 0 && errno != ESRCH) {
			bench_log("cannot move thread %s of %d: %s", e->d_name,
				  (int)pid, strerror(errno));
			ok = false;
		}
	closedir(d);
	return ok;
}

/* The pid in $DROVER_STACK_DIR/<name>.pid, or 0. */
static pid_t stack_pid(const char *name)
{
	const char *dir = getenv("DROVER_STACK_DIR");
	char path[512];
	long pid = 0;
	FILE *f;

	if (!dir || !*dir)
		return 0;
	drv_fmt(path, sizeof(path), "%s/%s.pid", dir, name);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* The stack's processes and this one onto \p set. */
static bool pin_all(const cpu_set_t *set)
{
	static const char *const names[] = { "kafka", "redis" };
	bool ok = pin_process(0, set);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pid_t pid = stack_pid(names[i]);

		if (!pid)
			bench_log("no %s pid in $DROVER_STACK_DIR: it stays "
				  "on every CPU", names[i]);
		else
			ok &= pin_process(pid, set);
	}
	return ok;
}

bool bench_cpus_split(void)
{
	int last = -1, n = 0;

	if (!cpus.saved) {
		if (sched_getaffinity(0, sizeof(cpus.all), &cpus.all) != 0) {
			bench_log("sched_getaffinity: %s", strerror(errno));
			return false;
		}
		cpus.saved = true;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cpus.all)) {
			last = c;
			n++;
		}
	if (n < 2) {
		bench_log("one CPU: the worker cannot run apart from Kafka");
		return false;
	}
	cpus.rest = cpus.all;
	CPU_CLR(last, &cpus.rest);
	CPU_ZERO(&cpus.worker);
	CPU_SET(last, &cpus.worker);
	if (!pin_all(&cpus.rest)) {
		bench_cpus_share();
		return false;
	}
	cpus.split = true;
	return true;
}

void bench_cpus_share(void)
{
	if (!cpus.saved)
		return;
	pin_all(&cpus.all);
	cpus.split = false;
}

/* ------------------------------------------------------------- worker */

bool bench_worker_start(bench_worker_t *w, const bench_ns_t *ns,
			const char *config, const char *id)
{
	return bench_daemon_start(w, ns, "worker/drover-worker", config, id);
}

bool bench_daemon_start(bench_worker_t *w, const bench_ns_t *ns,
			const char *binary, const char *config, const char *id)
{
	char bin[512];
	char *argv[] = { bin, "-c", (char *)config, "--id", (char *)id, NULL };
	pid_t parent = getpid(), pid;

	memset(w, 0, sizeof(*w));
	drv_fmt(bin, sizeof(bin), "%s/%s", bench_build_dir(), binary);
	drv_fmt(w->log, sizeof(w->log), "%s/%s.log", ns->dir, id);
	if (access(bin, X_OK) != 0) {
		bench_log("%s: %s (run scripts/build first)", bin,
			  strerror(errno));
		return false;
	}
	w->started_mono = drv_mono_ms();
	pid = fork();
	if (pid < 0) {
		bench_log("fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		int log = open(w->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDWR);

		/* never outlive the benchmark */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (cpus.split)
			sched_setaffinity(0, sizeof(cpus.worker), &cpus.worker);
		dup2(null, 0);
		dup2(null, 1);
		dup2(log >= 0 ? log : null, 2);
		execve(bin, argv, environ);
		_exit(127);
	}
	w->pid = pid;
	return true;
}

bool bench_worker_alive(bench_worker_t *w)
{
	int status;

	if (w->pid <= 0)
		return false;
	if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
		w->exit_status = status;
		w->pid = 0;
		return false;
	}
	return true;
}

/* A "Name:   123 kB" line of /proc/<pid>/status, in KiB, or -1. */
static long status_kb(const bench_worker_t *w, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kb = -1;
	FILE *f;

	if (w->pid <= 0)
		return -1;
	drv_fmt(path, sizeof(path), "/proc/%d/status", (int)w->pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

long bench_worker_peak_rss_kb(const bench_worker_t *w)
{
	return status_kb(w, "VmHWM");
}

long bench_worker_rss_kb(const bench_worker_t *w)
{
	return status_kb(w, "VmRSS");
}

bool bench_worker_stop(bench_worker_t *w, int timeout_ms)
{
	int status = 0;

	if (w->pid <= 0)
		return WIFEXITED(w->exit_status) &&
		       WEXITSTATUS(w->exit_status) == 0;
	kill(w->pid, SIGTERM);
	for (int waited = 0;; waited += 20) {
		if (waitpid(w->pid, &status, WNOHANG) == w->pid)
			break;
		if (waited >= timeout_ms) {
			bench_log("worker %d did not stop within %d ms; "
				  "killing it", (int)w->pid, timeout_ms);
			kill(w->pid, SIGKILL);
			waitpid(w->pid, &status, 0);
			break;
		}
		usleep(20 * 1000);
	}
	w->pid = 0;
	w->exit_status = status;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The last 64 KB of \p path, NUL-terminated (caller frees); NULL if it
 * cannot be read. */
static char *read_tail(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size > 65536) {
		fseek(f, size - 65536, SEEK_SET);
		size = 65536;
	} else {
		fseek(f, 0, SEEK_SET);
	}
	buf = size >= 0 ? calloc(1, (size_t)size + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = size;
	return buf;
}

void bench_worker_tail(const bench_worker_t *w, int lines)
{
	long size = 0;
	char *buf = read_tail(w->log, &size), *p;
	int seen = 0;

	if (!buf)
		return;
	for (p = buf + size; p > buf; p--)
		if (p[-1] == '\n' && ++seen > lines)
			break;
	fprintf(stderr, "---- last lines of %s ----\n%s", w->log, p);
	free(buf);
}

long long bench_worker_total(const bench_worker_t *w, const char *name)
{
	long size = 0;
	char *buf = read_tail(w->log, &size), *line, *at, key[64];
	long long v = -1;

	if (!buf)
		return -1;
	drv_fmt(key, sizeof(key), " %s=", name);
	/* the benchmarks' workers log JSON (bench_ns_open()) */
	line = strstr(buf, "\"worker stopped\"");
	while (line && strstr(line + 1, "\"worker stopped\""))
		line = strstr(line + 1, "\"worker stopped\"");
	at = line ? strstr(line, key) : NULL;
	if (line && !at) {
		/* the first counter follows the JSON string's opening quote */
		key[0] = '"';
		at = strstr(line, key);
	}
	if (at)
		v = strtoll(at + strlen(key), NULL, 10);
	free(buf);
	return v;
}

/* ------------------------------------------------------------- reading */

struct bench_reader {
	rd_kafka_t *rk;
	char        events[256];
	char        delay_prefix[128];   /* "<prefix>delay." */
	int64_t     undecodable;
};

/* Add every partition of \p topic to \p parts, from its end or start. */
static bool add_topic(rd_kafka_t *rk, const char *topic, bool from_end,
		      rd_kafka_topic_partition_list_t *parts)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;
	int cnt;

	if (!rkt)
		return false;
	err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	rd_kafka_topic_destroy(rkt);
	if (err || md->topic_cnt != 1 || md->topics[0].err) {
		bench_log("no metadata for %s: %s", topic,
			  rd_kafka_err2str(err ? err : md->topics[0].err));
		if (md)
			rd_kafka_metadata_destroy(md);
		return false;
	}
	cnt = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	for (int p = 0; p < cnt; p++) {
		int64_t lo = 0, hi = RD_KAFKA_OFFSET_BEGINNING;

		/* a topic just made may not have its leaders yet: ask again
		 * for up to 10 s (the smoke run met "Not leader for
		 * partition" once) */
		for (int tries = 0; from_end && tries < 20; tries++) {
			err = rd_kafka_query_watermark_offsets(rk, topic, p,
							       &lo, &hi, 10000);
			if (err != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
			    err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
				break;
			usleep(500 * 1000);
		}
		if (from_end && err) {
			bench_log("watermarks of %s [%d]: %s", topic, p,
				  rd_kafka_err2str(err));
			return false;
		}
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
	}
	return true;
}

bench_reader_t *bench_reader_new(const bench_ns_t *ns, bool from_end,
				 int extra)
{
	rd_kafka_topic_partition_list_t *parts;
	bench_reader_t *r = calloc(1, sizeof(*r));
	rd_kafka_conf_t *conf;
	char err[512], group[128];
	bool ok;

	if (!r)
		return NULL;
	conf = rd_kafka_conf_new();
	drv_fmt(group, sizeof(group), "%sbench-reader", ns->prefix);
	ok = rd_kafka_conf_set(conf, "bootstrap.servers", ns->cfg->kafka.brokers,
			       err, sizeof(err)) == RD_KAFKA_CONF_OK &&
	     rd_kafka_conf_set(conf, "group.id", group, err,
			       sizeof(err)) == RD_KAFKA_CONF_OK &&
	     rd_kafka_conf_set(conf, "enable.auto.commit", "false", err,
			       sizeof(err)) == RD_KAFKA_CONF_OK &&
	     rd_kafka_conf_set(conf, "enable.partition.eof", "false", err,
			       sizeof(err)) == RD_KAFKA_CONF_OK;
	if (!ok || !(r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
					  sizeof(err)))) {
		bench_log("reader: %s", err);
		rd_kafka_conf_destroy(conf);
		free(r);
		return NULL;
	}
	rd_kafka_poll_set_consumer(r->rk);
	drv_topic_name(ns->cfg, DRV_TOPIC_EVENTS, NULL, 0, r->events,
		       sizeof(r->events));
	parts = rd_kafka_topic_partition_list_new(16);
	ok = (extra & (BENCH_READ_HIGH_ONLY | BENCH_READ_BANDS_ONLY)) ||
	     add_topic(r->rk, r->events, from_end, parts);
	drv_fmt(r->delay_prefix, sizeof(r->delay_prefix), "%sdelay.",
		ns->cfg->kafka.topic_prefix);
	for (size_t i = 0; ok && (extra & BENCH_READ_DELAY) &&
			   i < ns->cfg->kafka.delay_tier_cnt; i++) {
		char name[256];

		drv_topic_name(ns->cfg, DRV_TOPIC_DELAY, NULL,
			       ns->cfg->kafka.delay_tiers_ms[i], name,
			       sizeof(name));
		ok = add_topic(r->rk, name, from_end, parts);
	}
	for (size_t i = 0; ok &&
			   (extra & (BENCH_READ_BANDS | BENCH_READ_BANDS_ONLY)) &&
			   i < drv_band_cnt; i++) {
		char name[256];

		drv_topic_name(ns->cfg, DRV_TOPIC_TASKS, drv_bands[i].name, 0,
			       name, sizeof(name));
		ok = add_topic(r->rk, name, from_end, parts);
	}
	if (ok && (extra & BENCH_READ_HIGH_ONLY)) {
		char name[256];

		drv_topic_name(ns->cfg, DRV_TOPIC_TASKS, "high", 0, name,
			       sizeof(name));
		ok = add_topic(r->rk, name, from_end, parts);
	}
	if (ok && rd_kafka_assign(r->rk, parts)) {
		bench_log("reader: cannot assign partitions");
		ok = false;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	if (!ok) {
		bench_reader_destroy(r);
		return NULL;
	}
	return r;
}

static int64_t json_ms(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int decode_event(const rd_kafka_message_t *m, bench_msg_t *out)
{
	drv_event_t e;
	const char *a;
	json_t *body;
	int64_t attempt = 0;
	char err[256];

	drv_event_init(&e);
	if (drv_event_decode_any(m->payload, m->len, &e, err, sizeof(err)))
		return -1;
	out->kind = BENCH_MSG_EVENT;
	drv_strlcpy(out->type, e.type, sizeof(out->type));
	drv_strlcpy(out->source, e.source ? e.source : "", sizeof(out->source));
	drv_strlcpy(out->task_id, e.task_id ? e.task_id : "",
		    sizeof(out->task_id));
	if ((a = drv_event_attribute(&e, "attempt")))
		drv_parse_int(a, 0, UINT32_MAX, &attempt);
	out->attempt = (uint32_t)attempt;
	body = e.payload ? json_loadb((const char *)e.payload, e.payload_len,
				      0, NULL) : NULL;
	out->created_ms = json_ms(body, "created_ms");
	out->started_ms = json_ms(body, "started_ms");
	out->finished_ms = json_ms(body, "finished_ms");
	json_decref(body);
	drv_event_release(&e);
	return 1;
}

static int decode_task(const rd_kafka_message_t *m, bool delayed,
		       bench_msg_t *out)
{
	drv_task_t t;
	char err[256];

	drv_task_init(&t);
	if (drv_task_decode(m->payload, m->len, &t, err, sizeof(err)))
		return -1;
	out->kind = delayed ? BENCH_MSG_DELAYED_TASK : BENCH_MSG_BAND_TASK;
	out->produced_ms = rd_kafka_message_timestamp(m, NULL);
	drv_strlcpy(out->task_id, t.id, sizeof(out->task_id));
	out->attempt = t.attempt;
	out->not_before_ms = t.not_before_ms;
	out->created_ms = t.created_ms;
	out->scheduled_ms = t.origin.scheduled_ms;
	drv_task_release(&t);
	return 1;
}

int bench_reader_next(bench_reader_t *r, int timeout_ms, bench_msg_t *out)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
	const char *topic;
	int rc;

	if (!m)
		return 0;
	if (m->err) {
		rd_kafka_message_destroy(m);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	topic = rd_kafka_topic_name(m->rkt);
	if (!strcmp(topic, r->events))
		rc = decode_event(m, out);
	else
		rc = decode_task(m, !strncmp(topic, r->delay_prefix,
					     strlen(r->delay_prefix)), out);
	if (rc < 0)
		r->undecodable++;
	rd_kafka_message_destroy(m);
	return rc;
}

void bench_reader_destroy(bench_reader_t *r)
{
	if (!r)
		return;
	if (r->rk) {
		rd_kafka_consumer_close(r->rk);
		rd_kafka_destroy(r->rk);
	}
	free(r);
}

/* ------------------------------------------------------ records, stats */

struct bench_map {
	bench_rec_t *slots;
	size_t       cap;   /* power of two */
	size_t       used;
};

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h;
}

bench_map_t *bench_map_new(size_t expected)
{
	bench_map_t *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cap = 64;
	while (m->cap < expected * 2)
		m->cap *= 2;
	if (!(m->slots = calloc(m->cap, sizeof(*m->slots)))) {
		free(m);
		return NULL;
	}
	return m;
}

void bench_map_destroy(bench_map_t *m)
{
	if (m)
		free(m->slots);
	free(m);
}

static bench_rec_t *probe(bench_rec_t *slots, size_t cap, const char *id)
{
	size_t i = (size_t)id_hash(id) & (cap - 1);

	while (slots[i].id[0] && strcmp(slots[i].id, id))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static bool grow(bench_map_t *m)
{
	size_t cap = m->cap * 2;
	bench_rec_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].id[0])
			*probe(slots, cap, m->slots[i].id) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return true;
}

bench_rec_t *bench_map_get(bench_map_t *m, const char *id, bool create)
{
	bench_rec_t *r;

	if (!id[0])
		return NULL;
	r = probe(m->slots, m->cap, id);
	if (r->id[0] || !create)
		return r->id[0] ? r : NULL;
	if ((m->used + 1) * 10 > m->cap * 7) {
		if (!grow(m))
			return NULL;
		r = probe(m->slots, m->cap, id);
	}
	drv_strlcpy(r->id, id, sizeof(r->id));
	m->used++;
	return r;
}

size_t bench_map_size(const bench_map_t *m)
{
	return m->used;
}

void bench_map_each(bench_map_t *m, void (*fn)(bench_rec_t *r, void *arg),
		    void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].id[0])
			fn(&m->slots[i], arg);
}

int64_t bench_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p% of the sample at or
 * below it. */
static int64_t rank(const int64_t *v, size_t n, unsigned p)
{
	size_t r = (p * n + 99) / 100;

	return v[r ? r - 1 : 0];
}

void bench_pct_compute(int64_t *v, size_t n, bench_pct_t *out)
{
	double sum = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_i64);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	out->min = v[0];
	out->p50 = rank(v, n, 50);
	out->p90 = rank(v, n, 90);
	out->p95 = rank(v, n, 95);
	out->p99 = rank(v, n, 99);
	out->max = v[n - 1];
	out->mean = sum / (double)n;
}

const char *bench_thousands(double x, char *buf, size_t size)
{
	char digits[32], tmp[48];
	size_t len, j = 0;
	long long v = llround(x);
	bool neg = v < 0;

	drv_fmt(digits, sizeof(digits), "%lld", neg ? -v : v);
	len = strlen(digits);
	if (neg)
		tmp[j++] = '-';
	for (size_t i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			tmp[j++] = ',';
		tmp[j++] = digits[i];
	}
	tmp[j] = '\0';
	drv_strlcpy(buf, tmp, size);
	return buf;
}

bool bench_ctl(const bench_ns_t *ns, bench_run_t *r, char *const *args)
{
	char bin[512], log[320];
	char *argv[24];
	int n = 0, status = 0;
	int64_t t0 = drv_mono_ms(), limit;
	struct rusage ru;
	pid_t pid, w = 0;

	drv_fmt(bin, sizeof(bin), "%s/ctl/droverctl", bench_build_dir());
	drv_fmt(log, sizeof(log), "%s/ctl.log", ns->dir);
	argv[n++] = bin;
	argv[n++] = "-c";
	argv[n++] = (char *)ns->config;
	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	limit = t0 + bench_env_int("BENCH_TIMEOUT", 60, 5, 3600) * 1000;
	if ((pid = fork()) < 0)
		return false;
	if (pid == 0) {
		FILE *f = fopen(log, "a");

		if (f) {
			dup2(fileno(f), 1);
			dup2(fileno(f), 2);
		}
		execve(bin, argv, environ);
		_exit(127);
	}
	while ((w = wait4(pid, &status, WNOHANG, &ru)) == 0) {
		if (drv_mono_ms() > limit || bench_stop) {
			bench_log("droverctl %s %s: over BENCH_TIMEOUT; killed",
				  args[-2], args[-1]);
			kill(pid, SIGKILL);
		}
		usleep(1000);  /* a single submit takes ~30 ms */
	}
	r->ms = drv_mono_ms() - t0;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->peak_kb = ru.ru_maxrss;
	if (r->status != 0)
		bench_log("droverctl exited %d; see %s", r->status, log);
	return w == pid && r->status == 0;
}


/* ------------------------------------------------------------ draining */

/* v[] slots of a record */
enum { R_CREATED, R_STARTED, R_FINISHED, R_APPENDED };

bench_map_t *bench_map_of_ids(char (*ids)[DRV_ID_LEN + 1], size_t n)
{
	bench_map_t *map = bench_map_new(n);

	for (size_t i = 0; map && i < n; i++)
		if (!bench_map_get(map, ids[i], true)) {
			bench_map_destroy(map);
			return NULL;
		}
	return map;
}

static bool all_alive(bench_worker_t *ws, size_t nw)
{
	bool alive = true;

	for (size_t i = 0; i < nw; i++)
		alive &= bench_worker_alive(&ws[i]);
	return alive;
}

size_t bench_await_successes(bench_reader_t *rd, bench_map_t *map,
			     bench_worker_t *ws, size_t nw, const char *source,
			     int64_t deadline, bench_drain_t *d)
{
	size_t want = bench_map_size(map), done = 0, slen = strlen(source);
	bench_msg_t msg;

	while (done < want && !bench_stop) {
		bench_rec_t *r;
		int rc;

		if (drv_mono_ms() >= deadline) {
			d->timed_out = true;
			break;
		}
		if ((rc = bench_reader_next(rd, 100, &msg)) == 0) {
			if (!all_alive(ws, nw)) {
				d->died = true;
				break;
			}
			continue;
		}
		if (rc < 0 || msg.kind != BENCH_MSG_EVENT ||
		    strncmp(msg.source, source, slen))
			continue;
		if (strcmp(msg.type, "task.succeeded")) {
			d->other_events++;
			continue;
		}
		if (!(r = bench_map_get(map, msg.task_id, false)))
			continue;
		if (r->count++) {
			d->duplicates++;
			continue;
		}
		r->v[R_CREATED] = msg.created_ms;
		r->v[R_STARTED] = msg.started_ms;
		r->v[R_FINISHED] = msg.finished_ms;
		done++;
		d->wall_ms = drv_mono_ms() - ws[0].started_mono;
	}
	return done;
}

typedef struct collect {
	int64_t *start, *finish;
	size_t   n;
	int64_t  min_started, max_finished, max_created;
} collect_t;

static void collect_rec(bench_rec_t *r, void *arg)
{
	collect_t *c = arg;

	if (!r->count)
		return;
	if (r->v[R_CREATED] > c->max_created)
		c->max_created = r->v[R_CREATED];
	c->start[c->n] = r->v[R_STARTED] - r->v[R_CREATED];
	c->finish[c->n] = r->v[R_FINISHED] - r->v[R_CREATED];
	c->n++;
	if (!c->min_started || r->v[R_STARTED] < c->min_started)
		c->min_started = r->v[R_STARTED];
	if (r->v[R_FINISHED] > c->max_finished)
		c->max_finished = r->v[R_FINISHED];
}

void bench_drain_finish(bench_drain_t *d, bench_map_t *map)
{
	size_t n = bench_map_size(map);
	collect_t c = { 0 };

	c.start = calloc(n + 1, sizeof(int64_t));
	c.finish = calloc(n + 1, sizeof(int64_t));
	if (!c.start || !c.finish) {
		free(c.start);
		free(c.finish);
		return;
	}
	bench_map_each(map, collect_rec, &c);
	d->done = c.n;
	d->span_ms = c.max_finished - c.min_started;
	d->max_created = c.max_created;
	d->max_finished = c.max_finished;
	if (d->span_ms > 0)
		d->rate = (double)c.n * 1000.0 / (double)d->span_ms;
	bench_pct_compute(c.start, c.n, &d->start_lat);
	bench_pct_compute(c.finish, c.n, &d->finish_lat);
	free(c.start);
	free(c.finish);
}

/* -------------------------------------------------------------- paced */

typedef struct split {
	int64_t *before, *after;
	size_t   n;
} split_t;

static void split_rec(bench_rec_t *r, void *arg)
{
	split_t *s = arg;

	if (!r->count || !r->v[R_APPENDED])
		return;
	s->before[s->n] = r->v[R_APPENDED] - r->v[R_CREATED];
	s->after[s->n++] = r->v[R_STARTED] - r->v[R_APPENDED];
}

size_t bench_read_appended(bench_reader_t *rd, bench_map_t *map, int slot,
			   size_t n, int64_t timeout_ms)
{
	int64_t deadline = drv_mono_ms() + timeout_ms;
	size_t seen = 0;
	bench_msg_t msg;

	while (seen < n && drv_mono_ms() < deadline && !bench_stop) {
		bench_rec_t *r;

		if (bench_reader_next(rd, 100, &msg) == 1 &&
		    msg.kind == BENCH_MSG_BAND_TASK &&
		    (r = bench_map_get(map, msg.task_id, false)) &&
		    !r->v[slot]) {
			r->v[slot] = msg.produced_ms;
			seen++;
		}
	}
	return seen;
}

/* Read the broker's append time of the phase's tasks back from the band
 * topics (\p brd, stamped with LogAppendTime) and split each task's wait
 * there. */
static void paced_split(bench_reader_t *brd, bench_map_t *map, size_t n,
			bench_pace_t *ph)
{
	split_t s = { calloc(n + 1, sizeof(int64_t)),
		      calloc(n + 1, sizeof(int64_t)), 0 };

	if (s.before && s.after) {
		bench_read_appended(brd, map, R_APPENDED, n, 10000);
		bench_map_each(map, split_rec, &s);
		ph->split = s.n;
		bench_pct_compute(s.before, s.n, &ph->before);
		bench_pct_compute(s.after, s.n, &ph->after);
	}
	free(s.before);
	free(s.after);
}

/* Produce one phase's tasks at its rate and wait for them; with \p brd,
 * split their waits at the broker's append. */
static void paced_phase(bench_ns_t *ns, bench_reader_t *rd, bench_worker_t *w,
			const char *id, const char *topic,
			const bench_paced_t *p, bench_pace_t *ph,
			bench_reader_t *brd)
{
	bench_produce_t prod = { .handler = "noop", .payload = "{}" };
	bench_map_t *map;

	prod.n = (size_t)(ph->rate * p->seconds);
	prod.rate = ph->rate;
	ph->d.expected = prod.n;
	if (!(prod.ids = calloc(prod.n ? prod.n : 1, sizeof(*prod.ids))))
		return;
	bench_log("paced: producing %zu tasks at %lld/s", prod.n,
		  (long long)prod.rate);
	ph->d.ran = true;
	bench_produce_tasks(ns, topic, &prod);
	ph->achieved = prod.elapsed_ms > 0 ? (double)prod.acked * 1000.0 /
					     (double)prod.elapsed_ms : 0;
	if ((map = bench_map_of_ids(prod.ids, prod.acked))) {
		bench_await_successes(rd, map, w, 1, id, drv_mono_ms() +
				      p->timeout_s * 1000, &ph->d);
		bench_drain_finish(&ph->d, map);
		ph->kept_up = ph->d.done == prod.n &&
			      ph->d.max_finished - ph->d.max_created <= 1000;
		if (brd)
			paced_split(brd, map, prod.acked, ph);
	}
	bench_map_destroy(map);
	free(prod.ids);
}

bool bench_warm_worker(bench_ns_t *ns, const char *tag, int concurrency,
		       const char *id, bench_worker_t *w, bench_reader_t **rd,
		       char *topic, size_t topic_size)
{
	char config[320], group[128];
	char warm_id[1][DRV_ID_LEN + 1] = { "" };
	bench_produce_t warm = { .n = 1, .handler = "noop", .payload = "{}",
				 .ids = warm_id };
	bench_drain_t warm_d = { 0 };
	bench_map_t *map = NULL;
	bool ok = false;

	memset(w, 0, sizeof(*w));
	*rd = NULL;
	if (!bench_ns_open(ns, tag, "handlers:\n  noop:\n    type: noop\n"))
		return false;
	bench_ns_band_topic(ns, topic, topic_size);
	drv_fmt(group, sizeof(group), "%sworkers", ns->prefix);
	if (!bench_ns_worker_config(ns, tag, group, concurrency, config,
				    sizeof(config)) ||
	    !(*rd = bench_reader_new(ns, false, 0)) ||
	    !bench_worker_start(w, ns, config, id))
		return false;
	bench_log("%s: worker pid %d, concurrency %d", tag, (int)w->pid,
		  concurrency);
	/* the worker is idle and assigned once it ran one task */
	if (bench_produce_tasks(ns, topic, &warm) &&
	    (map = bench_map_of_ids(warm_id, 1)))
		ok = bench_await_successes(*rd, map, w, 1, id,
					   drv_mono_ms() + 60000, &warm_d) > 0;
	if (!ok) {
		bench_log("%s: the warm-up task never ran", tag);
		bench_worker_tail(w, 15);
	}
	bench_map_destroy(map);
	return ok;
}

bool bench_paced_run(bench_paced_t *p)
{
	const char *id = "bench-paced";
	char topic[256];
	bench_reader_t *rd = NULL, *brd = NULL;
	bench_worker_t w;
	bench_ns_t ns;
	bool ok = false;

	p->rss_kb = -1;
	p->clean = false;
	if (bench_warm_worker(&ns, p->tag, p->concurrency, id, &w, &rd, topic,
			      sizeof(topic))) {
		/* from the beginning: the warm-up task is not in any phase */
		if (bench_topic_append_time(&ns, topic))
			brd = bench_reader_new(&ns, false,
					       BENCH_READ_BANDS_ONLY);
		for (size_t i = 0; i < p->nphases && !bench_stop; i++)
			paced_phase(&ns, rd, &w, id, topic, p, &p->phases[i],
				    brd);
		ok = true;
	}
	if (w.pid > 0) {
		p->rss_kb = bench_worker_peak_rss_kb(&w);
		p->clean = bench_worker_stop(&w, 30000);
		if (!p->clean)
			bench_worker_tail(&w, 15);
	}
	bench_reader_destroy(brd);
	bench_reader_destroy(rd);
	bench_ns_close(&ns);
	return ok;
}

const char *bench_pct_str(const bench_pct_t *p, char *buf, size_t size)
{
	drv_fmt(buf, size, "%lld / %lld / %lld ms", (long long)p->p50,
		(long long)p->p99, (long long)p->max);
	return buf;
}
