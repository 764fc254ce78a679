/*
 * drover — configuration: one YAML file for all three binaries.
 *
 * Every scalar key lives in one table in core/config_table.c (name, type,
 * default, bounds, secret, reloadable, one-line doc). That table drives the
 * YAML loader, the DROVER_<SECTION>_<KEY> environment overrides, validation,
 * `droverctl config check` output and docs/config.md. Maps that are not
 * scalar keys (handlers, retry policies, librdkafka pass-through
 * properties) have their own small tables of per-entry keys.
 *
 * Errors name the place: "drover.yaml:12:3: unknown key 'kafka.brokr' (did
 * you mean 'kafka.brokers'?)".
 */
#ifndef DROVER_CONFIG_H
#define DROVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum drv_log_level {
	DRV_LOG_DEBUG = 0,
	DRV_LOG_INFO  = 1,
	DRV_LOG_WARN  = 2,
	DRV_LOG_ERROR = 3,
} drv_log_level_t;

typedef enum drv_log_format {
	DRV_LOG_FORMAT_JSON   = 0, /**< one JSON object per line */
	DRV_LOG_FORMAT_LOGFMT = 1, /**< key=value pairs */
} drv_log_format_t;

typedef enum drv_handler_type {
	DRV_HANDLER_EXEC   = 0,
	DRV_HANDLER_HTTP   = 1,
	DRV_HANDLER_PLUGIN = 2,
	DRV_HANDLER_NOOP   = 3, /**< built in: succeeds at once (benchmarks) */
	DRV_HANDLER_SLEEP  = 4, /**< built in: sleeps `sleep`, then succeeds */
	DRV_HANDLER_WEBHOOK = 5, /**< built in: one signed webhook delivery
				      (drover/webhook.h) */
} drv_handler_type_t;

/** How a retry delay is randomised (see include/drover/retry.h). */
typedef enum drv_jitter {
	DRV_JITTER_NONE         = 0,
	DRV_JITTER_FULL         = 1,
	DRV_JITTER_EQUAL        = 2,
	DRV_JITTER_DECORRELATED = 3,
} drv_jitter_t;

/** One entry of the `retry_policies:` map. The built-in policies standard,
 *  aggressive and conservative always exist; a file entry of the same name
 *  replaces one in its place. Keys a file entry leaves out take standard's
 *  values. Loaded policies are valid: max_delay_ms >= base_delay_ms. */
typedef struct drv_retry_policy {
	char    *name;
	int64_t  base_delay_ms;   /**< delay before the first retry */
	double   multiplier;      /**< growth per retry, >= 1 */
	int64_t  max_delay_ms;    /**< cap on any one delay */
	uint32_t max_attempts;    /**< attempts in all, first run included */
	drv_jitter_t jitter;
} drv_retry_policy_t;

/** Which attempts write a task-state record to Redis (worker.task_state;
 *  see include/drover/state.h). */
typedef enum drv_task_state_mode {
	DRV_TASK_STATE_ALL      = 0, /**< every state change of every task */
	DRV_TASK_STATE_FAILURES = 1, /**< only tasks that failed at least once */
	DRV_TASK_STATE_OFF      = 2, /**< none (idempotency keys still work) */
} drv_task_state_mode_t;

/** Whose CPU use the worker's backpressure measures (worker.cpu_scope). */
typedef enum drv_cpu_scope {
	DRV_CPU_SCOPE_PROCESS = 0, /**< its own: the cgroup when that has a
					CPU limit (cpu.max), else the worker
					process and its finished children */
	DRV_CPU_SCOPE_HOST    = 1, /**< the cgroup root's cpu.stat, else
					/proc/stat: every process counts */
} drv_cpu_scope_t;

/** Where a coordinator group with no committed offsets starts reading
 *  the events topics (coordinator.events_start). */
typedef enum drv_events_start {
	DRV_EVENTS_LATEST   = 0, /**< at the end: only events from now on */
	DRV_EVENTS_EARLIEST = 1, /**< at the start: all that is retained */
} drv_events_start_t;

/** How drover's consumer groups coordinate (kafka.group_protocol). */
typedef enum drv_group_protocol {
	DRV_GROUP_CONSUMER = 0, /**< KIP-848: the broker assigns, no
				     stop-the-world rebalances (Kafka 4.0+) */
	DRV_GROUP_CLASSIC  = 1, /**< client-side cooperative-sticky (any
				     Kafka) */
} drv_group_protocol_t;

