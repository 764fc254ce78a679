/*
 * dlq_job_spec.c — what a DLQ resubmission (or discard) job does, read
 * from its spec (JSON, the same for the API's body and droverctl's flags),
 * turned into a drv_dlq_resubmit_t, and the dry run that counts exactly
 * what a job made now would resubmit or discard (drover/dlq_job.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "drover/dlq_job.h"
#include "drover/str.h"

static drv_err_t bad(char *pointer, size_t pointer_size, const char *at,
		     char *errstr, size_t errstr_size, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* DRV_ERR_INVALID: \p fmt into \p errstr, \p at into \p pointer. */
static drv_err_t bad(char *pointer, size_t pointer_size, const char *at,
		     char *errstr, size_t errstr_size, const char *fmt, ...)
{
	va_list ap;

	if (pointer)
		drv_strlcpy(pointer, at, pointer_size);
	va_start(ap, fmt);
	drv_vfmt(errstr, errstr_size, fmt, ap);
	va_end(ap);
	return DRV_ERR_INVALID;
}

/* A string without NUL characters, or NULL. */
static const char *text(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) ==
	       json_string_length(v) ? json_string_value(v) : NULL;
}

static drv_err_t filter_field(drv_dlq_job_spec_t *s, const char *name,
			      const char *value, int64_t now_ms, char *pointer,
			      size_t pointer_size, const char *at,
			      char *errstr, size_t errstr_size)
{
	char err[512];

	if (!*value)
		return bad(pointer, pointer_size, at, errstr, errstr_size,
			   "%s: empty", name);
	if (!drv_dlq_filter_set(&s->f, name, value, now_ms, err, sizeof(err)))
		return DRV_OK;
	return bad(pointer, pointer_size, at, errstr, errstr_size, "%s: %s",
		   name, err);
}

static drv_err_t read_filter(drv_dlq_job_spec_t *s, const json_t *fo,
			     int64_t now_ms, char *pointer,
			     size_t pointer_size, char *errstr,
			     size_t errstr_size)
{
	char at[128];
	const char *key;
	json_t *v, *item;
	size_t i;
	drv_err_t rc;

	if (!json_is_object(fo))
		return bad(pointer, pointer_size, "/filter", errstr,
			   errstr_size, "%s", "filter must be an object");
	json_object_foreach((json_t *)fo, key, v) {
		drv_fmt(at, sizeof(at), "/filter/%s", key);
		if (!strcmp(key, "label") && json_is_array(v)) {
			json_array_foreach(v, i, item) {
				drv_fmt(at, sizeof(at), "/filter/label/%zu",
					i);
				if (!text(item))
					return bad(pointer, pointer_size, at,
						   errstr, errstr_size, "%s",
						   "a label is a string "
						   "KEY=VALUE");
				if ((rc = filter_field(s, key, text(item),
						       now_ms, pointer,
						       pointer_size, at,
						       errstr, errstr_size)))
					return rc;
			}
			continue;
		}
		if (!text(v))
			return bad(pointer, pointer_size, at, errstr,
				   errstr_size, "%s must be a string", key);
		if ((rc = filter_field(s, key, text(v), now_ms, pointer,
				       pointer_size, at, errstr,
				       errstr_size)))
			return rc;
	}
	/* since not before until matches nothing, as in GET /dlq and
	 * POST /dlq/resubmit (droverctl refuses it as bad usage) */
	return DRV_OK;
}

static drv_err_t read_patch(drv_dlq_job_spec_t *s, const json_t *set,
			    char *pointer, size_t pointer_size, char *errstr,
			    size_t errstr_size)
{
	char at[64], err[512];
	json_t *item;
	size_t i;

	if (!set)
		return DRV_OK;
	if (!json_is_array(set))
		return bad(pointer, pointer_size, "/set", errstr, errstr_size,
			   "%s", "set must be an array of merge patches and "
			   "KEY.PATH=VALUE strings");
	json_array_foreach(set, i, item) {
		drv_err_t rc;

		drv_fmt(at, sizeof(at), "/set/%zu", i);
		if (json_is_object(item))
			rc = drv_patch_add_json(&s->patch, json_incref(item));
		else if (text(item))
			rc = drv_patch_add(&s->patch, text(item), err,
					   sizeof(err));
		else
			rc = drv_error(err, sizeof(err), DRV_ERR_INVALID,
				       "want a merge patch object or "
				       "KEY.PATH=VALUE");
		if (rc == DRV_ERR_NOMEM)
			return drv_error(errstr, errstr_size, rc,
					 "out of memory");
		if (rc)
			return bad(pointer, pointer_size, at, errstr,
				   errstr_size, "%s", err);
	}
	return DRV_OK;
}

