/*
 * 0108 — signed webhooks against the real Kafka and Redis, a coordinator
 * serving the API and a worker, with a receiver (webhook_receiver.py) that
 * verifies every request with the Standard Webhooks reference library
 * (`standardwebhooks` from PyPI, installed by tests/integration/webhook-venv):
 *  - /api/v1/webhooks is for admins only; a subscription is made with a
 *    given secret or gets one (shown once, never in a list or a show);
 *    bad fields are 400 with a pointer; delete, then 404;
 *  - task.succeeded and task.dead reach the subscriptions whose event
 *    types and handler filter match, signed so the library verifies them;
 *    a subscription to another event type gets nothing;
 *  - a 500 is retried (after the spec's 5 s) with the same webhook-id;
 *    a 503 with Retry-After: 8 is retried no sooner than 8 s later;
 *  - 410 disables the subscription: nothing more is sent to it until it
 *    is enabled again;
 *  - a redirect is not followed (its target never called) nor retried;
 *  - after a rotation deliveries carry two signatures and the new secret
 *    verifies them;
 *  - the delivery log lists the attempts, newest first; every write is in
 *    the audit with the admin token's name.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

#define ADMIN "admin-token-0108"
#define OPS   "ops-token-0108"
#define SECRET_A "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static const char handlers[] =
	"  webhook: {type: webhook, policy: webhook}\n"
	"  good: {shell: true, command: 'exit 0'}\n"
	"  good2: {shell: true, command: 'exit 0'}\n"
	"  good3: {shell: true, command: 'exit 0'}\n"
	"  good4: {shell: true, command: 'exit 0'}\n"
	"  good5: {shell: true, command: 'exit 0'}\n"
	"  bad: {shell: true, command: 'exit 3'}\n";

static char receiver_log[300], secrets_path[300];

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Start the receiver on \p port with the reference library's venv. */
static pid_t receiver_start(it_ctx_t *ctx, int port)
{
	char python[512] = "", portbuf[16], log[300];
	FILE *p = popen("tests/integration/webhook-venv", "r");
	pid_t pid;

	cr_assert_not_null(p);
	cr_assert_not_null(fgets(python, sizeof(python), p));
	cr_assert_eq(pclose(p), 0, "tests/integration/webhook-venv failed");
	python[strcspn(python, "\n")] = '\0';
	drv_fmt(portbuf, sizeof(portbuf), "%d", port);
	drv_fmt(receiver_log, sizeof(receiver_log), "%s/received.jsonl",
		ctx->dir);
	drv_fmt(secrets_path, sizeof(secrets_path), "%s/secrets.txt",
		ctx->dir);
	drv_fmt(log, sizeof(log), "%s/receiver.log", ctx->dir);
	if ((pid = fork()) == 0) {
		FILE *err = freopen(log, "a", stderr),
		     *out = freopen("/dev/null", "w", stdout);

		(void)err;
		(void)out;
		/* gone with the test, even when an assertion ends it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(python, python, "tests/integration/webhook_receiver.py",
		      portbuf, secrets_path, receiver_log, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	return pid;
}

static void secrets_write(const char *a, const char *b)
{
	FILE *f = fopen(secrets_path, "w");

	cr_assert_not_null(f);
	fprintf(f, "%s\n%s\n", a, b ? b : "");
	fclose(f);
}

/* Requests the receiver logged for \p path (and, when given, of event
 * \p type, with \p status); how many of them verified into *verified. */
static int received(const char *path, const char *type, int status,
		    int *verified)
{
	char *text = it_read(receiver_log), *line, *end;
	int n = 0, ok = 0;

	for (line = text; line && *line; line = *end ? end + 1 : end) {
		json_t *o;

		end = line + strcspn(line, "\n");
		o = json_loadb(line, (size_t)(end - line), 0, NULL);

		if (o && !strcmp(str(o, "path"), path) &&
		    (!status || json_integer_value(json_object_get(o,
						"status")) == status) &&
		    (!type || (str(o, "type") && !strcmp(str(o, "type"),
							type)))) {
			n++;
			ok += json_is_true(json_object_get(o, "verified"));
		}
		json_decref(o);
	}
	free(text);
	if (verified)
		*verified = ok;
	return n;
}

/* The receiver's time of the first request for \p path answered
 * \p status (seconds), or -1. */
static double received_time(const char *path, int status)
{
	char *text = it_read(receiver_log), *line, *end;
	double t = -1;

	for (line = text; t < 0 && line && *line;
	     line = *end ? end + 1 : end) {
		json_t *o;

		end = line + strcspn(line, "\n");
		o = json_loadb(line, (size_t)(end - line), 0, NULL);
		if (o && !strcmp(str(o, "path"), path) &&
		    json_integer_value(json_object_get(o, "status")) == status)
			t = json_number_value(json_object_get(o, "time"));
		json_decref(o);
	}
	free(text);
	return t;
}

static int wait_received(const char *path, const char *type, int status,
			 int want, int timeout_ms)
{
	int n = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 200) {
		if ((n = received(path, type, status, NULL)) >= want)
			break;
		usleep(200 * 1000);
	}
	return n;
}

/* POST /webhooks with \p body as the admin: the new record. */
static json_t *subscribe(int port, const char *body)
{
	json_t *o = NULL;

	cr_assert_eq(it_http_json(port, "POST", "/api/v1/webhooks", ADMIN,
				  body, &o), 201, "%s", body);
	cr_assert_not_null(str(o, "id"));
	cr_assert_not_null(str(o, "secret"), "the secret is shown once");
	return o;
}

static int status_of(int port, const char *method, const char *path,
		     const char *token, const char *body, json_t **out)
{
	json_t *o = NULL;
	int st = it_http_json(port, method, path, token, body, &o);

	if (out)
		*out = o;
	else
		json_decref(o);
	return st;
}

/* POST /webhooks \p body is 400, pointing at \p pointer. */
static void bad_field(int port, const char *body, const char *pointer)
{
	json_t *o = NULL;

	cr_assert_eq(status_of(port, "POST", "/api/v1/webhooks", ADMIN, body,
			       &o), 400, "%s", body);
	cr_assert_str_eq(str(o, "pointer"), pointer, "%s", body);
	json_decref(o);
}

Test(webhooks, signed_deliveries, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord, worker, recv;
	int port, rport = it_free_port(), verified, n;
	char path[256], url[128], id[DRV_ID_LEN + 1];
	json_t *a, *b, *c, *d, *e, *f, *g, *o, *r, *arr;
	size_t i;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	recv = receiver_start(&ctx, rport);
	setenv("IT_ADMIN_0108", ADMIN, 1);
	setenv("IT_OPS_0108", OPS, 1);
	port = it_api_start_tokens(&ctx, "",
				   "  root: {role: admin, env: IT_ADMIN_0108}\n"
				   "  ops: {role: operator, env: IT_OPS_0108}\n",
				   &coord);
	worker = it_worker_start(&ctx, 1);

	/* admins only; bad fields say which */
	cr_assert_eq(status_of(port, "GET", "/api/v1/webhooks", OPS, NULL,
			       NULL), 403);
	cr_assert_eq(status_of(port, "POST", "/api/v1/webhooks", OPS,
			       "{\"url\": \"http://x/\", \"events\": "
			       "[\"task.dead\"]}", NULL), 403);
	bad_field(port, "{\"url\": \"ftp://x/\", \"events\": [\"a\"]}",
		  "/url");
	bad_field(port, "{\"url\": \"http://x/\", \"events\": []}",
		  "/events");
	bad_field(port, "{\"url\": \"http://x/\", \"events\": [\"a\"], "
		  "\"secret\": \"whsec_short\"}", "/secret");

#define SUB(var, where, type, handler, secret) do { \
	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d/%s", rport, where); \
	o = json_pack("{s:s, s:[s], s:{s:s}}", "url", url, "events", type, \
		      "filter", "handler", handler); \
	if (secret) \
		json_object_set_new(o, "secret", json_string(secret)); \
	{ char *t = json_dumps(o, 0); var = subscribe(port, t); free(t); } \
	json_decref(o); \
} while (0)
	SUB(a, "ok", "task.succeeded", "good", SECRET_A);
	cr_assert_str_eq(str(a, "secret"), SECRET_A);
	SUB(b, "ok", "task.dead", "bad", NULL);
	cr_assert_eq(strncmp(str(b, "secret"), "whsec_", 6), 0);
	SUB(c, "flaky", "task.succeeded", "good2", SECRET_A);
	SUB(d, "gone", "task.succeeded", "good3", SECRET_A);
	SUB(e, "redirect", "task.succeeded", "good4", SECRET_A);
	SUB(f, "other", "task.dead", "good", SECRET_A);
	SUB(g, "later", "task.succeeded", "good5", SECRET_A);
	secrets_write(SECRET_A, str(b, "secret"));

	/* listed and shown without secrets */
	cr_assert_eq(status_of(port, "GET", "/api/v1/webhooks", ADMIN, NULL,
			       &o), 200);
	arr = json_object_get(o, "webhooks");
	cr_assert_eq(json_array_size(arr), 7);
	json_array_foreach(arr, i, r) {
		cr_assert_null(json_object_get(r, "secret"));
		cr_assert_null(json_object_get(r, "previous_secret"));
	}
	json_decref(o);
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s", str(b, "id"));
	cr_assert_eq(status_of(port, "GET", path, ADMIN, NULL, &o), 200);
	cr_assert_null(json_object_get(o, "secret"));
	cr_assert_str_eq(str(o, "url"), str(b, "url"));
	json_decref(o);

	/* the coordinator reads the subscriptions once a second */
	usleep(1500 * 1000);
	it_submit(&ctx, id, "good", NULL);
	it_submit(&ctx, id, "bad", NULL);
	it_submit(&ctx, id, "good2", NULL);
	it_submit(&ctx, id, "good3", NULL);
	it_submit(&ctx, id, "good4", NULL);
	it_submit(&ctx, id, "good5", NULL);

	/* task.succeeded of good, task.dead of bad, both verified */
	cr_assert_eq(wait_received("/ok", "task.succeeded", 0, 1, 30000), 1);
	cr_assert_eq(wait_received("/ok", "task.dead", 0, 1, 30000), 1);
	received("/ok", NULL, 0, &verified);
	cr_assert_eq(verified, 2, "the reference library refused a "
		     "signature; see %s", receiver_log);

	/* 410: disabled */
	cr_assert_eq(wait_received("/gone", NULL, 410, 1, 30000), 1);
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s", str(d, "id"));
	for (int t = 0; t < 50; t++) {
		cr_assert_eq(status_of(port, "GET", path, ADMIN, NULL, &o),
			     200);
		if (json_is_false(json_object_get(o, "enabled")))
			break;
		json_decref(o);
		o = NULL;
		usleep(100 * 1000);
	}
	cr_assert(json_is_false(json_object_get(o, "enabled")),
		  "410 did not disable the webhook");
	json_decref(o);

	/* a 500, then the retry 5 s later with the same webhook-id */
	cr_assert_eq(wait_received("/flaky", NULL, 500, 1, 30000), 1);
	cr_assert_eq(wait_received("/flaky", NULL, 200, 1, 40000), 1);
	received("/flaky", NULL, 0, &verified);
	cr_assert_eq(verified, 2);
	{
		char *text = it_read(receiver_log), *p1, *p2;
		json_t *x, *y;

		p1 = strstr(text, "\"path\": \"/flaky\"");
		cr_assert_not_null(p1);
		p2 = strstr(p1 + 1, "\"path\": \"/flaky\"");
		cr_assert_not_null(p2);
		while (p1 > text && p1[-1] != '\n')
			p1--;
		while (p2 > text && p2[-1] != '\n')
			p2--;
		x = json_loadb(p1, strcspn(p1, "\n"), 0, NULL);
		y = json_loadb(p2, strcspn(p2, "\n"), 0, NULL);
		cr_assert_str_eq(str(x, "webhook_id"), str(y, "webhook_id"),
				 "a retry changed the webhook-id");
		json_decref(x);
		json_decref(y);
		free(text);
	}
	/* its log: the delivery, then the failure, one webhook id */
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s/deliveries",
		str(c, "id"));
	n = status_of(port, "GET", path, ADMIN, NULL, &o);
	cr_assert_eq(n, 200, "%s: %d %s", path, n, str(o, "detail"));
	arr = json_object_get(o, "deliveries");
	cr_assert_eq(json_array_size(arr), 2);
	cr_assert_str_eq(str(json_array_get(arr, 0), "outcome"), "delivered");
	cr_assert_str_eq(str(json_array_get(arr, 1), "outcome"), "failed");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(arr, 1),
			"http_status")), 500);
	cr_assert_str_eq(str(json_array_get(arr, 0), "webhook_id"),
			 str(json_array_get(arr, 1), "webhook_id"));
	json_decref(o);

	/* Retry-After: 8 beats the schedule's 5 s */
	cr_assert_eq(wait_received("/later", NULL, 200, 1, 40000), 1);
	cr_assert_eq(received("/later", NULL, 503, NULL), 1);
	cr_assert_geq(received_time("/later", 200) -
		      received_time("/later", 503), 7.9,
		      "Retry-After: 8 was not honoured");

	/* the redirect: sent once, never followed, not retried */
	cr_assert_eq(wait_received("/redirect", NULL, 302, 1, 30000), 1);
	usleep(7000 * 1000);
	cr_assert_eq(received("/redirect", NULL, 0, NULL), 1);
	cr_assert_eq(received("/target", NULL, 0, NULL), 0);

	/* a disabled webhook gets nothing more */
	it_submit(&ctx, id, "good3", NULL);
	/* the event type filter: f wants task.dead of good, and good only
	 * succeeded */
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s/deliveries",
		str(f, "id"));
	cr_assert_eq(status_of(port, "GET", path, ADMIN, NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "deliveries")), 0);
	json_decref(o);
	cr_assert_eq(received("/other", NULL, 0, NULL), 0);

	/* rotation: two signatures, the new secret verifies */
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s/rotate",
		str(a, "id"));
	cr_assert_eq(status_of(port, "POST", path, ADMIN, NULL, &o), 200);
	cr_assert_str_neq(str(o, "secret"), SECRET_A);
	secrets_write(str(o, "secret"), NULL);
	json_decref(o);
	usleep(1500 * 1000);
	it_submit(&ctx, id, "good", NULL);
	cr_assert_eq(wait_received("/ok", "task.succeeded", 0, 2, 30000), 2);
	{
		char *text = it_read(receiver_log), *last;
		json_t *x;

		/* the newest /ok line */
		last = strstr(text, "\"path\": \"/ok\"");
		for (char *p = last; p; p = strstr(p + 1,
						   "\"path\": \"/ok\""))
			last = p;
		while (last > text && last[-1] != '\n')
			last--;
		x = json_loadb(last, strcspn(last, "\n"), 0, NULL);
		cr_assert(json_is_true(json_object_get(x, "verified")),
			  "the new secret did not verify: %s", last);
		cr_assert_eq(json_integer_value(json_object_get(x,
					"signatures")), 2);
		json_decref(x);
		free(text);
	}
	cr_assert_eq(received("/gone", NULL, 0, NULL), 1,
		     "a disabled webhook was sent to");
	/* enabled again, it gets the next event */
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s/enable",
		str(d, "id"));
	cr_assert_eq(status_of(port, "POST", path, ADMIN, NULL, &o), 200);
	cr_assert(json_is_true(json_object_get(o, "enabled")));
	cr_assert_null(json_object_get(o, "disabled_reason"));
	cr_assert_null(json_object_get(o, "secret"));
	json_decref(o);
	usleep(1500 * 1000);
	it_submit(&ctx, id, "good3", NULL);
	cr_assert_eq(wait_received("/gone", NULL, 0, 2, 30000), 2);

	/* delete; then it is gone */
	drv_fmt(path, sizeof(path), "/api/v1/webhooks/%s", str(f, "id"));
	cr_assert_eq(status_of(port, "DELETE", path, ADMIN, NULL, NULL), 200);
	cr_assert_eq(status_of(port, "GET", path, ADMIN, NULL, NULL), 404);
	cr_assert_eq(status_of(port, "DELETE", path, ADMIN, NULL, NULL), 404);
	cr_assert_eq(status_of(port, "GET", "/api/v1/webhooks/nope", ADMIN,
			       NULL, NULL), 404);

	/* audited with the token's name: 7 creates, a rotate, an enable, a
	 * delete */
	cr_assert_eq(status_of(port, "GET", "/api/v1/audit?action=webhook.",
			       ADMIN, NULL, &o), 200);
	cr_assert_eq(json_array_size(json_object_get(o, "records")), 10);
	json_array_foreach(json_object_get(o, "records"), i, r)
		cr_assert_str_eq(str(r, "actor"), "root");
	json_decref(o);

	n = it_stop(worker, SIGTERM, 30000);
	cr_assert(WIFEXITED(n) && WEXITSTATUS(n) == 0);
	it_stop(coord, SIGTERM, 15000);
	it_stop(recv, SIGTERM, 5000);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(e);
	json_decref(f);
	json_decref(g);
	it_teardown(&ctx);
}

