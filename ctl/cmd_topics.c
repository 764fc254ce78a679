/*
 * cmd_topics.c — `droverctl topics ensure`: create or check every topic the
 * config implies; `droverctl topics acls`: the Kafka ACLs drover needs,
 * listed or created.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/kafka.h"
#include "drover/kafka_acl.h"
#include "drover/str.h"

/* Under the consumer protocol the session timeout lives on the groups: set
 * it on drover's three. A refusal (a stock broker's 45 s minimum) is a
 * warning: the daemons still run, with the broker's default. */
static void tune_groups(rd_kafka_t *rk, const drv_config_t *cfg, bool json)
{
	char delay[256], err[768];
	const char *groups[] = { cfg->worker.group, delay,
				 cfg->coordinator.group };

	if (cfg->kafka.group_protocol != DRV_GROUP_CONSUMER)
		return;
	drv_delay_group_name(cfg, delay, sizeof(delay));
	if (drv_kafka_groups_tune(rk, cfg, groups, 3, err, sizeof(err))) {
		fprintf(stderr, "droverctl: warning: %s\n", err);
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		if (json)
			ctl_print_json(json_pack("{s:s, s:I}", "group",
				groups[i], "session_timeout_ms",
				(json_int_t)cfg->kafka.session_timeout_ms));
		else
			printf("group %s: session timeout %lld ms\n",
			       groups[i],
			       (long long)cfg->kafka.session_timeout_ms);
	}
}

static int run_ensure(const ctl_cmd_t *cmd, drv_config_t *cfg,
		      int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",    no_argument,       NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t timeout = cfg->kafka.connect_timeout_ms;
	drv_topic_report_t *rep = NULL;
	bool json = false;
	char err[512];
	rd_kafka_t *rk;
	size_t n = 0;
	drv_err_t rc;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't':
			if (drv_parse_duration(optarg, &timeout) || timeout <= 0)
				return ctl_usage_error(cmd, "--timeout: '%s' is "
						       "not a duration", optarg);
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);

	if (!(rk = drv_kafka_producer_new(cfg, err, sizeof(err))))
		return ctl_fail("%s", err);
	rc = drv_topics_ensure(rk, cfg, timeout, &rep, &n, err, sizeof(err));
	for (size_t i = 0; rep && i < n; i++) {
		if (json) {
			ctl_print_json(json_pack("{s:s, s:i, s:i, s:s, s:s}",
				"topic", rep[i].spec.name,
				"partitions", rep[i].actual_partitions,
				"planned_partitions", rep[i].spec.partitions,
				"state", drv_topic_state_name(rep[i].state),
				"message", rep[i].message));
		} else {
			if (i == 0)
				printf("%-32s %10s  %s\n", "TOPIC", "PARTITIONS",
				       "STATE");
			printf("%-32s %10d  %s%s%s\n", rep[i].spec.name,
			       rep[i].actual_partitions,
			       drv_topic_state_name(rep[i].state),
			       rep[i].message[0] ? ": " : "", rep[i].message);
		}
	}
	free(rep);
	if (!rc)
		tune_groups(rk, cfg, json);
	rd_kafka_destroy(rk);
	if (rc)
		return ctl_fail("topics ensure: %s", err);
	return CTL_EXIT_OK;
}

static void print_acl(const drv_kafka_acl_t *a, const char *principal,
		      bool apply, bool json)
{
	const char *type = drv_kafka_acl_type_name(a->type);
	const char *pattern = rd_kafka_ResourcePatternType_name(a->pattern);
	const char *op = rd_kafka_AclOperation_name(a->op);

	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
			"principal", principal ? principal : "",
			"resource_type", type, "pattern", pattern,
			"name", a->name, "operation", op,
			"permission", "ALLOW");
		if (apply)
			json_object_set_new(o, "error",
					    a->message[0] ?
					    json_string(a->message) :
					    json_null());
		ctl_print_json(o);
		return;
	}
	printf("%-8s %-9s %-32s %s%s%s\n", type, pattern, a->name, op,
	       a->message[0] ? "  refused: " : "", a->message);
}

