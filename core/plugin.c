/*
 * plugin.c — the plugin loader: dlopen() a `type: plugin` handler's shared
 * object, find and check its drover_plugin_v1 table (drover/plugin.h),
 * init() it with the handler's config, run tasks through its handle()
 * and translate the plugin's status and reply into a drv_result_t, and
 * finally destroy() and dlclose() it.
 *
 * Every failure to load says which handler, which file and what to do:
 * dlopen()'s own text for a missing or broken file, "not a drover plugin"
 * for a missing entry point, "built for plugin ABI N, this worker speaks
 * ABI 1" for a version mismatch (found by probing the entry points of
 * newer ABIs), and the plugin's message when its init() refuses.
 *
 * drv_plugin_run() keeps no lock: the handle is read-only after open, and
 * the plugin is responsible for its own state (the ABI says handle() runs
 * concurrently). plugin_call.c runs it on a thread of its own, so that a
 * call that never returns costs a thread, not a runner.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/plugin.h"
#include "drover/plugin_host.h"
#include "drover/str.h"
#include "plugin_int.h"

/* drv_plugin_v1_t as ABI 1.0 defined it: a table may not be smaller. */
#define V1_MIN_SIZE (offsetof(drv_plugin_v1_t, destroy) + \
		     sizeof(((drv_plugin_v1_t *)0)->destroy))

/* Entry points of ABIs newer than ours that we look for only to say why a
 * plugin cannot be loaded. */
#define PROBE_ABI_MAX 9

/* Labels handed to the plugin without a heap allocation. */
#define STACK_LABELS 16

#if DRV_PLUGIN_ABI_VERSION != DRV_PLUGIN_HOST_ABI
#error "drover/plugin.h and drover/plugin_host.h disagree on the ABI"
#endif

/* The fields every table of every ABI starts with never move. */
_Static_assert(offsetof(drv_plugin_v1_t, abi_version) == 0,
	       "abi_version must stay first");
_Static_assert(offsetof(drv_plugin_v1_t, size) == 4,
	       "size must stay second");

typedef const drv_plugin_v1_t *(*entry_v1_fn)(void);

/* dlsym() with the error state cleared first, so dl_why() tells about this
 * lookup. (ISO C has no cast from the void * to a function pointer; POSIX
 * guarantees the representation, so the caller memcpy()s it.) */
static void *dl_function(void *dl, const char *name)
{
	dlerror();
	return dlsym(dl, name);
}

/* The last dlerror() text, never NULL. */
static const char *dl_why(void)
{
	const char *e = dlerror();

	return e ? e : "unknown dynamic linker error";
}

/* Tell a plugin built for a newer ABI from something else entirely. */
static unsigned newer_abi(void *dl)
{
	for (unsigned v = PROBE_ABI_MAX; v > DRV_PLUGIN_HOST_ABI; v--) {
		char sym[32];

		drv_fmt(sym, sizeof(sym), "drover_plugin_v%u", v);
		if (dl_function(dl, sym))
			return v;
	}
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void handle_free(drv_plugin_handle_t *p)
{
	if (!p)
		return;
	if (p->dl)
		dlclose(p->dl);
	free(p->handler);
	free(p->path);
	free(p->name);
	free(p);
}

/* Check the table the entry point returned. */
static drv_err_t check_table(const drv_plugin_handle_t *p, char *errstr,
			     size_t errstr_size)
{
	const drv_plugin_v1_t *t = p->v1;

	if (!t)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "handler '%s': plugin %s: %s() returned NULL",
				 p->handler, p->path, DRV_PLUGIN_ENTRY_V1);
	if (t->abi_version != DRV_PLUGIN_HOST_ABI)
		return drv_error(errstr, errstr_size, DRV_ERR_UNSUPPORTED,
				 "handler '%s': plugin %s was built for "
				 "plugin ABI %u, this worker speaks ABI %d",
				 p->handler, p->path,
				 (unsigned)t->abi_version,
				 DRV_PLUGIN_HOST_ABI);
	if (t->size < V1_MIN_SIZE)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "handler '%s': plugin %s: its table is %u "
				 "bytes, a v1 table is at least %zu (set .size "
				 "= sizeof(drv_plugin_v1_t))",
				 p->handler, p->path, (unsigned)t->size,
				 (size_t)V1_MIN_SIZE);
	if (!t->handle)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "handler '%s': plugin %s has no handle "
				 "function", p->handler, p->path);
	return DRV_OK;
}

