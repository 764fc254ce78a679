/*
 * Unit tests for the http runner: a libmicrohttpd server on an ephemeral
 * loopback port (started per test, one thread per connection) answers with
 * chosen statuses, echoes the request, stalls or sends long bodies, and
 * counts connections; the tests check classification, Retry-After, URL and
 * header substitution, methods and bodies, timeouts, the output limit and
 * keep-alive reuse. Nothing leaves 127.0.0.1.
 *
 * Server routes: /status/NNN[?retry_after=V|?retry_after_date=SECS],
 * /echo/..., /slow?ms=N, /big?n=N, /redirect.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/handler.h"
#include "drover/http.h"
#include "drover/str.h"
#include "drover/task.h"

/* ---- the test server ---------------------------------------------------- */

#define ECHO_MAX (64 * 1024)

struct req {
	char uri[2048];      /* raw request target, as sent */
	char *body;
	size_t body_len;
	bool started;
};

struct out {
	char buf[ECHO_MAX];
	size_t len;
};

static struct MHD_Daemon *srv;
static unsigned srv_port;
static atomic_int srv_connections;
static atomic_int srv_requests;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void out_add(struct out *o, const char *s, size_t n)
{
	if (n > sizeof(o->buf) - o->len)
		n = sizeof(o->buf) - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_adds(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static enum MHD_Result echo_header(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct out *o = cls;
	char lower[256];
	size_t i;

	(void)kind;
	for (i = 0; key[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)key[i]);
	lower[i] = '\0';
	out_adds(o, "hdr:");
	out_adds(o, lower);
	out_adds(o, "=");
	out_adds(o, value ? value : "");
	out_adds(o, "\n");
	return MHD_YES;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
			       const void *body, size_t len,
			       const char *hname, const char *hvalue)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	if (hname)
		MHD_add_response_header(resp, hname, hvalue);
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static long query_num(struct MHD_Connection *conn, const char *key, long def)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						    key);
	int64_t n;

	return v && drv_parse_int(v, 0, 100000000, &n) == DRV_OK ? (long)n
								 : def;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)version;
	if (!r->started) {
		r->started = true;
		atomic_fetch_add(&srv_requests, 1);
		return MHD_YES;
	}
	if (*upload_size) {
		char *b = realloc(r->body, r->body_len + *upload_size + 1);

		if (!b)
			return MHD_NO;
		memcpy(b + r->body_len, upload, *upload_size);
		r->body = b;
		r->body_len += *upload_size;
		r->body[r->body_len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}

	if (!strncmp(url, "/status/", 8)) {
		int64_t status = 500;
		const char *ra = MHD_lookup_connection_value(
			conn, MHD_GET_ARGUMENT_KIND, "retry_after");
		long date_in = query_num(conn, "retry_after_date", -1);
		char body[64], date[64];

		drv_parse_int(url + 8, 100, 599, &status);
		drv_fmt(body, sizeof(body), "status %d\n", (int)status);
		if (date_in >= 0) {
			time_t when = time(NULL) + date_in;
			struct tm tm;

			gmtime_r(&when, &tm);
			strftime(date, sizeof(date),
				 "%a, %d %b %Y %H:%M:%S GMT", &tm);
			ra = date;
		}
		return respond(conn, (unsigned)status, body, strlen(body),
			       ra ? "Retry-After" : NULL, ra);
	}
	if (!strncmp(url, "/echo", 5)) {
		static _Thread_local struct out o;
		char num[32];

		/* the body last: a long one is cut by ECHO_MAX */
		o.len = 0;
		out_adds(&o, "method=");
		out_adds(&o, method);
		out_adds(&o, "\nuri=");
		out_adds(&o, r->uri);
		out_adds(&o, "\n");
		MHD_get_connection_values(conn, MHD_HEADER_KIND, echo_header,
					  &o);
		drv_fmt(num, sizeof(num), "body_len=%zu\nbody=", r->body_len);
		out_adds(&o, num);
		if (r->body)
			out_add(&o, r->body, r->body_len);
		out_adds(&o, "\n");
		return respond(conn, 200, o.buf, o.len, NULL, NULL);
	}
	if (!strcmp(url, "/slow")) {
		sleep_ms(query_num(conn, "ms", 1000));
		return respond(conn, 200, "late\n", 5, NULL, NULL);
	}
	if (!strcmp(url, "/big")) {
		long n = query_num(conn, "n", 0);
		char *b = malloc((size_t)n + 1);
		enum MHD_Result res;

		if (!b)
			return MHD_NO;
		for (long i = 0; i < n; i++)
			b[i] = (char)('0' + i % 10);
		res = respond(conn, 200, b, (size_t)n, NULL, NULL);
		free(b);
		return res;
	}
	if (!strcmp(url, "/redirect"))
		return respond(conn, 301, "", 0, "Location", "/echo/moved");
	return respond(conn, 404, "no such route\n", 14, NULL, NULL);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)conn;
	if (r)
		drv_strlcpy(r->uri, uri, sizeof(r->uri));
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&srv_connections, 1);
}

