/*
 * api.c — the HTTP API under load: requests per second and latency (p50,
 * p99) of GET /api/v1/tasks/{id}, POST /api/v1/tasks and
 * POST /api/v1/tasks/batch (1,000 tasks per call), each beside a baseline
 * from the same run: GET /healthz of the same coordinator, the cheapest
 * answer its HTTP stack gives (no token, no Redis, no Kafka).
 *
 * BENCH_API_CLIENTS (16) connections, each a thread with one keep-alive
 * libcurl handle, send requests back to back for BENCH_API_SECONDS (5) per
 * scenario (the baseline with at most DRV_HTTPD_MAX_PER_CLIENT, 8: the
 * health listener's limit per client address). The coordinator serves with api.threads BENCH_API_THREADS
 * (its default when unset).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench.h"
#include "drover/clock.h"
#include "drover/httpd.h"
#include "drover/str.h"

#define LAT_MAX 2000000   /* latencies kept per scenario */

typedef struct scenario {
	const char *name;
	const char *method;
	char        url[512];
	const char *body;     /* NULL: none */
	bool        auth;
	long        want;     /* the status every answer must have */
	int         per_call; /* tasks one call submits (0: none) */
} scenario_t;

typedef struct run {
	const scenario_t *s;
	int64_t  end_mono;
	int64_t *lat_us;      /* shared, LAT_MAX */
	size_t   n;           /* guarded by lock */
	size_t   bad;         /* answers with another status */
	pthread_mutex_t lock;
} run_t;

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void *client(void *arg)
{
	run_t *r = arg;
	const scenario_t *s = r->s;
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();

	if (s->auth)
		h = curl_slist_append(h, "Authorization: Bearer " BENCH_API_TOKEN);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, s->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (s->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(s->body));
	}
	while (!bench_stop && drv_mono_ms() < r->end_mono) {
		int64_t t0 = bench_mono_us(), dt;
		long status = 0;

		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		dt = bench_mono_us() - t0;
		pthread_mutex_lock(&r->lock);
		if (status != s->want)
			r->bad++;
		else if (r->n < LAT_MAX)
			r->lat_us[r->n++] = dt;
		pthread_mutex_unlock(&r->lock);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

/* Run \p s with \p clients threads for \p seconds; print its line. */
static bool run_scenario(const scenario_t *s, int clients, int seconds,
			 int64_t *lat_us, double *rps_out)
{
	run_t r = { .s = s, .lat_us = lat_us };
	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	int64_t t0;
	double secs, rps;
	bench_pct_t p;
	char a[32], b[32];

	pthread_mutex_init(&r.lock, NULL);
	t0 = drv_mono_ms();
	r.end_mono = t0 + seconds * 1000;
	for (int i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, client, &r);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	secs = (double)(drv_mono_ms() - t0) / 1000.0;
	free(th);
	pthread_mutex_destroy(&r.lock);
	bench_pct_compute(lat_us, r.n, &p);
	rps = (double)r.n / secs;
	*rps_out = rps;
	printf("%-34s %10s req/s %10s tasks/s  p50 %7.2f ms  p99 %7.2f ms"
	       "%s\n", s->name, bench_thousands(rps, a, sizeof(a)),
	       s->per_call ? bench_thousands(rps * s->per_call, b,
					     sizeof(b)) : "-",
	       (double)p.p50 / 1000.0, (double)p.p99 / 1000.0,
	       r.bad ? "  (some answers had another status)" : "");
	if (r.bad || r.n == 0) {
		printf("INCOMPLETE: %s: %zu answers with another status than "
		       "%ld, %zu as expected\n", s->name, r.bad, s->want, r.n);
		return false;
	}
	return true;
}

/* POST one task and wait until a worker has run it: its id. */
static bool seed_task(const bench_ns_t *ns, int api_port, char *id)
{
	char url[256], path[320];
	drv_buf_t body = { 0 };
	bench_worker_t w;
	const char *at;
	long status;
	bool ok = false;

	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d/api/v1/tasks", api_port);
	status = bench_http("POST", url, "{\"handler\": \"echo\"}", true,
			    &body);
	if (status != 201 || !body.p || !(at = strstr(body.p, "\"id\":\""))) {
		bench_log("seed task: status %ld: %s", status,
			  body.p ? body.p : "");
		free(body.p);
		return false;
	}
	drv_strlcpy(id, at + 6, DRV_ID_LEN + 1);
	free(body.p);
	if (!bench_ns_worker_config(ns, "worker", "bench-api-workers", 1,
				    path, sizeof(path)) ||
	    !bench_worker_start(&w, ns, path, "bench-api-worker"))
		return false;
	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d/api/v1/tasks/%s",
		api_port, id);
	for (int i = 0; i < 300 && !ok && !bench_stop; i++) {
		ok = bench_http("GET", url, NULL, true, NULL) == 200;
		if (!ok)
			usleep(100 * 1000);
	}
	bench_worker_stop(&w, 20000);
	if (!ok)
		bench_log("seed task %s: no state after 30 s", id);
	return ok;
}

