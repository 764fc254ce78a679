/*
 * queue_list.c — the queued tasks of `droverctl task list --state queued`
 * and GET /api/v1/tasks?state=queued, read from Kafka itself: a task that
 * waits on a band topic has no record in Redis (workers write the first one
 * when they take it), so the list reads each band partition from the
 * workers' committed offset to its end, decodes the tasks and keeps those
 * that pass the filter and that no worker has recorded yet (a task past the
 * committed offset may already be running). Bands highest first, then
 * partition, then offset: the order workers take them in, per partition.
 * Nothing is written on the hot path for it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/queue_status.h"
#include "drover/str.h"
#include "drover/task.h"
#include "drover/task_list.h"

#define POLL_WAIT_MS 3000   /* most one partition's read waits for data */

typedef struct pos {
	size_t  band;
	int32_t partition;
	int64_t offset;         /* the next to read; -1 = the committed one */
} pos_t;

bool drv_task_list_from_kafka(const drv_task_filter_t *f, const char *cursor)
{
	if (cursor && *cursor)
		return cursor[0] == 'q';
	return f->states == 1u << DRV_TASK_QUEUED;
}

/* "q<band>.<partition>.<offset>" */
static drv_err_t parse_cursor(const char *cursor, pos_t *p, char *errstr,
			      size_t errstr_size)
{
	unsigned long long band, part, off;
	char tail;

	*p = (pos_t){ .offset = -1 };
	if (!cursor || !*cursor)
		return DRV_OK;
	if (sscanf(cursor, "q%llu.%llu.%llu%c", &band, &part, &off,
		   &tail) != 3 || band >= drv_band_cnt || part > INT32_MAX ||
	    off > INT64_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "cursor '%.60s' is not one a queued task "
				 "list gave", cursor);
	p->band = (size_t)band;
	p->partition = (int32_t)part;
	p->offset = (int64_t)off;
	return DRV_OK;
}

/* \p t as the row the list shows: state queued, updated = when it was
 * published (\p ts_ms). Strings are copied. */
static drv_err_t to_row(const drv_task_t *t, int64_t ts_ms,
			drv_state_task_t *row)
{
	drv_state_task_init(row);
	row->state = DRV_TASK_QUEUED;
	row->attempt = t->attempt;
	row->priority = t->priority;
	row->created_ms = t->created_ms;
	row->updated_ms = ts_ms > 0 ? ts_ms : t->created_ms;
	row->due_ms = t->not_before_ms;
	row->ttl_ms = -1;
	row->id = drv_strdup(t->id);
	row->handler = drv_strdup(t->handler ? t->handler : "");
	/* NULL for none, as in a hash read back */
	row->labels = t->label_cnt ? drv_state_labels_json(t) : NULL;
	row->origin = drv_state_origin_json(t);
	if (!row->id || !row->handler || (t->label_cnt && !row->labels)) {
		drv_state_task_release(row);
		return DRV_ERR_NOMEM;
	}
	return DRV_OK;
}

/* Keep the rows of \p rows[0..n) that Redis has no record of (a worker
 * took them), in place; returns how many are left. A Redis failure keeps
 * them all (listed as queued: the best known). */
static size_t not_taken(redisContext *c, const char *prefix,
			drv_state_task_t *rows, size_t n)
{
	size_t k = 0;
	bool ok = true;

	for (size_t i = 0; c && i < n; i++)
		ok = ok && redisAppendCommand(c, "EXISTS %stask:%s", prefix,
					      rows[i].id) == REDIS_OK;
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		bool taken = false;

		if (c && ok && redisGetReply(c, (void **)&r) == REDIS_OK)
			taken = r->type == REDIS_REPLY_INTEGER && r->integer;
		else
			ok = false;
		freeReplyObject(r);
		if (taken)
			drv_state_task_release(&rows[i]);
		else
			rows[k++] = rows[i];
	}
	return k;
}

/* Read partition \p part of \p topic from \p from up to \p high (or until
 * the page is full or the scan budget spent) into \p out; *next is the
 * offset to go on from. */
