/*
 * config_dump.c — the configuration written back out: the effective config
 * as YAML (`droverctl config check`), and the Markdown reference page
 * (docs/config.md). Both walk the key tables in config_table.c (scalar keys,
 * retry policy keys, handler keys), so a key added there shows up in both
 * without touching this file.
 */
#include <string.h>

#include "config_int.h"
#include "drover/str.h"

/* ------------------------------------------------------------------ */
/* Dump                                                                */
/* ------------------------------------------------------------------ */

/* A file name inside a YAML comment: no line breaks. */
static void put_comment_text(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 ? '?' : *s, out);
}

static void dump_properties(const drv_config_t *cfg, FILE *out)
{
	if (!cfg->kafka.property_cnt) {
		fputs("  properties: {}\n", out);
		return;
	}
	fputs("  properties:\n", out);
	for (size_t i = 0; i < cfg->kafka.property_cnt; i++) {
		const drv_kv_t *kv = &cfg->kafka.properties[i];

		fputs("    ", out);
		drv_cfg_emit_string(out, kv->key);
		fputs(": ", out);
		if (drv_cfg_secret_name(kv->key))
			drv_cfg_emit_string(out, "<redacted>");
		else
			drv_cfg_emit_value(out, kv->value, true);
		fputc('\n', out);
	}
}

/* A handler or policy name as a YAML key: plain when it cannot be mistaken
 * for anything else. */
static void dump_entry_name(const char *name, FILE *out)
{
	fputs("  ", out);
	if ((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= '0' && name[0] <= '9'))
		fputs(name, out);
	else
		drv_cfg_emit_string(out, name);
	fputc(':', out);
}

/* Nothing to print for the field of \p k in \p base: a NULL string, an
 * empty argv or map. Empty integer lists are printed: [] is not their
 * default. */
static bool field_unset(const drv_cfg_key_t *k, const void *base)
{
	const char *p = (const char *)base;

	switch (k->type) {
	case DRV_CFG_STRING:
		return !*(char *const *)(const void *)(p + k->offset);
	case DRV_CFG_ARGV:
	case DRV_CFG_STRMAP:
	case DRV_CFG_NAME_LIST:
		return !*(const size_t *)(const void *)(p + k->cnt_offset);
	default:
		return false;
	}
}

static void dump_handler(const drv_handler_conf_t *h, FILE *out)
{
	dump_entry_name(h->name, out);
	fputc('\n', out);
	for (size_t i = 0; i < drv_cfg_handler_key_cnt; i++) {
		const drv_cfg_key_t *k = &drv_cfg_handler_keys[i];

		if ((k->types && !(k->types & DRV_CFG_FOR(h->type))) ||
		    field_unset(k, h))
			continue;
		fprintf(out, "    %s: ", k->name);
		if (k->type == DRV_CFG_ARGV && h->shell &&
		    h->command_cnt == 1)
			drv_cfg_emit_string(out, h->command[0]);
		else
			drv_cfg_emit(k, h, true, out);
		fputc('\n', out);
	}
}

/* The schedules: or triggers: map; every entry starts with its name. */
static void dump_entries(const char *sec, const void *arr, size_t size,
			 size_t cnt, const drv_cfg_key_t *keys,
			 size_t key_cnt, FILE *out)
{
	if (!cnt) {
		fprintf(out, "%s: {}\n", sec);
		return;
	}
	fprintf(out, "%s:\n", sec);
	for (size_t i = 0; i < cnt; i++) {
		const void *e = (const char *)arr + i * size;

		dump_entry_name(*(char *const *)e, out);
		fputc('\n', out);
		for (size_t k = 0; k < key_cnt; k++) {
			if (field_unset(&keys[k], e))
				continue;
			fprintf(out, "    %s: ", keys[k].name);
			drv_cfg_emit(&keys[k], e, true, out);
			fputc('\n', out);
		}
	}
}

