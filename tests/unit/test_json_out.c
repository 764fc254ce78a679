/*
 * Unit tests for the compact JSON writer: its text must be byte for byte
 * what jansson's json_dumps(JSON_COMPACT) makes of the same members, and it
 * must refuse (or, lossy, repair) the strings jansson refuses.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/json_out.h"

/* Strings that exercise escaping and UTF-8 checking. */
static const char *const samples[] = {
	"", "plain", "with \"quotes\" and \\backslash\\", "a/b",
	"tab\there\nnewline\rreturn\bback\fform", "\x01\x02\x1f\x7f",
	"caf\xc3\xa9", "\xe2\x82\xac euro", "\xf0\x9f\x98\x80 emoji",
	"\xed\x9f\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
	/* not UTF-8 */
	"\xc3", "\xc3\x28", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
	"\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
	"ok \x80 then", "\xe2\x82", "\xf0\x9f\x98",
};
#define SAMPLE_CNT (sizeof(samples) / sizeof(samples[0]))

static char *jansson_one(const char *key, json_t *v)
{
	json_t *o = json_object();
	char *s;

	cr_assert_not_null(o);
	if (v)
		json_object_set_new(o, key, v);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

Test(json_out, strings_match_jansson)
{
	for (size_t i = 0; i < SAMPLE_CNT; i++) {
		json_t *v = json_string(samples[i]);
		char *want = jansson_one("k\"ey", v);
		drv_jout_t j;
		char *got;
		bool ok;

		drv_jout_begin(&j);
		ok = drv_jout_str(&j, "k\"ey", samples[i]);
		got = drv_jout_end(&j);
		cr_assert_eq(ok, v != NULL, "sample %zu", i);
		cr_assert_eq(drv_jout_utf8_ok(samples[i]), v != NULL,
			     "sample %zu", i);
		cr_assert_str_eq(got, want, "sample %zu", i);
		free(got);
		free(want);
	}
}

/* Random bytes: the UTF-8 check agrees with jansson's on every one. */
Test(json_out, utf8_check_matches_jansson_on_random_bytes)
{
	uint64_t x = 88172645463325252ULL;

	for (int n = 0; n < 20000; n++) {
		char s[8];
		size_t len = 1 + (size_t)(n % 6);
		json_t *v;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* mostly high bytes, where the rules are */
			s[i] = (char)(x % 5 ? 0x80 | (x >> 8)
					    : 1 + (x >> 8) % 127);
		}
		s[len] = '\0';
		v = json_string(s);
		cr_assert_eq(drv_jout_utf8_ok(s), v != NULL, "case %d", n);
		json_decref(v);
	}
}

Test(json_out, lossy_replaces_high_bytes_of_bad_utf8_only)
{
	drv_jout_t j;
	char *got;

	drv_jout_begin(&j);
	drv_jout_str_lossy(&j, "a", "caf\xc3\xa9");
	drv_jout_str_lossy(&j, "b", "bad \xff\xc3\xa9 \"x\"");
	got = drv_jout_end(&j);
	cr_assert_str_eq(got, "{\"a\":\"caf\xc3\xa9\","
			 "\"b\":\"bad ??? \\\"x\\\"\"}");
	free(got);
}

Test(json_out, integers_nested_null_and_undo_match_jansson)
{
	static const int64_t nums[] = { 0, 1, -1, 42, 1700000000123LL,
					INT64_MAX, INT64_MIN };
	json_t *o = json_object(), *in = json_object();
	drv_jout_t j;
	size_t mark;
	char *want, *got;

	drv_jout_begin(&j);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		char k[8] = { 'n', (char)('0' + i), 0 };

		json_object_set_new(o, k, json_integer(nums[i]));
		drv_jout_int(&j, k, nums[i]);
	}
	json_object_set_new(in, "s", json_null());
	json_object_set_new(in, "t", json_string("x"));
	json_object_set_new(o, "in", in);
	json_object_set_new(o, "empty", json_object());
	drv_jout_open(&j, "in");
	drv_jout_str_or_null(&j, "s", NULL);
	drv_jout_str_or_null(&j, "t", "x");
	drv_jout_close(&j);
	drv_jout_open(&j, "empty");
	drv_jout_close(&j);
	mark = drv_jout_mark(&j);
	drv_jout_open(&j, "gone");
	cr_assert_not(drv_jout_str_or_null(&j, "bad", "\xff"));
	drv_jout_undo(&j, mark);
	want = json_dumps(o, JSON_COMPACT);
	got = drv_jout_end(&j);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	json_decref(o);
}

Test(json_out, empty_object_and_long_text)
{
	drv_jout_t j;
	char *got, *big = malloc(10000);

	drv_jout_begin(&j);
	got = drv_jout_end(&j);
	cr_assert_str_eq(got, "{}");
	free(got);

	memset(big, '\n', 9999);
	big[9999] = '\0';
	drv_jout_begin(&j);
	drv_jout_str(&j, "big", big);
	got = drv_jout_end(&j);
	cr_assert_eq(strlen(got), strlen("{\"big\":\"\"}") + 2 * 9999);
	free(got);
	free(big);
}
