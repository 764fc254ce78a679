/*
 * config.c — loading the configuration: defaults (and the built-in retry
 * policies), then the YAML file, then DROVER_<SECTION>_<KEY> environment
 * overrides, then the handler defaults that depend on other keys, and last
 * the checks that need the whole file (every policy name resolves).
 *
 * The file is read with libyaml's document API and walked section by
 * section; each value is handed to drv_cfg_parse() with the key's row from
 * the table in config_table.c, so the file, the environment and the built-in
 * defaults all go through the same parser and the same bounds. Every message
 * names the place ("file:line:col", 1-based, or "environment NAME") and the
 * dotted key, and unknown names get a "did you mean" from the table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "config_int.h"
#include "drover/str.h"

/** Largest config file read, so a wrong path cannot eat memory. */
#define CONFIG_MAX_BYTES (16u << 20)

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

drv_err_t drv_cfg_fail(char *errstr, size_t errstr_size,
		       const drv_cfg_where_t *w, const char *key,
		       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	drv_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->file)
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "%s:%zu:%zu: %s%s%s", w->file, w->line,
				 w->col, key ? key : "", key ? ": " : "", msg);
	if (w->env)
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "environment %s: %s", w->env, msg);
	if (w->origin)
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "%s%s%s", key ? key : "", key ? ": " : "",
				 msg);
	return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
			 "built-in default of %s: %s", key ? key : "?", msg);
}

void drv_cfg_suggest_init(drv_cfg_suggest_t *s, const char *typed)
{
	s->typed = typed;
	s->best = 0;
	s->best_len = 0;
	s->dist = 1000;
}

void drv_cfg_suggest_add(drv_cfg_suggest_t *s, const char *cand, size_t id)
{
	int d = drv_edit_distance(s->typed, cand);

	if (d < s->dist) {
		s->dist = d;
		s->best = id;
		s->best_len = strlen(cand);
	}
}

bool drv_cfg_suggestion(const drv_cfg_suggest_t *s, size_t *id)
{
	size_t a = strlen(s->typed), b = s->best_len;

	/* close enough to be a typo: a few edits, at most half the name */
	if (s->dist > 3 || (size_t)s->dist * 2 > (a > b ? a : b))
		return false;
	*id = s->best;
	return true;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

static void handler_release(drv_handler_conf_t *h)
{
	for (size_t i = 0; i < drv_cfg_handler_key_cnt; i++)
		drv_cfg_release(&drv_cfg_handler_keys[i], h);
	free(h->name);
}

static void policy_release(drv_retry_policy_t *p)
{
	for (size_t i = 0; i < drv_cfg_policy_key_cnt; i++)
		drv_cfg_release(&drv_cfg_policy_keys[i], p);
	free(p->name);
}

static void breaker_release(drv_breaker_conf_t *b)
{
	for (size_t i = 0; i < drv_cfg_breaker_key_cnt; i++)
		drv_cfg_release(&drv_cfg_breaker_keys[i], b);
	free(b->name);
}

static void limit_release(drv_limit_conf_t *l)
{
	for (size_t i = 0; i < drv_cfg_limit_key_cnt; i++)
		drv_cfg_release(&drv_cfg_limit_keys[i], l);
	free(l->name);
}

void drv_config_destroy(drv_config_t *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < drv_cfg_key_cnt; i++)
		drv_cfg_release(&drv_cfg_keys[i], cfg);
	for (size_t i = 0; i < cfg->kafka.property_cnt; i++) {
		free(cfg->kafka.properties[i].key);
		free(cfg->kafka.properties[i].value);
	}
	free(cfg->kafka.properties);
	for (size_t i = 0; i < cfg->handler_cnt; i++)
		handler_release(&cfg->handlers[i]);
	free(cfg->handlers);
	for (size_t i = 0; i < cfg->policy_cnt; i++)
		policy_release(&cfg->policies[i]);
	free(cfg->policies);
	for (size_t i = 0; i < cfg->breaker_cnt; i++)
		breaker_release(&cfg->breakers[i]);
	free(cfg->breakers);
	for (size_t i = 0; i < cfg->api_token_cnt; i++) {
		for (size_t k = 0; k < drv_cfg_token_key_cnt; k++)
			drv_cfg_release(&drv_cfg_token_keys[k],
					&cfg->api_tokens[i]);
		free(cfg->api_tokens[i].name);
	}
	free(cfg->api_tokens);
	for (size_t i = 0; i < cfg->limit_cnt; i++)
		limit_release(&cfg->limits[i]);
	free(cfg->limits);
	for (size_t i = 0; i < cfg->schedule_cnt; i++)
		drv_cfg_schedule_release(&cfg->schedules[i]);
	free(cfg->schedules);
	for (size_t i = 0; i < cfg->trigger_cnt; i++)
		drv_cfg_trigger_release(&cfg->triggers[i]);
	free(cfg->triggers);
	free(cfg->priv);
	free(cfg->path);
	free(cfg);
}

/* Parse the built-in default of every row of \p keys into \p base. */
static drv_err_t apply_defaults(const drv_cfg_key_t *keys, size_t cnt,
				void *base, char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < cnt; i++) {
		drv_cfg_value_t v = { .kind = DRV_CFG_SCALAR };
		drv_err_t err;

		if (!keys[i].def)
			continue;
		v.text = keys[i].def;
		err = drv_cfg_parse(&keys[i], keys[i].name, &v, base, errstr,
				    errstr_size);
		if (err)
			return err;
	}
	return DRV_OK;
}

/* Set every field of \p p to the policy key defaults (the standard policy),
 * then to \p values (key, value, ..., NULL; may be NULL). */
static drv_err_t policy_reset(drv_retry_policy_t *p, const char *const *values,
			      char *errstr, size_t errstr_size)
{
	drv_err_t err = apply_defaults(drv_cfg_policy_keys,
				       drv_cfg_policy_key_cnt, p, errstr,
				       errstr_size);

	for (size_t i = 0; !err && values && values[i]; i += 2) {
		const drv_cfg_key_t *k = drv_cfg_find(drv_cfg_policy_keys,
						      drv_cfg_policy_key_cnt,
						      values[i]);
		drv_cfg_value_t v = {
			.kind = DRV_CFG_SCALAR,
			.text = values[i + 1],
		};

		if (!k)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "built-in policy %s: no key %s",
					 p->name, values[i]);
		err = drv_cfg_parse(k, k->name, &v, p, errstr, errstr_size);
	}
	return err;
}

/* cfg->policies: the built-in policies, in table order. */
static drv_err_t builtin_policies(drv_config_t *cfg, char *errstr,
				  size_t errstr_size)
{
	cfg->policies = calloc(drv_cfg_builtin_policy_cnt,
			       sizeof(*cfg->policies));
	if (!cfg->policies)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < drv_cfg_builtin_policy_cnt; i++) {
		const drv_cfg_builtin_policy_t *b =
			&drv_cfg_builtin_policies[i];
		drv_retry_policy_t *p = &cfg->policies[cfg->policy_cnt++];
		drv_err_t err;

		if (!(p->name = strdup(b->name)))
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		if ((err = policy_reset(p, b->values, errstr, errstr_size)))
			return err;
	}
	return DRV_OK;
}

/* cfg->breakers: the built-in `default` breaker. */
static drv_err_t builtin_breaker(drv_config_t *cfg)
{
	if (!(cfg->breakers = calloc(1, sizeof(*cfg->breakers))) ||
	    !(cfg->breakers[0].name = strdup("default")))
		return DRV_ERR_NOMEM;
	cfg->breaker_cnt = 1;
	return apply_defaults(drv_cfg_breaker_keys, drv_cfg_breaker_key_cnt,
			      &cfg->breakers[0], NULL, 0);
}

drv_config_t *drv_config_new(void)
{
	drv_config_t *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->priv = calloc(1, sizeof(*cfg->priv) + drv_cfg_key_cnt);
	if (!cfg->priv ||
	    apply_defaults(drv_cfg_keys, drv_cfg_key_cnt, cfg, NULL, 0) ||
	    builtin_policies(cfg, NULL, 0) || builtin_breaker(cfg)) {
		drv_config_destroy(cfg);
		return NULL;
	}
	cfg->priv->key_cnt = drv_cfg_key_cnt;
	return cfg;
}

const drv_handler_conf_t *drv_config_handler(const drv_config_t *cfg,
					     const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->handler_cnt; i++)
		if (!strcmp(cfg->handlers[i].name, name))
			return &cfg->handlers[i];
	return NULL;
}

const drv_limit_conf_t *drv_config_limit(const drv_config_t *cfg,
					 const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->limit_cnt; i++)
		if (!strcmp(cfg->limits[i].name, name))
			return &cfg->limits[i];
	return NULL;
}

const drv_breaker_conf_t *drv_config_breaker(const drv_config_t *cfg,
					     const char *name)
{
	for (size_t i = 0; name && i < cfg->breaker_cnt; i++)
		if (!strcmp(cfg->breakers[i].name, name))
			return &cfg->breakers[i];
	return cfg->breaker_cnt ? &cfg->breakers[0] : NULL;
}

