/*
 * dlq_show.c — one dead letter by its id, its task's id or its position on
 * the DLQ topic (`droverctl dlq show`, GET /api/v1/dlq/{id}). The DLQ has
 * no index by id: the topic is read until the entry is found (a dead
 * letter id or a position is unique, a task may have died more than once,
 * so a task id reads to the end).
 */
#include <string.h>

#include "drover/dlq.h"
#include "drover/str.h"

typedef struct show {
	const char *id;
	bool    by_pos;      /* id was PARTITION:OFFSET */
	int64_t partition, offset;
	drv_dlq_visit_fn fn;
	void   *arg;
	size_t  found;
	bool    stopped;
} show_t;

static bool show_visit(const drv_dlq_entry_t *e, void *arg)
{
	show_t *s = arg;

	if (s->by_pos ? (e->partition != s->partition ||
			 e->offset != s->offset) :
	    (e->undecodable || (strcmp(e->dl.id, s->id) &&
				strcmp(e->dl.task.id, s->id))))
		return true;
	s->found++;
	if (!s->fn(e, s->arg)) {
		s->stopped = true;
		return false;
	}
	return !s->by_pos && strcmp(e->dl.id, s->id);
}

drv_err_t drv_dlq_show(const drv_config_t *cfg, const char *id,
		       drv_dlq_visit_fn fn, void *arg, size_t *found,
		       char *errstr, size_t errstr_size)
{
	show_t s = { .id = id, .fn = fn, .arg = arg };
	const char *colon;
	drv_err_t rc;

	*found = 0;
	if (!*id)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "empty ID");
	if ((colon = strchr(id, ':'))) {
		char part[16];

		if ((size_t)(colon - id) >= sizeof(part))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "bad position '%s'", id);
		memcpy(part, id, (size_t)(colon - id));
		part[colon - id] = '\0';
		if (drv_parse_int(part, 0, INT32_MAX, &s.partition) ||
		    drv_parse_int(colon + 1, 0, INT64_MAX, &s.offset))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "'%s' is neither an id nor "
					 "PARTITION:OFFSET", id);
		s.by_pos = true;
	}
	rc = drv_dlq_read(cfg, show_visit, &s, NULL, errstr, errstr_size);
	*found = s.found;
	return rc;
}
