/*
 * audit_list.c — the audit trail read back: a filter over AuditRecords and
 * a page of the newest matching ones behind a cursor, for `droverctl audit
 * list` and GET /api/v1/audit (see drover/audit_list.h).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/audit_list.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "drover/topic_read.h"

drv_err_t drv_audit_filter_set(drv_audit_filter_t *f, const char *name,
			       const char *value, int64_t now_ms,
			       char *errstr, size_t errstr_size)
{
	bool since = !strcmp(name, "since");

	if (since || !strcmp(name, "until")) {
		if (drv_parse_when(value, now_ms, since ? &f->since_ms :
				   &f->until_ms))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "'%.64s' is neither an RFC 3339 time "
					 "(2026-01-02T15:04:05Z) nor a "
					 "duration (2h)", value);
		return DRV_OK;
	}
	if (strcmp(name, "action") && strcmp(name, "actor") &&
	    strcmp(name, "target"))
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "unknown filter '%.40s'", name);
	if (!*value)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "empty");
	if (!strcmp(name, "action"))
		f->action = value;
	else if (!strcmp(name, "actor"))
		f->actor = value;
	else
		f->target = value;
	return DRV_OK;
}

static bool action_match(const char *want, const char *action)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == '.')
		return !strncmp(want, action, n);
	return !strcmp(want, action);
}

bool drv_audit_match(const drv_audit_filter_t *f, const drv_audit_t *a)
{
	if (f->since_ms && a->time_ms < f->since_ms)
		return false;
	if (f->until_ms && a->time_ms >= f->until_ms)
		return false;
	if (f->action && (!a->action || !action_match(f->action, a->action)))
		return false;
	if (f->actor && (!a->actor || strcmp(f->actor, a->actor)))
		return false;
	if (f->target && (!a->target || strcmp(f->target, a->target)))
		return false;
	return true;
}

/* Newest-first order: is (t, id) older than (ct, cid)? */
static bool older(int64_t t, const char *id, int64_t ct, const char *cid)
{
	return t < ct || (t == ct && strcmp(id, cid) < 0);
}

typedef struct lister {
	const drv_audit_filter_t *f;
	bool        cursor;            /* only records older than: */
	int64_t     cur_t;
	char        cur_id[DRV_ID_LEN + 1];
	size_t      keep;
	drv_audit_t *rows;             /* ascending (oldest first), keep + 1 */
	size_t      cnt, after;        /* kept; matching and after cursor */
	drv_audit_page_t *out;
} lister_t;

static bool visit(const rd_kafka_message_t *m, void *arg)
{
	lister_t *l = arg;
	drv_audit_t a;
	char err[256];
	size_t i;

	drv_audit_init(&a);
	if (!m->payload || drv_audit_decode(m->payload, m->len, &a, err,
					    sizeof(err))) {
		if (l->out->bad++ == 0) {
			l->out->bad_partition = m->partition;
			l->out->bad_offset = m->offset;
		}
		return true;
	}
	if (!drv_audit_match(l->f, &a)) {
		drv_audit_release(&a);
		return true;
	}
	l->out->matched++;
	if (l->cursor && !older(a.time_ms, a.id, l->cur_t, l->cur_id)) {
		drv_audit_release(&a);
		return true;
	}
	l->after++;
	if (l->cnt == l->keep && older(a.time_ms, a.id, l->rows[0].time_ms,
				       l->rows[0].id)) {
		drv_audit_release(&a);
		return true;
	}
	if (l->cnt == l->keep) {     /* drop the oldest */
		drv_audit_release(&l->rows[0]);
		memmove(l->rows, l->rows + 1, --l->cnt * sizeof(*l->rows));
	}
	for (i = l->cnt; i > 0 && older(a.time_ms, a.id, l->rows[i - 1].time_ms,
					 l->rows[i - 1].id); i--)
		;
	memmove(l->rows + i + 1, l->rows + i, (l->cnt - i) * sizeof(*l->rows));
	l->rows[i] = a;              /* the row owns a's strings now */
	l->cnt++;
	return true;
}

/* "<time_ms>.<id>" into \p l. */
static drv_err_t parse_cursor(lister_t *l, const char *cursor, char *errstr,
			      size_t errstr_size)
{
	const char *dot = strchr(cursor, '.');
	char num[24];
	int64_t t;

	if (!dot || dot == cursor || (size_t)(dot - cursor) >= sizeof(num) ||
	    strlen(dot + 1) > DRV_ID_LEN)
		goto bad;
	memcpy(num, cursor, (size_t)(dot - cursor));
	num[dot - cursor] = '\0';
	if (drv_parse_int(num, 0, INT64_MAX, &t))
		goto bad;
	l->cursor = true;
	l->cur_t = t;
	drv_strlcpy(l->cur_id, dot + 1, sizeof(l->cur_id));
	return DRV_OK;
bad:
	return drv_error(errstr, errstr_size, DRV_ERR_INVALID, "cursor: "
			 "'%.64s' is not a next_cursor of this list", cursor);
}

drv_err_t drv_audit_list(const drv_config_t *cfg, const drv_audit_filter_t *f,
			 const char *cursor, size_t limit,
			 drv_audit_page_t *out, char *errstr,
			 size_t errstr_size)
{
	lister_t l = { .f = f, .keep = limit ? limit : 1, .out = out };
	char topic[256];
	drv_err_t rc;

	memset(out, 0, sizeof(*out));
	if (cursor && *cursor && (rc = parse_cursor(&l, cursor, errstr,
						    errstr_size)))
		return rc;
	if (!(l.rows = calloc(l.keep + 1, sizeof(*l.rows))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	drv_topic_name(cfg, DRV_TOPIC_AUDIT, NULL, 0, topic, sizeof(topic));
	rc = drv_topic_read(cfg, topic, NULL, 0, visit, &l, NULL, errstr,
			    errstr_size);
	/* newest first */
	for (size_t i = 0; i < l.cnt / 2; i++) {
		drv_audit_t tmp = l.rows[i];

		l.rows[i] = l.rows[l.cnt - 1 - i];
		l.rows[l.cnt - 1 - i] = tmp;
	}
	out->records = l.rows;
	out->cnt = l.cnt;
	if (!rc && l.after > l.cnt && l.cnt)
		drv_fmt(out->next, sizeof(out->next), "%lld.%s",
			(long long)l.rows[l.cnt - 1].time_ms,
			l.rows[l.cnt - 1].id);
	return rc;
}

void drv_audit_page_release(drv_audit_page_t *p)
{
	for (size_t i = 0; i < p->cnt; i++)
		drv_audit_release(&p->records[i]);
	free(p->records);
	memset(p, 0, sizeof(*p));
}
