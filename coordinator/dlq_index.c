/*
 * dlq_index.c — keeps the DLQ search index (include/drover/dlq_index.h,
 * core/dlq_indexer.c) on a thread of its own while this coordinator leads,
 * and says how far behind it is in drover_dlq_index_lag.
 *
 * The thread reads the config file once at start (Kafka and Redis settings
 * take effect on restart): the main thread's config may be replaced by a
 * reload at any time.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "coord.h"
#include "drover/dlq_index.h"
#include "drover/log.h"

extern char **environ;

struct dlq_indexer {
	coord_t      *c;
	drv_config_t *cfg;        /* the thread's own */
	drv_dlq_indexer_t *ix;
	pthread_t     thread;
};

static bool stopping(const dlq_indexer_t *x)
{
	return __atomic_load_n(&x->c->stopping, __ATOMIC_RELAXED);
}

static void *index_main(void *arg)
{
	dlq_indexer_t *x = arg;
	bool failing = false;
	char err[512];
	int64_t lag;

	while (!stopping(x)) {
		if (!__atomic_load_n(&x->c->is_leader, __ATOMIC_RELAXED)) {
			drv_dlq_indexer_reset(x->ix);
			drv_gauge_set(x->c->obs.dlq_index_lag, NULL, -1);
			nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
			continue;
		}
		if (drv_dlq_indexer_step(x->ix, 500, &lag, err, sizeof(err))) {
			/* said once per outage, not once a second */
			if (!failing)
				drv_log_kv(DRV_LOG_WARN, "DLQ index", "error",
					   err, NULL);
			failing = true;
			drv_gauge_set(x->c->obs.dlq_index_lag, NULL, -1);
			for (int i = 0; i < 10 && !stopping(x); i++)
				nanosleep(&(struct timespec){ 0, 100000000 },
					  NULL);
			continue;
		}
		failing = false;
		drv_gauge_set(x->c->obs.dlq_index_lag, NULL, lag);
	}
	return NULL;
}

bool dlq_index_start(coord_t *c)
{
	dlq_indexer_t *x;
	char err[1024];

	drv_gauge_set(c->obs.dlq_index_lag, NULL, -1);
	if (!c->cfg->path)
		return true;    /* no config file to read: nothing to index */
	if (!(x = calloc(1, sizeof(*x))))
		return false;
	x->c = c;
	if (drv_config_load(c->cfg->path, environ, &x->cfg, err,
			    sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "DLQ index: cannot load the config",
			   "error", err, NULL);
		free(x);
		return false;
	}
	if (!(x->ix = drv_dlq_indexer_new(x->cfg)) ||
	    pthread_create(&x->thread, NULL, index_main, x)) {
		drv_dlq_indexer_destroy(x->ix);
		drv_config_destroy(x->cfg);
		free(x);
		return false;
	}
	c->dlq_indexer = x;
	return true;
}

void dlq_index_stop(coord_t *c)
{
	dlq_indexer_t *x = c->dlq_indexer;

	if (!x)
		return;
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELAXED);
	pthread_join(x->thread, NULL);
	drv_dlq_indexer_destroy(x->ix);
	drv_config_destroy(x->cfg);
	free(x);
	c->dlq_indexer = NULL;
}
