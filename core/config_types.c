/*
 * config_types.c — the value types of the configuration table: how each
 * type (string, bounded integer, number, boolean, duration, enum, duration
 * list, integer list, argv, string map) is parsed from a YAML node or an
 * environment string, freed, written back as YAML, and described in the
 * reference page.
 *
 * Parsers replace a field only on success, so a bad value never leaves a
 * half-built config behind, and every message names the place and the key.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "drover/str.h"

/* ------------------------------------------------------------------ */
/* Parsing, one function per type                                      */
/* ------------------------------------------------------------------ */

#define DURATION_EXAMPLES "such as 500ms, 30s, 5m, 2h or 7d"

static const char *kind_name(const drv_cfg_value_t *v)
{
	switch (v->kind) {
	case DRV_CFG_SEQUENCE: return "a list";
	case DRV_CFG_MAPPING:  return "a mapping";
	case DRV_CFG_SCALAR:   break;
	}
	return "a scalar";
}

static drv_err_t nomem(char *errstr, size_t errstr_size)
{
	return drv_error(errstr, errstr_size, DRV_ERR_NOMEM, "out of memory");
}

static void join_enums(const char *const *names, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i] && off < size; i++) {
		drv_fmt(buf + off, size - off, "%s%s", i ? ", " : "",
			names[i]);
		off += strlen(buf + off);
	}
}

/* The entry of NULL-terminated \p names equal to \p s in any case. */
static const char *find_name(const char *const *names, const char *s)
{
	for (size_t i = 0; names[i]; i++)
		if (!strcasecmp(s, names[i]))
			return names[i];
	return NULL;
}

static drv_err_t parse_string(const drv_cfg_key_t *k, const char *name,
			      const drv_cfg_value_t *v, void *field,
			      char *errstr, size_t errstr_size)
{
	char **dst = field;
	const char *s;
	size_t len;
	char *copy;
	drv_err_t err;

	if (v->kind != DRV_CFG_SCALAR)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a string, got %s", kind_name(v));
	s = v->null ? "" : v->text;
	len = strlen(s);
	if (k->enums) {
		const char *canon = find_name(k->enums, s);
		char names[128];

		join_enums(k->enums, names, sizeof(names));
		if (!canon)
			return drv_cfg_fail(errstr, errstr_size, &v->where,
					    name, "expected one of %s, got "
					    "'%.80s'", names, s);
		s = canon;
	} else if (len == 0 && k->min > 0) {
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "must not be empty");
	} else if ((int64_t)len < k->min ||
		   (k->max > 0 && (int64_t)len > k->max)) {
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "must be %lld to %lld characters long, "
				    "got %zu", (long long)k->min,
				    (long long)k->max, len);
	}
	if (k->check &&
	    (err = k->check(k, name, s, &v->where, errstr, errstr_size)))
		return err;
	if (!(copy = strdup(s)))
		return nomem(errstr, errstr_size);
	free(*dst);
	*dst = copy;
	return DRV_OK;
}

static drv_err_t parse_integer(const drv_cfg_key_t *k, const char *name,
			       const drv_cfg_value_t *v, int64_t *out,
			       char *errstr, size_t errstr_size)
{
	int64_t n;
	drv_err_t err;

	if (v->kind != DRV_CFG_SCALAR)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected an integer, got %s",
				    kind_name(v));
	err = drv_parse_int(v->text, INT64_MIN, INT64_MAX, &n);
	if (err == DRV_ERR_INVALID)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected an integer, got '%.80s'",
				    v->text);
	if (err != DRV_OK || n < k->min || n > k->max)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "%.80s is out of range [%lld, %lld]",
				    v->text, (long long)k->min,
				    (long long)k->max);
	*out = n;
	return DRV_OK;
}

static drv_err_t parse_int(const drv_cfg_key_t *k, const char *name,
			   const drv_cfg_value_t *v, void *field,
			   char *errstr, size_t errstr_size)
{
	return parse_integer(k, name, v, field, errstr, errstr_size);
}

static drv_err_t parse_u32(const drv_cfg_key_t *k, const char *name,
			   const drv_cfg_value_t *v, void *field,
			   char *errstr, size_t errstr_size)
{
	int64_t n;
	drv_err_t err = parse_integer(k, name, v, &n, errstr, errstr_size);

	if (err == DRV_OK)
		*(uint32_t *)field = (uint32_t)n;
	return err;
}

