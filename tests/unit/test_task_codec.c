/*
 * Unit tests for the task: lifecycle, labels and failure history, ULID ids,
 * invariants, the protobuf wire form (golden vectors, forward compatibility
 * with a newer schema, deterministic encoding) and decoding of garbage
 * (fuzz).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/dead_letter.h"
#include "drover/task.h"
#include "golden.h"

#define FIXED_ID "01JDQ3ZK5W4M8V6T2N9R7B3C1X"
#define FIXED_PAYLOAD "{\"order\":42,\"amount\":\"19.99\"}"

/* The fully populated task behind tests/golden/task_v1.hex. Labels are
 * added out of order on purpose: the encoder sorts them. */
static void fixture_task(drv_task_t *t)
{
	drv_origin_t *o = &t->origin;

	drv_task_init(t);
	drv_strlcpy(t->id, FIXED_ID, sizeof(t->id));
	t->handler = strdup("billing.charge");
	cr_assert_eq(drv_task_set_payload(t, FIXED_PAYLOAD,
					  strlen(FIXED_PAYLOAD)), DRV_OK);
	t->priority = 8;
	t->attempt = 2;
	t->max_attempts = 5;
	t->policy = strdup("standard");
	t->created_ms = 1764130637123LL;
	t->not_before_ms = 1764130667123LL;
	t->deadline_ms = 1764217037123LL;
	t->idempotency_key = strdup("order-42-charge");
	t->key = strdup("customer-7");
	cr_assert_eq(drv_task_set_label(t, "team", "billing"), DRV_OK);
	cr_assert_eq(drv_task_set_label(t, "env", "prod"), DRV_OK);
	cr_assert_eq(drv_task_set_label(t, "app", "shop"), DRV_OK);
	o->schedule_id = strdup("nightly-charge");
	o->scheduled_ms = 1764130620000LL;
	o->event_id = strdup("01JDQ3ZJ00AAAAAAAAAAAAAAAA");
	o->parent_task_id = strdup("01JDQ3YY00BBBBBBBBBBBBBBBB");
	o->chain_depth = 2;
	o->dead_letter_id = strdup("01JDQ3XX00CCCCCCCCCCCCCCCC");
	o->submitted_by = strdup("alice");
	o->fencing_token = 17;
}

static void check_fixture_task(const drv_task_t *t, uint32_t schema_version)
{
	const drv_origin_t *o = &t->origin;

	cr_assert_eq(t->schema_version, schema_version);
	cr_assert_str_eq(t->id, FIXED_ID);
	cr_assert_str_eq(t->handler, "billing.charge");
	cr_assert_eq(t->payload_len, strlen(FIXED_PAYLOAD));
	cr_assert(!memcmp(t->payload, FIXED_PAYLOAD, t->payload_len));
	cr_assert_eq(t->priority, 8);
	cr_assert_eq(t->attempt, 2);
	cr_assert_eq(t->max_attempts, 5);
	cr_assert_str_eq(t->policy, "standard");
	cr_assert_eq(t->created_ms, 1764130637123LL);
	cr_assert_eq(t->not_before_ms, 1764130667123LL);
	cr_assert_eq(t->deadline_ms, 1764217037123LL);
	cr_assert_str_eq(t->idempotency_key, "order-42-charge");
	cr_assert_str_eq(t->key, "customer-7");
	cr_assert_eq(t->label_cnt, 3);
	cr_assert_str_eq(drv_task_label(t, "team"), "billing");
	cr_assert_str_eq(drv_task_label(t, "env"), "prod");
	cr_assert_str_eq(drv_task_label(t, "app"), "shop");
	cr_assert_str_eq(o->schedule_id, "nightly-charge");
	cr_assert_eq(o->scheduled_ms, 1764130620000LL);
	cr_assert_str_eq(o->event_id, "01JDQ3ZJ00AAAAAAAAAAAAAAAA");
	cr_assert_str_eq(o->parent_task_id, "01JDQ3YY00BBBBBBBBBBBBBBBB");
	cr_assert_eq(o->chain_depth, 2);
	cr_assert_str_eq(o->dead_letter_id, "01JDQ3XX00CCCCCCCCCCCCCCCC");
	cr_assert_str_eq(o->submitted_by, "alice");
	cr_assert_eq(o->fencing_token, 17);
}

/* Two failed attempts, as a task carries them on a delay topic; with
 * fixture_task() they make tests/golden/task_v1_failures.hex. The second
 * has no worker id: optional strings stay NULL. */
static void fixture_failures(drv_task_t *t)
{
	drv_failure_t f = {
		.attempt = 1,
		.time_ms = 1764130638000LL,
		.worker_id = "worker-a",
		.failure_class = DRV_FAILURE_TRANSIENT,
		.message = "HTTP 503 Service Unavailable",
		.http_status = 503,
		.duration_ms = 120,
	};

	cr_assert_eq(drv_task_add_failure(t, &f), DRV_OK);
	f = (drv_failure_t){
		.attempt = 2,
		.time_ms = 1764130650000LL,
		.failure_class = DRV_FAILURE_TIMEOUT,
		.message = "killed after 30s",
		.exit_code = -9,
		.duration_ms = 30000,
	};
	cr_assert_eq(drv_task_add_failure(t, &f), DRV_OK);
}

static void check_fixture_failures(const drv_task_t *t)
{
	const drv_failure_t *f = t->failures;

	cr_assert_eq(t->failure_cnt, 2);
	cr_assert_not_null(f);
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
	cr_assert_null(f[1].worker_id);
	cr_assert_eq(f[1].failure_class, DRV_FAILURE_TIMEOUT);
	cr_assert_str_eq(f[1].message, "killed after 30s");
	cr_assert_eq(f[1].exit_code, -9);
	cr_assert_eq(f[1].http_status, 0);
	cr_assert_eq(f[1].duration_ms, 30000);
}

