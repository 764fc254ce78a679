/*
 * template.c — a task from a schedule's or trigger's task template: a fresh
 * id, the template's handler, payload, priority, policy, attempts, deadline
 * and labels; the caller adds its origin and drover.* labels. And a
 * trigger's payload template filled in from the event, where what an event
 * producer wrote can never break out of the JSON place it is put in.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coord.h"
#include "drover/str.h"

drv_err_t coord_task_build(const coord_t *c, const drv_task_template_t *tm,
			   const char *payload, int64_t now_ms, drv_task_t *t)
{
	char id[DRV_ID_LEN + 1], by[160];
	drv_err_t err = DRV_OK;

	drv_task_init(t);
	drv_id_new(id, now_ms);
	memcpy(t->id, id, sizeof(t->id));
	drv_fmt(by, sizeof(by), "coordinator/%s", c->d->id);
	t->created_ms = now_ms;
	t->priority = tm->priority ? tm->priority : DRV_PRIORITY_DEFAULT;
	t->max_attempts = tm->max_attempts;
	t->deadline_ms = tm->deadline_ms ? now_ms + tm->deadline_ms : 0;
	if (!payload)
		payload = tm->payload ? tm->payload : "{}";
	if (!(t->handler = drv_strdup(tm->handler)) ||
	    (tm->policy && !(t->policy = drv_strdup(tm->policy))) ||
	    !(t->origin.submitted_by = drv_strdup(by)))
		err = DRV_ERR_NOMEM;
	if (!err)
		err = drv_task_set_payload(t, payload, strlen(payload));
	for (size_t i = 0; !err && i < tm->label_cnt; i++)
		err = drv_task_set_label(t, tm->labels[i].key,
					 tm->labels[i].value);
	if (err)
		drv_task_release(t);
	return err;
}

/* Append \p n bytes of \p s to the growing buffer; false when out of
 * memory. */
static bool put(char **buf, size_t *len, size_t *cap, const char *s,
		size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *nb = realloc(*buf, nc);

		if (!nb)
			return false;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/* Append value \p v (\p n bytes): inside a JSON string as escaped string
 * content; elsewhere as one JSON value: as it is when it parses as exactly
 * one (so it cannot close the object it is in and add members), else as a
 * JSON string. Bytes that are not UTF-8 become an empty string. */
static bool put_value(char **buf, size_t *len, size_t *cap, const char *v,
		      size_t n, bool in_string)
{
	json_t *j = NULL;
	char *q;
	bool ok;

	if (!in_string && (j = json_loadb(v, n, JSON_DECODE_ANY, NULL))) {
		json_decref(j);
		return put(buf, len, cap, v, n);
	}
	if (!(j = json_stringn(v, n)))
		j = json_string("");
	q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!q)
		return false;
	ok = in_string ? put(buf, len, cap, q + 1, strlen(q) - 2) /* no quotes */
		       : put(buf, len, cap, q, strlen(q));
	free(q);
	return ok;
}

/* Does the template text [from, to) leave a JSON string open, given
 * whether one was open at \p from? Tracks quotes and backslash escapes. */
static bool string_open_after(const char *from, const char *to, bool open)
{
	for (const char *p = from; p < to; p++) {
		if (open && *p == '\\' && p + 1 < to)
			p++;
		else if (*p == '"')
			open = !open;
	}
	return open;
}

/* What ends a placeholder's name other than its '}'. */
#define PLACEHOLDER_STOP "\"\\{}$ \t\r\n"

char *coord_template_fill(const char *tmpl, const drv_event_t *e)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *p = tmpl;
	bool in_string = false;

	if (!put(&buf, &len, &cap, "", 0))
		return NULL;
	while (*p) {
		const char *open = strstr(p, "${"), *close, *v = NULL;
		size_t vn = 0;
		char name[128];

		if (!open || !(close = strchr(open, '}'))) {
			if (!put(&buf, &len, &cap, p, strlen(p)))
				goto fail;
			break;
		}
		if (!put(&buf, &len, &cap, p, (size_t)(open - p)))
			goto fail;
		in_string = string_open_after(p, open, in_string);
		/* a name never holds a quote, a backslash, a brace, a '$' or
		 * white space: "${" before any of them is text, so a
		 * placeholder cannot reach across a JSON string's end */
		if (open + 2 + strcspn(open + 2, PLACEHOLDER_STOP) != close) {
			if (!put(&buf, &len, &cap, open, 2))
				goto fail;
			p = open + 2;
			continue;
		}
		drv_fmt(name, sizeof(name), "%.*s", (int)(close - open - 2),
			open + 2);
		if (!strcmp(name, "event.id")) {
			v = e->id;
		} else if (!strcmp(name, "event.type")) {
			v = e->type;
		} else if (!strcmp(name, "event.source")) {
			v = e->source ? e->source : "";
		} else if (!strcmp(name, "event.payload")) {
			v = e->payload_len ? (const char *)e->payload : "null";
			vn = e->payload_len ? e->payload_len : 4;
		} else if (!strncmp(name, "attr.", 5)) {
			v = drv_event_attribute(e, name + 5);
			if (!v)
				v = "";
		}
		if (!v) {
			/* left as it is: part of the template's own text */
			if (!put(&buf, &len, &cap, open,
				 (size_t)(close - open) + 1))
				goto fail;
			in_string = string_open_after(open, close + 1,
						      in_string);
		} else if (!put_value(&buf, &len, &cap, v,
				      vn ? vn : strlen(v), in_string)) {
			goto fail;
		}
		p = close + 1;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}
