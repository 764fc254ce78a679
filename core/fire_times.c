/*
 * fire_times.c — the next fire times of a cron expression, formatted
 * (include/drover/fire_times.h).
 */
#include "drover/clock.h"
#include "drover/fire_times.h"
#include "drover/str.h"

size_t drv_fire_times(const drv_cron_t *cron, const drv_tz_t *tz,
		      int64_t after_ms, drv_fire_time_t *out, size_t count)
{
	size_t n = 0;

	if (count > DRV_FIRE_TIMES_MAX)
		count = DRV_FIRE_TIMES_MAX;
	for (; n < count; n++) {
		drv_fire_time_t *t = &out[n];
		drv_civil_t c;
		int32_t off;

		if (drv_cron_next(cron, tz, after_ms, &t->ms))
			break;
		drv_tz_to_civil(tz, t->ms / 1000, &c);
		off = c.utoff < 0 ? -c.utoff : c.utoff;
		drv_fmt(t->local, sizeof(t->local),
			"%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year,
			c.month, c.day, c.hour, c.minute, c.second,
			c.utoff < 0 ? '-' : '+', off / 3600, off / 60 % 60);
		drv_strlcpy(t->abbr, c.abbr, sizeof(t->abbr));
		drv_format_time_s(t->ms / 1000, t->utc, sizeof(t->utc));
		after_ms = t->ms;
	}
	return n;
}

json_t *drv_fire_time_obj(const drv_fire_time_t *t, const drv_tz_t *tz)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "local", t->local,
			 "abbr", t->abbr, "zone", drv_tz_name(tz), "utc",
			 t->utc, "unix_ms", (json_int_t)t->ms);
}