/** Whether daemons join their groups as static members
 *  (kafka.static_membership). */
typedef enum drv_static_membership {
	DRV_STATIC_AUTO = 0, /**< under the classic protocol only */
	DRV_STATIC_ON   = 1,
	DRV_STATIC_OFF  = 2,
} drv_static_membership_t;

/** A string pair; both owned by the config. */
typedef struct drv_kv {
	char *key;
	char *value;
} drv_kv_t;

/** One entry of the `handlers:` map. */
typedef struct drv_handler_conf {
	char   *name;            /**< the map key */
	drv_handler_type_t type;
	char  **command;         /**< exec: argv, NULL-terminated; with shell,
				      command[0] is the script for sh -c */
	size_t  command_cnt;     /**< exec: entries in command (no NULL) */
	bool    shell;           /**< exec: run command[0] with /bin/sh -c */
	char   *workdir;         /**< exec: working directory, NULL = inherit */
	drv_kv_t *env;           /**< exec: extra environment */
	size_t  env_cnt;
	char  **env_pass;        /**< exec: names (or PREFIX_* patterns) of
				      the worker's variables the command
				      inherits besides the base set and
				      worker.env_pass; NULL-terminated, NULL
				      when none; never DROVER_* */
	size_t  env_pass_cnt;
	int64_t timeout_ms;      /**< kill the run after this long; default
				      worker.default_timeout */
	int64_t output_limit;    /**< bytes of stdout/stderr kept for the log;
				      default worker.output_limit */
	char   *policy;          /**< retry policy name (one that exists in
				      cfg->policies), NULL =
				      worker.default_policy */
	uint32_t max_attempts;   /**< 0 = the policy's */

	/* exec */
	int    *transient_exit_codes;   /**< exit codes retried as transient,
					     each 1..255; default { 75 }
					     (EX_TEMPFAIL); never NULL once
					     loaded, even when the count is 0 */
	size_t  transient_exit_code_cnt;

	/* http: ${task.id}, ${task.handler}, ${task.attempt} and
	 * ${label.NAME} are substituted in url and header values */
	char   *url;
	char   *method;          /**< GET, POST, PUT, PATCH or DELETE, in
				      capitals; default POST */
	drv_kv_t *headers;       /**< request headers; names are HTTP tokens,
				      values hold no line break and may be
				      secret */
	size_t  header_cnt;
	int64_t connect_timeout_ms; /**< default 5s; timeout_ms is the total */

	/* plugin */
	char   *plugin_path;     /**< shared object to dlopen (`plugin:`) */
	drv_kv_t *plugin_config; /**< `config:`, passed to the plugin's init;
				      every value as text */
	size_t  plugin_config_cnt;

	/* sleep */
	int64_t sleep_ms;        /**< default 100ms; a payload {"sleep_ms":N}
				      overrides it */

	char   *breaker;         /**< circuit breaker name, NULL = the
				      handler's own (named after it) */
} drv_handler_conf_t;

/** How a breaker decides (`breakers.NAME.mode`; see
 *  include/drover/breaker.h). */
typedef enum drv_breaker_mode {
	DRV_BREAKER_MODE_AUTO         = 0, /**< closed/open/half-open */
	DRV_BREAKER_MODE_METRICS_ONLY = 1, /**< counts, never rejects */
	DRV_BREAKER_MODE_DISABLED     = 2, /**< not consulted at all */
} drv_breaker_mode_t;

/** One entry of the `breakers:` map. The entry named `default` always
 *  exists (built in unless the file gives it) and serves every breaker the
 *  map does not name. Loaded entries are valid: half_open_successes <=
 *  half_open_calls. */
typedef struct drv_breaker_conf {
	char    *name;
	drv_breaker_mode_t mode;
	int64_t  window_ms;           /**< sliding window, whole seconds */
	uint32_t min_calls;           /**< calls in the window before the
					   rates count */
	double   failure_rate;        /**< percent of failed calls that opens */
	int64_t  slow_call_ms;        /**< a call this long is slow */
	double   slow_call_rate;      /**< percent of slow calls that opens */
	int64_t  wait_in_open_ms;     /**< OPEN before probes are allowed */
	uint32_t half_open_calls;     /**< probes leased fleet-wide */
	uint32_t half_open_successes; /**< successful probes that close it */
} drv_breaker_conf_t;

