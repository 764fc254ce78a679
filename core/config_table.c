/*
 * config_table.c — the one table of configuration keys.
 *
 * Every key drover reads is a row below: dotted name, type, offset of its
 * field in drv_config_t, default written as a user would write it, bounds,
 * flags and a one-line doc. The YAML loader and the environment overrides
 * (config.c) parse values with drv_cfg_parse() (config_types.c); the
 * defaults go through the same function, so a default that a user could not
 * write does not load. The dump and the reference page (config_dump.c)
 * print from the same rows. Handlers and retry policies have their own
 * small tables of per-entry keys, parsed the same way into a
 * drv_handler_conf_t or a drv_retry_policy_t; the built-in retry policies
 * are written here as the values a user would write. Also here: the extra
 * checks some string keys need, the enum names, and the naming rules (env
 * variable names, which names are secret, URL redaction).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "config_int.h"
#include "drover/exec.h"
#include "drover/redis.h"
#include "drover/str.h"

_Static_assert(sizeof(drv_log_level_t) == sizeof(int) &&
	       sizeof(drv_log_format_t) == sizeof(int) &&
	       sizeof(drv_handler_type_t) == sizeof(int) &&
	       sizeof(drv_jitter_t) == sizeof(int) &&
	       sizeof(drv_task_state_mode_t) == sizeof(int) &&
	       sizeof(drv_breaker_mode_t) == sizeof(int) &&
	       sizeof(drv_cpu_scope_t) == sizeof(int) &&
	       sizeof(drv_events_start_t) == sizeof(int),
	       "DRV_CFG_ENUM fields are stored through an int *");

#define SEC_MS   INT64_C(1000)
#define MIN_MS   (60 * SEC_MS)
#define HOUR_MS  (60 * MIN_MS)
#define DAY_MS   (24 * HOUR_MS)

/* ------------------------------------------------------------------ */
/* Enum names (index = C enum value)                                   */
/* ------------------------------------------------------------------ */

static const char *const log_level_names[] = {
	"debug", "info", "warn", "error", NULL
};
static const char *const log_format_names[] = { "json", "logfmt", NULL };
static const char *const handler_type_names[] = {
	"exec", "http", "plugin", "noop", "sleep", "webhook", NULL
};
static const char *const jitter_names[] = {
	"none", "full", "equal", "decorrelated", NULL
};
static const char *const task_state_mode_names[] = {
	"all", "failures", "off", NULL
};
static const char *const events_start_names[] = {
	"latest", "earliest", NULL
};
static const char *const cpu_scope_names[] = {
	"process", "host", NULL
};
static const char *const group_protocol_names[] = {
	"consumer", "classic", NULL
};
static const char *const static_membership_names[] = {
	"auto", "on", "off", NULL
};
static const char *const breaker_mode_names[] = {
	"auto", "metrics_only", "disabled", NULL
};
static const char *const http_methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", NULL
};

const char *drv_log_level_name(drv_log_level_t level)
{
	if ((int)level >= 0 && (int)level <= DRV_LOG_ERROR)
		return log_level_names[level];
	return "unknown";
}

const char *drv_log_format_name(drv_log_format_t format)
{
	if ((int)format >= 0 && (int)format <= DRV_LOG_FORMAT_LOGFMT)
		return log_format_names[format];
	return "unknown";
}

const char *drv_handler_type_name(drv_handler_type_t type)
{
	if ((int)type >= 0 && (int)type <= DRV_HANDLER_WEBHOOK)
		return handler_type_names[type];
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* Extra checks of string keys                                         */
/* ------------------------------------------------------------------ */

static drv_err_t check_topic_prefix(const drv_cfg_key_t *k, const char *name,
				    const char *s, const drv_cfg_where_t *w,
				    char *errstr, size_t errstr_size)
{
	(void)k;
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return drv_cfg_fail(errstr, errstr_size, w, name,
				"'%.100s' may only hold A-Z a-z 0-9 . _ -", s);
	}
	return DRV_OK;
}


/* redis[s]://[[user]:password@]host[:port][/db] or unix:///path, as
 * drv_redis_parse_url() reads it (one parser for the check and the
 * connection); its messages show the URL with the password redacted. */
static drv_err_t check_redis_url(const drv_cfg_key_t *k, const char *name,
				 const char *s, const drv_cfg_where_t *w,
				 char *errstr, size_t errstr_size)
{
	drv_redis_addr_t a;
	char why[512];

	(void)k;
	if (drv_redis_parse_url(s, &a, why, sizeof(why)))
		return drv_cfg_fail(errstr, errstr_size, w, name, "%s", why);
	return DRV_OK;
}

/* An entry of env_pass: a variable name, or a name prefix and '*'; never
 * one that could match drover's own DROVER_* variables, which exec
 * commands never inherit (so listing one would only mislead). */
static drv_err_t check_env_pass(const drv_cfg_key_t *k, const char *name,
				const char *s, const drv_cfg_where_t *w,
				char *errstr, size_t errstr_size)
{
	char base[128];
	size_t len = strlen(s);

	(void)k;
	drv_strlcpy(base, s, sizeof(base));
	if (len && len < sizeof(base) && base[len - 1] == '*')
		base[len - 1] = '\0';
	if (len >= sizeof(base) || !drv_cfg_valid_env_name(base))
		return drv_cfg_fail(errstr, errstr_size, w, name,
			"'%.80s' is not a variable name or a name prefix and "
			"'*' (like AWS_*)", s);
	if (drv_exec_env_reserved(s))
		return drv_cfg_fail(errstr, errstr_size, w, name,
			"'%.80s' would pass drover's own DROVER_* variables "
			"(settings and secrets such as DROVER_REDIS_PASSWORD),"
			" which exec commands never get", s);
	return DRV_OK;
}

/* http:// or https:// and a host; ${...} placeholders are left alone.
 * Messages show the URL with any password redacted. */
static drv_err_t check_http_url(const drv_cfg_key_t *k, const char *name,
				const char *s, const drv_cfg_where_t *w,
				char *errstr, size_t errstr_size)
{
	char shown[256];
	const char *host;

	(void)k;
	drv_cfg_redact_url(s, shown, sizeof(shown));
	if (!strncasecmp(s, "http://", 7))
		host = s + 7;
	else if (!strncasecmp(s, "https://", 8))
		host = s + 8;
	else
		return drv_cfg_fail(errstr, errstr_size, w, name,
			"expected an http:// or https:// URL, got '%s'",
			shown);
	if (strchr(host, '@'))
		host = strchr(host, '@') + 1;
	if (!*host || strchr("/?#:", *host))
		return drv_cfg_fail(errstr, errstr_size, w, name,
			"'%s' has no host", shown);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return drv_cfg_fail(errstr, errstr_size, w, name,
				"'%s' holds a space or control character; "
				"percent-encode it", shown);
	return DRV_OK;
}

/* ------------------------------------------------------------------ */
/* The tables                                                          */
/* ------------------------------------------------------------------ */

