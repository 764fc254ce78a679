/*
 * 0001 — `droverctl topics ensure` creates every topic the config implies,
 * is idempotent, and reports a topic with too few partitions.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(topics, ensure_is_idempotent, .timeout = 120)
{
	it_ctx_t ctx;
	char *out = NULL;

	it_setup(&ctx, "  noop:\n    command: [\"true\"]\n");
	cr_assert_eq(it_ctl(&ctx, &out, "topics", "ensure", "--json", NULL), 0,
		     "first ensure: %s", out);
	/* 3 bands + 5 delay tiers + dlq + events + audit */
	cr_assert_eq(count_lines(out, "\"state\":\"created\""), 11, "%s", out);
	cr_assert(strstr(out, ".dlq\""), "%s", out);
	free(out);

	cr_assert_eq(it_ctl(&ctx, &out, "topics", "ensure", "--json", NULL), 0,
		     "second ensure: %s", out);
	cr_assert_eq(count_lines(out, "\"state\":\"ok\""), 11, "%s", out);
	cr_assert_eq(count_lines(out, "\"partitions\":4,"), 11, "%s", out);
	free(out);
	it_teardown(&ctx);
}

Test(topics, too_few_partitions_is_reported, .timeout = 120)
{
	it_ctx_t ctx;
	char *out = NULL;

	it_setup(&ctx, "  noop:\n    command: [\"true\"]\n");
	it_topics(&ctx);
	/* the same topics, now asked for with more partitions */
	setenv("DROVER_KAFKA_PARTITIONS", "8", 1);
	cr_assert_eq(it_ctl(&ctx, &out, "topics", "ensure", NULL), 1, "%s", out);
	unsetenv("DROVER_KAFKA_PARTITIONS");
	cr_assert(strstr(out, "too-few-partitions"), "%s", out);
	cr_assert(strstr(out, "has 4 partitions, config asks for 8"), "%s", out);
	free(out);
	it_teardown(&ctx);
}
