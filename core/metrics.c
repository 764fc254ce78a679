/*
 * metrics.c — the Prometheus metrics registry: counter, gauge and histogram
 * families with labelled series, updated from any thread, rendered in the
 * text exposition format 0.0.4 for GET /metrics.
 *
 * Layout: the registry keeps an append-only array of families under one
 * mutex; a family keeps its series in an append-only array (creation order)
 * plus a fixed chained hash table on the label values, both under a
 * read-write lock. Series are never freed before the registry, so an update
 * looks its series up under the read lock, drops the lock and then changes
 * the value with one atomic operation; only the first update of a new label
 * combination takes the write lock. A family without labels has exactly
 * one series, made at registration, and skips the lock altogether.
 *
 * Values: gauges are atomic int64. Counters keep whole increments in an
 * atomic uint64 (exact, one fetch-add) and any fractional remainder in an
 * atomic double updated by compare-and-swap. Histograms keep a
 * non-cumulative atomic count per bucket (the last is +Inf) and a CAS'd
 * double sum; render makes the counts cumulative and reports _count as the
 * +Inf total, so the two always agree.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/metrics.h"
#include "drover/str.h"

/** Hash chains per family; at DRV_METRICS_MAX_SERIES about 8 per chain. */
#define SERIES_BUCKETS 128

/** Counter increments that are whole numbers below this are exact. */
#define WHOLE_LIMIT 9007199254740992.0 /* 2^53 */

enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

static const char *const kind_names[] = { "counter", "gauge", "histogram" };

struct series {
	struct series *next;      /* hash chain */
	uint32_t hash;
	uint32_t label_cnt;       /* the family's, for sorting */
	char **values;            /* label_cnt owned copies */
	union {
		struct {
			_Atomic uint64_t whole;
			_Atomic uint64_t frac_bits;  /* a double */
		} counter;
		_Atomic int64_t gauge;
		_Atomic uint64_t sum_bits;           /* a double */
	} v;
	_Atomic uint64_t buckets[];   /* histogram: bound_cnt + 1 (+Inf) */
};

struct family {
	enum kind kind;
	char *name;
	char *help;               /* NULL when none */
	char **label_names;
	size_t label_cnt;
	double *bounds;           /* histogram only */
	size_t bound_cnt;
	struct drv_metrics *m;    /* for the dropped-series counter */

	struct series *solo;      /* the one series when label_cnt == 0 */

	pthread_rwlock_t lock;    /* guards everything below */
	struct series *chains[SERIES_BUCKETS];
	struct series **list;     /* creation order */
	size_t cnt, cap;
};

/* The public handle types are the family; each is a distinct type so a
 * gauge cannot be passed where a counter is expected. */
struct drv_counter   { struct family f; };
struct drv_gauge     { struct family f; };
struct drv_histogram { struct family f; };

struct collector {
	drv_metrics_collector_fn fn;
	void *arg;
};

struct drv_metrics {
	pthread_mutex_t lock;     /* guards fams and cols (not their contents) */
	struct family **fams;
	size_t fam_cnt, fam_cap;
	struct collector *cols;
	size_t col_cnt, col_cap;
	drv_counter_t *dropped;   /* drover_metrics_dropped_series_total */
};

/* ---- doubles in atomic words ------------------------------------------ */

static double bits_to_double(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static void atomic_add_double(_Atomic uint64_t *slot, double v)
{
	uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(slot, &old,
			double_to_bits(bits_to_double(old) + v),
			memory_order_relaxed, memory_order_relaxed))
		;
}

/* ---- names ------------------------------------------------------------- */