const drv_cfg_section_t drv_cfg_sections[] = {
	{ "kafka", "Where the brokers are, how drover names and creates its "
		   "topics, and the delay tiers." },
	{ "redis", "Redis holds small shared state only: breakers, the "
		   "coordinator lease, fire markers, task state." },
	{ "log", "The structured log every process writes to stderr." },
	{ "worker", "drover-worker: how many tasks it runs and the defaults "
		    "of its handlers." },
	{ "coordinator", "drover-coordinator: schedules and event triggers." },
	{ "api", "The HTTP API every coordinator serves (see "
		 "[the API](api.md))." },
	{ "api_tokens", "Bearer tokens of the HTTP API, by token name." },
	{ "retry_policies", "How long a failed task waits before its next "
			    "attempt, and how many attempts it gets, by "
			    "policy name." },
	{ "handlers", "What a task runs, by handler name." },
	{ "breakers", "Circuit breakers shared by every worker through "
		      "Redis, by breaker name." },
	{ "limits", "Fleet-wide execution limits (rate and concurrency) "
		    "shared by every worker through Redis, by limit name." },
	{ "schedules", "Cron schedules the coordinator fires, by schedule "
		       "id." },
	{ "triggers", "Event rules the coordinator turns into tasks, by "
		      "rule name." },
};
const size_t drv_cfg_section_cnt =
	sizeof(drv_cfg_sections) / sizeof(drv_cfg_sections[0]);

#define CF(f)        offsetof(drv_config_t, f)
#define HF(f)        offsetof(drv_handler_conf_t, f)
#define PF(f)        offsetof(drv_retry_policy_t, f)
#define BF(f)        offsetof(drv_breaker_conf_t, f)
#define LF(f)        offsetof(drv_limit_conf_t, f)
#define EXEC         DRV_CFG_FOR(DRV_HANDLER_EXEC)
#define HTTP         DRV_CFG_FOR(DRV_HANDLER_HTTP)
#define PLUGIN       DRV_CFG_FOR(DRV_HANDLER_PLUGIN)
#define SLEEP        DRV_CFG_FOR(DRV_HANDLER_SLEEP)
#define WEBHOOK      DRV_CFG_FOR(DRV_HANDLER_WEBHOOK)

