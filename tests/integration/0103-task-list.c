/*
 * 0103 — the task list against the real Redis and Kafka.
 *
 * index_pages (Redis only): records written through the state writer land
 * in one per-state set each and move between sets with the task; pages of
 * 7 walk every task exactly once, newest update first, through ties of the
 * same millisecond; filters on handler, label and time range; a bad cursor
 * is refused; with worker.task_index false no set is written.
 *
 * cli_and_api (a worker, droverctl, the coordinator's API): tasks that
 * succeed, die, wait for a retry 10 minutes away and still run are listed
 * under those states, the retrying one with when it runs next; filters and
 * paging through `droverctl task list`, and GET /api/v1/tasks answers the
 * same ids; bad input is a usage error (exit 2) or a 400.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"
#include "drover/task_list.h"
#include "harness.h"

/* ---- index_pages ------------------------------------------------------- */

#define TASKS 23     /* recorded; 3 per millisecond of update time */

typedef struct ns {
	char prefix[64];
	drv_config_t *cfg;
	redisContext *rc;
} ns_t;

static void ns_open(ns_t *ns, const char *worker_yaml)
{
	static int seq;
	const char *url = getenv("DROVER_REDIS_URL");
	char yaml[1024], err[256] = "";

	cr_assert(url, "DROVER_REDIS_URL unset: start the stack "
		  "(scripts/stack start) and source its stack.env");
	/* the harness's namespace variable would win over key_prefix */
	unsetenv("DROVER_REDIS_KEY_PREFIX");
	drv_fmt(ns->prefix, sizeof(ns->prefix), "it%dl%d:", (int)getpid(),
		seq++);
	drv_fmt(yaml, sizeof(yaml),
		"redis:\n  url: \"%s\"\n  key_prefix: \"%s\"\n"
		"worker:\n  task_state_ttl: 10m\n%s", url, ns->prefix,
		worker_yaml);
	ns->cfg = NULL;
	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &ns->cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	ns->rc = NULL;
	cr_assert_eq(drv_redis_connect(ns->cfg, &ns->rc, err, sizeof(err)),
		     DRV_OK, "%s", err);
}

static void ns_close(ns_t *ns)
{
	redisReply *r = redisCommand(ns->rc, "EVAL %s 0 %s",
		"for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do "
		"redis.call('DEL', k) end", ns->prefix);

	freeReplyObject(r);
	redisFree(ns->rc);
	drv_config_destroy(ns->cfg);
}

static long long zcard(ns_t *ns, const char *state)
{
	redisReply *r = redisCommand(ns->rc, "ZCARD %stasks:%s", ns->prefix,
				     state);
	long long n;

	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	n = r->integer;
	freeReplyObject(r);
	return n;
}

/* Record TASKS tasks as succeeded: "t00".."t22", updated 3 to a
 * millisecond from \p base, handler h-a (even) or h-b (odd), label
 * team=x on every fifth; then t05 dies, the newest update of all. */
static void record_all(ns_t *ns, int64_t base)
{
	char err[256] = "", id[TASKS][8];
	drv_state_t *st = drv_state_new(ns->cfg, NULL, err, sizeof(err));

	cr_assert_not_null(st, "%s", err);
	for (int i = 0; i < TASKS; i++) {
		drv_state_rec_t r = {
			.task_id = id[i], .state = DRV_TASK_SUCCEEDED,
			.attempt = 1, .handler = i % 2 ? "h-b" : "h-a",
			.worker = "w1", .created_ms = base - 1000,
			.updated_ms = base + (i / 3) * 1000,
			.priority = 5,
			.labels = i % 5 ? "{}" : "{\"team\":\"x\"}",
		};

		drv_fmt(id[i], sizeof(id[i]), "t%02d", i);
		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	}
	{
		drv_state_rec_t r = {
			.task_id = "t05", .state = DRV_TASK_DEAD, .attempt = 2,
			.error = "gave up", .updated_ms = base + 100000,
		};

		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	}
	drv_state_destroy(st);  /* writes everything queued */
}

/* Every page of \p f at \p limit per page: the ids in order, joined by
 * ' ', into \p out; returns how many. */
