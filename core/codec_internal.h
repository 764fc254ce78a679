/*
 * codec_internal.h — helpers shared by the message files of the core
 * (task.c, codec*.c, json.c): owned key/value lists, owned failure lists,
 * owned byte buffers, and the bridges between drover's public structs and
 * the protobuf-c generated types. Never installed, never included outside core/.
 */
#ifndef DROVER_CODEC_INTERNAL_H
#define DROVER_CODEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "drover/error.h"
#include "drover/task.h"
#include "task.pb-c.h"

/* --- owned key/value lists (task labels, event attributes) ------------- */

/** Add or replace \p key in the list; NULL \p value removes it. Copies both
 *  strings. DRV_ERR_INVALID for a NULL/empty key, DRV_ERR_NOMEM leaves the
 *  list unchanged. Insertion order is kept. */
drv_err_t drv__kv_set(drv_label_t **kv, size_t *cnt, const char *key,
		      const char *value);

/* Decoders build a list in O(n log n) rather than n drv__kv_set() calls
 * (each a linear search and a realloc: a 1 MB task took 37 s):
 * drv__kv_reserve() once, drv__kv_append() each pair, drv__kv_dedupe()
 * at the end. */

/** Point *\p kv at a new zeroed array of \p n pairs (NULL when \p n is 0);
 *  the list it replaces must be empty. DRV_ERR_NOMEM leaves *kv NULL. */
drv_err_t drv__kv_reserve(drv_label_t **kv, size_t n);

/** Copy \p key and \p value (NULL is "") into kv[*cnt] and count it, with
 *  no search for an equal key; the caller reserved the room and checked
 *  \p key is non-empty. DRV_ERR_NOMEM leaves the list unchanged. */
drv_err_t drv__kv_append(drv_label_t *kv, size_t *cnt, const char *key,
			 const char *value);

/** Resolve repeated keys as drv__kv_set() would have, one pair at a time:
 *  each key stays at its first position with its last value; the other
 *  pairs are freed and the rest moved up (order kept). O(n log n);
 *  DRV_ERR_NOMEM leaves the list unchanged. */
drv_err_t drv__kv_dedupe(drv_label_t *kv, size_t *cnt);

/** Why a label or attribute breaks the size limits of task.h (a key longer
 *  than DRV_LABEL_KEY_MAX, a value longer than DRV_LABEL_VALUE_MAX; NULLs
 *  are not checked), in \p why, which it returns; NULL when it keeps them. */
const char *drv__label_problem(const char *key, const char *value,
			       char *why, size_t why_size);

/** The value for \p key, or NULL. */
const char *drv__kv_get(const drv_label_t *kv, size_t cnt, const char *key);

/** Free every string and the array; sets *kv NULL and *cnt 0. */
void drv__kv_free(drv_label_t **kv, size_t *cnt);

/** A malloc'd array of \p cnt pointers into \p kv, sorted by key
 *  (strcmp), or NULL when out of memory (or \p cnt is 0). Caller frees the
 *  array only. */
const drv_label_t **drv__kv_sorted(const drv_label_t *kv, size_t cnt);

/* --- owned failure lists (task and dead-letter histories) -------------- */

/** Append a deep copy of \p f (its strings copied; the caller keeps \p f).
 *  DRV_ERR_NOMEM leaves the list unchanged. */
drv_err_t drv__failures_add(drv_failure_t **list, size_t *cnt,
			    const drv_failure_t *f);

/** Free every failure's strings and the array; sets *list NULL, *cnt 0. */
void drv__failures_free(drv_failure_t **list, size_t *cnt);

/* --- owned byte buffers ------------------------------------------------- */

/** Replace *\p buf / *\p len with a copy of \p data; DRV_ERR_NOMEM leaves
 *  them unchanged. \p len 0 frees and clears. */
drv_err_t drv__bytes_set(uint8_t **buf, size_t *len, const void *data,
			 size_t n);

/* --- protobuf bridges --------------------------------------------------- */

