/*
 * queue_status.c — a sample of the band and delay tier topics for `queue
 * status` (drover/queue_status.h): watermarks, the workers' committed
 * offsets, and the age of the first waiting message of each lagging
 * partition. Also the depth of one topic (high minus low watermark summed
 * over its partitions), which the coordinator exports as drover_dlq_depth.
 *
 * Two consumers per reader, one in the workers' band group and one in their
 * delay group: rd_kafka_committed() reads a group's offsets through a
 * handle with that group.id, and assign() with explicit offsets reads a
 * message without joining the group. Neither ever commits (auto commit
 * off, no store).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/queue_status.h"
#include "drover/str.h"

#define READ_WAIT_MS 2000   /* most a sample waits for first messages */

struct drv_queue_reader {
	const drv_config_t *cfg;
	rd_kafka_t *group[2];        /* [0] band group, [1] delay group */
};

static rd_kafka_t *reader_consumer(const drv_config_t *cfg, const char *group,
				   char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = drv_kafka_conf_new(cfg, group, errstr,
						   errstr_size);
	rd_kafka_t *rk;

	if (!conf)
		return NULL;
	/* one message per partition is all a sample reads: keep fetches
	 * small (a larger message still comes whole, KIP-74) */
	static const char *const props[][2] = {
		{ "enable.auto.commit", "false" },
		{ "enable.partition.eof", "false" },
		{ "max.partition.fetch.bytes", "16384" },
	};

	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr,
				      errstr_size) != RD_KAFKA_CONF_OK) {
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
				errstr_size))) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

drv_queue_reader_t *drv_queue_reader_new(const drv_config_t *cfg,
					 char *errstr, size_t errstr_size)
{
	drv_queue_reader_t *r = calloc(1, sizeof(*r));
	char delay[256];

	if (!r) {
		drv_fmt(errstr, errstr_size, "out of memory");
		return NULL;
	}
	r->cfg = cfg;
	drv_delay_group_name(cfg, delay, sizeof(delay));
	if (!(r->group[0] = reader_consumer(cfg, cfg->worker.group, errstr,
					    errstr_size)) ||
	    !(r->group[1] = reader_consumer(cfg, delay, errstr,
					    errstr_size))) {
		drv_queue_reader_destroy(r);
		return NULL;
	}
	return r;
}

const drv_config_t *drv_queue_reader_config(const drv_queue_reader_t *r)
{
	return r->cfg;
}

rd_kafka_t *drv_queue_reader_band(drv_queue_reader_t *r)
{
	return r->group[0];
}

void drv_queue_reader_destroy(drv_queue_reader_t *r)
{
	if (!r)
		return;
	for (int i = 0; i < 2; i++)
		if (r->group[i]) {
			rd_kafka_consumer_close(r->group[i]);
			rd_kafka_destroy(r->group[i]);
		}
	free(r);
}