const drv_cfg_key_t drv_cfg_keys[] = {
	/* kafka */
	{ .name = "kafka.brokers", .type = DRV_CFG_STRING,
	  .offset = CF(kafka.brokers), .def = "127.0.0.1:9092", .min = 1,
	  .doc = "Bootstrap brokers: comma-separated `host:port` list "
		 "(librdkafka `bootstrap.servers`)." },
	{ .name = "kafka.client_id", .type = DRV_CFG_STRING,
	  .offset = CF(kafka.client_id), .def = "drover", .min = 1,
	  .doc = "`client.id` sent to the brokers; shows up in broker logs "
		 "and quotas." },
	{ .name = "kafka.topic_prefix", .type = DRV_CFG_STRING,
	  .offset = CF(kafka.topic_prefix), .def = "drover.", .min = 1,
	  .max = 100, .check = check_topic_prefix,
	  .range_doc = "1-100 of A-Z a-z 0-9 . _ -",
	  .doc = "Prefix of every drover topic: `drover.tasks.high`, "
		 "`drover.delay.10s`, `drover.dlq`, ..." },
	{ .name = "kafka.partitions", .type = DRV_CFG_INT,
	  .offset = CF(kafka.partitions), .def = "6", .min = 1, .max = 1024,
	  .doc = "Partitions of each task and delay topic drover creates; "
		 "caps how many workers share one band." },
	{ .name = "kafka.replication_factor", .type = DRV_CFG_INT,
	  .offset = CF(kafka.replication_factor), .def = "1", .min = 1,
	  .max = 16,
	  .doc = "Replicas of each topic drover creates; use 3 in "
		 "production." },
	{ .name = "kafka.band_high", .type = DRV_CFG_INT,
	  .offset = CF(kafka.band_high), .def = "8", .min = 3, .max = 10,
	  .doc = "Lowest priority of the high band: priorities from here to "
		 "10 go to `tasks.high`. Every producer and worker must agree." },
	{ .name = "kafka.band_low", .type = DRV_CFG_INT,
	  .offset = CF(kafka.band_low), .def = "3", .min = 1, .max = 8,
	  .doc = "Highest priority of the low band: priorities 1 to this go "
		 "to `tasks.low`, the ones between the two bands to "
		 "`tasks.normal`." },
	{ .name = "kafka.dlq_retention", .type = DRV_CFG_DURATION,
	  .offset = CF(kafka.dlq_retention_ms), .def = "30d",
	  .min = HOUR_MS, .max = 3650 * DAY_MS,
	  .doc = "How long dead letters are kept (`retention.ms` of the "
		 "DLQ topic); a failure group in Redis lives this long "
		 "after its last dead letter." },
	{ .name = "kafka.connect_timeout", .type = DRV_CFG_DURATION,
	  .offset = CF(kafka.connect_timeout_ms), .def = "10s",
	  .min = 100, .max = 10 * MIN_MS,
	  .doc = "How long to wait for the brokers before giving up "
		 "(droverctl, start-up checks)." },
	{ .name = "kafka.delay_tiers", .type = DRV_CFG_DURATION_LIST,
	  .offset = CF(kafka.delay_tiers_ms),
	  .cnt_offset = CF(kafka.delay_tier_cnt),
	  .def = "[1s, 10s, 1m, 10m, 1h]", .min = 100, .max = 30 * DAY_MS,
	  .doc = "One delay topic per tier; a delayed task hops down the "
		 "tiers and never runs early. Env: comma-separated." },

	{ .name = "kafka.group_protocol", .type = DRV_CFG_ENUM,
	  .offset = CF(kafka.group_protocol), .def = "classic",
	  .enums = group_protocol_names,
	  .doc = "Consumer group protocol of the workers and coordinators: "
		 "`classic` (cooperative-sticky, any Kafka) or `consumer` "
		 "(KIP-848, Kafka 4.0+: the broker assigns partitions). A "
		 "broker without KIP-848 stops a `consumer` daemon at "
		 "start-up. See docs/kafka.md for why `classic` is the "
		 "default." },
	{ .name = "kafka.session_timeout", .type = DRV_CFG_DURATION,
	  .offset = CF(kafka.session_timeout_ms), .def = "6s",
	  .min = 1000, .max = 30 * MIN_MS,
	  .doc = "How long a group waits for a silent member (killed, cut "
		 "off) before its partitions move: the fail-over time. "
		 "`classic`: the consumers' `session.timeout.ms`; `consumer`: "
		 "set on each group by the daemons and `droverctl topics "
		 "ensure` (the broker's `group.consumer.min.session.timeout.ms`,"
		 " 45 s by default, must allow it). The heartbeat interval is "
		 "a twelfth of it." },
	{ .name = "kafka.static_membership", .type = DRV_CFG_ENUM,
	  .offset = CF(kafka.static_membership), .def = "auto",
	  .enums = static_membership_names,
	  .doc = "With `--id`, join the groups as a static member "
		 "(`group.instance.id` = the id): a process restarted with its "
		 "id takes its partitions back at once, with no rebalance; its "
		 "partitions also wait `kafka.session_timeout` after a clean "
		 "stop. `auto`: under the classic protocol only (under KIP-848 a "
		 "killed member's id is refused until its session ends, and "
		 "scale-in was seen to strand partitions: docs/kafka.md)." },

	/* redis */
	{ .name = "redis.url", .type = DRV_CFG_STRING,
	  .offset = CF(redis.url), .def = "redis://127.0.0.1:6379",
	  .min = 1, .flags = DRV_CFG_URL, .check = check_redis_url,
	  .range_doc = "redis://, rediss:// or unix://",
	  .doc = "`redis://[[user]:password@]host[:port][/db]`, the same with "
		 "`rediss://` for TLS (see `redis.tls_*`), or "
		 "`unix:///path/to/redis.sock`. With a user, drover "
		 "authenticates as that Redis 6 ACL user (`AUTH user password`). "
		 "Escape `@`, `:` and `/` in the user or password as `%40`, "
		 "`%3A`, `%2F`; an IPv6 host goes in brackets (`[::1]:6379`)." },
	{ .name = "redis.password", .type = DRV_CFG_STRING,
	  .offset = CF(redis.password), .def = "", .flags = DRV_CFG_SECRET,
	  .doc = "Redis AUTH password; overrides the one in `redis.url` (the "
		 "URL's user is kept). Secret: prefer `DROVER_REDIS_PASSWORD`." },
	{ .name = "redis.key_prefix", .type = DRV_CFG_STRING,
	  .offset = CF(redis.key_prefix), .def = "drover:", .max = 100,
	  .doc = "Prefix of every Redis key and channel drover uses." },
	{ .name = "redis.connect_timeout", .type = DRV_CFG_DURATION,
	  .offset = CF(redis.connect_timeout_ms), .def = "2s",
	  .min = 100, .max = 10 * MIN_MS,
	  .doc = "How long to wait when connecting to Redis." },
	{ .name = "redis.tls_ca_file", .type = DRV_CFG_STRING,
	  .offset = CF(redis.tls_ca_file), .def = "",
	  .range_doc = "a PEM file",
	  .doc = "`rediss://`: CA certificates (PEM) the server's certificate "
		 "must chain to; empty: the system's CAs." },
	{ .name = "redis.tls_cert_file", .type = DRV_CFG_STRING,
	  .offset = CF(redis.tls_cert_file), .def = "",
	  .range_doc = "a PEM file",
	  .doc = "`rediss://`: client certificate chain (PEM) when Redis asks "
		 "for one (`tls-auth-clients yes`); needs `redis.tls_key_file`." },
	{ .name = "redis.tls_key_file", .type = DRV_CFG_STRING,
	  .offset = CF(redis.tls_key_file), .def = "",
	  .range_doc = "a PEM file",
	  .doc = "`rediss://`: private key (PEM) of `redis.tls_cert_file`." },
	{ .name = "redis.tls_server_name", .type = DRV_CFG_STRING,
	  .offset = CF(redis.tls_server_name), .def = "", .max = 253,
	  .doc = "`rediss://`: name sent as SNI and checked against the "
		 "server's certificate; empty: the URL's host." },
	{ .name = "redis.tls_verify", .type = DRV_CFG_BOOL,
	  .offset = CF(redis.tls_verify), .def = "true",
	  .doc = "`rediss://`: check the server's certificate chain and name. "
		 "Turn off only to test: anyone on the path can then read the "
		 "password and the data." },

	/* log */
	{ .name = "log.level", .type = DRV_CFG_ENUM,
	  .offset = CF(log.level), .def = "info", .enums = log_level_names,
	  .flags = DRV_CFG_RELOADABLE,
	  .doc = "Least severe level written." },
	{ .name = "log.format", .type = DRV_CFG_ENUM,
	  .offset = CF(log.format), .def = "json", .enums = log_format_names,
	  .flags = DRV_CFG_RELOADABLE,
	  .doc = "`json`: one JSON object per line; `logfmt`: `key=value` "
		 "pairs." },
	{ .name = "log.buffer", .type = DRV_CFG_DURATION,
	  .offset = CF(log.buffer_ms), .def = "100ms", .min = 0,
	  .max = 10000,
	  .doc = "Daemons: how long an info or debug line may wait to be "
		 "written with the lines after it, one write for many (a "
		 "worker logs each task it runs). Warn and error lines, and "
		 "what waits before them, are written at once; a daemon "
		 "killed by a signal loses what waits. `0`: every line at "
		 "once." },

	/* worker */
	{ .name = "worker.group", .type = DRV_CFG_STRING,
	  .offset = CF(worker.group), .def = "drover-workers", .min = 1,
	  .doc = "Kafka consumer group of the workers; workers in one group "
		 "share the work." },
	{ .name = "worker.concurrency", .type = DRV_CFG_INT,
	  .offset = CF(worker.concurrency), .def = "4", .min = 1,
	  .max = 1024,
	  .doc = "Tasks one worker process runs at once." },
	{ .name = "worker.shutdown_grace", .type = DRV_CFG_DURATION,
	  .offset = CF(worker.shutdown_grace_ms), .def = "30s", .min = 0,
	  .max = HOUR_MS,
	  .doc = "On SIGTERM, how long running tasks may finish before they "
		 "are killed (and later redelivered)." },
	{ .name = "worker.default_timeout", .type = DRV_CFG_DURATION,
	  .offset = CF(worker.default_timeout_ms), .def = "5m", .min = 100,
	  .max = 7 * DAY_MS,
	  .doc = "Handler timeout when a handler sets none." },
	{ .name = "worker.output_limit", .type = DRV_CFG_INT,
	  .offset = CF(worker.output_limit), .def = "65536", .min = 0,
	  .max = 16777216,
	  .doc = "Bytes of handler output kept (for the log and dead "
		 "letters) when a handler sets none." },
	{ .name = "worker.env_pass", .type = DRV_CFG_NAME_LIST,
	  .offset = CF(worker.env_pass), .cnt_offset = CF(worker.env_pass_cnt),
	  .check = check_env_pass, .def = "",
	  .doc = "Variables of the worker's environment every `exec` command "
		 "inherits, by name or `PREFIX_*`, besides `PATH`, `HOME`, "
		 "`USER`, `LOGNAME`, `LANG`, `LANGUAGE`, `LC_*`, `TZ` and "
		 "`TMPDIR`; a handler's `env_pass` adds more. `DROVER_*` "
		 "(drover's settings and secrets) cannot be listed." },
	{ .name = "worker.default_policy", .type = DRV_CFG_STRING,
	  .offset = CF(worker.default_policy), .def = "standard", .min = 1,
	  .range_doc = "a retry policy",
	  .doc = "Retry policy of handlers and tasks that name none; a "
		 "built-in or one under `retry_policies`." },
	{ .name = "worker.lifecycle_events", .type = DRV_CFG_BOOL,
	  .offset = CF(worker.lifecycle_events), .def = "true",
	  .doc = "Publish `task.succeeded`, `task.retrying` and `task.dead` "
		 "on the events topic (schedules can chain on them)." },
	{ .name = "worker.http_host", .type = DRV_CFG_STRING,
	  .offset = CF(worker.http_host), .def = "0.0.0.0", .min = 1,
	  .max = 255,
	  .doc = "Address the worker serves `/healthz`, `/readyz` and "
		 "`/metrics` on." },
	{ .name = "worker.http_port", .type = DRV_CFG_INT,
	  .offset = CF(worker.http_port), .def = "9464", .min = 0,
	  .max = 65535,
	  .doc = "Port of that server; 0 turns it off." },
	{ .name = "worker.metrics_token", .type = DRV_CFG_STRING,
	  .offset = CF(worker.metrics_token), .def = "", .max = 4096,
	  .flags = DRV_CFG_SECRET,
	  .doc = "Bearer token `/metrics` wants (`Authorization: Bearer "
		 "...`, else 401); empty = open. `/healthz` and `/readyz` "
		 "stay open. Secret: prefer `DROVER_WORKER_METRICS_TOKEN`." },
	{ .name = "worker.task_state", .type = DRV_CFG_ENUM,
	  .offset = CF(worker.task_state), .def = "all",
	  .enums = task_state_mode_names,
	  .doc = "Task state and history kept in Redis (`droverctl task "
		 "show`): `all` tasks, `failures` (tasks that failed at least "
		 "once) or `off`." },
	{ .name = "worker.task_state_ttl", .type = DRV_CFG_DURATION,
	  .offset = CF(worker.task_state_ttl_ms), .def = "7d",
	  .min = MIN_MS, .max = 365 * DAY_MS,
	  .doc = "How long a task's state and history stay in Redis after "
		 "its last update." },
	{ .name = "worker.task_index", .type = DRV_CFG_BOOL,
	  .offset = CF(worker.task_index), .def = "true",
	  .doc = "Keep an index of the task state by state and update time "
		 "(one sorted set per state in Redis) so `droverctl task "
		 "list` and `GET /api/v1/tasks` can list tasks; `false` saves "
		 "that Redis work (task show still works)." },
	{ .name = "worker.retry_analytics", .type = DRV_CFG_BOOL,
	  .offset = CF(worker.retry_analytics), .def = "true",
	  .doc = "Count every finished attempt per handler and minute in "
		 "Redis (attempts to success or death, failure classes, retry "
		 "lateness, durations) for `droverctl retry analytics` and "
		 "`GET /api/v1/retries/analytics`; kept 14 days, written with "
		 "the task state whatever `worker.task_state` says." },
	{ .name = "worker.idempotency_ttl", .type = DRV_CFG_DURATION,
	  .offset = CF(worker.idempotency_ttl_ms), .def = "24h",
	  .min = MIN_MS, .max = 365 * DAY_MS,
	  .doc = "How long a finished task's idempotency key is remembered; "
		 "a task with the same key is skipped meanwhile." },
	{ .name = "worker.weight_high", .type = DRV_CFG_INT,
	  .offset = CF(worker.weight_high), .def = "70", .min = 0,
	  .max = 1000,
	  .doc = "Weight of the high band (`kafka.band_high` to 10) when more than "
		 "one band has tasks waiting and the worker has room." },
	{ .name = "worker.weight_normal", .type = DRV_CFG_INT,
	  .offset = CF(worker.weight_normal), .def = "25", .min = 0,
	  .max = 1000,
	  .doc = "Weight of the normal band." },
	{ .name = "worker.weight_low", .type = DRV_CFG_INT,
	  .offset = CF(worker.weight_low), .def = "5", .min = 0,
	  .max = 1000,
	  .doc = "Weight of the low band (1 to `kafka.band_low`)." },
	{ .name = "worker.starvation_bound", .type = DRV_CFG_DURATION,
	  .offset = CF(worker.starvation_bound_ms), .def = "30s",
	  .min = 10, .max = HOUR_MS,
	  .doc = "A band with tasks waiting is served at least this often, "
		 "whatever the weights." },
	{ .name = "worker.cpu_limit", .type = DRV_CFG_DOUBLE,
	  .offset = CF(worker.cpu_limit), .def = "80", .min = 0, .max = 100,
	  .doc = "CPU use (percent of the cgroup's quota, else of the "
		 "machine's CPUs; whose use: `worker.cpu_scope`) above which "
		 "the worker stops fetching tasks; it resumes 5 points below. "
		 "0 turns it off." },
	{ .name = "worker.cpu_scope", .type = DRV_CFG_ENUM,
	  .offset = CF(worker.cpu_scope), .def = "process",
	  .enums = cpu_scope_names,
	  .doc = "Whose CPU use `worker.cpu_limit` is of: `process`, the "
		 "worker's own (its cgroup when that has a CPU limit in "
		 "`cpu.max`, else the worker process and the handler "
		 "processes it has reaped), so other busy processes on a "
		 "shared host do not pause it; `host`, the whole machine (the "
		 "cgroup root's `cpu.stat`, else `/proc/stat`)." },
	{ .name = "worker.memory_limit", .type = DRV_CFG_DOUBLE,
	  .offset = CF(worker.memory_limit), .def = "85", .min = 0,
	  .max = 100,
	  .doc = "Memory use (percent of the cgroup's memory.max, else of "
		 "MemTotal) above which the worker stops fetching tasks; it "
		 "resumes 5 points below. 0 turns it off." },
	{ .name = "worker.cgroup_root", .type = DRV_CFG_STRING,
	  .offset = CF(worker.cgroup_root), .def = "/sys/fs/cgroup",
	  .min = 1, .max = 255,
	  .doc = "Where the cgroup v2 files are (`cpu.max`, `cpu.stat`, "
		 "`memory.max`, `memory.current`); without them, /proc is "
		 "read." },
	{ .name = "worker.proc_root", .type = DRV_CFG_STRING,
	  .offset = CF(worker.proc_root), .def = "/proc", .min = 1,
	  .max = 255,
	  .doc = "Where `stat`, `self/stat` and `meminfo` are read when "
		 "there is no cgroup v2 limit." },

	/* coordinator */
	{ .name = "coordinator.group", .type = DRV_CFG_STRING,
	  .offset = CF(coordinator.group), .def = "drover-coordinator",
	  .min = 1,
	  .doc = "Kafka consumer group of the coordinators (event "
		 "triggers)." },
	{ .name = "coordinator.http_host", .type = DRV_CFG_STRING,
	  .offset = CF(coordinator.http_host), .def = "0.0.0.0", .min = 1,
	  .max = 255,
	  .doc = "Address the coordinator serves `/healthz`, `/readyz` and "
		 "`/metrics` on." },
	{ .name = "coordinator.http_port", .type = DRV_CFG_INT,
	  .offset = CF(coordinator.http_port), .def = "9465", .min = 0,
	  .max = 65535,
	  .doc = "Port of that server; 0 turns it off." },
	{ .name = "coordinator.metrics_token", .type = DRV_CFG_STRING,
	  .offset = CF(coordinator.metrics_token), .def = "", .max = 4096,
	  .flags = DRV_CFG_SECRET,
	  .doc = "Bearer token `/metrics` wants (`Authorization: Bearer "
		 "...`, else 401); empty = open. `/healthz` and `/readyz` "
		 "stay open. Secret: prefer `DROVER_COORDINATOR_METRICS_TOKEN`." },
	{ .name = "coordinator.dlq_depth_alert", .type = DRV_CFG_INT,
	  .offset = CF(coordinator.dlq_depth_alert), .def = "0", .min = 0,
	  .max = 1000000000000LL,
	  .doc = "Dead letters in the DLQ topic at which the leading "
		 "coordinator puts a `dlq.depth_exceeded` event on the events topic, and "
		 "`dlq.depth_recovered` when the depth is below it again (for "
		 "webhooks and triggers; once per crossing for the whole "
		 "fleet); 0 = off." },
	{ .name = "coordinator.dlq_depth_interval", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.dlq_depth_interval_ms), .def = "1m",
	  .min = SEC_MS, .max = 60 * MIN_MS,
	  .doc = "Time between two samples of the DLQ depth the leading "
		 "coordinator records in Redis for the trend (`GET "
		 "/api/v1/dlq/depth`, the console's DLQ page). 14 days or "
		 "20,160 samples are kept, whichever is shorter: below 1m "
		 "the trend spans less than 14 days. The depth itself is "
		 "measured every 5 s." },
	{ .name = "coordinator.lease_ttl", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.lease_ttl_ms), .def = "10s",
	  .min = 1000, .max = 10 * MIN_MS,
	  .doc = "Life of the leader lease in Redis; the leader renews it "
		 "every third of this, a standby takes over after it "
		 "lapses." },
	{ .name = "coordinator.misfire_grace", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.misfire_grace_ms), .def = "30s",
	  .min = 0, .max = DAY_MS,
	  .doc = "A fire time passed by at most this much still fires (late) "
		 "after a failover; older ones are missed and follow the "
		 "schedule's `catchup`." },
	{ .name = "coordinator.marker_ttl", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.marker_ttl_ms), .def = "1h",
	  .min = MIN_MS, .max = 365 * DAY_MS,
	  .doc = "Least time the marker of a fire (schedule, time) stays in "
		 "Redis; a marker lives at least its schedule's "
		 "`catchup_window` plus `misfire_grace`." },
	{ .name = "coordinator.run_timeout", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.run_timeout_ms), .def = "24h",
	  .min = SEC_MS, .max = 30 * DAY_MS,
	  .doc = "A run whose end was never seen counts as unfinished "
		 "(overlap policy) for at most this long." },
	{ .name = "coordinator.event_topics", .type = DRV_CFG_ARGV,
	  .offset = CF(coordinator.event_topics),
	  .cnt_offset = CF(coordinator.event_topic_cnt),
	  .range_doc = "list of topics",
	  .doc = "External topics read for events, besides the events "
		 "topic." },
	{ .name = "coordinator.chain_depth_limit", .type = DRV_CFG_INT,
	  .offset = CF(coordinator.chain_depth_limit), .def = "8",
	  .min = 0, .max = 1000,
	  .doc = "A trigger does not fire for an event already this many "
		 "tasks deep in a chain (stops loops)." },
	{ .name = "coordinator.event_dedup_ttl", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.event_dedup_ttl_ms), .def = "24h",
	  .min = MIN_MS, .max = 30 * DAY_MS,
	  .doc = "An event id is acted on once within this long." },
	{ .name = "coordinator.events_start", .type = DRV_CFG_ENUM,
	  .offset = CF(coordinator.events_start), .def = "latest",
	  .enums = events_start_names,
	  .doc = "Where the coordinators read a partition of the events "
		 "topics their group has no offset for (a new "
		 "`coordinator.group`): `latest`, from the first event sent "
		 "at or after the coordinator started (5 s allowed for clock "
		 "skew); `earliest`, every event still retained." },
	{ .name = "coordinator.trigger_past_events", .type = DRV_CFG_BOOL,
	  .offset = CF(coordinator.trigger_past_events), .def = "false",
	  .doc = "Let a trigger fire for events older than the trigger "
		 "itself (the time a coordinator first loaded it, kept in "
		 "Redis; 5 s allowed for clock skew). Off: such events are "
		 "skipped and counted "
		 "(`drover_triggers_total{outcome=\"before_trigger\"}`)." },
	{ .name = "coordinator.reload_interval", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.reload_interval_ms), .def = "2s",
	  .min = 0, .max = HOUR_MS,
	  .doc = "How often the config file is checked for changes (and "
		 "reloaded); 0 = only on SIGHUP." },
	{ .name = "coordinator.archive_dir", .type = DRV_CFG_STRING,
	  .offset = CF(coordinator.archive_dir), .def = "", .max = 4096,
	  .doc = "Folder the leader archives dead letters to (gzip'd JSON "
		 "lines in the `dlq export` format, by day, with an index; "
		 "see [the DLQ](dlq.md)) before the DLQ topic's retention "
		 "deletes them; a volume every coordinator mounts. Empty = "
		 "no archival." },
	{ .name = "coordinator.archive_after", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.archive_after_ms), .def = "7d",
	  .min = SEC_MS, .max = 3650 * DAY_MS,
	  .doc = "A dead letter is archived once it is this old; with "
		 "`archive_interval` at most three quarters of "
		 "`kafka.dlq_retention`, so a coordinator outage of a quarter "
		 "of the retention loses nothing." },
	{ .name = "coordinator.archive_interval", .type = DRV_CFG_DURATION,
	  .offset = CF(coordinator.archive_interval_ms), .def = "1m",
	  .min = 100, .max = DAY_MS,
	  .doc = "Time between two archiver passes over the DLQ." },

	/* api */
	{ .name = "api.host", .type = DRV_CFG_STRING,
	  .offset = CF(api.host), .def = "127.0.0.1", .min = 1, .max = 255,
	  .doc = "Address the coordinator serves the HTTP API on; loopback "
		 "unless you open it." },
	{ .name = "api.port", .type = DRV_CFG_INT, .offset = CF(api.port),
	  .def = "0", .min = 0, .max = 65535,
	  .doc = "Port of the HTTP API; 0 turns it off. `scripts/up` and the "
		 "chart use 8470." },
	{ .name = "api.threads", .type = DRV_CFG_INT,
	  .offset = CF(api.threads), .def = "16", .min = 1, .max = 256,
	  .doc = "Threads serving requests, each with its own Redis "
		 "connection. A single submit or emit waiting for Kafka holds "
		 "none (its connection waits, suspended); a batch holds one "
		 "until Kafka has it all." },
	{ .name = "api.linger", .type = DRV_CFG_DURATION,
	  .offset = CF(api.linger_ms), .def = "1ms", .min = 0, .max = 1000,
	  .doc = "How long the API's producer holds a message to send it with "
		 "others (librdkafka `linger.ms`; drover's other producers "
		 "wait 5 ms). Each single submit waits this long for its "
		 "answer; concurrent submits share produce requests anyway. "
		 "Wins over a `linger.ms` in `kafka.properties` for the API." },
	{ .name = "api.max_body", .type = DRV_CFG_INT,
	  .offset = CF(api.max_body), .def = "4194304", .min = 1024,
	  .max = 64 * 1024 * 1024,
	  .doc = "Largest request body in bytes; a larger one gets 413." },
	{ .name = "api.read_rate", .type = DRV_CFG_INT,
	  .offset = CF(api.read_rate), .def = "1000", .min = 1,
	  .max = 1000000,
	  .doc = "Reads (GET) one token may make per second; more get 429." },
	{ .name = "api.write_rate", .type = DRV_CFG_INT,
	  .offset = CF(api.write_rate), .def = "200", .min = 1,
	  .max = 1000000,
	  .doc = "Writes (POST, PUT, PATCH, DELETE) one token may make per "
		 "second; more get 429." },
	{ .name = "api.idempotency_ttl", .type = DRV_CFG_DURATION,
	  .offset = CF(api.idempotency_ttl_ms), .def = "24h",
	  .min = MIN_MS, .max = 30 * DAY_MS,
	  .doc = "How long the answer to a request with an `Idempotency-Key` "
		 "header is replayed to the same token." },
	{ .name = "api.tls_cert", .type = DRV_CFG_STRING,
	  .offset = CF(api.tls_cert), .def = "", .max = 4096,
	  .doc = "PEM certificate (chain) file: serve HTTPS. Needs "
		 "`tls_key`." },
	{ .name = "api.tls_key", .type = DRV_CFG_STRING,
	  .offset = CF(api.tls_key), .def = "", .max = 4096,
	  .doc = "PEM private key file of `tls_cert`." },
	{ .name = "api.console_dir", .type = DRV_CFG_STRING,
	  .offset = CF(api.console_dir), .def = "", .max = 4096,
	  .doc = "Folder of the built web console (`scripts/build` makes "
		 "`<build dir>/console/dist`), served at `/` on the API's "
		 "listener; see [the console](console.md). Empty = no "
		 "console." },
	{ .name = "api.loopback_viewer", .type = DRV_CFG_BOOL,
	  .offset = CF(api.loopback_viewer), .def = "false",
	  .doc = "Let a request without an `Authorization` header from a "
		 "loopback address (127.0.0.0/8, ::1) in as a `viewer` "
		 "(named `loopback`). For a laptop; leave it off behind a "
		 "proxy on the same host, where every client is loopback." },
	{ .name = "api.live_streams", .type = DRV_CFG_INT,
	  .offset = CF(api.live_streams), .def = "16", .min = 1, .max = 1024,
	  .doc = "Server-Sent Events streams (`GET /api/v1/live`, the "
		 "console's live view) open at once; one more gets 503 and "
		 "`Retry-After`. A waiting stream holds no thread." },
	{ .name = "api.max_client_connections", .type = DRV_CFG_INT,
	  .offset = CF(api.max_client_conns), .def = "64", .min = 1,
	  .max = 256,
	  .doc = "Connections one client address may hold (of the 256 the "
		 "API keeps); a new one over the limit displaces that "
		 "client's oldest instead of waiting. Behind a proxy every "
		 "client is the proxy: raise it there." },
	{ .name = "api.request_deadline", .type = DRV_CFG_DURATION,
	  .offset = CF(api.request_deadline_ms), .def = "30s", .min = 1000,
	  .max = HOUR_MS,
	  .doc = "How long a request (headers and body) may take to arrive, "
		 "from its first byte (or the answer before it on a kept-alive "
		 "connection), however steadily its bytes trickle in; then "
		 "the connection is closed. Answering is not counted." },
	{ .name = "api.webhook_handler", .type = DRV_CFG_STRING,
	  .offset = CF(api.webhook_handler), .def = "webhook", .min = 1,
	  .max = 128, .range_doc = "a handler of type webhook",
	  .doc = "Handler of the webhook delivery tasks the coordinators "
		 "make from events; give the workers a handler of this name "
		 "with `type: webhook` (and `policy: webhook`)." },
	{ .name = "api.webhook_rotate_overlap", .type = DRV_CFG_DURATION,
	  .offset = CF(api.webhook_rotate_overlap_ms), .def = "24h",
	  .min = 0, .max = 30 * DAY_MS,
	  .doc = "After `POST /webhooks/{id}/rotate`, how long the old "
		 "secret still signs deliveries beside the new one." },
};
const size_t drv_cfg_key_cnt = sizeof(drv_cfg_keys) / sizeof(drv_cfg_keys[0]);

