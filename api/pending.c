/*
 * pending.c — a request whose answer waits for Kafka without holding one of
 * the server's threads (issue 13: POST /tasks at 10k requests/s). The
 * handler produces (the item and its audit record, api_produce_one()) and
 * returns; the server then suspends the connection (MHD_suspend_connection)
 * and its thread serves other requests. The delivery reports come on the
 * API's poller thread; the last of them resumes the connection, and the
 * pool thread that serves it next turns the reports into the answer (the
 * reply the handler left, or the problem of a failed produce) and sends
 * it. A 2xx still means Kafka acknowledged both.
 *
 * Locks: each wait's lock guards its count of reports to come and whether
 * the connection is suspended; it is held across MHD_suspend_connection(),
 * and the resume follows a count that reached 0 with the connection
 * suspended, so the two never cross. The server's wait_lock guards the
 * count of suspended connections and closing: drv_api_stop() waits for
 * that count to reach 0 before it stops libmicrohttpd (which must not be
 * stopped with a connection suspended).
 */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api_int.h"
#include "drover/kafka.h"
#include "drover/str.h"

struct api_wait {
	pthread_mutex_t lock;
	pthread_cond_t  cond;      /* signalled when outstanding reaches 0 */
	struct drv_api *api;
	struct MHD_Connection *conn;
	drv_delivery_t  dr[API_WAIT_SLOTS];
	bool            used[API_WAIT_SLOTS];   /* produced: a report comes */
	char            topic[API_WAIT_SLOTS][256];
	int             outstanding;            /* reports still to come */
	bool            suspended;
	bool            orphaned;  /* the request went first: the last report
				      frees the wait */
};

static void wait_free(api_wait_t *w)
{
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* On the poller thread: one report came. */
static void delivered(drv_delivery_t *d, void *arg)
{
	api_wait_t *w = arg;
	struct MHD_Connection *conn = NULL;
	struct drv_api *api = w->api;
	bool orphaned;

	(void)d;
	pthread_mutex_lock(&w->lock);
	if (--w->outstanding == 0 && w->suspended) {
		w->suspended = false;
		conn = w->conn;
	}
	orphaned = w->orphaned && w->outstanding == 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	/* from here w belongs to the pool thread that serves conn */
	if (orphaned)
		wait_free(w);
	if (!conn)
		return;
	MHD_resume_connection(conn);
	pthread_mutex_lock(&api->wait_lock);
	api->suspended--;
	pthread_cond_broadcast(&api->wait_cond);
	pthread_mutex_unlock(&api->wait_lock);
}

drv_delivery_t *api_wait_slot(api_call_t *call, int slot)
{
	api_wait_t *w = call->wait;

	if (!w) {
		if (!(w = calloc(1, sizeof(*w))))
			return NULL;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->api = call->api;
		w->conn = call->conn;
		call->wait = w;
	}
	memset(&w->dr[slot], 0, sizeof(w->dr[slot]));
	w->dr[slot].on_delivery = delivered;
	w->dr[slot].arg = w;
	w->used[slot] = true;
	pthread_mutex_lock(&w->lock);
	w->outstanding++;  /* before the produce: its report may come at once */
	pthread_mutex_unlock(&w->lock);
	return &w->dr[slot];
}

void api_wait_unused(api_call_t *call, int slot)
{
	api_wait_t *w = call->wait;

	pthread_mutex_lock(&w->lock);
	w->used[slot] = false;
	w->outstanding--;
	pthread_mutex_unlock(&w->lock);
}

void api_wait_topic(api_call_t *call, int slot, const char *topic)
{
	drv_strlcpy(call->wait->topic[slot], topic,
		    sizeof(call->wait->topic[slot]));
}

bool api_wait_suspend(api_call_t *call)
{
	api_wait_t *w = call->wait;
	struct drv_api *api = call->api;
	bool closing, suspended = false;

	pthread_mutex_lock(&api->wait_lock);
	closing = api->closing;
	if (!closing)
		api->suspended++;  /* taken back below if not suspended */
	pthread_mutex_unlock(&api->wait_lock);
	pthread_mutex_lock(&w->lock);
	if (w->outstanding > 0 && !closing) {
		w->suspended = suspended = true;
		MHD_suspend_connection(w->conn);
	}
	/* closing: wait here, holding the thread, as before suspension */
	while (closing && w->outstanding > 0)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (!closing && !suspended) {
		pthread_mutex_lock(&api->wait_lock);
		api->suspended--;
		pthread_cond_broadcast(&api->wait_cond);
		pthread_mutex_unlock(&api->wait_lock);
	}
	return suspended;
}

void api_wait_finish(api_call_t *call)
{
	api_wait_t *w = call->wait;
	rd_kafka_t *rk = call->api->producer;
	int64_t timeout = call->api->cfg->kafka.connect_timeout_ms;
	char err[512];
	drv_err_t rc;

	/* every report has come: drv_kafka_wait() only words the outcome
	 * (slot 1, the audit record's, first: the item's failure wins) */
	if (w->used[API_WAIT_AUDIT] &&
	    drv_kafka_wait(rk, &w->dr[API_WAIT_AUDIT],
			   w->topic[API_WAIT_AUDIT], timeout, err,
			   sizeof(err)))
		api_problem(call, 503, NULL, "the action was taken but its "
			    "audit record could not be written: %s", err);
	if (w->used[API_WAIT_ITEM] &&
	    (rc = drv_kafka_wait(rk, &w->dr[API_WAIT_ITEM],
				 w->topic[API_WAIT_ITEM], timeout, err,
				 sizeof(err))))
		api_problem(call, api_status_of(rc), NULL, "%s", err);
	call->wait = NULL;
	wait_free(w);
}

void api_wait_release(api_call_t *call)
{
	api_wait_t *w = call->wait;
	bool keep;

	if (!w)
		return;
	call->wait = NULL;
	pthread_mutex_lock(&w->lock);
	keep = w->outstanding > 0;  /* its reports still write into it */
	w->orphaned = keep;
	pthread_mutex_unlock(&w->lock);
	if (!keep)
		wait_free(w);
}

void api_waits_drain(struct drv_api *api)
{
	pthread_mutex_lock(&api->wait_lock);
	api->closing = true;
	while (api->suspended > 0) {
		pthread_mutex_unlock(&api->wait_lock);
		/* the poller serves the reports; this only waits for them */
		rd_kafka_flush(api->producer, 100);
		pthread_mutex_lock(&api->wait_lock);
	}
	pthread_mutex_unlock(&api->wait_lock);
}
