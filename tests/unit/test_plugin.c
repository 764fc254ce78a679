/*
 * Unit tests for C plugin handlers and the built-in noop/sleep handlers:
 * the example "json-validate" plugin end to end, every status and reply
 * field through a test plugin, what a plugin sees of a task, four threads
 * on one plugin, init/destroy counts, and every way a load can fail (wrong
 * ABI, missing entry point, malformed table, missing or non-ELF file,
 * refused config) with the message an operator would read. Then noop and
 * sleep, with timing checked loosely.
 *
 * The plugins are built next to this test (tests/meson.build); meson test
 * passes their places in DROVER_TEST_PLUGIN_DIR and DROVER_EXAMPLE_PLUGIN.
 * Run by hand, the test finds them relative to its own executable.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/builtin.h"
#include "drover/clock.h"
#include "drover/plugin.h"
#include "drover/plugin_host.h"
#include "drover/str.h"
#include "time_scale.h"

/* ---- helpers ----------------------------------------------------------- */

/* The directory this test's executable is in. */
static void exe_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	cr_assert(n > 0, "readlink /proc/self/exe");
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	cr_assert_not_null(slash);
	*slash = '\0';
}

/* Full path of test plugin variant \p v ("ok", "bad_abi"...). */
static void test_plugin_path(const char *v, char *buf, size_t size)
{
	const char *dir = getenv("DROVER_TEST_PLUGIN_DIR");
	char self[PATH_MAX];

	if (!dir || !dir[0]) {
		exe_dir(self, sizeof(self));
		dir = self;
	}
	cr_assert(drv_fmt(buf, size, "%s/libtest_plugin_%s.so", dir, v));
}

static void example_plugin_path(char *buf, size_t size)
{
	const char *p = getenv("DROVER_EXAMPLE_PLUGIN");
	char self[PATH_MAX];

	if (p && p[0]) {
		cr_assert(drv_strlcpy(buf, p, size) < size);
		return;
	}
	exe_dir(self, sizeof(self));
	cr_assert(drv_fmt(buf, size,
			  "%s/../examples/plugin/libdrover_example_plugin.so",
			  self));
}

/* A plugin handler named \p name for \p path with \p cnt config pairs
 * (key, value, key, value...). Everything is borrowed. */
static drv_handler_conf_t plugin_conf(const char *name, const char *path,
				      drv_kv_t *kv, size_t cnt)
{
	drv_handler_conf_t h;

	memset(&h, 0, sizeof(h));
	h.name = (char *)name;
	h.type = DRV_HANDLER_PLUGIN;
	h.plugin_path = (char *)path;
	h.plugin_config = kv;
	h.plugin_config_cnt = cnt;
	return h;
}

static drv_plugin_handle_t *open_ok(const drv_handler_conf_t *h)
{
	drv_plugin_handle_t *p = NULL;
	char errstr[512] = "";
	drv_err_t err = drv_plugin_open(h, &p, errstr, sizeof(errstr));

	cr_assert_eq(err, DRV_OK, "drv_plugin_open: %s", errstr);
	cr_assert_not_null(p);
	return p;
}

/* Open must fail with \p want; returns the message in \p errstr. */
static void open_fails(const drv_handler_conf_t *h, drv_err_t want,
		       char *errstr, size_t size)
{
	drv_plugin_handle_t *p = NULL;
	drv_err_t err;

	errstr[0] = '\0';
	err = drv_plugin_open(h, &p, errstr, size);
	cr_assert_eq(err, want, "got %s (%d), want %s: %s", drv_strerror(err),
		     err, drv_strerror(want), errstr);
	cr_assert_null(p, "the handle must be untouched on error");
	cr_assert(errstr[0], "an error must come with a message");
}

static void make_task(drv_task_t *t, const char *payload)
{
	drv_task_init(t);
	drv_id_new(t->id, drv_now_ms());
	t->handler = strdup("validate");
	cr_assert_not_null(t->handler);
	cr_assert_eq(drv_task_set_payload(t, payload, strlen(payload)),
		     DRV_OK);
}

