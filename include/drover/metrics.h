/*
 * drover — a Prometheus metrics registry for the daemons.
 *
 * A registry (drv_metrics_t) holds metric families in the order they were
 * registered. A family has a name, a help line, a type (counter, gauge or
 * histogram) and a fixed list of label NAMES; each distinct list of label
 * VALUES given to an update makes (on first use) one series of the family:
 *
 *   drv_counter_t *tasks = drv_metrics_counter(m, "drover_tasks_total",
 *       "Tasks finished, by handler and outcome.",
 *       (const char *const[]){ "handler", "outcome", NULL });
 *   drv_counter_inc(tasks, (const char *const[]){ "echo", "succeeded" });
 *
 * drv_metrics_render() writes the whole registry in the Prometheus text
 * exposition format 0.0.4, which drv_httpd serves on GET /metrics.
 *
 * Threads: everything here may be called from any thread at any time,
 * except drv_metrics_destroy(), which needs every other call on the
 * registry and its families to have returned. Updates to an existing series
 * take a shared (read) lock on the family plus one atomic operation;
 * creating a series takes the family's write lock once.
 *
 * Bounds: a family holds at most DRV_METRICS_MAX_SERIES series. Updates
 * that would create more are dropped and counted in the registry's own
 * counter drover_metrics_dropped_series_total (registered first by
 * drv_metrics_new(), so it is the first family rendered).
 *
 * Handles: the family pointers (drv_counter_t etc.) are owned by the
 * registry and stay valid until drv_metrics_destroy(). Every update
 * function accepts a NULL family and then does nothing, so a failed
 * registration never needs a check at the call sites.
 */
#ifndef DROVER_METRICS_H
#define DROVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most series one family holds; updates that would add more are dropped
 *  and counted in drover_metrics_dropped_series_total. */
#define DRV_METRICS_MAX_SERIES 1000

/** Most label names one family may have. */
#define DRV_METRICS_MAX_LABELS 16

/** Most bucket bounds one histogram may have (+Inf not counted). */
#define DRV_METRICS_MAX_BUCKETS 64

/** Bucket upper bounds, in seconds, for task and call durations. Use as an
 *  initializer: `static const double b[] = { DRV_METRICS_DURATION_BUCKETS };`
 *  (a NULL bounds argument to drv_metrics_histogram() means these). */
#define DRV_METRICS_DURATION_BUCKETS \
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300

/** The registry. Opaque; made by drv_metrics_new(). */
typedef struct drv_metrics drv_metrics_t;

/** A counter family: monotonic, starts at 0. Owned by its registry. */
typedef struct drv_counter drv_counter_t;
/** A gauge family: a signed integer that goes up and down. Owned by its
 *  registry. */
typedef struct drv_gauge drv_gauge_t;
/** A histogram family: observations counted into fixed buckets, plus their
 *  sum and count. Owned by its registry. */
typedef struct drv_histogram drv_histogram_t;

/** A collector: called by drv_metrics_render() before it reads anything,
 *  so gauges that are cheaper to read than to track (tasks in flight,
 *  consumer lag) can be set lazily. */
typedef void (*drv_metrics_collector_fn)(drv_metrics_t *m, void *arg);

/**
 * @brief Make an empty registry (holding only
 *        drover_metrics_dropped_series_total).
 * @returns a registry the caller frees with drv_metrics_destroy(), or NULL
 *          on allocation failure.
 * @locality any thread.
 */
drv_metrics_t *drv_metrics_new(void);

/**
 * @brief Free \p m, its families and their series. NULL is a no-op.
 *        Every family pointer obtained from \p m becomes invalid.
 * @locality any thread, once no other thread uses \p m or its families
 *           (stop the httpd that serves it first).
 */
void drv_metrics_destroy(drv_metrics_t *m);

/**
 * @brief Register (or look up) the counter family \p name.
 *
 * Registering a name again with the same type and label names returns the
 * family already registered (its help text is kept), so independent pieces
 * of code may each register what they use.
 *
 * @param name         metric name, [a-zA-Z_:][a-zA-Z0-9_:]*; by
 *                     convention ending in _total. Copied.
 * @param help         one line of help; NULL means none. Copied.
 * @param label_names  NULL-terminated list of label names
 *                     ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__",
 *                     no duplicates, at most DRV_METRICS_MAX_LABELS), or
 *                     NULL for none. Copied.
 * @returns the family, owned by \p m; NULL if a name is invalid, \p name is
 *          already registered with another type or other label names, or
 *          memory ran out.
 * @locality any thread.
 */
