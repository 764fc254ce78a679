/*
 * log.c — the daemons' structured logger: one JSON object or one logfmt
 * record per line, built in a bounded buffer on the caller's stack and
 * written with one write(2) under a lock so threads never interleave.
 *
 * A daemon may let lines below warn wait in a buffer (drv_log_buffer()):
 * a worker that logs every task it runs then writes them a batch at a
 * time, not with one system call per line.
 *
 * Escaping is the whole job here: task output captured into a log field may
 * hold quotes, newlines, terminal escapes or bytes that are not UTF-8, and
 * none of it may break a line or make it unparseable. Invalid UTF-8 becomes
 * U+FFFD; control characters become \n, \r, \t or \u00XX; a value that does
 * not fit is cut at a character boundary and marked.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"

#define COMPONENT_MAX 64
#define MARKER_LEN    (sizeof(DRV_LOG_TRUNCATED) - 1)
/* Room always kept free while filling a line: the truncation marker, a
 * closing quote, and the line end ("}\n"). */
#define LINE_RESERVE  (MARKER_LEN + 1 + 2)

static char log_component[COMPONENT_MAX] = "drover";
static atomic_int log_level = DRV_LOG_INFO;
static atomic_int log_format = DRV_LOG_FORMAT_JSON;
static atomic_int log_fd = STDERR_FILENO;
static pthread_mutex_t log_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* The buffer of drv_log_buffer(), under log_write_lock: whole lines, in
 * order, written by the flusher once the oldest waited `wait_ms`, when
 * the next line would not fit, before a warn or error line, and by
 * drv_log_unbuffer(). */
#define PEND_CAP (64 * 1024)
static struct {
	char           *buf;       /* NULL: every line is written at once */
	size_t          len;
	int64_t         since_ms;  /* mono ms the oldest line came */
	int64_t         wait_ms;
	bool            stop;
	pthread_cond_t  cond;      /* CLOCK_MONOTONIC; the flusher's */
	pthread_t       thread;
} pend = { .buf = NULL };

void drv_log_setup(const char *component, drv_log_level_t min_level,
		   drv_log_format_t format, int fd)
{
	if (component)
		drv_strlcpy(log_component, component, sizeof(log_component));
	atomic_store(&log_level, (int)min_level);
	atomic_store(&log_format, (int)format);
	atomic_store(&log_fd, fd);
}

void drv_log_set_level(drv_log_level_t min_level)
{
	atomic_store(&log_level, (int)min_level);
}

bool drv_log_enabled(drv_log_level_t level)
{
	return (int)level >= atomic_load_explicit(&log_level,
						  memory_order_relaxed);
}

static const char *level_name(drv_log_level_t level)
{
	switch (level) {
	case DRV_LOG_DEBUG: return "debug";
	case DRV_LOG_INFO:  return "info";
	case DRV_LOG_WARN:  return "warn";
	case DRV_LOG_ERROR: return "error";
	}
	return "unknown";
}

/* ---- the line buffer --------------------------------------------------- */

struct line {
	char buf[DRV_LOG_LINE_MAX];
	size_t len;
	size_t cap;   /* put() stops here; the rest is LINE_RESERVE */
	bool json;
	bool first;   /* no field written yet */
	bool full;    /* something was cut: write no more fields */
	drv_log_level_t level;
};

/* Append all of s[0..n) or nothing. */
static bool put(struct line *l, const char *s, size_t n)
{
	if (l->len + n > l->cap)
		return false;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

/* Append inside the reserve; callers make sure it fits. */
static void put_reserved(struct line *l, const char *s, size_t n)
{
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/*
 * Append s escaped for the inside of a JSON string or a quoted logfmt value
 * (the same rules serve both). If it does not fit: with mark, cut at a
 * character boundary and append the marker; without, append nothing more.
 * Returns false if s was cut.
 */
static bool put_escaped(struct line *l, const char *s, bool mark)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		const unsigned char *run = p;
		char tmp[6];
		const char *u = tmp;
		size_t n = 1, adv = 1;

		/* a run of plain ASCII goes in at once; cut, it keeps what
		 * fits (any byte of it ends a character) */
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run) {
			size_t len = (size_t)(p - run);

			if (put(l, (const char *)run, len))
				continue;
			put(l, (const char *)run, l->cap - l->len);
			if (mark)
				put_reserved(l, DRV_LOG_TRUNCATED, MARKER_LEN);
			return false;
		}
		if (*p == '"' || *p == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)*p;
			n = 2;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			tmp[0] = '\\';
			tmp[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hex[*p >> 4];
			tmp[5] = hex[*p & 0xf];
			n = 6;
		} else if ((n = drv_utf8_len(p)) != 0) {
			u = (const char *)p;
			adv = n;
		} else {
			u = "\xEF\xBF\xBD"; /* U+FFFD for an invalid byte */
			n = 3;
		}
		if (!put(l, u, n)) {
			if (mark)
				put_reserved(l, DRV_LOG_TRUNCATED, MARKER_LEN);
			return false;
		}
		p += adv;
	}
	return true;
}

