/*
 * 0015 — the read side of `droverctl dlq` against a real DLQ topic: three
 * dead letters produced straight to <prefix>dlq plus one message that is
 * not a DeadLetter at all; list (filters, limit, offset, JSON), show (by
 * task id, by dead-letter id, not found), stats and export read them back.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/dead_letter.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "harness.h"

typedef struct made {
	char dl_id[DRV_ID_LEN + 1];
	char task_id[DRV_ID_LEN + 1];
} made_t;

/* Produce one dead letter of \p handler with \p nfail failures and wait
 * for the acknowledgement. */
static void produce(rd_kafka_t *rk, const drv_config_t *cfg, made_t *m,
		    const char *handler, drv_dl_reason_t reason, int nfail,
		    const char *message, const char *detail, int64_t dead_ms,
		    const char *label)
{
	drv_dead_letter_t dl;
	drv_delivery_t dr = { 0 };
	char err[512], topic[256];

	drv_dead_letter_init(&dl);
	drv_id_new(dl.task.id, dead_ms - 5000);
	drv_id_new(dl.id, dead_ms);
	dl.task.handler = drv_strdup(handler);
	dl.task.created_ms = dead_ms - 5000;
	dl.task.attempt = (uint32_t)nfail;
	drv_task_set_payload(&dl.task, "{\"n\":1}", 7);
	if (label)
		drv_task_set_label(&dl.task, "team", label);
	for (int i = 1; i <= nfail; i++) {
		drv_failure_t f = { 0 };
		f.attempt = (uint32_t)i;
		f.time_ms = dead_ms - (nfail - i) * 100;
		f.worker_id = "it-worker";
		f.failure_class = i == nfail && reason == DRV_DL_PERMANENT_FAILURE
			? DRV_FAILURE_PERMANENT : DRV_FAILURE_TRANSIENT;
		f.message = (char *)message;
		f.exit_code = 75;
		f.duration_ms = 12;
		cr_assert_eq(drv_dead_letter_add_failure(&dl, &f), DRV_OK);
	}
	dl.reason = reason;
	dl.detail = drv_strdup(detail);
	dl.dead_ms = dead_ms;
	dl.source_topic = drv_strdup("it.tasks.normal");
	dl.source_partition = 1;
	dl.source_offset = 42;
	dl.worker_id = drv_strdup("it-worker");
	cr_assert_eq(drv_dead_letter_produce(rk, cfg, &dl, &dr, err,
					     sizeof(err)), DRV_OK, "%s", err);
	drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic));
	cr_assert_eq(drv_kafka_wait(rk, &dr, topic, 10000, err, sizeof(err)),
		     DRV_OK, "%s", err);
	drv_strlcpy(m->dl_id, dl.id, sizeof(m->dl_id));
	drv_strlcpy(m->task_id, dl.task.id, sizeof(m->task_id));
	drv_dead_letter_release(&dl);
}

/* Parse droverctl's JSON-lines output; returns the count, objects in
 * \p objs (json_decref each). */
