/*
 * cmd_dlq.c — the read side of `droverctl dlq`: list, show, stats and
 * export the dead letters on <prefix>dlq. Every command reads the topic
 * once through drv_dlq_read() (a snapshot up to the end it had when the command
 * started) and filters with the options dlq_read.h defines. Resubmission
 * is cmd_dlq_resubmit.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/dlq.h"
#include "dlq_opts.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT     100000
#define LAST_ERROR_WIDTH   60

/* `dlq list --archived [--dir D]`: read the archive instead of the topic. */
typedef struct archive_opt {
	bool        on;
	const char *dir;  /* NULL = coordinator.archive_dir */
} archive_opt_t;

/* Parse the options every dlq command shares: the filters, --json and,
 * when \p limit is given, --limit and --offset; when \p arch is given,
 * --archived and --dir. Returns CTL_EXIT_OK with optind past the options,
 * or the exit code of a usage error. */
static int parse_opts(const ctl_cmd_t *cmd, int argc, char **argv,
		      drv_dlq_filter_t *f, bool *json, int64_t *limit,
		      int64_t *offset, archive_opt_t *arch)
{
	static const struct option all[] = {
		DLQ_FILTER_OPTIONS,
		{ "json",     no_argument,       NULL, 'j' },
		{ "limit",    required_argument, NULL, 'n' },
		{ "offset",   required_argument, NULL, 'o' },
		{ "archived", no_argument,       NULL, 'A' },
		{ "dir",      required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option json_only[] = {
		{ "json",   no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t now = drv_now_ms();
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", f ? all : json_only,
				NULL)) != -1) {
		if (f && (rc = ctl_dlq_filter_option(cmd, f, c, optarg, now)) >= 0) {
			if (rc != CTL_EXIT_OK)
				return rc;
			continue;
		}
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'A':
		case 'D':
			if (!arch)
				return ctl_usage_error(cmd, "unknown option "
						       "'%s'", argv[optind - 1]);
			if (c == 'D')
				arch->dir = optarg;
			else
				arch->on = true;
			break;
		case 'n':
		case 'o':
			if (limit && c == 'n') {
				if (drv_parse_int(optarg, 1, LIST_MAX_LIMIT,
						  limit))
					return ctl_usage_error(cmd, "--limit "
						"must be 1..%d, got '%s'",
						LIST_MAX_LIMIT, optarg);
				break;
			}
			if (offset && c == 'o') {
				if (drv_parse_int(optarg, 0, INT32_MAX, offset))
					return ctl_usage_error(cmd, "--offset "
						"must be a count >= 0, got "
						"'%s'", optarg);
				break;
			}
			/* not an option of this command */
			return ctl_usage_error(cmd, "unknown option '--%s'",
					       c == 'n' ? "limit" : "offset");
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (arch && arch->dir && !arch->on)
		return ctl_usage_error(cmd, "--dir goes with --archived");
	return f ? ctl_dlq_filter_check(cmd, f) : CTL_EXIT_OK;
}

static int read_failed(const char *what, const char *err)
{
	return ctl_fail("dlq %s: %s", what, err);
}

/* The time a listing sorts and filters by. */
static int64_t entry_time(const drv_dlq_entry_t *e)
{
	return e->undecodable ? e->timestamp_ms : e->dl.dead_ms;
}

static uint32_t attempts(const drv_dead_letter_t *dl)
{
	size_t n;

	drv_dlq_failures(dl, &n);
	return dl->task.attempt > n ? dl->task.attempt : (uint32_t)n;
}

/* Copy \p s into \p buf on one line, cut to \p width characters with "..."
 * when longer. */
static void one_line(char *buf, size_t size, const char *s, size_t width)
{
	size_t n = 0;

	for (; s && *s && n + 1 < size && n < width; s++)
		buf[n++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
	buf[n] = '\0';
	if (s && *s && width > 3 && n >= width)
		drv_strlcpy(buf + width - 3, "...", size - (width - 3));
}

/* ---- list and export ---------------------------------------------------- */

typedef struct row {
	int64_t t;
	int32_t partition;
	int64_t offset;
	char   *text;   /* a table line or a JSON line */
} row_t;

typedef struct lister {
	const drv_dlq_filter_t *f;
	bool     json;
	bool     stream;   /* export: print as read, keep nothing */
	size_t   keep;     /* offset + limit: the earliest rows kept */
	row_t   *rows;     /* sorted by (t, partition, offset) */
	size_t   row_cnt;
	size_t   matched;
	bool     nomem;
} lister_t;

static int row_cmp(const row_t *a, const row_t *b)
{
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->partition != b->partition)
		return a->partition < b->partition ? -1 : 1;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static char *table_line(const drv_dlq_entry_t *e)
{
	const drv_dead_letter_t *dl = &e->dl;
	char line[512], when[40], handler[17], err[LAST_ERROR_WIDTH + 1];
	char pos[40];
	const drv_failure_t *fl;
	size_t n;

	drv_format_time(entry_time(e), when, sizeof(when));
	if (e->undecodable) {
		drv_fmt(pos, sizeof(pos), "(at %d:%lld)", (int)e->partition,
			(long long)e->offset);
		one_line(err, sizeof(err), e->decode_error, LAST_ERROR_WIDTH);
		drv_fmt(line, sizeof(line), "%-26s  %-24s  %-16s  %-18s  %8s  %s",
			pos, when, "-", "(undecodable)", "-", err);
		return drv_strdup(line);
	}
	fl = drv_dlq_failures(dl, &n);
	one_line(handler, sizeof(handler), dl->task.handler ?
		 dl->task.handler : "-", 16);
	one_line(err, sizeof(err), n && fl[n - 1].message ?
		 fl[n - 1].message : dl->detail ? dl->detail : "",
		 LAST_ERROR_WIDTH);
	drv_fmt(line, sizeof(line), "%-26s  %-24s  %-16s  %-18s  %8u  %s",
		dl->id, when, handler, drv_dl_reason_name(dl->reason),
		attempts(dl), err);
	return drv_strdup(line);
}

static bool list_visit(const drv_dlq_entry_t *e, void *arg)
{
	lister_t *l = arg;
	row_t r;
	size_t lo, hi;

	if (!drv_dlq_filter_match(l->f, e))
		return true;
	l->matched++;
	r.t = entry_time(e);
	r.partition = e->partition;
	r.offset = e->offset;
	if (l->row_cnt == l->keep && row_cmp(&r, &l->rows[l->row_cnt - 1]) >= 0)
		return true;
	if (!(r.text = l->json ? drv_dlq_entry_json(e) : table_line(e))) {
		l->nomem = true;
		return false;
	}
	if (l->stream) {
		puts(r.text);
		free(r.text);
		return true;
	}
	if (l->row_cnt == l->keep)
		free(l->rows[--l->row_cnt].text);
	for (lo = 0, hi = l->row_cnt; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		if (row_cmp(&l->rows[mid], &r) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&l->rows[lo + 1], &l->rows[lo],
		(l->row_cnt - lo) * sizeof(*l->rows));
	l->rows[lo] = r;
	l->row_cnt++;
	return true;
}

/* Redis for the marks, or NULL: what became of the entries is then not
 * said (Redis down, or not configured to be reached). */
static redisContext *marks_redis(const drv_config_t *cfg)
{
	redisContext *c = NULL;
	char err[512];

	return drv_redis_connect(cfg, &c, err, sizeof(err)) ? NULL : c;
}

/* JSON line \p text with what its mark says ("resubmitted_as",
 * "discarded"; drv_dlq_entries_mark()); malloc'd, or NULL when it cannot
 * be had (the line is printed as it is). */
static char *marked_line(redisContext *c, const drv_config_t *cfg,
			 const char *text)
{
	json_t *o = c ? json_loads(text, 0, NULL) : NULL;
	char err[512], *out = NULL;

	if (o && !drv_dlq_entries_mark(c, cfg, o, err, sizeof(err)))
		out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* Print the JSON lines of rows [from, cnt) with their marks: one MGET per
 * DRV_DLQ_MARK_BATCH rows. */
static void print_marked(const drv_config_t *cfg, row_t *rows, size_t from,
			 size_t cnt)
{
	redisContext *c = from < cnt ? marks_redis(cfg) : NULL;
	json_t *batch = json_array();
	char err[512];

	for (size_t at = from; at < cnt; at += DRV_DLQ_MARK_BATCH) {
		size_t end = at + DRV_DLQ_MARK_BATCH < cnt ?
			     at + DRV_DLQ_MARK_BATCH : cnt;
		bool marked;

		json_array_clear(batch);
		for (size_t i = at; c && batch && i < end; i++)
			json_array_append_new(batch, json_loads(rows[i].text,
								0, NULL));
		marked = c && batch && json_array_size(batch) == end - at &&
			 !drv_dlq_entries_mark(c, cfg, batch, err,
					       sizeof(err));
		for (size_t i = at; i < end; i++) {
			char *line = marked ? json_dumps(json_array_get(batch,
					      i - at), JSON_COMPACT) : NULL;

			puts(line ? line : rows[i].text);
			free(line);
		}
	}
	json_decref(batch);
	if (c)
		redisFree(c);
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	drv_dlq_filter_t f = { 0 };
	int64_t limit = LIST_DEFAULT_LIMIT, offset = 0;
	archive_opt_t arch = { 0 };
	lister_t l = { 0 };
	bool json = false;
	char err[512];
	size_t read_cnt;
	drv_err_t rc;
	int urc;

	if ((urc = parse_opts(cmd, argc, argv, &f, &json, &limit, &offset,
			       &arch)))
		return urc;
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (arch.on && !arch.dir && !cfg->coordinator.archive_dir[0])
		return ctl_usage_error(cmd, "--archived needs --dir or "
				       "coordinator.archive_dir");
	l.f = &f;
	l.json = json;
	l.keep = (size_t)(offset + limit);
	if (!(l.rows = calloc(l.keep + 1, sizeof(*l.rows))))
		return ctl_fail("out of memory");
	if (arch.on)
		rc = drv_dlq_read_archive(arch.dir ? arch.dir :
				      cfg->coordinator.archive_dir, &f,
				      list_visit, &l, &read_cnt, NULL, err,
				      sizeof(err));
	else
		rc = drv_dlq_read(cfg, list_visit, &l, &read_cnt, err, sizeof(err));
	if (!rc && l.nomem)
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM, "out of memory");
	if (!rc) {
		if (!json && l.row_cnt > (size_t)offset)
			printf("%-26s  %-24s  %-16s  %-18s  %8s  %s\n", "ID",
			       "DEAD AT", "HANDLER", "REASON", "ATTEMPTS",
			       "LAST ERROR");
		if (json)  /* each entry with what became of it */
			print_marked(cfg, l.rows, (size_t)offset, l.row_cnt);
		else
			for (size_t i = (size_t)offset; i < l.row_cnt; i++)
				puts(l.rows[i].text);
		if (!json)
			printf("%zu of %zu matching %sdead letters shown "
			       "(%zu read)\n", l.row_cnt > (size_t)offset ?
			       l.row_cnt - (size_t)offset : 0, l.matched,
			       arch.on ? "archived " : "", read_cnt);
	}
	for (size_t i = 0; i < l.row_cnt; i++)
		free(l.rows[i].text);
	free(l.rows);
	return rc ? read_failed("list", err) : CTL_EXIT_OK;
}

static int run_export(const ctl_cmd_t *cmd, drv_config_t *cfg,
		      int argc, char **argv)
{
	drv_dlq_filter_t f = { 0 };
	lister_t l = { 0 };
	bool json = true;
	char err[512];
	drv_err_t rc;
	int urc;

	if ((urc = parse_opts(cmd, argc, argv, &f, &json, NULL, NULL, NULL)))
		return urc;
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	l.f = &f;
	l.json = true;
	l.stream = true;
	l.keep = SIZE_MAX;
	rc = drv_dlq_read(cfg, list_visit, &l, NULL, err, sizeof(err));
	if (!rc && l.nomem)
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM, "out of memory");
	if (fflush(stdout) != 0 && !rc)
		rc = drv_error(err, sizeof(err), DRV_ERR_IO, "writing stdout "
			       "failed");
	if (rc)
		return read_failed("export", err);
	fprintf(stderr, "droverctl: exported %zu dead letters\n", l.matched);
	return CTL_EXIT_OK;
}

/* ---- show --------------------------------------------------------------- */

typedef struct shower {
	const drv_config_t *cfg;
	redisContext *rc;  /* the marks; NULL: not said */
	const char *topic;
	bool    json;
	size_t  found;
	bool    nomem;
} shower_t;

static void print_payload(const uint8_t *p, size_t len)
{
	json_t *j;
	char *s;

	if (!p || !len) {
		printf("Payload: (none)\n");
		return;
	}
	if ((j = json_loadb((const char *)p, len, JSON_DECODE_ANY, NULL))) {
		s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
		json_decref(j);
		printf("Payload:\n%s\n", s ? s : "");
		free(s);
		return;
	}
	printf("Payload: %zu bytes, not JSON:\n  ", len);
	for (size_t i = 0; i < len && i < 512; i++)
		if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	printf("%s\n", len > 512 ? "..." : "");
}

static void print_task(const drv_task_t *t)
{
	char buf[64];

	printf("Task:\n");
	ctl_field(18, "id", t->id);
	ctl_field(18, "handler", t->handler);
	drv_fmt(buf, sizeof(buf), "%u", t->priority);
	ctl_field(18, "priority", buf);
	if (t->max_attempts)
		drv_fmt(buf, sizeof(buf), "%u of %u", t->attempt,
			t->max_attempts);
	else
		drv_fmt(buf, sizeof(buf), "%u (max: the policy's)", t->attempt);
	ctl_field(18, "attempts", buf);
	ctl_field(18, "policy", t->policy);
	ctl_time_field(18, "created", t->created_ms);
	ctl_time_field(18, "not before", t->not_before_ms);
	ctl_time_field(18, "deadline", t->deadline_ms);
	ctl_field(18, "idempotency key", t->idempotency_key);
	ctl_field(18, "partition key", t->key);
	for (size_t i = 0; i < t->label_cnt; i++) {
		char kv[512];
		drv_fmt(kv, sizeof(kv), "%s=%s", t->labels[i].key,
			t->labels[i].value ? t->labels[i].value : "");
		printf("  %-18s %s\n", i ? "" : "labels", kv);
	}
	ctl_field(18, "schedule", t->origin.schedule_id);
	ctl_time_field(18, "scheduled for", t->origin.scheduled_ms);
	ctl_field(18, "event", t->origin.event_id);
	ctl_field(18, "parent task", t->origin.parent_task_id);
	ctl_field(18, "resubmitted from", t->origin.dead_letter_id);
	ctl_field(18, "submitted by", t->origin.submitted_by);
}

static void print_failures(const drv_dead_letter_t *dl)
{
	const drv_failure_t *fl;
	char when[40], code[32];
	size_t n;

	fl = drv_dlq_failures(dl, &n);
	printf("Failures (%zu):\n", n);
	for (size_t i = 0; i < n; i++) {
		drv_format_time(fl[i].time_ms, when, sizeof(when));
		code[0] = '\0';
		if (fl[i].http_status)
			drv_fmt(code, sizeof(code), "  http %d",
				(int)fl[i].http_status);
		else if (fl[i].exit_code)
			drv_fmt(code, sizeof(code), "  exit %d",
				(int)fl[i].exit_code);
		printf("  #%u  %s  %s%s  %lldms  worker %s\n", fl[i].attempt,
		       when, drv_failure_class_name(fl[i].failure_class), code,
		       (long long)fl[i].duration_ms,
		       fl[i].worker_id ? fl[i].worker_id : "-");
		if (fl[i].message)
			printf("      %s\n", fl[i].message);
	}
}

/* What the entry's mark says: a resubmission's task, or discarded. */
static void print_mark(const shower_t *s, const char *dl_id)
{
	char mark[1][DRV_ID_LEN + 1], err[512];

	if (!s->rc)
		return;
	if (drv_dlq_marks_get(s->rc, s->cfg, &dl_id, 1, mark, err,
			      sizeof(err)))
		ctl_field(18, "resubmitted", "unknown (Redis failed)");
	else if (drv_dlq_mark_discarded(mark[0]))
		ctl_field(18, "discarded", "yes (no resubmission takes it "
			  "unless forced)");
	else
		ctl_field(18, "resubmitted as", mark[0][0] ? mark[0] : "-");
}

static void print_entry(const shower_t *s, const drv_dlq_entry_t *e,
			const char *topic)
{
	const drv_dead_letter_t *dl = &e->dl;
	char buf[300];

	if (e->undecodable) {
		printf("Undecodable DLQ entry at %s [%d] @ %lld: %s\n",
		       topic, (int)e->partition, (long long)e->offset,
		       e->decode_error);
		print_payload(e->value, e->value_len);
		return;
	}
	printf("Dead letter %s\n", dl->id);
	ctl_field(18, "reason", drv_dl_reason_name(dl->reason));
	ctl_field(18, "detail", dl->detail);
	ctl_time_field(18, "dead at", dl->dead_ms);
	ctl_field(18, "worker", dl->worker_id);
	if (dl->source_topic) {
		drv_fmt(buf, sizeof(buf), "%s [%d] @ %lld", dl->source_topic,
			(int)dl->source_partition, (long long)dl->source_offset);
		ctl_field(18, "source", buf);
	}
	drv_fmt(buf, sizeof(buf), "%s [%d] @ %lld", topic, (int)e->partition,
		(long long)e->offset);
	ctl_field(18, "dlq position", buf);
	print_mark(s, dl->id);
	if (dl->task.id[0]) {
		print_task(&dl->task);
		print_payload(dl->task.payload, dl->task.payload_len);
	}
	print_failures(dl);
	if (dl->raw_len) {
		printf("Original message (undecodable task):\n");
		print_payload(dl->raw, dl->raw_len);
	}
}

static bool show_visit(const drv_dlq_entry_t *e, void *arg)
{
	shower_t *s = arg;
	char *j;

	if (s->json) {
		char *m;

		if (!(j = drv_dlq_entry_json(e))) {
			s->nomem = true;
			return false;
		}
		m = marked_line(s->rc, s->cfg, j);
		puts(m ? m : j);
		free(m);
		free(j);
	} else {
		if (s->found)
			putchar('\n');
		print_entry(s, e, s->topic);
	}
	s->found++;
	return true;
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	shower_t s = { 0 };
	char err[512], topic[256];
	const char *id;
	size_t found;
	drv_err_t rc;
	int urc;

	if ((urc = parse_opts(cmd, argc, argv, NULL, &s.json, NULL, NULL, NULL)))
		return urc;
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing ID");
	if (optind + 1 < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind + 1]);
	id = argv[optind];
	drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic));
	s.topic = topic;
	s.cfg = cfg;
	s.rc = marks_redis(cfg);
	rc = drv_dlq_show(cfg, s.rc, id, show_visit, &s, &found, err,
			  sizeof(err));
	if (s.rc)
		redisFree(s.rc);
	if (rc == DRV_ERR_INVALID)
		return ctl_usage_error(cmd, "%s", err);
	if (!rc && s.nomem)
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM, "out of memory");
	if (rc)
		return read_failed("show", err);
	if (!found)
		return ctl_fail("dlq show: %s not found in %s", id, topic);
	return CTL_EXIT_OK;
}