/* Run \p payload through \p p; the result owns nothing. */
static drv_result_t run(drv_plugin_handle_t *p, const char *payload,
			uint32_t attempt)
{
	drv_task_t t;
	drv_result_t res;

	make_task(&t, payload);
	t.attempt = attempt;
	drv_plugin_run(p, &t, &res);
	drv_task_release(&t);
	cr_assert_null(res.output);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_eq(res.http_status, 0);
	cr_assert(res.duration_ms >= 0);
	return res;
}

static atomic_int *plugin_counter(const char *path, const char *sym, void **dl)
{
	void *p;

	*dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(*dl, "dlopen: %s", dlerror());
	p = dlsym(*dl, sym);
	cr_assert_not_null(p, "dlsym %s", sym);
	return p;
}

/* ---- the example plugin: json-validate --------------------------------- */

Test(example, validates_and_requires_a_field)
{
	char path[PATH_MAX];
	drv_kv_t kv[] = { { "require", "order_id" } };
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_result_t r;

	example_plugin_path(path, sizeof(path));
	h = plugin_conf("validate", path, kv, 1);
	p = open_ok(&h);
	cr_assert_str_eq(drv_plugin_name(p), "json-validate");
	cr_assert_eq(drv_plugin_abi(p), 1);

	r = run(p, "{\"order_id\": 42, \"items\": [1, 2.5e3, \"x\"]}", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED, "%s", r.message);
	cr_assert_str_eq(r.message, "");

	r = run(p, "{\"nested\": {\"order_id\": 1}}", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_str_eq(r.message, "required field 'order_id' is missing");

	r = run(p, "order_id=42", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert(strstr(r.message, "not valid JSON"), "%s", r.message);

	r = run(p, "[1, 2]", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_str_eq(r.message, "payload is JSON but not an object");
	drv_plugin_close(p);
}

Test(example, fail_field_and_retry_after)
{
	char path[PATH_MAX];
	drv_kv_t kv[] = { { "retry_after_ms", "2500" } };
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_result_t r;

	example_plugin_path(path, sizeof(path));
	h = plugin_conf("validate", path, kv, 1);
	p = open_ok(&h);

	r = run(p, "{\"fail\": \"transient\"}", 2);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(r.retry_after_ms, 2500);
	cr_assert_str_eq(r.message,
			 "payload asked for a transient failure (attempt 3)");

	r = run(p, "{\"fail\": \"permanent\"}", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_eq(r.retry_after_ms, 0);

	/* attempt is 0-based on the task, 1-based for the plugin */
	r = run(p, "{\"succeed_on_attempt\": 3}", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_str_eq(r.message, "attempt 1 of the 3 this task needs");
	r = run(p, "{\"succeed_on_attempt\": 3}", 1);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	r = run(p, "{\"succeed_on_attempt\": 3}", 2);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED, "%s", r.message);
	r = run(p, "{\"succeed_on_attempt\": \"soon\"}", 2);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);

	/* no `require`: any object will do */
	r = run(p, "{}", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED, "%s", r.message);
	drv_plugin_close(p);
}

Test(example, json_grammar)
{
	static const char *valid[] = {
		"{}", " \t\r\n{ } \n", "{\"a\":null,\"b\":true,\"c\":false}",
		"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}",
		"{\"n\":[0,-1,1.5,-0.25e+10,3E-2,[],[[]],{}]}",
		"{\"k\":{\"k\":{\"k\":[{\"k\":\"v\"}]}}}",
	};
	static const char *invalid[] = {
		"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
		"{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12g4\"}", "{\"a\":\"tab\there\"}", "{\"a\":[1 2]}",
		"{\"a\":1} x", "{\"a\":1}{}", "{\"a\":\"open}",
	};
	char path[PATH_MAX], deep[300];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_result_t r;
	size_t n = 0;

	example_plugin_path(path, sizeof(path));
	h = plugin_conf("validate", path, NULL, 0);
	p = open_ok(&h);
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		r = run(p, valid[i], 0);
		cr_expect_eq(r.failure, DRV_FAILURE_UNSPECIFIED, "%s: %s",
			     valid[i], r.message);
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		r = run(p, invalid[i], 0);
		cr_expect_eq(r.failure, DRV_FAILURE_PERMANENT, "%s", invalid[i]);
		cr_expect(strstr(r.message, "not valid JSON"), "%s: %s",
			  invalid[i], r.message);
	}
	/* nesting deeper than 64 is refused, not a stack overflow */
	deep[n++] = '{';
	deep[n++] = '"';
	deep[n++] = 'a';
	deep[n++] = '"';
	deep[n++] = ':';
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	r = run(p, deep, 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	drv_plugin_close(p);
}

Test(example, rejects_bad_config)
{
	char path[PATH_MAX], errstr[512];
	drv_kv_t unknown[] = { { "requires", "x" } };
	drv_kv_t bad_num[] = { { "retry_after_ms", "soon" } };
	drv_handler_conf_t h;

	example_plugin_path(path, sizeof(path));
	h = plugin_conf("validate", path, unknown, 1);
	open_fails(&h, DRV_ERR_CONFIG, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "handler 'validate'"), "%s", errstr);
	cr_assert(strstr(errstr, "json-validate"), "%s", errstr);
	cr_assert(strstr(errstr, "unknown config key 'requires'"), "%s",
		  errstr);

	h = plugin_conf("validate", path, bad_num, 1);
	open_fails(&h, DRV_ERR_CONFIG, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "retry_after_ms: 'soon'"), "%s", errstr);
}

/* ---- statuses and replies --------------------------------------------- */

Test(statuses, each_status_maps_to_a_failure_class)
{
	char path[PATH_MAX];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_result_t r;

	test_plugin_path("ok", path, sizeof(path));
	h = plugin_conf("t", path, NULL, 0);
	p = open_ok(&h);
	cr_assert_str_eq(drv_plugin_name(p), "test-ok");

	r = run(p, "ok", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_str_eq(r.message, "");

	/* a message or retry_after on success is dropped */
	r = run(p, "ok-noisy", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_str_eq(r.message, "");
	cr_assert_eq(r.retry_after_ms, 0);

	r = run(p, "transient", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_str_eq(r.message, "try again");
	cr_assert_eq(r.retry_after_ms, 0);

	r = run(p, "transient-retry", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_str_eq(r.message, "busy");
	cr_assert_eq(r.retry_after_ms, 1500);

	r = run(p, "transient-silent", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_str_eq(r.message, "plugin reported a transient failure");

	r = run(p, "permanent", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_str_eq(r.message, "no way");
	cr_assert_eq(r.retry_after_ms, 0, "retry_after is for TRANSIENT only");

	r = run(p, "permanent-silent", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_str_eq(r.message, "plugin reported a permanent failure");

	r = run(p, "unknown", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_str_eq(r.message,
			 "plugin test-ok returned unknown status 42: confused");
	drv_plugin_close(p);
}

Test(statuses, unterminated_message_is_cut)
{
	char path[PATH_MAX];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_result_t r;

	test_plugin_path("ok", path, sizeof(path));
	h = plugin_conf("t", path, NULL, 0);
	p = open_ok(&h);
	r = run(p, "long-msg", 0);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert_eq(strlen(r.message), DRV_PLUGIN_MSG_SIZE - 1);
	cr_assert_eq(r.message[0], 'x');
	drv_plugin_close(p);
}

Test(task, plugin_sees_every_field)
{
	char path[PATH_MAX], want[512];
	drv_kv_t kv[] = { { "tag", "blue" } };
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_task_t t;
	drv_result_t r;

	test_plugin_path("ok", path, sizeof(path));
	h = plugin_conf("t", path, kv, 1);
	h.timeout_ms = 30000;
	p = open_ok(&h);

	make_task(&t, "echo");
	t.attempt = 4;
	t.max_attempts = 9;
	t.priority = 7;
	t.deadline_ms = 1234567;
	cr_assert_eq(drv_task_set_label(&t, "env", "prod"), DRV_OK);
	cr_assert_eq(drv_task_set_label(&t, "team", "core"), DRV_OK);
	drv_plugin_run(p, &t, &r);
	drv_fmt(want, sizeof(want),
		"size=%zu id=%s handler=validate attempt=5 priority=7 max=9 "
		"deadline=1234567 timeout=30000 len=4 tag=blue "
		"labels=env=prod,team=core nlabels=2",
		sizeof(drv_plugin_task_t), t.id);
	cr_assert_str_eq(r.message, want);
	drv_task_release(&t);
	drv_plugin_close(p);
}

Test(task, many_labels_and_no_payload)
{
	char path[PATH_MAX], key[16];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_task_t t;
	drv_result_t r;

	test_plugin_path("ok", path, sizeof(path));
	h = plugin_conf("t", path, NULL, 0);
	p = open_ok(&h);

	make_task(&t, "echo");
	for (int i = 0; i < 40; i++) {
		drv_fmt(key, sizeof(key), "k%02d", i);
		cr_assert_eq(drv_task_set_label(&t, key, "v"), DRV_OK);
	}
	drv_plugin_run(p, &t, &r);
	cr_assert(strstr(r.message, " nlabels=40"), "%s", r.message);
	cr_assert(strstr(r.message, "tag=- "), "%s", r.message);

	/* no payload at all: the plugin gets "" with length 0 */
	cr_assert_eq(drv_task_set_payload(&t, NULL, 0), DRV_OK);
	drv_plugin_run(p, &t, &r);
	cr_assert_str_eq(r.message, "unexpected payload");
	drv_task_release(&t);
	drv_plugin_close(p);
}

Test(task, has_macro_follows_the_size)
{
	drv_plugin_task_t t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	cr_assert(DRV_PLUGIN_HAS(drv_plugin_task_t, &t, timeout_ms));
	/* as a worker built before timeout_ms was added would send it */
	t.size = (uint32_t)offsetof(drv_plugin_task_t, timeout_ms);
	cr_assert_not(DRV_PLUGIN_HAS(drv_plugin_task_t, &t, timeout_ms));
	cr_assert(DRV_PLUGIN_HAS(drv_plugin_task_t, &t, deadline_ms));
}

/* ---- threads, lifecycle ------------------------------------------------ */

struct runner_arg {
	drv_plugin_handle_t *p;
	int bad;
};

static void *runner(void *arg)
{
	struct runner_arg *a = arg;
	static const char *payloads[] = { "slow", "transient", "slow", "ok" };
	static const drv_failure_class_t want[] = {
		DRV_FAILURE_UNSPECIFIED, DRV_FAILURE_TRANSIENT,
		DRV_FAILURE_UNSPECIFIED, DRV_FAILURE_UNSPECIFIED,
	};

	for (int i = 0; i < 40; i++) {
		drv_task_t t;
		drv_result_t r;

		drv_task_init(&t);
		drv_id_new(t.id, drv_now_ms());
		t.handler = strdup("t");
		if (!t.handler ||
		    drv_task_set_payload(&t, payloads[i % 4],
					 strlen(payloads[i % 4])) != DRV_OK) {
			a->bad++;
			drv_task_release(&t);
			continue;
		}
		drv_plugin_run(a->p, &t, &r);
		if (r.failure != want[i % 4])
			a->bad++;
		drv_task_release(&t);
	}
	return NULL;
}

Test(threads, four_threads_share_one_plugin)
{
	char path[PATH_MAX];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	pthread_t th[4];
	struct runner_arg args[4];
	drv_result_t r;
	long calls;
	int max_in_flight;

	test_plugin_path("ok", path, sizeof(path));
	h = plugin_conf("t", path, NULL, 0);
	p = open_ok(&h);
	for (int i = 0; i < 4; i++) {
		args[i].p = p;
		args[i].bad = 0;
		cr_assert_eq(pthread_create(&th[i], NULL, runner, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pthread_join(th[i], NULL), 0);
		cr_assert_eq(args[i].bad, 0, "thread %d: %d wrong results", i,
			     args[i].bad);
	}
	r = run(p, "stats", 0);
	cr_assert_eq(sscanf(r.message, "calls=%ld max_in_flight=%d", &calls,
			    &max_in_flight), 2, "%s", r.message);
	cr_assert_eq(calls, 160);
	/* 80 runs of 5ms on 4 threads: they overlap unless serialised */
	cr_assert_geq(max_in_flight, 2, "handle() was never concurrent");
	cr_assert_leq(max_in_flight, 4);
	drv_plugin_close(p);
}

Test(lifecycle, init_once_destroy_once_per_handler)
{
	char path[PATH_MAX];
	drv_kv_t kv_a[] = { { "tag", "a" } }, kv_b[] = { { "tag", "b" } };
	drv_handler_conf_t ha, hb;
	drv_plugin_handle_t *a, *b;
	drv_result_t r;
	atomic_int *inits, *destroys;
	void *dl;

	test_plugin_path("ok", path, sizeof(path));
	inits = plugin_counter(path, "tp_init_calls", &dl);
	destroys = plugin_counter(path, "tp_destroy_calls", &dl);
	dlclose(dl); /* the second dlopen's reference */

	/* two handlers, one shared object: one load, two states */
	ha = plugin_conf("a", path, kv_a, 1);
	hb = plugin_conf("b", path, kv_b, 1);
	a = open_ok(&ha);
	b = open_ok(&hb);
	cr_assert_eq(*inits, 2);
	r = run(a, "echo", 0);
	cr_assert(strstr(r.message, "tag=a "), "%s", r.message);
	r = run(b, "echo", 0);
	cr_assert(strstr(r.message, "tag=b "), "%s", r.message);
	cr_assert_eq(*destroys, 0);
	drv_plugin_close(a);
	cr_assert_eq(*destroys, 1);
	drv_plugin_close(b);
	cr_assert_eq(*destroys, 2);
	cr_assert_eq(*inits, 2);
	dlclose(dl);
	drv_plugin_close(NULL); /* no-op */
}

/* ---- bounded calls (drv_plugin_call) ----------------------------------- */

/* Run \p payload through \p p with drv_plugin_call() on caller \p c. */
static drv_result_t call(drv_plugin_caller_t **c, drv_plugin_handle_t *p,
			 const char *payload, bool (*stop)(void *), void *arg,
			 int64_t *took_ms)
{
	drv_task_t t;
	drv_result_t res;
	int64_t start = drv_mono_ms();

	make_task(&t, payload);
	drv_plugin_call(c, p, &t, stop, arg, &res);
	*took_ms = drv_mono_ms() - start;
	/* the task is still the caller's, whole, whatever happened */
	cr_assert_eq(t.payload_len, strlen(payload));
	cr_assert_eq(memcmp(t.payload, payload, t.payload_len), 0);
	cr_assert_str_eq(t.handler, "validate");
	drv_task_release(&t);
	return res;
}

Test(call, results_are_the_plugins)
{
	char path[PATH_MAX];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_plugin_caller_t *c = NULL;
	drv_result_t r;
	int64_t took;

	test_plugin_path("ok", path, sizeof(path));
	h = plugin_conf("t", path, NULL, 0);
	h.timeout_ms = 5000;
	p = open_ok(&h);
	r = call(&c, p, "ok", NULL, NULL, &took);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED, "%s", r.message);
	cr_assert_not_null(c, "the first call makes the caller");
	r = call(&c, p, "transient-retry", NULL, NULL, &took);
	cr_assert_eq(r.failure, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(r.retry_after_ms, 1500);
	cr_assert_str_eq(r.message, "busy");
	r = call(&c, p, "echo", NULL, NULL, &took);
	cr_assert(strstr(r.message, "handler=validate attempt=1 "), "%s",
		  r.message);
	cr_assert(strstr(r.message, "timeout=5000 len=4 "), "%s", r.message);
	cr_assert_eq(drv_plugin_hung(p), 0);
	drv_plugin_caller_free(c);
	drv_plugin_close(p);
}

Test(call, a_hung_call_is_given_up_and_the_runner_goes_on)
{
	char path[PATH_MAX];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_plugin_caller_t *c = NULL;
	atomic_int *release, *destroys;
	drv_result_t r;
	int64_t took;
	void *dl;

	test_plugin_path("ok", path, sizeof(path));
	release = plugin_counter(path, "tp_release", &dl);
	destroys = plugin_counter(path, "tp_destroy_calls", &dl);
	dlclose(dl);
	h = plugin_conf("t", path, NULL, 0);
	h.timeout_ms = 200;
	p = open_ok(&h);

	r = call(&c, p, "hang", NULL, NULL, &took);
	cr_assert_eq(r.failure, DRV_FAILURE_TIMEOUT, "%d: %s", r.failure,
		     r.message);
	cr_assert(strstr(r.message, "did not return within its timeout of "
			 "200 ms"), "%s", r.message);
	cr_assert_geq(took, 200 + DRV_PLUGIN_GRACE_MS);
	cr_assert_lt(took, 200 + DRV_PLUGIN_GRACE_MS + scaled(2000));
	cr_assert_null(c, "a caller given up on is not reused");
	cr_assert_eq(drv_plugin_hung(p), 1);

	/* the next call gets a new thread and is answered at once */
	r = call(&c, p, "ok", NULL, NULL, &took);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED, "%s", r.message);
	cr_assert_not_null(c);
	cr_assert_eq(drv_plugin_hung(p), 1);

	/* a plugin with a call inside it is neither destroyed nor unloaded */
	drv_plugin_close(p);
	cr_assert_eq(*destroys, 0);

	*release = 1;
	for (int i = 0; i < 300 && drv_plugin_hung(p); i++)
		usleep(10000);
	cr_assert_eq(drv_plugin_hung(p), 0, "the hung call never ended");
	drv_plugin_caller_free(c);
	drv_plugin_close(p);
	cr_assert_eq(*destroys, 1);
	dlclose(dl);
}

static bool stop_after_300ms(void *arg)
{
	return drv_mono_ms() - *(int64_t *)arg >= 300;
}

Test(call, stop_gives_up_before_the_timeout)
{
	char path[PATH_MAX];
	drv_handler_conf_t h;
	drv_plugin_handle_t *p;
	drv_plugin_caller_t *c = NULL;
	atomic_int *release;
	drv_result_t r;
	int64_t took, start = drv_mono_ms();
	void *dl;

	test_plugin_path("ok", path, sizeof(path));
	release = plugin_counter(path, "tp_release", &dl);
	h = plugin_conf("t", path, NULL, 0);
	h.timeout_ms = 60000;
	p = open_ok(&h);
	r = call(&c, p, "hang", stop_after_300ms, &start, &took);
	cr_assert_eq(r.failure, DRV_FAILURE_TIMEOUT);
	cr_assert_str_eq(r.message, "plugin call abandoned at shutdown");
	cr_assert_lt(took, scaled(2000), "took %lld ms", (long long)took);
	cr_assert_eq(drv_plugin_hung(p), 1);
	*release = 1;
	for (int i = 0; i < 300 && drv_plugin_hung(p); i++)
		usleep(10000);
	cr_assert_eq(drv_plugin_hung(p), 0);
	drv_plugin_close(p);
	dlclose(dl);
}

/* ---- load failures ----------------------------------------------------- */

Test(load, init_failure_names_the_reason_and_skips_destroy)
{
	char path[PATH_MAX], errstr[512];
	drv_kv_t kv[] = { { "tag", "x" }, { "fail_init", "no database" } };
	drv_kv_t silent[] = { { "fail_init_silent", "" } };
	drv_handler_conf_t h;
	atomic_int *destroys;
	void *dl;

	test_plugin_path("ok", path, sizeof(path));
	destroys = plugin_counter(path, "tp_destroy_calls", &dl);

	h = plugin_conf("orders", path, kv, 2);
	open_fails(&h, DRV_ERR_CONFIG, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "handler 'orders'"), "%s", errstr);
	cr_assert(strstr(errstr, path), "%s", errstr);
	cr_assert(strstr(errstr, "told to fail: no database"), "%s", errstr);

	h = plugin_conf("orders", path, silent, 1);
	open_fails(&h, DRV_ERR_CONFIG, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "init returned 7"), "%s", errstr);
	cr_assert_eq(*destroys, 0);
	dlclose(dl);
}

Test(load, wrong_abi_in_table)
{
	char path[PATH_MAX], errstr[512], want[PATH_MAX + 128];
	drv_handler_conf_t h;

	test_plugin_path("bad_abi", path, sizeof(path));
	h = plugin_conf("h", path, NULL, 0);
	open_fails(&h, DRV_ERR_UNSUPPORTED, errstr, sizeof(errstr));
	drv_fmt(want, sizeof(want), "handler 'h': plugin %s was built for "
		"plugin ABI 2, this worker speaks ABI 1", path);
	cr_assert_str_eq(errstr, want);
}

Test(load, newer_abi_entry_point)
{
	char path[PATH_MAX], errstr[512];
	drv_handler_conf_t h;

	test_plugin_path("v2_only", path, sizeof(path));
	h = plugin_conf("h", path, NULL, 0);
	open_fails(&h, DRV_ERR_UNSUPPORTED, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "was built for plugin ABI 2, this worker "
			 "speaks ABI 1"), "%s", errstr);
}

Test(load, missing_entry_point)
{
	char path[PATH_MAX], errstr[512];
	drv_handler_conf_t h;

	test_plugin_path("no_entry", path, sizeof(path));
	h = plugin_conf("h", path, NULL, 0);
	open_fails(&h, DRV_ERR_INVALID, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "is not a drover plugin"), "%s", errstr);
	cr_assert(strstr(errstr, "drover_plugin_v1"), "%s", errstr);
	cr_assert(strstr(errstr, path), "%s", errstr);
}

Test(load, malformed_tables)
{
	char path[PATH_MAX], errstr[512];
	drv_handler_conf_t h;

	test_plugin_path("no_handle", path, sizeof(path));
	h = plugin_conf("h", path, NULL, 0);
	open_fails(&h, DRV_ERR_INVALID, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "has no handle function"), "%s", errstr);

	test_plugin_path("small", path, sizeof(path));
	h = plugin_conf("h", path, NULL, 0);
	open_fails(&h, DRV_ERR_INVALID, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "sizeof(drv_plugin_v1_t)"), "%s", errstr);
}

Test(load, missing_file_gives_dlerror)
{
	char errstr[512];
	drv_handler_conf_t h = plugin_conf("h", "/nonexistent/libnope.so",
					   NULL, 0);

	open_fails(&h, DRV_ERR_IO, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "handler 'h': cannot load plugin"), "%s",
		  errstr);
	cr_assert(strstr(errstr, "/nonexistent/libnope.so"), "%s", errstr);
	cr_assert(strstr(errstr, "No such file or directory"), "%s", errstr);
}

Test(load, not_a_shared_object)
{
	char errstr[512];
	/* the test runs in the source root (tests/meson.build workdir) or
	 * anywhere else: use a file that surely exists and is not ELF */
	drv_handler_conf_t h = plugin_conf("h", "/etc/hostname", NULL, 0);

	if (access("/etc/hostname", R_OK) != 0)
		h.plugin_path = "/proc/self/status";
	open_fails(&h, DRV_ERR_IO, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "cannot load plugin"), "%s", errstr);
}

Test(load, not_a_plugin_handler)
{
	char errstr[512];
	drv_handler_conf_t h = plugin_conf("h", NULL, NULL, 0);

	open_fails(&h, DRV_ERR_INVALID, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "no plugin path"), "%s", errstr);

	h.plugin_path = "/x.so";
	h.type = DRV_HANDLER_EXEC;
	open_fails(&h, DRV_ERR_INVALID, errstr, sizeof(errstr));
	cr_assert(strstr(errstr, "not plugin"), "%s", errstr);
}

