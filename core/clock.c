/*
 * clock.c — wall and monotonic milliseconds, and RFC 3339 formatting and
 * parsing.
 */
#include <string.h>
#include <time.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "drover/tz.h"

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t drv_now_ms(void)  { return clock_ms(CLOCK_REALTIME); }
int64_t drv_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

struct timespec drv_deadline(clockid_t clock, int64_t ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void drv_format_time(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || ms > DRV_TIME_MAX_MS || !gmtime_r(&secs, &tm)) {
		drv_fmt(buf, size, "%lldms", (long long)ms);
		return;
	}
	drv_fmt(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void drv_format_time_s(int64_t s, char *buf, size_t size)
{
	char ms[40];

	drv_format_time(s * 1000, ms, sizeof(ms));
	if (ms[10] == 'T')   /* else out of range: drv_format_time's form */
		drv_fmt(buf, size, "%.19sZ", ms);
	else
		drv_strlcpy(buf, ms, size);
}

static int digits(const char **pp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*pp)++) {
		if (**pp < '0' || **pp > '9')
			return -1;
		v = v * 10 + (**pp - '0');
	}
	*out = v;
	return 0;
}

int drv_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, frac = 0;
	const char *p = s;

	if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' ') || !*p++ ||
	    digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int scale = 100;

		if (*++p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	*out = (drv_civil_to_seconds(y, mo, d, h, mi, sec > 59 ? 59 : sec) -
		sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

int drv_parse_when(const char *s, int64_t now_ms, int64_t *out)
{
	char day[32];
	int64_t ms;

	if (!s)
		return -1;
	/* a bare date is its midnight UTC; a ten-character duration
	 * ("1000000000", "12h30m15s0") is still a duration */
	if (strlen(s) == 10)
		drv_fmt(day, sizeof(day), "%sT00:00:00Z", s);
	if (!drv_parse_time(strlen(s) == 10 ? day : s, &ms)) {
		*out = ms;
		return 0;
	}
	if (drv_parse_duration(s, &ms) == DRV_OK && ms >= 0 && ms <= now_ms) {
		*out = now_ms - ms;
		return 0;
	}
	return -1;
}
