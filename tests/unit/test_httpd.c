/*
 * Unit tests for the health and metrics HTTP server: each test starts a
 * server on an ephemeral loopback port and talks to it with libcurl —
 * /healthz alive and not, /readyz ready, degraded and not ready, /metrics
 * text and content type, 404, 405, HEAD, keep-alive, that callbacks run on
 * the server thread, a busy port and an unbindable address, stopping an
 * idle server, and slow clients: 64 connections trickling bytes do not
 * keep /healthz from answering, and a trickled request is cut at its
 * deadline. Nothing leaves 127.0.0.1.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/httpd.h"
#include "drover/metrics.h"
#include "drover/str.h"

/* ---- what the callbacks report ---------------------------------------- */

struct state {
	bool alive;
	drv_readiness_t ready;
	const char *detail;
	atomic_int calls;
	pthread_t caller;
};

static bool healthz(void *arg, char *detail, size_t size)
{
	struct state *st = arg;

	st->caller = pthread_self();
	atomic_fetch_add(&st->calls, 1);
	cr_assert_str_eq(detail, "");
	if (st->detail != NULL)
		drv_strlcpy(detail, st->detail, size);
	return st->alive;
}

static drv_readiness_t readyz(void *arg, char *detail, size_t size)
{
	struct state *st = arg;

	st->caller = pthread_self();
	atomic_fetch_add(&st->calls, 1);
	if (st->detail != NULL)
		drv_strlcpy(detail, st->detail, size);
	return st->ready;
}

/* ---- a tiny libcurl client --------------------------------------------- */

struct reply {
	long status;
	char body[64 * 1024];
	size_t len;
	char content_type[128];
	char allow[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	cr_assert_lt(r->len + len, sizeof(r->body));
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	char line[256];

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "Allow: ", 7) == 0)
		drv_strlcpy(r->allow, line + 7, sizeof(r->allow));
	return len;
}

/* \p method NULL is GET. \p easy may be reused (keep-alive) or NULL. */
static void fetch_with(CURL *easy, unsigned port, const char *method,
		       const char *path, struct reply *r)
{
	char url[256];
	char *ct = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	drv_fmt(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	if (method != NULL && strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	} else if (method != NULL && strcmp(method, "POST") == 0) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "some body");
	} else if (method != NULL) {
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(easy);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method ? method : "GET",
		     path, curl_easy_strerror(rc));
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
	if (ct != NULL)
		drv_strlcpy(r->content_type, ct, sizeof(r->content_type));
}

static void fetch(unsigned port, const char *method, const char *path,
		  struct reply *r)
{
	CURL *easy = curl_easy_init();

	cr_assert_not_null(easy);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
	fetch_with(easy, port, method, path, r);
	curl_easy_cleanup(easy);
}

/* ---- fixtures ---------------------------------------------------------- */

static struct state st;
static drv_metrics_t *metrics;
static drv_httpd_t *httpd;

static void setup(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	memset(&st, 0, sizeof(st));
	st.alive = true;
	st.ready = DRV_READY;
	metrics = drv_metrics_new();
	cr_assert_not_null(metrics);
}

static void teardown(void)
{
	drv_httpd_stop(httpd);
	httpd = NULL;
	drv_metrics_destroy(metrics);
	metrics = NULL;
	curl_global_cleanup();
}

/* Start the server on 127.0.0.1, port 0, with the state's callbacks. */
static unsigned start(void)
{
	drv_httpd_conf_t conf = {
		.healthz = healthz, .readyz = readyz, .arg = &st,
		.metrics = metrics,
	};
	char errstr[256] = "";
	drv_err_t err = drv_httpd_start("127.0.0.1", 0, &conf, &httpd,
					errstr, sizeof(errstr));

	cr_assert_eq(err, DRV_OK, "%s", errstr);
	cr_assert_neq(drv_httpd_port(httpd), 0);
	return drv_httpd_port(httpd);
}

TestSuite(httpd, .init = setup, .fini = teardown, .timeout = 60);

/* ---- tests ------------------------------------------------------------- */

Test(httpd, healthz_alive)
{
	unsigned port = start();
	struct reply r;

	fetch(port, NULL, "/healthz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ok\n");
	cr_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
	/* callbacks run on the server's thread, not ours */
	cr_assert_eq(atomic_load(&st.calls), 1);
	cr_assert(!pthread_equal(st.caller, pthread_self()));
}

