/*
 * dlq_read.c — reading the dead-letter topic for the `droverctl dlq`
 * commands, and the filters they share.
 *
 * The read is a snapshot: the high watermark of every DLQ partition is read
 * first and the consumer stops at it, so a DLQ that keeps growing cannot
 * keep a command running. The consumer is assigned its partitions by hand;
 * it never subscribes, joins a group or commits (librdkafka still wants a
 * group.id for rd_kafka_assign(); it is only a name here). A message that
 * is not a DeadLetter is handed to the caller as an undecodable entry
 * rather than stopping the read.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dlq_read.h"
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

typedef struct part {
	int64_t hi;     /* stop before this offset */
	bool    done;
} part_t;

static rd_kafka_t *reader_new(const drv_config_t *cfg, char *errstr,
			      size_t errstr_size)
{
	char group[300], rderr[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;

	drv_fmt(group, sizeof(group), "%sdroverctl-dlq-reader",
		cfg->kafka.topic_prefix);
	if (!(conf = drv_kafka_conf_new(cfg, group, errstr, errstr_size)))
		return NULL;
	/* assigned by hand and never committed; EOF tells us a partition
	 * with a gap before its watermark (compaction, aborted writes) is
	 * finished */
	if (rd_kafka_conf_set(conf, "enable.auto.commit", "false", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_KAFKA, "%s", rderr);
		return NULL;
	}
	if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr,
				sizeof(rderr)))) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			  "cannot create Kafka consumer: %s", rderr);
	}
	return rk;
}

/* The partition count of \p topic, or an error. */
static drv_err_t partition_count(rd_kafka_t *rk, const char *topic,
				 int64_t timeout_ms, int *cnt,
				 char *errstr, size_t errstr_size)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;
	drv_err_t rc = DRV_OK;

	if (!rkt)
		return drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
				 "%s: %s", topic,
				 rd_kafka_err2str(rd_kafka_last_error()));
	for (int64_t end = drv_mono_ms() + timeout_ms;;) {
		err = rd_kafka_metadata(rk, 0, rkt, &md, (int)timeout_ms);
		/* a topic just created may not be known to the broker
		 * answering yet, or may have no leader */
		if (err || (md->topic_cnt == 1 && !md->topics[0].err &&
			    md->topics[0].partition_cnt > 0) ||
		    drv_mono_ms() + 200 >= end)
			break;
		rd_kafka_metadata_destroy(md);
		md = NULL;
		rd_kafka_poll(rk, 200);
	}
	rd_kafka_topic_destroy(rkt);
	if (err)
		return drv_error(errstr, errstr_size, drv_kafka_err(err),
				 "no answer from the broker about %s within "
				 "%lld ms: %s", topic, (long long)timeout_ms,
				 rd_kafka_err2str(err));
	if (md->topic_cnt != 1 || md->topics[0].err)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
			       "dead-letter topic %s: %s (run 'droverctl "
			       "topics ensure'?)", topic,
			       rd_kafka_err2str(md->topic_cnt ?
						md->topics[0].err :
						RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
	else
		*cnt = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return rc;
}

/* Hand one message to the caller; false when it wants no more. */
static bool visit(const rd_kafka_message_t *m, dlq_visit_fn fn, void *arg)
{
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
	more = fn(&e, arg);
	drv_dead_letter_release(&e.dl);
	return more;
}

drv_err_t dlq_read(const drv_config_t *cfg, dlq_visit_fn fn, void *arg,
		   size_t *read_cnt, char *errstr, size_t errstr_size)
{
	int64_t timeout = cfg->kafka.connect_timeout_ms, last_progress;
	rd_kafka_topic_partition_list_t *parts = NULL;
	char topic[256], last_err[256] = "";
	part_t *pv = NULL;
	size_t n_read = 0;
	int pcnt = 0, left = 0;
	drv_err_t rc;
	rd_kafka_t *rk;

	if (read_cnt)
		*read_cnt = 0;
	if (!drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic)))
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "topic prefix too long");
	if (!(rk = reader_new(cfg, errstr, errstr_size)))
		return DRV_ERR_KAFKA;
	if ((rc = partition_count(rk, topic, timeout, &pcnt, errstr,
				  errstr_size)))
		goto out;
	if (!(pv = calloc((size_t)pcnt + 1, sizeof(*pv))) ||
	    !(parts = rd_kafka_topic_partition_list_new(pcnt))) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	for (int p = 0; p < pcnt; p++) {
		int64_t lo = 0, hi = 0, end = drv_mono_ms() + timeout;
		rd_kafka_resp_err_t err;

		/* a partition just created may have no leader yet: retry
		 * within the timeout */
		while ((err = rd_kafka_query_watermark_offsets(rk, topic, p,
				&lo, &hi, (int)timeout)) &&
		       drv_mono_ms() + 100 < end)
			rd_kafka_poll(rk, 100);
		if (err) {
			rc = drv_error(errstr, errstr_size, drv_kafka_err(err),
				       "%s [%d]: cannot read the end offset: %s",
				       topic, p, rd_kafka_err2str(err));
			goto out;
		}
		pv[p].hi = hi;
		pv[p].done = hi <= lo;
		if (!pv[p].done) {
			rd_kafka_topic_partition_list_add(parts, topic, p)
				->offset = RD_KAFKA_OFFSET_BEGINNING;
			left++;
		}
	}
	if (left == 0)
		goto out;
	if (rd_kafka_assign(rk, parts)) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			       "cannot assign %s", topic);
		goto out;
	}
	last_progress = drv_mono_ms();
	while (left > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		bool more = true;
		part_t *pp;

		if (!m) {
			if (drv_mono_ms() - last_progress > timeout) {
				rc = drv_error(errstr, errstr_size,
					       DRV_ERR_TIMEOUT, "reading %s: "
					       "no progress for %lld ms%s%s",
					       topic, (long long)timeout,
					       last_err[0] ? ": " : "",
					       last_err);
				break;
			}
			continue;
		}
		if (m->partition < 0 || m->partition >= pcnt ||
		    (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)) {
			/* client-level errors are retried by librdkafka;
			 * remember the last for the timeout message */
			drv_strlcpy(last_err, rd_kafka_message_errstr(m),
				    sizeof(last_err));
			if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
			    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
				rc = drv_error(errstr, errstr_size,
					       DRV_ERR_KAFKA, "reading %s: %s",
					       topic, last_err);
				rd_kafka_message_destroy(m);
				break;
			}
			rd_kafka_message_destroy(m);
			continue;
		}
		pp = &pv[m->partition];
		last_progress = drv_mono_ms();
		if (!pp->done && !m->err && m->offset < pp->hi) {
			n_read++;
			more = visit(m, fn, arg);
		}
		if (!pp->done && m->offset + (m->err ? 0 : 1) >= pp->hi) {
			pp->done = true;
			left--;
		}
		rd_kafka_message_destroy(m);
		if (!more)
			break;
	}
	rd_kafka_assign(rk, NULL);
out:
	if (read_cnt)
		*read_cnt = n_read;
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	free(pv);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}
