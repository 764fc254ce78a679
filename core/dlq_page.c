/*
 * dlq_page.c — one page of dead letters behind a cursor (GET /api/v1/dlq).
 *
 * The cursor is the read position on every DLQ partition: "v1." and the
 * next offset of partition 0, 1, ... joined by '.' ("v1.120.97.133"). A
 * page reads from there, in the topic's order, until it has its entries or
 * has read DRV_DLQ_PAGE_SCAN messages, and the next cursor is where each
 * partition was left: every message before it was looked at, none after.
 * So each matching entry is on exactly one page, and a page costs at most
 * DRV_DLQ_PAGE_SCAN messages however long the DLQ is. It does not sort by
 * time (`droverctl dlq list` does, reading everything).
 *
 * A filter on an indexed field or a time passes over the blocks the DLQ
 * index (drover/dlq_index.h) says hold no match: the cursor moves past
 * them as if they had been read.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/dlq_index.h"
#include "drover/str.h"

#define CURSOR_PREFIX  "v1."
#define CURSOR_PARTS   4096    /* most partitions a cursor names */

typedef struct page_run {
	const drv_dlq_filter_t *f;
	size_t   limit;
	bool     with_message;
	int64_t *next;       /* per partition: the offset to go on from */
	size_t   next_cnt, next_cap;
	drv_dlq_page_t *out;
	drv_dlq_index_query_t *q;   /* NULL: no index for this filter */
	bool     full, nomem;
} page_run_t;

static bool grow(page_run_t *r, size_t cnt)
{
	int64_t *nv;
	size_t cap;

	if (cnt <= r->next_cnt)
		return true;
	if (cnt > r->next_cap) {
		cap = cnt * 2;
		if (!(nv = realloc(r->next, cap * sizeof(*nv))))
			return false;
		r->next = nv;
		r->next_cap = cap;
	}
	memset(r->next + r->next_cnt, 0,
	       (cnt - r->next_cnt) * sizeof(*r->next));
	r->next_cnt = cnt;
	return true;
}

static drv_err_t parse_cursor(page_run_t *r, const char *cursor,
			      char *errstr, size_t errstr_size)
{
	const char *p;

	if (!cursor || !*cursor)
		return DRV_OK;
	if (strncmp(cursor, CURSOR_PREFIX, strlen(CURSOR_PREFIX)))
		goto bad;
	for (p = cursor + strlen(CURSOR_PREFIX); *p; ) {
		char num[24];
		size_t n = strcspn(p, ".");
		int64_t v;

		if (n == 0 || n >= sizeof(num) ||
		    r->next_cnt == CURSOR_PARTS)
			goto bad;
		memcpy(num, p, n);
		num[n] = '\0';
		if (drv_parse_int(num, 0, INT64_MAX, &v))
			goto bad;
		if (!grow(r, r->next_cnt + 1))
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		r->next[r->next_cnt - 1] = v;
		p += n;
		if (*p == '.' && *++p == '\0')
			goto bad;
	}
	if (r->next_cnt)
		return DRV_OK;
bad:
	return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
			 "not a cursor this API gave out");
}

static char *format_cursor(const page_run_t *r)
{
	size_t size = strlen(CURSOR_PREFIX) + r->next_cnt * 21 + 1, off;
	char *s = malloc(size);

	if (!s)
		return NULL;
	off = drv_strlcpy(s, CURSOR_PREFIX, size);
	for (size_t i = 0; i < r->next_cnt; i++) {
		drv_fmt(s + off, size - off, "%s%lld", i ? "." : "",
			(long long)r->next[i]);
		off += strlen(s + off);
	}
	return s;
}

/* A payload (or an undecodable message's raw bytes) over
 * DRV_DLQ_PAGE_PAYLOAD is left out of a page's entry, its size said in its
 * place: a page of 500 stays small whatever the tasks carry, and the
 * entry's own GET has it all. */
