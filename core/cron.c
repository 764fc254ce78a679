/*
 * cron.c — parsing cron expressions into one bitset per field, and finding
 * the next fire time: walk wall-clock (local) time field by field to the next
 * matching second, then map it to a UTC instant through the zone, applying
 * the DST policy documented in drover/cron.h (skipped times fire at the jump,
 * repeated times at their first occurrence).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/cron.h"
#include "drover/str.h"

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_CNT };

struct drv_cron {
	uint64_t bits[F_CNT]; /* bit v set = value v matches */
	bool     dom_star, dow_star, has_seconds;
};

static const struct field_def {
	const char  *name;
	int          min, max;
	const char  *const *names; /* names[i] is value min + i, or NULL */
} fields[F_CNT] = {
	[F_SEC]  = { "second",       0, 59, NULL },
	[F_MIN]  = { "minute",       0, 59, NULL },
	[F_HOUR] = { "hour",         0, 23, NULL },
	[F_DOM]  = { "day-of-month", 1, 31, NULL },
	[F_MON]  = { "month",        1, 12, (const char *const[]){
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
		"SEP", "OCT", "NOV", "DEC", NULL } },
	[F_DOW]  = { "day-of-week",  0, 7, (const char *const[]){
		"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL } },
};

static const struct macro {
	const char *name, *expr;
} macros[] = {
	{ "@yearly",   "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly",  "0 0 1 * *" },
	{ "@weekly",   "0 0 * * 0" },
	{ "@daily",    "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly",   "0 * * * *" },
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool eq_nocase(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (!b[i] || upper(a[i]) != upper(b[i]))
			return false;
	return b[i] == '\0';
}

/* The parse state for one field; errors quote the token at p. */
typedef struct fparse {
	const struct field_def *f;
	const char *expr;       /* whole expression, for columns */
	const char *p;          /* cursor */
	const char *end;        /* end of this field */
	char       *errstr;
	size_t      errstr_size;
} fparse_t;

static int column(const fparse_t *fp, const char *at)
{
	return (int)(at - fp->expr) + 1;
}

static drv_err_t token_error(fparse_t *fp, const char *at, const char *what)
{
	size_t n = 0;

	while (at + n < fp->end && is_alnum(at[n]) && n < 32)
		n++;
	if (n == 0 && at >= fp->end)
		return drv_error(fp->errstr, fp->errstr_size, DRV_ERR_INVALID,
				 "cron: %s field: unexpected end of field (at "
				 "column %d)", fp->f->name, column(fp, at));
	if (n == 0)
		return drv_error(fp->errstr, fp->errstr_size, DRV_ERR_INVALID,
				 "cron: %s field: unexpected character '%c' "
				 "(at column %d)", fp->f->name, *at,
				 column(fp, at));
	return drv_error(fp->errstr, fp->errstr_size, DRV_ERR_INVALID,
			 "cron: %s field: '%.*s' %s (at column %d)",
			 fp->f->name, (int)n, at, what, column(fp, at));
}

/* A number or a name of this field. */
static drv_err_t parse_value(fparse_t *fp, int *out)
{
	const char *start = fp->p;
	char what[64];
	int64_t v = 0;
	size_t n = 0;

	if (fp->p < fp->end && *fp->p >= '0' && *fp->p <= '9') {
		while (fp->p < fp->end && *fp->p >= '0' && *fp->p <= '9') {
			if (v < 1000000)
				v = v * 10 + (*fp->p - '0');
			fp->p++;
		}
		if (fp->p < fp->end && is_alnum(*fp->p))
			return token_error(fp, start, "is not a number");
		drv_fmt(what, sizeof(what), "is out of range %d-%d",
			fp->f->min, fp->f->max);
		if (v < fp->f->min || v > fp->f->max)
			return token_error(fp, start, what);
		*out = (int)v;
		return DRV_OK;
	}
	while (fp->p + n < fp->end && is_alnum(fp->p[n]))
		n++;
	if (n == 0)
		return token_error(fp, start, "");
	for (int i = 0; fp->f->names && fp->f->names[i]; i++)
		if (eq_nocase(fp->p, n, fp->f->names[i])) {
			fp->p += n;
			*out = fp->f->min + i;
			return DRV_OK;
		}
	return token_error(fp, start, "is not a known name or number");
}

static drv_err_t parse_field(fparse_t *fp, uint64_t *bits)
{
	const struct field_def *f = fp->f;
	drv_err_t rc;

	*bits = 0;
	for (;;) {
		const char *item = fp->p;
		int lo, hi, step = 1;

		if (fp->p < fp->end && *fp->p == '*') {
			fp->p++;
			lo = f->min;
			hi = f->max;
		} else {
			if ((rc = parse_value(fp, &lo)))
				return rc;
			hi = lo;
			if (fp->p < fp->end && *fp->p == '-') {
				fp->p++;
				if ((rc = parse_value(fp, &hi)))
					return rc;
				if (hi < lo)
					return drv_error(fp->errstr,
						fp->errstr_size, DRV_ERR_INVALID,
						"cron: %s field: range '%.*s' is "
						"backwards (at column %d)",
						f->name, (int)(fp->p - item),
						item, column(fp, item));
			} else if (fp->p < fp->end && *fp->p == '/') {
				hi = f->max; /* N/STEP = N-max/STEP */
			}
		}
		if (fp->p < fp->end && *fp->p == '/') {
			const char *s = ++fp->p;
			int64_t v = 0;
			char what[64];

			while (fp->p < fp->end && *fp->p >= '0' &&
			       *fp->p <= '9') {
				if (v < 1000000)
					v = v * 10 + (*fp->p - '0');
				fp->p++;
			}
			if (fp->p == s || (fp->p < fp->end && is_alnum(*fp->p)))
				return token_error(fp, s, "is not a step "
						   "number");
			drv_fmt(what, sizeof(what), "is out of range 1-%d "
				"for a step", f->max - f->min + 1);
			if (v < 1 || v > f->max - f->min + 1)
				return token_error(fp, s, what);
			step = (int)v;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= UINT64_C(1) << v;
		if (fp->p == fp->end)
			break;
		if (*fp->p != ',')
			return token_error(fp, fp->p, "");
		fp->p++;
		if (fp->p == fp->end || *fp->p == ',')
			return drv_error(fp->errstr, fp->errstr_size,
					 DRV_ERR_INVALID, "cron: %s field: empty "
					 "list item (at column %d)", f->name,
					 column(fp, fp->p));
	}
	return DRV_OK;
}

/* Parse the 5 or 6 fields of \p text; columns count from \p expr. */
static drv_err_t parse_fields(const char *expr, const char *text,
			      drv_cron_t *c, char *errstr, size_t errstr_size)
{
	const char *start[7], *end[7], *p = text;
	int n = 0, first;

	while (*p) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		if (n == 7)
			break;
		start[n] = p;
		while (*p && !is_blank(*p))
			p++;
		end[n++] = p;
	}
	if (n == 7 || (n != 5 && n != 6))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "cron: expected 5 or 6 fields (or an @macro), "
				 "got %s%d", n == 7 ? "more than " : "",
				 n == 7 ? 6 : n);
	c->has_seconds = n == 6;
	first = n == 6 ? F_SEC : F_MIN;
	if (n == 5)
		c->bits[F_SEC] = 1;
	for (int i = 0; i < n; i++) {
		fparse_t fp = { &fields[first + i], expr, start[i], end[i],
				errstr, errstr_size };
		drv_err_t rc = parse_field(&fp, &c->bits[first + i]);

		if (rc)
			return rc;
	}
	c->dom_star = *start[n - 3] == '*';
	c->dow_star = *start[n - 1] == '*';
	if (c->bits[F_DOW] & (UINT64_C(1) << 7))
		c->bits[F_DOW] = (c->bits[F_DOW] | 1) & 0x7f;
	return DRV_OK;
}

drv_err_t drv_cron_parse(const char *expr, drv_cron_t **out, char *errstr,
			 size_t errstr_size)
{
	const char *p = expr ? expr : "";
	drv_cron_t *c;
	drv_err_t rc;

	*out = NULL;
	while (is_blank(*p))
		p++;
	if (!*p)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "cron: empty expression");
	if (!(c = calloc(1, sizeof(*c))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if (*p == '@') {
		size_t n = 0, i;
		const char *q;

		while (p[n] && !is_blank(p[n]))
			n++;
		for (q = p + n; is_blank(*q); q++)
			;
		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (eq_nocase(p, n, macros[i].name))
				break;
		if (*q)
			rc = drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				       "cron: unexpected text after %.*s (at "
				       "column %d)", (int)n, p,
				       (int)(q - expr) + 1);
		else if (i == sizeof(macros) / sizeof(macros[0]))
			rc = drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				       "cron: %s macro '%.*s' (at column %d); "
				       "use @yearly, @annually, @monthly, "
				       "@weekly, @daily, @midnight or @hourly",
				       eq_nocase(p, n, "@reboot") ?
				       "unsupported" : "unknown", (int)n, p,
				       (int)(p - expr) + 1);
		else /* the macro's own columns would mislead; they are valid */
			rc = parse_fields(macros[i].expr, macros[i].expr, c,
					  errstr, errstr_size);
	} else {
		rc = parse_fields(expr, p, c, errstr, errstr_size);
	}
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return DRV_OK;
}

void drv_cron_free(drv_cron_t *c)
{
	free(c);
}

bool drv_cron_has_seconds(const drv_cron_t *c)
{
	return c->has_seconds;
}

static bool has(const drv_cron_t *c, int f, int v)
{
	return (c->bits[f] >> v) & 1;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				   30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

static bool day_matches(const drv_cron_t *c, int y, int m, int d)
{
	int64_t days = drv_civil_to_seconds(y, m, d, 0, 0, 0) / 86400;
	int wday = (int)(((days + 4) % 7 + 7) % 7);
	bool dom = has(c, F_DOM, d), dow = has(c, F_DOW, wday);

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

/* The first matching wall-clock time at or after \p from (local seconds);
 * false if none before the end of year \p last_year. */
static bool next_local(const drv_cron_t *c, int64_t from, int last_year,
		       int64_t *out)
{
	drv_civil_t t;
	int y, mo, d, h, mi, s;

	drv_seconds_to_civil(from, &t);
	y = t.year, mo = t.month, d = t.day;
	h = t.hour, mi = t.minute, s = t.second;
	for (;;) {
		/* carry overflowing fields upwards */
		if (s > 59)
			s = 0, mi++;
		if (mi > 59)
			mi = 0, h++;
		if (h > 23)
			h = 0, d++;
		if (mo > 12) /* month first: days_in_month() needs 1-12 */
			mo = 1, y++;
		if (d > days_in_month(y, mo) && (d = 1, ++mo > 12))
			mo = 1, y++;
		if (y > last_year)
			return false;
		if (!has(c, F_MON, mo))
			mo++, d = 1, h = mi = s = 0;
		else if (!day_matches(c, y, mo, d))
			d++, h = mi = s = 0;
		else if (!has(c, F_HOUR, h))
			h++, mi = s = 0;
		else if (!has(c, F_MIN, mi))
			mi++, s = 0;
		else if (!has(c, F_SEC, s))
			s++;
		else
			break;
	}
	*out = drv_civil_to_seconds(y, mo, d, h, mi, s);
	return true;
}

drv_err_t drv_cron_next(const drv_cron_t *c, const drv_tz_t *tz,
			int64_t after_ms, int64_t *next_ms)
{
	int64_t after_s = after_ms / 1000 - (after_ms % 1000 < 0);
	int64_t from = after_s + drv_tz_offset(tz, after_s, NULL, NULL) + 1;
	int64_t local, u;
	drv_civil_t t;

	drv_seconds_to_civil(from, &t);
	/* A wall time whose first occurrence is not after `after` (the rest of
	 * a repeated hour, seen from its second pass) already fired: skip it.
	 * That loop is bounded by the length of the repeated stretch. */
	while (next_local(c, from, t.year + DRV_CRON_SEARCH_YEARS, &local)) {
		if (local > DRV_TIME_MAX_MS / 1000)
			break; /* a local year past 9999 */
		u = drv_tz_from_local(tz, local, NULL);
		if (u > DRV_TIME_MAX_MS / 1000)
			break;
		if (u > after_s) {
			*next_ms = u * 1000;
			return DRV_OK;
		}
		from = local + 1;
	}
	return DRV_ERR_NOT_FOUND;
}
