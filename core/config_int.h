/*
 * config_int.h — private to core/config*.c: the key table's row type, the
 * per-type parse/emit functions, and the value/position types shared by the
 * YAML walker (config.c), the tables (config_table.c), the value types
 * (config_types.c) and the dump and reference writers (config_dump.c).
 * Three tables use the row type: the scalar keys (drv_config_t), the keys of
 * one handler (drv_handler_conf_t) and the keys of one retry policy
 * (drv_retry_policy_t).
 * Nothing here is public API.
 */
#ifndef DROVER_CONFIG_INT_H
#define DROVER_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drover/config.h"
#include "drover/error.h"

/** Value types a table row can have. */
typedef enum drv_cfg_type {
	DRV_CFG_STRING,        /**< char *; min/max bound the length; with
				    enums[], one of those names (any case),
				    stored as spelled in enums[] */
	DRV_CFG_INT,           /**< int64_t within [min, max] */
	DRV_CFG_DOUBLE,        /**< double within [min, max] */
	DRV_CFG_U32,           /**< uint32_t within [min, max] */
	DRV_CFG_BOOL,          /**< bool */
	DRV_CFG_DURATION,      /**< int64_t milliseconds within [min, max] */
	DRV_CFG_ENUM,          /**< int (a C enum); names in enums[] */
	DRV_CFG_DURATION_LIST, /**< int64_t * + size_t count; ascending */
	DRV_CFG_INT_LIST,      /**< int * + size_t count, each in [min, max],
				    no repeats; may be empty; never NULL
				    once parsed */
	DRV_CFG_ARGV,          /**< char ** (NULL-terminated) + size_t count */
	DRV_CFG_STRMAP,        /**< drv_kv_t * + size_t count; keys are env
				    names unless a DRV_CFG_*_KEYS flag */
	DRV_CFG_NAME_LIST,     /**< char ** (NULL-terminated, NULL when
				    empty) + size_t count: a list, or one
				    comma-separated string; at most
				    DRV_CFG_INT_LIST_MAX entries, each
				    non-empty and passed to .check */
} drv_cfg_type_t;

/** Row flags. */
enum {
	DRV_CFG_SECRET     = 1 << 0, /**< printed as "<redacted>" */
	DRV_CFG_RELOADABLE = 1 << 1, /**< may change without a restart */
	DRV_CFG_URL        = 1 << 2, /**< a URL whose password is secret */
	DRV_CFG_REQUIRED   = 1 << 3, /**< handler rows: must be given for the
					  handler types in .types */
	DRV_CFG_HEADER_KEYS = 1 << 4, /**< DRV_CFG_STRMAP: HTTP header names
					   and values; secret by
					   drv_cfg_secret_entry() */
	DRV_CFG_FREE_KEYS  = 1 << 5, /**< DRV_CFG_STRMAP: any non-empty key;
					  secret by drv_cfg_secret_entry() */
	DRV_CFG_JSON       = 1 << 6, /**< DRV_CFG_STRING holding JSON text; in
					  the file a YAML mapping or list is
					  converted to JSON first */
	DRV_CFG_PLAIN_KEYS = 1 << 7, /**< DRV_CFG_STRMAP: any non-empty key,
					  never secret (labels) */
};

/** Handler rows: the .types bit of handler type \p t. */
#define DRV_CFG_FOR(t) (1u << (t))

/** Most entries a duration list may have (kafka.delay_tiers). */
#define DRV_CFG_LIST_MAX 16
/** Most entries an integer list may have (transient_exit_codes). */
#define DRV_CFG_INT_LIST_MAX 64
/** Room for the rows of drv_cfg_handler_keys (checked in config_table.c). */
#define DRV_CFG_HANDLER_KEY_MAX 32

struct drv_cfg_where;
struct drv_cfg_key;

