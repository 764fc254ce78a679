/*
 * dlq_show.c — one dead letter by its id, its task's id or its position on
 * the DLQ topic (`droverctl dlq show`, GET /api/v1/dlq/{id}). A position
 * is read alone. An id is looked for in the blocks the DLQ index says may
 * hold it (the whole topic when there is no index), until the entry is
 * found: a dead letter id is unique, a task may have died more than once,
 * so a task id reads all of its blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/dlq_index.h"
#include "drover/str.h"

typedef struct show {
	const char *id;
	bool    by_pos;      /* id was PARTITION:OFFSET */
	int64_t partition, offset;
	drv_dlq_visit_fn fn;
	void   *arg;
	size_t  found;
	bool    stopped;
	drv_dlq_index_query_t *q;   /* NULL: no index */
} show_t;

static int64_t show_skip(int32_t p, int64_t offset, int64_t *until,
			 void *arg)
{
	show_t *s = arg;

	return drv_dlq_index_next(s->q, p, offset, until);
}

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

drv_err_t drv_dlq_show(const drv_config_t *cfg, redisContext *redis,
		       const char *id, drv_dlq_visit_fn fn, void *arg, size_t *found,
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
	if (s.by_pos) {
		int64_t *from = calloc((size_t)s.partition + 1, sizeof(*from)),
			*to = calloc((size_t)s.partition + 1, sizeof(*to));

		if (from && to) {
			from[s.partition] = s.offset;
			to[s.partition] = s.offset + 1;
			rc = drv_dlq_read_range(cfg, from, to,
						(size_t)s.partition + 1,
						show_visit, &s, NULL, errstr,
						errstr_size);
		} else {
			rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				       "out of memory");
		}
		free(from);
		free(to);
	} else {
		s.q = drv_dlq_index_query_id(cfg, redis, id);
		rc = drv_dlq_read_skip(cfg, NULL, NULL, 0, show_visit,
				       s.q ? show_skip : NULL, &s, NULL, errstr,
				       errstr_size);
		drv_dlq_index_query_destroy(s.q);
	}
	*found = s.found;
	return rc;
}
