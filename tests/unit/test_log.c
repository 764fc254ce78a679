/*
 * Unit tests for the structured logger: JSON lines parse (jansson) and hold
 * the expected fields, both formats escape quotes, newlines, control bytes
 * and invalid UTF-8, level filtering, truncation that keeps lines valid, and
 * lines from several threads that never interleave.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/log.h"
#include "drover/str.h"

/* ---- helpers ----------------------------------------------------------- */

static int rfd = -1, wfd = -1;

static void capture(const char *component, drv_log_level_t level,
		    drv_log_format_t format)
{
	int p[2];

	cr_assert_eq(pipe(p), 0);
	rfd = p[0];
	wfd = p[1];
	/* the default 64 KiB pipe holds several maximal lines; tests read
	 * after each one */
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	drv_log_setup(component, level, format, wfd);
}

/* Everything logged since the last call; caller frees. */
static char *captured(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t r;

	cr_assert_not_null(buf);
	for (;;) {
		if (len + 1 == cap) {
			buf = realloc(buf, cap *= 2);
			cr_assert_not_null(buf);
		}
		r = read(rfd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return buf;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* Parse the one JSON line in s; it must end with exactly one newline. */
static json_t *parse_line(const char *s)
{
	json_error_t jerr;
	json_t *o;

	cr_assert_eq(count_char(s, '\n'), 1, "not one line: %s", s);
	cr_assert_eq(s[strlen(s) - 1], '\n');
	o = json_loads(s, 0, &jerr);
	cr_assert_not_null(o, "invalid JSON (%s at %d): %.200s", jerr.text,
			   jerr.position, s);
	cr_assert(json_is_object(o));
	return o;
}

static const char *field(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The logfmt line with its leading "time=... " removed. */
static const char *after_time(const char *line)
{
	cr_assert(!strncmp(line, "time=", 5), "%s", line);
	cr_assert_eq(line[5 + 24], ' ', "%s", line);
	return line + 5 + 24 + 1;
}

/* ---- JSON -------------------------------------------------------------- */

Test(log, json_line_has_fields)
{
	char *out;
	json_t *o;
	const char *t;

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_JSON);
	drv_log(DRV_LOG_INFO, "01JTASK", "task %s finished in %d ms", "x", 42);
	out = captured();
	o = parse_line(out);
	t = field(o, "time");
	cr_assert_not_null(t);
	cr_assert_eq(strlen(t), 24, "%s", t);
	cr_assert_eq(t[10], 'T');
	cr_assert_eq(t[23], 'Z');
	cr_assert_str_eq(field(o, "level"), "info");
	cr_assert_str_eq(field(o, "component"), "worker");
	cr_assert_str_eq(field(o, "msg"), "task x finished in 42 ms");
	cr_assert_str_eq(field(o, "task_id"), "01JTASK");
	cr_assert_eq(json_object_size(o), 5);
	/* field order: time, level, component, msg, task_id */
	cr_assert(strstr(out, "\"time\"") < strstr(out, "\"level\""));
	cr_assert(strstr(out, "\"component\"") < strstr(out, "\"msg\""));
	cr_assert(strstr(out, "\"msg\"") < strstr(out, "\"task_id\""));
	json_decref(o);
	free(out);
}

Test(log, json_without_task_id)
{
	char *out;
	json_t *o;

	capture("coordinator", DRV_LOG_DEBUG, DRV_LOG_FORMAT_JSON);
	drv_log_error(NULL, "broker %s down", "k1:9092");
	out = captured();
	o = parse_line(out);
	cr_assert_str_eq(field(o, "level"), "error");
	cr_assert_str_eq(field(o, "msg"), "broker k1:9092 down");
	cr_assert_null(json_object_get(o, "task_id"));
	json_decref(o);
	free(out);
}

Test(log, json_kv_fields_and_null)
{
	char *out;
	json_t *o;

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_JSON);
	drv_log_kv(DRV_LOG_WARN, "task finished", "task_id", "01J",
		   "status", "ok", "note", (const char *)NULL, NULL);
	out = captured();
	o = parse_line(out);
	cr_assert_str_eq(field(o, "level"), "warn");
	cr_assert_str_eq(field(o, "msg"), "task finished");
	cr_assert_str_eq(field(o, "task_id"), "01J");
	cr_assert_str_eq(field(o, "status"), "ok");
	cr_assert(json_is_null(json_object_get(o, "note")));
	json_decref(o);
	free(out);
}

Test(log, json_escapes_everything)
{
	static const char nasty[] =
		"say \"hi\" \\ path\nline2\r\ttab \x01\x1b[31m\x7f end";
	char *out;
	json_t *o;

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_JSON);
	drv_log_kv(DRV_LOG_INFO, "output", "out", nasty, "ke\"y", "v", NULL);
	out = captured();
	cr_assert(strstr(out, "\\u0001"), "%s", out);
	cr_assert(strstr(out, "\\u001b"), "%s", out);
	cr_assert(strstr(out, "\\n"), "%s", out);
	o = parse_line(out);
	cr_assert_str_eq(field(o, "out"), nasty);
	cr_assert_str_eq(field(o, "ke\"y"), "v");
	json_decref(o);
	free(out);
}

Test(log, json_utf8_kept_and_invalid_replaced)
{
	char *out;
	json_t *o;

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_JSON);
	drv_log_kv(DRV_LOG_INFO, "m", "good", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		   "bad", "a\xff" "b\xc3" "c\xed\xa0\x80" "d\xe2\x82", NULL);
	out = captured();
	o = parse_line(out); /* jansson rejects invalid UTF-8 */
	cr_assert_str_eq(field(o, "good"),
			 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	cr_assert_str_eq(field(o, "bad"),
			 "a\xef\xbf\xbd" "b\xef\xbf\xbd"
			 "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 "d\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(o);
	free(out);
}

Test(log, json_truncation_keeps_line_valid)
{
	size_t big = 3 * DRV_LOG_LINE_MAX;
	char *val = malloc(big + 1), *out;
	size_t mlen = strlen(DRV_LOG_TRUNCATED);
	const char *v;
	json_t *o;

	cr_assert_not_null(val);
	/* multi-byte characters and 6-byte escapes at every cut point */
	for (size_t i = 0; i < big; i += 3)
		memcpy(val + i, i % 2 ? "\xe2\x82\xac" : "\x01\x02\x03", 3);
	val[big] = '\0';

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_JSON);
	drv_log_kv(DRV_LOG_INFO, "big", "out", val, "after", "gone", NULL);
	out = captured();
	cr_assert_leq(strlen(out), DRV_LOG_LINE_MAX);
	cr_assert(!strcmp(out + strlen(out) - 2, "}\n"));
	o = parse_line(out);
	v = field(o, "out");
	cr_assert_not_null(v);
	cr_assert_gt(strlen(v), mlen);
	cr_assert(!strcmp(v + strlen(v) - mlen, DRV_LOG_TRUNCATED), "%s",
		  v + strlen(v) - 40);
	cr_assert_null(json_object_get(o, "after"));
	cr_assert_str_eq(field(o, "msg"), "big");
	json_decref(o);
	free(out);

	/* a long printf message is cut the same way */
	drv_log(DRV_LOG_INFO, "01J", "%s", val);
	out = captured();
	cr_assert_leq(strlen(out), DRV_LOG_LINE_MAX);
	o = parse_line(out);
	cr_assert_not_null(field(o, "msg"));
	json_decref(o);
	free(out);
	free(val);
}

/* ---- logfmt ------------------------------------------------------------ */

Test(log, logfmt_line)
{
	char *out;

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_LOGFMT);
	drv_log_kv(DRV_LOG_INFO, "task finished", "task_id", "01JTASK",
		   "status", "ok", NULL);
	out = captured();
	cr_assert_str_eq(after_time(out), "level=info component=worker "
			 "msg=\"task finished\" task_id=01JTASK status=ok\n");
	free(out);

	drv_log_debug("01JTASK", "attempt %d", 2);
	out = captured();
	cr_assert_str_eq(after_time(out), "level=debug component=worker "
			 "msg=\"attempt 2\" task_id=01JTASK\n");
	free(out);
}

