/*
 * harness.c — child processes, files and namespaces for the integration
 * tests (see harness.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <hiredis/hiredis.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/digest.h"
#include "drover/event.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

static const char *build_dir(void)
{
	const char *b = getenv("DROVER_BUILD_DIR");

	cr_assert(b, "DROVER_BUILD_DIR unset: run through meson test");
	return b;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

char *it_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The exit status of a daemon that leaked (ASan builds): one of its own,
 * so it_stop() can tell a leak from another failure. */
#define LSAN_EXIT 23

static void lsan_exit_status(void)
{
	const char *o = getenv("LSAN_OPTIONS");
	char buf[1024];

	if (o && strstr(o, "exitcode="))
		return;
	drv_fmt(buf, sizeof(buf), "%s%sexitcode=%d", o ? o : "",
		o && *o ? ":" : "", LSAN_EXIT);
	setenv("LSAN_OPTIONS", buf, 1);
}

void it_setup(it_ctx_t *ctx, const char *handlers_yaml)
{
	static int seq;
	char tmpl[] = "/tmp/drover-it-XXXXXX";
	char yaml[8192], kp[80];

	cr_assert(getenv("DROVER_KAFKA_BROKERS"),
		  "DROVER_KAFKA_BROKERS unset: run the integration tests with "
		  "scripts/test, which starts the stack");
	cr_assert(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	lsan_exit_status();
	drv_strlcpy(ctx->dir, tmpl, sizeof(ctx->dir));
	drv_fmt(ctx->config, sizeof(ctx->config), "%s/drover.yaml", ctx->dir);
	drv_fmt(ctx->out, sizeof(ctx->out), "%s/out.txt", ctx->dir);
	drv_fmt(ctx->prefix, sizeof(ctx->prefix), "it%dx%d%ld.", (int)getpid(),
		seq++, (long)time(NULL) % 100000);
	/* Handlers find the output file through OUT, which the workers'
	 * exec commands inherit only because it is allow-listed (they do
	 * not get the worker's whole environment). */
	setenv("OUT", ctx->out, 1);
	setenv("DROVER_WORKER_ENV_PASS", "OUT", 1);
	/* Redis keys of a namespace of its own too (breakers, marks,
	 * interventions): the environment wins over any key_prefix the test
	 * writes, and every process of the test reads the same. */
	drv_fmt(kp, sizeof(kp), "%.*s:", (int)strlen(ctx->prefix) - 1,
		ctx->prefix);
	setenv("DROVER_REDIS_KEY_PREFIX", kp, 1);
	cr_assert(drv_fmt(yaml, sizeof(yaml),
		"kafka:\n"
		"  topic_prefix: \"%s\"\n"
		"  partitions: 4\n"
		"worker:\n"
		"  http_port: 0\n"
		"  group: \"%sworkers\"\n"
		"  concurrency: 2\n"
		"  shutdown_grace: 20s\n"
		"  cpu_limit: 0\n"
		"log:\n"
		"  level: debug\n"
		"  format: logfmt\n"
		"handlers:\n%s",
		ctx->prefix, ctx->prefix, handlers_yaml));
	write_file(ctx->config, yaml);
}

void it_teardown(it_ctx_t *ctx)
{
	char cmd[400];

	if (!ctx->dir[0] || getenv("DROVER_IT_KEEP"))
		return;
	drv_fmt(cmd, sizeof(cmd), "rm -rf '%s'", ctx->dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", ctx->dir);
}

/* fork+exec argv with stdout to \p out_fd (or /dev/null) and stderr to
 * \p err_path appended. */
static pid_t spawn(char *const argv[], int out_fd, const char *err_path)
{
	pid_t pid = fork();

	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDWR);

		/* a test that fails leaves no daemon behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(err >= 0 ? err : null, 2);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	return pid;
}

/* Run droverctl -c CONFIG ARGS... (args NULL-terminated). */
static int ctl_argv(it_ctx_t *ctx, char **out, char *const *args)
{
	char *argv[40], bin[300], log[300];
	int fds[2], status, n = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	pid_t pid;

	drv_fmt(bin, sizeof(bin), "%s/ctl/droverctl", build_dir());
	drv_fmt(log, sizeof(log), "%s/droverctl.log", ctx->dir);
	argv[n++] = bin;
	argv[n++] = "-c";
	argv[n++] = ctx->config;
	while (n < 39 && *args)
		argv[n++] = *args++;
	argv[n] = NULL;

	cr_assert(pipe(fds) == 0);
	pid = spawn(argv, fds[1], log);
	close(fds[1]);
	for (;;) {
		ssize_t r;
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		r = read(fds[0], buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fds[0]);
	buf[len] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (status != 0) {
		/* shown by meson for a failing test: what droverctl said */
		char *text = it_read(log);
		fprintf(stderr, "droverctl %s %s: exit %d; its stderr so far:\n%s\n",
			n > 3 ? argv[3] : "", n > 4 ? argv[4] : "",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			text ? text : "");
		free(text);
	}
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int it_ctl(it_ctx_t *ctx, char **out, ...)
{
	char *args[32];
	int n = 0;
	va_list ap;

	va_start(ap, out);
	while (n < 31 && (args[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	args[n] = NULL;
	return ctl_argv(ctx, out, args);
}

void it_topics(it_ctx_t *ctx)
{
	char *out = NULL;
	int rc = it_ctl(ctx, &out, "topics", "ensure", NULL);

	cr_assert_eq(rc, 0, "topics ensure failed (%d): %s", rc, out);
	free(out);
}

void it_submit(it_ctx_t *ctx, char *id, const char *handler, ...)
{
	char *argv[24], *out = NULL;
	int n = 0, rc;
	va_list ap;

	argv[n++] = "task";
	argv[n++] = "submit";
	argv[n++] = "--handler";
	argv[n++] = (char *)handler;
	va_start(ap, handler);
	while (n < 22 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	rc = ctl_argv(ctx, &out, argv);
	cr_assert_eq(rc, 0, "task submit failed (%d)", rc);
	cr_assert_eq(strlen(out), DRV_ID_LEN + 1, "unexpected id line '%s'", out);
	memcpy(id, out, DRV_ID_LEN);
	id[DRV_ID_LEN] = '\0';
	free(out);
}

void it_publish_many(it_ctx_t *ctx, const char *handler, int n)
{
	it_publish_prio(ctx, handler, n, 0);
}

void it_publish_prio(it_ctx_t *ctx, const char *handler, int n,
		     unsigned priority)
{
	drv_config_t *cfg;
	rd_kafka_t *rk = it_producer(ctx, &cfg);
	char err[512];

	for (int i = 0; i < n; i++) {
		drv_task_t t;

		drv_task_init(&t);
		t.created_ms = it_now_ms();
		drv_id_new(t.id, t.created_ms);
		t.handler = drv_strdup(handler);
		if (priority)
			t.priority = priority;
		cr_assert_eq(drv_task_publish(rk, cfg, &t, 10000, NULL, 0, err,
					      sizeof(err)), DRV_OK, "%s", err);
		drv_task_release(&t);
	}
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
}

pid_t it_worker_start(it_ctx_t *ctx, int n)
{
	char bin[300], log[300], id[32];
	char *argv[] = { bin, "-c", ctx->config, "--id", id, NULL };

	drv_fmt(bin, sizeof(bin), "%s/worker/drover-worker", build_dir());
	drv_fmt(log, sizeof(log), "%s/worker-%d.log", ctx->dir, n);
	drv_fmt(id, sizeof(id), "worker-%d", n);
	return spawn(argv, -1, log);
}

int it_stop(pid_t pid, int sig, int timeout_ms)
{
	int status;

	kill(pid, sig);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) != pid) {
			usleep(20 * 1000);
			continue;
		}
		/* a daemon asked to stop must not leak on its way out */
		cr_assert(!(sig == SIGTERM && WIFEXITED(status) &&
			    WEXITSTATUS(status) == LSAN_EXIT),
			  "pid %d leaked memory at exit (LeakSanitizer's "
			  "exit status); its log says where", (int)pid);
		return status;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int it_count(it_ctx_t *ctx, const char *prefix, const char *word)
{
	char *text = it_read(ctx->out), *line, *save = NULL;
	int n = 0;

	if (!text)
		return 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, prefix, strlen(prefix)) &&
		    (!word || strstr(line, word)))
			n++;
	free(text);
	return n;
}

int it_wait_count(it_ctx_t *ctx, const char *prefix, const char *word,
		  int n, int timeout_ms)
{
	int c = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		if ((c = it_count(ctx, prefix, word)) >= n)
			break;
		usleep(50 * 1000);
	}
	return c;
}

bool it_wait_file(const char *path, const char *needle, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		char *text = it_read(path);
		bool found = text && strstr(text, needle);
		free(text);
		if (found)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

rd_kafka_t *it_producer(it_ctx_t *ctx, drv_config_t **cfg)
{
	char err[512];
	rd_kafka_t *rk;

	*cfg = NULL;
	cr_assert_eq(drv_config_load(ctx->config, environ, cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	rk = drv_kafka_producer_new(*cfg, err, sizeof(err));
	cr_assert(rk, "%s", err);
	return rk;
}

void it_produce_raw(it_ctx_t *ctx, const char *topic_suffix,
		    const void *data, size_t len)
{
	drv_config_t *cfg;
	rd_kafka_t *rk = it_producer(ctx, &cfg);
	char err[512], topic[256];

	drv_fmt(topic, sizeof(topic), "%s%s", ctx->prefix, topic_suffix);
	cr_assert_eq(drv_kafka_produce_sync(rk, topic, "raw", 3, data, len,
					    NULL, 0, 10000, NULL, err,
					    sizeof(err)), DRV_OK, "%s", err);
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
}

static int atoi_safe(const char *s)
{
	int64_t v = 0;

	if (s)
		drv_parse_int(s, 0, 1 << 30, &v);
	return (int)v;
}

long long it_json_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

const char *it_json_str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

int it_http_json(int port, const char *method, const char *path,
		 const char *token, const char *req_body, json_t **out)
{
	char *text = NULL;
	int status = it_http_call(port, method, path, token, req_body, &text);

	*out = text && *text ? json_loads(text, 0, NULL) : NULL;
	cr_assert(!text || !*text || *out, "%s %s: not JSON: %s", method,
		  path, text);
	free(text);
	return status;
}

void it_http_bad_query(int port, const char *path, const char *token,
		       const char *pointer)
{
	char *head = NULL, *body = NULL, type[128];
	json_t *o;
	int st = it_http_send(port, "GET", path, token, NULL, &head, &body);

	cr_assert_eq(st, 400, "GET %s: %d %s", path, st, body);
	it_http_header(head, "Content-Type", type, sizeof(type));
	cr_assert_str_eq(type, "application/problem+json", "GET %s", path);
	cr_assert_not_null(o = json_loads(body, 0, NULL), "%s", body);
	cr_assert_str_eq(it_json_str(o, "pointer"), pointer, "GET %s: %s",
			 path, body);
	json_decref(o);
	free(head);
	free(body);
}

long long it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int it_consume(it_ctx_t *ctx, const char *topic_suffix, int want,
	       int timeout_ms, it_msg_t **out)
{
	rd_kafka_topic_partition_list_t *parts;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512], topic[256];
	it_msg_t *msgs = calloc((size_t)want + 1, sizeof(*msgs));
	rd_kafka_topic_t *rkt;
	rd_kafka_t *rk;
	int n = 0;

	drv_fmt(topic, sizeof(topic), "%s%s", ctx->prefix, topic_suffix);
	rd_kafka_conf_set(conf, "bootstrap.servers",
			  getenv("DROVER_KAFKA_BROKERS"), err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", "it-reader", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	cr_assert(rk, "%s", err);
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	cr_assert_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0,
		     "no metadata for %s", topic);
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int p = 0; p < md->topics[0].partition_cnt; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);

	for (long long end = it_now_ms() + timeout_ms;
	     n < want && it_now_ms() < end;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		rd_kafka_headers_t *hdrs;
		const void *v;
		size_t vlen;

		if (!m)
			continue;
		if (!m->err) {
			msgs[n].data = malloc(m->len + 1);
			memcpy(msgs[n].data, m->payload, m->len);
			msgs[n].len = m->len;
			if (!rd_kafka_message_headers(m, &hdrs) &&
			    !rd_kafka_header_get_last(hdrs, "drover-dl-reason",
						      &v, &vlen))
				snprintf(msgs[n].reason, sizeof(msgs[n].reason),
					 "%.*s", (int)vlen, (const char *)v);
			n++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	*out = msgs;
	return n;
}

void it_msgs_free(it_msg_t *msgs, int n)
{
	for (int i = 0; i < n; i++)
		free(msgs[i].data);
	free(msgs);
}

int it_events(it_ctx_t *ctx, int timeout_ms,
	      bool (*done)(const it_event_t *ev, int n, void *arg), void *arg,
	      it_event_t **out)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *topics;
	char err[512], topic[256], group[128];
	it_event_t *ev = NULL;
	int n = 0, cap = 0;
	rd_kafka_t *rk;

	drv_fmt(topic, sizeof(topic), "%sevents", ctx->prefix);
	drv_fmt(group, sizeof(group), "%sreader-%lld", ctx->prefix, it_now_ms());
	rd_kafka_conf_set(conf, "bootstrap.servers",
			  getenv("DROVER_KAFKA_BROKERS"), err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
	rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err,
			  sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	cr_assert(rk, "%s", err);
	rd_kafka_poll_set_consumer(rk);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_subscribe(rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);

	for (long long end = it_now_ms() + timeout_ms;
	     it_now_ms() < end && !(n > 0 && done(ev, n, arg));) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		drv_event_t e;

		if (!m)
			continue;
		drv_event_init(&e);
		if (!m->err && !drv_event_decode(m->payload, m->len, &e, err,
						 sizeof(err))) {
			json_t *j = json_loadb((const char *)e.payload,
					       e.payload_len, 0, NULL);
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				ev = realloc(ev, (size_t)cap * sizeof(*ev));
			}
			memset(&ev[n], 0, sizeof(ev[n]));
			drv_strlcpy(ev[n].type, e.type, sizeof(ev[n].type));
			/* breaker.* events name no task */
			drv_strlcpy(ev[n].task_id, e.task_id ? e.task_id : "",
				    sizeof(ev[n].task_id));
			ev[n].attempt = atoi_safe(drv_event_attribute(&e, "attempt"));
			ev[n].started_ms = json_integer_value(
				json_object_get(j, "started_ms"));
			ev[n].finished_ms = json_integer_value(
				json_object_get(j, "finished_ms"));
			json_decref(j);
			n++;
		}
		drv_event_release(&e);
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	*out = ev;
	return n;
}

int it_events_distinct(const it_event_t *ev, int n, const char *type,
		       int *total)
{
	int distinct = 0, all = 0;

	for (int i = 0; i < n; i++) {
		bool seen = false;

		if (strcmp(ev[i].type, type))
			continue;
		all++;
		for (int j = 0; j < i && !seen; j++)
			seen = !strcmp(ev[j].type, type) &&
			       !strcmp(ev[j].task_id, ev[i].task_id);
		distinct += !seen;
	}
	if (total)
		*total = all;
	return distinct;
}

int it_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int it_http_get(int port, const char *path, char **body)
{
	return it_http_get_token(port, path, NULL, body);
}

int it_http_get_token(int port, const char *path, const char *token,
		      char **body)
{
	return it_http_request(port, "GET", path, token, NULL, body);
}

int it_http_request(int port, const char *method, const char *path,
		    const char *token, char **head, char **body)
{
	return it_http_send(port, method, path, token, NULL, head, body);
}

int it_http_call(int port, const char *method, const char *path,
		 const char *token, const char *req_body, char **body)
{
	return it_http_send(port, method, path, token, req_body, NULL, body);
}

int it_http_send(int port, const char *method, const char *path,
		 const char *token, const char *req_body, char **head,
		 char **body)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[1024], auth[300] = "", clen[80] = "", *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int fd, status = -1;

	*body = NULL;
	if (head)
		*head = NULL;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (token)
		drv_fmt(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
			token);
	if (req_body)
		drv_fmt(clen, sizeof(clen), "Content-Type: application/json"
			"\r\nContent-Length: %zu\r\n", strlen(req_body));
	drv_fmt(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n%s%s\r\n",
		method, path, auth, clen);
	if (write(fd, req, strlen(req)) < 0 ||
	    (req_body && write(fd, req_body, strlen(req_body)) < 0)) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf)
		return -1;
	buf[len] = '\0';
	if (!strncmp(buf, "HTTP/1.", 7))
		status = (int)strtol(buf + 9, NULL, 10);
	p = strstr(buf, "\r\n\r\n");
	*body = strdup(p ? p + 4 : "");
	if (head)
		*head = strndup(buf, p ? (size_t)(p - buf) : len);
	free(buf);
	return status;
}

void it_http_header(const char *head, const char *name, char *buf,
		    size_t size)
{
	size_t n = strlen(name);

	buf[0] = '\0';
	for (const char *p = head; p && *p; p = strchr(p, '\n') + 1) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			drv_fmt(buf, size, "%.*s", (int)strcspn(v, "\r\n"), v);
			return;
		}
		if (!strchr(p, '\n'))
			break;
	}
}

bool it_http_wait(int port, const char *path, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		char *body = NULL;
		int st = it_http_get(port, path, &body);

		free(body);
		if (st == 200)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

pid_t it_redis_start(int port)
{
	char port_s[16];
	pid_t pid;
	int64_t until;

	drv_fmt(port_s, sizeof(port_s), "%d", port);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("redis-server", "redis-server", "--port", port_s,
		       "--bind", "127.0.0.1", "--save", "", "--appendonly",
		       "no", "--dir", "/tmp", "--daemonize", "no",
		       (char *)NULL);
		_exit(127);
	}
	until = drv_mono_ms() + 10000;
	while (drv_mono_ms() < until) {
		struct timeval tv = { 0, 200000 };
		redisContext *c = redisConnectWithTimeout("127.0.0.1", port,
							  tv);
		redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
		bool up = r && r->type == REDIS_REPLY_STATUS;

		freeReplyObject(r);
		redisFree(c);
		if (up)
			return pid;
		usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_fail("redis-server on port %d did not start", port);
	return -1;
}

void it_redis_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

void it_coord_config(it_ctx_t *ctx, const char *coord_keys,
		     const char *sections)
{
	char *old = it_read(ctx->config), *text;
	size_t n;

	cr_assert(old);
	n = strlen(old) + strlen(coord_keys) + strlen(sections) + 512;
	text = malloc(n);
	drv_fmt(text, n, "%s"
		"coordinator:\n"
		"  group: \"%scoord\"\n"
		"%s"
		"  lease_ttl: 2s\n"
		"%s"
		"%s", old, ctx->prefix,
		strstr(coord_keys, "http_port") ? "" : "  http_port: 0\n",
		coord_keys, sections);
	write_file(ctx->config, text);
	free(text);
	free(old);
}

pid_t it_coordinator_start(it_ctx_t *ctx, const char *id)
{
	char bin[300], log[300], cid[64];
	char *argv[] = { bin, "-c", ctx->config, "--id", cid, NULL };

	drv_fmt(bin, sizeof(bin), "%s/coordinator/drover-coordinator",
		build_dir());
	drv_fmt(log, sizeof(log), "%s/%s.log", ctx->dir, id);
	drv_strlcpy(cid, id, sizeof(cid));
	return spawn(argv, -1, log);
}

bool it_coord_log_wait(it_ctx_t *ctx, const char *id, const char *needle,
		       int timeout_ms)
{
	char log[300];

	drv_fmt(log, sizeof(log), "%s/%s.log", ctx->dir, id);
	return it_wait_file(log, needle, timeout_ms);
}

int it_tasks(it_ctx_t *ctx, const char *topic_suffix, int want,
	     int timeout_ms, it_task_t **out)
{
	it_msg_t *msgs = NULL;
	int n = it_consume(ctx, topic_suffix, want, timeout_ms, &msgs);
	it_task_t *tasks = calloc((size_t)n + 1, sizeof(*tasks));

	for (int i = 0; i < n; i++) {
		drv_task_t t;
		char err[256];
		const char *v;

		drv_task_init(&t);
		cr_assert_eq(drv_task_decode(msgs[i].data, msgs[i].len, &t,
					     err, sizeof(err)), DRV_OK, "%s",
			     err);
		drv_strlcpy(tasks[i].id, t.id, sizeof(tasks[i].id));
		drv_strlcpy(tasks[i].handler, t.handler,
			    sizeof(tasks[i].handler));
		if ((v = drv_task_label(&t, "drover.schedule")))
			drv_strlcpy(tasks[i].schedule, v,
				    sizeof(tasks[i].schedule));
		if ((v = drv_task_label(&t, "drover.trigger")))
			drv_strlcpy(tasks[i].trigger, v,
				    sizeof(tasks[i].trigger));
		if ((v = drv_task_label(&t, "drover.fire")))
			drv_strlcpy(tasks[i].fire, v, sizeof(tasks[i].fire));
		if ((v = drv_task_label(&t, "drover.actor")))
			drv_strlcpy(tasks[i].actor, v,
				    sizeof(tasks[i].actor));
		drv_fmt(tasks[i].payload, sizeof(tasks[i].payload), "%.*s",
			(int)t.payload_len, t.payload ? (const char *)t.payload :
			"");
		tasks[i].scheduled_ms = t.origin.scheduled_ms;
		tasks[i].fence = t.origin.fencing_token;
		tasks[i].chain_depth = t.origin.chain_depth;
		drv_task_release(&t);
	}
	it_msgs_free(msgs, n);
	*out = tasks;
	return n;
}

long long it_coord_log_time(it_ctx_t *ctx, const char *id,
			    const char *needle)
{
	char path[300], stamp[40];
	char *text, *at, *t;
	int64_t ms = 0;

	drv_fmt(path, sizeof(path), "%s/%s.log", ctx->dir, id);
	text = it_read(path);
	cr_assert(text && (at = strstr(text, needle)), "no '%s' in %s",
		  needle, path);
	while (at > text && at[-1] != '\n')
		at--;
	t = strstr(at, "time=");
	cr_assert(t, "no time= in the line of '%s'", needle);
	drv_fmt(stamp, sizeof(stamp), "%.24s", t + 5);
	cr_assert_eq(drv_parse_time(stamp, &ms), 0, "%s", stamp);
	free(text);
	return ms;
}

int it_api_start_tokens(it_ctx_t *ctx, const char *api_keys,
			const char *tokens, pid_t *coord)
{
	return it_api_start_coord(ctx, "", api_keys, tokens, coord);
}

int it_api_start_coord(it_ctx_t *ctx, const char *coord_keys,
		       const char *api_keys, const char *tokens, pid_t *coord)
{
	char sections[2048], *body;
	int port = it_free_port();

	drv_fmt(sections, sizeof(sections), "api:\n  port: %d\n%s"
		"api_tokens:\n%s", port, api_keys, tokens);
	it_coord_config(ctx, coord_keys, sections);
	*coord = it_coordinator_start(ctx, "c1");
	for (int i = 0; i < 100; i++) {
		if (it_http_get(port, "/api/v1/openapi.json", &body) == 200) {
			free(body);
			return port;
		}
		free(body);
		usleep(100 * 1000);
	}
	cr_assert_fail("the API did not come up on port %d", port);
	return -1;
}

int it_api_start(it_ctx_t *ctx, const char *ops_env, const char *ops,
		 const char *viewer, const char *api_keys, pid_t *coord)
{
	unsigned char d[DRV_SHA256_LEN];
	char hex[2 * DRV_SHA256_LEN + 1], tokens[512];

	drv_sha256(viewer, strlen(viewer), d);
	drv_hex(d, sizeof(d), hex);
	drv_fmt(tokens, sizeof(tokens),
		"  ops: {role: operator, env: %s}\n"
		"  viewer: {sha256: %s}\n", ops_env, hex);
	setenv(ops_env, ops, 1);
	return it_api_start_tokens(ctx, api_keys, tokens, coord);
}

long long it_json_num(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	return (long long)json_integer_value(b ? json_object_get(v, b) : v);
}
