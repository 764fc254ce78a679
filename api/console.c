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
 *
 * A text file (HTML, JS, CSS, JSON, SVG...) of 1 kB or more goes gzipped
 * to a client whose Accept-Encoding takes gzip: each file is compressed
 * once, at its first such request, and its gzip body kept (at most
 * GZ_FILES files and GZ_BYTES bytes; past that, files go plain). A kept
 * body is used while the file's inode, size and time are those it was
 * made from; a file that changed is compressed again. A file that gzip
 * does not shrink by a tenth goes plain, and is remembered as such.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "api_int.h"
#include "drover/str.h"

#define INDEX "index.html"
#define ASSETS "/assets/"

#define CACHE_HASHED "public, max-age=31536000, immutable"
#define CACHE_OTHER  "no-cache"
/* the console loads nothing but its own files and calls its own API */
#define CSP "default-src 'self'; img-src 'self' data:; " \
	    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/* gzip: files from GZ_MIN to GZ_FILE_MAX bytes; at most GZ_FILES kept
 * bodies of GZ_BYTES in all (the built console is 3 files, 30 kB) */
#define GZ_MIN      1024
#define GZ_FILE_MAX (8 << 20)
#define GZ_FILES    64
#define GZ_BYTES    (16 << 20)

static const struct {
	const char *ext;
	const char *type;
	bool text;      /* gzip may pay: not already compressed */
} types[] = {
	{ ".html", "text/html; charset=utf-8", true },
	{ ".js", "text/javascript; charset=utf-8", true },
	{ ".mjs", "text/javascript; charset=utf-8", true },
	{ ".css", "text/css; charset=utf-8", true },
	{ ".json", "application/json", true },
	{ ".map", "application/json", true },
	{ ".webmanifest", "application/manifest+json", true },
	{ ".svg", "image/svg+xml", true },
	{ ".png", "image/png", false },
	{ ".ico", "image/x-icon", false },
	{ ".woff2", "font/woff2", false },
	{ ".txt", "text/plain; charset=utf-8", true },
};

/* The index in types of \p path's extension, or -1. */
static int type_index(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return (int)i;
	return -1;
}

static const char *type_of(const char *path)
{
	int i = type_index(path);

	return i < 0 ? "application/octet-stream" : types[i].type;
}

/* One file's gzip body, as made from the file with this inode, size and
 * modification time; body NULL: gzip did not pay. */
struct api_gz {
	char *path;             /* resolved */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned char *body;
	size_t len;
};

void api_console_init(struct drv_api *a)
{
	const char *dir = a->cfg->api.console_dir;
	char index[PATH_MAX + sizeof(INDEX) + 1];

	a->console_root = NULL;
	a->console_why = "api.console_dir is not set";
	a->console_gz = NULL;
	a->console_gz_cnt = a->console_gz_bytes = 0;
	pthread_mutex_init(&a->console_lock, NULL);
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
	for (size_t i = 0; i < a->console_gz_cnt; i++) {
		free(a->console_gz[i].path);
		free(a->console_gz[i].body);
	}
	free(a->console_gz);
	a->console_gz = NULL;
	a->console_gz_cnt = a->console_gz_bytes = 0;
	pthread_mutex_destroy(&a->console_lock);
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

/* Open the regular file \p rel (from /) under the root, its resolved
 * path in *\p realp (the caller frees it): -1 when it does not resolve to
 * one inside it. */
static int open_under(const char *root, const char *rel, struct stat *st,
		      char **realp)
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
	if (fd >= 0)
		*realp = real;
	else
		free(real);
	return fd;
}

/* Does Accept-Encoding \p v take gzip? gzip (or x-gzip) with a q above
 * 0, else "*" with a q above 0 (RFC 9110 12.5.3). */
static bool accepts_gzip(const char *v)
{
	double gz = -1, star = -1;

	while (v && *v) {
		size_t n;
		double q = 1;
		const char *p;

		v += strspn(v, " \t,");
		if (!*v)
			break;
		n = strcspn(v, " \t;,");
		/* parameters up to the next comma: only q matters */
		for (p = v + n; *p && *p != ','; p++) {
			if (*p != ';')
				continue;
			p += 1 + strspn(p + 1, " \t");
			if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
				char *end;

				q = strtod(p + 2, &end);
				if (end == p + 2 || q < 0 || q > 1)
					q = 0;
			}
			p--;
		}
		if ((n == 4 && !strncasecmp(v, "gzip", 4)) ||
		    (n == 6 && !strncasecmp(v, "x-gzip", 6)))
			gz = q;
		else if (n == 1 && *v == '*')
			star = q;
		v = p;
	}
	return gz >= 0 ? gz > 0 : star > 0;
}

