/*
 * config_types.c — the value types of the configuration table: how each
 * type (string, bounded integer, boolean, duration, enum, duration list,
 * argv, string map) is parsed from a YAML node or an environment string,
 * freed, written back as YAML, and described in the reference page.
 *
 * Parsers replace a field only on success, so a bad value never leaves a
 * half-built config behind, and every message names the place and the key.
 */
#include <ctype.h>
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
	if (len == 0 && k->min > 0)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "must not be empty");
	if ((int64_t)len < k->min || (k->max > 0 && (int64_t)len > k->max))
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "must be %lld to %lld characters long, "
				    "got %zu", (long long)k->min,
				    (long long)k->max, len);
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

/* Parse item \p v of a duration list and check it is above \p prev. */
static drv_err_t parse_list_item(const drv_cfg_key_t *k, const char *name,
				 const drv_cfg_value_t *v, int64_t *out,
				 const int64_t *prev, char *errstr,
				 size_t errstr_size)
{
	char a[32], b[32];
	drv_err_t err = parse_one_duration(k, name, v, out, errstr,
					   errstr_size);

	if (err)
		return err;
	if (prev && *out <= *prev) {
		drv_format_duration(*out, a, sizeof(a));
		drv_format_duration(*prev, b, sizeof(b));
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "%s is not greater than %s before it; the "
				    "list must be strictly ascending", a, b);
	}
	return DRV_OK;
}

/* A YAML sequence, or (env, defaults) "1s,10s,1m" with optional [ ]. */
static drv_err_t parse_duration_list(const drv_cfg_key_t *k,
				     const char *name,
				     const drv_cfg_value_t *v, void *field,
				     size_t *cnt, char *errstr,
				     size_t errstr_size)
{
	int64_t vals[DRV_CFG_LIST_MAX];
	int64_t **dst = field, *arr;
	size_t n = 0;
	drv_err_t err = DRV_OK;

	if (v->kind == DRV_CFG_MAPPING)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a list of durations, got a "
				    "mapping");
	if (v->kind == DRV_CFG_SEQUENCE) {
		if (v->item_cnt < 1 || v->item_cnt > DRV_CFG_LIST_MAX)
			return drv_cfg_fail(errstr, errstr_size, &v->where,
					    name, "expected 1 to %d entries, "
					    "got %zu", DRV_CFG_LIST_MAX,
					    v->item_cnt);
		for (n = 0; n < v->item_cnt && !err; n++)
			err = parse_list_item(k, name, &v->items[n], &vals[n],
					      n ? &vals[n - 1] : NULL,
					      errstr, errstr_size);
	} else {
		char *copy = strdup(v->null ? "" : v->text), *s, *p;
		size_t len;

		if (!copy)
			return nomem(errstr, errstr_size);
		s = trim(copy);
		len = strlen(s);
		if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
			s[len - 1] = '\0';
			s = trim(s + 1);
		}
		for (p = s; *s;) {
			drv_cfg_value_t item = *v;
			char *comma = strchr(p, ',');

			if (comma)
				*comma = '\0';
			if (n == DRV_CFG_LIST_MAX) {
				err = drv_cfg_fail(errstr, errstr_size,
						   &v->where, name,
						   "expected 1 to %d entries, "
						   "got more",
						   DRV_CFG_LIST_MAX);
				break;
			}
			item.text = trim(p);
			item.null = false;
			err = parse_list_item(k, name, &item, &vals[n],
					      n ? &vals[n - 1] : NULL,
					      errstr, errstr_size);
			if (err)
				break;
			n++;
			if (!comma)
				break;
			p = comma + 1;
		}
		free(copy);
		if (!err && n == 0)
			err = drv_cfg_fail(errstr, errstr_size, &v->where,
					   name, "expected 1 to %d entries, "
					   "got 0", DRV_CFG_LIST_MAX);
	}
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

	(void)k;
	if (v->kind == DRV_CFG_MAPPING)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a list of strings (argv), got "
				    "a mapping");
	if (v->kind == DRV_CFG_SEQUENCE) {
		items = v->items;
		n = v->item_cnt;
		if (n == 0)
			return drv_cfg_fail(errstr, errstr_size, &v->where,
					    name, "must not be empty");
	}
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

