/*
 * dlq_opts.c — the `droverctl dlq` filter options: each one handed to the
 * core's drv_dlq_filter_set() under its name, its error said the way a
 * usage error is said.
 */
#include "dlq_opts.h"

const char *ctl_dlq_filter_name(int c)
{
	switch (c) {
	case 'H': return "handler";
	case 'r': return "reason";
	case 's': return "schedule";
	case 'l': return "label";
	case 'S': return "since";
	case 'U': return "until";
	case 'g': return "grep";
	case 'G': return "group";
	default: return NULL;
	}
}

int ctl_dlq_filter_option(const ctl_cmd_t *cmd, drv_dlq_filter_t *f, int c,
			  const char *arg, int64_t now_ms)
{
	const char *name = ctl_dlq_filter_name(c);
	char err[256];
	drv_err_t rc;

	if (!name)
		return -1;
	if (!(rc = drv_dlq_filter_set(f, name, arg, now_ms, err, sizeof(err))))
		return CTL_EXIT_OK;
	if (rc == DRV_ERR_RANGE)
		return ctl_usage_error(cmd, "at most %d --label filters",
				       DRV_DLQ_FILTER_LABEL_MAX);
	return ctl_usage_error(cmd, "--%s%s%s", name, c == 'l' ? " " : ": ",
			       err);
}

int ctl_dlq_filter_check(const ctl_cmd_t *cmd, const drv_dlq_filter_t *f)
{
	if (drv_dlq_filter_check(f, NULL, 0))
		return ctl_usage_error(cmd, "--since must be before --until");
	return CTL_EXIT_OK;
}
