/*
 * cmd_config.c — `droverctl config check FILE` and `config reference`.
 */
#include <stdio.h>

#include "ctl.h"

extern char **environ;

static int run_check(const ctl_cmd_t *cmd, drv_config_t *unused,
		     int argc, char **argv)
{
	drv_config_t *cfg = NULL;
	char err[512];

	(void)unused;
	if (argc != 2)
		return ctl_usage_error(cmd, argc < 2 ? "missing FILE" :
				       "unexpected argument '%s'", argv[2]);
	if (drv_config_load(argv[1], environ, &cfg, err, sizeof(err)))
		return ctl_fail("%s", err);
	drv_config_dump(cfg, stdout);
	fprintf(stderr, "%s: valid\n", argv[1]);
	drv_config_destroy(cfg);
	return CTL_EXIT_OK;
}

static int run_reference(const ctl_cmd_t *cmd, drv_config_t *unused,
			 int argc, char **argv)
{
	(void)unused;
	if (argc != 1)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[1]);
	drv_config_write_reference(stdout);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_config_cmds[] = {
	{ "config", "check", "FILE",
	  "validate a config file and print the effective config, secrets "
	  "redacted",
	  "DROVER_* environment overrides are applied, as the daemons would.\n"
	  "Errors name file:line:col and the key; exit 1 if the file is "
	  "invalid.\n"
	  "Example:\n  droverctl config check deploy/drover.yaml\n",
	  false, run_check },
	{ "config", "reference", "",
	  "print the reference of every config key (Markdown)",
	  "Example:\n  droverctl config reference > docs/config.md\n",
	  false, run_reference },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