/* A plain decimal number ("2", "1.5", "2.5e1"): no hex, inf or nan. */
static drv_err_t parse_double(const drv_cfg_key_t *k, const char *name,
			      const drv_cfg_value_t *v, void *field,
			      char *errstr, size_t errstr_size)
{
	const char *p;
	char *end;
	double d;

	if (v->kind != DRV_CFG_SCALAR)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a number, got %s", kind_name(v));
	p = v->text + (*v->text == '+' || *v->text == '-');
	if (!isdigit((unsigned char)*p) &&
	    !(*p == '.' && isdigit((unsigned char)p[1])))
		goto invalid;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p))
			goto invalid;
	errno = 0;
	d = strtod(v->text, &end);
	if (end == v->text || *end)
		goto invalid;
	if (errno == ERANGE || !isfinite(d) || d < (double)k->min ||
	    d > (double)k->max)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "%.80s is out of range [%lld, %lld]",
				    v->text, (long long)k->min,
				    (long long)k->max);
	*(double *)field = d;
	return DRV_OK;
invalid:
	return drv_cfg_fail(errstr, errstr_size, &v->where, name,
			    "expected a number such as 2 or 1.5, got "
			    "'%.80s'", v->text);
}

static drv_err_t parse_bool(const drv_cfg_key_t *k, const char *name,
			    const drv_cfg_value_t *v, void *field,
			    char *errstr, size_t errstr_size)
{
	(void)k;
	if (v->kind != DRV_CFG_SCALAR)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a boolean (true or false), "
				    "got %s", kind_name(v));
	if (drv_parse_bool(v->text, field) != DRV_OK)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a boolean (true or false), "
				    "got '%.80s'", v->text);
	return DRV_OK;
}

static drv_err_t parse_one_duration(const drv_cfg_key_t *k, const char *name,
				    const drv_cfg_value_t *v, int64_t *out,
				    char *errstr, size_t errstr_size)
{
	char lo[32], hi[32], got[32];
	int64_t ms;
	drv_err_t err;

	if (v->kind != DRV_CFG_SCALAR)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a duration " DURATION_EXAMPLES
				    ", got %s", kind_name(v));
	err = drv_parse_duration(v->text, &ms);
	if (err == DRV_ERR_INVALID)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a duration " DURATION_EXAMPLES
				    ", got '%.80s'", v->text);
	drv_format_duration(k->min, lo, sizeof(lo));
	drv_format_duration(k->max, hi, sizeof(hi));
	if (err != DRV_OK)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "%.80s is out of range [%s, %s]",
				    v->text, lo, hi);
	if (ms < k->min || ms > k->max) {
		drv_format_duration(ms, got, sizeof(got));
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "%s is out of range [%s, %s]", got, lo,
				    hi);
	}
	*out = ms;
	return DRV_OK;
}

static drv_err_t parse_duration(const drv_cfg_key_t *k, const char *name,
				const drv_cfg_value_t *v, void *field,
				char *errstr, size_t errstr_size)
{
	return parse_one_duration(k, name, v, field, errstr, errstr_size);
}

static drv_err_t parse_enum(const drv_cfg_key_t *k, const char *name,
			    const drv_cfg_value_t *v, void *field,
			    char *errstr, size_t errstr_size)
{
	char names[128];

	join_enums(k->enums, names, sizeof(names));
	if (v->kind != DRV_CFG_SCALAR)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected one of %s, got %s", names,
				    kind_name(v));
	for (int i = 0; k->enums[i]; i++) {
		if (!strcasecmp(v->text, k->enums[i])) {
			*(int *)field = i;
			return DRV_OK;
		}
	}
	return drv_cfg_fail(errstr, errstr_size, &v->where, name,
			    "expected one of %s, got '%.80s'", names,
			    v->text);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * The entries of list value \p v, at most \p max_cnt, into \p items: a YAML
 * sequence's items as they are, or (env, defaults) a scalar "a, b, c" with
 * optional [ ], split at the commas; the entries then point into *copy,
 * which the caller frees (NULL for a sequence). \p what names the entries
 * in messages ("durations").
 */