const drv_cfg_key_t drv_cfg_handler_keys[] = {
	{ .name = "type", .type = DRV_CFG_ENUM, .offset = HF(type),
	  .def = "exec", .enums = handler_type_names,
	  .doc = "`exec` runs a command; `http` calls an endpoint; `plugin` "
		 "calls a C plugin; `noop` succeeds at once; `sleep` waits, "
		 "then succeeds; `webhook` sends one signed webhook delivery "
		 "(the tasks `api.webhook_handler` names; see [the "
		 "API](api.md#webhooks))." },
	{ .name = "command", .type = DRV_CFG_ARGV, .offset = HF(command),
	  .cnt_offset = HF(command_cnt), .flags = DRV_CFG_REQUIRED,
	  .types = EXEC, .range_doc = "required",
	  .doc = "Program and arguments as a list (run directly, no shell); "
		 "with `shell: true`, one string. The task payload arrives "
		 "on stdin." },
	{ .name = "shell", .type = DRV_CFG_BOOL, .offset = HF(shell),
	  .def = "false", .types = EXEC,
	  .doc = "Run `command`, a single string, with `/bin/sh -c`." },
	{ .name = "workdir", .type = DRV_CFG_STRING, .offset = HF(workdir),
	  .types = EXEC, .def_doc = "the worker's",
	  .doc = "Working directory of the command." },
	{ .name = "env", .type = DRV_CFG_STRMAP, .offset = HF(env),
	  .cnt_offset = HF(env_cnt), .types = EXEC,
	  .range_doc = "NAME: value",
	  .doc = "Extra environment variables of the command. The command "
		 "does not inherit the worker's whole environment: only the "
		 "base set and `env_pass` (see `worker.env_pass`), then "
		 "`DROVER_TASK_ID`, `DROVER_ATTEMPT`, `DROVER_HANDLER`, "
		 "`DROVER_PRIORITY`, then these." },
	{ .name = "env_pass", .type = DRV_CFG_NAME_LIST, .offset = HF(env_pass),
	  .cnt_offset = HF(env_pass_cnt), .types = EXEC,
	  .check = check_env_pass, .def = "",
	  .doc = "More variables of the worker's environment the command "
		 "inherits, by name or `PREFIX_*` (`[AWS_*, http_proxy]`). "
		 "`DROVER_*` (drover's settings and secrets) cannot be "
		 "listed, and an API token's `env` is never passed." },
	{ .name = "transient_exit_codes", .type = DRV_CFG_INT_LIST,
	  .offset = HF(transient_exit_codes),
	  .cnt_offset = HF(transient_exit_code_cnt), .def = "[75]",
	  .min = 1, .max = 255, .types = EXEC,
	  .doc = "Exit codes that mean \"try again later\" (75 is "
		 "`EX_TEMPFAIL`); any other non-zero exit fails the attempt "
		 "for good. `[]`: none." },
	{ .name = "url", .type = DRV_CFG_STRING, .offset = HF(url),
	  .min = 1, .flags = DRV_CFG_REQUIRED | DRV_CFG_URL, .types = HTTP,
	  .check = check_http_url, .range_doc = "required; http:// or "
	  "https://",
	  .doc = "Endpoint called once per attempt, the payload as the "
		 "body. `${task.id}`, `${task.handler}`, `${task.attempt}` "
		 "and `${label.NAME}` are filled in, percent-encoded; a value "
		 "that would make a `.` or `..` path segment (`..`, `../x`) "
		 "fails the attempt for good." },
	{ .name = "method", .type = DRV_CFG_STRING, .offset = HF(method),
	  .def = "POST", .enums = http_methods, .types = HTTP,
	  .doc = "HTTP method of the request." },
	{ .name = "headers", .type = DRV_CFG_STRMAP, .offset = HF(headers),
	  .cnt_offset = HF(header_cnt), .flags = DRV_CFG_HEADER_KEYS,
	  .types = HTTP, .range_doc = "Name: value",
	  .doc = "Request headers; values take the same `${...}` "
		 "placeholders (verbatim). A value that would hold a control "
		 "byte (CR, LF, TAB...) after them fails the attempt for "
		 "good; so would a default header (`X-Drover-Task-Id`, "
		 "`Idempotency-Key`...). Values of `Authorization` and "
		 "headers named like *token*, *secret*, *key* or *password* "
		 "are secret." },
	{ .name = "connect_timeout", .type = DRV_CFG_DURATION,
	  .offset = HF(connect_timeout_ms), .def = "5s", .min = 100,
	  .max = 10 * MIN_MS, .types = HTTP | WEBHOOK,
	  .doc = "How long to wait for the connection; `timeout` bounds the "
		 "whole request." },
	{ .name = "plugin", .type = DRV_CFG_STRING, .offset = HF(plugin_path),
	  .min = 1, .flags = DRV_CFG_REQUIRED, .types = PLUGIN,
	  .range_doc = "required",
	  .doc = "Path of the plugin's shared object (loaded with "
		 "`dlopen`)." },
	{ .name = "config", .type = DRV_CFG_STRMAP,
	  .offset = HF(plugin_config), .cnt_offset = HF(plugin_config_cnt),
	  .flags = DRV_CFG_FREE_KEYS, .types = PLUGIN,
	  .range_doc = "name: value",
	  .doc = "Settings handed to the plugin's init, every value as text; "
		 "secret-looking names as for `headers`." },
	{ .name = "sleep", .type = DRV_CFG_DURATION, .offset = HF(sleep_ms),
	  .def = "100ms", .min = 0, .max = HOUR_MS, .types = SLEEP,
	  .doc = "How long to sleep; a payload `{\"sleep_ms\": N}` "
		 "overrides it." },
	{ .name = "timeout", .type = DRV_CFG_DURATION,
	  .offset = HF(timeout_ms), .min = 100, .max = 7 * DAY_MS,
	  .def_doc = "worker.default_timeout",
	  .doc = "Stop the run after this long; the attempt fails and is "
		 "retried." },
	{ .name = "output_limit", .type = DRV_CFG_INT,
	  .offset = HF(output_limit), .min = 0, .max = 16777216,
	  .def_doc = "worker.output_limit",
	  .doc = "Bytes of output (or response body) kept for the log and "
		 "dead letters." },
	{ .name = "policy", .type = DRV_CFG_STRING, .offset = HF(policy),
	  .def_doc = "worker.default_policy", .range_doc = "a retry policy",
	  .doc = "Name of the retry policy: a built-in or one under "
		 "`retry_policies`." },
	{ .name = "max_attempts", .type = DRV_CFG_U32,
	  .offset = HF(max_attempts), .def = "0", .min = 0, .max = 1000,
	  .doc = "Attempts before the task is dead-lettered; 0 = the "
		 "policy's." },
	{ .name = "breaker", .type = DRV_CFG_STRING, .offset = HF(breaker),
	  .max = 64, .def_doc = "the handler's name",
	  .range_doc = "a breaker name",
	  .doc = "Circuit breaker of the handler's calls; handlers naming the "
		 "same one share it. A task's label `drover.breaker` names a "
		 "more specific one (for example per downstream host)." },
};
const size_t drv_cfg_handler_key_cnt =
	sizeof(drv_cfg_handler_keys) / sizeof(drv_cfg_handler_keys[0]);
