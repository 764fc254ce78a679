/*
 * drover — libFuzzer harness: the DLQ patch language of `droverctl dlq
 * resubmit --set` and the API (core/patch.c). The input's first line is
 * one operation (KEY.PATH=VALUE or a JSON merge patch, drv_patch_add); the
 * rest is the payload it is applied to (drv_patch_apply). Must never
 * crash or leak.
 */
#include "drover/patch.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload;
	size_t payload_len, out_len;
	char *op = fuzz_split(data, size, &payload, &payload_len);
	char *out = NULL, err[256];
	drv_patch_t p;

	drv_patch_init(&p);
	if (drv_patch_add(&p, op, err, sizeof(err)) == DRV_OK) {
		free(drv_patch_json(&p));
		if (drv_patch_apply(&p, payload, payload_len, &out, &out_len,
				    err, sizeof(err)) == DRV_OK)
			free(out);
	}
	drv_patch_release(&p);
	free(op);
	return 0;
}
