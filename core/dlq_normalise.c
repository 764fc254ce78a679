/*
 * dlq_normalise.c — a dead letter's failure group: its error message with
 * what varies between occurrences (numbers, ids, addresses, quoted values,
 * query strings) replaced by placeholders, and the group's stable id (see
 * include/drover/dlq_groups.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "drover/digest.h"
#include "drover/dlq.h"
#include "drover/dlq_groups.h"
#include "drover/str.h"

/** Bytes of a message looked at: enough for any group's first 200. */
#define SCAN_MAX 4096
/** Longest quoted string replaced (a longer one is left as it is). */
#define QUOTE_MAX 256
/** Shortest run of letters and digits taken for an id. */
#define ID_MIN 16

typedef struct out {
	char  *buf;
	size_t size, len;
	bool   full;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->len + n > DRV_DLQ_GROUP_MSG_MAX || o->len + n >= o->size) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static bool word(int c)
{
	return isalnum(c) || c == '_';
}

static size_t span_of(const char *s, const char *set, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] && strchr(set, s[n]))
		n++;
	return n;
}

static size_t digits(const char *s)
{
	return span_of(s, "0123456789", SCAN_MAX);
}

static size_t hexits(const char *s)
{
	return span_of(s, "0123456789abcdefABCDEF", SCAN_MAX);
}

/* A UUID (8-4-4-4-12 hex digits) at \p s: its length, or 0. */
static size_t uuid(const char *s)
{
	static const size_t part[] = { 8, 4, 4, 4, 12 };
	size_t n = 0;

	for (size_t i = 0; i < 5; i++) {
		if (hexits(s + n) < part[i])
			return 0;
		n += part[i];
		if (i < 4 && s[n++] != '-')
			return 0;
	}
	return word((unsigned char)s[n]) ? 0 : n;
}

/* An IPv4 address, with an optional :port, at \p s: its length, or 0. */
static size_t ipv4(const char *s)
{
	size_t n = 0, d;

	for (int i = 0; i < 4; i++) {
		d = digits(s + n);
		if (!d || d > 3)
			return 0;
		n += d;
		if (i < 3 && s[n++] != '.')
			return 0;
	}
	if (s[n] == ':' && (d = digits(s + n + 1)))
		n += 1 + d;
	return word((unsigned char)s[n]) || s[n] == '.' ? 0 : n;
}

/* A hex number ("0x1f") or a hex id of 8 or more digits with a digit and
 * a letter in it, at \p s: its length, or 0. */
static size_t hex(const char *s)
{
	size_t n;
	bool digit = false, letter = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && (n = hexits(s + 2)))
		return word((unsigned char)s[n + 2]) ? 0 : n + 2;
	n = hexits(s);
	if (n < 8 || word((unsigned char)s[n]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)s[i]))
			digit = true;
		else
			letter = true;
	return digit && letter ? n : 0;
}

/* A long word of letters and digits, both in it (a ULID, a token): its
 * length, or 0. */
static size_t long_id(const char *s)
{
	size_t n = 0;
	bool digit = false, letter = false;

	while (isalnum((unsigned char)s[n])) {
		if (isdigit((unsigned char)s[n]))
			digit = true;
		else
			letter = true;
		n++;
	}
	return n >= ID_MIN && digit && letter && s[n] != '_' ? n : 0;
}

/* A quoted string at \p s, at the start of a word (an apostrophe within
 * a word is none), closed within QUOTE_MAX by the same quote at the end of
 * a word: its length with the quotes, or 0. */
static size_t quoted(const char *s)
{
	size_t n = strnlen(s + 1, QUOTE_MAX);

	if (*s != '\'' && *s != '"' && *s != '`')
		return 0;
	for (size_t i = 1; i <= n; i++)
		if (s[i] == *s && !word((unsigned char)s[i + 1]))
			return i + 1;
	return 0;
}

size_t drv_dlq_normalise(const char *msg, char *out, size_t size)
{
	out_t o = { .buf = out, .size = size };
	const char *s = msg ? msg : "", *end = s + strnlen(s, SCAN_MAX);
	bool url = false, space = false;
	size_t n;

	while (s < end && !o.full) {
		unsigned char c = (unsigned char)*s;
		bool start = s == msg || !word((unsigned char)s[-1]);

		if (isspace(c)) {
			space = true;
			url = false;
			s++;
			continue;
		}
		if (space && o.len)
			put(&o, " ", 1);
		space = false;
		if (c == ':' && !strncmp(s, "://", 3))
			url = true;
		if (url && c == '?') {
			put(&o, "?<query>", 8);
			while (s < end && !isspace((unsigned char)*s))
				s++;
			continue;
		}
		if (start && (n = quoted(s))) {
			put(&o, "<str>", 5);
		} else if (start && (n = uuid(s))) {
			put(&o, "<uuid>", 6);
		} else if (start && (n = ipv4(s))) {
			put(&o, "<addr>", 6);
		} else if (start && (n = hex(s))) {
			put(&o, "<hex>", 5);
		} else if (start && (n = long_id(s))) {
			put(&o, "<id>", 4);
		} else if ((n = digits(s))) {
			if (s[n] == '.' && isdigit((unsigned char)s[n + 1]))
				n += 1 + digits(s + n + 1);
			put(&o, "<n>", 3);
		} else if (c < 0x80) {
			put(&o, s, n = 1);
		} else if ((n = drv_utf8_len((const unsigned char *)s)) &&
			   s + n <= end) {
			put(&o, s, n);
		} else {
			put(&o, "?", n = 1);  /* not UTF-8 */
		}
		s += n;
	}
	o.buf[o.len] = '\0';
	return o.len;
}

void drv_dlq_group_id(const char *handler, const char *class,
		      const char *message, char *id)
{
	unsigned char sum[32];
	drv_buf_t b = { 0 };
	bool ok;

	ok = drv_buf_add(&b, handler, strlen(handler) + 1) &&
	     drv_buf_add(&b, class, strlen(class) + 1) &&
	     drv_buf_add(&b, message, strlen(message));
	if (ok)
		drv_sha256(b.p, b.len, sum);
	else
		memset(sum, 0, sizeof(sum));
	free(b.p);
	drv_hex(sum, DRV_DLQ_GROUP_ID_LEN / 2, id);
	id[DRV_DLQ_GROUP_ID_LEN] = '\0';
}

bool drv_dlq_group_id_valid(const char *s)
{
	return s && strlen(s) == DRV_DLQ_GROUP_ID_LEN &&
	       span_of(s, "0123456789abcdef", DRV_DLQ_GROUP_ID_LEN) ==
	       DRV_DLQ_GROUP_ID_LEN;
}

bool drv_dlq_group_key_name(const char *prefix, const char *id, char *buf,
			    size_t size)
{
	return drv_fmt(buf, size, "%sdlq:group:%s", prefix, id);
}

void drv_dlq_group_of(const drv_dead_letter_t *dl, drv_dlq_group_key_t *k)
{
	const drv_failure_t *f;
	size_t n;

	f = drv_dlq_failures(dl, &n);
	k->handler = dl->task.handler ? dl->task.handler : "";
	if (n) {
		k->class = drv_failure_class_name(f[n - 1].failure_class);
		k->raw = f[n - 1].message;
	} else {
		k->class = drv_dl_reason_name(dl->reason);
		k->raw = NULL;
	}
	if (!k->raw)
		k->raw = dl->detail ? dl->detail : "";
	drv_dlq_normalise(k->raw, k->message, sizeof(k->message));
	drv_dlq_group_id(k->handler, k->class, k->message, k->id);
}