Test(log, logfmt_quoting_and_escaping)
{
	char *out;

	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_LOGFMT);
	drv_log_kv(DRV_LOG_INFO, "m", "a", "x=y", "b", "say \"hi\"",
		   "c", "two\nlines\t\x01", "d", "", "e", "back\\slash",
		   "f", (const char *)NULL, "bad key=", "v", "g", "plain-1.5",
		   NULL);
	out = captured();
	cr_assert_str_eq(after_time(out),
			 "level=info component=worker msg=m a=\"x=y\" "
			 "b=\"say \\\"hi\\\"\" c=\"two\\nlines\\t\\u0001\" "
			 "d=\"\" e=\"back\\\\slash\" f= bad_key_=v "
			 "g=plain-1.5\n");
	cr_assert_eq(count_char(out, '\n'), 1);
	free(out);
}

Test(log, logfmt_truncation)
{
	size_t big = 2 * DRV_LOG_LINE_MAX;
	char *val = malloc(big + 1), *out;

	cr_assert_not_null(val);
	memset(val, 'a', big);
	val[big] = '\0';
	val[10] = ' '; /* forces quoting */
	capture("worker", DRV_LOG_DEBUG, DRV_LOG_FORMAT_LOGFMT);
	drv_log_kv(DRV_LOG_INFO, "m", "out", val, "after", "x", NULL);
	out = captured();
	cr_assert_leq(strlen(out), DRV_LOG_LINE_MAX);
	cr_assert_eq(count_char(out, '\n'), 1);
	cr_assert(strstr(out, DRV_LOG_TRUNCATED "\"\n"), "%s",
		  out + strlen(out) - 40);
	cr_assert_null(strstr(out, "after="));
	free(out);
	free(val);
}

