/*
 * drover — cron expressions (Vixie/cronie syntax) and their next fire time
 * in an IANA time zone.
 *
 * Syntax
 * ------
 *   MIN HOUR DOM MON DOW            5 fields, fires at second 0
 *   SEC MIN HOUR DOM MON DOW        6 fields, a leading seconds field
 *   @yearly @annually @monthly @weekly @daily @midnight @hourly
 *
 * Each field is a comma-separated list of items: `*`, `N`, `A-B`, and any of
 * those followed by `/STEP` (`*\/15`, `1-30/5`; `N/STEP` means N-max/STEP).
 * Months accept JAN-DEC and weekdays SUN-SAT, in any case, also in ranges
 * (`MON-FRI`). Day-of-week 0 and 7 are both Sunday. Ranges must not wrap
 * (`FRI-MON` is an error). @reboot is not supported.
 *
 * Day-of-month and day-of-week follow the Vixie rule: if either field starts
 * with `*` (including `*\/N`) a day must match both, i.e. the other field
 * alone decides; otherwise a day matches if EITHER matches: `0 0 13 * FRI`
 * fires on every 13th and on every Friday, and `0 0 29 2 1` on Feb 29 and on
 * every Monday of February (the month field always applies).
 *
 * Errors name the field and the 1-based column in the expression:
 *   cron: hour field: '25' is out of range 0-23 (at column 3)
 *
 * Time zones and daylight-saving time
 * -----------------------------------
 * An expression describes wall-clock times in its zone. Policy: every
 * matching wall-clock time fires exactly once.
 *  - A wall time skipped by a spring-forward jump fires at the instant of the
 *    jump (02:30 on 2026-03-08 in America/New_York fires at 03:00 EDT =
 *    07:00Z). Several skipped matches (`*\/15` between 02:00 and 02:59)
 *    collapse into that one instant.
 *  - A wall time repeated by a fall-back fires once, at its first occurrence
 *    (01:30 on 2026-11-01 in America/New_York fires at 01:30 EDT = 05:30Z,
 *    not again at 01:30 EST). This holds for interval schedules too: `*\/15
 *    * * * *` fires at 01:00..01:45 EDT and then next at 02:00 EST, leaving
 *    the repeated hour's second pass silent (cronie would fire interval jobs
 *    in both passes; drover prefers one rule for every schedule).
 */
#ifndef DROVER_CRON_H
#define DROVER_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"
#include "drover/tz.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed expression: immutable, safe to share between threads. */
typedef struct drv_cron drv_cron_t;

/** How far drv_cron_next() looks before giving up: 8 years covers Feb 29
 *  across a non-leap century year (2096 -> 2104). */
#define DRV_CRON_SEARCH_YEARS 8

/**
 * @brief Parse \p expr (leading and trailing blanks are ignored).
 * @param out  on success, a new expression the caller frees with
 *             drv_cron_free(); NULL on error.
 * @returns DRV_OK, DRV_ERR_INVALID with a "cron: ..." message naming the
 *          field and column in \p errstr, or DRV_ERR_NOMEM.
 */
drv_err_t drv_cron_parse(const char *expr, drv_cron_t **out, char *errstr,
			 size_t errstr_size);

/** @brief Free an expression; NULL is a no-op. */
void drv_cron_free(drv_cron_t *c);

/** @brief Whether the expression had a seconds field (6 fields). */
bool drv_cron_has_seconds(const drv_cron_t *c);

/**
 * @brief The first fire time strictly after \p after_ms.
 *
 * @param tz        the zone the expression's wall times are in; NULL = UTC.
 *                  Borrowed, not kept.
 * @param after_ms  milliseconds since the epoch (UTC); may be negative.
 * @param next_ms   set to the fire time in milliseconds since the epoch (a
 *                  whole second) on DRV_OK.
 * @returns DRV_OK, or DRV_ERR_NOT_FOUND if the expression never matches
 *          within DRV_CRON_SEARCH_YEARS (e.g. `30 2 31 2 *`), or its next
 *          match is after year 9999 in UTC or in \p tz (past
 *          DRV_TIME_MAX_MS, which RFC 3339 cannot write).
 * @remark Pure function of its arguments; any thread may call it.
 */
drv_err_t drv_cron_next(const drv_cron_t *c, const drv_tz_t *tz,
			int64_t after_ms, int64_t *next_ms);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_CRON_H */
