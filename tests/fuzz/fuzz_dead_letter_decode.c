/*
 * drover — libFuzzer harness: drv_dead_letter_decode() on arbitrary bytes,
 * as `droverctl dlq` and the API read a dead-letter topic (the worker
 * writes it, but whoever can write the topic can write anything). A dead
 * letter that decodes is rendered as JSON too, and its failure group made
 * (the normalised message, drover/dlq_groups.h). Must never crash, leak or
 * take long.
 */
#include <stdlib.h>

#include "drover/dead_letter.h"
#include "drover/dlq_groups.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drv_dead_letter_t dl;
	char err[256];

	drv_dead_letter_init(&dl);
	if (drv_dead_letter_decode(data, size, &dl, err, sizeof(err)) == DRV_OK) {
		drv_dlq_group_key_t k;

		free(drv_dead_letter_to_json(&dl));
		drv_dlq_group_of(&dl, &k);
	}
	drv_dead_letter_release(&dl);
	return 0;
}