/* A logfmt value needs quotes if it is empty or holds a space, a control
 * character, '"', '=' or '\'. */
static bool logfmt_needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '=' ||
		    *p == '\\')
			return true;
	return false;
}

/* A logfmt key is written bare: anything that could end it becomes '_'. */
static bool put_logfmt_key(struct line *l, const char *key)
{
	const unsigned char *p = (const unsigned char *)key;

	if (!*p)
		return put(l, "_", 1);
	for (; *p; p++) {
		char c = (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=')
		       ? '_' : (char)*p;

		if (!put(l, &c, 1))
			return false;
	}
	return true;
}

/* Append one key/value field; on no room, undo it and stop the line. */
static void add_field(struct line *l, const char *key, const char *val)
{
	size_t undo = l->len;

	if (l->full)
		return;
	if (l->json) {
		if (!put(l, l->first ? "\"" : ",\"", l->first ? 1 : 2) ||
		    !put_escaped(l, key, false) || !put(l, "\":", 2))
			goto no_room;
		if (!val) {
			if (!put(l, "null", 4))
				goto no_room;
		} else {
			if (!put(l, "\"", 1))
				goto no_room;
			if (!put_escaped(l, val, true))
				l->full = true;
			put_reserved(l, "\"", 1);
		}
	} else {
		bool quote = val && logfmt_needs_quotes(val);

		if ((!l->first && !put(l, " ", 1)) || !put_logfmt_key(l, key) ||
		    !put(l, "=", 1) || (quote && !put(l, "\"", 1)))
			goto no_room;
		if (val && !put_escaped(l, val, true))
			l->full = true;
		if (quote)
			put_reserved(l, "\"", 1);
	}
	l->first = false;
	return;

no_room:
	l->len = undo;
	l->full = true;
}

/* The time field. Formatting a date costs more than the rest of a line,
 * so each thread keeps the part before the milliseconds of the last second
 * it formatted ("2026-11-26T04:17:17."). */
static void line_time(int64_t ms, char ts[32])
{
	static __thread int64_t last_sec = -1;
	static __thread char head[20];
	int frac = (int)(ms % 1000);

	if (ms < 0 || ms / 1000 != last_sec) {
		drv_format_time(ms, ts, 32);
		/* keep it only if it is a plain date */
		if (ms >= 0 && strlen(ts) == 24 && ts[19] == '.') {
			memcpy(head, ts, sizeof(head));
			last_sec = ms / 1000;
		}
		return;
	}
	memcpy(ts, head, sizeof(head));
	ts[20] = (char)('0' + frac / 100);
	ts[21] = (char)('0' + frac / 10 % 10);
	ts[22] = (char)('0' + frac % 10);
	ts[23] = 'Z';
	ts[24] = '\0';
}

static void line_begin(struct line *l, drv_log_level_t level)
{
	char ts[32];

	l->len = 0;
	l->cap = sizeof(l->buf) - LINE_RESERVE;
	l->json = atomic_load(&log_format) == DRV_LOG_FORMAT_JSON;
	l->first = true;
	l->full = false;
	l->level = level;
	if (l->json)
		put(l, "{", 1);
	line_time(drv_now_ms(), ts);
	add_field(l, "time", ts);
	add_field(l, "level", level_name(level));
	add_field(l, "component", log_component);
}

/* Write p[0..n) whole to fd; errors have nowhere to go. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to report it */
		p += w;
		n -= (size_t)w;
	}
}