_Static_assert(sizeof(drv_cfg_handler_keys) / sizeof(drv_cfg_handler_keys[0])
	       <= DRV_CFG_HANDLER_KEY_MAX, "raise DRV_CFG_HANDLER_KEY_MAX");

/* The defaults are the `standard` policy. */
const drv_cfg_key_t drv_cfg_policy_keys[] = {
	{ .name = "base_delay", .type = DRV_CFG_DURATION,
	  .offset = PF(base_delay_ms), .def = "1s", .min = 0, .max = DAY_MS,
	  .doc = "Delay before the first retry." },
	{ .name = "multiplier", .type = DRV_CFG_DOUBLE,
	  .offset = PF(multiplier), .def = "2", .min = 1, .max = 100,
	  .doc = "Each retry waits this many times longer than the one "
		 "before." },
	{ .name = "max_delay", .type = DRV_CFG_DURATION,
	  .offset = PF(max_delay_ms), .def = "16s", .min = 0,
	  .max = 30 * DAY_MS, .range_doc = "[0ms, 30d], >= base_delay",
	  .doc = "Cap on any one delay." },
	{ .name = "max_attempts", .type = DRV_CFG_U32,
	  .offset = PF(max_attempts), .def = "6", .min = 1, .max = 1000,
	  .doc = "Attempts in all, the first run included; then the task is "
		 "dead-lettered." },
	{ .name = "jitter", .type = DRV_CFG_ENUM, .offset = PF(jitter),
	  .def = "equal", .enums = jitter_names,
	  .doc = "Randomising of each delay d: `none`; `full`: 0 to d; "
		 "`equal`: d/2 to d; `decorrelated`: base_delay to 3 times "
		 "the previous delay, capped (multiplier unused)." },
};
const size_t drv_cfg_policy_key_cnt =
	sizeof(drv_cfg_policy_keys) / sizeof(drv_cfg_policy_keys[0]);
