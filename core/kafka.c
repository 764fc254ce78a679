/*
 * kafka.c — librdkafka client configuration from the drover config
 * (consumer group membership included: protocol, session timeout, static
 * id, and the group configs KIP-848 keeps on the broker), the one mapping
 * of librdkafka errors to drv_err_t, and acknowledged produces.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

void drv_version_print(FILE *out, const char *program)
{
	fprintf(out, "%s %s (librdkafka %s)\n", program, DROVER_VERSION,
		rd_kafka_version_str());
}

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
/* drv_kafka_wait's poll: how late a waiter may see a report another thread
 * served. */
#define WAIT_POLL_MS 2
/* How long a purged report may take to come back. */
#define PURGE_WAIT_MS 5000
/* A producer whose reports all come within this is waited for, never
 * purged (drv_kafka_producer_shared_new(): 2 x kafka.connect_timeout). */
#define REPORT_BOUND_MAX_MS 125000

static void delivery_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
			void *opaque)
{
	drv_delivery_t *d = m->_private;
	void (*fn)(drv_delivery_t *, void *);
	drv_waiter_t *w;
	void *arg;

	(void)rk;
	(void)opaque;
	if (!d)
		return;
	/* read before done: a waiter may free d the moment it sees done */
	fn = d->on_delivery;
	arg = d->arg;
	w = d->waiter;
	d->err = m->err;
	d->partition = m->partition;
	d->offset = m->offset;
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	if (fn)
		fn(d, arg);
	if (w) {
		/* the waiter returns only once it holds the lock after this */
		pthread_mutex_lock(&w->lock);
		w->fired = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
}

/* The last error librdkafka reported on any handle of the process, told
 * with a timeout so that "no acknowledgement" says why (authentication,
 * TLS, ACLs...). */
static pthread_mutex_t last_error_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[256];

void drv_kafka_remember_error(int err, const char *reason)
{
	/* "all brokers down" follows the error that took each one down:
	 * keep that one, which says why */
	pthread_mutex_lock(&last_error_lock);
	if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || !last_error[0])
		drv_fmt(last_error, sizeof(last_error), "%s: %s",
			rd_kafka_err2name((rd_kafka_resp_err_t)err),
			reason ? reason : "");
	pthread_mutex_unlock(&last_error_lock);
}

bool drv_kafka_last_error(char *buf, size_t size)
{
	pthread_mutex_lock(&last_error_lock);
	drv_strlcpy(buf, last_error, size);
	pthread_mutex_unlock(&last_error_lock);
	return buf[0] != '\0';
}