/** Fill the empty list *\p kv / *\p cnt from \p n generated key/value
 *  messages (Label, Attribute), whose char * key and value sit at
 *  \p key_off and \p value_off: DRV_ERR_DECODE (reason in \p errstr, as
 *  "invalid <what>: <noun> 3 has an empty key") for more than
 *  DRV_LABELS_MAX pairs, an empty key or one over the size limits, checked
 *  before anything is copied; then O(n log n), a repeated key keeping its
 *  first position and last value. DRV_ERR_NOMEM likewise. On error the
 *  caller releases what the list holds. */
drv_err_t drv__pairs_from_pb(const void *const *m, size_t n, size_t key_off,
			     size_t value_off, drv_label_t **kv, size_t *cnt,
			     const char *what, const char *noun,
			     char *errstr, size_t errstr_size);

/** DRV_ERR_DECODE: a \p what message of \p len bytes is over
 *  DRV_MESSAGE_MAX. */
drv_err_t drv__too_long(const char *what, size_t len, char *errstr,
			size_t errstr_size);


/** A string for a generated message field: "" for NULL. The generated
 *  structs use char * but packing never writes through it. */
char *drv__pb_str(const char *s);

/** Copy a decoded string field into *\p out: NULL when absent or empty,
 *  else a heap copy. @returns false when out of memory. */
bool drv__pb_dup(const char *s, char **out);

/** Pack \p msg into a malloc'd buffer (caller frees with free()). */
drv_err_t drv__pb_pack(const ProtobufCMessage *msg, uint8_t **out,
		       size_t *out_len, char *errstr, size_t errstr_size);

/** The generated view of \p cnt failures, pointing into their own strings
 *  (no copies): *\p msgs gets the messages and *\p ptrs the pointer array
 *  a repeated field wants, both malloc'd, both freed by the caller with
 *  free(); NULL when \p cnt is 0. DRV_ERR_NOMEM (both NULL). */
drv_err_t drv__failures_pb_build(const drv_failure_t *f, size_t cnt,
				 Drover__V1__AttemptFailure **msgs,
				 Drover__V1__AttemptFailure ***ptrs);

/** Append copies of \p n decoded failures to the list (NULL entries are
 *  skipped; unknown classes read as DRV_FAILURE_UNSPECIFIED).
 *  DRV_ERR_NOMEM leaves what was appended so far, for the caller's
 *  release. */
drv_err_t drv__failures_from_pb(Drover__V1__AttemptFailure *const *m,
				size_t n, drv_failure_t **list, size_t *cnt);

/** The generated view of one task: points into the drv_task_t's own
 *  strings (no copies); only the label and failure arrays are allocated. */
typedef struct drv__task_pb {
	Drover__V1__Task   msg;
	Drover__V1__Origin origin;
	Drover__V1__Label *labels;
	Drover__V1__Label **label_ptrs;
	Drover__V1__AttemptFailure *failures;
	Drover__V1__AttemptFailure **failure_ptrs;
} drv__task_pb_t;

/** Build the view of \p t in \p pb (labels sorted by key, failures in
 *  array order); schema_version is DRV_SCHEMA_VERSION. Free with
 *  drv__task_pb_free(). DRV_ERR_NOMEM. */
drv_err_t drv__task_pb_build(drv__task_pb_t *pb, const drv_task_t *t);
void drv__task_pb_free(drv__task_pb_t *pb);

/** Copy decoded message \p m into the initialised, empty \p t and validate
 *  it. On error \p t is released and errstr says why (DRV_ERR_DECODE, or
 *  DRV_ERR_NOMEM). \p what names the message in errors ("Task",
 *  "DeadLetter.task"). */
drv_err_t drv__task_from_pb(const Drover__V1__Task *m, drv_task_t *t,
			    const char *what, char *errstr,
			    size_t errstr_size);

/** "drover.v1.X: cannot decode N bytes" — the unpack failure message. */
drv_err_t drv__pb_unpack_error(const ProtobufCMessageDescriptor *desc,
			       size_t len, char *errstr, size_t errstr_size);

#endif /* DROVER_CODEC_INTERNAL_H */
