/*
 * exec.c — the exec runner: fork/exec one task's command in its own process
 * group, feed it stdin, keep the head and tail of its output, enforce the
 * timeout on the whole group, and reap it.
 *
 * The worker calls this from several threads at once, so everything the
 * child needs (argv, the merged environment, the PATH candidates, the signal
 * sets) is built before fork(), and the child makes only async-signal-safe
 * calls until execve(). Every descriptor is opened O_CLOEXEC so a run started
 * by one thread never leaks into another thread's child. A CLOEXEC "report"
 * pipe tells the parent whether execve() succeeded (EOF) or why it failed
 * (an errno written by the child), which is how a missing command or workdir
 * becomes DRV_EXEC_SPAWN_FAILED instead of a silent exit 127.
 *
 * The child's environment is explicit, never the worker's whole one: the
 * worker holds drover's own secrets (DROVER_REDIS_PASSWORD, the SASL
 * password in DROVER_KAFKA_PROPERTY_*, API tokens). Only the base set below,
 * the names the spec allow-lists and the spec's own entries get through,
 * and nothing named DROVER_* or on the spec's deny-list ever does.
 *
 * A child that calls setsid() or setpgid() leaves the process group but not
 * the tree: on a timeout the runner also signals every descendant of the
 * leader found in /proc (proc_tree.c). The worker makes itself a child
 * subreaper (drv_exec_subreaper()), so a descendant whose parent exited
 * (a double fork) becomes the worker's child instead of init's; each run
 * puts a mark of its own in its environment (MARK_KEY), which every
 * descendant inherits, so such an orphan is still traced to its run. When
 * the leader exits, on its own or after a timeout, the run is over: what
 * is left of its group and tree is killed and reaped. Orphans that exit on
 * their own are reaped after each run.
 */
#define _GNU_SOURCE /* pipe2, strerror_r (GNU form), NSIG, strchrnul */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/exec.h"
#include "drover/str.h"
#include "proc_tree.h"

extern char **environ;

/** After the leader exits, wait at most this long for the pipe to close. */
#define DRAIN_AFTER_EXIT_MS 1000
/** Without a pidfd, poll for the leader's exit this often. */
#define EXIT_POLL_TICK_MS   20
/** The environment entry naming the run, in every process of it. */
#define MARK_KEY            "DROVER_EXEC_RUN"
/** Collect-and-kill rounds at the end of a run (a process may fork while
 *  its tree is being killed); each round finds what the last one missed. */
#define KILL_ROUNDS         8
/** Read chunk; lives on the calling thread's stack. */
#define READ_CHUNK          (16 * 1024)
/** PATH when the child's environment has none (glibc's execvp default). */
#define DEFAULT_PATH        "/bin:/usr/bin"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* What the child writes to the report pipe when it cannot exec. */
enum spawn_stage { STAGE_SETUP = 1, STAGE_CHDIR = 2, STAGE_EXEC = 3 };
struct spawn_report {
	int stage;
	int err;
};

struct drv_exec {
	pid_t pid;            /* leader == pgid; -1 when it never ran */
	int out_fd;           /* read end of stdout+stderr, -1 when closed */
	int in_fd;            /* write end of stdin, -1 when closed */
	int pidfd;            /* readable when the leader exits; -1 if none */
	const unsigned char *in_data;
	size_t in_len;
	size_t in_off;
	int64_t timeout_ms;
	int64_t kill_grace_ms;
	size_t output_limit;
	int64_t started_ms;
	bool waited;
	char *spawn_msg;      /* set: the spawn failed, this says why */
	int64_t spawn_ms;     /* ... and how long finding that out took */

	pthread_mutex_t lock; /* orders drv_exec_signal() against reaping */
	bool reaped;          /* guarded by lock */
	proc_set_t tree;      /* descendants seen at the timeout and the end */
	char mark[64];        /* MARK_KEY=<worker pid>.<run number> */
};

/* Numbers the runs of this process, for their marks. */
static uint64_t run_seq;

/* The leaders not reaped yet, which the orphan reaper must leave to
 * drv_exec_wait(); only kept when this process is a subreaper. */
static pthread_mutex_t leaders_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *leaders;
static size_t leaders_n, leaders_cap;
static bool subreaper;  /* guarded by leaders_lock */

