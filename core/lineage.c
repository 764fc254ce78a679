/*
 * lineage.c — a task's lineage (include/drover/lineage.h). Each task is a
 * node: its state record (if Redis still has it), its origin and its dead
 * letters with the tasks their resubmissions sent. The walk goes back
 * through origin.dead_letter_id, then forward through the newest dead
 * letter's resubmission, and stops at a task seen before.
 */
#include <string.h>

#include "drover/dlq.h"
#include "drover/lineage.h"
#include "drover/state.h"
#include "drover/str.h"

/* One node being made: the dead letters of its task. */
typedef struct node_read {
	const char *task_id;
	json_t     *dls;        /* array */
	json_t     *origin;     /* from a dead letter, when state has none */
	char        ids[DRV_DLQ_MARK_BATCH][DRV_ID_LEN + 1];
	size_t      cnt;
} node_read_t;

static bool dl_visit(const drv_dlq_entry_t *e, void *arg)
{
	node_read_t *nr = arg;
	const drv_dead_letter_t *dl = &e->dl;
	char *origin;
	json_t *o;

	if (e->undecodable || strcmp(dl->task.id, nr->task_id) ||
	    nr->cnt == DRV_DLQ_MARK_BATCH)
		return true;
	o = json_pack("{s:s, s:s, s:I, s:n}", "id", dl->id, "reason",
		      drv_dl_reason_name(dl->reason), "dead_ms",
		      (json_int_t)dl->dead_ms, "resubmitted_as");
	if (o && dl->detail)
		json_object_set_new(o, "detail", json_string(dl->detail));
	if (o)
		json_array_append_new(nr->dls, o);
	drv_strlcpy(nr->ids[nr->cnt++], dl->id, DRV_ID_LEN + 1);
	if (!nr->origin && (origin = drv_state_origin_json(&dl->task))) {
		nr->origin = json_loads(origin, 0, NULL);
		free(origin);
	}
	return true;
}

/* Task \p id as a node into \p *node; \p *known false when neither Redis
 * nor the DLQ has it. */
static drv_err_t node_of(const drv_config_t *cfg, redisContext *c,
			 const char *id, json_t **node, bool *known,
			 char *errstr, size_t errstr_size)
{
	node_read_t *nr = calloc(1, sizeof(*nr));
	char (*marks)[DRV_ID_LEN + 1] = NULL;
	const char *dl_ids[64];
	drv_state_task_t st;
	json_t *state = NULL, *origin = NULL;
	size_t found = 0, n;
	drv_err_t rc;

	*node = NULL;
	*known = false;
	drv_state_task_init(&st);
	if (!nr || !(nr->dls = json_array())) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	rc = drv_state_get(c, cfg->redis.key_prefix, id, &st, errstr,
			   errstr_size);
	if (rc && rc != DRV_ERR_NOT_FOUND)
		goto out;
	if (!rc) {
		state = drv_state_task_obj(&st, true);
		if (st.origin)
			origin = json_loads(st.origin, 0, NULL);
	}
	nr->task_id = id;
	if ((rc = drv_dlq_show(cfg, c, id, dl_visit, nr, &found, errstr,
			       errstr_size)))
		goto out;
	/* the newest 64 dead letters' marks: a task rarely dies more often */
	n = nr->cnt < 64 ? nr->cnt : 64;
	for (size_t i = 0; i < n; i++)
		dl_ids[i] = nr->ids[nr->cnt - n + i];
	if (n && (!(marks = calloc(n, sizeof(*marks))) ||
		  (rc = drv_dlq_marks_get(c, cfg, dl_ids, n, marks, errstr,
					  errstr_size))))
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *dl = json_array_get(nr->dls, nr->cnt - n + i);

		/* a discard mark is not a task to follow */
		if (drv_dlq_mark_discarded(marks[i]))
			json_object_set_new(dl, "discarded", json_true());
		else if (marks[i][0])
			json_object_set_new(dl, "resubmitted_as",
					    json_string(marks[i]));
	}
	*known = state || nr->cnt;
	if (!origin && nr->origin) {
		origin = nr->origin;
		nr->origin = NULL;
	}
	*node = json_pack("{s:s, s:o, s:o, s:O}", "id", id, "state",
			  state ? state : json_null(), "origin",
			  origin ? origin : json_null(), "dead_letters",
			  nr->dls);
	state = origin = NULL;
	if (!*node)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
out:
	json_decref(state);
	json_decref(origin);
	if (nr) {
		json_decref(nr->dls);
		json_decref(nr->origin);
	}
	free(nr);
	free(marks);
	drv_state_task_release(&st);
	return rc;
}

/* The task dead letter \p dl_id held, into \p task_id ("" if none). */
static bool task_of_dead_letter(const drv_dlq_entry_t *e, void *arg)
{
	char *task_id = arg;

	if (!e->undecodable && e->dl.task.id[0])
		drv_strlcpy(task_id, e->dl.task.id, DRV_ID_LEN + 1);
	return false;
}

static bool seen(json_t *tasks, const char *id)
{
	size_t i;
	json_t *t;

	json_array_foreach(tasks, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "id")), id))
			return true;
	return false;
}

drv_err_t drv_task_lineage(const drv_config_t *cfg, redisContext *c,
			   const char *id, json_t **out, char *errstr,
			   size_t errstr_size)
{
	json_t *tasks = json_array(), *node = NULL, *v;
	char cur[DRV_ID_LEN + 1], prev[DRV_ID_LEN + 1];
	bool known, truncated = false;
	size_t found;
	drv_err_t rc;

	*out = NULL;
	if (!tasks)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if ((rc = node_of(cfg, c, id, &node, &known, errstr, errstr_size)))
		goto out;
	if (!known) {
		json_decref(node);
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
			       "neither the task state nor the DLQ knows task "
			       "%s", id);
		goto out;
	}
	json_array_append_new(tasks, node);
	/* back, through the dead letter each was resubmitted from */
	for (json_t *first = node;;) {
		const char *dl = json_string_value(json_object_get(
			json_object_get(first, "origin"), "dead_letter_id"));

		if (!dl)
			break;
		if (json_array_size(tasks) >= DRV_LINEAGE_MAX) {
			truncated = true;
			break;
		}
		prev[0] = '\0';
		if ((rc = drv_dlq_show(cfg, c, dl, task_of_dead_letter, prev,
				       &found, errstr, errstr_size)))
			goto out;
		if (!prev[0] || seen(tasks, prev))
			break;
		if ((rc = node_of(cfg, c, prev, &first, &known, errstr,
				  errstr_size)))
			goto out;
		json_array_insert_new(tasks, 0, first);
	}
	/* forward, through the newest dead letter's resubmission */
	drv_strlcpy(cur, id, sizeof(cur));
	for (node = json_array_get(tasks, json_array_size(tasks) - 1);;) {
		json_t *dls = json_object_get(node, "dead_letters");
		const char *next;

		v = json_array_get(dls, json_array_size(dls) - 1);
		next = json_string_value(json_object_get(v, "resubmitted_as"));
		if (!next || seen(tasks, next))
			break;
		if (json_array_size(tasks) >= DRV_LINEAGE_MAX) {
			truncated = true;
			break;
		}
		drv_strlcpy(cur, next, sizeof(cur));
		if ((rc = node_of(cfg, c, cur, &node, &known, errstr,
				  errstr_size)))
			goto out;
		json_array_append_new(tasks, node);
	}
	if (!(*out = json_pack("{s:s, s:O, s:b}", "id", id, "tasks", tasks,
			       "truncated", truncated)))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
out:
	json_decref(tasks);
	return rc;
}
