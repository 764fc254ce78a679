/*
 * 0036-coord-trigger-payload.c — a trigger's payload template gets the
 * event's id and payload filled in, and the task carries the event's type
 * and id (a file of its own: Criterion 2.4 leaks 48 bytes in its runner
 * when this test shares a process with 0033's). Also: a plain JSON event
 * on an external topic (coordinator.event_topics) triggers too.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/task.h"
#include "drover/str.h"
#include "harness.h"

static const char handlers[] = "  rec:\n    type: noop\n";
static const char triggers[] =
	"triggers:\n"
	"  on-emit:\n"
	"    event: order.created\n"
	"    where: {region: \"eu-*\"}\n"
	"    handler: rec\n"
	"    payload: '{\"from\": \"${event.id}\", \"order\": "
	"${event.payload}}'\n";

Test(coord_trigger_payload, event_payload_and_id_reach_the_task, .timeout = 90)
{
	it_ctx_t ctx, ext;
	it_msg_t *m = NULL;
	drv_task_t task;
	char err[256], keys[200], *out = NULL;
	static const char raw[] = "{\"type\":\"order.created\",\"id\":"
				  "\"ext-1\",\"region\":\"eu-2\"}";
	pid_t c;
	int n, found = 0, found_ext = 0;

	/* another namespace's events topic stands for an external topic */
	it_setup(&ext, handlers);
	it_topics(&ext);
	drv_fmt(keys, sizeof(keys), "  event_topics: [\"%sevents\"]\n",
		 ext.prefix);
	it_setup(&ctx, handlers);
	it_coord_config(&ctx, keys, triggers);
	it_topics(&ctx);
	c = it_coordinator_start(&ctx, "coord-1");
	cr_assert_eq(it_ctl(&ctx, &out, "event", "emit", "order.created",
			    "--attr", "region=eu-1", "--payload",
			    "{\"sku\":\"x-1\"}", "--id", "ev-42", NULL), 0);
	free(out);
	it_produce_raw(&ext, "events", raw, strlen(raw));
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "event_id=ev-42", 30000));
	cr_assert(it_coord_log_wait(&ctx, "coord-1", "event_id=ext-1", 30000),
		  "the event on the external topic did not trigger");
	cr_assert_eq(it_stop(c, SIGTERM, 20000) >= 0, 1);
	n = it_consume(&ctx, "tasks.normal", 10, 3000, &m);
	for (int i = 0; i < n; i++) {
		drv_task_init(&task);
		cr_assert_eq(drv_task_decode(m[i].data, m[i].len, &task, err,
					     sizeof(err)), DRV_OK, "%s", err);
		found_ext += task.origin.event_id &&
			     !strcmp(task.origin.event_id, "ext-1");
		if (task.origin.event_id &&
		    !strcmp(task.origin.event_id, "ev-42")) {
			found++;
			cr_assert_eq(task.payload_len,
				     strlen("{\"from\": \"ev-42\", \"order\": "
					    "{\"sku\":\"x-1\"}}"));
			cr_assert(!memcmp(task.payload, "{\"from\": \"ev-42\", "
					  "\"order\": {\"sku\":\"x-1\"}}",
					  task.payload_len));
			cr_assert_str_eq(drv_task_label(&task,
				"drover.event_type"), "order.created");
		}
		drv_task_release(&task);
	}
	it_msgs_free(m, n);
	cr_assert_eq(found, 1);
	cr_assert_eq(found_ext, 1);
	it_teardown(&ctx);
	it_teardown(&ext);
}
