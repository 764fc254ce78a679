/*
 * cmd_history.c — `droverctl history show`: one handler's or band's (or
 * every task's) throughput, failure rate, submit→start and duration
 * percentiles per step over up to 14 days, with the deploy markers of the
 * range; `droverctl marker add|list|edit|delete`: set, list, change
 * and delete deploy markers (the changes audited). The same core calls
 * as GET /api/v1/history and /api/v1/markers(/{id}).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/history.h"
#include "drover/markers.h"
#include "drover/redis.h"
#include "drover/retry_stats.h"
#include "drover/str.h"
#include "drover/task.h"

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "p50/p95/p99" of a percentile object, "-" when it counted nothing. */
static void pcts(char *buf, size_t size, const json_t *p)
{
	if (!num(p, "count"))
		drv_fmt(buf, size, "-");
	else
		drv_fmt(buf, size, "%lld/%lld/%lld", num(p, "p50"),
			num(p, "p95"), num(p, "p99"));
}

static void print_marker(const json_t *m)
{
	char at[40];
	const char *note = json_string_value(json_object_get(m, "note"));

	drv_format_time(num(m, "at_ms"), at, sizeof(at));
	printf("%-24s marker %s%s%s  [%s]\n", at,
	       json_string_value(json_object_get(m, "label")),
	       note ? ": " : "", note ? note : "",
	       json_string_value(json_object_get(m, "id")));
}

static void print_row(const char *when, const json_t *p)
{
	char wait[48], dur[48];

	pcts(wait, sizeof(wait), json_object_get(p, "wait_ms"));
	pcts(dur, sizeof(dur), json_object_get(p, "duration_ms"));
	printf("%-24s %8lld %8.3f %6lld %6.1f%% %-22s %s\n", when,
	       num(p, "attempts"),
	       json_real_value(json_object_get(p, "per_s")), num(p, "failed"),
	       100.0 * json_real_value(json_object_get(p, "failure_rate")),
	       wait, dur);
}

/* The table: one row per step that ran something (--all: every step),
 * the markers in time order among them, then the total. */
static void print_history(const json_t *o, bool all)
{
	const json_t *pts = json_object_get(o, "points"),
		     *marks = json_object_get(o, "markers");
	size_t i, mi = 0, empty = 0, nm = json_array_size(marks);
	int64_t step = num(o, "step_ms");
	char at[40], s[32];
	json_t *p;

	drv_format_duration(step, s, sizeof(s));
	printf("%s, step %s\n", json_is_string(json_object_get(o, "handler")) ?
	       json_string_value(json_object_get(o, "handler")) :
	       json_is_string(json_object_get(o, "band")) ?
	       json_string_value(json_object_get(o, "band")) : "all tasks", s);
	printf("%-24s %8s %8s %6s %7s %-22s %s\n", "STEP (UTC)", "ATTEMPTS",
	       "PER_S", "FAILED", "FAIL%", "WAIT_MS p50/p95/p99",
	       "DURATION_MS p50/p95/p99");
	json_array_foreach(pts, i, p) {
		int64_t t = num(p, "t");

		while (mi < nm && num(json_array_get(marks, mi), "at_ms") <
		       t + step && num(json_array_get(marks, mi), "at_ms") < t)
			print_marker(json_array_get(marks, mi++));
		if (!all && !num(p, "attempts")) {
			empty++;
			continue;
		}
		drv_format_time(t, at, sizeof(at));
		print_row(at, p);
	}
	while (mi < nm)
		print_marker(json_array_get(marks, mi++));
	print_row("total", json_object_get(o, "total"));
	if (empty)
		printf("(%zu steps without attempts not shown; --all shows "
		       "them)\n", empty);
}

/* The options of `history show` and `marker list` (which takes only
 * --since, --until and --json). */
typedef struct hist_opts {
	drv_history_query_t q;
	bool json, all;
} hist_opts_t;