/* Under leaders_lock. A failed allocation only means the pid is not
 * protected from the orphan reaper, whose waitpid() then wins the race
 * and drv_exec_wait() reports an unknown status (exit_code -1). */
static void leaders_add(pid_t pid)
{
	if (leaders_n == leaders_cap) {
		size_t cap = leaders_cap ? leaders_cap * 2 : 16;
		pid_t *nv = realloc(leaders, cap * sizeof(*nv));

		if (!nv)
			return;
		leaders = nv;
		leaders_cap = cap;
	}
	leaders[leaders_n++] = pid;
}

static void leaders_remove(pid_t pid)
{
	pthread_mutex_lock(&leaders_lock);
	for (size_t i = 0; i < leaders_n; i++) {
		if (leaders[i] == pid) {
			leaders[i] = leaders[--leaders_n];
			break;
		}
	}
	pthread_mutex_unlock(&leaders_lock);
}

drv_err_t drv_exec_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return DRV_ERR_SYSTEM;
	pthread_mutex_lock(&leaders_lock);
	subreaper = true;
	pthread_mutex_unlock(&leaders_lock);
	return DRV_OK;
}

/* Reaps the orphans that exited, as seen in \p snap (NULL: /proc now). */
static void reap_orphans_in(const proc_snap_t *snap)
{
	pthread_mutex_lock(&leaders_lock);
	if (subreaper)
		proc_reap_zombies(snap, leaders, leaders_n);
	pthread_mutex_unlock(&leaders_lock);
}

void drv_exec_reap_orphans(void)
{
	reap_orphans_in(NULL);
}

/* Everything the child needs, built before fork(). */
struct prep {
	char **argv;          /* own array, borrowed strings */
	char **envp;          /* own array, borrowed strings */
	char **paths;         /* own array, own strings; execve candidates */
	struct sigaction dfl; /* SIG_DFL, empty mask */
	sigset_t empty;
};

/* Variables of the worker every command gets when they are set: where to
 * find programs, who and where it runs as, language and time zone, and the
 * place for temporary files. A trailing '*' matches a prefix. */
static const char *const base_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_*", "TZ",
	"TMPDIR", NULL
};

/* drover's own variables: settings, and secrets such as the Redis and SASL
 * passwords. Never passed on from the worker's environment. */
#define RESERVED_PREFIX "DROVER_"

/* ---- preparation (parent, before fork) --------------------------------- */

static size_t vec_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static size_t env_key_len(const char *e)
{
	return (size_t)(strchrnul(e, '=') - e);
}

static bool env_same_key(const char *a, const char *b)
{
	size_t la = env_key_len(a);

	return la == env_key_len(b) && !memcmp(a, b, la);
}

/* Does the name of "KEY=VALUE" entry \p e match \p pattern (a name, or a
 * prefix ending in '*')? */
static bool env_matches(const char *e, const char *pattern)
{
	size_t kl = env_key_len(e), pl = strlen(pattern);

	if (pl && pattern[pl - 1] == '*')
		return kl >= pl - 1 && !memcmp(e, pattern, pl - 1);
	return kl == pl && !memcmp(e, pattern, pl);
}

static bool env_listed(const char *e, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (env_matches(e, list[i]))
			return true;
	return false;
}

/* May the worker's entry \p e reach the child? */
static bool env_inherited(const char *e, const drv_exec_spec_t *spec)
{
	if (!strncmp(e, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) ||
	    env_listed(e, (const char *const *)spec->env_deny))
		return false;
	return env_listed(e, base_env) ||
	       env_listed(e, (const char *const *)spec->env_pass);
}

bool drv_exec_env_reserved(const char *pattern)
{
	size_t pl = strlen(pattern), rl = strlen(RESERVED_PREFIX);

	if (pl && pattern[pl - 1] == '*' && pl - 1 < rl)
		return !strncmp(RESERVED_PREFIX, pattern, pl - 1);
	return !strncmp(pattern, RESERVED_PREFIX, rl);
}

/* The worker's entries that may be inherited, minus the overridden keys,
 * then the spec's own entries (a later one of the same key wins). */
