/*
 * dlq_filter.c — the dead-letter filters: set from their text (the one
 * parser behind droverctl's --handler/--reason/... and the query
 * parameters of GET /api/v1/dlq), and matched against an entry.
 */
#include <string.h>

#include "drover/dlq.h"
#include "drover/clock.h"
#include "drover/dlq_groups.h"
#include "drover/str.h"

drv_err_t drv_dlq_filter_set(drv_dlq_filter_t *f, const char *name,
			     const char *value, int64_t now_ms, char *errstr,
			     size_t errstr_size)
{
	if (!strcmp(name, "handler")) {
		f->handler = value;
	} else if (!strcmp(name, "reason")) {
		if (drv_dl_reason_parse(value, &f->reason))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				"unknown reason '%s' (permanent_failure, "
				"attempts_exhausted, deadline_exceeded, "
				"undecodable, handler_unknown, skipped)",
				value);
		f->has_reason = true;
	} else if (!strcmp(name, "schedule")) {
		f->schedule_id = value;
	} else if (!strcmp(name, "label")) {
		const char *eq = strchr(value, '=');

		if (!eq || eq == value)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "wants KEY=VALUE, got '%s'", value);
		if (f->label_cnt == DRV_DLQ_FILTER_LABEL_MAX)
			return drv_error(errstr, errstr_size, DRV_ERR_RANGE,
					 "at most %d label filters",
					 DRV_DLQ_FILTER_LABEL_MAX);
		f->label[f->label_cnt++] = value;
	} else if (!strcmp(name, "since") || !strcmp(name, "until")) {
		if (drv_parse_when(value, now_ms, name[0] == 's' ?
				   &f->since_ms : &f->until_ms))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				"'%s' is neither an RFC 3339 time "
				"(2026-01-02T15:04:05Z) nor a duration (2h)",
				value);
	} else if (!strcmp(name, "grep")) {
		f->grep = value;
	} else if (!strcmp(name, "group")) {
		if (!drv_dlq_group_id_valid(value))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				"'%s' is not a group id (%d hex digits)",
				value, DRV_DLQ_GROUP_ID_LEN);
		f->group = value;
	} else {
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no filter '%s'", name);
	}
	return DRV_OK;
}

drv_err_t drv_dlq_filter_check(const drv_dlq_filter_t *f, char *errstr,
			       size_t errstr_size)
{
	if (f->since_ms && f->until_ms && f->since_ms >= f->until_ms)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "since must be before until");
	return DRV_OK;
}

const drv_failure_t *drv_dlq_failures(const drv_dead_letter_t *dl,
				      size_t *cnt)
{
	if (dl->failure_cnt) {
		*cnt = dl->failure_cnt;
		return dl->failures;
	}
	*cnt = dl->task.failure_cnt;
	return dl->task.failures;
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

/* Does the task carry label "key=value" (\p kv)? The key is compared in
 * place: labels take keys of any length. */
static bool has_label(const drv_task_t *t, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	if (!kv[klen])
		return false;
	for (size_t i = 0; i < t->label_cnt; i++)
		if (strlen(t->labels[i].key) == klen &&
		    !memcmp(t->labels[i].key, kv, klen))
			return t->labels[i].value &&
			       !strcmp(t->labels[i].value, kv + klen + 1);
	return false;
}

bool drv_dlq_filter_match(const drv_dlq_filter_t *f, const drv_dlq_entry_t *e)
{
	const drv_dead_letter_t *dl = &e->dl;
	int64_t t = e->undecodable ? e->timestamp_ms : dl->dead_ms;
	const drv_failure_t *fl;
	size_t n;

	if (f->since_ms && t < f->since_ms)
		return false;
	if (f->until_ms && t >= f->until_ms)
		return false;
	if (e->undecodable)
		return !f->handler && !f->has_reason && !f->schedule_id &&
		       !f->label_cnt && !f->grep && !f->group;
	if (f->handler && (!dl->task.handler ||
			   strcmp(f->handler, dl->task.handler)))
		return false;
	if (f->has_reason && dl->reason != f->reason)
		return false;
	if (f->schedule_id && (!dl->task.origin.schedule_id ||
			       strcmp(f->schedule_id,
				      dl->task.origin.schedule_id)))
		return false;
	for (size_t i = 0; i < f->label_cnt; i++)
		if (!has_label(&dl->task, f->label[i]))
			return false;
	if (f->grep) {
		fl = drv_dlq_failures(dl, &n);
		if (!(n && contains(fl[n - 1].message, f->grep)) &&
		    !contains(dl->detail, f->grep))
			return false;
	}
	if (f->group) {
		drv_dlq_group_key_t k;

		drv_dlq_group_of(dl, &k);
		if (strcmp(k.id, f->group))
			return false;
	}
	return true;
}
