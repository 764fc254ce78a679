/*
 * 0121 — a plugin whose handle() never returns costs a thread, not a
 * runner: past its handler's timeout (+ DRV_PLUGIN_GRACE_MS) the attempt
 * fails as a timeout and the runner goes on; the hung calls are counted in
 * /metrics, /healthz fails once they reach worker.concurrency, and SIGTERM
 * still stops the worker.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

static bool succeeded(const it_event_t *ev, int n, void *arg)
{
	return it_events_distinct(ev, n, "task.succeeded", NULL) >= *(int *)arg;
}

/* Poll \p port's /metrics until it holds \p needle (10 s at most). */
static bool metrics_show(int port, const char *needle)
{
	bool seen = false;

	for (int i = 0; i < 100 && !seen; i++) {
		char *body = NULL;

		if (it_http_get(port, "/metrics", &body) == 200)
			seen = strstr(body, needle) != NULL;
		free(body);
		if (!seen)
			usleep(100 * 1000);
	}
	return seen;
}

Test(plugin_hang, runners_go_on_and_health_tells, .timeout = 180)
{
	it_ctx_t ctx;
	char yaml[1024], port_s[16], log[300], id[32], *body = NULL;
	const char *build = getenv("DROVER_BUILD_DIR");
	int port = it_free_port(), status = -1, n;
	it_event_t *ev;
	it_msg_t *dl;
	pid_t w;

	cr_assert_not_null(build, "DROVER_BUILD_DIR is not set");
	cr_assert(drv_fmt(yaml, sizeof(yaml),
		"  stuck:\n"
		"    type: plugin\n"
		"    plugin: %s/tests/libtest_plugin_ok.so\n"
		"    timeout: 300ms\n"
		"    policy: once\n"
		"  fine:\n"
		"    type: plugin\n"
		"    plugin: %s/tests/libtest_plugin_ok.so\n"
		"retry_policies:\n"
		"  once:\n"
		"    max_attempts: 1\n", build, build));
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	snprintf(port_s, sizeof(port_s), "%d", port);
	setenv("DROVER_WORKER_HTTP_PORT", port_s, 1);
	w = it_worker_start(&ctx, 1);
	unsetenv("DROVER_WORKER_HTTP_PORT");
	drv_fmt(log, sizeof(log), "%s/worker-1.log", ctx.dir);

	/* one call hangs; with 2 runners, 6 more tasks still all run */
	it_submit(&ctx, id, "stuck", "--payload", "\"hang\"", NULL);
	for (int i = 0; i < 6; i++)
		it_submit(&ctx, id, "fine", "--payload", "\"ok\"", NULL);
	n = it_events(&ctx, 60000, succeeded, &(int){ 6 }, &ev);
	cr_assert_eq(it_events_distinct(ev, n, "task.succeeded", NULL), 6,
		     "the runners did not go on past the hung call; see %s",
		     log);
	free(ev);
	n = it_consume(&ctx, "dlq", 1, 30000, &dl);
	cr_assert_eq(n, 1, "the hung task was not dead-lettered; see %s", log);
	it_msgs_free(dl, n);
	cr_assert(it_wait_file(log, "did not return within its timeout of "
			       "300 ms", 5000), "no timeout logged; see %s",
		  log);
	cr_assert(metrics_show(port, "drover_plugin_calls_hung 1\n"),
		  "the hung call is not counted");
	cr_assert_eq(it_http_get(port, "/healthz", &body), 200, "%s", body);
	free(body);

	/* a second hung call: as many as runners, the liveness probe fails */
	it_submit(&ctx, id, "stuck", "--payload", "\"hang\"", NULL);
	cr_assert(metrics_show(port, "drover_plugin_calls_hung 2\n"),
		  "the second hung call is not counted");
	status = it_http_get(port, "/healthz", &body);
	cr_assert_eq(status, 503, "%d %s", status, body);
	cr_assert(strstr(body, "2 plugin calls hung"), "%s", body);
	free(body);

	/* the hung calls do not hold the shutdown up */
	cr_assert_eq(it_stop(w, SIGTERM, 15000), 0,
		     "the worker did not stop; see %s", log);
	cr_assert(it_wait_file(log, "plugin left loaded", 1000),
		  "no word of the plugin left loaded; see %s", log);
	it_teardown(&ctx);
}