static void remember_error_cb(rd_kafka_t *rk, int err, const char *reason,
			      void *opaque)
{
	(void)rk;
	(void)opaque;
	drv_kafka_remember_error(err, reason);
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

/* The heartbeat interval drover uses for a session timeout: a twelfth, so
 * a dead member is told from a slow one, and a new assignment reaches the
 * members within half a second at the default 6 s. */
static int64_t heartbeat_ms(const drv_config_t *cfg)
{
	int64_t ms = cfg->kafka.session_timeout_ms / 12;

	return ms < 250 ? 250 : ms;
}

/* What a subscribing member sets: the group protocol, its session timeout
 * (classic; the consumer protocol's lives on the group, see
 * drv_kafka_groups_tune()) and its static id. */
static bool member_conf(rd_kafka_conf_t *conf, const drv_config_t *cfg,
			const char *instance_id, char *errstr,
			size_t errstr_size)
{
	bool classic = cfg->kafka.group_protocol == DRV_GROUP_CLASSIC;
	int sm = cfg->kafka.static_membership;
	bool ok = true;
	char v[32];

	if (instance_id && *instance_id &&
	    (sm == DRV_STATIC_ON || (sm == DRV_STATIC_AUTO && classic)))
		ok = conf_set(conf, "group.instance.id", instance_id,
			      errstr, errstr_size);
	if (!classic)
		return ok && conf_set(conf, "group.protocol", "consumer",
				      errstr, errstr_size);
	drv_fmt(v, sizeof(v), "%lld", (long long)cfg->kafka.session_timeout_ms);
	ok = ok && conf_set(conf, "session.timeout.ms", v, errstr,
			    errstr_size);
	drv_fmt(v, sizeof(v), "%lld", (long long)heartbeat_ms(cfg));
	return ok && conf_set(conf, "heartbeat.interval.ms", v, errstr,
			      errstr_size) &&
	       /* a rebalance moves only the partitions that change owner;
		* the others keep running */
	       conf_set(conf, "partition.assignment.strategy",
			"cooperative-sticky", errstr, errstr_size);
}

static rd_kafka_conf_t *conf_make(const drv_config_t *cfg, const char *group,
				  bool member, const char *instance_id,
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
		     /* read-ahead librdkafka keeps while the worker is
		      * full: bounded, so memory is. Each queued message
		      * costs librdkafka several times its bytes, and 8 MB
		      * of it held a worker at 80 MB; 1 MB is a fifth of a
		      * second of noop tasks at full rate, enough when a
		      * full queue is looked at again after 10 ms instead of
		      * the default second (bench/README.md, "Where a
		      * worker's time goes") */
		     conf_set(conf, "queued.max.messages.kbytes", "1024",
			      errstr, errstr_size) &&
		     conf_set(conf, "fetch.queue.backoff.ms", "10",
			      errstr, errstr_size);
	if (ok && group && member)
		ok = member_conf(conf, cfg, instance_id, errstr, errstr_size);
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
	rd_kafka_conf_set_error_cb(conf, remember_error_cb);
	return conf;
}

rd_kafka_conf_t *drv_kafka_conf_new(const drv_config_t *cfg,
				    const char *group,
				    char *errstr, size_t errstr_size)
{
	return conf_make(cfg, group, false, NULL, errstr, errstr_size);
}

rd_kafka_conf_t *drv_kafka_member_conf_new(const drv_config_t *cfg,
					   const char *group,
					   const char *instance_id,
					   char *errstr, size_t errstr_size)
{
	return conf_make(cfg, group, true, instance_id, errstr, errstr_size);
}

void drv_delay_group_name(const drv_config_t *cfg, char *buf, size_t size)
{
	drv_fmt(buf, size, "%s.delay", cfg->worker.group);
}

drv_err_t drv_kafka_groups_tune(rd_kafka_t *rk, const drv_config_t *cfg,
				const char *const *groups, size_t group_cnt,
				char *errstr, size_t errstr_size)
{
	rd_kafka_ConfigResource_t *res[8];
	rd_kafka_AdminOptions_t *opts;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	const rd_kafka_ConfigResource_t **out;
	rd_kafka_resp_err_t rerr;
	char session[32], heartbeat[32], rderr[256];
	drv_err_t err = DRV_OK;
	size_t out_cnt = 0;

	if (cfg->kafka.group_protocol != DRV_GROUP_CONSUMER || !group_cnt)
		return DRV_OK;
	if (group_cnt > sizeof(res) / sizeof(res[0]))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "too many groups (%zu)", group_cnt);
	drv_fmt(session, sizeof(session), "%lld",
		(long long)cfg->kafka.session_timeout_ms);
	drv_fmt(heartbeat, sizeof(heartbeat), "%lld",
		(long long)heartbeat_ms(cfg));
	for (size_t i = 0; i < group_cnt; i++) {
		res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_GROUP,
						     groups[i]);
		rd_kafka_ConfigResource_add_incremental_config(res[i],
			"consumer.session.timeout.ms",
			RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, session);
		rd_kafka_ConfigResource_add_incremental_config(res[i],
			"consumer.heartbeat.interval.ms",
			RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, heartbeat);
	}
	opts = rd_kafka_AdminOptions_new(rk,
		RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS);
	rd_kafka_AdminOptions_set_request_timeout(opts,
		(int)cfg->kafka.connect_timeout_ms, rderr, sizeof(rderr));
	q = rd_kafka_queue_new(rk);
	rd_kafka_IncrementalAlterConfigs(rk, res, group_cnt, opts, q);
	ev = rd_kafka_queue_poll(q, (int)cfg->kafka.connect_timeout_ms + 1000);
	if (!ev) {
		err = drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
				"setting the groups' session timeout: no "
				"answer from the brokers");
	} else if ((rerr = rd_kafka_event_error(ev))) {
		err = drv_error(errstr, errstr_size, drv_kafka_err(rerr),
				"setting the groups' session timeout: %s",
				rd_kafka_event_error_string(ev));
	} else {
		out = rd_kafka_IncrementalAlterConfigs_result_resources(
			rd_kafka_event_IncrementalAlterConfigs_result(ev),
			&out_cnt);
		for (size_t i = 0; !err && i < out_cnt; i++)
			if ((rerr = rd_kafka_ConfigResource_error(out[i])) ==
			    RD_KAFKA_RESP_ERR_INVALID_REQUEST)
				/* "Unknown resource type": no group configs,
				 * so no KIP-848 groups (Kafka 3.x) */
				err = drv_error(errstr, errstr_size,
					DRV_ERR_UNSUPPORTED,
					DRV_KIP848_UNSUPPORTED " (%s)",
					rd_kafka_ConfigResource_error_string(
						out[i]));
			else if (rerr)
				err = drv_error(errstr, errstr_size,
					drv_kafka_err(rerr),
					"group %s: consumer.session.timeout.ms"
					"=%s: %s: %s (the broker's group.consumer."
					"min.session.timeout.ms and group."
					"consumer.min.heartbeat.interval.ms "
					"must allow %s ms and %s ms)",
					rd_kafka_ConfigResource_name(out[i]),
					session,
					rd_kafka_err2name(rerr),
					rd_kafka_ConfigResource_error_string(
						out[i]), session, heartbeat);
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_ConfigResource_destroy_array(res, group_cnt);
	return err;
}

