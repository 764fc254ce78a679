/*
 * batch.c — what every call that produces shares. A batch: the body's
 * array checked, each item built and produced at once through the core's
 * bulk path (drover/bulk.h, as `droverctl task submit --file`), then every
 * acknowledgement awaited, so it costs about one round trip to the brokers
 * however long it is; one bad item fails alone, in its result; the batch
 * is audited once. One item: it and its audit record produced together,
 * one round trip for both.
 */
#include <stdlib.h>

#include "api_int.h"
#include "drover/bulk.h"
#include "drover/str.h"

/* One item on its way. */
typedef struct slot {
	void   *item;
	json_t *result;   /* set once the item is settled */
} slot_t;

/* What the bulk path's callbacks need. */
typedef struct batch_ctx {
	api_call_t             *call;
	const api_batch_ops_t  *ops;
	size_t                  ok;
} batch_ctx_t;

static drv_err_t produce(void *arg, void *item, drv_delivery_t *dr,
			 char *topic, size_t topic_size, char *err,
			 size_t errlen)
{
	batch_ctx_t *c = arg;

	return c->ops->produce(c->call, ((slot_t *)item)->item, dr, topic,
			       topic_size, err, errlen);
}

static void settled(const drv_bulk_result_t *r, void *arg)
{
	batch_ctx_t *c = arg;
	slot_t *s = r->item;

	if (r->err) {
		s->result = api_problem_json(api_status_of(r->err), NULL,
					     r->errstr);
		return;
	}
	s->result = c->ops->accepted(s->item, r->topic);
	json_object_set_new(s->result, "status", json_integer(201));
	c->ok++;
}

void api_batch(api_call_t *call, const api_batch_ops_t *ops)
{
	json_t *o = api_body_json(call), *arr, *results;
	batch_ctx_t c = { .call = call, .ops = ops };
	drv_bulk_t *b = NULL;
	slot_t *slots = NULL;
	char *items = NULL, at[48];
	size_t n;

	if (!o)
		return;
	arr = json_object_get(o, ops->field);
	drv_fmt(at, sizeof(at), "/%s", ops->field);
	if (!json_is_array(arr) || json_object_size(o) != 1) {
		api_problem(call, 400, json_is_array(arr) ? "" : at,
			    "expected {\"%s\": [...]} and nothing else",
			    ops->field);
		goto out;
	}
	if ((n = json_array_size(arr)) > API_BATCH_MAX || n == 0) {
		api_problem(call, 400, at, "a batch holds 1 to %d items, got "
			    "%zu", API_BATCH_MAX, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!json_is_object(json_array_get(arr, i))) {
			drv_fmt(at, sizeof(at), "/%s/%zu", ops->field, i);
			api_problem(call, 400, at, "each item must be a JSON "
				    "object");
			goto out;
		}
	/* the bulk path of `droverctl task submit --file` (drover/bulk.h),
	 * its window the whole batch: every item produced, then each
	 * acknowledgement awaited in order */
	if (!(slots = calloc(n, sizeof(*slots))) ||
	    !(items = calloc(n, ops->size)) ||
	    !(b = drv_bulk_new(call->api->producer, call->api->cfg, n,
			       call->api->cfg->kafka.connect_timeout_ms,
			       settled, &c))) {
		api_problem(call, 500, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		slot_t *s = &slots[i];

		s->item = items + i * ops->size;
		drv_fmt(at, sizeof(at), "/%s/%zu", ops->field, i);
		if (!(s->result = ops->build(call, json_array_get(arr, i), at,
					     s->item)))
			drv_bulk_add_item(b, produce, &c, s);
	}
	drv_bulk_finish(b);
	results = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(results, slots[i].result);
		ops->release(slots[i].item);
	}
	if (!c.ok || api_audit(call, ops->audit, NULL, c.ok, json_pack(
		    "{s:I, s:I}", "submitted", (json_int_t)c.ok, "refused",
		    (json_int_t)(n - c.ok)), NULL))
		api_reply(call, 200, json_pack("{s:I, s:I, s:o}", "submitted",
					       (json_int_t)c.ok, "failed",
					       (json_int_t)(n - c.ok), "results",
					       results));
	else
		json_decref(results);
out:
	drv_bulk_destroy(b);
	free(slots);
	free(items);
	json_decref(o);
}

void api_produce_one(api_call_t *call, const api_batch_ops_t *ops,
		     void *item, const char *target, json_t *details)
{
	drv_delivery_t *dr = api_wait_slot(call, API_WAIT_ITEM), *adr;
	char topic[256], err[512];
	drv_err_t rc;

	/* the reports come on the API's poller thread; the connection waits
	 * for them suspended (pending.c), not this thread */
	if (!dr) {
		json_decref(details);
		api_problem(call, 500, NULL, "out of memory");
		return;
	}
	rc = ops->produce(call, item, dr, topic, sizeof(topic), err,
			  sizeof(err));
	if (rc) {
		api_wait_unused(call, API_WAIT_ITEM);
		json_decref(details);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	api_wait_topic(call, API_WAIT_ITEM, topic);
	api_reply(call, 201, ops->accepted(item, topic));
	if (!(adr = api_wait_slot(call, API_WAIT_AUDIT))) {
		json_decref(details);
		api_problem(call, 500, NULL, "out of memory");
		return;
	}
	drv_topic_name(call->api->cfg, DRV_TOPIC_AUDIT, NULL, 0, topic,
		       sizeof(topic));
	api_wait_topic(call, API_WAIT_AUDIT, topic);
	if (!api_audit(call, ops->audit, target, 1, details, adr))
		api_wait_unused(call, API_WAIT_AUDIT);
}
