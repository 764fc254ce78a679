/*
 * main.c — droverctl's entry point: global options, loading the config, and
 * dispatching "droverctl GROUP COMMAND ..." through the command tables.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

extern char **environ;

static const ctl_cmd_t *const tables[] = {
	ctl_config_cmds, ctl_topics_cmds, ctl_task_cmds, ctl_event_cmds,
	ctl_dlq_cmds, ctl_dlq_resubmit_cmds, ctl_dlq_import_cmds,
	ctl_dlq_group_cmds, ctl_dlq_job_cmds,
	ctl_schedule_cmds, ctl_schedule_edit_cmds, ctl_schedule_trigger_cmds,
	ctl_schedule_fires_cmds,
	ctl_breaker_cmds, ctl_band_cmds, ctl_limit_cmds, ctl_queue_cmds,
	ctl_audit_cmds, ctl_task_show_cmds, ctl_intervene_cmds,
	ctl_retry_cmds, ctl_history_cmds,
};
#define TABLE_CNT (sizeof(tables) / sizeof(tables[0]))

static const char main_usage[] =
	"usage: droverctl [-c FILE] [--as NAME] GROUP COMMAND [ARGS...]";

/* Whether \p cmd is the first command of its group in the tables. */
static bool first_of_group(const ctl_cmd_t *cmd)
{
	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const ctl_cmd_t *c = tables[t]; c->group; c++) {
			if (c == cmd)
				return true;
			if (!strcmp(c->group, cmd->group))
				return false;
		}
	return false;
}

static void print_group(FILE *out, const char *group)
{
	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const ctl_cmd_t *c = tables[t]; c->group; c++) {
			char name[64];

			if (strcmp(c->group, group))
				continue;
			drv_fmt(name, sizeof(name), "%s %s", c->group, c->name);
			fprintf(out, "  %-22s %s\n", name, c->summary);
		}
}

static void print_commands(FILE *out)
{
	fprintf(out, "%s\n\n"
		"Operate a drover deployment: submit tasks, emit events, "
		"manage topics and config,\ninspect and resubmit dead "
		"letters, pause, skip, cancel or retry tasks, and read\n"
		"the audit trail. The coordinator's HTTP API does the same over "
		"HTTP\n(docs/api.md).\n\n"
		"Global options:\n"
		"  -c, --config FILE   drover config (default: $DROVER_CONFIG, "
		"else built-in defaults)\n"
		"      --as NAME       who acts, for the audit trail "
		"(default: the login name)\n"
		"  -h, --help          show this help, or a command's with "
		"GROUP COMMAND --help\n"
		"  -V, --version       print the version\n\n"
		"Commands:\n", main_usage);
	/* a group's commands together, groups in order of first appearance
	 * (one group's commands may live in more than one table) */
	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const ctl_cmd_t *g = tables[t]; g->group; g++)
			if (first_of_group(g))
				print_group(out, g->group);
	fprintf(out, "\nEnvironment: DROVER_<SECTION>_<KEY> overrides any "
		"config key (see docs/config.md).\n"
		"Exit status: 0 done, 1 failed, 2 bad usage.\n");
}

int ctl_usage_error(const ctl_cmd_t *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "droverctl %s %s: ", cmd->group, cmd->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: droverctl %s %s %s\n", cmd->group, cmd->name,
		cmd->usage);
	return CTL_EXIT_USAGE;
}

int ctl_help(const ctl_cmd_t *cmd)
{
	printf("usage: droverctl %s %s %s\n\n%s\n", cmd->group, cmd->name,
	       cmd->usage, cmd->summary);
	if (cmd->help)
		printf("\n%s", cmd->help);
	return CTL_EXIT_OK;
}

int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("droverctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_FAILED;
}

rd_kafka_t *ctl_producer_new(const drv_config_t *cfg, const char *topic,
			     int64_t linger_ms, char *errstr,
			     size_t errstr_size)
{
	return drv_kafka_producer_brief_new(cfg, topic, linger_ms,
					    cfg->kafka.connect_timeout_ms < 1000 ?
					    cfg->kafka.connect_timeout_ms : 1000,
					    errstr, errstr_size);
}

char *ctl_read_arg(const char *arg, size_t *len, char *errstr,
		   size_t errstr_size)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (arg[0] != '@') {
		*len = strlen(arg);
		return drv_strdup(arg);
	}
	f = strcmp(arg, "@-") ? fopen(arg + 1, "rb") : stdin;
	if (!f) {
		drv_error(errstr, errstr_size, DRV_ERR_IO, "%s: %s", arg + 1,
			  strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);
			if (!nb)
				break;
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (f != stdin)
		fclose(f);
	if (!buf) {
		drv_error(errstr, errstr_size, DRV_ERR_NOMEM, "out of memory");
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int ctl_json_arg(const ctl_cmd_t *cmd, const char *opt, const char *arg,
		 char **text, size_t *len)
{
	char err[512];
	json_error_t jerr;
	json_t *j;

	if (!(*text = ctl_read_arg(arg, len, err, sizeof(err))))
		return ctl_usage_error(cmd, "%s: %s", opt, err);
	if (!(j = json_loadb(*text, *len, JSON_DECODE_ANY, &jerr))) {
		free(*text);
		*text = NULL;
		return ctl_usage_error(cmd, "%s is not valid JSON: %s (line %d, "
				       "column %d)", opt, jerr.text, jerr.line,
				       jerr.column);
	}
	json_decref(j);
	return CTL_EXIT_OK;
}

void ctl_print_json(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	puts(s ? s : "{}");
	free(s);
	json_decref(o);
}

char *ctl_split_kv(const ctl_cmd_t *cmd, const char *opt, char *kv)
{
	char *eq = strchr(kv, '=');

	if (!eq || eq == kv) {
		ctl_usage_error(cmd, "%s wants KEY=VALUE, got '%s'", opt, kv);
		return NULL;
	}
	*eq = '\0';
	return eq + 1;
}

int ctl_when_arg(const ctl_cmd_t *cmd, const char *opt, const char *arg,
		 int64_t now_ms, int64_t *out)
{
	if (!drv_parse_when(arg, now_ms, out))
		return CTL_EXIT_OK;
	return ctl_usage_error(cmd, "%s: '%s' is neither an RFC 3339 time "
			       "(2026-01-02T15:04:05Z) nor a duration (2h)",
			       opt, arg);
}

int ctl_parse_json_arg(const ctl_cmd_t *cmd, int argc, char **argv,
		       const char *need, bool *json, const char **arg)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c, want = need ? 1 : 0;

	*json = false;
	*arg = NULL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		*json = true;
	}
	if (need && optind >= argc)
		return ctl_usage_error(cmd, "%s", need);
	if (optind + want < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind + want]);
	if (need)
		*arg = argv[optind];
	return CTL_EXIT_OK;
}