static void assert_task_empty(const drv_task_t *t)
{
	cr_assert_eq(t->id[0], '\0');
	cr_assert_null(t->handler);
	cr_assert_null(t->payload);
	cr_assert_eq(t->payload_len, 0);
	cr_assert_null(t->labels);
	cr_assert_eq(t->label_cnt, 0);
	cr_assert_null(t->origin.schedule_id);
	cr_assert_null(t->failures);
	cr_assert_eq(t->failure_cnt, 0);
	cr_assert_eq(t->priority, DRV_PRIORITY_DEFAULT);
}

static void encode_ok(const drv_task_t *t, uint8_t **buf, size_t *len)
{
	char err[256] = "";

	cr_assert_eq(drv_task_encode(t, buf, len, err, sizeof(err)), DRV_OK,
		     "%s", err);
}

/* --- lifecycle and labels ----------------------------------------------------- */

Test(task, init_sets_defaults)
{
	drv_task_t t;

	drv_task_init(&t);
	cr_assert_eq(t.schema_version, DRV_SCHEMA_VERSION);
	cr_assert_eq(t.priority, DRV_PRIORITY_DEFAULT);
	assert_task_empty(&t);
	drv_task_release(&t);
	assert_task_empty(&t);
}

Test(task, labels_add_replace_remove)
{
	drv_task_t t;

	drv_task_init(&t);
	cr_assert_eq(drv_task_set_label(&t, "a", "1"), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "b", "2"), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "a", "3"), DRV_OK);
	cr_assert_eq(t.label_cnt, 2);
	cr_assert_str_eq(drv_task_label(&t, "a"), "3");
	cr_assert_null(drv_task_label(&t, "c"));
	cr_assert_eq(drv_task_set_label(&t, "", "x"), DRV_ERR_INVALID);
	cr_assert_eq(drv_task_set_label(&t, NULL, "x"), DRV_ERR_INVALID);
	cr_assert_eq(drv_task_set_label(&t, "a", NULL), DRV_OK);
	cr_assert_eq(t.label_cnt, 1);
	cr_assert_null(drv_task_label(&t, "a"));
	cr_assert_str_eq(drv_task_label(&t, "b"), "2");
	cr_assert_eq(drv_task_set_label(&t, "b", NULL), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "zz", NULL), DRV_OK);
	cr_assert_eq(t.label_cnt, 0);
	cr_assert_null(t.labels);
	drv_task_release(&t);
}

Test(task, payload_set_and_clear)
{
	drv_task_t t;

	drv_task_init(&t);
	cr_assert_eq(drv_task_set_payload(&t, "abc", 3), DRV_OK);
	cr_assert_eq(t.payload_len, 3);
	cr_assert(!memcmp(t.payload, "abc", 3));
	cr_assert_eq(drv_task_set_payload(&t, NULL, 0), DRV_OK);
	cr_assert_null(t.payload);
	cr_assert_eq(t.payload_len, 0);
	drv_task_release(&t);
}

Test(task, copy_is_deep)
{
	drv_task_t a, b;

	fixture_task(&a);
	drv_task_init(&b);
	b.handler = strdup("will be released");
	cr_assert_eq(drv_task_copy(&b, &a), DRV_OK);
	drv_task_release(&a);
	check_fixture_task(&b, DRV_SCHEMA_VERSION);
	cr_assert_eq(drv_task_copy(&b, &b), DRV_OK);
	drv_task_release(&b);
}

Test(task, copy_label_order_preserved)
{
	drv_task_t a, b;

	fixture_task(&a);
	drv_task_init(&b);
	cr_assert_eq(drv_task_copy(&b, &a), DRV_OK);
	for (size_t i = 0; i < a.label_cnt; i++)
		cr_assert_str_eq(a.labels[i].key, b.labels[i].key);
	cr_assert_neq(a.labels, b.labels);
	cr_assert_neq(a.handler, b.handler);
	drv_task_release(&a);
	drv_task_release(&b);
}

Test(task, add_failure_copies_deeply)
{
	char worker[] = "worker-a", message[] = "boom";
	drv_failure_t f = { .attempt = 1, .worker_id = worker,
			    .failure_class = DRV_FAILURE_CRASHED,
			    .message = message, .exit_code = 139 };
	drv_task_t t;

	drv_task_init(&t);
	cr_assert_eq(drv_task_add_failure(&t, &f), DRV_OK);
	f.attempt = 2;
	f.worker_id = NULL;
	f.message = NULL;
	cr_assert_eq(drv_task_add_failure(&t, &f), DRV_OK);
	worker[0] = 'X';
	message[0] = 'X';
	cr_assert_eq(t.failure_cnt, 2);
	cr_assert_neq(t.failures[0].worker_id, worker);
	cr_assert_str_eq(t.failures[0].worker_id, "worker-a");
	cr_assert_str_eq(t.failures[0].message, "boom");
	cr_assert_eq(t.failures[0].exit_code, 139);
	cr_assert_eq(t.failures[0].failure_class, DRV_FAILURE_CRASHED);
	cr_assert_eq(t.failures[1].attempt, 2, "kept in the order added");
	cr_assert_null(t.failures[1].worker_id);
	cr_assert_null(t.failures[1].message);
	drv_task_release(&t);
	assert_task_empty(&t);
}

