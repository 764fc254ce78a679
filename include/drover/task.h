/*
 * drover — the task: the unit of work that travels on the task, delay and
 * dead-letter topics. This header is the only view of a task outside the
 * core; the protobuf-c generated types stay inside core/.
 *
 * Lifecycle: drv_task_init() an embedded or stack drv_task_t (no
 * allocation), fill it, drv_task_release() it to free what it owns. Every
 * char * and uint8_t * field, the label and failure arrays and the strings
 * in them are owned by the task and freed by release. Optional strings are
 * NULL when absent (the wire's empty string).
 *
 * A task that is retried travels through the delay topics, and Kafka is the
 * only store, so the task itself carries the failures of its earlier
 * attempts (drv_failure_t, also used by the dead letter).
 */
#ifndef DROVER_TASK_H
#define DROVER_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Wire schema version this build writes. Readers accept any version and
 *  ignore fields they do not know (protobuf rules); a decoded object keeps
 *  the version its writer used, encoders always write this one. */
#define DRV_SCHEMA_VERSION 1

/** Length of a task id: a 26-character ULID (Crockford base32), sortable by
 *  creation time. Buffers hold DRV_ID_LEN + 1 bytes. */
#define DRV_ID_LEN 26

#define DRV_PRIORITY_MIN 1
#define DRV_PRIORITY_MAX 10
#define DRV_PRIORITY_DEFAULT 5

/** A key/value label. Both strings owned by the task. */
typedef struct drv_label {
	char *key;
	char *value;
} drv_label_t;

/** Where a task came from. All strings optional (NULL) and owned. */
typedef struct drv_origin {
	char    *schedule_id;     /**< schedule that fired it */
	int64_t  scheduled_ms;    /**< the schedule's nominal fire time */
	char    *event_id;        /**< event that triggered it */
	char    *parent_task_id;  /**< task whose lifecycle event chained it */
	uint32_t chain_depth;     /**< 0 for a root task */
	char    *dead_letter_id;  /**< dead letter it was resubmitted from */
	char    *submitted_by;    /**< user or component that submitted it */
	uint64_t fencing_token;   /**< coordinator leader epoch, 0 if none */
} drv_origin_t;

/** How one attempt failed. Values are the wire values. */
typedef enum drv_failure_class {
	DRV_FAILURE_UNSPECIFIED = 0,
	DRV_FAILURE_TRANSIENT   = 1, /**< may succeed if retried */
	DRV_FAILURE_PERMANENT   = 2, /**< will not succeed if retried */
	DRV_FAILURE_TIMEOUT     = 3, /**< ran past its time limit */
	DRV_FAILURE_CRASHED     = 4, /**< handler died (signal, lost worker) */
	DRV_FAILURE_THROTTLED   = 5, /**< refused for load (HTTP 429) */
} drv_failure_class_t;

#define DRV_FAILURE_CLASS_CNT 6

/**
 * @brief The snake_case name of \p c ("transient", "timeout"...);
 *        "unspecified" for values this build does not know.
 * @returns a static string; never NULL. Thread-safe.
 */
const char *drv_failure_class_name(drv_failure_class_t c);

/** @brief Parse a name made by drv_failure_class_name() (case-insensitive).
 *  @returns DRV_OK or DRV_ERR_INVALID (\p out untouched). Thread-safe. */
drv_err_t drv_failure_class_parse(const char *s, drv_failure_class_t *out);

/** One failed attempt. Strings optional (NULL) and owned by the task or
 *  dead letter whose array holds the failure. */
typedef struct drv_failure {
	uint32_t attempt;              /**< 1-based attempt number */
	int64_t  time_ms;              /**< when the attempt ended */
	char    *worker_id;            /**< worker that ran it */
	drv_failure_class_t failure_class;
	char    *message;              /**< error text */
	int32_t  exit_code;            /**< exec handlers; 0 = n/a */
	int32_t  http_status;          /**< http handlers; 0 = n/a */
	int64_t  duration_ms;          /**< how long the attempt ran */
} drv_failure_t;