_Static_assert(sizeof(drv_cfg_policy_keys) / sizeof(drv_cfg_policy_keys[0])
	       <= DRV_CFG_HANDLER_KEY_MAX, "raise DRV_CFG_HANDLER_KEY_MAX");

/* Keys of one circuit breaker; the defaults are the built-in `default`. */
const drv_cfg_key_t drv_cfg_breaker_keys[] = {
	{ .name = "mode", .type = DRV_CFG_ENUM, .offset = BF(mode),
	  .def = "auto", .enums = breaker_mode_names,
	  .doc = "`auto`: closed, open and half-open by the rates below; "
		 "`metrics_only`: counts and reports, never rejects; "
		 "`disabled`: not consulted." },
	{ .name = "window", .type = DRV_CFG_DURATION, .offset = BF(window_ms),
	  .def = "10s", .min = SEC_MS, .max = 300 * SEC_MS,
	  .doc = "Sliding window of call outcomes, counted per second in "
		 "Redis." },
	{ .name = "min_calls", .type = DRV_CFG_U32, .offset = BF(min_calls),
	  .def = "10", .min = 1, .max = 1000000,
	  .doc = "Calls the window must hold before the rates can open the "
		 "breaker." },
	{ .name = "failure_rate", .type = DRV_CFG_DOUBLE,
	  .offset = BF(failure_rate), .def = "50", .min = 1, .max = 100,
	  .doc = "Percent of failed calls in the window that opens the "
		 "breaker." },
	{ .name = "slow_call", .type = DRV_CFG_DURATION,
	  .offset = BF(slow_call_ms), .def = "60s", .min = 1,
	  .max = DAY_MS,
	  .doc = "A call that takes at least this long is slow." },
	{ .name = "slow_call_rate", .type = DRV_CFG_DOUBLE,
	  .offset = BF(slow_call_rate), .def = "100", .min = 1, .max = 100,
	  .doc = "Percent of slow calls in the window that opens the "
		 "breaker." },
	{ .name = "wait_in_open", .type = DRV_CFG_DURATION,
	  .offset = BF(wait_in_open_ms), .def = "60s", .min = 100,
	  .max = DAY_MS,
	  .doc = "How long the breaker stays open before probes may go "
		 "out; tasks meanwhile wait on the delay topics, not charged "
		 "an attempt." },
	{ .name = "half_open_calls", .type = DRV_CFG_U32,
	  .offset = BF(half_open_calls), .def = "3", .min = 1, .max = 1000,
	  .doc = "Probe calls leased in half-open, fleet-wide (not per "
		 "worker)." },
	{ .name = "half_open_successes", .type = DRV_CFG_U32,
	  .offset = BF(half_open_successes), .def = "3", .min = 1,
	  .max = 1000, .range_doc = "[1, 1000], <= half_open_calls",
	  .doc = "Successful probes that close the breaker; once that many "
		 "can no longer succeed it opens again." },
};
const size_t drv_cfg_breaker_key_cnt =
	sizeof(drv_cfg_breaker_keys) / sizeof(drv_cfg_breaker_keys[0]);
