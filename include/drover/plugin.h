/*
 * drover — the plugin ABI, version 1: what a C plugin handler implements.
 *
 * This is the one drover header a plugin author includes. It is
 * self-contained (standard C headers only) and says everything a plugin
 * may rely on; nothing else in include/drover/ is part of the plugin ABI,
 * and a plugin cannot call back into the worker (it is opened RTLD_LOCAL and
 * gets no drover symbols).
 *
 * A plugin is a shared object that exports one function:
 *
 *     DRV_PLUGIN_EXPORT const drv_plugin_v1_t *drover_plugin_v1(void);
 *
 * returning a pointer to a static, constant table:
 *
 *     static const drv_plugin_v1_t table = {
 *         .abi_version = DRV_PLUGIN_ABI_VERSION,
 *         .size        = sizeof(drv_plugin_v1_t),
 *         .name        = "json-validate",
 *         .init        = my_init,      // may be NULL
 *         .handle      = my_handle,    // required
 *         .destroy     = my_destroy,   // may be NULL
 *     };
 *
 * A handler of `type: plugin` in drover.yaml names the shared object
 * (`plugin: /path/libfoo.so`) and a map of strings for it (`config:`). The
 * worker opens the object once per such handler when it starts, calls init
 * once with that map, calls handle for every task of the handler, and calls
 * destroy once at shutdown before dlclose().
 *
 * Threads. handle() is called concurrently from several worker threads with
 * the same state pointer: the plugin makes its own state thread-safe (the
 * simplest way is to make it read-only after init). init() happens before
 * any handle() and destroy() after every handle() has returned; neither runs
 * concurrently with anything else of the same handler.
 *
 * A plugin runs inside the worker process, so it must not:
 *   - call exit(), _exit(), abort() or raise fatal signals: the worker and
 *     every task in flight on it would die;
 *   - keep a pointer to the task, the reply or the config after the call
 *     that received it returns: copy what it wants to keep;
 *   - change process-wide state: signal dispositions, the environment
 *     (setenv), the working directory, the umask, resource limits, stdio
 *     buffering of stdin/stdout/stderr;
 *   - block without bound: the worker cannot interrupt a plugin. Honour
 *     task->timeout_ms and task->deadline_ms and use timeouts on I/O. A
 *     call still running one second past timeout_ms is given up on: the
 *     attempt fails as a timeout, the call keeps its thread and its task
 *     until it returns, the plugin is never destroyed nor unloaded while
 *     such a call is inside it, and the worker counts it as hung (its
 *     liveness probe fails once as many calls hang as it has runners);
 *   - leave threads running or callbacks registered after destroy(): the
 *     object is unloaded right after it;
 *   - let a C++ exception or a longjmp cross handle()/init()/destroy().
 * Two handlers may name the same shared object: it is loaded once, so they
 * share its global variables, but each gets its own init() and state.
 *
 * Versioning. DRV_PLUGIN_ABI_VERSION is a *major* version: it changes only
 * for a change old plugins or old workers could not survive.
 *   - Compatible additions (a new optional callback, a new task field, a new
 *     reply field) are appended at the end of the struct concerned, and the
 *     ABI stays 1. Every struct carries its `size` as its builder compiled
 *     it, so each side can tell whether the other knows a field: use
 *     DRV_PLUGIN_HAS() before reading a field added after 1.0, and before
 *     writing one in the reply. Fields added later are optional: zero or
 *     NULL means "not provided".
 *   - An incompatible ABI 2 would get a new table type drv_plugin_v2_t and a
 *     new entry point drover_plugin_v2(). A worker that speaks 2 looks for
 *     drover_plugin_v2 first and falls back to drover_plugin_v1, so old
 *     plugins keep working; a plugin that wants to run on old and new
 *     workers exports both. A worker that speaks only 1 and finds only
 *     drover_plugin_v2 refuses the plugin with "was built for plugin ABI 2,
 *     this worker speaks ABI 1".
 * The first two fields of every table (abi_version, size) never move.
 */
#ifndef DROVER_PLUGIN_H
#define DROVER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI this header describes. */
#define DRV_PLUGIN_ABI_VERSION 1

/** Name of the v1 entry point, for dlsym(). */
#define DRV_PLUGIN_ENTRY_V1 "drover_plugin_v1"

/** Bytes in drv_plugin_reply_t.msg, NUL included. */
#define DRV_PLUGIN_MSG_SIZE 512

/** Mark the entry point as exported even when the plugin is built with
 *  -fvisibility=hidden (recommended: export nothing else). */
#if defined(__GNUC__) || defined(__clang__)
#define DRV_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define DRV_PLUGIN_EXPORT
#endif

/** True if the struct at \p ptr, of type \p type (one with a `size`
 *  member), is large enough to hold \p field, i.e. its builder knew the
 *  field: DRV_PLUGIN_HAS(drv_plugin_task_t, task, timeout_ms). */
