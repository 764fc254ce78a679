/*
 * 0014 — the http handler against a local server: a 503 is retried (after
 * the server's Retry-After, not the shorter policy delay) and the 200 that
 * follows succeeds; a 400 is dead-lettered at once with its status.
 */
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/dead_letter.h"
#include "harness.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int flaky_calls;
static long long flaky_at[4];

static enum MHD_Result serve(void *cls, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const char *version, const char *data,
			     size_t *size, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status = 200;
	int n;

	(void)cls; (void)method; (void)version; (void)data;
	if (!*state) {              /* first call: headers only */
		*state = c;
		return MHD_YES;
	}
	if (*size) {                /* swallow the body */
		*size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(2, (void *)"ok",
					    MHD_RESPMEM_PERSISTENT);
	if (!strncmp(url, "/flaky/", 7)) {
		pthread_mutex_lock(&lock);
		n = flaky_calls++;
		if (n < 4)
			flaky_at[n] = it_now_ms();
		pthread_mutex_unlock(&lock);
		if (n == 0) {
			status = 503;
			MHD_add_response_header(r, "Retry-After", "2");
		}
	} else if (!strcmp(url, "/bad")) {
		status = 400;
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

Test(http, retry_after_and_client_errors, .timeout = 120)
{
	struct MHD_Daemon *d;
	char yaml[1024], ok_id[32], bad_id[32], err[256];
	int port = it_free_port();
	it_msg_t *msgs;
	it_ctx_t ctx;
	pid_t w;
	int n;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port,
			     NULL, NULL, serve, NULL,
			     MHD_OPTION_END);
	cr_assert(d, "cannot start the test server on %d", port);
	snprintf(yaml, sizeof(yaml),
		 "  hook:\n"
		 "    type: http\n"
		 "    url: \"http://127.0.0.1:%d/flaky/${task.id}\"\n"
		 "    policy: quick\n"
		 "  badhook:\n"
		 "    type: http\n"
		 "    url: \"http://127.0.0.1:%d/bad\"\n"
		 "retry_policies:\n"
		 "  quick:\n"
		 "    base_delay: 100ms\n"
		 /* above the 2 s Retry-After: a Retry-After is cut to it */
		 "    max_delay: 5s\n"
		 "    max_attempts: 3\n"
		 "    jitter: none\n", port, port);
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, ok_id, "hook", "--payload", "{\"n\":1}", NULL);
	it_submit(&ctx, bad_id, "badhook", NULL);

	n = it_consume(&ctx, "dlq", 1, 60000, &msgs);
	cr_assert_eq(n, 1, "400 not dead-lettered; see %s", ctx.dir);
	{
		drv_dead_letter_t dl;

		drv_dead_letter_init(&dl);
		cr_assert_eq(drv_dead_letter_decode(msgs[0].data, msgs[0].len,
						    &dl, err, sizeof(err)), 0);
		cr_assert_str_eq(dl.task.id, bad_id);
		cr_assert_eq(dl.reason, DRV_DL_PERMANENT_FAILURE);
		cr_assert_eq(dl.failure_cnt, 1);
		cr_assert_eq(dl.failures[0].http_status, 400);
		drv_dead_letter_release(&dl);
	}
	it_msgs_free(msgs, n);

	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&lock);
		n = flaky_calls;
		pthread_mutex_unlock(&lock);
		if (n >= 2)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(n, 2, "expected a 503 then a 200, saw %d calls", n);
	cr_assert(flaky_at[1] - flaky_at[0] >= 2000,
		  "Retry-After 2 s ignored: retried after %lld ms",
		  flaky_at[1] - flaky_at[0]);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	pthread_mutex_lock(&lock);
	cr_assert_eq(flaky_calls, 2, "the succeeded task was called again");
	pthread_mutex_unlock(&lock);
	MHD_stop_daemon(d);
	it_teardown(&ctx);
}
