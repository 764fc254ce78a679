/*
 * events.c — the events consumer. Every coordinator reads the events topic
 * and the external topics of coordinator.event_topics in one consumer group
 * (coordinator.group), so each event is read by one of them and the reading
 * survives a failover. An event is a protobuf Event or a plain JSON object
 * with a "type" (drv_event_decode_any()). For each event:
 *
 *  - a lifecycle event of a scheduled task (task.succeeded, task.retrying,
 *    task.dead with a schedule_id attribute) goes to the statistics;
 *  - each webhook subscription that wants it gets a delivery task
 *    (webhooks.c);
 *  - every trigger whose event type (glob) and attributes (equal or glob)
 *    match publishes its task, with the event's id, type and payload passed
 *    on (labels drover.trigger, drover.event_id, drover.event_type; origin
 *    event_id, parent_task_id, chain_depth + 1). A chain as deep as
 *    coordinator.chain_depth_limit stops there.
 *
 * An event is acted on once: before acting, P event:<id> is set with NX
 * (life coordinator.event_dedup_ttl); a copy read again (redelivery, or the
 * same id produced twice) finds it and is skipped. Offsets are stored once
 * an event is handled and committed by librdkafka in the background.
 *
 * Old events (issue 14: a new group replayed the whole topic into a new
 * trigger): a partition the group has no committed offset for starts at
 * the first event stamped at or after the coordinator's start
 * (coordinator.events_start: latest; earliest = the whole retained topic),
 * and a trigger skips events older than the time a coordinator first
 * loaded it (P triggers:since) unless coordinator.trigger_past_events.
 * Both allow CLOCK_SKEW_MS, as the times come from different clocks.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/event.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/str.h"

#define DRAIN_MAX 200
#define PUBLISH_TIMEOUT_MS 10000
#define PUBLISH_TRIES 5
#define STATS_DEDUP_MS (10 * 60 * 1000)
/* an event stamped this much before the coordinator or trigger started
 * (the producer's clock against the coordinator's) still counts as new */
#define CLOCK_SKEW_MS 5000

#define METADATA_REFRESH "topic.metadata.refresh.interval.ms"

static bool has_property(const drv_config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->kafka.property_cnt; i++)
		if (!strcmp(cfg->kafka.properties[i].key, name))
			return true;
	return false;
}

/* One try of start_new_partitions(): the committed offsets of \p parts,
 * then, for those without one, the offset of the first event stamped at or
 * after the start time, or the end offset when there is none that late; set
 * in \p parts only if every answer came; \p *fresh_cnt = how many.
 *
 * The end offsets are asked for before the times: an event written between
 * the two answers is then at or after the end we start at. Asked for the
 * other way round, such an event (one emitted just as the coordinator
 * starts) was skipped. */
static rd_kafka_resp_err_t new_partitions_once(coord_t *c, rd_kafka_t *rk,
		rd_kafka_topic_partition_list_t *parts, int timeout_ms,
		int *fresh_cnt)
{
	rd_kafka_topic_partition_list_t *look, *fresh, *ends = NULL;
	rd_kafka_resp_err_t err;

	look = rd_kafka_topic_partition_list_copy(parts);
	fresh = rd_kafka_topic_partition_list_new(look->cnt);
	err = rd_kafka_committed(rk, look, timeout_ms);
	for (int i = 0; !err && i < look->cnt; i++)
		if ((err = look->elems[i].err) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    look->elems[i].offset == RD_KAFKA_OFFSET_INVALID)
			rd_kafka_topic_partition_list_add(fresh,
				look->elems[i].topic,
				look->elems[i].partition)->offset =
				RD_KAFKA_OFFSET_END;
	if (!err && fresh->cnt) {
		/* a time of -1 asks for the end offset (ListOffsets) */
		ends = rd_kafka_topic_partition_list_copy(fresh);
		err = rd_kafka_offsets_for_times(rk, ends, timeout_ms);
		for (int i = 0; !err && i < fresh->cnt; i++)
			fresh->elems[i].offset = c->started_ms - CLOCK_SKEW_MS;
	}
	if (!err && fresh->cnt)
		err = rd_kafka_offsets_for_times(rk, fresh, timeout_ms);
	for (int i = 0; !err && i < fresh->cnt; i++) {
		rd_kafka_topic_partition_t *f = &fresh->elems[i];

		/* -1, nothing that late: the end as it was before the look */
		if (!(err = f->err) && f->offset == RD_KAFKA_OFFSET_END &&
		    !(err = ends->elems[i].err))
			f->offset = ends->elems[i].offset;
	}
	for (int i = 0; !err && i < fresh->cnt; i++) {
		rd_kafka_topic_partition_t *f = &fresh->elems[i];
		rd_kafka_topic_partition_t *p =
			rd_kafka_topic_partition_list_find(parts, f->topic,
							   f->partition);

		if (p)
			p->offset = f->offset;
	}
	*fresh_cnt = fresh->cnt;
	if (ends)
		rd_kafka_topic_partition_list_destroy(ends);
	rd_kafka_topic_partition_list_destroy(fresh);
	rd_kafka_topic_partition_list_destroy(look);
	return err;
}

