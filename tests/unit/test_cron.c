/*
 * Unit tests for cron expressions and time zones: every accepted form and
 * every parse error with its message; next-fire tables in UTC (leap days,
 * the 31st, Vixie day-of-month/day-of-week OR, seconds) and across the DST
 * transitions of America/New_York, Europe/London and Australia/Lord_Howe
 * (a 30-minute shift), where each skipped or repeated wall time must fire
 * exactly once at the instant cron.h documents; and the zone reader itself.
 *
 * Every expected instant is a literal UTC time written here (checked with
 * `TZ=... date -d` / zdump), converted with glibc's timegm(), never with the
 * code under test.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "drover/clock.h"
#include "drover/cron.h"
#include "drover/tz.h"

/* "2026-03-08T07:00:00Z" -> ms, with glibc (independent of core/tz.c) */
static int64_t ms(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	cr_assert_eq(sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon,
			    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
		     6, "bad literal %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000;
}

static void fmt(int64_t t, char *buf, size_t size)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static drv_tz_t *zone(const char *name)
{
	char err[256];
	drv_tz_t *tz = NULL;

	cr_assert_eq(drv_tz_load(name, &tz, err, sizeof(err)), DRV_OK,
		     "%s: %s", name, err);
	return tz;
}

/* --- parsing: accepted forms ------------------------------------------- */

Test(cron_parse, accepts_every_form)
{
	static const char *const ok[] = {
		"* * * * *", "0 0 * * *", "*/15 * * * *", "1-30/5 * * * *",
		"1,5,10-12 * * * *", "0 9-17 * * MON-FRI", "0 0 1 jan,Jul *",
		"0 0 * * sun", "0 0 * * 7", "0 0 * * 0-7", "0 0 * * 5-7",
		"5/10 * * * *", "*/5 * * * * *", "0 0 0 1 1 *", "  0 0 * * *  ",
		"0\t0\t*\t*\t*", "@yearly", "@annually", "@monthly", "@weekly",
		"@daily", "@midnight", "@hourly", "@DAILY", "59 23 31 12 6",
		"0 0 29 2 1", "*/60 * * * *", "0 0 * * */7",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		drv_cron_t *c = NULL;

		cr_expect_eq(drv_cron_parse(ok[i], &c, err, sizeof(err)),
			     DRV_OK, "'%s': %s", ok[i], err);
		drv_cron_free(c);
	}
	drv_cron_free(NULL);
}

Test(cron_parse, seconds_field_is_optional)
{
	drv_cron_t *c5, *c6;

	cr_assert_eq(drv_cron_parse("* * * * *", &c5, NULL, 0), DRV_OK);
	cr_assert_eq(drv_cron_parse("* * * * * *", &c6, NULL, 0), DRV_OK);
	cr_expect(!drv_cron_has_seconds(c5));
	cr_expect(drv_cron_has_seconds(c6));
	drv_cron_free(c5);
	drv_cron_free(c6);
}

/* --- parsing: errors --------------------------------------------------- */

static const struct bad {
	const char *expr, *msg;
} bad[] = {
	{ "", "cron: empty expression" },
	{ "   ", "cron: empty expression" },
	{ "* * * *", "cron: expected 5 or 6 fields (or an @macro), got 4" },
	{ "* * * * * * *",
	  "cron: expected 5 or 6 fields (or an @macro), got more than 6" },
	{ "0 25 * * *",
	  "cron: hour field: '25' is out of range 0-23 (at column 3)" },
	{ "60 * * * *",
	  "cron: minute field: '60' is out of range 0-59 (at column 1)" },
	{ "60 * * * * *",
	  "cron: second field: '60' is out of range 0-59 (at column 1)" },
	{ "0 0 0 * *",
	  "cron: day-of-month field: '0' is out of range 1-31 (at column 5)" },
	{ "0 0 32 * *",
	  "cron: day-of-month field: '32' is out of range 1-31 (at column 5)" },
	{ "0 0 * 13 *",
	  "cron: month field: '13' is out of range 1-12 (at column 7)" },
	{ "0 0 * * 8",
	  "cron: day-of-week field: '8' is out of range 0-7 (at column 9)" },
	{ "0 0 * * 99999999999",
	  "cron: day-of-week field: '99999999999' is out of range 0-7 "
	  "(at column 9)" },
	{ "0 0 * FOO *", "cron: month field: 'FOO' is not a known name or "
	  "number (at column 7)" },
	{ "0 0 * * MON-FOO", "cron: day-of-week field: 'FOO' is not a known "
	  "name or number (at column 13)" },
	{ "0 0 * MON *", "cron: month field: 'MON' is not a known name or "
	  "number (at column 7)" },
	{ "0 0 * * JAN", "cron: day-of-week field: 'JAN' is not a known name "
	  "or number (at column 9)" },
	{ "1x * * * *", "cron: minute field: '1x' is not a number "
	  "(at column 1)" },
	{ "0 5-2 * * *",
	  "cron: hour field: range '5-2' is backwards (at column 3)" },
	{ "0 0 * * FRI-MON",
	  "cron: day-of-week field: range 'FRI-MON' is backwards "
	  "(at column 9)" },
	{ "*/0 * * * *", "cron: minute field: '0' is out of range 1-60 for a "
	  "step (at column 3)" },
	{ "0 */25 * * *", "cron: hour field: '25' is out of range 1-24 for a "
	  "step (at column 5)" },
	{ "*/x * * * *",
	  "cron: minute field: 'x' is not a step number (at column 3)" },
	{ "*/ * * * *",
	  "cron: minute field: unexpected end of field (at column 3)" },
	{ "5- * * * *",
	  "cron: minute field: unexpected end of field (at column 3)" },
	{ "1,,2 * * * *",
	  "cron: minute field: empty list item (at column 3)" },
	{ "1, * * * *",
	  "cron: minute field: empty list item (at column 3)" },
	{ ",1 * * * *",
	  "cron: minute field: unexpected character ',' (at column 1)" },
	{ "0 0 * * 1;2",
	  "cron: day-of-week field: unexpected character ';' (at column 10)" },
	{ "0 0 ? * *",
	  "cron: day-of-month field: unexpected character '?' (at column 5)" },
	{ "** * * * *",
	  "cron: minute field: unexpected character '*' (at column 2)" },
	{ "@reboot", "cron: unsupported macro '@reboot' (at column 1); use "
	  "@yearly, @annually, @monthly, @weekly, @daily, @midnight or "
	  "@hourly" },
	{ "  @often", "cron: unknown macro '@often' (at column 3); use "
	  "@yearly, @annually, @monthly, @weekly, @daily, @midnight or "
	  "@hourly" },
	{ "@daily 5", "cron: unexpected text after @daily (at column 8)" },
};

Test(cron_parse, every_error_names_field_and_column)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		drv_cron_t *c = (drv_cron_t *)&c;
		char err[256] = "";

		cr_expect_eq(drv_cron_parse(bad[i].expr, &c, err, sizeof(err)),
			     DRV_ERR_INVALID, "'%s' parsed", bad[i].expr);
		cr_expect_null(c, "'%s': out not cleared", bad[i].expr);
		cr_expect_str_eq(err, bad[i].msg, "'%s'", bad[i].expr);
	}
}