/* ---- built-in handlers ------------------------------------------------- */

static drv_handler_conf_t builtin_conf(drv_handler_type_t type,
				       int64_t sleep_ms)
{
	drv_handler_conf_t h;

	memset(&h, 0, sizeof(h));
	h.name = (char *)"b";
	h.type = type;
	h.sleep_ms = sleep_ms;
	return h;
}

/* Run \p h on \p payload; \p wall_ms gets the time it took here. */
static drv_result_t run_builtin(const drv_handler_conf_t *h,
				const char *payload, int64_t *wall_ms)
{
	drv_task_t t;
	drv_result_t r;
	int64_t start;

	make_task(&t, payload);
	start = drv_mono_ms();
	drv_builtin_run(h, &t, &r);
	*wall_ms = drv_mono_ms() - start;
	drv_task_release(&t);
	cr_assert_null(r.output);
	return r;
}

Test(builtin, noop_succeeds_at_once)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_NOOP, 5000);
	drv_result_t r;
	int64_t wall;

	cr_assert(drv_builtin_handles(DRV_HANDLER_NOOP));
	cr_assert(drv_builtin_handles(DRV_HANDLER_SLEEP));
	cr_assert_not(drv_builtin_handles(DRV_HANDLER_EXEC));
	cr_assert_not(drv_builtin_handles(DRV_HANDLER_PLUGIN));

	r = run_builtin(&h, "{\"sleep_ms\": 5000}", &wall);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_str_eq(r.message, "");
	cr_assert_lt(wall, 1000);
}

