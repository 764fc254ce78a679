/*
 * Unit tests for JSON in and out: events written as plain JSON by producers
 * that have no protobuf (drv_event_decode_any), and the one-line JSON
 * renderings of tasks, events, dead letters and audit records that
 * droverctl prints.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "drover/audit.h"
#include "drover/clock.h"
#include "drover/dead_letter.h"
#include "drover/event.h"
#include "drover/str.h"
#include "drover/task.h"

static drv_err_t decode_str(const char *s, drv_event_t *e, char *err,
			    size_t size)
{
	return drv_event_decode_any(s, strlen(s), e, err, size);
}

static bool payload_is(const drv_event_t *e, const char *want)
{
	return e->payload_len == strlen(want) &&
	       !memcmp(e->payload, want, e->payload_len);
}

/* --- JSON events in --------------------------------------------------------- */

Test(event_json, minimal_object)
{
	drv_event_t e;
	char err[256] = "";
	int64_t before = drv_now_ms();

	drv_event_init(&e);
	cr_assert_eq(decode_str("{\"type\":\"order.created\"}", &e, err,
				sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(e.type, "order.created");
	cr_assert(drv_id_valid(e.id), "%s", e.id);
	cr_assert_null(e.source);
	cr_assert_geq(e.time_ms, before);
	cr_assert_leq(e.time_ms, drv_now_ms());
	cr_assert_str_eq(e.content_type, "application/json");
	cr_assert(payload_is(&e, "{\"type\":\"order.created\"}"));
	cr_assert_eq(e.attribute_cnt, 0);
	drv_event_release(&e);
}

Test(event_json, full_object)
{
	static const char in[] =
		" \n\t{\"type\": \"order.created\", \"id\": \"evt-1\", "
		"\"source\": \"shop\", \"time\": 1764130637123, "
		"\"payload\": {\"order\": 42, \"items\": [1, 2]}, "
		"\"region\": \"eu\", \"customer\": 7, \"ratio\": 0.1, "
		"\"big\": 1e300, \"vip\": true, \"test\": false, "
		"\"nothing\": null, \"list\": [1], \"obj\": {\"a\": 1}, "
		"\"\": \"empty key\"}";
	drv_event_t e;
	char err[256] = "";

	drv_event_init(&e);
	cr_assert_eq(decode_str(in, &e, err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(e.id, "evt-1");
	cr_assert_str_eq(e.type, "order.created");
	cr_assert_str_eq(e.source, "shop");
	cr_assert_eq(e.time_ms, 1764130637123LL);
	cr_assert(payload_is(&e, "{\"order\":42,\"items\":[1,2]}"));
	cr_assert_eq(e.attribute_cnt, 6, "%zu", e.attribute_cnt);
	cr_assert_str_eq(drv_event_attribute(&e, "region"), "eu");
	cr_assert_str_eq(drv_event_attribute(&e, "customer"), "7");
	cr_assert_str_eq(drv_event_attribute(&e, "ratio"), "0.1");
	cr_assert_str_eq(drv_event_attribute(&e, "big"), "1e+300");
	cr_assert_str_eq(drv_event_attribute(&e, "vip"), "true");
	cr_assert_str_eq(drv_event_attribute(&e, "test"), "false");
	cr_assert_null(drv_event_attribute(&e, "nothing"));
	cr_assert_null(drv_event_attribute(&e, "list"));
	cr_assert_null(drv_event_attribute(&e, "obj"));
	cr_assert_null(drv_event_attribute(&e, "type"));
	cr_assert_null(drv_event_attribute(&e, "payload"));
	drv_event_release(&e);
}

Test(event_json, scalar_payload_and_real_time)
{
	drv_event_t e;
	char err[256] = "";

	drv_event_init(&e);
	cr_assert_eq(decode_str("{\"type\":\"t\",\"payload\":\"hi\","
				"\"time\":1500.9}", &e, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert(payload_is(&e, "\"hi\""));
	cr_assert_eq(e.time_ms, 1500);
	drv_event_release(&e);
}

Test(event_json, errors_say_what_is_wrong)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "{}", "no \"type\"" },
		{ "{\"type\":5}", "\"type\" must be a non-empty string" },
		{ "{\"type\":\"\"}", "\"type\" must be a non-empty string" },
		{ "{\"type\":\"t\",\"id\":7}", "\"id\" must be" },
		{ "{\"type\":\"t\",\"source\":[]}", "\"source\" must be" },
		{ "{\"type\":\"t\",\"time\":\"now\"}", "\"time\" must be a number" },
		{ "{\"type\":\"t\"", "does not parse" },
		{ "{\"type\":\"t\"} trailing", "does not parse" },
		{ "{\"type\":\"t\",}", "line 1" },
		{ "[{\"type\":\"t\"}]", "drover.v1.Event" },
		{ "", "no type" },
	};
	drv_event_t e;
	char err[256];

	drv_event_init(&e);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(decode_str(cases[i].in, &e, err, sizeof(err)),
			     DRV_ERR_DECODE, "%s", cases[i].in);
		cr_assert(strstr(err, cases[i].want), "%s -> %s", cases[i].in,
			  err);
		cr_assert_null(e.id);
		cr_assert_null(e.type);
		cr_assert_null(e.payload);
		cr_assert_eq(e.attribute_cnt, 0);
	}
	drv_event_release(&e);
}

/* Issue 17 (item 5): a 1 MB JSON event took 22.8 s to decode (one linear
 * search and one realloc per attribute). */
static char *json_with_members(size_t n)
{
	size_t cap = 64 + n * 24, len;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	len = (size_t)snprintf(s, cap, "{\"type\":\"t\"");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, ",\"m%zu\":%zu", i,
					i);
	cr_assert_lt(len + 2, cap);
	memcpy(s + len, "}", 2);
	return s;
}

Test(event_json, too_many_members_are_refused)
{
	char *s = json_with_members(50000), err[256] = "";
	drv_event_t e;

	drv_event_init(&e);
	cr_assert_eq(decode_str(s, &e, err, sizeof(err)), DRV_ERR_DECODE);
	cr_assert(strstr(err, "JSON event has 50001 members, more than 1029"),
		  "%s", err);
	cr_assert_eq(e.attribute_cnt, 0);
	free(s);
	drv_event_release(&e);
}

Test(event_json, members_up_to_the_limit_become_attributes)
{
	char *s = json_with_members(DRV_LABELS_MAX), err[256] = "";
	drv_event_t e;

	drv_event_init(&e);
	cr_assert_eq(decode_str(s, &e, err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(e.attribute_cnt, DRV_LABELS_MAX);
	cr_assert_str_eq(drv_event_attribute(&e, "m1023"), "1023");
	cr_assert_eq(drv_event_validate(&e, err, sizeof(err)), DRV_OK, "%s",
		     err);
	free(s);
	drv_event_release(&e);
}

Test(event_json, oversize_members_stay_in_the_payload_only)
{
	size_t n = DRV_LABEL_VALUE_MAX + 1;
	char *s = malloc(n + 64), err[256] = "";
	drv_event_t e;

	static const char head[] = "{\"type\":\"t\",\"small\":\"x\",\"long\":\"";
	size_t h = sizeof(head) - 1;

	cr_assert_not_null(s);
	if (!s)
		return;
	memcpy(s, head, h);
	memset(s + h, 'a', n);
	memcpy(s + h + n, "\"}", 3);
	drv_event_init(&e);
	cr_assert_eq(decode_str(s, &e, err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(e.attribute_cnt, 1);
	cr_assert_str_eq(drv_event_attribute(&e, "small"), "x");
	cr_assert_null(drv_event_attribute(&e, "long"));
	cr_assert_eq(e.payload_len, strlen(s));
	free(s);
	drv_event_release(&e);
}

Test(event_json, decoded_json_event_encodes_as_protobuf)
{
	drv_event_t e, back;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	drv_event_init(&e);
	drv_event_init(&back);
	cr_assert_eq(decode_str("{\"type\":\"a\",\"id\":\"x\",\"k\":\"v\"}", &e,
				err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_event_encode(&e, &buf, &len, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(drv_event_decode_any(buf, len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_str_eq(back.id, "x");
	cr_assert_str_eq(drv_event_attribute(&back, "k"), "v");
	cr_assert_str_eq(back.content_type, "application/json");
	free(buf);
	drv_event_release(&e);
	drv_event_release(&back);
}

/* --- JSON out ------------------------------------------------------------------ */

/* Parse a rendering, checking it is one line. */
static json_t *parse_line(char *s)
{
	json_error_t jerr;
	json_t *v;

	cr_assert_not_null(s);
	cr_assert_null(strchr(s, '\n'), "%s", s);
	v = json_loads(s, 0, &jerr);
	cr_assert_not_null(v, "%s: %s", s, jerr.text);
	free(s);
	return v;
}

static const char *jget_str(json_t *obj, const char *path)
{
	json_t *v = obj;
	char key[64];
	const char *p = path, *dot;

	while (v && (dot = strchr(p, '.'))) {
		drv_fmt(key, sizeof(key), "%.*s", (int)(dot - p), p);
		v = json_object_get(v, key);
		p = dot + 1;
	}
	v = v ? json_object_get(v, p) : NULL;
	cr_assert(json_is_string(v), "%s is not a string", path);
	return json_string_value(v);
}

static json_int_t jget_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	cr_assert(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

static void sample_task(drv_task_t *t, const void *payload, size_t len)
{
	drv_task_init(t);
	drv_strlcpy(t->id, "01JDQ3ZK5W4M8V6T2N9R7B3C1X", sizeof(t->id));
	t->handler = strdup("billing.charge");
	t->priority = 8;
	t->created_ms = 1764130637123LL;
	t->deadline_ms = 1764130697123LL;
	cr_assert_eq(drv_task_set_payload(t, payload, len), DRV_OK);
	cr_assert_eq(drv_task_set_label(t, "team", "billing"), DRV_OK);
	t->origin.schedule_id = strdup("nightly");
	t->origin.fencing_token = 3;
}

Test(render_json, task_with_json_payload)
{
	drv_task_t t;
	json_t *v;

	sample_task(&t, "{\"order\": 42}", 13);
	v = parse_line(drv_task_to_json(&t));
	cr_assert_str_eq(jget_str(v, "id"), "01JDQ3ZK5W4M8V6T2N9R7B3C1X");
	cr_assert_str_eq(jget_str(v, "handler"), "billing.charge");
	cr_assert_eq(jget_int(v, "priority"), 8);
	cr_assert_eq(jget_int(v, "created_ms"), 1764130637123LL);
	cr_assert_str_eq(jget_str(v, "created"), "2025-11-26T04:17:17.123Z");
	cr_assert_str_eq(jget_str(v, "deadline"), "2025-11-26T04:18:17.123Z");
	cr_assert_null(json_object_get(v, "not_before_ms"), "0 is left out");
	cr_assert_null(json_object_get(v, "policy"), "NULL is left out");
	cr_assert_str_eq(jget_str(v, "labels.team"), "billing");
	cr_assert_str_eq(jget_str(v, "origin.schedule_id"), "nightly");
	cr_assert_eq(jget_int(json_object_get(v, "origin"), "fencing_token"),
		     3);
	cr_assert_eq(jget_int(json_object_get(v, "payload"), "order"), 42);
	cr_assert_null(json_object_get(v, "payload_base64"));
	json_decref(v);
	drv_task_release(&t);
}

Test(render_json, task_with_binary_payload_is_base64)
{
	drv_task_t t;
	json_t *v;

	sample_task(&t, "\x00\x01\xff\x10", 4);
	v = parse_line(drv_task_to_json(&t));
	cr_assert_null(json_object_get(v, "payload"));
	cr_assert_str_eq(jget_str(v, "payload_base64"), "AAH/EA==");
	json_decref(v);
	drv_task_release(&t);

	sample_task(&t, "not json", 8);
	v = parse_line(drv_task_to_json(&t));
	cr_assert_str_eq(jget_str(v, "payload_base64"), "bm90IGpzb24=");
	json_decref(v);
	drv_task_release(&t);
}

Test(render_json, times_outside_rfc3339_keep_only_ms)
{
	drv_task_t t;
	json_t *v;

	sample_task(&t, NULL, 0);
	t.created_ms = INT64_MAX;
	t.deadline_ms = -1;
	v = parse_line(drv_task_to_json(&t));
	cr_assert_eq(jget_int(v, "created_ms"), INT64_MAX);
	cr_assert_null(json_object_get(v, "created"));
	cr_assert_eq(jget_int(v, "deadline_ms"), -1);
	cr_assert_null(json_object_get(v, "deadline"));
	json_decref(v);
	drv_task_release(&t);
}

Test(render_json, invalid_utf8_is_replaced_not_dropped)
{
	drv_task_t t;
	json_t *v;

	sample_task(&t, NULL, 0);
	free(t.handler);
	t.handler = strdup("caf\xe9");
	cr_assert_eq(drv_task_set_label(&t, "k\xff", "v\xfe"), DRV_OK);
	v = parse_line(drv_task_to_json(&t));
	cr_assert_str_eq(jget_str(v, "handler"), "caf?");
	cr_assert_str_eq(json_string_value(json_object_get(
		json_object_get(v, "labels"), "k?")), "v?");
	cr_assert_null(json_object_get(v, "payload"));
	json_decref(v);
	drv_task_release(&t);
}

Test(render_json, event)
{
	drv_event_t e;
	json_t *v;
	char err[256] = "";

	drv_event_init(&e);
	cr_assert_eq(decode_str("{\"type\":\"order.created\",\"id\":\"e1\","
				"\"time\":0,\"region\":\"eu\"}", &e, err,
				sizeof(err)), DRV_OK, "%s", err);
	v = parse_line(drv_event_to_json(&e));
	cr_assert_str_eq(jget_str(v, "type"), "order.created");
	cr_assert_str_eq(jget_str(v, "time"), "1970-01-01T00:00:00.000Z");
	cr_assert_str_eq(jget_str(v, "attributes.region"), "eu");
	cr_assert_str_eq(jget_str(v, "payload.type"), "order.created");
	cr_assert_str_eq(jget_str(v, "content_type"), "application/json");
	json_decref(v);
	drv_event_release(&e);
}

Test(render_json, dead_letter)
{
	drv_dead_letter_t dl;
	drv_failure_t f = { .attempt = 1, .time_ms = 1000,
			    .failure_class = DRV_FAILURE_TIMEOUT,
			    .message = "slow", .exit_code = -9 };
	json_t *v, *failures;

	drv_dead_letter_init(&dl);
	drv_strlcpy(dl.id, "01JDQ3XX00CCCCCCCCCCCCCCCC", sizeof(dl.id));
	sample_task(&dl.task, "[1]", 3);
	cr_assert_eq(drv_dead_letter_add_failure(&dl, &f), DRV_OK);
	dl.reason = DRV_DL_DEADLINE_EXCEEDED;
	dl.source_topic = strdup("drover.tasks.high");
	dl.source_offset = 77;
	cr_assert_eq(drv_dead_letter_set_raw(&dl, "\x01\x02", 2), DRV_OK);
	v = parse_line(drv_dead_letter_to_json(&dl));
	cr_assert_str_eq(jget_str(v, "reason"), "deadline_exceeded");
	cr_assert_str_eq(jget_str(v, "task.handler"), "billing.charge");
	cr_assert_str_eq(jget_str(v, "source_topic"), "drover.tasks.high");
	cr_assert_eq(jget_int(v, "source_offset"), 77);
	failures = json_object_get(v, "failures");
	cr_assert_eq(json_array_size(failures), 1);
	cr_assert_str_eq(jget_str(json_array_get(failures, 0), "failure_class"),
			 "timeout");
	cr_assert_eq(jget_int(json_array_get(failures, 0), "exit_code"), -9);
	cr_assert_null(json_object_get(json_array_get(failures, 0),
				       "http_status"));
	cr_assert_str_eq(jget_str(v, "raw_base64"), "AQI=");
	json_decref(v);
	drv_dead_letter_release(&dl);
}

Test(render_json, undecodable_dead_letter_has_no_task)
{
	drv_dead_letter_t dl;
	json_t *v;

	drv_dead_letter_init(&dl);
	drv_id_new(dl.id, 5);
	dl.reason = DRV_DL_UNDECODABLE;
	cr_assert_eq(drv_dead_letter_set_raw(&dl, "{\"type\":1}", 10), DRV_OK);
	v = parse_line(drv_dead_letter_to_json(&dl));
	cr_assert_str_eq(jget_str(v, "reason"), "undecodable");
	cr_assert_null(json_object_get(v, "task"));
	cr_assert_eq(json_array_size(json_object_get(v, "failures")), 0);
	cr_assert_eq(jget_int(json_object_get(v, "raw"), "type"), 1);
	json_decref(v);
	drv_dead_letter_release(&dl);
}

Test(render_json, audit)
{
	drv_audit_t a;
	json_t *v;

	drv_audit_init(&a);
	drv_id_new(a.id, 1764130800000LL);
	a.time_ms = 1764130800000LL;
	a.actor = strdup("alice");
	a.action = strdup("task.pause");
	a.count = 2;
	a.details_json = strdup("{\"why\":\"deploy\"}");
	a.result = strdup("ok");
	v = parse_line(drv_audit_to_json(&a));
	cr_assert_str_eq(jget_str(v, "action"), "task.pause");
	cr_assert_str_eq(jget_str(v, "details.why"), "deploy");
	cr_assert_eq(jget_int(v, "count"), 2);
	json_decref(v);

	free(a.details_json);
	a.details_json = strdup("not json");
	v = parse_line(drv_audit_to_json(&a));
	cr_assert_str_eq(jget_str(v, "details_json"), "not json");
	json_decref(v);
	drv_audit_release(&a);
}
