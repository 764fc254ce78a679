/*
 * tz.c — IANA time zones read from TZif files, for code that must convert
 * between UTC and many zones' wall clocks at once (the scheduler). A zone is
 * its transition table plus the POSIX TZ footer for instants after the last
 * transition; once loaded it is read-only, so it is safe to share between
 * threads. Also the zone-free civil <-> seconds arithmetic (proleptic
 * Gregorian, after Howard Hinnant's days_from_civil) the rest of the core
 * uses instead of timegm()/gmtime_r().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drover/str.h"
#include "drover/tz.h"

#define TZIF_MAX_BYTES (1 << 20)
#define ABBR_MAX 15

typedef struct tz_type {
	int32_t utoff;
	bool    isdst;
	uint32_t abbr; /* index into drv_tz.abbrs */
} tz_type_t;

/* One end of a POSIX DST rule: which day, and the local time on it. */
typedef struct rule_date {
	char    kind;  /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' */
	int     n, m, w, d;
	int32_t time;  /* seconds after local midnight, may be <0 or >24h */
} rule_date_t;

typedef struct posix_rule {
	char        std[ABBR_MAX + 1], dst[ABBR_MAX + 1];
	int32_t     std_off, dst_off; /* seconds east of UTC */
	bool        has_dst;
	rule_date_t start, end;
} posix_rule_t;

struct drv_tz {
	char        *name;
	size_t       ntrans;
	int64_t     *trans;
	uint8_t     *idx;
	size_t       ntypes;
	tz_type_t   *types;
	char        *abbrs;
	bool         has_rule;
	posix_rule_t rule;
};

/* --- civil arithmetic -------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y += floor_div(m - 1, 12);
	m -= floor_div(m - 1, 12) * 12;
	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t drv_civil_to_seconds(int year, int month, int day, int hour,
			     int minute, int second)
{
	return days_from_civil(year, month, day) * 86400 +
	       (int64_t)hour * 3600 + (int64_t)minute * 60 + second;
}

void drv_seconds_to_civil(int64_t s, drv_civil_t *out)
{
	int64_t z = floor_div(s, 86400), sod = s - z * 86400;
	int64_t era, doe, yoe, doy, mp, y;

	out->wday = (int)(z - floor_div(z + 4, 7) * 7 + 4);
	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	out->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	out->year = (int)(y + (out->month <= 2));
	out->hour = (int)(sod / 3600);
	out->minute = (int)(sod / 60 % 60);
	out->second = (int)(sod % 60);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				   30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* --- POSIX TZ footer --------------------------------------------------- */

static bool parse_abbr(const char **pp, char *out)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '<') {
		for (p++; *p && *p != '>'; p++)
			if (n < ABBR_MAX)
				out[n++] = *p;
		if (*p != '>')
			return false;
		p++;
	} else {
		for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
		     p++)
			if (n < ABBR_MAX)
				out[n++] = *p;
	}
	out[n] = '\0';
	*pp = p;
	return n > 0;
}

static bool parse_num(const char **pp, int max, int *out)
{
	const char *p = *pp;
	int v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (*p - '0')) > max)
			return false;
	*out = v;
	*pp = p;
	return true;
}

/* [+-]hh[:mm[:ss]] in seconds, hours up to max_h */
static bool parse_hms(const char **pp, int max_h, int32_t *out)
{
	const char *p = *pp;
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!parse_num(&p, max_h, &h))
		return false;
	if (*p == ':') {
		p++;
		if (!parse_num(&p, 59, &m))
			return false;
		if (*p == ':') {
			p++;
			if (!parse_num(&p, 59, &s))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	*pp = p;
	return true;
}

static bool parse_rule_date(const char **pp, rule_date_t *r)
{
	const char *p = *pp;

	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (!parse_num(&p, 365, &r->n) || r->n < 1)
			return false;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (!parse_num(&p, 12, &r->m) || r->m < 1 || *p++ != '.' ||
		    !parse_num(&p, 5, &r->w) || r->w < 1 || *p++ != '.' ||
		    !parse_num(&p, 6, &r->d))
			return false;
	} else {
		r->kind = 'D';
		if (!parse_num(&p, 365, &r->n))
			return false;
	}
	r->time = 7200;
	if (*p == '/') {
		p++;
		if (!parse_hms(&p, 167, &r->time))
			return false;
	}
	*pp = p;
	return true;
}