const drv_schedule_conf_t *drv_config_schedule(const drv_config_t *cfg,
					       const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->schedule_cnt; i++)
		if (!strcmp(cfg->schedules[i].name, name))
			return &cfg->schedules[i];
	return NULL;
}

const drv_retry_policy_t *drv_config_policy(const drv_config_t *cfg,
					    const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->policy_cnt; i++)
		if (!strcmp(cfg->policies[i].name, name))
			return &cfg->policies[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The YAML walker                                                     */
/* ------------------------------------------------------------------ */

/** What the walker learns about a handler, for the checks that run once
 *  all its keys (and later the whole file) are read. Indexed by row of
 *  drv_cfg_handler_keys. */
typedef struct handler_state {
	drv_cfg_where_t where;     /**< of the handler's name */
	bool given[DRV_CFG_HANDLER_KEY_MAX];
	drv_cfg_where_t val_where[DRV_CFG_HANDLER_KEY_MAX]; /**< of values */
	bool cmd_scalar;           /**< command was one string */
} handler_state_t;

/** What the walker keeps of one schedule or trigger for the checks that
 *  need the whole file (handler and policy names). */
typedef struct entry_state {
	drv_cfg_where_t where;     /**< of the entry's name */
	bool given[DRV_CFG_HANDLER_KEY_MAX];
	drv_cfg_where_t val_where[DRV_CFG_HANDLER_KEY_MAX];
} entry_state_t;

typedef struct loader {
	drv_config_t *cfg;
	entry_state_t *ss;        /**< parallel to cfg->schedules */
	entry_state_t *ts;        /**< parallel to cfg->triggers */
	drv_cfg_where_t *lw;      /**< parallel to cfg->limits: where each
				       names its handler */
	yaml_document_t *doc;
	const char *file;
	handler_state_t *hs;      /**< parallel to cfg->handlers */
	drv_cfg_where_t *key_where; /**< per drv_cfg_keys row: its value in
					 the file */
	char *const *envp;        /**< the environment overrides come from */
	char *errstr;
	size_t errstr_size;
} loader_t;

/* The row index of handler key \p name (which must exist). */
/* The row of key \p name in \p keys (0 when there is none). */
static size_t row_index(const drv_cfg_key_t *keys, size_t cnt,
			const char *name)
{
	const drv_cfg_key_t *k = drv_cfg_find(keys, cnt, name);

	return k ? (size_t)(k - keys) : 0;
}

static size_t handler_key(const char *name)
{
	return row_index(drv_cfg_handler_keys, drv_cfg_handler_key_cnt, name);
}

#define FAIL(L, w, key, ...) \
	drv_cfg_fail((L)->errstr, (L)->errstr_size, (w), (key), __VA_ARGS__)

static drv_cfg_where_t where_of(const loader_t *L, const yaml_node_t *n)
{
	drv_cfg_where_t w = {
		.file = L->file,
		.line = n->start_mark.line + 1,
		.col  = n->start_mark.column + 1,
	};
	return w;
}

static yaml_node_t *node_at(const loader_t *L, int index)
{
	return yaml_document_get_node(L->doc, index);
}

static const char *text_of(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (!n || n->type == YAML_NO_NODE)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = text_of(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE:  return "a mapping";
	default:                 return "a scalar";
	}
}

/* The value a node holds, without its children. */
static void shallow(const loader_t *L, const yaml_node_t *n,
		    drv_cfg_value_t *v)
{
	memset(v, 0, sizeof(*v));
	v->where = where_of(L, n);
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		v->kind = DRV_CFG_SEQUENCE;
		break;
	case YAML_MAPPING_NODE:
		v->kind = DRV_CFG_MAPPING;
		break;
	default:
		v->kind = DRV_CFG_SCALAR;
		v->text = n->type == YAML_SCALAR_NODE ? text_of(n) : "";
		v->null = is_null(n);
		break;
	}
}

/* A key of a large mapping, for finding duplicates by sorting. */
typedef struct key_ref {
	const char *text;
	size_t idx;              /* position in the mapping */
	size_t line;             /* 1-based */
} key_ref_t;

static int cmp_key_ref(const void *a, const void *b)
{
	const key_ref_t *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Reject duplicate and non-scalar keys in mapping \p map, whose dotted name
 * is \p prefix ("" at the top). The error points at the second occurrence.
 * Small mappings compare pairs; large ones (schedules: can hold 100,000
 * entries) sort the keys instead.
 */
static drv_err_t check_keys(const loader_t *L, const yaml_node_t *map,
			    const char *prefix)
{
	const yaml_node_pair_t *start = map->data.mapping.pairs.start;
	const yaml_node_pair_t *top = map->data.mapping.pairs.top;
	size_t n = (size_t)(top - start), best = SIZE_MAX, first = 0;
	key_ref_t *refs;

	for (const yaml_node_pair_t *p = start; p < top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		drv_cfg_where_t w = where_of(L, k);

		if (k->type != YAML_SCALAR_NODE)
			return FAIL(L, &w, *prefix ? prefix : NULL,
				    "expected a key name, got %s",
				    node_kind(k));
		for (const yaml_node_pair_t *q = start; n <= 64 && q < p; q++) {
			const yaml_node_t *prev = node_at(L, q->key);

			if (prev->type == YAML_SCALAR_NODE &&
			    !strcmp(text_of(prev), text_of(k)))
				return FAIL(L, &w, NULL,
					    "duplicate key '%s%s%.100s' (first "
					    "at line %zu)", prefix,
					    *prefix ? "." : "", text_of(k),
					    prev->start_mark.line + 1);
		}
	}
	if (n <= 64)
		return DRV_OK;
	if (!(refs = malloc(n * sizeof(*refs))))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *k = node_at(L, start[i].key);

		refs[i].text = text_of(k);
		refs[i].idx = i;
		refs[i].line = k->start_mark.line + 1;
	}
	qsort(refs, n, sizeof(*refs), cmp_key_ref);
	/* the earliest second occurrence, as the pairwise check finds it */
	for (size_t i = 1; i < n; i++) {
		size_t j = i;

		if (strcmp(refs[i].text, refs[i - 1].text))
			continue;
		while (j > 0 && !strcmp(refs[j - 1].text, refs[i].text))
			j--;
		if (refs[i].idx < best) {
			best = refs[i].idx;
			first = refs[j].line;
		}
	}
	free(refs);
	if (best != SIZE_MAX) {
		const yaml_node_t *k = node_at(L, start[best].key);
		drv_cfg_where_t w = where_of(L, k);

		return FAIL(L, &w, NULL, "duplicate key '%s%s%.100s' (first "
			    "at line %zu)", prefix, *prefix ? "." : "",
			    text_of(k), first);
	}
	return DRV_OK;
}

/*
 * Fill \p v from node \p n with its direct children; *children receives the
 * array to free (NULL for a scalar). Mapping keys are checked first.
 */
static drv_err_t node_value(const loader_t *L, const yaml_node_t *n,
			    const char *name, drv_cfg_value_t *v,
			    drv_cfg_value_t **children)
{
	size_t cnt = 0, i = 0;
	drv_cfg_value_t *items;

	*children = NULL;
	shallow(L, n, v);
	if (n->type == YAML_SEQUENCE_NODE)
		cnt = (size_t)(n->data.sequence.items.top -
			       n->data.sequence.items.start);
	else if (n->type == YAML_MAPPING_NODE)
		cnt = 2 * (size_t)(n->data.mapping.pairs.top -
				   n->data.mapping.pairs.start);
	else
		return DRV_OK;
	if (n->type == YAML_MAPPING_NODE) {
		drv_err_t err = check_keys(L, n, name);
		if (err)
			return err;
	}
	if (!(items = calloc(cnt ? cnt : 1, sizeof(*items))))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			shallow(L, node_at(L, *it), &items[i++]);
	} else {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			shallow(L, node_at(L, p->key), &items[i++]);
			shallow(L, node_at(L, p->value), &items[i++]);
		}
	}
	v->items = items;
	v->item_cnt = cnt;
	*children = items;
	return DRV_OK;
}

/* Parse node \p n into the field of row \p k inside \p base. */
static drv_err_t parse_node(const loader_t *L, const drv_cfg_key_t *k,
			    const char *name, const yaml_node_t *n,
			    void *base, drv_cfg_value_t *out)
{
	drv_cfg_value_t v, *children;
	drv_err_t err = node_value(L, n, name, &v, &children);

	if (!err)
		err = drv_cfg_parse(k, name, &v, base, L->errstr,
				    L->errstr_size);
	free(children);
	if (out) {
		*out = v;
		out->items = NULL;
	}
	return err;
}

/* "unknown key 'x.y' (did you mean 'x.z'?)" at the key; hint may be NULL. */
static drv_err_t unknown(const loader_t *L, const yaml_node_t *key,
			 const char *what, const char *name,
			 const char *hint)
{
	drv_cfg_where_t w = where_of(L, key);

	if (hint)
		return FAIL(L, &w, NULL, "unknown %s '%.150s' (did you mean "
			    "'%s'?)", what, name, hint);
	return FAIL(L, &w, NULL, "unknown %s '%.150s'", what, name);
}

