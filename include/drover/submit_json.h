/*
 * drover — submissions written as JSON: a task (the body of the API's
 * POST /tasks, one item of POST /tasks/batch) or an event (POST /events).
 * A task's field names are the long options of `droverctl task submit`:
 *
 *   {"handler": "resize", "payload": {...}, "priority": 8, "key": "k",
 *    "idempotency_key": "k", "max_attempts": 3, "policy": "fast",
 *    "delay": "30s", "deadline": "1h", "labels": {"customer": "42"}}
 *
 * Only handler is required. delay and deadline are durations as the config
 * writes them ("250ms", "5m") or whole milliseconds. Unknown fields are
 * refused, so a typo never passes silently. An event's are those of
 * `droverctl event emit`:
 *
 *   {"type": "order.created", "payload": {...}, "source": "shop",
 *    "id": "evt-1", "attributes": {"region": "eu"}}
 *
 * Only type is required; id defaults to a new ULID, so give one to make a
 * retried emit count once (triggers act on an event id once).
 */
#ifndef DROVER_SUBMIT_JSON_H
#define DROVER_SUBMIT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/event.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

/**
 * @brief Fill the initialised, empty \p t from the submission \p o and
 *        stamp it: a new id, created at \p now_ms, not before now + delay,
 *        deadline now + deadline. When \p cfg lists handlers, the handler
 *        must be one of them; a policy must be one \p cfg knows.
 * @param o        borrowed; any JSON value (a non-object is refused).
 * @param pointer  receives the JSON Pointer (RFC 6901) of the field at
 *                 fault, "" when the whole value is; \p pointer_size bytes.
 * @returns DRV_OK; DRV_ERR_INVALID with \p errstr and \p pointer set (\p t
 *          then holds a partial task the caller releases as usual);
 *          DRV_ERR_NOMEM.
 * @locality any thread; \p cfg is only read.
 */
drv_err_t drv_task_from_json(const struct json_t *o, const drv_config_t *cfg,
			     int64_t now_ms, drv_task_t *t,
			     char *pointer, size_t pointer_size,
			     char *errstr, size_t errstr_size);

/**
 * @brief Fill the initialised, empty \p e from the event \p o, at
 *        \p now_ms, with \p source when the event names none (borrowed).
 *        Errors as for drv_task_from_json().
 * @locality any thread.
 */
drv_err_t drv_event_from_json(const struct json_t *o, const char *source,
			      int64_t now_ms, drv_event_t *e,
			      char *pointer, size_t pointer_size,
			      char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_SUBMIT_JSON_H */