static char **build_env(const drv_exec_spec_t *spec, char *mark)
{
	char *const *extra = spec->env;
	size_t np = vec_len(environ), ne = vec_len(extra), n = 0;
	char **envp = calloc(np + ne + 2, sizeof(*envp));

	if (!envp)
		return NULL;
	for (size_t i = 0; i < np; i++) {
		bool skip = !env_inherited(environ[i], spec);

		for (size_t j = 0; j < ne && !skip; j++)
			skip = env_same_key(environ[i], extra[j]);
		if (!skip)
			envp[n++] = environ[i];
	}
	for (size_t i = 0; i < ne; i++) {
		bool later = env_same_key(extra[i], mark); /* the run's own */

		for (size_t j = i + 1; j < ne && !later; j++)
			later = env_same_key(extra[i], extra[j]);
		if (!later)
			envp[n++] = extra[i];
	}
	envp[n++] = mark;
	envp[n] = NULL;
	return envp;
}

static char **build_argv(const drv_exec_spec_t *spec)
{
	size_t n = vec_len(spec->argv), k = 0;
	char **argv = calloc(n + 4, sizeof(*argv));

	if (!argv)
		return NULL;
	if (spec->shell) {
		/* /bin/sh -c CMD sh ARG1 ...: ARG1 is "$1" in CMD */
		argv[k++] = (char *)"/bin/sh";
		argv[k++] = (char *)"-c";
		argv[k++] = spec->argv[0];
		argv[k++] = (char *)"sh";
		for (size_t i = 1; i < n; i++)
			argv[k++] = spec->argv[i];
	} else {
		for (size_t i = 0; i < n; i++)
			argv[k++] = spec->argv[i];
	}
	argv[k] = NULL;
	return argv;
}

static char *path_join(const char *dir, size_t dlen, const char *name)
{
	size_t nlen = strlen(name);
	char *p = malloc(dlen + 1 + nlen + 1);

	if (!p)
		return NULL;
	memcpy(p, dir, dlen);
	if (dlen)
		p[dlen++] = '/';
	memcpy(p + dlen, name, nlen + 1);
	return p;
}

static void free_paths(char **paths)
{
	for (size_t i = 0; paths && paths[i]; i++)
		free(paths[i]);
	free(paths);
}

/* The files to try with execve(), in order, as execvp() would: the name
 * itself if it has a '/', else each PATH entry (an empty entry means the
 * working directory, which is resolved after chdir in the child). */
static char **build_paths(const char *cmd, char *const *envp)
{
	const char *path = DEFAULT_PATH, *p;
	size_t n = 1, k = 0;
	char **paths;

	if (strchr(cmd, '/')) {
		paths = calloc(2, sizeof(*paths));
		if (paths && !(paths[0] = drv_strdup(cmd))) {
			free(paths);
			return NULL;
		}
		return paths;
	}
	for (size_t i = 0; envp[i]; i++) {
		if (!strncmp(envp[i], "PATH=", 5)) {
			path = envp[i] + 5;
			break;
		}
	}
	for (p = path; *p; p++)
		n += *p == ':';
	paths = calloc(n + 1, sizeof(*paths));
	if (!paths)
		return NULL;
	for (p = path;; p++) {
		const char *end = strchrnul(p, ':');

		if (!(paths[k++] = path_join(p, (size_t)(end - p), cmd))) {
			free_paths(paths);
			return NULL;
		}
		if (!*end)
			break;
		p = end;
	}
	return paths;
}

static void prep_release(struct prep *pp)
{
	free(pp->argv);
	free(pp->envp);
	free_paths(pp->paths);
}

static drv_err_t prep_init(struct prep *pp, const drv_exec_spec_t *spec,
			   char *mark, char *errstr, size_t errstr_size)
{
	memset(pp, 0, sizeof(*pp));
	if (!spec->argv || !spec->argv[0])
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "exec: argv[0] is required");
	for (size_t i = 0; spec->env && spec->env[i]; i++) {
		if (spec->env[i][0] == '=' || !strchr(spec->env[i], '='))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "exec: environment entry '%s' is not "
					 "KEY=VALUE", spec->env[i]);
	}
	pp->argv = build_argv(spec);
	pp->envp = build_env(spec, mark);
	if (pp->argv && pp->envp)
		pp->paths = build_paths(spec->shell ? "/bin/sh" : spec->argv[0],
					pp->envp);
	if (!pp->argv || !pp->envp || !pp->paths) {
		prep_release(pp);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "exec: out of memory");
	}
	pp->dfl.sa_handler = SIG_DFL;
	sigemptyset(&pp->dfl.sa_mask);
	sigemptyset(&pp->empty);
	return DRV_OK;
}