static bool valid_chars(const char *s, const char *extra, bool upper)
{
	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    (upper && *s >= 'A' && *s <= 'Z') || strchr(extra, *s))
			continue;
		return false;
	}
	return true;
}

/* kafka.properties: librdkafka name -> scalar, kept as text. */
/* librdkafka properties other keys set; kafka.properties may not. */
static const struct { const char *prop, *use; } owned_props[] = {
	{ "bootstrap.servers",    "kafka.brokers" },
	{ "metadata.broker.list", "kafka.brokers" },
	{ "client.id",            "kafka.client_id" },
	{ "group.id",             "worker.group or coordinator.group" },
};

/* The key that sets librdkafka property \p name, or NULL if none does. */
static const char *owned_prop_use(const char *name)
{
	for (size_t i = 0; i < sizeof(owned_props) / sizeof(owned_props[0]);
	     i++)
		if (!strcmp(name, owned_props[i].prop))
			return owned_props[i].use;
	return NULL;
}

static drv_err_t load_properties(loader_t *L, const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	drv_cfg_where_t w = where_of(L, map);
	size_t n;
	drv_err_t err;

	if (is_null(map))
		return DRV_OK;
	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, "kafka.properties", "expected a mapping of "
			    "librdkafka property: value, got %s",
			    node_kind(map));
	if ((err = check_keys(L, map, "kafka.properties")))
		return err;
	n = (size_t)(map->data.mapping.pairs.top -
		     map->data.mapping.pairs.start);
	if (!(cfg->kafka.properties = calloc(n ? n : 1, sizeof(drv_kv_t))))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		const yaml_node_t *v = node_at(L, p->value);
		const char *name = text_of(k);
		drv_kv_t *kv;

		w = where_of(L, k);
		if (!*name || !valid_chars(name, "._-", true))
			return FAIL(L, &w, "kafka.properties", "'%.100s' is "
				    "not a librdkafka property name", name);
		if (owned_prop_use(name))
			return FAIL(L, &w, NULL, "kafka.properties."
				    "%s: set %s instead", name,
				    owned_prop_use(name));
		w = where_of(L, v);
		if (v->type != YAML_SCALAR_NODE || is_null(v))
			return FAIL(L, &w, NULL, "kafka.properties.%.100s: "
				    "expected a value, got %s", name,
				    is_null(v) ? "nothing" : node_kind(v));
		kv = &cfg->kafka.properties[cfg->kafka.property_cnt];
		kv->key = strdup(name);
		kv->value = strdup(text_of(v));
		cfg->kafka.property_cnt++;
		if (!kv->key || !kv->value)
			return drv_error(L->errstr, L->errstr_size,
					 DRV_ERR_NOMEM, "out of memory");
	}
	return DRV_OK;
}

/* One section of table keys ("kafka:", "worker:", ...). */
static drv_err_t load_section(loader_t *L, const char *sec,
			      const yaml_node_t *map)
{
	drv_cfg_where_t w = where_of(L, map);
	size_t seclen = strlen(sec);
	drv_err_t err;

	if (is_null(map))
		return DRV_OK;
	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, sec, "expected a mapping of keys, got %s",
			    node_kind(map));
	if ((err = check_keys(L, map, sec)))
		return err;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		const char *leaf = text_of(k);
		const drv_cfg_key_t *row;
		char name[256];

		drv_fmt(name, sizeof(name), "%s.%s", sec, leaf);
		if (!strcmp(sec, "kafka") && !strcmp(leaf, "properties")) {
			err = load_properties(L, node_at(L, p->value));
		} else if ((row = drv_cfg_find(drv_cfg_keys, drv_cfg_key_cnt,
					       name))) {
			drv_cfg_value_t v;

			err = parse_node(L, row, name, node_at(L, p->value),
					 L->cfg, &v);
			L->cfg->priv->src[row - drv_cfg_keys] =
				DRV_CFG_SRC_FILE;
			L->key_where[row - drv_cfg_keys] = v.where;
		} else {
			drv_cfg_suggest_t s;
			size_t id;

			drv_cfg_suggest_init(&s, leaf);
			for (size_t i = 0; i < drv_cfg_key_cnt; i++) {
				const char *full = drv_cfg_keys[i].name;
				if (!strncmp(full, sec, seclen) &&
				    full[seclen] == '.')
					drv_cfg_suggest_add(&s,
						full + seclen + 1, i);
			}
			if (!strcmp(sec, "kafka"))
				drv_cfg_suggest_add(&s, "properties",
						    drv_cfg_key_cnt);
			err = unknown(L, k, "key", name,
				      !drv_cfg_suggestion(&s, &id) ? NULL :
				      id < drv_cfg_key_cnt ?
				      drv_cfg_keys[id].name :
				      "kafka.properties");
		}
		if (err)
			return err;
	}
	return DRV_OK;
}

/*
 * "unknown key 'handlers.x.comand' (did you mean 'handlers.x.command'?)" at
 * key node \p k, for an entry whose keys are the rows \p keys.
 */
static drv_err_t unknown_entry_key(const loader_t *L, const yaml_node_t *k,
				   const char *prefix,
				   const drv_cfg_key_t *keys, size_t cnt)
{
	const char *leaf = text_of(k);
	drv_cfg_suggest_t s;
	char name[256], hint[256];
	size_t id;

	drv_fmt(name, sizeof(name), "%s.%s", prefix, leaf);
	drv_cfg_suggest_init(&s, leaf);
	for (size_t i = 0; i < cnt; i++)
		drv_cfg_suggest_add(&s, keys[i].name, i);
	if (!drv_cfg_suggestion(&s, &id))
		return unknown(L, k, "key", name, NULL);
	drv_fmt(hint, sizeof(hint), "%s.%s", prefix, keys[id].name);
	return unknown(L, k, "key", name, hint);
}

/* "an" before exec and http, "a" before the other type names. */
static const char *article(const char *type_name)
{
	return strchr("aeiouh", type_name[0]) ? "an" : "a";
}

/*
 * Every key of handler \p h (settings mapping \p map, all keys known) must
 * belong to its type, which may be set after them; the first that does not
 * is reported at the key.
 */
static drv_err_t check_handler_keys(loader_t *L, const drv_handler_conf_t *h,
				    const yaml_node_t *map)
{
	for (const yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		const drv_cfg_key_t *row = drv_cfg_find(drv_cfg_handler_keys,
							drv_cfg_handler_key_cnt,
							text_of(k));
		drv_cfg_where_t w = where_of(L, k);
		char name[256], types[64];

		if (!row || !row->types ||
		    (row->types & DRV_CFG_FOR(h->type)))
			continue;
		drv_fmt(name, sizeof(name), "handlers.%s.%s", h->name,
			row->name);
		drv_cfg_format_types(row->types, types, sizeof(types));
		return FAIL(L, &w, name, "only for %s handlers", types);
	}
	return DRV_OK;
}

/*
 * The keys the type of handler \p h requires are there (reported at the
 * handler's name), and an exec command agrees with shell.
 */
static drv_err_t check_handler(loader_t *L, const drv_handler_conf_t *h,
			       const handler_state_t *hs)
{
	const char *type = drv_handler_type_name(h->type);
	size_t cmd = handler_key("command");
	char name[256];

	drv_fmt(name, sizeof(name), "handlers.%s", h->name);
	for (size_t i = 0; i < drv_cfg_handler_key_cnt; i++) {
		const drv_cfg_key_t *row = &drv_cfg_handler_keys[i];

		if ((row->flags & DRV_CFG_REQUIRED) && !hs->given[i] &&
		    (row->types & DRV_CFG_FOR(h->type)))
			return FAIL(L, &hs->where, name, "%s %s handler needs "
				    "a %s", article(type), type, row->name);
	}
	if (h->type != DRV_HANDLER_EXEC)
		return DRV_OK;
	drv_fmt(name, sizeof(name), "handlers.%s.command", h->name);
	if (h->shell && !hs->cmd_scalar && h->command_cnt != 1)
		return FAIL(L, &hs->val_where[cmd], name, "with shell: true, "
			    "the command is one string (a script for /bin/sh "
			    "-c), got a list of %zu", h->command_cnt);
	if (!h->shell && hs->cmd_scalar)
		return FAIL(L, &hs->val_where[cmd], name, "a single string "
			    "needs shell: true; without a shell, write the "
			    "argv as a list such as [\"cat\"]");
	return DRV_OK;
}


