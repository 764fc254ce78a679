/*
 * drover — libFuzzer harness: a trigger's payload template filled in from
 * an event (coordinator/template.c, coord_template_fill). The input's first
 * line is the template; the rest is the event, decoded as the coordinator
 * decodes one (JSON or protobuf), or, when it does not decode, taken as the
 * payload of an event with that id and type. Must never crash or leak; and
 * a template that is a JSON document must give a JSON document, whatever
 * the event holds (an event producer cannot break out of the place a
 * placeholder stands in).
 */
#include <jansson.h>

#include "coord.h"
#include "drover/event.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *rest;
	size_t rest_len;
	char *tmpl = fuzz_split(data, size, &rest, &rest_len), *out, err[256];
	json_t *doc;
	drv_event_t e;

	drv_event_init(&e);
	if (drv_event_decode_any(rest, rest_len, &e, err, sizeof(err))) {
		drv_event_init(&e);
		if (!(e.id = strdup("01JFUZZ000000000000000000Z")) ||
		    !(e.type = strdup("fuzz.event")))
			abort();
		if (drv_event_set_payload(&e, rest, rest_len) != DRV_OK)
			abort();
	}
	out = coord_template_fill(tmpl, &e);
	if (!out)
		abort();
	if ((doc = json_loads(tmpl, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL))) {
		json_t *got = json_loads(out, JSON_DECODE_ANY | JSON_ALLOW_NUL,
					 NULL);

		if (!got)
			abort();  /* the event broke the template's JSON */
		json_decref(got);
		json_decref(doc);
	}
	free(out);
	drv_event_release(&e);
	free(tmpl);
	return 0;
}
