/*
 * conn_guard.c — per-client connection limits and absolute request
 * deadlines for a libmicrohttpd listener (drover/conn_guard.h).
 *
 * Every connection has a record (libmicrohttpd's socket context) on one
 * list under one lock: its descriptor, its client's address, when its
 * current request began and whether that request is being answered. The
 * reaper wakes every REAP_TICK_MS and shuts down what is past its
 * deadline; a new connection over a limit shuts down the oldest.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "drover/clock.h"
#include "drover/conn_guard.h"

/** How often the reaper looks for requests past their deadline. */
#define REAP_TICK_MS 100

/* One open connection. */
struct conn_rec {
	struct conn_rec *next;
	int fd;
	struct sockaddr_storage addr; /* the client's */
	int64_t since;                /* current request began (mono ms) */
	bool answering;               /* received, not yet answered */
	bool shut;                    /* shut down by us, closing */
};

struct drv_conn_guard {
	drv_conn_guard_conf_t conf;
	pthread_mutex_t lock;         /* guards everything below */
	pthread_cond_t wake;          /* CLOCK_MONOTONIC */
	struct conn_rec *conns;
	size_t count;                 /* not yet shut */
	bool stop;
	pthread_t reaper;
};

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

/* Make libmicrohttpd close \p r on its thread. Needs g->lock. */
static void shut(drv_conn_guard_t *g, struct conn_rec *r)
{
	if (r->shut)
		return;
	r->shut = true;
	g->count--;
	(void)shutdown(r->fd, SHUT_RDWR);
}

/* The oldest live connection other than \p self, of \p self's client when
 * \p client, else of anyone; and how many that set holds. Needs g->lock. */
static struct conn_rec *oldest(drv_conn_guard_t *g,
			       const struct conn_rec *self, bool client,
			       size_t *cnt)
{
	struct conn_rec *best = NULL;

	*cnt = 0;
	for (struct conn_rec *r = g->conns; r; r = r->next) {
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
static void conn_started(drv_conn_guard_t *g, struct MHD_Connection *conn,
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
	r->fd = fd_info->connect_fd;
	if (addr_info && addr_info->client_addr) {
		const struct sockaddr *sa = addr_info->client_addr;

		memcpy(&r->addr, sa, sa->sa_family == AF_INET6 ?
		       sizeof(struct sockaddr_in6) :
		       sizeof(struct sockaddr_in));
	}
	r->since = drv_mono_ms();
	pthread_mutex_lock(&g->lock);
	victim = oldest(g, r, true, &cnt);
	if (victim && cnt >= g->conf.max_per_client)
		shut(g, victim);
	victim = oldest(g, r, false, &cnt);
	if (victim && cnt >= g->conf.max_total)
		shut(g, victim);
	r->next = g->conns;
	g->conns = r;
	g->count++;
	pthread_mutex_unlock(&g->lock);
	*socket_context = r;
}

static void conn_closed(drv_conn_guard_t *g, struct conn_rec *r)
{
	pthread_mutex_lock(&g->lock);
	for (struct conn_rec **p = &g->conns; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	if (!r->shut)
		g->count--;
	pthread_mutex_unlock(&g->lock);
	free(r);
}

void drv_conn_guard_notify(void *guard, struct MHD_Connection *conn,
			   void **socket_context,
			   enum MHD_ConnectionNotificationCode toe)
{
	drv_conn_guard_t *g = guard;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(g, conn, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context)
		conn_closed(g, *socket_context);
}

/* Set \p conn's record: answering or not, its request beginning now. */
static void mark(drv_conn_guard_t *g, struct MHD_Connection *conn,
		 bool answering)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
		MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_rec *r = ci ? ci->socket_context : NULL;

	if (!r)
		return;
	pthread_mutex_lock(&g->lock);
	r->answering = answering;
	r->since = drv_mono_ms();
	pthread_mutex_unlock(&g->lock);
}

void drv_conn_guard_received(drv_conn_guard_t *g, struct MHD_Connection *conn)
{
	mark(g, conn, true);
}

void drv_conn_guard_answered(drv_conn_guard_t *g, struct MHD_Connection *conn)
{
	mark(g, conn, false);
}

/* Shut every connection whose request is past its deadline. */
static void *reaper_main(void *arg)
{
	drv_conn_guard_t *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;
		int64_t now = drv_mono_ms();

		for (struct conn_rec *r = g->conns; r; r = r->next)
			if (!r->shut && !r->answering &&
			    now - r->since >= g->conf.deadline_ms)
				shut(g, r);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REAP_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static void guard_destroy(drv_conn_guard_t *g)
{
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

drv_err_t drv_conn_guard_new(const drv_conn_guard_conf_t *conf,
			     drv_conn_guard_t **out, char *errstr,
			     size_t errstr_size)
{
	drv_conn_guard_t *g;
	pthread_condattr_t ca;

	if (!conf->max_total || !conf->max_per_client || conf->deadline_ms <= 0)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "connection guard: limits must be positive");
	if (!(g = calloc(1, sizeof(*g))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "connection guard: out of memory");
	g->conf = *conf;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->reaper, NULL, reaper_main, g)) {
		guard_destroy(g);
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "connection guard: cannot start its thread");
	}
	*out = g;
	return DRV_OK;
}

void drv_conn_guard_free(drv_conn_guard_t *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->reaper, NULL);
	guard_destroy(g);
}