static void srv_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	srv = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
		0, NULL, NULL, on_request, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_END);
	cr_assert_not_null(srv, "MHD_start_daemon failed");
	info = MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT);
	cr_assert_not_null(info);
	srv_port = info->port;
	cr_assert_gt(srv_port, 0);
}

static void srv_stop(void)
{
	if (srv)
		MHD_stop_daemon(srv);
	srv = NULL;
}

TestSuite(http, .init = srv_start, .fini = srv_stop, .timeout = 30);

/* ---- helpers ------------------------------------------------------------ */

static char *url_to(const char *path)
{
	static char url[512];

	cr_assert(drv_fmt(url, sizeof(url), "http://127.0.0.1:%u%s", srv_port,
			  path));
	return url;
}

static drv_handler_conf_t handler(const char *url)
{
	drv_handler_conf_t h = {
		.name = (char *)"web",
		.type = DRV_HANDLER_HTTP,
		.url = (char *)url,
		.timeout_ms = 5000,
	};

	return h;
}

static void make_task(drv_task_t *t)
{
	static const char payload[] = "{\"n\":1}";

	drv_task_init(t);
	drv_id_new(t->id, drv_now_ms());
	t->handler = drv_strdup("web");
	cr_assert_eq(drv_task_set_payload(t, payload, sizeof(payload) - 1),
		     DRV_OK);
}

/* One attempt with a fresh client; the attempt must have been made. */
static drv_result_t run(const drv_handler_conf_t *h, const drv_task_t *t)
{
	drv_http_client_t *c = NULL;
	drv_result_t res;
	char errstr[256] = "";

	cr_assert_eq(drv_http_client_new(&c, errstr, sizeof(errstr)), DRV_OK,
		     "client: %s", errstr);
	cr_assert_eq(drv_http_run(c, h, t, &res), DRV_OK, "run: %s",
		     res.message);
	drv_http_client_destroy(c);
	if (res.output)
		cr_assert_eq(res.output[res.output_len], '\0');
	cr_assert_geq(res.duration_ms, 0);
	return res;
}

static drv_result_t run_path(const char *path)
{
	drv_handler_conf_t h = handler(url_to(path));
	drv_task_t t;
	drv_result_t res;

	make_task(&t);
	res = run(&h, &t);
	drv_task_release(&t);
	return res;
}

static void expect_contains(const drv_result_t *res, const char *needle)
{
	cr_assert_not_null(res->output);
	cr_assert_not_null(strstr(res->output, needle),
			   "expected '%s' in:\n%s", needle, res->output);
}

static void expect_lacks(const drv_result_t *res, const char *needle)
{
	cr_assert_not_null(res->output);
	cr_assert_null(strstr(res->output, needle), "unexpected '%s' in:\n%s",
		       needle, res->output);
}

/* ---- classification ----------------------------------------------------- */

Test(http, ok_200_is_success_with_body)
{
	drv_result_t res = run_path("/status/200");

	cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_eq(res.http_status, 200);
	cr_assert_str_eq(res.message, "");
	cr_assert_str_eq(res.output, "status 200\n");
	cr_assert_eq(res.output_len, 11);
	cr_assert_eq(res.retry_after_ms, 0);
	drv_result_release(&res);
	cr_assert_null(res.output);
}

