/*
 * Unit tests for the stored form of operator interventions
 * (core/intervene.c): parsing what droverctl writes, refusing what it
 * does not, and the key name. No Redis needed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "drover/config.h"
#include "drover/intervene.h"

extern char **environ;

Test(intervene, parse)
{
	const char *ok = "{\"action\":\"skip\",\"reason\":\"not needed\","
			 "\"actor\":\"dora\",\"time_ms\":1700000000000}";
	drv_iv_t iv;

	cr_assert_eq(drv_iv_parse(ok, strlen(ok), &iv), DRV_OK);
	cr_assert_eq(iv.action, DRV_IV_SKIP);
	cr_assert_str_eq(iv.reason, "not needed");
	cr_assert_str_eq(iv.actor, "dora");
	cr_assert_eq(iv.time_ms, 1700000000000LL);
	drv_iv_release(&iv);
	cr_assert_null(iv.reason);

	cr_assert_eq(drv_iv_parse("{\"action\":\"pause\"}", 18, &iv), DRV_OK);
	cr_assert_eq(iv.action, DRV_IV_PAUSE);
	cr_assert_null(iv.reason);
	drv_iv_release(&iv);
}

Test(intervene, parse_rejects)
{
	const char *bad[] = { "", "not json", "{}", "{\"action\":\"explode\"}",
			      "{\"action\":\"none\"}", "[1]", NULL };
	drv_iv_t iv;

	for (int i = 0; bad[i]; i++) {
		cr_assert_eq(drv_iv_parse(bad[i], strlen(bad[i]), &iv),
			     DRV_ERR_DECODE, "accepted %s", bad[i]);
		cr_assert_eq(iv.action, DRV_IV_NONE);
		cr_assert_null(iv.reason);
	}
}

Test(intervene, names_and_key)
{
	drv_config_t *cfg = NULL;
	char err[256], key[128];

	cr_assert_str_eq(drv_iv_action_name(DRV_IV_PAUSE), "pause");
	cr_assert_str_eq(drv_iv_action_name(DRV_IV_CANCEL), "cancel");
	cr_assert_str_eq(drv_iv_action_name((drv_iv_action_t)42), "none");
	const char *yaml = "redis:\n  key_prefix: \"x:\"\n";

	cr_assert_eq(drv_config_load_string("<t>", yaml, strlen(yaml), environ,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert(drv_iv_key(cfg, key, sizeof(key)));
	cr_assert_str_eq(key, "x:interventions");
	cr_assert_not(drv_iv_key(cfg, key, 5));
	drv_config_destroy(cfg);
}
