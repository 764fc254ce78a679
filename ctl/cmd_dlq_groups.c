/*
 * cmd_dlq_groups.c — `droverctl dlq groups` and `dlq group ID`: the DLQ's
 * failure groups (handler, error class and normalised message, with
 * counts, first / last seen and sample ids) from the index the workers
 * keep in Redis, a page at a time; the same core calls as
 * GET /api/v1/dlq/groups. `dlq resubmit --group ID` resubmits one.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/dlq_groups.h"
#include "drover/redis.h"
#include "drover/str.h"

#define MESSAGE_WIDTH 60

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void print_row(const json_t *g)
{
	char last[40];

	drv_strlcpy(last, str(g, "last_seen"), 20);  /* to the second */
	printf("%-16s %7lld %-16s %-12s %-19s %.*s\n", str(g, "id"),
	       (long long)json_integer_value(json_object_get(g, "count")),
	       *str(g, "handler") ? str(g, "handler") : "-", str(g, "class"),
	       last, MESSAGE_WIDTH, str(g, "message"));
}

static int run_groups(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		      char **argv)
{
	static const struct option opts[] = {
		{ "handler", required_argument, NULL, 'H' },
		{ "class",   required_argument, NULL, 'c' },
		{ "limit",   required_argument, NULL, 'n' },
		{ "cursor",  required_argument, NULL, 'C' },
		{ "json",    no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *handler = NULL, *class = NULL, *cursor = NULL;
	int64_t limit = DRV_DLQ_GROUPS_DEFAULT;
	drv_dlq_groups_t page;
	redisContext *c = NULL;
	bool json = false;
	char err[512];
	size_t i;
	json_t *g;
	int ch;
	drv_err_t rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'H': handler = optarg; break;
		case 'c': class = optarg; break;
		case 'C': cursor = optarg; break;
		case 'j': json = true; break;
		case 'n':
			if (drv_parse_int(optarg, 1, DRV_DLQ_GROUPS_MAX,
					  &limit))
				return ctl_usage_error(cmd, "--limit must be "
					"1..%d, got '%s'", DRV_DLQ_GROUPS_MAX,
					optarg);
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_dlq_groups_page(c, cfg, handler, class, cursor, (size_t)limit,
				 &page, err, sizeof(err));
	redisFree(c);
	if (rc == DRV_ERR_INVALID) {
		drv_dlq_groups_release(&page);
		return ctl_usage_error(cmd, "--cursor: %s", err);
	}
	if (rc) {
		drv_dlq_groups_release(&page);
		return ctl_fail("%s", err);
	}
	if (json) {
		ctl_print_json(json_pack("{s:O, s:s?}", "groups", page.groups,
					 "next_cursor", page.next));
	} else {
		printf("%-16s %7s %-16s %-12s %-19s %s\n", "GROUP", "COUNT",
		       "HANDLER", "CLASS", "LAST SEEN", "MESSAGE");
		json_array_foreach(page.groups, i, g)
			print_row(g);
		if (page.next)
			printf("more: droverctl dlq groups --cursor %s\n",
			       page.next);
	}
	drv_dlq_groups_release(&page);
	return CTL_EXIT_OK;
}

static int run_group(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	redisContext *c = NULL;
	const char *id;
	json_t *o = NULL, *s;
	char err[512];
	bool json;
	size_t i;
	int rc;

	if ((rc = ctl_parse_json_arg(cmd, argc, argv, "missing group ID",
				     &json, &id)))
		return rc;
	if (!drv_dlq_group_id_valid(id))
		return ctl_usage_error(cmd, "'%s' is not a group id (%d hex "
				       "digits)", id, DRV_DLQ_GROUP_ID_LEN);
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_dlq_group_get(c, cfg, id, &o, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if (json) {
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	printf("group %s\n", id);
	ctl_field(15, "handler", str(o, "handler"));
	ctl_field(15, "class", str(o, "class"));
	ctl_field(15, "message", str(o, "message"));
	ctl_field(15, "sample", str(o, "sample_message"));
	printf("  %-15s %lld\n", "count",
	       (long long)json_integer_value(json_object_get(o, "count")));
	ctl_field(15, "first seen", str(o, "first_seen"));
	ctl_field(15, "last seen", str(o, "last_seen"));
	json_array_foreach(json_object_get(o, "samples"), i, s)
		printf("  %-15s %s (task %s%s%s%s)\n", i ? "" : "samples",
		       str(s, "id"), str(s, "task_id"),
		       *str(s, "resubmitted_task_id") ? ", resubmitted as " :
		       "", str(s, "resubmitted_task_id"),
		       json_is_true(json_object_get(s, "discarded")) ?
		       ", discarded" : "");
	json_decref(o);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_dlq_group_cmds[] = {
	{ "dlq", "groups",
	  "[--handler NAME] [--class CLASS] [--limit N] [--cursor C] [--json]",
	  "dead letters grouped by handler, error class and message, newest "
	  "first",
	  "  --handler NAME        only this handler's groups\n"
	  "  --class CLASS         only this error class (transient, permanent,"
	  "\n                        timeout, crashed, throttled, or a reason "
	  "such as\n                        undecodable, handler_unknown)\n"
	  "  --limit N             groups per page, 1..500 (default 50)\n"
	  "  --cursor C            the page after the one that printed C\n"
	  "  --json                {\"groups\": [...], \"next_cursor\": ...}\n"
	  "A group is the dead letters of one handler whose last failure has "
	  "one class\nand one message once numbers, ids, addresses and quoted "
	  "values are\nreplaced by placeholders (<n>, <hex>, <uuid>, <id>, "
	  "<addr>, <str>). Read\nfrom the index the workers keep in Redis "
	  "(docs/dlq.md), not from the topic.\n"
	  "Example:\n  droverctl dlq groups --handler billing\n"
	  "  droverctl dlq resubmit --group 3f9a0c1d2e4b5a69 --dry-run\n",
	  true, run_groups },
	{ "dlq", "group", "ID [--json]",
	  "show one failure group with its latest 20 sample dead letters",
	  "  --json                the group as one JSON object\n"
	  "Exit 1 when there is no such group (never seen, or expired with "
	  "the DLQ's\nretention).\n"
	  "Example:\n  droverctl dlq group 3f9a0c1d2e4b5a69\n",
	  true, run_group },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
