/*
 * drover — what keeps slow clients from starving an HTTP listener: the
 * health/metrics server (drover/httpd.h) and the API (drover/api.h) both
 * run one.
 *
 * libmicrohttpd's own idle timeout restarts on every byte, and its per-IP
 * limit refuses a new connection once one address holds its share, so a
 * client that trickles bytes over many connections holds the listener for
 * as long as it likes. A guard tracks every connection instead (through
 * libmicrohttpd's connection notifications) with the time its current
 * request began: at accept, and again after each answer on a kept-alive
 * connection.
 *
 *   - A request not fully received within the deadline is shut down by
 *     the guard's reaper thread, however steadily its bytes trickle in.
 *     Once received it is exempt while it is answered (a long answer, such
 *     as a Server-Sent Events stream, is not cut).
 *   - A new connection that would go over the per-client or the total
 *     limit displaces the oldest connection of that client (or of all)
 *     instead of waiting behind it, so a fresh client is always served.
 *
 * Shutting a socket down (not closing it) lets libmicrohttpd close it on
 * its own thread; the guard's lock keeps the descriptor valid meanwhile,
 * since libmicrohttpd tells of a close before it closes the descriptor.
 *
 * Thread-safety: every call may come from any of libmicrohttpd's threads.
 */
#ifndef DROVER_CONN_GUARD_H
#define DROVER_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drv_conn_guard drv_conn_guard_t;

/** What a guard enforces. */
typedef struct drv_conn_guard_conf {
	size_t  max_total;       /**< connections kept at once */
	size_t  max_per_client;  /**< of them, from one client address */
	int64_t deadline_ms;     /**< from a request's start to its last
				      byte received */
} drv_conn_guard_conf_t;

/**
 * @brief Make a guard and start its reaper thread.
 * @param out  on DRV_OK, a guard freed with drv_conn_guard_free().
 * @returns DRV_OK, DRV_ERR_INVALID (a zero limit), DRV_ERR_NOMEM or
 *          DRV_ERR_SYSTEM (no thread), with errstr set.
 */
drv_err_t drv_conn_guard_new(const drv_conn_guard_conf_t *conf,
			     drv_conn_guard_t **out, char *errstr,
			     size_t errstr_size);

/**
 * @brief libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback, with the
 *        guard as its closure: tracks \p conn from start to close. It owns
 *        the connection's socket context.
 */
void drv_conn_guard_notify(void *guard, struct MHD_Connection *conn,
			   void **socket_context,
			   enum MHD_ConnectionNotificationCode toe);

/** @brief The request on \p conn is fully received: no deadline while it
 *         is answered. */
void drv_conn_guard_received(drv_conn_guard_t *g, struct MHD_Connection *conn);

/** @brief The answer on \p conn is sent: the next request on it (kept
 *         alive) has a deadline of its own, from now. */
void drv_conn_guard_answered(drv_conn_guard_t *g, struct MHD_Connection *conn);

/** @brief Stop the reaper and free the guard. Call it after
 *         MHD_stop_daemon() (which tells of every close). NULL is a
 *         no-op. */
void drv_conn_guard_free(drv_conn_guard_t *g);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_CONN_GUARD_H */