/* Webhook ids the receiver logged for \p path: how many requests and how
 * many distinct ids; asserts each verified. */
static int distinct_ids(const char *path, int *total)
{
	char *text = it_read(receiver_log), *line, *end;
	json_t *seen = json_object();
	int n = 0;

	for (line = text; line && *line; line = *end ? end + 1 : end) {
		json_t *o;

		end = line + strcspn(line, "\n");
		o = json_loadb(line, (size_t)(end - line), 0, NULL);
		if (o && !strcmp(str(o, "path"), path)) {
			n++;
			cr_assert(json_is_true(json_object_get(o, "verified")),
				  "a delivery did not verify; see %s",
				  receiver_log);
			json_object_set_new(seen, str(o, "webhook_id"),
					    json_true());
		}
		json_decref(o);
	}
	free(text);
	*total = n;
	n = (int)json_object_size(seen);
	json_decref(seen);
	return n;
}

static int wait_distinct(const char *path, int want, int timeout_ms,
			 int *total)
{
	int n = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 200) {
		if ((n = distinct_ids(path, total)) >= want)
			break;
		usleep(200 * 1000);
	}
	return n;
}

/* Two coordinators share the events; one is killed (SIGKILL) between two
 * rounds of tasks. Every task.succeeded is delivered once: no webhook-id
 * twice, none missing; the workers count the sends. */
