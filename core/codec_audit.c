/*
 * codec_audit.c — the audit record: its life in memory and its protobuf wire
 * form (`drover.v1.AuditRecord`), the value of every message on
 * drover.audit. droverctl writes one for each operator action; readers get
 * a valid record or DRV_ERR_DECODE with a reason.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/audit.h"
#include "drover/str.h"
#include "codec_internal.h"
#include "audit.pb-c.h"

void drv_audit_init(drv_audit_t *a)
{
	memset(a, 0, sizeof(*a));
	a->schema_version = DRV_SCHEMA_VERSION;
}

void drv_audit_release(drv_audit_t *a)
{
	free(a->actor);
	free(a->host);
	free(a->action);
	free(a->target);
	free(a->details_json);
	free(a->result);
	drv_audit_init(a);
}

drv_err_t drv_audit_validate(const drv_audit_t *a, char *errstr,
			     size_t errstr_size)
{
	if (!memchr(a->id, '\0', sizeof(a->id)) || !a->id[0])
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "audit record has no id");
	if (!a->action || !*a->action)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "audit record %s has no action", a->id);
	return DRV_OK;
}

drv_err_t drv_audit_encode(const drv_audit_t *a, uint8_t **out,
			   size_t *out_len, char *errstr, size_t errstr_size)
{
	Drover__V1__AuditRecord m;
	drv_err_t err;

	if ((err = drv_audit_validate(a, errstr, errstr_size)) != DRV_OK)
		return err;
	drover__v1__audit_record__init(&m);
	m.schema_version = DRV_SCHEMA_VERSION;
	m.id = drv__pb_str(a->id);
	m.time_ms = a->time_ms;
	m.actor = drv__pb_str(a->actor);
	m.host = drv__pb_str(a->host);
	m.action = drv__pb_str(a->action);
	m.target = drv__pb_str(a->target);
	m.count = a->count;
	m.details_json = drv__pb_str(a->details_json);
	m.result = drv__pb_str(a->result);
	return drv__pb_pack(&m.base, out, out_len, errstr, errstr_size);
}

static drv_err_t audit_from_pb(const Drover__V1__AuditRecord *m,
			       drv_audit_t *a, char *errstr,
			       size_t errstr_size)
{
	const char *what = drover__v1__audit_record__descriptor.name;
	size_t id_len = m->id ? strlen(m->id) : 0;
	char why[256];

	if (id_len > DRV_ID_LEN)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: id is %zu bytes, longer than %d",
				 what, id_len, DRV_ID_LEN);
	a->schema_version = m->schema_version;
	if (m->id)
		drv_strlcpy(a->id, m->id, sizeof(a->id));
	a->time_ms = m->time_ms;
	a->count = m->count;
	if (!drv__pb_dup(m->actor, &a->actor) ||
	    !drv__pb_dup(m->host, &a->host) ||
	    !drv__pb_dup(m->action, &a->action) ||
	    !drv__pb_dup(m->target, &a->target) ||
	    !drv__pb_dup(m->details_json, &a->details_json) ||
	    !drv__pb_dup(m->result, &a->result))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory decoding %s", what);
	if (drv_audit_validate(a, why, sizeof(why)) != DRV_OK)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: %s", what, why);
	return DRV_OK;
}

drv_err_t drv_audit_decode(const void *buf, size_t len, drv_audit_t *a,
			   char *errstr, size_t errstr_size)
{
	Drover__V1__AuditRecord *m;
	drv_err_t err;

	drv_audit_release(a);
	m = drover__v1__audit_record__unpack(NULL, len,
					     buf ? buf : (const void *)"");
	if (!m)
		return drv__pb_unpack_error(
			&drover__v1__audit_record__descriptor, len, errstr,
			errstr_size);
	err = audit_from_pb(m, a, errstr, errstr_size);
	drover__v1__audit_record__free_unpacked(m, NULL);
	if (err)
		drv_audit_release(a);
	return err;
}