/* The partitions of \p parts with no committed offset start at the first
 * event stamped at or after the coordinator's start (less CLOCK_SKEW_MS),
 * or at the end when there is none; the others keep their committed
 * offset. Kafka is asked again while it answers with errors (a topic just
 * made has no leader yet) for up to kafka.connect_timeout; then
 * auto.offset.reset (latest) decides. Not while the coordinator stops: an
 * assignment that comes as the consumer closes (a topic made meanwhile)
 * would hold the stop for as long, and nothing will read it. */
static void start_new_partitions(coord_t *c, rd_kafka_t *rk,
				 rd_kafka_topic_partition_list_t *parts)
{
	int64_t left, deadline = drv_mono_ms() +
				 c->cfg->kafka.connect_timeout_ms;
	rd_kafka_resp_err_t err;
	int fresh = 0;
	char cnt[16];

	if (c->cfg->coordinator.events_start == DRV_EVENTS_EARLIEST ||
	    coord_stopping(c))
		return;
	while ((err = new_partitions_once(c, rk, parts,
			(int)c->cfg->kafka.connect_timeout_ms, &fresh)) &&
	       (left = deadline - drv_mono_ms()) > 0 && !coord_stopping(c))
		usleep((useconds_t)(left < 200 ? left : 200) * 1000);
	if (err) {
		drv_log_kv(DRV_LOG_WARN, "cannot look up where new events "
			   "partitions start; starting at the end", "error",
			   rd_kafka_err2str(err), NULL);
	} else if (fresh) {
		drv_fmt(cnt, sizeof(cnt), "%d", fresh);
		drv_log_kv(DRV_LOG_INFO, "events partitions without a "
			   "committed offset start at the coordinator's start",
			   "count", cnt, NULL);
	}
}

