/*
 * Unit tests for the other wire messages: the event, the dead letter (with
 * its failure classes and reasons) and the audit record — golden vectors,
 * round trips, validation after decode, values from a newer schema, and
 * garbage that must decode to a clean error.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/audit.h"
#include "drover/dead_letter.h"
#include "drover/event.h"
#include "drover/task.h"
#include "golden.h"

#define EVENT_ID "01JDQ3ZJ00AAAAAAAAAAAAAAAA"
#define TASK_ID  "01JDQ3ZK5W4M8V6T2N9R7B3C1X"
#define DL_ID    "01JDQ3XX00CCCCCCCCCCCCCCCC"
#define AUDIT_ID "01JDQ40000DDDDDDDDDDDDDDDD"
#define EVENT_PAYLOAD "{\"order\":42}"
#define RAW_BYTES "\x0a\xff\x00garbage"

/* xorshift64*: reproducible pseudo-random bytes for the fuzz loops. */
static uint64_t fuzz_state = 0x9e3779b97f4a7c15ULL;

static uint64_t fuzz_next(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 0x2545f4914f6cdd1dULL;
}

/* Run \p one over every truncation of \p valid, random bytes and mutated
 * copies of \p valid: a few thousand decodes in all. */
static void fuzz(const uint8_t *valid, size_t len,
		 void (*one)(const uint8_t *, size_t))
{
	uint8_t buf[1024];

	cr_assert_leq(len, sizeof(buf));
	for (size_t n = 0; n <= len; n++)
		one(valid, n);
	for (int i = 0; i < 2000; i++) {
		size_t n = fuzz_next() % 200;

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)fuzz_next();
		one(buf, n);
	}
	for (int i = 0; i < 2000; i++) {
		size_t n = len, flips = 1 + fuzz_next() % 4;

		memcpy(buf, valid, len);
		for (size_t j = 0; j < flips; j++)
			buf[fuzz_next() % len] = (uint8_t)fuzz_next();
		if (fuzz_next() % 4 == 0)
			n = fuzz_next() % (len + 1);
		one(buf, n);
	}
}

/* --- event ---------------------------------------------------------------- */

static void fixture_event(drv_event_t *e)
{
	drv_event_init(e);
	e->id = strdup(EVENT_ID);
	e->type = strdup("order.created");
	e->source = strdup("shop");
	e->time_ms = 1764130637123LL;
	cr_assert_eq(drv_event_set_payload(e, EVENT_PAYLOAD,
					   strlen(EVENT_PAYLOAD)), DRV_OK);
	e->content_type = strdup("application/json");
	cr_assert_eq(drv_event_set_attribute(e, "region", "eu"), DRV_OK);
	cr_assert_eq(drv_event_set_attribute(e, "customer", "7"), DRV_OK);
	e->task_id = strdup(TASK_ID);
	e->chain_depth = 3;
}

static void check_fixture_event(const drv_event_t *e)
{
	cr_assert_eq(e->schema_version, 1);
	cr_assert_str_eq(e->id, EVENT_ID);
	cr_assert_str_eq(e->type, "order.created");
	cr_assert_str_eq(e->source, "shop");
	cr_assert_eq(e->time_ms, 1764130637123LL);
	cr_assert_eq(e->payload_len, strlen(EVENT_PAYLOAD));
	cr_assert(!memcmp(e->payload, EVENT_PAYLOAD, e->payload_len));
	cr_assert_str_eq(e->content_type, "application/json");
	cr_assert_eq(e->attribute_cnt, 2);
	cr_assert_str_eq(e->attributes[0].key, "customer"); /* sorted */
	cr_assert_str_eq(drv_event_attribute(e, "customer"), "7");
	cr_assert_str_eq(drv_event_attribute(e, "region"), "eu");
	cr_assert_str_eq(e->task_id, TASK_ID);
	cr_assert_eq(e->chain_depth, 3);
}

static void assert_event_empty(const drv_event_t *e)
{
	cr_assert_null(e->id);
	cr_assert_null(e->type);
	cr_assert_null(e->payload);
	cr_assert_null(e->attributes);
	cr_assert_eq(e->attribute_cnt, 0);
}