/** Extra check on a string value, run after the type's own checks. */
typedef drv_err_t drv_cfg_check_fn(const struct drv_cfg_key *k,
				   const char *name, const char *value,
				   const struct drv_cfg_where *w,
				   char *errstr, size_t errstr_size);

/** One configuration key: the single source of truth for it. */
typedef struct drv_cfg_key {
	const char *name;        /**< "kafka.brokers"; handler rows: "timeout" */
	drv_cfg_type_t type;
	size_t offset;           /**< of the field in its struct */
	size_t cnt_offset;       /**< list/argv/map types: of the count */
	const char *def;         /**< default as a user writes it; NULL = none */
	int64_t min, max;        /**< bounds; strings: length (max 0 = none) */
	unsigned flags;
	unsigned types;          /**< handler rows: DRV_CFG_FOR() bits of the
				      handler types it belongs to; 0 = all */
	const char *const *enums;/**< DRV_CFG_ENUM (and optionally
				      DRV_CFG_STRING): names, NULL-terminated */
	drv_cfg_check_fn *check; /**< DRV_CFG_STRING, and each entry of a
				      DRV_CFG_NAME_LIST: extra validation */
	const char *range_doc;   /**< reference "range" column, if not derived */
	const char *def_doc;     /**< reference "default" column if def NULL */
	const char *doc;         /**< one line for the reference */
} drv_cfg_key_t;

/** A top-level section of the file. */
typedef struct drv_cfg_section {
	const char *name;
	const char *doc;
} drv_cfg_section_t;

/** Where a value came from, for messages. */
typedef struct drv_cfg_where {
	const char *file;  /**< file name; NULL for env and defaults */
	const char *env;   /**< variable name for env overrides */
	size_t line, col;  /**< 1-based, file only */
	const char *origin; /**< neither file nor env: what the value is
				 from ("droverctl"); NULL = a default */
} drv_cfg_where_t;

typedef enum drv_cfg_kind {
	DRV_CFG_SCALAR,
	DRV_CFG_SEQUENCE,
	DRV_CFG_MAPPING,
} drv_cfg_kind_t;

/**
 * A value to parse: a YAML node with its direct children, or an env
 * variable / default text (always a scalar). Children have no children of
 * their own (items == NULL); the parsers only look one level deep.
 */
typedef struct drv_cfg_value {
	drv_cfg_kind_t kind;
	const char *text;        /**< SCALAR: NUL-terminated text */
	bool null;               /**< SCALAR: plain "", "~" or "null" */
	const struct drv_cfg_value *items; /**< SEQUENCE: items; MAPPING:
					       key, value, key, value... */
	size_t item_cnt;         /**< entries in items */
	drv_cfg_where_t where;
} drv_cfg_value_t;

/** Where the value of a table key came from (drv_config_priv.src). */
typedef enum drv_cfg_src {
	DRV_CFG_SRC_DEFAULT = 0,
	DRV_CFG_SRC_FILE,
	DRV_CFG_SRC_ENV,
} drv_cfg_src_t;

struct drv_config_priv {
	size_t key_cnt;
	unsigned redefined;  /**< bit i: the file redefined built-in policy i
				  (cfg->policies[i]) */
	bool breaker_default_file; /**< the file gave breakers.default */
	unsigned char src[]; /**< drv_cfg_src_t of each table key */
};

/* ---- the tables and naming rules (config_table.c) ---- */

extern const drv_cfg_key_t drv_cfg_keys[];
extern const size_t drv_cfg_key_cnt;
extern const drv_cfg_key_t drv_cfg_handler_keys[];
extern const size_t drv_cfg_handler_key_cnt;
/** Keys of one retry policy; their defaults are the `standard` policy. */
extern const drv_cfg_key_t drv_cfg_policy_keys[];
extern const size_t drv_cfg_policy_key_cnt;
/** Keys of one circuit breaker; their defaults are the `default` one. */
extern const drv_cfg_key_t drv_cfg_breaker_keys[];
extern const size_t drv_cfg_breaker_key_cnt;
/** Keys of one fleet-wide limit (drv_limit_conf_t). */
extern const drv_cfg_key_t drv_cfg_limit_keys[];
extern const size_t drv_cfg_limit_key_cnt;
/** Sections holding table keys, in table order, then "retry_policies",
 *  "handlers" and "breakers". */