/** One entry of the `limits:` map: a fleet-wide execution limit on the
 *  tasks of one handler, kept in Redis (include/drover/limit.h). Loaded
 *  entries are valid: rate or concurrency (or both) is set, the handler
 *  exists, key is NULL or "label.NAME". */
typedef struct drv_limit_conf {
	char    *name;         /**< the map key: metrics and logs */
	char    *handler;      /**< the handler whose tasks it limits */
	char    *key;          /**< "label.NAME": one bucket per value of
				    that label (a task without it is not
				    limited); NULL = one bucket */
	uint32_t rate;         /**< tasks started per `per`; 0 = no rate */
	int64_t  per_ms;       /**< the rate's period */
	uint32_t burst;        /**< tasks that may start back to back */
	uint32_t concurrency;  /**< running at once; 0 = no cap */
} drv_limit_conf_t;

/** What a schedule does when its previous run has not finished yet. */
typedef enum drv_overlap {
	DRV_OVERLAP_ALLOW      = 0, /**< fire anyway */
	DRV_OVERLAP_SKIP       = 1, /**< skip this fire */
	DRV_OVERLAP_BUFFER_ONE = 2, /**< keep one fire, publish it when the
					 run ends; later ones are skipped */
} drv_overlap_t;

/** What a schedule does with the fire times it missed (coordinator down,
 *  leader gap longer than coordinator.misfire_grace). */
typedef enum drv_catchup {
	DRV_CATCHUP_SKIP = 0, /**< drop them */
	DRV_CATCHUP_ONCE = 1, /**< fire once, for the latest */
	DRV_CATCHUP_ALL  = 2, /**< fire each of them */
} drv_catchup_t;

/** The task a schedule or trigger publishes. Strings owned by the config;
 *  NULL when not given. */
typedef struct drv_task_template {
	char    *handler;         /**< required */
	char    *payload;         /**< JSON text; NULL = "{}" (schedules) or
				       the event's payload (triggers) */
	uint32_t priority;        /**< 1..10 */
	char    *policy;          /**< retry policy, NULL = the handler's */
	uint32_t max_attempts;    /**< 0 = the policy's */
	int64_t  deadline_ms;     /**< deadline = fire time + this; 0 = none */
	drv_kv_t *labels;
	size_t   label_cnt;
} drv_task_template_t;

/** One entry of the `schedules:` map. */
typedef struct drv_schedule_conf {
	char    *name;            /**< the map key: the schedule id */
	char    *cron;            /**< cron expression (drover/cron.h) */
	char    *timezone;        /**< IANA zone, default "UTC" */
	bool     enabled;
	char    *start;           /**< RFC 3339 or NULL: no fire before */
	char    *end;             /**< RFC 3339 or NULL: no fire after */
	int64_t  start_ms;        /**< start as ms since the epoch, 0 = none */
	int64_t  end_ms;          /**< end as ms since the epoch, 0 = none */
	int64_t  jitter_ms;       /**< publish up to this much after the
				       nominal time (fixed per fire time) */
	drv_overlap_t overlap;
	drv_catchup_t catchup;
	int64_t  catchup_window_ms; /**< missed times older than this are
					 dropped whatever the policy */
	drv_task_template_t task;
} drv_schedule_conf_t;

/** One entry of the `triggers:` map: on an event, publish a task. */
typedef struct drv_trigger_conf {
	char    *name;            /**< the map key */
	char    *event;           /**< event type; a glob (fnmatch) */
	drv_kv_t *where;          /**< attribute: value or glob; all must
				       match */
	size_t   where_cnt;
	drv_task_template_t task; /**< ${event.id}, ${event.type},
				       ${event.source}, ${event.payload} and
				       ${attr.NAME} are filled in the
				       payload */
} drv_trigger_conf_t;

/** What an API token may do; each role can do what the ones before it can. */
typedef enum drv_api_role {
	DRV_API_VIEWER   = 0, /**< reads */
	DRV_API_OPERATOR = 1, /**< task, DLQ, breaker and schedule actions */
	DRV_API_ADMIN    = 2, /**< webhooks, tokens, config */
} drv_api_role_t;

/** One bearer token of the HTTP API (`api_tokens:`). The token itself is
 *  never kept: only its SHA-256, given as `sha256` or computed at load time
 *  from the variable named by `env`. Strings owned by the config. */