/* pipe2(O_CLOEXEC) whose ends are never 0, 1 or 2, so the child's dup2()s
 * onto stdio cannot clobber one another. */
static int pipe_cloexec(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] <= STDERR_FILENO) {
			int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

			if (fd < 0) {
				int e = errno;
				close(fds[0]);
				close(fds[1]);
				errno = e;
				return -1;
			}
			close(fds[i]);
			fds[i] = fd;
		}
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* ---- the child (async-signal-safe only) -------------------------------- */

static void child_report(int fd, int stage, int err)
{
	struct spawn_report rep = { stage, err };
	ssize_t r;

	do {
		r = write(fd, &rep, sizeof(rep));
	} while (r < 0 && errno == EINTR);
	_exit(DRV_EXEC_SPAWN_EXIT_CODE);
}

static void __attribute__((noreturn))
child_main(const struct prep *pp, const char *workdir, pid_t parent,
	   int in_r, int out_w, int rep_w)
{
	int err = ENOENT;
	bool eacces = false;

	if (setpgid(0, 0) < 0)
		child_report(rep_w, STAGE_SETUP, errno);
	/* die with the worker; if it already died, the reparenting happened
	 * before prctl() and the signal would never come */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_report(rep_w, STAGE_SETUP, errno);
	if (getppid() != parent)
		_exit(DRV_EXEC_SPAWN_EXIT_CODE);
	/* all signals are still blocked (the parent blocked them around
	 * fork); reset dispositions before letting any through. Ignored
	 * signals would survive execve(); handlers would be reset anyway. */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &pp->dfl, NULL); /* EINVAL for KILL/STOP: fine */
	if (dup2(in_r, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
	    dup2(out_w, STDERR_FILENO) < 0)
		child_report(rep_w, STAGE_SETUP, errno);
	/* belt and braces: descriptors other threads opened without
	 * O_CLOEXEC must not reach the task either (Linux >= 5.11) */
#ifdef SYS_close_range
	syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
	if (workdir && chdir(workdir) < 0)
		child_report(rep_w, STAGE_CHDIR, errno);
	sigprocmask(SIG_SETMASK, &pp->empty, NULL);

	for (size_t i = 0; pp->paths[i]; i++) {
		execve(pp->paths[i], pp->argv, pp->envp);
		err = errno;
		if (err == EACCES)
			eacces = true;
		else if (err != ENOENT && err != ENOTDIR && err != ESTALE &&
			 err != ENODEV && err != ETIMEDOUT)
			break;
	}
	if (eacces && (err == ENOENT || err == ENOTDIR))
		err = EACCES;
	child_report(rep_w, STAGE_EXEC, err);
	_exit(DRV_EXEC_SPAWN_EXIT_CODE); /* not reached */
}

/* ---- start ------------------------------------------------------------- */

static char *spawn_message(const drv_exec_spec_t *spec,
			   const struct spawn_report *rep)
{
	char ebuf[128], msg[1024];
	const char *etxt = strerror_r(rep->err, ebuf, sizeof(ebuf));
	const char *cmd = spec->shell ? "/bin/sh" : spec->argv[0];

	switch (rep->stage) {
	case STAGE_CHDIR:
		drv_fmt(msg, sizeof(msg), "drover: cannot change to working "
			"directory '%s': %s", spec->workdir, etxt);
		break;
	case STAGE_EXEC:
		if (rep->err == ENOENT && !strchr(cmd, '/'))
			drv_fmt(msg, sizeof(msg),
				"drover: %s: command not found", cmd);
		else
			drv_fmt(msg, sizeof(msg), "drover: cannot run '%s': %s",
				cmd, etxt);
		break;
	default:
		drv_fmt(msg, sizeof(msg), "drover: cannot set up the child "
			"process: %s", etxt);
		break;
	}
	return drv_strdup(msg);
}

static pid_t waitpid_eintr(pid_t pid, int *st, int flags)
{
	pid_t r;

	do {
		r = waitpid(pid, st, flags);
	} while (r < 0 && errno == EINTR);
	return r;
}

