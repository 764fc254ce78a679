/*
 * 0111 — DLQ failure groups against the real Kafka and Redis, a worker and
 * a coordinator serving the API: tasks of two handlers fail permanently
 * with messages that differ only in a number ("exit code 3", "exit code
 * 4"); the worker's index in Redis gives one group per handler with the
 * right count, first / last seen equal to the oldest and newest dead
 * letter's time and samples that are those dead letters; filters and
 * pages of one group work (GET /dlq/groups and `droverctl dlq groups`);
 * one group by id, 404s; POST /dlq/resubmit {"group"} as a dry run counts
 * exactly the group's entries and changes nothing, for real resubmits each
 * once (the patched tasks run), and again resubmits none; the group's
 * samples then show the tasks sent; `droverctl dlq resubmit --group
 * --dry-run` and `dlq group` agree. And with Redis down, no dead letter is
 * lost and the index catches up when Redis is back.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

#define OPS    "ops-token-0111"
#define VIEWER "viewer-token-0111"
#define LEDGER 5
#define MAILER 3

/* ledger succeeds with "ok":true in the payload and otherwise exits 3 or
 * 4 by its task id's last character (both permanent: one group); mailer
 * always exits 5 */
static const char handlers[] =
	"  ledger:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"echo \"ok $DROVER_TASK_ID\" >> \"$OUT\";; *) "
	"case \"$DROVER_TASK_ID\" in *[0-9A-M]) exit 3;; *) exit 4;; "
	"esac;; esac'\n"
	"  mailer:\n"
	"    shell: true\n"
	"    command: 'exit 5'\n";

#define api it_http_json

#define num it_json_int
#define str it_json_str

/* GET \p path as the viewer, asserting 200. */
static json_t *get(int port, const char *path)
{
	json_t *o = NULL;

	cr_assert_eq(api(port, "GET", path, VIEWER, NULL, &o), 200, "%s",
		     path);
	return o;
}

/* The group of \p handler in the page \p o, or NULL. */
static json_t *group_of(json_t *o, const char *handler)
{
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(o, "groups"), i, g)
		if (!strcmp(str(g, "handler"), handler))
			return g;
	return NULL;
}

/* The oldest and newest dead_ms of \p handler's entries, and their ids. */
static int dead_times(int port, const char *handler, long long *first,
		      long long *last, char ids[][DRV_ID_LEN + 1])
{
	char path[256];
	json_t *o, *e;
	size_t i;

	drv_fmt(path, sizeof(path), "/api/v1/dlq?handler=%s&limit=500",
		handler);
	o = get(port, path);
	*first = *last = 0;
	json_array_foreach(json_object_get(o, "entries"), i, e) {
		long long t = num(e, "dead_ms");

		if (!*first || t < *first)
			*first = t;
		if (t > *last)
			*last = t;
		drv_strlcpy(ids[i], str(e, "id"), DRV_ID_LEN + 1);
	}
	json_decref(o);
	return (int)i;
}

static bool has(char ids[][DRV_ID_LEN + 1], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return true;
	return false;
}