void drv_config_dump(const drv_config_t *cfg, FILE *out)
{
	char sec[32] = "", env[128];

	fputs("# drover effective configuration", out);
	if (cfg->path) {
		fputs(" (file: ", out);
		put_comment_text(out, cfg->path);
		fputc(')', out);
	}
	fputs("\n# Each value is followed by where it came from: default, "
	      "file or env VARIABLE.\n", out);
	for (size_t i = 0; i < drv_cfg_key_cnt; i++) {
		const drv_cfg_key_t *k = &drv_cfg_keys[i];
		size_t seclen = strcspn(k->name, ".");
		int src = cfg->priv && i < cfg->priv->key_cnt ?
			  cfg->priv->src[i] : DRV_CFG_SRC_DEFAULT;

		if (strncmp(sec, k->name, seclen) || sec[seclen]) {
			if (!strcmp(sec, "kafka"))
				dump_properties(cfg, out);
			drv_fmt(sec, sizeof(sec), "%.*s", (int)seclen,
				k->name);
			fprintf(out, "%s:\n", sec);
		}
		fprintf(out, "  %s: ", k->name + seclen + 1);
		drv_cfg_emit(k, cfg, true, out);
		switch (src) {
		case DRV_CFG_SRC_FILE:
			fputs("  # file\n", out);
			break;
		case DRV_CFG_SRC_ENV:
			drv_cfg_env_name(k->name, env, sizeof(env));
			fprintf(out, "  # env %s\n", env);
			break;
		default:
			fputs("  # default\n", out);
			break;
		}
	}
	if (!strcmp(sec, "kafka"))
		dump_properties(cfg, out);
	fputs("retry_policies:\n", out);
	for (size_t i = 0; i < cfg->policy_cnt; i++) {
		const drv_retry_policy_t *p = &cfg->policies[i];
		bool builtin = i < drv_cfg_builtin_policy_cnt &&
			       !(cfg->priv && (cfg->priv->redefined >> i & 1));

		dump_entry_name(p->name, out);
		fputs(builtin ? "  # built-in\n" : "  # file\n", out);
		for (size_t k = 0; k < drv_cfg_policy_key_cnt; k++) {
			fprintf(out, "    %s: ", drv_cfg_policy_keys[k].name);
			drv_cfg_emit(&drv_cfg_policy_keys[k], p, true, out);
			fputc('\n', out);
		}
	}
	fputs("breakers:\n", out);
	for (size_t i = 0; i < cfg->breaker_cnt; i++) {
		dump_entry_name(cfg->breakers[i].name, out);
		fputs(i || (cfg->priv && cfg->priv->breaker_default_file) ?
		      "  # file\n" : "  # built-in\n", out);
		for (size_t k = 0; k < drv_cfg_breaker_key_cnt; k++) {
			fprintf(out, "    %s: ", drv_cfg_breaker_keys[k].name);
			drv_cfg_emit(&drv_cfg_breaker_keys[k],
				     &cfg->breakers[i], true, out);
			fputc('\n', out);
		}
	}
	dump_entries("api_tokens", cfg->api_tokens, sizeof(*cfg->api_tokens),
		     cfg->api_token_cnt, drv_cfg_token_keys,
		     drv_cfg_token_key_cnt, out);
	if (!cfg->handler_cnt) {
		fputs("handlers: {}\n", out);
	} else {
		fputs("handlers:\n", out);
		for (size_t i = 0; i < cfg->handler_cnt; i++)
			dump_handler(&cfg->handlers[i], out);
	}
	dump_entries("limits", cfg->limits, sizeof(*cfg->limits),
		     cfg->limit_cnt, drv_cfg_limit_keys, drv_cfg_limit_key_cnt,
		     out);
	dump_entries("schedules", cfg->schedules, sizeof(*cfg->schedules),
		     cfg->schedule_cnt, drv_cfg_schedule_keys,
		     drv_cfg_schedule_key_cnt, out);
	dump_entries("triggers", cfg->triggers, sizeof(*cfg->triggers),
		     cfg->trigger_cnt, drv_cfg_trigger_keys,
		     drv_cfg_trigger_key_cnt, out);
}