/* Blocks until the child has exec'd (EOF) or reported why it could not. */
static bool read_report(int fd, struct spawn_report *rep)
{
	size_t got = 0;

	while (got < sizeof(*rep)) {
		ssize_t r = read(fd, (char *)rep + got, sizeof(*rep) - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got == sizeof(*rep);
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0); /* always O_CLOEXEC */
#else
	(void)pid;
	return -1;
#endif
}

drv_err_t drv_exec_start(const drv_exec_spec_t *spec, drv_exec_t **out,
			 char *errstr, size_t errstr_size)
{
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, rep_p[2] = { -1, -1 };
	struct spawn_report rep;
	char ebuf[128];
	sigset_t all, old;
	struct prep pp;
	drv_exec_t *ex;
	pid_t parent = getpid(), pid;
	drv_err_t err;
	int e;

	*out = NULL;
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "exec: out of memory");
	drv_fmt(ex->mark, sizeof(ex->mark), MARK_KEY "=%d.%llu", (int)parent,
		(unsigned long long)__atomic_add_fetch(&run_seq, 1,
						       __ATOMIC_RELAXED));
	if ((err = prep_init(&pp, spec, ex->mark, errstr, errstr_size))
	    != DRV_OK) {
		free(ex);
		return err;
	}
	ex->pid = -1;
	ex->in_fd = ex->out_fd = ex->pidfd = -1;
	ex->in_data = spec->stdin_data;
	ex->in_len = spec->stdin_data ? spec->stdin_len : 0;
	ex->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	ex->kill_grace_ms = spec->kill_grace_ms ? spec->kill_grace_ms
						: DRV_EXEC_DEFAULT_KILL_GRACE_MS;
	ex->output_limit = spec->output_limit ? spec->output_limit
					      : DRV_EXEC_DEFAULT_OUTPUT_LIMIT;
	pthread_mutex_init(&ex->lock, NULL);

	if (pipe_cloexec(in_p) < 0 || pipe_cloexec(out_p) < 0 ||
	    pipe_cloexec(rep_p) < 0) {
		e = errno;
		err = drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				"exec: pipe: %s",
				strerror_r(e, ebuf, sizeof(ebuf)));
		goto fail;
	}

	/* block everything so no handler of ours runs in the child before
	 * it has reset the dispositions */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ex->started_ms = drv_mono_ms();
	/* held across fork() so the orphan reaper never sees the new
	 * leader before it is listed; the child never touches it */
	pthread_mutex_lock(&leaders_lock);
	pid = fork();
	if (pid == 0)
		child_main(&pp, spec->workdir, parent, in_p[0], out_p[1],
			   rep_p[1]);
	e = errno;
	if (pid > 0 && subreaper)
		leaders_add(pid);
	pthread_mutex_unlock(&leaders_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		err = drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				"exec: fork: %s",
				strerror_r(e, ebuf, sizeof(ebuf)));
		goto fail;
	}

	ex->pid = pid;
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	close_fd(&rep_p[1]);
	ex->in_fd = in_p[1];
	ex->out_fd = out_p[0];
	if (read_report(rep_p[0], &rep)) {
		int st;

		waitpid_eintr(pid, &st, 0);
		leaders_remove(pid);
		ex->spawn_ms = drv_mono_ms() - ex->started_ms;
		ex->pid = -1;
		ex->reaped = true;
		close_fd(&ex->in_fd);
		close_fd(&ex->out_fd);
		if (!(ex->spawn_msg = spawn_message(spec, &rep))) {
			err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					"exec: out of memory");
			goto fail;
		}
	} else {
		ex->pidfd = open_pidfd(pid);
		fcntl(ex->in_fd, F_SETFL, O_NONBLOCK);
		fcntl(ex->out_fd, F_SETFL, O_NONBLOCK);
		if (ex->in_len == 0)
			close_fd(&ex->in_fd);
	}
	close_fd(&rep_p[0]);
	prep_release(&pp);
	*out = ex;
	return DRV_OK;

fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in_p[i]);
		close_fd(&out_p[i]);
		close_fd(&rep_p[i]);
	}
	prep_release(&pp);
	drv_exec_destroy(ex);
	return err;
}

pid_t drv_exec_pgid(const drv_exec_t *ex)
{
	return ex ? ex->pid : -1;
}

