/*
 * test_sched_trigger.c — the fire-now request as queued in Redis
 * (drover/sched_edit.h): written and read back unchanged, and what the
 * leading coordinator refuses to read (it drops such a request).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "drover/sched_edit.h"
#include "drover/str.h"

Test(sched_trigger, round_trip)
{
	drv_sched_trigger_t t, back;
	char err[256], *json;

	memset(&t, 0, sizeof(t));
	drv_strlcpy(t.schedule, "nightly-report", sizeof(t.schedule));
	drv_id_new(t.task_id, 1764979200000LL);
	t.requested_ms = 1764979200123LL;
	drv_strlcpy(t.actor, "ops \"on call\"", sizeof(t.actor));
	json = drv_sched_trigger_to_json(&t);
	cr_assert_not_null(json);
	cr_assert_eq(drv_sched_trigger_parse(json, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_expect_str_eq(back.schedule, t.schedule);
	cr_expect_str_eq(back.task_id, t.task_id);
	cr_expect_str_eq(back.actor, t.actor);
	cr_expect_eq(back.requested_ms, t.requested_ms);
	free(json);
}

Test(sched_trigger, actor_optional)
{
	drv_sched_trigger_t t;
	char err[256];

	cr_assert_eq(drv_sched_trigger_parse("{\"schedule\": \"a\", "
		     "\"task_id\": \"01KBQ4Y4J0ABCDEFGHJKMNPQRS\", "
		     "\"requested_ms\": 5}", &t, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_expect_str_eq(t.actor, "");
	cr_expect_eq(t.requested_ms, 5);
}

Test(sched_trigger, refused)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"task_id\": \"01KBQ4Y4J0ABCDEFGHJKMNPQRS\", "
		"\"requested_ms\": 5}",
		"{\"schedule\": \"Bad Id\", \"task_id\": "
		"\"01KBQ4Y4J0ABCDEFGHJKMNPQRS\", \"requested_ms\": 5}",
		"{\"schedule\": \"a\", \"task_id\": \"short\", "
		"\"requested_ms\": 5}",
		"{\"schedule\": \"a\", \"task_id\": "
		"\"01KBQ4Y4J0ABCDEFGHJKMNPQRS\", \"requested_ms\": -1}",
		"{\"schedule\": \"a\", \"task_id\": "
		"\"01KBQ4Y4J0ABCDEFGHJKMNPQRS\", \"requested_ms\": \"5\"}",
	};
	drv_sched_trigger_t t;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_expect_eq(drv_sched_trigger_parse(bad[i], &t, err,
						     sizeof(err)),
			     DRV_ERR_INVALID, "accepted: %s", bad[i]);
		cr_expect(err[0], "no reason for: %s", bad[i]);
	}
}