/* ------------------------------------------------------------------ */
/* Reference page                                                      */
/* ------------------------------------------------------------------ */

/* Text inside a Markdown table cell: '|' would end the cell. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_code(FILE *out, const char *s)
{
	if (!*s) {
		fputs("`\"\"`", out);
		return;
	}
	fputc('`', out);
	md_cell(out, s);
	fputc('`', out);
}

/** The column md_row() writes after "range". */
enum md_extra {
	MD_NONE,   /**< retry policy keys */
	MD_ENV,    /**< table keys: the env variable */
	MD_TYPES,  /**< handler keys: the handler types they are for */
};

static void md_row(FILE *out, const drv_cfg_key_t *k, enum md_extra extra)
{
	char range[160], env[128], types[64];

	fputs("| ", out);
	md_code(out, k->name);
	fprintf(out, " | %s | ",
		k->enums ? "enum" : drv_cfg_type_name(k->type));
	if (k->def)
		md_code(out, k->def);
	else if (k->def_doc)
		md_cell(out, k->def_doc);
	fputs(" | ", out);
	drv_cfg_format_range(k, range, sizeof(range));
	md_cell(out, range);
	if (extra == MD_ENV) {
		drv_cfg_env_name(k->name, env, sizeof(env));
		fputs(" | ", out);
		md_code(out, env);
	} else if (extra == MD_TYPES) {
		drv_cfg_format_types(k->types, types, sizeof(types));
		fputs(" | ", out);
		md_cell(out, types);
	}
	fputs(" | ", out);
	md_cell(out, k->doc);
	if (k->flags & DRV_CFG_SECRET)
		fputs(" Shown as `<redacted>`.", out);
	fputs(" |\n", out);
}

static const char intro[] =
"# drover configuration reference\n"
"\n"
"<!-- Generated by drv_config_write_reference() from the key table in\n"
"     core/config_table.c; do not edit. To update, run the unit test with\n"
"     DROVER_UPDATE_DOCS=1, e.g.\n"
"     DROVER_UPDATE_DOCS=1 meson test -C build config -->\n"
"\n"
"`drover-coordinator`, `drover-worker` and `droverctl` read one YAML file;\n"
"[`examples/drover.yaml`](../examples/drover.yaml) is a commented example.\n"
"Every key is optional: an empty file gives the defaults below.\n"
"\n"
"- **Environment.** Each key in the tables below can be set with the\n"
"  variable in its *env* column, which wins over the file. Values are\n"
"  written as in YAML; a list is comma-separated (`1s,10s,1m`). A variable\n"
"  that starts with `DROVER_<SECTION>_` but names no key is an error,\n"
"  unless a token of `api_tokens` names it as its `env`; other `DROVER_*`\n"
"  variables are ignored. `retry_policies` and `handlers` are\n"
"  file-only; `kafka.properties` entries take `DROVER_KAFKA_PROPERTY_<NAME>`\n"
"  (see below).\n"
"- **Durations** are `250ms`, `30s`, `5m`, `2h`, `30d`, compounds such as\n"
"  `1m30s`, or a bare number of milliseconds.\n"
"- **Errors** stop start-up and name the place and the key:\n"
"  `drover.yaml:12:3: unknown key 'kafka.brokr' (did you mean\n"
"  'kafka.brokers'?)`.\n"
"- **Secrets** (`redis.password`, the password in `redis.url` or a\n"
"  handler `url`, `kafka.properties` or handler `env` entries whose name\n"
"  contains `password`, `secret`, `jaas` or `token`, or ends in `.pem`, and\n"
"  handler `headers` or plugin `config` entries whose name contains `auth`,\n"
"  `cookie`, `token`, `secret`, `key`, `password`, `passwd` or\n"
"  `credential`) are shown as `\"<redacted>\"` by `droverctl config check`,\n"
"  which prints the effective configuration and where each value came\n"
"  from. Any other string is redacted by its look: the password (or lone\n"
"  user name) of a URL (`postgres://app:<redacted>@db/x`), the value of\n"
"  a `NAME=value` whose name looks secret as for `headers`\n"
"  (`clientSecret=<redacted>`, `--password=<redacted>`), and what follows\n"
"  `Bearer ` or `Basic `.\n";