drv_err_t drv_exec_signal(drv_exec_t *ex, int sig)
{
	int r = 0, e = 0;

	if (!ex || sig < 0 || sig >= NSIG)
		return DRV_ERR_INVALID;
	pthread_mutex_lock(&ex->lock);
	if (ex->pid < 0 || ex->reaped) {
		pthread_mutex_unlock(&ex->lock);
		return DRV_ERR_NOT_FOUND;
	}
	/* the leader is not reaped, so the pgid cannot have been reused */
	r = kill(-ex->pid, sig);
	e = errno;
	pthread_mutex_unlock(&ex->lock);
	if (r < 0)
		return e == ESRCH ? DRV_ERR_NOT_FOUND
		     : e == EINVAL ? DRV_ERR_INVALID : DRV_ERR_SYSTEM;
	return DRV_OK;
}

/* ---- output: keep the head and the tail -------------------------------- */

struct outbuf {
	char *head;
	size_t head_cap, head_len, head_alloc;
	char *ring;           /* allocated once the head is full */
	size_t tail_cap, tail_len, tail_pos; /* tail_pos: next write */
	size_t total;
};

static void outbuf_init(struct outbuf *ob, size_t limit)
{
	memset(ob, 0, sizeof(*ob));
	ob->head_cap = limit / 2;
	ob->tail_cap = limit - ob->head_cap;
}

static void outbuf_add(struct outbuf *ob, const char *p, size_t n)
{
	size_t take = ob->head_cap - ob->head_len;

	ob->total += n;
	if (take > n)
		take = n;
	if (take) {
		if (ob->head_len + take > ob->head_alloc) {
			size_t a = ob->head_alloc ? ob->head_alloc : 4096;
			char *h;

			while (a < ob->head_len + take)
				a *= 2;
			if (a > ob->head_cap)
				a = ob->head_cap;
			if (!(h = realloc(ob->head, a)))
				return; /* counted as dropped */
			ob->head = h;
			ob->head_alloc = a;
		}
		memcpy(ob->head + ob->head_len, p, take);
		ob->head_len += take;
		p += take;
		n -= take;
	}
	if (!n || !ob->tail_cap)
		return;
	if (!ob->ring && !(ob->ring = malloc(ob->tail_cap)))
		return;
	if (n >= ob->tail_cap) {
		memcpy(ob->ring, p + n - ob->tail_cap, ob->tail_cap);
		ob->tail_len = ob->tail_cap;
		ob->tail_pos = 0;
		return;
	}
	while (n) {
		size_t k = ob->tail_cap - ob->tail_pos;

		if (k > n)
			k = n;
		memcpy(ob->ring + ob->tail_pos, p, k);
		ob->tail_pos = (ob->tail_pos + k) % ob->tail_cap;
		ob->tail_len = ob->tail_len + k < ob->tail_cap
			     ? ob->tail_len + k : ob->tail_cap;
		p += k;
		n -= k;
	}
}

/* Moves the kept bytes into res; frees the buffers either way. */
static drv_err_t outbuf_finish(struct outbuf *ob, drv_exec_result_t *res)
{
	size_t len = ob->head_len + ob->tail_len, start;
	char *s = malloc(len + 1);

	if (s) {
		if (ob->head_len)
			memcpy(s, ob->head, ob->head_len);
		/* oldest tail byte: tail_pos once the ring has wrapped */
		start = ob->tail_len == ob->tail_cap ? ob->tail_pos : 0;
		for (size_t i = 0; i < ob->tail_len; i++)
			s[ob->head_len + i] =
				ob->ring[(start + i) % ob->tail_cap];
		s[len] = '\0';
		res->output = s;
		res->output_len = len;
		res->output_dropped = ob->total - len;
	}
	free(ob->head);
	free(ob->ring);
	return s ? DRV_OK : DRV_ERR_NOMEM;
}

/* ---- wait -------------------------------------------------------------- */

/* Signals the group and every descendant of the live leader, also the
 * ones that left the group with setsid(); remembers them for the kill and
 * the reaping once the leader is gone. */
static void kill_tree(drv_exec_t *ex, int sig)
{
	/* on ENOMEM: the ones found */
	proc_tree_collect(&ex->tree, NULL, ex->pid, ex->mark);
	kill(-ex->pid, sig);
	proc_tree_signal(&ex->tree, sig);
}

/* The run is over: SIGKILL what is left of its group and every process of
 * its tree or with its mark, again while a round finds new ones (a fork
 * during the kill). Only while the leader is not reaped: its pid is the
 * group's id and the root of the tree, and must not have been reused. */