static drv_err_t list_items(const char *name, const drv_cfg_value_t *v,
			    const char *what, size_t min_cnt, size_t max_cnt,
			    drv_cfg_value_t *items, size_t *cnt, char **copy,
			    char *errstr, size_t errstr_size)
{
	size_t n = 0;
	char *s, *p;
	bool more;

	*copy = NULL;
	if (v->kind == DRV_CFG_MAPPING)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a list of %s, got a mapping",
				    what);
	if (v->kind == DRV_CFG_SEQUENCE) {
		n = v->item_cnt;
		if (n > max_cnt)
			goto count;
		if (n)
			memcpy(items, v->items, n * sizeof(*items));
	} else {
		size_t len;

		if (!(*copy = strdup(v->null ? "" : v->text)))
			return nomem(errstr, errstr_size);
		s = trim(*copy);
		len = strlen(s);
		if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
			s[len - 1] = '\0';
			s = trim(s + 1);
		}
		for (p = s; *s;) {
			char *comma = strchr(p, ',');

			if (comma)
				*comma = '\0';
			if (n == max_cnt)
				goto count;
			items[n] = *v;
			items[n].text = trim(p);
			items[n].null = false;
			n++;
			if (!comma)
				break;
			p = comma + 1;
		}
	}
	if (n >= min_cnt) {
		*cnt = n;
		return DRV_OK;
	}
count:
	/* a scalar stops splitting when the list is full */
	more = *copy && n == max_cnt;
	free(*copy);
	*copy = NULL;
	if (min_cnt)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected %zu to %zu entries, got %s%zu",
				    min_cnt, max_cnt, more ? "more than " : "",
				    n);
	return drv_cfg_fail(errstr, errstr_size, &v->where, name,
			    "expected at most %zu entries, got %s%zu",
			    max_cnt, more ? "more than " : "", n);
}

/* A YAML sequence, or (env, defaults) "1s,10s,1m" with optional [ ]:
 * 1 to DRV_CFG_LIST_MAX durations, strictly ascending. */
static drv_err_t parse_duration_list(const drv_cfg_key_t *k,
				     const char *name,
				     const drv_cfg_value_t *v, void *field,
				     size_t *cnt, char *errstr,
				     size_t errstr_size)
{
	drv_cfg_value_t items[DRV_CFG_LIST_MAX];
	int64_t vals[DRV_CFG_LIST_MAX];
	int64_t **dst = field, *arr;
	char a[32], b[32], *copy;
	size_t n = 0;	/* -O3 cannot see list_items() always sets it */
	drv_err_t err = list_items(name, v, "durations", 1, DRV_CFG_LIST_MAX,
				   items, &n, &copy, errstr, errstr_size);

	for (size_t i = 0; i < n && !err; i++) {
		err = parse_one_duration(k, name, &items[i], &vals[i], errstr,
					 errstr_size);
		if (!err && i && vals[i] <= vals[i - 1]) {
			drv_format_duration(vals[i], a, sizeof(a));
			drv_format_duration(vals[i - 1], b, sizeof(b));
			err = drv_cfg_fail(errstr, errstr_size,
					   &items[i].where, name,
					   "%s is not greater than %s before "
					   "it; the list must be strictly "
					   "ascending", a, b);
		}
	}
	free(copy);
	if (err)
		return err;
	if (!(arr = malloc(n * sizeof(*arr))))
		return nomem(errstr, errstr_size);
	memcpy(arr, vals, n * sizeof(*arr));
	free(*dst);
	*dst = arr;
	*cnt = n;
	return DRV_OK;
}

/* Like a duration list, but integers in [min, max], no repeats, and empty
 * is fine (the array is allocated all the same). */
static drv_err_t parse_int_list(const drv_cfg_key_t *k, const char *name,
				const drv_cfg_value_t *v, void *field,
				size_t *cnt, char *errstr, size_t errstr_size)
{
	drv_cfg_value_t items[DRV_CFG_INT_LIST_MAX];
	int vals[DRV_CFG_INT_LIST_MAX];
	int **dst = field, *arr;
	char *copy;
	size_t n = 0;	/* as above */
	drv_err_t err = list_items(name, v, "integers", 0,
				   DRV_CFG_INT_LIST_MAX, items, &n, &copy,
				   errstr, errstr_size);

	for (size_t i = 0; i < n && !err; i++) {
		int64_t x = 0;

		err = parse_integer(k, name, &items[i], &x, errstr,
				    errstr_size);
		vals[i] = (int)x;
		for (size_t j = 0; j < i && !err; j++)
			if (vals[j] == vals[i])
				err = drv_cfg_fail(errstr, errstr_size,
						   &items[i].where, name,
						   "%d is listed twice",
						   vals[i]);
	}
	free(copy);
	if (err)
		return err;
	if (!(arr = malloc((n ? n : 1) * sizeof(*arr))))
		return nomem(errstr, errstr_size);
	memcpy(arr, vals, n * sizeof(*arr));
	free(*dst);
	*dst = arr;
	*cnt = n;
	return DRV_OK;
}

