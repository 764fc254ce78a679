/*
 * test_schedule.c — schedules and triggers in the config (keys, defaults,
 * errors with file:line:col), the JSON form of run-time schedules, and the
 * schedule set: the heap always yields the earliest due schedule (checked
 * against a scan under random puts, removes and moves), start/end, jitter,
 * and where a new leader resumes under each catch-up policy.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/sched_edit.h"
#include "drover/schedule.h"
#include "drover/str.h"
#include "time_scale.h"

static drv_config_t *load(const char *yaml)
{
	drv_config_t *cfg = NULL;
	char err[512];
	drv_err_t rc = drv_config_load_string("s.yaml", yaml, strlen(yaml),
					      NULL, &cfg, err, sizeof(err));

	cr_assert_eq(rc, DRV_OK, "%s", err);
	return cfg;
}

static void expect_error(const char *yaml, const char *msg)
{
	drv_config_t *cfg = NULL;
	char err[512] = "";

	cr_assert_neq(drv_config_load_string("s.yaml", yaml, strlen(yaml),
					     NULL, &cfg, err, sizeof(err)),
		      DRV_OK, "loaded: %s", yaml);
	cr_assert_str_eq(err, msg);
}

static int64_t t(const char *s)
{
	int64_t ms;

	cr_assert_eq(drv_parse_time(s, &ms), 0, "%s", s);
	return ms;
}

Test(schedule_config, keys_and_defaults)
{
	drv_config_t *cfg = load(
		"handlers:\n"
		"  echo: {command: [cat]}\n"
		"schedules:\n"
		"  beat:\n"
		"    cron: \"*/5 * * * * *\"\n"
		"    handler: echo\n"
		"  nightly:\n"
		"    cron: \"30 2 * * *\"\n"
		"    timezone: Europe/London\n"
		"    enabled: false\n"
		"    start: 2026-01-01T00:00:00Z\n"
		"    end: 2027-01-01T00:00:00+01:00\n"
		"    jitter: 10s\n"
		"    overlap: skip\n"
		"    catchup: all\n"
		"    catchup_window: 2h\n"
		"    handler: echo\n"
		"    payload: {kind: nightly, n: 2, ok: true, l: [1, \"2\"]}\n"
		"    priority: 9\n"
		"    policy: aggressive\n"
		"    max_attempts: 3\n"
		"    deadline: 1h\n"
		"    labels: {team: ops}\n"
		"triggers:\n"
		"  on-order:\n"
		"    event: order.*\n"
		"    where: {region: \"eu-*\"}\n"
		"    handler: echo\n");
	const drv_schedule_conf_t *b = drv_config_schedule(cfg, "beat");
	const drv_schedule_conf_t *n = drv_config_schedule(cfg, "nightly");

	cr_assert_eq(cfg->schedule_cnt, 2);
	cr_assert(b && n);
	cr_assert_str_eq(b->timezone, "UTC");
	cr_assert(b->enabled);
	cr_assert_eq(b->overlap, DRV_OVERLAP_ALLOW);
	cr_assert_eq(b->catchup, DRV_CATCHUP_ONCE);
	cr_assert_eq(b->catchup_window_ms, 3600000);
	cr_assert_eq(b->task.priority, 5);
	cr_assert_null(b->task.payload);
	cr_assert_eq(b->start_ms, 0);
	cr_assert_not(n->enabled);
	cr_assert_eq(n->start_ms, t("2026-01-01T00:00:00Z"));
	cr_assert_eq(n->end_ms, t("2026-12-31T23:00:00Z"));
	cr_assert_eq(n->jitter_ms, 10000);
	cr_assert_eq(n->overlap, DRV_OVERLAP_SKIP);
	cr_assert_eq(n->catchup, DRV_CATCHUP_ALL);
	cr_assert_str_eq(n->task.payload,
			 "{\"kind\":\"nightly\",\"n\":2,\"ok\":true,"
			 "\"l\":[1,\"2\"]}");
	cr_assert_eq(n->task.priority, 9);
	cr_assert_str_eq(n->task.policy, "aggressive");
	cr_assert_eq(n->task.deadline_ms, 3600000);
	cr_assert_eq(n->task.label_cnt, 1);
	cr_assert_eq(cfg->trigger_cnt, 1);
	cr_assert_str_eq(cfg->triggers[0].event, "order.*");
	cr_assert_str_eq(cfg->triggers[0].where[0].value, "eu-*");
	cr_assert_eq(cfg->coordinator.http_port, 9465);
	drv_config_destroy(cfg);
}

