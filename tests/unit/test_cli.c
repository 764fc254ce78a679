/*
 * Unit tests for droverctl's argument handling: bad usage exits 2 with a
 * usage line on stderr and never needs a broker.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/str.h"

typedef struct run {
	int  status;
	char out[8192];
	char err[8192];
} run_t;

static void slurp(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size && (r = read(fd, buf + n, size - n - 1)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run droverctl with a NULL-terminated argument list. */
static void ctl(run_t *r, ...)
{
	const char *build = getenv("DROVER_BUILD_DIR");
	char bin[512], tmpl_o[] = "/tmp/ctl-out-XXXXXX", tmpl_e[] = "/tmp/ctl-err-XXXXXX";
	char *argv[32];
	int n = 0, fo, fe;
	va_list ap;
	pid_t pid;

	cr_assert(build, "DROVER_BUILD_DIR unset: run through meson test");
	drv_fmt(bin, sizeof(bin), "%s/ctl/droverctl", build);
	argv[n++] = bin;
	va_start(ap, r);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	fo = mkstemp(tmpl_o);
	fe = mkstemp(tmpl_e);
	pid = fork();
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		/* no config, and a broker nobody listens on */
		unsetenv("DROVER_CONFIG");
		setenv("DROVER_KAFKA_BROKERS", "127.0.0.1:1", 1);
		setenv("DROVER_KAFKA_CONNECT_TIMEOUT", "500ms", 1);
		execv(bin, argv);
		_exit(127);
	}
	waitpid(pid, &r->status, 0);
	r->status = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
	lseek(fo, 0, SEEK_SET);
	lseek(fe, 0, SEEK_SET);
	slurp(fo, r->out, sizeof(r->out));
	slurp(fe, r->err, sizeof(r->err));
	close(fo);
	close(fe);
	unlink(tmpl_o);
	unlink(tmpl_e);
}

static void expect_usage(run_t *r, const char *needle)
{
	cr_assert_eq(r->status, 2, "exit %d, stderr: %s", r->status, r->err);
	cr_assert(strstr(r->err, "usage: droverctl"), "no usage line: %s", r->err);
	if (needle)
		cr_assert(strstr(r->err, needle), "'%s' not in: %s", needle,
			  r->err);
}

Test(cli, no_command_is_usage_error)
{
	run_t r;

	ctl(&r, NULL);
	expect_usage(&r, "missing command");
}

Test(cli, a_group_alone_lists_its_commands)
{
	run_t r;

	ctl(&r, "dlq", "job", NULL);
	expect_usage(&r, "the 'dlq job' commands: start, list, show, pause, "
		     "resume, cancel, failures");
	ctl(&r, "breaker", NULL);
	expect_usage(&r, "the 'breaker' commands: ");
}

Test(cli, unknown_command_suggests)
{
	run_t r;

	ctl(&r, "task", "sumbit", NULL);
	expect_usage(&r, "did you mean 'droverctl task submit'");
}

Test(cli, unknown_global_option)
{
	run_t r;

	ctl(&r, "--frobnicate", "task", "submit", NULL);
	expect_usage(&r, "unknown option '--frobnicate'");
}

Test(cli, submit_requires_handler)
{
	run_t r;

	ctl(&r, "task", "submit", "--payload", "{}", NULL);
	expect_usage(&r, "--handler is required");
}

