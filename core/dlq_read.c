/*
 * dlq_read.c — reading the dead-letter topic (and its archive) for the
 * `droverctl dlq` commands and /api/v1/dlq.
 *
 * The read is a snapshot (topic_read.c): it stops at the end the DLQ had
 * when the command started. A message that is not a DeadLetter is handed
 * to the caller as an undecodable entry rather than stopping the read.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/dlq.h"
#include "drover/topic_read.h"
#include "drover/clock.h"
#include "drover/dlq_archive.h"
#include "drover/kafka.h"
#include "drover/str.h"

/* ---- JSON --------------------------------------------------------------- */

char *drv_dlq_entry_json(const drv_dlq_entry_t *e)
{
	return drv_dead_letter_export_json(e->undecodable ? NULL : &e->dl,
					   e->value, e->value_len,
					   e->decode_error, e->timestamp_ms,
					   e->partition, e->offset);
}

/* ---- reading ------------------------------------------------------------ */

typedef struct dlq_visit_ctx {
	drv_dlq_visit_fn fn;
	drv_topic_skip_fn skip;
	void        *arg;
} dlq_visit_ctx_t;

static int64_t skip_visit(int32_t p, int64_t offset, int64_t *until,
			  void *arg)
{
	dlq_visit_ctx_t *vc = arg;

	return vc->skip(p, offset, until, vc->arg);
}

void drv_dlq_entry_from(const rd_kafka_message_t *m, drv_dlq_entry_t *e)
{
	rd_kafka_timestamp_type_t tst;

	memset(e, 0, sizeof(*e));
	drv_dead_letter_init(&e->dl);
	e->partition = m->partition;
	e->offset = m->offset;
	e->timestamp_ms = rd_kafka_message_timestamp(m, &tst);
	e->value = m->payload;
	e->value_len = m->len;
	if (!m->payload || drv_dead_letter_decode(m->payload, m->len, &e->dl,
						  e->decode_error,
						  sizeof(e->decode_error))) {
		e->undecodable = true;
		if (!m->payload)
			drv_strlcpy(e->decode_error, "empty message",
				    sizeof(e->decode_error));
	}
}

/* Hand one message to the caller as an entry; false when it wants no
 * more. */
static bool visit(const rd_kafka_message_t *m, void *arg)
{
	dlq_visit_ctx_t *vc = arg;
	drv_dlq_entry_t e;
	bool more;

	drv_dlq_entry_from(m, &e);
	more = vc->fn(&e, vc->arg);
	drv_dead_letter_release(&e.dl);
	return more;
}

drv_err_t drv_dlq_read_from(const drv_config_t *cfg, const int64_t *start,
			    size_t start_cnt, drv_dlq_visit_fn fn, void *arg,
			    size_t *read_cnt, char *errstr,
			    size_t errstr_size)
{
	return drv_dlq_read_range(cfg, start, NULL, start_cnt, fn, arg,
				  read_cnt, errstr, errstr_size);
}

drv_err_t drv_dlq_read_range(const drv_config_t *cfg, const int64_t *start,
			     const int64_t *end, size_t cnt,
			     drv_dlq_visit_fn fn, void *arg, size_t *read_cnt,
			     char *errstr, size_t errstr_size)
{
	dlq_visit_ctx_t vc = { fn, NULL, arg };
	char topic[256];

	if (!drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic)))
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "topic prefix too long");
	return drv_topic_read_range(cfg, topic, start, end, cnt, visit, &vc,
				    read_cnt, errstr, errstr_size);
}

drv_err_t drv_dlq_read_skip(const drv_config_t *cfg, const int64_t *start,
			    size_t start_cnt, drv_dlq_visit_fn fn,
			    drv_topic_skip_fn skip, void *arg,
			    size_t *read_cnt, char *errstr,
			    size_t errstr_size)
{
	dlq_visit_ctx_t vc = { fn, skip, arg };
	char topic[256];

	if (!drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic)))
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "topic prefix too long");
	return drv_topic_read_skip(cfg, topic, start, start_cnt, visit,
				   skip ? skip_visit : NULL, &vc, read_cnt,
				   errstr, errstr_size);
}

drv_err_t drv_dlq_offsets(const drv_config_t *cfg, int64_t **lo,
			  int64_t **hi, size_t *cnt, char *errstr,
			  size_t errstr_size)
{
	char topic[256];

	if (!drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic)))
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "topic prefix too long");
	return drv_topic_offsets(cfg, topic, lo, hi, cnt, errstr,
				 errstr_size);
}

drv_err_t drv_dlq_read(const drv_config_t *cfg, drv_dlq_visit_fn fn,
		       void *arg, size_t *read_cnt, char *errstr,
		       size_t errstr_size)
{
	return drv_dlq_read_from(cfg, NULL, 0, fn, arg, read_cnt, errstr,
				 errstr_size);
}

/* ---- the archive (coordinator.archive_dir) -------------------------------- */