Test(schedule_config, errors_name_the_place)
{
	expect_error("schedules:\n  x:\n    cron: \"* 25 * * *\"\n"
		     "    handler: a\n",
		     "s.yaml:3:11: schedules.x.cron: cron: hour field: '25' "
		     "is out of range 0-23 (at column 3)");
	expect_error("schedules:\n  x:\n    handler: a\n",
		     "s.yaml:2:3: schedules.x: needs a cron");
	expect_error("schedules:\n  x:\n    cron: \"* * * * *\"\n"
		     "    handler: a\n    catchup: some\n",
		     "s.yaml:5:14: schedules.x.catchup: expected one of skip, "
		     "once, all, got 'some'");
	expect_error("schedules:\n  x:\n    cron: \"* * * * *\"\n"
		     "    handler: a\n    start: yesterday\n",
		     "s.yaml:5:12: schedules.x.start: 'yesterday' is not an "
		     "RFC 3339 time such as 2026-03-08T09:00:00Z");
	expect_error("schedules:\n  x:\n    cron: \"* * * * *\"\n"
		     "    handler: a\n    hanlder: b\n",
		     "s.yaml:5:5: unknown key 'schedules.x.hanlder' (did you "
		     "mean 'schedules.x.handler'?)");
	expect_error("handlers:\n  echo: {command: [cat]}\nschedules:\n"
		     "  x:\n    cron: \"* * * * *\"\n    handler: ecoh\n",
		     "s.yaml:6:14: schedules.x.handler: unknown handler "
		     "'ecoh' (did you mean 'echo'?)");
	expect_error("schedules:\n  x:\n    cron: \"* * * * *\"\n"
		     "    handler: a\n    policy: agressive\n",
		     "s.yaml:5:13: schedules.x.policy: unknown retry policy "
		     "'agressive' (did you mean 'aggressive'?)");
	expect_error("triggers:\n  t:\n    handler: a\n",
		     "s.yaml:2:3: triggers.t: needs a event");
	expect_error("schedules:\n  X!:\n    cron: \"* * * * *\"\n",
		     "s.yaml:2:3: schedules: invalid schedule name 'X!' (use 1 "
		     "to 64 of a-z 0-9 _ . -)");
}

/* Issue 17 item 8: a payload of YAML aliases that names half a million
 * strings in a few hundred bytes is refused, quickly, where it is written
 * (the full bomb, nine levels, took 10 s and 1.2 GB every 2 s reload). */
Test(schedule_config, alias_bomb_refused)
{
	const char *yaml =
		"schedules:\n  x:\n    cron: \"* * * * *\"\n"
		"    handler: a\n    payload:\n"
		"      a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		"      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"      f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	int64_t t0 = drv_mono_ms();

	expect_error(yaml, "s.yaml:6:7: schedules.x.payload: expands to more "
		     "than 100000 values or 1048576 bytes of text (YAML "
		     "aliases repeat what their anchor names)");
	cr_assert_lt(drv_mono_ms() - t0, scaled(1000));
}