/* ---- levels, defaults, threads ----------------------------------------- */

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

Test(log, level_filtering)
{
	char *out;

	capture("worker", DRV_LOG_WARN, DRV_LOG_FORMAT_JSON);
	cr_assert_not(drv_log_enabled(DRV_LOG_DEBUG));
	cr_assert_not(drv_log_enabled(DRV_LOG_INFO));
	cr_assert(drv_log_enabled(DRV_LOG_WARN));
	cr_assert(drv_log_enabled(DRV_LOG_ERROR));
	drv_log(DRV_LOG_INFO, NULL, "hidden");
	drv_log_kv(DRV_LOG_DEBUG, "hidden", NULL);
	drv_log_info(NULL, "hidden %d", side_effect());
	cr_assert_eq(evaluated, 0, "disabled macro evaluated its arguments");
	drv_log_warn(NULL, "shown %d", side_effect());
	drv_log(DRV_LOG_ERROR, NULL, "shown too");
	out = captured();
	cr_assert_eq(count_char(out, '\n'), 2, "%s", out);
	cr_assert_null(strstr(out, "hidden"));
	cr_assert(strstr(out, "shown 1"));
	free(out);

	drv_log_set_level(DRV_LOG_DEBUG);
	drv_log_kv(DRV_LOG_DEBUG, "now shown", NULL);
	out = captured();
	cr_assert(strstr(out, "now shown"));
	free(out);
}