/* Lend the handler's config to init() as key, value, ..., NULL. */
static drv_err_t call_init(drv_plugin_handle_t *p, const drv_handler_conf_t *h,
			   char *errstr, size_t errstr_size)
{
	const char **cfg;
	char why[DRV_PLUGIN_MSG_SIZE] = "";
	size_t n = 0;
	int rc;

	if (!p->v1->init)
		return DRV_OK;
	cfg = calloc(2 * h->plugin_config_cnt + 1, sizeof(*cfg));
	if (!cfg)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "handler '%s': out of memory", p->handler);
	for (size_t i = 0; i < h->plugin_config_cnt; i++) {
		const drv_kv_t *kv = &h->plugin_config[i];

		if (!kv->key)
			continue;
		cfg[n++] = kv->key;
		cfg[n++] = kv->value ? kv->value : "";
	}
	cfg[n] = NULL;

	rc = p->v1->init(&p->state, cfg, why, sizeof(why));
	free(cfg);
	why[sizeof(why) - 1] = '\0';
	if (rc != 0) {
		p->state = NULL;
		if (!why[0])
			drv_fmt(why, sizeof(why), "init returned %d", rc);
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "handler '%s': plugin %s (%s) refused its "
				 "config: %s", p->handler, p->name, p->path,
				 why);
	}
	return DRV_OK;
}

drv_err_t drv_plugin_open(const drv_handler_conf_t *h,
			  drv_plugin_handle_t **out, char *errstr,
			  size_t errstr_size)
{
	drv_plugin_handle_t *p;
	void *sym;
	entry_v1_fn entry;
	unsigned newer;
	drv_err_t err;

	if (!h || !out)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "drv_plugin_open: NULL argument");
	if (h->type != DRV_HANDLER_PLUGIN)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "handler '%s' is of type %s, not plugin",
				 h->name ? h->name : "",
				 drv_handler_type_name(h->type));
	if (!h->plugin_path || !h->plugin_path[0])
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "handler '%s': no plugin path",
				 h->name ? h->name : "");

	p = calloc(1, sizeof(*p));
	if (!p)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	p->handler = strdup(h->name ? h->name : "");
	p->path = strdup(h->plugin_path);
	p->timeout_ms = h->timeout_ms > 0 ? h->timeout_ms : 0;
	if (!p->handler || !p->path) {
		handle_free(p);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}

	dlerror();
	p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		err = drv_error(errstr, errstr_size, DRV_ERR_IO,
				"handler '%s': cannot load plugin: %s",
				p->handler, dl_why());
		handle_free(p);
		return err;
	}

	sym = dl_function(p->dl, DRV_PLUGIN_ENTRY_V1);
	if (!sym) {
		char why[256];

		drv_strlcpy(why, dl_why(), sizeof(why));
		newer = newer_abi(p->dl);
		if (newer)
			err = drv_error(errstr, errstr_size,
					DRV_ERR_UNSUPPORTED,
					"handler '%s': plugin %s was built for "
					"plugin ABI %u, this worker speaks ABI "
					"%d", p->handler, p->path, newer,
					DRV_PLUGIN_HOST_ABI);
		else
			err = drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					"handler '%s': %s is not a drover "
					"plugin: it exports no %s (%s)",
					p->handler, p->path,
					DRV_PLUGIN_ENTRY_V1, why);
		handle_free(p);
		return err;
	}
	memcpy(&entry, &sym, sizeof(entry));
	p->v1 = entry();

	err = check_table(p, errstr, errstr_size);
	if (err != DRV_OK) {
		handle_free(p);
		return err;
	}

	p->name = strdup(p->v1->name && p->v1->name[0] ? p->v1->name :
			 base_name(p->path));
	if (!p->name) {
		handle_free(p);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}

	err = call_init(p, h, errstr, errstr_size);
	if (err != DRV_OK) {
		handle_free(p);
		return err;
	}
	*out = p;
	return DRV_OK;
}