Test(task, copy_includes_failures)
{
	drv_task_t a, b;

	fixture_task(&a);
	fixture_failures(&a);
	drv_task_init(&b);
	cr_assert_eq(drv_task_copy(&b, &a), DRV_OK);
	cr_assert_neq(a.failures, b.failures);
	cr_assert_neq(a.failures[0].message, b.failures[0].message);
	drv_task_release(&a);
	check_fixture_task(&b, DRV_SCHEMA_VERSION);
	check_fixture_failures(&b);

	/* a count without an array is refused, leaving dst empty */
	fixture_task(&a);
	a.failure_cnt = 1;
	cr_assert_eq(drv_task_copy(&b, &a), DRV_ERR_INVALID);
	assert_task_empty(&b);
	a.failure_cnt = 0;
	drv_task_release(&a);
	drv_task_release(&b);
}

/* --- validation ---------------------------------------------------------------- */

Test(task, validate_names_the_problem)
{
	drv_task_t t;
	char err[256];

	fixture_task(&t);
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_OK);

	t.priority = 0;
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "priority 0"), "%s", err);
	t.priority = 11;
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	t.priority = 10;
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_OK);

	t.attempt = 6;
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "max_attempts"), "%s", err);
	t.max_attempts = 0; /* the policy decides: any attempt count is fine */
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_OK);

	free(t.handler);
	t.handler = strdup("");
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "no handler"), "%s", err);

	t.id[0] = '\0';
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "no id"), "%s", err);
	cr_assert_eq(drv_task_validate(&t, NULL, 0), DRV_ERR_INVALID);
	drv_task_release(&t);
}

/* Issue 17: one rule for ids, idempotency keys and partition keys. */
Test(task, key_rule)
{
	char max[DRV_TASK_KEY_MAX + 2];
	static const char *good[] = {
		"order-42", "a b", "café", "x", "~!@#$%^&*()_+{}|:\"<>?",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80",
	};
	static const char *bad[] = {
		"", "a\r\nHost: evil", "a\n", "a\r", "\t", "a\x7f", "\x1b[0m",
		"\xc2\x85",         /* NEL, a C1 control */
		"\xc2\x9f",         /* another C1 control */
		"\xff", "\xc3",     /* not UTF-8, truncated UTF-8 */
		"\xc0\xaf",         /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate */
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(drv_task_key_valid(good[i]), "good %zu", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!drv_task_key_valid(bad[i]), "bad %zu", i);
	cr_assert(!drv_task_key_valid(NULL));

	memset(max, 'k', DRV_TASK_KEY_MAX);
	max[DRV_TASK_KEY_MAX] = '\0';
	cr_assert(drv_task_key_valid(max));
	max[DRV_TASK_KEY_MAX] = 'k';
	max[DRV_TASK_KEY_MAX + 1] = '\0';
	cr_assert(!drv_task_key_valid(max));
	/* a multi-byte character that ends past the limit */
	memcpy(max + DRV_TASK_KEY_MAX - 1, "\xc3\xa9", 3);
	cr_assert(!drv_task_key_valid(max));
}

Test(task, validate_and_encode_apply_the_key_rule)
{
	drv_task_t t;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	fixture_task(&t);
	free(t.idempotency_key);
	t.idempotency_key = strdup("k\r\nHost: evil.example");
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "idempotency key has a control byte (0x0d) at "
			 "offset 1"), "%s", err);
	cr_assert_null(strchr(err, '\r'), "the reason quotes the bytes");
	cr_assert_eq(drv_task_encode(&t, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert_null(buf);

	free(t.idempotency_key);
	t.idempotency_key = NULL;
	free(t.key);
	t.key = malloc(DRV_TASK_KEY_MAX + 2);
	memset(t.key, 'p', DRV_TASK_KEY_MAX + 1);
	t.key[DRV_TASK_KEY_MAX + 1] = '\0';
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "partition key is longer than 256 bytes"), "%s",
		  err);
	t.key[DRV_TASK_KEY_MAX] = '\0';
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_OK, "%s", err);

	memcpy(t.id, "01AB\n", 6);
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "task id has a control byte"), "%s", err);
	drv_task_release(&t);
}

Test(task, validate_checks_failures)
{
	drv_task_t t;
	char err[256];

	fixture_task(&t);
	fixture_failures(&t);
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_OK, "%s",
		     err);
	t.failures[1].failure_class = (drv_failure_class_t)DRV_FAILURE_CLASS_CNT;
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "failure 1 has unknown class"), "%s", err);
	t.failures[1].failure_class = DRV_FAILURE_PERMANENT;
	drv_task_release(&t);

	fixture_task(&t);
	t.failure_cnt = 3; /* and no array */
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "3 failures"), "%s", err);
	t.failure_cnt = 0;
	drv_task_release(&t);
}

