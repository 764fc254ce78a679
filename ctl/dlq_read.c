/*
 * dlq_read.c — reading the dead-letter topic for the `droverctl dlq`
 * commands, and the filters they share.
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

#include "dlq_read.h"
#include "topic_read.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

/* ---- filters ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Read exactly \p n digits at *p into *out and advance. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool parse_rfc3339(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
				     30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac_ms = 0;
	const char *p = s;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) ||
		    *p++ != ':' || !digits(&p, 2, &sec))
			return false;
		if (h > 23 || mi > 59 || sec > 60)
			return false;
		if (*p == '.') {
			int scale = 100, n = 0;

			for (p++; isdigit((unsigned char)*p); p++, n++) {
				frac_ms += (*p - '0') * scale;
				scale /= 10;
			}
			if (n == 0)
				return false;
		}
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (!digits(&p, 2, &oh) || *p++ != ':' ||
			    !digits(&p, 2, &om) || oh > 23 || om > 59)
				return false;
		} else
			return false;
	}
	if (*p)
		return false;
	*out = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
		sign * (oh * 3600 + om * 60)) * 1000 + frac_ms;
	return true;
}

drv_err_t dlq_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
	int64_t ms;

	if (parse_rfc3339(s, &ms)) {
		*out = ms;
		return DRV_OK;
	}
	if (drv_parse_duration(s, &ms) == DRV_OK && ms >= 0 && ms <= now_ms) {
		*out = now_ms - ms;
		return DRV_OK;
	}
	return DRV_ERR_INVALID;
}

int dlq_filter_option(const ctl_cmd_t *cmd, dlq_filter_t *f, int c,
		      char *arg, int64_t now_ms)
{
	char *value;

	switch (c) {
	case 'H':
		f->handler = arg;
		return CTL_EXIT_OK;
	case 'r':
		if (drv_dl_reason_parse(arg, &f->reason))
			return ctl_usage_error(cmd, "--reason: unknown reason "
				"'%s' (permanent_failure, attempts_exhausted, "
				"deadline_exceeded, undecodable, "
				"handler_unknown, skipped)", arg);
		f->has_reason = true;
		return CTL_EXIT_OK;
	case 's':
		f->schedule_id = arg;
		return CTL_EXIT_OK;
	case 'l':
		if (!(value = ctl_split_kv(cmd, "--label", arg)))
			return CTL_EXIT_USAGE;
		if (f->label_cnt == DLQ_FILTER_LABEL_MAX)
			return ctl_usage_error(cmd, "at most %d --label filters",
					       DLQ_FILTER_LABEL_MAX);
		f->label_key[f->label_cnt] = arg;
		f->label_value[f->label_cnt++] = value;
		return CTL_EXIT_OK;
	case 'S':
	case 'U':
		if (dlq_parse_time(arg, now_ms,
				   c == 'S' ? &f->since_ms : &f->until_ms))
			return ctl_usage_error(cmd, "--%s: '%s' is neither an "
				"RFC 3339 time (2026-01-02T15:04:05Z) nor a "
				"duration (2h)", c == 'S' ? "since" : "until",
				arg);
		return CTL_EXIT_OK;
	case 'g':
		f->grep = arg;
		return CTL_EXIT_OK;
	default:
		return -1;
	}
}

int dlq_filter_check(const ctl_cmd_t *cmd, const dlq_filter_t *f)
{
	if (f->since_ms && f->until_ms && f->since_ms >= f->until_ms)
		return ctl_usage_error(cmd, "--since must be before --until");
	return CTL_EXIT_OK;
}

const drv_failure_t *dlq_failures(const drv_dead_letter_t *dl, size_t *cnt)
{
	if (dl->failure_cnt) {
		*cnt = dl->failure_cnt;
		return dl->failures;
	}
	*cnt = dl->task.failure_cnt;
	return dl->task.failures;
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

bool dlq_filter_match(const dlq_filter_t *f, const dlq_entry_t *e)
{
	const drv_dead_letter_t *dl = &e->dl;
	int64_t t = e->undecodable ? e->timestamp_ms : dl->dead_ms;
	const drv_failure_t *fl;
	size_t n;

	if (f->since_ms && t < f->since_ms)
		return false;
	if (f->until_ms && t >= f->until_ms)
		return false;
	if (e->undecodable)
		return !f->handler && !f->has_reason && !f->schedule_id &&
		       !f->label_cnt && !f->grep;
	if (f->handler && (!dl->task.handler ||
			   strcmp(f->handler, dl->task.handler)))
		return false;
	if (f->has_reason && dl->reason != f->reason)
		return false;
	if (f->schedule_id && (!dl->task.origin.schedule_id ||
			       strcmp(f->schedule_id,
				      dl->task.origin.schedule_id)))
		return false;
	for (size_t i = 0; i < f->label_cnt; i++) {
		const char *v = drv_task_label(&dl->task, f->label_key[i]);
		if (!v || strcmp(v, f->label_value[i]))
			return false;
	}
	if (f->grep) {
		fl = dlq_failures(dl, &n);
		if (!(n && contains(fl[n - 1].message, f->grep)) &&
		    !contains(dl->detail, f->grep))
			return false;
	}
	return true;
}

/* ---- JSON --------------------------------------------------------------- */