static int walk(ns_t *ns, const drv_task_filter_t *f, size_t limit,
		char *out, size_t out_size)
{
	char err[256] = "", *cursor = NULL;
	int n = 0;

	out[0] = '\0';
	for (int pages = 0; pages < 100; pages++) {
		drv_task_page_t p;

		cr_assert_eq(drv_task_list(ns->rc, ns->prefix, f, cursor, limit,
					   &p, err, sizeof(err)), DRV_OK,
			     "%s", err);
		cr_assert_leq(p.cnt, limit);
		for (size_t i = 0; i < p.cnt; i++, n++)
			drv_fmt(out + strlen(out), out_size - strlen(out),
				"%s%s", n ? " " : "", p.tasks[i].id);
		free(cursor);
		cursor = p.next ? strdup(p.next) : NULL;
		drv_task_page_release(&p);
		if (!cursor)
			return n;
	}
	cr_assert_fail("more than 100 pages");
	return n;
}

static void set(drv_task_filter_t *f, const drv_config_t *cfg,
		const char *name, const char *value)
{
	char err[256] = "";

	cr_assert_eq(drv_task_filter_set(f, cfg, name, value, drv_now_ms(),
					 err, sizeof(err)), DRV_OK,
		     "%s=%s: %s", name, value, err);
}

