/*
 * dlq_read.h — what the `droverctl dlq` commands share: reading the
 * dead-letter topic once from the beginning to the end it had when the read
 * started, and the filters (--handler, --reason, --since...) they all accept.
 */
#ifndef DROVER_CTL_DLQ_READ_H
#define DROVER_CTL_DLQ_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "drover/dead_letter.h"

#define DLQ_FILTER_LABEL_MAX 16

/* What an entry must match; every set field must hold. Strings are
 * borrowed from argv and live as long as the command. */
typedef struct dlq_filter {
	const char *handler;
	bool        has_reason;
	drv_dl_reason_t reason;
	const char *schedule_id;
	const char *label_key[DLQ_FILTER_LABEL_MAX];
	const char *label_value[DLQ_FILTER_LABEL_MAX];
	size_t      label_cnt;
	int64_t     since_ms;   /* 0 = no lower bound; dead_ms >= since */
	int64_t     until_ms;   /* 0 = no upper bound; dead_ms < until */
	const char *grep;       /* substring of the last failure's message or
				   the detail */
} dlq_filter_t;

/* One message read from the DLQ. When the message did not decode,
 * undecodable is set, dl is initialised and empty, and decode_error says
 * why; the bytes are in value. Everything is borrowed for the callback. */
typedef struct dlq_entry {
	drv_dead_letter_t dl;
	bool        undecodable;
	char        decode_error[256];
	int32_t     partition;     /* where on the DLQ topic */
	int64_t     offset;
	int64_t     timestamp_ms;  /* the Kafka message timestamp, -1 = none */
	const void *value;
	size_t      value_len;
} dlq_entry_t;

/* Called for every message; return false to stop reading. */
typedef bool (*dlq_visit_fn)(const dlq_entry_t *e, void *arg);

/* Add the filter options --handler/--reason/--schedule/--label/--since/
 * --until/--grep (with option values 'H','r','s','l','S','U','g') to a
 * getopt_long table: DLQ_FILTER_OPTIONS expands to their struct option
 * entries. */
#define DLQ_FILTER_OPTIONS \
	{ "handler",  required_argument, NULL, 'H' }, \
	{ "reason",   required_argument, NULL, 'r' }, \
	{ "schedule", required_argument, NULL, 's' }, \
	{ "label",    required_argument, NULL, 'l' }, \
	{ "since",    required_argument, NULL, 'S' }, \
	{ "until",    required_argument, NULL, 'U' }, \
	{ "grep",     required_argument, NULL, 'g' }

/* The --help lines for DLQ_FILTER_OPTIONS. */
#define DLQ_FILTER_HELP \
	"  --handler NAME        only this handler's tasks\n" \
	"  --reason REASON       permanent_failure, attempts_exhausted,\n" \
	"                        deadline_exceeded, undecodable,\n" \
	"                        handler_unknown or skipped\n" \
	"  --schedule ID         only tasks fired by this schedule\n" \
	"  --label K=V           only tasks with this label (repeatable)\n" \
	"  --since T             dead at or after T: RFC 3339 time or a\n" \
	"                        duration ago (2h = two hours ago)\n" \
	"  --until T             dead before T (same forms)\n" \
	"  --grep TEXT           TEXT in the last error message or the detail\n"

#define DLQ_FILTER_USAGE \
	"[--handler NAME] [--reason REASON] [--schedule ID] [--label K=V]... " \
	"[--since T] [--until T] [--grep TEXT]"

/* If \p c is one of the filter options, apply \p arg to \p f and return
 * CTL_EXIT_OK, or print a usage error and return CTL_EXIT_USAGE; return -1
 * when \p c is not a filter option. \p arg is kept (it is argv). */
int dlq_filter_option(const ctl_cmd_t *cmd, dlq_filter_t *f, int c,
		      char *arg, int64_t now_ms);

/* After all options: --since must be before --until. */
int dlq_filter_check(const ctl_cmd_t *cmd, const dlq_filter_t *f);

/* True if \p e passes \p f. An undecodable entry passes only filters that
 * set nothing but --since/--until (checked against its Kafka timestamp). */
bool dlq_filter_match(const dlq_filter_t *f, const dlq_entry_t *e);

/* Parse T: RFC 3339 ("2026-01-02T03:04:05Z", fraction and offset allowed,
 * a bare date means its midnight UTC) or a duration meaning \p now_ms minus
 * it. DRV_OK or DRV_ERR_INVALID. */
drv_err_t dlq_parse_time(const char *s, int64_t now_ms, int64_t *out);

/* The failure history of \p dl (its own, else the task's), oldest first. */
const drv_failure_t *dlq_failures(const drv_dead_letter_t *dl, size_t *cnt);

/* The entry as one line of JSON (malloc'd, caller frees; NULL when out of
 * memory): drv_dead_letter_to_json() plus "dlq_partition"/"dlq_offset" and
 * the DeadLetter message itself as "message_base64" (what `dlq import`
 * reads back), or
 * for an undecodable entry {"undecodable_entry":true, "error", the raw
 * value as base64, and the position}. */
char *dlq_entry_json(const dlq_entry_t *e);

/* Read the DLQ topic of \p cfg from the beginning of every partition up to
 * the high watermarks read at the start, calling \p fn for every message in
 * partition order (partitions interleave). No consumer group is joined and
 * nothing is committed. The broker must answer within
 * kafka.connect_timeout, and the read fails if it stops making progress for
 * that long. \p read_cnt (optional) receives how many messages were read.
 * Returns DRV_OK (also when \p fn stopped the read), or an error with
 * \p errstr set. */
drv_err_t dlq_read(const drv_config_t *cfg, dlq_visit_fn fn, void *arg,
		   size_t *read_cnt, char *errstr, size_t errstr_size);

/* Read the DLQ archive in \p dir (coordinator.archive_dir) as dlq_read()
 * reads the topic: \p fn for every archived entry, days in order. Files
 * whose index or day shows they cannot match \p f (--handler, --reason,
 * --since, --until) are not opened; \p fn still applies the filter.
 * \p read_cnt and \p file_cnt (optional) receive how many entries were
 * read from how many files. Returns DRV_OK (also for a missing folder:
 * nothing archived yet) or an error with \p errstr set. */
drv_err_t dlq_read_archive(const char *dir, const dlq_filter_t *f,
			   dlq_visit_fn fn, void *arg, size_t *read_cnt,
			   size_t *file_cnt, char *errstr, size_t errstr_size);

#endif /* DROVER_CTL_DLQ_READ_H */
