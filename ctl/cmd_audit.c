/*
 * cmd_audit.c — reading the audit trail: `droverctl audit list` shows the
 * AuditRecords on <prefix>audit, and `droverctl intervention report` sums
 * up the operator actions over a period: every action `audit list` would
 * show (tasks, handlers, dead letters, breakers, bands, and any other),
 * per action and actor. `audit list` is the core's drv_audit_list() (the
 * same call as GET /api/v1/audit); the report reads the topic once through
 * drv_topic_read() with the same filter.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/topic_read.h"
#include "drover/audit.h"
#include "drover/audit_list.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT     100000

/* Options both commands take; \p limit/\p action NULL when the command has
 * none. Returns CTL_EXIT_OK with optind past them, or a usage error. */
static int parse_opts(const ctl_cmd_t *cmd, int argc, char **argv,
		      drv_audit_filter_t *f, bool *json, int64_t *limit)
{
	static const struct option opts[] = {
		{ "since",  required_argument, NULL, 'S' },
		{ "until",  required_argument, NULL, 'U' },
		{ "action", required_argument, NULL, 'a' },
		{ "actor",  required_argument, NULL, 'w' },
		{ "target", required_argument, NULL, 'g' },
		{ "limit",  required_argument, NULL, 'n' },
		{ "json",   no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t now = drv_now_ms();
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
		case 'U':
			if ((rc = ctl_when_arg(cmd, c == 'S' ? "--since" :
					       "--until", optarg, now, c == 'S' ?
					       &f->since_ms : &f->until_ms)))
				return rc;
			break;
		case 'a':
		case 'g':
		case 'n':
			if (!limit)
				return ctl_usage_error(cmd, "unknown option "
					"'%s'", argv[optind - 1]);
			if (c == 'a')
				f->action = optarg;
			else if (c == 'g')
				f->target = optarg;
			else if (drv_parse_int(optarg, 1, AUDIT_MAX_LIMIT,
					       limit))
				return ctl_usage_error(cmd, "--limit must be "
					"1..%d, got '%s'", AUDIT_MAX_LIMIT,
					optarg);
			break;
		case 'w':
			f->actor = optarg;
			break;
		case 'j':
			*json = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (f->since_ms && f->until_ms && f->since_ms >= f->until_ms)
		return ctl_usage_error(cmd, "--since must be before --until");
	return CTL_EXIT_OK;
}

/* Decode \p m into \p a; false for a message that is not an AuditRecord
 * (reported once per read). */
static bool decode(const rd_kafka_message_t *m, drv_audit_t *a,
		   size_t *bad)
{
	char err[256];

	drv_audit_init(a);
	if (m->payload && !drv_audit_decode(m->payload, m->len, a, err,
					    sizeof(err)))
		return true;
	if ((*bad)++ == 0)
		fprintf(stderr, "droverctl: skipping audit messages that are "
			"not AuditRecords (first at partition %d offset "
			"%lld)\n", (int)m->partition, (long long)m->offset);
	return false;
}

static int read_failed(const char *topic, const char *err)
{
	return ctl_fail("reading %s: %s", topic, err);
}

/* ---- audit list --------------------------------------------------------- */

static char *table_line(const drv_audit_t *a)
{
	char line[1024], when[40];

	drv_format_time(a->time_ms, when, sizeof(when));
	drv_fmt(line, sizeof(line), "%-24s  %-12s  %-16s  %-28s  %6llu  %s",
		when, a->actor ? a->actor : "-", a->action,
		a->target && *a->target ? a->target : "-",
		(unsigned long long)a->count, a->result ? a->result : "-");
	return drv_strdup(line);
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	drv_audit_filter_t f = { 0 };
	drv_audit_page_t page;
	int64_t limit = AUDIT_DEFAULT_LIMIT;
	bool json = false;
	char topic[256], err[512];
	drv_err_t rc;
	int urc;

	if ((urc = parse_opts(cmd, argc, argv, &f, &json, &limit)))
		return urc;
	drv_topic_name(cfg, DRV_TOPIC_AUDIT, NULL, 0, topic, sizeof(topic));
	rc = drv_audit_list(cfg, &f, NULL, (size_t)limit, &page, err,
			    sizeof(err));
	if (page.bad)
		fprintf(stderr, "droverctl: skipping audit messages that are "
			"not AuditRecords (first at partition %d offset "
			"%lld)\n", (int)page.bad_partition,
			(long long)page.bad_offset);
	if (!rc) {
		if (!json && page.cnt)
			printf("%-24s  %-12s  %-16s  %-28s  %6s  %s\n", "TIME",
			       "ACTOR", "ACTION", "TARGET", "COUNT", "RESULT");
		/* the page is newest first; the table ends with the newest */
		for (size_t i = page.cnt; i-- > 0; ) {
			char *text = json ? drv_audit_to_json(&page.records[i])
				     : table_line(&page.records[i]);

			if (!text) {
				rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM,
					       "out of memory");
				break;
			}
			puts(text);
			free(text);
		}
		if (!rc && !json)
			printf("%zu of %zu matching audit records shown "
			       "(newest last)\n", page.cnt, page.matched);
	}
	drv_audit_page_release(&page);
	return rc ? read_failed(topic, err) : CTL_EXIT_OK;
}

/* ---- intervention report ------------------------------------------------ */

/* The actions droverctl writes, listed (with zeros) in this order; any
 * other action on the topic gets a row of its own after them, so the
 * report leaves out nothing `audit list` shows. */
static const char *const kinds[] = {
	"task.pause", "task.resume", "task.skip", "task.retry", "task.cancel",
	"handler.pause", "handler.resume", "dlq.resubmit", "dlq.discard",
	"dlq.import",
	"breaker.open", "breaker.close", "breaker.disable",
	"breaker.metrics-only", "breaker.reset", "band.pause", "band.resume",
};
#define KIND_CNT (sizeof(kinds) / sizeof(kinds[0]))

typedef struct tally {
	char    *action;     /* owned */
	size_t   records, failed;
	uint64_t affected;
} tally_t;

typedef struct report {
	drv_audit_filter_t f;
	tally_t *rows;       /* kinds[] first, then others as first seen */
	size_t   row_cnt, row_cap;
	json_t  *actors;     /* actor -> records */
	size_t   bad;
	int64_t  first_ms, last_ms;
	bool     nomem;
} report_t;

/* The row of \p action, added at the end if new; NULL when out of
 * memory. */
static tally_t *report_row(report_t *r, const char *action)
{
	tally_t *t;

	for (size_t i = 0; i < r->row_cnt; i++)
		if (!strcmp(r->rows[i].action, action))
			return &r->rows[i];
	if (r->row_cnt == r->row_cap) {
		size_t cap = r->row_cap ? 2 * r->row_cap : 2 * KIND_CNT;

		if (!(t = realloc(r->rows, cap * sizeof(*t))))
			return NULL;
		r->rows = t;
		r->row_cap = cap;
	}
	t = &r->rows[r->row_cnt];
	memset(t, 0, sizeof(*t));
	if (!(t->action = drv_strdup(action)))
		return NULL;
	r->row_cnt++;
	return t;
}

static void report_release(report_t *r)
{
	for (size_t i = 0; i < r->row_cnt; i++)
		free(r->rows[i].action);
	free(r->rows);
	json_decref(r->actors);
}

static bool report_visit(const rd_kafka_message_t *m, void *arg)
{
	report_t *r = arg;
	const char *who;
	drv_audit_t a;
	tally_t *t;
	json_t *n;

	if (!decode(m, &a, &r->bad))
		return true;
	/* a resubmission writes "started", then how it ended: count the
	 * end (a run killed meanwhile shows as "started" in audit list
	 * only) */
	if (!a.action || !drv_audit_match(&r->f, &a) ||
	    (a.result && !strcmp(a.result, "started"))) {
		drv_audit_release(&a);
		return true;
	}
	if (!(t = report_row(r, a.action))) {
		drv_audit_release(&a);
		r->nomem = true;
		return false;
	}
	t->records++;
	t->affected += a.count;
	if (a.result && strcmp(a.result, "ok"))
		t->failed++;
	who = a.actor ? a.actor : "-";
	n = json_object_get(r->actors, who);
	json_object_set_new(r->actors, who, json_integer(
		json_integer_value(n) + 1));
	if (!r->first_ms || a.time_ms < r->first_ms)
		r->first_ms = a.time_ms;
	if (a.time_ms > r->last_ms)
		r->last_ms = a.time_ms;
	drv_audit_release(&a);
	return true;
}

static void print_report(const report_t *r, bool json)
{
	const char *who;
	json_t *n;
	char from[40] = "-", to[40] = "-";

	if (r->f.since_ms)
		drv_format_time(r->f.since_ms, from, sizeof(from));
	if (r->f.until_ms)
		drv_format_time(r->f.until_ms, to, sizeof(to));
	if (json) {
		json_t *o = json_object(), *by = json_object();

		for (size_t k = 0; k < r->row_cnt; k++)
			json_object_set_new(by, r->rows[k].action, json_pack(
				"{s:I, s:I, s:I}",
				"records", (json_int_t)r->rows[k].records,
				"affected", (json_int_t)r->rows[k].affected,
				"failed", (json_int_t)r->rows[k].failed));
		if (r->f.since_ms)
			json_object_set_new(o, "since_ms",
					    json_integer(r->f.since_ms));
		if (r->f.until_ms)
			json_object_set_new(o, "until_ms",
					    json_integer(r->f.until_ms));
		json_object_set_new(o, "actions", by);
		json_object_set(o, "actors", r->actors);
		ctl_print_json(o);
		return;
	}
	printf("Interventions from %s to %s\n\n", from, to);
	printf("%-20s  %8s  %10s  %8s\n", "ACTION", "RECORDS", "AFFECTED",
	       "FAILED");
	for (size_t k = 0; k < r->row_cnt; k++)
		printf("%-20s  %8zu  %10llu  %8zu\n", r->rows[k].action,
		       r->rows[k].records,
		       (unsigned long long)r->rows[k].affected,
		       r->rows[k].failed);
	printf("\n%-20s  %8s\n", "ACTOR", "RECORDS");
	json_object_foreach(r->actors, who, n)
		printf("%-20s  %8lld\n", who, (long long)json_integer_value(n));
}

static int run_report(const ctl_cmd_t *cmd, drv_config_t *cfg,
		      int argc, char **argv)
{
	report_t r = { 0 };
	bool json = false;
	char topic[256], err[512];
	drv_err_t rc = DRV_OK;
	int urc;

	if ((urc = parse_opts(cmd, argc, argv, &r.f, &json, NULL)))
		return urc;
	if (!(r.actors = json_object()))
		return ctl_fail("out of memory");
	for (size_t k = 0; k < KIND_CNT && !rc; k++)
		if (!report_row(&r, kinds[k]))
			rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM,
				       "out of memory");
	drv_topic_name(cfg, DRV_TOPIC_AUDIT, NULL, 0, topic, sizeof(topic));
	if (!rc)
		rc = drv_topic_read(cfg, topic, NULL, 0, report_visit, &r, NULL, err,
				    sizeof(err));
	if (!rc && r.nomem)
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM, "out of memory");
	if (!rc)
		print_report(&r, json);
	report_release(&r);
	return rc ? read_failed(topic, err) : CTL_EXIT_OK;
}

