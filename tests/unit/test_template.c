/*
 * Unit tests for trigger payload templates (coordinator/template.c): every
 * placeholder filled in, and what an event producer writes (a payload, an
 * attribute) never breaks out of the JSON place the template puts it in.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../coordinator/coord.h"

static drv_event_t ev(const char *payload)
{
	drv_event_t e;

	drv_event_init(&e);
	e.id = strdup("01J0000000000000000000000A");
	e.type = strdup("order.created");
	if (payload)
		cr_assert_eq(drv_event_set_payload(&e, payload,
						   strlen(payload)), DRV_OK);
	return e;
}

/* Fills \p tmpl, checks it is JSON and returns it parsed. */
static json_t *fill_json(const char *tmpl, const drv_event_t *e)
{
	char *s = coord_template_fill(tmpl, e);
	json_error_t jerr;
	json_t *j;

	cr_assert_not_null(s);
	j = json_loads(s, JSON_DECODE_ANY, &jerr);
	cr_assert_not_null(j, "'%s' is not JSON: %s", s, jerr.text);
	free(s);
	return j;
}

Test(template, placeholders_filled_in)
{
	drv_event_t e = ev("{\"n\":1,\"x\":0.1}");
	char *s;

	cr_assert_eq(drv_event_set_attribute(&e, "region", "eu"), DRV_OK);
	s = coord_template_fill("{\"id\":\"${event.id}\",\"t\":\"${event.type}"
				"\",\"r\":\"${attr.region}\",\"p\":"
				"${event.payload},\"u\":\"${nope}\"}", &e);
	cr_assert_str_eq(s, "{\"id\":\"01J0000000000000000000000A\","
			 "\"t\":\"order.created\",\"r\":\"eu\","
			 "\"p\":{\"n\":1,\"x\":0.1},\"u\":\"${nope}\"}");
	free(s);
	drv_event_release(&e);
}

Test(template, empty_payload_is_null)
{
	drv_event_t e = ev(NULL);
	char *s = coord_template_fill("{\"p\":${event.payload}}", &e);

	cr_assert_str_eq(s, "{\"p\":null}");
	free(s);
	drv_event_release(&e);
}

Test(template, payload_cannot_add_members)
{
	/* raw, this made {"p":1,"admin":true} */
	drv_event_t e = ev("1,\"admin\":true");
	json_t *j = fill_json("{\"p\":${event.payload}}", &e);

	cr_assert_eq(json_object_size(j), 1);
	cr_assert_str_eq(json_string_value(json_object_get(j, "p")),
			 "1,\"admin\":true");
	json_decref(j);
	drv_event_release(&e);
}

Test(template, payload_cannot_close_the_object)
{
	drv_event_t e = ev("{}}, {\"x\":1");
	json_t *j = fill_json("[${event.payload}]", &e);

	cr_assert_eq(json_array_size(j), 1);
	cr_assert_str_eq(json_string_value(json_array_get(j, 0)),
			 "{}}, {\"x\":1");
	json_decref(j);
	drv_event_release(&e);
}

Test(template, quote_in_payload_inside_a_string_is_escaped)
{
	drv_event_t e = ev("say \"hi\", \\ \n");
	json_t *j = fill_json("{\"msg\":\"got: ${event.payload}\"}", &e);

	cr_assert_eq(json_object_size(j), 1);
	cr_assert_str_eq(json_string_value(json_object_get(j, "msg")),
			 "got: say \"hi\", \\ \n");
	json_decref(j);
	drv_event_release(&e);
}

Test(template, attribute_outside_a_string_is_one_value)
{
	drv_event_t e = ev(NULL);
	json_t *j;

	cr_assert_eq(drv_event_set_attribute(&e, "n", "5"), DRV_OK);
	cr_assert_eq(drv_event_set_attribute(&e, "evil", "1],\"x\":[2"),
		     DRV_OK);
	j = fill_json("{\"n\":${attr.n},\"e\":[${attr.evil}]}", &e);
	cr_assert_eq(json_object_size(j), 2);
	cr_assert_eq(json_integer_value(json_object_get(j, "n")), 5);
	cr_assert_eq(json_array_size(json_object_get(j, "e")), 1);
	json_decref(j);
	drv_event_release(&e);
}

Test(template, escaped_quotes_in_the_template_keep_the_context)
{
	drv_event_t e = ev("\"");
	json_t *j = fill_json("{\"a\":\"x\\\"${event.payload}\","
			      "\"b\":${event.payload}}", &e);

	cr_assert_str_eq(json_string_value(json_object_get(j, "a")),
			 "x\"\"");
	cr_assert_str_eq(json_string_value(json_object_get(j, "b")), "\"");
	json_decref(j);
	drv_event_release(&e);
}

/* Found by tests/fuzz/fuzz_template.c: "${attr." opened in one string and
 * closed by the object's '}' took the quotes between for a name, and the
 * JSON template gave text that is not JSON. "${" before a quote is text. */
Test(template, a_placeholder_never_reaches_past_a_string)
{
	drv_event_t e = ev("{}");
	const char *tmpl = "{\"p\":\"${attr.x\",\"q\":\"$y01B\",\"t\":\"t\"}";
	char *s;

	s = coord_template_fill(tmpl, &e);
	cr_assert_str_eq(s, tmpl);
	free(s);
	s = coord_template_fill("{\"a\":\"${event.type} ${attr.a b}\"}", &e);
	cr_assert_str_eq(s, "{\"a\":\"order.created ${attr.a b}\"}");
	free(s);
	drv_event_release(&e);
}
