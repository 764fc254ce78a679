/*
 * 0105 — the web console's files served at / on the API's listener
 * (api.console_dir): each file with its type and cache policy, index.html
 * for the console's own paths (deep links survive a reload), nothing
 * outside the folder whatever the path ("..", encoded, a symbolic link),
 * and /api/... untouched: its routes, its 404s, its tokens, and
 * api.loopback_viewer's viewer. Without a built console, / says why and
 * the API still serves.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

#define OPS "ops-token-0105"
#define INDEX_TEXT "<!doctype html><title>console 0105</title>"
#define JS_TEXT "console.log('0105');"
#define SECRET "secret-0105"

typedef struct page {
	int   status;
	char *head;
	char *body;
} page_t;

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	drv_fmt(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The console folder dir/console (index, a hashed script, a stylesheet, a
 * link to a file beside the folder), and that file, dir/secret.txt. */
static void make_console(it_ctx_t *ctx, char *console, size_t size)
{
	char assets[512], link[512];

	drv_fmt(console, size, "%s/console", ctx->dir);
	drv_fmt(assets, sizeof(assets), "%s/assets", console);
	cr_assert_eq(mkdir(console, 0755), 0);
	cr_assert_eq(mkdir(assets, 0755), 0);
	put(console, "index.html", INDEX_TEXT);
	put(assets, "index-Ab12Cd34.js", JS_TEXT);
	put(assets, "index-Ef56.css", "body{}");
	put(ctx->dir, "secret.txt", SECRET);
	drv_fmt(link, sizeof(link), "%s/link.txt", console);
	cr_assert_eq(symlink("../secret.txt", link), 0);
}

static int start(it_ctx_t *ctx, pid_t *coord, const char *api_keys)
{
	char sections[2048];
	int port = it_free_port();

	it_topics(ctx);
	drv_fmt(sections, sizeof(sections),
		"api:\n  port: %d\n%s"
		"api_tokens:\n"
		"  ops: {role: operator, env: IT_API_TOKEN_0105}\n",
		port, api_keys);
	it_coord_config(ctx, "", sections);
	setenv("IT_API_TOKEN_0105", OPS, 1);
	*coord = it_coordinator_start(ctx, "c1");
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 10000),
		  "the API did not come up on port %d", port);
	return port;
}

static void get(int port, const char *method, const char *path,
		const char *token, page_t *p)
{
	p->status = it_http_request(port, method, path, token, &p->head,
				    &p->body);
	cr_assert_not_null(p->body, "%s %s: no answer", method, path);
}

static void page_free(page_t *p)
{
	free(p->head);
	free(p->body);
	memset(p, 0, sizeof(*p));
}

/* The value of header \p name in \p p, or "". */
static void header(const page_t *p, const char *name, char *buf,
		   size_t size)
{
	it_http_header(p->head, name, buf, size);
}

/* GET \p path answers 200 with \p body, type \p type, cache \p cache. */
static void expect_file(int port, const char *path, const char *body,
			const char *type, const char *cache)
{
	char h[256];
	page_t p;

	get(port, "GET", path, NULL, &p);
	cr_assert_eq(p.status, 200, "%s: %d %s", path, p.status, p.body);
	cr_assert_str_eq(p.body, body, "%s", path);
	header(&p, "Content-Type", h, sizeof(h));
	cr_assert_str_eq(h, type, "%s", path);
	header(&p, "Cache-Control", h, sizeof(h));
	cr_assert_str_eq(h, cache, "%s", path);
	header(&p, "X-Content-Type-Options", h, sizeof(h));
	cr_assert_str_eq(h, "nosniff", "%s", path);
	page_free(&p);
}

#define HTML "text/html; charset=utf-8"
#define NO_CACHE "no-cache"
#define HASHED "public, max-age=31536000, immutable"

