/*
 * 0100 — the HTTP API against the real Kafka, Redis, a coordinator serving
 * it and a worker: tasks submitted one by one and in a batch run, show
 * their state, and obey pause and resume; events reach the events topic;
 * an Idempotency-Key replays;
 * every write is audited under the token's name; every auth path and error
 * class answers as docs/api.md says; every route of the OpenAPI document
 * is served.
 */
#define _GNU_SOURCE  /* memmem */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

#define OPS    "ops-token-0100"
#define VIEWER "viewer-token-0100"

static const char handlers[] =
	"  quick:\n"
	"    shell: true\n"
	"    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n"
	"breakers:\n"
	"  b0100:\n"
	"    window: 20s\n"
	"    min_calls: 7\n"
	"    failure_rate: 35\n"
	"    slow_call: 2s\n"
	"    slow_call_rate: 60\n"
	"    wait_in_open: 90s\n"
	"    half_open_calls: 5\n"
	"    half_open_successes: 4\n";

typedef struct resp {
	long   status;
	char  *body;
	size_t len;
	char   headers[4096];
	size_t hlen;
	json_t *json;
} resp_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	resp_t *r = arg;
	char *nb = realloc(r->body, r->len + size * n + 1);

	cr_assert_not_null(nb);
	memcpy(nb + r->len, p, size * n);
	r->len += size * n;
	nb[r->len] = '\0';
	r->body = nb;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	resp_t *r = arg;
	size_t len = size * n;

	if (r->hlen + len < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, len);
		r->hlen += len;
		r->headers[r->hlen] = '\0';
	}
	return len;
}

static void resp_free(resp_t *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* \p method \p path on 127.0.0.1:\p port with \p token (NULL: none),
 * \p body (NULL: none) and one \p extra header line (NULL: none). */
static long call(int port, const char *method, const char *path,
		 const char *token, const char *body, const char *extra,
		 resp_t *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], auth[256];

	memset(r, 0, sizeof(*r));
	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (token) {
		drv_fmt(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (extra)
		h = curl_slist_append(h, extra);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s", method, path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->body)
		r->json = json_loads(r->body, 0, NULL);
	return r->status;
}

/* The value of response header \p name (case-insensitive), or "". */
static void header(const resp_t *r, const char *name, char *buf,
		   size_t size)
{
	it_http_header(r->headers, name, buf, size);
}

static const char *str(const resp_t *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->json, key));

	return s ? s : "";
}

/* The breaker view \p o carries the policy of its `breakers:` entry
 * \p entry: window, failure rate and probes as given, the rest of b0100's
 * or the built-in default's. */
static void expect_policy_of(const json_t *o, const char *entry,
			     long long window_ms, double failure_rate,
			     long long probes)
{
	const json_t *p = json_object_get(o, "policy");
	bool own = !strcmp(entry, "b0100");

	cr_assert(json_is_object(p), "no policy");
	cr_assert_str_eq(it_json_str(p, "entry"), entry);
	cr_assert_str_eq(it_json_str(p, "mode"), "auto");
	cr_assert_eq(it_json_int(p, "window_ms"), window_ms);
	cr_assert_eq(it_json_int(p, "min_calls"), own ? 7 : 10);
	cr_assert_float_eq(json_real_value(json_object_get(p, "failure_rate")),
			   failure_rate, 1e-9);
	cr_assert_eq(it_json_int(p, "slow_call_ms"), own ? 2000 : 60000);
	cr_assert_float_eq(json_real_value(json_object_get(p,
			   "slow_call_rate")), own ? 60 : 100, 1e-9);
	cr_assert_eq(it_json_int(p, "wait_in_open_ms"), own ? 90000 : 60000);
	cr_assert_eq(it_json_int(p, "half_open_calls"), probes);
	cr_assert_eq(it_json_int(p, "half_open_successes"), own ? 4 : 3);
}

/* GET /api/v1/breakers: b0100 with its own entry, any other breaker with
 * the built-in default. */
static void policy_of_list(const resp_t *r)
{
	const json_t *arr = json_object_get(r->json, "breakers"), *b;
	size_t i;

	cr_assert(json_array_size(arr) >= 1, "%s", r->body);
	json_array_foreach(arr, i, b) {
		if (!strcmp(it_json_str(b, "name"), "b0100"))
			expect_policy_of(b, "b0100", 20000, 35, 5);
		else
			expect_policy_of(b, "default", 10000, 50, 3);
	}
}

/* Coordinator (and \p workers workers) serving the API on a free port. */
static int start(it_ctx_t *ctx, pid_t *coord, pid_t *worker,
		 const char *api_keys)
{
	int port;

	it_setup(ctx, handlers);
	it_topics(ctx);
	port = it_api_start(ctx, "IT_API_TOKEN_0100", OPS, VIEWER, api_keys,
			    coord);
	if (worker)
		*worker = it_worker_start(ctx, 1);
	return port;
}