Test(http, status_204_is_success_without_output)
{
	drv_result_t res = run_path("/status/204");

	cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_eq(res.http_status, 204);
	cr_assert_null(res.output);
	cr_assert_eq(res.output_len, 0);
	drv_result_release(&res);
}

Test(http, status_503_is_transient)
{
	drv_result_t res = run_path("/status/503");

	cr_assert_eq(res.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(res.http_status, 503);
	cr_assert_str_eq(res.message, "HTTP 503 Service Unavailable");
	cr_assert_str_eq(res.output, "status 503\n");
	cr_assert_eq(res.retry_after_ms, 0);
	drv_result_release(&res);
}

Test(http, status_500_is_transient)
{
	drv_result_t res = run_path("/status/500");

	cr_assert_eq(res.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(res.http_status, 500);
	drv_result_release(&res);
}

Test(http, retry_after_seconds)
{
	drv_result_t res = run_path("/status/503?retry_after=7");

	cr_assert_eq(res.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(res.retry_after_ms, 7000);
	drv_result_release(&res);
}

Test(http, status_429_is_throttled_with_date_retry_after)
{
	drv_result_t res = run_path("/status/429?retry_after_date=30");

	cr_assert_eq(res.failure, DRV_FAILURE_THROTTLED);
	cr_assert_eq(res.http_status, 429);
	cr_assert_str_eq(res.message, "HTTP 429 Too Many Requests");
	/* whole seconds on the wire: 29..31 s from now */
	cr_assert(res.retry_after_ms > 28000 && res.retry_after_ms <= 31000,
		  "retry_after_ms = %lld", (long long)res.retry_after_ms);
	drv_result_release(&res);
}

Test(http, status_400_is_permanent)
{
	drv_result_t res = run_path("/status/400");

	cr_assert_eq(res.failure, DRV_FAILURE_PERMANENT);
	cr_assert_eq(res.http_status, 400);
	cr_assert_str_eq(res.message, "HTTP 400 Bad Request");
	drv_result_release(&res);
}

Test(http, status_404_is_permanent)
{
	drv_result_t res = run_path("/no/such/route");

	cr_assert_eq(res.failure, DRV_FAILURE_PERMANENT);
	cr_assert_eq(res.http_status, 404);
	cr_assert_str_eq(res.message, "HTTP 404 Not Found");
	cr_assert_str_eq(res.output, "no such route\n");
	drv_result_release(&res);
}

Test(http, status_408_is_transient)
{
	drv_result_t res = run_path("/status/408");

	cr_assert_eq(res.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(res.http_status, 408);
	drv_result_release(&res);
}

Test(http, redirect_is_not_followed_and_permanent)
{
	drv_result_t res = run_path("/redirect");

	cr_assert_eq(res.failure, DRV_FAILURE_PERMANENT);
	cr_assert_eq(res.http_status, 301);
	cr_assert_str_eq(res.message, "HTTP 301 Moved Permanently");
	cr_assert_eq(atomic_load(&srv_requests), 1);
	drv_result_release(&res);
}

Test(http, slow_server_times_out)
{
	drv_handler_conf_t h = handler(url_to("/slow?ms=1000"));
	drv_task_t t;
	drv_result_t res;

	h.timeout_ms = 200;
	make_task(&t);
	res = run(&h, &t);
	cr_assert_eq(res.failure, DRV_FAILURE_TIMEOUT);
	cr_assert_eq(res.http_status, 0);
	cr_assert_neq(res.message[0], '\0');
	cr_assert(res.duration_ms >= 150 && res.duration_ms < 900,
		  "duration_ms = %lld", (long long)res.duration_ms);
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, connection_refused_is_transient)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char url[128];
	drv_handler_conf_t h;
	drv_task_t t;
	drv_result_t res;

	/* a port that was free a moment ago and has no listener now */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	drv_fmt(url, sizeof(url), "http://127.0.0.1:%u/x",
		(unsigned)ntohs(sa.sin_port));

	h = handler(url);
	make_task(&t);
	res = run(&h, &t);
	cr_assert_eq(res.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(res.http_status, 0);
	cr_assert_neq(res.message[0], '\0');
	cr_assert_null(res.output);
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, unsupported_scheme_is_permanent)
{
	drv_handler_conf_t h = handler("file:///etc/passwd");
	drv_task_t t;
	drv_result_t res;

	make_task(&t);
	res = run(&h, &t);
	cr_assert_eq(res.failure, DRV_FAILURE_PERMANENT);
	cr_assert_null(res.output);
	drv_result_release(&res);
	drv_task_release(&t);
}

/* ---- the request -------------------------------------------------------- */

Test(http, default_post_sends_payload_and_drover_headers)
{
	drv_result_t res = run_path("/echo");

	cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED);
	expect_contains(&res, "method=POST\n");
	expect_contains(&res, "body_len=7\nbody={\"n\":1}\n");
	expect_contains(&res, "hdr:content-type=application/json\n");
	expect_contains(&res, "hdr:user-agent=drover/" DROVER_VERSION "\n");
	expect_contains(&res, "hdr:x-drover-attempt=1\n");
	expect_contains(&res, "hdr:x-drover-task-id=");
	expect_contains(&res, "hdr:idempotency-key=");
	expect_lacks(&res, "hdr:expect=");
	drv_result_release(&res);
}

Test(http, task_id_and_idempotency_key_headers)
{
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;
	drv_result_t res;
	char line[128];

	make_task(&t);
	res = run(&h, &t);
	drv_fmt(line, sizeof(line), "hdr:x-drover-task-id=%s\n", t.id);
	expect_contains(&res, line);
	drv_fmt(line, sizeof(line), "hdr:idempotency-key=%s\n", t.id);
	expect_contains(&res, line);
	drv_result_release(&res);

	t.idempotency_key = drv_strdup("order-42");
	res = run(&h, &t);
	expect_contains(&res, "hdr:idempotency-key=order-42\n");
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, url_and_header_substitution)
{
	drv_kv_t headers[] = {
		{ (char *)"X-Region", (char *)"${label.region}" },
		{ (char *)"Authorization",
		  (char *)"Bearer ${task.handler}-${task.attempt}" },
		{ (char *)"Content-Type", (char *)"text/plain" },
		{ (char *)"X-Empty", (char *)"" },
	};
	drv_handler_conf_t h = handler(url_to(
		"/echo/${task.id}/${label.region}"
		"?h=${task.handler}&a=${task.attempt}&t=${label.tenant}"));
	drv_task_t t;
	drv_result_t res;
	char line[256];

	h.headers = headers;
	h.header_cnt = sizeof(headers) / sizeof(headers[0]);
	make_task(&t);
	t.attempt = 2;
	cr_assert_eq(drv_task_set_label(&t, "region", "eu west/1"), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "tenant", "acme&co=1"), DRV_OK);
	res = run(&h, &t);
	cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED, "%s", res.message);

	drv_fmt(line, sizeof(line),
		"uri=/echo/%s/eu%%20west%%2F1?h=web&a=3&t=acme%%26co%%3D1\n",
		t.id);
	expect_contains(&res, line);
	expect_contains(&res, "hdr:x-region=eu west/1\n");
	expect_contains(&res, "hdr:authorization=Bearer web-3\n");
	expect_contains(&res, "hdr:content-type=text/plain\n");
	expect_lacks(&res, "application/json");
	expect_contains(&res, "hdr:x-empty=\n");
	expect_contains(&res, "hdr:x-drover-attempt=3\n");
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, configured_header_overrides_a_default)
{
	drv_kv_t headers[] = {
		{ (char *)"user-agent", (char *)"custom/1" },
		{ (char *)"Idempotency-Key", (char *)"${label.order}" },
	};
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;
	drv_result_t res;

	h.headers = headers;
	h.header_cnt = 2;
	make_task(&t);
	cr_assert_eq(drv_task_set_label(&t, "order", "o-7"), DRV_OK);
	res = run(&h, &t);
	expect_contains(&res, "hdr:user-agent=custom/1\n");
	expect_lacks(&res, "drover/");
	expect_contains(&res, "hdr:idempotency-key=o-7\n");
	drv_result_release(&res);
	drv_task_release(&t);
}

/* Bad input: no request is made, DRV_ERR_INVALID, a permanent failure. */
static void expect_invalid(drv_handler_conf_t *h, drv_task_t *t,
			   const char *needle)
{
	drv_http_client_t *c = NULL;
	drv_result_t res;

	cr_assert_eq(drv_http_client_new(&c, NULL, 0), DRV_OK);
	cr_assert_eq(drv_http_run(c, h, t, &res), DRV_ERR_INVALID);
	cr_assert_eq(res.failure, DRV_FAILURE_PERMANENT);
	cr_assert_not_null(strstr(res.message, needle), "message: %s",
			   res.message);
	cr_assert_null(res.output);
	cr_assert_eq(res.http_status, 0);
	drv_result_release(&res);
	drv_http_client_destroy(c);
	cr_assert_eq(atomic_load(&srv_requests), 0);
}

Test(http, missing_label_in_url_is_invalid)
{
	drv_handler_conf_t h = handler(url_to("/echo/${label.nope}"));
	drv_task_t t;

	make_task(&t);
	expect_invalid(&h, &t, "no label 'nope'");
	drv_task_release(&t);
}

Test(http, missing_label_in_header_is_invalid)
{
	drv_kv_t headers[] = { { (char *)"X-A", (char *)"${label.gone}" } };
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;

	h.headers = headers;
	h.header_cnt = 1;
	make_task(&t);
	expect_invalid(&h, &t, "header 'X-A': the task has no label 'gone'");
	drv_task_release(&t);
}

Test(http, bad_templates_and_headers_are_invalid)
{
	drv_kv_t crlf[] = { { (char *)"X-A", (char *)"${label.evil}" } };
	drv_kv_t badname[] = { { (char *)"X A", (char *)"v" } };
	drv_handler_conf_t h = handler(url_to("/echo/${task.nope}"));
	drv_task_t t;

	make_task(&t);
	expect_invalid(&h, &t, "unknown placeholder '${task.nope}'");
	h.url = url_to("/echo/${task.id");
	expect_invalid(&h, &t, "unterminated");
	h.url = NULL;
	expect_invalid(&h, &t, "no url");

	h.url = url_to("/echo");
	cr_assert_eq(drv_task_set_label(&t, "evil", "x\r\nX-Injected: 1"),
		     DRV_OK);
	h.headers = crlf;
	h.header_cnt = 1;
	expect_invalid(&h, &t, "control byte");
	h.headers = badname;
	expect_invalid(&h, &t, "not a token");
	h.headers = NULL;
	h.header_cnt = 0;
	h.method = (char *)"GET /x";
	expect_invalid(&h, &t, "bad http method");
	drv_task_release(&t);
}

/* Issue 17: the default headers come from task fields; a task that never
 * went through drv_task_validate() must still not add headers (a second
 * Host:) to a request that carries the handler's Authorization. */
Test(http, default_headers_refuse_control_bytes)
{
	drv_kv_t auth[] = { { (char *)"Authorization", (char *)"Bearer s" } };
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;

	h.headers = auth;
	h.header_cnt = 1;
	make_task(&t);
	t.idempotency_key = drv_strdup("k\r\nHost: evil.example");
	expect_invalid(&h, &t, "header 'Idempotency-Key': value contains a "
		       "control byte");
	free(t.idempotency_key);
	t.idempotency_key = drv_strdup("k\tv");
	expect_invalid(&h, &t, "control byte (0x09");
	free(t.idempotency_key);
	t.idempotency_key = NULL;
	memcpy(t.id, "AB\r\nHost: evil", sizeof("AB\r\nHost: evil"));
	expect_invalid(&h, &t, "header 'X-Drover-Task-Id': value contains");
	drv_task_release(&t);
}

/* Issue 17: a label in a URL path must not act as a dot segment. */
static void url_ok(const drv_task_t *t, const char *tmpl, const char *want)
{
	char *url = NULL, err[256] = "";

	cr_assert_eq(drv_http_expand_url(tmpl, t, &url, err, sizeof(err)),
		     DRV_OK, "%s: %s", tmpl, err);
	cr_assert_str_eq(url, want);
	free(url);
}

static void url_refused(const drv_task_t *t, const char *tmpl,
			const char *needle)
{
	char *url = NULL, err[256] = "";

	cr_assert_eq(drv_http_expand_url(tmpl, t, &url, err, sizeof(err)),
		     DRV_ERR_INVALID, "%s: %s", tmpl, url ? url : "");
	cr_assert_null(url);
	cr_assert_not_null(strstr(err, needle), "%s: %s", tmpl, err);
}

Test(http_url, dot_segment_labels_are_refused_in_the_path)
{
	static const char *const bad[] = {
		"..", ".", "../admin", "a/../b", "a/..", "./x", "..\\x", "...",
	};
	drv_task_t t;

	make_task(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(drv_task_set_label(&t, "p", bad[i]), DRV_OK);
		url_refused(&t, "http://h/users/${label.p}/admin",
			    "url: the value of '${label.p}' would make a '.' "
			    "or '..' path segment");
		url_refused(&t, "http://h/users/${label.p}", "path segment");
		url_refused(&t, "http://h/files/.${label.p}", "path segment");
	}
	drv_task_release(&t);
}

Test(http_url, dots_elsewhere_are_kept)
{
	drv_task_t t;

	make_task(&t);
	cr_assert_eq(drv_task_set_label(&t, "p", ".."), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "f", "report.v2.pdf"), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "h", "eu.example.com"), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "e", ""), DRV_OK);
	/* the query and the fragment have no dot segments */
	url_ok(&t, "http://h/users?p=${label.p}", "http://h/users?p=..");
	url_ok(&t, "http://h/users#${label.p}", "http://h/users#..");
	/* dots inside a name, and in the host */
	url_ok(&t, "http://h/files/${label.f}", "http://h/files/report.v2.pdf");
	url_ok(&t, "http://${label.h}/x/${label.f}",
	       "http://eu.example.com/x/report.v2.pdf");
	url_ok(&t, "http://h/a.${label.f}", "http://h/a.report.v2.pdf");
	/* the template's own text is the operator's */
	url_ok(&t, "http://h/a/../b/${label.e}", "http://h/a/../b/");
	/* an encoded slash or percent is data */
	cr_assert_eq(drv_task_set_label(&t, "p", "%2E%2E"), DRV_OK);
	url_ok(&t, "http://h/u/${label.p}", "http://h/u/%252E%252E");
	url_refused(&t, "http://h/u/${label.nope}", "no label 'nope'");
	drv_task_release(&t);
}

