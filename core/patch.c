/*
 * patch.c — payload patches: JSON merge patches (RFC 7386) and dotted
 * KEY.PATH=VALUE assignments, which are turned into merge patches when
 * parsed so there is one way to apply them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "drover/patch.h"
#include "drover/str.h"

void drv_patch_init(drv_patch_t *p)
{
	p->ops = NULL;
	p->cnt = 0;
}

void drv_patch_release(drv_patch_t *p)
{
	for (size_t i = 0; i < p->cnt; i++)
		json_decref(p->ops[i]);
	free(p->ops);
	drv_patch_init(p);
}

json_t *drv_merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *value;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		if (!(target = json_object()))
			return NULL;
	}
	json_object_foreach(patch, key, value) {
		json_t *cur, *next;

		if (json_is_null(value)) {
			json_object_del(target, key);
			continue;
		}
		cur = json_object_get(target, key);
		json_incref(cur);
		if (!(next = drv_merge_patch(cur, value)) ||
		    json_object_set_new(target, key, next)) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

/* The end of the path segment starting at \p seg (a '.' or \p eq). */
static const char *seg_end(const char *seg, const char *eq)
{
	while (seg < eq && *seg != '.')
		seg++;
	return seg;
}

/* KEY.PATH=VALUE as the merge patch {"KEY":{"PATH":VALUE}}. */
static drv_err_t path_patch(const char *text, json_t **out, char *errstr,
			    size_t errstr_size)
{
	const char *eq = strchr(text, '='), *seg, *end;
	json_t *value, *root, *obj;
	char key[256];

	if (!eq || eq == text) {
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "--set '%s': want a JSON merge patch ({...}) "
				 "or KEY.PATH=VALUE", text);
	}
	for (seg = text;; seg = end + 1) {
		end = seg_end(seg, eq);
		if (end == seg || (size_t)(end - seg) >= sizeof(key)) {
			return drv_error(errstr, errstr_size,
					 DRV_ERR_INVALID, "--set '%s': %s key "
					 "in the path", text, end == seg ?
					 "an empty" : "a too long");
		}
		if (end == eq)
			break;
	}
	if (!(value = json_loads(eq + 1, JSON_DECODE_ANY, NULL)) &&
	    !(value = json_string(eq + 1))) {
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "--set '%s': the value is neither JSON nor "
				 "UTF-8 text", text);
	}
	if (!(root = json_object())) {
		json_decref(value);
		goto nomem;
	}
	/* each segment an object holding the next; the last holds VALUE
	 * (json_object_set_new takes the reference even when it fails) */
	for (obj = root, seg = text;; seg = end + 1) {
		json_t *child;

		end = seg_end(seg, eq);
		memcpy(key, seg, (size_t)(end - seg));
		key[end - seg] = '\0';
		if (end == eq) {
			if (json_object_set_new(obj, key, value))
				break;
			*out = root;
			return DRV_OK;
		}
		if (!(child = json_object()) ||
		    json_object_set_new(obj, key, child)) {
			json_decref(value);
			break;
		}
		obj = child;
	}
	json_decref(root);
nomem:
	return drv_error(errstr, errstr_size, DRV_ERR_NOMEM, "out of memory");
}

drv_err_t drv_patch_add(drv_patch_t *p, const char *text, char *errstr,
			size_t errstr_size)
{
	const char *s = text;
	json_error_t je;
	json_t *op = NULL;
	drv_err_t rc;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '{') {
		if (!(op = json_loads(s, 0, &je)))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "--set: not a valid JSON merge patch: "
					 "%s (line %d, column %d)", je.text,
					 je.line, je.column);
	} else if ((rc = path_patch(text, &op, errstr, errstr_size)))
		return rc;
	if (drv_patch_add_json(p, op))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	return DRV_OK;
}

drv_err_t drv_patch_add_json(drv_patch_t *p, json_t *op)
{
	json_t **ops;

	if (!(ops = realloc(p->ops, (p->cnt + 1) * sizeof(*ops)))) {
		json_decref(op);
		return DRV_ERR_NOMEM;
	}
	p->ops = ops;
	p->ops[p->cnt++] = op;
	return DRV_OK;
}

drv_err_t drv_patch_apply(const drv_patch_t *p, const void *payload,
			  size_t len, char **out, size_t *out_len,
			  char *errstr, size_t errstr_size)
{
	json_error_t je;
	json_t *doc;

	if (p->cnt == 0) {
		if (!(*out = malloc(len + 1)))
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		if (len)
			memcpy(*out, payload, len);
		(*out)[len] = '\0';
		*out_len = len;
		return DRV_OK;
	}
	if (!len)
		doc = json_object();
	else if (!(doc = json_loadb(payload, len, JSON_DECODE_ANY, &je)))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "the payload is not JSON (%s), so --set "
				 "cannot patch it", je.text);
	for (size_t i = 0; doc && i < p->cnt; i++)
		doc = drv_merge_patch(doc, p->ops[i]);
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(doc);
	if (!*out)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	*out_len = strlen(*out);
	return DRV_OK;
}

char *drv_patch_json(const drv_patch_t *p)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < p->cnt; i++)
		json_array_append(a, p->ops[i]);
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}
