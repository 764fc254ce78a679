/*
 * drover — payload patches for a resubmitted dead letter (`droverctl dlq
 * resubmit --set`, `task retry --set`, the "set" of POST
 * /api/v1/dlq/resubmit): JSON merge patches (RFC 7386) and KEY.PATH=VALUE
 * assignments, applied in the order given.
 *
 * Lifecycle: drv_patch_init() (no allocation), drv_patch_add()...,
 * drv_patch_release(). A patch is read-only once built, so one patch may
 * be applied from several threads.
 */
#ifndef DROVER_PATCH_H
#define DROVER_PATCH_H

#include <stddef.h>

#include <jansson.h>

#include "drover/error.h"

/* The patch operations of one resubmission, each held as a merge patch
 * (owned). */
typedef struct drv_patch {
	json_t **ops;
	size_t   cnt;
} drv_patch_t;

/* Zero \p p; allocates nothing. */
void drv_patch_init(drv_patch_t *p);

/* Free every operation and re-init \p p. */
void drv_patch_release(drv_patch_t *p);

/* Add the merge patch \p op (a JSON object; the reference is taken, also
 * on error). DRV_OK or DRV_ERR_NOMEM. */
drv_err_t drv_patch_add_json(drv_patch_t *p, json_t *op);

/*
 * Add one --set operation from \p text (the caller keeps it):
 *   - text starting with '{' (after blanks) is a JSON merge patch;
 *   - otherwise KEY.PATH=VALUE: the dotted path names nested object keys
 *     (no empty segment), VALUE is taken as JSON when it parses as JSON
 *     (42, true, "s", [1], {"a":1}, null) and as a string otherwise; null
 *     removes the key, like a merge patch would.
 * KEY.PATH=VALUE is kept as the merge patch {"KEY":{"PATH":VALUE}}.
 * Returns DRV_OK, DRV_ERR_INVALID with the reason in \p errstr, or
 * DRV_ERR_NOMEM.
 */
drv_err_t drv_patch_add(drv_patch_t *p, const char *text, char *errstr,
			size_t errstr_size);

/*
 * RFC 7386: apply \p patch to \p target and return the result. Takes
 * \p target's reference (it may be returned, changed in place, or
 * released) and borrows \p patch. Returns NULL only when out of memory.
 */
json_t *drv_merge_patch(json_t *target, json_t *patch);

/*
 * Apply every operation of \p p to \p payload (\p len bytes; empty means
 * {}) and write the result as compact JSON into *out (malloc'd, caller
 * frees) and *out_len. With no operation the payload is copied as is.
 * DRV_ERR_INVALID when the payload is not JSON, DRV_ERR_NOMEM.
 */
drv_err_t drv_patch_apply(const drv_patch_t *p, const void *payload,
			  size_t len, char **out, size_t *out_len,
			  char *errstr, size_t errstr_size);

/* The operations as one JSON array text for the audit record (malloc'd,
 * caller frees; NULL when out of memory). */
char *drv_patch_json(const drv_patch_t *p);

#endif /* DROVER_PATCH_H */
