/*
 * topic_read.c — reading a topic once up to the high watermarks read at the
 * start: droverctl's whole-topic reads (the DLQ, the audit trail) and the
 * coordinator's DLQ archiver, which starts each partition where its archive
 * ends.
 *
 * The consumer is assigned its partitions by hand; it never subscribes,
 * joins a group or commits (librdkafka still wants a group.id for
 * rd_kafka_assign(); it is only a name here), so a topic that keeps growing
 * cannot keep a command running.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/topic_read.h"
#include "drover/clock.h"
#include "drover/str.h"

typedef struct part {
	int64_t hi;     /* stop before this offset */
	int64_t floor;  /* the next offset wanted: below it was read or
			   skipped (a seek may deliver some again) */
	int64_t until;  /* ask the skip function again at this offset */
	bool    done;
} part_t;

rd_kafka_t *drv_topic_reader_new(const drv_config_t *cfg, bool follow,
				 char *errstr, size_t errstr_size)
{
	char group[300], rderr[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;

	drv_fmt(group, sizeof(group), "%sdroverctl-reader",
		cfg->kafka.topic_prefix);
	if (!(conf = drv_kafka_conf_new(cfg, group, errstr, errstr_size)))
		return NULL;
	/* assigned by hand and never committed; EOF tells us a partition
	 * with a gap before its watermark (compaction, aborted writes) is
	 * finished. Bigger fetches and read-ahead than the daemons use: a
	 * whole-topic read is bound by fetching (measured with
	 * bench/dlq.c: 8 MB of read-ahead halves the rate), and the
	 * read-ahead is what bounds the memory, whatever the topic's size */
	if (rd_kafka_conf_set(conf, "enable.auto.commit", "false", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "max.partition.fetch.bytes", "4194304",
			      rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "queued.max.messages.kbytes", "16384",
			      rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "fetch.error.backoff.ms", "10",
			      rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    /* an offset retention has deleted reads on from the start */
	    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest",
			      rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    /* a read that stops at the end has no use for the broker
	     * holding a fetch there, and a seek waits for the fetch in
	     * flight (measured: a page through the DLQ index took 0.5 s
	     * with the default 500 ms) */
	    (!follow && rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5",
			      rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK)) {
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

/* The partition count of \p topic, waiting for a topic just created. */
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
			       "topic %s: %s (run 'droverctl "
			       "topics ensure'?)", topic,
			       rd_kafka_err2str(md->topic_cnt ?
						md->topics[0].err :
						RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
	else
		*cnt = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return rc;
}

/* The watermarks of partition \p p, retried within the timeout (a
 * partition just created may have no leader yet). */
static drv_err_t watermarks(rd_kafka_t *rk, const char *topic, int p,
			    int64_t timeout, int64_t *lo, int64_t *hi,
			    char *errstr, size_t errstr_size)
{
	int64_t end = drv_mono_ms() + timeout;
	rd_kafka_resp_err_t err;

	while ((err = rd_kafka_query_watermark_offsets(rk, topic, p, lo, hi,
						       (int)timeout)) &&
	       drv_mono_ms() + 100 < end)
		rd_kafka_poll(rk, 100);
	if (err)
		return drv_error(errstr, errstr_size, drv_kafka_err(err),
				 "%s [%d]: cannot read the end offset: %s",
				 topic, p, rd_kafka_err2str(err));
	return DRV_OK;
}

drv_err_t drv_topic_offsets(const drv_config_t *cfg, const char *topic,
			    int64_t **lo, int64_t **hi, size_t *cnt,
			    char *errstr, size_t errstr_size)
{
	int64_t timeout = cfg->kafka.connect_timeout_ms;
	drv_err_t rc;
	rd_kafka_t *rk;
	int pcnt = 0;

	*lo = *hi = NULL;
	*cnt = 0;
	if (!(rk = drv_topic_reader_new(cfg, false, errstr, errstr_size)))
		return DRV_ERR_KAFKA;
	if ((rc = partition_count(rk, topic, timeout, &pcnt, errstr,
				  errstr_size)))
		goto out;
	*lo = calloc((size_t)pcnt + 1, sizeof(**lo));
	*hi = calloc((size_t)pcnt + 1, sizeof(**hi));
	if (!*lo || !*hi) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	for (int p = 0; p < pcnt && !rc; p++)
		rc = watermarks(rk, topic, p, timeout, &(*lo)[p], &(*hi)[p],
				errstr, errstr_size);
	*cnt = (size_t)pcnt;
out:
	if (rc) {
		free(*lo);
		free(*hi);
		*lo = *hi = NULL;
		*cnt = 0;
	}
	rd_kafka_destroy(rk);
	return rc;
}

/* Move partition \p p of \p pp past what \p skip says holds nothing,
 * from \p offset on: its floor rises (to its end or past, when nothing is
 * left) and the consumer seeks there. */
static void skip_to(rd_kafka_t *rk, const char *topic, int32_t p,
		    part_t *pp, int64_t offset, drv_topic_skip_fn skip,
		    void *arg)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_error_t *e;
	int64_t n = skip(p, offset, &pp->until, arg);

	if (n <= offset)
		return;
	pp->floor = n;
	if (n >= pp->hi)
		return;
	/* asynchronous: what was fetched before it is dropped by the
	 * client, and anything below the floor by the loop */
	if ((l = rd_kafka_topic_partition_list_new(1))) {
		rd_kafka_topic_partition_list_add(l, topic, p)->offset = n;
		if ((e = rd_kafka_seek_partitions(rk, l, 0)))
			rd_kafka_error_destroy(e);
		rd_kafka_topic_partition_list_destroy(l);
	}
}

static drv_err_t read_topic(const drv_config_t *cfg, const char *topic,
			    const int64_t *start, const int64_t *end,
			    size_t cnt, drv_topic_msg_fn fn,
			    drv_topic_skip_fn skip, void *arg,
			    size_t *read_cnt, char *errstr,
			    size_t errstr_size)
{
	size_t start_cnt = start ? cnt : 0;

	int64_t timeout = cfg->kafka.connect_timeout_ms, last_progress;
	rd_kafka_topic_partition_list_t *parts = NULL;
	char last_err[256] = "";
	part_t *pv = NULL;
	size_t n_read = 0;
	int pcnt = 0, left = 0;
	drv_err_t rc;
	rd_kafka_t *rk;

	if (read_cnt)
		*read_cnt = 0;
	if (!(rk = drv_topic_reader_new(cfg, false, errstr, errstr_size)))
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
		int64_t lo = 0, hi = 0, from;

		if ((rc = watermarks(rk, topic, p, timeout, &lo, &hi, errstr,
				     errstr_size)))
			goto out;
		from = (size_t)p < start_cnt && start[p] > lo ? start[p] : lo;
		/* a range ends where it was told: a partition past it (added
		 * since) is not read */
		if (end)
			hi = (size_t)p < cnt && end[p] < hi ? end[p] :
			     (size_t)p < cnt ? hi : from;
		pv[p].hi = hi;
		pv[p].until = INT64_MAX;
		if (skip && from < hi)
			from = skip(p, from, &pv[p].until, arg);
		pv[p].floor = from;
		pv[p].done = hi <= from;
		if (!pv[p].done) {
			rd_kafka_topic_partition_list_add(parts, topic, p)
				->offset = from > lo ? from :
				RD_KAFKA_OFFSET_BEGINNING;
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
		if (!pp->done && !m->err && m->offset < pp->floor) {
			rd_kafka_message_destroy(m);
			continue;
		}
		if (!pp->done && !m->err && m->offset >= pp->until &&
		    m->offset < pp->hi) {
			skip_to(rk, topic, m->partition, pp, m->offset, skip,
				arg);
			if (pp->floor >= pp->hi) {
				pp->done = true;
				left--;
			}
			if (m->offset < pp->floor) {
				rd_kafka_message_destroy(m);
				continue;
			}
		}
		if (!pp->done && !m->err && m->offset < pp->hi) {
			n_read++;
			pp->floor = m->offset + 1;
			more = fn(m, arg);
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

drv_err_t drv_topic_read(const drv_config_t *cfg, const char *topic,
			 const int64_t *start, size_t start_cnt,
			 drv_topic_msg_fn fn, void *arg, size_t *read_cnt,
			 char *errstr, size_t errstr_size)
{
	return drv_topic_read_range(cfg, topic, start, NULL, start_cnt, fn,
				    arg, read_cnt, errstr, errstr_size);
}

drv_err_t drv_topic_read_range(const drv_config_t *cfg, const char *topic,
			       const int64_t *start, const int64_t *end,
			       size_t cnt, drv_topic_msg_fn fn, void *arg,
			       size_t *read_cnt, char *errstr,
			       size_t errstr_size)
{
	return read_topic(cfg, topic, start, end, cnt, fn, NULL, arg,
			  read_cnt, errstr, errstr_size);
}

drv_err_t drv_topic_read_skip(const drv_config_t *cfg, const char *topic,
			      const int64_t *start, const int64_t *end,
			      size_t cnt, drv_topic_msg_fn fn,
			      drv_topic_skip_fn skip, void *arg,
			      size_t *read_cnt, char *errstr,
			      size_t errstr_size)
{
	return read_topic(cfg, topic, start, end, cnt, fn, skip, arg,
			  read_cnt, errstr, errstr_size);
}