Test(task, encode_refuses_invalid_task)
{
	drv_task_t t;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	drv_task_init(&t);
	cr_assert_eq(drv_task_encode(&t, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert_null(buf);
	cr_assert(strstr(err, "no id"), "%s", err);
	drv_task_release(&t);
}

/* --- ULID ------------------------------------------------------------------------ */

Test(ulid, format_and_known_timestamps)
{
	char id[DRV_ID_LEN + 1];

	drv_id_new(id, 0);
	cr_assert_eq(strlen(id), DRV_ID_LEN);
	cr_assert(drv_id_valid(id), "%s", id);
	cr_assert(!strncmp(id, "0000000000", 10), "%s", id);
	drv_id_new(id, 1);
	cr_assert(!strncmp(id, "0000000001", 10), "%s", id);
	drv_id_new(id, 32);
	cr_assert(!strncmp(id, "0000000010", 10), "%s", id);
	drv_id_new(id, (INT64_C(1) << 48) - 1);
	cr_assert(!strncmp(id, "7ZZZZZZZZZ", 10), "%s", id);
	drv_id_new(id, INT64_MAX); /* clamped */
	cr_assert(!strncmp(id, "7ZZZZZZZZZ", 10), "%s", id);
	drv_id_new(id, -5); /* clamped */
	cr_assert(!strncmp(id, "0000000000", 10), "%s", id);
	/* 2025-11-26T04:17:17.123Z: 48-bit ms in 10 base32 digits */
	drv_id_new(id, 1764130637123LL);
	cr_assert(!strncmp(id, "01KAZ62HA3", 10), "%s", id);
}

Test(ulid, valid_rejects_malformed)
{
	cr_assert(drv_id_valid(FIXED_ID));
	cr_assert_not(drv_id_valid(NULL));
	cr_assert_not(drv_id_valid(""));
	cr_assert_not(drv_id_valid("01JDQ3ZK5W4M8V6T2N9R7B3C1"));   /* 25 */
	cr_assert_not(drv_id_valid("01JDQ3ZK5W4M8V6T2N9R7B3C1XX")); /* 27 */
	cr_assert_not(drv_id_valid("01JDQ3ZK5W4M8V6T2N9R7B3C1U"));  /* U */
	cr_assert_not(drv_id_valid("01jdq3zk5w4m8v6t2n9r7b3c1x"));  /* case */
	cr_assert_not(drv_id_valid("81JDQ3ZK5W4M8V6T2N9R7B3C1X"));  /* > 2^128 */
}

Test(ulid, later_timestamps_sort_later)
{
	char prev[DRV_ID_LEN + 1], id[DRV_ID_LEN + 1];
	int64_t base = 1764130637123LL;

	drv_id_new(prev, base);
	for (int64_t i = 1; i < 2000; i++) {
		/* steps from 1 ms to large jumps */
		drv_id_new(id, base + i * i * 997);
		cr_assert_lt(strcmp(prev, id), 0, "%s !< %s", prev, id);
		memcpy(prev, id, sizeof(id));
	}
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(ulid, ten_thousand_are_unique)
{
	enum { N = 10000 };
	char (*ids)[DRV_ID_LEN + 1] = malloc(N * sizeof(*ids));
	int64_t now = drv_now_ms();

	cr_assert_not_null(ids);
	for (int i = 0; i < N; i++) {
		drv_id_new(ids[i], now); /* same ms: only randomness differs */
		cr_assert(drv_id_valid(ids[i]));
	}
	qsort(ids, N, sizeof(*ids), cmp_ids);
	for (int i = 1; i < N; i++)
		cr_assert_neq(strcmp(ids[i - 1], ids[i]), 0, "duplicate %s",
			      ids[i]);
	free(ids);
}

/* --- wire form ----------------------------------------------------------------------- */

Test(task_codec, round_trip)
{
	drv_task_t t, back;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	fixture_task(&t);
	encode_ok(&t, &buf, &len);
	drv_task_init(&back);
	cr_assert_eq(drv_task_decode(buf, len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_task(&back, DRV_SCHEMA_VERSION);
	/* decoded in wire order, i.e. sorted by key */
	cr_assert_str_eq(back.labels[0].key, "app");
	cr_assert_str_eq(back.labels[1].key, "env");
	cr_assert_str_eq(back.labels[2].key, "team");
	free(buf);
	drv_task_release(&t);
	drv_task_release(&back);
}

Test(task_codec, minimal_task_round_trip)
{
	drv_task_t t, back;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	drv_task_init(&t);
	drv_id_new(t.id, drv_now_ms());
	t.handler = strdup("noop");
	encode_ok(&t, &buf, &len);
	drv_task_init(&back);
	cr_assert_eq(drv_task_decode(buf, len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_str_eq(back.id, t.id);
	cr_assert_str_eq(back.handler, "noop");
	cr_assert_eq(back.priority, DRV_PRIORITY_DEFAULT);
	cr_assert_null(back.policy, "empty strings decode as NULL");
	cr_assert_null(back.payload);
	cr_assert_null(back.origin.schedule_id);
	cr_assert_eq(back.label_cnt, 0);
	free(buf);
	drv_task_release(&t);
	drv_task_release(&back);
}

Test(task_codec, decode_releases_previous_contents)
{
	drv_task_t t;
	uint8_t *buf;
	size_t len;

	fixture_task(&t);
	encode_ok(&t, &buf, &len);
	/* decoding into a filled task must not leak what it held */
	cr_assert_eq(drv_task_decode(buf, len, &t, NULL, 0), DRV_OK);
	check_fixture_task(&t, DRV_SCHEMA_VERSION);
	cr_assert_eq(drv_task_decode("\xff", 1, &t, NULL, 0), DRV_ERR_DECODE);
	assert_task_empty(&t);
	free(buf);
	drv_task_release(&t);
}

Test(task_codec, encoding_is_deterministic)
{
	drv_task_t a, b;
	uint8_t *ba, *bb;
	size_t la, lb;

	fixture_task(&a);
	drv_task_init(&b);
	cr_assert_eq(drv_task_copy(&b, &a), DRV_OK);
	/* same labels, other insertion order */
	drv_task_set_label(&b, "team", NULL);
	drv_task_set_label(&b, "app", NULL);
	drv_task_set_label(&b, "app", "shop");
	drv_task_set_label(&b, "team", "billing");
	cr_assert_str_neq(a.labels[0].key, b.labels[0].key);
	encode_ok(&a, &ba, &la);
	encode_ok(&b, &bb, &lb);
	cr_assert_eq(la, lb);
	cr_assert(!memcmp(ba, bb, la));
	free(ba);
	free(bb);
	drv_task_release(&a);
	drv_task_release(&b);
}

Test(task_codec, golden_v1)
{
	drv_task_t t, back;
	uint8_t *buf, *gold;
	size_t len, gold_len;
	char err[256] = "";

	fixture_task(&t);
	encode_ok(&t, &buf, &len);
	golden_check("task_v1.hex", buf, len);

	gold = golden_read("task_v1.hex", &gold_len);
	drv_task_init(&back);
	cr_assert_eq(drv_task_decode(gold, gold_len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_task(&back, 1);
	cr_assert_eq(back.failure_cnt, 0);
	free(gold);
	free(buf);
	drv_task_release(&t);
	drv_task_release(&back);
}

Test(task_codec, failures_round_trip)
{
	drv_task_t t, back;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	fixture_task(&t);
	fixture_failures(&t);
	encode_ok(&t, &buf, &len);
	drv_task_init(&back);
	cr_assert_eq(drv_task_decode(buf, len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_task(&back, DRV_SCHEMA_VERSION);
	check_fixture_failures(&back);
	free(buf);
	drv_task_release(&t);
	drv_task_release(&back);
}

Test(task_codec, golden_v1_failures)
{
	drv_task_t t, back;
	uint8_t *buf, *gold, *v1;
	size_t len, gold_len, v1_len;
	char err[256] = "";

	fixture_task(&t);
	fixture_failures(&t);
	encode_ok(&t, &buf, &len);
	golden_check("task_v1_failures.hex", buf, len);

	gold = golden_read("task_v1_failures.hex", &gold_len);
	drv_task_init(&back);
	cr_assert_eq(drv_task_decode(gold, gold_len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_task(&back, 1);
	check_fixture_failures(&back);

	/* Field 16 comes last: the task without failures is a prefix, which
	 * is why a reader that does not know field 16 sees the same task. */
	v1 = golden_read("task_v1.hex", &v1_len);
	cr_assert_lt(v1_len, gold_len);
	cr_assert(!memcmp(v1, gold, v1_len));
	cr_assert_eq(gold[v1_len], 0x82, "field 16, length-delimited");
	free(v1);
	free(gold);
	free(buf);
	drv_task_release(&t);
	drv_task_release(&back);
}

Test(task_codec, failures_decode_leniently)
{
	/* appended to a valid task: a failure {attempt 1, class 99} (a class
	 * from a newer writer), an empty failure, then {attempt 2, worker_id
	 * "", message "m"} (empty strings are absent) */
	static const uint8_t extra[] = {
		0x82, 0x01, 0x04, 0x08, 0x01, 0x20, 0x63,
		0x82, 0x01, 0x00,
		0x82, 0x01, 0x07, 0x08, 0x02, 0x1a, 0x00, 0x2a, 0x01, 'm',
	};
	drv_task_t t;
	uint8_t *buf;
	size_t len;
	char err[256] = "";

	fixture_task(&t);
	encode_ok(&t, &buf, &len);
	buf = realloc(buf, len + sizeof(extra));
	cr_assert_not_null(buf);
	memcpy(buf + len, extra, sizeof(extra));
	cr_assert_eq(drv_task_decode(buf, len + sizeof(extra), &t, err,
				     sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(t.failure_cnt, 3);
	cr_assert_eq(t.failures[0].attempt, 1);
	cr_assert_eq(t.failures[0].failure_class, DRV_FAILURE_UNSPECIFIED);
	cr_assert_eq(t.failures[1].attempt, 0);
	cr_assert_null(t.failures[1].message);
	cr_assert_eq(t.failures[2].attempt, 2);
	cr_assert_null(t.failures[2].worker_id);
	cr_assert_str_eq(t.failures[2].message, "m");
	free(buf);
	drv_task_release(&t);
}

Test(task_codec, failures_in_json)
{
	drv_task_t t;
	char *json;

	fixture_task(&t);
	json = drv_task_to_json(&t);
	cr_assert_not_null(json);
	cr_assert_null(strstr(json, "\"failures\""), "%s", json);
	free(json);

	fixture_failures(&t);
	json = drv_task_to_json(&t);
	cr_assert_not_null(json);
	cr_assert(strstr(json, "\"failures\":[{\"attempt\":1,"), "%s", json);
	cr_assert(strstr(json, "\"failure_class\":\"transient\""), "%s", json);
	cr_assert(strstr(json, "\"failure_class\":\"timeout\""), "%s", json);
	cr_assert(strstr(json, "\"exit_code\":-9"), "%s", json);
	cr_assert(strstr(json, "\"http_status\":503"), "%s", json);
	free(json);
	drv_task_release(&t);
}

Test(task_codec, failures_survive_a_dead_letter)
{
	/* the dead letter's task keeps the history it travelled with, and the
	 * dead letter's own list is independent of it */
	drv_dead_letter_t dl, back;
	drv_failure_t last = { .attempt = 3, .failure_class =
				       DRV_FAILURE_PERMANENT,
			       .message = "exit 2: bad card", .exit_code = 2 };
	uint8_t *buf;
	size_t len;
	char err[256] = "", *json;

	drv_dead_letter_init(&dl);
	drv_strlcpy(dl.id, "01JDQ40000DDDDDDDDDDDDDDDD", sizeof(dl.id));
	drv_task_release(&dl.task);
	fixture_task(&dl.task);
	fixture_failures(&dl.task);
	dl.task.attempt = 3;
	for (size_t i = 0; i < dl.task.failure_cnt; i++)
		cr_assert_eq(drv_dead_letter_add_failure(&dl,
				&dl.task.failures[i]), DRV_OK);
	cr_assert_eq(drv_dead_letter_add_failure(&dl, &last), DRV_OK);
	dl.reason = DRV_DL_ATTEMPTS_EXHAUSTED;
	cr_assert_eq(drv_dead_letter_encode(&dl, &buf, &len, err, sizeof(err)),
		     DRV_OK, "%s", err);
	drv_dead_letter_init(&back);
	cr_assert_eq(drv_dead_letter_decode(buf, len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_failures(&back.task);
	cr_assert_eq(back.failure_cnt, 3);
	cr_assert_str_eq(back.failures[0].message,
			 "HTTP 503 Service Unavailable");
	cr_assert_str_eq(back.failures[2].message, "exit 2: bad card");
	json = drv_dead_letter_to_json(&back);
	cr_assert_not_null(json);
	cr_assert(strstr(json, "\"task\":{"), "%s", json);
	free(json);
	free(buf);
	drv_dead_letter_release(&dl);
	drv_dead_letter_release(&back);
}

/* A newer writer: schema_version 2 and fields this schema does not know, of
 * every wire type, after the known ones (fields are written in number
 * order). Built from the v1 encoding, whose first field is
 * schema_version = 1 (bytes 08 01). */
static uint8_t *make_v2_task(size_t *len)
{
	static const uint8_t unknown[] = {
		0x98, 0x06, 0x2a,                         /* 99: varint 42 */
		0xa2, 0x06, 0x05, 'h', 'e', 'l', 'l', 'o', /* 100: "hello" */
		0xad, 0x06, 0x01, 0x02, 0x03, 0x04,       /* 101: fixed32 */
		0xb1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,       /* 102: fixed64 */
	};
	drv_task_t t;
	uint8_t *v1, *v2;
	size_t v1_len;

	fixture_task(&t);
	encode_ok(&t, &v1, &v1_len);
	drv_task_release(&t);
	cr_assert(v1[0] == 0x08 && v1[1] == 0x01);
	v2 = malloc(v1_len + sizeof(unknown));
	cr_assert_not_null(v2);
	memcpy(v2, v1, v1_len);
	v2[1] = 0x02;
	memcpy(v2 + v1_len, unknown, sizeof(unknown));
	*len = v1_len + sizeof(unknown);
	free(v1);
	return v2;
}

Test(task_codec, golden_v2_unknown_fields_are_ignored)
{
	drv_task_t back;
	uint8_t *gold;
	size_t gold_len;
	char err[256] = "";

	if (golden_update()) {
		uint8_t *v2 = make_v2_task(&gold_len);

		golden_write("task_v2_unknown.hex", v2, gold_len);
		free(v2);
	}
	gold = golden_read("task_v2_unknown.hex", &gold_len);
	drv_task_init(&back);
	cr_assert_eq(drv_task_decode(gold, gold_len, &back, err, sizeof(err)),
		     DRV_OK, "%s", err);
	check_fixture_task(&back, 2);
	free(gold);
	drv_task_release(&back);
}

Test(task_codec, repeated_label_key_last_wins)
{
	/* label {key "app" value "web"} appended: field 14, as a newer or
	 * foreign writer using a map might send a repeated key */
	static const uint8_t extra[] = {
		0x72, 0x0a, 0x0a, 0x03, 'a', 'p', 'p', 0x12, 0x03, 'w', 'e', 'b',
	};
	drv_task_t t;
	uint8_t *buf;
	size_t len;

	fixture_task(&t);
	encode_ok(&t, &buf, &len);
	buf = realloc(buf, len + sizeof(extra));
	memcpy(buf + len, extra, sizeof(extra));
	cr_assert_eq(drv_task_decode(buf, len + sizeof(extra), &t, NULL, 0),
		     DRV_OK);
	cr_assert_eq(t.label_cnt, 3);
	cr_assert_str_eq(drv_task_label(&t, "app"), "web");
	free(buf);
	drv_task_release(&t);
}

/* --- label limits and linear decoding (issue 17, item 5) ------------------------------ */

/* A growable byte buffer for hand-made encodings. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void bytes_varint(struct bytes *b, uint64_t v)
{
	uint8_t c;

	do {
		c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			c |= 0x80;
		bytes_add(b, &c, 1);
	} while (v);
}

/* Append the wire form of label {key, value} (Task field 14). */
static void bytes_label(struct bytes *b, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	struct bytes inner = { 0 };

	bytes_varint(&inner, 0x0a);
	bytes_varint(&inner, kl);
	bytes_add(&inner, key, kl);
	bytes_varint(&inner, 0x12);
	bytes_varint(&inner, vl);
	bytes_add(&inner, value, vl);
	bytes_varint(b, 0x72);
	bytes_varint(b, inner.len);
	bytes_add(b, inner.p, inner.len);
	free(inner.p);
}

/* A valid minimal task (id "x", handler "h", priority 5) plus labels. */
static void bytes_task(struct bytes *b)
{
	static const uint8_t head[] = { 0x12, 1, 'x', 0x1a, 1, 'h', 0x28, 5 };

	memset(b, 0, sizeof(*b));
	bytes_add(b, head, sizeof(head));
}

Test(task_codec, fifty_thousand_labels_are_refused)
{
	struct bytes b;
	drv_task_t t;
	char key[32], err[256] = "";

	bytes_task(&b);
	for (int i = 0; i < 50000; i++) {
		drv_fmt(key, sizeof(key), "k%d", i);
		bytes_label(&b, key, "v");
	}
	drv_task_init(&t);
	cr_assert_eq(drv_task_decode(b.p, b.len, &t, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "invalid drover.v1.Task: 50000 labels, more "
			 "than 1024"), "%s", err);
	assert_task_empty(&t);
	free(b.p);
}

Test(task_codec, labels_up_to_the_limit_decode)
{
	struct bytes b;
	drv_task_t t;
	char key[32], err[256] = "";

	bytes_task(&b);
	for (int i = 0; i < DRV_LABELS_MAX; i++) {
		drv_fmt(key, sizeof(key), "k%04d", DRV_LABELS_MAX - i);
		bytes_label(&b, key, key);
	}
	drv_task_init(&t);
	cr_assert_eq(drv_task_decode(b.p, b.len, &t, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(t.label_cnt, DRV_LABELS_MAX);
	cr_assert_str_eq(t.labels[0].key, "k1024"); /* order kept */
	cr_assert_str_eq(drv_task_label(&t, "k0001"), "k0001");
	drv_task_release(&t);
	free(b.p);
}

Test(task_codec, repeated_keys_keep_first_place_and_last_value)
{
	struct bytes b;
	drv_task_t t;
	char val[32], err[256] = "";

	bytes_task(&b);
	bytes_label(&b, "b", "1");
	bytes_label(&b, "a", "1");
	bytes_label(&b, "b", "2");
	bytes_label(&b, "c", "1");
	bytes_label(&b, "a", "2");
	for (int i = 0; i < 1000; i++) { /* many of one key */
		drv_fmt(val, sizeof(val), "v%d", i);
		bytes_label(&b, "d", val);
	}
	drv_task_init(&t);
	cr_assert_eq(drv_task_decode(b.p, b.len, &t, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(t.label_cnt, 4);
	cr_assert_str_eq(t.labels[0].key, "b");
	cr_assert_str_eq(t.labels[0].value, "2");
	cr_assert_str_eq(t.labels[1].key, "a");
	cr_assert_str_eq(t.labels[1].value, "2");
	cr_assert_str_eq(t.labels[2].key, "c");
	cr_assert_str_eq(t.labels[3].key, "d");
	cr_assert_str_eq(t.labels[3].value, "v999");
	drv_task_release(&t);
	free(b.p);
}

Test(task_codec, oversize_labels_and_messages_are_refused)
{
	char *big = malloc(DRV_LABEL_VALUE_MAX + 2);
	struct bytes b;
	drv_task_t t;
	char err[256] = "";

	memset(big, 'v', DRV_LABEL_VALUE_MAX + 1);
	big[DRV_LABEL_VALUE_MAX + 1] = '\0';
	drv_task_init(&t);

	bytes_task(&b);
	bytes_label(&b, "k", big);
	cr_assert_eq(drv_task_decode(b.p, b.len, &t, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "label 0 has a value longer than 4096 bytes"),
		  "%s", err);
	free(b.p);

	big[DRV_LABEL_KEY_MAX + 1] = '\0';
	bytes_task(&b);
	bytes_label(&b, "ok", "fine");
	bytes_label(&b, big, "v");
	cr_assert_eq(drv_task_decode(b.p, b.len, &t, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "label 1 has a key longer than 256 bytes"),
		  "%s", err);
	free(b.p);

	/* the size is checked before the bytes are parsed */
	free(big);
	cr_assert_not_null(big = calloc((size_t)DRV_MESSAGE_MAX + 1, 1));
	cr_assert_eq(drv_task_decode(big, (size_t)DRV_MESSAGE_MAX + 1, &t, err,
				     sizeof(err)), DRV_ERR_DECODE);
	cr_assert(strstr(err, "drover.v1.Task of 16777217 bytes is longer "
			 "than 16777216"), "%s", err);
	assert_task_empty(&t);
	free(big);
}

Test(task, validate_applies_the_label_limits)
{
	char key[32], err[256], *big = malloc(DRV_LABEL_VALUE_MAX + 2);
	drv_task_t t;
	uint8_t *buf = NULL;
	size_t len;

	fixture_task(&t);
	memset(big, 'v', DRV_LABEL_VALUE_MAX + 1);
	big[DRV_LABEL_VALUE_MAX + 1] = '\0';
	cr_assert_eq(drv_task_set_label(&t, "big", big), DRV_OK);
	cr_assert_eq(drv_task_validate(&t, err, sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "has a value longer than 4096"), "%s", err);
	cr_assert_eq(drv_task_set_label(&t, "big", NULL), DRV_OK);

	while (t.label_cnt <= DRV_LABELS_MAX) {
		drv_fmt(key, sizeof(key), "k%zu", t.label_cnt);
		cr_assert_eq(drv_task_set_label(&t, key, "v"), DRV_OK);
	}
	cr_assert_eq(drv_task_encode(&t, &buf, &len, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(err, "1025 labels, more than 1024"), "%s", err);
	cr_assert_null(buf);
	free(big);
	drv_task_release(&t);
}

/* --- decoding bad input ---------------------------------------------------------------- */

/* Hand-made encodings of tasks that parse but break an invariant. */
Test(task_codec, decoded_task_is_validated)
{
	static const struct {
		uint8_t bytes[32];
		size_t len;
		const char *want;
	} cases[] = {
		/* schema 1, handler "h", priority 5: no id */
		{ { 0x08, 1, 0x1a, 1, 'h', 0x28, 5 }, 7, "no id" },
		/* id "x", priority 5: no handler */
		{ { 0x08, 1, 0x12, 1, 'x', 0x28, 5 }, 7, "no handler" },
		/* id, handler, no priority (0) */
		{ { 0x08, 1, 0x12, 1, 'x', 0x1a, 1, 'h' }, 8, "priority 0" },
		/* priority 11 */
		{ { 0x12, 1, 'x', 0x1a, 1, 'h', 0x28, 11 }, 8, "priority 11" },
		/* attempt 3 > max_attempts 2 */
		{ { 0x12, 1, 'x', 0x1a, 1, 'h', 0x28, 5, 0x30, 3, 0x38, 2 }, 12,
		  "max_attempts" },
		/* label with empty key */
		{ { 0x12, 1, 'x', 0x1a, 1, 'h', 0x28, 5, 0x72, 3, 0x12, 1, 'v' },
		  13, "empty key" },
		/* issue 17: an idempotency key that would add a header */
		{ { 0x12, 1, 'x', 0x1a, 1, 'h', 0x28, 5, 0x62, 4, 'a', '\r',
		    '\n', 'b' }, 14, "idempotency key has a control byte" },
		/* a partition key with LF */
		{ { 0x12, 1, 'x', 0x1a, 1, 'h', 0x28, 5, 0x6a, 2, 'a', '\n' },
		  12, "partition key has a control byte" },
		/* an id with LF */
		{ { 0x12, 3, 'a', '\n', 'b', 0x1a, 1, 'h', 0x28, 5 }, 10,
		  "task id has a control byte" },
		/* id of 27 characters */
		{ { 0x12, 27, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
		    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '1',
		    '2', '3', '4', '5', '6', 0x1a, 1, 'h' }, 32,
		  "longer than 26" },
	};
	drv_task_t t;
	char err[256];

	drv_task_init(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(drv_task_decode(cases[i].bytes, cases[i].len, &t,
					     err, sizeof(err)),
			     DRV_ERR_DECODE, "case %zu", i);
		cr_assert(strstr(err, cases[i].want), "case %zu: %s", i, err);
		cr_assert(strstr(err, "drover.v1.Task"), "case %zu: %s", i, err);
		assert_task_empty(&t);
	}
	drv_task_release(&t);
}

Test(task_codec, garbage_names_type_and_length)
{
	drv_task_t t;
	char err[256] = "";

	drv_task_init(&t);
	cr_assert_eq(drv_task_decode("\x0a\x05ab", 4, &t, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "drover.v1.Task"), "%s", err);
	cr_assert(strstr(err, "4 bytes"), "%s", err);
	cr_assert_eq(drv_task_decode(NULL, 0, &t, err, sizeof(err)),
		     DRV_ERR_DECODE);
	cr_assert(strstr(err, "no id"), "%s", err);
	assert_task_empty(&t);
	drv_task_release(&t);
}

/* xorshift64*: reproducible pseudo-random bytes for the fuzz loops. */
static uint64_t fuzz_state = 0x2545f4914f6cdd1dULL;

static uint64_t fuzz_next(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 0x2545f4914f6cdd1dULL;
}

/* Decode \p buf; it must either succeed with a valid task that encodes
 * again, or fail cleanly with an empty task. */
static void fuzz_one(const uint8_t *buf, size_t len, size_t *ok_cnt)
{
	drv_task_t t;
	char err[256];

	drv_task_init(&t);
	drv_err_t rc = drv_task_decode(buf, len, &t, err, sizeof(err));

	cr_assert(rc == DRV_OK || rc == DRV_ERR_DECODE, "rc %d", rc);
	if (rc == DRV_OK) {
		uint8_t *again;
		size_t again_len;
		char *json;

		cr_assert_eq(drv_task_validate(&t, NULL, 0), DRV_OK);
		encode_ok(&t, &again, &again_len);
		free(again);
		json = drv_task_to_json(&t);
		cr_assert_not_null(json);
		free(json);
		(*ok_cnt)++;
	} else {
		cr_assert_neq(err[0], '\0');
		assert_task_empty(&t);
	}
	drv_task_release(&t);
}

/* Truncations, random bytes and mutations of the encoding of \p t. */
static void fuzz_task(drv_task_t *t)
{
	uint8_t *valid, buf[1024];
	size_t len, ok_cnt = 0;

	encode_ok(t, &valid, &len);
	drv_task_release(t);
	cr_assert_leq(len, sizeof(buf));

	/* every truncation of a valid encoding */
	for (size_t n = 0; n <= len; n++)
		fuzz_one(valid, n, &ok_cnt);
	/* random bytes */
	for (int i = 0; i < 3000; i++) {
		size_t n = fuzz_next() % 200;

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)fuzz_next();
		fuzz_one(buf, n, &ok_cnt);
	}
	/* a valid encoding with 1..4 bytes changed, then maybe truncated */
	for (int i = 0; i < 3000; i++) {
		size_t n = len, flips = 1 + fuzz_next() % 4;

		memcpy(buf, valid, len);
		for (size_t j = 0; j < flips; j++)
			buf[fuzz_next() % len] = (uint8_t)fuzz_next();
		if (fuzz_next() % 4 == 0)
			n = fuzz_next() % (len + 1);
		fuzz_one(buf, n, &ok_cnt);
	}
	cr_assert_gt(ok_cnt, 0, "some mutations should still decode");
	free(valid);
}

Test(task_codec, fuzz_never_crashes)
{
	drv_task_t t;

	fixture_task(&t);
	fuzz_task(&t);
}

Test(task_codec, fuzz_with_failures_never_crashes)
{
	drv_task_t t;

	fixture_task(&t);
	fixture_failures(&t);
	fuzz_task(&t);
}

/* Random bytes are drawn ahead, per thread: a child after fork() must not
 * make the ids its parent makes next. */
Test(task_codec, ids_differ_after_fork)
{
	char parent[DRV_ID_LEN + 1], child[DRV_ID_LEN + 1] = "";
	int fd[2], status;
	pid_t pid;

	drv_id_new(parent, 1000); /* fills this thread's pool */
	cr_assert_eq(pipe(fd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		drv_id_new(child, 1000);
		_exit(write(fd[1], child, DRV_ID_LEN) == DRV_ID_LEN ? 0 : 1);
	}
	close(fd[1]);
	cr_assert_eq(read(fd[0], child, DRV_ID_LEN), DRV_ID_LEN);
	close(fd[0]);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	drv_id_new(parent, 1000);
	cr_assert_str_neq(parent, child, "the child reused the parent's bytes");
}
