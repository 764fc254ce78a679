/*
 * drover — the http runner: runs one attempt of a task whose handler has
 * type `http` as one HTTP request (libcurl), and classifies the response.
 *
 * The request: h->method (default POST) to h->url, where ${task.id},
 * ${task.handler}, ${task.attempt} (the attempt being made, 1-based) and
 * ${label.NAME} are substituted (percent-encoded in the URL, verbatim in
 * header values; see drv_http_expand_url() for the URL's rules). The body is the task payload, except for GET, HEAD and
 * DELETE, which send none. Redirects are not followed.
 *
 * How a response is classified (drv_result_t.failure):
 *
 *   2xx                                 success (DRV_FAILURE_UNSPECIFIED)
 *   429                                 DRV_FAILURE_THROTTLED
 *   408, 5xx                            DRV_FAILURE_TRANSIENT
 *   1xx, 3xx, other 4xx                 DRV_FAILURE_PERMANENT
 *   timed out (connect or total)        DRV_FAILURE_TIMEOUT
 *   malformed URL, unsupported scheme   DRV_FAILURE_PERMANENT
 *   any other transport error (refused,
 *   DNS, reset, TLS, empty reply...)    DRV_FAILURE_TRANSIENT
 *
 * A Retry-After header (seconds or an HTTP-date) on any response sets
 * drv_result_t.retry_after_ms, unbounded here; the worker counts it only up
 * to the retry policy's cap and the task's deadline
 * (drv_retry_after_delay() in retry.h).
 *
 * Threads: a drv_http_client_t is used by one thread at a time (the worker
 * gives each runner thread its own); different clients may run at once.
 */
#ifndef DROVER_HTTP_H
#define DROVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/handler.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Connect timeout when the handler says 0. */
#define DRV_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 5000
/** Response bytes kept when the handler's output_limit is 0. */
#define DRV_HTTP_DEFAULT_OUTPUT_LIMIT       (64 * 1024)

/** An HTTP client: one libcurl easy handle, whose connection cache keeps
 *  connections to a handler's server open (keep-alive) across tasks.
 *  Opaque; owned by the caller until drv_http_client_destroy(). */
typedef struct drv_http_client drv_http_client_t;

/**
 * @brief Make a client.
 *
 * The first call in the process also initialises libcurl (once, under
 * pthread_once), so it is safe from any thread; but libcurl's global init is
 * not thread-safe against *other* libraries initialising OpenSSL at the same
 * time: create the first client before starting threads when you can.
 *
 * @param out  on DRV_OK, a new client the caller frees with
 *             drv_http_client_destroy(); untouched on error.
 * @returns DRV_OK, DRV_ERR_SYSTEM (libcurl's global init failed) or
 *          DRV_ERR_NOMEM, with a message in \p errstr.
 * @locality any thread.
 */
drv_err_t drv_http_client_new(drv_http_client_t **out, char *errstr,
			      size_t errstr_size);

/**
 * @brief Close the client's connections and free it. NULL is a no-op.
 * @locality the thread that uses the client.
 */
void drv_http_client_destroy(drv_http_client_t *c);

/**
 * @brief Run one attempt of task \p t with handler \p h (type http).
 *
 * Headers sent: h->headers (after substitution; an empty value is sent as
 * an empty header), then each of these unless h->headers already names it
 * (case-insensitive): `Content-Type: application/json` (only when a body is
 * sent), `User-Agent: drover/<version>`, `X-Drover-Task-Id`,
 * `X-Drover-Attempt` (t->attempt + 1) and `Idempotency-Key` (the task's
 * idempotency key, else its id). The method is sent in upper case.
 *
 * Timeouts: h->connect_timeout_ms (0 = DRV_HTTP_DEFAULT_CONNECT_TIMEOUT_MS)
 * to connect, h->timeout_ms (0 = none) for the whole request. The response
 * body is kept in res->output up to h->output_limit bytes (0 =
 * DRV_HTTP_DEFAULT_OUTPUT_LIMIT); the rest is read and dropped.
 *
 * @param c    the calling thread's client; borrowed.
 * @param h    borrowed; only the http fields, timeout_ms and output_limit
 *             are read.
 * @param t    borrowed.
 * @param res  always filled (zeroed first): failure, message, http_status,
 *             duration_ms, retry_after_ms, output (owned by \p res, NULL
 *             when the response had no body). The caller releases it with
 *             drv_result_release().
 * @returns DRV_OK when a request was attempted, whatever its outcome (see
 *          res->failure). DRV_ERR_INVALID when no request could be made
 *          from the input: no URL, an unknown ${...} placeholder or a label
 *          the task does not have, a bad method, or a header value
 *          (configured or default, such as an Idempotency-Key taken from
 *          the task) that would contain a control byte (CR, LF, TAB...). Then res->failure is DRV_FAILURE_PERMANENT and
 *          res->message says why. DRV_ERR_NOMEM likewise (then
 *          res->failure is DRV_FAILURE_TRANSIENT).
 * @locality the thread that uses \p c.
 */
drv_err_t drv_http_run(drv_http_client_t *c, const drv_handler_conf_t *h,
		       const drv_task_t *t, drv_result_t *res);

/**
 * @brief Expand the URL template \p tmpl for task \p t, as drv_http_run()
 *        does: ${task.id}, ${task.handler}, ${task.attempt} and
 *        ${label.NAME} are replaced by their values, percent-encoded (RFC
 *        3986: all but the unreserved characters, so '/', '?', '#' and '%'
 *        in a value are data, never structure).
 *
 * A value substituted in the path (after the authority, before '?' or '#')
 * may not hold a piece, between '/' or '\', made of dots only ("." or
 * "..", alone or as in "../x"): curl would remove it as a dot segment
 * before sending (/users/${label.p}/admin with p = ".." would call /admin),
 * and servers that decode %2E or %2F do the same, so it is refused rather
 * than encoded. The template's own text is taken as written.
 *
 * @param out  on DRV_OK, a malloc'd NUL-terminated URL the caller frees
 *             with free(); untouched on error.
 * @returns DRV_OK; DRV_ERR_INVALID (an unknown or unterminated
 *          placeholder, a label the task lacks, a dot-segment value) or
 *          DRV_ERR_NOMEM, with the reason in \p errstr.
 * @locality any thread. Borrows \p tmpl and \p t.
 */
drv_err_t drv_http_expand_url(const char *tmpl, const drv_task_t *t,
			       char **out, char *errstr, size_t errstr_size);

/**
 * @brief Parse a Retry-After header value (RFC 7231 section 7.1.3):
 *        delta-seconds ("120") or an HTTP-date in any of its three forms
 *        ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37
 *        GMT", "Sun Nov  6 08:49:37 1994"). Surrounding blanks are allowed.
 * @param now_ms  the current wall time (ms since the epoch) a date is
 *                measured from.
 * @returns the delay in ms from \p now_ms (0 for a date in the past), or -1
 *          if \p value is NULL or unparsable. Allocates nothing.
 * @locality any thread.
 */
int64_t drv_http_parse_retry_after(const char *value, int64_t now_ms);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_HTTP_H */
