/*
 * Unit tests for the exec runner: exit statuses, stdin/env/argv/workdir
 * plumbing, spawn failures, the output head/tail limit, timeouts that must
 * reach grandchildren, pause/resume through the process group, and several
 * threads running commands at once. Only /bin/sh and coreutils are needed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/exec.h"
#include "drover/str.h"

/* ---- helpers ----------------------------------------------------------- */

static drv_exec_result_t run_spec(const drv_exec_spec_t *spec)
{
	drv_exec_result_t res;
	char errstr[256] = "";
	drv_err_t err = drv_exec_run(spec, &res, errstr, sizeof(errstr));

	cr_assert_eq(err, DRV_OK, "drv_exec_run: %s", errstr);
	cr_assert_not_null(res.output);
	cr_assert_eq(res.output[res.output_len], '\0');
	return res;
}

static drv_exec_result_t run_sh(const char *cmd, int64_t timeout_ms)
{
	char *argv[] = { (char *)cmd, NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = timeout_ms };

	return run_spec(&spec);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Alive and not a zombie (PID 1 in a container may never reap). */
static bool process_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (kill(pid, 0) < 0)
		return false;
	drv_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static bool wait_gone(pid_t pid, long ms)
{
	for (long t = 0; t < ms; t += 20) {
		if (!process_alive(pid))
			return true;
		sleep_ms(20);
	}
	return !process_alive(pid);
}

static void temp_path(char *buf, size_t size)
{
	int fd;

	drv_strlcpy(buf, "/tmp/drover-test-exec-XXXXXX", size);
	fd = mkstemp(buf);
	cr_assert_geq(fd, 0);
	close(fd);
}

static pid_t read_pid_file(const char *path)
{
	char buf[32] = "";
	int64_t v = 0;
	FILE *f;

	for (int i = 0; i < 100; i++) {
		size_t n;

		if ((f = fopen(path, "r"))) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			if (n && buf[n - 1] == '\n') {
				buf[n - 1] = '\0';
				break;
			}
		}
		sleep_ms(10);
	}
	cr_assert_eq(drv_parse_int(buf, 1, INT32_MAX, &v), DRV_OK,
		     "pid file holds '%s'", buf);
	return (pid_t)v;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* ---- exit statuses ----------------------------------------------------- */

Test(exec, exit_codes_reported)
{
	static const struct { const char *cmd; int code; } cases[] = {
		{ "exit 0", 0 }, { "exit 1", 1 }, { "exit 75", 75 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drv_exec_result_t res = run_sh(cases[i].cmd, 0);

		cr_assert_eq(res.status, DRV_EXEC_EXITED);
		cr_assert_eq(res.exit_code, cases[i].code, "%s", cases[i].cmd);
		cr_assert_eq(res.signal, 0);
		drv_exec_result_release(&res);
	}
}

Test(exec, plain_command_without_shell)
{
	char *argv[] = { "false", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.exit_code, 1);
	cr_assert_eq(res.output_len, 0);
	drv_exec_result_release(&res);
}

Test(exec, killed_by_signal_is_signaled)
{
	drv_exec_result_t res = run_sh("kill -USR1 $$; sleep 5", 0);

	cr_assert_eq(res.status, DRV_EXEC_SIGNALED);
	cr_assert_eq(res.signal, SIGUSR1);
	cr_assert_str_eq(drv_exec_status_name(res.status), "signaled");
	drv_exec_result_release(&res);
}

Test(exec, status_names)
{
	cr_assert_str_eq(drv_exec_status_name(DRV_EXEC_EXITED), "exited");
	cr_assert_str_eq(drv_exec_status_name(DRV_EXEC_TIMED_OUT), "timed_out");
	cr_assert_str_eq(drv_exec_status_name(DRV_EXEC_SPAWN_FAILED),
			 "spawn_failed");
	cr_assert_str_eq(drv_exec_status_name((drv_exec_status_t)99),
			 "unknown");
}

/* ---- stdin, env, argv, workdir ----------------------------------------- */

Test(exec, stdin_echoed_by_cat)
{
	static const char input[] = "hello\nworld \"quoted\"\n";
	char *argv[] = { "cat", NULL };
	drv_exec_spec_t spec = { .argv = argv, .stdin_data = input,
				 .stdin_len = sizeof(input) - 1 };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_str_eq(res.output, input);
	cr_assert_eq(res.output_dropped, 0);
	drv_exec_result_release(&res);
}

Test(exec, no_stdin_means_eof)
{
	char *argv[] = { "cat", NULL };
	drv_exec_spec_t spec = { .argv = argv, .timeout_ms = 5000 };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.output_len, 0);
	drv_exec_result_release(&res);
}

Test(exec, env_added_and_overrides_parent)
{
	char *argv[] = { "echo \"$DROVER_TASK_ID/$DRV_T_OVR/$DRV_T_KEEP\"",
			 NULL };
	char *env[] = { "DROVER_TASK_ID=01JTASK", "DRV_T_OVR=first",
			"DRV_T_OVR=child", NULL };
	char *pass[] = { "DRV_T_KEEP", "DRV_T_OVR", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true, .env = env,
				 .env_pass = pass };
	drv_exec_result_t res;

	setenv("DRV_T_OVR", "parent", 1);
	setenv("DRV_T_KEEP", "kept", 1);
	res = run_spec(&spec);
	cr_assert_str_eq(res.output, "01JTASK/child/kept\n");
	drv_exec_result_release(&res);
}

/* Is \p line one whole line of \p text? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* Issue 17 item 3: the child gets the base set, the allow-listed
 * variables and the spec's own entries, never the worker's secrets. */
Test(exec, env_explicit_never_secrets)
{
	char *argv[] = { "env", NULL };
	char *env[] = { "DROVER_TASK_ID=01JTASK", "GIVEN=yes", NULL };
	char *pass[] = { "DRV_T_PASS", "DRV_T_PFX_*", "MY_API_TOKEN",
			 "DROVER_*", NULL };
	char *deny[] = { "MY_API_TOKEN", NULL };
	drv_exec_spec_t spec = { .argv = argv, .env = env, .env_pass = pass,
				 .env_deny = deny };
	drv_exec_result_t res;
	char *out;

	setenv("DROVER_REDIS_PASSWORD", "redis-s3cret", 1);
	setenv("DROVER_KAFKA_PROPERTY_SASL_PASSWORD", "sasl-s3cret", 1);
	setenv("MY_API_TOKEN", "token-s3cret", 1);
	setenv("DRV_T_UNLISTED", "unlisted-value", 1);
	setenv("DRV_T_PASS", "passed", 1);
	setenv("DRV_T_PFX_ONE", "one", 1);
	setenv("LC_ALL", "C", 1);
	res = run_spec(&spec);
	out = res.output;
	cr_assert_eq(res.exit_code, 0, "%s", out);
	cr_assert_null(strstr(out, "s3cret"), "a secret leaked:\n%s", out);
	cr_assert_null(strstr(out, "DROVER_REDIS"), "%s", out);
	cr_assert_null(strstr(out, "DROVER_KAFKA"), "%s", out);
	cr_assert_null(strstr(out, "unlisted-value"), "%s", out);
	cr_assert(has_line(out, "DRV_T_PASS=passed"), "%s", out);
	cr_assert(has_line(out, "DRV_T_PFX_ONE=one"), "%s", out);
	cr_assert(has_line(out, "LC_ALL=C"), "%s", out);
	cr_assert(has_line(out, "DROVER_TASK_ID=01JTASK"), "%s", out);
	cr_assert(has_line(out, "GIVEN=yes"), "%s", out);
	if (getenv("PATH")) {
		char path[4096];

		drv_fmt(path, sizeof(path), "PATH=%s", getenv("PATH"));
		cr_assert(has_line(out, path), "PATH not passed:\n%s", out);
	}
	drv_exec_result_release(&res);
	unsetenv("DROVER_REDIS_PASSWORD");
	unsetenv("DROVER_KAFKA_PROPERTY_SASL_PASSWORD");
	unsetenv("MY_API_TOKEN");
}

Test(exec, argv_passed_verbatim_without_shell)
{
	char *argv[] = { "printf", "[%s]\\n", "a b", "it's \"quoted\"",
			 "$HOME `x` *", "", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.exit_code, 0);
	cr_assert_str_eq(res.output,
			 "[a b]\n[it's \"quoted\"]\n[$HOME `x` *]\n[]\n");
	drv_exec_result_release(&res);
}

Test(exec, shell_extra_args_are_positional)
{
	char *argv[] = { "printf '%s|' \"$@\"", "one two", "three", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_str_eq(res.output, "one two|three|");
	drv_exec_result_release(&res);
}

Test(exec, workdir_used)
{
	char *argv[] = { "pwd", NULL };
	drv_exec_spec_t spec = { .argv = argv, .workdir = "/" };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_str_eq(res.output, "/\n");
	drv_exec_result_release(&res);
}

Test(exec, stdout_and_stderr_combined)
{
	drv_exec_result_t res = run_sh("echo out; echo err >&2; echo out2", 0);

	cr_assert_str_eq(res.output, "out\nerr\nout2\n");
	drv_exec_result_release(&res);
}

Test(exec, child_sees_only_stdio_fds)
{
	/* the shell's own fds, listed by the shell: 0 1 2, and 3 is the
	 * directory the glob itself opened (any leaked fd would push it up) */
	drv_exec_result_t res =
		run_sh("cd /proc/$$/fd && for f in *; do printf '%s ' $f; done",
		       0);

	cr_assert_str_eq(res.output, "0 1 2 3 ");
	drv_exec_result_release(&res);
}

/* ---- spawn failures ---------------------------------------------------- */

Test(exec, command_not_found_is_spawn_failed)
{
	char *argv[] = { "drover-no-such-command-xyzzy", "arg", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_SPAWN_FAILED);
	cr_assert_eq(res.exit_code, DRV_EXEC_SPAWN_EXIT_CODE);
	cr_assert(strstr(res.output, "drover-no-such-command-xyzzy"));
	cr_assert(strstr(res.output, "command not found"), "%s", res.output);
	drv_exec_result_release(&res);
}

Test(exec, missing_absolute_path_is_spawn_failed)
{
	char *argv[] = { "/nonexistent/drover/bin", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_SPAWN_FAILED);
	cr_assert(strstr(res.output, "No such file"), "%s", res.output);
	drv_exec_result_release(&res);
}

Test(exec, not_executable_is_spawn_failed)
{
	char path[64];
	char *argv[] = { path, NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res;

	temp_path(path, sizeof(path)); /* mode 0600 */
	res = run_spec(&spec);
	unlink(path);
	cr_assert_eq(res.status, DRV_EXEC_SPAWN_FAILED);
	cr_assert(strstr(res.output, "Permission denied"), "%s", res.output);
	drv_exec_result_release(&res);
}

Test(exec, bad_workdir_is_spawn_failed)
{
	char *argv[] = { "true", NULL };
	drv_exec_spec_t spec = { .argv = argv,
				 .workdir = "/nonexistent-drover-dir" };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_SPAWN_FAILED);
	cr_assert_eq(res.exit_code, 127);
	cr_assert(strstr(res.output, "/nonexistent-drover-dir"), "%s",
		  res.output);
	drv_exec_result_release(&res);
}

Test(exec, spawn_failed_handle_has_no_group)
{
	char *argv[] = { "drover-no-such-command-xyzzy", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res;
	drv_exec_t *ex;

	cr_assert_eq(drv_exec_start(&spec, &ex, NULL, 0), DRV_OK);
	cr_assert_eq(drv_exec_pgid(ex), -1);
	cr_assert_eq(drv_exec_signal(ex, SIGKILL), DRV_ERR_NOT_FOUND);
	cr_assert_eq(drv_exec_wait(ex, &res), DRV_OK);
	cr_assert_eq(res.status, DRV_EXEC_SPAWN_FAILED);
	drv_exec_result_release(&res);
	drv_exec_destroy(ex);
}

Test(exec, invalid_specs_rejected)
{
	char *noargs[] = { NULL };
	char *argv[] = { "true", NULL };
	char *badenv[] = { "NOEQUALS", NULL };
	drv_exec_spec_t spec = { .argv = noargs };
	drv_exec_result_t res;
	char errstr[128];

	cr_assert_eq(drv_exec_run(&spec, &res, errstr, sizeof(errstr)),
		     DRV_ERR_INVALID);
	spec.argv = NULL;
	cr_assert_eq(drv_exec_run(&spec, &res, NULL, 0), DRV_ERR_INVALID);
	spec.argv = argv;
	spec.env = badenv;
	cr_assert_eq(drv_exec_run(&spec, &res, errstr, sizeof(errstr)),
		     DRV_ERR_INVALID);
	cr_assert(strstr(errstr, "NOEQUALS"), "%s", errstr);
	drv_exec_destroy(NULL);
	drv_exec_result_release(NULL);
}

/* ---- output limit ------------------------------------------------------ */

Test(exec, output_limit_keeps_head_and_tail)
{
	char *argv[] = { "printf HEAD; head -c 10000 /dev/zero | tr '\\0' x;"
			 " printf TAIL", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .output_limit = 100 };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.output_len, 100);
	cr_assert_eq(res.output_dropped, 10008 - 100);
	cr_assert_eq(strlen(res.output), 100);
	cr_assert(!strncmp(res.output, "HEADxxxx", 8), "%s", res.output);
	cr_assert(!strcmp(res.output + 92, "xxxxTAIL"), "%s", res.output);
	drv_exec_result_release(&res);
}

Test(exec, output_under_limit_kept_whole)
{
	char *argv[] = { "seq 1 1000", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .output_limit = 3893 }; /* exactly its size */
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.output_len, 3893);
	cr_assert_eq(res.output_dropped, 0);
	cr_assert(!strncmp(res.output, "1\n2\n3\n", 6));
	cr_assert(!strcmp(res.output + res.output_len - 9, "999\n1000\n"));
	drv_exec_result_release(&res);
}

Test(exec, odd_limit_splits_head_and_tail)
{
	char *argv[] = { "printf abcdefghij", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .output_limit = 5 };
	drv_exec_result_t res = run_spec(&spec);

	/* head = 5/2 = 2 bytes, tail = 3 bytes */
	cr_assert_str_eq(res.output, "abhij");
	cr_assert_eq(res.output_dropped, 5);
	drv_exec_result_release(&res);
}

Test(exec, large_stdin_small_limit_does_not_deadlock)
{
	size_t len = 1024 * 1024;
	unsigned char *input = malloc(len);
	char *argv[] = { "cat", NULL };
	drv_exec_spec_t spec = { .argv = argv, .stdin_data = input,
				 .stdin_len = len, .output_limit = 1024,
				 .timeout_ms = 20000 };
	drv_exec_result_t res;

	cr_assert_not_null(input);
	for (size_t i = 0; i < len; i++)
		input[i] = (unsigned char)('a' + (i * 7 + i / 1000) % 26);
	res = run_spec(&spec);
	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_eq(res.output_len, 1024);
	cr_assert_eq(res.output_dropped, len - 1024);
	cr_assert(!memcmp(res.output, input, 512));
	cr_assert(!memcmp(res.output + 512, input + len - 512, 512));
	drv_exec_result_release(&res);
	free(input);
}

Test(exec, child_ignoring_stdin_does_not_raise_sigpipe)
{
	size_t len = 1024 * 1024;
	char *input = calloc(1, len);
	char *argv[] = { "true", NULL };
	drv_exec_spec_t spec = { .argv = argv, .stdin_data = input,
				 .stdin_len = len };
	drv_exec_result_t res;
	sigset_t mask, pending;

	cr_assert_not_null(input);
	res = run_spec(&spec); /* SIGPIPE would kill this test process */
	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.exit_code, 0);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	cr_assert_not(sigismember(&mask, SIGPIPE), "mask not restored");
	sigpending(&pending);
	cr_assert_not(sigismember(&pending, SIGPIPE));
	drv_exec_result_release(&res);
	free(input);
}