/* --- next fire times --------------------------------------------------- */

#define MAXFIRES 6

/* From `after`, drv_cron_next() chained must give exactly `fires`. */
static const struct next_case {
	const char *zone, *expr, *after;
	const char *fires[MAXFIRES];
} next_cases[] = {
	/* UTC default and basic fields */
	{ NULL, "*/15 * * * *", "2026-01-01T00:07:30Z",
	  { "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z",
	    "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z" } },
	{ "UTC", "0 * * * *", "2026-01-01T01:00:00Z", /* strictly after */
	  { "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z" } },
	{ NULL, "1-30/10 5 * * *", "2026-01-01T00:00:00Z",
	  { "2026-01-01T05:01:00Z", "2026-01-01T05:11:00Z",
	    "2026-01-01T05:21:00Z", "2026-01-02T05:01:00Z" } },
	{ NULL, "50/5 23 31 12 *", "2026-06-01T00:00:00Z",
	  { "2026-12-31T23:50:00Z", "2026-12-31T23:55:00Z",
	    "2027-12-31T23:50:00Z" } },
	{ NULL, "*/20 * * * * *", "2026-01-01T00:00:05Z",
	  { "2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z",
	    "2026-01-01T00:01:00Z" } },
	{ NULL, "30 0 12 * * *", "2026-01-01T00:00:00Z",
	  { "2026-01-01T12:00:30Z", "2026-01-02T12:00:30Z" } },
	{ NULL, "0 0 1 1 *", "1969-12-31T23:59:59Z",
	  { "1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z" } },
	/* leap day and the 31st */
	{ NULL, "0 0 29 2 *", "2026-01-01T00:00:00Z",
	  { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z" } },
	{ NULL, "0 0 29 2 *", "2096-03-01T00:00:00Z", /* 2100 is no leap */
	  { "2104-02-29T00:00:00Z" } },
	{ NULL, "0 0 31 * *", "2026-01-31T00:00:00Z",
	  { "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
	    "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z",
	    "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z" } },
	/* Vixie: both days restricted = OR; a leading '*' = AND */
	{ NULL, "0 0 29 2 1", "2026-01-01T00:00:00Z",
	  { "2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z",
	    "2026-02-16T00:00:00Z", "2026-02-23T00:00:00Z",
	    "2027-02-01T00:00:00Z" } },
	{ NULL, "0 0 29 2 1", "2028-02-27T00:00:00Z",
	  { "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z",
	    "2029-02-05T00:00:00Z" } },
	{ NULL, "0 0 13 * FRI", "2026-02-01T00:00:00Z",
	  { "2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z",
	    "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z",
	    "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z" } },
	{ NULL, "0 0 */10 * MON", "2026-01-01T00:00:00Z",
	  { "2026-05-11T00:00:00Z" } },
	{ NULL, "0 0 1 * *", "2026-01-15T00:00:00Z",
	  { "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z" } },
	/* Sunday is 0 and 7; names; ranges through 7 */
	{ NULL, "0 0 * * 0", "2026-01-01T00:00:00Z",
	  { "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z" } },
	{ NULL, "0 0 * * 7", "2026-01-01T00:00:00Z",
	  { "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z" } },
	{ NULL, "0 0 * * Sun", "2026-01-01T00:00:00Z",
	  { "2026-01-04T00:00:00Z" } },
	{ NULL, "0 0 * * 5-7", "2026-01-01T00:00:00Z",
	  { "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
	    "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z" } },
	{ NULL, "0 0 * * 1-5/2", "2026-01-01T00:00:00Z",
	  { "2026-01-02T00:00:00Z", "2026-01-05T00:00:00Z",
	    "2026-01-07T00:00:00Z", "2026-01-09T00:00:00Z" } },
	{ NULL, "0 12 * mar-apr,DEC *", "2026-04-30T12:00:00Z",
	  { "2026-12-01T12:00:00Z" } },
	/* macros */
	{ NULL, "@yearly", "2026-05-05T00:00:00Z",
	  { "2027-01-01T00:00:00Z" } },
	{ NULL, "@monthly", "2026-05-05T00:00:00Z",
	  { "2026-06-01T00:00:00Z" } },
	{ NULL, "@weekly", "2026-01-01T00:00:00Z",
	  { "2026-01-04T00:00:00Z" } },
	{ NULL, "@midnight", "2026-01-01T00:00:00Z",
	  { "2026-01-02T00:00:00Z" } },
	{ NULL, "@hourly", "2026-01-01T00:59:59Z",
	  { "2026-01-01T01:00:00Z" } },

	/* America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z) */
	{ "America/New_York", "30 2 * * *", "2026-03-06T12:00:00Z",
	  { "2026-03-07T07:30:00Z",   /* 02:30 EST */
	    "2026-03-08T07:00:00Z",   /* skipped: the jump, 03:00 EDT */
	    "2026-03-09T06:30:00Z" } }, /* 02:30 EDT */
	{ "America/New_York", "0 * * * *", "2026-03-08T05:30:00Z",
	  { "2026-03-08T06:00:00Z",   /* 01:00 EST */
	    "2026-03-08T07:00:00Z",   /* 02:00 skipped + 03:00 = once */
	    "2026-03-08T08:00:00Z" } },
	{ "America/New_York", "*/20 2 * * *", "2026-03-08T06:00:00Z",
	  { "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z",
	    "2026-03-09T06:20:00Z" } },
	/* 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z): 01:xx repeats */
	{ "America/New_York", "30 1 * * *", "2026-10-31T12:00:00Z",
	  { "2026-11-01T05:30:00Z",   /* 01:30 EDT, first pass only */
	    "2026-11-02T06:30:00Z" } }, /* 01:30 EST next day */
	{ "America/New_York", "0 * * * *", "2026-11-01T03:30:00Z",
	  { "2026-11-01T04:00:00Z",   /* 00:00 EDT */
	    "2026-11-01T05:00:00Z",   /* 01:00 EDT */
	    "2026-11-01T07:00:00Z",   /* 02:00 EST; 01:00 EST is a repeat */
	    "2026-11-01T08:00:00Z" } },
	{ "America/New_York", "*/15 * * * *", "2026-11-01T05:40:00Z",
	  { "2026-11-01T05:45:00Z", "2026-11-01T07:00:00Z",
	    "2026-11-01T07:15:00Z" } },
	/* asked from inside the second pass: the repeats already fired */
	{ "America/New_York", "*/15 * * * *", "2026-11-01T06:10:00Z",
	  { "2026-11-01T07:00:00Z" } },
	{ "America/New_York", "30 1 * * *", "2026-11-01T06:10:00Z",
	  { "2026-11-02T06:30:00Z" } },
	/* after the file's explicit transitions: the POSIX footer rule */
	{ "America/New_York", "30 2 * * *", "2040-03-10T12:00:00Z",
	  { "2040-03-11T07:00:00Z", "2040-03-12T06:30:00Z" } },

	/* Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST (01:00Z) */
	{ "Europe/London", "30 1 * * *", "2026-03-28T12:00:00Z",
	  { "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z" } },
	{ "Europe/London", "0 1 * * *", "2026-03-28T12:00:00Z",
	  { "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z" } },
	{ "Europe/London", "0 * * * *", "2026-03-29T00:30:00Z",
	  { "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z" } },
	/* 2026-10-25 02:00 BST -> 01:00 GMT (01:00Z) */
	{ "Europe/London", "30 1 * * *", "2026-10-24T12:00:00Z",
	  { "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z" } },
	{ "Europe/London", "0 * * * *", "2026-10-24T23:30:00Z",
	  { "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z",
	    "2026-10-25T03:00:00Z" } },

	/* Australia/Lord_Howe: 2026-04-05 02:00 +11 -> 01:30 +1030
	 * (04-04T15:00Z), 01:30-01:59 repeats */
	{ "Australia/Lord_Howe", "45 1 * * *", "2026-04-04T00:00:00Z",
	  { "2026-04-04T14:45:00Z",   /* 01:45 +11 */
	    "2026-04-05T15:15:00Z" } }, /* 01:45 +1030 on 04-06 */
	{ "Australia/Lord_Howe", "*/30 * * * *", "2026-04-04T14:10:00Z",
	  { "2026-04-04T14:30:00Z",   /* 01:30 +11 */
	    "2026-04-04T15:30:00Z",   /* 02:00 +1030 */
	    "2026-04-04T16:00:00Z" } },
	/* 2026-10-04 02:00 +1030 -> 02:30 +11 (10-03T15:30Z) */
	{ "Australia/Lord_Howe", "15 2 * * *", "2026-10-03T00:00:00Z",
	  { "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z" } },
	{ "Australia/Lord_Howe", "0,30 * * * *", "2026-10-03T15:00:00Z",
	  { "2026-10-03T15:30:00Z",   /* 02:00 skipped + 02:30 = once */
	    "2026-10-03T16:00:00Z" } },
};

Test(cron_next, table)
{
	for (size_t i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]);
	     i++) {
		const struct next_case *t = &next_cases[i];
		drv_tz_t *tz = t->zone ? zone(t->zone) : NULL;
		drv_cron_t *c = NULL;
		char err[256];
		int64_t at = ms(t->after), next;

		cr_assert_eq(drv_cron_parse(t->expr, &c, err, sizeof(err)),
			     DRV_OK, "'%s': %s", t->expr, err);
		for (int k = 0; k < MAXFIRES && t->fires[k]; k++) {
			char got[32] = "", from[32];

			fmt(at, from, sizeof(from));
			cr_assert_eq(drv_cron_next(c, tz, at, &next), DRV_OK,
				     "%s '%s' after %s: none", t->zone,
				     t->expr, from);
			fmt(next, got, sizeof(got));
			cr_expect_eq(next, ms(t->fires[k]), "%s '%s' after %s:"
				     " got %s, want %s", t->zone ? t->zone :
				     "UTC", t->expr, from, got, t->fires[k]);
			at = next;
		}
		drv_cron_free(c);
		drv_tz_free(tz);
	}
}

