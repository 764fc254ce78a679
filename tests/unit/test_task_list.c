/*
 * Unit tests for the task list's filter (core/task_list.c) and the point
 * in time its since/until take (drv_parse_when, core/clock.c): the parsing
 * both droverctl and the API go through, and the match on a task's hash.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/task_list.h"

#define NOW INT64_C(1764907200000)   /* 2025-12-05T04:00:00Z */

Test(task_list, when_forms)
{
	int64_t t = 0;

	cr_assert_eq(drv_parse_when("2025-12-05T03:00:00Z", NOW, &t), 0);
	cr_expect_eq(t, NOW - 3600000);
	cr_assert_eq(drv_parse_when("2025-12-05T04:00:00.250+01:00", NOW, &t),
		     0);
	cr_expect_eq(t, NOW - 3600000 + 250);
	cr_assert_eq(drv_parse_when("2025-12-05", NOW, &t), 0);
	cr_expect_eq(t, NOW - 4 * 3600000);
	cr_assert_eq(drv_parse_when("90m", NOW, &t), 0);
	cr_expect_eq(t, NOW - 90 * 60000);
	cr_assert_eq(drv_parse_when("0", NOW, &t), 0);
	cr_expect_eq(t, NOW);
	t = 7;
	cr_expect_eq(drv_parse_when("yesterday", NOW, &t), -1);
	cr_expect_eq(drv_parse_when("2025-13-05", NOW, &t), -1);
	cr_expect_eq(drv_parse_when("", NOW, &t), -1);
	cr_expect_eq(drv_parse_when("100000d", NOW, &t), -1, "before 1970");
	cr_expect_eq(t, 7, "untouched on failure");
}

static void set_ok(drv_task_filter_t *f, const drv_config_t *cfg,
		   const char *name, const char *value)
{
	char err[256] = "";

	cr_assert_eq(drv_task_filter_set(f, cfg, name, value, NOW, err,
					 sizeof(err)), DRV_OK,
		     "%s=%s: %s", name, value, err);
}

static drv_err_t set_rc(drv_task_filter_t *f, const drv_config_t *cfg,
			const char *name, const char *value)
{
	char err[256] = "";
	drv_err_t rc = drv_task_filter_set(f, cfg, name, value, NOW, err,
					   sizeof(err));

	cr_expect(rc == DRV_OK || *err, "no reason given for %s", value);
	return rc;
}

Test(task_list, filter_set)
{
	drv_config_t *cfg = drv_config_new();
	drv_task_filter_t f = { 0 };

	cr_assert_not_null(cfg);
	set_ok(&f, cfg, "state", "dead,retrying");
	set_ok(&f, cfg, "state", "paused");
	cr_expect_eq(f.states, (1u << DRV_TASK_DEAD) |
		     (1u << DRV_TASK_RETRYING) | (1u << DRV_TASK_PAUSED),
		     "states of several calls add up");
	set_ok(&f, cfg, "band", "high");
	cr_expect_eq(f.prio_min, 8);
	cr_expect_eq(f.prio_max, 10);
	set_ok(&f, cfg, "band", "low");
	cr_expect_eq(f.prio_min, 1);
	cr_expect_eq(f.prio_max, 3);
	set_ok(&f, cfg, "label", "tenant=acme");
	set_ok(&f, cfg, "label", "empty=");
	cr_expect_eq(f.label_cnt, 2);
	set_ok(&f, cfg, "since", "2h");
	cr_expect_eq(f.since_ms, NOW - 7200000);

	cr_expect_eq(set_rc(&f, cfg, "state", "asleep"), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "state", "dead,"), DRV_OK);
	cr_expect_eq(set_rc(&f, cfg, "state", ""), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "band", "urgent"), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "handler", "Email"), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "handler", ""), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "label", "=x"), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "label", "novalue"), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "until", "soon"), DRV_ERR_INVALID);
	cr_expect_eq(set_rc(&f, cfg, "colour", "red"), DRV_ERR_NOT_FOUND);
	drv_config_destroy(cfg);
}

Test(task_list, filter_match)
{
	drv_config_t *cfg = drv_config_new();
	drv_task_filter_t f = { 0 };
	drv_state_task_t t;

	cr_assert_not_null(cfg);
	drv_state_task_init(&t);
	t.state = DRV_TASK_DEAD;
	t.handler = "email";
	t.priority = 9;
	t.updated_ms = NOW - 1000;
	t.labels = "{\"tenant\":\"acme\",\"tier\":\"gold\"}";
	t.origin = "{\"schedule_id\":\"nightly\"}";
	cr_expect(drv_task_filter_match(&f, &t), "the empty filter");
	set_ok(&f, cfg, "state", "dead");
	set_ok(&f, cfg, "handler", "email");
	set_ok(&f, cfg, "band", "high");
	set_ok(&f, cfg, "label", "tenant=acme");
	set_ok(&f, cfg, "label", "tier=gold");
	set_ok(&f, cfg, "schedule", "nightly");
	set_ok(&f, cfg, "since", "1m");
	set_ok(&f, cfg, "until", "0");
	cr_expect(drv_task_filter_match(&f, &t));
	t.updated_ms = NOW;
	cr_expect(!drv_task_filter_match(&f, &t), "until is exclusive");
	t.updated_ms = NOW - 1000;
	t.labels = "{\"tenant\":\"acme\"}";
	cr_expect(!drv_task_filter_match(&f, &t), "a label missing");
	t.labels = "{\"tenant\":\"acme\",\"tier\":\"gold\"}";
	t.priority = 5;
	cr_expect(!drv_task_filter_match(&f, &t), "another band");
	t.priority = 9;
	t.origin = NULL;
	cr_expect(!drv_task_filter_match(&f, &t), "no schedule");
	t.origin = "{\"schedule_id\":\"nightly\"}";
	t.state = DRV_TASK_RETRYING;
	cr_expect(!drv_task_filter_match(&f, &t), "another state");
	drv_config_destroy(cfg);
}