void ctl_field(int width, const char *name, const char *value)
{
	if (value && *value)
		printf("  %-*s %s\n", width, name, value);
}

void ctl_time_field(int width, const char *name, int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return;
	drv_format_time(ms, buf, sizeof(buf));
	ctl_field(width, name, buf);
}

static const ctl_cmd_t *find_cmd(const char *group, const char *name)
{
	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const ctl_cmd_t *c = tables[t]; c->group; c++)
			if (!strcmp(c->group, group) && name &&
			    !strcmp(c->name, name))
				return c;
	return NULL;
}

/* "did you mean" for a mistyped group or command */
static void suggest(const char *group, const char *name)
{
	const ctl_cmd_t *best = NULL;
	int best_d = 3;

	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const ctl_cmd_t *c = tables[t]; c->group; c++) {
			int d = drv_edit_distance(group, c->group) +
				(name ? drv_edit_distance(name, c->name) : 0);
			if (d < best_d) {
				best_d = d;
				best = c;
			}
		}
	if (best)
		fprintf(stderr, "did you mean 'droverctl %s %s'?\n",
			best->group, best->name);
}

/* "the 'dlq' commands: list, show..." when \p group is one; false if not. */
static bool list_group(const char *group)
{
	bool any = false;

	for (size_t t = 0; t < TABLE_CNT; t++)
		for (const ctl_cmd_t *c = tables[t]; c->group; c++) {
			if (strcmp(c->group, group))
				continue;
			fprintf(stderr, "%s%s", any ? ", " : "the '", any ? "" :
				group);
			fprintf(stderr, "%s%s", any ? "" : "' commands: ",
				c->name);
			any = true;
		}
	if (any)
		fputc('\n', stderr);
	return any;
}

static drv_config_t *load_config(const char *path)
{
	char err[512];
	drv_config_t *cfg = NULL;
	drv_err_t rc;

	if (!path)
		path = getenv("DROVER_CONFIG");
	if (path && *path)
		rc = drv_config_load(path, environ, &cfg, err, sizeof(err));
	else
		rc = drv_config_load_string("<defaults>", "", 0, environ, &cfg,
					    err, sizeof(err));
	if (rc) {
		fprintf(stderr, "droverctl: %s\n", err);
		return NULL;
	}
	return cfg;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "as",      required_argument, NULL, 'A' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	const ctl_cmd_t *cmd;
	drv_config_t *cfg = NULL;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:A:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'A':
			ctl_actor = optarg;
			break;
		case 'h':
			print_commands(stdout);
			return CTL_EXIT_OK;
		case 'V':
			drv_version_print(stdout, "droverctl");
			return CTL_EXIT_OK;
		default:
			fprintf(stderr, "droverctl: unknown option '%s'\n%s\n",
				argv[optind - 1], main_usage);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "droverctl: missing command\n%s\n"
			"Run 'droverctl --help' for the list of commands.\n",
			main_usage);
		return CTL_EXIT_USAGE;
	}
	/* a group of two words ("dlq job") first, then of one */
	if (optind + 2 < argc) {
		char group[128];

		drv_fmt(group, sizeof(group), "%s %s", argv[optind],
			argv[optind + 1]);
		if ((cmd = find_cmd(group, argv[optind + 2])))
			optind++;
	} else {
		cmd = NULL;
	}
	if (!cmd)
		cmd = find_cmd(argv[optind], optind + 1 < argc ?
			       argv[optind + 1] : NULL);
	if (!cmd) {
		fprintf(stderr, "droverctl: unknown command '%s%s%s'\n",
			argv[optind], optind + 1 < argc ? " " : "",
			optind + 1 < argc ? argv[optind + 1] : "");
		if (optind + 1 < argc) {
			char group[128];

			drv_fmt(group, sizeof(group), "%s %s", argv[optind],
				argv[optind + 1]);
			if (!list_group(group)) {
				suggest(argv[optind], argv[optind + 1]);
				list_group(argv[optind]);
			}
		} else if (!list_group(argv[optind])) {
			suggest(argv[optind], NULL);
		}
		fprintf(stderr, "%s\n", main_usage);
		return CTL_EXIT_USAGE;
	}
	/* the command sees argv starting at its name, like getopt expects */
	argc -= optind + 1;
	argv += optind + 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return ctl_help(cmd);
	if (cmd->needs_config && !(cfg = load_config(config_path)))
		return CTL_EXIT_USAGE;
	/* 0, not 1: glibc then re-reads the optstring (the global one used "+") */
	optind = 0;
	rc = cmd->run(cmd, cfg, argc, argv);
	drv_config_destroy(cfg);
	return rc;
}