static drv_err_t load_handler(loader_t *L, const yaml_node_t *key,
			      const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	const char *hname = text_of(key);
	drv_handler_conf_t *h = &cfg->handlers[cfg->handler_cnt];
	handler_state_t *hs = &L->hs[cfg->handler_cnt];
	drv_cfg_where_t w = where_of(L, key);
	char prefix[128];
	drv_err_t err;

	if (!drv_name_valid(hname))
		return FAIL(L, &w, "handlers", "invalid handler name "
			    "'%.100s' (use 1 to 64 of a-z 0-9 _ . -)", hname);
	cfg->handler_cnt++;
	hs->where = w;
	if (!(h->name = strdup(hname)))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if ((err = apply_defaults(drv_cfg_handler_keys,
				  drv_cfg_handler_key_cnt, h, L->errstr,
				  L->errstr_size)))
		return err;
	drv_fmt(prefix, sizeof(prefix), "handlers.%s", hname);
	w = where_of(L, map);
	if (is_null(map))
		return check_handler(L, h, hs);
	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, prefix, "expected a mapping of handler "
			    "settings, got %s", node_kind(map));
	if ((err = check_keys(L, map, prefix)))
		return err;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		const char *leaf = text_of(k);
		const drv_cfg_key_t *row;
		drv_cfg_value_t v;
		char name[256];
		size_t idx;

		drv_fmt(name, sizeof(name), "%s.%s", prefix, leaf);
		row = drv_cfg_find(drv_cfg_handler_keys,
				   drv_cfg_handler_key_cnt, leaf);
		if (!row)
			return unknown_entry_key(L, k, prefix,
						 drv_cfg_handler_keys,
						 drv_cfg_handler_key_cnt);
		if ((err = parse_node(L, row, name, node_at(L, p->value), h,
				      &v)))
			return err;
		idx = (size_t)(row - drv_cfg_handler_keys);
		hs->given[idx] = true;
		hs->val_where[idx] = v.where;
		if (idx == handler_key("command"))
			hs->cmd_scalar = v.kind == DRV_CFG_SCALAR;
	}
	if ((err = check_handler_keys(L, h, map)))
		return err;
	return check_handler(L, h, hs);
}

static drv_err_t load_handlers(loader_t *L, const yaml_node_t *map)
{
	drv_cfg_where_t w = where_of(L, map);
	size_t n;
	drv_err_t err;

	if (is_null(map))
		return DRV_OK;
	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, "handlers", "expected a mapping of handler "
			    "name: settings, got %s", node_kind(map));
	if ((err = check_keys(L, map, "handlers")))
		return err;
	n = (size_t)(map->data.mapping.pairs.top -
		     map->data.mapping.pairs.start);
	L->cfg->handlers = calloc(n ? n : 1, sizeof(drv_handler_conf_t));
	L->hs = calloc(n ? n : 1, sizeof(handler_state_t));
	if (!L->cfg->handlers || !L->hs)
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++)
		if ((err = load_handler(L, node_at(L, p->key),
					node_at(L, p->value))))
			return err;
	return DRV_OK;
}

static drv_err_t parse_entry_value(loader_t *L, const drv_cfg_key_t *row,
				   const char *name, const yaml_node_t *n,
				   void *entry, drv_cfg_value_t *v);

/* The settings of one named entry (\p map, a \p what such as "policy",
 * named \p prefix such as "retry_policies.fast") into \p entry by the rows
 * of \p keys: a key not in the rows is an error with a suggestion. For each
 * key given, es->given[row] is set and es->val_where[row] says where its
 * value stands. */
static drv_err_t load_entry_keys(loader_t *L, const yaml_node_t *map,
				 const char *prefix, const char *what,
				 const drv_cfg_key_t *keys, size_t key_cnt,
				 void *entry, entry_state_t *es)
{
	drv_cfg_where_t w = where_of(L, map);
	drv_err_t err;

	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, prefix, "expected a mapping of %s "
			    "settings, got %s", what,
			    is_null(map) ? "nothing" : node_kind(map));
	if ((err = check_keys(L, map, prefix)))
		return err;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		const drv_cfg_key_t *row = drv_cfg_find(keys, key_cnt,
							text_of(k));
		drv_cfg_value_t v;
		char name[256];
		size_t idx;

		if (!row)
			return unknown_entry_key(L, k, prefix, keys, key_cnt);
		drv_fmt(name, sizeof(name), "%s.%s", prefix, row->name);
		if ((err = parse_entry_value(L, row, name,
					     node_at(L, p->value), entry,
					     &v)))
			return err;
		idx = (size_t)(row - keys);
		es->given[idx] = true;
		es->val_where[idx] = v.where;
	}
	return DRV_OK;
}

/* One entry of retry_policies: a new policy, or a built-in redefined in
 * its place. Keys left out take the standard policy's values. */
static drv_err_t load_policy(loader_t *L, const yaml_node_t *key,
			     const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	const char *pname = text_of(key);
	drv_retry_policy_t *pol = NULL;
	drv_cfg_where_t w = where_of(L, key);
	entry_state_t es = { 0 };
	size_t ib, im;
	char prefix[128], name[256], a[32], b[32];
	drv_err_t err;

	if (!drv_name_valid(pname))
		return FAIL(L, &w, "retry_policies", "invalid policy name "
			    "'%.100s' (use 1 to 64 of a-z 0-9 _ . -)", pname);
	for (size_t i = 0; i < cfg->policy_cnt && !pol; i++)
		if (!strcmp(cfg->policies[i].name, pname))
			pol = &cfg->policies[i];
	if (!pol) {
		pol = &cfg->policies[cfg->policy_cnt++];
		if (!(pol->name = strdup(pname)))
			return drv_error(L->errstr, L->errstr_size,
					 DRV_ERR_NOMEM, "out of memory");
	} else if ((size_t)(pol - cfg->policies) <
		   drv_cfg_builtin_policy_cnt) {
		cfg->priv->redefined |= 1u << (pol - cfg->policies);
	}
	if ((err = policy_reset(pol, NULL, L->errstr, L->errstr_size)))
		return err;
	drv_fmt(prefix, sizeof(prefix), "retry_policies.%s", pname);
	if (is_null(map))
		return DRV_OK;
	if ((err = load_entry_keys(L, map, prefix, "policy",
				   drv_cfg_policy_keys, drv_cfg_policy_key_cnt,
				   pol, &es)))
		return err;
	ib = row_index(drv_cfg_policy_keys, drv_cfg_policy_key_cnt,
		       "base_delay");
	im = row_index(drv_cfg_policy_keys, drv_cfg_policy_key_cnt,
		       "max_delay");
	if (pol->max_delay_ms >= pol->base_delay_ms)
		return DRV_OK;
	drv_format_duration(pol->base_delay_ms, a, sizeof(a));
	drv_format_duration(pol->max_delay_ms, b, sizeof(b));
	if (es.given[im]) {
		drv_fmt(name, sizeof(name), "%s.max_delay", prefix);
		return FAIL(L, &es.val_where[im], name, "%s is less than "
			    "base_delay %s", b, a);
	}
	drv_fmt(name, sizeof(name), "%s.base_delay", prefix);
	return FAIL(L, es.given[ib] ? &es.val_where[ib] : &w, name,
		    "%s is more than max_delay (%s by default); set "
		    "max_delay too", a, b);
}

/* A map section of named entries (retry_policies:, breakers:): grow
 * \p *arr (of \p cnt entries of \p size bytes) by the map's size, zeroed,
 * and load each entry with \p load_one. */
static drv_err_t load_named(loader_t *L, const yaml_node_t *map,
			    const char *section, const char *what, void **arr,
			    size_t cnt, size_t size,
			    drv_err_t (*load_one)(loader_t *L,
						  const yaml_node_t *key,
						  const yaml_node_t *value))
{
	drv_cfg_where_t w = where_of(L, map);
	void *more;
	size_t n;
	drv_err_t err;

	if (is_null(map))
		return DRV_OK;
	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, section, "expected a mapping of %s name: "
			    "settings, got %s", what, node_kind(map));
	if ((err = check_keys(L, map, section)))
		return err;
	n = (size_t)(map->data.mapping.pairs.top -
		     map->data.mapping.pairs.start);
	if (!(more = realloc(*arr, (cnt + n) * size)))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	*arr = more;
	memset((char *)more + cnt * size, 0, n * size);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++)
		if ((err = load_one(L, node_at(L, p->key),
				    node_at(L, p->value))))
			return err;
	return DRV_OK;
}

static drv_err_t load_policies(loader_t *L, const yaml_node_t *map)
{
	return load_named(L, map, "retry_policies", "policy",
			  (void **)&L->cfg->policies, L->cfg->policy_cnt,
			  sizeof(*L->cfg->policies), load_policy);
}

/* One entry of breakers: a new breaker, or `default` redefined in its
 * place. Keys left out take the built-in default's values. */
static drv_err_t load_breaker(loader_t *L, const yaml_node_t *key,
			      const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	const char *bname = text_of(key);
	drv_breaker_conf_t *b = NULL;
	drv_cfg_where_t w = where_of(L, key), succ_w = w;
	entry_state_t es = { 0 };
	char prefix[128], name[256];
	size_t is;
	drv_err_t err;

	if (!drv_name_valid(bname))
		return FAIL(L, &w, "breakers", "invalid breaker name "
			    "'%.100s' (use 1 to 64 of a-z 0-9 _ . -)", bname);
	if (!strcmp(bname, "default")) {
		b = &cfg->breakers[0];
		cfg->priv->breaker_default_file = true;
	} else {
		b = &cfg->breakers[cfg->breaker_cnt++];
		if (!(b->name = strdup(bname)))
			return drv_error(L->errstr, L->errstr_size,
					 DRV_ERR_NOMEM, "out of memory");
	}
	if ((err = apply_defaults(drv_cfg_breaker_keys,
				  drv_cfg_breaker_key_cnt, b, L->errstr,
				  L->errstr_size)))
		return err;
	drv_fmt(prefix, sizeof(prefix), "breakers.%s", bname);
	if (is_null(map))
		return DRV_OK;
	if ((err = load_entry_keys(L, map, prefix, "breaker",
				   drv_cfg_breaker_keys,
				   drv_cfg_breaker_key_cnt, b, &es)))
		return err;
	is = row_index(drv_cfg_breaker_keys, drv_cfg_breaker_key_cnt,
		       "half_open_successes");
	if (es.given[is])
		succ_w = es.val_where[is];
	if (b->half_open_successes <= b->half_open_calls)
		return DRV_OK;
	drv_fmt(name, sizeof(name), "%s.half_open_successes", prefix);
	return FAIL(L, &succ_w, name, "%u is more than half_open_calls (%u)",
		    b->half_open_successes, b->half_open_calls);
}

