/*
 * dead_letter_export.c — the export format of dead letters: one line of
 * JSON per DLQ message, what `droverctl dlq export` prints, `dlq import`
 * reads back and the coordinator's DLQ archive holds. The DeadLetter
 * message itself rides along as "message_base64" so an import restores it
 * exactly.
 */
#include <stdlib.h>

#include <jansson.h>

#include "drover/dead_letter.h"
#include "drover/str.h"

/* An undecodable message: the error, the raw value as
 * drv_dead_letter_to_json() renders raw bytes (JSON when they parse, else
 * base64), the Kafka timestamp. */
static json_t *undecodable_json(const void *value, size_t value_len,
				const char *decode_error,
				int64_t timestamp_ms)
{
	drv_dead_letter_t tmp;
	json_t *full, *obj;
	char *s;

	drv_dead_letter_init(&tmp);
	tmp.raw = (uint8_t *)value;
	tmp.raw_len = value_len;
	s = drv_dead_letter_to_json(&tmp);
	full = s ? json_loads(s, 0, NULL) : NULL;
	free(s);
	obj = json_pack("{s:b, s:s}", "undecodable_entry", 1, "error",
			decode_error ? decode_error : "");
	if (obj && full) {
		json_t *raw = json_object_get(full, "raw");
		json_t *b64 = json_object_get(full, "raw_base64");

		if (raw)
			json_object_set(obj, "raw", raw);
		if (b64)
			json_object_set(obj, "raw_base64", b64);
	}
	json_decref(full);
	if (obj && timestamp_ms >= 0)
		json_object_set_new(obj, "timestamp_ms",
				    json_integer(timestamp_ms));
	return obj;
}

char *drv_dead_letter_export_json(const drv_dead_letter_t *dl,
				  const void *value, size_t value_len,
				  const char *decode_error,
				  int64_t timestamp_ms, int32_t partition,
				  int64_t offset)
{
	json_t *obj;
	char *s;

	if (dl) {
		char *b64;

		if (!(s = drv_dead_letter_to_json(dl)))
			return NULL;
		obj = json_loads(s, 0, NULL);
		free(s);
		/* the message itself, so `dlq import` restores it exactly */
		if (obj && !(b64 = drv_base64_encode(value, value_len))) {
			json_decref(obj);
			return NULL;
		}
		if (obj) {
			json_object_set_new(obj, "message_base64",
					    json_string(b64));
			free(b64);
		}
	} else
		obj = undecodable_json(value, value_len, decode_error,
				       timestamp_ms);
	if (!obj)
		return NULL;
	json_object_set_new(obj, "dlq_partition", json_integer(partition));
	json_object_set_new(obj, "dlq_offset", json_integer(offset));
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return s;
}
