/*
 * 0102 — DLQ archival against the real Kafka and Redis (issue 14): tasks
 * fail for good and are dead-lettered by a real worker; a coordinator with
 * a 1 s archive_after archives them; it is killed with SIGKILL, more tasks
 * are dead-lettered, and a second coordinator (on the same archive folder)
 * takes the lease and archives the rest. Every entry is in the archive
 * exactly once (counted by task id across every archive file); `dlq list
 * --archived` shows them and its index filter works; the audit topic holds
 * a "dlq.archive" record per file, their counts add up; /metrics shows
 * drover_dlq_archived_total; `dlq import` of the folder puts them back.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/audit.h"
#include "drover/dlq_archive.h"
#include "drover/str.h"
#include "harness.h"

#define N1 200
#define N2 150

static const char handlers[] =
	"  doomed:\n"
	"    shell: true\n"
	"    command: 'exit 3'\n";

/* How often each task id occurs in the archive. */
typedef struct tally {
	const char *dir;
	json_t     *ids;    /* task id -> occurrences */
	size_t      lines;
	size_t      files;
} tally_t;

static bool tally_line(const char *line, size_t len, void *arg)
{
	tally_t *t = arg;
	json_t *o = json_loadb(line, len, 0, NULL), *v;
	const char *id;

	cr_assert(o, "an archive line is JSON: %.*s", (int)len, line);
	id = json_string_value(json_object_get(json_object_get(o, "task"),
					       "id"));
	cr_assert(id, "an archive line has a task id");
	cr_assert(json_is_string(json_object_get(o, "message_base64")));
	v = json_object_get(t->ids, id);
	json_object_set_new(t->ids, id, json_integer(v ?
			    json_integer_value(v) + 1 : 1));
	t->lines++;
	json_decref(o);
	return true;
}

static bool tally_file(const drv_dlq_archive_file_t *f, void *arg)
{
	tally_t *t = arg;
	char path[600], err[256];

	drv_dlq_archive_path(t->dir, f, DRV_DLQ_ARCHIVE_DATA, path,
			     sizeof(path));
	cr_assert_eq(drv_dlq_archive_read_lines(path, tally_line, t, err,
						sizeof(err)), DRV_OK, "%s",
		     err);
	t->files++;
	return true;
}

static void tally(const char *dir, tally_t *t)
{
	char err[256];

	json_decref(t->ids);
	*t = (tally_t){ .dir = dir, .ids = json_object() };
	cr_assert_eq(drv_dlq_archive_scan(dir, tally_file, t, err,
					  sizeof(err)), DRV_OK, "%s", err);
}

static size_t wait_archived(const char *dir, tally_t *t, size_t want)
{
	for (int i = 0; i < 120; i++) {
		tally(dir, t);
		if (t->lines >= want)
			break;
		sleep(1);
	}
	return t->lines;
}

static long long dlq_count(it_ctx_t *ctx)
{
	char *out = NULL;
	json_t *j;
	long long n;

	cr_assert_eq(it_ctl(ctx, &out, "dlq", "stats", "--json", NULL), 0);
	j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	cr_assert(j, "dlq stats --json: %s", out);
	n = json_integer_value(json_object_get(j, "count"));
	json_decref(j);
	free(out);
	return n;
}

static void wait_dead(it_ctx_t *ctx, long long want)
{
	long long dead = 0;

	for (int i = 0; i < 120 && (dead = dlq_count(ctx)) < want; i++)
		sleep(1);
	cr_assert_eq(dead, want, "%lld of %lld dead-lettered", dead, want);
}

