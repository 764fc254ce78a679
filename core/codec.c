/*
 * codec.c — the task's wire form, and the protobuf-c plumbing the other
 * message files share. drv_task_encode() turns a drv_task_t into the bytes
 * of a `drover.v1.Task` (deterministically: fields in number order, labels
 * sorted by key, failures oldest first); drv_task_decode() turns any bytes
 * into a valid task or a DRV_ERR_DECODE that says why, never a crash. The
 * generated types never leave core/: drv__task_pb_build() /
 * drv__task_from_pb() are the only bridges, also used for the task embedded
 * in a dead letter, and drv__failures_pb_build() / drv__failures_from_pb()
 * carry the failure history of both.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "drover/str.h"
#include "drover/task.h"
#include "codec_internal.h"
#include "task.pb-c.h"

/* --- shared protobuf plumbing ----------------------------------------------- */

char *drv__pb_str(const char *s)
{
	/* Packing only reads the string; the generated struct is not const. */
	return (char *)(s ? s : protobuf_c_empty_string);
}

bool drv__pb_dup(const char *s, char **out)
{
	*out = NULL;
	if (!s || !*s)
		return true;
	return (*out = strdup(s)) != NULL;
}

drv_err_t drv__pb_pack(const ProtobufCMessage *msg, uint8_t **out,
		       size_t *out_len, char *errstr, size_t errstr_size)
{
	size_t size = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory encoding %s (%zu bytes)",
				 msg->descriptor->name, size);
	protobuf_c_message_pack(msg, buf);
	*out = buf;
	*out_len = size;
	return DRV_OK;
}

drv_err_t drv__pb_unpack_error(const ProtobufCMessageDescriptor *desc,
			       size_t len, char *errstr, size_t errstr_size)
{
	return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
			 "cannot decode %zu bytes as %s: not a valid protobuf "
			 "encoding of that message", len, desc->name);
}

drv_err_t drv__too_long(const char *what, size_t len, char *errstr,
			size_t errstr_size)
{
	return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
			 "%s of %zu bytes is longer than %d, the most a "
			 "message may be", what, len, DRV_MESSAGE_MAX);
}

/* --- failures <-> generated messages ------------------------------------------- */

drv_err_t drv__failures_pb_build(const drv_failure_t *f, size_t cnt,
				 Drover__V1__AttemptFailure **msgs,
				 Drover__V1__AttemptFailure ***ptrs)
{
	Drover__V1__AttemptFailure *m;

	*msgs = NULL;
	*ptrs = NULL;
	if (!cnt)
		return DRV_OK;
	m = calloc(cnt, sizeof(*m));
	*ptrs = calloc(cnt, sizeof(**ptrs));
	if (!m || !*ptrs) {
		free(m);
		free(*ptrs);
		*ptrs = NULL;
		return DRV_ERR_NOMEM;
	}
	for (size_t i = 0; i < cnt; i++) {
		drover__v1__attempt_failure__init(&m[i]);
		m[i].attempt = f[i].attempt;
		m[i].time_ms = f[i].time_ms;
		m[i].worker_id = drv__pb_str(f[i].worker_id);
		m[i].failure_class =
			(Drover__V1__FailureClass)f[i].failure_class;
		m[i].message = drv__pb_str(f[i].message);
		m[i].exit_code = f[i].exit_code;
		m[i].http_status = f[i].http_status;
		m[i].duration_ms = f[i].duration_ms;
		(*ptrs)[i] = &m[i];
	}
	*msgs = m;
	return DRV_OK;
}

/* NULL for an absent (empty) wire string, else the decoded string itself. */
static char *pb_opt(char *s)
{
	return s && *s ? s : NULL;
}

drv_err_t drv__failures_from_pb(Drover__V1__AttemptFailure *const *m,
				size_t n, drv_failure_t **list, size_t *cnt)
{
	for (size_t i = 0; i < n; i++) {
		const Drover__V1__AttemptFailure *a = m[i];
		drv_failure_t f;

		if (!a)
			continue;
		f.attempt = a->attempt;
		f.time_ms = a->time_ms;
		f.worker_id = pb_opt(a->worker_id);
		f.failure_class =
			(unsigned)a->failure_class < DRV_FAILURE_CLASS_CNT ?
			(drv_failure_class_t)a->failure_class :
			DRV_FAILURE_UNSPECIFIED;
		f.message = pb_opt(a->message);
		f.exit_code = a->exit_code;
		f.http_status = a->http_status;
		f.duration_ms = a->duration_ms;
		/* copies the strings out of the decoded message */
		if (drv__failures_add(list, cnt, &f) != DRV_OK)
			return DRV_ERR_NOMEM;
	}
	return DRV_OK;
}

/* --- labels and attributes from generated messages ----------------------------- */

/* The char * member at \p off of a generated message. */
static const char *pair_str(const void *msg, size_t off)
{
	const char *s;

	memcpy(&s, (const char *)msg + off, sizeof(s));
	return s;
}

