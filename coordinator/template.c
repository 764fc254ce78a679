/*
 * template.c — a task from a schedule's or trigger's task template: a fresh
 * id, the template's handler, payload, priority, policy, attempts, deadline
 * and labels; the caller adds its origin and drover.* labels.
 */
#include <string.h>

#include "coord.h"
#include "drover/str.h"

drv_err_t coord_task_build(const coord_t *c, const drv_task_template_t *tm,
			   const char *payload, int64_t now_ms, drv_task_t *t)
{
	char id[DRV_ID_LEN + 1], by[160];
	drv_err_t err = DRV_OK;

	drv_task_init(t);
	drv_id_new(id, now_ms);
	memcpy(t->id, id, sizeof(t->id));
	drv_fmt(by, sizeof(by), "coordinator/%s", c->d->id);
	t->created_ms = now_ms;
	t->priority = tm->priority ? tm->priority : DRV_PRIORITY_DEFAULT;
	t->max_attempts = tm->max_attempts;
	t->deadline_ms = tm->deadline_ms ? now_ms + tm->deadline_ms : 0;
	if (!payload)
		payload = tm->payload ? tm->payload : "{}";
	if (!(t->handler = drv_strdup(tm->handler)) ||
	    (tm->policy && !(t->policy = drv_strdup(tm->policy))) ||
	    !(t->origin.submitted_by = drv_strdup(by)))
		err = DRV_ERR_NOMEM;
	if (!err)
		err = drv_task_set_payload(t, payload, strlen(payload));
	for (size_t i = 0; !err && i < tm->label_cnt; i++)
		err = drv_task_set_label(t, tm->labels[i].key,
					 tm->labels[i].value);
	if (err)
		drv_task_release(t);
	return err;
}
