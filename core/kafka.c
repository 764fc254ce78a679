/*
 * kafka.c — librdkafka client configuration from the drover config, the one
 * mapping of librdkafka errors to drv_err_t, and acknowledged produces.
 */
#include <string.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

drv_err_t drv_kafka_err(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return DRV_OK;
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
		return DRV_ERR_TIMEOUT;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		return DRV_ERR_NOT_FOUND;
	case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
		return DRV_ERR_EXISTS;
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
		return DRV_ERR_INVALID;
	case RD_KAFKA_RESP_ERR__NOENT:
		return DRV_ERR_NOT_FOUND;
	default:
		return DRV_ERR_KAFKA;
	}
}

/* Delivery reports: the message opaque, when set, is a drv_delivery_t. */
static void delivery_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
			void *opaque)
{
	drv_delivery_t *d = m->_private;

	(void)rk;
	(void)opaque;
	if (!d)
		return;
	d->err = m->err;
	d->partition = m->partition;
	d->offset = m->offset;
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	if (d->on_delivery)
		d->on_delivery(d, d->arg);
}

static void silent_log_cb(const rd_kafka_t *rk, int level, const char *fac,
			  const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

static bool conf_set(rd_kafka_conf_t *conf, const char *name,
		     const char *value, char *errstr, size_t errstr_size)
{
	char rderr[256];

	if (rd_kafka_conf_set(conf, name, value, rderr, sizeof(rderr)) ==
	    RD_KAFKA_CONF_OK)
		return true;
	drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
		  "kafka property '%s': %s", name, rderr);
	return false;
}

rd_kafka_conf_t *drv_kafka_conf_new(const drv_config_t *cfg,
				    const char *group,
				    char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	bool ok;

	ok = conf_set(conf, "bootstrap.servers", cfg->kafka.brokers,
		      errstr, errstr_size) &&
	     conf_set(conf, "client.id", cfg->kafka.client_id,
		      errstr, errstr_size);
	if (ok && !group)
		/* acknowledged by all in-sync replicas, no duplicates on
		 * retry */
		ok = conf_set(conf, "enable.idempotence", "true",
			      errstr, errstr_size) &&
		     conf_set(conf, "linger.ms", "5", errstr, errstr_size);
	if (ok && group)
		ok = conf_set(conf, "group.id", group, errstr, errstr_size) &&
		     /* offsets are stored by hand once a task is finished */
		     conf_set(conf, "enable.auto.offset.store", "false",
			      errstr, errstr_size) &&
		     conf_set(conf, "enable.auto.commit", "true",
			      errstr, errstr_size) &&
		     /* often: what finished since the last commit runs
		      * again after a crash, or when a rebalance makes the
		      * broker refuse the revocation's commit */
		     conf_set(conf, "auto.commit.interval.ms", "200",
			      errstr, errstr_size) &&
		     conf_set(conf, "auto.offset.reset", "earliest",
			      errstr, errstr_size) &&
		     conf_set(conf, "enable.partition.eof", "false",
			      errstr, errstr_size) &&
		     /* a rebalance moves only the partitions that change
		      * owner; the others keep running */
		     conf_set(conf, "partition.assignment.strategy",
			      "cooperative-sticky", errstr, errstr_size) &&
		     /* read-ahead librdkafka keeps while the worker is
		      * full: bounded, so memory is */
		     conf_set(conf, "queued.max.messages.kbytes", "8192",
			      errstr, errstr_size);
	for (size_t i = 0; ok && i < cfg->kafka.property_cnt; i++)
		ok = conf_set(conf, cfg->kafka.properties[i].key,
			      cfg->kafka.properties[i].value,
			      errstr, errstr_size);
	if (!ok) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if (!group)
		rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
	/* the library never prints: daemons route these to their logger
	 * (drv_daemon_kafka_logging), the CLI reports errors itself */
	rd_kafka_conf_set_log_cb(conf, silent_log_cb);
	return conf;
}

void drv_kafka_rebalance_apply(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts)
{
	bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
	bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;

	if (coop && assign)
		rd_kafka_incremental_assign(rk, parts);
	else if (coop)
		rd_kafka_incremental_unassign(rk, parts);
	else
		rd_kafka_assign(rk, assign ? parts : NULL);
}