typedef struct drv_api_token_conf {
	char          *name;
	drv_api_role_t role;
	char          *sha256;      /**< hex digest as written, or NULL */
	char          *env;         /**< variable holding the token, or NULL */
	unsigned char  digest[32];  /**< SHA-256 of the token */
	bool           active;      /**< digest known: sha256 given, or env
					 set and not empty */
} drv_api_token_conf_t;

typedef struct drv_config {
	char *path;              /**< file it was loaded from, NULL for defaults */

	struct {
		char    *brokers;
		char    *client_id;
		char    *topic_prefix;       /**< default "drover." */
		int64_t  partitions;         /**< per task/delay topic */
		int64_t  replication_factor;
		int64_t  dlq_retention_ms;   /**< default 30 days */
		int64_t  connect_timeout_ms; /**< CLI: give up after this */
		int64_t  band_high;          /**< lowest priority of the high band
						  (default 8) */
		int64_t  band_low;           /**< highest priority of the low band
						  (default 3); normal is between */
		int64_t *delay_tiers_ms;     /**< ascending, e.g. 1s,10s,1m,10m,1h */
		size_t   delay_tier_cnt;
		int      group_protocol;     /**< drv_group_protocol_t */
		int64_t  session_timeout_ms; /**< consumer groups' session */
		int      static_membership;  /**< drv_static_membership_t:
						  group.instance.id = --id */
		drv_kv_t *properties;        /**< librdkafka pass-through */
		size_t   property_cnt;
	} kafka;

	struct {
		char    *url;                /**< redis://[[user]:pass@]host[:port][/db]
						  or unix:///path */
		char    *password;           /**< secret; overrides the URL's */
		char    *key_prefix;         /**< default "drover:" */
		int64_t  connect_timeout_ms;
		/* rediss:// only; "" when unset */
		char    *tls_ca_file;        /**< PEM CAs; "" = the system's */
		char    *tls_cert_file;      /**< client certificate (mTLS) */
		char    *tls_key_file;       /**< its private key */
		char    *tls_server_name;    /**< SNI and name checked; "" =
						  the URL's host */
		bool     tls_verify;         /**< check the server's chain
						  and name; default true */
	} redis;

	struct {
		drv_log_level_t  level;
		drv_log_format_t format;
		int64_t          buffer_ms;  /**< log.buffer; 0 = off */
	} log;

	struct {
		char    *group;              /**< consumer group id */
		int64_t  concurrency;        /**< tasks run at once */
		int64_t  shutdown_grace_ms;  /**< SIGTERM: let tasks finish */
		int64_t  default_timeout_ms; /**< handler timeout if unset */
		int64_t  output_limit;       /**< default handler output_limit */
		char    *default_policy;     /**< default "standard" */
		char   **env_pass;           /**< variables every exec command
						  inherits (see the handler's
						  env_pass); NULL when none */
		size_t   env_pass_cnt;
		bool     lifecycle_events;   /**< publish task.succeeded,
						  task.retrying, task.dead */
		char    *http_host;          /**< /healthz /readyz /metrics */
		int64_t  http_port;          /**< 0 = no HTTP server */
		char    *metrics_token;      /**< "" = /metrics open; secret */
		drv_task_state_mode_t task_state; /**< which attempts write
						       task state to Redis */
		int64_t  task_state_ttl_ms;  /**< life of a task's state and
						  history after its last update */
		bool     task_index;         /**< keep the per-state sets
						  `droverctl task list` reads */
		bool     retry_analytics;    /**< count finished attempts per
						  handler and minute
						  (drover/retry_stats.h) */
		int64_t  idempotency_ttl_ms; /**< life of an idempotency key */
		int64_t  weight_high;        /**< share of picks for each band */
		int64_t  weight_normal;      /**< when more than one has work */
		int64_t  weight_low;
		int64_t  starvation_bound_ms;/**< longest a band with work waits */
		double   cpu_limit;          /**< percent; over it, stop fetching */
		drv_cpu_scope_t cpu_scope;   /**< whose CPU use cpu_limit is of */
		double   memory_limit;       /**< percent; 0 = no limit */
		char    *cgroup_root;        /**< cgroup v2 files (cpu.max...) */
		char    *proc_root;          /**< /proc when not in a cgroup */
	} worker;

	struct {
		char    *group;
		char    *http_host;          /**< /healthz /readyz /metrics */
		int64_t  http_port;          /**< 0 = no HTTP server */
		char    *metrics_token;      /**< "" = /metrics open; secret */
		int64_t  lease_ttl_ms;       /**< leader lease life */
		int64_t  misfire_grace_ms;   /**< later than this = missed */
		int64_t  marker_ttl_ms;      /**< least life of fire markers */
		int64_t  run_timeout_ms;     /**< a run counts as unfinished
						  (overlap) at most this long */
		char   **event_topics;       /**< external topics to read */
		size_t   event_topic_cnt;
		int64_t  chain_depth_limit;  /**< deepest chain triggered */
		int64_t  event_dedup_ttl_ms; /**< an event id is acted on once
						  within this */
		int64_t  reload_interval_ms; /**< config file mtime poll */
		drv_events_start_t events_start; /**< where a new group
						      starts reading */
		bool     trigger_past_events;/**< fire for events older than
						  the trigger */
		char    *archive_dir;        /**< DLQ archive folder; "" = off */
		int64_t  archive_after_ms;   /**< archive entries this old */
		int64_t  archive_interval_ms;/**< between archiver passes */
		int64_t  dlq_depth_alert;    /**< dead letters that raise a
						  dlq.depth_exceeded event;
						  0 = off */
		int64_t  dlq_depth_interval_ms; /**< between two samples of
						     the DLQ depth trend */
	} coordinator;

	struct {
		char    *host;               /**< listen address */
		int64_t  port;               /**< 0 = no API */
		int64_t  threads;            /**< requests served at once */
		int64_t  linger_ms;          /**< the API producer's linger */
		int64_t  max_body;           /**< bytes; larger bodies get 413 */
		int64_t  read_rate;          /**< GETs per second per token */
		int64_t  write_rate;         /**< writes per second per token */
		int64_t  idempotency_ttl_ms; /**< Idempotency-Key replays */
		char    *tls_cert;           /**< PEM files; both or neither */
		char    *tls_key;
		char    *console_dir;        /**< built console; "" = none */
		bool     loopback_viewer;    /**< no token from loopback:
						  viewer */
		int64_t  live_streams;       /**< /live streams at once */
		int64_t  max_client_conns;   /**< connections per client
						  address */
		int64_t  request_deadline_ms;/**< a request's whole receipt */
		char    *webhook_handler;    /**< handler of deliveries */
		int64_t  webhook_rotate_overlap_ms; /**< old secret still
							  signs this long */
	} api;

	drv_api_token_conf_t *api_tokens; /**< in file order */
	size_t api_token_cnt;

	drv_handler_conf_t *handlers; /**< in file order */
	size_t handler_cnt;

	drv_retry_policy_t *policies;  /**< the built-ins first, then the
					    file's new ones in file order */
	size_t policy_cnt;

	drv_breaker_conf_t *breakers; /**< `default` first, then the file's
					   others in file order */
	size_t breaker_cnt;

	drv_limit_conf_t *limits;      /**< in file order */
	size_t limit_cnt;

	drv_schedule_conf_t *schedules; /**< in file order */
	size_t schedule_cnt;

	drv_trigger_conf_t *triggers;  /**< in file order */
	size_t trigger_cnt;

	/** Private to core/config*.c: where each value came from. */
	struct drv_config_priv *priv;
} drv_config_t;