/* Assignments are incremental under cooperative-sticky and KIP-848; the
 * offsets set in \p parts are where the new partitions start. They are
 * stored at once too (committed within auto.commit.interval.ms): a
 * coordinator that restarts before an event arrives goes on from there,
 * not from its new start. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	rd_kafka_topic_partition_list_t *start;

	if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS || !parts->cnt) {
		drv_kafka_rebalance_apply(rk, err, parts);
		return;
	}
	start_new_partitions(opaque, rk, parts);
	drv_kafka_rebalance_apply(rk, err, parts);
	start = rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].offset >= 0)
			rd_kafka_topic_partition_list_add(start,
				parts->elems[i].topic,
				parts->elems[i].partition)->offset =
				parts->elems[i].offset;
	if (start->cnt)
		rd_kafka_offsets_store(rk, start);
	rd_kafka_topic_partition_list_destroy(start);
}

bool events_start(coord_t *c)
{
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t rerr;
	char err[512], events[256];

	if (!drv_daemon_groups_tune(c->d, c->producer,
			(const char *[]){ c->cfg->coordinator.group }, 1))
		return false;
	conf = drv_daemon_consumer_conf(c->d, c->cfg->coordinator.group, err,
					sizeof(err));
	/* a topic made after the subscription (topics ensure running late,
	 * an external topic created later) is found within seconds, not at
	 * librdkafka's default 5 minute metadata refresh */
	if (conf && !has_property(c->cfg, METADATA_REFRESH))
		rd_kafka_conf_set(conf, METADATA_REFRESH, "5000", err,
				  sizeof(err));
	/* a new group starts at the end unless asked (issue 14: a new
	 * group replayed every retained event into a new trigger) */
	if (conf && !has_property(c->cfg, "auto.offset.reset"))
		rd_kafka_conf_set(conf, "auto.offset.reset",
				  c->cfg->coordinator.events_start ==
				  DRV_EVENTS_EARLIEST ? "earliest" : "latest",
				  err, sizeof(err));
	events_triggers_loaded(c);
	if (conf) {
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
		rd_kafka_conf_set_opaque(conf, c);
		c->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
					   sizeof(err));
		if (!c->consumer)
			rd_kafka_conf_destroy(conf);
	}
	if (!c->consumer) {
		drv_log_kv(DRV_LOG_ERROR, "cannot create the events consumer",
			   "error", err, NULL);
		return false;
	}
	rd_kafka_poll_set_consumer(c->consumer);
	drv_topic_name(c->cfg, DRV_TOPIC_EVENTS, NULL, 0, events,
		       sizeof(events));
	topics = rd_kafka_topic_partition_list_new(1 + (int)
		c->cfg->coordinator.event_topic_cnt);
	rd_kafka_topic_partition_list_add(topics, events,
					  RD_KAFKA_PARTITION_UA);
	for (size_t i = 0; i < c->cfg->coordinator.event_topic_cnt; i++)
		rd_kafka_topic_partition_list_add(topics,
			c->cfg->coordinator.event_topics[i],
			RD_KAFKA_PARTITION_UA);
	rerr = rd_kafka_subscribe(c->consumer, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (rerr) {
		drv_log_kv(DRV_LOG_ERROR, "cannot subscribe to the events "
			   "topics", "error", rd_kafka_err2str(rerr), NULL);
		return false;
	}
	return true;
}

void events_triggers_loaded(coord_t *c)
{
	char key[512], now[32];
	json_t *since = c->trigger_since ? c->trigger_since : json_object();
	/* a trigger of the file read at start is as old as the process */
	int64_t first = c->trigger_since ? drv_now_ms() : c->started_ms;

	if (!since)
		return;
	c->trigger_since = since;
	coord_key(c, key, sizeof(key), "triggers:since");
	for (size_t i = 0; i < c->cfg->trigger_cnt; i++) {
		const char *name = c->cfg->triggers[i].name;
		json_t *known = json_object_get(since, name);
		redisReply *r;
		long long ms = 0;

		/* what this process saw first, if Redis was away then */
		coord_fmt_ms(now, sizeof(now), known ?
			     json_integer_value(known) : first);
		r = coord_redis(c, "HSETNX %s %s %s", key, name, now);
		if (r) {
			freeReplyObject(r);
			r = coord_redis(c, "HGET %s %s", key, name);
		}
		if (r && r->type == REDIS_REPLY_STRING)
			ms = strtoll(r->str, NULL, 10);
		freeReplyObject(r);
		if (ms > 0)
			json_object_set_new(since, name, json_integer(ms));
		else if (!known)
			json_object_set_new(since, name, json_integer(first));
	}
}

/* Is \p e older than trigger \p t (and so not for it)? The event's time
 * is the older of its own and its Kafka timestamp (a plain JSON event
 * without a time is stamped when read). */
static bool before_trigger(coord_t *c, const drv_trigger_conf_t *t,
			   const drv_event_t *e, const rd_kafka_message_t *m)
{
	json_t *v = c->trigger_since ?
		    json_object_get(c->trigger_since, t->name) : NULL;
	rd_kafka_timestamp_type_t tt;
	int64_t when = e->time_ms, kts = rd_kafka_message_timestamp(m, &tt);

	if (c->cfg->coordinator.trigger_past_events || !v)
		return false;
	if (kts > 0 && (when <= 0 || kts < when))
		when = kts;
	return when > 0 && when < json_integer_value(v) - CLOCK_SKEW_MS;
}