Test(schedule_config, json_round_trip)
{
	drv_config_t *cfg = load(
		"schedules:\n  n:\n    cron: \"0 9 * * MON-FRI\"\n"
		"    timezone: America/New_York\n    handler: h\n"
		"    payload: {a: [1, 2]}\n    labels: {x: y}\n"
		"    overlap: buffer_one\n    jitter: 1500ms\n"
		"    end: 2030-01-01T00:00:00Z\n");
	drv_schedule_conf_t back;
	char err[256], *json = drv_schedule_conf_to_json(&cfg->schedules[0]);
	char *again;

	cr_assert(json);
	cr_assert_eq(drv_schedule_conf_from_json("n", json, &back, err,
						 sizeof(err)), DRV_OK, "%s",
		     err);
	again = drv_schedule_conf_to_json(&back);
	cr_assert_str_eq(json, again);
	cr_assert_eq(back.end_ms, t("2030-01-01T00:00:00Z"));
	cr_assert_eq(back.overlap, DRV_OVERLAP_BUFFER_ONE);
	cr_assert_str_eq(back.task.payload, "{\"a\":[1,2]}");
	free(json);
	free(again);
	drv_schedule_conf_release(&back);
	drv_config_destroy(cfg);

	cr_assert_eq(drv_schedule_conf_from_json("n", "{\"cron\":\"* 99 * * "
		"*\",\"handler\":\"h\"}", &back, err, sizeof(err)),
		DRV_ERR_CONFIG);
	cr_assert_str_eq(err, "schedules.n.cron: cron: hour field: '99' is "
			 "out of range 0-23 (at column 3)");
	cr_assert_eq(drv_schedule_conf_from_json("n", "{\"cron\":\"* * * * "
		"*\"}", &back, err, sizeof(err)), DRV_ERR_CONFIG);
	cr_assert_str_eq(err, "schedules.n: needs a handler");
	cr_assert_eq(drv_schedule_conf_from_json("n", "{\"crn\":1}", &back,
		err, sizeof(err)), DRV_ERR_CONFIG);
	cr_assert_str_eq(err, "unknown key 'schedules.n.crn' (did you mean "
			 "'cron'?)");
	cr_assert_eq(drv_schedule_conf_from_json("Bad id", "{}", &back, err,
		sizeof(err)), DRV_ERR_INVALID);
}

static drv_schedule_conf_t conf(const char *id, const char *cron)
{
	drv_schedule_conf_t c = { 0 };

	c.name = (char *)id;
	c.cron = (char *)cron;
	c.enabled = true;
	c.catchup = DRV_CATCHUP_ONCE;
	c.catchup_window_ms = 3600000;
	c.task.handler = (char *)"h";
	c.task.priority = 5;
	return c;
}

static drv_sched_item_t *put(drv_sched_t *s, drv_schedule_conf_t c)
{
	drv_sched_item_t *it = NULL;
	char err[256];

	cr_assert_eq(drv_sched_put(s, &c, false, &it, err, sizeof(err)),
		     DRV_OK, "%s", err);
	return it;
}

/* The heap agrees with a scan of every schedule, whatever is done. */
Test(schedule_set, heap_yields_the_earliest)
{
	drv_sched_t *s = drv_sched_new();
	char id[32];

	srand(7);
	for (int step = 0; step < 20000; step++) {
		int op = rand() % 10, k = rand() % 300;
		drv_sched_item_t *it, *min = NULL;

		drv_fmt(id, sizeof(id), "s%d", k);
		if (op < 6) {
			it = drv_sched_get(s, id);
			if (!it)
				it = put(s, conf(id, "* * * * *"));
			drv_sched_set_next(s, it, rand() % 8 ? 1000 *
				(int64_t)(rand() % 100000) : DRV_SCHED_NEVER);
		} else if (op < 8) {
			drv_sched_remove(s, id, NULL);
		} else {
			put(s, conf(id, "*/5 * * * *"));
		}
		for (size_t i = 0; i < drv_sched_count(s); i++) {
			it = drv_sched_at(s, i);
			cr_assert_eq(drv_sched_get(s, it->conf.name), it);
			if (it->due_ms != DRV_SCHED_NEVER &&
			    (!min || it->due_ms < min->due_ms))
				min = it;
		}
		it = drv_sched_peek(s);
		if (!min)
			cr_assert_null(it);
		else
			cr_assert_eq(it->due_ms, min->due_ms, "step %d", step);
	}
	drv_sched_destroy(s);
}

Test(schedule_set, start_end_and_jitter)
{
	drv_sched_t *s = drv_sched_new();
	drv_schedule_conf_t c = conf("j", "0 * * * *");
	drv_sched_item_t *it;
	int64_t base = t("2026-05-01T00:00:00Z");

	c.start_ms = t("2026-05-01T03:30:00Z");
	c.end_ms = t("2026-05-01T05:00:00Z");
	c.jitter_ms = 30000;
	it = put(s, c);
	cr_assert_eq(drv_sched_next_time(it, base), t("2026-05-01T04:00:00Z"));
	cr_assert_eq(drv_sched_next_time(it, t("2026-05-01T04:00:00Z")),
		     t("2026-05-01T05:00:00Z"));
	cr_assert_eq(drv_sched_next_time(it, t("2026-05-01T05:00:00Z")),
		     DRV_SCHED_NEVER);
	for (int i = 0; i < 50; i++) {
		int64_t j = drv_sched_jitter(it, base + i * 3600000);

		cr_assert(j >= 0 && j <= 30000);
		cr_assert_eq(j, drv_sched_jitter(it, base + i * 3600000));
	}
	drv_sched_set_next(s, it, base);
	cr_assert_eq(it->due_ms, base + drv_sched_jitter(it, base));
	drv_sched_destroy(s);
}