typedef struct drv_task {
	uint32_t schema_version;   /**< writer's schema; set by init/decode */
	char     id[DRV_ID_LEN + 1];
	char    *handler;
	uint8_t *payload;          /**< bytes; JSON by convention */
	size_t   payload_len;
	uint32_t priority;         /**< 1..10, higher runs first */
	uint32_t attempt;          /**< attempts already made (0 = never run) */
	uint32_t max_attempts;     /**< 0 = the policy's default */
	char    *policy;           /**< retry policy name, NULL = handler's */
	int64_t  created_ms;       /**< ms since epoch */
	int64_t  not_before_ms;    /**< 0 = run as soon as possible */
	int64_t  deadline_ms;      /**< 0 = no deadline */
	char    *idempotency_key;  /**< NULL = none */
	char    *key;              /**< partition key, NULL = task id */
	drv_label_t *labels;       /**< owned array; keys unique, non-empty */
	size_t   label_cnt;
	drv_origin_t origin;
	drv_failure_t *failures;   /**< owned array: the failures of earlier
				        attempts, oldest first */
	size_t   failure_cnt;
} drv_task_t;

/** @brief Zero \p t and set schema version and default priority. Allocates
 *         nothing. */
void drv_task_init(drv_task_t *t);

/** @brief Free everything \p t owns (strings, payload, labels, failures)
 *         and re-init it. \p t itself is not freed (it is usually embedded
 *         or on the stack). */
void drv_task_release(drv_task_t *t);

/**
 * @brief Fill \p id_out (DRV_ID_LEN + 1 bytes) with a fresh ULID made from
 *        \p now_ms and 80 random bits. Ids made later sort after earlier ones
 *        (within one millisecond, ordering is random).
 * @remark The random bits come from getrandom(2); \p now_ms is clamped to
 *         0..2^48-1. Thread-safe; never fails.
 */
void drv_id_new(char *id_out, int64_t now_ms);

/**
 * @brief True if \p id is a well-formed ULID: exactly 26 characters of the
 *        Crockford base32 alphabet (upper case, no I L O U), first <= '7'.
 */
bool drv_id_valid(const char *id);

/** Longest idempotency key or partition key, in bytes (the task id is at
 *  most DRV_ID_LEN). Long enough for any UUID, URL-safe hash or composite
 *  business key; short enough for a Kafka key, a Redis key and an HTTP
 *  header line. */
#define DRV_TASK_KEY_MAX 256

/** Limits that keep a decode linear and a message's cost bounded, checked
 *  by drv_task_validate() (so encode) and drv_task_decode(), and for event
 *  attributes by drv_event_validate() and the event decoders: at most
 *  DRV_LABELS_MAX labels, each key 1..DRV_LABEL_KEY_MAX bytes, each value
 *  at most DRV_LABEL_VALUE_MAX bytes. A decoder refuses a message longer
 *  than DRV_MESSAGE_MAX bytes before it parses it (Kafka's own default is
 *  1 MB). */
#define DRV_LABELS_MAX      1024
#define DRV_LABEL_KEY_MAX   256
#define DRV_LABEL_VALUE_MAX 4096
#define DRV_MESSAGE_MAX     (16 * 1024 * 1024)

/**
 * @brief The one rule for the task's identifying strings (its id, its
 *        idempotency key and its partition key), which travel as HTTP
 *        header values (X-Drover-Task-Id, Idempotency-Key), Kafka keys and
 *        Redis keys: 1 to DRV_TASK_KEY_MAX bytes of printable text, i.e.
 *        printable ASCII (space included) or well-formed UTF-8, and no
 *        control character (C0 bytes 0x00-0x1f such as CR, LF and TAB, DEL
 *        0x7f, or C1 code points U+0080-U+009F).
 * @returns false for NULL, "", an over-long string or any other byte.
 *          Pure function: thread-safe, allocates nothing.
 * @remark drv_task_validate() applies it, so every producer (encode) and
 *         every consumer (decode) refuses a task that breaks it.
 */
bool drv_task_key_valid(const char *s);

/** @brief Replace the task's payload with a copy of \p len bytes (\p data
 *         may be NULL when \p len is 0, which clears it). The caller keeps
 *         \p data. @returns DRV_OK or DRV_ERR_NOMEM (payload unchanged). */
drv_err_t drv_task_set_payload(drv_task_t *t, const void *data, size_t len);

/** @brief Add (or replace) a label; copies both strings, the caller keeps
 *         them. A NULL \p value removes the label. (The limits above are
 *         checked by drv_task_validate(), not here.)
 *  @returns DRV_OK, DRV_ERR_INVALID (NULL or empty key) or DRV_ERR_NOMEM
 *           (task unchanged). */
