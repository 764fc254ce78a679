/*
 * 0101 — queue status against the real Kafka and Redis: tasks published
 * with no worker running are counted as waiting on their band, and the
 * oldest one's age covers the time they waited; a worker whose handler
 * sleeps shows up with the partitions it holds and every runner busy; the
 * coordinator's /metrics counts the dead letters on the DLQ topic; GET
 * /api/v1/queues says what `droverctl queue status --json` says.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

#define VIEWER   "viewer-token-0101"
#define WAITING  7    /* tasks published before any worker runs */
#define MORE     4    /* published between two API calls */
#define DEAD     3    /* messages put on the DLQ topic */
#define RUNNERS  2    /* the harness's worker.concurrency */

static const char handlers[] =
	"  sleepy:\n"
	"    shell: true\n"
	"    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"; sleep 60'\n";

/* `queue status --json --sample DUR`, parsed; asserts it succeeds. */
static json_t *ctl_sampled(it_ctx_t *ctx, const char *sample)
{
	char *out = NULL;
	json_t *j;

	cr_assert_eq(it_ctl(ctx, &out, "queue", "status", "--json", "--sample",
			    sample, NULL), 0);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	free(out);
	return j;
}

static json_t *ctl_status(it_ctx_t *ctx)
{
	return ctl_sampled(ctx, "0");
}

/* GET /api/v1/queues as the viewer, parsed; asserts a 200. */
static json_t *api_status(int port)
{
	char *body = NULL;
	int st = it_http_get_token(port, "/api/v1/queues", VIEWER, &body);
	json_t *j;

	cr_assert_eq(st, 200, "GET /api/v1/queues: %d %s", st, body);
	j = json_loads(body, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", body);
	free(body);
	return j;
}

/* One of several GET /api/v1/queues at once: the normal band's waiting
 * count, or -1 - status when the call failed. */
typedef struct concurrent {
	pthread_t thread;
	int       port;
	long long waiting;
} concurrent_t;

static void *concurrent_get(void *arg)
{
	concurrent_t *c = arg;
	char *body = NULL;
	int st = it_http_get_token(c->port, "/api/v1/queues", VIEWER, &body);
	json_t *j = st == 200 ? json_loads(body, 0, NULL) : NULL;
	size_t i;
	json_t *t;

	c->waiting = -1 - st;
	json_array_foreach(json_object_get(j, "topics"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")),
			    "normal"))
			c->waiting = (long long)json_integer_value(
				json_object_get(t, "waiting"));
	json_decref(j);
	free(body);
	return NULL;
}

static json_t *topic(json_t *st, const char *name)
{
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(st, "topics"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")),
			    name))
			return t;
	cr_assert_fail("no topic %s in the status", name);
	return NULL;
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Sum of the partitions of every topic of \p kind. */
static long long partitions_of(json_t *st, const char *kind)
{
	long long n = 0;
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(st, "topics"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "kind")),
			    kind))
			n += num(t, "partitions");
	return n;
}

static json_t *worker_rec(json_t *st, const char *id)
{
	size_t i;
	json_t *w;

	json_array_foreach(json_object_get(st, "workers"), i, w)
		if (!strcmp(json_string_value(json_object_get(w, "id")), id))
			return w;
	return NULL;
}

