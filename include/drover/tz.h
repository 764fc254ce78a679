/*
 * drover — IANA time zones without touching the process's TZ.
 *
 * A drv_tz_t is a zone read once from a TZif file (RFC 8536, version 2 or
 * later, 64-bit section) under $TZDIR or /usr/share/zoneinfo (the Debian
 * tzdata package). After loading it is immutable, so any number of threads
 * may convert with the same zone at once; nothing here calls setenv("TZ"),
 * tzset() or localtime().
 *
 * Times after the file's last transition follow its POSIX TZ footer
 * ("EST5EDT,M3.2.0,M11.1.0"), so zones keep their DST rules past 2037 even
 * with "slim" TZif files. Leap-second ("right/") zones are rejected.
 *
 * Everywhere in this header a NULL zone means UTC.
 */
#ifndef DROVER_TZ_H
#define DROVER_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drv_tz drv_tz_t;

/** A broken-down wall-clock time in some zone. */
typedef struct drv_civil {
	int     year;    /**< proleptic Gregorian, e.g. 2026 */
	int     month;   /**< 1-12 */
	int     day;     /**< 1-31 */
	int     hour;    /**< 0-23 */
	int     minute;  /**< 0-59 */
	int     second;  /**< 0-59 */
	int     wday;    /**< 0 = Sunday ... 6 = Saturday */
	int32_t utoff;   /**< seconds east of UTC in effect (0 for UTC) */
	bool    isdst;   /**< daylight-saving time in effect */
	char    abbr[16];/**< zone abbreviation ("EDT", "+1030", "UTC") */
} drv_civil_t;

/**
 * @brief Load the zone \p name ("America/New_York", "UTC").
 *
 * NULL, "" and "UTC" give a built-in UTC zone that needs no file. Other
 * names are read from $TZDIR (if set) or /usr/share/zoneinfo; names with
 * ".." components, a leading '/' or characters outside [A-Za-z0-9_+-/] are
 * refused.
 *
 * @param out  set to a new zone the caller frees with drv_tz_free().
 * @returns DRV_OK, DRV_ERR_INVALID (bad name), DRV_ERR_NOT_FOUND (no such
 *          zone), DRV_ERR_DECODE (not a usable TZif v2+ file),
 *          DRV_ERR_UNSUPPORTED (a leap-second zone), DRV_ERR_IO or
 *          DRV_ERR_NOMEM, with a message in \p errstr.
 */
drv_err_t drv_tz_load(const char *name, drv_tz_t **out, char *errstr,
		      size_t errstr_size);

/**
 * @brief Parse a TZif image already in memory (what drv_tz_load() does
 *        after reading the file); \p name is copied for drv_tz_name().
 * @param out  set to a new zone the caller frees with drv_tz_free().
 */
drv_err_t drv_tz_parse(const char *name, const unsigned char *data,
		       size_t len, drv_tz_t **out, char *errstr,
		       size_t errstr_size);

/** @brief Free a zone; NULL is a no-op. */
void drv_tz_free(drv_tz_t *tz);

/** @brief The zone's name as loaded ("UTC" for NULL); owned by \p tz. */
const char *drv_tz_name(const drv_tz_t *tz);

/**
 * @brief The UTC offset (seconds east) in effect at \p utc_s (seconds since
 *        the epoch), and optionally whether it is DST and its abbreviation
 *        (a pointer into \p tz, valid while the zone lives; may be NULL).
 */
int32_t drv_tz_offset(const drv_tz_t *tz, int64_t utc_s, bool *isdst,
		      const char **abbr);

/** @brief The wall-clock time in \p tz at the instant \p utc_s. */
void drv_tz_to_civil(const drv_tz_t *tz, int64_t utc_s, drv_civil_t *out);

/** How drv_tz_from_local() resolved a wall-clock time. */
typedef enum drv_tz_local {
	DRV_TZ_UNIQUE   = 0, /**< the wall time happened exactly once */
	DRV_TZ_SKIPPED  = 1, /**< it fell in a spring-forward gap */
	DRV_TZ_REPEATED = 2, /**< it happened twice (fall-back) */
} drv_tz_local_t;

/**
 * @brief Map a wall-clock time (\p local_s: the civil time's seconds counted
 *        as if it were UTC, see drv_civil_to_seconds()) to a UTC instant.
 *
 * A repeated wall time gives its first (earlier) instant; a skipped one gives
 * the instant of the jump that skipped it. \p how (may be NULL) says which
 * case it was. Assumes at most one transition within a day of the wall
 * time (true of real zones; two jumps within a day are not handled).
 */
int64_t drv_tz_from_local(const drv_tz_t *tz, int64_t local_s,
			  drv_tz_local_t *how);

/** @brief Seconds since 1970-01-01T00:00:00 of a proleptic Gregorian civil
 *         time, ignoring zones (fields need not be normalised: day 0 is the
 *         last day of the previous month). */
int64_t drv_civil_to_seconds(int year, int month, int day, int hour,
			     int minute, int second);

/** @brief The inverse of drv_civil_to_seconds(); sets the date, time and
 *         wday fields of \p out and leaves the zone fields alone. */
void drv_seconds_to_civil(int64_t s, drv_civil_t *out);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_TZ_H */
