/*
 * test_dlq_job.c — a DLQ resubmission job's spec (the API's body and
 * droverctl's flags) read into a resubmission (or, kind discard, a
 * discard), refused with the reason and the JSON Pointer of the field at
 * fault; its progress and JSON view.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/dlq_job.h"

#define NOW 1764900000000LL

static drv_config_t *cfg;

static void setup(void)
{
	static char *envp[] = { NULL };
	char err[256];

	cr_assert_eq(drv_config_load_string("<test>", "", 0, envp, &cfg, err,
					    sizeof(err)), DRV_OK, "%s", err);
}

static void teardown(void)
{
	drv_config_destroy(cfg);
}

TestSuite(dlq_job, .init = setup, .fini = teardown);

/* Read \p text; the result and, when refused, the pointer. */
static drv_err_t read_spec(const char *text, drv_dlq_job_spec_t *s,
			   char *pointer)
{
	json_t *o = json_loads(text, 0, NULL);
	char err[256];
	drv_err_t rc;

	cr_assert_not_null(o, "%s", text);
	rc = drv_dlq_job_spec_read(cfg, o, NOW, s, pointer, 64, err,
				   sizeof(err));
	drv_dlq_job_spec_release(s);
	json_decref(o);
	return rc;
}

Test(dlq_job, spec_read_and_applied)
{
	json_t *o = json_loads("{\"filter\": {\"handler\": \"resize\", "
			       "\"label\": [\"team=red\", \"tier=1\"], "
			       "\"since\": \"2h\"}, \"set\": [{\"q\": 80}, "
			       "\"size.width=640\"], \"priority\": 9, "
			       "\"max_attempts\": 3, \"reset_attempts\": true, "
			       "\"rate\": 2.5}", 0, NULL);
	drv_dlq_resubmit_t r = { 0 };
	drv_dlq_job_spec_t s;
	char err[256], pointer[64];

	cr_assert_eq(drv_dlq_job_spec_read(cfg, o, NOW, &s, pointer,
					   sizeof(pointer), err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_str_eq(s.f.handler, "resize");
	cr_assert_eq(s.f.label_cnt, 2);
	cr_assert_eq(s.f.since_ms, NOW - 2 * 3600 * 1000);
	cr_assert_eq(s.patch.cnt, 2);
	cr_assert_eq(s.priority, 9);
	cr_assert_eq(s.max_attempts, 3);
	cr_assert(s.reset);
	cr_assert(s.rate == 2.5);
	drv_dlq_job_spec_apply(&s, &r);
	cr_assert(r.every);
	cr_assert_eq(r.filter, &s.f);
	cr_assert_eq(r.patch, &s.patch);
	cr_assert_eq(r.priority, 9);
	cr_assert(r.reset && r.rate == 2.5 && !r.dry_run && !r.force);
	drv_dlq_job_spec_release(&s);
	json_decref(o);
}

Test(dlq_job, spec_group_is_the_group_filter)
{
	json_t *o = json_loads("{\"group\": \"3f9a0c1d2e4b5a69\"}", 0, NULL);
	drv_dlq_job_spec_t s;
	char err[256];

	cr_assert_eq(drv_dlq_job_spec_read(cfg, o, NOW, &s, NULL, 0, err,
					   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(s.f.group, "3f9a0c1d2e4b5a69");
	drv_dlq_job_spec_release(&s);
	json_decref(o);
}

Test(dlq_job, spec_refused_with_the_pointer)
{
	static const struct {
		const char *spec, *pointer;
	} bad[] = {
		{ "{}", "" },
		{ "[]", "" },
		{ "{\"filter\": {}, \"group\": \"3f9a0c1d2e4b5a69\"}", "" },
		{ "{\"filter\": {}, \"ids\": []}", "" },
		{ "{\"filter\": 1}", "/filter" },
		{ "{\"filter\": {\"reason\": \"nope\"}}", "/filter/reason" },
		{ "{\"filter\": {\"label\": [\"a=b\", 3]}}", "/filter/label/1" },
		{ "{\"filter\": {\"label\": [\"x\"]}}", "/filter/label/0" },
		{ "{\"filter\": {\"handler\": 3}}", "/filter/handler" },
		{ "{\"filter\": {\"grep\": \"\"}}", "/filter/grep" },
		{ "{\"group\": \"xyz\"}", "/group" },
		{ "{\"filter\": {}, \"set\": {}}", "/set" },
		{ "{\"filter\": {}, \"set\": [\"nokey\"]}", "/set/0" },
		{ "{\"filter\": {}, \"priority\": 11}", "/priority" },
		{ "{\"filter\": {}, \"priority\": 1.5}", "/priority" },
		{ "{\"filter\": {}, \"max_attempts\": 0}", "/max_attempts" },
		{ "{\"filter\": {}, \"rate\": 0}", "/rate" },
		{ "{\"filter\": {}, \"reset_attempts\": 1}", "/reset_attempts" },
		{ "{\"filter\": {}, \"kind\": \"drop\"}", "/kind" },
		{ "{\"filter\": {}, \"kind\": 1}", "/kind" },
		/* a discard sends no task: nothing to change in one */
		{ "{\"filter\": {}, \"kind\": \"discard\", \"set\": []}",
		  "/set" },
		{ "{\"group\": \"3f9a0c1d2e4b5a69\", \"kind\": \"discard\", "
		  "\"priority\": 3}", "/priority" },
		{ "{\"filter\": {}, \"kind\": \"discard\", "
		  "\"reset_attempts\": true}", "/reset_attempts" },
	};
	drv_dlq_job_spec_t s;
	char pointer[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(pointer, "unset");
		cr_assert_eq(read_spec(bad[i].spec, &s, pointer),
			     DRV_ERR_INVALID, "%s", bad[i].spec);
		cr_assert_str_eq(pointer, bad[i].pointer, "%s", bad[i].spec);
	}
	cr_assert_eq(read_spec("{\"filter\": {}}", &s, pointer), DRV_OK);
}

Test(dlq_job, discard_kind_applied)
{
	json_t *o = json_loads("{\"kind\": \"discard\", \"group\": "
			       "\"3f9a0c1d2e4b5a69\", \"rate\": 10}", 0, NULL);
	drv_dlq_resubmit_t r = { 0 };
	drv_dlq_job_spec_t s;
	char err[256];

	cr_assert_eq(drv_dlq_job_spec_read(cfg, o, NOW, &s, NULL, 0, err,
					   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(s.kind, DRV_DLQ_JOB_DISCARD);
	drv_dlq_job_spec_apply(&s, &r);
	cr_assert(r.every && r.discard && r.rate == 10);
	drv_dlq_job_spec_release(&s);
	json_decref(o);
	/* no kind, or "resubmit": a resubmission */
	o = json_loads("{\"kind\": \"resubmit\", \"filter\": {}}", 0, NULL);
	cr_assert_eq(drv_dlq_job_spec_read(cfg, o, NOW, &s, NULL, 0, err,
					   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(s.kind, DRV_DLQ_JOB_RESUBMIT);
	memset(&r, 0, sizeof(r));
	drv_dlq_job_spec_apply(&s, &r);
	cr_assert(!r.discard);
	drv_dlq_job_spec_release(&s);
	json_decref(o);
	cr_assert_str_eq(drv_dlq_job_kind_name(DRV_DLQ_JOB_DISCARD),
			 "discard");
	cr_assert_str_eq(drv_dlq_job_kind_name(DRV_DLQ_JOB_KIND_CNT), "?");
}

Test(dlq_job, progress_and_json)
{
	int64_t lo[2] = { 0, 10 }, hi[2] = { 100, 110 }, cur[2] = { 50, 110 };
	drv_dlq_job_t j = { .id = "01JEQ7ZKXW8T6N3M2R5V4P9H1C",
			    .state = DRV_DLQ_JOB_RUNNING, .part_cnt = 2,
			    .lo = lo, .hi = hi, .cursor = cur,
			    .counts = { .matched = 7, .sent = 5 } };
	json_t *o;

	cr_assert(drv_dlq_job_progress(&j) == 0.75);
	o = drv_dlq_job_json(&j);
	cr_assert_str_eq(json_string_value(json_object_get(o, "state")),
			 "running");
	cr_assert_eq(json_integer_value(json_object_get(o, "total")), 200);
	cr_assert_eq(json_integer_value(json_object_get(o, "read")), 150);
	cr_assert_eq(json_integer_value(json_object_get(o, "resubmitted")), 5);
	cr_assert_eq(json_integer_value(json_object_get(o, "discarded")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")),
			 "resubmit");
	cr_assert_eq(json_array_size(json_object_get(o, "partitions")), 2);
	json_decref(o);
	/* a discard job's count is of discards */
	j.kind = DRV_DLQ_JOB_DISCARD;
	j.counts.already_discarded = 2;
	o = drv_dlq_job_json(&j);
	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")),
			 "discard");
	cr_assert_eq(json_integer_value(json_object_get(o, "resubmitted")), 0);
	cr_assert_eq(json_integer_value(json_object_get(o, "discarded")), 5);
	cr_assert_eq(json_integer_value(json_object_get(o,
				"already_discarded")), 2);
	json_decref(o);
	/* done is all of it; an empty snapshot has nothing left */
	j.state = DRV_DLQ_JOB_DONE;
	cr_assert(drv_dlq_job_progress(&j) == 1.0);
	j.state = DRV_DLQ_JOB_PAUSED;
	j.part_cnt = 0;
	cr_assert(drv_dlq_job_progress(&j) == 1.0);
	cr_assert_str_eq(drv_dlq_job_state_name(DRV_DLQ_JOB_CANCELLED),
			 "cancelled");
	cr_assert_str_eq(drv_dlq_job_state_name(DRV_DLQ_JOB_STATE_CNT), "?");
}
