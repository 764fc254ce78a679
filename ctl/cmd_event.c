/*
 * cmd_event.c — `droverctl event emit TYPE`: publish an event on the events
 * topic, where the coordinator's triggers read it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/event.h"
#include "drover/kafka.h"
#include "drover/str.h"

static int run_emit(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "payload", required_argument, NULL, 'p' },
		{ "attr",    required_argument, NULL, 'a' },
		{ "source",  required_argument, NULL, 's' },
		{ "id",      required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json",    no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t timeout = cfg->kafka.connect_timeout_ms;
	const char *payload_arg = NULL;
	char err[512], id[DRV_ID_LEN + 1], topic[256];
	drv_event_t e;
	bool json = false;
	rd_kafka_t *rk;
	int c, rc = CTL_EXIT_OK;

	drv_event_init(&e);
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *value;

		switch (c) {
		case 'p':
			payload_arg = optarg;
			break;
		case 'a':
			if (!(value = ctl_split_kv(cmd, "--attr", optarg)))
				rc = CTL_EXIT_USAGE;
			else
				drv_event_set_attribute(&e, optarg, value);
			break;
		case 's':
			free(e.source);
			e.source = drv_strdup(optarg);
			break;
		case 'i':
			free(e.id);
			e.id = drv_strdup(optarg);
			break;
		case 't':
			if (drv_parse_duration(optarg, &timeout) || timeout <= 0)
				rc = ctl_usage_error(cmd, "--timeout: '%s' is "
						     "not a duration", optarg);
			break;
		case 'j':
			json = true;
			break;
		default:
			rc = ctl_usage_error(cmd, "unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (rc == CTL_EXIT_OK && optind != argc - 1)
		rc = ctl_usage_error(cmd, optind >= argc ? "missing TYPE" :
				     "unexpected argument '%s'",
				     argv[optind + 1]);
	if (rc == CTL_EXIT_OK && payload_arg) {
		char *text = NULL;
		size_t len;

		rc = ctl_json_arg(cmd, "--payload", payload_arg, &text, &len);
		if (rc == CTL_EXIT_OK)
			drv_event_set_payload(&e, text, len);
		free(text);
	}
	if (rc != CTL_EXIT_OK) {
		drv_event_release(&e);
		return rc;
	}
	e.type = drv_strdup(argv[optind]);
	e.time_ms = drv_now_ms();
	e.content_type = drv_strdup("application/json");
	if (!e.source)
		e.source = drv_strdup("droverctl");
	if (!e.id) {
		drv_id_new(id, e.time_ms);
		e.id = drv_strdup(id);
	}
	if (drv_event_validate(&e, err, sizeof(err))) {
		drv_event_release(&e);
		return ctl_usage_error(cmd, "%s", err);
	}

	drv_topic_name(cfg, DRV_TOPIC_EVENTS, NULL, 0, topic, sizeof(topic));
	if (!(rk = ctl_producer_new(cfg, topic, 0, err, sizeof(err)))) {
		drv_event_release(&e);
		return ctl_fail("%s", err);
	}
	if (drv_event_publish(rk, cfg, &e, timeout, err, sizeof(err)))
		rc = ctl_fail("event emit: %s", err);
	else if (json) {
		char *s = drv_event_to_json(&e);
		puts(s ? s : "{}");
		free(s);
	} else
		printf("%s\n", e.id);
	rd_kafka_destroy(rk);
	drv_event_release(&e);
	return rc;
}

const ctl_cmd_t ctl_event_cmds[] = {
	{ "event", "emit",
	  "TYPE [--payload JSON|@FILE] [--attr K=V]... [--source S] [--id ID] "
	  "[--json]",
	  "publish an event and print its id once Kafka acknowledged it",
	  "  TYPE                  event type, e.g. order.created\n"
	  "  --payload JSON|@FILE  event body (JSON; @- reads stdin)\n"
	  "  --attr K=V            attribute triggers can match (repeatable)\n"
	  "  --source S            who emits it (default droverctl)\n"
	  "  --id ID               event id (default: a new ULID); triggers "
	  "act on an id once\n"
	  "  --timeout DURATION    wait this long for Kafka's "
	  "acknowledgement\n"
	  "  --json                print the event as JSON\n"
	  "Example:\n  droverctl event emit order.created "
	  "--payload '{\"order\":42}'\n",
	  true, run_emit },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
