/*
 * drover — libFuzzer harness: the JSON submissions of the API and of
 * droverctl (core/submit_json.c). The input is a JSON document; when it
 * parses, it is read both as a task (drv_task_from_json, no config: any
 * handler and no policy list) and as an event (drv_event_from_json). Must
 * never crash or leak, also on the partial task an error leaves behind.
 */
#include <jansson.h>
#include <stdlib.h>

#include "drover/submit_json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	char ptr[128], err[256];
	drv_task_t t;
	drv_event_t e;

	if (!o)
		return 0;
	drv_task_init(&t);
	(void)drv_task_from_json(o, NULL, 1767225600000, &t, ptr, sizeof(ptr),
				 err, sizeof(err));
	drv_task_release(&t);
	drv_event_init(&e);
	(void)drv_event_from_json(o, "fuzz", 1767225600000, &e, ptr,
				  sizeof(ptr), err, sizeof(err));
	drv_event_release(&e);
	json_decref(o);
	return 0;
}
