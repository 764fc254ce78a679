/*
 * json_out.c — compact JSON objects written straight into a growing buffer
 * (see include/drover/json_out.h): the text jansson's json_dumps() would
 * make, without a tree, a hash table per object or printf per number.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/json_out.h"
#include "drover/str.h"

#define JOUT_START 256

/* Room for \p n more bytes (and a NUL); false when out of memory. */
static bool reserve(drv_jout_t *j, size_t n)
{
	size_t cap = j->cap ? j->cap : JOUT_START;
	char *p;

	if (j->nomem)
		return false;
	if (j->len + n + 1 <= j->cap)
		return true;
	while (cap < j->len + n + 1)
		cap *= 2;
	if (!(p = realloc(j->buf, cap))) {
		j->nomem = true;
		return false;
	}
	j->buf = p;
	j->cap = cap;
	return true;
}

static void raw(drv_jout_t *j, const char *s, size_t n)
{
	if (j->len + n + 1 > j->cap && !reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

bool drv_jout_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = 1;

		if (*p >= 0x80 && !(n = drv_utf8_len(p)))
			return false;
		p += n;
	}
	return true;
}

/* Per byte: 0 escaped, 1 copied unless ascii output (>= 0x80), 2 copied. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char plain[256] = {
	R16(0), R16(0),                                     /* controls */
	2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0x20: '"' */
	R16(2), R16(2),
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2,     /* 0x50: '\\' */
	R16(2), R16(2),
	R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
};
#undef R16

/* "s" escaped as jansson does; with \p ascii, bytes >= 0x80 become '?'. */
static void string(drv_jout_t *j, const char *s, bool ascii)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	raw(j, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		char esc[6] = { '\\', 0, '0', '0', 0, 0 };
		size_t n = 2;

		while (plain[*p] > ascii)
			p++;
		raw(j, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			if (*p >= 0x80) {       /* ascii: replaced */
				esc[0] = '?';
				n = 1;
				break;
			}
			esc[1] = 'u';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			n = 6;
		}
		raw(j, esc, n);
		p++;
	}
	raw(j, "\"", 1);
}

/* ,"key": */
static void key(drv_jout_t *j, const char *k)
{
	if (j->len && j->buf[j->len - 1] != '{')
		raw(j, ",", 1);
	string(j, k, false);
	raw(j, ":", 1);
}

void drv_jout_begin(drv_jout_t *j)
{
	memset(j, 0, sizeof(*j));
	raw(j, "{", 1);
}

char *drv_jout_end(drv_jout_t *j)
{
	char *s;

	raw(j, "}", 1);
	if (j->nomem) {
		drv_jout_discard(j);
		return NULL;
	}
	j->buf[j->len] = '\0';
	s = j->buf;
	memset(j, 0, sizeof(*j));
	return s;
}

void drv_jout_discard(drv_jout_t *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

bool drv_jout_str(drv_jout_t *j, const char *k, const char *value)
{
	if (!value || !drv_jout_utf8_ok(value))
		return false;
	key(j, k);
	string(j, value, false);
	return true;
}

bool drv_jout_str_or_null(drv_jout_t *j, const char *k, const char *value)
{
	if (value)
		return drv_jout_str(j, k, value);
	key(j, k);
	raw(j, "null", 4);
	return true;
}

void drv_jout_str_lossy(drv_jout_t *j, const char *k, const char *value)
{
	key(j, k);
	string(j, value, !drv_jout_utf8_ok(value));
}

void drv_jout_int(drv_jout_t *j, const char *k, int64_t n)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		*--p = '-';
	key(j, k);
	raw(j, p, (size_t)(buf + sizeof(buf) - p));
}

void drv_jout_open(drv_jout_t *j, const char *k)
{
	key(j, k);
	raw(j, "{", 1);
}

void drv_jout_close(drv_jout_t *j)
{
	raw(j, "}", 1);
}

size_t drv_jout_mark(const drv_jout_t *j)
{
	return j->len;
}

void drv_jout_undo(drv_jout_t *j, size_t mark)
{
	if (mark < j->len)
		j->len = mark;
}

json_t *drv_json_str_lossy(const char *s)
{
	json_t *v = json_string(s);
	char *clean;

	if (v || !(clean = strdup(s)))
		return v;
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(clean);
	free(clean);
	return v;
}
