/*
 * 0106 — schedules over the HTTP API against the real Kafka, Redis and a
 * leading coordinator: GET /api/v1/schedules lists the config file's and
 * the run-time schedules with their next fire time, as `droverctl schedule
 * list --json` does; one by id, 404 for an unknown one; its next fire
 * times in its zone or another (as `droverctl schedule next ID`), 400 for
 * a bad count, zone or time; disable and enable
 * by an operator reach the coordinator and droverctl, leave an audit
 * record, and are refused to a viewer. And the list is paged by cursor
 * (issue 13): 120 schedules, file and run-time ones interleaved, come in
 * id order in pages of 50, 50 and 20, each id once; the default page is
 * 50; droverctl schedule list --limit/--cursor gives the same pages; a
 * schedule deleted between two pages moves no other one across the
 * cursor; a bad limit or cursor is a 400. A page reads the run-time
 * schedules through their id index (P schedules:ids), which a store
 * written without it (an older drover: the hash alone) gets rebuilt on the
 * next page; a run-time entry a file schedule shadows is listed once, as
 * the file's, and a page shows its schedules' overrides and each its own
 * statistics.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drover/config.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

#define VIEWER "viewer-token-0106"
#define OPS    "ops-token-0106"

/* \p method \p path as \p token; the status, the parsed body in *out
 * (NULL when not wanted or not JSON). */
static int call(int port, const char *method, const char *path,
		const char *token, json_t **out)
{
	char *body = NULL;
	int st = it_http_request(port, method, path, token, NULL, &body);

	if (out)
		*out = body ? json_loads(body, 0, NULL) : NULL;
	free(body);
	return st;
}

static json_t *find(json_t *arr, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(arr, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "id")), id))
			return s;
	return NULL;
}

/* `droverctl schedule show ID --json`: is it enabled? */
static bool ctl_enabled(it_ctx_t *ctx, const char *id)
{
	char *out = NULL;
	json_t *j;
	bool on;

	cr_assert_eq(it_ctl(ctx, &out, "schedule", "show", id, "--json", NULL),
		     0);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	on = json_is_true(json_object_get(j, "enabled"));
	json_decref(j);
	free(out);
	return on;
}

/* A stack whose coordinator config serves the API on \p port to the tokens
 * VIEWER and OPS, with the file schedules \p schedules (YAML lines). */
static void setup_api(it_ctx_t *ctx, int port, const char *schedules)
{
	size_t size = strlen(schedules) + 512;
	char *sections = malloc(size);

	cr_assert_not_null(sections);
	it_setup(ctx, "  noop:\n    type: noop\n");
	it_topics(ctx);
	drv_fmt(sections, size,
		"api:\n  port: %d\n"
		"api_tokens:\n"
		"  viewer: {role: viewer, env: IT_API_VIEWER_0106}\n"
		"  ops: {role: operator, env: IT_API_OPS_0106}\n"
		"schedules:\n%s", port, schedules);
	it_coord_config(ctx, "", sections);
	free(sections);
	setenv("IT_API_VIEWER_0106", VIEWER, 1);
	setenv("IT_API_OPS_0106", OPS, 1);
}