Test(http, dot_segment_label_makes_no_request)
{
	drv_handler_conf_t h = handler(url_to("/users/${label.p}/admin"));
	drv_task_t t;

	make_task(&t);
	cr_assert_eq(drv_task_set_label(&t, "p", ".."), DRV_OK);
	expect_invalid(&h, &t, "path segment");
	drv_task_release(&t);
}

Test(http, get_and_delete_send_no_body)
{
	static const char *methods[] = { "GET", "delete" };
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;

	make_task(&t);
	for (size_t i = 0; i < 2; i++) {
		drv_result_t res;
		char line[32];

		h.method = (char *)methods[i];
		res = run(&h, &t);
		drv_fmt(line, sizeof(line), "method=%s\n",
			i == 0 ? "GET" : "DELETE");
		expect_contains(&res, line);
		expect_contains(&res, "body_len=0\n");
		expect_lacks(&res, "hdr:content-length=");
		expect_lacks(&res, "hdr:content-type=");
		expect_contains(&res, "hdr:x-drover-attempt=1\n");
		drv_result_release(&res);
	}
	drv_task_release(&t);
}

Test(http, put_sends_the_payload)
{
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;
	drv_result_t res;

	h.method = (char *)"PUT";
	make_task(&t);
	res = run(&h, &t);
	expect_contains(&res, "method=PUT\n");
	expect_contains(&res, "body_len=7\nbody={\"n\":1}\n");
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, large_payload_is_sent_without_expect)
{
	drv_handler_conf_t h = handler(url_to("/echo"));
	size_t n = 2000000; /* curl 7.88 asks to Expect above 1 MiB */
	char *big = malloc(n);
	drv_task_t t;
	drv_result_t res;

	cr_assert_not_null(big);
	memset(big, 'a', n);
	make_task(&t);
	cr_assert_eq(drv_task_set_payload(&t, big, n), DRV_OK);
	free(big);
	res = run(&h, &t);
	cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED, "%s", res.message);
	expect_contains(&res, "body_len=2000000\n");
	expect_lacks(&res, "hdr:expect=");
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, empty_payload_posts_empty_body)
{
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_task_t t;
	drv_result_t res;

	make_task(&t);
	cr_assert_eq(drv_task_set_payload(&t, NULL, 0), DRV_OK);
	res = run(&h, &t);
	expect_contains(&res, "method=POST\n");
	expect_contains(&res, "body_len=0\n");
	expect_contains(&res, "hdr:content-length=0\n");
	drv_result_release(&res);
	drv_task_release(&t);
}

