/*
 * drover — the next fire times of a cron expression in its time zone, as
 * `droverctl schedule next` prints them and GET
 * /api/v1/schedules/{id}/next returns them: the same computation the
 * coordinator makes (drover/cron.h), each time with its local form, UTC
 * offset and zone abbreviation, so a schedule and its DST behaviour can be
 * checked before it is deployed.
 */
#ifndef DROVER_FIRE_TIMES_H
#define DROVER_FIRE_TIMES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "drover/cron.h"
#include "drover/tz.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most fire times one call gives. */
#define DRV_FIRE_TIMES_MAX 1000

/** One fire time. Plain data. */
typedef struct drv_fire_time {
	int64_t ms;         /**< the instant, ms since 1970 (UTC) */
	char    local[40];  /**< local time with its offset:
				 "2026-03-08T03:00:00-07:00" */
	char    abbr[16];   /**< the zone's abbreviation then: "PDT" */
	char    utc[32];    /**< "2026-03-08T10:00:00Z" */
} drv_fire_time_t;

/**
 * @brief The first \p count (at most DRV_FIRE_TIMES_MAX) fire times of
 *        \p cron in \p tz after \p after_ms, into \p out (the caller's,
 *        room for \p count).
 * @returns how many were found: fewer than \p count when the expression
 *          fires no more within DRV_CRON_SEARCH_YEARS of the last one (or
 *          before the year 10000); 0 when it never fires. Pure; any
 *          thread.
 */
size_t drv_fire_times(const drv_cron_t *cron, const drv_tz_t *tz,
		      int64_t after_ms, drv_fire_time_t *out, size_t count);

/**
 * @brief \p t as {"local", "abbr", "zone", "utc", "unix_ms"}, \p tz's name
 *        as the zone.
 * @returns a new reference (the caller's), or NULL when out of memory.
 */
json_t *drv_fire_time_obj(const drv_fire_time_t *t, const drv_tz_t *tz);

#ifdef __cplusplus
}
#endif

#endif /* DROVER_FIRE_TIMES_H */