Test(task_list, index_pages, .timeout = 60)
{
	ns_t ns;
	int64_t base = drv_now_ms() - 60000;
	char ids[512], since[32], until[32], err[256] = "";
	drv_task_filter_t f = { 0 };
	drv_task_page_t p;

	ns_open(&ns, "");
	record_all(&ns, base);
	cr_expect_eq(zcard(&ns, "succeeded"), TASKS - 1);
	cr_expect_eq(zcard(&ns, "dead"), 1, "t05 moved out of succeeded");

	/* newest first: t05 (dead), then t21 t22 (base+7s), t18 t19 t20... */
	cr_expect_eq(walk(&ns, &f, 7, ids, sizeof(ids)), TASKS);
	cr_expect(!strncmp(ids, "t05 ", 4), "%s", ids);
	for (int i = 0; i < TASKS; i++) {
		char one[8];
		const char *at;

		drv_fmt(one, sizeof(one), "t%02d", i);
		at = strstr(ids, one);
		cr_expect(at && !strstr(at + 1, one), "%s not once in %s",
			  one, ids);
	}
	/* ties of one millisecond split over pages lose and repeat nothing */
	cr_expect_eq(walk(&ns, &f, 1, ids, sizeof(ids)), TASKS);
	cr_expect_eq(walk(&ns, &f, 2, ids, sizeof(ids)), TASKS);

	set(&f, ns.cfg, "state", "dead");
	cr_expect_eq(walk(&ns, &f, 50, ids, sizeof(ids)), 1);
	cr_expect_str_eq(ids, "t05");
	f = (drv_task_filter_t){ 0 };
	set(&f, ns.cfg, "state", "succeeded,dead");
	set(&f, ns.cfg, "handler", "h-a");
	cr_expect_eq(walk(&ns, &f, 5, ids, sizeof(ids)), 12, "%s", ids);
	f = (drv_task_filter_t){ 0 };
	set(&f, ns.cfg, "label", "team=x");
	cr_expect_eq(walk(&ns, &f, 50, ids, sizeof(ids)), 5, "%s", ids);
	f = (drv_task_filter_t){ 0 };
	set(&f, ns.cfg, "band", "normal");
	cr_expect_eq(walk(&ns, &f, 50, ids, sizeof(ids)), TASKS, "%s", ids);
	set(&f, ns.cfg, "band", "high");
	cr_expect_eq(walk(&ns, &f, 50, ids, sizeof(ids)), 0, "%s", ids);

	/* updated in [base+3s, base+6s): tasks 9..17 */
	f = (drv_task_filter_t){ 0 };
	drv_format_time(base + 3000, since, sizeof(since));
	drv_format_time(base + 6000, until, sizeof(until));
	set(&f, ns.cfg, "since", since);
	set(&f, ns.cfg, "until", until);
	cr_expect_eq(walk(&ns, &f, 4, ids, sizeof(ids)), 9, "since %s until "
		     "%s: %s", since, until, ids);
	/* a duration counts back from now */
	f = (drv_task_filter_t){ 0 };
	set(&f, ns.cfg, "until", "1h");
	cr_expect_eq(walk(&ns, &f, 50, ids, sizeof(ids)), 0, "%s", ids);

	f = (drv_task_filter_t){ 0 };
	cr_expect_eq(drv_task_list(ns.rc, ns.prefix, &f, "nonsense", 10, &p,
				   err, sizeof(err)), DRV_ERR_INVALID);
	cr_expect_eq(drv_task_list(ns.rc, ns.prefix, &f, NULL, 0, &p, err,
				   sizeof(err)), DRV_ERR_INVALID);
	cr_expect_eq(drv_task_filter_set(&f, ns.cfg, "state", "sleeping",
					 0, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_expect_eq(drv_task_filter_set(&f, ns.cfg, "colour", "red", 0,
					 err, sizeof(err)),
		     DRV_ERR_NOT_FOUND);
	ns_close(&ns);

	/* the index off: the hashes are written, no set */
	ns_open(&ns, "  task_index: false\n");
	record_all(&ns, base);
	cr_expect_eq(zcard(&ns, "succeeded"), 0);
	cr_expect_eq(zcard(&ns, "dead"), 0);
	{
		redisReply *r = redisCommand(ns.rc, "HGET %stask:t05 state",
					     ns.prefix);

		cr_expect(r && r->type == REDIS_REPLY_STRING &&
			  !strcmp(r->str, "dead"));
		freeReplyObject(r);
	}
	ns_close(&ns);
}

/* ---- cli_and_api ------------------------------------------------------- */

#define VIEWER "viewer-token-0103"

static const char handlers[] =
	"  ok:\n"
	"    command: [\"true\"]\n"
	"  bad:\n"
	"    command: [\"sh\", \"-c\", \"exit 1\"]\n"
	"  later:\n"
	"    command: [\"sh\", \"-c\", \"exit 75\"]\n"
	"    policy: tenminutes\n"
	"  slow:\n"
	"    command: [\"sleep\", \"60\"]\n"
	"retry_policies:\n"
	"  tenminutes:\n"
	"    base_delay: 10m\n"
	"    max_delay: 10m\n"
	"    max_attempts: 3\n"
	"    jitter: none\n";

/* `task list --json ARGS...` parsed; asserts exit 0. */
static json_t *ctl_list(it_ctx_t *ctx, const char *a1, const char *a2,
			const char *a3, const char *a4)
{
	char *out = NULL;
	json_t *j;
	int rc = it_ctl(ctx, &out, "task", "list", "--json", a1, a2, a3, a4,
			NULL);

	cr_assert_eq(rc, 0, "task list %s %s: exit %d", a1 ? a1 : "",
		     a2 ? a2 : "", rc);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	free(out);
	return j;
}

static size_t count(json_t *page)
{
	return json_array_size(json_object_get(page, "tasks"));
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids of a page, sorted and joined, for comparing two answers. */
static void page_ids(json_t *page, char *out, size_t size)
{
	char *v[64];
	size_t n = 0, i;
	json_t *t;

	json_array_foreach(json_object_get(page, "tasks"), i, t)
		if (n < 64)
			v[n++] = (char *)json_string_value(
				json_object_get(t, "id"));
	qsort(v, n, sizeof(v[0]), by_text);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		drv_fmt(out + strlen(out), size - strlen(out), "%s ", v[i]);
}

Test(task_list, cli_and_api, .timeout = 240)
{
	it_ctx_t ctx;
	char sections[512], id[8][32], a[512], b[512], *body = NULL;
	char *cursor = NULL;
	int api_port = it_free_port();
	pid_t worker, coord;
	json_t *page, *t;
	int seen = 0;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	worker = it_worker_start(&ctx, 1);
	it_submit(&ctx, id[0], "ok", "--label", "team=pay", NULL);
	it_submit(&ctx, id[1], "ok", NULL);
	it_submit(&ctx, id[2], "ok", NULL);
	it_submit(&ctx, id[3], "bad", NULL);
	it_submit(&ctx, id[4], "bad", NULL);
	it_submit(&ctx, id[5], "later", NULL);
	it_submit(&ctx, id[6], "slow", "--priority", "9", NULL);

	/* every task reaches its state */
	for (int i = 0; i < 300; i++) {
		page = ctl_list(&ctx, NULL, NULL, NULL, NULL);
		seen = 0;
		{
			size_t k;
			int st[4] = { 0 };

			json_array_foreach(json_object_get(page, "tasks"), k,
					   t) {
				const char *s = json_string_value(
					json_object_get(t, "state"));

				st[0] += !strcmp(s, "succeeded");
				st[1] += !strcmp(s, "dead");
				st[2] += !strcmp(s, "retrying");
				st[3] += !strcmp(s, "running");
			}
			seen = st[0] == 3 && st[1] == 2 && st[2] == 1 &&
			       st[3] == 1;
		}
		json_decref(page);
		if (seen)
			break;
		usleep(200 * 1000);
	}
	cr_assert(seen, "the tasks never reached succeeded x3, dead x2, "
		  "retrying, running");

	page = ctl_list(&ctx, "--state", "retrying", NULL, NULL);
	cr_assert_eq(count(page), 1);
	t = json_array_get(json_object_get(page, "tasks"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(t, "id")), id[5]);
	cr_expect_geq(json_integer_value(json_object_get(t, "due_ms")),
		      it_now_ms() + 8 * 60 * 1000, "due in about 10 min");
	json_decref(page);
	page = ctl_list(&ctx, "--state", "running", NULL, NULL);
	cr_assert_eq(count(page), 1);
	t = json_array_get(json_object_get(page, "tasks"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(t, "id")), id[6]);
	cr_expect_eq(json_integer_value(json_object_get(t, "priority")), 9);
	json_decref(page);

	page = ctl_list(&ctx, "--handler", "bad", NULL, NULL);
	cr_expect_eq(count(page), 2);
	json_decref(page);
	page = ctl_list(&ctx, "--label", "team=pay", NULL, NULL);
	cr_expect_eq(count(page), 1);
	json_decref(page);
	page = ctl_list(&ctx, "--band", "high", NULL, NULL);
	cr_expect_eq(count(page), 1, "the priority-9 task");
	json_decref(page);
	page = ctl_list(&ctx, "--state", "succeeded,dead", "--since", "10m");
	cr_expect_eq(count(page), 5);
	json_decref(page);

	/* pages of 2: all 7, each once */
	seen = 0;
	a[0] = '\0';
	for (int pages = 0; pages < 10; pages++) {
		json_t *next;

		page = ctl_list(&ctx, "--limit", "2",
				cursor ? "--cursor" : NULL, cursor);
		cr_assert_leq(count(page), 2);
		for (size_t k = 0; k < count(page); k++) {
			const char *tid = json_string_value(json_object_get(
				json_array_get(json_object_get(page, "tasks"),
					       k), "id"));

			cr_expect(!strstr(a, tid), "%s twice", tid);
			drv_fmt(a + strlen(a), sizeof(a) - strlen(a), "%s ",
				tid);
			seen++;
		}
		next = json_object_get(page, "next_cursor");
		free(cursor);
		cursor = json_is_string(next) ?
			 strdup(json_string_value(next)) : NULL;
		json_decref(page);
		if (!cursor)
			break;
	}
	cr_expect_eq(seen, 7, "%s", a);

	/* bad input: usage errors */
	cr_expect_eq(it_ctl(&ctx, NULL, "task", "list", "--state", "asleep",
			    NULL), 2);
	cr_expect_eq(it_ctl(&ctx, NULL, "task", "list", "--since", "soon",
			    NULL), 2);
	cr_expect_eq(it_ctl(&ctx, NULL, "task", "list", "--limit", "0",
			    NULL), 2);

	/* the API answers the same ids */
	drv_fmt(sections, sizeof(sections),
		"api:\n  port: %d\n"
		"api_tokens:\n"
		"  viewer: {role: viewer, env: IT_API_TOKEN_0103}\n", api_port);
	it_coord_config(&ctx, "", sections);
	setenv("IT_API_TOKEN_0103", VIEWER, 1);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_http_wait(api_port, "/api/v1/openapi.json", 10000),
		  "the API did not come up");
	cr_assert_eq(it_http_get_token(api_port, "/api/v1/tasks?state=dead&"
				       "state=succeeded&limit=10", VIEWER,
				       &body), 200, "%s", body);
	page = json_loads(body, 0, NULL);
	free(body);
	cr_assert_not_null(page);
	page_ids(page, a, sizeof(a));
	json_decref(page);
	page = ctl_list(&ctx, "--state", "dead,succeeded", NULL, NULL);
	page_ids(page, b, sizeof(b));
	json_decref(page);
	cr_expect_str_eq(a, b);
	cr_expect_eq(it_http_get_token(api_port, "/api/v1/tasks?handler=bad",
				       VIEWER, &body), 200);
	page = json_loads(body, 0, NULL);
	free(body);
	cr_expect_eq(count(page), 2);
	json_decref(page);
	cr_expect_eq(it_http_get_token(api_port, "/api/v1/tasks?state=asleep",
				       VIEWER, &body), 400);
	free(body);
	cr_expect_eq(it_http_get_token(api_port, "/api/v1/tasks?limit=501",
				       VIEWER, &body), 400);
	free(body);
	cr_expect_eq(it_http_get_token(api_port, "/api/v1/tasks?cursor=x",
				       VIEWER, &body), 400);
	free(body);
	cr_expect_eq(it_http_get(api_port, "/api/v1/tasks", &body), 401);
	free(body);

	free(cursor);
	it_stop(coord, SIGTERM, 10000);
	it_stop(worker, SIGKILL, 5000);
	it_teardown(&ctx);
}

/* ---- queued ------------------------------------------------------------ */

/* The ids of every page of `task list --json ARGS --limit 3`, in order,
 * joined; returns how many. */
static int ctl_walk(it_ctx_t *ctx, const char *state, const char *band,
		    char *out, size_t size)
{
	char *cursor = NULL;
	int n = 0;

	out[0] = '\0';
	for (int pages = 0; pages < 20; pages++) {
		char *text = NULL;
		json_t *page, *t, *next;
		size_t i;

		cr_assert_eq(it_ctl(ctx, &text, "task", "list", "--json",
				    "--state", state, "--limit", "3",
				    "--band", band,
				    cursor ? "--cursor" : NULL, cursor, NULL),
			     0);
		page = json_loads(text, 0, NULL);
		cr_assert_not_null(page, "not JSON: %s", text);
		free(text);
		json_array_foreach(json_object_get(page, "tasks"), i, t) {
			cr_expect_str_eq(json_string_value(json_object_get(t,
					 "state")), "queued");
			drv_fmt(out + strlen(out), size - strlen(out), "%s ",
				json_string_value(json_object_get(t, "id")));
			n++;
		}
		next = json_object_get(page, "next_cursor");
		free(cursor);
		cursor = json_is_string(next) ?
			 strdup(json_string_value(next)) : NULL;
		json_decref(page);
		if (!cursor)
			return n;
	}
	cr_assert_fail("more than 20 pages");
	return n;
}

Test(task_list, queued_from_the_bands, .timeout = 120)
{
	it_ctx_t ctx;
	char ids[2048], sections[512], *body = NULL, first[32];
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	int port = it_free_port();
	json_t *page;
	pid_t coord;
	extern char **environ;

	it_setup(&ctx, "  ok:\n    command: [\"true\"]\n");
	it_topics(&ctx);
	/* no worker runs: 3 wait on the high band, 5 on the normal one */
	it_publish_prio(&ctx, "ok", 3, 9);
	it_publish_many(&ctx, "ok", 5);

	cr_expect_eq(ctl_walk(&ctx, "queued", "high", ids, sizeof(ids)), 3,
		     "%s", ids);
	cr_expect_eq(ctl_walk(&ctx, "queued", "normal", ids, sizeof(ids)), 5,
		     "%s", ids);
	/* with a recorded state too: those first (none), then the queued */
	cr_expect_eq(ctl_walk(&ctx, "dead,queued", "normal", ids, sizeof(ids)),
		     5, "%s", ids);

	/* a task a worker has recorded is not queued any more */
	drv_fmt(first, sizeof(first), "%.26s", ids);
	cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, NULL, 0),
		     DRV_OK);
	cr_assert_eq(drv_redis_connect(cfg, &rc, NULL, 0), DRV_OK);
	freeReplyObject(redisCommand(rc, "HSET %stask:%s state running",
				     cfg->redis.key_prefix, first));
	cr_expect_eq(ctl_walk(&ctx, "queued", "normal", ids, sizeof(ids)), 4,
		     "%s", ids);
	cr_expect(!strstr(ids, first), "%s still listed in %s", first, ids);

	/* the API reads the same */
	drv_fmt(sections, sizeof(sections),
		"api:\n  port: %d\n"
		"api_tokens:\n"
		"  viewer: {role: viewer, env: IT_API_TOKEN_0103}\n", port);
	it_coord_config(&ctx, "", sections);
	setenv("IT_API_TOKEN_0103", VIEWER, 1);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 10000));
	cr_assert_eq(it_http_get_token(port, "/api/v1/tasks?state=queued",
				       VIEWER, &body), 200, "%s", body);
	page = json_loads(body, 0, NULL);
	free(body);
	cr_expect_eq(count(page), 3 + 4);
	json_decref(page);
	cr_expect_eq(it_http_get_token(port, "/api/v1/tasks?state=queued&"
				       "cursor=q7.0.0", VIEWER, &body), 400);
	free(body);

	freeReplyObject(redisCommand(rc, "DEL %stask:%s",
				     cfg->redis.key_prefix, first));
	redisFree(rc);
	drv_config_destroy(cfg);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}
