/*
 * drover — the worker's side of C plugin handlers (`type: plugin`): load a
 * plugin once per handler, run tasks through it, unload it.
 *
 * Plugin authors do not include this header; they include only
 * drover/plugin.h, the versioned ABI. This one is the core's API for the
 * worker, and may change with any release.
 *
 * Lifecycle: drv_plugin_open() when the worker starts (a bad plugin is a
 * startup error, like a bad config) -> drv_plugin_run() or drv_plugin_call()
 * from any number of threads at once -> drv_plugin_close() once every run
 * has returned.
 *
 * A plugin runs in the worker's process and cannot be interrupted. The
 * worker therefore makes each call through drv_plugin_call(), on a thread
 * of the runner's own (a drv_plugin_caller_t): when handle() has not
 * returned DRV_PLUGIN_GRACE_MS after the handler's timeout, the runner
 * gives up on the call (the attempt fails as a timeout and is retried by
 * the task's policy) and goes on with a new thread; the old one is left to
 * the plugin and ends when handle() returns, if ever. Such calls are
 * counted (drv_plugin_hung()), and a plugin with one still inside it is
 * never destroyed nor unloaded.
 */
#ifndef DROVER_PLUGIN_HOST_H
#define DROVER_PLUGIN_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/config.h"
#include "drover/error.h"
#include "drover/handler.h"
#include "drover/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The newest plugin ABI this build speaks (drover/plugin.h). */
#define DRV_PLUGIN_HOST_ABI 1

/** One loaded plugin, opened for one handler. Opaque. */
typedef struct drv_plugin_handle drv_plugin_handle_t;

/**
 * @brief Load the plugin of handler \p h, check its ABI and init() it with
 *        the handler's `config:` map.
 *
 * dlopen()s h->plugin_path with RTLD_NOW | RTLD_LOCAL (every undefined
 * symbol resolved now, nothing exported to other objects), finds
 * drover_plugin_v1, checks the table and calls its init(). As with
 * dlopen(), a path without a '/' is looked up like a library name
 * (LD_LIBRARY_PATH, the ld.so cache), not in the working directory: give
 * an absolute path. Two handlers naming the same file share one load.
 *
 * @param h    a DRV_HANDLER_PLUGIN handler; only read during the call (the
 *             handle keeps copies of what it needs, the config strings are
 *             only lent to init()).
 * @param out  on DRV_OK, a handle the caller frees with drv_plugin_close();
 *             untouched on error.
 * @returns DRV_OK or, with a message naming the handler and the file in
 *          \p errstr:
 *          - DRV_ERR_INVALID: \p h is not a plugin handler or has no
 *            plugin_path; the object has no drover_plugin_v1 symbol ("not
 *            a drover plugin"); the table is malformed (no handle
 *            function, size too small);
 *          - DRV_ERR_IO: dlopen() failed (missing file, not a shared
 *            object, unresolved symbol...), with dlerror()'s text;
 *          - DRV_ERR_UNSUPPORTED: built for another ABI ("plugin X was
 *            built for plugin ABI 2, this worker speaks ABI 1");
 *          - DRV_ERR_CONFIG: the plugin's init() refused, with its reason;
 *          - DRV_ERR_NOMEM.
 * @locality any thread; loads are serialised by the dynamic linker.
 */
drv_err_t drv_plugin_open(const drv_handler_conf_t *h,
			  drv_plugin_handle_t **out, char *errstr,
			  size_t errstr_size);

/**
 * @brief Run one attempt of task \p t through the plugin and report it.
 *
 * The plugin sees t->attempt + 1 as the attempt number (the attempt being
 * made). \p res is overwritten: failure class (UNSPECIFIED on success,
 * TRANSIENT, PERMANENT), message (the plugin's, or a default such as
 * "plugin reported a transient failure"), duration_ms, retry_after_ms
 * (TRANSIENT only); exit_code, http_status and output stay 0 / NULL, so
 * \p res owns nothing afterwards (drv_result_release() is still fine).
 * \p res must not hold output from an earlier use (release it first).
 * The caller keeps \p t; the plugin sees it only during the call.
 *
 * @locality any thread; concurrent calls on the same handle are expected
 *           (the plugin is told so), but not concurrently with
 *           drv_plugin_close().
 */
void drv_plugin_run(drv_plugin_handle_t *p, const drv_task_t *t,
		    drv_result_t *res);

/** How long past the handler's timeout a call may run before the runner
 *  gives up on it (the plugin is told the timeout and should stop by
 *  then). */
#define DRV_PLUGIN_GRACE_MS 1000

/** A thread that makes one runner's plugin calls. Opaque. */
typedef struct drv_plugin_caller drv_plugin_caller_t;

/**
 * @brief drv_plugin_run() of \p t through \p p on the thread of \p *cp,
 *        waiting at most the handler's timeout plus DRV_PLUGIN_GRACE_MS.
 *
 * @param cp    the calling thread's caller: NULL before its first call (one
 *              is made here); set back to NULL when the call was given up
 *              on (its thread now belongs to the plugin's call). Free the
 *              last one with drv_plugin_caller_free().
 * @param t     the task, read by the plugin during the call. When the call
 *              is given up on, what \p t owns goes with the call (freed
 *              when it returns) and \p t receives a deep copy, so the
 *              caller's task stays valid either way.
 * @param stop  asked every 100 ms while the call runs (may be NULL): true
 *              gives up on the call now, as at shutdown.
 * @param res   as drv_plugin_run(); on giving up: DRV_FAILURE_TIMEOUT and
 *              a message saying so (or, through \p stop, "abandoned").
 * @locality the thread that owns \p *cp; when no thread can be made, the
 *           call runs on the calling thread, unbounded.
 */
void drv_plugin_call(drv_plugin_caller_t **cp, drv_plugin_handle_t *p,
		     drv_task_t *t, bool (*stop)(void *arg), void *stop_arg,
		     drv_result_t *res);

/** @brief End the caller's thread and free it. NULL is a no-op. */
void drv_plugin_caller_free(drv_plugin_caller_t *c);

/** @brief Calls of \p p given up on that have not returned yet. */
size_t drv_plugin_hung(const drv_plugin_handle_t *p);

/**
 * @brief The plugin's own name (its table's name, else the file name) for
 *        logs. Owned by \p p, valid until drv_plugin_close().
 */
const char *drv_plugin_name(const drv_plugin_handle_t *p);

/**
 * @brief The plugin ABI the loaded plugin speaks (1 in this build).
 */
unsigned drv_plugin_abi(const drv_plugin_handle_t *p);

/**
 * @brief destroy() the plugin's state, dlclose() it and free \p p.
 *        NULL is a no-op. While drv_plugin_hung(p) is not 0 this does
 *        nothing: the plugin stays loaded until the process exits.
 * @locality once, after every drv_plugin_run() on \p p has returned.
 */
void drv_plugin_close(drv_plugin_handle_t *p);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_PLUGIN_HOST_H */