Test(cron_next, fractional_and_negative_after)
{
	drv_cron_t *c;
	int64_t next;

	cr_assert_eq(drv_cron_parse("* * * * * *", &c, NULL, 0), DRV_OK);
	cr_expect_eq(drv_cron_next(c, NULL, 1500, &next), DRV_OK);
	cr_expect_eq(next, 2000);
	cr_expect_eq(drv_cron_next(c, NULL, 1000, &next), DRV_OK);
	cr_expect_eq(next, 2000);
	cr_expect_eq(drv_cron_next(c, NULL, 999, &next), DRV_OK);
	cr_expect_eq(next, 1000);
	cr_expect_eq(drv_cron_next(c, NULL, -1, &next), DRV_OK);
	cr_expect_eq(next, 0);
	cr_expect_eq(drv_cron_next(c, NULL, -1000, &next), DRV_OK);
	cr_expect_eq(next, 0);
	drv_cron_free(c);
}

/* Issue 17 item 8: no fire time past 9999-12-31T23:59:59Z, in UTC or in
 * the zone's wall time (RFC 3339 has four-digit years); before the fix the
 * next fires were 10000-01-01 and on, printed as invalid RFC 3339. */
Test(cron_next, stops_before_year_10000)
{
	drv_tz_t *tokyo = zone("Asia/Tokyo");
	char got[64], printed[40];
	drv_cron_t *c;
	int64_t next;

	cr_assert_eq(drv_cron_parse("0 0 * * *", &c, NULL, 0), DRV_OK);
	cr_assert_eq(drv_cron_next(c, NULL, ms("9999-12-30T12:00:00Z"),
				   &next), DRV_OK);
	fmt(next, got, sizeof(got));
	cr_expect_str_eq(got, "9999-12-31T00:00:00Z");
	cr_expect_eq(drv_cron_next(c, NULL, next, &next), DRV_ERR_NOT_FOUND);
	drv_cron_free(c);

	/* midnight in Tokyo on 10000-01-01 is 9999-12-31T15:00Z: a UTC time
	 * RFC 3339 can write, but a wall time it cannot */
	cr_assert_eq(drv_cron_parse("0 0 * * *", &c, NULL, 0), DRV_OK);
	cr_assert_eq(drv_cron_next(c, tokyo, ms("9999-12-30T00:00:00Z"),
				   &next), DRV_OK);
	fmt(next, got, sizeof(got));
	cr_expect_str_eq(got, "9999-12-30T15:00:00Z");
	cr_expect_eq(drv_cron_next(c, tokyo, next, &next),
		     DRV_ERR_NOT_FOUND);
	drv_cron_free(c);
	drv_tz_free(tokyo);

	drv_format_time(DRV_TIME_MAX_MS, printed, sizeof(printed));
	cr_expect_str_eq(printed, "9999-12-31T23:59:59.999Z");
	drv_format_time(DRV_TIME_MAX_MS + 1, printed, sizeof(printed));
	cr_expect_str_eq(printed, "253402300800000ms");
}

