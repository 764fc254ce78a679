/*
 * 0105 — the web console's files served at / on the API's listener
 * (api.console_dir): each file with its type and cache policy, index.html
 * for the console's own paths (deep links survive a reload), nothing
 * outside the folder whatever the path ("..", encoded, a symbolic link),
 * and /api/... untouched: its routes, its 404s, its tokens, and
 * api.loopback_viewer's viewer. A text file of 1 kB or more goes gzipped
 * when Accept-Encoding takes gzip (the same bytes once inflated, Vary:
 * Accept-Encoding on both answers), plain otherwise, and a tiny or
 * already compressed file always plain. Without a built console, / says
 * why and the API still serves.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

/* A script of about 20 kB that gzip shrinks well; \p n changes its
 * bytes and its length. */
static const char *big_js(int n)
{
	static char buf[32768];
	size_t len = 0;

	for (int i = 0; len + 100 < sizeof(buf) - 12000 - (size_t)n * 300;
	     i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"export const view%d = (x) => "
					"x.filter((r) => r.state === '%d');\n",
					i, i % 7 + n);
	return buf;
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
	put(assets, "big-Gh78.js", big_js(1));
	put(assets, "logo-Ij90.png", big_js(2));
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

/* GET (or \p method) \p path with the request header line \p hdr ("" for
 * none): the status; the head and the body with its length (binary). */
static int raw_get(int port, const char *method, const char *path,
		   const char *hdr, char **head, unsigned char **body,
		   size_t *len)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[1024], *p;
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	int fd, status = -1;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	drv_fmt(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n%s%s\r\n",
		method, path, hdr, *hdr ? "\r\n" : "");
	cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	for (;;) {
		ssize_t r;

		if (n + 4096 > cap)
			cr_assert_not_null(buf = realloc(buf, cap = cap * 2 +
							 8192));
		if ((r = read(fd, buf + n, cap - n - 1)) <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	cr_assert_not_null(buf, "%s %s: no answer", method, path);
	buf[n] = '\0';
	if (!strncmp((char *)buf, "HTTP/1.", 7))
		status = (int)strtol((char *)buf + 9, NULL, 10);
	cr_assert_not_null(p = strstr((char *)buf, "\r\n\r\n"));
	*head = strndup((char *)buf, (size_t)(p - (char *)buf));
	*len = n - (size_t)(p + 4 - (char *)buf);
	cr_assert_not_null(*body = malloc(*len + 1));
	memcpy(*body, p + 4, *len);
	(*body)[*len] = '\0';
	free(buf);
	return status;
}

/* \p len bytes of gzip \p gz inflated (NUL-terminated), or NULL. */
static char *gunzip(const unsigned char *gz, size_t len)
{
	z_stream z = { 0 };
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	int rc;

	if (!out || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)cap - 1;
	rc = inflate(&z, Z_FINISH);
	/* the stream ends exactly at the body's end */
	if (rc != Z_STREAM_END || z.avail_in) {
		inflateEnd(&z);
		free(out);
		return NULL;
	}
	out[z.total_out] = '\0';
	inflateEnd(&z);
	return out;
}

/* GET \p path with \p accept (NULL: no Accept-Encoding): the body as
 * sent is \p want, gzipped (\p gz) or plain, with Vary: Accept-Encoding
 * when \p vary. */
static void expect_coding(int port, const char *method, const char *path,
			  const char *accept, const char *want, bool gz,
			  bool vary)
{
	char hdr[256] = "", h[256], *head, *text;
	unsigned char *body;
	size_t len;
	int st;

	if (accept)
		drv_fmt(hdr, sizeof(hdr), "Accept-Encoding: %s", accept);
	st = raw_get(port, method, path, hdr, &head, &body, &len);
	cr_assert_eq(st, 200, "%s %s (%s): %d", method, path, hdr, st);
	it_http_header(head, "Content-Encoding", h, sizeof(h));
	cr_assert_str_eq(h, gz ? "gzip" : "", "%s (%s): Content-Encoding "
			 "'%s'", path, hdr, h);
	it_http_header(head, "Vary", h, sizeof(h));
	cr_assert_str_eq(h, vary ? "Accept-Encoding" : "", "%s (%s): Vary "
			 "'%s'", path, hdr, h);
	if (!strcmp(method, "HEAD")) {
		cr_assert_eq(len, 0, "%s: HEAD sent a body", path);
	} else if (gz) {
		cr_assert_lt(len, strlen(want) / 2, "%s: %zu bytes gzipped of "
			     "%zu", path, len, strlen(want));
		cr_assert_not_null(text = gunzip(body, len),
				   "%s: not one gzip stream", path);
		cr_assert_str_eq(text, want, "%s: inflates to other bytes",
				 path);
		free(text);
	} else {
		cr_assert_eq(len, strlen(want), "%s (%s): %zu bytes", path,
			     hdr, len);
		cr_assert_eq(memcmp(body, want, len), 0, "%s: other bytes",
			     path);
	}
	it_http_header(head, "Content-Length", h, sizeof(h));
	if (strcmp(method, "HEAD"))
		cr_assert_eq(strtoul(h, NULL, 10), len, "%s: Content-Length "
			     "%s, %zu bytes", path, h, len);
	free(head);
	free(body);
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


	/* gzip when asked, the same bytes once inflated, plain otherwise */
	{
		static const char *const yes[] = {
			"gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8",
			"GZIP", "x-gzip", "*", "deflate, *;q=0.5",
		};
		static const char *const no[] = {
			"", "identity", "br, deflate", "gzip;q=0",
			"gzip;q=0, *", "*;q=0", "gzip ; q=0.000",
		};
		char big[32768], js[512];

		drv_fmt(big, sizeof(big), "%s", big_js(1));
		drv_fmt(js, sizeof(js), "/assets/big-Gh78.js");
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			expect_coding(port, "GET", js, yes[i], big, true, true);
		/* kept: asked again, the same */
		expect_coding(port, "GET", js, "gzip", big, true, true);
		for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
			expect_coding(port, "GET", js, no[i], big, false, true);
		expect_coding(port, "GET", js, NULL, big, false, true);
		expect_coding(port, "HEAD", js, "gzip", big, true, true);
		/* tiny, or already compressed: plain, whatever is asked */
		expect_coding(port, "GET", "/assets/index-Ab12Cd34.js", "gzip",
			      JS_TEXT, false, false);
		drv_fmt(big, sizeof(big), "%s", big_js(2));
		expect_coding(port, "GET", "/assets/logo-Ij90.png", "gzip",
			      big, false, false);
		/* a file rebuilt while serving: its new bytes, gzipped */
		put(console, "assets/big-Gh78.js", big_js(3));
		drv_fmt(big, sizeof(big), "%s", big_js(3));
		expect_coding(port, "GET", js, "gzip", big, true, true);
		expect_coding(port, "GET", js, NULL, big, false, true);
	}

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