typedef struct arch_read {
	const char     *dir;
	const drv_dlq_filter_t *f;
	drv_dlq_visit_fn    fn;
	void           *arg;
	size_t          read_cnt, files;
	bool            stop;
	drv_err_t       rc;
	char           *errstr;
	size_t          errstr_size;
	const drv_dlq_archive_file_t *file;
} arch_read_t;

/* Could file \p af hold an entry \p f matches? Its index names every handler
 * and reason in it; its day bounds the Kafka timestamps (a day of margin:
 * dead_ms is the worker's clock). A missing index means "maybe". */
static bool archive_file_may_match(const arch_read_t *ar,
				   const drv_dlq_archive_file_t *af)
{
	const int64_t day_ms = 86400000;
	char path[4096];
	int64_t start;
	json_t *idx;
	bool ok = true;

	if (drv_parse_when(af->day, 0, &start) == 0 &&
	    ((ar->f->since_ms && start + 2 * day_ms <= ar->f->since_ms) ||
	     (ar->f->until_ms && start - day_ms >= ar->f->until_ms)))
		return false;
	if (!ar->f->handler && !ar->f->has_reason)
		return true;
	drv_dlq_archive_path(ar->dir, af, DRV_DLQ_ARCHIVE_INDEX, path,
			     sizeof(path));
	if (!(idx = json_load_file(path, 0, NULL)))
		return true;
	if (ar->f->handler &&
	    !json_object_get(json_object_get(idx, "handlers"),
			     ar->f->handler))
		ok = false;
	if (ar->f->has_reason &&
	    !json_object_get(json_object_get(idx, "reasons"),
			     drv_dl_reason_name(ar->f->reason)))
		ok = false;
	json_decref(idx);
	return ok;
}

/* One exported line back into an entry (as drv_dlq_read() would have made it). */
static bool archive_line(const char *line, size_t len, void *arg)
{
	arch_read_t *ar = arg;
	json_t *o = json_loadb(line, len, 0, NULL), *v;
	uint8_t *buf = NULL;
	size_t blen = 0;
	drv_dlq_entry_t e;
	char *raw = NULL;
	bool more = true;

	if (!o)
		return true;
	memset(&e, 0, sizeof(e));
	drv_dead_letter_init(&e.dl);
	e.partition = (int32_t)json_integer_value(json_object_get(o,
						    "dlq_partition"));
	e.offset = json_integer_value(json_object_get(o, "dlq_offset"));
	e.timestamp_ms = -1;
	v = json_object_get(o, "message_base64");
	if (json_is_string(v) &&
	    !drv_base64_decode(json_string_value(v), json_string_length(v),
			       &buf, &blen) &&
	    !drv_dead_letter_decode(buf, blen, &e.dl, e.decode_error,
				    sizeof(e.decode_error))) {
		e.value = buf;
		e.value_len = blen;
		e.timestamp_ms = e.dl.dead_ms;
	} else {
		e.undecodable = true;
		drv_strlcpy(e.decode_error, json_string_value(json_object_get(
			o, "error")) ? json_string_value(json_object_get(o,
			"error")) : "not a dead letter", sizeof(e.decode_error));
		if ((v = json_object_get(o, "timestamp_ms")))
			e.timestamp_ms = json_integer_value(v);
		free(buf);
		buf = NULL;
		if ((v = json_object_get(o, "raw_base64")) &&
		    json_is_string(v) &&
		    !drv_base64_decode(json_string_value(v),
				       json_string_length(v), &buf, &blen)) {
			e.value = buf;
			e.value_len = blen;
		} else if ((v = json_object_get(o, "raw")) &&
			   (raw = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY))) {
			e.value = raw;
			e.value_len = strlen(raw);
		}
	}
	ar->read_cnt++;
	more = ar->fn(&e, ar->arg);
	drv_dead_letter_release(&e.dl);
	free(buf);
	free(raw);
	json_decref(o);
	ar->stop = !more;
	return more;
}

static bool archive_file(const drv_dlq_archive_file_t *af, void *arg)
{
	arch_read_t *ar = arg;
	char path[4096];

	if (!archive_file_may_match(ar, af))
		return true;
	ar->files++;
	drv_dlq_archive_path(ar->dir, af, DRV_DLQ_ARCHIVE_DATA, path,
			     sizeof(path));
	ar->rc = drv_dlq_archive_read_lines(path, archive_line, ar,
					    ar->errstr, ar->errstr_size);
	return !ar->rc && !ar->stop;
}

drv_err_t drv_dlq_read_archive(const char *dir, const drv_dlq_filter_t *f,
			   drv_dlq_visit_fn fn, void *arg, size_t *read_cnt,
			   size_t *file_cnt, char *errstr, size_t errstr_size)
{
	arch_read_t ar = { .dir = dir, .f = f, .fn = fn, .arg = arg,
			   .errstr = errstr, .errstr_size = errstr_size };
	drv_err_t rc = drv_dlq_archive_scan(dir, archive_file, &ar, errstr,
					    errstr_size);

	if (read_cnt)
		*read_cnt = ar.read_cnt;
	if (file_cnt)
		*file_cnt = ar.files;
	return rc ? rc : ar.rc;
}