Test(httpd, healthz_not_alive_is_503_with_detail)
{
	unsigned port = start();
	struct reply r;

	st.alive = false;
	st.detail = "main loop stalled for 42s";
	fetch(port, NULL, "/healthz", &r);
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(r.body, "not alive: main loop stalled for 42s\n");
	st.detail = NULL;
	fetch(port, NULL, "/healthz", &r);
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(r.body, "not alive\n");
}

Test(httpd, readyz_ready_degraded_not_ready)
{
	unsigned port = start();
	struct reply r;

	fetch(port, NULL, "/readyz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ready\n");

	st.ready = DRV_DEGRADED;
	st.detail = "redis unreachable";
	fetch(port, NULL, "/readyz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "degraded: redis unreachable\n");

	st.ready = DRV_NOT_READY;
	st.detail = "no partitions assigned";
	fetch(port, NULL, "/readyz", &r);
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(r.body, "not ready: no partitions assigned\n");

	st.ready = DRV_READY;
	st.detail = NULL;
	fetch(port, NULL, "/readyz?verbose=1", &r);  /* query ignored */
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ready\n");
}

Test(httpd, long_detail_is_cut)
{
	unsigned port = start();
	char big[DRV_HTTPD_DETAIL_MAX * 2];
	struct reply r;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	st.ready = DRV_NOT_READY;
	st.detail = big;
	fetch(port, NULL, "/readyz", &r);
	cr_assert_eq(r.status, 503);
	cr_assert_eq(r.len, strlen("not ready: ") + DRV_HTTPD_DETAIL_MAX - 1
		     + 1);
	cr_assert_eq(r.body[r.len - 1], '\n');
}

Test(httpd, metrics_text)
{
	unsigned port = start();
	drv_counter_t *c = drv_metrics_counter(metrics, "drover_tasks_total",
		"Tasks.", (const char *const[]){ "handler", NULL });
	struct reply r;
	char *want;

	drv_counter_add(c, (const char *const[]){ "echo" }, 7);
	fetch(port, NULL, "/metrics", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.content_type,
			 "text/plain; version=0.0.4; charset=utf-8");
	want = drv_metrics_render(metrics, NULL);
	cr_assert_str_eq(r.body, want);
	cr_assert_not_null(strstr(r.body,
		"drover_tasks_total{handler=\"echo\"} 7\n"));
	free(want);
}

Test(httpd, metrics_without_registry_is_404)
{
	drv_httpd_conf_t conf = { 0 };
	char errstr[256] = "";
	struct reply r;

	cr_assert_eq(drv_httpd_start("127.0.0.1", 0, &conf, &httpd, errstr,
				     sizeof(errstr)), DRV_OK, "%s", errstr);
	fetch(drv_httpd_port(httpd), NULL, "/metrics", &r);
	cr_assert_eq(r.status, 404);
	/* no callbacks: alive and ready */
	fetch(drv_httpd_port(httpd), NULL, "/healthz", &r);
	cr_assert_eq(r.status, 200);
	fetch(drv_httpd_port(httpd), NULL, "/readyz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ready\n");
}

Test(httpd, unknown_path_is_404)
{
	unsigned port = start();
	struct reply r;

	fetch(port, NULL, "/nope", &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(r.body, "not found\n");
	fetch(port, NULL, "/healthz/", &r);
	cr_assert_eq(r.status, 404);
	fetch(port, NULL, "/", &r);
	cr_assert_eq(r.status, 404);
	cr_assert_eq(atomic_load(&st.calls), 0);
}

Test(httpd, other_methods_are_405)
{
	unsigned port = start();
	struct reply r;

	fetch(port, "POST", "/healthz", &r);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(r.allow, "GET, HEAD");
	fetch(port, "DELETE", "/metrics", &r);
	cr_assert_eq(r.status, 405);
	fetch(port, "PUT", "/nope", &r);
	cr_assert_eq(r.status, 405);
	cr_assert_eq(atomic_load(&st.calls), 0);
}

Test(httpd, head_is_get_without_body)
{
	unsigned port = start();
	struct reply r;

	fetch(port, "HEAD", "/healthz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, 0);
}

Test(httpd, keep_alive_serves_many_requests)
{
	unsigned port = start();
	CURL *easy = curl_easy_init();
	long conns = 0, total = 0;
	struct reply r;

	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
	for (int i = 0; i < 20; i++) {
		fetch_with(easy, port, NULL, i % 2 ? "/readyz" : "/metrics",
			   &r);
		cr_assert_eq(r.status, 200);
		curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &conns);
		total += conns;
	}
	curl_easy_cleanup(easy);
	cr_assert_eq(total, 1, "one connection for all requests");
}

Test(httpd, busy_port_is_io_error)
{
	unsigned port = start();
	drv_httpd_conf_t conf = { 0 };
	drv_httpd_t *second = NULL;
	char errstr[256] = "", want[64];

	cr_assert_eq(drv_httpd_start("127.0.0.1", port, &conf, &second,
				     errstr, sizeof(errstr)), DRV_ERR_IO);
	cr_assert_null(second);
	drv_fmt(want, sizeof(want), "127.0.0.1:%u: cannot bind: ", port);
	cr_assert_eq(strncmp(errstr, want, strlen(want)), 0, "%s", errstr);
	cr_assert_not_null(strstr(errstr, "in use"), "%s", errstr);
}

Test(httpd, unbindable_address_is_io_error)
{
	drv_httpd_conf_t conf = { 0 };
	drv_httpd_t *d = NULL;
	char errstr[256] = "";

	/* TEST-NET-1: never a local address */
	cr_assert_eq(drv_httpd_start("192.0.2.1", 0, &conf, &d, errstr,
				     sizeof(errstr)), DRV_ERR_IO);
	cr_assert_null(d);
	cr_assert_not_null(strstr(errstr, "192.0.2.1:0: cannot bind"), "%s",
			   errstr);
}

Test(httpd, bad_arguments)
{
	drv_httpd_conf_t conf = { 0 };
	drv_httpd_t *d = NULL;
	char errstr[256] = "";

	cr_assert_eq(drv_httpd_start("127.0.0.1", 0, NULL, &d, errstr,
				     sizeof(errstr)), DRV_ERR_INVALID);
	cr_assert_eq(drv_httpd_start("127.0.0.1", 0, &conf, NULL, errstr,
				     sizeof(errstr)), DRV_ERR_INVALID);
	cr_assert_eq(drv_httpd_start("127.0.0.1", 70000, &conf, &d, errstr,
				     sizeof(errstr)), DRV_ERR_INVALID);
	cr_assert_null(d);
	cr_assert_eq(drv_httpd_port(NULL), 0);
}

Test(httpd, stop_idle_and_null)
{
	drv_httpd_conf_t conf = { 0 };
	drv_httpd_t *d = NULL;
	unsigned port;
	char errstr[256] = "";

	drv_httpd_stop(NULL);
	cr_assert_eq(drv_httpd_start("127.0.0.1", 0, &conf, &d, errstr,
				     sizeof(errstr)), DRV_OK, "%s", errstr);
	port = drv_httpd_port(d);
	drv_httpd_stop(d);
	/* the port is free again: a new server can take it */
	cr_assert_eq(drv_httpd_start("127.0.0.1", port, &conf, &d, errstr,
				     sizeof(errstr)), DRV_OK, "%s", errstr);
	cr_assert_eq(drv_httpd_port(d), port);
	drv_httpd_stop(d);
}

/* ---- slow clients (issue 17 item 4) ------------------------------------ */

#define SLOW_CONNS 64

struct trickle {
	unsigned port;
	int fds[SLOW_CONNS];
	int opened;            /* connections that were accepted at first */
	atomic_bool stop;
	atomic_int alive;      /* still open at the last byte sent */
	pthread_t thread;
};

static int connect_loopback(unsigned port)
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

/* Every 200 ms, one more byte of a header line that never ends, on every
 * connection: enough to reset any idle timeout. */
static void *trickle_main(void *arg)
{
	struct trickle *t = arg;

	while (!atomic_load(&t->stop)) {
		int alive = 0;

		for (int i = 0; i < SLOW_CONNS; i++)
			if (t->fds[i] >= 0 &&
			    send(t->fds[i], "x", 1, MSG_NOSIGNAL) == 1)
				alive++;
		atomic_store(&t->alive, alive);
		usleep(200 * 1000);
	}
	return NULL;
}

static void trickle_start(struct trickle *t, unsigned port)
{
	memset(t, 0, sizeof(*t));
	t->port = port;
	for (int i = 0; i < SLOW_CONNS; i++) {
		t->fds[i] = connect_loopback(port);
		cr_assert_eq(send(t->fds[i], "GET /healthz HTTP/1.1\r\nX-Slow: ",
				  31, MSG_NOSIGNAL), 31);
	}
	cr_assert_eq(pthread_create(&t->thread, NULL, trickle_main, t), 0);
}

static void trickle_stop(struct trickle *t)
{
	atomic_store(&t->stop, true);
	pthread_join(t->thread, NULL);
	for (int i = 0; i < SLOW_CONNS; i++)
		close(t->fds[i]);
}

/* 64 connections from one address trickling a header byte by byte must
 * not keep /healthz from answering at once. Before the fix they held every
 * connection slot for as long as they kept trickling (the idle timeout
 * restarts on each byte), and the probe waited in the backlog. */
Test(httpd, healthz_answered_despite_slow_clients)
{
	unsigned port = start();
	struct trickle t;
	struct reply r;
	CURL *easy = curl_easy_init();
	int64_t t0;

	trickle_start(&t, port);
	usleep(1000 * 1000); /* let them all be accepted and trickle */
	t0 = drv_mono_ms();
	cr_assert_not_null(easy);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 4000L);
	fetch_with(easy, port, NULL, "/healthz", &r);
	curl_easy_cleanup(easy);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ok\n");
	cr_assert_lt(drv_mono_ms() - t0, 1000, "/healthz took %lld ms",
		     (long long)(drv_mono_ms() - t0));
	trickle_stop(&t);
}

/* A request that is still coming in when its deadline passes is cut off,
 * however steadily its bytes trickle in. */
Test(httpd, trickled_request_cut_at_deadline)
{
	drv_httpd_conf_t conf = { .request_deadline_ms = 1000 };
	char errstr[256] = "", buf[256];
	int64_t t0 = drv_mono_ms();
	int fd;
	ssize_t n = 1;

	cr_assert_eq(drv_httpd_start("127.0.0.1", 0, &conf, &httpd, errstr,
				     sizeof(errstr)), DRV_OK, "%s", errstr);
	fd = connect_loopback(drv_httpd_port(httpd));
	send(fd, "GET /healthz HTTP/1.1\r\nX-Slow: ", 31, MSG_NOSIGNAL);
	while (drv_mono_ms() - t0 < 8000) {
		struct timeval tv = { 0, 200 * 1000 };

		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			break;
	}
	close(fd);
	cr_assert_lt(drv_mono_ms() - t0, 2500, "still open after %lld ms",
		     (long long)(drv_mono_ms() - t0));
}

/* With a metrics token, /metrics wants it as a bearer token; the probes
 * stay open. */
Test(httpd, metrics_token_required)
{
	drv_httpd_conf_t conf = { .metrics = metrics,
				  .metrics_token = "s3cret-token" };
	char errstr[256] = "";
	struct curl_slist *hdr = NULL;
	struct reply r;
	unsigned port;
	CURL *easy;

	cr_assert_eq(drv_httpd_start("127.0.0.1", 0, &conf, &httpd, errstr,
				     sizeof(errstr)), DRV_OK, "%s", errstr);
	port = drv_httpd_port(httpd);
	fetch(port, NULL, "/metrics", &r);
	cr_assert_eq(r.status, 401);
	fetch(port, NULL, "/healthz", &r);
	cr_assert_eq(r.status, 200);

	easy = curl_easy_init();
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
	hdr = curl_slist_append(hdr, "Authorization: Bearer wrong");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdr);
	fetch_with(easy, port, NULL, "/metrics", &r);
	cr_assert_eq(r.status, 401);
	curl_slist_free_all(hdr);
	hdr = curl_slist_append(NULL, "Authorization: bearer s3cret-token");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdr);
	fetch_with(easy, port, NULL, "/metrics", &r);
	cr_assert_eq(r.status, 200);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(easy);
}
