/*
 * publish.c — putting a task on the right topic: routing by band or delay
 * tier, the Kafka key, and the headers that let kcat show a task without
 * the schema.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

void drv_task_route(const drv_config_t *cfg, const drv_task_t *t,
		    int64_t now_ms, char *topic, size_t size)
{
	int64_t wait = t->not_before_ms - now_ms;
	size_t tier = 0;

	if (wait <= 0 || cfg->kafka.delay_tier_cnt == 0) {
		drv_topic_name(cfg, DRV_TOPIC_TASKS,
			       drv_band_for_priority(cfg, t->priority)->name, 0,
			       topic, size);
		return;
	}
	/* the longest tier not longer than the wait; tiers are ascending */
	while (tier + 1 < cfg->kafka.delay_tier_cnt &&
	       cfg->kafka.delay_tiers_ms[tier + 1] <= wait)
		tier++;
	drv_topic_name(cfg, DRV_TOPIC_DELAY, NULL,
		       cfg->kafka.delay_tiers_ms[tier], topic, size);
}

drv_err_t drv_task_produce(rd_kafka_t *rk, const drv_task_t *t,
			   const char *topic, drv_delivery_t *dr,
			   char *errstr, size_t errstr_size)
{
	char prio[16], attempt[16];
	const char *key = t->key ? t->key : t->id;
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_err_t err;

	err = drv_task_encode(t, &buf, &len, errstr, errstr_size);
	if (err)
		return err;
	drv_fmt(prio, sizeof(prio), "%u", t->priority);
	drv_fmt(attempt, sizeof(attempt), "%u", t->attempt);
	{
		const drv_header_t hdrs[] = {
			{ "drover-task-id",  t->id },
			{ "drover-handler",  t->handler },
			{ "drover-priority", prio },
			{ "drover-attempt",  attempt },
		};
		err = drv_kafka_produce(rk, topic, key, strlen(key), buf, len,
					hdrs, sizeof(hdrs) / sizeof(hdrs[0]),
					dr, errstr, errstr_size);
	}
	free(buf);
	return err;
}

drv_err_t drv_task_publish(rd_kafka_t *rk, const drv_config_t *cfg,
			   const drv_task_t *t, int64_t timeout_ms,
			   char *topic_out, size_t topic_size,
			   char *errstr, size_t errstr_size)
{
	drv_delivery_t dr = { 0 };
	char topic[256];
	drv_err_t err;

	drv_task_route(cfg, t, drv_now_ms(), topic, sizeof(topic));
	err = drv_task_produce(rk, t, topic, &dr, errstr, errstr_size);
	if (!err)
		err = drv_kafka_wait(rk, &dr, topic, timeout_ms, errstr,
				     errstr_size);
	if (!err && topic_out)
		drv_strlcpy(topic_out, topic, topic_size);
	return err;
}

/* Produce an encoded message (\p buf, freed here) to the topic of \p kind,
 * keyed by \p key with two headers, reporting to \p dr. */
static drv_err_t produce_encoded(rd_kafka_t *rk, const drv_config_t *cfg,
				 drv_topic_kind_t kind, const char *key,
				 uint8_t *buf, size_t len,
				 const drv_header_t hdrs[2], drv_delivery_t *dr,
				 char *errstr, size_t errstr_size)
{
	char topic[256];
	drv_err_t err;

	drv_topic_name(cfg, kind, NULL, 0, topic, sizeof(topic));
	err = drv_kafka_produce(rk, topic, key, strlen(key), buf, len, hdrs, 2,
				dr, errstr, errstr_size);
	free(buf);
	return err;
}

/* Wait for \p dr of a message to the topic of \p kind, once produced. */
static drv_err_t wait_kind(rd_kafka_t *rk, const drv_config_t *cfg,
			   drv_topic_kind_t kind, drv_delivery_t *dr,
			   drv_err_t produced, int64_t timeout_ms,
			   char *errstr, size_t errstr_size)
{
	char topic[256];

	if (produced)
		return produced;
	drv_topic_name(cfg, kind, NULL, 0, topic, sizeof(topic));
	return drv_kafka_wait(rk, dr, topic, timeout_ms, errstr, errstr_size);
}

drv_err_t drv_event_produce(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_event_t *e, drv_delivery_t *dr,
			    char *errstr, size_t errstr_size)
{
	const drv_header_t hdrs[2] = {
		{ "drover-event-id",   e->id },
		{ "drover-event-type", e->type },
	};
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_err_t err;

	err = drv_event_encode(e, &buf, &len, errstr, errstr_size);
	if (err)
		return err;
	return produce_encoded(rk, cfg, DRV_TOPIC_EVENTS, e->id, buf, len,
			       hdrs, dr, errstr, errstr_size);
}