static bool parse_posix(const char *s, posix_rule_t *r)
{
	const char *p = s;
	int32_t v;

	memset(r, 0, sizeof(*r));
	if (!parse_abbr(&p, r->std) || !parse_hms(&p, 24, &v))
		return false;
	r->std_off = r->dst_off = -v;
	if (!*p)
		return true;
	if (!parse_abbr(&p, r->dst))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!parse_hms(&p, 24, &v))
			return false;
		r->dst_off = -v;
	}
	if (!*p) { /* POSIX leaves the default rule open; use the US one */
		r->start = (rule_date_t){ 'M', 0, 3, 2, 0, 7200 };
		r->end = (rule_date_t){ 'M', 0, 11, 1, 0, 7200 };
		return true;
	}
	if (*p++ != ',' || !parse_rule_date(&p, &r->start) || *p++ != ',' ||
	    !parse_rule_date(&p, &r->end))
		return false;
	return *p == '\0';
}

/* Local seconds of the rule's date and time in year y. */
static int64_t rule_local(const rule_date_t *r, int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1), day;

	if (r->kind == 'J')
		day = jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	else if (r->kind == 'D')
		day = jan1 + r->n;
	else {
		int64_t first = days_from_civil(y, r->m, 1);
		int wd1 = (int)(first - floor_div(first + 4, 7) * 7 + 4);
		int dom = 1 + (r->d - wd1 + 7) % 7 + (r->w - 1) * 7;

		while (dom > days_in_month(y, r->m))
			dom -= 7;
		day = first + dom - 1;
	}
	return day * 86400 + r->time;
}

static bool rule_isdst(const posix_rule_t *r, int64_t u)
{
	drv_civil_t c;
	int64_t s, e;

	if (!r->has_dst)
		return false;
	drv_seconds_to_civil(u + r->std_off, &c);
	s = rule_local(&r->start, c.year) - r->std_off;
	e = rule_local(&r->end, c.year) - r->dst_off;
	if (s < e)
		return u >= s && u < e;
	return !(u >= e && u < s);
}