Test(cron_next, impossible_is_not_found)
{
	static const char *const never[] = {
		"30 2 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *",
	};

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		drv_cron_t *c;
		int64_t next = 42;

		cr_assert_eq(drv_cron_parse(never[i], &c, NULL, 0), DRV_OK);
		cr_expect_eq(drv_cron_next(c, NULL, ms("2026-01-01T00:00:00Z"),
					   &next), DRV_ERR_NOT_FOUND, "%s",
			     never[i]);
		cr_expect_eq(next, 42);
		drv_cron_free(c);
	}
}

/* Every day of 2026 in New York, 01:30 (repeated on fall-back day) and
 * 02:30 (skipped on spring-forward day) each fire exactly once a day. */
Test(cron_next, once_a_day_all_year)
{
	static const char *const exprs[] = { "30 1 * * *", "30 2 * * *" };
	drv_tz_t *tz = zone("America/New_York");

	for (size_t i = 0; i < 2; i++) {
		int64_t at = ms("2026-01-01T00:00:00Z"), next;
		drv_cron_t *c;
		int n = 0;

		cr_assert_eq(drv_cron_parse(exprs[i], &c, NULL, 0), DRV_OK);
		while (drv_cron_next(c, tz, at, &next) == DRV_OK &&
		       next < ms("2027-01-01T05:00:00Z")) {
			cr_assert_gt(next, at);
			at = next;
			n++;
		}
		cr_expect_eq(n, 365, "%s: %d fires", exprs[i], n);
		drv_cron_free(c);
	}
	drv_tz_free(tz);
}

