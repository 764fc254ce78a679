/*
 * cmd_task.c — `droverctl task submit`: build a task from flags and publish
 * it, printing its id once the broker has acknowledged it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"

#define WAIT_POLL_MS 250

/*
 * --wait: poll task \p id's state in Redis (what the workers record with
 * worker.task_state: all) until it has succeeded (or was skipped as a
 * duplicate: exit 0), is dead (exit 1), or \p wait_ms have passed (exit 1).
 * Redis being unreachable is retried until then. Reports on stderr.
 */
static int wait_task(const drv_config_t *cfg, const char *id, int64_t wait_ms)
{
	int64_t end = drv_mono_ms() + wait_ms;
	redisContext *c = NULL;
	drv_state_task_t t;
	char err[512] = "still queued";
	int rc = -1;

	drv_state_task_init(&t);
	while (rc < 0) {
		drv_err_t e = DRV_OK;

		if (!c)
			e = drv_redis_connect(cfg, &c, err, sizeof(err));
		if (!e) {
			e = drv_state_get(c, cfg->redis.key_prefix, id, &t,
					  err, sizeof(err));
			if (e == DRV_ERR_NOT_FOUND)
				snprintf(err, sizeof(err), "still queued");
			else if (e && c->err) {
				redisFree(c);
				c = NULL;
			}
		}
		if (!e && (t.state == DRV_TASK_SUCCEEDED ||
			   t.state == DRV_TASK_SKIPPED)) {
			fprintf(stderr, "droverctl: task %s %s (attempt %u)\n",
				id, drv_task_state_name(t.state), t.attempt);
			rc = CTL_EXIT_OK;
		} else if (!e && t.state == DRV_TASK_DEAD) {
			rc = ctl_fail("task %s is dead after %u attempt(s): %s",
				      id, t.attempt, t.last_error ?
				      t.last_error : "no error recorded");
		} else if (drv_mono_ms() >= end) {
			rc = ctl_fail("task %s not finished after %lld ms: %s",
				      id, (long long)wait_ms, e ? err :
				      drv_task_state_name(t.state));
		} else {
			usleep(WAIT_POLL_MS * 1000);
		}
	}
	drv_state_task_release(&t);
	if (c)
		redisFree(c);
	return rc;
}