Test(builtin, sleep_uses_the_handler_setting)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_SLEEP, 50);
	drv_result_t r;
	int64_t wall;

	r = run_builtin(&h, "", &wall);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_geq(wall, 50);
	cr_assert_geq(r.duration_ms, 50);
	cr_assert_lt(wall, 2000);
}

Test(builtin, sleep_payload_overrides)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_SLEEP, 10000);
	drv_result_t r;
	int64_t wall;

	r = run_builtin(&h, "{\"sleep_ms\": 60, \"other\": true}", &wall);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_geq(wall, 60);
	cr_assert_lt(wall, 5000, "the handler's 10s was used");

	r = run_builtin(&h, "{\"sleep_ms\": 20.7}", &wall);
	cr_assert_geq(wall, 20);
	cr_assert_lt(wall, 5000);
}

Test(builtin, sleep_bad_payload_falls_back)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_SLEEP, 50);
	drv_result_t r;
	int64_t wall;

	r = run_builtin(&h, "sleep_ms=5000", &wall);
	cr_assert_eq(r.failure, DRV_FAILURE_UNSPECIFIED);
	cr_assert_geq(wall, 50);
	cr_assert_lt(wall, 2000);

	r = run_builtin(&h, "{\"sleep_ms\": \"5000\"}", &wall);
	cr_assert_geq(wall, 50);
	cr_assert_lt(wall, 2000);
}