Test(schedules_api, list_show_disable_enable, .timeout = 120)
{
	it_ctx_t ctx;
	char *out = NULL;
	int port = it_free_port();
	json_t *j, *s;
	pid_t coord;

	setup_api(&ctx, port, "  yearly:\n"
			      "    cron: \"0 0 1 1 *\"\n"
			      "    handler: noop\n");
	cr_assert_eq(it_ctl(&ctx, NULL, "schedule", "add", "nightly", "--cron",
			    "0 3 * * *", "--tz", "Europe/Paris", "--handler",
			    "noop", NULL), 0);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_coord_log_wait(&ctx, "c1", "became leader", 15000));
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 10000));

	/* the list: both, with what droverctl says */
	cr_assert_eq(call(port, "GET", "/api/v1/schedules", VIEWER, &j), 200);
	cr_assert_eq(json_array_size(json_object_get(j, "schedules")), 2);
	s = find(json_object_get(j, "schedules"), "yearly");
	cr_assert_not_null(s);
	cr_expect_str_eq(json_string_value(json_object_get(s, "source")),
			 "file");
	cr_expect(json_is_true(json_object_get(s, "enabled")));
	cr_expect(json_integer_value(json_object_get(json_object_get(s,
		  "stats"), "next_ms")) > it_now_ms(), "a next fire time");
	s = find(json_object_get(j, "schedules"), "nightly");
	cr_assert_not_null(s);
	cr_expect_str_eq(json_string_value(json_object_get(s, "source")),
			 "runtime");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(s,
			 "definition"), "timezone")), "Europe/Paris");
	cr_assert_eq(it_ctl(&ctx, &out, "schedule", "list", "--json", NULL),
		     0);
	cr_expect(strstr(out, "\"nightly\"") && strstr(out, "\"yearly\""),
		  "%s", out);
	free(out);
	json_decref(j);

	cr_assert_eq(call(port, "GET", "/api/v1/schedules/nightly", VIEWER,
			  &j), 200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "id")),
			 "nightly");
	json_decref(j);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules/nope", VIEWER, NULL),
		     404);

	/* the next fire times, in the schedule's zone (Paris leaves CET on
	 * 2026-03-29) or another, as droverctl schedule next gives them */
	cr_assert_eq(call(port, "GET", "/api/v1/schedules/nightly/next?"
			  "count=3&after=2026-03-27T12:00:00Z", VIEWER, &j),
		     200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "zone")),
			 "Europe/Paris");
	cr_assert_eq(json_array_size(json_object_get(j, "times")), 3);
	{
		static const char *const utc[] = { "2026-03-28T02:00:00Z",
						   "2026-03-29T01:00:00Z",
						   "2026-03-30T01:00:00Z" };
		char *line = NULL;
		json_t *ctl;

		for (size_t i = 0; i < 3; i++)
			cr_expect_str_eq(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "times"), i),
				"utc")), utc[i], "time %zu", i);
		cr_expect_str_eq(json_string_value(json_object_get(
			json_array_get(json_object_get(j, "times"), 1),
			"abbr")), "CEST");
		cr_assert_eq(it_ctl(&ctx, &line, "schedule", "next",
				    "nightly", "--count", "1", "--after",
				    "2026-03-28T12:00:00Z", "--json", NULL),
			     0);
		ctl = json_loads(line, 0, NULL);
		cr_expect(json_equal(ctl, json_array_get(json_object_get(j,
			  "times"), 1)), "droverctl: %s", line);
		json_decref(ctl);
		free(line);
	}
	json_decref(j);
	cr_assert_eq(call(port, "GET", "/api/v1/schedules/yearly/next?tz="
			  "Asia/Tokyo&after=2026-06-01T00:00:00Z", VIEWER,
			  &j), 200);
	cr_expect_eq(json_array_size(json_object_get(j, "times")), 5);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(j, "times"), 0), "utc")),
		"2026-12-31T15:00:00Z");
	json_decref(j);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules/nope/next", VIEWER,
			  NULL), 404);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules/nightly/next?"
			  "count=0", VIEWER, NULL), 400);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules/nightly/next?"
			  "tz=Nowhere/Land", VIEWER, NULL), 400);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules/nightly/next?"
			  "after=soon", VIEWER, NULL), 400);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules/No%20Such", VIEWER,
			  NULL), 404);

	/* disable and enable: a viewer may not; an operator's reach the
	 * leader and droverctl */
	cr_expect_eq(call(port, "POST", "/api/v1/schedules/nightly/disable",
			  VIEWER, NULL), 403);
	cr_expect(ctl_enabled(&ctx, "nightly"));
	cr_assert_eq(call(port, "POST", "/api/v1/schedules/nightly/disable",
			  OPS, &j), 200);
	cr_expect(json_is_false(json_object_get(j, "enabled")));
	json_decref(j);
	cr_expect(!ctl_enabled(&ctx, "nightly"));
	cr_expect(it_coord_log_wait(&ctx, "c1", "schedule disabled", 10000),
		  "the leader did not pick the disable up");
	cr_assert_eq(call(port, "POST", "/api/v1/schedules/yearly/disable",
			  OPS, NULL), 200);
	cr_expect(!ctl_enabled(&ctx, "yearly"), "a file schedule too");
	cr_assert_eq(call(port, "POST", "/api/v1/schedules/nightly/enable",
			  OPS, &j), 200);
	cr_expect(json_is_true(json_object_get(j, "enabled")));
	json_decref(j);
	cr_expect(ctl_enabled(&ctx, "nightly"));
	cr_expect(it_coord_log_wait(&ctx, "c1", "schedule enabled", 10000));
	cr_expect_eq(call(port, "POST", "/api/v1/schedules/nope/enable", OPS,
			  NULL), 404);

	/* each change left its audit record, by the token's name */
	cr_assert_eq(it_ctl(&ctx, &out, "audit", "list", "--json", NULL), 0);
	cr_expect(strstr(out, "schedule.disable") &&
		  strstr(out, "schedule.enable") && strstr(out, "\"ops\""),
		  "%s", out);
	free(out);

	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}

#define PAGED 120