static const char properties_doc[] =
"### kafka.properties\n"
"\n"
"A map of [librdkafka properties](https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md)\n"
"passed to every Kafka client drover creates, each value kept as a string:\n"
"\n"
"```yaml\n"
"kafka:\n"
"  properties:\n"
"    security.protocol: SASL_SSL\n"
"    sasl.mechanism: PLAIN\n"
"    sasl.username: drover\n"
"    sasl.password: change-me\n"
"```\n"
"\n"
"`bootstrap.servers`, `client.id` and `group.id` are set from\n"
"`kafka.brokers`, `kafka.client_id` and the `group` keys and may not be\n"
"given here.\n"
"\n"
"`DROVER_KAFKA_PROPERTY_<NAME>=value` sets one property from the\n"
"environment, adding it or replacing the file's value: `<NAME>` is the\n"
"property name in upper case with `_` for `.`, so\n"
"`DROVER_KAFKA_PROPERTY_SASL_PASSWORD` sets `sasl.password`. That is how a\n"
"secret such as a SASL password comes from a Kubernetes Secret without\n"
"being written in the file.\n";

static const char handlers_doc[] =
"A map of handler name (1 to 64 of `a-z 0-9 _ . -`) to its settings. A\n"
"task names its handler; the worker runs it with these keys:\n"
"\n"
"```yaml\n"
"handlers:\n"
"  echo:\n"
"    command: [\"cat\"]            # argv, no shell; payload on stdin\n"
"  report:\n"
"    shell: true\n"
"    command: 'make-report \"$DAY\" | gzip > /tmp/report.gz'\n"
"    env: { DAY: today }\n"
"    env_pass: [AWS_*]            # inherited from the worker\n"
"    timeout: 10m\n"
"    transient_exit_codes: [75, 111]\n"
"    policy: conservative\n"
"  hook:\n"
"    type: http\n"
"    url: \"https://api.example.com/jobs/${task.id}\"\n"
"    headers: { Authorization: \"Bearer change-me\" }\n"
"  resize:\n"
"    type: plugin\n"
"    plugin: /usr/lib/drover/libresize.so\n"
"    config: { quality: 85 }\n"
"  nothing:\n"
"    type: noop\n"
"  nap:\n"
"    type: sleep\n"
"    sleep: 2s\n"
"```\n"
"\n"
"The *for* column says which handler types take a key; giving a key to\n"
"another type is an error, and so is leaving out a required one.\n"
"\n";

static const char tokens_doc[] =
"A map of token name (1 to 64 of `a-z 0-9 _ . -`; it names the caller in\n"
"the audit log) to its role and either the token's SHA-256 or the\n"
"environment variable that holds the token. drover keeps only the hash and\n"
"compares in constant time. Make a token and its hash with\n"
"`t=$(openssl rand -hex 24); printf %s \"$t\" | sha256sum`.\n"
"\n"
"```yaml\n"
"api_tokens:\n"
"  ops:\n"
"    role: admin\n"
"    env: DROVER_API_TOKEN\n"
"  dashboards:\n"
"    role: viewer\n"
"    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
"```\n"
"\n"
"| key | type | default | range | description |\n|---|---|---|---|---|\n";

