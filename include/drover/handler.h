/*
 * drover — what every handler type (exec, http, plugin, noop, sleep)
 * reports about one attempt. The worker turns a result into the task's next
 * step: done, retry later on the delay topics, or dead-letter.
 */
#ifndef DROVER_HANDLER_H
#define DROVER_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "drover/dead_letter.h"

typedef struct drv_result {
	/** DRV_FAILURE_UNSPECIFIED when the attempt succeeded; PERMANENT is
	 *  never retried; every other class is. */
	drv_failure_class_t failure;
	char     message[512];     /**< why it failed, "" on success */
	int32_t  exit_code;        /**< exec: the exit code, else 0 */
	int32_t  http_status;      /**< http: the response status, else 0 */
	int64_t  duration_ms;
	int64_t  retry_after_ms;   /**< > 0: the handler asked for this delay
					(HTTP Retry-After) */
	char    *output;           /**< owned, NUL-terminated, bounded: captured
					output or response body; may be NULL */
	size_t   output_len;
} drv_result_t;

/** @brief Free the result's output and zero it. */
void drv_result_release(drv_result_t *r);

#endif /* DROVER_HANDLER_H */
