/*
 * drover — the structured logger the daemons (worker, coordinator) and
 * droverctl use. The core library itself never logs; it returns errors.
 *
 * One line per call, written with a single write(2) under a lock, so lines
 * from different threads never interleave. Each line carries: time (RFC 3339
 * UTC, milliseconds), level, component, msg, task_id when given, then any
 * extra key/value pairs, as JSON (one object per line) or logfmt:
 *
 *   {"time":"2026-11-26T04:17:17.123Z","level":"info","component":"worker","msg":"task finished","task_id":"01J...","status":"ok"}
 *   time=2026-11-26T04:17:17.123Z level=info component=worker msg="task finished" task_id=01J... status=ok
 *
 * Values are escaped so that nothing (quotes, newlines in captured task
 * output, control characters, invalid UTF-8) can break a line. A line is at
 * most DRV_LOG_LINE_MAX bytes; a value that does not fit is cut and marked
 * with DRV_LOG_TRUNCATED, and the line stays well-formed.
 *
 * Before drv_log_setup(): component "drover", level info, JSON, fd 2.
 */
#ifndef DROVER_LOG_H
#define DROVER_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "drover/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest line written, newline included. */
#define DRV_LOG_LINE_MAX  (16 * 1024)
/** Appended to a value that was cut to fit the line. */
#define DRV_LOG_TRUNCATED "...[truncated]"

/**
 * @brief Configure the logger.
 * @param component  short name of the program ("worker"); copied (at most
 *                   63 bytes); NULL keeps the current one.
 * @param min_level  lines below this level are dropped.
 * @param format     JSON or logfmt.
 * @param fd         where lines go, usually 2; borrowed, never closed.
 * @locality call from the main thread before starting other threads;
 *           drv_log_set_level() is the one setting safe to change later.
 */
void drv_log_setup(const char *component, drv_log_level_t min_level,
		   drv_log_format_t format, int fd);

/**
 * @brief Let lines below warn wait up to \p wait_ms in a 64 KiB buffer and
 *        go out a batch at a time (one write(2) instead of one per line).
 *        A warn or error line first writes what waits, then itself; a
 *        thread started here writes a batch once its oldest line waited
 *        \p wait_ms. A process that dies by a signal loses what waits.
 *        \p wait_ms <= 0, or a second call, changes nothing.
 * @returns false when no memory or thread was had (lines are then written
 *          at once, as before).
 * @locality main thread, after drv_log_setup(); pair with
 *           drv_log_unbuffer() before exit.
 */
bool drv_log_buffer(int64_t wait_ms);

/** @brief Write what waits, stop the thread of drv_log_buffer(), and write
 *         every later line at once. A no-op when not buffering. */
void drv_log_unbuffer(void);

/**
 * @brief Change the minimum level (e.g. on config reload).
 * @locality any thread.
 */
void drv_log_set_level(drv_log_level_t min_level);

/**
 * @brief Would a line at \p level be written? Use it to skip building
 *        expensive arguments.
 * @locality any thread.
 */
bool drv_log_enabled(drv_log_level_t level);

/**
 * @brief Log a printf-formatted message.
 * @param task_id  the task the line is about, or NULL; borrowed.
 * @locality any thread.
 */
void drv_log(drv_log_level_t level, const char *task_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** @brief drv_log() with a va_list. */
void drv_vlog(drv_log_level_t level, const char *task_id, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));

/**
 * @brief Log \p msg with extra fields: key, value string pairs ending with a
 *        NULL key, e.g.
 *        drv_log_kv(DRV_LOG_INFO, "task finished",
 *                   "task_id", id, "status", "ok", NULL);
 *        A NULL value is written as JSON null / an empty logfmt value.
 *        All strings are borrowed.
 * @locality any thread.
 */
void drv_log_kv(drv_log_level_t level, const char *msg, ...)
	__attribute__((sentinel));

/** @brief drv_log_kv() with a va_list (of const char * pairs, NULL key
 *         last). */
void drv_vlog_kv(drv_log_level_t level, const char *msg, va_list ap);

/* Convenience forms: (task_id or NULL, fmt, ...). The arguments are not
 * evaluated when the level is disabled. */
#define DRV_LOG_AT_(level, ...)                                              \
	do {                                                                 \
		if (drv_log_enabled(level))                                  \
			drv_log((level), __VA_ARGS__);                       \
	} while (0)
#define drv_log_debug(...) DRV_LOG_AT_(DRV_LOG_DEBUG, __VA_ARGS__)
#define drv_log_info(...)  DRV_LOG_AT_(DRV_LOG_INFO,  __VA_ARGS__)
#define drv_log_warn(...)  DRV_LOG_AT_(DRV_LOG_WARN,  __VA_ARGS__)
#define drv_log_error(...) DRV_LOG_AT_(DRV_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* DROVER_LOG_H */