/* --- zones ------------------------------------------------------------- */

Test(tz, load_errors)
{
	static const struct {
		const char *name;
		drv_err_t rc;
	} cases[] = {
		{ "Mars/Olympus_Mons", DRV_ERR_NOT_FOUND },
		{ "America", DRV_ERR_NOT_FOUND },       /* a directory */
		{ "../../etc/passwd", DRV_ERR_INVALID },
		{ "/etc/localtime", DRV_ERR_INVALID },
		{ "America//New_York", DRV_ERR_INVALID },
		{ "America/New York", DRV_ERR_INVALID },
		{ "America/", DRV_ERR_INVALID },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drv_tz_t *tz = (drv_tz_t *)&tz;

		err[0] = '\0';
		cr_expect_eq(drv_tz_load(cases[i].name, &tz, err, sizeof(err)),
			     cases[i].rc, "%s: %s", cases[i].name, err);
		cr_expect_null(tz);
		cr_expect_neq(err[0], '\0', "%s: no message", cases[i].name);
	}
}

Test(tz, parse_rejects_garbage)
{
	static const unsigned char junk[64] = "TZif2 but not really";
	char err[256];
	drv_tz_t *tz;

	cr_expect_eq(drv_tz_parse("x", junk, sizeof(junk), &tz, err,
				  sizeof(err)), DRV_ERR_DECODE);
	cr_expect_null(tz);
	cr_expect_eq(drv_tz_parse("x", (const unsigned char *)"hello", 5, &tz,
				  err, sizeof(err)), DRV_ERR_DECODE);
	cr_expect_str_eq(err, "zone x: not a TZif file");
}