/* ---- timeouts and the process group ------------------------------------ */

Test(exec, timeout_kills_process_and_grandchild)
{
	char path[64];
	char *argv[] = { "sleep 30 & echo $! > \"$1\"; wait", path, NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = 300, .kill_grace_ms = 1000 };
	drv_exec_result_t res;
	int64_t t0 = drv_mono_ms(), took;
	pid_t grandchild;

	temp_path(path, sizeof(path));
	res = run_spec(&spec);
	took = drv_mono_ms() - t0;
	cr_assert_eq(res.status, DRV_EXEC_TIMED_OUT);
	cr_assert_eq(res.signal, SIGTERM);
	cr_assert_geq(res.duration_ms, 300);
	cr_assert_lt(took, 3000, "took %lld ms", (long long)took);
	grandchild = read_pid_file(path);
	unlink(path);
	cr_assert(wait_gone(grandchild, 2000), "grandchild %d survived",
		  (int)grandchild);
	drv_exec_result_release(&res);
}

Test(exec, timeout_escalates_to_sigkill_after_grace)
{
	/* SIG_IGN for TERM is inherited by sleep, so only SIGKILL works */
	char *argv[] = { "trap '' TERM; sleep 30", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = 200, .kill_grace_ms = 300 };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_TIMED_OUT);
	cr_assert_eq(res.signal, SIGKILL);
	cr_assert_geq(res.duration_ms, 500);
	cr_assert_lt(res.duration_ms, 3000);
	drv_exec_result_release(&res);
}