static bool valid_metric_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (size_t i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || c == ':';

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static bool valid_label_name(const char *s)
{
	if (s == NULL || *s == '\0' || strncmp(s, "__", 2) == 0)
		return false;
	for (size_t i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_';

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* Count and check \p names (NULL-terminated or NULL). -1 if invalid. */
static int check_label_names(const char *const *names, enum kind kind)
{
	size_t n = 0;

	if (names == NULL)
		return 0;
	for (; names[n] != NULL; n++) {
		if (n >= DRV_METRICS_MAX_LABELS || !valid_label_name(names[n]))
			return -1;
		if (kind == KIND_HISTOGRAM && strcmp(names[n], "le") == 0)
			return -1;
		for (size_t j = 0; j < n; j++)
			if (strcmp(names[j], names[n]) == 0)
				return -1;
	}
	return (int)n;
}

/* ---- series ------------------------------------------------------------ */

static const char *value_at(const char *const *values, size_t i)
{
	return values == NULL || values[i] == NULL ? "" : values[i];
}

/* FNV-1a over the values, each followed by a 0xff separator (a byte no
 * C string contains) so ("ab","") and ("a","b") differ. */
static uint32_t hash_values(const char *const *values, size_t cnt)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < cnt; i++) {
		for (const unsigned char *p =
		     (const unsigned char *)value_at(values, i); *p; p++)
			h = (h ^ *p) * 16777619u;
		h = (h ^ 0xffu) * 16777619u;
	}
	return h;
}

static bool same_values(const struct series *s, const char *const *values,
			size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		if (strcmp(s->values[i], value_at(values, i)) != 0)
			return false;
	return true;
}

static void series_free(struct series *s, size_t label_cnt)
{
	if (s == NULL)
		return;
	if (s->values != NULL)
		for (size_t i = 0; i < label_cnt; i++)
			free(s->values[i]);
	free(s->values);
	free(s);
}

static struct series *series_new(const struct family *f,
				 const char *const *values, uint32_t hash)
{
	size_t nb = f->kind == KIND_HISTOGRAM ? f->bound_cnt + 1 : 0;
	struct series *s = calloc(1, sizeof(*s) + nb * sizeof(s->buckets[0]));

	if (s == NULL)
		return NULL;
	s->hash = hash;
	s->label_cnt = (uint32_t)f->label_cnt;
	if (f->label_cnt > 0) {
		s->values = calloc(f->label_cnt, sizeof(*s->values));
		if (s->values == NULL) {
			free(s);
			return NULL;
		}
		for (size_t i = 0; i < f->label_cnt; i++) {
			s->values[i] = drv_strdup(value_at(values, i));
			if (s->values[i] == NULL) {
				series_free(s, f->label_cnt);
				return NULL;
			}
		}
	}
	switch (f->kind) {
	case KIND_COUNTER:
		atomic_init(&s->v.counter.whole, 0);
		atomic_init(&s->v.counter.frac_bits, double_to_bits(0.0));
		break;
	case KIND_GAUGE:
		atomic_init(&s->v.gauge, 0);
		break;
	case KIND_HISTOGRAM:
		atomic_init(&s->v.sum_bits, double_to_bits(0.0));
		for (size_t i = 0; i < nb; i++)
			atomic_init(&s->buckets[i], 0);
		break;
	}
	return s;
}

/* Append \p s to the family. Requires the write lock (or sole ownership). */
static bool family_insert(struct family *f, struct series *s)
{
	if (f->cnt == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct series **list = realloc(f->list, cap * sizeof(*list));

		if (list == NULL)
			return false;
		f->list = list;
		f->cap = cap;
	}
	f->list[f->cnt++] = s;
	s->next = f->chains[s->hash % SERIES_BUCKETS];
	f->chains[s->hash % SERIES_BUCKETS] = s;
	return true;
}

static struct series *chain_find(const struct family *f,
				 const char *const *values, uint32_t hash)
{
	for (struct series *s = f->chains[hash % SERIES_BUCKETS]; s != NULL;
	     s = s->next)
		if (s->hash == hash && same_values(s, values, f->label_cnt))
			return s;
	return NULL;
}

/*
 * The series of \p f for \p values, made on first use; NULL when the
 * family is full (the drop is counted) or memory ran out. The result stays
 * valid until the registry is destroyed.
 * @locks_required none; takes f->lock.
 */
static struct series *series_get(struct family *f, const char *const *values)
{
	struct series *s;
	uint32_t hash;
	bool full = false;

	if (f->solo != NULL)
		return f->solo;
	hash = hash_values(values, f->label_cnt);

	pthread_rwlock_rdlock(&f->lock);
	s = chain_find(f, values, hash);
	pthread_rwlock_unlock(&f->lock);
	if (s != NULL)
		return s;

	pthread_rwlock_wrlock(&f->lock);
	s = chain_find(f, values, hash);  /* another thread may have won */
	if (s == NULL) {
		if (f->cnt >= DRV_METRICS_MAX_SERIES) {
			full = true;
		} else {
			s = series_new(f, values, hash);
			if (s != NULL && !family_insert(f, s)) {
				series_free(s, f->label_cnt);
				s = NULL;
			}
		}
	}
	pthread_rwlock_unlock(&f->lock);

	if (full && f->m->dropped != NULL)
		drv_counter_inc(f->m->dropped, NULL);
	return s;
}

/* ---- families and the registry ---------------------------------------- */

static void family_free(struct family *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->cnt; i++)
		series_free(f->list[i], f->label_cnt);
	free(f->list);
	if (f->label_names != NULL)
		for (size_t i = 0; i < f->label_cnt; i++)
			free(f->label_names[i]);
	free(f->label_names);
	free(f->bounds);
	free(f->name);
	free(f->help);
	pthread_rwlock_destroy(&f->lock);
	free(f);
}

