/*
 * proc_tree.h — the process tree of an exec task, read from /proc: who
 * descends from a task's leader (even after `setsid` took them out of its
 * process group), signalling them without hitting a reused pid, and reaping
 * the ones the worker adopted as a child subreaper. Never installed, never
 * included outside core/.
 */
#ifndef DROVER_PROC_TREE_H
#define DROVER_PROC_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** One process, named by pid and start time (so a reused pid is told). */
typedef struct {
	pid_t pid;
	uint64_t start; /* /proc/PID/stat field 22, clock ticks since boot */
} proc_id_t;

/** A set of processes; embed it, proc_set_release() frees the array. */
typedef struct {
	proc_id_t *v;
	size_t n, cap;
} proc_set_t;

/** Every process on the system at one moment, as read from /proc; embed
 *  it, proc_snap_release() frees it. */
struct pentry;
typedef struct {
	struct pentry *v;
	size_t n;
} proc_snap_t;

/** @brief Reads /proc into @p snap. @returns 0, or -1 (then empty). */
int proc_snap_take(proc_snap_t *snap);

/** @brief Frees what @p snap holds and empties it; NULL is a no-op. */
void proc_snap_release(proc_snap_t *snap);

/**
 * @brief Adds to @p set every live process of a run that is not in it yet:
 *        the descendants of @p root (not @p root itself), the children of
 *        this process (orphans a child subreaper adopted) whose environment
 *        holds the entry @p mark ("KEY=VALUE"; NULL: none), and the
 *        descendants of every process already in @p set.
 * @returns how many were added, or -1 when out of memory (what was found
 *          is kept).
 * @remark Reads @p snap (borrowed), or /proc when it is NULL; a process
 *         that exits meanwhile is simply skipped. A
 *         process that cleared its environment and whose parent exited
 *         before any collect saw it is not found. @p mark is borrowed.
 */
int proc_tree_collect(proc_set_t *set, const proc_snap_t *snap, pid_t root,
		      const char *mark);

/** @brief Sends @p sig to each process of @p set still alive with the same
 *         start time (never to a process that reused the pid). */
void proc_tree_signal(const proc_set_t *set, int sig);

/**
 * @brief Reaps the processes of @p set that became children of this process
 *        (orphans adopted by a child subreaper), waiting up to @p wait_ms in
 *        all for the ones that are still dying.
 */
void proc_tree_reap(const proc_set_t *set, int64_t wait_ms);

/**
 * @brief Reaps the exited children of this process that are not in
 *        @p skip (orphans a child subreaper adopted; @p skip holds the
 *        children other code will wait for), as seen in @p snap
 *        (borrowed), or in /proc when it is NULL.
 */
void proc_reap_zombies(const proc_snap_t *snap, const pid_t *skip,
		       size_t nskip);

/** @brief Frees the array of @p set and empties it; NULL is a no-op. */
void proc_set_release(proc_set_t *set);

#endif