extern const drv_cfg_section_t drv_cfg_sections[];
extern const size_t drv_cfg_section_cnt;

/** A retry policy every config has unless the file redefines its name. */
typedef struct drv_cfg_builtin_policy {
	const char *name;
	const char *doc;            /**< one line for the reference */
	const char *const *values;  /**< policy key, value, ..., NULL; keys
					 left out take the row defaults */
} drv_cfg_builtin_policy_t;

extern const drv_cfg_builtin_policy_t drv_cfg_builtin_policies[];
extern const size_t drv_cfg_builtin_policy_cnt;

/** Keys of one schedule (drv_schedule_conf_t) and of one trigger
 *  (drv_trigger_conf_t); config_sched.c. */
extern const drv_cfg_key_t drv_cfg_schedule_keys[];
extern const size_t drv_cfg_schedule_key_cnt;
extern const drv_cfg_key_t drv_cfg_trigger_keys[];
extern const size_t drv_cfg_trigger_key_cnt;

/**
 * @brief Checks of one schedule or trigger once all its keys are read:
 *        \p given[i] says whether row i was in the file and \p val_where[i]
 *        where its value is; \p where is the entry name's place. Fills the
 *        derived fields (start_ms, end_ms). config_sched.c.
 */
drv_err_t drv_cfg_check_schedule(drv_schedule_conf_t *s, const bool *given,
				 const drv_cfg_where_t *val_where,
				 const drv_cfg_where_t *where,
				 char *errstr, size_t errstr_size);
drv_err_t drv_cfg_check_trigger(drv_trigger_conf_t *t, const bool *given,
				const drv_cfg_where_t *val_where,
				const drv_cfg_where_t *where,
				char *errstr, size_t errstr_size);

/** Keys of one API token (drv_api_token_conf_t); config_api.c. */
extern const drv_cfg_key_t drv_cfg_token_keys[];
extern const size_t drv_cfg_token_key_cnt;

/**
 * @brief Once token \p t is read: exactly one of sha256 and env; the digest
 *        from sha256, or the SHA-256 of the value of env in \p envp (the
 *        token is off when that is unset). \p where is the entry's place.
 *        config_api.c.
 */
drv_err_t drv_cfg_token_finish(drv_api_token_conf_t *t, char *const *envp,
			       const drv_cfg_where_t *where,
			       char *errstr, size_t errstr_size);

/** @brief Free what a schedule / trigger entry owns (not the struct). */
void drv_cfg_schedule_release(drv_schedule_conf_t *s);
void drv_cfg_trigger_release(drv_trigger_conf_t *t);

/** @brief The row named \p name in \p keys, or NULL. */
const drv_cfg_key_t *drv_cfg_find(const drv_cfg_key_t *keys, size_t cnt,
				  const char *name);

/** @brief "DROVER_KAFKA_BROKERS" for "kafka.brokers". */
void drv_cfg_env_name(const char *key, char *buf, size_t size);

/** @brief True if a librdkafka property or env variable named \p name
 *         probably holds a secret (password, secret, jaas, token, *.pem). */
bool drv_cfg_secret_name(const char *name);

/** @brief True if an HTTP header or plugin config entry named \p name
 *         probably holds a secret: its name contains auth (Authorization,
 *         X-Auth-Token), cookie, token, secret, key (X-Api-Key), password,
 *         passwd or credential, in any case. */
bool drv_cfg_secret_entry(const char *name);

/** @brief "exec", "http or plugin", ...: the handler types in \p types (a
 *         mask of DRV_CFG_FOR() bits); "all" for 0. */