/* ---- output, reuse, threads --------------------------------------------- */

Test(http, output_limit_keeps_the_head)
{
	drv_handler_conf_t h = handler(url_to("/big?n=100000"));
	drv_task_t t;
	drv_result_t res;

	h.output_limit = 10;
	make_task(&t);
	res = run(&h, &t);
	cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED, "%s", res.message);
	cr_assert_eq(res.output_len, 10);
	cr_assert_str_eq(res.output, "0123456789");
	drv_result_release(&res);

	h.output_limit = 0; /* the default */
	res = run(&h, &t);
	cr_assert_eq(res.output_len, DRV_HTTP_DEFAULT_OUTPUT_LIMIT);
	cr_assert_eq(strlen(res.output), DRV_HTTP_DEFAULT_OUTPUT_LIMIT);
	drv_result_release(&res);
	drv_task_release(&t);
}

Test(http, one_client_reuses_its_connection)
{
	drv_handler_conf_t h = handler(url_to("/echo"));
	drv_http_client_t *c = NULL, *c2 = NULL;
	drv_task_t t;
	drv_result_t res;

	make_task(&t);
	cr_assert_eq(drv_http_client_new(&c, NULL, 0), DRV_OK);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(drv_http_run(c, &h, &t, &res), DRV_OK);
		cr_assert_eq(res.failure, DRV_FAILURE_UNSPECIFIED, "%s",
			     res.message);
		drv_result_release(&res);
	}
	/* a failure response does not cost the connection either */
	h.url = url_to("/status/503");
	cr_assert_eq(drv_http_run(c, &h, &t, &res), DRV_OK);
	cr_assert_eq(res.failure, DRV_FAILURE_TRANSIENT);
	drv_result_release(&res);
	cr_assert_eq(atomic_load(&srv_requests), 4);
	cr_assert_eq(atomic_load(&srv_connections), 1);

	/* another client is another connection */
	cr_assert_eq(drv_http_client_new(&c2, NULL, 0), DRV_OK);
	cr_assert_eq(drv_http_run(c2, &h, &t, &res), DRV_OK);
	drv_result_release(&res);
	cr_assert_eq(atomic_load(&srv_connections), 2);

	drv_http_client_destroy(c2);
	drv_http_client_destroy(c);
	drv_http_client_destroy(NULL);
	drv_task_release(&t);
}

