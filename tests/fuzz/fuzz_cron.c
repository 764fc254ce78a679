/*
 * drover — libFuzzer harness: cron expressions as a schedule writes them
 * (drv_cron_parse), and the next fire time of what parses
 * (drv_cron_next, UTC) from a few instants: the epoch, 2026, just before
 * the last second RFC 3339 can write, and a negative one. The input is the
 * expression. Must never crash, leak, or search without bound.
 */
#include "drover/cron.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t after[] = {0, 1767225600000, 253402300700000,
					-86400000};
	char *expr = fuzz_cstr(data, size);
	drv_cron_t *c = NULL;
	char err[256];
	int64_t next;

	if (drv_cron_parse(expr, &c, err, sizeof(err)) == DRV_OK) {
		(void)drv_cron_has_seconds(c);
		for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++)
			(void)drv_cron_next(c, NULL, after[i], &next);
	}
	drv_cron_free(c);
	free(expr);
	return 0;
}