Test(dlq_groups, grouped_counted_paged_resubmitted, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	char ids[16][DRV_ID_LEN + 1], path[256], body[256], gid[32], *out;
	long long first, last, total = 0;
	json_t *o, *g, *s;
	size_t i;
	int port, n;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0111", OPS, VIEWER, "",
			    &coord);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "ledger", LEDGER);
	it_publish_many(&ctx, "mailer", MAILER);

	/* the index follows the DLQ within the state writer's flush */
	for (int t = 0; t < 120 && total < LEDGER + MAILER; t++) {
		o = get(port, "/api/v1/dlq/groups");
		total = 0;
		json_array_foreach(json_object_get(o, "groups"), i, g)
			total += num(g, "count");
		json_decref(o);
		if (total < LEDGER + MAILER)
			sleep(1);
	}
	cr_assert_eq(total, LEDGER + MAILER, "%lld indexed", total);

	/* one group per handler: the numbers are placeholders */
	o = get(port, "/api/v1/dlq/groups");
	cr_assert_eq(json_array_size(json_object_get(o, "groups")), 2);
	cr_assert(json_is_null(json_object_get(o, "next_cursor")));
	g = group_of(o, "ledger");
	cr_assert_not_null(g);
	cr_assert_eq(num(g, "count"), LEDGER);
	cr_assert_str_eq(str(g, "class"), "permanent");
	cr_assert_str_eq(str(g, "message"), "exit code <n>");
	cr_assert(!strncmp(str(g, "sample_message"), "exit code ", 10));
	cr_assert_eq(strlen(str(g, "id")), 16);
	n = dead_times(port, "ledger", &first, &last, ids);
	cr_assert_eq(n, LEDGER);
	cr_assert_eq(num(g, "first_seen_ms"), first);
	cr_assert_eq(num(g, "last_seen_ms"), last);
	cr_assert_eq(json_array_size(json_object_get(g, "samples")), 5);
	json_array_foreach(json_object_get(g, "samples"), i, s)
		cr_assert(has(ids, n, str(s, "id")), "sample %s is not one "
			  "of ledger's dead letters", str(s, "id"));
	drv_strlcpy(gid, str(g, "id"), sizeof(gid));
	g = group_of(o, "mailer");
	cr_assert_not_null(g);
	cr_assert_eq(num(g, "count"), MAILER);
	cr_assert_str_eq(str(g, "message"), "exit code <n>");
	cr_assert_str_neq(str(g, "id"), gid);
	n = dead_times(port, "mailer", &first, &last, ids);
	cr_assert_eq(num(g, "first_seen_ms"), first);
	cr_assert_eq(num(g, "last_seen_ms"), last);
	/* newest first */
	cr_assert_geq(num(json_array_get(json_object_get(o, "groups"), 0),
			  "last_seen_ms"),
		      num(json_array_get(json_object_get(o, "groups"), 1),
			  "last_seen_ms"));
	json_decref(o);

	/* filters */
	o = get(port, "/api/v1/dlq/groups?handler=mailer");
	cr_assert_eq(json_array_size(json_object_get(o, "groups")), 1);
	cr_assert_not_null(group_of(o, "mailer"));
	json_decref(o);
	o = get(port, "/api/v1/dlq/groups?class=transient");
	cr_assert_eq(json_array_size(json_object_get(o, "groups")), 0);
	json_decref(o);

	/* pages of one: two pages, each group once, then the end */
	o = get(port, "/api/v1/dlq/groups?limit=1");
	cr_assert_eq(json_array_size(json_object_get(o, "groups")), 1);
	cr_assert(json_is_string(json_object_get(o, "next_cursor")));
	drv_strlcpy(body, str(json_array_get(json_object_get(o, "groups"), 0),
			      "id"), sizeof(body));
	drv_fmt(path, sizeof(path), "/api/v1/dlq/groups?limit=1&cursor=%s",
		str(o, "next_cursor"));
	json_decref(o);
	o = get(port, path);
	cr_assert_eq(json_array_size(json_object_get(o, "groups")), 1);
	cr_assert_str_neq(str(json_array_get(json_object_get(o, "groups"), 0),
			      "id"), body);
	cr_assert(json_is_null(json_object_get(o, "next_cursor")));
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/groups?cursor=nope",
			 VIEWER, NULL, &o), 400);
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/groups?limit=501",
			 VIEWER, NULL, &o), 400);
	json_decref(o);

	/* one group, all its samples; 404s */
	drv_fmt(path, sizeof(path), "/api/v1/dlq/groups/%s", gid);
	o = get(port, path);
	cr_assert_eq(num(o, "count"), LEDGER);
	cr_assert_eq(json_array_size(json_object_get(o, "samples")), LEDGER);
	json_array_foreach(json_object_get(o, "samples"), i, s)
		cr_assert(json_is_null(json_object_get(s,
					"resubmitted_task_id")));
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/groups/0000000000000000",
			 VIEWER, NULL, &o), 404);
	json_decref(o);
	cr_assert_eq(api(port, "GET", "/api/v1/dlq/groups/nope", VIEWER,
			 NULL, &o), 404);
	json_decref(o);

	/* the CLI reads the same index */
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "groups", "--json", NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(num(group_of(o, "ledger"), "count"), LEDGER);
	json_decref(o);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "groups", "--handler", "mailer",
			    NULL), 0);
	cr_assert(strstr(out, "exit code <n>"), "%s", out);
	cr_assert_null(strstr(out, gid), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "resubmit", "--group", gid,
			    "--dry-run", NULL), 0);
	n = 0;
	for (char *p = out; (p = strstr(p, "\"topic\":")); p++)
		n++;
	cr_assert_eq(n, LEDGER, "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "resubmit", "--group", "xyz",
			    NULL), 2);

	/* resubmit the group: the dry run counts it exactly, sends nothing */
	drv_fmt(body, sizeof(body), "{\"group\": \"%s\", \"set\": "
		"[\"ok=true\"], \"dry_run\": true}", gid);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS, body, &o),
		     200);
	cr_assert_eq(num(o, "matched"), LEDGER);
	cr_assert_eq(num(o, "resubmitted"), LEDGER);
	json_decref(o);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "ok", NULL), 0);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS,
			 "{\"group\": \"xyz\"}", &o), 400);
	cr_assert_str_eq(str(o, "pointer"), "/group");
	json_decref(o);
	drv_fmt(body, sizeof(body), "{\"group\": \"%s\", \"ids\": "
		"[\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"]}", gid);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS, body, &o),
		     400);
	json_decref(o);

	/* for real: each once, and they run */
	drv_fmt(body, sizeof(body), "{\"group\": \"%s\", \"set\": "
		"[\"ok=true\"]}", gid);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS, body, &o),
		     200);
	cr_assert_eq(num(o, "resubmitted"), LEDGER);
	cr_assert_eq(num(o, "failed"), 0);
	json_decref(o);
	cr_assert_eq(it_wait_count(&ctx, "ok", NULL, LEDGER, 60000), LEDGER);
	cr_assert_eq(api(port, "POST", "/api/v1/dlq/resubmit", OPS, body, &o),
		     200);
	cr_assert_eq(num(o, "resubmitted"), 0);
	cr_assert_eq(num(o, "already_resubmitted"), LEDGER);
	json_decref(o);
	sleep(1);
	cr_assert_eq(it_count(&ctx, "ok", NULL), LEDGER);
	/* the count is of dead letters that happened: it stays; each sample
	 * shows the task its resubmission sent */
	drv_fmt(path, sizeof(path), "/api/v1/dlq/groups/%s", gid);
	o = get(port, path);
	cr_assert_eq(num(o, "count"), LEDGER);
	json_array_foreach(json_object_get(o, "samples"), i, s)
		cr_assert_eq(strlen(str(s, "resubmitted_task_id")), DRV_ID_LEN,
			     "sample %s", str(s, "id"));
	json_decref(o);
	cr_assert_eq(it_ctl(&ctx, &out, "dlq", "group", gid, NULL), 0);
	cr_assert(strstr(out, "count           5"), "%s", out);
	cr_assert(strstr(out, "resubmitted as "), "%s", out);
	free(out);
	cr_assert_eq(it_ctl(&ctx, NULL, "dlq", "group", "0000000000000000",
			    NULL), 1);

	it_stop(worker, SIGTERM, 10000);
	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}