Test(exec, negative_grace_kills_at_once)
{
	char *argv[] = { "trap '' TERM; sleep 30", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = 200, .kill_grace_ms = -1 };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_TIMED_OUT);
	cr_assert_eq(res.signal, SIGKILL);
	cr_assert_lt(res.duration_ms, 1500);
	drv_exec_result_release(&res);
}

Test(exec, graceful_exit_after_sigterm_is_timed_out)
{
	char *argv[] = { "trap 'echo bye; exit 3' TERM; "
			 "while :; do sleep 0.05; done", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = 200, .kill_grace_ms = 5000 };
	drv_exec_result_t res = run_spec(&spec);

	cr_assert_eq(res.status, DRV_EXEC_TIMED_OUT);
	cr_assert_eq(res.exit_code, 3);
	cr_assert_eq(res.signal, 0);
	/* the shell may first report its killed `sleep` ("Terminated") */
	cr_assert(strstr(res.output, "bye\n"), "%s", res.output);
	cr_assert_lt(res.duration_ms, 3000);
	drv_exec_result_release(&res);
}

Test(exec, leftover_background_child_killed_after_exit)
{
	/* the background sleep keeps the output pipe open: without the
	 * group kill, the run would last 30 s */
	char path[64];
	char *argv[] = { "sleep 30 & echo $! > \"$1\"; echo done", path, NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true };
	drv_exec_result_t res;
	pid_t grandchild;

	temp_path(path, sizeof(path));
	res = run_spec(&spec);
	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_str_eq(res.output, "done\n");
	cr_assert_lt(res.duration_ms, 2000);
	grandchild = read_pid_file(path);
	unlink(path);
	cr_assert(wait_gone(grandchild, 2000));
	drv_exec_result_release(&res);
}