int drv_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
			 char *errstr, size_t errstr_size)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	int n = -1;

	if (!rkt) {
		drv_fmt(errstr, errstr_size, "%s: %s", topic,
			rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (!err && md->topic_cnt == 1 && !md->topics[0].err)
		n = md->topics[0].partition_cnt;
	else
		drv_fmt(errstr, errstr_size, "%s: %s", topic, rd_kafka_err2str(
			err ? err : md->topic_cnt ? md->topics[0].err :
			RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

drv_err_t drv_topic_depth(rd_kafka_t *rk, const char *topic, int timeout_ms,
			  int64_t *depth, char *errstr, size_t errstr_size)
{
	int n = drv_topic_partitions(rk, topic, timeout_ms, errstr, errstr_size);

	*depth = 0;
	if (n < 0)
		return DRV_ERR_KAFKA;
	for (int p = 0; p < n; p++) {
		int64_t lo = 0, hi = 0;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
			rk, topic, p, &lo, &hi, timeout_ms);

		if (err) {
			drv_fmt(errstr, errstr_size, "%s [%d]: %s", topic, p,
				rd_kafka_err2str(err));
			return drv_kafka_err(err);
		}
		*depth += hi > lo ? hi - lo : 0;
	}
	return DRV_OK;
}

/* The topics of a sample: bands, then delay tiers. */
static drv_err_t plan(const drv_config_t *cfg, drv_queue_status_t *s)
{
	size_t n = drv_band_cnt + cfg->kafka.delay_tier_cnt;

	if (!(s->topics = calloc(n, sizeof(*s->topics))))
		return DRV_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		drv_queue_topic_t *t = &s->topics[i];
		bool band = i < drv_band_cnt;
		int64_t tier = band ? 0 :
			cfg->kafka.delay_tiers_ms[i - drv_band_cnt];

		drv_fmt(t->kind, sizeof(t->kind), band ? "band" : "delay");
		if (band)
			drv_fmt(t->name, sizeof(t->name), "%s",
				drv_bands[i].name);
		else
			drv_format_duration(tier, t->name, sizeof(t->name));
		drv_topic_name(cfg, band ? DRV_TOPIC_TASKS : DRV_TOPIC_DELAY,
			       band ? drv_bands[i].name : NULL, tier,
			       t->topic, sizeof(t->topic));
		t->rate_in = t->rate_out = -1;
	}
	s->topic_cnt = n;
	return DRV_OK;
}

/* Read the first message at each partition's position in \p wait (offsets
 * set, lag > 0): its timestamp lowers the oldest_ms of its topic. At most
 * READ_WAIT_MS; a partition not read in time just gives no age. */
static void read_oldest(rd_kafka_t *rk, drv_queue_status_t *s,
			const rd_kafka_topic_partition_list_t *wait)
{
	int left = wait->cnt;
	bool *seen = calloc((size_t)wait->cnt, sizeof(*seen));
	int64_t until = drv_mono_ms() + READ_WAIT_MS;

	if (!seen || rd_kafka_assign(rk, wait)) {
		free(seen);
		return;
	}
	while (left > 0 && drv_mono_ms() < until) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		const char *topic;

		if (!m)
			continue;
		topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
		for (int i = 0; !m->err && topic && i < wait->cnt; i++) {
			const rd_kafka_topic_partition_t *p = &wait->elems[i];
			int64_t ts;

			if (seen[i] || p->partition != m->partition ||
			    strcmp(p->topic, topic))
				continue;
			seen[i] = true;
			left--;
			ts = rd_kafka_message_timestamp(m, NULL);
			for (size_t t = 0; ts > 0 && t < s->topic_cnt; t++)
				if (!strcmp(s->topics[t].topic, topic) &&
				    (!s->topics[t].oldest_ms ||
				     ts < s->topics[t].oldest_ms))
					s->topics[t].oldest_ms = ts;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(rk, NULL);
	free(seen);
}

/* Sample the topics of one group (\p band: the band topics, else the
 * delay tiers). */
static drv_err_t sample_group(rd_kafka_t *rk, const drv_config_t *cfg,
			      drv_queue_status_t *s, bool band,
			      char *errstr, size_t errstr_size)
{
	int timeout = (int)cfg->kafka.connect_timeout_ms;
	rd_kafka_topic_partition_list_t *parts, *wait;
	rd_kafka_resp_err_t err;
	drv_err_t rc = DRV_OK;

	parts = rd_kafka_topic_partition_list_new(16);
	wait = rd_kafka_topic_partition_list_new(16);
	for (size_t t = 0; t < s->topic_cnt; t++) {
		drv_queue_topic_t *q = &s->topics[t];
		int n;

		if ((strcmp(q->kind, "band") == 0) != band)
			continue;
		if ((n = drv_topic_partitions(rk, q->topic, timeout, errstr,
					 errstr_size)) < 0) {
			rc = DRV_ERR_KAFKA;
			goto out;
		}
		q->partitions = n;
		for (int p = 0; p < n; p++)
			rd_kafka_topic_partition_list_add(parts, q->topic, p);
	}
	if ((err = rd_kafka_committed(rk, parts, timeout))) {
		drv_fmt(errstr, errstr_size, "committed offsets: %s",
			rd_kafka_err2str(err));
		rc = drv_kafka_err(err);
		goto out;
	}
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t lo = 0, hi = 0, pos;
		drv_queue_topic_t *q = NULL;

		for (size_t t = 0; !q && t < s->topic_cnt; t++)
			if (!strcmp(s->topics[t].topic, p->topic))
				q = &s->topics[t];
		if ((err = rd_kafka_query_watermark_offsets(rk, p->topic,
				p->partition, &lo, &hi, timeout))) {
			drv_fmt(errstr, errstr_size, "%s [%d]: %s", p->topic,
				(int)p->partition, rd_kafka_err2str(err));
			rc = drv_kafka_err(err);
			goto out;
		}
		pos = p->offset >= lo ? p->offset : lo;
		if (pos > hi)
			pos = hi;
		q->high += hi;
		q->done += pos;
		q->waiting += hi - pos;
		if (hi > pos)
			rd_kafka_topic_partition_list_add(wait, p->topic,
				p->partition)->offset = pos;
	}
	if (wait->cnt)
		read_oldest(rk, s, wait);
out:
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_topic_partition_list_destroy(wait);
	return rc;
}

drv_err_t drv_queue_sample(drv_queue_reader_t *r, redisContext *redis,
			   drv_queue_status_t *out,
			   char *errstr, size_t errstr_size)
{
	drv_err_t rc;

	drv_queue_status_init(out);
	out->at_ms = drv_now_ms();
	if ((rc = plan(r->cfg, out)) ||
	    (rc = sample_group(r->group[0], r->cfg, out, true, errstr,
			       errstr_size)) ||
	    (rc = sample_group(r->group[1], r->cfg, out, false, errstr,
			       errstr_size))) {
		if (rc == DRV_ERR_NOMEM)
			drv_fmt(errstr, errstr_size, "out of memory");
		drv_queue_status_release(out);
		return rc;
	}
	if (redis)
		drv_worker_status_read(redis, r->cfg, out);
	return DRV_OK;
}