drv_err_t drv__pairs_from_pb(const void *const *m, size_t n, size_t key_off,
			     size_t value_off, drv_label_t **kv, size_t *cnt,
			     const char *what, const char *noun,
			     char *errstr, size_t errstr_size)
{
	char why[96];
	const char *bad, *key;
	drv_err_t err;

	if (n > DRV_LABELS_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: %zu %ss, more than %d", what, n,
				 noun, DRV_LABELS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!m[i] || !(key = pair_str(m[i], key_off)) || !*key)
			return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
					 "invalid %s: %s %zu has an empty "
					 "key", what, noun, i);
		if ((bad = drv__label_problem(key, pair_str(m[i], value_off),
					      why, sizeof(why))))
			return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
					 "invalid %s: %s %zu %s", what, noun,
					 i, bad);
	}
	err = drv__kv_reserve(kv, n);
	for (size_t i = 0; !err && i < n; i++)
		err = drv__kv_append(*kv, cnt, pair_str(m[i], key_off),
				     pair_str(m[i], value_off));
	/* Repeated keys: the last value wins, as in a protobuf map. */
	if (!err)
		err = drv__kv_dedupe(*kv, cnt);
	if (err)
		return drv_error(errstr, errstr_size, err,
				 "out of memory decoding %s", what);
	return DRV_OK;
}

/* --- task -> generated view ---------------------------------------------------- */

static bool origin_is_empty(const drv_origin_t *o)
{
	return !(o->schedule_id && *o->schedule_id) && !o->scheduled_ms &&
	       !(o->event_id && *o->event_id) &&
	       !(o->parent_task_id && *o->parent_task_id) &&
	       !o->chain_depth &&
	       !(o->dead_letter_id && *o->dead_letter_id) &&
	       !(o->submitted_by && *o->submitted_by) && !o->fencing_token;
}

drv_err_t drv__task_pb_build(drv__task_pb_t *pb, const drv_task_t *t)
{
	Drover__V1__Task *m = &pb->msg;
	Drover__V1__Origin *o = &pb->origin;
	const drv_origin_t *to = &t->origin;

	memset(pb, 0, sizeof(*pb));
	drover__v1__task__init(m);
	drover__v1__origin__init(o);

	m->schema_version = DRV_SCHEMA_VERSION;
	m->id = drv__pb_str(t->id);
	m->handler = drv__pb_str(t->handler);
	m->payload.data = t->payload_len ? t->payload : NULL;
	m->payload.len = t->payload_len;
	m->priority = t->priority;
	m->attempt = t->attempt;
	m->max_attempts = t->max_attempts;
	m->policy = drv__pb_str(t->policy);
	m->created_ms = t->created_ms;
	m->not_before_ms = t->not_before_ms;
	m->deadline_ms = t->deadline_ms;
	m->idempotency_key = drv__pb_str(t->idempotency_key);
	m->key = drv__pb_str(t->key);

	if (t->label_cnt) {
		const drv_label_t **sorted =
			drv__kv_sorted(t->labels, t->label_cnt);

		pb->labels = calloc(t->label_cnt, sizeof(*pb->labels));
		pb->label_ptrs = calloc(t->label_cnt, sizeof(*pb->label_ptrs));
		if (!sorted || !pb->labels || !pb->label_ptrs) {
			free(sorted);
			drv__task_pb_free(pb);
			return DRV_ERR_NOMEM;
		}
		for (size_t i = 0; i < t->label_cnt; i++) {
			drover__v1__label__init(&pb->labels[i]);
			pb->labels[i].key = drv__pb_str(sorted[i]->key);
			pb->labels[i].value = drv__pb_str(sorted[i]->value);
			pb->label_ptrs[i] = &pb->labels[i];
		}
		free(sorted);
		m->n_labels = t->label_cnt;
		m->labels = pb->label_ptrs;
	}
	if (drv__failures_pb_build(t->failures, t->failure_cnt,
				   &pb->failures, &pb->failure_ptrs) != DRV_OK) {
		drv__task_pb_free(pb);
		return DRV_ERR_NOMEM;
	}
	m->n_failures = t->failure_cnt;
	m->failures = pb->failure_ptrs;

	/* Present on the wire only when it says something, so a task has one
	 * encoding. */
	if (!origin_is_empty(to)) {
		o->schedule_id = drv__pb_str(to->schedule_id);
		o->scheduled_ms = to->scheduled_ms;
		o->event_id = drv__pb_str(to->event_id);
		o->parent_task_id = drv__pb_str(to->parent_task_id);
		o->chain_depth = to->chain_depth;
		o->dead_letter_id = drv__pb_str(to->dead_letter_id);
		o->submitted_by = drv__pb_str(to->submitted_by);
		o->fencing_token = to->fencing_token;
		m->origin = o;
	}
	return DRV_OK;
}