void events_stop(coord_t *c)
{
	json_decref(c->trigger_since);
	c->trigger_since = NULL;
	if (!c->consumer)
		return;
	rd_kafka_consumer_close(c->consumer);
	rd_kafka_destroy(c->consumer);
	c->consumer = NULL;
}

/* ------------------------------------------------------------------ */
/* Matching and templates                                              */
/* ------------------------------------------------------------------ */

static bool matches(const drv_trigger_conf_t *t, const drv_event_t *e)
{
	if (fnmatch(t->event, e->type, 0))
		return false;
	for (size_t i = 0; i < t->where_cnt; i++) {
		const char *v = drv_event_attribute(e, t->where[i].key);

		if (!v || (strcmp(v, t->where[i].value) &&
			   fnmatch(t->where[i].value, v, 0)))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Acting on one event                                                 */
/* ------------------------------------------------------------------ */

/* Claim event \p e: true if this is the first time it is acted on (or
 * Redis cannot tell: at least once then). An event only counted in the
 * statistics (no trigger) is guarded against redelivery only, for at most
 * STATS_DEDUP_MS: one key per lifecycle event for a day would be a lot. */
static bool claim(coord_t *c, const drv_event_t *e, bool triggers)
{
	int64_t life = c->cfg->coordinator.event_dedup_ttl_ms;
	char key[512], ttl[32];
	redisReply *r;
	bool first = true;

	if (!triggers && life > STATS_DEDUP_MS)
		life = STATS_DEDUP_MS;
	coord_key(c, key, sizeof(key), "event:%s", e->id);
	drv_fmt(ttl, sizeof(ttl), "%lld", (long long)life);
	r = coord_redis(c, "SET %s 1 NX PX %s", key, ttl);
	if (r && r->type == REDIS_REPLY_NIL)
		first = false;
	freeReplyObject(r);
	return first;
}

static void fire_trigger(coord_t *c, const drv_trigger_conf_t *t,
			 const drv_event_t *e)
{
	char *payload = NULL, err[512], depth[16], topic[256];
	const char *use;
	drv_task_t task;
	drv_err_t rc;
	json_t *check;

	if (e->chain_depth >= (uint32_t)c->cfg->coordinator.chain_depth_limit) {
		drv_fmt(depth, sizeof(depth), "%u", e->chain_depth);
		drv_counter_inc(c->obs.triggers,
				(const char *const[]){ t->name,
						       "depth_limit" });
		drv_log_kv(DRV_LOG_WARN, "trigger not fired: chain depth "
			   "limit reached", "trigger", t->name, "event_id",
			   e->id, "event_type", e->type, "chain_depth", depth,
			   NULL);
		return;
	}
	if (t->task.payload) {
		if (!(payload = coord_template_fill(t->task.payload, e)))
			return;
		check = json_loads(payload, JSON_DECODE_ANY, NULL);
		if (!check) {
			drv_counter_inc(c->obs.triggers,
				(const char *const[]){ t->name, "bad_payload" });
			drv_log_kv(DRV_LOG_ERROR, "trigger payload is not JSON "
				   "once filled in", "trigger", t->name,
				   "event_id", e->id, "payload", payload,
				   NULL);
			free(payload);
			return;
		}
		json_decref(check);
		use = payload;
	} else {
		payload = malloc(e->payload_len + 1);
		if (!payload)
			return;
		if (e->payload_len)
			memcpy(payload, e->payload, e->payload_len);
		payload[e->payload_len] = '\0';
		use = e->payload_len ? payload : "{}";
	}
	rc = coord_task_build(c, &t->task, use, drv_now_ms(), &task);
	free(payload);
	if (rc)
		return;
	task.origin.event_id = drv_strdup(e->id);
	task.origin.parent_task_id = drv_strdup(e->task_id);
	task.origin.chain_depth = e->chain_depth + 1;
	drv_task_set_label(&task, "drover.trigger", t->name);
	drv_task_set_label(&task, "drover.event_id", e->id);
	drv_task_set_label(&task, "drover.event_type", e->type);
	for (int i = 0; i < PUBLISH_TRIES; i++) {
		rc = drv_task_publish(c->producer, c->cfg, &task,
				      PUBLISH_TIMEOUT_MS, topic, sizeof(topic),
				      err, sizeof(err));
		if (!rc)
			break;
	}
	drv_fmt(depth, sizeof(depth), "%u", task.origin.chain_depth);
	drv_counter_inc(c->obs.triggers, (const char *const[]){ t->name,
			rc ? "failed" : "published" });
	if (rc)
		drv_log_kv(DRV_LOG_ERROR, "trigger fire lost: publish failed",
			   "trigger", t->name, "event_id", e->id,
			   "event_type", e->type, "task_id", task.id,
			   "error", err, NULL);
	else
		drv_log_kv(DRV_LOG_INFO, "trigger fired", "trigger", t->name,
			   "event_id", e->id, "event_type", e->type,
			   "task_id", task.id, "handler", task.handler,
			   "topic", topic, "chain_depth", depth, NULL);
	drv_task_release(&task);
}

static void lifecycle(coord_t *c, const drv_event_t *e)
{
	const char *sid = drv_event_attribute(e, "schedule_id");
	json_t *body;
	json_int_t dur = 0, fin = e->time_ms;

	if (!sid || !e->task_id || strncmp(e->type, "task.", 5))
		return;
	body = json_loadb((const char *)e->payload, e->payload_len, 0, NULL);
	if (body) {
		json_unpack(body, "{s?I, s?I}", "duration_ms", &dur,
			    "finished_ms", &fin);
		json_decref(body);
	}
	stats_lifecycle(c, sid, e->type, e->task_id, dur, fin);
}

static void handle(coord_t *c, const rd_kafka_message_t *m)
{
	drv_event_t e;
	char err[512];
	bool act = false, trig, hook;

	drv_event_init(&e);
	if (drv_event_decode_any(m->payload, m->len, &e, err, sizeof(err))) {
		drv_counter_inc(c->obs.events,
				(const char *const[]){ "undecodable" });
		drv_log_kv(DRV_LOG_WARN, "event not understood; skipped",
			   "topic", rd_kafka_topic_name(m->rkt), "error",
			   err, NULL);
		return;
	}
	for (size_t i = 0; i < c->cfg->trigger_cnt && !act; i++)
		act = matches(&c->cfg->triggers[i], &e);
	trig = act;
	act |= drv_event_attribute(&e, "schedule_id") && e.task_id;
	act |= (hook = webhooks_wanted(c, &e));
	if (!act) {
		drv_counter_inc(c->obs.events,
				(const char *const[]){ "unmatched" });
	} else if (!claim(c, &e, trig)) {
		drv_counter_inc(c->obs.events,
				(const char *const[]){ "duplicate" });
		drv_log_kv(DRV_LOG_DEBUG, "event already acted on",
			   "event_id", e.id, NULL);
	} else {
		drv_counter_inc(c->obs.events,
				(const char *const[]){ "acted" });
		lifecycle(c, &e);
		if (hook)
			webhooks_dispatch(c, &e);
		for (size_t i = 0; i < c->cfg->trigger_cnt; i++) {
			const drv_trigger_conf_t *t = &c->cfg->triggers[i];

			if (!matches(t, &e))
				continue;
			if (!before_trigger(c, t, &e, m)) {
				fire_trigger(c, t, &e);
				continue;
			}
			drv_counter_inc(c->obs.triggers, (const char *const[]){
					t->name, "before_trigger" });
			drv_log_kv(DRV_LOG_INFO, "trigger not fired: the event "
				   "is older than the trigger", "trigger",
				   t->name, "event_id", e.id, "event_type",
				   e.type, NULL);
		}
	}
	drv_event_release(&e);
}

void events_poll(coord_t *c, int timeout_ms)
{
	for (int n = 0; n < DRAIN_MAX; n++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->consumer,
							       n ? 0 :
							       timeout_ms);

		if (!m)
			return;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
			    !drv_daemon_kafka_fatal(c->consumer, m->err))
				drv_log_kv(DRV_LOG_WARN, "events consumer",
					   "error", rd_kafka_message_errstr(m),
					   NULL);
		} else {
			handle(c, m);
			rd_kafka_offset_store(m->rkt, m->partition,
					      m->offset);
		}
		rd_kafka_message_destroy(m);
	}
}