Test(exec, pause_and_resume_with_signals)
{
	char path[64];
	char *argv[] = { "i=0; while [ $i -lt 20 ]; do echo $i >> \"$1\"; "
			 "i=$((i+1)); sleep 0.02; done; echo finished", path,
			 NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = 20000 };
	drv_exec_result_t res;
	drv_exec_t *ex;
	long before, after;

	temp_path(path, sizeof(path));
	cr_assert_eq(drv_exec_start(&spec, &ex, NULL, 0), DRV_OK);
	cr_assert_gt(drv_exec_pgid(ex), 0);
	sleep_ms(100);
	cr_assert_eq(drv_exec_signal(ex, SIGSTOP), DRV_OK);
	sleep_ms(50); /* let a write in flight land */
	before = file_size(path);
	sleep_ms(400);
	after = file_size(path);
	cr_assert_eq(before, after, "progress while stopped");
	cr_assert_lt(before, 50, "finished before being stopped");
	cr_assert_eq(drv_exec_signal(ex, SIGCONT), DRV_OK);
	cr_assert_eq(drv_exec_wait(ex, &res), DRV_OK);
	cr_assert_eq(res.status, DRV_EXEC_EXITED);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_str_eq(res.output, "finished\n");
	cr_assert_geq(res.duration_ms, 450);
	cr_assert_eq(file_size(path), 10 * 2 + 10 * 3); /* "0\n".."19\n" */
	cr_assert_eq(drv_exec_signal(ex, SIGCONT), DRV_ERR_NOT_FOUND);
	drv_exec_result_release(&res);
	cr_assert_eq(drv_exec_wait(ex, &res), DRV_ERR_INVALID);
	unlink(path);
	drv_exec_destroy(ex);
}