Test(event_codec, golden_v1)
{
	drv_event_t e, back;
	uint8_t *buf, *gold;
	size_t len, gold_len;
	char err[256] = "";

	fixture_event(&e);
	cr_assert_eq(drv_event_encode(&e, &buf, &len, err, sizeof(err)),
		     DRV_OK, "%s", err);
	golden_check("event_v1.hex", buf, len);
	gold = golden_read("event_v1.hex", &gold_len);
	drv_event_init(&back);
	cr_assert_eq(drv_event_decode(gold, gold_len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_event(&back);
	/* decode_any takes the protobuf path for it too */
	cr_assert_eq(drv_event_decode_any(gold, gold_len, &back, err,
					  sizeof(err)), DRV_OK, "%s", err);
	check_fixture_event(&back);
	free(gold);
	free(buf);
	drv_event_release(&e);
	drv_event_release(&back);
}

Test(event_codec, missing_id_gets_a_ulid_missing_type_is_an_error)
{
	drv_event_t e;
	char err[256] = "";

	drv_event_init(&e);
	/* schema 1, type "x" */
	cr_assert_eq(drv_event_decode("\x08\x01\x1a\x01x", 5, &e, err,
				      sizeof(err)), DRV_OK, "%s", err);
	cr_assert(drv_id_valid(e.id), "%s", e.id);
	cr_assert_str_eq(e.type, "x");
	/* id "a", no type */
	cr_assert_eq(drv_event_decode("\x12\x01\x61", 3, &e, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "drover.v1.Event"), "%s", err);
	cr_assert(strstr(err, "no type"), "%s", err);
	assert_event_empty(&e);
	cr_assert_eq(drv_event_decode("\xff\xff", 2, &e, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "2 bytes"), "%s", err);
	drv_event_release(&e);
}

Test(event_codec, encode_refuses_invalid)
{
	drv_event_t e;
	uint8_t *buf = NULL;
	size_t len;
	char err[256] = "";

	drv_event_init(&e);
	e.id = strdup("x");
	cr_assert_eq(drv_event_encode(&e, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(err, "no type"), "%s", err);
	cr_assert_null(buf);
	drv_event_release(&e);
}

Test(event_codec, attributes_set_replace_remove)
{
	drv_event_t e;

	drv_event_init(&e);
	cr_assert_eq(drv_event_set_attribute(&e, "k", "1"), DRV_OK);
	cr_assert_eq(drv_event_set_attribute(&e, "k", "2"), DRV_OK);
	cr_assert_eq(e.attribute_cnt, 1);
	cr_assert_str_eq(drv_event_attribute(&e, "k"), "2");
	cr_assert_eq(drv_event_set_attribute(&e, "", "2"), DRV_ERR_INVALID);
	cr_assert_eq(drv_event_set_attribute(&e, "k", NULL), DRV_OK);
	cr_assert_null(drv_event_attribute(&e, "k"));
	drv_event_release(&e);
}

/* Issue 17 (item 5): attributes are limited like labels, and decoding
 * them is no longer quadratic. Event field 8: Attribute {1: key, 2: value}. */
Test(event_codec, attribute_limits)
{
	static const uint8_t head[] = { 0x12, 1, 'e', 0x1a, 1, 't' };
	size_t n = 50000, len = sizeof(head);
	uint8_t *buf = malloc(len + n * 16);
	drv_event_t e;
	char err[256] = "";

	memcpy(buf, head, len);
	for (size_t i = 0; i < n; i++) {
		char key[16];
		int kl = snprintf(key, sizeof(key), "k%zu", i);

		buf[len++] = 0x42;
		buf[len++] = (uint8_t)(2 + kl + 2 + 1);
		buf[len++] = 0x0a;
		buf[len++] = (uint8_t)kl;
		memcpy(buf + len, key, (size_t)kl);
		len += (size_t)kl;
		buf[len++] = 0x12;
		buf[len++] = 1;
		buf[len++] = 'v';
	}
	drv_event_init(&e);
	cr_assert_eq(drv_event_decode(buf, len, &e, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "invalid drover.v1.Event: 50000 attributes, "
			 "more than 1024"), "%s", err);
	assert_event_empty(&e);

	/* the first 1024 of them: fine */
	len = sizeof(head);
	for (size_t i = 0; i < DRV_LABELS_MAX; i++) {
		size_t l = 2 + (size_t)buf[len + 1];

		len += l;
	}
	cr_assert_eq(drv_event_decode(buf, len, &e, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(e.attribute_cnt, DRV_LABELS_MAX);
	cr_assert_str_eq(drv_event_attribute(&e, "k1023"), "v");
	drv_event_release(&e);

	cr_assert_eq(drv_event_set_attribute(&e, "k", "v"), DRV_OK);
	e.id = strdup("e");
	e.type = strdup("t");
	for (size_t i = 0; e.attribute_cnt <= DRV_LABELS_MAX; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%zu", i);
		cr_assert_eq(drv_event_set_attribute(&e, key, "v"), DRV_OK);
	}
	cr_assert_eq(drv_event_validate(&e, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(err, "1025 attributes, more than 1024"), "%s", err);
	drv_event_release(&e);
	free(buf);
}

static void fuzz_event_one(const uint8_t *buf, size_t len)
{
	drv_event_t e;
	char err[256];

	drv_event_init(&e);
	drv_err_t rc = drv_event_decode_any(buf, len, &e, err, sizeof(err));

	cr_assert(rc == DRV_OK || rc == DRV_ERR_DECODE, "rc %d", rc);
	if (rc == DRV_OK) {
		uint8_t *again;
		size_t n;
		char *json = drv_event_to_json(&e);

		cr_assert_not_null(json);
		free(json);
		cr_assert_eq(drv_event_encode(&e, &again, &n, NULL, 0), DRV_OK);
		free(again);
	} else {
		assert_event_empty(&e);
	}
	drv_event_release(&e);
}

Test(event_codec, fuzz_never_crashes)
{
	static const char json[] =
		"{\"type\":\"a.b\",\"id\":\"e1\",\"time\":5,\"n\":1.5,"
		"\"payload\":{\"x\":[1,2,{\"y\":null}]},\"ok\":true}";
	drv_event_t e;
	uint8_t *buf;
	size_t len;

	fixture_event(&e);
	cr_assert_eq(drv_event_encode(&e, &buf, &len, NULL, 0), DRV_OK);
	drv_event_release(&e);
	fuzz(buf, len, fuzz_event_one);
	free(buf);
	/* and the JSON path */
	fuzz((const uint8_t *)json, strlen(json), fuzz_event_one);
}

/* --- dead letter ------------------------------------------------------------- */

static void fixture_dead_letter(drv_dead_letter_t *dl)
{
	drv_failure_t f = { 0 };
	drv_task_t *t = &dl->task;

	drv_dead_letter_init(dl);
	drv_strlcpy(dl->id, DL_ID, sizeof(dl->id));
	drv_strlcpy(t->id, TASK_ID, sizeof(t->id));
	t->handler = strdup("billing.charge");
	cr_assert_eq(drv_task_set_payload(t, "{}", 2), DRV_OK);
	t->priority = 8;
	t->attempt = 3;
	t->max_attempts = 3;
	t->created_ms = 1764130637123LL;
	cr_assert_eq(drv_task_set_label(t, "team", "billing"), DRV_OK);
	t->origin.submitted_by = strdup("alice");

	f.attempt = 1;
	f.time_ms = 1764130638000LL;
	f.worker_id = "worker-a";
	f.failure_class = DRV_FAILURE_TRANSIENT;
	f.message = "HTTP 503 Service Unavailable";
	f.http_status = 503;
	f.duration_ms = 120;
	cr_assert_eq(drv_dead_letter_add_failure(dl, &f), DRV_OK);
	f.attempt = 2;
	f.time_ms = 1764130650000LL;
	f.worker_id = "worker-b";
	f.failure_class = DRV_FAILURE_TIMEOUT;
	f.message = "killed after 30s";
	f.http_status = 0;
	f.exit_code = -9;
	f.duration_ms = 30000;
	cr_assert_eq(drv_dead_letter_add_failure(dl, &f), DRV_OK);
	f.attempt = 3;
	f.time_ms = 1764130700000LL;
	f.worker_id = "worker-a";
	f.failure_class = DRV_FAILURE_PERMANENT;
	f.message = "exit 2: bad card";
	f.exit_code = 2;
	f.duration_ms = 250;
	cr_assert_eq(drv_dead_letter_add_failure(dl, &f), DRV_OK);

	dl->reason = DRV_DL_ATTEMPTS_EXHAUSTED;
	dl->detail = strdup("3 of 3 attempts failed");
	dl->dead_ms = 1764130700100LL;
	dl->source_topic = strdup("drover.tasks.high");
	dl->source_partition = 4;
	dl->source_offset = 123456789012LL;
	dl->worker_id = strdup("worker-a");
	cr_assert_eq(drv_dead_letter_set_raw(dl, RAW_BYTES,
					     sizeof(RAW_BYTES) - 1), DRV_OK);
}

static void check_fixture_dead_letter(const drv_dead_letter_t *dl)
{
	const drv_task_t *t = &dl->task;
	const drv_failure_t *f = dl->failures;

	cr_assert_eq(dl->schema_version, 1);
	cr_assert_str_eq(dl->id, DL_ID);
	cr_assert_str_eq(t->id, TASK_ID);
	cr_assert_str_eq(t->handler, "billing.charge");
	cr_assert_eq(t->payload_len, 2);
	cr_assert(!memcmp(t->payload, "{}", 2));
	cr_assert_eq(t->priority, 8);
	cr_assert_eq(t->attempt, 3);
	cr_assert_eq(t->max_attempts, 3);
	cr_assert_eq(t->created_ms, 1764130637123LL);
	cr_assert_str_eq(drv_task_label(t, "team"), "billing");
	cr_assert_str_eq(t->origin.submitted_by, "alice");

	cr_assert_eq(dl->failure_cnt, 3);
	cr_assert_eq(f[0].attempt, 1);
	cr_assert_eq(f[0].time_ms, 1764130638000LL);
	cr_assert_str_eq(f[0].worker_id, "worker-a");
	cr_assert_eq(f[0].failure_class, DRV_FAILURE_TRANSIENT);
	cr_assert_str_eq(f[0].message, "HTTP 503 Service Unavailable");
	cr_assert_eq(f[0].exit_code, 0);
	cr_assert_eq(f[0].http_status, 503);
	cr_assert_eq(f[0].duration_ms, 120);
	cr_assert_eq(f[1].attempt, 2);
	cr_assert_eq(f[1].time_ms, 1764130650000LL);
	cr_assert_str_eq(f[1].worker_id, "worker-b");
	cr_assert_eq(f[1].failure_class, DRV_FAILURE_TIMEOUT);
	cr_assert_str_eq(f[1].message, "killed after 30s");
	cr_assert_eq(f[1].exit_code, -9);
	cr_assert_eq(f[1].http_status, 0);
	cr_assert_eq(f[1].duration_ms, 30000);
	cr_assert_eq(f[2].attempt, 3);
	cr_assert_eq(f[2].failure_class, DRV_FAILURE_PERMANENT);
	cr_assert_str_eq(f[2].message, "exit 2: bad card");
	cr_assert_eq(f[2].exit_code, 2);
	cr_assert_eq(f[2].duration_ms, 250);

	cr_assert_eq(dl->reason, DRV_DL_ATTEMPTS_EXHAUSTED);
	cr_assert_str_eq(dl->detail, "3 of 3 attempts failed");
	cr_assert_eq(dl->dead_ms, 1764130700100LL);
	cr_assert_str_eq(dl->source_topic, "drover.tasks.high");
	cr_assert_eq(dl->source_partition, 4);
	cr_assert_eq(dl->source_offset, 123456789012LL);
	cr_assert_str_eq(dl->worker_id, "worker-a");
	cr_assert_eq(dl->raw_len, sizeof(RAW_BYTES) - 1);
	cr_assert(!memcmp(dl->raw, RAW_BYTES, dl->raw_len));
}

static void assert_dead_letter_empty(const drv_dead_letter_t *dl)
{
	cr_assert_eq(dl->id[0], '\0');
	cr_assert_eq(dl->task.id[0], '\0');
	cr_assert_null(dl->task.handler);
	cr_assert_null(dl->failures);
	cr_assert_eq(dl->failure_cnt, 0);
	cr_assert_null(dl->detail);
	cr_assert_null(dl->raw);
	cr_assert_eq(dl->reason, DRV_DL_UNSPECIFIED);
}

Test(dead_letter_codec, golden_v1)
{
	drv_dead_letter_t dl, back;
	uint8_t *buf, *gold;
	size_t len, gold_len;
	char err[256] = "";

	fixture_dead_letter(&dl);
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, err, sizeof(err)),
		     DRV_OK, "%s", err);
	golden_check("dead_letter_v1.hex", buf, len);
	gold = golden_read("dead_letter_v1.hex", &gold_len);
	drv_dead_letter_init(&back);
	cr_assert_eq(drv_dead_letter_decode(gold, gold_len, &back, err,
					    sizeof(err)), DRV_OK, "%s", err);
	check_fixture_dead_letter(&back);
	free(gold);
	free(buf);
	drv_dead_letter_release(&dl);
	drv_dead_letter_release(&back);
}

Test(dead_letter_codec, undecodable_has_raw_and_no_task)
{
	drv_dead_letter_t dl, back;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	drv_dead_letter_init(&dl);
	drv_id_new(dl.id, 1764130700100LL);
	dl.reason = DRV_DL_UNDECODABLE;
	dl.detail = strdup("cannot decode 10 bytes as drover.v1.Task");
	cr_assert_eq(drv_dead_letter_set_raw(&dl, RAW_BYTES,
					     sizeof(RAW_BYTES) - 1), DRV_OK);
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, err, sizeof(err)),
		     DRV_OK, "%s", err);
	drv_dead_letter_init(&back);
	cr_assert_eq(drv_dead_letter_decode(buf, len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(back.reason, DRV_DL_UNDECODABLE);
	cr_assert_eq(back.task.id[0], '\0');
	cr_assert_eq(back.raw_len, sizeof(RAW_BYTES) - 1);
	cr_assert(!memcmp(back.raw, RAW_BYTES, back.raw_len));
	free(buf);

	/* without a task only "undecodable" is allowed */
	dl.reason = DRV_DL_SKIPPED;
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(err, "no task"), "%s", err);
	drv_dead_letter_release(&dl);
	drv_dead_letter_release(&back);
}

Test(dead_letter_codec, embedded_task_is_validated)
{
	drv_dead_letter_t dl;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	fixture_dead_letter(&dl);
	dl.task.priority = 0;
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(err, "priority"), "%s", err);
	/* dead letter {id "d", task {id "t", handler "h"}}: priority 0 */
	cr_assert_eq(drv_dead_letter_decode("\x12\x01" "d" "\x1a\x06\x12\x01"
					    "t\x1a\x01h", 11, &dl, err,
					    sizeof(err)), DRV_ERR_DECODE);
	cr_assert(strstr(err, "drover.v1.DeadLetter.task"), "%s", err);
	cr_assert(strstr(err, "priority 0"), "%s", err);
	assert_dead_letter_empty(&dl);
	drv_dead_letter_release(&dl);
}

Test(dead_letter_codec, unknown_enum_values_read_as_unspecified)
{
	/* reason = 42 and a failure with class 77, appended after the v1
	 * fields (the last value of a repeated scalar wins) */
	static const uint8_t extra[] = {
		0x28, 42,                     /* 5: reason 42 */
		0x22, 0x04, 0x08, 9, 0x20, 77, /* 4: failure {attempt 9, class 77} */
	};
	drv_dead_letter_t dl;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	fixture_dead_letter(&dl);
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, NULL, 0), DRV_OK);
	buf = realloc(buf, len + sizeof(extra));
	memcpy(buf + len, extra, sizeof(extra));
	cr_assert_eq(drv_dead_letter_decode(buf, len + sizeof(extra), &dl, err,
					    sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(dl.reason, DRV_DL_UNSPECIFIED);
	cr_assert_eq(dl.failure_cnt, 4);
	cr_assert_eq(dl.failures[3].attempt, 9);
	cr_assert_eq(dl.failures[3].failure_class, DRV_FAILURE_UNSPECIFIED);
	free(buf);
	drv_dead_letter_release(&dl);
}

Test(dead_letter_codec, reason_and_class_names_round_trip)
{
	static const char *const reasons[] = {
		"unspecified", "permanent_failure", "attempts_exhausted",
		"deadline_exceeded", "undecodable", "handler_unknown",
		"skipped",
	};
	static const char *const classes[] = {
		"unspecified", "transient", "permanent", "timeout", "crashed",
		"throttled",
	};
	drv_dl_reason_t r = DRV_DL_SKIPPED;
	drv_failure_class_t c = DRV_FAILURE_CRASHED;

	cr_assert_eq(sizeof(reasons) / sizeof(reasons[0]), DRV_DL_REASON_CNT);
	for (int i = 0; i < DRV_DL_REASON_CNT; i++) {
		cr_assert_str_eq(drv_dl_reason_name((drv_dl_reason_t)i),
				 reasons[i]);
		cr_assert_eq(drv_dl_reason_parse(reasons[i], &r), DRV_OK);
		cr_assert_eq((int)r, i);
	}
	cr_assert_eq(sizeof(classes) / sizeof(classes[0]),
		     DRV_FAILURE_CLASS_CNT);
	for (int i = 0; i < DRV_FAILURE_CLASS_CNT; i++) {
		cr_assert_str_eq(drv_failure_class_name((drv_failure_class_t)i),
				 classes[i]);
		cr_assert_eq(drv_failure_class_parse(classes[i], &c), DRV_OK);
		cr_assert_eq((int)c, i);
	}
	cr_assert_eq(drv_dl_reason_parse("Attempts_Exhausted", &r), DRV_OK);
	cr_assert_eq(r, DRV_DL_ATTEMPTS_EXHAUSTED);
	cr_assert_eq(drv_dl_reason_parse("exhausted", &r), DRV_ERR_INVALID);
	cr_assert_eq(drv_dl_reason_parse(NULL, &r), DRV_ERR_INVALID);
	cr_assert_eq(r, DRV_DL_ATTEMPTS_EXHAUSTED, "untouched on error");
	cr_assert_eq(drv_failure_class_parse("fatal", &c), DRV_ERR_INVALID);
	cr_assert_str_eq(drv_dl_reason_name((drv_dl_reason_t)99),
			 "unspecified");
	cr_assert_str_eq(drv_failure_class_name((drv_failure_class_t)-1),
			 "unspecified");
}

static void fuzz_dead_letter_one(const uint8_t *buf, size_t len)
{
	drv_dead_letter_t dl;
	char err[256];

	drv_dead_letter_init(&dl);
	drv_err_t rc = drv_dead_letter_decode(buf, len, &dl, err, sizeof(err));

	cr_assert(rc == DRV_OK || rc == DRV_ERR_DECODE, "rc %d", rc);
	if (rc == DRV_OK) {
		uint8_t *again;
		size_t n;
		char *json = drv_dead_letter_to_json(&dl);

		cr_assert_not_null(json);
		free(json);
		cr_assert_eq(drv_dead_letter_encode(&dl, &again, &n, NULL, 0),
			     DRV_OK);
		free(again);
	} else {
		assert_dead_letter_empty(&dl);
	}
	drv_dead_letter_release(&dl);
}

Test(dead_letter_codec, fuzz_never_crashes)
{
	drv_dead_letter_t dl;
	uint8_t *buf;
	size_t len;

	fixture_dead_letter(&dl);
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, NULL, 0), DRV_OK);
	drv_dead_letter_release(&dl);
	fuzz(buf, len, fuzz_dead_letter_one);
	free(buf);
}

