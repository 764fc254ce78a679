/*
 * test_dlq_groups.c — DLQ failure groups without Redis: the normalised
 * message (each placeholder, what stays, the length bound), a dead
 * letter's group key and id, and the "group" filter that resubmits a
 * group.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/dlq_groups.h"
#include "drover/str.h"

static const char *norm(const char *msg)
{
	static char out[DRV_DLQ_GROUP_MSG_MAX + 1];

	drv_dlq_normalise(msg, out, sizeof(out));
	return out;
}

Test(dlq_groups, normalises_what_varies)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "connection refused to 10.0.0.3:5432 after 1500 ms",
		  "connection refused to <addr> after <n> ms" },
		{ "timeout after 2.5s on attempt 3",
		  "timeout after <n>s on attempt <n>" },
		{ "user 550e8400-e29b-41d4-a716-446655440000 not found",
		  "user <uuid> not found" },
		{ "bad pointer 0x7ffd3a2b at deadbeef1234",
		  "bad pointer <hex> at <hex>" },
		{ "task 01JEX8ZP4Q3V5T7W9Y2B4D6F8H gone",
		  "task <id> gone" },
		{ "no such key 'order-17' in \"cart 42\"",
		  "no such key <str> in <str>" },
		{ "GET https://api.example.com/v1/items?id=17&t=abc failed",
		  "GET https://api.example.com/v<n>/items?<query> failed" },
		{ "  spaces \t and\nlines  ", "spaces and lines" },
		{ "HTTP 503 from billing-api", "HTTP <n> from billing-api" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(norm(cases[i].in), cases[i].want,
				 "in: %s", cases[i].in);
	cr_expect_str_eq(norm(NULL), "");
}

Test(dlq_groups, keeps_words_and_utf8)
{
	/* words are not ids: no digit, or too short */
	cr_expect_str_eq(norm("permission denied for deadbeef"),
			 "permission denied for deadbeef");
	cr_expect_str_eq(norm("Größe ungültig: 12 Zeichen"),
			 "Größe ungültig: <n> Zeichen");
	/* bytes that are not UTF-8 */
	cr_expect_str_eq(norm("bad \xff\xfe byte"), "bad ?? byte");
	/* an apostrophe is not a quote */
	cr_expect_str_eq(norm("can't open 'db1.conf': it's gone"),
			 "can't open <str>: it's gone");
	cr_expect_str_eq(norm("unclosed 'quote here"), "unclosed 'quote here");
}

Test(dlq_groups, bounds_the_length_at_a_character)
{
	char msg[4000], out[DRV_DLQ_GROUP_MSG_MAX + 1];
	size_t n;

	/* "xé" repeated: each é is two bytes */
	for (size_t i = 0; i + 3 < sizeof(msg); i += 3) {
		msg[i] = 'x';
		msg[i + 1] = (char)0xc3;
		msg[i + 2] = (char)0xa9;
	}
	msg[sizeof(msg) - 1] = '\0';
	n = drv_dlq_normalise(msg, out, sizeof(out));
	cr_assert_leq(n, DRV_DLQ_GROUP_MSG_MAX);
	cr_assert_eq(strlen(out), n);
	cr_assert_gt(n, DRV_DLQ_GROUP_MSG_MAX - 3);
	/* never half a character */
	cr_assert_neq((unsigned char)out[n - 1], 0xc3);
	/* a small buffer is respected too; a placeholder is all or nothing */
	n = drv_dlq_normalise("abcdefgh", out, 4);
	cr_assert_str_eq(out, "abc");
	n = drv_dlq_normalise("ab 12", out, 6);
	cr_assert_str_eq(out, "ab ");
	cr_assert_eq(n, 3);
}

/* A dead letter of \p handler whose last failure is \p cls / \p msg. */
static void make(drv_dead_letter_t *dl, const char *handler,
		 drv_failure_class_t cls, const char *msg)
{
	drv_failure_t f = { .attempt = 1, .failure_class = cls,
			    .message = (char *)msg };

	drv_dead_letter_init(dl);
	drv_strlcpy(dl->id, "01JEX8ZP4Q3V5T7W9Y2B4D6F8H", sizeof(dl->id));
	dl->task.handler = drv_strdup(handler);
	dl->reason = DRV_DL_ATTEMPTS_EXHAUSTED;
	cr_assert_eq(drv_dead_letter_add_failure(dl, &f), DRV_OK);
}

