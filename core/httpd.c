/*
 * httpd.c — the daemons' health and metrics endpoint: /healthz, /readyz and
 * /metrics over libmicrohttpd with one internal polling thread.
 *
 * The listening socket is made here rather than by libmicrohttpd, so that a
 * busy port or a bad address comes back as errno text ("address already in
 * use") instead of a bare NULL from MHD_start_daemon(), and so the port the
 * kernel picked for port 0 is known from getsockname(). The socket is then
 * handed over with MHD_OPTION_LISTEN_SOCKET: from that call on libmicrohttpd
 * owns it and closes it in MHD_stop_daemon() (or when it fails to start).
 *
 * Requests never carry a body we want; any body is read and discarded, and
 * the answer is made on the last call of the access handler. Responses are
 * small text built per request; the metrics text is handed to
 * libmicrohttpd to free.
 *
 * Slow clients must not starve the liveness probe (a restarted healthy pod
 * is the price): a connection guard (drover/conn_guard.h) holds every
 * request to an absolute deadline and lets a new connection displace the
 * oldest one over a limit, so a fresh probe is always served.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "drover/conn_guard.h"
#include "drover/digest.h"
#include "drover/httpd.h"
#include "drover/str.h"

/** Connections kept at once; a new one over this displaces the oldest. */
#define HTTPD_CONNECTION_LIMIT 64
/** libmicrohttpd's own limit: room for displaced ones still closing. */
#define HTTPD_MHD_CONNECTION_LIMIT (2 * HTTPD_CONNECTION_LIMIT)
/** Idle seconds before libmicrohttpd closes a connection. */
#define HTTPD_CONNECTION_TIMEOUT 10
#define HTTPD_BACKLOG 64

#define TEXT_PLAIN   "text/plain; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct drv_httpd {
	struct MHD_Daemon *mhd;
	drv_httpd_conf_t conf;
	unsigned port;
	unsigned char token_digest[32]; /* of conf.metrics_token, if any */
	bool token;
	drv_conn_guard_t *guard;
};

/* Marks a connection whose first access-handler call has been seen. */
static int request_seen;

/* libmicrohttpd may print diagnostics; the library never prints. */
static void quiet_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

/* Queue a response with body \p body (\p len bytes). With \p owned the
 * body is malloc'd and libmicrohttpd frees it; otherwise it is copied. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *type, char *body, size_t len,
			     bool owned)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body,
		owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (resp == NULL) {
		if (owned)
			free(body);
		return MHD_NO;  /* closes the connection */
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    type) == MHD_NO ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
				     "GET, HEAD") == MHD_NO) ||
	    (status == MHD_HTTP_UNAUTHORIZED &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				     "Bearer realm=\"metrics\"") == MHD_NO)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn,
				  unsigned status, const char *text)
{
	return reply(conn, status, TEXT_PLAIN, (char *)text, strlen(text),
		     false);
}

/* "word\n", or "word: detail\n" when there is a detail. */
static enum MHD_Result reply_status(struct MHD_Connection *conn,
				    unsigned status, const char *word,
				    const char *detail)
{
	char body[DRV_HTTPD_DETAIL_MAX + 32];

	if (detail[0] != '\0')
		drv_fmt(body, sizeof(body), "%s: %s\n", word, detail);
	else
		drv_fmt(body, sizeof(body), "%s\n", word);
	return reply_text(conn, status, body);
}

static enum MHD_Result serve_healthz(struct drv_httpd *d,
				     struct MHD_Connection *conn)
{
	char detail[DRV_HTTPD_DETAIL_MAX] = "";

	if (d->conf.healthz == NULL ||
	    d->conf.healthz(d->conf.arg, detail, sizeof(detail)))
		return reply_text(conn, MHD_HTTP_OK, "ok\n");
	detail[sizeof(detail) - 1] = '\0';
	return reply_status(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not alive",
			    detail);
}

static enum MHD_Result serve_readyz(struct drv_httpd *d,
				    struct MHD_Connection *conn)
{
	char detail[DRV_HTTPD_DETAIL_MAX] = "";
	drv_readiness_t r = DRV_READY;

	if (d->conf.readyz != NULL)
		r = d->conf.readyz(d->conf.arg, detail, sizeof(detail));
	detail[sizeof(detail) - 1] = '\0';
	switch (r) {
	case DRV_READY:
		return reply_status(conn, MHD_HTTP_OK, "ready", detail);
	case DRV_DEGRADED:
		return reply_status(conn, MHD_HTTP_OK, "degraded", detail);
	case DRV_NOT_READY:
	default:
		return reply_status(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "not ready", detail);
	}
}

static enum MHD_Result serve_metrics(struct drv_httpd *d,
				     struct MHD_Connection *conn)
{
	size_t len = 0;
	char *text = drv_metrics_render(d->conf.metrics, &len);

	if (text == NULL)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	return reply(conn, MHD_HTTP_OK, METRICS_TYPE, text, len, true);
}

/* The answer is sent: the next request on the connection is timed. */
static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct drv_httpd *d = cls;

	(void)con_cls;
	(void)toe;
	drv_conn_guard_answered(d->guard, conn);
}

/* Does the request carry "Authorization: Bearer <metrics token>"? */
static bool metrics_authorized(struct drv_httpd *d,
			       struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char digest[32];

	if (!d->token)
		return true;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	drv_sha256(h + 7, strlen(h + 7), digest);
	return drv_equal_ct(digest, d->token_digest, sizeof(digest));
}