#define TIME_HELP \
	"  --since T             at or after T: RFC 3339 time or a duration " \
	"ago (2h)\n" \
	"  --until T             before T (same forms)\n" \
	"  --actor NAME          only what NAME did\n"

const ctl_cmd_t ctl_audit_cmds[] = {
	{ "audit", "list",
	  "[--since T] [--until T] [--action A] [--actor NAME] [--target T] "
	  "[--limit N] [--json]",
	  "show the operator actions recorded on the audit topic",
	  TIME_HELP
	  "  --action A            only this action (dlq.resubmit), or a "
	  "prefix\n"
	  "                        ending in '.' (task.)\n"
	  "  --target T            only actions on T (a task id, a breaker...)\n"
	  "  --limit N             the newest N (default 100)\n"
	  "  --json                one JSON object per line\n"
	  "Example:\n"
	  "  droverctl audit list --since 24h --action task. --json\n",
	  true, run_list },
	{ "intervention", "report", "[--since T] [--until T] [--actor NAME] "
	  "[--json]",
	  "count the operator actions of a period, per action and actor",
	  TIME_HELP
	  "  --json                one JSON object\n"
	  "Counts audit records and what they affected, per action (tasks, "
	  "handlers,\n"
	  "dead letters, breakers, bands: every action audit list shows) and "
	  "actor.\n"
	  "Example:\n"
	  "  droverctl intervention report --since 7d\n",
	  true, run_report },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