static const char limits_doc[] =
"A map of limit name (1 to 64 of `a-z 0-9 _ . -`) to a fleet-wide limit\n"
"on the tasks of one handler: a rate (GCRA: `rate` starts per `per`, up to\n"
"`burst` back to back), a concurrency (running at once), or both; with\n"
"`key: label.NAME` one bucket per value of that label. The state lives in\n"
"Redis, shared by every worker; a task over a limit waits on the delay\n"
"topics without using an attempt (see [limits](limits.md)).\n"
"\n"
"```yaml\n"
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
"```\n"
"\n"
"| key | type | default | range | description |\n"
"|---|---|---|---|---|\n";

static const char breakers_doc[] =
"A map of breaker name (1 to 64 of `a-z 0-9 _ . -`) to its settings. Every\n"
"handler's calls go through a breaker: the one it names with `breaker`,\n"
"else one named after the handler; a task's label `drover.breaker` names a\n"
"more specific one. A breaker the map does not list takes the settings of\n"
"`default`. The state and the window live in Redis, shared by every\n"
"worker (see [the worker](worker.md#circuit-breakers)); while a breaker is\n"
"open its tasks wait on the delay topics without using an attempt.\n"
"\n"
"```yaml\n"
"breakers:\n"
"  default:\n"
"    wait_in_open: 30s\n"
"  payments:\n"
"    window: 20s\n"
"    min_calls: 20\n"
"    failure_rate: 50\n"
"    slow_call: 2s\n"
"    slow_call_rate: 80\n"
"    half_open_calls: 3\n"
"    half_open_successes: 2\n"
"```\n"
"\n"
"| key | type | default | range | description |\n"
"|---|---|---|---|---|\n";

static const char policies_doc[] =
"A map of policy name (1 to 64 of `a-z 0-9 _ . -`) to its settings. A\n"
"handler picks one with `policy`; a task may name another. After attempt\n"
"*n* fails (and attempts are left), the task waits `base_delay *\n"
"multiplier^(n-1)`, at most `max_delay`, randomised by `jitter`; the delay\n"
"topics (`kafka.delay_tiers`) carry it meanwhile. A policy that leaves a\n"
"key out takes the value of the built-in `standard` policy.\n"
"\n"
"```yaml\n"
"retry_policies:\n"
"  payments:\n"
"    base_delay: 5s\n"
"    multiplier: 1.5\n"
"    max_delay: 2m\n"
"    max_attempts: 8\n"
"    jitter: decorrelated\n"
"```\n"
"\n"
"| key | type | default | range | description |\n"
"|---|---|---|---|---|\n";

static const char builtins_doc[] =
"\nThese policies always exist; a policy of the same name in the file\n"
"replaces one (keys it leaves out take `standard`'s values, as for any\n"
"policy). Delays are nominal, before jitter.\n"
"\n"
"| policy | base_delay | multiplier | max_delay | max_attempts | jitter | "
"delays | description |\n"
"|---|---|---|---|---|---|---|---|\n";

static const char schedules_doc[] =
"```yaml\n"
"schedules:\n"
"  nightly-report:\n"
"    cron: \"30 2 * * *\"\n"
"    timezone: Europe/London\n"
"    handler: report\n"
"    payload: {kind: nightly}\n"
"    catchup: once\n"
"```\n"
"\n"
"Keys of one schedule (see [the coordinator](coordinator.md)):\n"
"\n";

static const char triggers_doc[] =
"```yaml\n"
"triggers:\n"
"  on-order:\n"
"    event: order.created\n"
"    where: {region: \"eu-*\"}\n"
"    handler: fulfil\n"
"```\n"
"\n"
"Keys of one trigger:\n"
"\n";

