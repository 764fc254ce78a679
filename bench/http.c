/*
 * http.c — the benchmarks' side of the HTTP API (bench.h, "HTTP API"): a
 * coordinator's config that serves it, single requests through libcurl,
 * and waiting for it to come up.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench.h"
#include "drover/digest.h"

int bench_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

bool bench_api_config(const bench_ns_t *ns, int http_port, int api_port,
		      const char *extra_yaml, char *path, size_t size)
{
	unsigned char d[DRV_SHA256_LEN];
	char hex[2 * DRV_SHA256_LEN + 1], threads[64] = "";
	int64_t t = bench_env_int("BENCH_API_THREADS", 0, 0, 256);
	size_t n;
	char *text;
	FILE *f;

	if (!extra_yaml)
		extra_yaml = "";
	drv_sha256(BENCH_API_TOKEN, strlen(BENCH_API_TOKEN), d);
	drv_hex(d, sizeof(d), hex);
	if (t)
		drv_fmt(threads, sizeof(threads), "  threads: %lld\n",
			(long long)t);
	n = strlen(ns->base_yaml) + strlen(extra_yaml) + 1024;
	if (!(text = malloc(n)))
		return false;
	drv_fmt(text, n, "%s"
		"coordinator:\n  group: \"%scoord\"\n  http_port: %d\n"
		"api:\n  port: %d\n  read_rate: 1000000\n"
		"  write_rate: 1000000\n"
		/* every client is 127.0.0.1: one address stands in for many */
		"  max_client_connections: 256\n%s"
		"api_tokens:\n  bench: {role: admin, sha256: %s}\n%s",
		ns->base_yaml, ns->prefix, http_port, api_port, threads, hex,
		extra_yaml);
	drv_fmt(path, size, "%s/coordinator.yaml", ns->dir);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		free(text);
		return false;
	}
	free(text);
	return true;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	drv_buf_t *out = arg;

	if (out && !drv_buf_add(out, p, size * n))
		return 0;
	return size * n;
}

long bench_http(const char *method, const char *url, const char *body,
		bool auth, drv_buf_t *out)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	CURL *c = curl_easy_init();
	long status = 0;

	if (!c) {
		curl_slist_free_all(h);
		return 0;
	}
	if (auth)
		h = curl_slist_append(h, "Authorization: Bearer "
				      BENCH_API_TOKEN);
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out && drv_buf_add(out, "", 1))
		out->len--;  /* NUL-terminated */
	return status;
}

bool bench_api_wait(bench_worker_t *coord, int api_port)
{
	char url[128];

	drv_fmt(url, sizeof(url), "http://127.0.0.1:%d/api/v1/openapi.json",
		api_port);
	for (int i = 0; i < 100 && !bench_stop; i++) {
		if (bench_http("GET", url, NULL, false, NULL) == 200)
			return true;
		if (!bench_worker_alive(coord))
			break;
		usleep(100 * 1000);
	}
	bench_log("the API did not come up");
	bench_worker_tail(coord, 20);
	return false;
}
