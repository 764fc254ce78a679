/*
 * codec_dead_letter.c — the dead letter: its life in memory (the embedded
 * task, the failure history, the raw bytes of an undecodable message), the
 * names of dead-letter reasons, and its protobuf wire form
 * (`drover.v1.DeadLetter`). Failures themselves (their names, copies and
 * wire form) are shared with the task: task.c and codec.c. A dead letter must always decode again
 * later, so encoding refuses one whose task would not.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drover/dead_letter.h"
#include "drover/str.h"
#include "codec_internal.h"
#include "dead_letter.pb-c.h"

/* --- names ------------------------------------------------------------------- */

static const char *const dl_reason_names[DRV_DL_REASON_CNT] = {
	[DRV_DL_UNSPECIFIED]        = "unspecified",
	[DRV_DL_PERMANENT_FAILURE]  = "permanent_failure",
	[DRV_DL_ATTEMPTS_EXHAUSTED] = "attempts_exhausted",
	[DRV_DL_DEADLINE_EXCEEDED]  = "deadline_exceeded",
	[DRV_DL_UNDECODABLE]        = "undecodable",
	[DRV_DL_HANDLER_UNKNOWN]    = "handler_unknown",
	[DRV_DL_SKIPPED]            = "skipped",
};

const char *drv_dl_reason_name(drv_dl_reason_t r)
{
	if ((unsigned)r >= DRV_DL_REASON_CNT)
		r = DRV_DL_UNSPECIFIED;
	return dl_reason_names[r];
}

drv_err_t drv_dl_reason_parse(const char *s, drv_dl_reason_t *out)
{
	for (int i = 0; s && i < DRV_DL_REASON_CNT; i++) {
		if (!strcasecmp(s, dl_reason_names[i])) {
			*out = (drv_dl_reason_t)i;
			return DRV_OK;
		}
	}
	return DRV_ERR_INVALID;
}

/* --- lifecycle ---------------------------------------------------------------- */

void drv_dead_letter_init(drv_dead_letter_t *dl)
{
	memset(dl, 0, sizeof(*dl));
	dl->schema_version = DRV_SCHEMA_VERSION;
	drv_task_init(&dl->task);
}

void drv_dead_letter_release(drv_dead_letter_t *dl)
{
	drv_task_release(&dl->task);
	drv__failures_free(&dl->failures, &dl->failure_cnt);
	free(dl->detail);
	free(dl->source_topic);
	free(dl->worker_id);
	free(dl->raw);
	drv_dead_letter_init(dl);
}

drv_err_t drv_dead_letter_add_failure(drv_dead_letter_t *dl,
				      const drv_failure_t *f)
{
	return drv__failures_add(&dl->failures, &dl->failure_cnt, f);
}

drv_err_t drv_dead_letter_set_raw(drv_dead_letter_t *dl, const void *data,
				  size_t len)
{
	return drv__bytes_set(&dl->raw, &dl->raw_len, data, len);
}

drv_err_t drv_dead_letter_validate(const drv_dead_letter_t *dl, char *errstr,
				   size_t errstr_size)
{
	char why[256];

	if (!memchr(dl->id, '\0', sizeof(dl->id)) || !dl->id[0])
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "dead letter has no id");
	if (dl->failure_cnt && !dl->failures)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "dead letter %s has %zu failures but no "
				 "array", dl->id, dl->failure_cnt);
	if (!dl->task.id[0]) {
		if (dl->reason != DRV_DL_UNDECODABLE)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "dead letter %s has no task (only "
					 "reason undecodable may omit it)",
					 dl->id);
		return DRV_OK;
	}
	if (drv_task_validate(&dl->task, why, sizeof(why)) != DRV_OK)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "dead letter %s: %s", dl->id, why);
	return DRV_OK;
}

/* --- protobuf ----------------------------------------------------------------------- */