Test(tz, utc_builtin)
{
	drv_tz_t *tz = zone(NULL);
	drv_civil_t c;

	cr_expect_str_eq(drv_tz_name(tz), "UTC");
	cr_expect_str_eq(drv_tz_name(NULL), "UTC");
	drv_tz_to_civil(tz, ms("2026-07-01T12:34:56Z") / 1000, &c);
	cr_expect(c.year == 2026 && c.month == 7 && c.day == 1 &&
		  c.hour == 12 && c.minute == 34 && c.second == 56);
	cr_expect_eq(c.wday, 3); /* Wednesday */
	cr_expect_eq(c.utoff, 0);
	cr_expect_str_eq(c.abbr, "UTC");
	drv_tz_free(tz);
	drv_tz_free(NULL);
}

static const struct civil_case {
	const char *zone, *utc;
	int hour, minute;
	int32_t utoff;
	const char *abbr;
} civil_cases[] = {
	{ "America/New_York", "2026-03-08T06:59:59Z", 1, 59, -18000, "EST" },
	{ "America/New_York", "2026-03-08T07:00:00Z", 3, 0, -14400, "EDT" },
	{ "America/New_York", "2026-11-01T05:59:59Z", 1, 59, -14400, "EDT" },
	{ "America/New_York", "2026-11-01T06:00:00Z", 1, 0, -18000, "EST" },
	{ "America/New_York", "2045-07-04T16:00:00Z", 12, 0, -14400, "EDT" },
	{ "America/New_York", "2045-12-25T17:00:00Z", 12, 0, -18000, "EST" },
	{ "Europe/London", "2026-03-29T01:00:00Z", 2, 0, 3600, "BST" },
	{ "Europe/London", "2026-10-25T01:00:00Z", 1, 0, 0, "GMT" },
	{ "Australia/Lord_Howe", "2026-04-04T15:00:00Z", 1, 30, 37800,
	  "+1030" },
	{ "Australia/Lord_Howe", "2026-10-03T15:30:00Z", 2, 30, 39600,
	  "+11" },
	{ "Australia/Lord_Howe", "2050-01-01T00:00:00Z", 11, 0, 39600,
	  "+11" },
	{ "Asia/Kolkata", "2026-01-01T00:00:00Z", 5, 30, 19800, "IST" },
};