drv_err_t drv_event_publish(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_event_t *e, int64_t timeout_ms,
			    char *errstr, size_t errstr_size)
{
	drv_delivery_t dr = { 0 };

	return wait_kind(rk, cfg, DRV_TOPIC_EVENTS, &dr,
			 drv_event_produce(rk, cfg, e, &dr, errstr,
					   errstr_size),
			 timeout_ms, errstr, errstr_size);
}

drv_err_t drv_audit_produce(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_audit_t *a, drv_delivery_t *dr,
			    char *errstr, size_t errstr_size)
{
	const drv_header_t hdrs[2] = {
		{ "drover-audit-action", a->action },
		{ "drover-audit-actor",  a->actor ? a->actor : "" },
	};
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_err_t err;

	err = drv_audit_encode(a, &buf, &len, errstr, errstr_size);
	if (err)
		return err;
	return produce_encoded(rk, cfg, DRV_TOPIC_AUDIT,
			       a->target && *a->target ? a->target : a->action,
			       buf, len, hdrs, dr, errstr, errstr_size);
}

drv_err_t drv_audit_publish(rd_kafka_t *rk, const drv_config_t *cfg,
			    const drv_audit_t *a, int64_t timeout_ms,
			    char *errstr, size_t errstr_size)
{
	drv_delivery_t dr = { 0 };

	return wait_kind(rk, cfg, DRV_TOPIC_AUDIT, &dr,
			 drv_audit_produce(rk, cfg, a, &dr, errstr,
					   errstr_size),
			 timeout_ms, errstr, errstr_size);
}

/* The host name audit records carry, asked once per process: an API
 * audits every submit, and gethostname() is a system call each time. */
static char audit_host[256];
static pthread_once_t audit_host_once = PTHREAD_ONCE_INIT;

static void audit_host_init(void)
{
	gethostname(audit_host, sizeof(audit_host) - 1);
}

drv_err_t drv_audit_write(rd_kafka_t *rk, const drv_config_t *cfg,
			  const char *actor, const char *action,
			  const char *target, uint64_t count,
			  const char *details_json, const char *result,
			  drv_delivery_t *dr, char *errstr, size_t errstr_size)
{
	const char *host;
	drv_audit_t a;
	drv_err_t rc;

	pthread_once(&audit_host_once, audit_host_init);
	host = audit_host;
	drv_audit_init(&a);
	a.time_ms = drv_now_ms();
	drv_id_new(a.id, a.time_ms);
	a.count = count;
	if (!(a.actor = strdup(actor)) || !(a.host = strdup(host)) ||
	    !(a.action = strdup(action)) ||
	    (target && !(a.target = strdup(target))) ||
	    (details_json && !(a.details_json = strdup(details_json))) ||
	    !(a.result = strdup(result ? result : "ok")))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	else if (dr)
		rc = drv_audit_produce(rk, cfg, &a, dr, errstr, errstr_size);
	else
		rc = drv_audit_publish(rk, cfg, &a,
				       cfg->kafka.connect_timeout_ms, errstr,
				       errstr_size);
	drv_audit_release(&a);
	return rc;
}

drv_err_t drv_dead_letter_produce(rd_kafka_t *rk, const drv_config_t *cfg,
				  const drv_dead_letter_t *dl,
				  drv_delivery_t *dr,
				  char *errstr, size_t errstr_size)
{
	const char *task_id = dl->task.id[0] ? dl->task.id : dl->id;
	char topic[256], attempts[16], partition[64];
	uint8_t *buf = NULL;
	size_t len = 0;
	drv_err_t err;

	err = drv_dead_letter_encode(dl, &buf, &len, errstr, errstr_size);
	if (err)
		return err;
	drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic));
	drv_fmt(attempts, sizeof(attempts), "%zu", dl->failure_cnt);
	drv_fmt(partition, sizeof(partition), "%d", (int)dl->source_partition);
	{
		const drv_header_t hdrs[] = {
			{ "drover-dl-reason",    drv_dl_reason_name(dl->reason) },
			{ "drover-task-id",      task_id },
			{ "drover-handler",      dl->task.handler ?
						 dl->task.handler : "" },
			{ "drover-attempts",     attempts },
			{ "drover-source-topic", dl->source_topic ?
						 dl->source_topic : "" },
			{ "drover-source-partition", partition },
		};
		err = drv_kafka_produce(rk, topic, task_id, strlen(task_id),
					buf, len, hdrs,
					sizeof(hdrs) / sizeof(hdrs[0]), dr,
					errstr, errstr_size);
	}
	free(buf);
	return err;
}