drv_err_t drv_dead_letter_encode(const drv_dead_letter_t *dl, uint8_t **out,
				 size_t *out_len, char *errstr,
				 size_t errstr_size)
{
	Drover__V1__DeadLetter m;
	Drover__V1__AttemptFailure *fs = NULL, **ptrs = NULL;
	drv__task_pb_t tpb;
	bool have_task = dl->task.id[0] != '\0';
	drv_err_t err;

	if ((err = drv_dead_letter_validate(dl, errstr, errstr_size)) != DRV_OK)
		return err;

	drover__v1__dead_letter__init(&m);
	memset(&tpb, 0, sizeof(tpb));
	m.schema_version = DRV_SCHEMA_VERSION;
	m.id = drv__pb_str(dl->id);
	m.reason = (Drover__V1__DeadLetter__Reason)dl->reason;
	m.detail = drv__pb_str(dl->detail);
	m.dead_ms = dl->dead_ms;
	m.source_topic = drv__pb_str(dl->source_topic);
	m.source_partition = dl->source_partition;
	m.source_offset = dl->source_offset;
	m.worker_id = drv__pb_str(dl->worker_id);
	m.raw.data = dl->raw_len ? dl->raw : NULL;
	m.raw.len = dl->raw_len;

	if (have_task) {
		if (drv__task_pb_build(&tpb, &dl->task) != DRV_OK)
			goto nomem;
		m.task = &tpb.msg;
	}
	if (drv__failures_pb_build(dl->failures, dl->failure_cnt, &fs,
				   &ptrs) != DRV_OK)
		goto nomem;
	m.n_failures = dl->failure_cnt;
	m.failures = ptrs;
	err = drv__pb_pack(&m.base, out, out_len, errstr, errstr_size);
	goto out;
nomem:
	err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			"out of memory encoding dead letter %s", dl->id);
out:
	drv__task_pb_free(&tpb);
	free(fs);
	free(ptrs);
	return err;
}

static drv_err_t dead_letter_from_pb(const Drover__V1__DeadLetter *m,
				     drv_dead_letter_t *dl, char *errstr,
				     size_t errstr_size)
{
	const char *what = drover__v1__dead_letter__descriptor.name;
	size_t id_len = m->id ? strlen(m->id) : 0;
	char why[256];
	drv_err_t err = DRV_OK;

	if (id_len > DRV_ID_LEN)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: id is %zu bytes, longer than %d",
				 what, id_len, DRV_ID_LEN);
	dl->schema_version = m->schema_version;
	if (m->id)
		drv_strlcpy(dl->id, m->id, sizeof(dl->id));
	dl->reason = (unsigned)m->reason < DRV_DL_REASON_CNT ?
		(drv_dl_reason_t)m->reason : DRV_DL_UNSPECIFIED;
	dl->dead_ms = m->dead_ms;
	dl->source_partition = m->source_partition;
	dl->source_offset = m->source_offset;

	if (m->task) {
		err = drv__task_from_pb(m->task, &dl->task,
					"drover.v1.DeadLetter.task", errstr,
					errstr_size);
		if (err)
			return err;
	}
	err = drv__failures_from_pb(m->failures, m->n_failures,
				    &dl->failures, &dl->failure_cnt);
	if (!err && (!drv__pb_dup(m->detail, &dl->detail) ||
		     !drv__pb_dup(m->source_topic, &dl->source_topic) ||
		     !drv__pb_dup(m->worker_id, &dl->worker_id)))
		err = DRV_ERR_NOMEM;
	if (!err && m->raw.len)
		err = drv_dead_letter_set_raw(dl, m->raw.data, m->raw.len);
	if (err)
		return drv_error(errstr, errstr_size, err,
				 "out of memory decoding %s", what);
	if (drv_dead_letter_validate(dl, why, sizeof(why)) != DRV_OK)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: %s", what, why);
	return DRV_OK;
}

drv_err_t drv_dead_letter_decode(const void *buf, size_t len,
				 drv_dead_letter_t *dl, char *errstr,
				 size_t errstr_size)
{
	Drover__V1__DeadLetter *m;
	drv_err_t err;

	drv_dead_letter_release(dl);
	m = drover__v1__dead_letter__unpack(NULL, len,
					    buf ? buf : (const void *)"");
	if (!m)
		return drv__pb_unpack_error(&drover__v1__dead_letter__descriptor,
					    len, errstr, errstr_size);
	err = dead_letter_from_pb(m, dl, errstr, errstr_size);
	drover__v1__dead_letter__free_unpacked(m, NULL);
	if (err)
		drv_dead_letter_release(dl);
	return err;
}
