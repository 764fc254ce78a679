/*
 * docs/cli.md is droverctl's real --help output: this test runs
 * `droverctl --help` and `droverctl GROUP COMMAND --help` for every command
 * the top-level help lists, builds the reference from them, and fails when
 * docs/cli.md differs (DROVER_UPDATE_DOCS=1 rewrites it). It also checks
 * that every command's help has an example.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "drover/str.h"

/* stdout of `droverctl ARGS --help` (malloc'd). */
static char *help(const char *args)
{
	const char *build = getenv("DROVER_BUILD_DIR");
	char cmd[1024], *buf = NULL;
	size_t len = 0;
	FILE *p, *m;
	int c;

	cr_assert(build, "DROVER_BUILD_DIR unset: run through meson test");
	drv_fmt(cmd, sizeof(cmd), "env -u DROVER_CONFIG %s/ctl/droverctl "
		"%s --help", build, args);
	cr_assert((p = popen(cmd, "r")));
	m = open_memstream(&buf, &len);
	while ((c = fgetc(p)) != EOF)
		fputc(c, m);
	fclose(m);
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
	return buf;
}

static const char intro[] =
	"# droverctl reference\n\n"
	"Every command's `--help`, verbatim. This page is generated from the "
	"binary\n(`DROVER_UPDATE_DOCS=1 meson test -C build cli_doc`) and a "
	"unit test fails when\nit differs from the real output.\n\n"
	"Conventions: exit status 0 done, 1 failed, 2 bad usage (with a "
	"usage line on\nstderr); data on stdout, errors on stderr; `--json` "
	"where scripts read the\noutput. Durations are `250ms`, `30s`, `5m`, "
	"`2h`, `7d`. Times (`--since`,\n`--until`) are RFC 3339 "
	"(`2026-01-02T15:04:05Z`, a bare date is its midnight\nUTC) or a "
	"duration meaning that long ago (`--since 2h`). Every action that\n"
	"changes something is written to the audit topic (`droverctl audit "
	"list`), with\nthe operator from `--as`, else the login name.\n";

Test(cli_doc, docs_cli_md_is_up_to_date)
{
	const char *update = getenv("DROVER_UPDATE_DOCS");
	char *top = help(""), *want = NULL, *have = NULL, *line, *next;
	size_t len = 0, cmds = 0;
	bool in_cmds = false;
	FILE *m = open_memstream(&want, &len), *f;
	char *copy = drv_strdup(top);

	fprintf(m, "%s\n## droverctl\n\n```\n%s```\n", intro, top);
	for (line = copy; line && *line; line = next) {
		char name[128], *end, *h;

		if ((next = strchr(line, '\n')))
			*next++ = '\0';

		if (!strcmp(line, "Commands:")) {
			in_cmds = true;
			continue;
		}
		if (!in_cmds || strncmp(line, "  ", 2))
			continue;
		/* "  GROUP NAME   summary": the name ends at two spaces */
		if (!(end = strstr(line + 2, "  ")))
			continue;
		drv_fmt(name, sizeof(name), "%.*s", (int)(end - line - 2),
			line + 2);
		h = help(name);
		cr_assert(strstr(h, "\nExample:\n") || strstr(h, "\nExamples:\n"),
			  "'droverctl %s --help' has no example", name);
		fprintf(m, "\n## droverctl %s\n\n```\n%s```\n", name, h);
		free(h);
		cmds++;
	}
	fclose(m);
	free(copy);
	free(top);
	cr_assert_gt(cmds, 20, "only %zu commands found", cmds);
	if (update && !strcmp(update, "1")) {
		cr_assert((f = fopen("docs/cli.md", "wb")));
		cr_assert_eq(fwrite(want, 1, len, f), len);
		cr_assert_eq(fclose(f), 0);
	}
	if ((f = fopen("docs/cli.md", "rb"))) {
		size_t hl = 0;
		FILE *hm = open_memstream(&have, &hl);
		int c;

		while ((c = fgetc(f)) != EOF)
			fputc(c, hm);
		fclose(hm);
		fclose(f);
	}
	cr_assert_not_null(have, "docs/cli.md is missing; run this test with "
			   "DROVER_UPDATE_DOCS=1");
	cr_assert(!strcmp(have, want), "docs/cli.md is out of date; run "
		  "'DROVER_UPDATE_DOCS=1 meson test -C build cli_doc'");
	free(have);
	free(want);
}