Test(log, defaults_before_setup)
{
	int p[2], saved = dup(STDERR_FILENO);
	char buf[1024];
	ssize_t n;
	json_t *o;

	cr_assert(drv_log_enabled(DRV_LOG_INFO));
	cr_assert_not(drv_log_enabled(DRV_LOG_DEBUG));
	cr_assert_eq(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	drv_log(DRV_LOG_INFO, NULL, "to stderr");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	o = parse_line(buf);
	cr_assert_str_eq(field(o, "component"), "drover");
	cr_assert_str_eq(field(o, "msg"), "to stderr");
	json_decref(o);
}

#define LOG_THREADS 4
#define LOG_LINES   200

static void *log_worker(void *p)
{
	char big[6000], id[16];
	int t = (int)(intptr_t)p;

	/* lines longer than PIPE_BUF, so only the lock keeps them whole */
	memset(big, 'a' + t, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	drv_fmt(id, sizeof(id), "t%d", t);
	for (int i = 0; i < LOG_LINES; i++)
		drv_log_kv(DRV_LOG_INFO, "tick", "thread", id, "pad", big,
			   NULL);
	return NULL;
}

Test(log, threads_never_interleave)
{
	char path[] = "/tmp/drover-test-log-XXXXXX";
	int fd = mkstemp(path);
	pthread_t th[LOG_THREADS];
	char *line = NULL;
	size_t cap = 0;
	int count[LOG_THREADS] = { 0 };
	FILE *f;

	cr_assert_geq(fd, 0);
	drv_log_setup("worker", DRV_LOG_INFO, DRV_LOG_FORMAT_JSON, fd);
	for (intptr_t i = 0; i < LOG_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, log_worker,
					    (void *)i), 0);
	for (int i = 0; i < LOG_THREADS; i++)
		pthread_join(th[i], NULL);

	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *o = parse_line(line);
		const char *id = field(o, "thread"), *pad = field(o, "pad");
		int t = id[1] - '0';

		cr_assert(t >= 0 && t < LOG_THREADS);
		cr_assert_eq(strlen(pad), 5999);
		cr_assert_eq(pad[0], 'a' + t);
		cr_assert_eq(pad[5998], 'a' + t);
		count[t]++;
		json_decref(o);
	}
	for (int i = 0; i < LOG_THREADS; i++)
		cr_assert_eq(count[i], LOG_LINES);
	free(line);
	fclose(f);
	close(fd);
	unlink(path);
}

/* drv_log_buffer(): info lines wait, a warn line takes them out first and
 * in order, the timer writes the rest, unbuffer leaves nothing behind. */
Test(log, buffer_batches_info_lines_in_order)
{
	char *out;

	capture("worker", DRV_LOG_INFO, DRV_LOG_FORMAT_LOGFMT);
	cr_assert(drv_log_buffer(200));
	drv_log(DRV_LOG_INFO, NULL, "one");
	drv_log(DRV_LOG_INFO, NULL, "two");
	out = captured();
	cr_assert_str_empty(out, "info lines waited: %s", out);
	free(out);
	drv_log(DRV_LOG_WARN, NULL, "three");
	out = captured();
	cr_assert_eq(count_char(out, '\n'), 3, "%s", out);
	cr_assert(strstr(out, "msg=one") < strstr(out, "msg=two") &&
		  strstr(out, "msg=two") < strstr(out, "msg=three"), "%s", out);
	free(out);

	drv_log(DRV_LOG_INFO, NULL, "four");
	usleep(600 * 1000);   /* past the wait: the flusher wrote it */
	out = captured();
	cr_assert(strstr(out, "msg=four"), "not written after its wait: %s",
		  out);
	free(out);

	drv_log(DRV_LOG_INFO, NULL, "five");
	drv_log_unbuffer();
	out = captured();
	cr_assert(strstr(out, "msg=five"), "left in the buffer: %s", out);
	free(out);
	drv_log(DRV_LOG_INFO, NULL, "six");   /* at once again */
	out = captured();
	cr_assert(strstr(out, "msg=six"), "%s", out);
	free(out);
	close(rfd);
	close(wfd);
}