static int lines(const char *out, json_t **objs, int max)
{
	int n = 0;

	for (const char *p = out; p && *p && n < max;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		json_error_t je;

		if (len) {
			objs[n] = json_loadb(p, len, 0, &je);
			cr_assert(objs[n], "bad JSON line: %.*s (%s)", (int)len,
				  p, je.text);
			n++;
		}
		p += len + (nl ? 1 : 0);
	}
	return n;
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void free_lines(json_t **objs, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(objs[i]);
}

Test(dlq_cli, list_show_stats_export, .timeout = 180)
{
	it_ctx_t ctx;
	drv_config_t *cfg = NULL;
	char *out = NULL;
	json_t *o[16];
	made_t a, b, c;
	rd_kafka_t *rk;
	int64_t now = drv_now_ms();
	int n;

	it_setup(&ctx, "  alpha:\n    command: [\"true\"]\n"
		       "  beta:\n    command: [\"true\"]\n");
	it_topics(&ctx);

	/* an empty DLQ lists nothing and has depth 0 */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "stats", "--json", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1);
	cr_assert_eq(json_integer_value(json_object_get(o[0], "count")), 0);
	free_lines(o, n);
	free(out);

	rk = it_producer(&ctx, &cfg);
	produce(rk, cfg, &a, "alpha", DRV_DL_PERMANENT_FAILURE, 1,
		"boom from alpha", NULL, now - 3000, "red");
	produce(rk, cfg, &b, "beta", DRV_DL_ATTEMPTS_EXHAUSTED, 3,
		"temporarily unavailable", "gave up after 3 attempts",
		now - 2000, NULL);
	produce(rk, cfg, &c, "alpha", DRV_DL_PERMANENT_FAILURE, 1,
		"bad input", NULL, now - 1000, "blue");
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
	it_produce_raw(&ctx, "dlq", "\xff\xff\xff not a dead letter", 22);

	/* list --json: everything, oldest first, the bad entry included */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 4, "%s", out);
	cr_assert_str_eq(str(o[0], "id", NULL), a.dl_id);
	cr_assert_str_eq(str(o[0], "task", "id"), a.task_id);
	cr_assert_str_eq(str(o[0], "reason", NULL), "permanent_failure");
	cr_assert_str_eq(str(o[1], "id", NULL), b.dl_id);
	cr_assert_eq(json_array_size(json_object_get(o[1], "failures")), 3);
	cr_assert_str_eq(str(o[2], "id", NULL), c.dl_id);
	cr_assert(json_is_true(json_object_get(o[3], "undecodable_entry")),
		  "%s", out);
	free_lines(o, n);
	free(out);

	/* --reason */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json", "--reason",
			    "permanent_failure", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 2, "%s", out);
	cr_assert_str_eq(str(o[0], "id", NULL), a.dl_id);
	cr_assert_str_eq(str(o[1], "id", NULL), c.dl_id);
	free_lines(o, n);
	free(out);

	/* --handler */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json", "--handler",
			    "beta", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1, "%s", out);
	cr_assert_str_eq(str(o[0], "task", "handler"), "beta");
	free_lines(o, n);
	free(out);

	/* --label, --grep (message and detail) */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json", "--label",
			    "team=blue", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1, "%s", out);
	cr_assert_str_eq(str(o[0], "id", NULL), c.dl_id);
	free_lines(o, n);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json", "--grep",
			    "gave up", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1, "%s", out);
	cr_assert_str_eq(str(o[0], "id", NULL), b.dl_id);
	free_lines(o, n);
	free(out);

	/* --limit and --offset page through the oldest-first order */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json", "--limit",
			    "1", "--offset", "1", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1, "%s", out);
	cr_assert_str_eq(str(o[0], "id", NULL), b.dl_id);
	free_lines(o, n);
	free(out);

	/* --since / --until as RFC 3339 times and as a duration ago */
	{
		char mid[40];

		drv_format_time(now - 1500, mid, sizeof(mid));
		cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json",
				    "--since", mid, "--reason",
				    "permanent_failure", NULL), 0);
		n = lines(out, o, 16);
		cr_assert_eq(n, 1, "%s", out);
		cr_assert_str_eq(str(o[0], "id", NULL), c.dl_id);
		free_lines(o, n);
		free(out);
		/* the undecodable entry goes by its (recent) Kafka
		 * timestamp */
		cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json",
				    "--until", mid, NULL), 0);
		n = lines(out, o, 16);
		cr_assert_eq(n, 2, "%s", out);
		cr_assert_str_eq(str(o[0], "id", NULL), a.dl_id);
		cr_assert_str_eq(str(o[1], "id", NULL), b.dl_id);
		free_lines(o, n);
		free(out);
		cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--json",
				    "--since", "10m", NULL), 0);
		n = lines(out, o, 16);
		cr_assert_eq(n, 4, "%s", out);
		free_lines(o, n);
		free(out);
	}

	/* the table */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", NULL), 0);
	cr_assert(strstr(out, "LAST ERROR"), "%s", out);
	cr_assert(strstr(out, a.dl_id) && strstr(out, "boom from alpha"),
		  "%s", out);
	cr_assert(strstr(out, "(undecodable)"), "%s", out);
	free(out);

	/* show by task id and by dead-letter id */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "show", b.task_id, "--json",
			    NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1, "%s", out);
	cr_assert_str_eq(str(o[0], "id", NULL), b.dl_id);
	cr_assert_str_eq(str(o[0], "detail", NULL), "gave up after 3 attempts");
	free_lines(o, n);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "show", a.dl_id, NULL), 0);
	cr_assert(strstr(out, a.task_id), "%s", out);
	cr_assert(strstr(out, "boom from alpha"), "%s", out);
	cr_assert(strstr(out, "\"n\": 1"), "payload pretty-printed: %s", out);
	cr_assert(strstr(out, "it.tasks.normal [1] @ 42"), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "show", "nosuchid", NULL), 1);
	free(out);

	/* stats */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "stats", "--json", NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 1, "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(o[0], "count")), 3);
	cr_assert_eq(json_integer_value(json_object_get(o[0],
				"undecodable_entries")), 1);
	cr_assert_str_eq(str(o[0], "oldest", "id"), a.dl_id);
	cr_assert_str_eq(str(o[0], "newest", "id"), c.dl_id);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(o[0],
			"by_reason"), "permanent_failure")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(o[0],
			"by_reason"), "attempts_exhausted")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(o[0],
			"by_handler"), "alpha")), 2);
	free_lines(o, n);
	free(out);

	/* export: every match, no limit */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "export", "--handler", "alpha",
			    NULL), 0);
	n = lines(out, o, 16);
	cr_assert_eq(n, 2, "%s", out);
	free_lines(o, n);
	free(out);

	it_teardown(&ctx);
}