static drv_err_t load_breakers(loader_t *L, const yaml_node_t *map)
{
	return load_named(L, map, "breakers", "breaker",
			  (void **)&L->cfg->breakers, L->cfg->breaker_cnt,
			  sizeof(*L->cfg->breakers), load_breaker);
}

/* One entry of limits:. The handler is checked once the whole file is
 * read (check_limits). */
static drv_err_t load_limit(loader_t *L, const yaml_node_t *key,
			    const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	const char *lname = text_of(key);
	drv_limit_conf_t *l;
	drv_cfg_where_t w = where_of(L, key);
	entry_state_t es = { 0 };
	char prefix[128], name[160];
	size_t ih, ik;
	drv_err_t err;

	if (!drv_name_valid(lname))
		return FAIL(L, &w, "limits", "invalid limit name '%.100s' "
			    "(use 1 to 64 of a-z 0-9 _ . -)", lname);
	if (drv_config_limit(cfg, lname))
		return FAIL(L, &w, "limits", "limit '%s' given twice", lname);
	l = &cfg->limits[cfg->limit_cnt++];
	if (!(l->name = strdup(lname)))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if ((err = apply_defaults(drv_cfg_limit_keys, drv_cfg_limit_key_cnt,
				  l, L->errstr, L->errstr_size)))
		return err;
	drv_fmt(prefix, sizeof(prefix), "limits.%s", lname);
	if ((err = load_entry_keys(L, map, prefix, "limit",
				   drv_cfg_limit_keys, drv_cfg_limit_key_cnt,
				   l, &es)))
		return err;
	ih = row_index(drv_cfg_limit_keys, drv_cfg_limit_key_cnt, "handler");
	ik = row_index(drv_cfg_limit_keys, drv_cfg_limit_key_cnt, "key");
	L->lw[cfg->limit_cnt - 1] = es.given[ih] ? es.val_where[ih] : w;
	if (!l->handler || !*l->handler) {
		drv_fmt(name, sizeof(name), "%s.handler", prefix);
		return FAIL(L, &w, name, "a limit needs the handler it "
			    "applies to");
	}
	if (l->key && (strncmp(l->key, "label.", 6) ||
		       !drv_name_valid(l->key + 6))) {
		drv_fmt(name, sizeof(name), "%s.key", prefix);
		return FAIL(L, &es.val_where[ik], name, "expected label.NAME "
			    "(NAME 1 to 64 of a-z 0-9 _ . -), got '%.100s'",
			    l->key);
	}
	if (!l->rate && !l->concurrency)
		return FAIL(L, &w, prefix, "a limit needs a rate, a "
			    "concurrency or both");
	return DRV_OK;
}

static drv_err_t load_limits(loader_t *L, const yaml_node_t *map)
{
	size_t n = map && map->type == YAML_MAPPING_NODE ?
		(size_t)(map->data.mapping.pairs.top -
			 map->data.mapping.pairs.start) : 0;
	drv_cfg_where_t *more;

	if (n && !(more = realloc(L->lw, (L->cfg->limit_cnt + n) *
				  sizeof(*L->lw))))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if (n)
		L->lw = more;
	return load_named(L, map, "limits", "limit",
			  (void **)&L->cfg->limits, L->cfg->limit_cnt,
			  sizeof(*L->cfg->limits), load_limit);
}

/* One entry of api_tokens:. Its digest is made once the environment is
 * known (finish_tokens). */
static drv_err_t load_token(loader_t *L, const yaml_node_t *key,
			    const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	const char *tname = text_of(key);
	drv_api_token_conf_t *t = &cfg->api_tokens[cfg->api_token_cnt];
	drv_cfg_where_t w = where_of(L, key);
	entry_state_t es = { 0 };
	char prefix[128];
	drv_err_t err;

	if (!drv_name_valid(tname))
		return FAIL(L, &w, "api_tokens", "invalid token name "
			    "'%.100s' (use 1 to 64 of a-z 0-9 _ . -)", tname);
	for (size_t i = 0; i < cfg->api_token_cnt; i++)
		if (!strcmp(cfg->api_tokens[i].name, tname))
			return FAIL(L, &w, "api_tokens", "token '%s' is "
				    "defined twice", tname);
	if (!(t->name = strdup(tname)))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	cfg->api_token_cnt++;
	if ((err = apply_defaults(drv_cfg_token_keys, drv_cfg_token_key_cnt,
				  t, L->errstr, L->errstr_size)))
		return err;
	drv_fmt(prefix, sizeof(prefix), "api_tokens.%s", tname);
	if (!is_null(map) &&
	    (err = load_entry_keys(L, map, prefix, "token",
				   drv_cfg_token_keys, drv_cfg_token_key_cnt,
				   t, &es)))
		return err;
	return drv_cfg_token_finish(t, L->envp, &w, L->errstr,
				    L->errstr_size);
}

static drv_err_t load_tokens(loader_t *L, const yaml_node_t *map)
{
	return load_named(L, map, "api_tokens", "token",
			  (void **)&L->cfg->api_tokens, L->cfg->api_token_cnt,
			  sizeof(*L->cfg->api_tokens), load_token);
}

/* ------------------------------------------------------------------ */
/* Schedules and triggers                                              */
/* ------------------------------------------------------------------ */

/* How much a YAML value may become as JSON. Aliases let a few hundred
 * bytes name billions of values (each alias repeats what its anchor
 * names: nine levels of nine aliases are 387 million strings), so the
 * walk counts what it has made and stops. */
#define JSON_MAX_VALUES 100000
#define JSON_MAX_TEXT   (1u << 20)

typedef struct json_budget {
	size_t values;  /* nodes made so far */
	size_t text;    /* bytes of scalar text (keys too) so far */
	bool over;      /* a limit was passed: the result is incomplete */
} json_budget_t;

/* Charge \p text_len bytes and one value; false once over a limit. */
static bool budget_take(json_budget_t *b, size_t text_len)
{
	b->values++;
	b->text += text_len;
	if (b->values > JSON_MAX_VALUES || b->text > JSON_MAX_TEXT)
		b->over = true;
	return !b->over;
}

/* A YAML node as JSON: plain scalars that read as null, booleans or
 * numbers become those, every other scalar a string. NULL when out of
 * memory; incomplete once \p b is over. */
static json_t *yaml_json(const loader_t *L, const yaml_node_t *n, int depth,
			 json_budget_t *b)
{
	json_t *j;

	if (!n || depth > 64 ||
	    !budget_take(b, n->type == YAML_SCALAR_NODE ?
			 n->data.scalar.length : 0))
		return json_null();
	if (n->type == YAML_SEQUENCE_NODE) {
		j = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     j && !b->over && it < n->data.sequence.items.top; it++)
			json_array_append_new(j, yaml_json(L,
				node_at(L, *it), depth + 1, b));
		return j;
	}
	if (n->type == YAML_MAPPING_NODE) {
		j = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     j && !b->over && p < n->data.mapping.pairs.top; p++) {
			const yaml_node_t *k = node_at(L, p->key);

			json_object_set_new(j, k->type == YAML_SCALAR_NODE ?
					    text_of(k) : "?",
					    yaml_json(L, node_at(L, p->value),
						      depth + 1, b));
		}
		return j;
	}
	if (n->type != YAML_SCALAR_NODE)
		return json_null();
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		const char *t = text_of(n);
		json_error_t je;

		if (is_null(n))
			return json_null();
		if (!strcmp(t, "true") || !strcmp(t, "false") ||
		    (*t && strchr("-0123456789", *t))) {
			j = json_loads(t, JSON_DECODE_ANY, &je);
			if (j && (json_is_number(j) || json_is_boolean(j)))
				return j;
			json_decref(j);
		}
	}
	return json_string(text_of(n));
}

/** What differs between the `schedules:` and `triggers:` maps. */
typedef struct entry_kind {
	const char *section;     /* "schedules" */
	const char *what;        /* "schedule" */
	const drv_cfg_key_t *keys;
	size_t size;             /* of one entry */
} entry_kind_t;

static const entry_kind_t schedule_kind = {
	"schedules", "schedule", drv_cfg_schedule_keys,
	sizeof(drv_schedule_conf_t),
};
static const entry_kind_t trigger_kind = {
	"triggers", "trigger", drv_cfg_trigger_keys,
	sizeof(drv_trigger_conf_t),
};