drv_err_t drv_task_set_label(drv_task_t *t, const char *key,
			     const char *value);

/** @brief The label's value, or NULL. The string stays owned by \p t. */
const char *drv_task_label(const drv_task_t *t, const char *key);

/** @brief Append a deep copy of \p f to the task's failure history (which
 *         is kept oldest first: append in the order the attempts ended).
 *         The caller keeps \p f and its strings.
 *  @returns DRV_OK or DRV_ERR_NOMEM (\p t unchanged). */
drv_err_t drv_task_add_failure(drv_task_t *t, const drv_failure_t *f);

/**
 * @brief Check a task's invariants (id present, handler present, priority in
 *        1..10, attempt <= max_attempts when both are set, label keys
 *        non-empty, a failures array when failure_cnt > 0, every failure
 *        class one this build knows; the id, and the idempotency key and
 *        partition key when present, keep drv_task_key_valid(); labels
 *        within DRV_LABELS_MAX, DRV_LABEL_KEY_MAX, DRV_LABEL_VALUE_MAX).
 *        The problem named in \p errstr never quotes the offending bytes.
 * @returns DRV_OK or DRV_ERR_INVALID with the first problem in \p errstr.
 */
drv_err_t drv_task_validate(const drv_task_t *t, char *errstr,
			    size_t errstr_size);

/**
 * @brief Encode \p t as a protobuf `drover.v1.Task`.
 *
 * The task is validated first (DRV_ERR_INVALID), so nothing invalid is ever
 * produced. The encoding is deterministic: fields in number order, labels
 * sorted by key, failures in array order, schema_version =
 * DRV_SCHEMA_VERSION.
 * @param out  receives a malloc'd buffer the caller frees with free();
 *             untouched on error.
 * @returns DRV_OK, DRV_ERR_INVALID or DRV_ERR_NOMEM.
 */
drv_err_t drv_task_encode(const drv_task_t *t, uint8_t **out, size_t *out_len,
			  char *errstr, size_t errstr_size);

/**
 * @brief Decode a protobuf `drover.v1.Task` into \p t, which must be
 *        initialised (drv_task_init) and is released first. On error \p t is
 *        left initialised and empty and \p errstr says why
 *        (DRV_ERR_DECODE).
 *
 * Unknown fields (a newer writer) are ignored, and failure classes this
 * build does not know read as DRV_FAILURE_UNSPECIFIED. A label key that
 * repeats keeps its first position and its last value (as a protobuf map).
 * More than DRV_MESSAGE_MAX bytes, or labels beyond the limits, are
 * DRV_ERR_DECODE before any label is copied; decoding is O(n log n) in the
 * label count. A task that decodes
 * but fails drv_task_validate(), or whose id is longer than DRV_ID_LEN, is
 * DRV_ERR_DECODE too. Never crashes on arbitrary bytes. The caller keeps
 * \p buf; \p t owns everything it points to afterwards.
 * @returns DRV_OK, DRV_ERR_DECODE or DRV_ERR_NOMEM.
 */
drv_err_t drv_task_decode(const void *buf, size_t len, drv_task_t *t,
			  char *errstr, size_t errstr_size);

/** @brief Deep-copy \p src (labels and failures included) into the
 *         initialised \p dst, which is released first; the caller keeps
 *         \p src. @returns DRV_OK, DRV_ERR_NOMEM or DRV_ERR_INVALID (a label
 *         with an empty key, payload_len without payload, failure_cnt
 *         without failures); on error \p dst is left initialised and
 *         empty. */
drv_err_t drv_task_copy(drv_task_t *dst, const drv_task_t *src);

/**
 * @brief Render \p t as one line of compact JSON for `droverctl --json`.
 *
 * The payload is embedded as a JSON value under "payload" when it parses as
 * JSON, else it is base64 under "payload_base64". Times appear as ms
 * ("created_ms") and as RFC 3339 ("created"); absent optional fields are
 * omitted. Failures, when there are any, are an array under "failures",
 * each rendered as in drv_dead_letter_to_json().
 * @returns a malloc'd NUL-terminated string the caller frees with free(), or
 *          NULL when out of memory.
 */
char *drv_task_to_json(const drv_task_t *t);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_TASK_H */