/* {"tasks": [n tasks]} */
static char *batch_body(int n)
{
	static const char one[] = "{\"handler\": \"echo\"}";
	drv_buf_t b = { 0 };

	drv_buf_add(&b, "{\"tasks\": [", 11);
	for (int i = 0; i < n; i++) {
		if (i)
			drv_buf_add(&b, ",", 1);
		drv_buf_add(&b, one, sizeof(one) - 1);
	}
	if (!drv_buf_add(&b, "]}", 2)) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int main(void)
{
	int clients = (int)bench_env_int("BENCH_API_CLIENTS", 16, 1, 512);
	int seconds = (int)bench_env_int("BENCH_API_SECONDS", 5, 1, 600);
	int per_batch = (int)bench_env_int("BENCH_API_BATCH", 1000, 1, 1000);
	int http_port = bench_free_port(), api_port = bench_free_port();
	int64_t *lat = malloc(LAT_MAX * sizeof(*lat));
	char path[320], id[DRV_ID_LEN + 1], a[32];
	char *batch = batch_body(per_batch);
	bench_worker_t coord = { 0 };
	bench_ns_t ns = { 0 };
	double base = 0, rps;
	bool ok;

	bench_signals_install();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ok = lat && batch &&
	     bench_ns_open(&ns, "api", "handlers:\n  echo:\n    type: noop\n") &&
	     bench_api_config(&ns, http_port, api_port, NULL, path,
			      sizeof(path)) &&
	     bench_daemon_start(&coord, &ns, "coordinator/drover-coordinator",
				path, "bench-api-coordinator");
	ok = ok && bench_api_wait(&coord, api_port);
	ok = ok && seed_task(&ns, api_port, id);
	if (ok) {
		scenario_t s[] = {
			{ "GET /healthz (baseline)", "GET", "", NULL, false,
			  200, 0 },
			{ "GET /api/v1/tasks/{id}", "GET", "", NULL, true,
			  200, 0 },
			{ "POST /api/v1/tasks", "POST", "",
			  "{\"handler\": \"echo\", \"payload\": {\"n\": 1}}",
			  true, 201, 1 },
			{ "POST /api/v1/tasks/batch", "POST", "", batch, true,
			  200, per_batch },
		};

		drv_fmt(s[0].url, sizeof(s[0].url),
			"http://127.0.0.1:%d/healthz", http_port);
		drv_fmt(s[1].url, sizeof(s[1].url),
			"http://127.0.0.1:%d/api/v1/tasks/%s", api_port, id);
		drv_fmt(s[2].url, sizeof(s[2].url),
			"http://127.0.0.1:%d/api/v1/tasks", api_port);
		drv_fmt(s[3].url, sizeof(s[3].url),
			"http://127.0.0.1:%d/api/v1/tasks/batch", api_port);
		printf("\n== HTTP API: %d clients (keep-alive), %d s per "
		       "scenario, batch of %d ==\n", clients, seconds,
		       per_batch);
		/* the health listener serves at most DRV_HTTPD_MAX_PER_CLIENT
		 * connections per client address (the oldest gives way) */
		if (clients > DRV_HTTPD_MAX_PER_CLIENT)
			printf("(the baseline with %d clients: the health "
			       "listener takes %d connections per address)\n",
			       DRV_HTTPD_MAX_PER_CLIENT,
			       DRV_HTTPD_MAX_PER_CLIENT);
		for (size_t i = 0; ok && i < sizeof(s) / sizeof(s[0]); i++) {
			int n = i == 0 && clients > DRV_HTTPD_MAX_PER_CLIENT ?
				DRV_HTTPD_MAX_PER_CLIENT : clients;

			ok = run_scenario(&s[i], n, seconds, lat, &rps);
			if (i == 0)
				base = rps;
			else if (ok)
				printf("  %s of the baseline's requests/s\n",
				       bench_thousands(rps / base * 1000, a,
						       sizeof(a)));
		}
		printf("(ratios in thousandths: 1,000 = as many requests per "
		       "second as GET /healthz)\n");
	}
	if (coord.pid && !bench_worker_stop(&coord, 20000)) {
		bench_log("the coordinator did not stop cleanly");
		bench_worker_tail(&coord, 20);
		ok = false;
	}
	if (!ok)
		printf("INCOMPLETE: the API benchmark did not run to the "
		       "end\n");
	bench_ns_close(&ns);
	free(batch);
	free(lat);
	curl_global_cleanup();
	return ok ? 0 : 1;
}
