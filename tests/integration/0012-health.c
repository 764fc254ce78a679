/*
 * 0012 — the worker serves /healthz, /readyz (ready once it is in its
 * consumer group) and Prometheus /metrics that count what it did.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static bool succeeded(const it_event_t *ev, int n, void *arg)
{
	return it_events_distinct(ev, n, "task.succeeded", NULL) >= *(int *)arg;
}

Test(health, probes_and_metrics, .timeout = 120)
{
	it_ctx_t ctx;
	char port_s[16], id[32], *body = NULL;
	int port = it_free_port(), status = -1;
	it_event_t *ev;
	pid_t w;

	it_setup(&ctx,
		 "  noop:\n"
		 "    type: noop\n"
		 "  fail:\n"
		 "    command: [\"false\"]\n");
	it_topics(&ctx);
	snprintf(port_s, sizeof(port_s), "%d", port);
	setenv("DROVER_WORKER_HTTP_PORT", port_s, 1);
	w = it_worker_start(&ctx, 1);
	unsetenv("DROVER_WORKER_HTTP_PORT");

	for (int i = 0; i < 200 && status != 200; i++) {
		free(body);
		status = it_http_get(port, "/readyz", &body);
		usleep(100 * 1000);
	}
	cr_assert_eq(status, 200, "never ready: %d %s", status, body);
	cr_assert_str_eq(body, "ready\n");
	free(body);
	cr_assert_eq(it_http_get(port, "/healthz", &body), 200);
	cr_assert_str_eq(body, "ok\n");
	free(body);
	cr_assert_eq(it_http_get(port, "/nope", &body), 404);
	free(body);

	it_submit(&ctx, id, "noop", NULL);
	it_submit(&ctx, id, "noop", NULL);
	it_submit(&ctx, id, "fail", NULL);
	it_events(&ctx, 60000, succeeded, &(int){ 2 }, &ev);
	free(ev);
	/* the dead letter's event comes with its forward; give it a moment */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(it_http_get(port, "/metrics", &body), 200);
		if (strstr(body, "drover_dead_letters_total{reason=\"permanent_failure\"} 1"))
			break;
		free(body);
		body = NULL;
		usleep(100 * 1000);
	}
	cr_assert(body && strstr(body,
		  "drover_tasks_total{handler=\"noop\",outcome=\"succeeded\"} 2"),
		  "%s", body);
	cr_assert(strstr(body,
		  "drover_tasks_total{handler=\"fail\",outcome=\"dead\"} 1"),
		  "%s", body);
	cr_assert(strstr(body,
		  "drover_dead_letters_total{reason=\"permanent_failure\"} 1"),
		  "%s", body);
	cr_assert(strstr(body, "drover_task_duration_seconds_count{handler=\"noop\"} 2"),
		  "%s", body);
	cr_assert(strstr(body, "drover_consumer_lag{"), "%s", body);
	free(body);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
