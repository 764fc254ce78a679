/*
 * webhooks.c — the webhook dispatcher: every event the events consumer
 * reads (events.c) is checked against the webhook subscriptions, and each
 * subscription that wants it gets a delivery task (drv_webhook_task()),
 * which a worker sends, signs and retries (handler type `webhook`).
 *
 * No double sends across replicas: the coordinators share one consumer
 * group, so one of them reads a given event; the event's P event:<id>
 * marker (events.c) stops a copy read again; and the delivery task's
 * idempotency key (event id + subscription id) makes the workers run one
 * delivery should two tasks still be made.
 *
 * The subscriptions are kept here and read again when P webhooks:version
 * moved, looked at once a second at most.
 */
#include <string.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/webhook.h"

#define CHECK_MS 1000
#define PUBLISH_TIMEOUT_MS 10000
#define PUBLISH_TRIES 5

/* Read the subscriptions again if their version moved. */
static void refresh(coord_t *c)
{
	int64_t now = drv_mono_ms(), version = 0;
	char err[512];
	json_t *list = NULL;

	if (c->webhooks_checked && now - c->webhooks_checked < CHECK_MS)
		return;
	c->webhooks_checked = now;
	if (!c->redis)
		return;
	if (drv_webhook_version(c->redis, c->cfg, &version, err,
				sizeof(err))) {
		coord_redis_lost(c, err);
		return;
	}
	if (c->webhooks && version == c->webhooks_version)
		return;
	if (drv_webhook_list(c->redis, c->cfg, &list, err, sizeof(err))) {
		coord_redis_lost(c, err);
		return;
	}
	json_decref(c->webhooks);
	c->webhooks = list;
	c->webhooks_version = version;
}

bool webhooks_wanted(coord_t *c, const drv_event_t *e)
{
	json_t *rec;
	size_t i;

	refresh(c);
	json_array_foreach(c->webhooks, i, rec)
		if (drv_webhook_wants(c->cfg, rec, e))
			return true;
	return false;
}

/* Publish the delivery of \p e to \p rec. */
static void dispatch_one(coord_t *c, const json_t *rec, const drv_event_t *e)
{
	const char *sid = json_string_value(json_object_get(rec, "id"));
	char err[512] = "out of memory", topic[256];
	drv_err_t rc;
	drv_task_t t;

	drv_task_init(&t);
	rc = drv_webhook_task(c->cfg, rec, e, drv_now_ms(), &t);
	for (int i = 0; !rc && i < PUBLISH_TRIES; i++)
		if (!(rc = drv_task_publish(c->producer, c->cfg, &t,
					    PUBLISH_TIMEOUT_MS, topic,
					    sizeof(topic), err, sizeof(err))))
			break;
	drv_counter_inc(c->obs.webhooks, (const char *const[]){
		rc ? "lost" : "queued" });
	if (rc)
		drv_log_kv(DRV_LOG_ERROR, "webhook delivery lost: publish "
			   "failed", "webhook", sid, "event_id", e->id,
			   "event_type", e->type, "error", err, NULL);
	else
		drv_log_kv(DRV_LOG_INFO, "webhook delivery queued", "webhook",
			   sid, "event_id", e->id, "event_type", e->type,
			   "task_id", t.id, "topic", topic, NULL);
	drv_task_release(&t);
}

void webhooks_dispatch(coord_t *c, const drv_event_t *e)
{
	json_t *rec;
	size_t i;

	json_array_foreach(c->webhooks, i, rec)
		if (drv_webhook_wants(c->cfg, rec, e))
			dispatch_one(c, rec, e);
}

void webhooks_stop(coord_t *c)
{
	json_decref(c->webhooks);
	c->webhooks = NULL;
}
