/*
 * dlq_opts.h — the filter options every `droverctl dlq` command takes
 * (--handler, --reason, --since...), read into the core's drv_dlq_filter_t.
 */
#ifndef DROVER_CTL_DLQ_OPTS_H
#define DROVER_CTL_DLQ_OPTS_H

#include <stdint.h>

#include "ctl.h"
#include "drover/dlq.h"

/* Add the filter options --handler/--reason/--schedule/--label/--since/
 * --until/--grep/--group (with option values 'H','r','s','l','S','U','g',
 * 'G') to a getopt_long table: DLQ_FILTER_OPTIONS expands to their struct
 * option entries. */
#define DLQ_FILTER_OPTIONS \
	{ "handler",  required_argument, NULL, 'H' }, \
	{ "reason",   required_argument, NULL, 'r' }, \
	{ "schedule", required_argument, NULL, 's' }, \
	{ "label",    required_argument, NULL, 'l' }, \
	{ "since",    required_argument, NULL, 'S' }, \
	{ "until",    required_argument, NULL, 'U' }, \
	{ "grep",     required_argument, NULL, 'g' }, \
	{ "group",    required_argument, NULL, 'G' }

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
	"  --grep TEXT           TEXT in the last error message or the detail\n" \
	"  --group ID            only this failure group (`dlq groups`)\n"

#define DLQ_FILTER_USAGE \
	"[--handler NAME] [--reason REASON] [--schedule ID] [--label K=V]... " \
	"[--since T] [--until T] [--grep TEXT] [--group ID]"

/* If \p c is one of the filter options, apply \p arg to \p f
 * (drv_dlq_filter_set()) and return CTL_EXIT_OK, or print a usage error and
 * return CTL_EXIT_USAGE; return -1 when \p c is not a filter option.
 * \p arg is kept (it is argv). */
int ctl_dlq_filter_option(const ctl_cmd_t *cmd, drv_dlq_filter_t *f, int c,
			  const char *arg, int64_t now_ms);

/* The filter field ("handler", ...) of option value \p c, NULL when \p c is
 * not a filter option. */
const char *ctl_dlq_filter_name(int c);

/* After all options: --since must be before --until. */
int ctl_dlq_filter_check(const ctl_cmd_t *cmd, const drv_dlq_filter_t *f);

#endif /* DROVER_CTL_DLQ_OPTS_H */