void drv_cfg_format_types(unsigned types, char *buf, size_t size);

/** @brief Copy \p url to \p buf with any user:password replaced by
 *         ":<redacted>". */
void drv_cfg_redact_url(const char *url, char *buf, size_t size);

/* ---- the value types (config_types.c) ---- */

/**
 * @brief Parse \p v into the field of \p k inside \p base (a drv_config_t
 *        or a drv_handler_conf_t). \p name is the dotted name for messages
 *        ("handlers.echo.timeout"). The field is replaced (old value freed)
 *        only on success.
 * @returns DRV_OK, DRV_ERR_CONFIG (message in errstr) or DRV_ERR_NOMEM.
 */
drv_err_t drv_cfg_parse(const drv_cfg_key_t *k, const char *name,
			const drv_cfg_value_t *v, void *base,
			char *errstr, size_t errstr_size);

/** @brief Free the field of \p k inside \p base and zero it. */
void drv_cfg_release(const drv_cfg_key_t *k, void *base);

/** @brief Write \p d as the shortest decimal that reads back as \p d
 *         ("2", "1.5"). */
void drv_cfg_format_double(double d, char *buf, size_t size);

/** @brief Write the field's value as YAML (flow style, one line);
 *         secrets as "<redacted>" when \p redact. */
void drv_cfg_emit(const drv_cfg_key_t *k, const void *base, bool redact,
		  FILE *out);

/** @brief The reference "type" column ("integer", "duration", ...). */
const char *drv_cfg_type_name(drv_cfg_type_t type);

/** @brief The reference "range" column for \p k ("" when none). */
void drv_cfg_format_range(const drv_cfg_key_t *k, char *buf, size_t size);

/** @brief Write \p s as a YAML double-quoted string. */
void drv_cfg_emit_string(FILE *out, const char *s);

/**
 * @brief \p s with the credentials it holds by its look, whatever its key's
 *        name, replaced by "<redacted>": the password (or lone user name)
 *        of every URL ("redis://app:<redacted>@h"), the value of every
 *        secret-looking NAME=value ("clientSecret=<redacted>",
 *        "--password=<redacted>", "?token=<redacted>"), and what follows
 *        "Bearer " or "Basic ".
 * @returns a malloc'd string the caller frees, NULL when out of memory.
 */
char *drv_cfg_redact_text(const char *s);

/** @brief drv_cfg_emit_string() of \p s, through drv_cfg_redact_text()
 *         when \p redact ("<redacted>" as a whole if out of memory). */
void drv_cfg_emit_value(FILE *out, const char *s, bool redact);

/* ---- messages and suggestions (config.c) ---- */

/**
 * @brief Format "file:line:col: key: message" (or "environment NAME:
 *        message") into errstr; \p key may be NULL.
 * @returns DRV_ERR_CONFIG.
 */
drv_err_t drv_cfg_fail(char *errstr, size_t errstr_size,
		       const drv_cfg_where_t *w, const char *key,
		       const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/** @brief Is \p s a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)? */
bool drv_cfg_valid_env_name(const char *s);

/** Closest-name search for "did you mean" suggestions. */
typedef struct drv_cfg_suggest {
	const char *typed;
	size_t best;       /**< id of the best candidate so far */
	size_t best_len;   /**< its length */
	int dist;          /**< its edit distance; large if none yet */
} drv_cfg_suggest_t;

void drv_cfg_suggest_init(drv_cfg_suggest_t *s, const char *typed);
/** @brief Consider candidate \p cand, known to the caller as \p id. */
void drv_cfg_suggest_add(drv_cfg_suggest_t *s, const char *cand, size_t id);
/** @brief True (and the id in \p id) if the best candidate is close enough
 *         to be what the user meant. */
bool drv_cfg_suggestion(const drv_cfg_suggest_t *s, size_t *id);

#endif /* DROVER_CONFIG_INT_H */
