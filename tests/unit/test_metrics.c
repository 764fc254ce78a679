/*
 * Unit tests for the metrics registry: the exact exposition text of a small
 * registry, escaping, cumulative histogram buckets, default buckets, series
 * order, registration rules, the series cap and its dropped counter,
 * collectors, and exact totals under 8 threads of concurrent updates.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drover/metrics.h"
#include "drover/str.h"

#define L(...) ((const char *const[]){ __VA_ARGS__ })

static const char dropped_head[] =
	"# HELP drover_metrics_dropped_series_total Metric updates dropped "
	"because their family already had the most series allowed.\n"
	"# TYPE drover_metrics_dropped_series_total counter\n";

/* Render \p m; the caller frees. Checks the reported length. */
static char *render(drv_metrics_t *m)
{
	size_t len = 12345;
	char *text = drv_metrics_render(m, &len);

	cr_assert_not_null(text);
	cr_assert_eq(len, strlen(text));
	return text;
}

/* The text after the built-in dropped-series family. */
static const char *after_dropped(const char *text)
{
	const char *p = strstr(text, "\ndrover_metrics_dropped_series_total ");

	cr_assert_not_null(p);
	p = strchr(p + 1, '\n');
	cr_assert_not_null(p);
	return p + 1;
}

/* The value on the line starting with \p prefix (followed by a space). */
static const char *value_of(const char *text, const char *prefix,
			    char *out, size_t size)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *eol = strchr(p, '\n');

		if (strncmp(p, prefix, n) == 0 && p[n] == ' ') {
			size_t vl = (size_t)((eol ? eol : p + strlen(p)) -
					     (p + n + 1));

			cr_assert_lt(vl, size);
			memcpy(out, p + n + 1, vl);
			out[vl] = '\0';
			return out;
		}
		p = eol ? eol + 1 : NULL;
	}
	cr_assert_fail("no line starting with %s in:\n%s", prefix, text);
	return NULL;
}