/* Parse one key of an entry: a DRV_CFG_JSON row given a mapping or list
 * gets that structure as JSON text. */
static drv_err_t parse_entry_value(loader_t *L, const drv_cfg_key_t *row,
				   const char *name, const yaml_node_t *n,
				   void *entry, drv_cfg_value_t *v)
{
	json_budget_t budget = { 0 };
	json_t *j;
	char *text;
	drv_err_t err;

	if (!(row->flags & DRV_CFG_JSON) ||
	    (n->type != YAML_MAPPING_NODE && n->type != YAML_SEQUENCE_NODE))
		return parse_node(L, row, name, n, entry, v);
	j = yaml_json(L, n, 0, &budget);
	if (budget.over) {
		drv_cfg_where_t w = where_of(L, n);

		json_decref(j);
		return FAIL(L, &w, name, "expands to more than %u values or "
			    "%u bytes of text (YAML aliases repeat what "
			    "their anchor names)", JSON_MAX_VALUES,
			    JSON_MAX_TEXT);
	}
	text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!text)
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	shallow(L, n, v);
	v->kind = DRV_CFG_SCALAR;
	v->text = text;
	err = drv_cfg_parse(row, name, v, entry, L->errstr, L->errstr_size);
	v->text = NULL;
	free(text);
	return err;
}

/* One entry of schedules: or triggers: into \p entry (zeroed), its
 * defaults first. */
static drv_err_t load_entry(loader_t *L, const entry_kind_t *kind,
			    size_t key_cnt, const yaml_node_t *key,
			    const yaml_node_t *map, void *entry,
			    char **name_field, entry_state_t *es)
{
	const char *ename = text_of(key);
	drv_cfg_where_t w = where_of(L, key);
	char prefix[160];
	drv_err_t err;

	if (!drv_name_valid(ename))
		return FAIL(L, &w, kind->section, "invalid %s name '%.100s' "
			    "(use 1 to 64 of a-z 0-9 _ . -)", kind->what,
			    ename);
	es->where = w;
	if (!(*name_field = strdup(ename)))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	if ((err = apply_defaults(kind->keys, key_cnt, entry, L->errstr,
				  L->errstr_size)))
		return err;
	drv_fmt(prefix, sizeof(prefix), "%s.%s", kind->section, ename);
	return load_entry_keys(L, map, prefix, kind->what, kind->keys,
			       key_cnt, entry, es);
}

static drv_err_t load_entries(loader_t *L, const entry_kind_t *kind,
			      size_t key_cnt, const yaml_node_t *map)
{
	drv_config_t *cfg = L->cfg;
	bool sched = kind == &schedule_kind;
	drv_cfg_where_t w = where_of(L, map);
	size_t n, *cnt = sched ? &cfg->schedule_cnt : &cfg->trigger_cnt;
	entry_state_t **es = sched ? &L->ss : &L->ts;
	void **arr = sched ? (void **)&cfg->schedules :
			     (void **)&cfg->triggers;
	drv_err_t err;

	if (is_null(map))
		return DRV_OK;
	if (map->type != YAML_MAPPING_NODE)
		return FAIL(L, &w, kind->section, "expected a mapping of %s "
			    "name: settings, got %s", kind->what,
			    node_kind(map));
	if ((err = check_keys(L, map, kind->section)))
		return err;
	n = (size_t)(map->data.mapping.pairs.top -
		     map->data.mapping.pairs.start);
	*arr = calloc(n ? n : 1, kind->size);
	*es = calloc(n ? n : 1, sizeof(entry_state_t));
	if (!*arr || !*es)
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		size_t i = (*cnt)++;
		void *entry = (char *)*arr + i * kind->size;
		entry_state_t *st = &(*es)[i];

		err = load_entry(L, kind, key_cnt, node_at(L, p->key),
				 node_at(L, p->value), entry, sched ?
				 &((drv_schedule_conf_t *)entry)->name :
				 &((drv_trigger_conf_t *)entry)->name, st);
		if (!err && sched)
			err = drv_cfg_check_schedule(entry, st->given,
				st->val_where, &st->where, L->errstr,
				L->errstr_size);
		else if (!err)
			err = drv_cfg_check_trigger(entry, st->given,
				st->val_where, &st->where, L->errstr,
				L->errstr_size);
		if (err)
			return err;
	}
	return DRV_OK;
}

static bool is_table_section(const char *sec)
{
	size_t n = strlen(sec);

	for (size_t i = 0; i < drv_cfg_key_cnt; i++)
		if (!strncmp(drv_cfg_keys[i].name, sec, n) &&
		    drv_cfg_keys[i].name[n] == '.')
			return true;
	return false;
}

static drv_err_t load_root(loader_t *L)
{
	const yaml_node_t *root = yaml_document_get_root_node(L->doc);
	drv_cfg_where_t w;
	drv_err_t err;

	/* libyaml keeps NULs inside scalars; C strings would cut them. */
	for (yaml_node_t *n = L->doc->nodes.start; n < L->doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE &&
		    strlen(text_of(n)) != n->data.scalar.length) {
			w = where_of(L, n);
			return FAIL(L, &w, NULL, "a value holds a NUL "
				    "character");
		}
	if (is_null(root))
		return DRV_OK;  /* empty file, or only comments */
	w = where_of(L, root);
	if (root->type != YAML_MAPPING_NODE) {
		char secs[256] = "";
		size_t off = 0;

		for (size_t i = 0; i < drv_cfg_section_cnt && off < sizeof(secs);
		     i++) {
			drv_fmt(secs + off, sizeof(secs) - off, "%s%s",
				i ? ", " : "", drv_cfg_sections[i].name);
			off += strlen(secs + off);
		}
		return FAIL(L, &w, NULL, "the top level must be a mapping of "
			    "sections (%s), got %s", secs, node_kind(root));
	}
	if ((err = check_keys(L, root, "")))
		return err;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node_at(L, p->key);
		const yaml_node_t *v = node_at(L, p->value);
		const char *sec = text_of(k);

		if (!strcmp(sec, "handlers")) {
			err = load_handlers(L, v);
		} else if (!strcmp(sec, "retry_policies")) {
			err = load_policies(L, v);
		} else if (!strcmp(sec, "breakers")) {
			err = load_breakers(L, v);
		} else if (!strcmp(sec, "limits")) {
			err = load_limits(L, v);
		} else if (!strcmp(sec, "api_tokens")) {
			err = load_tokens(L, v);
		} else if (!strcmp(sec, "schedules")) {
			err = load_entries(L, &schedule_kind,
					   drv_cfg_schedule_key_cnt, v);
		} else if (!strcmp(sec, "triggers")) {
			err = load_entries(L, &trigger_kind,
					   drv_cfg_trigger_key_cnt, v);
		} else if (is_table_section(sec)) {
			err = load_section(L, sec, v);
		} else if (drv_cfg_find(drv_cfg_keys, drv_cfg_key_cnt, sec)) {
			w = where_of(L, k);
			return FAIL(L, &w, NULL, "unknown section '%s' (keys "
				    "are nested: write '%.*s:' and '%s:' "
				    "indented below it)", sec,
				    (int)strcspn(sec, "."), sec,
				    sec + strcspn(sec, ".") + 1);
		} else {
			drv_cfg_suggest_t s;
			size_t id;

			drv_cfg_suggest_init(&s, sec);
			for (size_t i = 0; i < drv_cfg_section_cnt; i++)
				drv_cfg_suggest_add(&s,
					drv_cfg_sections[i].name, i);
			err = unknown(L, k, "section", sec,
				      drv_cfg_suggestion(&s, &id) ?
				      drv_cfg_sections[id].name : NULL);
		}
		if (err)
			return err;
	}
	return DRV_OK;
}

/* libyaml's error, placed: reader errors carry a byte offset only. */
static drv_err_t yaml_fail(const loader_t *L, const yaml_parser_t *p,
			   const char *text, size_t len)
{
	drv_cfg_where_t w = { .file = L->file };
	char ctx[160] = "";

	if (p->error == YAML_MEMORY_ERROR)
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "%s: out of memory parsing YAML", L->file);
	if (p->error == YAML_READER_ERROR) {
		size_t off = p->problem_offset < len ? p->problem_offset : len;

		w.line = w.col = 1;
		for (size_t i = 0; i < off; i++) {
			if (text[i] == '\n') {
				w.line++;
				w.col = 1;
			} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
				w.col++;
			}
		}
	} else {
		w.line = p->problem_mark.line + 1;
		w.col = p->problem_mark.column + 1;
	}
	if (p->context)
		drv_fmt(ctx, sizeof(ctx), " (%s at line %zu, column %zu)",
			p->context, p->context_mark.line + 1,
			p->context_mark.column + 1);
	return FAIL(L, &w, NULL, "invalid YAML: %s%s",
		    p->problem ? p->problem : "parse error", ctx);
}

