/*
 * drover — the daemons' small HTTP server for health checks and metrics
 * (libmicrohttpd, one internal thread). Routes:
 *
 *   GET /healthz   200 "ok\n" while the liveness callback says alive;
 *                  otherwise 503 with its detail.
 *   GET /readyz    the readiness callback's status: ready or degraded give
 *                  200, not ready gives 503. The body is the status word,
 *                  then ": detail" when there is one, then "\n":
 *                  "ready\n", "degraded: redis unreachable\n",
 *                  "not ready: no partitions assigned\n".
 *   GET /metrics   200, Content-Type "text/plain; version=0.0.4;
 *                  charset=utf-8", the output of drv_metrics_render().
 *   other paths    404.
 *   other methods  405 with "Allow: GET, HEAD" (HEAD is served like GET,
 *                  without the body).
 *
 * Every response is text/plain; connections are kept alive. The query
 * string is ignored.
 *
 * Slow clients: the server keeps at most 64 connections and
 * drv_httpd_conf_t.max_per_client per client address; a new connection
 * over either limit displaces the oldest one (of that client, or of all)
 * rather than waiting, and every request has an absolute deadline
 * (drv_httpd_conf_t.request_deadline_ms) that trickled bytes do not
 * extend. So /healthz is answered at once however many slow connections
 * one client holds.
 *
 * Threads: the callbacks and drv_metrics_render() run on the server's one
 * thread, one request at a time; a slow callback delays every other
 * request, so they should only read state the process already keeps.
 */
#ifndef DROVER_HTTPD_H
#define DROVER_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"
#include "drover/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What GET /readyz reports. */
typedef enum drv_readiness {
	DRV_READY     = 0,  /**< 200 "ready" */
	DRV_NOT_READY = 1,  /**< 503 "not ready" */
	DRV_DEGRADED  = 2,  /**< 200 "degraded": serving, something is off */
} drv_readiness_t;

/**
 * @brief Liveness: is the process loop still turning?
 * @param detail  a buffer of \p detail_size bytes, holding "" on entry;
 *                the callback may write why it is not alive (without a
 *                newline).
 * @returns true for 200 "ok\n", false for 503 with the detail.
 * @locality the httpd thread.
 */
typedef bool (*drv_httpd_healthz_fn)(void *arg, char *detail,
				     size_t detail_size);

/**
 * @brief Readiness, with an optional detail written like the healthz one.
 * @locality the httpd thread.
 */
typedef drv_readiness_t (*drv_httpd_readyz_fn)(void *arg, char *detail,
					       size_t detail_size);

/** What the server answers with. Copied by drv_httpd_start(); the
 *  pointers in it are borrowed and must stay valid until drv_httpd_stop()
 *  has returned. */
typedef struct drv_httpd_conf {
	drv_httpd_healthz_fn healthz; /**< NULL: always alive */
	drv_httpd_readyz_fn  readyz;  /**< NULL: always ready */
	void *arg;                    /**< passed to both callbacks */
	drv_metrics_t *metrics;       /**< NULL: /metrics is 404 */
	/** NULL or "": /metrics is open. Otherwise /metrics wants
	 *  "Authorization: Bearer <this>" and answers 401 without it;
	 *  /healthz and /readyz stay open. Read (hashed) by
	 *  drv_httpd_start() only; not kept. */
	const char *metrics_token;
	/** A request not answered this long after its connection was
	 *  accepted (or after the answer before it, kept alive) is cut off,
	 *  however steadily its bytes trickle in; <= 0 =
	 *  DRV_HTTPD_REQUEST_DEADLINE_MS. */
	int64_t request_deadline_ms;
	/** Connections one client address may hold; one more displaces its
	 *  oldest, so a fresh probe is never refused. 0 =
	 *  DRV_HTTPD_MAX_PER_CLIENT. */
	unsigned max_per_client;
} drv_httpd_conf_t;

/** Default drv_httpd_conf_t.request_deadline_ms. */
#define DRV_HTTPD_REQUEST_DEADLINE_MS 5000
/** Default drv_httpd_conf_t.max_per_client. */
#define DRV_HTTPD_MAX_PER_CLIENT 8

/** A running server. Opaque; made by drv_httpd_start(). */
typedef struct drv_httpd drv_httpd_t;

/** Longest detail a callback can give; longer text is cut. */
#define DRV_HTTPD_DETAIL_MAX 256

/**
 * @brief Listen on \p host:\p port and start serving on a new thread.
 *
 * @param host  a numeric address or a name resolved with getaddrinfo
 *              ("127.0.0.1", "::1", "localhost"); NULL, "" or "*" for
 *              every IPv4 address. The first address that binds is used.
 * @param port  TCP port; 0 lets the kernel pick one (see drv_httpd_port()).
 * @param conf  copied; see drv_httpd_conf_t for its pointers.
 * @param out   on DRV_OK, a server the caller stops with drv_httpd_stop();
 *              untouched on error.
 * @returns DRV_OK; DRV_ERR_INVALID for a NULL argument or a host that does
 *          not resolve; DRV_ERR_IO when the address cannot be bound or
 *          listened on ("127.0.0.1:9464: cannot bind: Address
 *          already in use");
 *          DRV_ERR_SYSTEM or DRV_ERR_NOMEM when the server cannot start.
 *          A message is written to \p errstr on every error.
 * @locality any thread.
 */
drv_err_t drv_httpd_start(const char *host, unsigned port,
			  const drv_httpd_conf_t *conf, drv_httpd_t **out,
			  char *errstr, size_t errstr_size);

/**
 * @brief A bound, listening, non-blocking TCP socket on \p host:\p port
 *        (both as for drv_httpd_start()), for a libmicrohttpd server made
 *        here or elsewhere (the API's): errors come back as errno text.
 * @param fd_out    receives the socket; the caller owns it.
 * @param port_out  receives the port bound (the kernel's pick for 0).
 * @returns DRV_OK, DRV_ERR_INVALID (does not resolve), DRV_ERR_IO (cannot
 *          bind or listen), DRV_ERR_SYSTEM; \p errstr says which.
 * @locality any thread.
 */
drv_err_t drv_httpd_listen(const char *host, unsigned port, int *fd_out,
			   unsigned *port_out, char *errstr,
			   size_t errstr_size);

/**
 * @brief The port \p d listens on (the kernel's pick when started with 0).
 * @locality any thread.
 */
unsigned drv_httpd_port(const drv_httpd_t *d);

/**
 * @brief Stop serving, close the listening socket and every connection,
 *        join the server thread and free \p d. A request in progress is
 *        finished first. NULL is a no-op. After it returns no callback runs
 *        any more.
 * @locality any thread but the httpd thread (not from a callback).
 */
void drv_httpd_stop(drv_httpd_t *d);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_HTTPD_H */