void drv__task_pb_free(drv__task_pb_t *pb)
{
	free(pb->labels);
	free(pb->label_ptrs);
	free(pb->failures);
	free(pb->failure_ptrs);
	pb->labels = NULL;
	pb->label_ptrs = NULL;
	pb->failures = NULL;
	pb->failure_ptrs = NULL;
}

/* --- generated message -> task ----------------------------------------------------- */

static drv_err_t origin_from_pb(const Drover__V1__Origin *m, drv_origin_t *o)
{
	o->scheduled_ms = m->scheduled_ms;
	o->chain_depth = m->chain_depth;
	o->fencing_token = m->fencing_token;
	if (!drv__pb_dup(m->schedule_id, &o->schedule_id) ||
	    !drv__pb_dup(m->event_id, &o->event_id) ||
	    !drv__pb_dup(m->parent_task_id, &o->parent_task_id) ||
	    !drv__pb_dup(m->dead_letter_id, &o->dead_letter_id) ||
	    !drv__pb_dup(m->submitted_by, &o->submitted_by))
		return DRV_ERR_NOMEM;
	return DRV_OK;
}

drv_err_t drv__task_from_pb(const Drover__V1__Task *m, drv_task_t *t,
			    const char *what, char *errstr,
			    size_t errstr_size)
{
	char why[256];
	size_t id_len = m->id ? strlen(m->id) : 0;
	drv_err_t err = DRV_OK;

	if (id_len > DRV_ID_LEN) {
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: id \"%.32s%s\" is %zu bytes, "
				 "longer than %d", what, m->id,
				 id_len > 32 ? "..." : "", id_len, DRV_ID_LEN);
	}
	t->schema_version = m->schema_version;
	if (m->id)
		drv_strlcpy(t->id, m->id, sizeof(t->id));
	t->priority = m->priority;
	t->attempt = m->attempt;
	t->max_attempts = m->max_attempts;
	t->created_ms = m->created_ms;
	t->not_before_ms = m->not_before_ms;
	t->deadline_ms = m->deadline_ms;

	if (!drv__pb_dup(m->handler, &t->handler) ||
	    !drv__pb_dup(m->policy, &t->policy) ||
	    !drv__pb_dup(m->idempotency_key, &t->idempotency_key) ||
	    !drv__pb_dup(m->key, &t->key))
		err = DRV_ERR_NOMEM;
	if (!err && m->payload.len)
		err = drv_task_set_payload(t, m->payload.data, m->payload.len);
	if (!err && m->origin)
		err = origin_from_pb(m->origin, &t->origin);
	if (!err && (err = drv__pairs_from_pb(
			     (const void *const *)m->labels, m->n_labels,
			     offsetof(Drover__V1__Label, key),
			     offsetof(Drover__V1__Label, value), &t->labels,
			     &t->label_cnt, what, "label", errstr,
			     errstr_size)) != DRV_OK) {
		drv_task_release(t);
		return err;
	}
	if (!err)
		err = drv__failures_from_pb(m->failures, m->n_failures,
					    &t->failures, &t->failure_cnt);
	if (err) {
		drv_task_release(t);
		return drv_error(errstr, errstr_size, err,
				 "out of memory decoding %s", what);
	}
	if (drv_task_validate(t, why, sizeof(why)) != DRV_OK) {
		drv_task_release(t);
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "invalid %s: %s", what, why);
	}
	return DRV_OK;
}

/* --- public task codec ---------------------------------------------------------- */

drv_err_t drv_task_encode(const drv_task_t *t, uint8_t **out, size_t *out_len,
			  char *errstr, size_t errstr_size)
{
	drv__task_pb_t pb;
	drv_err_t err;

	if ((err = drv_task_validate(t, errstr, errstr_size)) != DRV_OK)
		return err;
	if (drv__task_pb_build(&pb, t) != DRV_OK)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory encoding task %s", t->id);
	err = drv__pb_pack(&pb.msg.base, out, out_len, errstr, errstr_size);
	drv__task_pb_free(&pb);
	return err;
}

drv_err_t drv_task_decode(const void *buf, size_t len, drv_task_t *t,
			  char *errstr, size_t errstr_size)
{
	Drover__V1__Task *m;
	drv_err_t err;

	drv_task_release(t);
	if (len > DRV_MESSAGE_MAX)
		return drv__too_long(drover__v1__task__descriptor.name, len,
				     errstr, errstr_size);
	m = drover__v1__task__unpack(NULL, len,
				     buf ? buf : (const void *)"");
	if (!m)
		return drv__pb_unpack_error(&drover__v1__task__descriptor, len,
					    errstr, errstr_size);
	err = drv__task_from_pb(m, t, drover__v1__task__descriptor.name,
				errstr, errstr_size);
	drover__v1__task__free_unpacked(m, NULL);
	return err;
}