static int run_submit(const ctl_cmd_t *cmd, drv_config_t *cfg,
		      int argc, char **argv)
{
	static const struct option opts[] = {
		{ "handler",         required_argument, NULL, 'H' },
		{ "payload",         required_argument, NULL, 'p' },
		{ "priority",        required_argument, NULL, 'P' },
		{ "key",             required_argument, NULL, 'k' },
		{ "idempotency-key", required_argument, NULL, 'i' },
		{ "max-attempts",    required_argument, NULL, 'm' },
		{ "policy",          required_argument, NULL, 'r' },
		{ "delay",           required_argument, NULL, 'd' },
		{ "deadline",        required_argument, NULL, 'D' },
		{ "label",           required_argument, NULL, 'l' },
		{ "timeout",         required_argument, NULL, 't' },
		{ "wait",            required_argument, NULL, 'w' },
		{ "json",            no_argument,       NULL, 'j' },
		{ "file",            required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *task_flag = NULL;
	int64_t delay = 0, deadline = 0, timeout = cfg->kafka.connect_timeout_ms;
	int64_t wait = -1;
	int64_t num;
	const char *payload_arg = NULL;
	char *value;
	char err[512], topic[256];
	drv_task_t t;
	bool json = false;
	rd_kafka_t *rk;
	int c, rc = CTL_EXIT_OK;

	drv_task_init(&t);
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		for (const struct option *o = opts; o->name; o++)
			if (o->val == c && c != 'f' && c != 'j' && c != 't')
				task_flag = o->name;
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'H':
			free(t.handler);
			t.handler = drv_strdup(optarg);
			break;
		case 'p':
			payload_arg = optarg;
			break;
		case 'P':
			if (drv_parse_int(optarg, DRV_PRIORITY_MIN,
					  DRV_PRIORITY_MAX, &num))
				rc = ctl_usage_error(cmd, "--priority must be "
						     "1..10, got '%s'", optarg);
			else
				t.priority = (uint32_t)num;
			break;
		case 'k':
		case 'i':
			if (!drv_task_key_valid(optarg)) {
				rc = ctl_usage_error(cmd, "--%s must be 1..%d "
						     "bytes of printable text "
						     "(no control characters)",
						     c == 'k' ? "key" :
						     "idempotency-key",
						     DRV_TASK_KEY_MAX);
				break;
			}
			free(c == 'k' ? t.key : t.idempotency_key);
			*(c == 'k' ? &t.key : &t.idempotency_key) =
				drv_strdup(optarg);
			break;
		case 'm':
			if (drv_parse_int(optarg, 1, 1000, &num))
				rc = ctl_usage_error(cmd, "--max-attempts must "
						     "be 1..1000, got '%s'",
						     optarg);
			else
				t.max_attempts = (uint32_t)num;
			break;
		case 'r':
			free(t.policy);
			t.policy = drv_strdup(optarg);
			break;
		case 'd':
		case 'D':
		case 't':
		case 'w':
			if (drv_parse_duration(optarg, &num))
				rc = ctl_usage_error(cmd, "--%s: '%s' is not a "
						     "duration (e.g. 30s, 5m)",
						     c == 'd' ? "delay" :
						     c == 'D' ? "deadline" :
						     c == 'w' ? "wait" :
						     "timeout", optarg);
			else
				*(c == 'd' ? &delay : c == 'D' ? &deadline :
				  c == 'w' ? &wait : &timeout) = num;
			break;
		case 'l':
			if (!(value = ctl_split_kv(cmd, "--label", optarg)))
				rc = CTL_EXIT_USAGE;
			else
				drv_task_set_label(&t, optarg, value);
			break;
		case 'j':
			json = true;
			break;
		default:
			rc = ctl_usage_error(cmd, "unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (rc == CTL_EXIT_OK && optind < argc)
		rc = ctl_usage_error(cmd, "unexpected argument '%s'",
				     argv[optind]);
	if (rc == CTL_EXIT_OK && file) {
		drv_task_release(&t);
		if (task_flag)
			return ctl_usage_error(cmd, "--file: each line is a "
					       "whole task; --%s goes in the "
					       "lines", task_flag);
		return ctl_submit_file(cfg, file, timeout, json);
	}
	if (rc == CTL_EXIT_OK && !t.handler)
		rc = ctl_usage_error(cmd, "--handler is required");
	if (rc == CTL_EXIT_OK && wait >= 0 &&
	    cfg->worker.task_state != DRV_TASK_STATE_ALL)
		rc = ctl_usage_error(cmd, "--wait reads the task's state in "
				     "Redis; it needs worker.task_state: all");
	if (rc == CTL_EXIT_OK && cfg->handler_cnt > 0 &&
	    !drv_config_handler(cfg, t.handler))
		rc = ctl_usage_error(cmd, "no handler '%s' in %s", t.handler,
				     cfg->path ? cfg->path : "the config");
	if (rc == CTL_EXIT_OK && payload_arg) {
		char *text = NULL;
		size_t len;

		rc = ctl_json_arg(cmd, "--payload", payload_arg, &text, &len);
		if (rc == CTL_EXIT_OK)
			drv_task_set_payload(&t, text, len);
		free(text);
	}
	if (rc != CTL_EXIT_OK) {
		drv_task_release(&t);
		return rc;
	}

	t.created_ms = drv_now_ms();
	drv_id_new(t.id, t.created_ms);
	if (delay)
		t.not_before_ms = t.created_ms + delay;
	if (deadline)
		t.deadline_ms = t.created_ms + deadline;
	t.origin.submitted_by = drv_strdup(getenv("USER") ? getenv("USER") :
					   "droverctl");

	drv_task_route(cfg, &t, t.created_ms, topic, sizeof(topic));
	if (!(rk = ctl_producer_new(cfg, topic, 0, err, sizeof(err)))) {
		drv_task_release(&t);
		return ctl_fail("%s", err);
	}
	rc = CTL_EXIT_OK;
	if (drv_task_publish(rk, cfg, &t, timeout, topic, sizeof(topic),
			     err, sizeof(err)))
		rc = ctl_fail("task submit: %s", err);
	else if (json) {
		ctl_print_json(json_pack("{s:s, s:s, s:s, s:i}", "id", t.id,
					 "topic", topic, "handler", t.handler,
					 "priority", (int)t.priority));
	} else
		printf("%s\n", t.id);
	fflush(stdout);
	rd_kafka_destroy(rk);
	if (rc == CTL_EXIT_OK && wait >= 0)
		rc = wait_task(cfg, t.id, wait);
	drv_task_release(&t);
	return rc;
}

const ctl_cmd_t ctl_task_cmds[] = {
	{ "task", "submit",
	  "--handler NAME [--payload JSON|@FILE] [--priority N] [--key K] "
	  "[--idempotency-key K] [--max-attempts N] [--policy NAME] "
	  "[--delay DURATION] [--deadline DURATION] [--label K=V]... "
	  "[--wait DURATION] [--json]\n"
	  "       droverctl task submit --file FILE|- [--timeout DURATION] "
	  "[--json]",
	  "publish a task (or a file of them) and print each id once Kafka "
	  "acknowledged it",
	  "  --handler NAME          handler that runs the task (required)\n"
	  "  --payload JSON|@FILE    payload (JSON; @- reads stdin)\n"
	  "  --priority N            1..10, higher first (default 5)\n"
	  "  --key K                 partition key (default: the task id)\n"
	  "  --idempotency-key K     tasks with the same key run once\n"
	  "                          (a key: 1..256 bytes of printable "
	  "text)\n"
	  "  --max-attempts N        override the policy's attempts\n"
	  "  --policy NAME           retry policy\n"
	  "  --delay DURATION        do not run before now + DURATION\n"
	  "  --deadline DURATION     give up after now + DURATION\n"
	  "  --label K=V             add a label (repeatable)\n"
	  "  --timeout DURATION      wait this long for Kafka's "
	  "acknowledgement\n"
	  "  --wait DURATION         then wait this long for a worker to run "
	  "it:\n"
	  "                          exit 0 once it succeeded, 1 if it is dead "
	  "or\n"
	  "                          still unfinished (needs "
	  "worker.task_state: all)\n"
	  "  --json                  print {\"id\":...,\"topic\":...}\n"
	  "  --file FILE|-           one task per line, each a JSON object "
	  "with the\n"
	  "                          long options above as fields (\"handler\","
	  "\n"
	  "                          \"payload\", \"labels\": {...}, "
	  "\"delay\": \"30s\"...);\n"
	  "                          - reads stdin. Ids in line order on "
	  "stdout (with\n"
	  "                          --json {\"line\":N,\"id\":...} or "
	  "{\"line\":N,\"error\":...}),\n"
	  "                          refused lines on stderr; exit 1 if any "
	  "line failed\n"
	  "Examples:\n  droverctl task submit --handler resize --payload "
	  "'{\"image\":\"a.png\"}' --priority 8\n"
	  "  droverctl task submit --file tasks.ndjson --json\n",
	  true, run_submit },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