Test(metrics, render_exact)
{
	drv_metrics_t *m = drv_metrics_new();
	static const double b[] = { 0.125, 1 };
	drv_counter_t *tasks;
	drv_gauge_t *inflight;
	drv_histogram_t *dur;
	char *text;

	cr_assert_not_null(m);
	tasks = drv_metrics_counter(m, "drover_tasks_total",
				    "Tasks finished.",
				    L("handler", "outcome", NULL));
	inflight = drv_metrics_gauge(m, "drover_tasks_in_flight",
				     "Tasks running now.", NULL);
	dur = drv_metrics_histogram(m, "drover_task_duration_seconds",
				    "Task run time.", L("handler", NULL), b, 2);
	cr_assert(tasks && inflight && dur);

	drv_counter_inc(tasks, L("echo", "succeeded"));
	drv_counter_inc(tasks, L("echo", "succeeded"));
	drv_counter_add(tasks, L("echo", "failed"), 3);
	drv_gauge_set(inflight, NULL, 4);
	drv_gauge_add(inflight, NULL, -1);
	drv_histogram_observe(dur, L("echo"), 0.0625);
	drv_histogram_observe(dur, L("echo"), 0.5);
	drv_histogram_observe(dur, L("echo"), 4);

	text = render(m);
	cr_assert_str_eq(text,
		"# HELP drover_metrics_dropped_series_total Metric updates "
		"dropped because their family already had the most series "
		"allowed.\n"
		"# TYPE drover_metrics_dropped_series_total counter\n"
		"drover_metrics_dropped_series_total 0\n"
		"# HELP drover_tasks_total Tasks finished.\n"
		"# TYPE drover_tasks_total counter\n"
		"drover_tasks_total{handler=\"echo\",outcome=\"failed\"} 3\n"
		"drover_tasks_total{handler=\"echo\",outcome=\"succeeded\"} 2\n"
		"# HELP drover_tasks_in_flight Tasks running now.\n"
		"# TYPE drover_tasks_in_flight gauge\n"
		"drover_tasks_in_flight 3\n"
		"# HELP drover_task_duration_seconds Task run time.\n"
		"# TYPE drover_task_duration_seconds histogram\n"
		"drover_task_duration_seconds_bucket{handler=\"echo\","
		"le=\"0.125\"} 1\n"
		"drover_task_duration_seconds_bucket{handler=\"echo\","
		"le=\"1\"} 2\n"
		"drover_task_duration_seconds_bucket{handler=\"echo\","
		"le=\"+Inf\"} 3\n"
		"drover_task_duration_seconds_sum{handler=\"echo\"} 4.5625\n"
		"drover_task_duration_seconds_count{handler=\"echo\"} 3\n");
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, empty_registry_has_only_dropped_counter)
{
	drv_metrics_t *m = drv_metrics_new();
	char *text = render(m);
	char want[512];

	drv_fmt(want, sizeof(want), "%sdrover_metrics_dropped_series_total 0\n",
		dropped_head);
	cr_assert_str_eq(text, want);
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, unlabelled_histogram_and_no_help)
{
	drv_metrics_t *m = drv_metrics_new();
	static const double b[] = { 0.5 };
	drv_histogram_t *h = drv_metrics_histogram(m, "lat_seconds", NULL,
						   NULL, b, 1);
	drv_counter_t *c = drv_metrics_counter(m, "c_total", "", NULL);
	char *text;

	cr_assert(h && c);
	drv_histogram_observe(h, NULL, 0.25);
	text = render(m);
	cr_assert_str_eq(after_dropped(text),
		"# TYPE lat_seconds histogram\n"
		"lat_seconds_bucket{le=\"0.5\"} 1\n"
		"lat_seconds_bucket{le=\"+Inf\"} 1\n"
		"lat_seconds_sum 0.25\n"
		"lat_seconds_count 1\n"
		"# TYPE c_total counter\n"
		"c_total 0\n");
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, labelled_family_without_series_renders_header_only)
{
	drv_metrics_t *m = drv_metrics_new();
	char *text;

	cr_assert_not_null(drv_metrics_gauge(m, "g", "A gauge.",
					     L("k", NULL)));
	text = render(m);
	cr_assert_str_eq(after_dropped(text),
			 "# HELP g A gauge.\n# TYPE g gauge\n");
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, label_value_and_help_escaping)
{
	drv_metrics_t *m = drv_metrics_new();
	drv_counter_t *c = drv_metrics_counter(m, "esc_total",
		"Back\\slash, \"quotes\" and a\nnewline.", L("v", NULL));
	char *text;

	drv_counter_inc(c, L("a\\b\"c\nd"));
	drv_counter_inc(c, L(NULL));  /* NULL value is "" */
	text = render(m);
	cr_assert_str_eq(after_dropped(text),
		"# HELP esc_total Back\\\\slash, \"quotes\" and a\\nnewline.\n"
		"# TYPE esc_total counter\n"
		"esc_total{v=\"\"} 1\n"
		"esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, histogram_buckets_are_cumulative)
{
	drv_metrics_t *m = drv_metrics_new();
	static const double b[] = { 0.1, 1, 10 };
	drv_histogram_t *h = drv_metrics_histogram(m, "h_seconds", NULL,
						   NULL, b, 3);
	static const double obs[] = { 0.05, 0.1, 0.5, 2, 100, -1 };
	char *text, v[64];

	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		drv_histogram_observe(h, NULL, obs[i]);
	drv_histogram_observe(h, NULL, 0.0 / 0.0);  /* NaN: ignored */
	text = render(m);
	/* bounds are inclusive: 0.1 falls in le="0.1"; -1 in the first */
	cr_assert_str_eq(value_of(text, "h_seconds_bucket{le=\"0.1\"}", v,
				  sizeof(v)), "3");
	cr_assert_str_eq(value_of(text, "h_seconds_bucket{le=\"1\"}", v,
				  sizeof(v)), "4");
	cr_assert_str_eq(value_of(text, "h_seconds_bucket{le=\"10\"}", v,
				  sizeof(v)), "5");
	cr_assert_str_eq(value_of(text, "h_seconds_bucket{le=\"+Inf\"}", v,
				  sizeof(v)), "6");
	cr_assert_str_eq(value_of(text, "h_seconds_count", v, sizeof(v)),
			 "6");
	cr_assert_eq(strtod(value_of(text, "h_seconds_sum", v, sizeof(v)),
			    NULL), 0.05 + 0.1 + 0.5 + 2 + 100 - 1);
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, default_duration_buckets)
{
	drv_metrics_t *m = drv_metrics_new();
	drv_histogram_t *h = drv_metrics_histogram(m, "d_seconds", NULL,
						   NULL, NULL, 0);
	static const char *const les[] = {
		"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
		"2.5", "5", "10", "30", "60", "300", "+Inf",
	};
	char *text, prefix[64], v[32];

	cr_assert_not_null(h);
	drv_histogram_observe(h, NULL, 0.3);
	text = render(m);
	for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
		drv_fmt(prefix, sizeof(prefix), "d_seconds_bucket{le=\"%s\"}",
			les[i]);
		cr_assert_str_eq(value_of(text, prefix, v, sizeof(v)),
				 i < 6 ? "0" : "1", "%s", prefix);
	}
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, counter_fractions_and_rejections)
{
	drv_metrics_t *m = drv_metrics_new();
	drv_counter_t *c = drv_metrics_counter(m, "f_total", NULL, NULL);
	char *text, v[32];

	drv_counter_add(c, NULL, 1);
	drv_counter_add(c, NULL, 0.5);
	drv_counter_add(c, NULL, -3);        /* never goes down */
	drv_counter_add(c, NULL, 1.0 / 0.0); /* infinite: ignored */
	text = render(m);
	cr_assert_str_eq(value_of(text, "f_total", v, sizeof(v)), "1.5");
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, series_sorted_by_label_values)
{
	drv_metrics_t *m = drv_metrics_new();
	drv_gauge_t *g = drv_metrics_gauge(m, "s", NULL, L("a", "b", NULL));
	char *text;

	drv_gauge_set(g, L("y", "2"), 1);
	drv_gauge_set(g, L("x", "9"), 2);
	drv_gauge_set(g, L("y", "10"), 3);
	drv_gauge_set(g, L("ab", ""), 4);
	drv_gauge_set(g, L("a", "z"), -5);
	text = render(m);
	cr_assert_str_eq(after_dropped(text),
		"# TYPE s gauge\n"
		"s{a=\"a\",b=\"z\"} -5\n"
		"s{a=\"ab\",b=\"\"} 4\n"
		"s{a=\"x\",b=\"9\"} 2\n"
		"s{a=\"y\",b=\"10\"} 3\n"
		"s{a=\"y\",b=\"2\"} 1\n");
	free(text);
	drv_metrics_destroy(m);
}

Test(metrics, registration_rules)
{
	drv_metrics_t *m = drv_metrics_new();
	static const double b[] = { 1, 2 };
	static const double unsorted[] = { 2, 1 };
	drv_counter_t *c = drv_metrics_counter(m, "x_total", "help",
					       L("a", NULL));
	drv_histogram_t *h = drv_metrics_histogram(m, "h", NULL, NULL, b, 2);

	cr_assert_not_null(c);
	cr_assert_not_null(h);
	/* same shape: the same family */
	cr_assert_eq(drv_metrics_counter(m, "x_total", "other", L("a", NULL)),
		     c);
	cr_assert_eq(drv_metrics_histogram(m, "h", NULL, NULL, b, 2), h);
	/* clashes */
	cr_assert_null(drv_metrics_gauge(m, "x_total", NULL, L("a", NULL)));
	cr_assert_null(drv_metrics_counter(m, "x_total", NULL, NULL));
	cr_assert_null(drv_metrics_counter(m, "x_total", NULL, L("b", NULL)));
	cr_assert_null(drv_metrics_histogram(m, "h", NULL, NULL, b, 1));
	/* bad names */
	cr_assert_null(drv_metrics_counter(m, "", NULL, NULL));
	cr_assert_null(drv_metrics_counter(m, "9lives", NULL, NULL));
	cr_assert_null(drv_metrics_counter(m, "has-dash", NULL, NULL));
	cr_assert_null(drv_metrics_counter(m, NULL, NULL, NULL));
	cr_assert_not_null(drv_metrics_counter(m, "ns:sub_total2", NULL,
					       NULL));
	cr_assert_null(drv_metrics_counter(m, "y", NULL, L("__x", NULL)));
	cr_assert_null(drv_metrics_counter(m, "y", NULL, L("a:b", NULL)));
	cr_assert_null(drv_metrics_counter(m, "y", NULL, L("a", "a", NULL)));
	cr_assert_null(drv_metrics_histogram(m, "y", NULL, L("le", NULL),
					     b, 2));
	cr_assert_not_null(drv_metrics_counter(m, "y", NULL, L("le", NULL)));
	/* bad bounds */
	cr_assert_null(drv_metrics_histogram(m, "z", NULL, NULL, unsorted, 2));
	cr_assert_null(drv_metrics_histogram(m, "z", NULL, NULL, b, 0));
	cr_assert_null(drv_metrics_counter(NULL, "z", NULL, NULL));
	drv_metrics_destroy(m);
}

Test(metrics, null_family_and_registry_are_noops)
{
	char *text;

	drv_counter_inc(NULL, NULL);
	drv_counter_add(NULL, NULL, 1);
	drv_gauge_set(NULL, NULL, 1);
	drv_gauge_add(NULL, NULL, 1);
	drv_histogram_observe(NULL, NULL, 1);
	drv_metrics_destroy(NULL);
	text = drv_metrics_render(NULL, NULL);
	cr_assert_null(text);
	cr_assert_eq(drv_metrics_on_render(NULL, NULL, NULL),
		     DRV_ERR_INVALID);
}

Test(metrics, series_cap_drops_and_counts)
{
	drv_metrics_t *m = drv_metrics_new();
	drv_counter_t *c = drv_metrics_counter(m, "cap_total", NULL,
					       L("id", NULL));
	char id[16], *text, v[32];
	size_t lines = 0;

	for (int i = 0; i < DRV_METRICS_MAX_SERIES + 5; i++) {
		drv_fmt(id, sizeof(id), "%04d", i);
		drv_counter_inc(c, L(id));
	}
	/* existing series still count; a new one is still dropped */
	drv_counter_add(c, L("0007"), 9);
	drv_counter_inc(c, L("new"));

	text = render(m);
	for (const char *p = text; (p = strstr(p, "\ncap_total{")); p++)
		lines++;
	cr_assert_eq(lines, DRV_METRICS_MAX_SERIES);
	cr_assert_str_eq(value_of(text, "drover_metrics_dropped_series_total",
				  v, sizeof(v)), "6");
	cr_assert_str_eq(value_of(text, "cap_total{id=\"0007\"}", v,
				  sizeof(v)), "10");
	cr_assert_null(strstr(text, "id=\"1000\""));
	cr_assert_null(strstr(text, "id=\"new\""));
	free(text);
	drv_metrics_destroy(m);
}

struct collect_state {
	drv_gauge_t *g;
	int calls;
};

static void collect(drv_metrics_t *m, void *arg)
{
	struct collect_state *st = arg;

	st->calls++;
	drv_gauge_set(st->g, NULL, 100 + st->calls);
	/* collectors may register */
	cr_assert_not_null(drv_metrics_counter(m, "late_total", NULL, NULL));
}

Test(metrics, collectors_run_at_render)
{
	drv_metrics_t *m = drv_metrics_new();
	struct collect_state st = { 0 };
	char *text, v[32];

	st.g = drv_metrics_gauge(m, "lag", NULL, NULL);
	cr_assert_eq(drv_metrics_on_render(m, collect, &st), DRV_OK);
	text = render(m);
	cr_assert_eq(st.calls, 1);
	cr_assert_str_eq(value_of(text, "lag", v, sizeof(v)), "101");
	cr_assert_str_eq(value_of(text, "late_total", v, sizeof(v)), "0");
	free(text);
	text = render(m);
	cr_assert_str_eq(value_of(text, "lag", v, sizeof(v)), "102");
	free(text);
	drv_metrics_destroy(m);
}

/* ---- concurrency ------------------------------------------------------- */

#define THREADS 8
#define ROUNDS  10000

struct worker_arg {
	drv_counter_t *c;
	drv_gauge_t *g;
	drv_histogram_t *h;
	int n;
};

static void *hammer(void *p)
{
	struct worker_arg *a = p;
	static const char *const kinds[] = { "even", "odd" };
	char mine[16];

	drv_fmt(mine, sizeof(mine), "t%d", a->n);
	for (int i = 0; i < ROUNDS; i++) {
		drv_counter_inc(a->c, L("shared"));
		drv_counter_inc(a->c, L(mine));           /* new per thread */
		drv_counter_add(a->c, L(kinds[i % 2]), 0.5);
		drv_gauge_add(a->g, NULL, 1);
		drv_gauge_add(a->g, NULL, i % 2 ? 1 : -1);
		drv_histogram_observe(a->h, L(kinds[a->n % 2]),
				      (i % 3) * 0.25);
	}
	return NULL;
}

Test(metrics, concurrent_updates_are_exact)
{
	drv_metrics_t *m = drv_metrics_new();
	static const double b[] = { 0.1, 0.3 };
	struct worker_arg args[THREADS];
	pthread_t th[THREADS];
	char *text, v[64], prefix[64];

	for (int i = 0; i < THREADS; i++) {
		args[i].c = drv_metrics_counter(m, "hits_total", NULL,
						L("who", NULL));
		args[i].g = drv_metrics_gauge(m, "level", NULL, NULL);
		args[i].h = drv_metrics_histogram(m, "obs_seconds", NULL,
						  L("kind", NULL), b, 2);
		args[i].n = i;
		cr_assert(args[i].c && args[i].g && args[i].h);
	}
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, hammer, &args[i]),
			     0);
	/* render concurrently with the updates: must not crash or race */
	for (int i = 0; i < 20; i++)
		free(render(m));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	text = render(m);
	cr_assert_str_eq(value_of(text, "hits_total{who=\"shared\"}", v,
				  sizeof(v)), "80000");
	for (int i = 0; i < THREADS; i++) {
		drv_fmt(prefix, sizeof(prefix), "hits_total{who=\"t%d\"}", i);
		cr_assert_str_eq(value_of(text, prefix, v, sizeof(v)),
				 "10000");
	}
	cr_assert_str_eq(value_of(text, "hits_total{who=\"even\"}", v,
				  sizeof(v)), "20000");
	cr_assert_str_eq(value_of(text, "hits_total{who=\"odd\"}", v,
				  sizeof(v)), "20000");
	cr_assert_str_eq(value_of(text, "level", v, sizeof(v)), "80000");
	/* 4 threads per kind, each 10,000 observations of 0, .25, .5 */
	cr_assert_str_eq(value_of(text,
		"obs_seconds_count{kind=\"even\"}", v, sizeof(v)), "40000");
	cr_assert_str_eq(value_of(text,
		"obs_seconds_bucket{kind=\"odd\",le=\"0.1\"}", v, sizeof(v)),
		"13336");
	cr_assert_str_eq(value_of(text,
		"obs_seconds_bucket{kind=\"odd\",le=\"0.3\"}", v, sizeof(v)),
		"26668");
	cr_assert_str_eq(value_of(text,
		"obs_seconds_sum{kind=\"odd\"}", v, sizeof(v)), "9999");
	free(text);
	drv_metrics_destroy(m);
}