static void free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* A list of strings (argv), or one string (the script for shell: true;
 * config.c checks the two agree). */
static drv_err_t parse_argv(const drv_cfg_key_t *k, const char *name,
			    const drv_cfg_value_t *v, void *field,
			    size_t *cnt, char *errstr, size_t errstr_size)
{
	const drv_cfg_value_t *items = v;
	size_t n = 1;
	char ***dst = field, **argv;

	if (v->kind == DRV_CFG_MAPPING)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a list of strings (argv), got "
				    "a mapping");
	if (v->kind == DRV_CFG_SEQUENCE) {
		items = v->items;
		n = v->item_cnt;
	} else if (v->null) {
		n = 0;
	}
	if (n == 0 && !(k->flags & DRV_CFG_REQUIRED)) {
		/* an optional list (coordinator.event_topics) may be empty */
		free_argv(*dst);
		*dst = NULL;
		*cnt = 0;
		return DRV_OK;
	}
	if (n == 0)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "must not be empty");
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind != DRV_CFG_SCALAR)
			return drv_cfg_fail(errstr, errstr_size,
					    &items[i].where, name,
					    "expected a string, got %s",
					    kind_name(&items[i]));
	}
	if (items[0].null || !*items[0].text)
		return drv_cfg_fail(errstr, errstr_size, &items[0].where,
				    name, "the program (first entry) must "
				    "not be empty");
	if (!(argv = calloc(n + 1, sizeof(*argv))))
		return nomem(errstr, errstr_size);
	for (size_t i = 0; i < n; i++) {
		argv[i] = strdup(items[i].null ? "" : items[i].text);
		if (!argv[i]) {
			free_argv(argv);
			return nomem(errstr, errstr_size);
		}
	}
	free_argv(*dst);
	*dst = argv;
	*cnt = n;
	return DRV_OK;
}

/* A list of names, or one comma-separated string (as from the environment);
 * empty is fine; each entry goes through the row's check. */
static drv_err_t parse_name_list(const drv_cfg_key_t *k, const char *name,
				 const drv_cfg_value_t *v, void *field,
				 size_t *cnt, char *errstr, size_t errstr_size)
{
	drv_cfg_value_t items[DRV_CFG_INT_LIST_MAX];
	char ***dst = field, **list = NULL, *copy;
	size_t n = 0;	/* as in parse_int_list() */
	drv_err_t err = list_items(name, v, "names", 0, DRV_CFG_INT_LIST_MAX,
				   items, &n, &copy, errstr, errstr_size);

	for (size_t i = 0; i < n && !err; i++) {
		if (items[i].kind != DRV_CFG_SCALAR)
			err = drv_cfg_fail(errstr, errstr_size,
					   &items[i].where, name,
					   "expected a string, got %s",
					   kind_name(&items[i]));
		else if (items[i].null || !*items[i].text)
			err = drv_cfg_fail(errstr, errstr_size,
					   &items[i].where, name,
					   "an entry must not be empty");
		else if (k->check)
			err = k->check(k, name, items[i].text,
				       &items[i].where, errstr, errstr_size);
	}
	if (!err && n && !(list = calloc(n + 1, sizeof(*list))))
		err = nomem(errstr, errstr_size);
	for (size_t i = 0; i < n && !err; i++)
		if (!(list[i] = strdup(items[i].text)))
			err = nomem(errstr, errstr_size);
	free(copy);
	if (err) {
		free_argv(list);
		return err;
	}
	free_argv(*dst);
	*dst = list;
	*cnt = n;
	return DRV_OK;
}

bool drv_cfg_valid_env_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static void free_kvs(drv_kv_t *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

/* An HTTP header name: an RFC 9110 token. */
static bool valid_header_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) &&
		    !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* Check the name \p key of an entry of map row \p k. */