static drv_err_t read_partition(rd_kafka_t *rk, redisContext *c,
				const char *prefix, const char *topic,
				int32_t part, int64_t from, int64_t high,
				const drv_task_filter_t *f, size_t limit,
				drv_task_page_t *out, int64_t *next,
				char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *l =
		rd_kafka_topic_partition_list_new(1);
	int64_t until = drv_mono_ms() + POLL_WAIT_MS;
	drv_err_t rc = DRV_OK;

	*next = from;
	rd_kafka_topic_partition_list_add(l, topic, part)->offset = from;
	if (rd_kafka_assign(rk, l)) {
		rd_kafka_topic_partition_list_destroy(l);
		return drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
				 "%s [%d]: cannot assign", topic, (int)part);
	}
	/* rows from `checked` on are candidates, looked up in Redis in one
	 * pipeline when the page is full of them or the reading stops */
	for (size_t checked = out->cnt;;) {
		rd_kafka_message_t *m = NULL;
		drv_task_t t;
		char err[256];

		bool stop = rc || *next >= high ||
			    out->scanned >= DRV_TASK_LIST_SCAN ||
			    drv_mono_ms() >= until;

		if (stop || out->cnt == limit) {
			out->cnt = checked + not_taken(c, prefix,
						       &out->tasks[checked],
						       out->cnt - checked);
			checked = out->cnt;
			if (stop || out->cnt == limit)
				break;
		}
		if (!(m = rd_kafka_consumer_poll(rk, 100)))
			continue;
		if (m->err || m->partition != part || m->offset < *next) {
			rd_kafka_message_destroy(m);
			continue;
		}
		*next = m->offset + 1;
		out->scanned++;
		drv_task_init(&t);
		if (!drv_task_decode(m->payload, m->len, &t, err,
				     sizeof(err))) {
			drv_state_task_t *row = &out->tasks[out->cnt];

			if ((rc = to_row(&t, rd_kafka_message_timestamp(m,
					 NULL), row)))
				drv_error(errstr, errstr_size, rc,
					  "out of memory");
			else if (drv_task_filter_match(f, row))
				out->cnt++;
			else
				drv_state_task_release(row);
		}
		drv_task_release(&t);
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(rk, NULL);
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

drv_err_t drv_task_list_queued(drv_queue_reader_t *r, redisContext *c,
			       const char *key_prefix,
			       const drv_task_filter_t *f, const char *cursor,
			       size_t limit, drv_task_page_t *out,
			       char *errstr, size_t errstr_size)
{
	const drv_config_t *cfg = drv_queue_reader_config(r);
	rd_kafka_t *rk = drv_queue_reader_band(r);
	int timeout = (int)cfg->kafka.connect_timeout_ms;
	drv_err_t rc;
	pos_t at;

	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > DRV_TASK_LIST_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit must be 1..%d", DRV_TASK_LIST_MAX);
	if ((rc = parse_cursor(cursor, &at, errstr, errstr_size)))
		return rc;
	if (!(out->tasks = calloc(limit, sizeof(*out->tasks))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t b = at.band; !rc && b < drv_band_cnt; b++) {
		rd_kafka_topic_partition_list_t *parts;
		rd_kafka_resp_err_t err;
		uint32_t lo_p, hi_p;
		char topic[256];
		int n;

		drv_band_range(cfg, b, &lo_p, &hi_p);
		if (f->prio_min && (hi_p < f->prio_min || lo_p > f->prio_max))
			continue;  /* the filter's band is another */
		drv_topic_name(cfg, DRV_TOPIC_TASKS, drv_bands[b].name, 0,
			       topic, sizeof(topic));
		if ((n = drv_topic_partitions(rk, topic, timeout, errstr,
					      errstr_size)) < 0) {
			rc = DRV_ERR_KAFKA;
			break;
		}
		parts = rd_kafka_topic_partition_list_new(n);
		for (int p = 0; p < n; p++)
			rd_kafka_topic_partition_list_add(parts, topic, p);
		if ((err = rd_kafka_committed(rk, parts, timeout)))
			rc = drv_error(errstr, errstr_size, drv_kafka_err(err),
				       "committed offsets: %s",
				       rd_kafka_err2str(err));
		for (int p = 0; !rc && p < n; p++) {
			int64_t lo = 0, hi = 0, from, next;

			if (b == at.band && p < at.partition)
				continue;
			if ((err = rd_kafka_query_watermark_offsets(rk, topic,
					p, &lo, &hi, timeout))) {
				rc = drv_error(errstr, errstr_size,
					       drv_kafka_err(err),
					       "%s [%d]: %s", topic, p,
					       rd_kafka_err2str(err));
				break;
			}
			from = parts->elems[p].offset > lo ?
			       parts->elems[p].offset : lo;
			if (b == at.band && p == at.partition &&
			    at.offset > from)
				from = at.offset;
			if (from >= hi)
				continue;
			rc = read_partition(rk, c, key_prefix, topic, p, from,
					    hi, f, limit, out, &next, errstr,
					    errstr_size);
			if (!rc && next < hi) {
				/* the page is full, the budget spent or the
				 * broker slow: go on from there next time */
				size_t len = 64;

				if ((out->next = malloc(len)))
					drv_fmt(out->next, len,
						"q%zu.%d.%" PRId64, b, p,
						next);
				rd_kafka_topic_partition_list_destroy(parts);
				return DRV_OK;
			}
		}
		rd_kafka_topic_partition_list_destroy(parts);
	}
	if (rc)
		drv_task_page_release(out);
	return rc;
}