/* gzip \p len bytes of \p in into *\p out (malloc'd), its length in
 * *\p out_len; false on failure. */
static bool gzip_bytes(const unsigned char *in, size_t len,
		       unsigned char **out, size_t *out_len)
{
	z_stream z = { 0 };
	unsigned char *buf;
	uLong cap;
	int rc;

	/* 15 + 16: a window of 32 kB with the gzip header and trailer */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	cap = deflateBound(&z, (uLong)len);
	if (!(buf = malloc(cap))) {
		deflateEnd(&z);
		return false;
	}
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return false;
	}
	*out = buf;
	return true;
}

/* The whole of \p fd, \p size bytes, into a malloc'd buffer, or NULL. */
static unsigned char *read_all(int fd, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	size_t got = 0;

	while (buf && got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	return buf;
}

static bool same_file(const struct api_gz *g, const struct stat *st)
{
	return g->dev == st->st_dev && g->ino == st->st_ino &&
	       g->size == st->st_size &&
	       g->mtime.tv_sec == st->st_mtim.tv_sec &&
	       g->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* A response of the gzip body of \p fd (the file \p real, \p st), made
 * at its first request and kept; NULL: send it plain (gzip does not pay,
 * no room is left, or it failed). Under console_lock: a file is
 * compressed once, however many ask for it at once. */
static struct MHD_Response *gz_response(struct drv_api *a, const char *real,
					int fd, const struct stat *st)
{
	struct MHD_Response *r = NULL;
	struct api_gz *g = NULL;
	unsigned char *plain, *body = NULL;
	size_t len = 0;

	pthread_mutex_lock(&a->console_lock);
	for (size_t i = 0; i < a->console_gz_cnt && !g; i++)
		if (!strcmp(a->console_gz[i].path, real))
			g = &a->console_gz[i];
	if (g && !same_file(g, st)) {
		/* changed since (a new build): made again below */
		a->console_gz_bytes -= g->len;
		free(g->body);
		g->body = NULL;
		g->len = 0;
	} else if (g) {
		goto reply;
	}
	if (!g) {
		struct api_gz *t;

		if (a->console_gz_cnt == GZ_FILES ||
		    !(t = realloc(a->console_gz, (a->console_gz_cnt + 1) *
				  sizeof(*t))))
			goto out;
		a->console_gz = t;
		g = &t[a->console_gz_cnt];
		memset(g, 0, sizeof(*g));
		if (!(g->path = strdup(real)))
			goto out;
		a->console_gz_cnt++;
	}
	g->dev = st->st_dev;
	g->ino = st->st_ino;
	g->size = st->st_size;
	g->mtime = st->st_mtim;
	if (!(plain = read_all(fd, (size_t)st->st_size)))
		goto forget;
	if (gzip_bytes(plain, (size_t)st->st_size, &body, &len) &&
	    len < (size_t)st->st_size - (size_t)st->st_size / 10 &&
	    a->console_gz_bytes + len <= GZ_BYTES) {
		g->body = body;
		g->len = len;
		a->console_gz_bytes += len;
		body = NULL;
	}
	free(plain);
	free(body);
reply:
	if (g->body)
		r = MHD_create_response_from_buffer(g->len, g->body,
						    MHD_RESPMEM_MUST_COPY);
out:
	pthread_mutex_unlock(&a->console_lock);
	return r;
forget:
	/* unreadable now: tried again at the next request */
	g->size = -1;
	goto out;
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
	char text[1200], *real = NULL;
	struct MHD_Response *r = NULL;
	enum MHD_Result ret;
	struct stat st;
	bool vary;
	int fd = -1, t;

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
		fd = open_under(root, url, &st, &real);
	if (fd < 0 && page_path(url)) {
		file = "/" INDEX;
		fd = open_under(root, file, &st, &real);
	}
	if (fd < 0)
		return send_text(conn, 404, "not found\n", NULL);
	/* a file gzip may shrink: its answer depends on Accept-Encoding */
	t = type_index(file);
	vary = t >= 0 && types[t].text && st.st_size >= GZ_MIN &&
	       st.st_size <= GZ_FILE_MAX;
	if (vary && accepts_gzip(MHD_lookup_connection_value(conn,
			MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)) &&
	    (r = gz_response(a, real, fd, &st))) {
		close(fd);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
					"gzip");
	}
	free(real);
	/* from here libmicrohttpd owns fd */
	if (!r && !(r = MHD_create_response_from_fd((uint64_t)st.st_size,
						    fd))) {
		close(fd);
		return false;
	}
	if (vary)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
					MHD_HTTP_HEADER_ACCEPT_ENCODING);
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