static struct family *family_new(drv_metrics_t *m, enum kind kind,
				 const char *name, const char *help,
				 const char *const *label_names,
				 size_t label_cnt, const double *bounds,
				 size_t bound_cnt)
{
	/* drv_counter_t etc. wrap exactly one struct family */
	struct family *f = calloc(1, sizeof(struct drv_histogram));

	if (f == NULL)
		return NULL;
	if (pthread_rwlock_init(&f->lock, NULL) != 0) {
		free(f);
		return NULL;
	}
	f->kind = kind;
	f->m = m;
	f->label_cnt = label_cnt;
	f->bound_cnt = bound_cnt;
	f->name = drv_strdup(name);
	f->help = help != NULL && *help != '\0' ? drv_strdup(help) : NULL;
	if (f->name == NULL || (help != NULL && *help != '\0' &&
				f->help == NULL))
		goto fail;
	if (label_cnt > 0) {
		f->label_names = calloc(label_cnt, sizeof(*f->label_names));
		if (f->label_names == NULL)
			goto fail;
		for (size_t i = 0; i < label_cnt; i++)
			if ((f->label_names[i] = drv_strdup(label_names[i])) ==
			    NULL)
				goto fail;
	}
	if (bound_cnt > 0) {
		f->bounds = malloc(bound_cnt * sizeof(*f->bounds));
		if (f->bounds == NULL)
			goto fail;
		memcpy(f->bounds, bounds, bound_cnt * sizeof(*f->bounds));
	}
	if (label_cnt == 0) {
		struct series *s = series_new(f, NULL, 0);

		if (s == NULL || !family_insert(f, s)) {
			series_free(s, 0);
			goto fail;
		}
		f->solo = s;
	}
	return f;
fail:
	family_free(f);
	return NULL;
}

static bool same_shape(const struct family *f, enum kind kind,
		       const char *const *label_names, size_t label_cnt,
		       const double *bounds, size_t bound_cnt)
{
	if (f->kind != kind || f->label_cnt != label_cnt ||
	    f->bound_cnt != bound_cnt)
		return false;
	for (size_t i = 0; i < label_cnt; i++)
		if (strcmp(f->label_names[i], label_names[i]) != 0)
			return false;
	for (size_t i = 0; i < bound_cnt; i++)
		if (f->bounds[i] != bounds[i])
			return false;
	return true;
}

static const double duration_buckets[] = { DRV_METRICS_DURATION_BUCKETS };