static void kill_rest(drv_exec_t *ex)
{
	int added, round = 0;

	kill(-ex->pid, SIGKILL);
	do {
		proc_snap_t snap;

		/* one read of /proc (slow: about 45 us a process here) for
		 * the run's leftovers and the orphans that exited meanwhile */
		proc_snap_take(&snap);
		added = proc_tree_collect(&ex->tree, &snap, ex->pid, ex->mark);
		proc_tree_signal(&ex->tree, SIGKILL);
		if (!round)
			reap_orphans_in(&snap);
		proc_snap_release(&snap);
	} while (added > 0 && ++round < KILL_ROUNDS);
}

/* Has the leader exited? Leaves it a zombie so its pid (== our pgid) cannot
 * be reused while we still signal the group. */
static bool leader_exited(drv_exec_t *ex)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)ex->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD; /* someone else reaped it */
	return si.si_pid == ex->pid;
}

static void read_output(drv_exec_t *ex, struct outbuf *ob)
{
	char buf[READ_CHUNK];
	ssize_t r;

	do {
		r = read(ex->out_fd, buf, sizeof(buf));
	} while (r < 0 && errno == EINTR);
	if (r > 0)
		outbuf_add(ob, buf, (size_t)r);
	else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		close_fd(&ex->out_fd);
}

/* Returns true if the write hit EPIPE (a SIGPIPE is now pending). */
static bool write_input(drv_exec_t *ex)
{
	ssize_t w;

	do {
		w = write(ex->in_fd, ex->in_data + ex->in_off,
			  ex->in_len - ex->in_off);
	} while (w < 0 && errno == EINTR);
	if (w > 0) {
		ex->in_off += (size_t)w;
		if (ex->in_off == ex->in_len)
			close_fd(&ex->in_fd);
		return false;
	}
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	close_fd(&ex->in_fd); /* the child closed stdin: drop the rest */
	return w < 0 && errno == EPIPE;
}

static int64_t min_wait(int64_t cur, int64_t until, int64_t now)
{
	int64_t d = until > now ? until - now : 0;

	return cur < 0 || d < cur ? d : cur;
}

static void fill_status(drv_exec_result_t *res, int st, bool timed_out)
{
	if (WIFEXITED(st)) {
		res->status = timed_out ? DRV_EXEC_TIMED_OUT : DRV_EXEC_EXITED;
		res->exit_code = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		res->status = timed_out ? DRV_EXEC_TIMED_OUT
					: DRV_EXEC_SIGNALED;
		res->signal = WTERMSIG(st);
	}
}

