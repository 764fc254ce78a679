/*
 * drover — a small writer of compact JSON objects, for the records written
 * once per task (lifecycle event payloads, task history entries), where
 * building a jansson tree and dumping it costs more than the task itself.
 *
 * The text is byte for byte what jansson's json_dumps(JSON_COMPACT) makes
 * of the same members in the same order: strings escaped the same way
 * (\" \\ \b \f \n \r \t, other control characters as \u00XX in capitals,
 * UTF-8 kept as it is), integers in decimal. Strings must be valid UTF-8,
 * as jansson insists; the functions say when one is not, and the caller
 * decides (leave the member out, or write it with drv_jout_str_lossy()).
 *
 * Ownership: the writer owns its buffer until drv_jout_end() hands it to
 * the caller (or drv_jout_discard() frees it); keys and values are
 * borrowed and copied. No global state: any thread, one writer per thread.
 *
 *   drv_jout_t j;
 *   drv_jout_begin(&j);
 *   drv_jout_str(&j, "task_id", id);
 *   drv_jout_int(&j, "attempt", 2);
 *   char *text = drv_jout_end(&j);    // {"task_id":"...","attempt":2}
 *   free(text);
 */
#ifndef DROVER_JSON_OUT_H
#define DROVER_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct drv_jout {
	char  *buf;     /* owned until drv_jout_end() */
	size_t len, cap;
	bool   nomem;   /* an append failed: drv_jout_end() gives NULL */
} drv_jout_t;

/** @brief Start an object: "{". */
void drv_jout_begin(drv_jout_t *j);

/**
 * @brief Close the object and give its text.
 * @returns the NUL-terminated text, owned by the caller (free()); NULL when
 *          out of memory.
 */
char *drv_jout_end(drv_jout_t *j);

/** @brief Drop what was written (after drv_jout_begin(), instead of
 *         drv_jout_end()). */
void drv_jout_discard(drv_jout_t *j);

/** @brief Whether \p s is valid UTF-8 (what json_string() accepts). */
bool drv_jout_utf8_ok(const char *s);

/**
 * @brief Member "key":"value". \p key and \p value are borrowed.
 * @returns false, writing nothing, when \p value is NULL or not valid
 *          UTF-8.
 */
bool drv_jout_str(drv_jout_t *j, const char *key, const char *value);

/** @brief Member "key":"value", or "key":null when \p value is NULL.
 *  @returns false, writing nothing, when \p value is not valid UTF-8. */
bool drv_jout_str_or_null(drv_jout_t *j, const char *key, const char *value);

/** @brief Member "key":"value" where a \p value that is not valid UTF-8 has
 *         each byte >= 0x80 written as '?'. \p value must not be NULL. */
void drv_jout_str_lossy(drv_jout_t *j, const char *key, const char *value);

/** @brief Member "key":n. */
void drv_jout_int(drv_jout_t *j, const char *key, int64_t n);

/** @brief Member "key":{ — an object within; close it with
 *         drv_jout_close(). */
void drv_jout_open(drv_jout_t *j, const char *key);

/** @brief "}": close an object opened with drv_jout_open(). */
void drv_jout_close(drv_jout_t *j);

/** @brief How much is written, to undo members with drv_jout_undo(). */
size_t drv_jout_mark(const drv_jout_t *j);

/** @brief Forget everything written after \p mark. */
void drv_jout_undo(drv_jout_t *j, size_t mark);

/**
 * @brief A jansson string for \p s (borrowed), for trees built with
 *        jansson: as it is when it is valid UTF-8, else with every byte
 *        from 0x80 up shown as '?' (a producer may send anything).
 * @returns a new reference, or NULL when out of memory.
 */
json_t *drv_json_str_lossy(const char *s);

#endif /* DROVER_JSON_OUT_H */