/* ---- stats -------------------------------------------------------------- */

static void print_stats(const drv_dlq_stats_t *st, const char *topic,
			bool json, const char *redis_err)
{
	char when[40];

	if (json) {
		ctl_print_json(drv_dlq_stats_obj(st, topic));
		return;
	}
	printf("%-20s %s\n", "topic", topic);
	printf("%-20s %zu\n", "dead letters", st->count);
	if (st->undecodable)
		printf("%-20s %zu\n", "undecodable entries", st->undecodable);
	if (st->resubmitted_known) {
		printf("%-20s %zu\n", "already resubmitted", st->resubmitted);
		printf("%-20s %zu\n", "discarded", st->discarded);
	} else {
		printf("%-20s unknown (%s)\n", "already resubmitted",
		       redis_err[0] ? redis_err : st->redis_err);
		printf("%-20s unknown\n", "discarded");
	}
	if (st->count) {
		drv_format_time(st->span.old_ms, when, sizeof(when));
		printf("%-20s %s  %s\n", "oldest", when, st->span.old_id);
		drv_format_time(st->span.new_ms, when, sizeof(when));
		printf("%-20s %s  %s\n", "newest", when, st->span.new_id);
		printf("\n%-20s %s\n", "REASON", "COUNT");
		for (int i = 0; i < DRV_DL_REASON_CNT; i++)
			if (st->by_reason[i])
				printf("%-20s %zu\n", drv_dl_reason_name(i),
				       st->by_reason[i]);
		printf("\n%-20s %s\n", "HANDLER", "COUNT");
		for (size_t i = 0; i < st->handler_cnt; i++)
			printf("%-20s %zu\n", st->handlers[i].name,
			       st->handlers[i].count);
	}
}

