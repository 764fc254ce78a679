/*
 * drover — the built-in handlers, which need no command, URL or plugin:
 *
 *   noop   succeeds at once (benchmarks of the queue itself);
 *   sleep  sleeps the handler's `sleep` (default 100ms) or the task's own
 *          {"sleep_ms": N}, then succeeds (load and timeout demos).
 *
 * They run in the calling worker thread and allocate nothing.
 */
#ifndef DROVER_BUILTIN_H
#define DROVER_BUILTIN_H

#include <stdbool.h>
#include <stdint.h>

#include "drover/config.h"
#include "drover/handler.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The longest a sleep handler sleeps, whatever the config or task says. */
#define DRV_BUILTIN_SLEEP_MAX_MS (60 * 60 * 1000)

/** @brief True if \p type is run by drv_builtin_run() (noop, sleep). */
bool drv_builtin_handles(drv_handler_type_t type);

/**
 * @brief The time a sleep handler \p h sleeps for task \p t: the payload's
 *        "sleep_ms" when the payload is a JSON object holding a number
 *        there, else h->sleep_ms; clamped to [0, DRV_BUILTIN_SLEEP_MAX_MS].
 *        Pure; the caller keeps both.
 */
int64_t drv_builtin_sleep_ms(const drv_handler_conf_t *h, const drv_task_t *t);

/**
 * @brief Run task \p t with the built-in handler \p h and fill \p res.
 *
 * noop: succeeds at once. sleep: sleeps drv_builtin_sleep_ms(h, t), then
 * succeeds; if h->timeout_ms > 0 and the sleep would be longer, it sleeps
 * timeout_ms and fails with DRV_FAILURE_TIMEOUT, as a command that ran too
 * long would. Any other handler type fails with DRV_FAILURE_PERMANENT.
 *
 * \p res is overwritten (failure, message, duration_ms; the rest zero) and
 * owns nothing afterwards; it must not hold output from an earlier use.
 * The caller keeps \p h and \p t.
 * @locality any thread; blocks the calling thread for the sleep.
 */
void drv_builtin_run(const drv_handler_conf_t *h, const drv_task_t *t,
		     drv_result_t *res);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_BUILTIN_H */