static int run_acls(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	static const struct option opts[] = {
		{ "json",      no_argument,       NULL, 'j' },
		{ "apply",     no_argument,       NULL, 'a' },
		{ "principal", required_argument, NULL, 'p' },
		{ "timeout",   required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t timeout = cfg->kafka.connect_timeout_ms;
	const char *principal = NULL;
	drv_kafka_acl_t *acls = NULL;
	bool json = false, apply = false;
	drv_err_t rc = DRV_OK;
	rd_kafka_t *rk;
	char err[512];
	size_t n = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'a':
			apply = true;
			break;
		case 'p':
			if (!strchr(optarg, ':') || optarg[0] == ':')
				return ctl_usage_error(cmd, "--principal: '%s' "
					"is not TYPE:NAME (User:drover)",
					optarg);
			principal = optarg;
			break;
		case 't':
			if (drv_parse_duration(optarg, &timeout) || timeout <= 0)
				return ctl_usage_error(cmd, "--timeout: '%s' is "
						       "not a duration", optarg);
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (apply && !principal)
		return ctl_usage_error(cmd, "--apply needs --principal");
	if (drv_kafka_acls_needed(cfg, &acls, &n, err, sizeof(err)))
		return ctl_fail("topics acls: %s", err);
	if (apply) {
		if (!(rk = drv_kafka_producer_new(cfg, err, sizeof(err)))) {
			drv_kafka_acls_free(acls, n);
			return ctl_fail("%s", err);
		}
		rc = drv_kafka_acls_apply(rk, principal, acls, n, timeout, err,
					  sizeof(err));
		rd_kafka_destroy(rk);
	}
	if (!json)
		printf("%s%s:\n%-8s %-9s %-32s %s\n", apply ? "created for " :
		       "ALLOW for ", principal ? principal : "the principal",
		       "RESOURCE", "PATTERN", "NAME", "OPERATION");
	for (size_t i = 0; i < n; i++)
		print_acl(&acls[i], principal, apply, json);
	drv_kafka_acls_free(acls, n);
	if (rc)
		return ctl_fail("topics acls: %s", err);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_topics_cmds[] = {
	{ "topics", "ensure", "[--timeout DURATION] [--json]",
	  "create missing topics and check existing ones (idempotent)",
	  "  --timeout DURATION  give up when the broker does not answer "
	  "(default kafka.connect_timeout)\n"
	  "  --json              one JSON object per topic\n"
	  "Under kafka.group_protocol consumer, also sets "
	  "kafka.session_timeout on the\nworkers' and coordinators' groups "
	  "(a warning when the broker refuses it).\n"
	  "Exit 1 if a topic could not be created or has fewer partitions "
	  "than configured.\n"
	  "Example:\n  droverctl -c drover.yaml topics ensure\n",
	  true, run_ensure },
	{ "topics", "acls", "[--principal TYPE:NAME [--apply]] "
	  "[--timeout DURATION] [--json]",
	  "list the Kafka ACLs drover needs; create them with --apply",
	  "  --principal TYPE:NAME  whom they are for (User:drover)\n"
	  "  --apply                create them on the brokers (the config's "
	  "credentials\n                         need ALTER on the cluster: "
	  "an admin's, not drover's)\n"
	  "  --timeout DURATION     give up when the broker does not answer "
	  "(default\n                         kafka.connect_timeout)\n"
	  "  --json                 one JSON object per ACL\n"
	  "Every grant is ALLOW from any host, derived from the config: the "
	  "topics\nunder kafka.topic_prefix, coordinator.event_topics, "
	  "drover's consumer groups\nand the cluster's IDEMPOTENT_WRITE "
	  "(docs/kafka.md, \"ACLs\"). An ACL that\nexists already is not "
	  "an error. Exit 1 if the broker refused one.\n"
	  "Example:\n  droverctl -c admin.yaml topics acls --principal "
	  "User:drover --apply\n",
	  true, run_acls },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