/* Parse the text into L->cfg: exactly one document (or none). */
static drv_err_t load_yaml(loader_t *L, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	drv_err_t err;

	if (!yaml_parser_initialize(&parser))
		return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     len);
	if (!yaml_parser_load(&parser, &doc)) {
		err = yaml_fail(L, &parser, text, len);
		yaml_parser_delete(&parser);
		return err;
	}
	L->doc = &doc;
	err = load_root(L);
	L->doc = NULL;
	yaml_document_delete(&doc);
	if (!err) {
		if (!yaml_parser_load(&parser, &extra)) {
			err = yaml_fail(L, &parser, text, len);
		} else {
			if (yaml_document_get_root_node(&extra)) {
				drv_cfg_where_t w = {
					.file = L->file,
					.line = extra.start_mark.line + 1,
					.col = extra.start_mark.column + 1,
				};
				err = FAIL(L, &w, NULL, "only one YAML "
					   "document is allowed");
			}
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);
	return err;
}

/* ------------------------------------------------------------------ */
/* Environment overrides                                               */
/* ------------------------------------------------------------------ */

#define PROPERTY_ENV "DROVER_KAFKA_PROPERTY_"

/*
 * DROVER_KAFKA_PROPERTY_<NAME>=value sets kafka.properties.<name>, the
 * name lower-cased with '_' read as '.' (DROVER_KAFKA_PROPERTY_SASL_PASSWORD
 * sets sasl.password), replacing the file's value. This is how a secret
 * such as a SASL password reaches drover from a Kubernetes Secret.
 */
static drv_err_t apply_env_property(loader_t *L, const char *var,
				    const char *value)
{
	drv_config_t *cfg = L->cfg;
	drv_cfg_where_t w = { .env = var };
	char name[128];
	size_t n = 0;
	drv_kv_t *kv = NULL, *grown;
	char *v;

	for (const char *s = var + strlen(PROPERTY_ENV); *s; s++) {
		if (n + 1 >= sizeof(name))
			break;
		if (*s == '_')
			name[n++] = '.';
		else if (*s >= 'A' && *s <= 'Z')
			name[n++] = (char)(*s - 'A' + 'a');
		else if ((*s >= '0' && *s <= '9') || *s == '-')
			name[n++] = *s;
		else
			return FAIL(L, &w, NULL, "not a librdkafka property "
				    "name; write %s<NAME> in A-Z 0-9 _ "
				    "(_ stands for .)", PROPERTY_ENV);
	}
	name[n] = '\0';
	if (!n || name[0] == '.' || name[n - 1] == '.')
		return FAIL(L, &w, NULL, "not a librdkafka property name; "
			    "write %s<NAME>, e.g. %sSASL_PASSWORD",
			    PROPERTY_ENV, PROPERTY_ENV);
	if (owned_prop_use(name))
		return FAIL(L, &w, NULL, "sets %s: set %s instead", name,
			    owned_prop_use(name));
	for (size_t i = 0; i < cfg->kafka.property_cnt && !kv; i++)
		if (!strcmp(cfg->kafka.properties[i].key, name))
			kv = &cfg->kafka.properties[i];
	if (!(v = strdup(value)))
		goto nomem;
	if (kv) {
		free(kv->value);
		kv->value = v;
		return DRV_OK;
	}
	grown = realloc(cfg->kafka.properties,
			(cfg->kafka.property_cnt + 1) * sizeof(*grown));
	if (!grown) {
		free(v);
		goto nomem;
	}
	cfg->kafka.properties = grown;
	kv = &grown[cfg->kafka.property_cnt];
	kv->value = v;
	if (!(kv->key = strdup(name))) {
		free(v);
		goto nomem;
	}
	cfg->kafka.property_cnt++;
	return DRV_OK;
nomem:
	return drv_error(L->errstr, L->errstr_size, DRV_ERR_NOMEM,
			 "out of memory");
}

/* Does a token of api_tokens: take its value from variable \p var (its
 * `env`)? Then \p var is that token, not a setting: DROVER_API_TOKEN is
 * the example config's admin token, not a key of api:. */
static bool token_variable(const drv_config_t *cfg, const char *var)
{
	for (size_t i = 0; i < cfg->api_token_cnt; i++)
		if (cfg->api_tokens[i].env &&
		    !strcmp(cfg->api_tokens[i].env, var))
			return true;
	return false;
}

static drv_err_t apply_env(loader_t *L, char *const *envp)
{
	char envname[128];

	for (char *const *e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char var[128];
		size_t n;
		bool matched = false;

		if (strncmp(*e, "DROVER_", 7) || !eq)
			continue;
		n = (size_t)(eq - *e);
		if (n >= sizeof(var))
			n = sizeof(var) - 1;
		memcpy(var, *e, n);
		var[n] = '\0';
		for (size_t i = 0; i < drv_cfg_key_cnt && !matched; i++) {
			drv_cfg_value_t v = {
				.kind = DRV_CFG_SCALAR,
				.text = eq + 1,
				.where = { .env = var },
			};
			drv_err_t err;

			drv_cfg_env_name(drv_cfg_keys[i].name, envname,
					 sizeof(envname));
			if (strcmp(var, envname))
				continue;
			matched = true;
			err = drv_cfg_parse(&drv_cfg_keys[i],
					    drv_cfg_keys[i].name, &v, L->cfg,
					    L->errstr, L->errstr_size);
			if (err)
				return err;
			L->cfg->priv->src[i] = DRV_CFG_SRC_ENV;
		}
		if (matched || token_variable(L->cfg, var))
			continue;
		if (!strncmp(var, PROPERTY_ENV, strlen(PROPERTY_ENV))) {
			drv_err_t err = apply_env_property(L, var, eq + 1);

			if (err)
				return err;
			continue;
		}
		/* DROVER_<SECTION>_...: the section's keys own that prefix */
		for (size_t s = 0; s < drv_cfg_section_cnt; s++) {
			const char *sec = drv_cfg_sections[s].name;
			char prefix[64];
			size_t plen;
			drv_cfg_suggest_t sg;
			drv_cfg_where_t w = { .env = var };
			size_t id;

			if (!is_table_section(sec))
				continue;
			drv_cfg_env_name(sec, prefix, sizeof(prefix) - 1);
			plen = strlen(prefix);
			prefix[plen++] = '_';
			prefix[plen] = '\0';
			if (strncmp(var, prefix, plen))
				continue;
			drv_cfg_suggest_init(&sg, var + plen);
			for (size_t i = 0; i < drv_cfg_key_cnt; i++) {
				drv_cfg_env_name(drv_cfg_keys[i].name,
						 envname, sizeof(envname));
				if (!strncmp(envname, prefix, plen))
					drv_cfg_suggest_add(&sg,
						envname + plen, i);
			}
			if (drv_cfg_suggestion(&sg, &id)) {
				drv_cfg_env_name(drv_cfg_keys[id].name,
						 envname, sizeof(envname));
				return FAIL(L, &w, NULL, "no such setting "
					    "(did you mean %s?)", envname);
			}
			return FAIL(L, &w, NULL, "no such setting; %s* "
				    "variables set %s keys", prefix, sec);
		}
	}
	return DRV_OK;
}

/* Handler values that default to other keys, once those are final. */
static void finish_handlers(loader_t *L)
{
	drv_config_t *cfg = L->cfg;

	for (size_t i = 0; i < cfg->handler_cnt; i++) {
		drv_handler_conf_t *h = &cfg->handlers[i];

		if (!L->hs[i].given[handler_key("timeout")])
			h->timeout_ms = cfg->worker.default_timeout_ms;
		if (!L->hs[i].given[handler_key("output_limit")])
			h->output_limit = cfg->worker.output_limit;
		if (h->workdir && !*h->workdir) {
			free(h->workdir);
			h->workdir = NULL;
		}
		if (h->policy && !*h->policy) {
			free(h->policy);
			h->policy = NULL;
		}
		if (h->breaker && !*h->breaker) {
			free(h->breaker);
			h->breaker = NULL;
		}
	}
}

/* "unknown retry policy" unless \p name names one; at \p w, under \p key. */
static drv_err_t check_policy_name(loader_t *L, const char *name,
				   const drv_cfg_where_t *w, const char *key)
{
	const drv_config_t *cfg = L->cfg;
	drv_cfg_suggest_t s;
	char known[256] = "";
	size_t id, off = 0;

	if (drv_config_policy(cfg, name))
		return DRV_OK;
	drv_cfg_suggest_init(&s, name);
	for (size_t i = 0; i < cfg->policy_cnt; i++)
		drv_cfg_suggest_add(&s, cfg->policies[i].name, i);
	if (drv_cfg_suggestion(&s, &id))
		return FAIL(L, w, key, "unknown retry policy '%.100s' (did "
			    "you mean '%s'?)", name, cfg->policies[id].name);
	for (size_t i = 0; i < cfg->policy_cnt && off < sizeof(known); i++) {
		drv_fmt(known + off, sizeof(known) - off, "%s%s",
			i ? ", " : "", cfg->policies[i].name);
		off += strlen(known + off);
	}
	return FAIL(L, w, key, "unknown retry policy '%.100s' (known: %s)",
		    name, known);
}

/* Every policy name resolves, once the file and the environment are in:
 * worker.default_policy, then each handler's policy. */
/* Where the value of table key \p key came from: its place in the file,
 * its environment variable (named in \p env), or nowhere (the default). */