/* Find or make a family; NULL on a bad argument, a clash or no memory. */
static struct family *registry_family(drv_metrics_t *m, enum kind kind,
				      const char *name, const char *help,
				      const char *const *label_names,
				      const double *bounds, size_t bound_cnt)
{
	struct family *f = NULL;
	int label_cnt;

	if (m == NULL || !valid_metric_name(name))
		return NULL;
	label_cnt = check_label_names(label_names, kind);
	if (label_cnt < 0)
		return NULL;
	if (kind == KIND_HISTOGRAM) {
		if (bounds == NULL) {
			bounds = duration_buckets;
			bound_cnt = sizeof(duration_buckets) /
				    sizeof(duration_buckets[0]);
		}
		if (bound_cnt == 0 || bound_cnt > DRV_METRICS_MAX_BUCKETS)
			return NULL;
		for (size_t i = 0; i < bound_cnt; i++)
			if (!isfinite(bounds[i]) ||
			    (i > 0 && !(bounds[i] > bounds[i - 1])))
				return NULL;
	} else {
		bounds = NULL;
		bound_cnt = 0;
	}

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->fam_cnt; i++) {
		if (strcmp(m->fams[i]->name, name) != 0)
			continue;
		f = same_shape(m->fams[i], kind, label_names,
			       (size_t)label_cnt, bounds, bound_cnt)
		    ? m->fams[i] : NULL;
		pthread_mutex_unlock(&m->lock);
		return f;
	}
	if (m->fam_cnt == m->fam_cap) {
		size_t cap = m->fam_cap ? m->fam_cap * 2 : 16;
		struct family **fams = realloc(m->fams, cap * sizeof(*fams));

		if (fams == NULL)
			goto out;
		m->fams = fams;
		m->fam_cap = cap;
	}
	f = family_new(m, kind, name, help, label_names, (size_t)label_cnt,
		       bounds, bound_cnt);
	if (f != NULL)
		m->fams[m->fam_cnt++] = f;
out:
	pthread_mutex_unlock(&m->lock);
	return f;
}

drv_metrics_t *drv_metrics_new(void)
{
	drv_metrics_t *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	m->dropped = drv_metrics_counter(m,
		"drover_metrics_dropped_series_total",
		"Metric updates dropped because their family already had "
		"the most series allowed.", NULL);
	if (m->dropped == NULL) {
		drv_metrics_destroy(m);
		return NULL;
	}
	return m;
}

void drv_metrics_destroy(drv_metrics_t *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->fam_cnt; i++)
		family_free(m->fams[i]);
	free(m->fams);
	free(m->cols);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

drv_counter_t *drv_metrics_counter(drv_metrics_t *m, const char *name,
				   const char *help,
				   const char *const *label_names)
{
	return (drv_counter_t *)registry_family(m, KIND_COUNTER, name, help,
						label_names, NULL, 0);
}

drv_gauge_t *drv_metrics_gauge(drv_metrics_t *m, const char *name,
			       const char *help,
			       const char *const *label_names)
{
	return (drv_gauge_t *)registry_family(m, KIND_GAUGE, name, help,
					      label_names, NULL, 0);
}

drv_histogram_t *drv_metrics_histogram(drv_metrics_t *m, const char *name,
				       const char *help,
				       const char *const *label_names,
				       const double *bounds,
				       size_t bound_cnt)
{
	return (drv_histogram_t *)registry_family(m, KIND_HISTOGRAM, name,
						  help, label_names, bounds,
						  bound_cnt);
}

drv_err_t drv_metrics_on_render(drv_metrics_t *m,
				drv_metrics_collector_fn fn, void *arg)
{
	drv_err_t err = DRV_OK;

	if (m == NULL || fn == NULL)
		return DRV_ERR_INVALID;
	pthread_mutex_lock(&m->lock);
	if (m->col_cnt == m->col_cap) {
		size_t cap = m->col_cap ? m->col_cap * 2 : 4;
		struct collector *cols = realloc(m->cols, cap * sizeof(*cols));

		if (cols == NULL) {
			err = DRV_ERR_NOMEM;
			goto out;
		}
		m->cols = cols;
		m->col_cap = cap;
	}
	m->cols[m->col_cnt].fn = fn;
	m->cols[m->col_cnt].arg = arg;
	m->col_cnt++;
out:
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- updates ----------------------------------------------------------- */

void drv_counter_inc(drv_counter_t *c, const char *const *label_values)
{
	struct series *s;

	if (c == NULL || (s = series_get(&c->f, label_values)) == NULL)
		return;
	atomic_fetch_add_explicit(&s->v.counter.whole, 1,
				  memory_order_relaxed);
}

void drv_counter_add(drv_counter_t *c, const char *const *label_values,
		     double v)
{
	struct series *s;

	if (c == NULL || !isfinite(v) || v < 0)
		return;
	if ((s = series_get(&c->f, label_values)) == NULL)
		return;
	if (v < WHOLE_LIMIT && v == floor(v))
		atomic_fetch_add_explicit(&s->v.counter.whole, (uint64_t)v,
					  memory_order_relaxed);
	else
		atomic_add_double(&s->v.counter.frac_bits, v);
}

void drv_gauge_set(drv_gauge_t *g, const char *const *label_values,
		   int64_t v)
{
	struct series *s;

	if (g == NULL || (s = series_get(&g->f, label_values)) == NULL)
		return;
	atomic_store_explicit(&s->v.gauge, v, memory_order_relaxed);
}

void drv_gauge_add(drv_gauge_t *g, const char *const *label_values,
		   int64_t delta)
{
	struct series *s;

	if (g == NULL || (s = series_get(&g->f, label_values)) == NULL)
		return;
	atomic_fetch_add_explicit(&s->v.gauge, delta, memory_order_relaxed);
}

void drv_histogram_observe(drv_histogram_t *h,
			   const char *const *label_values, double seconds)
{
	struct series *s;
	size_t lo, hi;

	if (h == NULL || isnan(seconds))
		return;
	if ((s = series_get(&h->f, label_values)) == NULL)
		return;
	/* the first bound >= seconds; bound_cnt (+Inf) if none */
	lo = 0;
	hi = h->f.bound_cnt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->f.bounds[mid] >= seconds)
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
	atomic_add_double(&s->v.sum_bits, seconds);
}