static void fail(drv_result_t *res, drv_failure_class_t c, const char *msg)
{
	res->failure = c;
	drv_strlcpy(res->message, msg, sizeof(res->message));
}

void drv_plugin_run(drv_plugin_handle_t *p, const drv_task_t *t,
		    drv_result_t *res)
{
	const char *stack_labels[2 * STACK_LABELS + 1];
	const char **labels = stack_labels;
	drv_plugin_task_t task;
	drv_plugin_reply_t reply;
	drv_plugin_status_t st;
	int64_t start;

	memset(res, 0, sizeof(*res));
	if (t->label_cnt > STACK_LABELS) {
		labels = calloc(2 * t->label_cnt + 1, sizeof(*labels));
		if (!labels) {
			fail(res, DRV_FAILURE_TRANSIENT, "out of memory "
			     "preparing the task for the plugin");
			return;
		}
	}
	for (size_t i = 0; i < t->label_cnt; i++) {
		labels[2 * i] = t->labels[i].key ? t->labels[i].key : "";
		labels[2 * i + 1] = t->labels[i].value ? t->labels[i].value
						       : "";
	}
	labels[2 * t->label_cnt] = NULL;

	memset(&task, 0, sizeof(task));
	task.size = sizeof(task);
	task.attempt = t->attempt + 1;
	task.id = t->id;
	task.handler = t->handler ? t->handler : "";
	task.payload = t->payload ? (const void *)t->payload : (const void *)"";
	task.payload_len = t->payload ? t->payload_len : 0;
	task.priority = t->priority;
	task.max_attempts = t->max_attempts;
	task.labels = labels;
	task.deadline_ms = t->deadline_ms;
	task.timeout_ms = p->timeout_ms;

	memset(&reply, 0, sizeof(reply));
	reply.size = sizeof(reply);

	start = drv_mono_ms();
	st = p->v1->handle(p->state, &task, &reply);
	res->duration_ms = drv_mono_ms() - start;
	if (labels != stack_labels)
		free(labels);
	reply.msg[sizeof(reply.msg) - 1] = '\0';

	switch (st) {
	case DRV_PLUGIN_OK:
		res->failure = DRV_FAILURE_UNSPECIFIED;
		return;
	case DRV_PLUGIN_TRANSIENT:
		fail(res, DRV_FAILURE_TRANSIENT, reply.msg[0] ? reply.msg :
		     "plugin reported a transient failure");
		if (reply.retry_after_ms > 0)
			res->retry_after_ms = reply.retry_after_ms;
		return;
	case DRV_PLUGIN_PERMANENT:
		fail(res, DRV_FAILURE_PERMANENT, reply.msg[0] ? reply.msg :
		     "plugin reported a permanent failure");
		return;
	}
	res->failure = DRV_FAILURE_PERMANENT;
	drv_fmt(res->message, sizeof(res->message),
		"plugin %s returned unknown status %d%s%s", p->name, (int)st,
		reply.msg[0] ? ": " : "", reply.msg);
}

const char *drv_plugin_name(const drv_plugin_handle_t *p)
{
	return p->name;
}

unsigned drv_plugin_abi(const drv_plugin_handle_t *p)
{
	return p->v1->abi_version;
}

size_t drv_plugin_hung(const drv_plugin_handle_t *p)
{
	return __atomic_load_n(&p->hung, __ATOMIC_RELAXED);
}

void drv_plugin_close(drv_plugin_handle_t *p)
{
	if (!p)
		return;
	/* a call still inside the plugin: its code must stay mapped and its
	 * state alive until the process ends */
	if (drv_plugin_hung(p))
		return;
	if (p->v1 && p->v1->destroy)
		p->v1->destroy(p->state);
	handle_free(p);
}
