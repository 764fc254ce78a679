/*
 * Unit tests for the bounded string helpers and small parsers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "drover/str.h"

Test(str, strlcpy_truncates_and_terminates)
{
	char buf[4];

	cr_assert_eq(drv_strlcpy(buf, "abcdef", sizeof(buf)), 6);
	cr_assert_str_eq(buf, "abc");
	cr_assert_eq(drv_strlcpy(buf, "ab", sizeof(buf)), 2);
	cr_assert_str_eq(buf, "ab");
}

Test(str, fmt_reports_truncation)
{
	char buf[6];

	cr_assert(drv_fmt(buf, sizeof(buf), "%d", 12345));
	cr_assert_not(drv_fmt(buf, sizeof(buf), "%d", 123456));
	cr_assert_str_eq(buf, "12345");
}

Test(str, parse_int_bounds_and_garbage)
{
	int64_t v = 7;

	cr_assert_eq(drv_parse_int("42", 0, 100, &v), DRV_OK);
	cr_assert_eq(v, 42);
	cr_assert_eq(drv_parse_int("-1", 0, 100, &v), DRV_ERR_RANGE);
	cr_assert_eq(drv_parse_int("101", 0, 100, &v), DRV_ERR_RANGE);
	cr_assert_eq(drv_parse_int("4x", 0, 100, &v), DRV_ERR_INVALID);
	cr_assert_eq(drv_parse_int("", 0, 100, &v), DRV_ERR_INVALID);
	cr_assert_eq(drv_parse_int(" 4", 0, 100, &v), DRV_ERR_INVALID);
	cr_assert_eq(drv_parse_int("99999999999999999999", 0, INT64_MAX, &v),
		     DRV_ERR_RANGE);
	cr_assert_eq(v, 42, "value must be untouched on error");
}

Test(str, parse_bool)
{
	bool b = false;

	cr_assert_eq(drv_parse_bool("Yes", &b), DRV_OK);
	cr_assert(b);
	cr_assert_eq(drv_parse_bool("off", &b), DRV_OK);
	cr_assert_not(b);
	cr_assert_eq(drv_parse_bool("maybe", &b), DRV_ERR_INVALID);
}

Test(str, parse_duration_units)
{
	static const struct { const char *in; int64_t ms; } ok[] = {
		{ "1500", 1500 }, { "250ms", 250 }, { "30s", 30000 },
		{ "5m", 300000 }, { "2h", 7200000 }, { "30d", 2592000000LL },
		{ "1m30s", 90000 }, { "0s", 0 },
	};
	static const char *bad[] = { "", "s", "10x", "1.5s", "-1s", "10 s", "m5" };
	int64_t ms;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(drv_parse_duration(ok[i].in, &ms), DRV_OK, "%s", ok[i].in);
		cr_assert_eq(ms, ok[i].ms, "%s", ok[i].in);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(drv_parse_duration(bad[i], &ms), DRV_OK, "%s", bad[i]);
}

Test(str, format_duration_picks_largest_exact_unit)
{
	char buf[32];

	drv_format_duration(30000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "30s");
	drv_format_duration(1500, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1500ms");
	drv_format_duration(2592000000LL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "30d");
	drv_format_duration(0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0ms");
}

Test(str, edit_distance)
{
	cr_assert_eq(drv_edit_distance("brokers", "brokers"), 0);
	cr_assert_eq(drv_edit_distance("brokr", "brokers"), 2);
	cr_assert_eq(drv_edit_distance("", "abc"), 3);
}

Test(str, base64_round_trip)
{
	const char *cases[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	uint8_t *out;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = drv_base64_encode(cases[i][0], strlen(cases[i][0]));
		cr_assert_str_eq(e, cases[i][1]);
		free(e);
		cr_assert_eq(drv_base64_decode(cases[i][1], strlen(cases[i][1]),
					       &out, &len), DRV_OK);
		cr_assert_eq(len, strlen(cases[i][0]));
		cr_assert_eq(memcmp(out, cases[i][0], len), 0);
		free(out);
	}
	cr_assert_eq(drv_base64_decode("Zm9v!", 5, &out, &len),
		     DRV_ERR_INVALID);
	cr_assert_eq(drv_base64_decode("Z", 1, &out, &len), DRV_ERR_INVALID);
}