static drv_err_t check_map_key(const drv_cfg_key_t *k, const char *name,
			       const drv_cfg_value_t *key, char *errstr,
			       size_t errstr_size)
{
	const char *what = "environment variable name";
	bool ok;

	if (k->flags & (DRV_CFG_FREE_KEYS | DRV_CFG_PLAIN_KEYS)) {
		if (*key->text)
			return DRV_OK;
		return drv_cfg_fail(errstr, errstr_size, &key->where, name,
				    "an entry name must not be empty");
	}
	if (k->flags & DRV_CFG_HEADER_KEYS) {
		what = "HTTP header name";
		ok = valid_header_name(key->text);
	} else {
		ok = drv_cfg_valid_env_name(key->text);
	}
	if (!ok)
		return drv_cfg_fail(errstr, errstr_size, &key->where, name,
				    "'%.80s' is not a valid %s", key->text,
				    what);
	return DRV_OK;
}

/* A mapping of name to string: environment variables, HTTP headers or
 * plugin settings, as the row's flags say. */
static drv_err_t parse_strmap(const drv_cfg_key_t *k, const char *name,
			      const drv_cfg_value_t *v, void *field,
			      size_t *cnt, char *errstr, size_t errstr_size)
{
	drv_kv_t **dst = field, *kv;
	size_t n;
	drv_err_t err;

	if (v->kind == DRV_CFG_SCALAR && v->null)
		n = 0;
	else if (v->kind != DRV_CFG_MAPPING)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a mapping of %s, got %s",
				    k->flags & DRV_CFG_HEADER_KEYS ?
				    "Name: value" :
				    k->flags & (DRV_CFG_FREE_KEYS |
						DRV_CFG_PLAIN_KEYS) ?
				    "name: value" : "NAME: value",
				    kind_name(v));
	else
		n = v->item_cnt / 2;
	for (size_t i = 0; i < n; i++) {
		const drv_cfg_value_t *key = &v->items[2 * i];
		const drv_cfg_value_t *val = &v->items[2 * i + 1];

		/* the walker only hands over scalar keys */
		if ((err = check_map_key(k, name, key, errstr, errstr_size)))
			return err;
		if (val->kind != DRV_CFG_SCALAR)
			return drv_cfg_fail(errstr, errstr_size, &val->where,
					    name, "%s: expected a string, "
					    "got %s", key->text,
					    kind_name(val));
		if ((k->flags & DRV_CFG_HEADER_KEYS) &&
		    strpbrk(val->text, "\r\n"))
			return drv_cfg_fail(errstr, errstr_size, &val->where,
					    name, "%s: a header value may not "
					    "hold a line break", key->text);
		for (size_t j = 0; j < i; j++)
			if ((k->flags & DRV_CFG_HEADER_KEYS) &&
			    !strcasecmp(v->items[2 * j].text, key->text))
				return drv_cfg_fail(errstr, errstr_size,
					&key->where, name, "'%.80s' repeats "
					"'%.80s' (header names ignore case)",
					key->text, v->items[2 * j].text);
	}
	if (!(kv = calloc(n ? n : 1, sizeof(*kv))))
		return nomem(errstr, errstr_size);
	for (size_t i = 0; i < n; i++) {
		const drv_cfg_value_t *val = &v->items[2 * i + 1];

		kv[i].key = strdup(v->items[2 * i].text);
		kv[i].value = strdup(val->null ? "" : val->text);
		if (!kv[i].key || !kv[i].value) {
			free_kvs(kv, n);
			return nomem(errstr, errstr_size);
		}
	}
	free_kvs(*dst, *cnt);
	*dst = kv;
	*cnt = n;
	return DRV_OK;
}