/* ---- rendering --------------------------------------------------------- */

static void puts_(drv_buf_t *b, const char *s)
{
	drv_buf_add(b, s, strlen(s));
}

/* Escape \ and newline, and " too when \p quote (label values). */
static void put_escaped(drv_buf_t *b, const char *s, bool quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (*s == '"' && quote)
			rep = "\\\"";
		if (rep == NULL)
			continue;
		drv_buf_add(b, run, (size_t)(s - run));
		puts_(b, rep);
		run = s + 1;
	}
	drv_buf_add(b, run, (size_t)(s - run));
}

/* A decimal that reads back as \p v: the fewest significant digits from 6
 * up (so %g keeps 20000 as "20000", not "2e+04"); NaN, +Inf and -Inf as
 * Prometheus spells them. */
static void format_double(double v, char *out, size_t size)
{
	if (isnan(v)) {
		drv_strlcpy(out, "NaN", size);
		return;
	}
	if (isinf(v)) {
		drv_strlcpy(out, v > 0 ? "+Inf" : "-Inf", size);
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		if (drv_fmt(out, size, "%.*g", prec, v) &&
		    strtod(out, NULL) == v)
			return;
	}
}

static void put_double(drv_buf_t *b, double v)
{
	char num[40];

	format_double(v, num, sizeof(num));
	puts_(b, num);
}

static void put_u64(drv_buf_t *b, uint64_t v)
{
	char num[24];

	drv_fmt(num, sizeof(num), "%llu", (unsigned long long)v);
	puts_(b, num);
}

/* name{l1="v1",...[,le="B"]} — the braces only when there is a label. */
static void put_labels(drv_buf_t *b, const struct family *f,
		       const struct series *s, const char *le)
{
	if (f->label_cnt == 0 && le == NULL)
		return;
	puts_(b, "{");
	for (size_t i = 0; i < f->label_cnt; i++) {
		if (i > 0)
			puts_(b, ",");
		puts_(b, f->label_names[i]);
		puts_(b, "=\"");
		put_escaped(b, s->values[i], true);
		puts_(b, "\"");
	}
	if (le != NULL) {
		if (f->label_cnt > 0)
			puts_(b, ",");
		puts_(b, "le=\"");
		puts_(b, le);
		puts_(b, "\"");
	}
	puts_(b, "}");
}

