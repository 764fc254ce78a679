/*
 * drover — the event: something that happened ("order.created",
 * "task.succeeded") which triggers may turn into tasks. Events travel on
 * drover.events (and on external topics) either as a protobuf
 * `drover.v1.Event` or as plain JSON with a "type" member, so producers need
 * no protobuf. This header is the only view of an event outside the core.
 *
 * Lifecycle: drv_event_init() an embedded or stack drv_event_t (no
 * allocation), fill it, drv_event_release() it. Every pointer field is owned
 * by the event and freed by release; optional strings are NULL when absent.
 */
#ifndef DROVER_EVENT_H
#define DROVER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"
#include "drover/task.h" /* drv_label_t, DRV_SCHEMA_VERSION */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drv_event {
	uint32_t schema_version;  /**< writer's schema; set by init/decode */
	char    *id;              /**< unique id (a ULID when drover makes it) */
	char    *type;            /**< "order.created"...; required */
	char    *source;          /**< producer name, NULL = unknown */
	int64_t  time_ms;         /**< when it happened, ms since epoch */
	uint8_t *payload;         /**< the body */
	size_t   payload_len;
	char    *content_type;    /**< e.g. "application/json", NULL = unknown */
	drv_label_t *attributes;  /**< owned array; keys unique, non-empty */
	size_t   attribute_cnt;
	char    *task_id;         /**< task lifecycle events: the task */
	uint32_t chain_depth;     /**< tasks chained so far (loop guard) */
} drv_event_t;

/** @brief Zero \p e and set the schema version. Allocates nothing. */
void drv_event_init(drv_event_t *e);

/** @brief Free everything \p e owns and re-init it; \p e itself is not
 *         freed. */
void drv_event_release(drv_event_t *e);

/** @brief Init \p e as a new event made here: a new id, the time now,
 *         \p type, \p source and \p payload as its JSON text (the caller
 *         keeps all four). Release \p e with drv_event_release() whatever
 *         the outcome.
 *  @returns DRV_OK or DRV_ERR_NOMEM. */
struct json_t;
drv_err_t drv_event_new_json(drv_event_t *e, const char *type,
			     const char *source, const struct json_t *payload);

/** @brief Replace the payload with a copy of \p len bytes (\p data may be
 *         NULL when \p len is 0). The caller keeps \p data.
 *  @returns DRV_OK or DRV_ERR_NOMEM (payload unchanged). */
drv_err_t drv_event_set_payload(drv_event_t *e, const void *data, size_t len);

/** @brief Add or replace an attribute; copies both strings, the caller keeps
 *         them. A NULL \p value removes the attribute.
 *  @returns DRV_OK, DRV_ERR_INVALID (NULL or empty key) or DRV_ERR_NOMEM. */
drv_err_t drv_event_set_attribute(drv_event_t *e, const char *key,
				  const char *value);

/** @brief The attribute's value, or NULL. The string stays owned by \p e. */
const char *drv_event_attribute(const drv_event_t *e, const char *key);

/**
 * @brief Check an event's invariants: id and type present and non-empty,
 *        attribute keys non-empty.
 * @returns DRV_OK or DRV_ERR_INVALID with the problem in \p errstr.
 */
drv_err_t drv_event_validate(const drv_event_t *e, char *errstr,
			     size_t errstr_size);

/**
 * @brief Encode \p e as a protobuf `drover.v1.Event` (validated first;
 *        deterministic: attributes sorted by key).
 * @param out  receives a malloc'd buffer the caller frees with free();
 *             untouched on error.
 * @returns DRV_OK, DRV_ERR_INVALID or DRV_ERR_NOMEM.
 */
drv_err_t drv_event_encode(const drv_event_t *e, uint8_t **out,
			   size_t *out_len, char *errstr, size_t errstr_size);

/**
 * @brief Decode a protobuf `drover.v1.Event` into the initialised \p e,
 *        which is released first.
 *
 * An event without an id gets a fresh ULID (so a redelivered copy of such a
 * message gets a different id: producers that want de-duplication set one).
 * Unknown fields are ignored. On error \p e is left initialised and empty and
 * \p errstr says why. The caller keeps \p buf.
 * @returns DRV_OK, DRV_ERR_DECODE (not an Event, or no type) or
 *          DRV_ERR_NOMEM.
 */
drv_err_t drv_event_decode(const void *buf, size_t len, drv_event_t *e,
			   char *errstr, size_t errstr_size);

/**
 * @brief Decode an event that is either plain JSON or protobuf.
 *
 * If the first non-whitespace byte is '{' the value is a JSON object:
 *  - "type" (string) is required;
 *  - "id" (string) is optional, else a fresh ULID;
 *  - "source" (string) and "time" (ms since epoch, a number) are optional;
 *    a missing time is the time of decoding;
 *  - "payload", if present, is serialised (compact JSON) as the payload;
 *    otherwise the whole object is the payload;
 *  - every other top-level member whose value is a string, number or
 *    boolean becomes an attribute (its text: "42", "true"); null, arrays
 *    and objects are not attributes;
 *  - content_type is "application/json".
 * Otherwise the bytes are decoded as a protobuf Event (drv_event_decode).
 * \p e must be initialised and is released first; on error it is left
 * empty and \p errstr says why. The caller keeps \p buf.
 * @returns DRV_OK, DRV_ERR_DECODE or DRV_ERR_NOMEM.
 */
drv_err_t drv_event_decode_any(const void *buf, size_t len, drv_event_t *e,
			       char *errstr, size_t errstr_size);

/**
 * @brief Render \p e as one line of compact JSON (payload embedded when it
 *        parses as JSON, else "payload_base64"; time as "time_ms" and RFC
 *        3339 "time"; attributes as an object).
 * @returns a malloc'd string the caller frees with free(), or NULL when out
 *          of memory.
 */
char *drv_event_to_json(const drv_event_t *e);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_EVENT_H */