/* Write what waits in the buffer. Caller holds log_write_lock. */
static void pend_write(int fd)
{
	if (pend.len && fd >= 0)
		write_all(fd, pend.buf, pend.len);
	pend.len = 0;
}

static void line_emit(struct line *l)
{
	int fd = atomic_load(&log_fd);

	if (l->json)
		put_reserved(l, "}", 1);
	put_reserved(l, "\n", 1);
	if (fd < 0)
		return;
	pthread_mutex_lock(&log_write_lock);
	if (pend.buf && l->level < DRV_LOG_WARN) {
		if (pend.len + l->len > PEND_CAP)
			pend_write(fd);
		if (!pend.len) {
			pend.since_ms = drv_mono_ms();
			pthread_cond_signal(&pend.cond);
		}
		memcpy(pend.buf + pend.len, l->buf, l->len);
		pend.len += l->len;
	} else {
		pend_write(fd);
		write_all(fd, l->buf, l->len);
	}
	pthread_mutex_unlock(&log_write_lock);
}

static void *flusher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&log_write_lock);
	while (!pend.stop) {
		int64_t due = pend.since_ms + pend.wait_ms;

		if (!pend.len) {
			pthread_cond_wait(&pend.cond, &log_write_lock);
		} else if (drv_mono_ms() < due) {
			struct timespec ts = drv_deadline(CLOCK_MONOTONIC,
							  due - drv_mono_ms());

			pthread_cond_timedwait(&pend.cond, &log_write_lock,
					       &ts);
		} else {
			pend_write(atomic_load(&log_fd));
		}
	}
	pend_write(atomic_load(&log_fd));
	pthread_mutex_unlock(&log_write_lock);
	return NULL;
}

bool drv_log_buffer(int64_t wait_ms)
{
	pthread_condattr_t ca;
	char *buf;

	if (pend.buf || wait_ms <= 0)
		return true;
	if (!(buf = malloc(PEND_CAP)))
		return false;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pend.cond, &ca);
	pthread_condattr_destroy(&ca);
	pend.wait_ms = wait_ms;
	pend.stop = false;
	pend.len = 0;
	pthread_mutex_lock(&log_write_lock);
	pend.buf = buf;
	pthread_mutex_unlock(&log_write_lock);
	if (pthread_create(&pend.thread, NULL, flusher, NULL)) {
		pthread_mutex_lock(&log_write_lock);
		pend.buf = NULL;
		pthread_mutex_unlock(&log_write_lock);
		pthread_cond_destroy(&pend.cond);
		free(buf);
		return false;
	}
	return true;
}

void drv_log_unbuffer(void)
{
	char *buf;

	if (!pend.buf)
		return;
	pthread_mutex_lock(&log_write_lock);
	pend.stop = true;
	pthread_cond_signal(&pend.cond);
	pthread_mutex_unlock(&log_write_lock);
	pthread_join(pend.thread, NULL);
	pthread_mutex_lock(&log_write_lock);
	buf = pend.buf;
	pend.buf = NULL;
	pthread_mutex_unlock(&log_write_lock);
	pthread_cond_destroy(&pend.cond);
	free(buf);
}

/* ---- public forms ------------------------------------------------------ */

void drv_vlog(drv_log_level_t level, const char *task_id, const char *fmt,
	      va_list ap)
{
	char msg[DRV_LOG_LINE_MAX];
	struct line l;

	if (!drv_log_enabled(level))
		return;
	drv_vfmt(msg, sizeof(msg), fmt, ap); /* too long: the line cuts it */
	line_begin(&l, level);
	add_field(&l, "msg", msg);
	if (task_id)
		add_field(&l, "task_id", task_id);
	line_emit(&l);
}

void drv_log(drv_log_level_t level, const char *task_id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drv_vlog(level, task_id, fmt, ap);
	va_end(ap);
}

void drv_vlog_kv(drv_log_level_t level, const char *msg, va_list ap)
{
	const char *key;
	struct line l;

	if (!drv_log_enabled(level))
		return;
	line_begin(&l, level);
	add_field(&l, "msg", msg ? msg : "");
	while ((key = va_arg(ap, const char *)) != NULL)
		add_field(&l, key, va_arg(ap, const char *));
	line_emit(&l);
}

void drv_log_kv(drv_log_level_t level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	drv_vlog_kv(level, msg, ap);
	va_end(ap);
}
