/*
 * batch.c — what every call that produces shares. A batch: the body's
 * array checked, each item built and produced at once, then every
 * acknowledgement awaited, so it costs about one round trip to the brokers
 * however long it is; one bad item fails alone, in its result; the batch
 * is audited once. One item: it and its audit record produced together,
 * one round trip for both.
 */
#include <stdlib.h>

#include "api_int.h"
#include "drover/str.h"

/* One item on its way. */
typedef struct slot {
	void          *item;
	drv_delivery_t dr;
	char           topic[256];
	json_t        *result;   /* set once the item is settled */
} slot_t;

void api_batch(api_call_t *call, const api_batch_ops_t *ops)
{
	json_t *o = api_body_json(call), *arr, *results;
	size_t n, ok = 0;
	slot_t *slots = NULL;
	char *items = NULL, at[48], err[512];

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
	if (!(slots = calloc(n, sizeof(*slots))) ||
	    !(items = calloc(n, ops->size))) {
		api_problem(call, 500, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		slot_t *s = &slots[i];
		drv_err_t rc;

		s->item = items + i * ops->size;
		drv_fmt(at, sizeof(at), "/%s/%zu", ops->field, i);
		if ((s->result = ops->build(call, json_array_get(arr, i), at,
					    s->item)))
			continue;
		rc = ops->produce(call, s->item, &s->dr, s->topic,
				  sizeof(s->topic), err, sizeof(err));
		if (rc)
			s->result = api_problem_json(api_status_of(rc), at,
						     err);
	}
	/* every produce is in flight: now each acknowledgement */
	for (size_t i = 0; i < n; i++) {
		slot_t *s = &slots[i];
		drv_err_t rc;

		if (s->result)
			continue;
		rc = drv_kafka_wait(call->api->producer, &s->dr, s->topic,
				    call->api->cfg->kafka.connect_timeout_ms,
				    err, sizeof(err));
		if (rc) {
			s->result = api_problem_json(api_status_of(rc), NULL,
						     err);
		} else {
			s->result = ops->accepted(s->item, s->topic);
			json_object_set_new(s->result, "status",
					    json_integer(201));
			ok++;
		}
	}
	results = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(results, slots[i].result);
		ops->release(slots[i].item);
	}
	if (!ok || api_audit(call, ops->audit, NULL, ok, json_pack(
		    "{s:I, s:I}", "submitted", (json_int_t)ok, "refused",
		    (json_int_t)(n - ok)), NULL))
		api_reply(call, 200, json_pack("{s:I, s:I, s:o}", "submitted",
					       (json_int_t)ok, "failed",
					       (json_int_t)(n - ok), "results",
					       results));
	else
		json_decref(results);
out:
	free(slots);
	free(items);
	json_decref(o);
}

bool api_produce_one(api_call_t *call, const api_batch_ops_t *ops,
		     void *item, char *topic, size_t topic_size,
		     const char *target, json_t *details)
{
	drv_delivery_t dr = { 0 }, adr = { 0 };
	char err[512];
	bool audited;
	drv_err_t rc;

	rc = ops->produce(call, item, &dr, topic, topic_size, err,
			  sizeof(err));
	if (rc) {
		json_decref(details);
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return false;
	}
	audited = api_audit(call, ops->audit, target, 1, details, &adr);
	rc = drv_kafka_wait(call->api->producer, &dr, topic,
			    call->api->cfg->kafka.connect_timeout_ms, err,
			    sizeof(err));
	if (audited)
		audited = api_audit_wait(call, &adr);
	if (rc)
		api_problem(call, api_status_of(rc), NULL, "%s", err);
	return !rc && audited;
}
