/*
 * drover — clocks. Wall time for timestamps that travel in messages;
 * monotonic time for timeouts and intervals inside one process.
 */
#ifndef DROVER_CLOCK_H
#define DROVER_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** @brief Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t drv_now_ms(void);

/** @brief Milliseconds on CLOCK_MONOTONIC; only differences mean anything. */
int64_t drv_mono_ms(void);

/** @brief The time \p ms from now on \p clock (CLOCK_MONOTONIC or
 *         CLOCK_REALTIME), for pthread_cond_timedwait() and friends. */
struct timespec drv_deadline(clockid_t clock, int64_t ms);

/** The last instant RFC 3339 can write, 9999-12-31T23:59:59.999Z (its
 *  years have four digits): later times are refused, never printed. */
#define DRV_TIME_MAX_MS INT64_C(253402300799999)

/** @brief Format \p ms since the epoch as RFC 3339 UTC with milliseconds
 *         ("2026-11-26T04:17:17.123Z") into \p buf (>= 25 bytes). A time
 *         before 1970 or after DRV_TIME_MAX_MS is written as its number
 *         of milliseconds and "ms" ("253402300800000ms"), which no reader
 *         takes for a time. */
void drv_format_time(int64_t ms, char *buf, size_t size);

/** @brief drv_format_time() to the second, for \p s seconds since the
 *         epoch ("2026-11-26T04:17:17Z"; \p buf >= 21 bytes). */
void drv_format_time_s(int64_t s, char *buf, size_t size);

/**
 * @brief Parse an RFC 3339 time ("2026-03-08T01:30:00Z",
 *        "2026-03-08T01:30:00.250-05:00"; 't', 'z' or a space for 'T' too)
 *        into milliseconds since the epoch.
 * @returns 0, or -1 if \p s is not such a time (\p out untouched).
 */
int drv_parse_time(const char *s, int64_t *out);

/**
 * @brief Parse a point in time the way filters take one: an RFC 3339 time
 *        (drv_parse_time()), a bare date ("2026-03-08": its midnight UTC),
 *        or a duration (drover/str.h drv_parse_duration: "2h") meaning
 *        \p now_ms minus it.
 * @returns 0, or -1 if \p s is none of these (\p out untouched).
 */
int drv_parse_when(const char *s, int64_t now_ms, int64_t *out);

#endif /* DROVER_CLOCK_H */