static int parse_opts(const ctl_cmd_t *cmd, bool series, int argc,
		      char **argv, int64_t now, hist_opts_t *o)
{
	static const struct option opts[] = {
		{ "since",   required_argument, NULL, 'S' },
		{ "until",   required_argument, NULL, 'U' },
		{ "json",    no_argument,       NULL, 'j' },
		{ "handler", required_argument, NULL, 'H' },
		{ "band",    required_argument, NULL, 'B' },
		{ "step",    required_argument, NULL, 's' },
		{ "all",     no_argument,       NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r, li = -1;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, &li)) != -1) {
		/* marker list: --since, --until and --json only */
		if (!series && opt != 'S' && opt != 'U' && opt != 'j' &&
		    opt != '?')
			return ctl_usage_error(cmd, "unknown option '--%s'",
					       opts[li].name);
		switch (opt) {
		case 'S':
		case 'U':
			if ((r = ctl_when_arg(cmd, opt == 'S' ? "--since" :
					      "--until", optarg, now, opt == 'S' ?
					      &o->q.since_ms : &o->q.until_ms)))
				return r;
			break;
		case 'j':
			o->json = true;
			break;
		case 'H':
			o->q.handler = optarg;
			break;
		case 'B':
			o->q.band = optarg;
			break;
		case 's':
			if (drv_parse_duration(optarg, &o->q.step_ms) ||
			    o->q.step_ms <= 0 ||
			    o->q.step_ms % DRV_STATS_BUCKET_MS)
				return ctl_usage_error(cmd, "--step: '%s' is "
						       "not whole minutes (5m)",
						       optarg);
			break;
		case 'a':
			o->all = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	return CTL_EXIT_OK;
}

static int run_history(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		       char **argv)
{
	hist_opts_t h = { 0 };
	int64_t now = drv_now_ms();
	redisContext *c = NULL;
	json_t *o = NULL;
	char err[512];
	drv_err_t rc;
	int r;

	if ((r = parse_opts(cmd, true, argc, argv, now, &h)))
		return r;
	if (h.q.handler && h.q.band)
		return ctl_usage_error(cmd, "--handler and --band: one or "
				       "the other");
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_history(cfg, c, &h.q, now, &o, err, sizeof(err));
	redisFree(c);
	if (rc == DRV_ERR_INVALID)
		return ctl_usage_error(cmd, "%s", err);
	if (rc)
		return ctl_fail("%s", err);
	if (h.json) {
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	print_history(o, h.all);
	json_decref(o);
	return CTL_EXIT_OK;
}

static int run_marker_add(const ctl_cmd_t *cmd, drv_config_t *cfg,
			  int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at",   required_argument, NULL, 'a' },
		{ "note", required_argument, NULL, 'n' },
		{ "json", no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	drv_marker_t m = { .actor = ctl_actor_name() };
	int64_t now = drv_now_ms();
	redisContext *c = NULL;
	bool json = false;
	json_t *o = NULL;
	char err[512], *details;
	drv_err_t rc;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			if ((r = ctl_when_arg(cmd, "--at", optarg, now,
					      &m.at_ms)))
				return r;
			break;
		case 'n':
			m.note = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return ctl_usage_error(cmd, optind < argc ? "one label only" :
				       "a label is required");
	m.label = argv[optind];
	if (drv_marker_check(&m, err, sizeof(err)))
		return ctl_usage_error(cmd, "%s", err);
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_marker_add(c, cfg->redis.key_prefix, &m, now, &o, err,
			    sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	details = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	r = ctl_audit(cfg, NULL, "marker.add", m.label, 1, details, "ok");
	free(details);
	if (r) {
		json_decref(o);
		return r;
	}
	if (json) {
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	print_marker(o);
	json_decref(o);
	return CTL_EXIT_OK;
}

/* The audit record of a change to marker \p label: \p details (taken). */
static int audit_marker(drv_config_t *cfg, const char *action,
			const char *label, json_t *details)
{
	char *text = json_dumps(details, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int r = ctl_audit(cfg, NULL, action, label, 1, text, "ok");

	free(text);
	json_decref(details);
	return r;
}

/* The one argument after the options: a marker's id. CTL_EXIT_OK, or a
 * usage error printed. */
static int marker_id_arg(const ctl_cmd_t *cmd, int argc, char **argv)
{
	if (optind != argc - 1)
		return ctl_usage_error(cmd, optind < argc ? "one id only" :
				       "a marker id is required (droverctl "
				       "marker list shows them)");
	if (!drv_id_valid(argv[optind]))
		return ctl_usage_error(cmd, "'%s' is not a marker id (a ULID)",
				       argv[optind]);
	return CTL_EXIT_OK;
}

static int run_marker_edit(const ctl_cmd_t *cmd, drv_config_t *cfg,
			   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label",   required_argument, NULL, 'l' },
		{ "note",    required_argument, NULL, 'n' },
		{ "no-note", no_argument,       NULL, 'N' },
		{ "at",      required_argument, NULL, 'a' },
		{ "json",    no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	drv_marker_change_t ch = { .editor = ctl_actor_name() };
	drv_marker_t m = { 0 };
	int64_t now = drv_now_ms();
	redisContext *c = NULL;
	json_t *before = NULL, *after = NULL;
	bool json = false;
	char err[512];
	drv_err_t rc;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			ch.label = optarg;
			break;
		case 'n':
			ch.note = optarg;
			break;
		case 'N':
			ch.drop_note = true;
			break;
		case 'a':
			if ((r = ctl_when_arg(cmd, "--at", optarg, now,
					      &ch.at_ms)))
				return r;
			break;
		case 'j':
			json = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if ((r = marker_id_arg(cmd, argc, argv)))
		return r;
	if (ch.note && ch.drop_note)
		return ctl_usage_error(cmd, "--note or --no-note, not both");
	if (!ch.label && !ch.note && !ch.drop_note && !ch.at_ms)
		return ctl_usage_error(cmd, "nothing to change: give --label, "
				       "--note, --no-note or --at");
	/* the label and note as an add checks them */
	m.label = ch.label ? ch.label : "-";
	m.note = ch.note;
	if (drv_marker_check(&m, err, sizeof(err)))
		return ctl_usage_error(cmd, "%s", err);
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_marker_update(c, cfg->redis.key_prefix, argv[optind], &ch,
			       now, &before, &after, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if ((r = audit_marker(cfg, "marker.update",
			      json_string_value(json_object_get(after,
								"label")),
			      json_pack("{s:o, s:O}", "before", before,
					"after", after)))) {
		json_decref(after);
		return r;
	}
	if (json) {
		ctl_print_json(after);
		return CTL_EXIT_OK;
	}
	print_marker(after);
	json_decref(after);
	return CTL_EXIT_OK;
}

static int run_marker_delete(const ctl_cmd_t *cmd, drv_config_t *cfg,
			     int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	redisContext *c = NULL;
	json_t *m = NULL;
	bool json = false;
	char err[512];
	drv_err_t rc;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'j')
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		json = true;
	}
	if ((r = marker_id_arg(cmd, argc, argv)))
		return r;
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_marker_delete(c, cfg->redis.key_prefix, argv[optind], &m,
			       err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if ((r = audit_marker(cfg, "marker.delete",
			      json_string_value(json_object_get(m, "label")),
			      json_incref(m)))) {
		json_decref(m);
		return r;
	}
	if (json) {
		ctl_print_json(json_pack("{s:s, s:b, s:o}", "id", argv[optind],
					 "deleted", 1, "marker", m));
		return CTL_EXIT_OK;
	}
	printf("deleted ");
	print_marker(m);
	json_decref(m);
	return CTL_EXIT_OK;
}

static int run_marker_list(const ctl_cmd_t *cmd, drv_config_t *cfg,
			   int argc, char **argv)
{
	hist_opts_t h = { 0 };
	int64_t now = drv_now_ms();
	redisContext *c = NULL;
	json_t *list = NULL, *m;
	char err[512];
	size_t i;
	int r;

	if ((r = parse_opts(cmd, false, argc, argv, now, &h)))
		return r;
	drv_retry_stats_range(&h.q.since_ms, &h.q.until_ms, now);
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	if (drv_marker_list(c, cfg->redis.key_prefix, h.q.since_ms,
			    h.q.until_ms, &list, err, sizeof(err))) {
		redisFree(c);
		return ctl_fail("%s", err);
	}
	redisFree(c);
	if (h.json) {
		ctl_print_json(json_pack("{s:I, s:I, s:o}", "since_ms",
					 (json_int_t)h.q.since_ms, "until_ms",
					 (json_int_t)h.q.until_ms, "markers",
					 list));
		return CTL_EXIT_OK;
	}
	json_array_foreach(list, i, m)
		print_marker(m);
	if (!json_array_size(list))
		printf("no markers in the range\n");
	json_decref(list);
	return CTL_EXIT_OK;
}

#define WHEN_HELP \
	"  --since T     from T: RFC 3339 time or a duration ago (default: " \
	"24h before --until)\n" \
	"  --until T     to T (same forms; default: now); a range over 14 " \
	"days (what\n                is kept) starts 14 days before T\n"

const ctl_cmd_t ctl_history_cmds[] = {
	{ "history", "show", "[--handler H | --band B] [--since T] "
	  "[--until T] [--step S] [--all] [--json]",
	  "throughput, failure rate, submit-to-start and duration "
	  "percentiles per step",
	  "  --handler H   only handler H's tasks\n"
	  "  --band B      only band B's tasks (high, normal, low); "
	  "neither: every task\n"
	  WHEN_HELP
	  "  --step S      one row per S: whole minutes (over 1d: 1d). "
	  "Default, and instead\n"
	  "                of a step giving over 1500 rows: the smallest of "
	  "1m 5m 15m 1h\n"
	  "                6h 1d that gives at most 1500\n"
	  "  --all         show the steps without attempts too\n"
	  "  --json        one JSON object, as GET /api/v1/history\n"
	  "Counts come from the workers (worker.retry_analytics), one bucket "
	  "per minute,\nkept 14 days. Percentiles are estimates "
	  "interpolated within histogram buckets.\n"
	  "Deploy markers of the range are listed among the rows.\n"
	  "Example:\n"
	  "  droverctl history show --handler billing --since 7d\n",
	  true, run_history },
	{ "marker", "add", "LABEL [--at T] [--note TEXT] [--json]",
	  "set a deploy marker (kept 14 days, audited)",
	  "  --at T        its time: RFC 3339 or a duration ago (default: "
	  "now)\n"
	  "  --note TEXT   a note shown with it\n"
	  "  --json        the marker as JSON, as POST /api/v1/markers\n"
	  "Example:\n"
	  "  droverctl marker add v1.4.2 --note 'billing rollout'\n",
	  true, run_marker_add },
	{ "marker", "edit", "ID [--label L] [--note TEXT | --no-note] "
	  "[--at T] [--json]",
	  "change a deploy marker's label, note or time (audited)",
	  "  ID            the marker's id (droverctl marker list shows it)\n"
	  "  --label L     its new label\n"
	  "  --note TEXT   its new note\n"
	  "  --no-note     take its note out\n"
	  "  --at T        its new time: RFC 3339 or a duration ago\n"
	  "  --json        the marker as JSON, as PATCH /api/v1/markers/ID\n"
	  "Example:\n"
	  "  droverctl marker edit 01KBQ3M5Z8X0V7D6N4R2T9C1HA --label v1.4.3 "
	  "--at 2h\n",
	  true, run_marker_edit },
	{ "marker", "delete", "ID [--json]",
	  "delete a deploy marker (audited)",
	  "  ID            the marker's id (droverctl marker list shows it)\n"
	  "  --json        one JSON object, as DELETE /api/v1/markers/ID\n"
	  "Example:\n"
	  "  droverctl marker delete 01KBQ3M5Z8X0V7D6N4R2T9C1HA\n",
	  true, run_marker_delete },
	{ "marker", "list", "[--since T] [--until T] [--json]",
	  "deploy markers of a time range",
	  WHEN_HELP
	  "  --json        one JSON object, as GET /api/v1/markers\n"
	  "Example:\n"
	  "  droverctl marker list --since 7d\n",
	  true, run_marker_list },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