/* --- TZif -------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

void drv_tz_free(drv_tz_t *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->idx);
	free(tz->types);
	free(tz->abbrs);
	free(tz);
}

static drv_tz_t *tz_utc(const char *name)
{
	drv_tz_t *tz = calloc(1, sizeof(*tz));

	if (!tz || !(tz->name = drv_strdup(name ? name : "UTC"))) {
		free(tz);
		return NULL;
	}
	tz->has_rule = true;
	drv_strlcpy(tz->rule.std, "UTC", sizeof(tz->rule.std));
	return tz;
}

drv_err_t drv_tz_parse(const char *name, const unsigned char *data,
		       size_t len, drv_tz_t **out, char *errstr,
		       size_t errstr_size)
{
	uint32_t cnt[6]; /* isut, isstd, leap, time, type, char */
	const unsigned char *p;
	size_t need, i;
	drv_tz_t *tz;

	*out = NULL;
	name = name ? name : "";
	if (len < 44 || memcmp(data, "TZif", 4))
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "zone %s: not a TZif file", name);
	if (data[4] < '2')
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "zone %s: TZif version 1 has no 64-bit data",
				 name);
	for (i = 0; i < 6; i++)
		cnt[i] = be32(data + 20 + 4 * i);
	need = 44 + (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + cnt[5] +
	       (size_t)cnt[2] * 8 + cnt[1] + cnt[0];
	if (len < need + 44 || memcmp(data + need, "TZif", 4))
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "zone %s: truncated TZif file", name);
	p = data + need;
	for (i = 0; i < 6; i++)
		cnt[i] = be32(p + 20 + 4 * i);
	p += 44;
	need = (size_t)cnt[3] * 9 + (size_t)cnt[4] * 6 + cnt[5] +
	       (size_t)cnt[2] * 12 + cnt[1] + cnt[0];
	if ((size_t)(data + len - p) < need || cnt[4] == 0 || cnt[4] > 256)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "zone %s: truncated or invalid TZif data",
				 name);
	if (cnt[2])
		return drv_error(errstr, errstr_size, DRV_ERR_UNSUPPORTED,
				 "zone %s: leap-second zones are not supported",
				 name);
	if (!(tz = calloc(1, sizeof(*tz))) || !(tz->name = drv_strdup(name)) ||
	    !(tz->trans = malloc(sizeof(int64_t) * (cnt[3] + 1))) ||
	    !(tz->idx = malloc(cnt[3] + 1)) ||
	    !(tz->types = calloc(cnt[4], sizeof(tz_type_t))) ||
	    !(tz->abbrs = calloc(cnt[5] + 1, 1))) {
		drv_tz_free(tz);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	tz->ntrans = cnt[3];
	tz->ntypes = cnt[4];
	for (i = 0; i < tz->ntrans; i++, p += 8) {
		tz->trans[i] = be64(p);
		if (i && tz->trans[i] <= tz->trans[i - 1])
			goto bad;
	}
	for (i = 0; i < tz->ntrans; i++, p++)
		if ((tz->idx[i] = *p) >= tz->ntypes)
			goto bad;
	for (i = 0; i < tz->ntypes; i++, p += 6) {
		tz->types[i].utoff = (int32_t)be32(p);
		tz->types[i].isdst = p[4] != 0;
		tz->types[i].abbr = p[5];
		if (p[5] >= cnt[5] || tz->types[i].utoff < -25 * 3600 ||
		    tz->types[i].utoff > 26 * 3600)
			goto bad;
	}
	memcpy(tz->abbrs, p, cnt[5]);
	p += cnt[5] + cnt[2] * 12 + cnt[1] + cnt[0];
	/* footer: "\nTZ\n"; an empty TZ means "no rule" */
	if (p < data + len && *p == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n',
						 (size_t)(data + len - p - 1));
		char rule[128];

		if (nl && nl > p + 1) {
			if ((size_t)(nl - p - 1) >= sizeof(rule))
				goto bad;
			memcpy(rule, p + 1, (size_t)(nl - p - 1));
			rule[nl - p - 1] = '\0';
			if (!parse_posix(rule, &tz->rule)) {
				drv_tz_free(tz);
				return drv_error(errstr, errstr_size,
						 DRV_ERR_DECODE, "zone %s: "
						 "unsupported TZ rule '%s'",
						 name, rule);
			}
			tz->has_rule = true;
		}
	}
	*out = tz;
	return DRV_OK;
bad:
	drv_tz_free(tz);
	return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
			 "zone %s: invalid TZif data", name);
}

static bool valid_name(const char *name)
{
	const char *p;

	if (name[0] == '/' || strlen(name) > 255)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("_+-/.", *p)))
			return false;
	/* no "." or ".." components, no empty ones */
	for (p = name; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (p[0] == '.' && (n == 1 || (n == 2 &&
						  p[1] == '.'))))
			return false;
		p += n;
		if (*p == '/' && !*++p)
			return false;
	}
	return true;
}

