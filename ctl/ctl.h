/*
 * ctl.h — what droverctl's command files share: the command table entry,
 * the loaded config, and the exit-code conventions (0 done, 1 failed,
 * 2 bad usage).
 */
#ifndef DROVER_CTL_H
#define DROVER_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "drover/config.h"

#define CTL_EXIT_OK      0
#define CTL_EXIT_FAILED  1
#define CTL_EXIT_USAGE   2

typedef struct ctl_cmd {
	const char *group;    /* "task", "topics", ... */
	const char *name;     /* "submit", "ensure", ... */
	const char *usage;    /* argument synopsis after "droverctl GROUP NAME" */
	const char *summary;  /* one line for the command list */
	const char *help;     /* option list for --help, may be NULL */
	bool        needs_config; /* load the config before running */
	int       (*run)(const struct ctl_cmd *cmd, drv_config_t *cfg,
		         int argc, char **argv);
} ctl_cmd_t;

/* Print "usage: droverctl GROUP NAME USAGE" and an optional message to
 * stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const ctl_cmd_t *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the command's --help to stdout; returns CTL_EXIT_OK. */
int ctl_help(const ctl_cmd_t *cmd);

/* Print "droverctl: MESSAGE" to stderr; returns CTL_EXIT_FAILED. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A producer for a one-shot command (drv_kafka_producer_brief_new()),
 * ready to send to \p topic, the one it produces to first; \p linger_ms 0
 * for a command that sends one message, -1 (the configured linger) for
 * one that sends many. NULL with errstr set. */
struct rd_kafka_s;
struct rd_kafka_s *ctl_producer_new(const drv_config_t *cfg,
				    const char *topic, int64_t linger_ms,
				    char *errstr, size_t errstr_size);

/* Read "@path" ("@-" for stdin) or take the literal text. The result is
 * malloc'd, NUL-terminated, and freed by the caller. NULL with errstr on
 * failure. */
char *ctl_read_arg(const char *arg, size_t *len, char *errstr,
		   size_t errstr_size);

/* --payload JSON|@FILE: read the argument (ctl_read_arg) and check it is
 * JSON. On success *text (malloc'd, caller frees) and *len are set and
 * CTL_EXIT_OK returned; otherwise a usage error was printed and its exit
 * code is returned. */
int ctl_json_arg(const ctl_cmd_t *cmd, const char *opt, const char *arg,
		 char **text, size_t *len);

/* --since / --until T: \p arg as drv_parse_when() reads it against
 * \p now_ms into *out. Returns CTL_EXIT_OK, or prints a usage error naming
 * \p opt and returns its exit code. */
int ctl_when_arg(const ctl_cmd_t *cmd, const char *opt, const char *arg,
		 int64_t now_ms, int64_t *out);

/* KEY=VALUE option values: splits \p kv in place (the '=' becomes NUL) and
 * returns the value, or prints a usage error naming \p opt and returns
 * NULL. */
char *ctl_split_kv(const ctl_cmd_t *cmd, const char *opt, char *kv);

/* The operator named by the global --as option, NULL = the login name. */
extern const char *ctl_actor;

/* Who acts: --as, else $USER or the login name, else "unknown". A static
 * or argv string; never NULL. */
const char *ctl_actor_name(void);

/* Write one AuditRecord for an operator action and wait for the broker's
 * acknowledgement: actor (--as, else $USER or the login name), host, time,
 * \p action ("dlq.resubmit"), \p target (task id, breaker, filter; may be
 * NULL), \p count of things affected, \p details_json (a JSON object's
 * text, or NULL) and \p result ("ok" or the error; NULL = "ok"). Uses \p rk
 * when given, else a producer of its own. Returns CTL_EXIT_OK, or prints
 * why and returns CTL_EXIT_FAILED. */
struct rd_kafka_s;
int ctl_audit(const drv_config_t *cfg, struct rd_kafka_s *rk,
	      const char *action, const char *target, uint64_t count,
	      const char *details_json, const char *result);

/* The options of commands that take --json and at most one argument:
 * \p need is the usage message when the argument is missing (NULL: the
 * command takes none). Sets *json and *arg (NULL when none); returns
 * CTL_EXIT_OK or the exit code of the usage error it printed. */
int ctl_parse_json_arg(const ctl_cmd_t *cmd, int argc, char **argv,
		       const char *need, bool *json, const char **arg);

/* One "  NAME  VALUE" line of a human view, NAME padded to \p width;
 * nothing when \p value is NULL or empty (ctl_time_field: when \p ms is
 * not after the epoch). */
void ctl_field(int width, const char *name, const char *value);
void ctl_time_field(int width, const char *name, int64_t ms);

/* Print \p o as one line of compact JSON and drop the reference. */
struct json_t;
void ctl_print_json(struct json_t *o);

/* task submit --file: the tasks of \p path ("-": stdin), one JSON object
 * per line, through the core's bulk path (cmd_task_bulk.c). */
int ctl_submit_file(const drv_config_t *cfg, const char *path,
		    int64_t timeout_ms, bool json);

extern const ctl_cmd_t ctl_config_cmds[];
extern const ctl_cmd_t ctl_topics_cmds[];
extern const ctl_cmd_t ctl_task_cmds[];
extern const ctl_cmd_t ctl_event_cmds[];
extern const ctl_cmd_t ctl_dlq_cmds[];
extern const ctl_cmd_t ctl_schedule_cmds[];
extern const ctl_cmd_t ctl_breaker_cmds[];
extern const ctl_cmd_t ctl_band_cmds[];
extern const ctl_cmd_t ctl_limit_cmds[];
extern const ctl_cmd_t ctl_dlq_resubmit_cmds[];
extern const ctl_cmd_t ctl_dlq_import_cmds[];
extern const ctl_cmd_t ctl_dlq_group_cmds[];
extern const ctl_cmd_t ctl_dlq_job_cmds[];
extern const ctl_cmd_t ctl_audit_cmds[];
extern const ctl_cmd_t ctl_task_show_cmds[];
extern const ctl_cmd_t ctl_intervene_cmds[];
extern const ctl_cmd_t ctl_schedule_edit_cmds[];
extern const ctl_cmd_t ctl_schedule_trigger_cmds[];
extern const ctl_cmd_t ctl_schedule_fires_cmds[];
extern const ctl_cmd_t ctl_queue_cmds[];
extern const ctl_cmd_t ctl_retry_cmds[];
extern const ctl_cmd_t ctl_history_cmds[];

#endif /* DROVER_CTL_H */
