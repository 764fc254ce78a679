/*
 * dlq_alert.c — DLQ depth crossing coordinator.dlq_depth_alert: one
 * dlq.depth_exceeded event on the events topic when the depth reaches the
 * threshold, one dlq.depth_recovered when it is below it again, for
 * webhooks (and triggers) to act on.
 *
 * Every coordinator measures the depth (observe.c), each every few
 * seconds, so two replicas can disagree for a moment: if both told, the
 * one still seeing the old depth would swing the side back and forth. So
 * only the leader tells, and which side of the threshold was last told is
 * one Redis key (P dlq:alert), swapped with SET ... GET, so that a new
 * leader goes on from there instead of telling a crossing again. A publish
 * that fails puts the old side back, so the next turn tries again.
 *
 * @locality main thread.
 */
#include <string.h>

#include <jansson.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/str.h"

#define ALERT_EVERY_MS 1000

/* Put event \p type with the depth on the events topic. */
static bool tell(coord_t *c, const char *type, int64_t depth,
		 int64_t threshold)
{
	char d[24], t[24], err[512] = "out of memory";
	drv_event_t e;
	drv_err_t rc = DRV_ERR_NOMEM;
	json_t *o = json_pack("{s:s, s:I, s:I}", "topic", c->obs.dlq_topic,
			      "depth", (json_int_t)depth, "threshold",
			      (json_int_t)threshold);

	drv_fmt(d, sizeof(d), "%lld", (long long)depth);
	drv_fmt(t, sizeof(t), "%lld", (long long)threshold);
	drv_event_init(&e);
	if (o && !drv_event_new_json(&e, type, "drover-coordinator", o) &&
	    !drv_event_set_attribute(&e, "topic", c->obs.dlq_topic) &&
	    !drv_event_set_attribute(&e, "depth", d) &&
	    !drv_event_set_attribute(&e, "threshold", t))
		rc = drv_event_publish(c->producer, c->cfg, &e,
				       c->cfg->kafka.connect_timeout_ms, err,
				       sizeof(err));
	json_decref(o);
	drv_event_release(&e);
	if (rc)
		drv_log_kv(DRV_LOG_WARN, "DLQ depth event not written; will "
			   "try again", "type", type, "error", err, NULL);
	else
		drv_log_kv(DRV_LOG_INFO, "DLQ depth crossed the alert "
			   "threshold", "type", type, "depth", d,
			   "threshold", t, NULL);
	return !rc;
}

void dlq_alert_tick(coord_t *c)
{
	int64_t threshold = c->cfg->coordinator.dlq_depth_alert, now;
	int64_t depth = __atomic_load_n(&c->obs.dlq_depth_now,
					__ATOMIC_RELAXED);
	const char *side;
	char key[512];
	redisReply *r;
	bool changed;

	now = drv_mono_ms();
	if (!threshold || depth < 0 || !c->redis || now < c->alert_next ||
	    !leader_safe(c))
		return;
	c->alert_next = now + ALERT_EVERY_MS;
	side = depth >= threshold ? "above" : "below";
	coord_key(c, key, sizeof(key), "dlq:alert");
	if (!(r = coord_redis(c, "SET %s %s GET", key, side)))
		return;
	/* nothing told yet counts as below */
	changed = r->type == REDIS_REPLY_STRING ? strcmp(r->str, side) != 0 :
		  r->type == REDIS_REPLY_NIL && *side == 'a';
	if (changed && !tell(c, *side == 'a' ? "dlq.depth_exceeded" :
			     "dlq.depth_recovered", depth, threshold))
		freeReplyObject(coord_redis(c, r->type == REDIS_REPLY_STRING ?
					    "SET %s %s" : "DEL %s", key,
					    r->str));
	freeReplyObject(r);
}