/* An optional number field \p name within lo..hi (an integer when
 * \p integer). */
static drv_err_t number(const json_t *o, const char *name, double lo,
			double hi, bool integer, double *out, char *pointer,
			size_t pointer_size, char *errstr, size_t errstr_size)
{
	json_t *v = json_object_get(o, name);
	char at[64];
	double d;

	if (!v)
		return DRV_OK;
	d = json_number_value(v);
	if (json_is_number(v) && d >= lo && d <= hi &&
	    (!integer || d == (double)(int64_t)d)) {
		*out = d;
		return DRV_OK;
	}
	drv_fmt(at, sizeof(at), "/%s", name);
	if (pointer)
		drv_strlcpy(pointer, at, pointer_size);
	return drv_error(errstr, errstr_size, DRV_ERR_INVALID, "%s must be "
			 "%s %g..%g", name, integer ? "an integer" : "a number",
			 lo, hi);
}

static const char *const fields[] = {
	"kind", "filter", "group", "set", "priority", "max_attempts",
	"reset_attempts", "rate", NULL,
};

/* What changes the tasks sent: no part of a discard. */
static const char *const resubmit_only[] = {
	"set", "priority", "max_attempts", "reset_attempts", NULL,
};

static const char *const kind_names[DRV_DLQ_JOB_KIND_CNT] = {
	"resubmit", "discard",
};

const char *drv_dlq_job_kind_name(drv_dlq_job_kind_t k)
{
	return (unsigned)k < DRV_DLQ_JOB_KIND_CNT ? kind_names[k] : "?";
}

/* The spec's "kind" into \p out->kind. */
static drv_err_t read_kind(drv_dlq_job_spec_t *out, const json_t *spec,
			   char *pointer, size_t pointer_size, char *errstr,
			   size_t errstr_size)
{
	const json_t *v = json_object_get(spec, "kind");
	char at[64];

	out->kind = DRV_DLQ_JOB_RESUBMIT;
	if (!v)
		return DRV_OK;
	for (int k = 0; text(v) && k < DRV_DLQ_JOB_KIND_CNT; k++)
		if (!strcmp(text(v), kind_names[k])) {
			out->kind = (drv_dlq_job_kind_t)k;
			break;
		}
	if (!text(v) || strcmp(text(v), kind_names[out->kind]))
		return bad(pointer, pointer_size, "/kind", errstr, errstr_size,
			   "%s", "kind must be \"resubmit\" or \"discard\"");
	for (size_t i = 0; out->kind == DRV_DLQ_JOB_DISCARD &&
	     resubmit_only[i]; i++)
		if (json_object_get(spec, resubmit_only[i])) {
			drv_fmt(at, sizeof(at), "/%s", resubmit_only[i]);
			return bad(pointer, pointer_size, at, errstr,
				   errstr_size, "a discard sends no task: no "
				   "%s", resubmit_only[i]);
		}
	return DRV_OK;
}

