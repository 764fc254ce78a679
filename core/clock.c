/*
 * clock.c — wall and monotonic milliseconds, and RFC 3339 formatting.
 */
#include <time.h>

#include "drover/clock.h"
#include "drover/str.h"

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t drv_now_ms(void)  { return clock_ms(CLOCK_REALTIME); }
int64_t drv_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

void drv_format_time(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999) {
		drv_fmt(buf, size, "%lldms", (long long)ms);
		return;
	}
	drv_fmt(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