static void truncate_big(json_t *o, const drv_dlq_entry_t *e)
{
	static const char *const raw_keys[] = { "raw", "raw_base64" };
	json_t *task = json_object_get(o, "task");
	size_t raw = e->undecodable ? e->value_len : e->dl.raw_len;

	if (!e->undecodable && task &&
	    e->dl.task.payload_len > DRV_DLQ_PAGE_PAYLOAD) {
		json_object_del(task, "payload");
		json_object_set_new(task, "payload_truncated", json_true());
		json_object_set_new(task, "payload_bytes", json_integer(
			(json_int_t)e->dl.task.payload_len));
	}
	if (raw > DRV_DLQ_PAGE_PAYLOAD) {
		for (size_t i = 0; i < 2; i++)
			json_object_del(o, raw_keys[i]);
		json_object_set_new(o, "raw_truncated", json_true());
		json_object_set_new(o, "raw_bytes",
				    json_integer((json_int_t)raw));
	}
}

/* The entry, without its DeadLetter bytes unless \p with_message: a list
 * shows what the entry says; GET /dlq/{id} and the export carry the
 * bytes. */
static json_t *entry_obj(const drv_dlq_entry_t *e, bool with_message)
{
	char *text = drv_dlq_entry_json(e);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	if (o && !with_message) {
		json_object_del(o, "message_base64");
		truncate_big(o, e);
	}
	return o;
}

static bool page_visit(const drv_dlq_entry_t *e, void *arg)
{
	page_run_t *r = arg;
	json_t *o;

	if (!grow(r, (size_t)e->partition + 1)) {
		r->nomem = true;
		return false;
	}
	r->next[e->partition] = e->offset + 1;
	r->out->scanned++;
	if (drv_dlq_filter_match(r->f, e)) {
		if (!(o = entry_obj(e, r->with_message)) ||
		    json_array_append_new(r->out->entries, o)) {
			r->nomem = true;
			return false;
		}
	}
	r->full = json_array_size(r->out->entries) >= r->limit ||
		  r->out->scanned >= DRV_DLQ_PAGE_SCAN;
	return !r->full;
}

/* The index's answer: the cursor moves past what it skips. */
static int64_t page_skip(int32_t p, int64_t offset, int64_t *until,
			 void *arg)
{
	page_run_t *r = arg;
	int64_t n = drv_dlq_index_next(r->q, p, offset, until);

	if (n > offset) {
		if (!grow(r, (size_t)p + 1)) {
			r->nomem = true;
			*until = INT64_MAX;
			return offset;
		}
		r->next[p] = n;
	}
	return n;
}

drv_err_t drv_dlq_page(const drv_config_t *cfg, redisContext *redis,
		       const drv_dlq_filter_t *f, const char *cursor, size_t limit, bool with_message,
		       drv_dlq_page_t *out, char *errstr, size_t errstr_size)
{
	page_run_t r = { .f = f, .limit = limit, .with_message = with_message,
			 .out = out };
	drv_err_t rc;

	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > DRV_DLQ_PAGE_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit must be 1..%d", DRV_DLQ_PAGE_MAX);
	if ((rc = parse_cursor(&r, cursor, errstr, errstr_size)))
		goto out;
	if (!(out->entries = json_array())) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	r.q = drv_dlq_index_query_new(cfg, redis, f);
	rc = drv_dlq_read_skip(cfg, r.next, NULL, r.next_cnt, page_visit,
			       r.q ? page_skip : NULL, &r, NULL, errstr,
			       errstr_size);
	out->skipped = drv_dlq_index_skipped(r.q);
	if (!rc && r.nomem)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	/* stopped early: there may be more; read to the end: there is none
	 * (until more arrives, which a new first page finds) */
	if (!rc && r.full && !(out->next = format_cursor(&r)))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
out:
	drv_dlq_index_query_destroy(r.q);
	free(r.next);
	if (rc)
		drv_dlq_page_release(out);
	return rc;
}

void drv_dlq_page_release(drv_dlq_page_t *p)
{
	json_decref(p->entries);
	free(p->next);
	memset(p, 0, sizeof(*p));
}