static int lines_of(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* The value of drover_dlq_archived_total on \p port's /metrics. */
static long long archived_metric(int port)
{
	char *body = NULL, *p;
	long long v = -1;

	cr_assert_eq(it_http_get(port, "/metrics", &body), 200);
	p = strstr(body, "\ndrover_dlq_archived_total ");
	if (p)
		v = strtoll(p + strlen("\ndrover_dlq_archived_total "), NULL,
			    10);
	free(body);
	return v;
}

/* The "dlq.archive" audit records: how many, and their counts added. */
static int audit_archives(it_ctx_t *ctx, unsigned long long *sum)
{
	it_msg_t *msgs = NULL;
	int n = it_consume(ctx, "audit", 1000, 10000, &msgs), hits = 0;

	*sum = 0;
	for (int i = 0; i < n; i++) {
		drv_audit_t a;
		char err[256];

		drv_audit_init(&a);
		if (!drv_audit_decode(msgs[i].data, msgs[i].len, &a, err,
				      sizeof(err)) &&
		    !strcmp(a.action, "dlq.archive")) {
			hits++;
			*sum += a.count;
		}
		drv_audit_release(&a);
	}
	it_msgs_free(msgs, n);
	return hits;
}

Test(dlq_archive, every_entry_archived_once_across_a_restart,
     .timeout = 280)
{
	char dir[400], keys[800], *out = NULL;
	int port_a = it_free_port(), port_b, files;
	tally_t t = { 0 };
	unsigned long long sum;
	it_ctx_t ctx;
	pid_t worker, a, b;
	const char *id;
	json_t *v;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	drv_fmt(dir, sizeof(dir), "%s/archive", ctx.dir);
	setenv("DROVER_WORKER_CONCURRENCY", "8", 1);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "doomed", N1);
	wait_dead(&ctx, N1);

	/* coordinator a archives the first batch once it is 1 s old */
	drv_fmt(keys, sizeof(keys), "  http_port: %d\n  archive_dir: %s\n"
		"  archive_after: 1s\n  archive_interval: 200ms\n", port_a,
		dir);
	it_coord_config(&ctx, keys, "");
	a = it_coordinator_start(&ctx, "coord-a");
	cr_assert_eq(wait_archived(dir, &t, N1), N1, "%zu of %d archived",
		     t.lines, N1);
	for (int i = 0; i < 50 && archived_metric(port_a) < N1; i++)
		usleep(100000);
	cr_assert_eq(archived_metric(port_a), N1);

	/* a dies hard; more tasks die while no coordinator runs */
	kill(a, SIGKILL);
	it_stop(a, 0, 5000);
	it_publish_many(&ctx, "doomed", N2);
	wait_dead(&ctx, N1 + N2);

	/* b (same folder, its own metrics port) takes the lease, resumes
	 * from what the archive holds and archives only the rest */
	port_b = it_free_port();
	{
		char *cfg = it_read(ctx.config), *p;
		FILE *f;

		cr_assert(cfg);
		drv_fmt(keys, sizeof(keys), "http_port: %d", port_a);
		cr_assert(p = strstr(cfg, keys));
		f = fopen(ctx.config, "w");
		cr_assert(f);
		fprintf(f, "%.*shttp_port: %d%s", (int)(p - cfg), cfg, port_b,
			p + strlen(keys));
		fclose(f);
		free(cfg);
	}
	b = it_coordinator_start(&ctx, "coord-b");
	cr_assert_eq(wait_archived(dir, &t, N1 + N2), N1 + N2,
		     "%zu of %d archived", t.lines, N1 + N2);
	sleep(2); /* a pass or more after the last entry: nothing more */
	tally(dir, &t);
	cr_assert_eq(t.lines, N1 + N2, "%zu lines archived", t.lines);
	cr_assert_eq(json_object_size(t.ids), N1 + N2);
	json_object_foreach(t.ids, id, v)
		cr_assert_eq(json_integer_value(v), 1, "task %s archived "
			     "%lld times", id, json_integer_value(v));
	files = (int)t.files;
	cr_assert_eq(archived_metric(port_b), N2);

	/* every archive file has its audit record */
	cr_assert_eq(audit_archives(&ctx, &sum), files);
	cr_assert_eq(sum, N1 + N2);

	/* dlq list --archived reads them back, and filters by the index */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--archived", "--dir",
			    dir, "--json", "--limit", "100000", NULL), 0);
	cr_assert_eq(lines_of(out), N1 + N2, "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--archived", "--dir",
			    dir, "--handler", "other", "--json", NULL), 0);
	cr_assert_eq(lines_of(out), 0, "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "list", "--dir", dir, NULL),
		     2, "--dir without --archived is a usage error");
	free(out);

	/* dlq import of the folder restores every entry */
	it_stop(b, SIGTERM, 10000);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "import", dir, NULL), 0);
	free(out);
	wait_dead(&ctx, 2 * (N1 + N2));

	it_stop(worker, SIGTERM, 10000);
	json_decref(t.ids);
	it_teardown(&ctx);
}