void drv_kafka_consumer_close(rd_kafka_t *rk, const bool *assigned)
{
	int64_t deadline = drv_mono_ms() + 5000;

	while (!__atomic_load_n(assigned, __ATOMIC_RELAXED) &&
	       drv_mono_ms() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);

		if (m)
			rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
}

rd_kafka_t *drv_kafka_producer_new(const drv_config_t *cfg,
				   char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = drv_kafka_conf_new(cfg, NULL, errstr,
						   errstr_size);
	rd_kafka_t *rk;
	char rderr[256];

	if (!conf)
		return NULL;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			  "cannot create Kafka producer: %s", rderr);
	}
	return rk;
}

drv_err_t drv_kafka_produce(rd_kafka_t *rk, const char *topic,
			    const void *key, size_t key_len,
			    const void *value, size_t value_len,
			    const drv_header_t *headers, size_t header_cnt,
			    drv_delivery_t *dr, char *errstr,
			    size_t errstr_size)
{
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(header_cnt);
	rd_kafka_resp_err_t err;

	dr->done = 0;
	dr->err = RD_KAFKA_RESP_ERR_NO_ERROR;
	for (size_t i = 0; i < header_cnt; i++)
		rd_kafka_header_add(hdrs, headers[i].name, -1,
				    headers[i].value, -1);
	err = rd_kafka_producev(rk,
				RD_KAFKA_V_TOPIC(topic),
				RD_KAFKA_V_KEY(key, key_len),
				RD_KAFKA_V_VALUE((void *)value, value_len),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_HEADERS(hdrs),
				RD_KAFKA_V_OPAQUE(dr),
				RD_KAFKA_V_END);
	if (err) {
		rd_kafka_headers_destroy(hdrs);
		return drv_error(errstr, errstr_size, drv_kafka_err(err),
				 "produce to %s: %s", topic,
				 rd_kafka_err2str(err));
	}
	return DRV_OK;
}

drv_err_t drv_kafka_wait(rd_kafka_t *rk, drv_delivery_t *d,
			 const char *topic, int64_t timeout_ms,
			 char *errstr, size_t errstr_size)
{
	int64_t deadline = drv_mono_ms() + timeout_ms;

	while (!__atomic_load_n(&d->done, __ATOMIC_ACQUIRE)) {
		int64_t left = deadline - drv_mono_ms();
		if (left <= 0)
			break;
		rd_kafka_poll(rk, left > 100 ? 100 : (int)left);
	}
	if (!__atomic_load_n(&d->done, __ATOMIC_ACQUIRE)) {
		/* Purge so the pending report cannot write into freed stack
		 * memory later; the report then fires with _PURGE_QUEUE. */
		rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE |
				   RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 50 &&
				!__atomic_load_n(&d->done, __ATOMIC_ACQUIRE); i++)
			rd_kafka_poll(rk, 100);
		return drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
				 "produce to %s: no acknowledgement from the "
				 "broker within %lld ms (is Kafka at the "
				 "configured brokers reachable?)",
				 topic, (long long)timeout_ms);
	}
	if (d->err)
		return drv_error(errstr, errstr_size, drv_kafka_err(d->err),
				 "produce to %s: %s", topic,
				 rd_kafka_err2str(d->err));
	return DRV_OK;
}

drv_err_t drv_kafka_produce_sync(rd_kafka_t *rk, const char *topic,
				 const void *key, size_t key_len,
				 const void *value, size_t value_len,
				 const drv_header_t *headers, size_t header_cnt,
				 int64_t timeout_ms, drv_delivery_t *dr,
				 char *errstr, size_t errstr_size)
{
	drv_delivery_t local;
	drv_delivery_t *d = dr ? dr : &local;
	drv_err_t err;

	memset(d, 0, sizeof(*d));
	err = drv_kafka_produce(rk, topic, key, key_len, value, value_len,
				headers, header_cnt, d, errstr, errstr_size);
	if (err)
		return err;
	return drv_kafka_wait(rk, d, topic, timeout_ms, errstr, errstr_size);
}
