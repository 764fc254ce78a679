/*
 * drover — libFuzzer harness: drv_event_decode_any() on arbitrary bytes,
 * the way the coordinator reads the event topic: plain JSON when the first
 * non-blank byte is '{', else protobuf (core/codec_event.c). An event that
 * decodes is rendered as JSON too. Must never crash, leak or take long.
 */
#include <stdlib.h>

#include "drover/event.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drv_event_t e;
	char err[256];

	drv_event_init(&e);
	if (drv_event_decode_any(data, size, &e, err, sizeof(err)) == DRV_OK)
		free(drv_event_to_json(&e));
	drv_event_release(&e);
	return 0;
}