Test(dlq_groups, groups_by_handler_class_and_message)
{
	drv_dead_letter_t a, b, c, d;
	drv_dlq_group_key_t ka, kb, kc, kd;

	make(&a, "billing", DRV_FAILURE_TRANSIENT, "db 10.0.0.3:5432 down 12");
	make(&b, "billing", DRV_FAILURE_TRANSIENT, "db 10.0.0.9:5433 down 99");
	make(&c, "mailer", DRV_FAILURE_TRANSIENT, "db 10.0.0.3:5432 down 12");
	make(&d, "billing", DRV_FAILURE_TIMEOUT, "db 10.0.0.3:5432 down 12");
	drv_dlq_group_of(&a, &ka);
	drv_dlq_group_of(&b, &kb);
	drv_dlq_group_of(&c, &kc);
	drv_dlq_group_of(&d, &kd);
	cr_assert_str_eq(ka.handler, "billing");
	cr_assert_str_eq(ka.class, "transient");
	cr_assert_str_eq(ka.message, "db <addr> down <n>");
	cr_assert_str_eq(ka.raw, "db 10.0.0.3:5432 down 12");
	cr_assert(drv_dlq_group_id_valid(ka.id), "%s", ka.id);
	cr_assert_str_eq(ka.id, kb.id);
	cr_assert_str_neq(ka.id, kc.id);
	cr_assert_str_neq(ka.id, kd.id);
	/* stable: the same three give the same id anywhere */
	{
		char id[DRV_DLQ_GROUP_ID_LEN + 1];

		drv_dlq_group_id("billing", "transient", "db <addr> down <n>",
				 id);
		cr_assert_str_eq(id, ka.id);
		drv_dlq_group_id("billin", "gtransient", "db <addr> down <n>",
				 id);
		cr_assert_str_neq(id, ka.id, "fields are separated");
	}
	drv_dead_letter_release(&a);
	drv_dead_letter_release(&b);
	drv_dead_letter_release(&c);
	drv_dead_letter_release(&d);
}

Test(dlq_groups, without_failures_the_reason_is_the_class)
{
	drv_dead_letter_t dl;
	drv_dlq_group_key_t k;

	drv_dead_letter_init(&dl);
	dl.reason = DRV_DL_HANDLER_UNKNOWN;
	dl.detail = drv_strdup("no handler 'resize2'");
	dl.task.handler = drv_strdup("resize2");
	drv_dlq_group_of(&dl, &k);
	cr_assert_str_eq(k.class, "handler_unknown");
	cr_assert_str_eq(k.message, "no handler <str>");
	drv_dead_letter_release(&dl);
	/* undecodable: no handler, no message */
	drv_dead_letter_init(&dl);
	dl.reason = DRV_DL_UNDECODABLE;
	drv_dlq_group_of(&dl, &k);
	cr_assert_str_eq(k.handler, "");
	cr_assert_str_eq(k.class, "undecodable");
	cr_assert_str_eq(k.message, "");
	drv_dead_letter_release(&dl);
}

Test(dlq_groups, group_filter_matches_the_group_only)
{
	drv_dlq_filter_t f = { 0 };
	drv_dlq_entry_t e = { 0 };
	drv_dlq_group_key_t k;
	char err[256];

	make(&e.dl, "billing", DRV_FAILURE_TRANSIENT, "db down after 12 ms");
	drv_dlq_group_of(&e.dl, &k);
	cr_assert_eq(drv_dlq_filter_set(&f, "group", "xyz", 0, err,
					sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "not a group id"), "%s", err);
	cr_assert_eq(drv_dlq_filter_set(&f, "group", k.id, 0, err,
					sizeof(err)), DRV_OK);
	cr_assert(drv_dlq_filter_match(&f, &e));
	/* another number: the same group */
	free(e.dl.failures[0].message);
	e.dl.failures[0].message = drv_strdup("db down after 7 ms");
	cr_assert(drv_dlq_filter_match(&f, &e));
	/* another text: not */
	free(e.dl.failures[0].message);
	e.dl.failures[0].message = drv_strdup("db up after 7 ms");
	cr_assert_not(drv_dlq_filter_match(&f, &e));
	/* an entry that did not decode has no group */
	e.undecodable = true;
	cr_assert_not(drv_dlq_filter_match(&f, &e));
	drv_dead_letter_release(&e.dl);
}