/* The value of the unlabelled metric \p name in /metrics, -1 if absent. */
static long long metric(int port, const char *name)
{
	char *body = NULL, *p;
	long long v = -1;
	size_t n = strlen(name);

	if (it_http_get(port, "/metrics", &body) != 200) {
		free(body);
		return -1;
	}
	for (p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			v = strtoll(p + n + 1, NULL, 10);
	free(body);
	return v;
}

Test(queue_status, counts_waiting_running_dead, .timeout = 180)
{
	it_ctx_t ctx;
	char sections[512], keys[64];
	int api_port = it_free_port(), http_port = it_free_port();
	long long published_ms, asked_ms;
	pid_t coord, worker;
	json_t *st, *api, *t, *w;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	drv_fmt(sections, sizeof(sections),
		"api:\n  port: %d\n"
		"api_tokens:\n"
		"  viewer: {role: viewer, env: IT_API_TOKEN_0101}\n",
		api_port);
	drv_fmt(keys, sizeof(keys), "  http_port: %d\n", http_port);
	it_coord_config(&ctx, keys, sections);
	setenv("IT_API_TOKEN_0101", VIEWER, 1);

	/* no worker yet: every task published waits on the normal band */
	it_publish_many(&ctx, "sleepy", WAITING);
	published_ms = it_now_ms();
	for (int i = 0; i < DEAD; i++)
		it_produce_raw(&ctx, "dlq", "dead", 4);
	usleep(1500 * 1000);
	asked_ms = it_now_ms();
	st = ctl_status(&ctx);
	t = topic(st, "normal");
	cr_expect_eq(num(t, "waiting"), WAITING);
	cr_expect_geq(num(t, "oldest_age_ms"), asked_ms - published_ms);
	cr_expect_eq(num(topic(st, "high"), "waiting"), 0);
	cr_expect_eq(num(topic(st, "low"), "waiting"), 0);
	cr_expect(json_is_null(json_object_get(topic(st, "high"),
					       "oldest_age_ms")));
	cr_expect_eq(json_array_size(json_object_get(st, "workers")), 0);
	cr_expect_eq(num(st, "running"), 0);
	cr_expect_eq(num(st, "rate_span_ms"), 0);
	cr_expect(json_is_null(json_object_get(t, "rate_in")));
	json_decref(st);

	/* two samples a second apart, nothing in or out between them */
	st = ctl_sampled(&ctx, "1s");
	t = topic(st, "normal");
	cr_expect_geq(num(st, "rate_span_ms"), 1000);
	cr_expect_eq(num(t, "waiting"), WAITING);
	cr_expect_float_eq(json_real_value(json_object_get(t, "rate_in")),
			   0.0, 1e-9);
	cr_expect_float_eq(json_real_value(json_object_get(t, "rate_out")),
			   0.0, 1e-9);
	json_decref(st);

	/* the API says the same, and /metrics counts the dead letters */
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_http_wait(api_port, "/api/v1/openapi.json", 10000),
		  "the API did not come up");
	api = api_status(api_port);
	cr_expect_eq(num(topic(api, "normal"), "waiting"), WAITING);
	cr_expect_eq(num(topic(api, "low"), "waiting"), 0);
	cr_expect_geq(num(topic(api, "normal"), "oldest_age_ms"),
		      asked_ms - published_ms);
	cr_expect_eq(json_array_size(json_object_get(api, "workers")), 0);
	/* the server's first sample: nothing to measure rates against */
	cr_expect_eq(num(api, "rate_span_ms"), 0);
	cr_expect(json_is_null(json_object_get(topic(api, "normal"),
					       "rate_in")));
	json_decref(api);

	/* MORE tasks in, none out: the next call measures them */
	it_publish_many(&ctx, "sleepy", MORE);
	usleep(1100 * 1000);
	api = api_status(api_port);
	t = topic(api, "normal");
	cr_expect_eq(num(t, "waiting"), WAITING + MORE);
	cr_expect_geq(num(api, "rate_span_ms"), 1000);
	cr_expect_eq((long long)(json_real_value(json_object_get(t,
		     "rate_in")) * (double)num(api, "rate_span_ms") / 1000.0 +
		     0.5), MORE, "%f over %lld ms",
		     json_real_value(json_object_get(t, "rate_in")),
		     num(api, "rate_span_ms"));
	cr_expect_float_eq(json_real_value(json_object_get(t, "rate_out")),
			   0.0, 1e-9);
	json_decref(api);

	/* requests at once: one samples, the others get the last reply;
	 * every one answers with the same count, none waits for another */
	{
		concurrent_t cc[6];

		for (int i = 0; i < 6; i++) {
			cc[i].port = api_port;
			cr_assert_eq(pthread_create(&cc[i].thread, NULL,
						    concurrent_get, &cc[i]), 0);
		}
		for (int i = 0; i < 6; i++) {
			pthread_join(cc[i].thread, NULL);
			cr_expect_eq(cc[i].waiting, WAITING + MORE,
				     "request %d: %lld", i, cc[i].waiting);
		}
	}
	{
		long long depth = -1;

		for (int i = 0; i < 100 && depth != DEAD; i++) {
			depth = metric(http_port, "drover_dlq_depth");
			if (depth != DEAD)
				usleep(200 * 1000);
		}
		cr_expect_eq(depth, DEAD, "drover_dlq_depth %lld", depth);
	}

	/* a worker: both runners busy with sleeping tasks, its partitions */
	worker = it_worker_start(&ctx, 1);
	cr_assert_eq(it_wait_count(&ctx, "run", NULL, RUNNERS, 60000),
		     RUNNERS);
	st = NULL;
	for (int i = 0; i < 100; i++) {
		json_decref(st);
		st = ctl_status(&ctx);
		w = worker_rec(st, "worker-1");
		if (w && num(st, "running") == RUNNERS)
			break;
		usleep(200 * 1000);
	}
	w = worker_rec(st, "worker-1");
	cr_assert_not_null(w, "worker-1 never reported");
	cr_expect_eq(num(st, "running"), RUNNERS);
	cr_expect_eq(num(w, "busy"), RUNNERS);
	cr_expect_eq(num(w, "runners"), RUNNERS);
	cr_expect_eq(num(w, "band_partitions"), partitions_of(st, "band"));
	cr_expect_eq(num(w, "delay_partitions"), partitions_of(st, "delay"));
	cr_expect_eq((long long)json_array_size(json_object_get(w,
		     "partitions")), partitions_of(st, "band") +
		     partitions_of(st, "delay"));
	/* running tasks are not done: their offsets are not committed */
	cr_expect_eq(num(topic(st, "normal"), "waiting"), WAITING + MORE);
	json_decref(st);

	api = api_status(api_port);
	cr_expect_eq(num(api, "running"), RUNNERS);
	w = worker_rec(api, "worker-1");
	cr_expect_not_null(w);
	if (w)
		cr_expect_eq(num(w, "busy"), RUNNERS);
	json_decref(api);

	/* a dead worker's record ages out */
	it_stop(worker, SIGKILL, 5000);
	st = NULL;
	for (int i = 0; i < 75; i++) {
		json_decref(st);
		st = ctl_status(&ctx);
		if (!worker_rec(st, "worker-1"))
			break;
		usleep(200 * 1000);
	}
	cr_expect_null(worker_rec(st, "worker-1"), "worker-1 still listed");
	cr_expect_eq(num(st, "running"), 0);
	json_decref(st);
	it_stop(coord, SIGTERM, 20000);
	it_teardown(&ctx);
}