/* Poll GET /tasks/ID until its state is \p want. */
static bool wait_state(int port, const char *id, const char *want,
		       int timeout_ms)
{
	char path[128];
	resp_t r;

	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s", id);
	for (int t = 0; t < timeout_ms; t += 200) {
		bool ok = call(port, "GET", path, VIEWER, NULL, NULL, &r) ==
			  200 && !strcmp(str(&r, "state"), want);

		resp_free(&r);
		if (ok)
			return true;
		usleep(200 * 1000);
	}
	return false;
}

Test(api, tasks_end_to_end, .timeout = 120)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	int port = start(&ctx, &coord, &worker, "");
	char id[64], path[128], h[256], *out = NULL;
	resp_t r;
	json_t *res;

	/* one task: 201 with its id, runs, shows succeeded */
	cr_assert_eq(call(port, "POST", "/api/v1/tasks", OPS,
			  "{\"handler\": \"quick\", \"priority\": 9, "
			  "\"labels\": {\"from\": \"api\"}}", NULL, &r), 201,
		     "%s", r.body);
	drv_strlcpy(id, str(&r, "id"), sizeof(id));
	cr_assert_eq(strlen(id), 26);
	cr_assert(strstr(str(&r, "topic"), "tasks.high"), "%s", r.body);
	resp_free(&r);
	cr_assert(wait_state(port, id, "succeeded", 30000), "task %s", id);
	cr_assert_eq(it_count(&ctx, "run", id), 1);

	/* a batch: the bad item fails alone, the good ones run */
	cr_assert_eq(call(port, "POST", "/api/v1/tasks/batch", OPS,
			  "{\"tasks\": [{\"handler\": \"quick\"}, "
			  "{\"handler\": \"quick\", \"priority\": 0}, "
			  "{\"handler\": \"quick\", \"delay\": 100}]}", NULL,
			  &r), 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "submitted")),
		     2);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "failed")), 1);
	res = json_object_get(r.json, "results");
	cr_assert_eq(json_array_size(res), 3);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(res, 1),
				"status")), 400);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(res,
				1), "pointer")), "/tasks/1/priority");
	for (size_t i = 0; i < 3; i += 2) {
		const char *bid = json_string_value(json_object_get(
			json_array_get(res, i), "id"));

		cr_assert_not_null(bid, "%s", r.body);
		cr_assert(wait_state(port, bid, "succeeded", 30000), "%s",
			  bid);
	}
	resp_free(&r);

	/* Idempotency-Key: the second call replays the first's answer */
	cr_assert_eq(call(port, "POST", "/api/v1/tasks", OPS,
			  "{\"handler\": \"quick\"}", "Idempotency-Key: k-0100",
			  &r), 201);
	drv_strlcpy(id, str(&r, "id"), sizeof(id));
	resp_free(&r);
	cr_assert_eq(call(port, "POST", "/api/v1/tasks", OPS,
			  "{\"handler\": \"quick\"}", "Idempotency-Key: k-0100",
			  &r), 201);
	cr_assert_str_eq(str(&r, "id"), id);
	header(&r, "Idempotent-Replayed", h, sizeof(h));
	cr_assert_str_eq(h, "true");
	resp_free(&r);
	cr_assert_eq(call(port, "POST", "/api/v1/tasks", OPS,
			  "{\"handler\": \"quick\", \"priority\": 1}",
			  "Idempotency-Key: k-0100", &r), 422);
	resp_free(&r);
	cr_assert(wait_state(port, id, "succeeded", 30000));

	/* pause a delayed task, resume it; resume again is a conflict */
	cr_assert_eq(call(port, "POST", "/api/v1/tasks", OPS,
			  "{\"handler\": \"quick\", \"delay\": \"3s\"}", NULL,
			  &r), 201);
	drv_strlcpy(id, str(&r, "id"), sizeof(id));
	resp_free(&r);
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/pause", id);
	cr_assert_eq(call(port, "POST", path, OPS, "{\"reason\": \"hold\"}",
			  NULL, &r), 200, "%s", r.body);
	cr_assert_str_eq(str(&r, "action"), "pause");
	resp_free(&r);
	sleep(5);
	cr_assert_eq(it_count(&ctx, "run", id), 0, "a paused task ran");
	drv_fmt(path, sizeof(path), "/api/v1/tasks/%s/resume", id);
	cr_assert_eq(call(port, "POST", path, OPS, NULL, NULL, &r), 200);
	resp_free(&r);
	cr_assert_eq(call(port, "POST", path, OPS, NULL, NULL, &r), 409);
	resp_free(&r);
	cr_assert_eq(it_wait_count(&ctx, "run", id, 1, 30000), 1);

	/* events: one, then a batch with a bad item; both reach the topic */
	cr_assert_eq(call(port, "POST", "/api/v1/events", OPS,
			  "{\"type\": \"order.created\", \"id\": "
			  "\"evt-0100-a\", \"payload\": {\"order\": 1}}", NULL,
			  &r), 201, "%s", r.body);
	cr_assert_str_eq(str(&r, "id"), "evt-0100-a");
	resp_free(&r);
	cr_assert_eq(call(port, "POST", "/api/v1/events/batch", OPS,
			  "{\"events\": [{\"type\": \"order.paid\", "
			  "\"id\": \"evt-0100-b\"}, {\"id\": \"x\"}]}", NULL,
			  &r), 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "submitted")),
		     1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(r.json, "results"), 1), "pointer")),
		"/events/1/type");
	resp_free(&r);
	{
		it_msg_t *msgs = NULL;
		int n = it_consume(&ctx, "events", 200, 5000, &msgs), seen = 0;

		for (int i = 0; i < n; i++)
			seen += memmem(msgs[i].data, msgs[i].len, "evt-0100-",
				       9) != NULL;
		it_msgs_free(msgs, n);
		cr_assert_eq(seen, 2, "%d of the 2 events on the topic", seen);
	}

	/* every write is audited with the token's name */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--actor", "ops",
			    "--json", NULL), 0);
	cr_assert(strstr(out, "\"task.submit\""), "%s", out);
	cr_assert(strstr(out, "\"task.pause\""), "%s", out);
	cr_assert(strstr(out, "\"task.resume\""), "%s", out);
	cr_assert(strstr(out, "\"event.emit\""), "%s", out);
	free(out);

	it_stop(worker, SIGTERM, 20000);
	it_stop(coord, SIGTERM, 20000);
	it_teardown(&ctx);
}