char *dlq_entry_json(const dlq_entry_t *e)
{
	drv_dead_letter_t tmp;
	json_t *full, *obj;
	char *s;

	if (!e->undecodable) {
		if (!(s = drv_dead_letter_to_json(&e->dl)))
			return NULL;
		obj = json_loads(s, 0, NULL);
		free(s);
	} else {
		/* drv_dead_letter_to_json() renders raw bytes (as JSON when
		 * they parse, else base64): borrow that for the value */
		drv_dead_letter_init(&tmp);
		tmp.raw = (uint8_t *)e->value;
		tmp.raw_len = e->value_len;
		s = drv_dead_letter_to_json(&tmp);
		full = s ? json_loads(s, 0, NULL) : NULL;
		free(s);
		obj = json_pack("{s:b, s:s}", "undecodable_entry", 1, "error",
				e->decode_error);
		if (obj && full) {
			json_t *raw = json_object_get(full, "raw");
			json_t *b64 = json_object_get(full, "raw_base64");
			if (raw)
				json_object_set(obj, "raw", raw);
			if (b64)
				json_object_set(obj, "raw_base64", b64);
		}
		json_decref(full);
		if (obj && e->timestamp_ms >= 0)
			json_object_set_new(obj, "timestamp_ms",
					    json_integer(e->timestamp_ms));
	}
	if (!obj)
		return NULL;
	if (!e->undecodable) {
		/* the message itself, so `dlq import` restores it exactly */
		char *b64 = drv_base64_encode(e->value, e->value_len);

		if (!b64) {
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(obj, "message_base64", json_string(b64));
		free(b64);
	}
	json_object_set_new(obj, "dlq_partition", json_integer(e->partition));
	json_object_set_new(obj, "dlq_offset", json_integer(e->offset));
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return s;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct dlq_visit_ctx {
	dlq_visit_fn fn;
	void        *arg;
} dlq_visit_ctx_t;

/* Hand one message to the caller as an entry; false when it wants no
 * more. */
static bool visit(const rd_kafka_message_t *m, void *arg)
{
	dlq_visit_ctx_t *vc = arg;
	dlq_entry_t e;
	rd_kafka_timestamp_type_t tst;
	bool more;

	memset(&e, 0, sizeof(e));
	drv_dead_letter_init(&e.dl);
	e.partition = m->partition;
	e.offset = m->offset;
	e.timestamp_ms = rd_kafka_message_timestamp(m, &tst);
	e.value = m->payload;
	e.value_len = m->len;
	if (!m->payload || drv_dead_letter_decode(m->payload, m->len, &e.dl,
						  e.decode_error,
						  sizeof(e.decode_error))) {
		e.undecodable = true;
		if (!m->payload)
			drv_strlcpy(e.decode_error, "empty message",
				    sizeof(e.decode_error));
	}
	more = vc->fn(&e, vc->arg);
	drv_dead_letter_release(&e.dl);
	return more;
}

drv_err_t dlq_read(const drv_config_t *cfg, dlq_visit_fn fn, void *arg,
		   size_t *read_cnt, char *errstr, size_t errstr_size)
{
	dlq_visit_ctx_t vc = { fn, arg };
	char topic[256];

	if (!drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic)))
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "topic prefix too long");
	return ctl_topic_read(cfg, topic, visit, &vc, read_cnt, errstr,
			      errstr_size);
}