/* GET /api/v1/schedules?QUERY: appends the page's ids to \p ids (from
 * *n), returns its next_cursor ("" on the last page) in \p next. */
static void page(int port, const char *query, char ids[][8], size_t *n,
		 char *next, size_t next_size)
{
	char path[200];
	json_t *j, *s;
	const char *nc;
	size_t i;

	drv_fmt(path, sizeof(path), "/api/v1/schedules?%s", query);
	cr_assert_eq(call(port, "GET", path, VIEWER, &j), 200, "%s", path);
	json_array_foreach(json_object_get(j, "schedules"), i, s) {
		cr_assert_lt(*n, PAGED + 1);
		drv_strlcpy(ids[(*n)++],
			    json_string_value(json_object_get(s, "id")), 8);
	}
	nc = json_string_value(json_object_get(j, "next_cursor"));
	drv_strlcpy(next, nc ? nc : "", next_size);
	json_decref(j);
}

Test(schedules_api, list_paged_by_cursor, .timeout = 120)
{
	static char yaml[16384], ids[PAGED + 1][8];
	char next[80], query[120], want[8];
	int port = it_free_port();
	size_t n = 0, off = 0, pages = 0;
	it_ctx_t ctx;
	pid_t coord;

	/* the even ids in the file, written last first */
	for (int i = PAGED - 2; i >= 0; i -= 2)
	{
		drv_fmt(yaml + off, sizeof(yaml) - off,
			"  s%03d:\n    cron: \"0 3 1 1 *\"\n"
			"    handler: noop\n", i);
		off += strlen(yaml + off);
	}
	setup_api(&ctx, port, yaml);
	coord = it_coordinator_start(&ctx, "c1");
	cr_assert(it_http_wait(port, "/api/v1/openapi.json", 15000));
	/* the odd ones at run time */
	for (int i = 1; i < PAGED; i += 2) {
		char body[160], *reply = NULL;

		drv_fmt(body, sizeof(body), "{\"id\": \"s%03d\", \"cron\": "
			"\"0 3 1 1 *\", \"handler\": \"noop\"}", i);
		cr_assert_eq(it_http_call(port, "POST", "/api/v1/schedules",
					  OPS, body, &reply), 201,
			     "add s%03d: %s", i, reply ? reply : "");
		free(reply);
	}

	/* three pages of 50, 50 and 20: every id once, in order */
	next[0] = '\0';
	do {
		size_t before = n;

		drv_fmt(query, sizeof(query), "limit=50%s%s",
			next[0] ? "&cursor=" : "", next);
		page(port, query, ids, &n, next, sizeof(next));
		cr_expect_eq(n - before, pages < 2 ? 50 : 20, "page %zu: %zu",
			     pages, n - before);
		pages++;
	} while (next[0] && pages < 5);
	cr_expect_eq(pages, 3);
	cr_assert_eq(n, PAGED);
	for (size_t i = 0; i < n; i++) {
		drv_fmt(want, sizeof(want), "s%03zu", i);
		cr_expect_str_eq(ids[i], want, "position %zu", i);
	}

	/* droverctl pages the same way, through the same core call */
	{
		char *out = NULL;
		json_t *j;

		cr_assert_eq(it_ctl(&ctx, &out, "schedule", "list", "--limit",
				    "50", "--cursor", "s049", "--json", NULL),
			     0);
		j = json_loads(out, 0, NULL);
		cr_assert_not_null(j, "not JSON: %s", out);
		cr_expect_eq(json_array_size(json_object_get(j, "schedules")),
			     50);
		cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
			json_object_get(j, "schedules"), 0), "id")), "s050");
		cr_expect_str_eq(json_string_value(json_object_get(j,
				 "next_cursor")), "s099");
		json_decref(j);
		free(out);
	}

	/* the default page is 50; deleting one of it moves nothing across
	 * its cursor */
	n = 0;
	page(port, "", ids, &n, next, sizeof(next));
	cr_expect_eq(n, 50);
	cr_expect_str_eq(next, "s049");
	cr_assert_eq(call(port, "DELETE", "/api/v1/schedules/s001", OPS,
			  NULL), 200);
	n = 0;
	drv_fmt(query, sizeof(query), "cursor=%s&limit=1", next);
	page(port, query, ids, &n, next, sizeof(next));
	cr_expect_eq(n, 1);
	cr_expect_str_eq(ids[0], "s050");
	cr_expect_str_eq(next, "s050");

	/* the index: one id per run-time schedule; a store written without
	 * it (the hash alone, as an older drover wrote it) is indexed again
	 * by the next page; a run-time entry under a file schedule's id is
	 * the file's; a disabled one on a page says so */
	{
		drv_config_t *cfg;
		redisContext *rc;
		redisReply *r;
		char err[512];
		json_t *j;
		char *reply = NULL;

		cr_assert_eq(drv_config_load(ctx.config, environ, &cfg, err,
					     sizeof(err)), DRV_OK, "%s", err);
		cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)),
			     DRV_OK, "%s", err);
		r = redisCommand(rc, "ZCARD %sschedules:ids",
				 cfg->redis.key_prefix);
		cr_assert(r && r->type == REDIS_REPLY_INTEGER);
		cr_expect_eq(r->integer, PAGED / 2 - 1, "%lld ids indexed",
			     r->integer);
		freeReplyObject(r);
		freeReplyObject(redisCommand(rc, "DEL %sschedules:ids",
					     cfg->redis.key_prefix));
		freeReplyObject(redisCommand(rc, "HSET %sschedules s121 %s "
			"s010 %s", cfg->redis.key_prefix,
			"{\"cron\": \"0 3 1 1 *\", \"handler\": \"noop\"}",
			"{\"cron\": \"0 4 1 1 *\", \"handler\": \"noop\"}"));
		cr_assert_eq(call(port, "POST", "/api/v1/schedules/s100/disable",
				  OPS, NULL), 200);
		/* each row of a page gets its own statistics (read for the
		 * whole page in one round trip) */
		freeReplyObject(redisCommand(rc, "HSET %ssched:stats:s101 "
			"fires 101 runs 1", cfg->redis.key_prefix));
		freeReplyObject(redisCommand(rc, "HSET %ssched:stats:s103 "
			"fires 103", cfg->redis.key_prefix));
		freeReplyObject(redisCommand(rc, "HSET %ssched:last s102 "
			"1700000000000", cfg->redis.key_prefix));
		freeReplyObject(redisCommand(rc, "RPUSH %ssched:durations:s103 "
			"7", cfg->redis.key_prefix));
		cr_assert_eq(it_http_call(port, "GET", "/api/v1/schedules?"
					  "cursor=s099&limit=50", VIEWER, NULL,
					  &reply), 200);
		j = json_loads(reply, 0, NULL);
		cr_assert_not_null(j, "%s", reply);
		cr_expect_eq(json_array_size(json_object_get(j, "schedules")),
			     21, "%s", reply);
		cr_expect_str_eq(json_string_value(json_object_get(
			json_array_get(json_object_get(j, "schedules"), 20),
			"id")), "s121");
		cr_expect(json_is_false(json_object_get(json_array_get(
			json_object_get(j, "schedules"), 0), "enabled")),
			  "s100 not disabled: %s", reply);
		for (int i = 1; i <= 4; i++) {
			json_t *st = json_object_get(json_array_get(
				json_object_get(j, "schedules"), i), "stats");

			cr_expect_eq(json_integer_value(json_object_get(st,
				     "fires")), i == 1 ? 101 : i == 3 ? 103 : 0,
				     "s10%d: %s", i, reply);
			cr_expect_eq(json_integer_value(json_object_get(st,
				     "last_fire_ms")), i == 2 ? 1700000000000 : 0,
				     "s10%d: %s", i, reply);
			cr_expect_eq(json_integer_value(json_object_get(st,
				     "p95_ms")), i == 3 ? 7 : 0, "s10%d: %s", i,
				     reply);
		}
		json_decref(j);
		free(reply);
		reply = NULL;
		cr_assert_eq(it_http_call(port, "GET", "/api/v1/schedules?"
					  "cursor=s009&limit=1", VIEWER, NULL,
					  &reply), 200);
		cr_expect(strstr(reply, "\"id\":\"s010\"") &&
			  strstr(reply, "\"source\":\"file\""), "%s", reply);
		free(reply);
		r = redisCommand(rc, "ZCARD %sschedules:ids",
				 cfg->redis.key_prefix);
		cr_assert(r && r->type == REDIS_REPLY_INTEGER);
		cr_expect_eq(r->integer, PAGED / 2 + 1, "%lld ids indexed "
			     "again", r->integer);
		freeReplyObject(r);
		redisFree(rc);
		drv_config_destroy(cfg);
	}

	/* bad paging is a 400 */
	cr_expect_eq(call(port, "GET", "/api/v1/schedules?limit=0", VIEWER,
			  NULL), 400);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules?limit=501", VIEWER,
			  NULL), 400);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules?cursor=Bad%20Id",
			  VIEWER, NULL), 400);
	cr_expect_eq(call(port, "GET", "/api/v1/schedules?color=red",
			  VIEWER, NULL), 400);

	it_stop(coord, SIGTERM, 10000);
	it_teardown(&ctx);
}