_Static_assert(sizeof(drv_cfg_breaker_keys) / sizeof(drv_cfg_breaker_keys[0])
	       <= DRV_CFG_HANDLER_KEY_MAX, "raise DRV_CFG_HANDLER_KEY_MAX");

/* Keys of one fleet-wide limit; config.c checks that rate or concurrency
 * is set, that the handler exists and the shape of key. */
const drv_cfg_key_t drv_cfg_limit_keys[] = {
	{ .name = "handler", .type = DRV_CFG_STRING, .offset = LF(handler),
	  .max = 64, .def_doc = "required", .range_doc = "a handler name",
	  .doc = "The handler whose tasks the limit applies to." },
	{ .name = "key", .type = DRV_CFG_STRING, .offset = LF(key),
	  .max = 80, .def_doc = "one bucket for all",
	  .range_doc = "`label.NAME`",
	  .doc = "One bucket per value of this task label (for example "
		 "`label.customer`); a task without the label is not "
		 "limited." },
	{ .name = "rate", .type = DRV_CFG_U32, .offset = LF(rate),
	  .def = "0", .min = 0, .max = 1000000,
	  .doc = "Tasks started per `per`, fleet-wide (GCRA in Redis); 0 = "
		 "no rate limit." },
	{ .name = "per", .type = DRV_CFG_DURATION, .offset = LF(per_ms),
	  .def = "1s", .min = 1, .max = DAY_MS,
	  .doc = "The period of `rate`." },
	{ .name = "burst", .type = DRV_CFG_U32, .offset = LF(burst),
	  .def = "1", .min = 1, .max = 1000000,
	  .doc = "Tasks that may start back to back when the bucket is "
		 "full; 1 spaces every start by per/rate." },
	{ .name = "concurrency", .type = DRV_CFG_U32,
	  .offset = LF(concurrency), .def = "0", .min = 0, .max = 100000,
	  .doc = "Tasks running at once, fleet-wide (per key value); 0 = no "
		 "cap." },
};
const size_t drv_cfg_limit_key_cnt =
	sizeof(drv_cfg_limit_keys) / sizeof(drv_cfg_limit_keys[0]);
