/*
 * 0122 — slow clients cannot hold the HTTP API: 300 connections from one
 * address trickling a header byte by byte (more than the 256 the API keeps)
 * do not keep a fresh request from being answered at once, a trickled
 * request is cut at api.request_deadline, and a long answer (the live
 * stream) is not cut by it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "harness.h"

#define SLOW_CONNS 300
#define OPS    "ops-token-0122"
#define VIEWER "viewer-token-0122"

static int connect_loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
		     "connect: %s", strerror(errno));
	return fd;
}

/* Wait up to \p ms for \p fd to be closed by the server: true if it was. */
static bool closed_within(int fd, int ms)
{
	int64_t t0 = drv_mono_ms();
	char buf[4096];

	while (drv_mono_ms() - t0 < ms) {
		struct timeval tv = { 0, 200 * 1000 };
		ssize_t n;

		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
			return true;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return true;
	}
	return false;
}

struct trickle {
	int fds[SLOW_CONNS];
	atomic_bool stop;
	pthread_t thread;
};

/* Every 200 ms one more byte of a header line that never ends, on every
 * connection: enough to restart any idle timeout. */
static void *trickle_main(void *arg)
{
	struct trickle *t = arg;

	while (!atomic_load(&t->stop)) {
		for (int i = 0; i < SLOW_CONNS; i++)
			if (t->fds[i] >= 0)
				(void)send(t->fds[i], "x", 1, MSG_NOSIGNAL);
		usleep(200 * 1000);
	}
	return NULL;
}

Test(api_slow, clients_cannot_hold_the_listener, .timeout = 120)
{
	it_ctx_t ctx;
	struct trickle t = { 0 };
	pid_t coord;
	char *body = NULL, req[256];
	int port, fd, status;
	int64_t t0;

	it_setup(&ctx, "  quick:\n    type: noop\n");
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0122", OPS, VIEWER,
			    "  request_deadline: 2s\n"
			    "  max_client_connections: 8\n", &coord);

	/* one trickled request: cut at its deadline, not at the idle one */
	fd = connect_loopback(port);
	cr_assert_eq(send(fd, "GET /api/v1/openapi.json HTTP/1.1\r\nX-Slow: ",
			  43, MSG_NOSIGNAL), 43);
	t0 = drv_mono_ms();
	cr_assert(closed_within(fd, 8000), "a trickled request was never cut");
	cr_assert_lt(drv_mono_ms() - t0, 4500, "cut after %lld ms",
		     (long long)(drv_mono_ms() - t0));
	close(fd);

	/* 300 trickling connections, then a fresh request */
	for (int i = 0; i < SLOW_CONNS; i++) {
		t.fds[i] = connect_loopback(port);
		(void)send(t.fds[i], "GET /api/v1/openapi.json HTTP/1.1\r\n"
			   "X-Slow: ", 43, MSG_NOSIGNAL);
	}
	cr_assert_eq(pthread_create(&t.thread, NULL, trickle_main, &t), 0);
	usleep(1000 * 1000);
	t0 = drv_mono_ms();
	status = it_http_get(port, "/api/v1/openapi.json", &body);
	cr_assert_eq(status, 200, "a fresh request got %d behind %d slow "
		     "connections", status, SLOW_CONNS);
	cr_assert_lt(drv_mono_ms() - t0, 1500, "it took %lld ms",
		     (long long)(drv_mono_ms() - t0));
	free(body);
	atomic_store(&t.stop, true);
	pthread_join(t.thread, NULL);
	for (int i = 0; i < SLOW_CONNS; i++)
		close(t.fds[i]);

	/* a live stream outlives the deadline: answering is not counted */
	fd = connect_loopback(port);
	drv_fmt(req, sizeof(req), "GET /api/v1/live?access_token=%s HTTP/1.1"
		"\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
		VIEWER);
	cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL),
		     (ssize_t)strlen(req));
	{
		struct timeval tv = { 5, 0 };
		char buf[4096];
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		cr_assert_gt(n, 0, "the live stream did not answer");
		buf[n] = '\0';
		cr_assert(strstr(buf, "200"), "%s", buf);
	}
	usleep(4000 * 1000);  /* twice the deadline */
	{
		struct timeval tv = { 0, 300 * 1000 };
		char buf[4096];
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf), 0);
		cr_assert(n > 0 || (n < 0 && (errno == EAGAIN ||
					      errno == EWOULDBLOCK)),
			  "the live stream was cut (recv %zd: %s)", n,
			  n < 0 ? strerror(errno) : "closed");
	}
	close(fd);

	cr_assert_eq(it_stop(coord, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