/* --- audit ------------------------------------------------------------------------ */

static void fixture_audit(drv_audit_t *a)
{
	drv_audit_init(a);
	drv_strlcpy(a->id, AUDIT_ID, sizeof(a->id));
	a->time_ms = 1764130800000LL;
	a->actor = strdup("alice");
	a->host = strdup("ops-laptop-3");
	a->action = strdup("dlq.resubmit");
	a->target = strdup("reason=attempts_exhausted handler=billing.charge");
	a->count = 17;
	a->details_json = strdup("{\"patch\":{\"priority\":9},\"dry_run\":false}");
	a->result = strdup("ok");
}

static void check_fixture_audit(const drv_audit_t *a)
{
	cr_assert_eq(a->schema_version, 1);
	cr_assert_str_eq(a->id, AUDIT_ID);
	cr_assert_eq(a->time_ms, 1764130800000LL);
	cr_assert_str_eq(a->actor, "alice");
	cr_assert_str_eq(a->host, "ops-laptop-3");
	cr_assert_str_eq(a->action, "dlq.resubmit");
	cr_assert_str_eq(a->target,
			 "reason=attempts_exhausted handler=billing.charge");
	cr_assert_eq(a->count, 17);
	cr_assert_str_eq(a->details_json,
			 "{\"patch\":{\"priority\":9},\"dry_run\":false}");
	cr_assert_str_eq(a->result, "ok");
}