Test(builtin, sleep_is_clamped)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_SLEEP, 50);
	drv_task_t t;

	make_task(&t, "{\"sleep_ms\": -5}");
	cr_assert_eq(drv_builtin_sleep_ms(&h, &t), 0);
	drv_task_release(&t);
	make_task(&t, "{\"sleep_ms\": 99999999999}");
	cr_assert_eq(drv_builtin_sleep_ms(&h, &t), DRV_BUILTIN_SLEEP_MAX_MS);
	drv_task_release(&t);
	make_task(&t, "{\"sleep_ms\": 1e300}");
	cr_assert_eq(drv_builtin_sleep_ms(&h, &t), DRV_BUILTIN_SLEEP_MAX_MS);
	drv_task_release(&t);
	make_task(&t, "[1]");
	cr_assert_eq(drv_builtin_sleep_ms(&h, &t), 50);
	drv_task_release(&t);

	h.sleep_ms = -1;
	make_task(&t, "");
	cr_assert_eq(drv_builtin_sleep_ms(&h, &t), 0);
	drv_task_release(&t);
	h.sleep_ms = INT64_MAX;
	make_task(&t, "");
	cr_assert_eq(drv_builtin_sleep_ms(&h, &t), DRV_BUILTIN_SLEEP_MAX_MS);
	drv_task_release(&t);
}

Test(builtin, sleep_past_timeout_times_out)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_SLEEP, 5000);
	drv_result_t r;
	int64_t wall;

	h.timeout_ms = 40;
	r = run_builtin(&h, "", &wall);
	cr_assert_eq(r.failure, DRV_FAILURE_TIMEOUT);
	cr_assert_str_eq(r.message, "timed out after 40 ms (sleep of 5000 ms)");
	cr_assert_geq(wall, 40);
	cr_assert_lt(wall, 2000);
}

Test(builtin, other_types_are_refused)
{
	drv_handler_conf_t h = builtin_conf(DRV_HANDLER_EXEC, 0);
	drv_result_t r;
	int64_t wall;

	r = run_builtin(&h, "", &wall);
	cr_assert_eq(r.failure, DRV_FAILURE_PERMANENT);
	cr_assert(strstr(r.message, "not a built-in handler"), "%s",
		  r.message);
}