drv_err_t drv_dlq_job_spec_read(const drv_config_t *cfg, const json_t *spec,
				int64_t now_ms, drv_dlq_job_spec_t *out,
				char *pointer, size_t pointer_size,
				char *errstr, size_t errstr_size)
{
	const json_t *fo, *group, *v;
	double priority = 0, attempts = 0, rate = 0;
	const char *key;
	drv_err_t rc;
	json_t *x;

	(void)cfg;  /* the config's names may be checked here one day */
	memset(out, 0, sizeof(*out));
	drv_patch_init(&out->patch);
	if (pointer && pointer_size)
		pointer[0] = '\0';
	if (!json_is_object(spec))
		return bad(pointer, pointer_size, "", errstr, errstr_size,
			   "%s", "the spec must be an object");
	json_object_foreach((json_t *)spec, key, x) {
		size_t i;

		for (i = 0; fields[i] && strcmp(key, fields[i]); i++)
			;
		if (!fields[i])
			return bad(pointer, pointer_size, "", errstr,
				   errstr_size, "unknown field '%.40s'", key);
	}
	if ((rc = read_kind(out, spec, pointer, pointer_size, errstr,
			    errstr_size)))
		return rc;
	fo = json_object_get(spec, "filter");
	group = json_object_get(spec, "group");
	if (!fo == !group)
		return bad(pointer, pointer_size, "", errstr, errstr_size,
			   "%s", "give a \"filter\" ({} for every entry) or "
			   "a \"group\", one of them");
	if (group) {
		if (!text(group))
			return bad(pointer, pointer_size, "/group", errstr,
				   errstr_size, "%s", "group must be a string");
		if ((rc = filter_field(out, "group", text(group), now_ms,
				       pointer, pointer_size, "/group",
				       errstr, errstr_size)))
			return rc;
	} else if ((rc = read_filter(out, fo, now_ms, pointer, pointer_size,
				     errstr, errstr_size))) {
		return rc;
	}
	if ((rc = read_patch(out, json_object_get(spec, "set"), pointer,
			     pointer_size, errstr, errstr_size)) ||
	    (rc = number(spec, "priority", DRV_PRIORITY_MIN, DRV_PRIORITY_MAX,
			 true, &priority, pointer, pointer_size, errstr,
			 errstr_size)) ||
	    (rc = number(spec, "max_attempts", 1, 1000, true, &attempts,
			 pointer, pointer_size, errstr, errstr_size)) ||
	    (rc = number(spec, "rate", 0.001, 1e7, false, &rate, pointer,
			 pointer_size, errstr, errstr_size)))
		return rc;
	out->priority = (uint32_t)priority;
	out->max_attempts = (uint32_t)attempts;
	out->rate = rate;
	if ((v = json_object_get(spec, "reset_attempts"))) {
		if (!json_is_boolean(v))
			return bad(pointer, pointer_size, "/reset_attempts",
				   errstr, errstr_size, "%s", "reset_attempts "
				   "must be true or false");
		out->reset = json_is_true(v);
	}
	return DRV_OK;
}

void drv_dlq_job_spec_release(drv_dlq_job_spec_t *s)
{
	drv_patch_release(&s->patch);
}

void drv_dlq_job_spec_apply(const drv_dlq_job_spec_t *s,
			    drv_dlq_resubmit_t *r)
{
	r->every = true;
	r->discard = s->kind == DRV_DLQ_JOB_DISCARD;
	r->filter = &s->f;
	r->patch = &s->patch;
	r->priority = s->priority;
	r->max_attempts = s->max_attempts;
	r->reset = s->reset;
	r->rate = s->rate;
}

drv_err_t drv_dlq_job_count(const drv_config_t *cfg, redisContext *c,
			    const json_t *spec, int64_t now_ms,
			    drv_dlq_job_counts_t *counts, char *pointer,
			    size_t pointer_size, char *errstr,
			    size_t errstr_size)
{
	drv_dlq_resubmit_t r = { 0 };
	drv_dlq_job_spec_t s;
	drv_err_t rc;

	memset(counts, 0, sizeof(*counts));
	if (!(rc = drv_dlq_job_spec_read(cfg, spec, now_ms, &s, pointer,
					 pointer_size, errstr,
					 errstr_size))) {
		drv_dlq_job_spec_apply(&s, &r);
		r.dry_run = true;
		r.rate = 0;  /* counting is not sending */
		rc = drv_dlq_resubmit_run(cfg, c, NULL, &r, errstr,
					  errstr_size);
		counts->matched = r.matched;
		counts->sent = r.sent;
		counts->already = r.already;
		counts->already_discarded = r.already_discarded;
		counts->failed = r.failed;
		counts->undecodable = r.undecodable;
	}
	drv_dlq_job_spec_release(&s);
	return rc;
}