drv_err_t drv_tz_load(const char *name, drv_tz_t **out, char *errstr,
		      size_t errstr_size)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *buf;
	struct stat st;
	size_t n;
	drv_err_t rc;
	FILE *f;

	*out = NULL;
	if (!name || !*name || !strcmp(name, "UTC")) {
		if (!(*out = tz_utc("UTC")))
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		return DRV_OK;
	}
	if (!valid_name(name))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "'%s' is not a valid time zone name", name);
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if (!drv_fmt(path, sizeof(path), "%s/%s", dir, name))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "time zone name '%s' is too long", name);
	if (!(f = fopen(path, "rb")))
		return drv_error(errstr, errstr_size, errno == ENOENT ?
				 DRV_ERR_NOT_FOUND : DRV_ERR_IO,
				 "unknown time zone '%s' (%s: %s)", name, path,
				 strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > TZIF_MAX_BYTES) {
		fclose(f);
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "unknown time zone '%s' (%s is not a zone "
				 "file)", name, path);
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		fclose(f);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	rc = drv_tz_parse(name, buf, n, out, errstr, errstr_size);
	free(buf);
	return rc;
}

const char *drv_tz_name(const drv_tz_t *tz)
{
	return tz ? tz->name : "UTC";
}

int32_t drv_tz_offset(const drv_tz_t *tz, int64_t u, bool *isdst,
		      const char **abbr)
{
	const tz_type_t *t;
	size_t lo, hi;

	if (!tz || (tz->has_rule && (tz->ntrans == 0 ||
				     u >= tz->trans[tz->ntrans - 1]))) {
		const posix_rule_t *r = tz ? &tz->rule : NULL;
		bool dst = r && rule_isdst(r, u);

		if (isdst)
			*isdst = dst;
		if (abbr)
			*abbr = !r ? "UTC" : dst ? r->dst : r->std;
		return !r ? 0 : dst ? r->dst_off : r->std_off;
	}
	if (tz->ntrans == 0 || u < tz->trans[0]) {
		t = &tz->types[0];
	} else { /* the last transition at or before u */
		lo = 0;
		hi = tz->ntrans;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (tz->trans[mid] <= u)
				lo = mid;
			else
				hi = mid;
		}
		t = &tz->types[tz->idx[lo]];
	}
	if (isdst)
		*isdst = t->isdst;
	if (abbr)
		*abbr = tz->abbrs + t->abbr;
	return t->utoff;
}

void drv_tz_to_civil(const drv_tz_t *tz, int64_t utc_s, drv_civil_t *out)
{
	const char *abbr;

	out->utoff = drv_tz_offset(tz, utc_s, &out->isdst, &abbr);
	drv_strlcpy(out->abbr, abbr, sizeof(out->abbr));
	drv_seconds_to_civil(utc_s + out->utoff, out);
}

int64_t drv_tz_from_local(const drv_tz_t *tz, int64_t l, drv_tz_local_t *how)
{
	/* The offsets a day either side bracket any one transition near l. */
	int32_t oa = drv_tz_offset(tz, l - 86400, NULL, NULL);
	int32_t ob = drv_tz_offset(tz, l + 86400, NULL, NULL);
	int64_t ua = l - oa, ub = l - ob, lo, hi;
	bool va = drv_tz_offset(tz, ua, NULL, NULL) == oa;
	bool vb = drv_tz_offset(tz, ub, NULL, NULL) == ob;
	drv_tz_local_t dummy;
	int32_t olo;

	if (!how)
		how = &dummy;
	*how = DRV_TZ_UNIQUE;
	if (va && vb) {
		if (ua == ub)
			return ua;
		*how = DRV_TZ_REPEATED;
		return ua < ub ? ua : ub;
	}
	if (va || vb)
		return va ? ua : ub;
	/* a gap: the instant of the jump lies between the two candidates */
	*how = DRV_TZ_SKIPPED;
	lo = ua < ub ? ua : ub;
	hi = ua < ub ? ub : ua;
	olo = drv_tz_offset(tz, lo, NULL, NULL);
	if (drv_tz_offset(tz, hi, NULL, NULL) == olo)
		return ua; /* not expected with one transition per day */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (drv_tz_offset(tz, mid, NULL, NULL) == olo)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}