Test(cli, submit_rejects_bad_values)
{
	static const char *cases[][3] = {
		{ "--priority", "0", "--priority must be 1..10" },
		{ "--priority", "11", "--priority must be 1..10" },
		{ "--priority", "high", "--priority must be 1..10" },
		{ "--max-attempts", "0", "--max-attempts must be 1..1000" },
		{ "--delay", "soon", "--delay: 'soon' is not a duration" },
		{ "--deadline", "5x", "--deadline: '5x' is not a duration" },
		{ "--payload", "{oops", "--payload is not valid JSON" },
		{ "--payload", "@/nonexistent/file.json", "/nonexistent/file.json" },
		{ "--label", "novalue", "--label wants KEY=VALUE" },
		{ "--idempotency-key", "k\r\nHost: evil",
		  "--idempotency-key must be 1..256 bytes of printable text" },
		{ "--key", "", "--key must be 1..256 bytes" },
		{ "--bogus", "1", "unknown option '--bogus'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_t r;
		ctl(&r, "task", "submit", "--handler", "echo", cases[i][0],
		    cases[i][1], NULL);
		expect_usage(&r, cases[i][2]);
	}
}

Test(cli, submit_stray_argument)
{
	run_t r;

	ctl(&r, "task", "submit", "--handler", "echo", "extra", NULL);
	expect_usage(&r, "unexpected argument 'extra'");
}

Test(cli, event_emit_needs_type)
{
	run_t r;

	ctl(&r, "event", "emit", NULL);
	expect_usage(&r, "missing TYPE");
	ctl(&r, "event", "emit", "a.b", "--attr", "x", NULL);
	expect_usage(&r, "--attr wants KEY=VALUE");
}

Test(cli, config_check_needs_file)
{
	run_t r;

	ctl(&r, "config", "check", NULL);
	expect_usage(&r, "missing FILE");
}

Test(cli, help_exits_zero_with_usage_on_stdout)
{
	run_t r;

	ctl(&r, "--help", NULL);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "task submit"), "%s", r.out);
	ctl(&r, "task", "submit", "--help", NULL);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage: droverctl task submit --handler NAME"),
		  "%s", r.out);
}

Test(cli, unreachable_broker_fails_cleanly, .timeout = 30)
{
	run_t r;

	ctl(&r, "task", "submit", "--handler", "echo", "--timeout", "1s", NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "no acknowledgement from the broker"), "%s",
		  r.err);
}

Test(cli, dlq_bad_filters_are_usage_errors)
{
	static const char *cases[][4] = {
		{ "list", "--since", "yesterday", "--since: 'yesterday' is neither" },
		{ "list", "--until", "2026-13-01T00:00:00Z", "--until:" },
		{ "list", "--limit", "0", "--limit must be 1..100000" },
		{ "list", "--limit", "many", "--limit must be 1..100000" },
		{ "list", "--offset", "-1", "--offset must be a count" },
		{ "list", "--reason", "exploded", "--reason: unknown reason 'exploded'" },
		{ "list", "--label", "novalue", "--label wants KEY=VALUE" },
		{ "stats", "--reason", "nope", "--reason: unknown reason 'nope'" },
		{ "stats", "--limit", "5", "unknown option '--limit'" },
		{ "export", "--since", "5x", "--since: '5x' is neither" },
		{ "export", "--bogus", "1", "unknown option '--bogus'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_t r;
		ctl(&r, "dlq", cases[i][0], cases[i][1], cases[i][2], NULL);
		expect_usage(&r, cases[i][3]);
		cr_assert(strstr(r.err, "usage: droverctl dlq "), "%s", r.err);
	}
}

Test(cli, dlq_since_after_until)
{
	run_t r;

	ctl(&r, "dlq", "list", "--since", "1h", "--until", "2h", NULL);
	expect_usage(&r, "--since must be before --until");
}

Test(cli, dlq_show_needs_one_id)
{
	run_t r;

	ctl(&r, "dlq", "show", NULL);
	expect_usage(&r, "missing ID");
	ctl(&r, "dlq", "show", "a", "b", NULL);
	expect_usage(&r, "unexpected argument 'b'");
	ctl(&r, "dlq", "show", "x:y", NULL);
	expect_usage(&r, "neither an id nor PARTITION:OFFSET");
	ctl(&r, "dlq", "show", "ID", "--handler", "h", NULL);
	expect_usage(&r, "unknown option '--handler'");
}

Test(cli, dlq_list_unreachable_broker_fails_cleanly, .timeout = 30)
{
	run_t r;

	ctl(&r, "dlq", "list", NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "droverctl: dlq list:"), "%s", r.err);
}