static bool valid_env_name(const char *s)
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

/* A mapping of environment variable name to string. */
static drv_err_t parse_strmap(const drv_cfg_key_t *k, const char *name,
			      const drv_cfg_value_t *v, void *field,
			      size_t *cnt, char *errstr, size_t errstr_size)
{
	drv_kv_t **dst = field, *kv;
	size_t n;

	(void)k;
	if (v->kind == DRV_CFG_SCALAR && v->null)
		n = 0;
	else if (v->kind != DRV_CFG_MAPPING)
		return drv_cfg_fail(errstr, errstr_size, &v->where, name,
				    "expected a mapping of NAME: value, got "
				    "%s", kind_name(v));
	else
		n = v->item_cnt / 2;
	for (size_t i = 0; i < n; i++) {
		const drv_cfg_value_t *key = &v->items[2 * i];
		const drv_cfg_value_t *val = &v->items[2 * i + 1];

		if (key->kind != DRV_CFG_SCALAR || !valid_env_name(key->text))
			return drv_cfg_fail(errstr, errstr_size, &key->where,
					    name, "'%.80s' is not a valid "
					    "environment variable name",
					    key->kind == DRV_CFG_SCALAR ?
					    key->text : "(not a string)");
		if (val->kind != DRV_CFG_SCALAR)
			return drv_cfg_fail(errstr, errstr_size, &val->where,
					    name, "%s: expected a string, "
					    "got %s", key->text,
					    kind_name(val));
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
	case DRV_CFG_ARGV:
		return parse_argv(k, name, v, field, cnt, errstr,
				  errstr_size);
	case DRV_CFG_STRMAP:
		return parse_strmap(k, name, v, field, cnt, errstr,
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
	case DRV_CFG_ARGV:
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

static void emit_duration(FILE *out, int64_t ms)
{
	char buf[32];

	drv_format_duration(ms, buf, sizeof(buf));
	fputs(buf, out);
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
		char buf[1024];

		if (!s)
			s = "";
		if (redact && (k->flags & DRV_CFG_SECRET) && *s) {
			s = "<redacted>";
		} else if (redact && (k->flags & DRV_CFG_URL)) {
			drv_cfg_redact_url(s, buf, sizeof(buf));
			s = buf;
		}
		drv_cfg_emit_string(out, s);
		break;
	}
	case DRV_CFG_INT:
		fprintf(out, "%lld", (long long)*(const int64_t *)field);
		break;
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
	case DRV_CFG_ARGV: {
		char *const *argv = *(char **const *)field;

		fputc('[', out);
		for (size_t i = 0; i < cnt; i++) {
			if (i)
				fputs(", ", out);
			drv_cfg_emit_string(out, argv[i]);
		}
		fputc(']', out);
		break;
	}
	case DRV_CFG_STRMAP: {
		const drv_kv_t *kv = *(drv_kv_t *const *)field;

		fputc('{', out);
		for (size_t i = 0; i < cnt; i++) {
			if (i)
				fputs(", ", out);
			drv_cfg_emit_string(out, kv[i].key);
			fputs(": ", out);
			drv_cfg_emit_string(out, redact &&
					    drv_cfg_secret_name(kv[i].key) ?
					    "<redacted>" : kv[i].value);
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
	case DRV_CFG_U32:           return "integer";
	case DRV_CFG_BOOL:          return "boolean";
	case DRV_CFG_DURATION:      return "duration";
	case DRV_CFG_ENUM:          return "enum";
	case DRV_CFG_DURATION_LIST: return "list of durations";
	case DRV_CFG_ARGV:          return "list of strings, or string";
	case DRV_CFG_STRMAP:        return "map of strings";
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
		if (k->max > 0)
			drv_fmt(buf, size, "%lld-%lld chars",
				(long long)k->min, (long long)k->max);
		else if (k->min > 0)
			drv_strlcpy(buf, "non-empty", size);
		break;
	case DRV_CFG_INT:
	case DRV_CFG_U32:
		drv_fmt(buf, size, "[%lld, %lld]", (long long)k->min,
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
	case DRV_CFG_BOOL:
	case DRV_CFG_ARGV:
	case DRV_CFG_STRMAP:
		break;
	}
}