/* The built-in policies, from a config holding only defaults. */
static void write_builtins(FILE *out)
{
	drv_config_t *cfg = drv_config_new();

	fputs(builtins_doc, out);
	for (size_t i = 0; cfg && i < drv_cfg_builtin_policy_cnt; i++) {
		const drv_retry_policy_t *p = &cfg->policies[i];
		char buf[32];
		double d = (double)p->base_delay_ms;

		fputs("| ", out);
		md_code(out, p->name);
		for (size_t k = 0; k < drv_cfg_policy_key_cnt; k++) {
			fputs(" | ", out);
			drv_cfg_emit(&drv_cfg_policy_keys[k], p, false, out);
		}
		fputs(" | ", out);
		for (uint32_t a = 1; a < p->max_attempts; a++) {
			int64_t ms = d < (double)p->max_delay_ms ?
				     (int64_t)(d + 0.5) : p->max_delay_ms;

			drv_format_duration(ms, buf, sizeof(buf));
			fprintf(out, "%s%s", a > 1 ? ", " : "", buf);
			d *= p->multiplier;
		}
		fputs(" | ", out);
		md_cell(out, drv_cfg_builtin_policies[i].doc);
		fputs(" |\n", out);
	}
	drv_config_destroy(cfg);
}

void drv_config_write_reference(FILE *out)
{
	fputs(intro, out);
	for (size_t s = 0; s < drv_cfg_section_cnt; s++) {
		const drv_cfg_section_t *sec = &drv_cfg_sections[s];
		size_t n = strlen(sec->name);

		fputs("\n## ", out);
		fputs(sec->name, out);
		fputs("\n\n", out);
		fputs(sec->doc, out);
		fputs("\n\n", out);
		if (!strcmp(sec->name, "handlers")) {
			fputs(handlers_doc, out);
			fputs("| key | type | default | range | for | "
			      "description |\n|---|---|---|---|---|---|\n",
			      out);
			for (size_t i = 0; i < drv_cfg_handler_key_cnt; i++)
				md_row(out, &drv_cfg_handler_keys[i],
				       MD_TYPES);
			continue;
		}
		if (!strcmp(sec->name, "api_tokens")) {
			fputs(tokens_doc, out);
			for (size_t i = 0; i < drv_cfg_token_key_cnt; i++)
				md_row(out, &drv_cfg_token_keys[i], MD_NONE);
			continue;
		}
		if (!strcmp(sec->name, "limits")) {
			fputs(limits_doc, out);
			for (size_t i = 0; i < drv_cfg_limit_key_cnt; i++)
				md_row(out, &drv_cfg_limit_keys[i], MD_NONE);
			continue;
		}
		if (!strcmp(sec->name, "breakers")) {
			fputs(breakers_doc, out);
			for (size_t i = 0; i < drv_cfg_breaker_key_cnt; i++)
				md_row(out, &drv_cfg_breaker_keys[i], MD_NONE);
			continue;
		}
		if (!strcmp(sec->name, "schedules") ||
		    !strcmp(sec->name, "triggers")) {
			bool sc = sec->name[0] == 's';
			const drv_cfg_key_t *keys = sc ?
				drv_cfg_schedule_keys : drv_cfg_trigger_keys;
			size_t cnt = sc ? drv_cfg_schedule_key_cnt :
				     drv_cfg_trigger_key_cnt;

			fputs(sc ? schedules_doc : triggers_doc, out);
			fputs("| key | type | default | range | description "
			      "|\n|---|---|---|---|---|\n", out);
			for (size_t i = 0; i < cnt; i++)
				md_row(out, &keys[i], MD_NONE);
			continue;
		}
		if (!strcmp(sec->name, "retry_policies")) {
			fputs(policies_doc, out);
			for (size_t i = 0; i < drv_cfg_policy_key_cnt; i++)
				md_row(out, &drv_cfg_policy_keys[i], MD_NONE);
			write_builtins(out);
			continue;
		}
		fputs("| key | type | default | range | env | description "
		      "|\n|---|---|---|---|---|---|\n", out);
		for (size_t i = 0; i < drv_cfg_key_cnt; i++)
			if (!strncmp(drv_cfg_keys[i].name, sec->name, n) &&
			    drv_cfg_keys[i].name[n] == '.')
				md_row(out, &drv_cfg_keys[i], MD_ENV);
		if (!strcmp(sec->name, "kafka")) {
			fputc('\n', out);
			fputs(properties_doc, out);
		}
	}
}