/* Expect \p status and a problem+json body. */
static void expect_problem(resp_t *r, long status)
{
	char h[128];

	cr_assert_eq(r->status, status, "%s", r->body);
	header(r, "Content-Type", h, sizeof(h));
	cr_assert_str_eq(h, "application/problem+json");
	cr_assert_eq(json_integer_value(json_object_get(r->json, "status")),
		     status, "%s", r->body);
	cr_assert(*str(r, "detail"), "%s", r->body);
	resp_free(r);
}

Test(api, auth_limits_and_errors, .timeout = 120)
{
	it_ctx_t ctx;
	pid_t coord;
	int port = start(&ctx, &coord, NULL,
			 "  max_body: 2048\n  write_rate: 10\n");
	char big[4096], h[128];
	long t = 0, retry = 0;
	int refused = 0;
	resp_t r;

	/* the document needs no token; everything else does */
	cr_assert_eq(call(port, "GET", "/api/v1/openapi.json", NULL, NULL, NULL,
			  &r), 200);
	cr_assert_str_eq(str(&r, "openapi"), "3.1.0");
	resp_free(&r);
	call(port, "GET", "/api/v1/breakers", NULL, NULL, NULL, &r);
	header(&r, "WWW-Authenticate", h, sizeof(h));
	cr_assert(!strncmp(h, "Bearer", 6), "%s", h);
	expect_problem(&r, 401);
	call(port, "GET", "/api/v1/breakers", "not-a-token", NULL, NULL, &r);
	expect_problem(&r, 401);
	call(port, "POST", "/api/v1/tasks", VIEWER, "{\"handler\": \"quick\"}",
	     NULL, &r);
	expect_problem(&r, 403);

	/* routes, methods, bodies */
	call(port, "GET", "/api/v1/nothing", OPS, NULL, NULL, &r);
	expect_problem(&r, 404);
	call(port, "DELETE", "/api/v1/tasks", OPS, NULL, NULL, &r);
	header(&r, "Allow", h, sizeof(h));
	cr_assert_str_eq(h, "POST, GET");
	expect_problem(&r, 405);
	call(port, "POST", "/api/v1/tasks", OPS, "{\"handler\": ", NULL, &r);
	expect_problem(&r, 400);
	call(port, "POST", "/api/v1/tasks", OPS, "{\"handler\": \"quick\", "
	     "\"priority\": 42}", NULL, &r);
	cr_assert_str_eq(str(&r, "pointer"), "/priority");
	expect_problem(&r, 400);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	call(port, "POST", "/api/v1/tasks", OPS, big, NULL, &r);
	expect_problem(&r, 413);
	call(port, "GET", "/api/v1/tasks/not-an-id", VIEWER, NULL, NULL, &r);
	expect_problem(&r, 404);

	/* breakers: force open, read back, release */
	cr_assert_eq(call(port, "POST", "/api/v1/breakers/b0100/open", OPS,
			  NULL, NULL, &r), 200, "%s", r.body);
	cr_assert_str_eq(str(&r, "state"), "forced_open");
	resp_free(&r);
	cr_assert_eq(call(port, "GET", "/api/v1/breakers/b0100", VIEWER, NULL,
			  NULL, &r), 200);
	cr_assert_str_eq(str(&r, "state"), "forced_open");
	expect_policy_of(r.json, "b0100", 20000, 35, 5);
	resp_free(&r);
	cr_assert_eq(call(port, "POST", "/api/v1/breakers/b0100/release", OPS,
			  NULL, NULL, &r), 200);
	cr_assert_str_eq(str(&r, "state"), "closed");
	resp_free(&r);
	cr_assert_eq(call(port, "GET", "/api/v1/breakers", VIEWER, NULL, NULL,
			  &r), 200);
	cr_assert(strstr(r.body, "\"b0100\""), "%s", r.body);
	policy_of_list(&r);
	resp_free(&r);

	/* 10 writes per second: a burst of cheap writes is cut off with 429,
	 * Retry-After never earlier than the RateLimit field's t */
	for (int i = 0; i < 40 && !refused; i++) {
		call(port, "POST", "/api/v1/tasks", OPS, "{}", NULL, &r);
		header(&r, "RateLimit-Policy", h, sizeof(h));
		cr_assert_str_eq(h, "\"write\";q=10;w=1");
		if (r.status == 429) {
			refused++;
			header(&r, "RateLimit", h, sizeof(h));
			cr_assert(strstr(h, ";r=0;t="), "%s", h);
			t = strtol(strstr(h, ";t=") + 3, NULL, 10);
			header(&r, "Retry-After", h, sizeof(h));
			retry = strtol(h, NULL, 10);
			expect_problem(&r, 429);
		} else {
			cr_assert_eq(r.status, 400);
			resp_free(&r);
		}
	}
	cr_assert_eq(refused, 1, "40 writes at once were never refused");
	cr_assert(retry >= 1 && retry >= t, "Retry-After %ld, t %ld", retry,
		  t);
	/* reads have their own bucket */
	cr_assert_eq(call(port, "GET", "/api/v1/breakers", OPS, NULL, NULL,
			  &r), 200);
	resp_free(&r);

	it_stop(coord, SIGTERM, 20000);
	it_teardown(&ctx);
}

