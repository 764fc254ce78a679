/*
 * drover — libFuzzer harness: TZif images (drv_tz_parse), with their POSIX
 * TZ footer, as a schedule's time zone reads them from the zoneinfo folder
 * an operator mounts. A zone that parses is asked for offsets, civil times
 * and local-to-UTC mappings across its table and past it (where the footer
 * rule applies), and for the next fire of a daily cron in it. Must never
 * crash, leak or loop.
 */
#include "drover/cron.h"
#include "drover/tz.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t at[] = {-2208988800, 0, 1000000000, 1767225600,
				     4102444800, 253402300799};
	drv_tz_t *tz = NULL;
	drv_cron_t *c = NULL;
	char err[256];
	drv_civil_t civ;
	drv_tz_local_t how;
	const char *abbr;
	bool dst;
	int64_t next;

	if (drv_tz_parse("fuzz", data, size, &tz, err, sizeof(err)) != DRV_OK)
		return 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		(void)drv_tz_offset(tz, at[i], &dst, &abbr);
		drv_tz_to_civil(tz, at[i], &civ);
		(void)drv_tz_from_local(tz, at[i], &how);
	}
	if (drv_cron_parse("30 2 * * *", &c, err, sizeof(err)) == DRV_OK)
		(void)drv_cron_next(c, tz, 1767225600000, &next);
	drv_cron_free(c);
	drv_tz_free(tz);
	return 0;
}