void drv_kafka_rebalance_apply(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts)
{
	/* NULL while the consumer closes: then try the incremental call
	 * first, the eager one if librdkafka refuses it */
	const char *proto = rd_kafka_rebalance_protocol(rk);
	bool coop = !proto || !strcmp(proto, "COOPERATIVE");
	bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
	rd_kafka_error_t *e = NULL;

	if (coop)
		e = assign ? rd_kafka_incremental_assign(rk, parts) :
			     rd_kafka_incremental_unassign(rk, parts);
	if (!coop || (e && !proto))
		rd_kafka_assign(rk, assign ? parts : NULL);
	if (e)
		rd_kafka_error_destroy(e);
}

/* A producer; \p bound_ms > 0 bounds each message's life to it (and each
 * request's to at most it), so every report comes within twice that. */
static rd_kafka_t *producer_new(const drv_config_t *cfg, int64_t bound_ms,
				int64_t linger_ms, bool brief, char *errstr,
				size_t errstr_size)
{
	rd_kafka_conf_t *conf = drv_kafka_conf_new(cfg, NULL, errstr,
						   errstr_size);
	char rderr[256], v[24];
	rd_kafka_t *rk;

	if (!conf)
		return NULL;
	drv_fmt(v, sizeof(v), "%lld", (long long)linger_ms);
	if ((linger_ms >= 0 &&
	     rd_kafka_conf_set(conf, "linger.ms", v, rderr,
			       sizeof(rderr)) != RD_KAFKA_CONF_OK) ||
	    (brief &&
	     rd_kafka_conf_set(conf, "reconnect.backoff.ms", "20", rderr,
			       sizeof(rderr)) != RD_KAFKA_CONF_OK)) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_CONFIG, "%s", rderr);
		return NULL;
	}
	if (bound_ms > 0) {
		drv_fmt(v, sizeof(v), "%lld", (long long)bound_ms);
		if (rd_kafka_conf_set(conf, "message.timeout.ms", v, rderr,
				      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
		    (bound_ms < 30000 &&
		     rd_kafka_conf_set(conf, "request.timeout.ms", v, rderr,
				       sizeof(rderr)) != RD_KAFKA_CONF_OK)) {
			rd_kafka_conf_destroy(conf);
			drv_error(errstr, errstr_size, DRV_ERR_CONFIG, "%s",
				  rderr);
			return NULL;
		}
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			  "cannot create Kafka producer: %s", rderr);
	}
	return rk;
}

rd_kafka_t *drv_kafka_producer_new(const drv_config_t *cfg,
				   char *errstr, size_t errstr_size)
{
	return producer_new(cfg, 0, -1, false, errstr, errstr_size);
}

rd_kafka_t *drv_kafka_producer_shared_new(const drv_config_t *cfg,
					  int64_t linger_ms,
					  char *errstr, size_t errstr_size)
{
	return producer_new(cfg, cfg->kafka.connect_timeout_ms, linger_ms,
			    false, errstr, errstr_size);
}

/* How long after its produce \p rk's every report has come:
 * message.timeout.ms, plus request.timeout.ms for a request in flight when
 * the message expires, plus a second. */
static int64_t report_bound(rd_kafka_t *rk)
{
	const rd_kafka_conf_t *conf = rd_kafka_conf(rk);
	char v[32];
	size_t n;
	int64_t bound = 1000;

	n = sizeof(v);
	if (rd_kafka_conf_get(conf, "message.timeout.ms", v, &n) ==
	    RD_KAFKA_CONF_OK)
		bound += strtoll(v, NULL, 10);
	n = sizeof(v);
	if (rd_kafka_conf_get(conf, "request.timeout.ms", v, &n) ==
	    RD_KAFKA_CONF_OK)
		bound += strtoll(v, NULL, 10);
	return bound;
}

rd_kafka_t *drv_kafka_producer_brief_new(const drv_config_t *cfg,
					 const char *topic, int64_t linger_ms,
					 int64_t warm_ms, char *errstr,
					 size_t errstr_size)
{
	rd_kafka_t *rk = producer_new(cfg, 0, linger_ms, true, errstr,
				      errstr_size);
	rd_kafka_topic_t *rkt = rk ? rd_kafka_topic_new(rk, topic, NULL) :
			       NULL;
	int64_t end = drv_mono_ms() + warm_ms, left;

	/* bounded: an unreachable broker is found out by the produce */
	while (rkt && (left = end - drv_mono_ms()) > 0) {
		const struct rd_kafka_metadata *md = NULL;
		bool learned;

		if (rd_kafka_metadata(rk, 0, rkt, &md, (int)left) || !md)
			break;
		learned = md->orig_broker_id >= 0;
		rd_kafka_metadata_destroy(md);
		if (learned)
			break;
		usleep(2 * 1000);
	}
	if (rkt)
		rd_kafka_topic_destroy(rkt);
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

	if (dr) {
		dr->done = 0;
		dr->err = RD_KAFKA_RESP_ERR_NO_ERROR;
	}
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

void drv_delivery_watch(drv_delivery_t *d, drv_waiter_t *w)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	w->fired = false;
	d->waiter = w;
}