drv_err_t drv_cfg_parse(const drv_cfg_key_t *k, const char *name,
			const drv_cfg_value_t *v, void *base,
			char *errstr, size_t errstr_size)
{
	void *field = (char *)base + k->offset;
	size_t *cnt = (size_t *)(void *)((char *)base + k->cnt_offset);

	switch (k->type) {
	case DRV_CFG_STRING:
		return parse_string(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_INT:
		return parse_int(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_DOUBLE:
		return parse_double(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_U32:
		return parse_u32(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_BOOL:
		return parse_bool(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_DURATION:
		return parse_duration(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_ENUM:
		return parse_enum(k, name, v, field, errstr, errstr_size);
	case DRV_CFG_DURATION_LIST:
		return parse_duration_list(k, name, v, field, cnt, errstr,
					   errstr_size);
	case DRV_CFG_INT_LIST:
		return parse_int_list(k, name, v, field, cnt, errstr,
				      errstr_size);
	case DRV_CFG_ARGV:
		return parse_argv(k, name, v, field, cnt, errstr,
				  errstr_size);
	case DRV_CFG_STRMAP:
		return parse_strmap(k, name, v, field, cnt, errstr,
				    errstr_size);
	case DRV_CFG_NAME_LIST:
		return parse_name_list(k, name, v, field, cnt, errstr,
				       errstr_size);
	}
	return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
			 "%s: unknown key type", name);
}

void drv_cfg_release(const drv_cfg_key_t *k, void *base)
{
	void *field = (char *)base + k->offset;
	size_t *cnt = (size_t *)(void *)((char *)base + k->cnt_offset);

	switch (k->type) {
	case DRV_CFG_STRING:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case DRV_CFG_DURATION_LIST:
		free(*(int64_t **)field);
		*(int64_t **)field = NULL;
		*cnt = 0;
		break;
	case DRV_CFG_INT_LIST:
		free(*(int **)field);
		*(int **)field = NULL;
		*cnt = 0;
		break;
	case DRV_CFG_ARGV:
	case DRV_CFG_NAME_LIST:
		free_argv(*(char ***)field);
		*(char ***)field = NULL;
		*cnt = 0;
		break;
	case DRV_CFG_STRMAP:
		free_kvs(*(drv_kv_t **)field, *cnt);
		*(drv_kv_t **)field = NULL;
		*cnt = 0;
		break;
	case DRV_CFG_INT:
	case DRV_CFG_DOUBLE:
	case DRV_CFG_U32:
	case DRV_CFG_BOOL:
	case DRV_CFG_DURATION:
	case DRV_CFG_ENUM:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Emitting values as YAML, and describing them for the reference      */
/* ------------------------------------------------------------------ */

void drv_cfg_emit_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void drv_cfg_format_double(double d, char *buf, size_t size)
{
	/* the shortest of %.15g .. %.17g that reads back the same */
	for (int prec = 15; prec <= 17; prec++) {
		drv_fmt(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static void emit_duration(FILE *out, int64_t ms)
{
	char buf[32];

	drv_format_duration(ms, buf, sizeof(buf));
	fputs(buf, out);
}

void drv_cfg_emit_value(FILE *out, const char *s, bool redact)
{
	char *shown = redact ? drv_cfg_redact_text(s) : NULL;

	drv_cfg_emit_string(out, !redact ? s : shown ? shown : "<redacted>");
	free(shown);
}

void drv_cfg_emit(const drv_cfg_key_t *k, const void *base, bool redact,
		  FILE *out)
{
	const void *field = (const char *)base + k->offset;
	size_t cnt = *(const size_t *)(const void *)((const char *)base +
						     k->cnt_offset);

	switch (k->type) {
	case DRV_CFG_STRING: {
		const char *s = *(char *const *)field;

		if (!s)
			s = "";
		if (redact && (k->flags & DRV_CFG_SECRET) && *s)
			drv_cfg_emit_string(out, "<redacted>");
		else
			drv_cfg_emit_value(out, s, redact);
		break;
	}
	case DRV_CFG_INT:
		fprintf(out, "%lld", (long long)*(const int64_t *)field);
		break;
	case DRV_CFG_DOUBLE: {
		char buf[40];

		drv_cfg_format_double(*(const double *)field, buf,
				      sizeof(buf));
		fputs(buf, out);
		break;
	}
	case DRV_CFG_U32:
		fprintf(out, "%lu", (unsigned long)*(const uint32_t *)field);
		break;
	case DRV_CFG_BOOL:
		fputs(*(const bool *)field ? "true" : "false", out);
		break;
	case DRV_CFG_DURATION:
		emit_duration(out, *(const int64_t *)field);
		break;
	case DRV_CFG_ENUM: {
		int i = *(const int *)field, n = 0;

		while (k->enums[n])
			n++;
		fputs(i >= 0 && i < n ? k->enums[i] : "unknown", out);
		break;
	}
	case DRV_CFG_DURATION_LIST: {
		const int64_t *v = *(int64_t *const *)field;

		fputc('[', out);
		for (size_t i = 0; i < cnt; i++) {
			if (i)
				fputs(", ", out);
			emit_duration(out, v[i]);
		}
		fputc(']', out);
		break;
	}
	case DRV_CFG_INT_LIST: {
		const int *v = *(int *const *)field;

		fputc('[', out);
		for (size_t i = 0; i < cnt; i++)
			fprintf(out, "%s%d", i ? ", " : "", v[i]);
		fputc(']', out);
		break;
	}
	case DRV_CFG_ARGV:
	case DRV_CFG_NAME_LIST: {
		char *const *argv = *(char **const *)field;

		fputc('[', out);
		for (size_t i = 0; i < cnt; i++) {
			if (i)
				fputs(", ", out);
			drv_cfg_emit_value(out, argv[i], redact);
		}
		fputc(']', out);
		break;
	}
	case DRV_CFG_STRMAP: {
		const drv_kv_t *kv = *(drv_kv_t *const *)field;
		bool entry_rule = k->flags & (DRV_CFG_HEADER_KEYS |
					      DRV_CFG_FREE_KEYS);

		fputc('{', out);
		for (size_t i = 0; i < cnt; i++) {
			bool secret = (k->flags & DRV_CFG_PLAIN_KEYS) ? false :
				      entry_rule ?
				      drv_cfg_secret_entry(kv[i].key) :
				      drv_cfg_secret_name(kv[i].key);

			if (i)
				fputs(", ", out);
			drv_cfg_emit_string(out, kv[i].key);
			fputs(": ", out);
			if (redact && secret)
				drv_cfg_emit_string(out, "<redacted>");
			else
				drv_cfg_emit_value(out, kv[i].value, redact);
		}
		fputc('}', out);
		break;
	}
	}
}

const char *drv_cfg_type_name(drv_cfg_type_t type)
{
	switch (type) {
	case DRV_CFG_STRING:        return "string";
	case DRV_CFG_INT:           return "integer";
	case DRV_CFG_DOUBLE:        return "number";
	case DRV_CFG_U32:           return "integer";
	case DRV_CFG_BOOL:          return "boolean";
	case DRV_CFG_DURATION:      return "duration";
	case DRV_CFG_ENUM:          return "enum";
	case DRV_CFG_DURATION_LIST: return "list of durations";
	case DRV_CFG_INT_LIST:      return "list of integers";
	case DRV_CFG_ARGV:          return "list of strings, or string";
	case DRV_CFG_STRMAP:        return "map of strings";
	case DRV_CFG_NAME_LIST:     return "list of strings, or string";
	}
	return "?";
}

void drv_cfg_format_range(const drv_cfg_key_t *k, char *buf, size_t size)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	if (k->range_doc) {
		drv_strlcpy(buf, k->range_doc, size);
		return;
	}
	switch (k->type) {
	case DRV_CFG_STRING:
		if (k->enums)
			join_enums(k->enums, buf, size);
		else if (k->max > 0)
			drv_fmt(buf, size, "%lld-%lld chars",
				(long long)k->min, (long long)k->max);
		else if (k->min > 0)
			drv_strlcpy(buf, "non-empty", size);
		break;
	case DRV_CFG_INT:
	case DRV_CFG_DOUBLE:
	case DRV_CFG_U32:
		drv_fmt(buf, size, "[%lld, %lld]", (long long)k->min,
			(long long)k->max);
		break;
	case DRV_CFG_INT_LIST:
		drv_fmt(buf, size, "0-%d entries, each [%lld, %lld]",
			DRV_CFG_INT_LIST_MAX, (long long)k->min,
			(long long)k->max);
		break;
	case DRV_CFG_DURATION:
	case DRV_CFG_DURATION_LIST:
		drv_format_duration(k->min, lo, sizeof(lo));
		drv_format_duration(k->max, hi, sizeof(hi));
		if (k->type == DRV_CFG_DURATION)
			drv_fmt(buf, size, "[%s, %s]", lo, hi);
		else
			drv_fmt(buf, size, "1-%d entries, each [%s, %s], "
				"ascending", DRV_CFG_LIST_MAX, lo, hi);
		break;
	case DRV_CFG_ENUM:
		join_enums(k->enums, buf, size);
		break;
	case DRV_CFG_NAME_LIST:
		drv_fmt(buf, size, "0-%d entries", DRV_CFG_INT_LIST_MAX);
		break;
	case DRV_CFG_BOOL:
	case DRV_CFG_ARGV:
	case DRV_CFG_STRMAP:
		break;
	}
}

