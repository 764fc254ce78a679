/*
 * Unit tests for the configuration module: defaults, a file with every
 * section, every kind of error with its exact file:line:col message,
 * environment overrides, retry policies (built-in and from the file), the
 * handler types and their keys, the dump (redaction and round trip), the
 * example config and the generated reference page. Fixtures live in
 * tests/unit/config/; every test runs from the repository root.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/config.h"
#include "drover/redis.h"
#include "drover/kafka.h"
#include "drover/str.h"

/* meson runs tests in tests/; by hand they usually run from the root */
static void go_to_root(void)
{
	static const char *const up[] = { ".", "..", "../.." };

	for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		char probe[256];

		drv_fmt(probe, sizeof(probe), "%s/tests/unit/config/full.yaml",
			up[i]);
		if (access(probe, R_OK) == 0) {
			cr_assert_eq(chdir(up[i]), 0);
			return;
		}
	}
	cr_assert_fail("cannot find the repository root from here");
}

TestSuite(config, .init = go_to_root);

static drv_err_t load_fixture(const char *name, char *const *envp,
			      drv_config_t **cfg, char *err, size_t size)
{
	char path[256];

	drv_fmt(path, sizeof(path), "tests/unit/config/%s", name);
	return drv_config_load(path, envp, cfg, err, size);
}

static drv_err_t load_text(const char *text, char *const *envp,
			   drv_config_t **cfg, char *err, size_t size)
{
	return drv_config_load_string("f.yaml", text, strlen(text), envp, cfg,
				      err, size);
}

/* Load \p text (named f.yaml) and expect it to fail with \p msg. */
static void expect_text_error(const char *text, char *const *envp,
			      const char *msg)
{
	drv_config_t *cfg = NULL;
	char err[512] = "";

	cr_assert_eq(load_text(text, envp, &cfg, err, sizeof(err)),
		     DRV_ERR_CONFIG, "expected an error for:\n%s", text);
	cr_assert_null(cfg);
	if (msg)
		cr_assert_str_eq(err, msg);
}

static void expect_fixture_error(const char *name, const char *msg)
{
	drv_config_t *cfg = NULL;
	char err[512] = "", full[512];

	cr_assert_eq(load_fixture(name, NULL, &cfg, err, sizeof(err)),
		     DRV_ERR_CONFIG, "%s should not load", name);
	cr_assert_null(cfg);
	drv_fmt(full, sizeof(full), "tests/unit/config/%s", msg);
	cr_assert_str_eq(err, full);
}

/* The dump of \p cfg as one heap string (caller frees). */
static char *dump(const drv_config_t *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_not_null(m);
	drv_config_dump(cfg, m);
	fclose(m);
	return buf;
}

/* Load \p yaml into *cfg and dump it; none of \p secrets may show.
 * Returns the dump (caller frees). */