Test(tz, to_civil)
{
	for (size_t i = 0; i < sizeof(civil_cases) / sizeof(civil_cases[0]);
	     i++) {
		const struct civil_case *t = &civil_cases[i];
		drv_tz_t *tz = zone(t->zone);
		drv_civil_t c;

		drv_tz_to_civil(tz, ms(t->utc) / 1000, &c);
		cr_expect(c.hour == t->hour && c.minute == t->minute &&
			  c.utoff == t->utoff, "%s %s: %02d:%02d %d", t->zone,
			  t->utc, c.hour, c.minute, c.utoff);
		cr_expect_str_eq(c.abbr, t->abbr, "%s %s", t->zone, t->utc);
		drv_tz_free(tz);
	}
}

Test(tz, from_local)
{
	static const struct {
		const char *zone, *local, *utc;
		drv_tz_local_t how;
	} cases[] = {
		{ "America/New_York", "2026-03-08T01:59:00Z",
		  "2026-03-08T06:59:00Z", DRV_TZ_UNIQUE },
		{ "America/New_York", "2026-03-08T02:30:00Z",
		  "2026-03-08T07:00:00Z", DRV_TZ_SKIPPED },
		{ "America/New_York", "2026-03-08T03:00:00Z",
		  "2026-03-08T07:00:00Z", DRV_TZ_UNIQUE },
		{ "America/New_York", "2026-11-01T01:30:00Z",
		  "2026-11-01T05:30:00Z", DRV_TZ_REPEATED },
		{ "America/New_York", "2026-11-01T02:00:00Z",
		  "2026-11-01T07:00:00Z", DRV_TZ_UNIQUE },
		{ "Australia/Lord_Howe", "2026-10-04T02:29:59Z",
		  "2026-10-03T15:30:00Z", DRV_TZ_SKIPPED },
		{ "Australia/Lord_Howe", "2026-04-05T01:30:00Z",
		  "2026-04-04T14:30:00Z", DRV_TZ_REPEATED },
		{ "Australia/Lord_Howe", "2026-04-05T01:29:59Z",
		  "2026-04-04T14:29:59Z", DRV_TZ_UNIQUE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drv_tz_t *tz = zone(cases[i].zone);
		drv_tz_local_t how;
		/* the wall time written as if it were UTC = local seconds */
		int64_t u = drv_tz_from_local(tz, ms(cases[i].local) / 1000,
					      &how);

		cr_expect_eq(u * 1000, ms(cases[i].utc), "%s %s",
			     cases[i].zone, cases[i].local);
		cr_expect_eq(how, cases[i].how, "%s %s", cases[i].zone,
			     cases[i].local);
		drv_tz_free(tz);
	}
}

Test(tz, civil_round_trip)
{
	/* against glibc over a wide range, including before 1970 */
	for (int64_t s = -5000000000LL; s < 5000000000LL; s += 86399 * 37) {
		drv_civil_t c;
		time_t ts = (time_t)s;
		struct tm tm;

		drv_seconds_to_civil(s, &c);
		gmtime_r(&ts, &tm);
		cr_assert(c.year == tm.tm_year + 1900 &&
			  c.month == tm.tm_mon + 1 && c.day == tm.tm_mday &&
			  c.hour == tm.tm_hour && c.minute == tm.tm_min &&
			  c.second == tm.tm_sec && c.wday == tm.tm_wday,
			  "%lld", (long long)s);
		cr_assert_eq(drv_civil_to_seconds(c.year, c.month, c.day,
						  c.hour, c.minute, c.second),
			     s);
	}
}

/* A "slim" TZif: no transitions, one type, everything from the footer. */
static drv_tz_t *footer_zone(const char *rule)
{
	unsigned char buf[256];
	size_t n = 0, rl = strlen(rule);
	char err[256];
	drv_tz_t *tz = NULL;

	memset(buf, 0, sizeof(buf));
	for (int part = 0; part < 2; part++) {
		memcpy(buf + n, "TZif2", 5);
		buf[n + 20 + 4 * 4 + 3] = 1;   /* typecnt */
		buf[n + 20 + 5 * 4 + 3] = 4;   /* charcnt */
		n += 44;
		n += 6;                        /* type 0: UTC+0, std, abbr 0 */
		memcpy(buf + n, "LMT", 4);
		n += 4;
	}
	buf[n++] = '\n';
	memcpy(buf + n, rule, rl);
	n += rl;
	buf[n++] = '\n';
	cr_assert_eq(drv_tz_parse("slim", buf, n, &tz, err, sizeof(err)),
		     DRV_OK, "%s: %s", rule, err);
	return tz;
}

Test(tz, posix_footer_rules)
{
	static const struct {
		const char *rule, *utc, *abbr;
		int32_t off;
	} cases[] = {
		{ "EST5EDT,M3.2.0,M11.1.0", "2026-03-08T06:59:59Z", "EST",
		  -18000 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2026-03-08T07:00:00Z", "EDT",
		  -14400 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2026-11-01T05:59:59Z", "EDT",
		  -14400 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2026-11-01T06:00:00Z", "EST",
		  -18000 },
		{ "GMT0BST,M3.5.0/1,M10.5.0", "2026-03-29T01:00:00Z", "BST",
		  3600 },
		{ "GMT0BST,M3.5.0/1,M10.5.0", "2026-10-25T01:00:00Z", "GMT", 0 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		  "2026-04-04T14:59:59Z", "+11", 39600 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		  "2026-04-04T15:00:00Z", "+1030", 37800 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		  "2026-10-03T15:30:00Z", "+11", 39600 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		  "2026-10-03T15:29:59Z", "+1030", 37800 },
		{ "<-03>3", "2026-01-01T00:00:00Z", "-03", -10800 },
		{ "IST-5:30", "2026-06-01T00:00:00Z", "IST", 19800 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drv_tz_t *tz = footer_zone(cases[i].rule);
		const char *abbr;
		int32_t off = drv_tz_offset(tz, ms(cases[i].utc) / 1000, NULL,
					    &abbr);

		cr_expect_eq(off, cases[i].off, "%s at %s: %d", cases[i].rule,
			     cases[i].utc, off);
		cr_expect_str_eq(abbr, cases[i].abbr, "%s at %s",
				 cases[i].rule, cases[i].utc);
		drv_tz_free(tz);
	}
}
