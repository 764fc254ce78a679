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
 * is the price). libmicrohttpd's own timeout restarts on every byte and its
 * per-IP limit refuses the probe too once one address holds its share, so
 * every connection is tracked here (the notify-connection callback) with
 * the time its current request began: at accept, then after each answer.
 * A connection whose request is not answered within the deadline is shut
 * down by a small reaper thread however steadily its bytes trickle in; and
 * a new connection that would go over the per-client or the total limit
 * displaces the oldest connection of that client (or of all) instead of
 * waiting behind it, so a fresh probe is always served. Shutting a socket
 * down (not closing it) lets libmicrohttpd close it on its own thread; the
 * lock keeps the descriptor valid meanwhile, since libmicrohttpd tells us
 * a connection is closed before it closes the descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "drover/clock.h"
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
/** How often the reaper looks for requests past their deadline. */
#define HTTPD_REAP_TICK_MS 100

#define TEXT_PLAIN   "text/plain; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One open connection; socket_context of libmicrohttpd's. */
struct conn_rec {
	struct conn_rec *next;
	struct MHD_Connection *conn;
	int fd;
	struct sockaddr_storage addr; /* the client's */
	int64_t since;                /* current request began (mono ms) */
	bool shut;                    /* shut down by us, closing */
};

struct drv_httpd {
	struct MHD_Daemon *mhd;
	drv_httpd_conf_t conf;
	unsigned port;
	unsigned char token_digest[32]; /* of conf.metrics_token, if any */
	bool token;

	pthread_mutex_t lock;         /* guards conns, count, stop */
	pthread_cond_t wake;
	struct conn_rec *conns;
	size_t count;                 /* not yet shut */
	bool stop;
	bool reaper_started;
	pthread_t reaper;
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

/* ---- connection tracking ----------------------------------------------- */

static bool same_client(const struct sockaddr_storage *a,
			const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr,
			       sizeof(struct in_addr));
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return true;
}

/* Make libmicrohttpd close \p r on its thread. Needs d->lock. */
static void shut(struct drv_httpd *d, struct conn_rec *r)
{
	if (r->shut)
		return;
	r->shut = true;
	d->count--;
	(void)shutdown(r->fd, SHUT_RDWR);
}

/* The oldest live connection other than \p self, of \p self's client when
 * \p client, else of anyone; and how many that set holds. Needs d->lock. */
static struct conn_rec *oldest(struct drv_httpd *d,
			       const struct conn_rec *self, bool client,
			       size_t *cnt)
{
	struct conn_rec *best = NULL;

	*cnt = 0;
	for (struct conn_rec *r = d->conns; r; r = r->next) {
		if (r == self || r->shut ||
		    (client && !same_client(&r->addr, &self->addr)))
			continue;
		(*cnt)++;
		if (!best || r->since < best->since)
			best = r;
	}
	return best;
}

/* A new connection: track it, and make room for it by displacing the
 * oldest connection of its client, or of all, when it would go over a
 * limit. */
static void conn_started(struct drv_httpd *d, struct MHD_Connection *conn,
			 void **socket_context)
{
	const union MHD_ConnectionInfo *fd_info, *addr_info;
	struct conn_rec *r, *victim;
	size_t cnt;

	fd_info = MHD_get_connection_info(conn,
					  MHD_CONNECTION_INFO_CONNECTION_FD);
	addr_info = MHD_get_connection_info(conn,
					MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!fd_info || !(r = calloc(1, sizeof(*r))))
		return; /* untracked: libmicrohttpd's idle timeout only */
	r->conn = conn;
	r->fd = fd_info->connect_fd;
	if (addr_info && addr_info->client_addr) {
		const struct sockaddr *sa = addr_info->client_addr;

		memcpy(&r->addr, sa, sa->sa_family == AF_INET6 ?
		       sizeof(struct sockaddr_in6) :
		       sizeof(struct sockaddr_in));
	}
	r->since = drv_mono_ms();
	pthread_mutex_lock(&d->lock);
	victim = oldest(d, r, true, &cnt);
	if (victim && cnt >= d->conf.max_per_client)
		shut(d, victim);
	victim = oldest(d, r, false, &cnt);
	if (victim && cnt >= HTTPD_CONNECTION_LIMIT)
		shut(d, victim);
	r->next = d->conns;
	d->conns = r;
	d->count++;
	pthread_mutex_unlock(&d->lock);
	*socket_context = r;
}

static void conn_closed(struct drv_httpd *d, struct conn_rec *r)
{
	pthread_mutex_lock(&d->lock);
	for (struct conn_rec **p = &d->conns; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	if (!r->shut)
		d->count--;
	pthread_mutex_unlock(&d->lock);
	free(r);
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct drv_httpd *d = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(d, conn, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context)
		conn_closed(d, *socket_context);
}

/* The next request on \p conn (kept alive) gets a deadline of its own. */
static void request_answered(struct drv_httpd *d,
			     struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
		MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_rec *r = ci ? ci->socket_context : NULL;

	if (!r)
		return;
	pthread_mutex_lock(&d->lock);
	r->since = drv_mono_ms();
	pthread_mutex_unlock(&d->lock);
}

/* Shut every connection whose request is past its deadline. */
static void *reaper_main(void *arg)
{
	struct drv_httpd *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		struct timespec until;
		int64_t now = drv_mono_ms();

		for (struct conn_rec *r = d->conns; r; r = r->next)
			if (!r->shut &&
			    now - r->since >= d->conf.request_deadline_ms)
				shut(d, r);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += HTTPD_REAP_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
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

	request_answered(d, conn);
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
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

drv_err_t drv_httpd_start(const char *host, unsigned port,
			  const drv_httpd_conf_t *conf, drv_httpd_t **out,
			  char *errstr, size_t errstr_size)
{
	struct drv_httpd *d;
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
	pthread_mutex_init(&d->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d->wake, &ca);
		pthread_condattr_destroy(&ca);
	}

	err = drv_httpd_listen(host, port, &fd, &d->port, errstr, errstr_size);
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
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, (void *)d,
		MHD_OPTION_EXTERNAL_LOGGER, quiet_log, (void *)NULL,
		MHD_OPTION_END);
	if (d->mhd != NULL &&
	    pthread_create(&d->reaper, NULL, reaper_main, d) == 0)
		d->reaper_started = true;
	if (!d->reaper_started) {
		char where[300];

		format_endpoint(where, sizeof(where), host, port);
		drv_httpd_stop(d);
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
	if (d->reaper_started) {
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_signal(&d->wake);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->reaper, NULL);
	}
	if (d->mhd != NULL)
		MHD_stop_daemon(d->mhd); /* notifies every close */
	httpd_free(d);
}