static char *dump_without(const char *yaml, drv_config_t **cfg,
			  const char *const *secrets, size_t n)
{
	char err[256] = "", *out;

	cr_assert_eq(load_text(yaml, NULL, cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	out = dump(*cfg);
	for (size_t i = 0; i < n; i++)
		cr_assert_null(strstr(out, secrets[i]), "%s leaked:\n%s",
			       secrets[i], out);
	return out;
}

static void assert_str_or_null_eq(const char *a, const char *b)
{
	if (!a || !b)
		cr_assert_eq(a, b, "%s vs %s", a ? a : "NULL", b ? b : "NULL");
	else
		cr_assert_str_eq(a, b);
}

static void assert_same_kvs(const drv_kv_t *a, size_t an, const drv_kv_t *b,
			    size_t bn)
{
	cr_assert_eq(an, bn);
	for (size_t i = 0; i < an; i++) {
		cr_assert_str_eq(a[i].key, b[i].key);
		cr_assert_str_eq(a[i].value, b[i].value);
	}
}

static void assert_same_policies(const drv_config_t *a, const drv_config_t *b)
{
	cr_assert_eq(a->policy_cnt, b->policy_cnt);
	for (size_t i = 0; i < a->policy_cnt; i++) {
		const drv_retry_policy_t *x = &a->policies[i];
		const drv_retry_policy_t *y = &b->policies[i];

		cr_assert_str_eq(x->name, y->name);
		cr_assert_eq(x->base_delay_ms, y->base_delay_ms, "%s", x->name);
		cr_assert_eq(x->multiplier, y->multiplier, "%s", x->name);
		cr_assert_eq(x->max_delay_ms, y->max_delay_ms, "%s", x->name);
		cr_assert_eq(x->max_attempts, y->max_attempts, "%s", x->name);
		cr_assert_eq(x->jitter, y->jitter, "%s", x->name);
	}
}

/* The keys of handler \p x that its type uses match \p y's. */
static void assert_same_handler(const drv_handler_conf_t *x,
				const drv_handler_conf_t *y)
{
	cr_assert_str_eq(x->name, y->name);
	cr_assert_eq(x->type, y->type);
	cr_assert_eq(x->timeout_ms, y->timeout_ms);
	cr_assert_eq(x->output_limit, y->output_limit);
	assert_str_or_null_eq(x->policy, y->policy);
	cr_assert_eq(x->max_attempts, y->max_attempts);
	switch (x->type) {
	case DRV_HANDLER_EXEC:
		cr_assert_eq(x->command_cnt, y->command_cnt);
		for (size_t j = 0; j < x->command_cnt; j++)
			cr_assert_str_eq(x->command[j], y->command[j]);
		cr_assert_null(x->command[x->command_cnt]);
		cr_assert_eq(x->shell, y->shell);
		assert_str_or_null_eq(x->workdir, y->workdir);
		assert_same_kvs(x->env, x->env_cnt, y->env, y->env_cnt);
		cr_assert_eq(x->transient_exit_code_cnt,
			     y->transient_exit_code_cnt);
		for (size_t j = 0; j < x->transient_exit_code_cnt; j++)
			cr_assert_eq(x->transient_exit_codes[j],
				     y->transient_exit_codes[j]);
		break;
	case DRV_HANDLER_HTTP:
		cr_assert_str_eq(x->url, y->url);
		cr_assert_str_eq(x->method, y->method);
		assert_same_kvs(x->headers, x->header_cnt, y->headers,
				y->header_cnt);
		cr_assert_eq(x->connect_timeout_ms, y->connect_timeout_ms);
		break;
	case DRV_HANDLER_PLUGIN:
		cr_assert_str_eq(x->plugin_path, y->plugin_path);
		assert_same_kvs(x->plugin_config, x->plugin_config_cnt,
				y->plugin_config, y->plugin_config_cnt);
		break;
	case DRV_HANDLER_SLEEP:
		cr_assert_eq(x->sleep_ms, y->sleep_ms);
		break;
	case DRV_HANDLER_WEBHOOK:
		cr_assert_eq(x->connect_timeout_ms, y->connect_timeout_ms);
		break;
	case DRV_HANDLER_NOOP:
		break;
	}
}

static void assert_same_config(const drv_config_t *a, const drv_config_t *b)
{
	cr_assert_str_eq(a->kafka.brokers, b->kafka.brokers);
	cr_assert_str_eq(a->kafka.client_id, b->kafka.client_id);
	cr_assert_str_eq(a->kafka.topic_prefix, b->kafka.topic_prefix);
	cr_assert_eq(a->kafka.partitions, b->kafka.partitions);
	cr_assert_eq(a->kafka.replication_factor,
		     b->kafka.replication_factor);
	cr_assert_eq(a->kafka.dlq_retention_ms, b->kafka.dlq_retention_ms);
	cr_assert_eq(a->kafka.connect_timeout_ms,
		     b->kafka.connect_timeout_ms);
	cr_assert_eq(a->kafka.delay_tier_cnt, b->kafka.delay_tier_cnt);
	for (size_t i = 0; i < a->kafka.delay_tier_cnt; i++)
		cr_assert_eq(a->kafka.delay_tiers_ms[i],
			     b->kafka.delay_tiers_ms[i]);
	cr_assert_eq(a->kafka.property_cnt, b->kafka.property_cnt);
	for (size_t i = 0; i < a->kafka.property_cnt; i++) {
		cr_assert_str_eq(a->kafka.properties[i].key,
				 b->kafka.properties[i].key);
		cr_assert_str_eq(a->kafka.properties[i].value,
				 b->kafka.properties[i].value);
	}
	cr_assert_str_eq(a->redis.url, b->redis.url);
	cr_assert_str_eq(a->redis.password, b->redis.password);
	cr_assert_str_eq(a->redis.key_prefix, b->redis.key_prefix);
	cr_assert_eq(a->redis.connect_timeout_ms,
		     b->redis.connect_timeout_ms);
	cr_assert_eq(a->log.level, b->log.level);
	cr_assert_eq(a->log.format, b->log.format);
	cr_assert_str_eq(a->worker.group, b->worker.group);
	cr_assert_eq(a->worker.concurrency, b->worker.concurrency);
	cr_assert_eq(a->worker.shutdown_grace_ms, b->worker.shutdown_grace_ms);
	cr_assert_eq(a->worker.default_timeout_ms,
		     b->worker.default_timeout_ms);
	cr_assert_eq(a->worker.output_limit, b->worker.output_limit);
	cr_assert_str_eq(a->worker.default_policy, b->worker.default_policy);
	cr_assert_eq(a->worker.lifecycle_events, b->worker.lifecycle_events);
	cr_assert_str_eq(a->coordinator.group, b->coordinator.group);
	assert_same_policies(a, b);
	cr_assert_eq(a->handler_cnt, b->handler_cnt);
	for (size_t i = 0; i < a->handler_cnt; i++)
		assert_same_handler(&a->handlers[i], &b->handlers[i]);
}

static void assert_defaults(const drv_config_t *c)
{
	cr_assert_str_eq(c->kafka.brokers, "127.0.0.1:9092");
	cr_assert_str_eq(c->kafka.client_id, "drover");
	cr_assert_str_eq(c->kafka.topic_prefix, "drover.");
	cr_assert_eq(c->kafka.partitions, 6);
	cr_assert_eq(c->kafka.replication_factor, 1);
	cr_assert_eq(c->kafka.dlq_retention_ms, 30LL * 86400 * 1000);
	cr_assert_eq(c->kafka.connect_timeout_ms, 10000);
	cr_assert_eq(c->kafka.delay_tier_cnt, 5);
	cr_assert_eq(c->kafka.delay_tiers_ms[0], 1000);
	cr_assert_eq(c->kafka.delay_tiers_ms[1], 10000);
	cr_assert_eq(c->kafka.delay_tiers_ms[2], 60000);
	cr_assert_eq(c->kafka.delay_tiers_ms[3], 600000);
	cr_assert_eq(c->kafka.delay_tiers_ms[4], 3600000);
	cr_assert_eq(c->kafka.property_cnt, 0);
	cr_assert_str_eq(c->redis.url, "redis://127.0.0.1:6379");
	cr_assert_str_eq(c->redis.password, "");
	cr_assert_str_eq(c->redis.key_prefix, "drover:");
	cr_assert_eq(c->redis.connect_timeout_ms, 2000);
	cr_assert_eq(c->log.level, DRV_LOG_INFO);
	cr_assert_eq(c->log.format, DRV_LOG_FORMAT_JSON);
	cr_assert_str_eq(c->worker.group, "drover-workers");
	cr_assert_eq(c->worker.concurrency, 4);
	cr_assert_eq(c->worker.shutdown_grace_ms, 30000);
	cr_assert_eq(c->worker.default_timeout_ms, 300000);
	cr_assert_eq(c->worker.output_limit, 65536);
	cr_assert_str_eq(c->worker.default_policy, "standard");
	cr_assert(c->worker.lifecycle_events);
	cr_assert_str_eq(c->coordinator.group, "drover-coordinator");
	cr_assert_eq(c->policy_cnt, 4);
	cr_assert_str_eq(c->policies[0].name, "standard");
	cr_assert_str_eq(c->policies[1].name, "aggressive");
	cr_assert_str_eq(c->policies[2].name, "conservative");
	cr_assert_str_eq(c->policies[3].name, "webhook");
	cr_assert_eq(c->handler_cnt, 0);
}

/* ---------------------------------------------------------------- */
/* Defaults and valid files                                          */
/* ---------------------------------------------------------------- */

Test(config, new_gives_defaults)
{
	drv_config_t *cfg = drv_config_new();

	cr_assert_not_null(cfg);
	assert_defaults(cfg);
	cr_assert_null(cfg->path);
	drv_config_destroy(cfg);
	drv_config_destroy(NULL);
}

Test(config, empty_text_gives_defaults)
{
	static const char *const texts[] = {
		"", "\n", "# just a comment\n", "---\n", "~\n",
		"kafka:\nworker: ~\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		drv_config_t *cfg = NULL;
		char err[256] = "";

		cr_assert_eq(load_text(texts[i], NULL, &cfg, err, sizeof(err)),
			     DRV_OK, "'%s': %s", texts[i], err);
		assert_defaults(cfg);
		cr_assert_str_eq(cfg->path, "f.yaml");
		drv_config_destroy(cfg);
	}
}

Test(config, comment_only_file_gives_defaults)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(load_fixture("empty.yaml", NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	assert_defaults(cfg);
	cr_assert_str_eq(cfg->path, "tests/unit/config/empty.yaml");
	drv_config_destroy(cfg);
}

Test(config, full_file_sets_every_section)
{
	drv_config_t *cfg = NULL;
	const drv_handler_conf_t *h;
	char err[256] = "";

	cr_assert_eq(load_fixture("full.yaml", NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_str_eq(cfg->kafka.brokers, "k1:9092,k2:9092");
	cr_assert_str_eq(cfg->kafka.client_id, "test-client");
	cr_assert_str_eq(cfg->kafka.topic_prefix, "acme.drover.");
	cr_assert_eq(cfg->kafka.partitions, 12);
	cr_assert_eq(cfg->kafka.replication_factor, 3);
	cr_assert_eq(cfg->kafka.dlq_retention_ms, 7LL * 86400 * 1000);
	cr_assert_eq(cfg->kafka.connect_timeout_ms, 1500);
	cr_assert_eq(cfg->kafka.delay_tier_cnt, 3);
	cr_assert_eq(cfg->kafka.delay_tiers_ms[0], 500);
	cr_assert_eq(cfg->kafka.delay_tiers_ms[1], 5000);
	cr_assert_eq(cfg->kafka.delay_tiers_ms[2], 90000);
	cr_assert_eq(cfg->kafka.property_cnt, 3);
	cr_assert_str_eq(cfg->kafka.properties[0].key, "security.protocol");
	cr_assert_str_eq(cfg->kafka.properties[0].value, "SASL_SSL");
	cr_assert_str_eq(cfg->kafka.properties[2].key,
			 "socket.keepalive.enable");
	cr_assert_str_eq(cfg->kafka.properties[2].value, "true");
	cr_assert_str_eq(cfg->redis.url, "redis://cache.internal:6380/2");
	cr_assert_str_eq(cfg->redis.password, "");
	cr_assert_str_eq(cfg->redis.key_prefix, "acme:");
	cr_assert_eq(cfg->redis.connect_timeout_ms, 500);
	cr_assert_eq(cfg->log.level, DRV_LOG_DEBUG);
	cr_assert_eq(cfg->log.format, DRV_LOG_FORMAT_LOGFMT);
	cr_assert_str_eq(cfg->worker.group, "acme-workers");
	cr_assert_eq(cfg->worker.concurrency, 32);
	cr_assert_eq(cfg->worker.shutdown_grace_ms, 0);
	cr_assert_eq(cfg->worker.default_timeout_ms, 90000);
	cr_assert_eq(cfg->worker.output_limit, 1024);
	cr_assert_str_eq(cfg->worker.default_policy, "slow");
	cr_assert_str_eq(cfg->coordinator.group, "acme-coordinator");

	/* built-ins first, aggressive redefined in place, then the file's */
	cr_assert_eq(cfg->policy_cnt, 5);
	cr_assert_str_eq(cfg->policies[1].name, "aggressive");
	cr_assert_eq(cfg->policies[1].max_attempts, 3);
	cr_assert_eq(cfg->policies[1].base_delay_ms, 1000, "standard's");
	cr_assert_eq(cfg->policies[1].jitter, DRV_JITTER_EQUAL, "standard's");
	cr_assert_str_eq(cfg->policies[4].name, "slow");
	cr_assert_eq(drv_config_policy(cfg, "slow"), &cfg->policies[4]);
	cr_assert_eq(cfg->policies[4].base_delay_ms, 10000);
	cr_assert_float_eq(cfg->policies[4].multiplier, 1.5, 1e-12);
	cr_assert_eq(cfg->policies[4].max_delay_ms, 600000);
	cr_assert_eq(cfg->policies[4].max_attempts, 5);
	cr_assert_eq(cfg->policies[4].jitter, DRV_JITTER_NONE);

	cr_assert_eq(cfg->handler_cnt, 7);
	h = drv_config_handler(cfg, "echo");
	cr_assert_not_null(h);
	cr_assert_eq(h->type, DRV_HANDLER_EXEC);
	cr_assert_eq(h->command_cnt, 1);
	cr_assert_str_eq(h->command[0], "cat");
	cr_assert_null(h->command[1]);
	cr_assert_not(h->shell);
	cr_assert_null(h->workdir);
	cr_assert_null(h->policy);
	cr_assert_eq(h->env_cnt, 0);
	cr_assert_eq(h->timeout_ms, 90000, "defaults to worker.default_timeout");
	cr_assert_eq(h->output_limit, 1024, "defaults to worker.output_limit");
	cr_assert_eq(h->max_attempts, 0);
	cr_assert_eq(h->transient_exit_code_cnt, 1);
	cr_assert_eq(h->transient_exit_codes[0], 75);

	h = drv_config_handler(cfg, "report");
	cr_assert_eq(h->command_cnt, 4);
	cr_assert_str_eq(h->command[0], "/usr/bin/report");
	cr_assert_str_eq(h->command[2], "today");
	cr_assert_str_eq(h->command[3], "");
	cr_assert_null(h->command[4]);
	cr_assert_str_eq(h->workdir, "/var/lib/report");
	cr_assert_eq(h->env_cnt, 2);
	cr_assert_str_eq(h->env[0].key, "DAY");
	cr_assert_str_eq(h->env[0].value, "monday");
	cr_assert_str_eq(h->env[1].key, "EMPTY");
	cr_assert_str_eq(h->env[1].value, "");
	cr_assert_eq(h->timeout_ms, 600000);
	cr_assert_eq(h->output_limit, 4096);
	cr_assert_str_eq(h->policy, "slow");
	cr_assert_eq(h->max_attempts, 7);
	cr_assert_eq(h->transient_exit_code_cnt, 2);
	cr_assert_eq(h->transient_exit_codes[0], 75);
	cr_assert_eq(h->transient_exit_codes[1], 111);

	h = drv_config_handler(cfg, "script");
	cr_assert(h->shell);
	cr_assert_eq(h->command_cnt, 1);
	cr_assert_str_eq(h->command[0], "echo \"hi\" | tr a-z A-Z");
	cr_assert_null(h->command[1]);

	h = drv_config_handler(cfg, "hook");
	cr_assert_eq(h->type, DRV_HANDLER_HTTP);
	cr_assert_eq(h->command_cnt, 0);
	cr_assert_null(h->command);
	cr_assert_str_eq(h->url, "https://api.example.com/jobs/${task.id}");
	cr_assert_str_eq(h->method, "PUT", "any case, stored in capitals");
	cr_assert_eq(h->header_cnt, 2);
	cr_assert_str_eq(h->headers[0].key, "Accept");
	cr_assert_str_eq(h->headers[0].value, "application/json");
	cr_assert_str_eq(h->headers[1].key, "X-Attempt");
	cr_assert_str_eq(h->headers[1].value, "${task.attempt}");
	cr_assert_eq(h->connect_timeout_ms, 2000);
	cr_assert_str_eq(h->policy, "conservative");

	h = drv_config_handler(cfg, "resize");
	cr_assert_eq(h->type, DRV_HANDLER_PLUGIN);
	cr_assert_str_eq(h->plugin_path, "/usr/lib/drover/libresize.so");
	cr_assert_eq(h->plugin_config_cnt, 2);
	cr_assert_str_eq(h->plugin_config[0].key, "quality");
	cr_assert_str_eq(h->plugin_config[0].value, "85");
	cr_assert_str_eq(h->plugin_config[1].value, "fast");

	h = drv_config_handler(cfg, "nothing");
	cr_assert_eq(h->type, DRV_HANDLER_NOOP);
	h = drv_config_handler(cfg, "nap");
	cr_assert_eq(h->type, DRV_HANDLER_SLEEP);
	cr_assert_eq(h->sleep_ms, 250);

	cr_assert_null(drv_config_handler(cfg, "nope"));
	drv_config_destroy(cfg);
}

Test(config, missing_file_is_io_error)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(load_fixture("no-such.yaml", NULL, &cfg, err,
				  sizeof(err)), DRV_ERR_IO);
	cr_assert_null(cfg);
	cr_assert_str_eq(err, "tests/unit/config/no-such.yaml: cannot read: "
			 "No such file or directory");
}

Test(config, names)
{
	cr_assert_str_eq(drv_log_level_name(DRV_LOG_DEBUG), "debug");
	cr_assert_str_eq(drv_log_level_name(DRV_LOG_ERROR), "error");
	cr_assert_str_eq(drv_log_level_name((drv_log_level_t)42), "unknown");
	cr_assert_str_eq(drv_log_format_name(DRV_LOG_FORMAT_LOGFMT), "logfmt");
	cr_assert_str_eq(drv_handler_type_name(DRV_HANDLER_EXEC), "exec");
	cr_assert_str_eq(drv_handler_type_name(DRV_HANDLER_HTTP), "http");
	cr_assert_str_eq(drv_handler_type_name(DRV_HANDLER_PLUGIN), "plugin");
	cr_assert_str_eq(drv_handler_type_name(DRV_HANDLER_NOOP), "noop");
	cr_assert_str_eq(drv_handler_type_name(DRV_HANDLER_SLEEP), "sleep");
	cr_assert_str_eq(drv_handler_type_name((drv_handler_type_t)9),
			 "unknown");
}

Test(config, values_in_other_spellings)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(load_text("log: {level: WARN}\n"
			       "redis: {url: 'unix:///run/redis.sock',"
			       " password: ~}\n"
			       "worker: {default_timeout: 1h30m,"
			       " shutdown_grace: 2500}\n"
			       "kafka: {delay_tiers: [1s]}\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_eq(cfg->log.level, DRV_LOG_WARN);
	cr_assert_str_eq(cfg->redis.url, "unix:///run/redis.sock");
	cr_assert_str_eq(cfg->redis.password, "");
	cr_assert_eq(cfg->worker.default_timeout_ms, 5400000);
	cr_assert_eq(cfg->worker.shutdown_grace_ms, 2500);
	cr_assert_eq(cfg->kafka.delay_tier_cnt, 1);
	drv_config_destroy(cfg);
}

/* ---------------------------------------------------------------- */
/* Errors from fixture files, exact messages                         */
/* ---------------------------------------------------------------- */

Test(config, error_unknown_key_with_suggestion)
{
	expect_fixture_error("unknown_key.yaml",
		"unknown_key.yaml:2:3: unknown key 'kafka.brokr' "
		"(did you mean 'kafka.brokers'?)");
}

Test(config, error_unknown_section)
{
	expect_fixture_error("unknown_section.yaml",
		"unknown_section.yaml:1:1: unknown section 'kafak' "
		"(did you mean 'kafka'?)");
}

Test(config, error_wrong_type)
{
	expect_fixture_error("wrong_type.yaml",
		"wrong_type.yaml:5:16: worker.concurrency: expected an "
		"integer, got 'abc'");
}

Test(config, error_out_of_range)
{
	expect_fixture_error("out_of_range.yaml",
		"out_of_range.yaml:5:16: worker.concurrency: 0 is out of "
		"range [1, 1024]");
}

Test(config, error_bad_duration)
{
	expect_fixture_error("bad_duration.yaml",
		"bad_duration.yaml:2:20: kafka.connect_timeout: expected a "
		"duration such as 500ms, 30s, 5m, 2h or 7d, got '10 seconds'");
}

Test(config, error_bad_enum_lists_values)
{
	expect_fixture_error("bad_enum.yaml",
		"bad_enum.yaml:3:10: log.level: expected one of debug, info, "
		"warn, error, got 'verbose'");
}

Test(config, error_duplicate_key_at_second)
{
	expect_fixture_error("duplicate_key.yaml",
		"duplicate_key.yaml:4:3: duplicate key 'worker.concurrency' "
		"(first at line 2)");
}

Test(config, error_yaml_syntax)
{
	expect_fixture_error("syntax_error.yaml",
		"syntax_error.yaml:5:1: invalid YAML: found unexpected end of "
		"stream (while scanning a quoted scalar at line 2, column 12)");
}

Test(config, error_exec_handler_without_command)
{
	expect_fixture_error("handler_no_command.yaml",
		"handler_no_command.yaml:4:3: handlers.broken: an exec "
		"handler needs a command");
}

Test(config, error_unknown_handler_key)
{
	expect_fixture_error("handler_unknown_key.yaml",
		"handler_unknown_key.yaml:3:5: unknown key "
		"'handlers.echo.comand' (did you mean "
		"'handlers.echo.command'?)");
}

Test(config, rediss_url_and_tls_keys)
{
	drv_config_t *cfg = NULL;
	char err[512] = "";

	cr_assert_eq(load_fixture("rediss.yaml", NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_str_eq(cfg->redis.url, "rediss://drover:pw@cache:6380");
	cr_assert_str_eq(cfg->redis.tls_ca_file, "/etc/redis-ca.pem");
	cr_assert_str_eq(cfg->redis.tls_server_name, "redis.internal");
	cr_assert_str_eq(cfg->redis.tls_cert_file, "");
	cr_assert(!cfg->redis.tls_verify);
	drv_config_destroy(cfg);
	cr_assert_eq(load_text("", NULL, &cfg, err, sizeof(err)), DRV_OK);
	cr_assert(cfg->redis.tls_verify, "verify is on by default");
	drv_config_destroy(cfg);
}

Test(config, error_tiers_not_ascending)
{
	expect_fixture_error("tiers_not_ascending.yaml",
		"tiers_not_ascending.yaml:5:7: kafka.delay_tiers: 10s is not "
		"greater than 1m before it; the list must be strictly "
		"ascending");
}

/* ---------------------------------------------------------------- */
/* More errors, inline                                               */
/* ---------------------------------------------------------------- */

Test(config, error_mapping_where_scalar_expected)
{
	expect_text_error("worker:\n  concurrency:\n    a: 1\n", NULL,
		"f.yaml:3:5: worker.concurrency: expected an integer, got a "
		"mapping");
	expect_text_error("kafka:\n  brokers: [a, b]\n", NULL,
		"f.yaml:2:12: kafka.brokers: expected a string, got a list");
}

Test(config, error_bad_bool)
{
	expect_text_error("handlers:\n  x:\n    command: [x]\n"
			  "    shell: yes please\n", NULL,
		"f.yaml:4:12: handlers.x.shell: expected a boolean (true or "
		"false), got 'yes please'");
}

Test(config, error_duration_out_of_range)
{
	expect_text_error("kafka:\n  connect_timeout: 50ms\n", NULL,
		"f.yaml:2:20: kafka.connect_timeout: 50ms is out of range "
		"[100ms, 10m]");
	expect_text_error("kafka:\n  dlq_retention: 3651d\n", NULL,
		"f.yaml:2:18: kafka.dlq_retention: 3651d is out of range "
		"[1h, 3650d]");
}

Test(config, error_unknown_key_without_suggestion)
{
	expect_text_error("redis:\n  colour: blue\n", NULL,
		"f.yaml:2:3: unknown key 'redis.colour'");
	expect_text_error("color: blue\n", NULL,
		"f.yaml:1:1: unknown section 'color'");
}

Test(config, error_dotted_key_at_top)
{
	expect_text_error("kafka.brokers: x\n", NULL,
		"f.yaml:1:1: unknown section 'kafka.brokers' (keys are "
		"nested: write 'kafka:' and 'brokers:' indented below it)");
}

Test(config, error_top_level_not_mapping)
{
	expect_text_error("- kafka\n- redis\n", NULL,
		"f.yaml:1:1: the top level must be a mapping of sections "
		"(kafka, redis, log, worker, coordinator, api, api_tokens, "
		"retry_policies, "
		"handlers, breakers, limits, schedules, triggers), got a "
		"list");
	expect_text_error("kafka: [1]\n", NULL,
		"f.yaml:1:8: kafka: expected a mapping of keys, got a list");
}

Test(config, error_topic_prefix)
{
	expect_text_error("kafka:\n  topic_prefix: 'a/b'\n", NULL,
		"f.yaml:2:17: kafka.topic_prefix: 'a/b' may only hold A-Z "
		"a-z 0-9 . _ -");
	expect_text_error("kafka:\n  topic_prefix: ''\n", NULL,
		"f.yaml:2:17: kafka.topic_prefix: must not be empty");
}

Test(config, error_redis_url_shapes_hide_password)
{
	expect_text_error("redis:\n  url: 'http://x'\n", NULL,
		"f.yaml:2:8: redis.url: 'http://x' must start with redis://, "
		"rediss:// or unix:// (redis[s]://[[user]:password@]host"
		"[:port][/db] or unix:///path)");
	expect_text_error("redis:\n  url: 'redis://:hunter2@h:99999'\n",
			  NULL,
		"f.yaml:2:8: redis.url: 'redis://:<redacted>@h:99999' has a "
		"bad port (expected 1 to 65535)");
	expect_text_error("redis:\n  url: 'redis://:6379'\n", NULL,
		"f.yaml:2:8: redis.url: 'redis://:6379' has no host");
	expect_text_error("redis:\n  url: 'redis://u:p%zz@h'\n", NULL,
		"f.yaml:2:8: redis.url: 'redis://u:<redacted>@h' has a bad "
		"%XX escape in its user or password");
	expect_text_error("redis:\n  url: 'redis://h:6379/0?ssl=1'\n", NULL,
		"f.yaml:2:8: redis.url: 'redis://h:6379/0?ssl=1' has a query "
		"string or a fragment, which are not supported");
	expect_text_error("redis:\n  url: 'unix://relative.sock'\n", NULL,
		"f.yaml:2:8: redis.url: 'unix://relative.sock' has no socket "
		"path (unix:///path/to/redis.sock)");
}

/* The one parser of redis.url, for the check and the connection: escaped
 * user and password, an IPv6 host, a database, unix sockets. */
Test(config, redis_url_parts)
{
	drv_redis_addr_t a;
	char err[256] = "";

	cr_assert_eq(drv_redis_parse_url("rediss://app%3Aone:p%40ss%2Fw@"
					 "cache.internal:6380/3", &a, err,
					 sizeof(err)), DRV_OK, "%s", err);
	cr_assert(a.tls);
	cr_assert_str_eq(a.user, "app:one");
	cr_assert_str_eq(a.password, "p@ss/w");
	cr_assert_str_eq(a.host, "cache.internal");
	cr_assert_eq(a.port, 6380);
	cr_assert_eq(a.db, 3);
	cr_assert_eq(drv_redis_parse_url("redis://:secret@[::1]:7000", &a,
					 err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_null(a.user);
	cr_assert_str_eq(a.password, "secret");
	cr_assert_str_eq(a.host, "::1");
	cr_assert_eq(a.port, 7000);
	cr_assert_eq(drv_redis_parse_url("redis://[::1]", &a, err,
					 sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(a.host, "::1");
	cr_assert_eq(a.port, 6379);
	cr_assert_eq(drv_redis_parse_url("unix:///run/redis.sock?db=2", &a,
					 err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(a.path, "/run/redis.sock");
	cr_assert_eq(a.db, 2);
	cr_assert_eq(drv_redis_parse_url("redis://h:1x", &a, err,
					 sizeof(err)), DRV_ERR_INVALID);
	cr_assert_eq(drv_redis_parse_url("redis://:%00@h", &a, err,
					 sizeof(err)), DRV_ERR_INVALID,
		     "a NUL in a password was taken");
	cr_assert_eq(drv_redis_parse_url("redis://[::1", &a, err,
					 sizeof(err)), DRV_ERR_INVALID);
}

Test(config, error_delay_tiers_shapes)
{
	expect_text_error("kafka:\n  delay_tiers: []\n", NULL,
		"f.yaml:2:16: kafka.delay_tiers: expected 1 to 16 entries, "
		"got 0");
	expect_text_error("kafka:\n  delay_tiers: [1s, 50ms]\n", NULL,
		"f.yaml:2:21: kafka.delay_tiers: 50ms is out of range "
		"[100ms, 30d]");
	expect_text_error("kafka:\n  delay_tiers: [1s, 1s]\n", NULL,
		"f.yaml:2:21: kafka.delay_tiers: 1s is not greater than 1s "
		"before it; the list must be strictly ascending");
}

Test(config, error_duplicate_handler_and_env)
{
	expect_text_error("handlers:\n  a:\n    command: [x]\n"
			  "  a:\n    command: [y]\n", NULL,
		"f.yaml:4:3: duplicate key 'handlers.a' (first at line 2)");
	expect_text_error("handlers:\n  a:\n    command: [x]\n"
			  "    env: {A: 1, B: 2, A: 3}\n", NULL,
		"f.yaml:4:23: duplicate key 'handlers.a.env.A' (first at "
		"line 4)");
	expect_text_error("handlers:\n  a:\n    command: [x]\n"
			  "    env: {1A: x}\n", NULL,
		"f.yaml:4:11: handlers.a.env: '1A' is not a valid "
		"environment variable name");
}

/* Issue 17 item 3: env_pass names what an exec command inherits; drover's
 * own DROVER_* variables (its secrets among them) cannot be listed. */
Test(config, env_pass_lists_and_refuses_drover_variables)
{
	char *envp[] = { "DROVER_WORKER_ENV_PASS=OUT,HTTP_*", NULL };
	drv_config_t *cfg = NULL;
	char err[512] = "";

	cr_assert_eq(load_text("handlers:\n  a:\n    command: [x]\n"
			       "    env_pass: [AWS_*, http_proxy]\n", envp,
			       &cfg, err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(cfg->handlers[0].env_pass_cnt, 2);
	cr_assert_str_eq(cfg->handlers[0].env_pass[0], "AWS_*");
	cr_assert_str_eq(cfg->handlers[0].env_pass[1], "http_proxy");
	cr_assert_null(cfg->handlers[0].env_pass[2]);
	cr_assert_eq(cfg->worker.env_pass_cnt, 2);
	cr_assert_str_eq(cfg->worker.env_pass[0], "OUT");
	cr_assert_str_eq(cfg->worker.env_pass[1], "HTTP_*");
	drv_config_destroy(cfg);

	expect_text_error("handlers:\n  a:\n    command: [x]\n"
			  "    env_pass: [HOME, DROVER_REDIS_PASSWORD]\n", NULL,
		"f.yaml:4:22: handlers.a.env_pass: 'DROVER_REDIS_PASSWORD' "
		"would pass drover's own DROVER_* variables (settings and "
		"secrets such as DROVER_REDIS_PASSWORD), which exec commands "
		"never get");
	expect_text_error("worker:\n  env_pass: [DRO*]\n", NULL,
		"f.yaml:2:14: worker.env_pass: 'DRO*' would pass drover's own "
		"DROVER_* variables (settings and secrets such as "
		"DROVER_REDIS_PASSWORD), which exec commands never get");
	expect_text_error("worker:\n  env_pass: ['*']\n", NULL,
		"f.yaml:2:14: worker.env_pass: '*' is not a variable name or a "
		"name prefix and '*' (like AWS_*)");
	expect_text_error("worker:\n  env_pass: [A=B]\n", NULL,
		"f.yaml:2:14: worker.env_pass: 'A=B' is not a variable name or "
		"a name prefix and '*' (like AWS_*)");
}

Test(config, error_handler_shapes)
{
	expect_text_error("handlers:\n  Echo!:\n    command: [x]\n", NULL,
		"f.yaml:2:3: handlers: invalid handler name 'Echo!' (use 1 "
		"to 64 of a-z 0-9 _ . -)");
	expect_text_error("handlers:\n  x:\n    command: 'cat -n'\n", NULL,
		"f.yaml:3:14: handlers.x.command: a single string needs "
		"shell: true; without a shell, write the argv as a list such "
		"as [\"cat\"]");
	expect_text_error("handlers:\n  x:\n    shell: true\n"
			  "    command: [a, b]\n", NULL,
		"f.yaml:4:14: handlers.x.command: with shell: true, the "
		"command is one string (a script for /bin/sh -c), got a list "
		"of 2");
	expect_text_error("handlers:\n  x: ~\n", NULL,
		"f.yaml:2:3: handlers.x: an exec handler needs a command");
	expect_text_error("handlers:\n  x:\n    command: []\n", NULL,
		"f.yaml:3:14: handlers.x.command: must not be empty");
	expect_text_error("handlers:\n  x:\n    command: [x]\n"
			  "    max_attempts: 1001\n", NULL,
		"f.yaml:4:19: handlers.x.max_attempts: 1001 is out of range "
		"[0, 1000]");
	expect_text_error("handlers:\n  x:\n    type: grpc\n", NULL,
		"f.yaml:3:11: handlers.x.type: expected one of exec, http, "
		"plugin, noop, sleep, webhook, got 'grpc'");
}

Test(config, error_kafka_properties)
{
	expect_text_error("kafka:\n  properties:\n"
			  "    bootstrap.servers: x:1\n", NULL,
		"f.yaml:3:5: kafka.properties.bootstrap.servers: set "
		"kafka.brokers instead");
	expect_text_error("kafka:\n  properties:\n"
			  "    ssl.ca.location: [a]\n", NULL,
		"f.yaml:3:22: kafka.properties.ssl.ca.location: expected a "
		"value, got a list");
	expect_text_error("kafka:\n  propertes: {}\n", NULL,
		"f.yaml:2:3: unknown key 'kafka.propertes' (did you mean "
		"'kafka.properties'?)");
}

Test(config, error_more_than_one_document)
{
	expect_text_error("log: {level: info}\n---\nlog: {level: debug}\n",
			  NULL,
		"f.yaml:2:1: only one YAML document is allowed");
}

Test(config, error_nul_in_value)
{
	expect_text_error("kafka:\n  brokers: \"a\\0b\"\n", NULL,
		"f.yaml:2:12: a value holds a NUL character");
}

Test(config, error_reader_position)
{
	/* an invalid UTF-8 byte on line 2 */
	expect_text_error("kafka:\n  brokers: \"a\xff\"\n", NULL,
		"f.yaml:2:14: invalid YAML: invalid leading UTF-8 octet");
}

/* ---------------------------------------------------------------- */
/* Environment overrides                                             */
/* ---------------------------------------------------------------- */

Test(config, env_overrides_values)
{
	char *env[] = {
		"PATH=/usr/bin",
		"DROVER_KAFKA_BROKERS=kafka-0:9092,kafka-1:9092",
		"DROVER_WORKER_CONCURRENCY=16",
		"DROVER_REDIS_URL=redis://:pw@r:6379/1",
		"DROVER_LOG_FORMAT=logfmt",
		"DROVER_LOG_LEVEL=DEBUG",
		"DROVER_KAFKA_DELAY_TIERS=2s, 20s,5m",
		"DROVER_WORKER_SHUTDOWN_GRACE=1m",
		"DROVER_TASK_ID=abc",       /* not config: ignored */
		"DROVER_STACK_DIR=/tmp/x",  /* not config: ignored */
		"DROVER_",
		NULL,
	};
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(load_text("", env, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_str_eq(cfg->kafka.brokers, "kafka-0:9092,kafka-1:9092");
	cr_assert_eq(cfg->worker.concurrency, 16);
	cr_assert_str_eq(cfg->redis.url, "redis://:pw@r:6379/1");
	cr_assert_eq(cfg->log.format, DRV_LOG_FORMAT_LOGFMT);
	cr_assert_eq(cfg->log.level, DRV_LOG_DEBUG);
	cr_assert_eq(cfg->kafka.delay_tier_cnt, 3);
	cr_assert_eq(cfg->kafka.delay_tiers_ms[0], 2000);
	cr_assert_eq(cfg->kafka.delay_tiers_ms[2], 300000);
	cr_assert_eq(cfg->worker.shutdown_grace_ms, 60000);
	drv_config_destroy(cfg);
}

Test(config, env_wins_over_file)
{
	char *env[] = { "DROVER_WORKER_CONCURRENCY=7",
			"DROVER_KAFKA_DELAY_TIERS=[1s, 2s]",
			"DROVER_WORKER_DEFAULT_TIMEOUT=42s", NULL };
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(load_fixture("full.yaml", env, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(cfg->worker.concurrency, 7);
	cr_assert_eq(cfg->kafka.delay_tier_cnt, 2);
	cr_assert_eq(cfg->kafka.delay_tiers_ms[1], 2000);
	cr_assert_eq(cfg->kafka.partitions, 12, "file value kept");
	/* handler defaults follow the final worker.default_timeout */
	cr_assert_eq(drv_config_handler(cfg, "echo")->timeout_ms, 42000);
	cr_assert_eq(drv_config_handler(cfg, "report")->timeout_ms, 600000);
	drv_config_destroy(cfg);
}

Test(config, env_bad_value)
{
	char *env[] = { "DROVER_WORKER_CONCURRENCY=abc", NULL };
	char *env2[] = { "DROVER_KAFKA_DELAY_TIERS=1s,1m,10s", NULL };
	char *env3[] = { "DROVER_REDIS_URL=rediss://:pw@", NULL };
	char *env4[] = { "DROVER_LOG_LEVEL=loud", NULL };

	expect_text_error("", env,
		"environment DROVER_WORKER_CONCURRENCY: expected an integer, "
		"got 'abc'");
	expect_text_error("", env2,
		"environment DROVER_KAFKA_DELAY_TIERS: 10s "
		"is not greater than 1m before it; the list must be strictly "
		"ascending");
	expect_text_error("", env3,
		"environment DROVER_REDIS_URL: 'rediss://:<redacted>@' has no "
		"host");
	expect_text_error("", env4,
		"environment DROVER_LOG_LEVEL: expected one of debug, info, "
		"warn, error, got 'loud'");
}

Test(config, env_unknown_variable_in_a_section)
{
	char *env[] = { "DROVER_KAFKA_BROKRS=x:9092", NULL };
	char *env2[] = { "DROVER_WORKER_FLAVOUR=mint", NULL };

	expect_text_error("", env,
		"environment DROVER_KAFKA_BROKRS: no such setting (did you "
		"mean DROVER_KAFKA_BROKERS?)");
	expect_text_error("", env2,
		"environment DROVER_WORKER_FLAVOUR: no such setting; "
		"DROVER_WORKER_* variables set worker keys");
}

/* scripts/up exports DROVER_API_TOKEN, the example config's admin token:
 * a variable a token names is no setting, and every daemon starts. */
Test(config, env_token_variable_is_no_setting)
{
	char *env[] = { "DROVER_API_TOKEN=secret", NULL };
	const char *yaml = "api_tokens:\n"
			   "  local: {role: admin, env: DROVER_API_TOKEN}\n";
	drv_config_t *cfg = NULL;
	char err[512] = "";

	cr_assert_eq(load_text(yaml, env, &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert(cfg->api_tokens[0].active);
	drv_config_destroy(cfg);
	/* without the token, the variable is an unknown api key */
	expect_text_error("", env,
		"environment DROVER_API_TOKEN: no such setting; DROVER_API_* "
		"variables set api keys");
}

Test(config, env_sets_kafka_properties)
{
	static const char yaml[] = "kafka:\n  properties:\n"
		"    security.protocol: SASL_SSL\n"
		"    sasl.password: from-file\n";
	char *env[] = { "DROVER_KAFKA_PROPERTY_SASL_PASSWORD=from-env",
			"DROVER_KAFKA_PROPERTY_SASL_USERNAME=drover",
			"DROVER_KAFKA_PROPERTY_SSL_CA_LOCATION=/etc/ca.pem",
			NULL };
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(load_text(yaml, env, &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(cfg->kafka.property_cnt, 4);
	cr_assert_str_eq(cfg->kafka.properties[0].value, "SASL_SSL");
	cr_assert_str_eq(cfg->kafka.properties[1].key, "sasl.password");
	cr_assert_str_eq(cfg->kafka.properties[1].value, "from-env");
	cr_assert_str_eq(cfg->kafka.properties[2].key, "sasl.username");
	cr_assert_str_eq(cfg->kafka.properties[2].value, "drover");
	cr_assert_str_eq(cfg->kafka.properties[3].key, "ssl.ca.location");
	drv_config_destroy(cfg);
	cfg = NULL;
	/* no file properties at all */
	cr_assert_eq(load_text("", env, &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(cfg->kafka.property_cnt, 3);
	drv_config_destroy(cfg);
}

Test(config, env_kafka_property_errors)
{
	char *env[] = { "DROVER_KAFKA_PROPERTY_GROUP_ID=g", NULL };
	char *env2[] = { "DROVER_KAFKA_PROPERTY_=x", NULL };
	char *env3[] = { "DROVER_KAFKA_PROPERTY_sasl.password=x", NULL };
	char *env4[] = { "DROVER_KAFKA_PROPERTIES_SASL_PASSWORD=x", NULL };

	expect_text_error("", env,
		"environment DROVER_KAFKA_PROPERTY_GROUP_ID: sets group.id: "
		"set worker.group or coordinator.group instead");
	expect_text_error("", env2,
		"environment DROVER_KAFKA_PROPERTY_: not a librdkafka "
		"property name; write DROVER_KAFKA_PROPERTY_<NAME>, e.g. "
		"DROVER_KAFKA_PROPERTY_SASL_PASSWORD");
	expect_text_error("", env3,
		"environment DROVER_KAFKA_PROPERTY_sasl.password: not a "
		"librdkafka property name; write DROVER_KAFKA_PROPERTY_<NAME> "
		"in A-Z 0-9 _ (_ stands for .)");
	expect_text_error("", env4,
		"environment DROVER_KAFKA_PROPERTIES_SASL_PASSWORD: no such "
		"setting; DROVER_KAFKA_* variables set kafka keys");
}

/* ---------------------------------------------------------------- */
/* Dump                                                              */
/* ---------------------------------------------------------------- */

static const char secret_yaml[] =
	"redis:\n"
	"  url: 'redis://app:urlpass123@cache:6379/0'\n"
	"  password: filepass456\n"
	"kafka:\n"
	"  properties:\n"
	"    security.protocol: SASL_SSL\n"
	"    sasl.password: kafkapass789\n"
	"    sasl.oauthbearer.token: tok-abc\n"
	"    sasl.jaas.config: 'jaas-xyz'\n"
	"    ssl.key.pem: 'pem-data-123'\n"
	"handlers:\n"
	"  api:\n"
	"    command: [curl, -d, '@-']\n"
	"    env: {API_TOKEN: envtoken42, REGION: eu}\n";

Test(config, dump_redacts_secrets)
{
	static const char *const secrets[] = {
		"urlpass123", "filepass456", "kafkapass789", "tok-abc",
		"jaas-xyz", "pem-data-123", "envtoken42", "envpass000",
	};
	char *env[] = { "DROVER_REDIS_PASSWORD=envpass000", NULL };
	drv_config_t *cfg = NULL;
	char err[256] = "", *out;

	cr_assert_eq(load_text(secret_yaml, NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	out = dump(cfg);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		cr_assert_null(strstr(out, secrets[i]), "%s leaked:\n%s",
			       secrets[i], out);
	cr_assert_not_null(strstr(out,
		"  url: \"redis://app:<redacted>@cache:6379/0\"  # file\n"),
		"%s", out);
	cr_assert_not_null(strstr(out,
		"  password: \"<redacted>\"  # file\n"), "%s", out);
	cr_assert_not_null(strstr(out,
		"    \"sasl.password\": \"<redacted>\"\n"), "%s", out);
	cr_assert_not_null(strstr(out,
		"    \"security.protocol\": \"SASL_SSL\"\n"), "%s", out);
	cr_assert_not_null(strstr(out,
		"    env: {\"API_TOKEN\": \"<redacted>\", \"REGION\": "
		"\"eu\"}\n"), "%s", out);
	free(out);
	drv_config_destroy(cfg);

	/* the password from the environment is just as secret */
	cr_assert_eq(load_text(secret_yaml, env, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	out = dump(cfg);
	cr_assert_null(strstr(out, "envpass000"), "%s", out);
	cr_assert_not_null(strstr(out, "  password: \"<redacted>\"  "
				  "# env DROVER_REDIS_PASSWORD\n"), "%s", out);
	free(out);
	drv_config_destroy(cfg);
}

Test(config, dump_names_sources)
{
	char *env[] = { "DROVER_WORKER_CONCURRENCY=9", NULL };
	drv_config_t *cfg = NULL;
	char err[256] = "", *out;

	cr_assert_eq(load_text("log:\n  level: warn\n", env, &cfg, err,
			       sizeof(err)), DRV_OK, "%s", err);
	out = dump(cfg);
	cr_assert_not_null(strstr(out, "\nkafka:\n  brokers: "
				  "\"127.0.0.1:9092\"  # default\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  delay_tiers: [1s, 10s, 1m, 10m, 1h]"
				  "  # default\n"), "%s", out);
	cr_assert_not_null(strstr(out, "\nlog:\n  level: warn  # file\n"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "  concurrency: 9  "
				  "# env DROVER_WORKER_CONCURRENCY\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  properties: {}\n"), "%s", out);
	cr_assert_not_null(strstr(out, "\nhandlers: {}\n"), "%s", out);
	/* sections come in table order */
	cr_assert(strstr(out, "\nkafka:") < strstr(out, "\nredis:") &&
		  strstr(out, "\nredis:") < strstr(out, "\nlog:") &&
		  strstr(out, "\nlog:") < strstr(out, "\nworker:") &&
		  strstr(out, "\nworker:") < strstr(out, "\ncoordinator:") &&
		  strstr(out, "\ncoordinator:") < strstr(out, "\nhandlers:"),
		  "%s", out);
	free(out);
	drv_config_destroy(cfg);
}

/* dump -> load -> equal config, and dump again -> same text but sources */
static void assert_round_trip(const drv_config_t *cfg)
{
	drv_config_t *back = NULL;
	char err[512] = "", *out = dump(cfg), *out2;

	cr_assert_eq(load_text(out, NULL, &back, err, sizeof(err)), DRV_OK,
		     "%s\n%s", err, out);
	assert_same_config(cfg, back);
	out2 = dump(back);
	cr_assert_not_null(out2);
	free(out2);
	free(out);
	drv_config_destroy(back);
}

Test(config, dump_round_trips)
{
	char *env[] = { "DROVER_LOG_LEVEL=error", NULL };
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cfg = drv_config_new();
	assert_round_trip(cfg);
	drv_config_destroy(cfg);

	cr_assert_eq(load_fixture("full.yaml", env, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	assert_round_trip(cfg);
	drv_config_destroy(cfg);

	cr_assert_eq(load_text("handlers:\n"
			       "  q:\n"
			       "    command: ['a \"b\"', 'tab\there', "
			       "\"back\\\\slash\", \"nl\\nx\", '#no']\n"
			       "    env: {X: 'it''s: fine'}\n"
			       "  -odd.name_1:\n"
			       "    type: plugin\n"
			       "    plugin: ./p.so\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(cfg->handlers[0].command[2], "back\\slash");
	cr_assert_str_eq(cfg->handlers[0].command[3], "nl\nx");
	assert_round_trip(cfg);
	drv_config_destroy(cfg);
}

Test(config, dump_round_trips_secrets_as_redacted)
{
	drv_config_t *cfg = NULL, *back = NULL;
	char err[256] = "", *out;

	cr_assert_eq(load_text(secret_yaml, NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	out = dump(cfg);
	cr_assert_eq(load_text(out, NULL, &back, err, sizeof(err)), DRV_OK,
		     "%s\n%s", err, out);
	cr_assert_str_eq(back->redis.password, "<redacted>");
	cr_assert_str_eq(back->redis.url,
			 "redis://app:<redacted>@cache:6379/0");
	cr_assert_str_eq(back->kafka.properties[1].value, "<redacted>");
	cr_assert_str_eq(back->kafka.properties[0].value, "SASL_SSL");
	cr_assert_str_eq(back->handlers[0].env[0].value, "<redacted>");
	cr_assert_str_eq(back->handlers[0].env[1].value, "eu");
	cr_assert_eq(back->handlers[0].command_cnt, 3);
	free(out);
	drv_config_destroy(back);
	drv_config_destroy(cfg);
}

/* ---------------------------------------------------------------- */
/* Retry policies                                                    */
/* ---------------------------------------------------------------- */

static void assert_policy(const drv_retry_policy_t *p, const char *name,
			  int64_t base, double mult, int64_t max,
			  uint32_t attempts, drv_jitter_t jitter)
{
	cr_assert_not_null(p, "no policy %s", name);
	cr_assert_str_eq(p->name, name);
	cr_assert_eq(p->base_delay_ms, base, "%s", name);
	cr_assert_float_eq(p->multiplier, mult, 1e-12, "%s", name);
	cr_assert_eq(p->max_delay_ms, max, "%s", name);
	cr_assert_eq(p->max_attempts, attempts, "%s", name);
	cr_assert_eq(p->jitter, jitter, "%s", name);
}

Test(config, builtin_policies)
{
	drv_config_t *cfg = drv_config_new();

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->policy_cnt, 4);
	assert_policy(drv_config_policy(cfg, "webhook"), "webhook",
		      5000, 1.0, 24 * 3600000, 10, DRV_JITTER_NONE);
	assert_policy(drv_config_policy(cfg, "standard"), "standard",
		      1000, 2.0, 16000, 6, DRV_JITTER_EQUAL);
	assert_policy(drv_config_policy(cfg, "aggressive"), "aggressive",
		      100, 2.0, 5000, 10, DRV_JITTER_FULL);
	assert_policy(drv_config_policy(cfg, "conservative"), "conservative",
		      30000, 3.0, 3600000, 4, DRV_JITTER_EQUAL);
	cr_assert_eq(drv_config_policy(cfg, "standard"), &cfg->policies[0]);
	cr_assert_null(drv_config_policy(cfg, "nope"));
	cr_assert_null(drv_config_policy(cfg, NULL));
	cr_assert_null(drv_config_policy(NULL, "standard"));
	drv_config_destroy(cfg);
}

Test(config, policies_from_the_file)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";

	/* a new policy after the built-ins; redefined built-ins keep their
	 * place and take standard's values for keys left out */
	cr_assert_eq(load_text("retry_policies:\n"
			       "  extra:\n"
			       "    base_delay: 0\n"
			       "    multiplier: 1\n"
			       "    max_delay: 0\n"
			       "    max_attempts: 1000\n"
			       "    jitter: DECORRELATED\n"
			       "  standard: {max_attempts: 2}\n"
			       "  conservative: ~\n"
			       "  tiny: {multiplier: 1.25, max_delay: 1s,"
			       " base_delay: 1s}\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_eq(cfg->policy_cnt, 6);
	assert_policy(&cfg->policies[0], "standard", 1000, 2.0, 16000, 2,
		      DRV_JITTER_EQUAL);
	assert_policy(&cfg->policies[1], "aggressive", 100, 2.0, 5000, 10,
		      DRV_JITTER_FULL);
	assert_policy(&cfg->policies[2], "conservative", 1000, 2.0, 16000, 6,
		      DRV_JITTER_EQUAL);
	assert_policy(&cfg->policies[4], "extra", 0, 1.0, 0, 1000,
		      DRV_JITTER_DECORRELATED);
	assert_policy(&cfg->policies[5], "tiny", 1000, 1.25, 1000, 6,
		      DRV_JITTER_EQUAL);
	drv_config_destroy(cfg);

	/* numbers in other spellings */
	cr_assert_eq(load_text("retry_policies:\n"
			       "  a: {multiplier: 2.5e1}\n"
			       "  b: {multiplier: '+1.5'}\n"
			       "  c: {multiplier: 100.0}\n"
			       "  d: {multiplier: 1.1}\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_float_eq(drv_config_policy(cfg, "a")->multiplier, 25.0,
			   1e-12);
	cr_assert_float_eq(drv_config_policy(cfg, "b")->multiplier, 1.5,
			   1e-12);
	cr_assert_float_eq(drv_config_policy(cfg, "c")->multiplier, 100.0,
			   1e-12);
	cr_assert_eq(drv_config_policy(cfg, "d")->multiplier, 1.1);
	assert_round_trip(cfg);
	drv_config_destroy(cfg);
}

Test(config, error_policy_multiplier)
{
	static const struct { const char *value, *msg; } cases[] = {
		{ "abc", "expected a number such as 2 or 1.5, got 'abc'" },
		{ "0.5", "0.5 is out of range [1, 100]" },
		{ "101", "101 is out of range [1, 100]" },
		{ "-2", "-2 is out of range [1, 100]" },
		{ "1e999", "1e999 is out of range [1, 100]" },
		{ "inf", "expected a number such as 2 or 1.5, got 'inf'" },
		{ "nan", "expected a number such as 2 or 1.5, got 'nan'" },
		{ "0x2", "expected a number such as 2 or 1.5, got '0x2'" },
		{ "1.5.2", "expected a number such as 2 or 1.5, got '1.5.2'" },
		{ "2e", "expected a number such as 2 or 1.5, got '2e'" },
		{ "' 2'", "expected a number such as 2 or 1.5, got ' 2'" },
		{ "''", "expected a number such as 2 or 1.5, got ''" },
		{ "[2]", "expected a number, got a list" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128], msg[256];

		drv_fmt(text, sizeof(text), "retry_policies:\n  p:\n"
			"    multiplier: %s\n", cases[i].value);
		drv_fmt(msg, sizeof(msg), "f.yaml:3:17: "
			"retry_policies.p.multiplier: %s", cases[i].msg);
		expect_text_error(text, NULL, msg);
	}
	expect_fixture_error("bad_multiplier.yaml",
		"bad_multiplier.yaml:4:17: retry_policies.slow.multiplier: 0.5 "
		"is out of range [1, 100]");
}

Test(config, error_policy_shapes)
{
	expect_text_error("retry_policies:\n  p:\n    base_delay: 5s\n"
			  "    max_delay: 1s\n", NULL,
		"f.yaml:4:16: retry_policies.p.max_delay: 1s is less than "
		"base_delay 5s");
	expect_text_error("retry_policies:\n  p:\n    base_delay: 1m\n", NULL,
		"f.yaml:3:17: retry_policies.p.base_delay: 1m is more than "
		"max_delay (16s by default); set max_delay too");
	expect_text_error("retry_policies:\n  p:\n    base_delay: 2d\n", NULL,
		"f.yaml:3:17: retry_policies.p.base_delay: 2d is out of range "
		"[0ms, 1d]");
	expect_text_error("retry_policies:\n  p:\n    max_delay: 31d\n", NULL,
		"f.yaml:3:16: retry_policies.p.max_delay: 31d is out of range "
		"[0ms, 30d]");
	expect_text_error("retry_policies:\n  p:\n    max_attempts: 0\n", NULL,
		"f.yaml:3:19: retry_policies.p.max_attempts: 0 is out of range "
		"[1, 1000]");
	expect_text_error("retry_policies:\n  p:\n    jitter: random\n", NULL,
		"f.yaml:3:13: retry_policies.p.jitter: expected one of none, "
		"full, equal, decorrelated, got 'random'");
	expect_text_error("retry_policies:\n  p:\n    base_dely: 1s\n", NULL,
		"f.yaml:3:5: unknown key 'retry_policies.p.base_dely' (did you "
		"mean 'retry_policies.p.base_delay'?)");
	expect_text_error("retry_policies:\n  p:\n    colour: red\n", NULL,
		"f.yaml:3:5: unknown key 'retry_policies.p.colour'");
	expect_text_error("retry_policies:\n  Slow!: {}\n", NULL,
		"f.yaml:2:3: retry_policies: invalid policy name 'Slow!' (use "
		"1 to 64 of a-z 0-9 _ . -)");
	expect_text_error("retry_policies: [a]\n", NULL,
		"f.yaml:1:17: retry_policies: expected a mapping of policy "
		"name: settings, got a list");
	expect_text_error("retry_policies:\n  p: [1]\n", NULL,
		"f.yaml:2:6: retry_policies.p: expected a mapping of policy "
		"settings, got a list");
	expect_text_error("retry_policies:\n  p: {}\n  p: {}\n", NULL,
		"f.yaml:3:3: duplicate key 'retry_policies.p' (first at line "
		"2)");
	expect_text_error("retry_policy:\n  p: {}\n", NULL,
		"f.yaml:1:1: unknown section 'retry_policy' (did you mean "
		"'retry_policies'?)");
}

Test(config, handler_policy_must_exist)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";

	expect_fixture_error("unknown_policy.yaml",
		"unknown_policy.yaml:10:13: handlers.report.policy: unknown "
		"retry policy 'nigthly' (did you mean 'nightly'?)");
	expect_text_error("handlers:\n  x:\n    command: [x]\n"
			  "    policy: agressive\n", NULL,
		"f.yaml:4:13: handlers.x.policy: unknown retry policy "
		"'agressive' (did you mean 'aggressive'?)");
	expect_text_error("handlers:\n  x:\n    type: noop\n"
			  "    policy: zzz\n", NULL,
		"f.yaml:4:13: handlers.x.policy: unknown retry policy 'zzz' "
		"(known: standard, aggressive, conservative, webhook)");

	/* a policy defined after the handler that names it; "" = default */
	cr_assert_eq(load_text("handlers:\n"
			       "  x:\n    command: [x]\n    policy: mine\n"
			       "  y:\n    command: [y]\n    policy: ''\n"
			       "retry_policies:\n  mine: {max_attempts: 2}\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_str_eq(cfg->handlers[0].policy, "mine");
	cr_assert_null(cfg->handlers[1].policy);
	cr_assert_eq(drv_config_policy(cfg, "mine")->max_attempts, 2);
	drv_config_destroy(cfg);
}

Test(config, default_policy_must_exist)
{
	char *bad_env[] = { "DROVER_WORKER_DEFAULT_POLICY=nope", NULL };
	char *near_env[] = { "DROVER_WORKER_DEFAULT_POLICY=agresive", NULL };
	char *mine_env[] = { "DROVER_WORKER_DEFAULT_POLICY=mine", NULL };
	char *empty_env[] = { "DROVER_WORKER_DEFAULT_POLICY=", NULL };
	drv_config_t *cfg = NULL;
	char err[256] = "", *out;

	expect_text_error("worker:\n  default_policy: slo\n"
			  "retry_policies:\n  slow: {}\n", NULL,
		"f.yaml:2:19: worker.default_policy: unknown retry policy "
		"'slo' (did you mean 'slow'?)");
	expect_text_error("worker:\n  default_policy: ''\n", NULL,
		"f.yaml:2:19: worker.default_policy: must not be empty");
	expect_text_error("", bad_env,
		"environment DROVER_WORKER_DEFAULT_POLICY: unknown retry "
		"policy 'nope' (known: standard, aggressive, conservative, webhook)");
	expect_text_error("worker:\n  default_policy: standard\n", near_env,
		"environment DROVER_WORKER_DEFAULT_POLICY: unknown retry "
		"policy 'agresive' (did you mean 'aggressive'?)");
	expect_text_error("", empty_env,
		"environment DROVER_WORKER_DEFAULT_POLICY: must not be empty");

	/* the environment may name a policy from the file, and fixes a bad
	 * file value: the check runs once both are in */
	cr_assert_eq(load_text("worker:\n  default_policy: nope\n"
			       "retry_policies:\n  mine: ~\n", mine_env, &cfg,
			       err, sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(cfg->worker.default_policy, "mine");
	out = dump(cfg);
	cr_assert_not_null(strstr(out, "  default_policy: \"mine\"  "
				  "# env DROVER_WORKER_DEFAULT_POLICY\n"),
			   "%s", out);
	free(out);
	drv_config_destroy(cfg);
}

/* ---------------------------------------------------------------- */
/* Handler types and their keys                                      */
/* ---------------------------------------------------------------- */

Test(config, handler_type_defaults)
{
	drv_config_t *cfg = NULL;
	const drv_handler_conf_t *h;
	char err[256] = "";

	cr_assert_eq(load_text("handlers:\n"
			       "  e:\n    command: [x]\n"
			       "  none:\n    command: [x]\n"
			       "    transient_exit_codes: []\n"
			       "  null:\n    command: [x]\n"
			       "    transient_exit_codes: ~\n"
			       "  one:\n    command: [x]\n"
			       "    transient_exit_codes: 3\n"
			       "  h:\n    type: HTTP\n    url: 'http://h'\n"
			       "  p:\n    type: plugin\n    plugin: ./p.so\n"
			       "  n:\n    type: noop\n    timeout: 1s\n"
			       "  s:\n    type: sleep\n"
			       "  z:\n    type: sleep\n    sleep: 0\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	h = drv_config_handler(cfg, "e");
	cr_assert_eq(h->transient_exit_code_cnt, 1);
	cr_assert_eq(h->transient_exit_codes[0], 75);
	h = drv_config_handler(cfg, "none");
	cr_assert_eq(h->transient_exit_code_cnt, 0);
	cr_assert_not_null(h->transient_exit_codes, "allocated even empty");
	h = drv_config_handler(cfg, "null");
	cr_assert_eq(h->transient_exit_code_cnt, 0);
	cr_assert_not_null(h->transient_exit_codes);
	h = drv_config_handler(cfg, "one");
	cr_assert_eq(h->transient_exit_code_cnt, 1);
	cr_assert_eq(h->transient_exit_codes[0], 3);
	h = drv_config_handler(cfg, "h");
	cr_assert_eq(h->type, DRV_HANDLER_HTTP);
	cr_assert_str_eq(h->url, "http://h");
	cr_assert_str_eq(h->method, "POST");
	cr_assert_eq(h->header_cnt, 0);
	cr_assert_eq(h->connect_timeout_ms, 5000);
	cr_assert_eq(h->timeout_ms, 300000);
	h = drv_config_handler(cfg, "p");
	cr_assert_str_eq(h->plugin_path, "./p.so");
	cr_assert_eq(h->plugin_config_cnt, 0);
	h = drv_config_handler(cfg, "n");
	cr_assert_eq(h->type, DRV_HANDLER_NOOP);
	cr_assert_eq(h->timeout_ms, 1000);
	cr_assert_eq(drv_config_handler(cfg, "s")->sleep_ms, 100);
	cr_assert_eq(drv_config_handler(cfg, "z")->sleep_ms, 0);
	drv_config_destroy(cfg);
}

Test(config, error_key_of_another_handler_type)
{
	expect_fixture_error("handler_key_for_other_type.yaml",
		"handler_key_for_other_type.yaml:7:5: handlers.hook.shell: "
		"only for exec handlers");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    url: 'http://x'\n", NULL,
		"f.yaml:4:5: handlers.h.url: only for http handlers");
	/* the type may come after the keys; the first stray key is named */
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    type: http\n    url: 'http://x'\n", NULL,
		"f.yaml:3:5: handlers.h.command: only for exec handlers");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    sleep: 1s\n", NULL,
		"f.yaml:4:5: handlers.h.sleep: only for sleep handlers");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://x'\n"
			  "    transient_exit_codes: [1]\n", NULL,
		"f.yaml:5:5: handlers.h.transient_exit_codes: only for exec "
		"handlers");
	expect_text_error("handlers:\n  h:\n    type: noop\n"
			  "    config: {a: b}\n", NULL,
		"f.yaml:4:5: handlers.h.config: only for plugin handlers");
	expect_text_error("handlers:\n  h:\n    type: sleep\n"
			  "    headers: {A: b}\n", NULL,
		"f.yaml:4:5: handlers.h.headers: only for http handlers");
	expect_text_error("handlers:\n  h:\n    type: plugin\n"
			  "    plugin: x.so\n    env: {A: b}\n", NULL,
		"f.yaml:5:5: handlers.h.env: only for exec handlers");
	expect_text_error("handlers:\n  h:\n    type: plugin\n"
			  "    plugin: x.so\n    connect_timeout: 1s\n", NULL,
		"f.yaml:5:5: handlers.h.connect_timeout: only for http or "
		"webhook handlers");
}

Test(config, error_handler_type_needs_its_keys)
{
	expect_text_error("handlers:\n  h:\n    type: http\n", NULL,
		"f.yaml:2:3: handlers.h: an http handler needs a url");
	expect_text_error("handlers:\n  h:\n    type: plugin\n", NULL,
		"f.yaml:2:3: handlers.h: a plugin handler needs a plugin");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    headers: {A: b}\n", NULL,
		"f.yaml:2:3: handlers.h: an http handler needs a url");
}

Test(config, error_http_keys)
{
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'ftp://x'\n", NULL,
		"f.yaml:4:10: handlers.h.url: expected an http:// or https:// "
		"URL, got 'ftp://x'");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'ftp://u:hunter2@h/'\n", NULL,
		"f.yaml:4:10: handlers.h.url: expected an http:// or https:// "
		"URL, got 'ftp://u:<redacted>@h/'");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'https://'\n", NULL,
		"f.yaml:4:10: handlers.h.url: 'https://' has no host");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://u:pw@/x'\n", NULL,
		"f.yaml:4:10: handlers.h.url: 'http://u:<redacted>@/x' has no "
		"host");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h/a b'\n", NULL,
		"f.yaml:4:10: handlers.h.url: 'http://h/a b' holds a space or "
		"control character; percent-encode it");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: ''\n", NULL,
		"f.yaml:4:10: handlers.h.url: must not be empty");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    method: fetch\n", NULL,
		"f.yaml:5:13: handlers.h.method: expected one of GET, POST, "
		"PUT, PATCH, DELETE, got 'fetch'");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    headers: {Bad Header: x}\n",
			  NULL,
		"f.yaml:5:15: handlers.h.headers: 'Bad Header' is not a valid "
		"HTTP header name");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    headers: {X-A: \"a\\nb\"}\n",
			  NULL,
		"f.yaml:5:20: handlers.h.headers: X-A: a header value may not "
		"hold a line break");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n"
			  "    headers: {Accept: a, accept: b}\n", NULL,
		"f.yaml:5:26: handlers.h.headers: 'accept' repeats 'Accept' "
		"(header names ignore case)");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    headers: [a]\n", NULL,
		"f.yaml:5:14: handlers.h.headers: expected a mapping of Name: "
		"value, got a list");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    headers: {X: [1]}\n", NULL,
		"f.yaml:5:18: handlers.h.headers: X: expected a string, got a "
		"list");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    connect_timeout: 50ms\n",
			  NULL,
		"f.yaml:5:22: handlers.h.connect_timeout: 50ms is out of range "
		"[100ms, 10m]");
	expect_text_error("handlers:\n  h:\n    type: http\n"
			  "    url: 'http://h'\n    heders: {}\n", NULL,
		"f.yaml:5:5: unknown key 'handlers.h.heders' (did you mean "
		"'handlers.h.headers'?)");
}

Test(config, http_method_any_case)
{
	static const char *const methods[] = {
		"GET", "post", "Put", "patch", "DELETE",
	};
	static const char *const want[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE",
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		drv_config_t *cfg = NULL;
		char text[128], err[256] = "";

		drv_fmt(text, sizeof(text), "handlers:\n  h:\n    type: http\n"
			"    url: 'HTTPS://h:8443/x?y=${task.id}'\n"
			"    method: %s\n", methods[i]);
		cr_assert_eq(load_text(text, NULL, &cfg, err, sizeof(err)),
			     DRV_OK, "%s", err);
		cr_assert_str_eq(cfg->handlers[0].method, want[i]);
		drv_config_destroy(cfg);
	}
}

Test(config, error_transient_exit_codes)
{
	char text[1024], msg[256];
	size_t off;

	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    transient_exit_codes: [0]\n", NULL,
		"f.yaml:4:28: handlers.h.transient_exit_codes: 0 is out of "
		"range [1, 255]");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    transient_exit_codes: [75, 256]\n", NULL,
		"f.yaml:4:32: handlers.h.transient_exit_codes: 256 is out of "
		"range [1, 255]");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    transient_exit_codes: [75, 75]\n", NULL,
		"f.yaml:4:32: handlers.h.transient_exit_codes: 75 is listed "
		"twice");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    transient_exit_codes: {a: 1}\n", NULL,
		"f.yaml:4:27: handlers.h.transient_exit_codes: expected a list "
		"of integers, got a mapping");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    transient_exit_codes: [x]\n", NULL,
		"f.yaml:4:28: handlers.h.transient_exit_codes: expected an "
		"integer, got 'x'");
	expect_text_error("handlers:\n  h:\n    command: [x]\n"
			  "    transient_exit_codes: [[1]]\n", NULL,
		"f.yaml:4:28: handlers.h.transient_exit_codes: expected an "
		"integer, got a list");

	drv_fmt(text, sizeof(text), "handlers:\n  h:\n    command: [x]\n"
		"    transient_exit_codes: [");
	for (int i = 1; i <= 65; i++) {
		off = strlen(text);
		drv_fmt(text + off, sizeof(text) - off, "%s%d",
			i > 1 ? ", " : "", i);
	}
	off = strlen(text);
	drv_fmt(text + off, sizeof(text) - off, "]\n");
	drv_fmt(msg, sizeof(msg), "f.yaml:4:27: handlers.h.transient_exit_"
		"codes: expected at most 64 entries, got 65");
	expect_text_error(text, NULL, msg);
}

Test(config, plugin_config_scalars_as_text)
{
	drv_config_t *cfg = NULL;
	const drv_handler_conf_t *h;
	char err[256] = "";

	cr_assert_eq(load_text("handlers:\n  p:\n    type: plugin\n"
			       "    plugin: /x/p.so\n"
			       "    config: {n: 5, b: true, f: 1.5, s: ~,"
			       " 'with space': x}\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	h = &cfg->handlers[0];
	cr_assert_eq(h->plugin_config_cnt, 5);
	cr_assert_str_eq(h->plugin_config[0].value, "5");
	cr_assert_str_eq(h->plugin_config[1].value, "true");
	cr_assert_str_eq(h->plugin_config[2].value, "1.5");
	cr_assert_str_eq(h->plugin_config[3].value, "");
	cr_assert_str_eq(h->plugin_config[4].key, "with space");
	drv_config_destroy(cfg);
}

Test(config, error_plugin_and_sleep_keys)
{
	expect_text_error("handlers:\n  h:\n    type: plugin\n"
			  "    plugin: ''\n", NULL,
		"f.yaml:4:13: handlers.h.plugin: must not be empty");
	expect_text_error("handlers:\n  h:\n    type: plugin\n"
			  "    plugin: x.so\n    config: {a: [1]}\n", NULL,
		"f.yaml:5:17: handlers.h.config: a: expected a string, got a "
		"list");
	expect_text_error("handlers:\n  h:\n    type: plugin\n"
			  "    plugin: x.so\n    config: {'': x}\n", NULL,
		"f.yaml:5:14: handlers.h.config: an entry name must not be "
		"empty");
	expect_text_error("handlers:\n  h:\n    type: plugin\n"
			  "    plugin: x.so\n    config: [x]\n", NULL,
		"f.yaml:5:13: handlers.h.config: expected a mapping of name: "
		"value, got a list");
	expect_text_error("handlers:\n  h:\n    type: sleep\n"
			  "    sleep: 2h\n", NULL,
		"f.yaml:4:12: handlers.h.sleep: 2h is out of range [0ms, 1h]");
	expect_text_error("handlers:\n  h:\n    type: sleep\n"
			  "    sleep: soon\n", NULL,
		"f.yaml:4:12: handlers.h.sleep: expected a duration such as "
		"500ms, 30s, 5m, 2h or 7d, got 'soon'");
}

/* ---------------------------------------------------------------- */
/* Dump of the new keys                                              */
/* ---------------------------------------------------------------- */

static const char handler_secret_yaml[] =
	"handlers:\n"
	"  api:\n"
	"    type: http\n"
	"    url: 'https://bot:urlsecret1@api.example.com/x'\n"
	"    headers:\n"
	"      Authorization: 'Bearer hdrsecret2'\n"
	"      X-Api-Key: keysecret3\n"
	"      X-Auth-Token: toksecret4\n"
	"      Cookie: cookiesecret5\n"
	"      Accept: text/plain\n"
	"  plug:\n"
	"    type: plugin\n"
	"    plugin: ./p.so\n"
	"    config: {api_token: cfgsecret6, db_password: cfgsecret7,"
	" region: eu}\n";

Test(config, dump_redacts_handler_secrets)
{
	static const char *const secrets[] = {
		"urlsecret1", "hdrsecret2", "keysecret3", "toksecret4",
		"cookiesecret5", "cfgsecret6", "cfgsecret7",
	};
	drv_config_t *cfg = NULL, *back = NULL;
	char err[256] = "", *out;

	out = dump_without(handler_secret_yaml, &cfg, secrets,
			   sizeof(secrets) / sizeof(secrets[0]));
	cr_assert_not_null(strstr(out, "    url: \"https://bot:<redacted>@"
				  "api.example.com/x\"\n"), "%s", out);
	cr_assert_not_null(strstr(out, "    headers: {\"Authorization\": "
		"\"<redacted>\", \"X-Api-Key\": \"<redacted>\", "
		"\"X-Auth-Token\": \"<redacted>\", \"Cookie\": \"<redacted>\", "
		"\"Accept\": \"text/plain\"}\n"), "%s", out);
	cr_assert_not_null(strstr(out, "    config: {\"api_token\": "
		"\"<redacted>\", \"db_password\": \"<redacted>\", "
		"\"region\": \"eu\"}\n"), "%s", out);

	/* and it still loads, the secrets as "<redacted>" */
	cr_assert_eq(load_text(out, NULL, &back, err, sizeof(err)), DRV_OK,
		     "%s\n%s", err, out);
	cr_assert_str_eq(back->handlers[0].url,
			 "https://bot:<redacted>@api.example.com/x");
	cr_assert_str_eq(back->handlers[0].headers[0].value, "<redacted>");
	cr_assert_str_eq(back->handlers[0].headers[4].value, "text/plain");
	cr_assert_str_eq(back->handlers[1].plugin_config[2].value, "eu");
	free(out);
	drv_config_destroy(back);
	drv_config_destroy(cfg);
}

/* Issue 17 item 8: secrets are redacted by their look too, not only by
 * the name of their key: URL credentials in env, plugin config and header
 * values, secret-looking NAME=value pairs (sasl.oauthbearer.config, a
 * command's --password=), bearer tokens under any header name. */
Test(config, dump_redacts_secrets_by_their_look)
{
	static const char *const yaml =
		"kafka:\n  properties:\n"
		"    sasl.oauthbearer.config: \"clientId=drover "
		"clientSecret=oauthsecret1 scope=kafka\"\n"
		"handlers:\n  a:\n"
		"    command: [tool, \"--password=argsecret2\", --verbose]\n"
		"    env: {DB_URL: \"postgres://app:envsecret3@db:5432/x\"}\n"
		"  h:\n    type: http\n    url: \"https://h.example/x\"\n"
		"    headers: {X-Upstream: \"Bearer hdrsecret4\"}\n"
		"  p:\n    type: plugin\n    plugin: /x.so\n"
		"    config: {dsn: \"mysql://root:cfgsecret5@db/x?sslmode=on\","
		" hook: \"https://tokensecret6@hooks.example/y\"}\n";
	static const char *const secrets[] = {
		"oauthsecret1", "argsecret2", "envsecret3", "hdrsecret4",
		"cfgsecret5", "tokensecret6",
	};
	drv_config_t *cfg = NULL, *back = NULL;
	char err[256] = "", *out;

	out = dump_without(yaml, &cfg, secrets,
			   sizeof(secrets) / sizeof(secrets[0]));
	cr_assert_not_null(strstr(out, "\"clientId=drover "
		"clientSecret=<redacted> scope=kafka\""), "%s", out);
	cr_assert_not_null(strstr(out, "[\"tool\", "
		"\"--password=<redacted>\", \"--verbose\"]"), "%s", out);
	cr_assert_not_null(strstr(out, "\"postgres://app:<redacted>@db:5432/"
				  "x\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"Bearer <redacted>\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"mysql://root:<redacted>@db/x?"
				  "sslmode=on\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"https://<redacted>@hooks.example/"
				  "y\""), "%s", out);
	/* and it still loads */
	cr_assert_eq(load_text(out, NULL, &back, err, sizeof(err)), DRV_OK,
		     "%s\n%s", err, out);
	free(out);
	drv_config_destroy(back);
	drv_config_destroy(cfg);
}

Test(config, dump_round_trips_new_keys)
{
	drv_config_t *cfg = NULL;
	char err[256] = "", *out;

	cr_assert_eq(load_text("worker: {default_policy: odd}\n"
			       "retry_policies:\n"
			       "  odd: {multiplier: 1.1, base_delay: 1500ms,"
			       " max_delay: 1m30s, jitter: decorrelated,"
			       " max_attempts: 1}\n"
			       "  aggressive: {jitter: none}\n"
			       "handlers:\n"
			       "  e:\n    command: [x]\n"
			       "    transient_exit_codes: []\n"
			       "  f:\n    command: [x]\n"
			       "    transient_exit_codes: [1, 255, 69]\n"
			       "  h:\n    type: http\n"
			       "    url: 'http://h/${label.x}'\n"
			       "    method: delete\n"
			       "    headers: {A: '', B: 'x: \"y\"'}\n"
			       "    connect_timeout: 100ms\n"
			       "    policy: aggressive\n"
			       "  p:\n    type: plugin\n    plugin: p.so\n"
			       "    config: {'k k': 'v\\tv'}\n"
			       "  n:\n    type: noop\n"
			       "  s:\n    type: sleep\n    sleep: 59m\n",
			       NULL, &cfg, err, sizeof(err)), DRV_OK, "%s",
		     err);
	out = dump(cfg);
	cr_assert_not_null(strstr(out, "\nretry_policies:\n"
				  "  standard:  # built-in\n"
				  "    base_delay: 1s\n    multiplier: 2\n"
				  "    max_delay: 16s\n    max_attempts: 6\n"
				  "    jitter: equal\n"
				  "  aggressive:  # file\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  odd:  # file\n"
				  "    base_delay: 1500ms\n"
				  "    multiplier: 1.1\n"
				  "    max_delay: 90s\n"), "%s", out);
	cr_assert_not_null(strstr(out, "    transient_exit_codes: []\n"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "    transient_exit_codes: [1, 255, "
				  "69]\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  n:\n    type: noop\n"
				  "    timeout: 5m\n"), "%s", out);
	cr_assert(strstr(out, "\ncoordinator:") <
		  strstr(out, "\nretry_policies:") &&
		  strstr(out, "\nretry_policies:") < strstr(out, "\nhandlers:"),
		  "%s", out);
	free(out);
	assert_round_trip(cfg);
	drv_config_destroy(cfg);
}

/* ---------------------------------------------------------------- */
/* The example config and the reference page                         */
/* ---------------------------------------------------------------- */

Test(config, example_loads)
{
	drv_config_t *cfg = NULL, *defaults = drv_config_new();
	const drv_handler_conf_t *h;
	char err[256] = "";

	cr_assert_eq(drv_config_load("examples/drover.yaml", NULL, &cfg, err,
				     sizeof(err)), DRV_OK, "%s", err);
	/* the example shows the defaults, and adds one policy */
	cr_assert_eq(cfg->handler_cnt, 7);
	cr_assert_eq(cfg->policy_cnt, 5);
	cr_assert_str_eq(cfg->policies[4].name, "quick");
	{
		drv_handler_conf_t *hs = cfg->handlers;
		size_t n = cfg->handler_cnt;

		cfg->handlers = NULL;
		cfg->handler_cnt = 0;
		cfg->policy_cnt = 4;
		assert_same_config(cfg, defaults);
		cfg->policy_cnt = 5;
		cfg->handlers = hs;
		cfg->handler_cnt = n;
	}
	h = drv_config_handler(cfg, "echo");
	cr_assert_not_null(h);
	cr_assert_eq(h->command_cnt, 1);
	cr_assert_str_eq(h->command[0], "cat");
	cr_assert_null(h->command[1]);
	cr_assert_not(h->shell);
	h = drv_config_handler(cfg, "fail");
	cr_assert_not_null(h);
	cr_assert_eq(h->command_cnt, 1);
	cr_assert_str_eq(h->command[0], "false");
	cr_assert_eq(h->max_attempts, 1);
	h = drv_config_handler(cfg, "flaky");
	cr_assert_not_null(h);
	cr_assert(h->shell);
	cr_assert_eq(h->transient_exit_code_cnt, 1);
	cr_assert_eq(h->transient_exit_codes[0], 75);
	cr_assert_str_eq(h->policy, "quick");
	h = drv_config_handler(cfg, "sleep");
	cr_assert_not_null(h);
	cr_assert_eq(h->type, DRV_HANDLER_SLEEP);
	cr_assert_eq(h->sleep_ms, 2000);
	h = drv_config_handler(cfg, "noop");
	cr_assert_not_null(h);
	cr_assert_eq(h->type, DRV_HANDLER_NOOP);
	h = drv_config_handler(cfg, "hook");
	cr_assert_not_null(h);
	cr_assert_eq(h->type, DRV_HANDLER_HTTP);
	cr_assert_str_eq(h->url, "http://127.0.0.1:8080/hook");
	cr_assert_str_eq(h->method, "POST");
	drv_config_destroy(defaults);
	drv_config_destroy(cfg);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

Test(config, docs_config_md_is_up_to_date)
{
	const char *update = getenv("DROVER_UPDATE_DOCS");
	char *want = NULL, *have;
	size_t len = 0;
	FILE *m = open_memstream(&want, &len);

	drv_config_write_reference(m);
	fclose(m);
	if (update && !strcmp(update, "1")) {
		FILE *f = fopen("docs/config.md", "wb");

		cr_assert_not_null(f, "cannot write docs/config.md");
		cr_assert_eq(fwrite(want, 1, len, f), len);
		cr_assert_eq(fclose(f), 0);
	}
	have = read_file("docs/config.md");
	cr_assert_not_null(have, "docs/config.md is missing; run this test "
			   "with DROVER_UPDATE_DOCS=1");
	cr_assert(!strcmp(have, want), "docs/config.md is out of date; run "
		  "this test with DROVER_UPDATE_DOCS=1");
	free(have);
	free(want);
}

Test(config, reference_lists_every_key)
{
	static const char *const rows[] = {
		"| `kafka.brokers` | string | `127.0.0.1:9092` | non-empty | "
		"`DROVER_KAFKA_BROKERS` |",
		"| `kafka.delay_tiers` | list of durations | "
		"`[1s, 10s, 1m, 10m, 1h]` |",
		"| `worker.concurrency` | integer | `4` | [1, 1024] | "
		"`DROVER_WORKER_CONCURRENCY` |",
		"| `log.level` | enum | `info` | debug, info, warn, error | ",
		"| `redis.password` | string | `\"\"` |",
		"| `timeout` | duration | worker.default_timeout | "
		"[100ms, 7d] | all |",
		"| key | type | default | range | env | description |",
		"| `worker.default_policy` | string | `standard` | a retry "
		"policy | `DROVER_WORKER_DEFAULT_POLICY` |",
		"\n## retry_policies\n",
		"| `multiplier` | number | `2` | [1, 100] |",
		"| `max_delay` | duration | `16s` | [0ms, 30d], >= base_delay |",
		"| `jitter` | enum | `equal` | none, full, equal, decorrelated |",
		"| `standard` | 1s | 2 | 16s | 6 | equal | 1s, 2s, 4s, 8s, 16s |",
		"| `aggressive` | 100ms | 2 | 5s | 10 | full | 100ms, 200ms, "
		"400ms, 800ms, 1600ms, 3200ms, 5s, 5s, 5s |",
		"| `conservative` | 30s | 3 | 1h | 4 | equal | 30s, 90s, 270s |",
		"| `type` | enum | `exec` | exec, http, plugin, noop, sleep, "
		"webhook | all |",
		"| `transient_exit_codes` | list of integers | `[75]` | 0-64 "
		"entries, each [1, 255] | exec |",
		"| `url` | string |  | required; http:// or https:// | http |",
		"| `method` | enum | `POST` | GET, POST, PUT, PATCH, DELETE | "
		"http |",
		"| `headers` | map of strings |  | Name: value | http |",
		"| `connect_timeout` | duration | `5s` | [100ms, 10m] | http or "
		"webhook |",
		"| `plugin` | string |  | required | plugin |",
		"| `config` | map of strings |  | name: value | plugin |",
		"| `sleep` | duration | `100ms` | [0ms, 1h] | sleep |",
	};
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	drv_config_write_reference(m);
	fclose(m);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert_not_null(strstr(out, rows[i]), "missing: %s",
				   rows[i]);
	free(out);
}

Test(config, breakers_from_the_file)
{
	static const char yaml[] =
		"breakers:\n"
		"  default:\n"
		"    wait_in_open: 5s\n"
		"  payments:\n"
		"    window: 20s\n"
		"    min_calls: 4\n"
		"    failure_rate: 25\n"
		"    half_open_calls: 5\n"
		"    half_open_successes: 2\n"
		"    mode: metrics_only\n"
		"handlers:\n"
		"  pay:\n"
		"    type: noop\n"
		"    breaker: payments\n";
	drv_config_t *cfg = NULL, *back = NULL;
	char err[512] = "", *text = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(drv_config_load_string("f.yaml", yaml, strlen(yaml),
					    NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(cfg->breaker_cnt, 2);
	cr_assert_str_eq(cfg->breakers[0].name, "default");
	cr_assert_eq(cfg->breakers[0].wait_in_open_ms, 5000);
	cr_assert_eq(cfg->breakers[0].min_calls, 10, "built-in default");
	cr_assert_eq(drv_config_breaker(cfg, "payments")->min_calls, 4);
	cr_assert_eq(drv_config_breaker(cfg, "payments")->mode,
		     DRV_BREAKER_MODE_METRICS_ONLY);
	cr_assert_eq(drv_config_breaker(cfg, "payments")->wait_in_open_ms,
		     60000, "entries start from the built-in values");
	cr_assert_eq(drv_config_breaker(cfg, "other"), &cfg->breakers[0]);
	cr_assert_str_eq(cfg->handlers[0].breaker, "payments");

	f = open_memstream(&text, &len);
	drv_config_dump(cfg, f);
	fclose(f);
	cr_assert(strstr(text, "  default:  # file\n"));
	cr_assert_eq(drv_config_load_string("d.yaml", text, len, NULL, &back,
					    err, sizeof(err)),
		     DRV_OK, "%s\n%s", err, text);
	cr_assert_eq(back->breaker_cnt, 2);
	cr_assert_float_eq(back->breakers[1].failure_rate, 25.0, 1e-9);
	cr_assert_eq(back->breakers[1].half_open_successes, 2);
	free(text);
	drv_config_destroy(back);
	drv_config_destroy(cfg);

	cfg = drv_config_new();
	cr_assert_eq(cfg->breaker_cnt, 1);
	cr_assert_eq(cfg->breakers[0].half_open_calls, 3);
	cr_assert_float_eq(cfg->breakers[0].failure_rate, 50.0, 1e-9);
	drv_config_destroy(cfg);
}

Test(config, error_breaker_shapes)
{
	expect_text_error("breakers:\n  x:\n    half_open_calls: 2\n"
		"    half_open_successes: 3\n", NULL,
		"f.yaml:4:26: breakers.x.half_open_successes: 3 is more "
		"than half_open_calls (2)");
	expect_text_error("breakers:\n  x:\n    windw: 2s\n", NULL,
		"f.yaml:3:5: unknown key 'breakers.x.windw' (did you mean "
		"'breakers.x.window'?)");
	expect_text_error("breakers:\n  x:\n    window: 500ms\n", NULL,
		NULL);
	expect_text_error("breakers:\n  x:\n    mode: sometimes\n", NULL,
		NULL);
	expect_text_error("breakers:\n  \"A B\": {}\n", NULL, NULL);
}

Test(config, limits_from_the_file)
{
	static const char yaml[] =
		"limits:\n"
		"  billing-api:\n"
		"    handler: billing\n"
		"    rate: 50\n"
		"    per: 1s\n"
		"    burst: 10\n"
		"  per-customer:\n"
		"    handler: billing\n"
		"    key: label.customer\n"
		"    concurrency: 3\n"
		"handlers:\n"
		"  billing:\n"
		"    type: noop\n";
	drv_config_t *cfg = NULL, *back = NULL;
	const drv_limit_conf_t *l;
	char err[512] = "", *text;

	cr_assert_eq(load_text(yaml, NULL, &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(cfg->limit_cnt, 2);
	l = drv_config_limit(cfg, "billing-api");
	cr_assert_not_null(l);
	cr_assert_str_eq(l->handler, "billing");
	cr_assert_null(l->key);
	cr_assert_eq(l->rate, 50);
	cr_assert_eq(l->per_ms, 1000);
	cr_assert_eq(l->burst, 10);
	cr_assert_eq(l->concurrency, 0);
	l = drv_config_limit(cfg, "per-customer");
	cr_assert_str_eq(l->key, "label.customer");
	cr_assert_eq(l->concurrency, 3);
	cr_assert_eq(l->rate, 0);
	cr_assert_eq(l->burst, 1, "default burst");
	cr_assert_null(drv_config_limit(cfg, "nope"));

	text = dump(cfg);
	cr_assert_eq(load_text(text, NULL, &back, err, sizeof(err)), DRV_OK,
		     "%s\n%s", err, text);
	cr_assert_eq(back->limit_cnt, 2);
	cr_assert_eq(back->limits[0].burst, 10);
	cr_assert_str_eq(back->limits[1].key, "label.customer");
	free(text);
	drv_config_destroy(back);
	drv_config_destroy(cfg);
}

Test(config, error_limit_shapes)
{
	static const char h[] = "handlers:\n  billing:\n    type: noop\n";
	char text[512];

	drv_fmt(text, sizeof(text), "%slimits:\n  x:\n    handler: bill\n"
		"    rate: 5\n", h);
	expect_text_error(text, NULL, "f.yaml:6:14: limits.x.handler: "
		"unknown handler 'bill' (did you mean 'billing'?)");
	drv_fmt(text, sizeof(text), "%slimits:\n  x:\n    handler: billing\n",
		h);
	expect_text_error(text, NULL, "f.yaml:5:3: limits.x: a limit needs a "
		"rate, a concurrency or both");
	drv_fmt(text, sizeof(text), "%slimits:\n  x:\n    rate: 5\n", h);
	expect_text_error(text, NULL, "f.yaml:5:3: limits.x.handler: a limit "
		"needs the handler it applies to");
	drv_fmt(text, sizeof(text), "%slimits:\n  x:\n    handler: billing\n"
		"    concurrency: 2\n    key: customer\n", h);
	expect_text_error(text, NULL, "f.yaml:8:10: limits.x.key: expected "
		"label.NAME (NAME 1 to 64 of a-z 0-9 _ . -), got 'customer'");
	drv_fmt(text, sizeof(text), "%slimits:\n  x:\n    handler: billing\n"
		"    rate: 5\n    burst: 0\n", h);
	expect_text_error(text, NULL, NULL);
	drv_fmt(text, sizeof(text), "%slimits:\n  x:\n    handler: billing\n"
		"    rate: 5\n    rat: 3\n", h);
	expect_text_error(text, NULL, "f.yaml:8:5: unknown key "
		"'limits.x.rat' (did you mean 'limits.x.rate'?)");
	expect_text_error("limits:\n  \"A B\": {rate: 1}\n", NULL, NULL);
}

/* Priority bands: the defaults, moved bounds, and bounds that leave the
 * normal band empty. */
Test(config, priority_bands)
{
	static const char *const want_default[11] = {
		NULL, "low", "low", "low", "normal", "normal", "normal",
		"normal", "high", "high", "high" };
	static const char *const want_moved[11] = {
		NULL, "low", "low", "normal", "normal", "normal", "normal",
		"normal", "normal", "high", "high" };
	char *const env[] = { "DROVER_KAFKA_BAND_LOW=7", NULL };
	drv_config_t *cfg = NULL;
	char err[512] = "";
	uint32_t lo, hi;

	cr_assert_eq(load_text("kafka: {}\n", NULL, &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	for (uint32_t p = 1; p <= 10; p++)
		cr_assert_str_eq(drv_band_for_priority(cfg, p)->name,
				 want_default[p], "priority %u", p);
	drv_band_range(cfg, 1, &lo, &hi);
	cr_assert(lo == 4 && hi == 7, "normal %u-%u", lo, hi);
	drv_config_destroy(cfg);

	cr_assert_eq(load_text("kafka:\n  band_high: 9\n  band_low: 2\n", NULL,
			       &cfg, err, sizeof(err)), DRV_OK, "%s", err);
	for (uint32_t p = 1; p <= 10; p++)
		cr_assert_str_eq(drv_band_for_priority(cfg, p)->name,
				 want_moved[p], "priority %u", p);
	drv_band_range(cfg, 0, &lo, &hi);
	cr_assert(lo == 9 && hi == 10, "high %u-%u", lo, hi);
	drv_band_range(cfg, 2, &lo, &hi);
	cr_assert(lo == 1 && hi == 2, "low %u-%u", lo, hi);
	drv_config_destroy(cfg);

	expect_text_error("kafka:\n  band_low: 5\n  band_high: 6\n", NULL,
		"f.yaml:3:14: kafka.band_high: 6 leaves no priority for the "
		"normal band (kafka.band_low is 5; band_high must be at least "
		"band_low + 2)");
	expect_text_error("kafka:\n  band_high: 8\n", env,
		"f.yaml:2:14: kafka.band_high: 8 leaves no priority for the "
		"normal band (kafka.band_low is 7; band_high must be at least "
		"band_low + 2)");
}