Test(cli, dlq_resubmit_bad_usage)
{
	static const char *cases[][6] = {
		{ "dlq", "resubmit", NULL, NULL, NULL, "Give IDs or --all" },
		{ "dlq", "resubmit", "--all", "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL,
		  "give IDs or --all, not both" },
		{ "dlq", "resubmit", "--handler", "x", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		  "filters only go with --all" },
		{ "dlq", "resubmit", "--all", "--set", "{bad",
		  "not a valid JSON merge patch" },
		{ "dlq", "resubmit", "--all", "--set", "a..b=1", "empty key" },
		{ "dlq", "resubmit", "--all", "--priority", "0",
		  "--priority must be 1..10" },
		{ "dlq", "resubmit", "--all", "--rate", "fast",
		  "--rate wants N/s" },
		{ "dlq", "resubmit", "--all", "--max", "0", "--max must be" },
		{ "dlq", "resubmit", "not-an-id", NULL, NULL,
		  "is not a dead letter or task id" },
	};
	run_t r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    cases[i][4], NULL);
		expect_usage(&r, cases[i][5]);
	}
}

Test(cli, dlq_discard_bad_usage)
{
	static const char *cases[][6] = {
		{ "dlq", "discard", NULL, NULL, NULL, "Give IDs or --all" },
		{ "dlq", "discard", "--all", "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL,
		  "give IDs or --all, not both" },
		{ "dlq", "discard", "--handler", "x", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		  "filters only go with --all" },
		/* nothing that changes a task: a discard sends none */
		{ "dlq", "discard", "--all", "--set", "a=1",
		  "a discard sends no task: no --set" },
		{ "dlq", "discard", "--all", "--force", NULL,
		  "a discard sends no task: no --force" },
		{ "dlq", "discard", "--all", "--max=3", NULL,
		  "a discard sends no task: no --max " },
		{ "dlq", "discard", "--all", "--reason", "exploded",
		  "unknown reason" },
		{ "dlq", "discard", "not-an-id", NULL, NULL,
		  "is not a dead letter or task id" },
		{ "dlq", "discard", "--all", "--nope", NULL, "unknown option" },
	};
	run_t r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    cases[i][4], NULL);
		expect_usage(&r, cases[i][5]);
	}
}

Test(cli, audit_and_task_show_bad_usage)
{
	static const char *cases[][5] = {
		{ "audit", "list", "--since", "yesterday", "neither an RFC 3339" },
		{ "audit", "list", "--limit", "0", "--limit must be" },
		{ "audit", "list", "extra", NULL, "unexpected argument" },
		{ "intervention", "report", "--action", "x", "unknown option" },
		{ "task", "show", NULL, NULL, "missing task ID" },
		{ "task", "show", "nope", NULL, "is not a task id" },
	};
	run_t r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    NULL);
		expect_usage(&r, cases[i][4]);
	}
}

Test(cli, intervention_bad_usage)
{
	static const char *cases[][5] = {
		{ "task", "pause", NULL, NULL, "missing task ID" },
		{ "task", "skip", "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL,
		  "--reason is required" },
		{ "task", "cancel", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--reason",
		  "unknown option" },
		{ "task", "resume", "bad-id", NULL, "is not a task id" },
		{ "task", "retry", NULL, NULL, "missing task ID" },
		{ "task", "retry", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--all",
		  "options of 'dlq resubmit' only" },
		{ "pause", "--handler", NULL, NULL, "wants a handler name" },
	};
	run_t r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    cases[i][3] && !strcmp(cases[i][3], "--reason") ? "x" : NULL,
		    NULL);
		expect_usage(&r, cases[i][4]);
	}
}

Test(cli, queue_status_bad_usage)
{
	static const char *cases[][3] = {
		{ "--sample", "soon", "--sample wants a duration" },
		{ "--sample", "2m", "--sample wants a duration from 0 to 60s" },
		{ "--sample", NULL, "missing value '--sample'" },
		{ "--bogus", NULL, "unknown option" },
		{ "extra", NULL, "unexpected argument 'extra'" },
	};
	run_t r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl(&r, "queue", "status", cases[i][0], cases[i][1], NULL);
		expect_usage(&r, cases[i][2]);
		cr_assert(strstr(r.err, "usage: droverctl queue status"), "%s",
			  r.err);
	}
}

Test(cli, queue_status_unreachable_broker_fails, .timeout = 30)
{
	run_t r;

	ctl(&r, "queue", "status", "--sample", "0", NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "droverctl: "), "%s", r.err);
}