/* Every operation of the document, called with the viewer's token and
 * sample parameters: none may be unknown to the server (404 "no route")
 * or refuse its method (405). */
Test(api, every_documented_route_is_served, .timeout = 120)
{
	it_ctx_t ctx;
	pid_t coord;
	int port = start(&ctx, &coord, NULL, "");
	const char *path, *method;
	json_t *item, *op;
	resp_t doc, r;
	int n = 0;

	cr_assert_eq(call(port, "GET", "/api/v1/openapi.json", NULL, NULL, NULL,
			  &doc), 200);
	json_object_foreach(json_object_get(doc.json, "paths"), path, item) {
		json_object_foreach(item, method, op) {
			char url[256], m[16];
			size_t o = 0;

			for (const char *p = path; *p && o < sizeof(url) - 40;
			     p++) {
				if (*p != '{') {
					url[o++] = *p;
					continue;
				}
				drv_fmt(url + o, sizeof(url) - o, "%s",
					!strncmp(p, "{id}", 4) ?
					"01HZY3K4M5N6P7Q8R9S0T1V2W3" : "b0100");
				o += strlen(url + o);
				p = strchr(p, '}');
			}
			url[o] = '\0';
			/* an event stream (GET /live) never ends: ask for a bad
			 * interval, so that it answers 400 at once */
			if (json_object_get(json_object_get(json_object_get(
			    json_object_get(op, "responses"), "200"),
			    "content"), "text/event-stream"))
				drv_fmt(url + o, sizeof(url) - o,
					"?interval=0");
			drv_fmt(m, sizeof(m), "%s", method);
			for (char *c = m; *c; c++)
				*c = (char)(*c & ~0x20);
			call(port, m, url, VIEWER, json_object_get(op,
			     "requestBody") ? "{}" : NULL, NULL, &r);
			cr_assert_neq(r.status, 405, "%s %s", m, url);
			cr_assert(r.status != 404 || !strstr(r.body,
				  "no route"), "%s %s: %s", m, url, r.body);
			if (!strcmp(m, "POST"))
				cr_assert_eq(r.status, 403, "%s %s", m, url);
			if (strchr(url, '?'))
				cr_assert_eq(r.status, 400, "%s %s", m, url);
			resp_free(&r);
			n++;
		}
	}
	cr_assert_geq(n, 13, "only %d operations documented", n);
	resp_free(&doc);
	it_stop(coord, SIGTERM, 20000);
	it_teardown(&ctx);
}
