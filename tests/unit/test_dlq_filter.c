/*
 * test_dlq_filter.c — the dead-letter filters shared by droverctl and the
 * API: each filter set from its text (and refused with the reason), and
 * matched against entries, undecodable ones included.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/str.h"

#define NOW 1764900000000LL

static drv_err_t set(drv_dlq_filter_t *f, const char *name, const char *v,
		     char *err)
{
	return drv_dlq_filter_set(f, name, v, NOW, err, 256);
}

Test(dlq_filter, parses_every_filter)
{
	drv_dlq_filter_t f = { 0 };
	char err[256];

	cr_assert_eq(set(&f, "handler", "resize", err), DRV_OK);
	cr_assert_str_eq(f.handler, "resize");
	cr_assert_eq(set(&f, "reason", "attempts_exhausted", err), DRV_OK);
	cr_assert(f.has_reason);
	cr_assert_eq(f.reason, DRV_DL_ATTEMPTS_EXHAUSTED);
	cr_assert_eq(set(&f, "schedule", "nightly", err), DRV_OK);
	cr_assert_eq(set(&f, "label", "team=red", err), DRV_OK);
	cr_assert_eq(f.label_cnt, 1);
	cr_assert_eq(set(&f, "since", "2h", err), DRV_OK);
	cr_assert_eq(f.since_ms, NOW - 2 * 3600 * 1000);
	cr_assert_eq(set(&f, "until", "2026-01-02T00:00:00Z", err), DRV_OK);
	cr_assert_eq(set(&f, "grep", "timeout", err), DRV_OK);
	cr_assert_str_eq(f.grep, "timeout");
	/* a date is its midnight; a duration of ten characters (the length
	 * of a date) is still a duration */
	cr_assert_eq(set(&f, "since", "2026-01-02", err), DRV_OK);
	cr_assert_eq(f.since_ms, 1767312000000LL);
	cr_assert_eq(set(&f, "since", "9999d9999h", err), DRV_OK);
	cr_assert_eq(f.since_ms, NOW - (9999LL * 86400 + 9999LL * 3600) * 1000);
	cr_assert_eq(set(&f, "since", "1000000000", err), DRV_OK);
	cr_assert_eq(f.since_ms, NOW - 1000000000LL);
}

Test(dlq_filter, refuses_bad_values_with_the_reason)
{
	drv_dlq_filter_t f = { 0 };
	char err[256];

	cr_assert_eq(set(&f, "reason", "exploded", err), DRV_ERR_INVALID);
	cr_assert(strstr(err, "unknown reason 'exploded'"), "%s", err);
	cr_assert_eq(set(&f, "label", "novalue", err), DRV_ERR_INVALID);
	cr_assert(strstr(err, "KEY=VALUE"), "%s", err);
	cr_assert_eq(set(&f, "label", "=v", err), DRV_ERR_INVALID);
	cr_assert_eq(set(&f, "since", "yesterday", err), DRV_ERR_INVALID);
	cr_assert(strstr(err, "RFC 3339"), "%s", err);
	cr_assert_eq(set(&f, "colour", "red", err), DRV_ERR_NOT_FOUND);
	for (int i = 0; i < DRV_DLQ_FILTER_LABEL_MAX; i++)
		cr_assert_eq(set(&f, "label", "a=b", err), DRV_OK);
	cr_assert_eq(set(&f, "label", "a=b", err), DRV_ERR_RANGE);
	/* since must come before until */
	memset(&f, 0, sizeof(f));
	cr_assert_eq(set(&f, "since", "1h", err), DRV_OK);
	cr_assert_eq(set(&f, "until", "2h", err), DRV_OK);
	cr_assert_eq(drv_dlq_filter_check(&f, err, sizeof(err)),
		     DRV_ERR_INVALID);
}

/* An entry of \p handler, dead at \p dead_ms, labelled team=\p team, whose
 * last failure says \p msg. */
static void entry(drv_dlq_entry_t *e, const char *handler, int64_t dead_ms,
		  const char *team, const char *msg)
{
	drv_failure_t fl = { .attempt = 1, .message = (char *)msg };

	memset(e, 0, sizeof(*e));
	drv_dead_letter_init(&e->dl);
	e->dl.task.handler = drv_strdup(handler);
	e->dl.dead_ms = dead_ms;
	e->dl.reason = DRV_DL_PERMANENT_FAILURE;
	drv_task_set_label(&e->dl.task, "team", team);
	drv_dead_letter_add_failure(&e->dl, &fl);
}

Test(dlq_filter, matches)
{
	drv_dlq_filter_t f = { 0 };
	drv_dlq_entry_t e, bad;
	char err[256];

	entry(&e, "resize", NOW - 1000, "red", "connection timeout");
	cr_assert(drv_dlq_filter_match(&f, &e));
	set(&f, "handler", "resize", err);
	set(&f, "label", "team=red", err);
	set(&f, "grep", "timeout", err);
	set(&f, "since", "1m", err);
	set(&f, "reason", "permanent_failure", err);
	cr_assert(drv_dlq_filter_match(&f, &e));
	set(&f, "label", "team=blue", err);
	cr_assert_not(drv_dlq_filter_match(&f, &e));
	memset(&f, 0, sizeof(f));
	set(&f, "label", "tea=red", err);
	cr_assert_not(drv_dlq_filter_match(&f, &e));
	memset(&f, 0, sizeof(f));
	set(&f, "label", "team=re", err);
	cr_assert_not(drv_dlq_filter_match(&f, &e));
	memset(&f, 0, sizeof(f));
	set(&f, "until", "1m", err);
	cr_assert_not(drv_dlq_filter_match(&f, &e));
	memset(&f, 0, sizeof(f));
	set(&f, "grep", "refused", err);
	cr_assert_not(drv_dlq_filter_match(&f, &e));

	/* an undecodable entry passes only a time range, on its timestamp */
	memset(&bad, 0, sizeof(bad));
	drv_dead_letter_init(&bad.dl);
	bad.undecodable = true;
	bad.timestamp_ms = NOW - 1000;
	memset(&f, 0, sizeof(f));
	set(&f, "since", "1m", err);
	cr_assert(drv_dlq_filter_match(&f, &bad));
	set(&f, "handler", "resize", err);
	cr_assert_not(drv_dlq_filter_match(&f, &bad));
	drv_dead_letter_release(&e.dl);
}