Test(exec, signal_kill_from_outside_is_signaled)
{
	char *argv[] = { "sleep", "30", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_result_t res;
	drv_exec_t *ex;

	cr_assert_eq(drv_exec_start(&spec, &ex, NULL, 0), DRV_OK);
	cr_assert_eq(drv_exec_signal(ex, SIGKILL), DRV_OK);
	cr_assert_eq(drv_exec_wait(ex, &res), DRV_OK);
	cr_assert_eq(res.status, DRV_EXEC_SIGNALED);
	cr_assert_eq(res.signal, SIGKILL);
	cr_assert_eq(drv_exec_signal(ex, 12345), DRV_ERR_INVALID);
	drv_exec_result_release(&res);
	drv_exec_destroy(ex);
}

Test(exec, destroy_without_wait_kills_the_group)
{
	char *argv[] = { "sleep", "30", NULL };
	drv_exec_spec_t spec = { .argv = argv };
	drv_exec_t *ex;
	pid_t pid;

	cr_assert_eq(drv_exec_start(&spec, &ex, NULL, 0), DRV_OK);
	pid = drv_exec_pgid(ex);
	cr_assert(process_alive(pid));
	drv_exec_destroy(ex);
	cr_assert_not(process_alive(pid));
}

/* ---- threads ----------------------------------------------------------- */

#define THREADS 4
#define RUNS    5

struct worker_arg {
	int id;
	int ok;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;

	for (int r = 0; r < RUNS; r++) {
		char tag[32], want[128], input[32];
		char *argv[] = { "printf '%s:' \"$1\"; cat; "
				 "cd /proc/$$/fd && echo *", tag, NULL };
		drv_exec_spec_t spec = { .argv = argv, .shell = true,
					 .timeout_ms = 20000 };
		drv_exec_result_t res;

		drv_fmt(tag, sizeof(tag), "t%d-r%d", a->id, r);
		drv_fmt(input, sizeof(input), "in%d.%d\n", a->id, r);
		drv_fmt(want, sizeof(want), "%s:%s0 1 2 3\n", tag, input);
		spec.stdin_data = input;
		spec.stdin_len = strlen(input);
		if (drv_exec_run(&spec, &res, NULL, 0) != DRV_OK)
			return NULL;
		if (res.status == DRV_EXEC_EXITED && res.exit_code == 0 &&
		    !strcmp(res.output, want))
			a->ok++;
		else
			fprintf(stderr, "thread %d run %d: got '%s' want '%s'\n",
				a->id, r, res.output, want);
		drv_exec_result_release(&res);
	}
	return NULL;
}

Test(exec, parallel_runs_from_threads)
{
	pthread_t th[THREADS];
	struct worker_arg args[THREADS];
	int fds_before = count_open_fds();

	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ .id = i };
		cr_assert_eq(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(args[i].ok, RUNS, "thread %d: %d of %d ok", i,
			     args[i].ok, RUNS);
	}
	cr_assert_eq(count_open_fds(), fds_before, "fd leak");
}

