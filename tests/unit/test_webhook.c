/*
 * Unit tests of the webhook core without Redis: the Standard Webhooks
 * signature (the reference library's own test vector), the retry schedule,
 * which subscriptions want an event (types, "*", filters, the loop guard)
 * and the delivery task made from an event.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/webhook.h"

Test(webhook, signature_matches_the_reference_vector)
{
	const char *body = "{\"test\": 2432232314}";
	char sig[128], err[256];

	cr_assert_eq(drv_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
				      "msg_p5jXN8AQM9LWM0D4loKWxJek",
				      1614265330, body, strlen(body), sig,
				      sizeof(sig), err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

Test(webhook, bad_secrets_are_refused)
{
	static const char *const bad[] = {
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",       /* no prefix */
		"whsec_", "whsec_short",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  /* not groups of 4 */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w", /* not base64 */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa==", /* 23 bytes */
	};
	char sig[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(drv_webhook_sign(bad[i], "msg_1", 1, "{}", 2, sig,
					      sizeof(sig), NULL, 0),
			     DRV_ERR_INVALID, "%s", bad[i]);
}

Test(webhook, backoff_is_the_spec_schedule)
{
	static const int64_t want[] = {
		5000, 300000, 1800000, 7200000, 18000000, 36000000, 50400000,
		72000000, 86400000, 86400000,
	};

	for (uint32_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(drv_webhook_backoff_ms(i + 1), want[i], "%u", i);
}

/* A config with a webhook handler and a plain one. */
static drv_config_t *two_handlers(void)
{
	static const char yaml[] =
		"handlers:\n"
		"  webhook: {type: webhook, policy: webhook}\n"
		"  billing: {type: noop}\n";
	char err[512];
	drv_config_t *cfg = NULL;

	cr_assert_eq(drv_config_load_string("test.yaml", yaml, strlen(yaml),
					    NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	return cfg;
}

static void event(drv_event_t *e, const char *type, const char *handler)
{
	drv_event_init(e);
	e->id = strdup("01ARZ3NDEKTSV4RRFFQ69G5FAV");
	e->type = strdup(type);
	e->time_ms = 1614265330000;
	e->task_id = strdup("01ARZ3NDEKTSV4RRFFQ69G5FAW");
	if (handler)
		drv_event_set_attribute(e, "handler", handler);
}

Test(webhook, wants_by_type_filter_and_never_its_own_deliveries)
{
	drv_config_t *cfg = two_handlers();
	json_t *dead = json_pack("{s:s, s:b, s:[s], s:{s:s}}", "id", "W1",
				 "enabled", 1, "events", "task.dead", "filter",
				 "handler", "billing");
	json_t *all = json_pack("{s:s, s:b, s:[s], s:{}}", "id", "W2",
				"enabled", 1, "events", "*", "filter");
	json_t *off = json_pack("{s:s, s:b, s:[s], s:{}}", "id", "W3",
				"enabled", 0, "events", "*", "filter");
	drv_event_t e;

	event(&e, "task.dead", "billing");
	cr_assert(drv_webhook_wants(cfg, dead, &e));
	cr_assert(drv_webhook_wants(cfg, all, &e));
	cr_assert_not(drv_webhook_wants(cfg, off, &e));
	drv_event_release(&e);

	event(&e, "task.succeeded", "billing");
	cr_assert_not(drv_webhook_wants(cfg, dead, &e), "type");
	drv_event_release(&e);

	event(&e, "task.dead", "other");
	cr_assert_not(drv_webhook_wants(cfg, dead, &e), "filter");
	drv_event_release(&e);

	event(&e, "task.dead", NULL);
	cr_assert_not(drv_webhook_wants(cfg, dead, &e), "no attribute");
	drv_event_release(&e);

	/* a delivery's own lifecycle event is never delivered */
	event(&e, "task.dead", "webhook");
	cr_assert_not(drv_webhook_wants(cfg, all, &e));
	drv_event_release(&e);

	/* nor its breaker's news; another breaker's is */
	event(&e, "breaker.opened", NULL);
	drv_event_set_attribute(&e, "breaker", "webhook:W2");
	cr_assert_not(drv_webhook_wants(cfg, all, &e));
	drv_event_set_attribute(&e, "breaker", "billing-api");
	cr_assert(drv_webhook_wants(cfg, all, &e));
	drv_event_release(&e);

	json_decref(dead);
	json_decref(all);
	json_decref(off);
	drv_config_destroy(cfg);
}

/* A schedule's fires: their task.succeeded / task.dead are also
 * schedule.succeeded / schedule.failed, and the delivery says which the
 * subscription asked for; a task of no schedule is neither. */
Test(webhook, schedule_fire_types)
{
	drv_config_t *cfg = two_handlers();
	json_t *failed = json_pack("{s:s, s:b, s:[s], s:{}}", "id",
				   "01ARZ3NDEKTSV4RRFFQ69G5FAX", "enabled", 1,
				   "events", "schedule.failed", "filter");
	json_t *both = json_pack("{s:s, s:b, s:[s, s], s:{}}", "id", "W2",
				 "enabled", 1, "events", "schedule.succeeded",
				 "task.succeeded", "filter");
	json_t *p;
	drv_task_t t;
	drv_event_t e;

	event(&e, "task.dead", "billing");
	cr_assert_null(drv_webhook_wants(cfg, failed, &e), "no schedule");
	drv_event_set_attribute(&e, "schedule_id", "nightly");
	cr_assert_str_eq(drv_webhook_wants(cfg, failed, &e),
			 "schedule.failed");
	cr_assert_null(drv_webhook_wants(cfg, both, &e));
	drv_task_init(&t);
	cr_assert_eq(drv_webhook_task(cfg, failed, &e, 1614265331000, &t),
		     DRV_OK);
	p = json_loadb((const char *)t.payload, t.payload_len, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(
		json_object_get(p, "body"), "type")), "schedule.failed");
	cr_assert_str_eq(drv_task_label(&t, "drover.event_type"),
			 "schedule.failed");
	json_decref(p);
	drv_task_release(&t);
	drv_event_release(&e);

	/* named both ways: the event's own type wins */
	event(&e, "task.succeeded", "billing");
	drv_event_set_attribute(&e, "schedule_id", "nightly");
	cr_assert_str_eq(drv_webhook_wants(cfg, both, &e), "task.succeeded");
	cr_assert_null(drv_webhook_wants(cfg, failed, &e));
	drv_event_release(&e);
	json_decref(failed);
	json_decref(both);
	drv_config_destroy(cfg);
}

Test(webhook, delivery_task_keeps_one_id_per_event_and_subscription)
{
	drv_config_t *cfg = two_handlers();
	json_t *rec = json_pack("{s:s}", "id", "01ARZ3NDEKTSV4RRFFQ69G5FAX");
	json_t *p, *body;
	drv_task_t t;
	drv_event_t e;

	event(&e, "task.dead", "billing");
	drv_task_init(&t);
	cr_assert_eq(drv_webhook_task(cfg, rec, &e, 1614265331000, &t), DRV_OK);
	cr_assert_str_eq(t.handler, "webhook");
	cr_assert_str_eq(drv_task_label(&t, "drover.breaker"),
			 "webhook:01ARZ3NDEKTSV4RRFFQ69G5FAX");
	cr_assert_str_eq(t.idempotency_key, "webhook:01ARZ3NDEKTSV4RRFFQ69G5FAV:"
			 "01ARZ3NDEKTSV4RRFFQ69G5FAX");
	p = json_loadb((const char *)t.payload, t.payload_len, 0, NULL);
	cr_assert_not_null(p);
	cr_assert_str_eq(json_string_value(json_object_get(p, "webhook_id")),
			 "msg_01ARZ3NDEKTSV4RRFFQ69G5FAV_"
			 "01ARZ3NDEKTSV4RRFFQ69G5FAX");
	body = json_object_get(p, "body");
	cr_assert_str_eq(json_string_value(json_object_get(body, "type")),
			 "task.dead");
	cr_assert_str_eq(json_string_value(json_object_get(body, "timestamp")),
			 "2021-02-25T15:02:10.000Z");
	cr_assert(json_is_object(json_object_get(body, "data")));
	json_decref(p);
	drv_task_release(&t);
	drv_event_release(&e);
	json_decref(rec);
	drv_config_destroy(cfg);
}