static int run_stats(const ctl_cmd_t *cmd, drv_config_t *cfg,
		     int argc, char **argv)
{
	drv_dlq_filter_t f = { 0 };
	drv_dlq_stats_t st;
	redisContext *c = NULL;
	bool json = false;
	char err[512], topic[256], redis_err[256] = "";
	drv_err_t rc;
	int urc;

	if ((urc = parse_opts(cmd, argc, argv, &f, &json, NULL, NULL, NULL)))
		return urc;
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	/* without Redis only "already resubmitted" and "discarded" are
	 * unknown */
	if (drv_redis_connect(cfg, &c, redis_err, sizeof(redis_err)))
		c = NULL;
	rc = drv_dlq_stats(cfg, c, &f, &st, err, sizeof(err));
	if (!rc) {
		drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic,
			       sizeof(topic));
		print_stats(&st, topic, json, redis_err);
	}
	drv_dlq_stats_release(&st);
	if (c)
		redisFree(c);
	return rc ? read_failed("stats", err) : CTL_EXIT_OK;
}

const ctl_cmd_t ctl_dlq_cmds[] = {
	{ "dlq", "list",
	  DLQ_FILTER_USAGE " [--limit N] [--offset N] [--json] "
	  "[--archived [--dir DIR]]",
	  "list dead letters, oldest first",
	  DLQ_FILTER_HELP
	  "  --limit N             show at most N (default 50)\n"
	  "  --offset N            skip the first N matches\n"
	  "  --json                one JSON object per line, with "
	  "\"resubmitted_as\" (a task\n"
	  "                        id or null) and \"discarded\" from its "
	  "mark in Redis\n"
	  "  --archived            list the DLQ archive instead of the topic\n"
	  "  --dir DIR             the archive folder (default: "
	  "coordinator.archive_dir)\n"
	  "Reads the DLQ up to its end when the command starts; --archived "
	  "reads the\nfiles the coordinator archived, opening only those "
	  "whose index and day\ncan match --handler, --reason, --since and "
	  "--until.\n"
	  "Example:\n  droverctl dlq list --handler resize --since 2h "
	  "--grep timeout\n"
	  "  droverctl dlq list --archived --dir /archive --reason "
	  "deadline_exceeded\n",
	  true, run_list },
	{ "dlq", "show", "ID|PARTITION:OFFSET [--json]",
	  "show a dead letter by its id or its task's id, failures and all",
	  "  --json                the dead letter as one JSON line\n"
	  "ID is the dead letter's id or the task id (a task dead-lettered "
	  "more than\nonce shows every dead letter); PARTITION:OFFSET names "
	  "a position on the\nDLQ topic. Shows what became of it: the task "
	  "it was resubmitted as, or\ndiscarded (\"resubmitted_as\", "
	  "\"discarded\" with --json). Exit 1 when nothing\nmatches.\n"
	  "Example:\n  droverctl dlq show 01HZY3K4M5N6P7Q8R9S0T1V2W3\n",
	  true, run_show },
	{ "dlq", "stats", DLQ_FILTER_USAGE " [--json]",
	  "DLQ depth, oldest and newest entry, counts by reason and handler",
	  DLQ_FILTER_HELP
	  "  --json                one JSON object\n"
	  "Also counts the entries already resubmitted and those discarded "
	  "(their marks\nin Redis, each entry in one of the two at most; "
	  "\"unknown\" when Redis cannot\nbe reached).\n"
	  "Example:\n  droverctl dlq stats --since 24h --json\n",
	  true, run_stats },
	{ "dlq", "export", DLQ_FILTER_USAGE,
	  "write every matching dead letter as a JSON line (for archiving)",
	  DLQ_FILTER_HELP
	  "Writes in DLQ order to stdout, e.g. "
	  "'droverctl dlq export > dlq.jsonl'.\n"
	  "Example:\n  droverctl dlq export --reason permanent_failure > "
	  "dlq.jsonl\n",
	  true, run_export },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