#define DRV_PLUGIN_HAS(type, ptr, field) \
	((size_t)(ptr)->size >= offsetof(type, field) + sizeof((ptr)->field))

/** How an attempt ended, as handle() reports it. */
typedef enum drv_plugin_status {
	DRV_PLUGIN_OK        = 0, /**< the task is done */
	DRV_PLUGIN_TRANSIENT = 1, /**< failed; may succeed if retried */
	DRV_PLUGIN_PERMANENT = 2, /**< failed; will not succeed if retried,
				       the task is dead-lettered */
} drv_plugin_status_t;

/**
 * One attempt of one task, built by the worker for one handle() call.
 * Everything it points to is owned by the worker and valid only until
 * handle() returns; the plugin must not write through any of it.
 */
typedef struct drv_plugin_task {
	uint32_t     size;        /**< sizeof(drv_plugin_task_t) in the worker */
	uint32_t     attempt;     /**< the attempt being made: 1 on the first
				       run, 2 on the first retry... */
	const char  *id;          /**< task id (26-char ULID), never NULL */
	const char  *handler;     /**< handler name, never NULL */
	const void  *payload;     /**< task bytes (JSON by convention); never
				       NULL, NOT NUL-terminated: use
				       payload_len */
	size_t       payload_len;
	uint32_t     priority;    /**< 1..10, higher runs first */
	uint32_t     max_attempts;/**< attempts allowed in all; 0 = unknown */
	const char *const *labels;/**< key, value, key, value..., NULL; never
				       NULL (an empty task has just the NULL) */
	int64_t      deadline_ms; /**< ms since the Unix epoch after which the
				       result no longer matters; 0 = none */
	int64_t      timeout_ms;  /**< the handler's `timeout`: the plugin
				       should stop by then; the worker gives
				       up on the call a second later (see
				       above); 0 = none */
} drv_plugin_task_t;

/**
 * What handle() says besides its status. The worker zeroes it and sets
 * `size` before the call; the plugin fills what it wants.
 */
typedef struct drv_plugin_reply {
	uint32_t size;            /**< sizeof(drv_plugin_reply_t) in the worker:
				       check DRV_PLUGIN_HAS() before writing a
				       field added after 1.0 */
	/** Why it failed, NUL-terminated; logged and kept in the task's
	 *  failure history. Ignored on success. Write it with snprintf(). */
	char     msg[DRV_PLUGIN_MSG_SIZE];
	/** TRANSIENT only: > 0 asks for the next attempt no sooner than this
	 *  many ms from now (like HTTP Retry-After), counted up to the retry
	 *  policy's max_delay and the task's deadline; 0 = the retry policy's
	 *  delay. Ignored for OK and PERMANENT. */
	int64_t  retry_after_ms;
} drv_plugin_reply_t;

/** The v1 table a plugin returns from drover_plugin_v1(). */
typedef struct drv_plugin_v1 {
	uint32_t abi_version;     /**< DRV_PLUGIN_ABI_VERSION (1) */
	uint32_t size;            /**< sizeof(drv_plugin_v1_t) */
	const char *name;         /**< short name for logs ("json-validate"),
				       static; NULL = use the file name */

	/**
	 * @brief Set the plugin up for one handler. Optional (NULL: state is
	 *        NULL and there is nothing to set up).
	 * @param state   receives the plugin's state, passed to every
	 *                handle() and to destroy(); may stay NULL.
	 * @param config  the handler's `config:` map as key, value, key,
	 *                value..., NULL; never NULL. Keys are unique. Valid
	 *                only during this call: copy what you keep.
	 * @param err     on failure, write a one-line reason here (at most
	 *                \p err_size bytes, NUL included).
	 * @returns 0 on success; anything else refuses the handler (the
	 *          worker does not start) and destroy() is not called, so
	 *          free what you allocated before returning.
	 */
	int (*init)(void **state, const char *const *config, char *err,
		    size_t err_size);

	/**
	 * @brief Run one attempt of one task. Required.
	 *
	 * Called from several threads at once with the same \p state.
	 * \p task and \p reply are the worker's and valid only during the call.
	 * @returns DRV_PLUGIN_OK, DRV_PLUGIN_TRANSIENT or DRV_PLUGIN_PERMANENT;
	 *          any other value counts as PERMANENT.
	 */
	drv_plugin_status_t (*handle)(void *state,
				      const drv_plugin_task_t *task,
				      drv_plugin_reply_t *reply);

	/**
	 * @brief Free \p state. Optional. Called once, after the last handle()
	 *        returned, right before the object is unloaded; not called
	 *        when init() failed.
	 */
	void (*destroy)(void *state);
} drv_plugin_v1_t;

/**
 * @brief The entry point every v1 plugin exports.
 * @returns a pointer to a table that stays valid and unchanged while the
 *          object is loaded (a static const). Called once per load, before
 *          init(); must not fail or have side effects.
 */
DRV_PLUGIN_EXPORT const drv_plugin_v1_t *drover_plugin_v1(void);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_PLUGIN_H */