Test(webhooks, two_coordinators_send_each_event_once, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t c1, c2, worker, recv;
	int port, rport = it_free_port(), wport = it_free_port(), n, total;
	char url[128], body[256], wport_s[16], *metrics = NULL;
	json_t *sub;
	bool counted = false;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	recv = receiver_start(&ctx, rport);
	setenv("IT_ADMIN_0108", ADMIN, 1);
	setenv("IT_OPS_0108", OPS, 1);
	port = it_api_start_tokens(&ctx, "",
				   "  root: {role: admin, env: IT_ADMIN_0108}\n"
				   "  ops: {role: operator, env: IT_OPS_0108}\n",
				   &c1);
	setenv("DROVER_API_PORT", "0", 1);  /* the second serves no API */
	c2 = it_coordinator_start(&ctx, "c2");
	unsetenv("DROVER_API_PORT");
	drv_fmt(wport_s, sizeof(wport_s), "%d", wport);
	setenv("DROVER_WORKER_HTTP_PORT", wport_s, 1);
	worker = it_worker_start(&ctx, 1);
	unsetenv("DROVER_WORKER_HTTP_PORT");

	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d/ok", rport);
	drv_fmt(body, sizeof(body), "{\"url\": \"%s\", \"events\": "
		"[\"task.succeeded\"], \"filter\": {\"handler\": \"good\"}, "
		"\"secret\": \"%s\"}", url, SECRET_A);
	sub = subscribe(port, body);
	secrets_write(SECRET_A, NULL);
	usleep(2500 * 1000);  /* both read the subscriptions */

	it_publish_many(&ctx, "good", 20);
	n = wait_distinct("/ok", 20, 60000, &total);
	cr_assert_eq(n, 20, "first round: %d of 20 delivered", n);
	kill(c1, SIGKILL);
	cr_assert_eq(it_stop(c1, SIGKILL, 5000), SIGKILL);
	it_publish_many(&ctx, "good", 20);
	n = wait_distinct("/ok", 40, 90000, &total);
	cr_assert_eq(n, 40, "after the kill: %d of 40 delivered", n);
	usleep(3000 * 1000);  /* a late copy would come now */
	n = distinct_ids("/ok", &total);
	cr_assert_eq(n, 40);
	cr_assert_eq(total, 40, "%d requests for 40 deliveries: a webhook "
		     "was sent twice; see %s", total, receiver_log);

	for (int i = 0; i < 50 && !counted; i++) {
		free(metrics);
		metrics = NULL;
		counted = it_http_get(wport, "/metrics", &metrics) == 200 &&
			  strstr(metrics, "drover_webhook_sends_total{outcome="
				 "\"delivered\"} 40\n");
		if (!counted)
			usleep(100 * 1000);
	}
	cr_assert(counted, "the worker did not count 40 sends:\n%s",
		  metrics ? metrics : "(no answer)");
	free(metrics);

	json_decref(sub);
	cr_assert_eq(it_stop(worker, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(c2, SIGTERM, 30000), 0);
	kill(recv, SIGTERM);
	waitpid(recv, NULL, 0);
	it_teardown(&ctx);
}
