/*
 * drover — libFuzzer harness: drv_task_decode() on arbitrary bytes, the
 * way the worker reads a record of a task topic that anyone with write
 * access may produce. A task that decodes is rendered as JSON too (what
 * droverctl prints), so every decoded field is read once. Must never
 * crash, leak or take long, whatever the bytes.
 */
#include <stdlib.h>

#include "drover/task.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drv_task_t t;
	char err[256];

	drv_task_init(&t);
	if (drv_task_decode(data, size, &t, err, sizeof(err)) == DRV_OK)
		free(drv_task_to_json(&t));
	drv_task_release(&t);
	return 0;
}
