/*
 * 0125 — many single submits at once against a small API (issue 13): 200
 * connections each POST /api/v1/tasks at the same moment to a coordinator
 * with api.threads 4, its producer lingering 300 ms. A request waits for
 * Kafka with its connection suspended, not on one of the 4 threads, so all
 * 200 are answered 201 within one or two lingers; with a thread per
 * waiting request they would take 200 / 4 x 300 ms = 15 s. Every task
 * answered 201 is on its topic, and so is its audit record.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drover/str.h"
#include "harness.h"

#define OPS    "ops-token-0125"
#define VIEWER "viewer-token-0125"
#define CONNS  200

static const char handlers[] =
	"  quick:\n"
	"    shell: true\n"
	"    command: 'true'\n";

typedef struct body {
	char   text[1024];
	size_t len;
} body_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	body_t *b = arg;
	size_t len = size * n;

	if (b->len + len < sizeof(b->text)) {
		memcpy(b->text + b->len, p, len);
		b->len += len;
		b->text[b->len] = '\0';
	}
	return len;
}

Test(api_submit_many, two_hundred_at_once_on_four_threads, .timeout = 180)
{
	static body_t bodies[CONNS];
	static char ids[CONNS][32];
	CURL *easy[CONNS];
	struct curl_slist *h = NULL;
	it_task_t *tasks = NULL;
	it_msg_t *audit = NULL;
	CURLM *multi;
	char url[128];
	long long t0, took;
	int running, port, created = 0, found = 0, n, na;
	it_ctx_t ctx;
	pid_t coord;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	/* a long linger makes a thread per waiting request plain to see */
	port = it_api_start(&ctx, "IT_API_TOKEN_0125", OPS, VIEWER,
			    "  threads: 4\n  max_client_connections: 256\n"
			    "  write_rate: 100000\n  linger: 300ms\n", &coord);

	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d/api/v1/tasks", port);
	h = curl_slist_append(h, "Authorization: Bearer " OPS);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	for (int i = 0; i < CONNS; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS,
				 "{\"handler\": \"quick\"}");
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &bodies[i]);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(easy[i], CURLOPT_FORBID_REUSE, 1L);
		curl_multi_add_handle(multi, easy[i]);
	}
	t0 = it_now_ms();
	do {
		cr_assert_eq(curl_multi_perform(multi, &running), CURLM_OK);
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running);
	took = it_now_ms() - t0;

	for (int i = 0; i < CONNS; i++) {
		long status = 0;
		json_t *o;

		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
		cr_expect_eq(status, 201, "request %d: %ld %s", i, status,
			     bodies[i].text);
		o = json_loads(bodies[i].text, 0, NULL);
		if (status == 201 && json_string_value(json_object_get(o,
								       "id"))) {
			drv_strlcpy(ids[created++], json_string_value(
				json_object_get(o, "id")), sizeof(ids[0]));
		}
		json_decref(o);
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(multi);
	curl_slist_free_all(h);
	cr_assert_eq(created, CONNS, "%d of %d answered 201", created, CONNS);
	/* 4 threads, one at a time each, would need 50 lingers of 300 ms (15
	 * s); 8 s leaves room for a loaded machine and SYN retries */
	cr_expect_lt(took, 8000, "%d submits took %lld ms on 4 threads",
		     CONNS, took);
	cr_log_info("%d submits at once, api.threads 4, linger 300 ms: "
		    "%lld ms", CONNS, took);

	/* what was answered 201 is in Kafka, with its audit record */
	n = it_tasks(&ctx, "tasks.normal", CONNS, 30000, &tasks);
	for (int i = 0; i < CONNS; i++)
		for (int j = 0; j < n; j++)
			if (!strcmp(ids[i], tasks[j].id)) {
				found++;
				break;
			}
	cr_expect_eq(found, CONNS, "%d of %d tasks on the topic", found,
		     CONNS);
	na = it_consume(&ctx, "audit", CONNS, 30000, &audit);
	cr_expect_eq(na, CONNS, "%d audit records for %d submits", na, CONNS);
	it_msgs_free(audit, na);
	free(tasks);

	cr_expect_eq(it_stop(coord, SIGTERM, 20000), 0);
	it_teardown(&ctx);
}