drv_counter_t *drv_metrics_counter(drv_metrics_t *m, const char *name,
				   const char *help,
				   const char *const *label_names);

/** @brief Like drv_metrics_counter(), for a gauge family. */
drv_gauge_t *drv_metrics_gauge(drv_metrics_t *m, const char *name,
			       const char *help,
			       const char *const *label_names);

/**
 * @brief Like drv_metrics_counter(), for a histogram family; the label name
 *        "le" is reserved.
 * @param bounds     bucket upper bounds, strictly ascending and finite
 *                   (+Inf is always added); NULL for
 *                   DRV_METRICS_DURATION_BUCKETS. Copied.
 * @param bound_cnt  entries in \p bounds (1..DRV_METRICS_MAX_BUCKETS);
 *                   ignored when \p bounds is NULL.
 * @returns as drv_metrics_counter(); looking up an existing histogram also
 *          requires the same bounds.
 */
drv_histogram_t *drv_metrics_histogram(drv_metrics_t *m, const char *name,
				       const char *help,
				       const char *const *label_names,
				       const double *bounds,
				       size_t bound_cnt);

/*
 * Updates. \p label_values has exactly one entry per label name of the
 * family, in the same order (a NULL entry counts as ""); it may be NULL
 * for a family without labels. Values may be any bytes but NUL; they are
 * copied when a series is created, and only read otherwise. A NULL family
 * is a no-op. Nothing is reported back: a series that cannot be created
 * (cap reached, out of memory) drops the update, and a cap drop is counted
 * in drover_metrics_dropped_series_total.
 *
 * @locality any thread.
 */

/** @brief Add 1 to a counter series. */
void drv_counter_inc(drv_counter_t *c, const char *const *label_values);

/** @brief Add \p v to a counter series. Negative, NaN or infinite \p v
 *         is ignored (a counter never goes down). Whole numbers below 2^53
 *         are added exactly with one atomic add. */
void drv_counter_add(drv_counter_t *c, const char *const *label_values,
		     double v);

/** @brief Set a gauge series to \p v. */
void drv_gauge_set(drv_gauge_t *g, const char *const *label_values,
		   int64_t v);

/** @brief Add \p delta (may be negative) to a gauge series. */
void drv_gauge_add(drv_gauge_t *g, const char *const *label_values,
		   int64_t delta);

/** @brief Count one observation of \p seconds into a histogram series:
 *         the first bucket whose bound is >= \p seconds, the sum and the
 *         count. NaN is ignored. */
void drv_histogram_observe(drv_histogram_t *h,
			   const char *const *label_values, double seconds);

/**
 * @brief Call \p fn(m, \p arg) at the start of every drv_metrics_render(),
 *        in the order added. \p fn runs on the thread that renders (the
 *        httpd thread when served) with no registry lock held, so it may
 *        update and even register families. \p arg stays the caller's and
 *        must stay valid until drv_metrics_destroy().
 * @returns DRV_OK; DRV_ERR_INVALID if \p m or \p fn is NULL;
 *          DRV_ERR_NOMEM (then \p fn is not added).
 * @locality any thread.
 */
drv_err_t drv_metrics_on_render(drv_metrics_t *m,
				drv_metrics_collector_fn fn, void *arg);

/**
 * @brief Run the collectors, then write every family in the Prometheus text
 *        exposition format 0.0.4.
 *
 * Families come in registration order, each as "# HELP" (left out when
 * the help text is NULL or empty), "# TYPE" and its series sorted by
 * label values (byte order, label by label). Label values escape \\, \"
 * and newline; help text escapes \\ and newline. Histograms give
 * cumulative name_bucket{...,le="B"} lines ending with le="+Inf", then
 * name_sum and name_count. A family with no series yet is written as
 * its HELP and TYPE lines only, except that a family without labels always
 * shows its single series (as 0 until updated).
 *
 * Series are read one atomic value at a time while other threads may
 * update them; a histogram's _count always equals its +Inf bucket.
 *
 * \p m is not const: the collectors may change it.
 *
 * @param len  if not NULL, receives strlen() of the result.
 * @returns a NUL-terminated string the caller frees with free(), or NULL
 *          on allocation failure.
 * @locality any thread; several renders may run at once.
 */
char *drv_metrics_render(drv_metrics_t *m, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_METRICS_H */
