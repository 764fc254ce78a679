/*
 * patch.h — payload patches for `droverctl dlq resubmit --set` and
 * `task retry --set`: JSON merge patches (RFC 7386) and KEY.PATH=VALUE
 * assignments, applied in the order given.
 */
#ifndef DROVER_CTL_PATCH_H
#define DROVER_CTL_PATCH_H

#include <stddef.h>

#include <jansson.h>

#include "drover/error.h"

/* The --set options of one command, each held as a merge patch. */
typedef struct ctl_patch {
	json_t **ops;
	size_t   cnt;
} ctl_patch_t;

/* Zero \p p; allocates nothing. */
void ctl_patch_init(ctl_patch_t *p);

/* Free every operation and re-init \p p. */
void ctl_patch_release(ctl_patch_t *p);

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
drv_err_t ctl_patch_add(ctl_patch_t *p, const char *text, char *errstr,
			size_t errstr_size);

/*
 * RFC 7386: apply \p patch to \p target and return the result. Takes
 * \p target's reference (it may be returned, changed in place, or
 * released) and borrows \p patch. Returns NULL only when out of memory.
 */
json_t *ctl_merge_patch(json_t *target, json_t *patch);

/*
 * Apply every operation of \p p to \p payload (\p len bytes; empty means
 * {}) and write the result as compact JSON into *out (malloc'd, caller
 * frees) and *out_len. With no operation the payload is copied as is.
 * DRV_ERR_INVALID when the payload is not JSON, DRV_ERR_NOMEM.
 */
drv_err_t ctl_patch_apply(const ctl_patch_t *p, const void *payload,
			  size_t len, char **out, size_t *out_len,
			  char *errstr, size_t errstr_size);

/* The operations as one JSON array text for the audit record (malloc'd,
 * caller frees; NULL when out of memory). */
char *ctl_patch_json(const ctl_patch_t *p);

#endif /* DROVER_CTL_PATCH_H */
