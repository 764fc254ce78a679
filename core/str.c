/*
 * str.c — bounded string helpers and the small parsers (integers, booleans,
 * durations) shared by the config loader and the CLI.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drover/str.h"

size_t drv_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

bool drv_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, size, fmt, ap);

	return n >= 0 && (size_t)n < size;
}

bool drv_buf_add(drv_buf_t *b, const void *s, size_t n)
{
	if (b->oom)
		return false;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (n + 1 > cap - b->len)
			cap *= 2;
		if (b->max_cap && cap > b->max_cap)
			cap = b->max_cap > b->len + n + 1 ? b->max_cap :
			      b->len + n + 1;
		if (!(p = realloc(b->p, cap))) {
			b->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

bool drv_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = drv_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return ok;
}

char *drv_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

drv_err_t drv_parse_int(const char *s, int64_t min, int64_t max,
			int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return DRV_ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return DRV_ERR_INVALID;
	if (errno == ERANGE || v < min || v > max)
		return DRV_ERR_RANGE;
	*out = v;
	return DRV_OK;
}

drv_err_t drv_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[]  = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) { *out = true;  return DRV_OK; }
		if (!strcasecmp(s, no[i]))  { *out = false; return DRV_OK; }
	}
	return DRV_ERR_INVALID;
}

static const struct {
	const char *suffix;
	int64_t ms;
} duration_units[] = {
	/* longest suffix first so "ms" is not read as "m" */
	{ "ms", 1 },
	{ "s",  1000 },
	{ "m",  60 * 1000 },
	{ "h",  3600 * 1000 },
	{ "d",  86400 * 1000 },
};

bool drv_name_valid(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

drv_err_t drv_parse_duration(const char *s, int64_t *ms_out)
{
	int64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return DRV_ERR_INVALID;
	if (drv_parse_int(s, 0, INT64_MAX, ms_out) == DRV_OK)
		return DRV_OK; /* bare milliseconds */

	while (*p) {
		int64_t num = 0;
		int digits = 0;
		size_t i;

		while (isdigit((unsigned char)*p)) {
			if (num > (INT64_MAX - 9) / 10)
				return DRV_ERR_RANGE;
			num = num * 10 + (*p++ - '0');
			digits++;
		}
		if (!digits)
			return DRV_ERR_INVALID;
		for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
			size_t n = strlen(duration_units[i].suffix);
			if (!strncmp(p, duration_units[i].suffix, n) &&
			    (p[n] == '\0' || isdigit((unsigned char)p[n]))) {
				if (num > INT64_MAX / duration_units[i].ms ||
				    total > INT64_MAX - num * duration_units[i].ms)
					return DRV_ERR_RANGE;
				total += num * duration_units[i].ms;
				p += n;
				break;
			}
		}
		if (i == sizeof(duration_units) / sizeof(duration_units[0]))
			return DRV_ERR_INVALID;
	}
	*ms_out = total;
	return DRV_OK;
}

void drv_format_duration(int64_t ms, char *buf, size_t size)
{
	for (size_t i = sizeof(duration_units) / sizeof(duration_units[0]); i-- > 1;) {
		if (ms != 0 && ms % duration_units[i].ms == 0) {
			drv_fmt(buf, size, "%lld%s",
				(long long)(ms / duration_units[i].ms),
				duration_units[i].suffix);
			return;
		}
	}
	drv_fmt(buf, size, "%lldms", (long long)ms);
}

int drv_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[65];

	if (la > 64 || lb > 64)
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			int best = diag + cost;
			if (row[j] + 1 < best)     best = row[j] + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char b64_tbl[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *drv_base64_encode(const void *data, size_t len)
{
	const uint8_t *d = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		*o++ = b64_tbl[(v >> 18) & 63];
		*o++ = b64_tbl[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64_tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64_tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

drv_err_t drv_base64_decode(const char *s, size_t len, uint8_t **out,
			    size_t *out_len)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0;
	uint8_t *buf;

	while (len && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return DRV_ERR_INVALID;
	if (!(buf = malloc(len * 3 / 4 + 1)))
		return DRV_ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		const char *p = s[i] ? strchr(b64_tbl, s[i]) : NULL;

		if (!p) {
			free(buf);
			return DRV_ERR_INVALID;
		}
		acc = (acc << 6) | (uint32_t)(p - b64_tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	buf[n] = 0;
	*out = buf;
	*out_len = n;
	return DRV_OK;
}

size_t drv_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;      /* overlong */
	else if (c == 0xED)
		hi = 0x9F;      /* surrogates */
	else if (c == 0xF0)
		lo = 0x90;      /* overlong */
	else if (c == 0xF4)
		hi = 0x8F;      /* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}
