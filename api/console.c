/*
 * console.c — the web console's built files (api.console_dir, made by
 * scripts/build from console/) served at / on the API's listener, beside
 * /api/v1: no second server, nothing fetched from elsewhere.
 *
 * A GET or HEAD of a file under the folder answers it with its type; any
 * other path that names no file and looks like a page (its last segment
 * has no dot, it is not under /assets/) answers index.html, so the
 * console's own paths (/tasks/ID, /breakers) survive a reload. A path
 * whose resolved file is outside the folder ("..", a symbolic link) is
 * refused with 404, as a missing file is. Vite's hashed files under
 * /assets/ may be cached for a year; everything else is revalidated.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_int.h"
#include "drover/str.h"

#define INDEX "index.html"
#define ASSETS "/assets/"

#define CACHE_HASHED "public, max-age=31536000, immutable"
#define CACHE_OTHER  "no-cache"
/* the console loads nothing but its own files and calls its own API */
#define CSP "default-src 'self'; img-src 'self' data:; " \
	    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

void api_console_init(struct drv_api *a)
{
	const char *dir = a->cfg->api.console_dir;
	char index[PATH_MAX + sizeof(INDEX) + 1];

	a->console_root = NULL;
	a->console_why = "api.console_dir is not set";
	if (!dir || !*dir)
		return;
	if (!(a->console_root = realpath(dir, NULL))) {
		drv_fmt(a->console_err, sizeof(a->console_err), "%s: %s (build "
			"the console with scripts/build)", dir,
			strerror(errno));
		a->console_why = a->console_err;
		return;
	}
	drv_fmt(index, sizeof(index), "%s/" INDEX, a->console_root);
	if (access(index, R_OK)) {
		drv_fmt(a->console_err, sizeof(a->console_err), "%s: %s (build "
			"the console with scripts/build)", index,
			strerror(errno));
		a->console_why = a->console_err;
		free(a->console_root);
		a->console_root = NULL;
	}
}

void api_console_release(struct drv_api *a)
{
	free(a->console_root);
	a->console_root = NULL;
}

/* Does \p url hold a segment "." or "..", or a backslash? */
static bool dotted(const char *url)
{
	for (const char *p = url; *p; ) {
		size_t n;

		if (*p == '\\')
			return true;
		if (*p == '/') {
			p++;
			continue;
		}
		n = strcspn(p, "/\\");
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
	}
	return false;
}

/* Open the regular file \p rel (from /) under the root: -1 when it does
 * not resolve to one inside it. */
static int open_under(const char *root, const char *rel, struct stat *st)
{
	char path[PATH_MAX], *real;
	size_t n = strlen(root);
	int fd = -1;

	if (!drv_fmt(path, sizeof(path), "%s%s", root, rel) ||
	    !(real = realpath(path, NULL)))
		return -1;
	if (!strncmp(real, root, n) && real[n] == '/' &&
	    (fd = open(real, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    (fstat(fd, st) || !S_ISREG(st->st_mode))) {
		close(fd);
		fd = -1;
	}
	free(real);
	return fd;
}

/* A page path: no dot in its last segment, not under /assets/. */
static bool page_path(const char *url)
{
	const char *last = strrchr(url, '/');

	return strncmp(url, ASSETS, strlen(ASSETS)) &&
	       !strchr(last ? last : url, '.');
}

static bool send_text(struct MHD_Connection *conn, unsigned status,
		      const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return false;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret == MHD_YES;
}

bool api_console_serve(struct drv_api *a, struct MHD_Connection *conn,
		       const char *url, const char *method)
{
	const char *file = url, *root = a->console_root;
	char text[1200];
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat st;
	int fd = -1;

	if (!root) {
		drv_fmt(text, sizeof(text), "no console here: %s; the API is "
			"at /api/v1 (/api/v1/openapi.json)\n", a->console_why);
		return send_text(conn, 404, text, NULL);
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_text(conn, 405, "the console takes GET and HEAD\n",
				 "GET, HEAD");
	if (*url != '/' || dotted(url))
		return send_text(conn, 404, "not found\n", NULL);
	if (strcmp(url, "/"))
		fd = open_under(root, url, &st);
	if (fd < 0 && page_path(url)) {
		file = "/" INDEX;
		fd = open_under(root, file, &st);
	}
	if (fd < 0)
		return send_text(conn, 404, "not found\n", NULL);
	/* from here libmicrohttpd owns fd */
	if (!(r = MHD_create_response_from_fd((uint64_t)st.st_size, fd))) {
		close(fd);
		return false;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				type_of(file));
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				strncmp(file, ASSETS, strlen(ASSETS)) ?
				CACHE_OTHER : CACHE_HASHED);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret == MHD_YES;
}