_Static_assert(sizeof(drv_cfg_limit_keys) / sizeof(drv_cfg_limit_keys[0])
	       <= DRV_CFG_HANDLER_KEY_MAX, "raise DRV_CFG_HANDLER_KEY_MAX");

static const char *const aggressive_values[] = {
	"base_delay", "100ms", "multiplier", "2", "max_delay", "5s",
	"max_attempts", "10", "jitter", "full", NULL
};
static const char *const conservative_values[] = {
	"base_delay", "30s", "multiplier", "3", "max_delay", "1h",
	"max_attempts", "4", "jitter", "equal", NULL
};
static const char *const standard_values[] = { NULL };
/* the webhook handler asks for the rest of the Standard Webhooks schedule
 * (drv_webhook_backoff_ms()) as its Retry-After; this caps it at 24 h */
static const char *const webhook_values[] = {
	"base_delay", "5s", "multiplier", "1", "max_delay", "24h",
	"max_attempts", "10", "jitter", "none", NULL
};

const drv_cfg_builtin_policy_t drv_cfg_builtin_policies[] = {
	{ "standard", "The default: a few retries over about half a minute.",
	  standard_values },
	{ "aggressive", "Quick retries for brief blips (a restarting "
	  "service, a lost connection).", aggressive_values },
	{ "conservative", "Few, slow retries for work that hits a busy or "
	  "rate-limited system.", conservative_values },
	{ "webhook", "Webhook deliveries: the Standard Webhooks schedule "
	  "(immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, "
	  "24 h), a longer Retry-After honoured.", webhook_values },
};
const size_t drv_cfg_builtin_policy_cnt =
	sizeof(drv_cfg_builtin_policies) / sizeof(drv_cfg_builtin_policies[0]);
_Static_assert(sizeof(drv_cfg_builtin_policies) /
	       sizeof(drv_cfg_builtin_policies[0]) <= 16,
	       "drv_config_priv.redefined has a bit per built-in policy");

const drv_cfg_key_t *drv_cfg_find(const drv_cfg_key_t *keys, size_t cnt,
				  const char *name)
{
	for (size_t i = 0; i < cnt; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

void drv_cfg_env_name(const char *key, char *buf, size_t size)
{
	size_t off = drv_strlcpy(buf, "DROVER_", size);

	for (const char *p = key; *p && off + 1 < size; p++, off++)
		buf[off] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	if (off < size)
		buf[off] = '\0';
}

bool drv_cfg_secret_name(const char *name)
{
	static const char *const words[] = {
		"password", "secret", "jaas", "token",
	};
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);

		for (size_t j = 0; j + wl <= len; j++)
			if (!strncasecmp(name + j, words[i], wl))
				return true;
	}
	return len >= 4 && !strcasecmp(name + len - 4, ".pem");
}

bool drv_cfg_secret_entry(const char *name)
{
	static const char *const words[] = {
		"auth", "cookie", "token", "secret", "key", "password",
		"passwd", "credential",
	};
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);

		for (size_t j = 0; j + wl <= len; j++)
			if (!strncasecmp(name + j, words[i], wl))
				return true;
	}
	return false;
}

void drv_cfg_format_types(unsigned types, char *buf, size_t size)
{
	size_t n = 0, off = 0, seen = 0;

	buf[0] = '\0';
	if (!types) {
		drv_strlcpy(buf, "all", size);
		return;
	}
	for (size_t i = 0; handler_type_names[i]; i++)
		if (types & DRV_CFG_FOR(i))
			n++;
	for (size_t i = 0; handler_type_names[i] && off < size; i++) {
		if (!(types & DRV_CFG_FOR(i)))
			continue;
		drv_fmt(buf + off, size - off, "%s%s",
			!seen ? "" : seen + 1 == n ? " or " : ", ",
			handler_type_names[i]);
		off += strlen(buf + off);
		seen++;
	}
}

/* A growing output string for drv_cfg_redact_text(). */
struct redact_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void rb_add(struct redact_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define REDACTED "<redacted>"
/* Where a word or a NAME=value may start, and where a value ends. */
#define WORD_BEFORE " \t,;&?\"'({["
#define VALUE_END   " \t,;&\"'}])"

/* Length of the NAME in "NAME=" at \p s, 0 if there is none. */
static size_t assignment_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			  "vwxyz0123456789_.-");

	return n && s[n] == '=' ? n : 0;
}

/* Is the \p n-byte NAME at \p s (of "NAME=value") secret-looking? */
static bool secret_assignment(const char *s, size_t n)
{
	char name[128];

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	return drv_cfg_secret_entry(name);
}

char *drv_cfg_redact_text(const char *s)
{
	struct redact_buf b = { 0 };
	size_t i = 0, len = strlen(s);

	rb_add(&b, "", 0);
	while (i < len) {
		bool word = i == 0 || strchr(WORD_BEFORE, s[i - 1]);
		size_t n;

		if (!strncmp(s + i, "://", 3)) {
			/* scheme://[user:]password@host: the password, or
			 * a lone user name (a token), goes */
			const char *auth = s + i + 3, *at = NULL, *colon;
			size_t end = strcspn(auth, "/?# \t\"'");

			for (size_t k = 0; k < end; k++)
				if (auth[k] == '@')
					at = auth + k;
			rb_add(&b, "://", 3);
			i += 3;
			if (!at)
				continue;
			colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon)
				rb_add(&b, auth, (size_t)(colon + 1 - auth));
			rb_add(&b, REDACTED, strlen(REDACTED));
			i = (size_t)(at - s);
		} else if (word && (n = assignment_name(s + i)) &&
			   secret_assignment(s + i, n)) {
			rb_add(&b, s + i, n + 1);
			rb_add(&b, REDACTED, strlen(REDACTED));
			i += n + 1;
			i += strcspn(s + i, VALUE_END);
		} else if (word && (!strncasecmp(s + i, "Bearer ", 7) ||
				    !strncasecmp(s + i, "Basic ", 6))) {
			n = s[i + 1] == 'e' || s[i + 1] == 'E' ? 7 : 6;
			rb_add(&b, s + i, n);
			rb_add(&b, REDACTED, strlen(REDACTED));
			i += n;
			i += strcspn(s + i, VALUE_END);
		} else {
			rb_add(&b, s + i, 1);
			i++;
		}
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

void drv_cfg_redact_url(const char *url, char *buf, size_t size)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL, *colon;

	if (!auth) {
		drv_strlcpy(buf, url, size);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at) {
		drv_strlcpy(buf, url, size);
		return;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	/* keep "scheme://user:" (or just "scheme://" with no user name) */
	drv_fmt(buf, size, "%.*s<redacted>%s",
		(int)((colon ? colon + 1 : auth) - url), url, at);
}