static void render_series(drv_buf_t *b, const struct family *f,
			  const struct series *s)
{
	switch (f->kind) {
	case KIND_COUNTER: {
		uint64_t whole = atomic_load_explicit(&s->v.counter.whole,
						      memory_order_relaxed);
		double frac = bits_to_double(atomic_load_explicit(
			&s->v.counter.frac_bits, memory_order_relaxed));

		puts_(b, f->name);
		put_labels(b, f, s, NULL);
		puts_(b, " ");
		if (frac == 0)
			put_u64(b, whole);
		else
			put_double(b, (double)whole + frac);
		puts_(b, "\n");
		break;
	}
	case KIND_GAUGE: {
		int64_t v = atomic_load_explicit(&s->v.gauge,
						 memory_order_relaxed);
		char num[24];

		drv_fmt(num, sizeof(num), "%lld", (long long)v);
		puts_(b, f->name);
		put_labels(b, f, s, NULL);
		puts_(b, " ");
		puts_(b, num);
		puts_(b, "\n");
		break;
	}
	case KIND_HISTOGRAM: {
		uint64_t total = 0;
		char le[40];

		for (size_t i = 0; i <= f->bound_cnt; i++) {
			total += atomic_load_explicit(&s->buckets[i],
						      memory_order_relaxed);
			if (i < f->bound_cnt)
				format_double(f->bounds[i], le, sizeof(le));
			else
				drv_strlcpy(le, "+Inf", sizeof(le));
			puts_(b, f->name);
			puts_(b, "_bucket");
			put_labels(b, f, s, le);
			puts_(b, " ");
			put_u64(b, total);
			puts_(b, "\n");
		}
		puts_(b, f->name);
		puts_(b, "_sum");
		put_labels(b, f, s, NULL);
		puts_(b, " ");
		put_double(b, bits_to_double(atomic_load_explicit(
			&s->v.sum_bits, memory_order_relaxed)));
		puts_(b, "\n");
		puts_(b, f->name);
		puts_(b, "_count");
		put_labels(b, f, s, NULL);
		puts_(b, " ");
		put_u64(b, total);
		puts_(b, "\n");
		break;
	}
	}
}

/* qsort: by label values, label by label (byte order). */
static int series_cmp(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a;
	const struct series *y = *(struct series *const *)b;

	for (uint32_t i = 0; i < x->label_cnt; i++) {
		int c = strcmp(x->values[i], y->values[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

static void render_family(drv_buf_t *b, struct family *f)
{
	struct series **snap;
	size_t cnt;

	if (f->help != NULL) {
		puts_(b, "# HELP ");
		puts_(b, f->name);
		puts_(b, " ");
		put_escaped(b, f->help, false);
		puts_(b, "\n");
	}
	puts_(b, "# TYPE ");
	puts_(b, f->name);
	puts_(b, " ");
	puts_(b, kind_names[f->kind]);
	puts_(b, "\n");

	/* Snapshot the series pointers; the series themselves stay valid and
	 * their label values never change, so no lock is needed past here. */
	pthread_rwlock_rdlock(&f->lock);
	cnt = f->cnt;
	snap = cnt > 0 ? malloc(cnt * sizeof(*snap)) : NULL;
	if (snap != NULL)
		memcpy(snap, f->list, cnt * sizeof(*snap));
	pthread_rwlock_unlock(&f->lock);
	if (cnt > 0 && snap == NULL) {
		b->oom = true;
		return;
	}
	if (cnt > 1)
		qsort(snap, cnt, sizeof(*snap), series_cmp);
	for (size_t i = 0; i < cnt; i++)
		render_series(b, f, snap[i]);
	free(snap);
}

char *drv_metrics_render(drv_metrics_t *m, size_t *len)
{
	drv_buf_t b = { 0 };
	struct collector *cols = NULL;
	struct family **fams = NULL;
	size_t col_cnt, fam_cnt;

	if (m == NULL)
		return NULL;

	/* Collectors run without the registry lock: they may register. */
	pthread_mutex_lock(&m->lock);
	col_cnt = m->col_cnt;
	if (col_cnt > 0) {
		cols = malloc(col_cnt * sizeof(*cols));
		if (cols != NULL)
			memcpy(cols, m->cols, col_cnt * sizeof(*cols));
	}
	pthread_mutex_unlock(&m->lock);
	if (col_cnt > 0 && cols == NULL)
		return NULL;
	for (size_t i = 0; i < col_cnt; i++)
		cols[i].fn(m, cols[i].arg);
	free(cols);

	/* Families are never removed before destroy: a snapshot of the
	 * pointers is enough. */
	pthread_mutex_lock(&m->lock);
	fam_cnt = m->fam_cnt;
	fams = malloc(fam_cnt * sizeof(*fams));
	if (fams != NULL)
		memcpy(fams, m->fams, fam_cnt * sizeof(*fams));
	pthread_mutex_unlock(&m->lock);
	if (fams == NULL)
		return NULL;

	drv_buf_add(&b, "", 0);  /* an empty registry still yields "" */
	for (size_t i = 0; i < fam_cnt && !b.oom; i++)
		render_family(&b, fams[i]);
	free(fams);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}