Test(schedule_set, resume_follows_the_catchup_policy)
{
	drv_sched_t *s = drv_sched_new();
	drv_schedule_conf_t c = conf("c", "*/2 * * * * *");
	drv_sched_item_t *it;
	int64_t now = t("2026-05-01T00:01:00.500Z"), missed;

	/* last fired at 00:00:40; 00:00:42 .. 00:01:00 since; grace 5s:
	 * 00:00:56 .. 00:01:00 are late but due, 00:00:42 .. 00:00:54 missed */
	int64_t last = t("2026-05-01T00:00:40Z");

	c.catchup = DRV_CATCHUP_SKIP;
	it = put(s, c);
	cr_assert_eq(drv_sched_resume(it, last, now, 5000, &missed),
		     t("2026-05-01T00:00:56Z"));
	cr_assert_eq(missed, 7);
	c.catchup = DRV_CATCHUP_ONCE;
	it = put(s, c);
	cr_assert_eq(drv_sched_resume(it, last, now, 5000, &missed),
		     t("2026-05-01T00:00:54Z"));
	cr_assert_eq(missed, 6);
	c.catchup = DRV_CATCHUP_ALL;
	it = put(s, c);
	cr_assert_eq(drv_sched_resume(it, last, now, 5000, &missed),
		     t("2026-05-01T00:00:42Z"));
	cr_assert_eq(missed, 0);
	/* a 10 s window keeps only 00:00:52 and 00:00:54 of the missed */
	c.catchup_window_ms = 10000;
	it = put(s, c);
	cr_assert_eq(drv_sched_resume(it, last, now, 5000, &missed),
		     t("2026-05-01T00:00:52Z"));
	cr_assert_eq(missed, 5);
	/* nothing missed: the next time after the last fire */
	cr_assert_eq(drv_sched_resume(it, t("2026-05-01T00:00:58Z"), now, 5000,
				      NULL), t("2026-05-01T00:01:00Z"));
	/* never fired: from now on */
	cr_assert_eq(drv_sched_resume(it, -1, now, 5000, NULL),
		     t("2026-05-01T00:01:02Z"));
	drv_sched_destroy(s);
}

Test(schedule_set, replace_keeps_user_and_bad_cron_is_refused)
{
	drv_sched_t *s = drv_sched_new();
	drv_sched_item_t *it = put(s, conf("a", "* * * * *"));
	drv_schedule_conf_t bad = conf("a", "* * * *");
	int user;
	char err[256];

	it->user = &user;
	drv_sched_set_next(s, it, 60000);
	it = put(s, conf("a", "*/2 * * * *"));
	cr_assert_eq(it->user, &user);
	cr_assert_null(drv_sched_peek(s));
	cr_assert_eq(drv_sched_put(s, &bad, false, NULL, err, sizeof(err)),
		     DRV_ERR_INVALID);
	cr_assert_eq(drv_sched_count(s), 1);
	cr_assert_str_eq(drv_sched_get(s, "a")->conf.cron, "*/2 * * * *");
	drv_sched_destroy(s);
}

/* Append a formatted line to \p buf (\p size bytes). */
static void add(char *buf, size_t size, const char *line)
{
	size_t len = strlen(buf);

	cr_assert(drv_fmt(buf + len, size - len, "%s", line));
}

/* A large map finds duplicate keys by sorting: same message, same place
 * as the pairwise check of small maps. */
