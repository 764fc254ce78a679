/*
 * dlq_archive.c — the DLQ archive's files (see include/drover/dlq_archive.h
 * for the layout): names, the scan that finds where archiving continues,
 * the crash-safe write (temporary name, fsync, rename) and reading lines of
 * a gzip'd or plain file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "drover/clock.h"
#include "drover/dlq_archive.h"
#include "drover/str.h"

void drv_dlq_archive_day(int64_t ms, char day[11])
{
	char t[32];

	drv_format_time(ms, t, sizeof(t));
	memcpy(day, t, 10);
	day[10] = '\0';
}

bool drv_dlq_archive_path(const char *dir, const drv_dlq_archive_file_t *f,
			  const char *ext, char *buf, size_t size)
{
	return drv_fmt(buf, size, "%s%s%s/p%" PRId32 "-%" PRId64 "-%" PRId64
		       "%s", dir ? dir : "", dir ? "/" : "", f->day,
		       f->partition, f->first, f->last, ext);
}

/* A decimal number without sign or leading junk at *p; advances. */
static bool number(const char **p, int64_t *out)
{
	int64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

static bool is_day(const char *s)
{
	static const char shape[] = "dddd-dd-dd";

	for (size_t i = 0; i < 10; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != '-')
			return false;
	return s[10] == '\0';
}

bool drv_dlq_archive_parse_name(const char *day, const char *name,
				drv_dlq_archive_file_t *f)
{
	const char *p = name;
	int64_t part, first, last;

	if (!is_day(day) || *p++ != 'p' || !number(&p, &part) ||
	    part > INT32_MAX || *p++ != '-' || !number(&p, &first) ||
	    *p++ != '-' || !number(&p, &last) || last < first ||
	    strcmp(p, DRV_DLQ_ARCHIVE_DATA))
		return false;
	memcpy(f->day, day, 11);
	f->partition = (int32_t)part;
	f->first = first;
	f->last = last;
	return true;
}

/* The names in \p path, sorted; NULL with errno on error (ENOENT for a
 * missing folder). */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_dir(const char *path, size_t *cnt)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0;

	*cnt = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if (!(nv = realloc(v, cap * sizeof(*v))))
				goto nomem;
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name)))
			goto nomem;
		n++;
	}
	closedir(d);
	if (!v && !(v = malloc(sizeof(*v))))
		return NULL;
	qsort(v, n, sizeof(*v), name_cmp);
	*cnt = n;
	return v;
nomem:
	closedir(d);
	while (n)
		free(v[--n]);
	free(v);
	errno = ENOMEM;
	return NULL;
}

static void free_list(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static int file_cmp(const void *a, const void *b)
{
	const drv_dlq_archive_file_t *x = a, *y = b;

	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The data files of one day folder, in order, to \p fn. */
static drv_err_t scan_day(const char *dir, const char *day,
			  drv_dlq_archive_fn fn, void *arg, bool *stop,
			  char *errstr, size_t errstr_size)
{
	char path[4096];
	drv_dlq_archive_file_t *fv;
	size_t n, k = 0;
	char **names;

	drv_fmt(path, sizeof(path), "%s/%s", dir, day);
	if (!(names = list_dir(path, &n)))
		return errno == ENOTDIR ? DRV_OK :
			drv_error(errstr, errstr_size, DRV_ERR_IO, "%s: %s",
				  path, strerror(errno));
	if (!(fv = calloc(n + 1, sizeof(*fv)))) {
		free_list(names, n);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if (drv_dlq_archive_parse_name(day, names[i], &fv[k]))
			k++;
	free_list(names, n);
	qsort(fv, k, sizeof(*fv), file_cmp);
	for (size_t i = 0; i < k && !*stop; i++)
		*stop = !fn(&fv[i], arg);
	free(fv);
	return DRV_OK;
}

drv_err_t drv_dlq_archive_scan(const char *dir, drv_dlq_archive_fn fn,
			       void *arg, char *errstr, size_t errstr_size)
{
	drv_err_t rc = DRV_OK;
	bool stop = false;
	char **days;
	size_t n;

	if (!(days = list_dir(dir, &n)))
		return errno == ENOENT ? DRV_OK :
			drv_error(errstr, errstr_size, DRV_ERR_IO, "%s: %s",
				  dir, strerror(errno));
	for (size_t i = 0; i < n && !rc && !stop; i++)
		if (is_day(days[i]))
			rc = scan_day(dir, days[i], fn, arg, &stop, errstr,
				      errstr_size);
	free_list(days, n);
	return rc;
}

typedef struct resume {
	int64_t *next;
	size_t   cnt;
} resume_t;

static bool resume_visit(const drv_dlq_archive_file_t *f, void *arg)
{
	resume_t *r = arg;

	if (f->partition >= 0 && (size_t)f->partition < r->cnt &&
	    f->last + 1 > r->next[f->partition])
		r->next[f->partition] = f->last + 1;
	return true;
}

drv_err_t drv_dlq_archive_resume(const char *dir, int64_t *next,
				 size_t part_cnt, char *errstr,
				 size_t errstr_size)
{
	resume_t r = { next, part_cnt };

	for (size_t i = 0; i < part_cnt; i++)
		next[i] = 0;
	return drv_dlq_archive_scan(dir, resume_visit, &r, errstr,
				    errstr_size);
}

static drv_err_t make_dir(const char *path, char *errstr, size_t errstr_size)
{
	if (mkdir(path, 0755) && errno != EEXIST)
		return drv_error(errstr, errstr_size, DRV_ERR_IO,
				 "cannot create %s: %s", path,
				 strerror(errno));
	return DRV_OK;
}

static drv_err_t sync_path(const char *path, char *errstr,
			   size_t errstr_size)
{
	int fd = open(path, O_RDONLY);
	int rc = fd < 0 ? -1 : fsync(fd);

	if (fd >= 0)
		close(fd);
	if (rc)
		return drv_error(errstr, errstr_size, DRV_ERR_IO,
				 "cannot fsync %s: %s", path,
				 strerror(errno));
	return DRV_OK;
}

/* Write the data file \p tmp: the lines, gzip'd. */
static bool write_gz(const char *tmp, const char *const *lines, size_t cnt)
{
	gzFile gz = gzopen(tmp, "wb6");
	bool ok = gz != NULL;

	for (size_t i = 0; ok && i < cnt; i++) {
		size_t len = strlen(lines[i]);

		ok = (len == 0 || gzwrite(gz, lines[i], (unsigned)len) ==
		      (int)len) && gzputc(gz, '\n') == '\n';
	}
	if (gz && gzclose(gz) != Z_OK)
		ok = false;
	return ok;
}

static bool write_plain(const char *tmp, const char *text)
{
	FILE *f = fopen(tmp, "w");
	bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) == '\n';

	if (f && fclose(f))
		ok = false;
	return ok;
}

/* Write \p final through \p tmp: the content, fsync, rename. */
static drv_err_t put_file(const char *final, const char *const *lines,
			  size_t cnt, const char *text, char *errstr,
			  size_t errstr_size)
{
	char tmp[4200];
	drv_err_t rc;

	drv_fmt(tmp, sizeof(tmp), "%s.tmp", final);
	if (!(text ? write_plain(tmp, text) : write_gz(tmp, lines, cnt))) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_IO,
			       "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return rc;
	}
	if ((rc = sync_path(tmp, errstr, errstr_size))) {
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, final)) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_IO,
			       "cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return rc;
	}
	return DRV_OK;
}

