/*
 * cmd_task_bulk.c — `droverctl task submit --file FILE|-`: one JSON task
 * per line (the body of the API's POST /tasks, drover/submit_json.h),
 * produced through the core's bulk path (drover/bulk.h) with many in
 * flight. Results come in line order: each task's id on stdout (with
 * --json one object per line: {"line":N,"id":...} or {"line":N,"error":...}),
 * each refused line on stderr naming the line and the field. Blank lines
 * are skipped. Audited once, with the counts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/bulk.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "drover/submit_json.h"

typedef struct bulk_out {
	bool     json;
	uint64_t ok, failed;
} bulk_out_t;

static void report(const drv_bulk_result_t *r, void *opaque)
{
	bulk_out_t *o = opaque;
	json_int_t line = (json_int_t)(uintptr_t)r->item;

	if (r->err) {
		o->failed++;
		if (o->json)
			ctl_print_json(json_pack("{s:I, s:s, s:s}", "line", line,
						 "error", r->errstr, "pointer",
						 r->pointer));
		fprintf(stderr, "droverctl task submit: line %lld: %s%s%s\n",
			(long long)line, r->pointer, *r->pointer ? ": " : "",
			r->errstr);
		return;
	}
	o->ok++;
	if (o->json)
		ctl_print_json(json_pack("{s:I, s:s, s:s}", "line", line, "id",
					 r->task->id, "topic", r->topic));
	else
		printf("%s\n", r->task->id);
}

/* Whether the line holds only blanks. */
static bool blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

int ctl_submit_file(const drv_config_t *cfg, const char *path,
		    int64_t timeout_ms, bool json)
{
	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	const char *by = getenv("USER") ? getenv("USER") : "droverctl";
	bulk_out_t out = { .json = json };
	char err[512], pointer[128], details[128], topic[256];
	char *line = NULL;
	size_t cap = 0, n = 0;
	drv_bulk_t *b = NULL;
	rd_kafka_t *rk;
	ssize_t len;
	int rc;

	if (!in)
		return ctl_fail("task submit: cannot read %s: %s", path,
				strerror(errno));
	/* most lines go to the default priority's band */
	drv_topic_name(cfg, DRV_TOPIC_TASKS, drv_band_for_priority(cfg,
		       DRV_PRIORITY_DEFAULT)->name, 0, topic, sizeof(topic));
	if (!(rk = ctl_producer_new(cfg, topic, -1, err, sizeof(err)))) {
		if (in != stdin)
			fclose(in);
		return ctl_fail("%s", err);
	}
	if (!(b = drv_bulk_new(rk, cfg, 0, timeout_ms, report, &out))) {
		rd_kafka_destroy(rk);
		if (in != stdin)
			fclose(in);
		return ctl_fail("task submit: out of memory");
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		void *item = (void *)(uintptr_t)++n;
		json_error_t jerr;
		json_t *o;
		drv_task_t t;

		if (blank(line))
			continue;
		if (!(o = json_loadb(line, (size_t)len, 0, &jerr))) {
			drv_fmt(err, sizeof(err), "not JSON: %s (column %d)",
				jerr.text, jerr.column);
			drv_bulk_refuse(b, DRV_ERR_INVALID, "", err, item);
			continue;
		}
		drv_task_init(&t);
		if (drv_task_from_json(o, cfg, drv_now_ms(), &t, pointer,
				       sizeof(pointer), err, sizeof(err))) {
			drv_bulk_refuse(b, DRV_ERR_INVALID, pointer, err, item);
		} else {
			t.origin.submitted_by = drv_strdup(by);
			drv_bulk_add(b, &t, item);
		}
		drv_task_release(&t);
		json_decref(o);
	}
	drv_bulk_destroy(b);
	free(line);
	if (ferror(in))
		ctl_fail("task submit: reading %s: %s", path, strerror(errno));
	rc = ferror(in) || out.failed ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	if (in != stdin)
		fclose(in);
	fflush(stdout);
	fprintf(stderr, "droverctl task submit: %llu submitted, %llu failed "
		"(%zu lines)\n", (unsigned long long)out.ok,
		(unsigned long long)out.failed, n);
	drv_fmt(details, sizeof(details), "{\"submitted\":%llu,\"failed\":%llu}",
		(unsigned long long)out.ok, (unsigned long long)out.failed);
	if (out.ok && ctl_audit(cfg, rk, "task.submit", path, out.ok, details,
				NULL))
		rc = CTL_EXIT_FAILED;
	rd_kafka_flush(rk, 1000);
	rd_kafka_destroy(rk);
	return rc;
}
