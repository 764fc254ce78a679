/*
 * test_limit.c — which limits apply to a task (drv_limit_match: by
 * handler, keyed limits only with their label), the lease length, and
 * the JSON view without Redis.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/limit.h"

static const char yaml[] =
	"handlers:\n"
	"  billing:\n"
	"    type: noop\n"
	"    timeout: 20s\n"
	"  other:\n"
	"    type: noop\n"
	"limits:\n"
	"  billing-api:\n"
	"    handler: billing\n"
	"    rate: 50\n"
	"    burst: 10\n"
	"  per-customer:\n"
	"    handler: billing\n"
	"    key: label.customer\n"
	"    concurrency: 3\n";

static drv_config_t *load(void)
{
	drv_config_t *cfg = NULL;
	char err[512] = "";

	cr_assert_eq(drv_config_load_string("l.yaml", yaml, strlen(yaml), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	return cfg;
}

Test(limit, match_by_handler_and_label)
{
	drv_config_t *cfg = load();
	drv_limit_set_t set;
	drv_task_t t;

	drv_task_init(&t);
	t.handler = strdup("billing");
	cr_assert_eq(drv_limit_match(cfg, &t, &set), 1, "no label: the "
		     "keyed limit does not apply");
	cr_assert_str_eq(set.conf[0]->name, "billing-api");
	cr_assert_str_eq(set.value[0], "");
	cr_assert_eq(drv_task_set_label(&t, "customer", "acme"), DRV_OK);
	cr_assert_eq(drv_limit_match(cfg, &t, &set), 2);
	cr_assert_str_eq(set.conf[1]->name, "per-customer");
	cr_assert_str_eq(set.value[1], "acme");
	free(t.handler);
	t.handler = strdup("other");
	cr_assert_eq(drv_limit_match(cfg, &t, &set), 0);
	drv_task_release(&t);
	drv_config_destroy(cfg);
}

Test(limit, lease_is_the_timeout_plus_a_margin)
{
	drv_config_t *cfg = load();

	cr_assert_eq(drv_limit_lease_ms(cfg, drv_config_handler(cfg,
							       "billing")),
		     20000 + DRV_LIMIT_LEASE_MARGIN_MS);
	cr_assert_eq(drv_limit_lease_ms(cfg, drv_config_handler(cfg, "other")),
		     cfg->worker.default_timeout_ms +
		     DRV_LIMIT_LEASE_MARGIN_MS);
	drv_config_destroy(cfg);
}

Test(limit, list_without_redis_shows_the_settings)
{
	drv_config_t *cfg = load();
	json_t *o = NULL, *l;
	char err[256];

	cr_assert_eq(drv_limit_list(NULL, cfg, &o, err, sizeof(err)), DRV_OK);
	cr_assert_eq(json_array_size(json_object_get(o, "limits")), 2);
	l = json_array_get(json_object_get(o, "limits"), 0);
	cr_assert_eq(json_integer_value(json_object_get(l, "rate")), 50);
	cr_assert_eq(json_integer_value(json_object_get(l, "per_ms")), 1000);
	cr_assert_eq(json_integer_value(json_object_get(l, "burst")), 10);
	cr_assert(json_is_null(json_object_get(l, "key")));
	cr_assert_null(json_object_get(l, "next_start_ms"), "no Redis: no "
		       "state");
	l = json_array_get(json_object_get(o, "limits"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(l, "key")),
			 "label.customer");
	json_decref(o);
	drv_config_destroy(cfg);
}