#define THREADS 4
#define PER_THREAD 5

static void *thread_main(void *arg)
{
	drv_handler_conf_t h = handler(arg);
	drv_http_client_t *c = NULL;
	drv_task_t t;
	long ok = 0;

	make_task(&t);
	if (drv_http_client_new(&c, NULL, 0) != DRV_OK)
		return (void *)0;
	for (int i = 0; i < PER_THREAD; i++) {
		drv_result_t res;

		if (drv_http_run(c, &h, &t, &res) == DRV_OK &&
		    res.failure == DRV_FAILURE_UNSPECIFIED &&
		    res.http_status == 200)
			ok++;
		drv_result_release(&res);
	}
	drv_http_client_destroy(c);
	drv_task_release(&t);
	return (void *)ok;
}

Test(http, clients_on_several_threads)
{
	pthread_t th[THREADS];
	char *url = drv_strdup(url_to("/status/200"));
	long total = 0;

	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, thread_main, url), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(th[i], &r);
		total += (long)r;
	}
	free(url);
	cr_assert_eq(total, THREADS * PER_THREAD);
	cr_assert_eq(atomic_load(&srv_connections), THREADS);
}

/* ---- Retry-After parsing ------------------------------------------------ */

/* 1994-11-06T08:49:37Z, the RFC's example date */
#define RFC_EXAMPLE_S 784111777LL

