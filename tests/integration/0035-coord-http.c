/*
 * 0035-coord-http.c — the coordinator's /healthz, /readyz and /metrics:
 * alive, ready as leader, and the leader gauge, schedules loaded, fires
 * and their lateness histogram.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

Test(coord_http, health_readiness_and_metrics, .timeout = 60)
{
	it_ctx_t ctx;
	char keys[64], *body = NULL;
	int port = it_free_port();
	pid_t c;

	it_setup(&ctx, "  noop:\n    type: noop\n");
	drv_fmt(keys, sizeof(keys), "  http_port: %d\n", port);
	it_coord_config(&ctx, keys,
			"schedules:\n"
			"  beat:\n"
			"    cron: \"* * * * * *\"\n"
			"    handler: noop\n");
	it_topics(&ctx);
	c = it_coordinator_start(&ctx, "coord-1");
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "schedule fired", 15000));
	sleep(2);
	cr_assert_eq(it_http_get(port, "/healthz", &body), 200);
	free(body);
	cr_assert_eq(it_http_get(port, "/readyz", &body), 200);
	cr_assert(strstr(body, "leader"), "%s", body);
	free(body);
	cr_assert_eq(it_http_get(port, "/metrics", &body), 200);
	cr_assert(strstr(body, "drover_coordinator_leader 1"), "%s", body);
	cr_assert(strstr(body, "drover_schedules 1"), "%s", body);
	cr_assert(strstr(body, "drover_schedule_fires_total{outcome="
			 "\"published\"}"), "%s", body);
	cr_assert(strstr(body, "drover_schedule_fire_lateness_seconds_bucket"
			 "{le=\"0.1\"}"), "%s", body);
	free(body);
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	it_teardown(&ctx);
}