Test(console, files_deep_links_traversal_and_the_api, .timeout = 120)
{
	static const char *const deep[] = {
		"/", "/queues", "/tasks", "/tasks/01JEXAMPLE0000000000000000",
		"/breakers", "/tasks?state=dead&handler=x", "/some/new/view",
	};
	static const char *const outside[] = {
		"/../secret.txt", "/assets/../../secret.txt",
		"/%2e%2e/secret.txt", "/assets/%2E%2E/%2e%2e/secret.txt",
		"/..%2fsecret.txt", "/assets/..%2f..%2fsecret.txt",
		"/%2e%2e%5csecret.txt", "/link.txt",
		"/assets/./../../secret.txt",
		"//../secret.txt",
	};
	static const char *const missing[] = {
		"/assets/nothing.js", "/favicon.png", "/assets/deep/nothing",
	};
	char console[512], keys[1024], h[256];
	it_ctx_t ctx;
	pid_t coord;
	page_t p;
	int port;

	it_setup(&ctx, "");
	make_console(&ctx, console, sizeof(console));
	drv_fmt(keys, sizeof(keys), "  console_dir: %s\n"
		"  loopback_viewer: true\n", console);
	port = start(&ctx, &coord, keys);

	/* files, with their types and cache policies */
	expect_file(port, "/index.html", INDEX_TEXT, HTML, NO_CACHE);
	expect_file(port, "/assets/index-Ab12Cd34.js", JS_TEXT,
		    "text/javascript; charset=utf-8", HASHED);
	expect_file(port, "/assets/index-Ef56.css", "body{}",
		    "text/css; charset=utf-8", HASHED);
	/* the console's paths: index.html, revalidated */
	for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++)
		expect_file(port, deep[i], INDEX_TEXT, HTML, NO_CACHE);
	get(port, "GET", "/", NULL, &p);
	header(&p, "Content-Security-Policy", h, sizeof(h));
	cr_assert(strstr(h, "default-src 'self'"), "%s", h);
	page_free(&p);

	/* a missing file is a 404, not the index */
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		get(port, "GET", missing[i], NULL, &p);
		cr_assert_eq(p.status, 404, "%s: %d", missing[i], p.status);
		page_free(&p);
	}
	/* nothing outside the folder, however the path is written */
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		get(port, "GET", outside[i], NULL, &p);
		cr_assert(!strstr(p.body, SECRET), "%s served %s", outside[i],
			  p.body);
		cr_assert(p.status == 404 || p.status == 400, "%s: %d",
			  outside[i], p.status);
		page_free(&p);
	}
	/* only GET and HEAD */
	get(port, "POST", "/", NULL, &p);
	cr_assert_eq(p.status, 405);
	header(&p, "Allow", h, sizeof(h));
	cr_assert_str_eq(h, "GET, HEAD");
	page_free(&p);
	get(port, "HEAD", "/tasks", NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert_str_eq(p.body, "");
	page_free(&p);

	/* the API is untouched: its routes, its 404s as problems */
	get(port, "GET", "/api/v1/openapi.json", NULL, &p);
	cr_assert_eq(p.status, 200);
	header(&p, "Content-Type", h, sizeof(h));
	cr_assert_str_eq(h, "application/json");
	cr_assert(strstr(p.body, "\"/api/v1/whoami\""));
	page_free(&p);
	for (int i = 0; i < 3; i++) {
		const char *path = i == 0 ? "/api" : i == 1 ? "/api/" :
				   "/api/v1/console";

		get(port, "GET", path, OPS, &p);
		cr_assert_eq(p.status, 404, "%s: %d", path, p.status);
		header(&p, "Content-Type", h, sizeof(h));
		cr_assert_str_eq(h, "application/problem+json", "%s", path);
		page_free(&p);
	}
	/* the caller: a token, or loopback's viewer without one */
	get(port, "GET", "/api/v1/whoami", OPS, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "\"role\":\"operator\""), "%s", p.body);
	cr_assert(strstr(p.body, "\"name\":\"ops\""), "%s", p.body);
	page_free(&p);
	get(port, "GET", "/api/v1/whoami", NULL, &p);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "\"role\":\"viewer\""), "%s", p.body);
	cr_assert(strstr(p.body, "\"name\":\"loopback\""), "%s", p.body);
	page_free(&p);
	get(port, "GET", "/api/v1/breakers", NULL, &p);
	cr_assert_eq(p.status, 200, "%d %s", p.status, p.body);
	header(&p, "RateLimit-Policy", h, sizeof(h));
	cr_assert_str_eq(h, "\"read\";q=1000;w=1");
	page_free(&p);
	/* a viewer cannot act; a wrong token is not a loopback viewer */
	get(port, "POST", "/api/v1/breakers/b0105/open", NULL, &p);
	cr_assert_eq(p.status, 403, "%d %s", p.status, p.body);
	page_free(&p);
	get(port, "GET", "/api/v1/whoami", "wrong-token", &p);
	cr_assert_eq(p.status, 401);
	page_free(&p);

	cr_assert_eq(it_stop(coord, SIGTERM, 20000), 0,
		     "the coordinator did not exit cleanly");
	it_teardown(&ctx);
}

Test(console, not_built_the_api_serves_alone, .timeout = 120)
{
	char keys[1024], h[256];
	it_ctx_t ctx;
	pid_t coord;
	page_t p;
	int port;

	it_setup(&ctx, "");
	drv_fmt(keys, sizeof(keys), "  console_dir: %s/not-built\n",
		ctx.dir);
	port = start(&ctx, &coord, keys);

	get(port, "GET", "/tasks", NULL, &p);
	cr_assert_eq(p.status, 404);
	cr_assert(strstr(p.body, "scripts/build"), "%s", p.body);
	header(&p, "Content-Type", h, sizeof(h));
	cr_assert_str_eq(h, "text/plain; charset=utf-8");
	page_free(&p);
	cr_assert(it_coord_log_wait(&ctx, "c1", "not serving the web console",
			      10000));
	/* no loopback viewer unless configured */
	get(port, "GET", "/api/v1/whoami", NULL, &p);
	cr_assert_eq(p.status, 401);
	page_free(&p);
	get(port, "GET", "/api/v1/whoami", OPS, &p);
	cr_assert_eq(p.status, 200);
	page_free(&p);

	cr_assert_eq(it_stop(coord, SIGTERM, 20000), 0,
		     "the coordinator did not exit cleanly");
	it_teardown(&ctx);
}
