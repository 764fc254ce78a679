/*
 * Unit tests for the health and metrics HTTP server: each test starts a
 * server on an ephemeral loopback port and talks to it with libcurl —
 * /healthz alive and not, /readyz ready, degraded and not ready, /metrics
 * text and content type, 404, 405, HEAD, keep-alive, that callbacks run on
 * the server thread, a busy port and an unbindable address, and stopping
 * an idle server. Nothing leaves 127.0.0.1.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
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