/* Sleep until \p d's waiter fires or \p deadline (mono ms): fired? */
static bool watch_wait(drv_delivery_t *d, int64_t deadline)
{
	drv_waiter_t *w = d->waiter;
	bool fired;

	pthread_mutex_lock(&w->lock);
	while (!w->fired && drv_mono_ms() < deadline) {
		struct timespec ts = { .tv_sec = deadline / 1000,
				       .tv_nsec = (deadline % 1000) * 1000000L };

		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	fired = w->fired;
	pthread_mutex_unlock(&w->lock);
	return fired;
}

struct drv_kafka_poller {
	rd_kafka_t *rk;
	pthread_t   thread;
	int         stop;     /* atomic */
};

static void *poller_main(void *arg)
{
	drv_kafka_poller_t *p = arg;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
		rd_kafka_poll(p->rk, 100);
	return NULL;
}

drv_kafka_poller_t *drv_kafka_poller_start(rd_kafka_t *rk)
{
	drv_kafka_poller_t *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->rk = rk;
	if (pthread_create(&p->thread, NULL, poller_main, p)) {
		free(p);
		return NULL;
	}
	return p;
}

void drv_kafka_poller_stop(drv_kafka_poller_t *p)
{
	if (!p)
		return;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	pthread_join(p->thread, NULL);
	free(p);
}

/* Until \p d is done or \p deadline (mono ms): asleep on its waiter when
 * watched, else serving \p rk's reports in polls of \p poll_ms. Done? */
static bool wait_done(rd_kafka_t *rk, drv_delivery_t *d, int64_t deadline,
		      int poll_ms)
{
	if (d->waiter)
		return watch_wait(d, deadline);  /* done is set before it fires */
	while (!__atomic_load_n(&d->done, __ATOMIC_ACQUIRE)) {
		int64_t left = deadline - drv_mono_ms();

		if (left <= 0)
			return false;
		rd_kafka_poll(rk, left > poll_ms ? poll_ms : (int)left);
	}
	return true;
}

drv_err_t drv_kafka_wait(rd_kafka_t *rk, drv_delivery_t *d,
			 const char *topic, int64_t timeout_ms,
			 char *errstr, size_t errstr_size)
{
	/* short polls: when threads share rk, another one may serve this
	 * report, and a poll here only returns on an event of its own */
	int64_t start = drv_mono_ms(), bound;
	bool done = wait_done(rk, d, start + timeout_ms, WAIT_POLL_MS);

	/* A producer that bounds every message's life (one threads share,
	 * drv_kafka_producer_shared_new()) reports by itself, and a purge
	 * would fail every other thread's messages too. So wait for the
	 * report, and purge only when it has not come within that bound. */
	if (!done && (bound = report_bound(rk)) <= REPORT_BOUND_MAX_MS)
		done = wait_done(rk, d, start + bound, WAIT_POLL_MS);
	if (!done) {
		/* Purge so the pending report cannot write into freed stack
		 * memory later; the report then fires with _PURGE_QUEUE. */
		rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE |
				   RD_KAFKA_PURGE_F_INFLIGHT);
		wait_done(rk, d, drv_mono_ms() + PURGE_WAIT_MS, 100);
	}
	if (d->waiter) {
		pthread_mutex_destroy(&d->waiter->lock);
		pthread_cond_destroy(&d->waiter->cond);
		d->waiter = NULL;
	}
	if (!done) {
		char why[256];

		if (drv_kafka_last_error(why, sizeof(why)))
			return drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
					 "produce to %s: no acknowledgement "
					 "from the broker within %lld ms; the "
					 "client's last error: %s", topic,
					 (long long)timeout_ms, why);
		return drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
				 "produce to %s: no acknowledgement from the "
				 "broker within %lld ms (is Kafka at the "
				 "configured brokers reachable?)",
				 topic, (long long)timeout_ms);
	}
	if (d->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    d->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT ||
	    d->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT) {
		char why[256];

		if (drv_kafka_last_error(why, sizeof(why)))
			return drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
					 "produce to %s: %s; the client's "
					 "last error: %s", topic,
					 rd_kafka_err2str(d->err), why);
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