drv_err_t drv_dlq_archive_write(const char *dir,
				const drv_dlq_archive_file_t *f,
				const char *const *lines, size_t cnt,
				const char *index_json, char *errstr,
				size_t errstr_size)
{
	char day[4096], data[4096], index[4096];
	drv_err_t rc;

	if (!drv_fmt(day, sizeof(day), "%s/%s", dir, f->day) ||
	    !drv_dlq_archive_path(dir, f, DRV_DLQ_ARCHIVE_DATA, data,
				  sizeof(data)) ||
	    !drv_dlq_archive_path(dir, f, DRV_DLQ_ARCHIVE_INDEX, index,
				  sizeof(index)))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "archive path too long: %s", dir);
	if ((rc = make_dir(dir, errstr, errstr_size)) ||
	    (rc = make_dir(day, errstr, errstr_size)) ||
	    (rc = put_file(index, NULL, 0, index_json, errstr,
			   errstr_size)) ||
	    (rc = put_file(data, lines, cnt, NULL, errstr, errstr_size)))
		return rc;
	/* the renames, and a new day folder, durable */
	if ((rc = sync_path(day, errstr, errstr_size)))
		return rc;
	return sync_path(dir, errstr, errstr_size);
}

drv_err_t drv_dlq_archive_read_lines(const char *path, drv_dlq_line_fn fn,
				     void *arg, char *errstr,
				     size_t errstr_size)
{
	gzFile gz = strcmp(path, "-") ? gzopen(path, "rb") :
		gzdopen(dup(STDIN_FILENO), "rb");
	size_t len = 0, cap = 65536, start;
	char *buf = malloc(cap), *nb;
	drv_err_t rc = DRV_OK;
	bool more = true;
	int n;

	if (!gz || !buf) {
		if (gz)
			gzclose(gz);
		free(buf);
		return gz ? drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				      "out of memory") :
			drv_error(errstr, errstr_size, DRV_ERR_IO, "%s: %s",
				  path, strerror(errno));
	}
	for (;;) {
		if (cap - len < 2) {
			if (!(nb = realloc(buf, cap * 2))) {
				rc = drv_error(errstr, errstr_size,
					       DRV_ERR_NOMEM, "out of memory");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = gzread(gz, buf + len, (unsigned)(cap - len - 1));
		if (n < 0) {
			int zerr;

			rc = drv_error(errstr, errstr_size, DRV_ERR_IO,
				       "%s: %s", path, gzerror(gz, &zerr));
			break;
		}
		len += (size_t)n;
		start = 0;
		for (size_t i = 0; more && i < len; i++) {
			if (buf[i] != '\n' && (n > 0 || i + 1 < len))
				continue;
			{
				size_t end = buf[i] == '\n' ? i : i + 1;
				size_t l = end - start;

				if (l && buf[start + l - 1] == '\r')
					l--;
				if (l) {
					char c = buf[start + l];

					buf[start + l] = '\0';
					more = fn(buf + start, l, arg);
					buf[start + l] = c;
				}
				start = i + 1;
			}
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (n == 0 || !more)
			break;
	}
	gzclose(gz);
	free(buf);
	return rc;
}