/* libmicrohttpd's access handler: called once when the headers are in,
 * then once per piece of body, then once more with nothing left. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct drv_httpd *d = cls;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &request_seen;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;  /* discard the body */
		return MHD_YES;
	}

	drv_conn_guard_received(d->guard, conn);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed\n");
	if (strcmp(url, "/healthz") == 0)
		return serve_healthz(d, conn);
	if (strcmp(url, "/readyz") == 0)
		return serve_readyz(d, conn);
	if (strcmp(url, "/metrics") == 0 && d->conf.metrics != NULL) {
		if (!metrics_authorized(d, conn))
			return reply_text(conn, MHD_HTTP_UNAUTHORIZED,
					  "unauthorized\n");
		return serve_metrics(d, conn);
	}
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* "host:port", with brackets for an IPv6 literal, for messages. */
static void format_endpoint(char *buf, size_t size, const char *host,
			    unsigned port)
{
	if (host != NULL && strchr(host, ':') != NULL)
		drv_fmt(buf, size, "[%s]:%u", host, port);
	else
		drv_fmt(buf, size, "%s:%u", host != NULL ? host : "*", port);
}

drv_err_t drv_httpd_listen(const char *host, unsigned port, int *fd_out,
			   unsigned *port_out, char *errstr,
			   size_t errstr_size)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[16], where[300];
	const char *stage = "bind";
	int rc, fd = -1, err = 0;

	format_endpoint(where, sizeof(where), host, port);
	if (host != NULL && (host[0] == '\0' || strcmp(host, "*") == 0))
		host = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = host == NULL ? AF_INET : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	drv_fmt(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "%s: cannot resolve: %s", where,
				 gai_strerror(rc));

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			stage = "socket";
			continue;
		}
		/* restart without waiting out TIME_WAIT; two live listeners
		 * on one port still clash (that needs SO_REUSEPORT) */
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, HTTPD_BACKLOG) == 0)
			break;
		err = errno;
		stage = "bind";
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return drv_error(errstr, errstr_size, DRV_ERR_IO,
				 "%s: cannot %s: %s", where, stage,
				 strerror(err));

	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
			err = errno;
			close(fd);
			return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
					 "%s: getsockname: %s", where,
					 strerror(err));
		}
		if (ss.ss_family == AF_INET6)
			*port_out = ntohs(((struct sockaddr_in6 *)&ss)
					  ->sin6_port);
		else
			*port_out = ntohs(((struct sockaddr_in *)&ss)
					  ->sin_port);
	}
	*fd_out = fd;
	return DRV_OK;
}

static void httpd_free(struct drv_httpd *d)
{
	drv_conn_guard_free(d->guard);
	free(d);
}

drv_err_t drv_httpd_start(const char *host, unsigned port,
			  const drv_httpd_conf_t *conf, drv_httpd_t **out,
			  char *errstr, size_t errstr_size)
{
	struct drv_httpd *d;
	drv_conn_guard_conf_t gc = { .max_total = HTTPD_CONNECTION_LIMIT };
	drv_err_t err;
	int fd = -1;

	if (conf == NULL || out == NULL || port > 65535)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "httpd: bad argument");
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "httpd: out of memory");
	d->conf = *conf;
	d->conf.metrics_token = NULL; /* borrowed: only its digest is kept */
	if (conf->metrics_token != NULL && conf->metrics_token[0] != '\0') {
		drv_sha256(conf->metrics_token, strlen(conf->metrics_token),
			   d->token_digest);
		d->token = true;
	}
	if (d->conf.request_deadline_ms <= 0)
		d->conf.request_deadline_ms = DRV_HTTPD_REQUEST_DEADLINE_MS;
	if (d->conf.max_per_client == 0)
		d->conf.max_per_client = DRV_HTTPD_MAX_PER_CLIENT;
	gc.max_per_client = d->conf.max_per_client;
	gc.deadline_ms = d->conf.request_deadline_ms;
	err = drv_conn_guard_new(&gc, &d->guard, errstr, errstr_size);
	if (err == DRV_OK)
		err = drv_httpd_listen(host, port, &fd, &d->port, errstr,
				       errstr_size);
	if (err != DRV_OK) {
		httpd_free(d);
		return err;
	}

	/* From here libmicrohttpd owns fd, whether it starts or not. */
	d->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
		0, NULL, NULL, on_request, d,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)HTTPD_MHD_CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)HTTPD_CONNECTION_TIMEOUT,
		MHD_OPTION_NOTIFY_CONNECTION, drv_conn_guard_notify,
		(void *)d->guard,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)d,
		MHD_OPTION_EXTERNAL_LOGGER, quiet_log, (void *)NULL,
		MHD_OPTION_END);
	if (d->mhd == NULL) {
		char where[300];

		format_endpoint(where, sizeof(where), host, port);
		httpd_free(d);
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "%s: cannot start the http server threads",
				 where);
	}
	*out = d;
	return DRV_OK;
}

unsigned drv_httpd_port(const drv_httpd_t *d)
{
	return d != NULL ? d->port : 0;
}

void drv_httpd_stop(drv_httpd_t *d)
{
	if (d == NULL)
		return;
	if (d->mhd != NULL)
		MHD_stop_daemon(d->mhd); /* tells the guard of every close */
	httpd_free(d);
}