Test(retry_after, delta_seconds)
{
	cr_assert_eq(drv_http_parse_retry_after("7", 0), 7000);
	cr_assert_eq(drv_http_parse_retry_after("0", 0), 0);
	cr_assert_eq(drv_http_parse_retry_after(" 120\t", 5), 120000);
	cr_assert_eq(drv_http_parse_retry_after("86400", 0), 86400000);
}

Test(retry_after, http_dates_in_all_three_forms)
{
	int64_t now = (RFC_EXAMPLE_S - 10) * 1000;

	cr_assert_eq(drv_http_parse_retry_after(
			     "Sun, 06 Nov 1994 08:49:37 GMT", now), 10000);
	cr_assert_eq(drv_http_parse_retry_after(
			     "Sunday, 06-Nov-94 08:49:37 GMT", now), 10000);
	cr_assert_eq(drv_http_parse_retry_after(
			     "Sun Nov  6 08:49:37 1994", now), 10000);
	cr_assert_eq(drv_http_parse_retry_after(
			     "  Sun, 06 Nov 1994 08:49:37 GMT ", now + 500),
		     9500);
	/* a leap day, and the end of a year */
	cr_assert_eq(drv_http_parse_retry_after(
			     "Thu, 29 Feb 2024 00:00:00 GMT", 1709164800000LL),
		     0);
	cr_assert_eq(drv_http_parse_retry_after(
			     "Fri, 01 Jan 2027 00:00:01 GMT", 1798761600000LL),
		     1000);
}

