/*
 * Unit tests for droverctl's payload patches (ctl/patch.c): RFC 7386 merge
 * patches (the RFC's appendix examples), KEY.PATH=VALUE assignments, bad
 * patches and payloads; and the deterministic resubmission id.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/patch.h"

/* Apply the --set texts (NULL-terminated) to \p payload and compare the
 * compact result with \p want. */
static void check(const char *payload, const char *want, ...)
{
	drv_patch_t p;
	char err[256], *out = NULL;
	const char *op;
	size_t len = 0;
	va_list ap;
	json_t *got, *exp;

	drv_patch_init(&p);
	va_start(ap, want);
	while ((op = va_arg(ap, const char *)))
		cr_assert_eq(drv_patch_add(&p, op, err, sizeof(err)), DRV_OK,
			     "%s: %s", op, err);
	va_end(ap);
	cr_assert_eq(drv_patch_apply(&p, payload, strlen(payload), &out, &len,
				     err, sizeof(err)), DRV_OK, "%s", err);
	got = json_loads(out, JSON_DECODE_ANY, NULL);
	exp = json_loads(want, JSON_DECODE_ANY, NULL);
	cr_assert(got && exp, "bad JSON: %s / %s", out, want);
	cr_assert(json_equal(got, exp), "got %s, want %s", out, want);
	cr_assert_eq(len, strlen(out));
	json_decref(got);
	json_decref(exp);
	free(out);
	drv_patch_release(&p);
}

Test(patch, rfc7386_examples)
{
	check("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}", NULL);
	check("{\"a\":\"b\"}", "{\"a\":\"b\",\"b\":\"c\"}", "{\"b\":\"c\"}",
	      NULL);
	check("{\"a\":\"b\"}", "{}", "{\"a\":null}", NULL);
	check("{\"a\":\"b\",\"b\":\"c\"}", "{\"b\":\"c\"}", "{\"a\":null}",
	      NULL);
	check("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}", NULL);
	check("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}", NULL);
	check("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\"}}",
	      "{\"a\":{\"b\":\"d\",\"c\":null}}", NULL);
	check("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}", NULL);
	check("{\"e\":null}", "{\"e\":null,\"a\":1}", "{\"a\":1}", NULL);
	check("[1,2]", "{\"a\":\"b\"}", "{\"a\":\"b\"}", NULL);
	check("{}", "{\"a\":{\"bb\":{}}}", "{\"a\":{\"bb\":{\"ccc\":null}}}",
	      NULL);
}

Test(patch, key_paths)
{
	check("{\"a\":1}", "{\"a\":1,\"ok\":true}", "ok=true", NULL);
	check("{\"a\":1}", "{\"a\":1,\"name\":\"bob\"}", "name=bob", NULL);
	check("{\"a\":1}", "{\"a\":1,\"n\":\"42x\"}", "n=42x", NULL);
	check("{\"a\":1}", "{\"a\":1,\"s\":\"42\"}", "s=\"42\"", NULL);
	check("{\"a\":{\"b\":1,\"c\":2}}", "{\"a\":{\"b\":7,\"c\":2}}",
	      "a.b=7", NULL);
	check("{\"a\":3}", "{\"a\":{\"b\":{\"c\":[1]}}}", "a.b.c=[1]", NULL);
	check("{\"a\":1,\"b\":2}", "{\"b\":2}", "a=null", NULL);
	check("{}", "{\"e\":\"\"}", "e=", NULL);
	check("{}", "{\"url\":\"http://x/?a=b\"}", "url=http://x/?a=b", NULL);
	/* in order: later wins */
	check("{}", "{\"a\":2,\"b\":1}", "a=1", "{\"b\":1}", "a=2", NULL);
	/* an empty payload is {} */
	check("", "{\"x\":1}", "x=1", NULL);
	/* no operation: the payload as it was */
	check("[1, 2]", "[1,2]", NULL);
}

Test(patch, bad_patches)
{
	const char *bad[] = { "{bad", "{\"a\":1", "noequals", "=1", ".a=1",
			      "a..b=1", "a.=1", NULL };
	drv_patch_t p;
	char err[256];

	drv_patch_init(&p);
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		cr_assert_eq(drv_patch_add(&p, bad[i], err, sizeof(err)),
			     DRV_ERR_INVALID, "%s accepted", bad[i]);
		cr_assert(strlen(err) > 0);
	}
	cr_assert_eq(p.cnt, 0);
	drv_patch_release(&p);
}

Test(patch, payload_not_json)
{
	drv_patch_t p;
	char err[256], *out = NULL;
	size_t len;

	drv_patch_init(&p);
	cr_assert_eq(drv_patch_add(&p, "a=1", err, sizeof(err)), DRV_OK);
	cr_assert_eq(drv_patch_apply(&p, "not json", 8, &out, &len, err,
				     sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "not JSON"), "%s", err);
	cr_assert_null(out);
	drv_patch_release(&p);
}

Test(patch, audit_json)
{
	drv_patch_t p;
	char err[256], *s;

	drv_patch_init(&p);
	cr_assert_eq(drv_patch_add(&p, "a.b=1", err, sizeof(err)), DRV_OK);
	cr_assert_eq(drv_patch_add(&p, "{\"c\":null}", err, sizeof(err)),
		     DRV_OK);
	s = drv_patch_json(&p);
	cr_assert_str_eq(s, "[{\"a\":{\"b\":1}},{\"c\":null}]");
	free(s);
	drv_patch_release(&p);
}

Test(resubmit_id, deterministic_valid_distinct)
{
	const char *dl = "01HZY3K4M5N6P7Q8R9S0T1V2W3";
	char a[DRV_ID_LEN + 1], b[DRV_ID_LEN + 1], c[DRV_ID_LEN + 1];

	drv_dlq_resubmit_id(dl, 0, a);
	drv_dlq_resubmit_id(dl, 0, b);
	drv_dlq_resubmit_id(dl, 1, c);
	cr_assert_str_eq(a, b);
	cr_assert_str_neq(a, c);
	cr_assert(drv_id_valid(a), "%s", a);
	cr_assert(drv_id_valid(c), "%s", c);
	cr_assert(!strncmp(a, dl, 10), "keeps the time part: %s", a);
	drv_dlq_resubmit_id("01HZY3K4M5N6P7Q8R9S0T1V2W4", 0, c);
	cr_assert_str_neq(a, c);
}