Test(schedule_config, duplicate_in_a_large_map)
{
	size_t size = 200 * 80;
	char *yaml = calloc(1, size), line[80];
	drv_config_t *cfg;

	cr_assert(yaml);
	add(yaml, size, "schedules:\n");
	for (int i = 0; i < 100; i++) {
		drv_fmt(line, sizeof(line), "  s%d: {cron: \"* * * * *\", "
			"handler: h}\n", i);
		add(yaml, size, line);
	}
	cfg = load(yaml);
	cr_assert_eq(cfg->schedule_cnt, 100);
	drv_config_destroy(cfg);
	/* s7 again on line 102, s3 again on line 103: the first repeat */
	add(yaml, size, "  s7: {cron: \"* * * * *\", handler: h}\n");
	add(yaml, size, "  s3: {cron: \"* * * * *\", handler: h}\n");
	expect_error(yaml, "s.yaml:102:3: duplicate key 'schedules.s7' "
		     "(first at line 9)");
	free(yaml);
}

/* The change droverctl schedule update and PATCH /api/v1/schedules/{id}
 * make (drv_sched_def_merge): members replace, null removes, labels merge
 * label by label; a file schedule and a bad definition are refused. */
Test(schedule, def_merge)
{
	drv_config_t *cfg = load("handlers:\n  h: {type: noop}\n"
				 "schedules:\n  filed: {cron: '@daily', "
				 "handler: h}\n");
	char err[512], *a = NULL, *b = NULL;
	json_t *j;

	cr_assert_eq(drv_sched_def_merge(cfg, "s1", NULL, "{\"cron\": "
		     "\"0 3 * * *\", \"handler\": \"h\", \"jitter\": 5000, "
		     "\"payload\": {\"x\": 1, \"y\": 2}, \"labels\": {\"a\": "
		     "\"1\", \"b\": \"2\"}}", &a, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(drv_sched_def_merge(cfg, "s1", a, "{\"cron\": "
		     "\"0 4 * * *\", \"jitter\": null, \"payload\": {\"z\": 3}, "
		     "\"labels\": {\"b\": null, \"c\": \"3\"}}", &b, err,
		     sizeof(err)), DRV_OK, "%s", err);
	j = json_loads(b, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "cron")),
			 "0 4 * * *");
	cr_assert_eq(json_integer_value(json_object_get(j, "jitter")), 0,
		     "null: back to the default");
	cr_assert_str_eq(json_string_value(json_object_get(j, "handler")),
			 "h", "kept");
	cr_assert_null(json_object_get(json_object_get(j, "payload"), "x"),
		       "a payload is replaced whole");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j,
		     "payload"), "z")), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
			 "labels"), "a")), "1");
	cr_assert_null(json_object_get(json_object_get(j, "labels"), "b"));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
			 "labels"), "c")), "3");
	json_decref(j);
	free(a);
	free(b);
	cr_assert_eq(drv_sched_def_merge(cfg, "filed", NULL, "{\"cron\": "
		     "\"@hourly\", \"handler\": \"h\"}", &a, err, sizeof(err)),
		     DRV_ERR_UNSUPPORTED);
	cr_assert(strstr(err, "defined in"), "%s", err);
	cr_assert_eq(drv_sched_def_merge(cfg, "s2", NULL, "{\"cron\": "
		     "\"61 * * * *\", \"handler\": \"h\"}", &a, err,
		     sizeof(err)), DRV_ERR_INVALID);
	cr_assert(strstr(err, "cron"), "%s", err);
	cr_assert_eq(drv_sched_def_merge(cfg, "s2", NULL, "{\"cron\": "
		     "\"@daily\", \"handler\": \"nope\"}", &a, err,
		     sizeof(err)), DRV_ERR_INVALID);
	cr_assert_eq(drv_sched_def_merge(cfg, "Bad Id", NULL, "{\"cron\": "
		     "\"@daily\", \"handler\": \"h\"}", &a, err, sizeof(err)),
		     DRV_ERR_INVALID);
	/* a NUL inside a payload string is JSON (the API takes it): kept,
	 * and merged again (the contract test found it refused) */
	cr_assert_eq(drv_sched_def_merge(cfg, "s3", NULL, "{\"cron\": "
		     "\"@daily\", \"handler\": \"h\", \"payload\": {\"k\": "
		     "\"a\\u0000b\"}}", &a, err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_eq(drv_sched_def_merge(cfg, "s3", a, "{\"jitter\": 5}", &b,
					 err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert(strstr(b, "a\\u0000b"), "%s", b);
	free(a);
	free(b);
	drv_config_destroy(cfg);
}