/* ---- children that leave the process group ------------------------------ */

/* Pids of live (not zombie) processes whose argv is exactly sleep ARG. */
static int count_sleepers(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[256];
		int64_t pid;
		size_t len;
		FILE *f;

		if (drv_parse_int(e->d_name, 1, INT32_MAX, &pid) != DRV_OK)
			continue;
		drv_fmt(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		if (len > 6 && !strcmp(buf, "sleep") &&
		    !strcmp(buf + 6, arg) && process_alive((pid_t)pid))
			n++;
	}
	closedir(d);
	return n;
}

static void timeout_kills_setsid_child(bool as_subreaper)
{
	char arg[32], cmd[128];
	char *argv[] = { cmd, NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = 300, .kill_grace_ms = 500 };
	drv_exec_result_t res;

	/* a duration no other test or process uses, to find its sleeps */
	drv_fmt(arg, sizeof(arg), "%d.%03d", 300 + (int)(getpid() % 97),
		(int)(drv_mono_ms() % 1000));
	drv_fmt(cmd, sizeof(cmd), "setsid sleep %s & sleep %s", arg, arg);
	if (as_subreaper)
		cr_assert_eq(drv_exec_subreaper(), DRV_OK);
	res = run_spec(&spec);
	cr_assert_eq(res.status, DRV_EXEC_TIMED_OUT);
	cr_assert_lt(res.duration_ms, 3000);
	for (int i = 0; i < 100 && count_sleepers(arg); i++)
		sleep_ms(20);
	cr_assert_eq(count_sleepers(arg), 0, "a 'sleep %s' survived", arg);
	drv_exec_result_release(&res);
}

