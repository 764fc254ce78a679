/*
 * drover — the exec runner: runs one task's `exec` handler as a child
 * process and reports how it ended.
 *
 * The child runs in its own process group, so a timeout or a cancel reaches
 * the command *and everything it started*. Its stdout and stderr share one
 * pipe; the runner keeps the head and the tail of that output up to a limit.
 * The worker calls this from several threads at once: every function here is
 * thread-safe, and nothing here changes process-wide state (signal
 * dispositions, environment, working directory) except drv_exec_subreaper(),
 * which the worker calls once at start-up.
 *
 * Lifecycle: drv_exec_start() -> [drv_exec_signal() from any thread] ->
 * drv_exec_wait() -> drv_exec_destroy(); or drv_exec_run() for all three.
 */
#ifndef DROVER_EXEC_H
#define DROVER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER):
 *        descendants of a task orphaned by their parent (a `setsid ... &`
 *        whose shell exited) become its children, so a timeout can kill
 *        and reap them instead of leaving them to init. Orphans of a run
 *        still alive when its leader exits are killed then (found by the
 *        run's mark, see drv_exec_spec_t.env). Orphans that exit on their
 *        own are reaped after every drv_exec_wait() and by
 *        drv_exec_reap_orphans().
 * @returns DRV_OK, or DRV_ERR_SYSTEM when prctl() refuses.
 * @remark Call once, before the first drv_exec_start(); process-wide.
 */
drv_err_t drv_exec_subreaper(void);

/**
 * @brief Reaps the exited orphans this subreaper adopted (never a task's
 *        leader, which drv_exec_wait() reaps). No-op without
 *        drv_exec_subreaper(). Thread-safe.
 */
void drv_exec_reap_orphans(void);

/** Grace between SIGTERM and SIGKILL after a timeout when the spec says 0. */
#define DRV_EXEC_DEFAULT_KILL_GRACE_MS 2000
/** Output kept when the spec says 0. */
#define DRV_EXEC_DEFAULT_OUTPUT_LIMIT  (64 * 1024)
/** Exit code reported with DRV_EXEC_SPAWN_FAILED (as a shell would). */
#define DRV_EXEC_SPAWN_EXIT_CODE       127

/**
 * What to run. Everything it points to is borrowed: it must stay valid for
 * the duration of drv_exec_start() (argv, env, workdir) and of
 * drv_exec_wait() (stdin_data). Zero-initialise and fill in what you need.
 */
typedef struct drv_exec_spec {
	/** NULL-terminated, argv[0] required. Without \c shell, argv[0] is
	 *  looked up in PATH (the child's PATH, i.e. after \c env is applied)
	 *  unless it contains a '/'; relative names resolve in \c workdir.
	 *  Arguments are passed verbatim, no quoting or splitting. A file
	 *  without a #! line is not run through /bin/sh (unlike execvp). */
	char *const *argv;
	/** Run argv[0] as a shell command line: /bin/sh -c argv[0] sh
	 *  argv[1] ...; so argv[1] is "$1" inside the command. */
	bool shell;
	/** Working directory of the child; NULL = the worker's. */
	const char *workdir;
	/** NULL-terminated "KEY=VALUE" entries added to (and overriding) the
	 *  variables the child inherits; NULL = none. These are passed as
	 *  given, whatever their names, except DROVER_EXEC_RUN: the runner
	 *  sets it to a mark of the run's own, which every descendant
	 *  inherits and by which an orphaned one is found and killed when the
	 *  run ends. */
	char *const *env;
	/** The child does not get the worker's whole environment. It
	 *  inherits only the worker's PATH, HOME, USER, LOGNAME, LANG,
	 *  LANGUAGE, LC_*, TZ and TMPDIR, plus the variables named here
	 *  (NULL-terminated; an exact name, or a prefix ending in '*' such as
	 *  "AWS_*"); NULL = the base set only. Variables named DROVER_*
	 *  (drover's settings and its secrets) and those in \c env_deny are
	 *  never inherited, even when named here. */
	char *const *env_pass;
	/** NULL-terminated exact names of the worker's variables that hold
	 *  secrets (API tokens) and are never inherited; NULL = none. */
	char *const *env_deny;
	/** Written to the child's stdin, then stdin is closed. NULL/0 = the
	 *  child sees an empty stdin (immediate EOF). If the child exits or
	 *  closes stdin early, the rest is silently dropped. */
	const void *stdin_data;
	size_t stdin_len;
	/** Wall time (CLOCK_MONOTONIC, paused time included) the run may
	 *  take; 0 = no limit. */
	int64_t timeout_ms;
	/** After a timeout the group gets SIGTERM (and SIGCONT, so a paused
	 *  group can act on it), then SIGKILL this long later.
	 *  0 = DRV_EXEC_DEFAULT_KILL_GRACE_MS; < 0 = SIGKILL at once. */
	int64_t kill_grace_ms;
	/** Bytes of combined stdout+stderr kept; 0 =
	 *  DRV_EXEC_DEFAULT_OUTPUT_LIMIT. When the output is longer, the
	 *  first output_limit/2 bytes and the last (output_limit -
	 *  output_limit/2) bytes are kept and the middle is counted in
	 *  drv_exec_result_t.output_dropped. */
	size_t output_limit;
} drv_exec_spec_t;

/** How a run ended. */
typedef enum drv_exec_status {
	DRV_EXEC_EXITED       = 0, /**< exited on its own; see exit_code */
	DRV_EXEC_SIGNALED     = 1, /**< killed by a signal (not our timeout) */
	DRV_EXEC_TIMED_OUT    = 2, /**< we killed it after timeout_ms */
	DRV_EXEC_SPAWN_FAILED = 3, /**< never ran: bad command or workdir */
} drv_exec_status_t;

/** The outcome of one run. Fill with drv_exec_wait()/drv_exec_run(), free
 *  the contents with drv_exec_result_release(). */
typedef struct drv_exec_result {
	drv_exec_status_t status;
	/** EXITED: the exit status. SPAWN_FAILED: DRV_EXEC_SPAWN_EXIT_CODE.
	 *  TIMED_OUT: the exit status if it exited after SIGTERM, else 0. */
	int exit_code;
	/** SIGNALED: the signal. TIMED_OUT: the signal that ended it (SIGTERM
	 *  or SIGKILL), 0 if it exited by itself after SIGTERM. */
	int signal;
	/** From fork to reaping, on CLOCK_MONOTONIC. */
	int64_t duration_ms;
	/** Combined stdout+stderr (head + tail when cut), NUL-terminated,
	 *  never NULL after a successful wait; owned by the result. For
	 *  SPAWN_FAILED, a one-line message saying what failed and why. */
	char *output;
	size_t output_len;      /**< bytes in output, without the NUL */
	size_t output_dropped;  /**< bytes cut from the middle (output_limit) */
} drv_exec_result_t;

/** A started run. Opaque; owned by the caller until drv_exec_destroy(). */
typedef struct drv_exec drv_exec_t;

/**
 * @brief Start the command described by \p spec.
 *
 * Returns once the command has been exec'd, or has failed to be: a command
 * that is not found or a workdir that does not exist is *not* an error here;
 * drv_exec_wait() reports it as DRV_EXEC_SPAWN_FAILED.
 *
 * The child gets its own process group, default signal dispositions and an
 * empty signal mask, and PR_SET_PDEATHSIG=SIGKILL so it dies if the worker
 * does. Linux ties PDEATHSIG to the *thread* that forked: the starting thread
 * must live until drv_exec_wait() returns (it is the one that calls it).
 * The worker's environment (environ) is read here, and filtered as
 * drv_exec_spec_t.env_pass says: do not setenv() while other threads may
 * start commands.
 *
 * @param spec  borrowed; see drv_exec_spec_t for lifetimes.
 * @param out   on DRV_OK, a new handle the caller must drv_exec_destroy().
 * @returns DRV_OK, DRV_ERR_INVALID (no argv[0], env entry without '='),
 *          DRV_ERR_NOMEM, or DRV_ERR_SYSTEM (pipe or fork failed), with a
 *          message in \p errstr.
 * @locality any thread; the same thread must then call drv_exec_wait().
 */
drv_err_t drv_exec_start(const drv_exec_spec_t *spec, drv_exec_t **out,
			 char *errstr, size_t errstr_size);

/**
 * @brief Could \p pattern (a variable name, or a prefix ending in '*')
 *        match one of drover's own DROVER_* variables, which no command
 *        ever inherits? True for "DROVER_REDIS_PASSWORD", "DROVER_*",
 *        "DRO*" and "*"; the config loader refuses such env_pass entries.
 * @param pattern  borrowed; NUL-terminated.
 * @locality any thread.
 */
bool drv_exec_env_reserved(const char *pattern);

/**
 * @brief The child's process group id (== its pid), or -1 if it never ran.
 * @locality any thread.
 */
pid_t drv_exec_pgid(const drv_exec_t *ex);

/**
 * @brief Send \p sig to the whole process group: SIGSTOP / SIGCONT to pause
 *        and resume a task, SIGTERM or SIGKILL to cancel it.
 *
 * Safe against pid reuse: once the run has been reaped this sends nothing.
 * @returns DRV_OK, DRV_ERR_NOT_FOUND (never ran, or already finished),
 *          DRV_ERR_INVALID (bad signal) or DRV_ERR_SYSTEM.
 * @locality any thread, concurrently with drv_exec_wait().
 */
drv_err_t drv_exec_signal(drv_exec_t *ex, int sig);

/**
 * @brief Run the started command to the end: feed stdin, collect output,
 *        enforce the timeout, reap, and fill \p res.
 *
 * When the group leader exits (by itself or not), whatever is left of its
 * process group is killed with SIGKILL, so no background child outlives the
 * task or keeps the output pipe open. Output still buffered in the pipe is
 * kept; after the leader exits the runner waits at most one more second for
 * the pipe to close (a process that left the group may hold it).
 *
 * SIGPIPE: writes to the child's stdin run with SIGPIPE blocked in the
 * calling thread; a SIGPIPE raised by them is consumed before the mask is
 * restored. Process-wide dispositions are not touched.
 *
 * @param res   filled on DRV_OK; the caller owns res->output and frees it
 *              with drv_exec_result_release(). Zeroed on error.
 * @returns DRV_OK (whatever the command did), DRV_ERR_INVALID (called
 *          twice) or DRV_ERR_NOMEM. On any return the child has been reaped.
 * @locality the thread that called drv_exec_start().
 */
drv_err_t drv_exec_wait(drv_exec_t *ex, drv_exec_result_t *res);

/**
 * @brief Free the handle. If the child has not been reaped (wait was never
 *        called), its group is killed with SIGKILL and reaped first.
 *        NULL is a no-op.
 */
void drv_exec_destroy(drv_exec_t *ex);

/**
 * @brief drv_exec_start() + drv_exec_wait() + drv_exec_destroy().
 * @param res   filled on DRV_OK; release with drv_exec_result_release().
 * @returns as drv_exec_start() / drv_exec_wait().
 * @locality any thread; several threads may run commands at once.
 */
drv_err_t drv_exec_run(const drv_exec_spec_t *spec, drv_exec_result_t *res,
		       char *errstr, size_t errstr_size);

/** @brief Free res->output and zero \p res. NULL is a no-op. */
void drv_exec_result_release(drv_exec_result_t *res);

/** @brief "exited", "signaled", "timed_out", "spawn_failed"; static. */
const char *drv_exec_status_name(drv_exec_status_t st);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_EXEC_H */