/* The count of \p handler's group as `droverctl dlq groups --json` reads
 * it; -1 when the command failed (Redis down), 0 when there is none. */
static long long ctl_count(it_ctx_t *ctx, const char *handler)
{
	json_t *o, *g;
	char *out = NULL;
	long long n = -1;

	if (it_ctl(ctx, &out, "dlq", "groups", "--json", NULL) == 0 &&
	    (o = json_loads(out, 0, NULL))) {
		g = group_of(o, handler);
		n = g ? num(g, "count") : 0;
		json_decref(o);
	}
	free(out);
	return n;
}

/* The DLQ's depth as `droverctl dlq stats --json` reads it (Kafka only). */
static long long dlq_depth(it_ctx_t *ctx)
{
	json_t *o;
	char *out = NULL;
	long long n = -1;

	if (it_ctl(ctx, &out, "dlq", "stats", "--json", NULL) == 0 &&
	    (o = json_loads(out, 0, NULL))) {
		n = num(o, "count");
		json_decref(o);
	}
	free(out);
	return n;
}

/* Redis down: dead letters still reach the DLQ; their index writes wait in
 * the state writer's queue and are written once Redis is back. */
Test(dlq_groups, redis_down_loses_no_dead_letter, .timeout = 240)
{
	int rport = it_free_port();
	char url[64], yaml[512];
	const char *saved = getenv("DROVER_REDIS_URL");
	char *old = saved ? strdup(saved) : NULL;
	long long n = 0;
	it_ctx_t ctx;
	pid_t redis, worker;

	redis = it_redis_start(rport);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rport);
	setenv("DROVER_REDIS_URL", url, 1);
	snprintf(yaml, sizeof(yaml), "  mailer:\n"
		 "    shell: true\n"
		 "    command: 'exit 5'\n"
		 "redis:\n"
		 "  connect_timeout: 300ms\n");
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "mailer", 1);
	for (int t = 0; t < 120 && n < 1; t++, n < 1 ? sleep(1) : 0)
		n = ctl_count(&ctx, "mailer");
	cr_assert_eq(n, 1, "indexed: %lld", n);

	it_redis_kill(redis);
	it_publish_many(&ctx, "mailer", 4);
	for (int t = 0; t < 120 && (n = dlq_depth(&ctx)) < 5; t++)
		sleep(1);
	cr_assert_eq(n, 5, "the DLQ holds %lld with Redis down", n);
	cr_assert_eq(ctl_count(&ctx, "mailer"), -1, "Redis is down");

	/* a new, empty Redis: the writes queued meanwhile arrive */
	redis = it_redis_start(rport);
	n = 0;
	for (int t = 0; t < 90 && n < 4; t++, n < 4 ? sleep(1) : 0)
		n = ctl_count(&ctx, "mailer");
	cr_assert_eq(n, 4, "indexed after Redis came back: %lld", n);

	cr_assert_eq(it_stop(worker, SIGTERM, 30000), 0);
	it_redis_kill(redis);
	if (old)
		setenv("DROVER_REDIS_URL", old, 1);
	free(old);
	it_teardown(&ctx);
}