Test(exec, timeout_kills_children_that_called_setsid)
{
	timeout_kills_setsid_child(false);
}

Test(exec, timeout_kills_and_reaps_setsid_children_as_subreaper)
{
	timeout_kills_setsid_child(true);
	/* the adopted sleep was reaped: this process has no zombie child */
	drv_exec_reap_orphans();
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
}

Test(exec, subreaper_reaps_orphans_that_exit_on_their_own)
{
	cr_assert_eq(drv_exec_subreaper(), DRV_OK);
	drv_exec_result_t res = run_sh("(sleep 0.1 &) ; echo ok", 0);

	cr_assert_str_eq(res.output, "ok\n");
	drv_exec_result_release(&res);
	sleep_ms(300);
	drv_exec_reap_orphans();
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
}

/* Issue 17 item 8: a descendant whose parent exited before the end (a
 * double fork into a new session) is reparented to the subreaper and so
 * leaves the leader's tree; it must still die with its run, whether the
 * run times out (\p timeout) or its leader exits 0 at once, and nothing of
 * it may stay a zombie. */
static void orphan_of_double_fork_killed(bool timeout)
{
	char arg[32], cmd[160];
	char *argv[] = { cmd, NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true,
				 .timeout_ms = timeout ? 300 : 5000,
				 .kill_grace_ms = 500 };
	drv_exec_result_t res;

	drv_fmt(arg, sizeof(arg), "%d.%03d", 300 + (int)(getpid() % 97),
		(int)(drv_mono_ms() % 1000));
	/* the subshell starts the sleep in a session of its own and exits */
	drv_fmt(cmd, sizeof(cmd), "(setsid sleep %s &) ; %s", arg,
		timeout ? "sleep 30" : "sleep 0.2; exit 0");
	cr_assert_eq(drv_exec_subreaper(), DRV_OK);
	res = run_spec(&spec);
	if (timeout) {
		cr_assert_eq(res.status, DRV_EXEC_TIMED_OUT);
	} else {
		cr_assert_eq(res.status, DRV_EXEC_EXITED);
		cr_assert_eq(res.exit_code, 0);
	}
	cr_assert_lt(res.duration_ms, 3000);
	drv_exec_result_release(&res);
	/* no wait: the run kills and reaps what it leaves before it returns */
	cr_assert_eq(count_sleepers(arg), 0, "a 'sleep %s' survived", arg);
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a zombie is left");
	cr_assert_eq(errno, ECHILD);
}

Test(exec, timeout_kills_orphan_whose_parent_exited)
{
	orphan_of_double_fork_killed(true);
}

Test(exec, leader_exit_kills_orphan_whose_parent_exited)
{
	orphan_of_double_fork_killed(false);
}

/* The run's mark cannot be overridden by the spec's own entries. */
Test(exec, run_mark_is_the_runs_own)
{
	char *argv[] = { "echo \"$DROVER_EXEC_RUN\"", NULL };
	char *env[] = { "DROVER_EXEC_RUN=forged", NULL };
	drv_exec_spec_t spec = { .argv = argv, .shell = true, .env = env };
	drv_exec_result_t res = run_spec(&spec);
	char want[32];

	drv_fmt(want, sizeof(want), "%d.", (int)getpid());
	cr_assert_eq(strncmp(res.output, want, strlen(want)), 0, "%s",
		     res.output);
	drv_exec_result_release(&res);
}
