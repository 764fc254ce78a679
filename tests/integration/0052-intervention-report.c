/*
 * 0052 — `droverctl intervention report` counts every action `droverctl
 * audit list` shows: task and handler interventions, and breaker and band
 * changes too (issue 14: the report left the breaker and band actions
 * out). No worker runs: each command writes its audit record itself.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void ctl_ok(it_ctx_t *ctx, const char *a, const char *b, const char *c,
		   const char *d)
{
	cr_assert_eq(it_ctl(ctx, NULL, a, b, c, d, NULL), 0,
		     "droverctl %s %s %s failed; see %s", a, b, c ? c : "",
		     ctx->dir);
}

Test(intervention_report, counts_what_audit_list_shows, .timeout = 120)
{
	it_ctx_t ctx;
	char yaml[512], id[32], *out = NULL, *line, *next;
	json_t *listed, *rep, *actions, *v;
	const char *action;
	size_t records = 0;

	snprintf(yaml, sizeof(yaml),
		 "  quick:\n"
		 "    command: [\"true\"]\n"
		 "breakers:\n"
		 "  quick:\n"
		 "    wait_in_open: 2s\n");
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	it_submit(&ctx, id, "quick", NULL);

	ctl_ok(&ctx, "task", "pause", id, NULL);
	ctl_ok(&ctx, "task", "resume", id, NULL);
	ctl_ok(&ctx, "pause", "--handler", "quick", NULL);
	ctl_ok(&ctx, "resume", "--handler", "quick", NULL);
	ctl_ok(&ctx, "breaker", "open", "quick", NULL);
	ctl_ok(&ctx, "breaker", "reset", "quick", NULL);
	ctl_ok(&ctx, "band", "pause", "low", NULL);
	ctl_ok(&ctx, "band", "resume", "low", NULL);

	/* what audit list shows, counted per action */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--json", NULL), 0);
	listed = json_object();
	for (line = out; line && *line; line = next) {
		json_t *a;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		a = json_loads(line, 0, NULL);
		cr_assert(a, "not JSON: %s", line);
		action = json_string_value(json_object_get(a, "action"));
		cr_assert(action, "no action: %s", line);
		json_object_set_new(listed, action, json_integer(
			json_integer_value(json_object_get(listed, action)) +
			1));
		records++;
		json_decref(a);
	}
	free(out);
	cr_assert_eq(records, 8, "audit list shows %zu records", records);
	cr_assert(json_object_get(listed, "breaker.open"));
	cr_assert(json_object_get(listed, "band.pause"));

	/* the report has each of them, as many times */
	cr_assert_eq(it_ctl(&ctx, &out, "intervention", "report", "--json",
			    NULL), 0);
	rep = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	cr_assert(rep, "report not JSON: %s", out);
	free(out);
	actions = json_object_get(rep, "actions");
	json_object_foreach(listed, action, v) {
		json_t *row = json_object_get(actions, action);

		cr_assert(row, "intervention report leaves out %s", action);
		cr_assert_eq(json_integer_value(json_object_get(row,
			     "records")), json_integer_value(v),
			     "%s: report %lld, audit list %lld", action,
			     (long long)json_integer_value(json_object_get(
				     row, "records")),
			     (long long)json_integer_value(v));
	}
	json_decref(rep);

	/* and the table names them too */
	cr_assert_eq(it_ctl(&ctx, &out, "intervention", "report", NULL), 0);
	cr_assert(strstr(out, "breaker.open"), "%s", out);
	cr_assert(strstr(out, "band.resume"), "%s", out);
	free(out);
	json_decref(listed);
	it_teardown(&ctx);
}