drv_err_t drv_exec_wait(drv_exec_t *ex, drv_exec_result_t *res)
{
	bool exited = false, timed_out = false, epipe = false, pipe_was_pending;
	int64_t deadline, kill_at = -1, drain_until = 0;
	sigset_t pipeset, oldmask, pending;
	struct outbuf ob;
	int st = 0;
	drv_err_t err;

	memset(res, 0, sizeof(*res));
	if (!ex || ex->waited)
		return DRV_ERR_INVALID;
	ex->waited = true;

	if (ex->spawn_msg) {
		res->status = DRV_EXEC_SPAWN_FAILED;
		res->exit_code = DRV_EXEC_SPAWN_EXIT_CODE;
		res->duration_ms = ex->spawn_ms;
		if (!(res->output = drv_strdup(ex->spawn_msg)))
			return DRV_ERR_NOMEM;
		res->output_len = strlen(res->output);
		return DRV_OK;
	}

	/* SIGPIPE from a write to a closed stdin would kill the worker:
	 * block it in this thread and consume the one we cause */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);

	outbuf_init(&ob, ex->output_limit);
	deadline = ex->timeout_ms ? ex->started_ms + ex->timeout_ms : -1;

	for (;;) {
		struct pollfd pfd[3];
		int64_t now = drv_mono_ms(), wait_ms = -1;
		nfds_t n = 0;
		int r;

		if (!exited && leader_exited(ex)) {
			exited = true;
			drain_until = now + DRAIN_AFTER_EXIT_MS;
			kill_rest(ex); /* what is left of the group and tree */
			close_fd(&ex->in_fd);
			close_fd(&ex->pidfd);
		}
		if (exited && (ex->out_fd < 0 || now >= drain_until))
			break;
		if (!exited && deadline >= 0 && !timed_out && now >= deadline) {
			timed_out = true;
			if (ex->kill_grace_ms < 0) {
				kill_tree(ex, SIGKILL);
			} else {
				kill_tree(ex, SIGTERM);
				kill_tree(ex, SIGCONT); /* if paused */
				kill_at = now + ex->kill_grace_ms;
			}
		}
		if (!exited && kill_at >= 0 && now >= kill_at) {
			kill_tree(ex, SIGKILL);
			kill_at = -1;
		}

		if (exited)
			wait_ms = min_wait(wait_ms, drain_until, now);
		if (!exited && deadline >= 0 && !timed_out)
			wait_ms = min_wait(wait_ms, deadline, now);
		if (!exited && kill_at >= 0)
			wait_ms = min_wait(wait_ms, kill_at, now);
		if (!exited && ex->pidfd < 0 &&
		    (wait_ms < 0 || wait_ms > EXIT_POLL_TICK_MS))
			wait_ms = EXIT_POLL_TICK_MS;

		if (ex->out_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ex->out_fd,
						    .events = POLLIN };
		if (ex->in_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ex->in_fd,
						    .events = POLLOUT };
		if (ex->pidfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ex->pidfd,
						    .events = POLLIN };
		r = poll(pfd, n, (int)(wait_ms > INT32_MAX ? INT32_MAX
							   : wait_ms));
		if (r <= 0)
			continue; /* timeout or EINTR: re-check the clock */
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == ex->out_fd)
				read_output(ex, &ob);
			else if (pfd[i].fd == ex->in_fd)
				epipe |= write_input(ex);
		}
	}

	pthread_mutex_lock(&ex->lock);
	if (waitpid_eintr(ex->pid, &st, 0) < 0)
		st = -1;
	ex->reaped = true;
	pthread_mutex_unlock(&ex->lock);
	leaders_remove(ex->pid);
	/* the orphans that exited were reaped by kill_rest() */
	proc_tree_reap(&ex->tree, DRAIN_AFTER_EXIT_MS);
	res->duration_ms = drv_mono_ms() - ex->started_ms;
	close_fd(&ex->out_fd);

	if (epipe && !pipe_was_pending) {
		struct timespec zero = { 0, 0 };

		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipeset, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	if (st == -1) { /* reaped behind our back: status unknown */
		res->status = timed_out ? DRV_EXEC_TIMED_OUT : DRV_EXEC_EXITED;
		res->exit_code = -1;
	} else {
		fill_status(res, st, timed_out);
	}
	if ((err = outbuf_finish(&ob, res)) != DRV_OK)
		memset(res, 0, sizeof(*res));
	return err;
}

void drv_exec_destroy(drv_exec_t *ex)
{
	if (!ex)
		return;
	if (ex->pid > 0 && !ex->reaped) {
		int st;

		kill_tree(ex, SIGKILL);
		kill_rest(ex); /* while the pid (the pgid) is still ours */
		waitpid_eintr(ex->pid, &st, 0);
		ex->reaped = true;
		leaders_remove(ex->pid);
		proc_tree_signal(&ex->tree, SIGKILL);
		proc_tree_reap(&ex->tree, DRAIN_AFTER_EXIT_MS);
	}
	proc_set_release(&ex->tree);
	close_fd(&ex->in_fd);
	close_fd(&ex->out_fd);
	close_fd(&ex->pidfd);
	free(ex->spawn_msg);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
}

drv_err_t drv_exec_run(const drv_exec_spec_t *spec, drv_exec_result_t *res,
		       char *errstr, size_t errstr_size)
{
	drv_exec_t *ex;
	drv_err_t err;

	memset(res, 0, sizeof(*res));
	if ((err = drv_exec_start(spec, &ex, errstr, errstr_size)) != DRV_OK)
		return err;
	err = drv_exec_wait(ex, res);
	drv_exec_destroy(ex);
	if (err != DRV_OK)
		drv_error(errstr, errstr_size, err, "exec: %s",
			  drv_strerror(err));
	return err;
}

void drv_exec_result_release(drv_exec_result_t *res)
{
	if (!res)
		return;
	free(res->output);
	memset(res, 0, sizeof(*res));
}

const char *drv_exec_status_name(drv_exec_status_t st)
{
	switch (st) {
	case DRV_EXEC_EXITED:       return "exited";
	case DRV_EXEC_SIGNALED:     return "signaled";
	case DRV_EXEC_TIMED_OUT:    return "timed_out";
	case DRV_EXEC_SPAWN_FAILED: return "spawn_failed";
	}
	return "unknown";
}
