/*
 * codec_internal.h — helpers shared by the message files of the core
 * (task.c, codec*.c, json.c): owned key/value lists, owned byte buffers, and
 * the bridges between drover's public structs and the protobuf-c generated
 * types. Never installed, never included outside core/.
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

/** The value for \p key, or NULL. */
const char *drv__kv_get(const drv_label_t *kv, size_t cnt, const char *key);

/** Free every string and the array; sets *kv NULL and *cnt 0. */
void drv__kv_free(drv_label_t **kv, size_t *cnt);

/** A malloc'd array of \p cnt pointers into \p kv, sorted by key
 *  (strcmp), or NULL when out of memory (or \p cnt is 0). Caller frees the
 *  array only. */
const drv_label_t **drv__kv_sorted(const drv_label_t *kv, size_t cnt);

/* --- owned byte buffers ------------------------------------------------- */

/** Replace *\p buf / *\p len with a copy of \p data; DRV_ERR_NOMEM leaves
 *  them unchanged. \p len 0 frees and clears. */
drv_err_t drv__bytes_set(uint8_t **buf, size_t *len, const void *data,
			 size_t n);

/* --- protobuf bridges --------------------------------------------------- */

/** A string for a generated message field: "" for NULL. The generated
 *  structs use char * but packing never writes through it. */
char *drv__pb_str(const char *s);

/** Copy a decoded string field into *\p out: NULL when absent or empty,
 *  else a heap copy. @returns false when out of memory. */
bool drv__pb_dup(const char *s, char **out);

/** Pack \p msg into a malloc'd buffer (caller frees with free()). */
drv_err_t drv__pb_pack(const ProtobufCMessage *msg, uint8_t **out,
		       size_t *out_len, char *errstr, size_t errstr_size);

/** The generated view of one task: points into the drv_task_t's own
 *  strings (no copies); only the label arrays are allocated. */
typedef struct drv__task_pb {
	Drover__V1__Task   msg;
	Drover__V1__Origin origin;
	Drover__V1__Label *labels;
	Drover__V1__Label **label_ptrs;
} drv__task_pb_t;

/** Build the view of \p t in \p pb (labels sorted by key); schema_version
 *  is DRV_SCHEMA_VERSION. Free with drv__task_pb_free(). DRV_ERR_NOMEM. */
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