/**
 * @brief A config holding only the built-in defaults (no file, no env).
 * @returns a config the caller frees with drv_config_destroy(), or NULL on
 *          allocation failure.
 */
drv_config_t *drv_config_new(void);

/**
 * @brief Load \p path (YAML), then apply DROVER_<SECTION>_<KEY> overrides
 *        from \p envp, then validate.
 *
 * An empty file (or one holding only comments) gives the defaults.
 *
 * @param path  the file to read; copied into cfg->path.
 * @param envp  a NULL-terminated "NAME=value" array such as environ, or NULL
 *              for no overrides. Only read; the caller keeps it.
 * @param out   on success receives a config the caller frees with
 *              drv_config_destroy(); untouched on error.
 * @returns DRV_OK; DRV_ERR_IO if the file cannot be read ("path: cannot
 *          read: <reason>"); DRV_ERR_NOMEM; DRV_ERR_CONFIG with
 *          "file:line:col: message" (or "environment DROVER_X: message")
 *          in \p errstr otherwise.
 */
drv_err_t drv_config_load(const char *path, char *const *envp,
			  drv_config_t **out, char *errstr, size_t errstr_size);

/**
 * @brief Like drv_config_load() but parses \p text (\p len bytes, need not
 *        be NUL-terminated); \p name is used in place of the file name in
 *        messages and copied into cfg->path. The caller keeps \p text.
 */