static drv_cfg_where_t key_where(const loader_t *L, const char *key,
				 char *env, size_t env_size)
{
	const drv_cfg_key_t *row = drv_cfg_find(drv_cfg_keys, drv_cfg_key_cnt,
						key);
	size_t i = (size_t)(row - drv_cfg_keys);
	drv_cfg_where_t w = { 0 };

	if (L->cfg->priv->src[i] == DRV_CFG_SRC_FILE) {
		w = L->key_where[i];
	} else if (L->cfg->priv->src[i] == DRV_CFG_SRC_ENV) {
		drv_cfg_env_name(key, env, env_size);
		w.env = env;
	}
	return w;
}

/* The normal band keeps at least one priority between the other two. */
static drv_err_t check_bands(loader_t *L)
{
	const drv_config_t *cfg = L->cfg;
	char env[128];
	drv_cfg_where_t w;

	if (cfg->kafka.band_low + 1 < cfg->kafka.band_high)
		return DRV_OK;
	w = key_where(L, "kafka.band_high", env, sizeof(env));
	return FAIL(L, &w, "kafka.band_high", "%lld leaves no priority for the "
		    "normal band (kafka.band_low is %lld; band_high must be "
		    "at least band_low + 2)", (long long)cfg->kafka.band_high,
		    (long long)cfg->kafka.band_low);
}

/* Archival must finish well before the DLQ's retention deletes an entry:
 * archive_after plus one pass at most three quarters of the retention. */
static drv_err_t check_archive(loader_t *L)
{
	const drv_config_t *cfg = L->cfg;
	int64_t limit = cfg->kafka.dlq_retention_ms / 4 * 3;
	char env[128], a[32], r[32];
	drv_cfg_where_t w;

	if (!cfg->coordinator.archive_dir[0] ||
	    cfg->coordinator.archive_after_ms +
	    cfg->coordinator.archive_interval_ms <= limit)
		return DRV_OK;
	w = key_where(L, "coordinator.archive_after", env, sizeof(env));
	drv_format_duration(cfg->coordinator.archive_after_ms, a, sizeof(a));
	drv_format_duration(cfg->kafka.dlq_retention_ms, r, sizeof(r));
	return FAIL(L, &w, "coordinator.archive_after", "%s (plus "
		    "coordinator.archive_interval) is not safely below "
		    "kafka.dlq_retention %s: it must be at most three "
		    "quarters of it, or entries could be deleted before "
		    "they are archived", a, r);
}

static drv_err_t check_policy_names(loader_t *L)
{
	const drv_config_t *cfg = L->cfg;
	const char *key = "worker.default_policy";
	char env[128];
	drv_cfg_where_t w = key_where(L, key, env, sizeof(env));
	size_t i;
	drv_err_t err;

	if ((err = check_policy_name(L, cfg->worker.default_policy, &w, key)))
		return err;
	for (i = 0; i < cfg->handler_cnt; i++) {
		const drv_handler_conf_t *h = &cfg->handlers[i];
		char name[128];

		if (!h->policy)
			continue;
		drv_fmt(name, sizeof(name), "handlers.%s.policy", h->name);
		if ((err = check_policy_name(L, h->policy,
				&L->hs[i].val_where[handler_key("policy")],
				name)))
			return err;
	}
	return DRV_OK;
}

/* "unknown handler" unless the config defines none (the coordinator may
 * publish for workers configured elsewhere) or \p name is one. */
static drv_err_t check_handler_name(loader_t *L, const char *name,
				    const drv_cfg_where_t *w, const char *key)
{
	const drv_config_t *cfg = L->cfg;
	drv_cfg_suggest_t s;
	size_t id;

	if (!cfg->handler_cnt || drv_config_handler(cfg, name))
		return DRV_OK;
	drv_cfg_suggest_init(&s, name);
	for (size_t i = 0; i < cfg->handler_cnt; i++)
		drv_cfg_suggest_add(&s, cfg->handlers[i].name, i);
	if (drv_cfg_suggestion(&s, &id))
		return FAIL(L, w, key, "unknown handler '%.100s' (did you "
			    "mean '%s'?)", name, cfg->handlers[id].name);
	return FAIL(L, w, key, "unknown handler '%.100s' (not under "
		    "handlers:)", name);
}

/* The handler and policy of every schedule and trigger exist. */
static drv_err_t check_templates(loader_t *L)
{
	const drv_config_t *cfg = L->cfg;
	size_t nh = 0, np = 0;
	drv_err_t err;

	for (size_t i = 0; i < drv_cfg_schedule_key_cnt; i++) {
		if (!strcmp(drv_cfg_schedule_keys[i].name, "handler"))
			nh = i;
		if (!strcmp(drv_cfg_schedule_keys[i].name, "policy"))
			np = i;
	}
	for (size_t i = 0; i < cfg->schedule_cnt + cfg->trigger_cnt; i++) {
		bool sc = i < cfg->schedule_cnt;
		size_t j = sc ? i : i - cfg->schedule_cnt;
		const drv_task_template_t *t = sc ?
			&cfg->schedules[j].task : &cfg->triggers[j].task;
		const char *ename = sc ? cfg->schedules[j].name :
				    cfg->triggers[j].name;
		const entry_state_t *es = sc ? &L->ss[j] : &L->ts[j];
		size_t h = nh, p = np;
		char key[160];

		if (!sc) {
			h = (size_t)(drv_cfg_find(drv_cfg_trigger_keys,
				drv_cfg_trigger_key_cnt, "handler") -
				drv_cfg_trigger_keys);
			p = (size_t)(drv_cfg_find(drv_cfg_trigger_keys,
				drv_cfg_trigger_key_cnt, "policy") -
				drv_cfg_trigger_keys);
		}
		drv_fmt(key, sizeof(key), "%s.%s.handler",
			sc ? "schedules" : "triggers", ename);
		if ((err = check_handler_name(L, t->handler,
					      &es->val_where[h], key)))
			return err;
		if (!t->policy)
			continue;
		drv_fmt(key, sizeof(key), "%s.%s.policy",
			sc ? "schedules" : "triggers", ename);
		if ((err = check_policy_name(L, t->policy,
					     &es->val_where[p], key)))
			return err;
	}
	return DRV_OK;
}

/* The handler of every limit exists. */
static drv_err_t check_limits(loader_t *L)
{
	for (size_t i = 0; i < L->cfg->limit_cnt; i++) {
		const drv_limit_conf_t *l = &L->cfg->limits[i];
		char key[160];
		drv_err_t err;

		drv_fmt(key, sizeof(key), "limits.%s.handler", l->name);
		if ((err = check_handler_name(L, l->handler, &L->lw[i], key)))
			return err;
	}
	return DRV_OK;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

drv_err_t drv_config_load_string(const char *name, const char *text,
				 size_t len, char *const *envp,
				 drv_config_t **out, char *errstr,
				 size_t errstr_size)
{
	loader_t L = {
		.file = name ? name : "<string>",
		.envp = envp,
		.errstr = errstr,
		.errstr_size = errstr_size,
	};
	drv_err_t err;

	if (!out || (!text && len))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "drv_config_load_string: bad arguments");
	if (!(L.cfg = drv_config_new()) ||
	    !(L.cfg->path = strdup(L.file)) ||
	    !(L.key_where = calloc(drv_cfg_key_cnt, sizeof(*L.key_where)))) {
		drv_config_destroy(L.cfg);
		free(L.key_where);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	err = load_yaml(&L, text ? text : "", len);
	if (!err)
		err = apply_env(&L, envp);
	if (!err) {
		finish_handlers(&L);
		err = check_policy_names(&L);
	}
	if (!err)
		err = check_templates(&L);
	if (!err)
		err = check_limits(&L);
	if (!err)
		err = check_bands(&L);
	if (!err)
		err = check_archive(&L);
	free(L.hs);
	free(L.ss);
	free(L.ts);
	free(L.lw);
	free(L.key_where);
	if (err) {
		drv_config_destroy(L.cfg);
		return err;
	}
	*out = L.cfg;
	return DRV_OK;
}

drv_err_t drv_config_load(const char *path, char *const *envp,
			  drv_config_t **out, char *errstr, size_t errstr_size)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	drv_err_t err;

	if (!path)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "drv_config_load: no path");
	if (!(f = fopen(path, "rb")))
		return drv_error(errstr, errstr_size, DRV_ERR_IO,
				 "%s: cannot read: %s", path, strerror(errno));
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nbuf;

			if (cap >= CONFIG_MAX_BYTES) {
				err = drv_error(errstr, errstr_size,
						DRV_ERR_CONFIG, "%s: larger "
						"than %u MiB; not a config "
						"file?", path,
						CONFIG_MAX_BYTES >> 20);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			if (!(nbuf = realloc(buf, cap))) {
				err = drv_error(errstr, errstr_size,
						DRV_ERR_NOMEM, "out of memory");
				goto out;
			}
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		err = drv_error(errstr, errstr_size, DRV_ERR_IO,
				"%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	err = drv_config_load_string(path, buf, len, envp, out, errstr,
				     errstr_size);
out:
	fclose(f);
	free(buf);
	return err;
}