Test(audit_codec, golden_v1)
{
	drv_audit_t a, back;
	uint8_t *buf, *gold;
	size_t len, gold_len;
	char err[256] = "";

	fixture_audit(&a);
	cr_assert_eq(drv_audit_encode(&a, &buf, &len, err, sizeof(err)),
		     DRV_OK, "%s", err);
	golden_check("audit_v1.hex", buf, len);
	gold = golden_read("audit_v1.hex", &gold_len);
	drv_audit_init(&back);
	cr_assert_eq(drv_audit_decode(gold, gold_len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_audit(&back);
	free(gold);
	free(buf);
	drv_audit_release(&a);
	drv_audit_release(&back);
}

Test(audit_codec, action_and_id_are_required)
{
	drv_audit_t a;
	uint8_t *buf = NULL;
	size_t len;
	char err[256] = "";

	drv_audit_init(&a);
	drv_id_new(a.id, 1);
	cr_assert_eq(drv_audit_encode(&a, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(err, "no action"), "%s", err);
	/* id "x", no action */
	cr_assert_eq(drv_audit_decode("\x12\x01x", 3, &a, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "drover.v1.AuditRecord"), "%s", err);
	cr_assert_eq(a.id[0], '\0');
	cr_assert_null(a.action);
	drv_audit_release(&a);
}

static void fuzz_audit_one(const uint8_t *buf, size_t len)
{
	drv_audit_t a;
	char err[256];

	drv_audit_init(&a);
	drv_err_t rc = drv_audit_decode(buf, len, &a, err, sizeof(err));

	cr_assert(rc == DRV_OK || rc == DRV_ERR_DECODE, "rc %d", rc);
	if (rc == DRV_OK) {
		char *json = drv_audit_to_json(&a);

		cr_assert_not_null(json);
		free(json);
	} else {
		cr_assert_eq(a.id[0], '\0');
		cr_assert_null(a.action);
		cr_assert_null(a.actor);
	}
	drv_audit_release(&a);
}

Test(audit_codec, fuzz_never_crashes)
{
	drv_audit_t a;
	uint8_t *buf;
	size_t len;

	fixture_audit(&a);
	cr_assert_eq(drv_audit_encode(&a, &buf, &len, NULL, 0), DRV_OK);
	drv_audit_release(&a);
	fuzz(buf, len, fuzz_audit_one);
	free(buf);
}