drv_err_t drv_config_load_string(const char *name, const char *text,
				 size_t len, char *const *envp,
				 drv_config_t **out, char *errstr,
				 size_t errstr_size);

/** @brief Free \p cfg and everything it owns. NULL is a no-op. */
void drv_config_destroy(drv_config_t *cfg);

/**
 * @brief The handler named \p name, or NULL.
 * @returns a pointer into \p cfg, valid until drv_config_destroy(cfg).
 */
const drv_handler_conf_t *drv_config_handler(const drv_config_t *cfg,
					     const char *name);

/**
 * @brief The retry policy named \p name, or NULL.
 * @returns a pointer into \p cfg, valid until drv_config_destroy(cfg).
 */
const drv_retry_policy_t *drv_config_policy(const drv_config_t *cfg,
					    const char *name);

/**
 * @brief The breaker settings for the breaker named \p name: its entry in
 *        `breakers:`, else the `default` entry. Never NULL for a loaded
 *        config.
 * @returns a pointer into \p cfg, valid until drv_config_destroy(cfg).
 */
const drv_breaker_conf_t *drv_config_breaker(const drv_config_t *cfg,
					     const char *name);

/**
 * @brief The limit named \p name, or NULL.
 * @returns a pointer into \p cfg, valid until drv_config_destroy(cfg).
 */
const drv_limit_conf_t *drv_config_limit(const drv_config_t *cfg,
					 const char *name);

/**
 * @brief Write the effective config as YAML to \p out (`droverctl config
 *        check`). Every key is printed in table order, followed by a comment
 *        naming where its value came from ("# default", "# file",
 *        "# env DROVER_X"); then kafka.properties, every retry policy
 *        ("# built-in" or "# file") and the handlers, each with the keys of
 *        its type. Secrets (and the password inside redis.url or a handler
 *        url, secret-looking librdkafka properties, handler env values, http
 *        headers and plugin config values) are shown as "<redacted>"; so are,
 *        in any string by its look whatever its key, the password of a
 *        URL, the value of a secret-looking NAME=value and what follows
 *        "Bearer " or "Basic ". The output loads
 *        back with drv_config_load_string() to an equal config, redacted
 *        values aside. Nothing is allocated; \p out stays the caller's.
 */
void drv_config_dump(const drv_config_t *cfg, FILE *out);

/**
 * @brief Write the reference page for every key (Markdown; docs/config.md
 *        is this output) to \p out, which stays the caller's.
 */
void drv_config_write_reference(FILE *out);

/**
 * @brief The schedule named \p name, or NULL.
 * @returns a pointer into \p cfg, valid until drv_config_destroy(cfg).
 */
const drv_schedule_conf_t *drv_config_schedule(const drv_config_t *cfg,
					       const char *name);

/** @brief "allow", "skip" or "buffer_one"; static, never NULL. */
const char *drv_overlap_name(drv_overlap_t o);

/** @brief "skip", "once" or "all"; static, never NULL. */
const char *drv_catchup_name(drv_catchup_t c);

/** @brief Parse a name of drv_overlap_name() / drv_catchup_name() (any
 *         case). @returns DRV_OK or DRV_ERR_INVALID (\p out untouched). */
drv_err_t drv_overlap_parse(const char *s, drv_overlap_t *out);
drv_err_t drv_catchup_parse(const char *s, drv_catchup_t *out);

/** @brief "viewer", "operator" or "admin"; static, never NULL. */
const char *drv_api_role_name(drv_api_role_t role);

/** @brief "debug", "info", "warn" or "error"; static, never NULL. */
const char *drv_log_level_name(drv_log_level_t level);

/** @brief "json" or "logfmt"; static, never NULL. */
const char *drv_log_format_name(drv_log_format_t format);

/** @brief "exec", "http", "plugin", "noop" or "sleep" ("unknown" for any
 *         other value); static, never NULL. */
const char *drv_handler_type_name(drv_handler_type_t type);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_CONFIG_H */