Test(retry_after, dates_in_the_past_mean_now)
{
	cr_assert_eq(drv_http_parse_retry_after(
			     "Sun, 06 Nov 1994 08:49:37 GMT",
			     (RFC_EXAMPLE_S + 3600) * 1000), 0);
}

Test(retry_after, two_digit_years_are_at_most_50_years_ahead)
{
	/* now = 2026-01-01T00:00:00Z */
	int64_t now = 1767225600000LL;

	/* "94" is 1994 (2094 would be > 50 years ahead): in the past */
	cr_assert_eq(drv_http_parse_retry_after(
			     "Sunday, 06-Nov-94 08:49:37 GMT", now), 0);
	/* "26" is 2026 */
	cr_assert_eq(drv_http_parse_retry_after(
			     "Thursday, 01-Jan-26 00:01:00 GMT", now), 60000);
}

Test(retry_after, garbage_is_minus_one)
{
	static const char *bad[] = {
		"", "   ", "soon", "-5", "+5", "5s", "1.5", "7 7",
		"99999999999999999999",
		"Sun, 06 Nov 1994 08:49:37 PST",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 25:49:37 GMT",
		"Sun, 31 Feb 1994 08:49:37 GMT",
		"Sun, 29 Feb 1993 08:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Funday, 06 Nov 1994 08:49:37 GMT",
		"Sun Nov  6 08:49:37 94",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
	};

	cr_assert_eq(drv_http_parse_retry_after(NULL, 0), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(drv_http_parse_retry_after(bad[i], 0), -1,
			     "'%s' parsed", bad[i]);
}
