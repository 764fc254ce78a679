/*
 * drover — libFuzzer harness: the YAML config (drv_config_load_string),
 * the operator's file that every daemon and droverctl reads, with an empty
 * environment so ${VAR} references resolve to nothing. Must never crash,
 * leak or take long (aliases are capped).
 */
#include "drover/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const envp[] = {NULL};
	drv_config_t *cfg = NULL;
	char err[512];

	if (drv_config_load_string("fuzz.yaml", (const char *)data, size, envp,
				   &cfg, err, sizeof(err)) == DRV_OK)
		drv_config_destroy(cfg);
	return 0;
}
