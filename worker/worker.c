/*
 * worker.c — the worker's main thread: consume the band topics and the
 * delay tiers, hand tasks to the runners, pause band fetching while every
 * runner is busy, forward what the runners decided, store each partition's
 * offset only once everything before it has ended, and on SIGTERM stop
 * fetching, let running tasks finish within the grace period, commit and
 * leave the groups.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/exec.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

/* Tasks taken beyond those running, so a runner that finishes finds the
 * next one waiting: max(concurrency, READAHEAD_MIN). It also bounds a
 * batch of idempotency claims (runner.c). 64 made keyed tasks a little
 * faster but held a weight-0 band past its starvation bound (test 0073:
 * 4.3 s with a 1 s bound, the 64 tasks in hand ahead of it). */
#define READAHEAD_MIN 16
/* Jobs in hand at most, most of them waiting for their forwards'
 * acknowledgements (which free no runner). */
#define IN_FLIGHT_MAX 4096
/* ... and the high band's own, beyond that: when the broker is slow to
 * acknowledge, a backlog of lower tasks fills IN_FLIGHT_MAX, and the high
 * band must not wait for it to drain (top_room()). */
#define IN_FLIGHT_RESERVE 1024
/* While full, poll the band consumer this often (rebalances, liveness). */
#define FULL_POLL_MS 1000

/* ------------------------------------------------------------- jobs */

static void active_link(worker_t *w, job_t *job)
{
	job->active_next = w->active;
	if (w->active)
		w->active->active_prev = job;
	w->active = job;
	w->in_flight++;
	w->top_in_flight += job->src == SRC_TASKS && job->band == 0;
	w->running += job->src == SRC_TASKS;
}

static void active_unlink(worker_t *w, job_t *job)
{
	if (job->active_prev)
		job->active_prev->active_next = job->active_next;
	else
		w->active = job->active_next;
	if (job->active_next)
		job->active_next->active_prev = job->active_prev;
	w->in_flight--;
	w->top_in_flight -= job->src == SRC_TASKS && job->band == 0;
	w->running -= job->src == SRC_TASKS;
}

static void store_offset(rd_kafka_t *rk, const char *topic, int32_t partition,
			 int64_t offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
	err = rd_kafka_offsets_store(rk, l);
	/* a partition revoked meanwhile is not ours to commit: fine */
	if (err && err != RD_KAFKA_RESP_ERR__STATE)
		drv_log_kv(DRV_LOG_WARN, "cannot store offset", "topic", topic,
			   "error", rd_kafka_err2str(err), NULL);
	rd_kafka_topic_partition_list_destroy(l);
}

void job_end(worker_t *w, job_t *job)
{
	rd_kafka_message_t *m = job->msg;
	const char *topic = rd_kafka_topic_name(m->rkt);

	if (job->step != STEP_ABANDON) {
		int64_t commit = offsets_done(w->offsets, topic, m->partition,
					      m->offset);
		if (commit >= 0)
			store_offset(job->src == SRC_DELAY ? w->delay :
				     w->consumer, topic, m->partition, commit);
	}
	claim_drop(w, job);  /* taken ahead, never run (shutdown) */
	active_unlink(w, job);
	rd_kafka_message_destroy(m);
	drv_task_release(&job->task);
	free(job);
}

/* Take the jobs the runners finished and carry out their next step. */
static void reap(worker_t *w)
{
	job_t *done;

	pthread_mutex_lock(&w->lock);
	done = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->lock);
	while (done) {
		job_t *job = done;

		done = job->next;
		job->next = NULL;
		w->queued--;
		w->top_queued -= job->band == 0;
		switch (job->step) {
		case STEP_ABANDON:
			job_end(w, job);
			break;
		case STEP_DONE:
			w->stats.succeeded++;
			forward_start(w, job);
			break;
		case STEP_RETRY:
			w->stats.retried++;
			forward_start(w, job);
			break;
		case STEP_DEAD:
			w->stats.dead++;
			forward_start(w, job);
			break;
		case STEP_RELEASE:
			forward_start(w, job);
			break;
		case STEP_PARK:
			park_add(w, job);
			break;
		}
	}
}

/* Everything the main thread does between polls. */
static void service(worker_t *w)
{
	reap(w);
	park_serve(w);
	delay_serve(w);
	forward_serve(w);
}

static void dead_undecodable(worker_t *w, job_t *job)
{
	rd_kafka_message_t *m = job->msg;
	char off[32], part[16];

	w->stats.undecodable++;
	w->stats.dead++;
	drv_fmt(off, sizeof(off), "%lld", (long long)m->offset);
	drv_fmt(part, sizeof(part), "%d", (int)m->partition);
	drv_log_kv(DRV_LOG_ERROR, "undecodable message; sending it to the "
		   "dead-letter topic", "topic", rd_kafka_topic_name(m->rkt),
		   "partition", part, "offset", off, "error", job->detail, NULL);
	job->step = STEP_DEAD;
	job->dl_reason = DRV_DL_UNDECODABLE;
	forward_start(w, job);
}

/* A message from either consumer: track its offset, decode, route it.
 * \p band: the band of a task topic's message, waiting since \p since
 * (mono ms; 0: now). */
static void dispatch(worker_t *w, rd_kafka_message_t *m, job_src_t src,
		     size_t band, int64_t since)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	job_t *job;
	int added = offsets_add(w->offsets, topic, m->partition, m->offset);

	if (added == 0) {
		/* taken before in this assignment: a rewind, not new work */
		w->stats.redelivered++;
		drv_counter_inc(w->obs.redelivered, NULL);
		rd_kafka_message_destroy(m);
		return;
	}
	if (added < 0 || !(job = calloc(1, sizeof(*job)))) {
		/* not tracked (or never ended), so never committed past: it
		 * comes again after a restart */
		drv_log_kv(DRV_LOG_ERROR, "out of memory; message left for "
			   "redelivery", "topic", topic, NULL);
		rd_kafka_message_destroy(m);
		return;
	}
	job->worker = w;
	job->src = src;
	job->band = band;
	job->queued_ms = since;
	job->msg = m;
	drv_task_init(&job->task);
	active_link(w, job);
	if (drv_task_decode(m->payload, m->len, &job->task, job->detail,
			    sizeof(job->detail))) {
		dead_undecodable(w, job);
		return;
	}
	job->decoded = true;
	if (src == SRC_DELAY) {
		delay_dispatch(w, job);
		return;
	}
	if (job->task.not_before_ms > drv_now_ms()) {
		/* written to a band topic ahead of its time: let it wait */
		job->step = STEP_RELEASE;
		forward_start(w, job);
		return;
	}
	job_hand(w, job);
}

void job_hand(worker_t *w, job_t *job)
{
	w->queued++;
	w->top_queued += job->band == 0;
	jobq_push(&w->hand, job);
	w->hand_cnt++;
}

/* Give the runners the tasks dispatch() collected, waking no more of them
 * than there are tasks (worker.h). */
static void hand_over(worker_t *w)
{
	size_t wake;

	if (!w->hand_cnt)
		return;
	pthread_mutex_lock(&w->lock);
	jobq_move(&w->todo, &w->hand);
	wake = w->idle < w->hand_cnt ? w->idle : w->hand_cnt;
	w->idle -= wake;
	pthread_mutex_unlock(&w->lock);
	w->hand_cnt = 0;
	/* outside the lock, so a woken runner does not block on it at once */
	while (wake--)
		pthread_cond_signal(&w->work_cond);
}

void worker_take_task(worker_t *w, rd_kafka_message_t *m, size_t band,
		      int64_t since)
{
	dispatch(w, m, SRC_TASKS, band, since);
}

/* ------------------------------------------------------------- fetching */

/* Stop fetching every assigned partition of \p rk (shutdown). */
static void pause_all(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *parts = NULL;

	if (!rd_kafka_assignment(rk, &parts)) {
		rd_kafka_pause_partitions(rk, parts);
		rd_kafka_topic_partition_list_destroy(parts);
	}
}

/* Jobs not yet ended whose message is from one of \p parts. */
static size_t pending_in(const worker_t *w,
			 const rd_kafka_topic_partition_list_t *parts)
{
	size_t n = 0;

	for (const job_t *j = w->active; j; j = j->active_next)
		for (int i = 0; i < parts->cnt; i++)
			if (parts->elems[i].partition == j->msg->partition &&
			    !strcmp(parts->elems[i].topic,
				    rd_kafka_topic_name(j->msg->rkt))) {
				n++;
				break;
			}
	return n;
}

/* Commit the stored offsets now and say so if the broker refuses. */
static rd_kafka_resp_err_t commit_sync(rd_kafka_t *rk, const char *which)
{
	rd_kafka_resp_err_t err = rd_kafka_commit(rk, NULL, 0);

	if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	if (err)
		drv_log_kv(DRV_LOG_WARN, "commit failed; tasks since the last "
			   "commit may run again", "consumer", which,
			   "error", rd_kafka_err2str(err), NULL);
	return err;
}

/* Partitions come and go one by one (cooperative-sticky): an assignment
 * adds to what the consumer has, a revocation takes only those partitions
 * away, after their running tasks and forwards have ended and their offsets
 * are committed. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	worker_t *w = opaque;
	const char *which = rk == w->delay ? "delay" : "tasks";
	int64_t deadline;
	char cnt[16];

	drv_fmt(cnt, sizeof(cnt), "%d", parts->cnt);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		drv_log_kv(DRV_LOG_INFO, "partitions assigned", "consumer",
			   which, "count", cnt, NULL);
		drv_kafka_rebalance_apply(rk, err, parts);
		if (rk == w->consumer) {
			bands_assigned(w, parts);
			__atomic_store_n(&w->obs.joined, true, __ATOMIC_RELAXED);
		}
		return;
	}
	drv_log_kv(DRV_LOG_INFO, "partitions revoked; finishing their work",
		   "consumer", which, "count", cnt, NULL);
	if (rk == w->delay)
		delay_forget(w, parts);
	else
		park_release(w, parts);
	hand_over(w);
	/* let running tasks and forwards of these partitions end, so their
	 * offsets are committed before another worker takes over */
	deadline = drv_mono_ms() + w->cfg->worker.shutdown_grace_ms;
	while (pending_in(w, parts) > 0 && drv_mono_ms() < deadline) {
		service(w);
		park_release(w, parts);  /* and those parked meanwhile */
		usleep(10 * 1000);
	}
	/* While closing (rd_kafka_consumer_close() in stop()), shutdown has
	 * committed already and the close commits what is stored since: a
	 * synchronous commit from here can wait forever (test 0011 caught a
	 * worker stuck in it after an ILLEGAL_GENERATION). */
	if (!w->closing)
		commit_sync(rk, which);
	for (int i = 0; i < parts->cnt; i++)
		offsets_forget(w->offsets, parts->elems[i].topic,
			       parts->elems[i].partition);
	/* a paused partition stays paused in librdkafka across owners */
	rd_kafka_resume_partitions(rk, parts);
	if (rk == w->consumer)
		bands_revoked(w, parts);
	drv_kafka_rebalance_apply(rk, err, parts);
}

static rd_kafka_t *consumer_new(worker_t *w, const char *group,
				drv_topic_kind_t kind)
{
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t rerr;
	rd_kafka_t *rk;
	char err[512];

	if (!(conf = drv_daemon_consumer_conf(w->daemon, group, err,
					      sizeof(err)))) {
		drv_log_kv(DRV_LOG_ERROR, "bad Kafka configuration", "error",
			   err, NULL);
		return NULL;
	}
	if (kind == DRV_TOPIC_TASKS)
		bands_tune(w, conf);
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_opaque(conf, w);
	if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka consumer",
			   "error", err, NULL);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);

	topics = rd_kafka_topic_partition_list_new(8);
	if (kind == DRV_TOPIC_TASKS) {
		for (size_t i = 0; i < drv_band_cnt; i++) {
			char name[256];
			drv_topic_name(w->cfg, DRV_TOPIC_TASKS, drv_bands[i].name,
				       0, name, sizeof(name));
			rd_kafka_topic_partition_list_add(topics, name,
							  RD_KAFKA_PARTITION_UA);
		}
	} else {
		for (size_t i = 0; i < w->cfg->kafka.delay_tier_cnt; i++) {
			char name[256];
			drv_topic_name(w->cfg, DRV_TOPIC_DELAY, NULL,
				       w->cfg->kafka.delay_tiers_ms[i],
				       name, sizeof(name));
			rd_kafka_topic_partition_list_add(topics, name,
							  RD_KAFKA_PARTITION_UA);
		}
	}
	rerr = rd_kafka_subscribe(rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (rerr) {
		drv_log_kv(DRV_LOG_ERROR, "cannot subscribe", "error",
			   rd_kafka_err2str(rerr), NULL);
		rd_kafka_destroy(rk);
		return NULL;
	}
	return rk;
}

/* ------------------------------------------------------------- shutdown */

/* Tasks taken but not started are left for another worker: not run, not
 * committed. */
static void drop_queued(worker_t *w)
{
	job_t *j;

	hand_over(w);
	pthread_mutex_lock(&w->lock);
	while (w->claiming)  /* a runner is writing into jobs of todo */
		pthread_cond_wait(&w->claim_cond, &w->lock);
	while ((j = jobq_pop(&w->todo))) {
		j->step = STEP_ABANDON;
		j->next = w->done;
		w->done = j;
	}
	pthread_mutex_unlock(&w->lock);
}

/* Kill what still runs after the grace period; those tasks are not
 * committed and run again on another worker. */
static void abandon_all(worker_t *w)
{
	pthread_mutex_lock(&w->lock);
	for (job_t *j = w->active; j; j = j->active_next) {
		j->abandon = true;
		if (j->ex)
			drv_exec_signal(j->ex, SIGKILL);
	}
	pthread_mutex_unlock(&w->lock);
}

/* Block until something is there for the main thread (worker_wake(),
 * or a queue it reads got its first element) or \p ms pass; at once if
 * runners finished jobs meanwhile. */
static void wait_wake(worker_t *w, int ms)
{
	struct pollfd pfd = { .fd = w->wake_fd, .events = POLLIN };
	uint64_t n;
	bool wait;

	hand_over(w);
	pthread_mutex_lock(&w->lock);
	wait = !w->done;  /* else work waits: do not block */
	w->main_waiting = wait;
	pthread_mutex_unlock(&w->lock);
	if (!wait)
		return;
	/* a write left from a turn that did not wait only makes this one
	 * return at once */
	if (poll(&pfd, 1, ms) > 0) {
		ssize_t r = read(w->wake_fd, &n, sizeof(n));  /* resets it */
		(void)r;
	}
	pthread_mutex_lock(&w->lock);
	w->main_waiting = false;
	pthread_mutex_unlock(&w->lock);
}

/* rd_kafka_consumer_poll() without blocking: the main thread blocks in
 * wait_wake() alone. */
static rd_kafka_message_t *poll_now(worker_t *w, rd_kafka_t *rk)
{
	hand_over(w);  /* a poll may serve a revocation that waits for them */
	return rd_kafka_consumer_poll(rk, 0);
}

static void poll_discard(worker_t *w, rd_kafka_t *rk)
{
	rd_kafka_message_t *m;

	wait_wake(w, 20);
	/* fetched before the pause: not started, not stored */
	if ((m = poll_now(w, rk)))
		rd_kafka_message_destroy(m);
}

/* The last commit before leaving. A rebalance under way makes the broker
 * refuse it (the group moved to a new generation): serve the rebalance,
 * whose revocation commits too, and try again for a few seconds. */
static void commit_final(worker_t *w, rd_kafka_t *rk, const char *which)
{
	int64_t deadline = drv_mono_ms() + 10000;
	rd_kafka_resp_err_t err;

	while ((err = commit_sync(rk, which)) &&
	       (err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
		err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) &&
	       drv_mono_ms() < deadline)
		for (int i = 0; i < 10; i++)
			poll_discard(w, rk);
}

static void shutdown_gracefully(worker_t *w)
{
	int64_t deadline = drv_mono_ms() + w->cfg->worker.shutdown_grace_ms;
	char n[16];

	__atomic_store_n(&w->obs.stopping, true, __ATOMIC_RELAXED);
	drv_fmt(n, sizeof(n), "%zu", w->running);
	drv_log_kv(DRV_LOG_INFO, "stopping: no new tasks; waiting for running "
		   "ones", "running", n, NULL);
	pause_all(w->consumer);
	pause_all(w->delay);
	drop_queued(w);
	delay_forget(w, NULL);
	park_release(w, NULL);
	while (w->in_flight > 0 && drv_mono_ms() < deadline) {
		poll_discard(w, w->consumer);
		poll_discard(w, w->delay);
		service(w);
		park_release(w, NULL);  /* parked by runners meanwhile */
	}
	if (w->in_flight > 0) {
		drv_fmt(n, sizeof(n), "%zu", w->in_flight);
		drv_log_kv(DRV_LOG_WARN, "grace period over; killing tasks, "
			   "they will run again elsewhere", "running", n, NULL);
		abandon_all(w);
		deadline = drv_mono_ms() + 10000;
		while (w->in_flight > 0 && drv_mono_ms() < deadline) {
			usleep(20 * 1000);
			service(w);
		}
	}
	commit_final(w, w->consumer, "tasks");
	commit_final(w, w->delay, "delay");
}

/* ------------------------------------------------------------- main */

static void redis_status(bool up, const char *detail, void *arg)
{
	(void)arg;
	drv_log_kv(up ? DRV_LOG_INFO : DRV_LOG_WARN,
		   up ? "Redis reachable: task state and idempotency on" :
			"Redis unreachable: tasks still run; task state waits "
			"and idempotency keys go unchecked",
		   "detail", detail, NULL);
}

static bool start(worker_t *w, drv_daemon_t *d)
{
	drv_state_opts_t so = { .on_status = redis_status };
	char err[512], delay_group[256];

	memset(w, 0, sizeof(*w));
	w->daemon = d;
	w->cfg = d->cfg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work_cond, NULL);
	pthread_cond_init(&w->claim_cond, NULL);
	if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		drv_log_kv(DRV_LOG_ERROR, "cannot make an eventfd", "error",
			   strerror(errno), NULL);
		return false;
	}
	if (!(w->offsets = offsets_new()))
		return false;
	if (!runners_open_plugins(w) || !observe_start(w) ||
	    !breakers_start(w) || !limits_start(w))
		return false;
	if (!(w->state = drv_state_new(w->cfg, &so, err, sizeof(err)))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot start the task state writer",
			   "error", err, NULL);
		return false;
	}
	if (!(w->claims = drv_claims_new(w->cfg, 0, err, sizeof(err)))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot start the idempotency "
			   "claims", "error", err, NULL);
		return false;
	}
	if (!intervene_start(w))
		return false;

	if (!(w->producer = drv_kafka_producer_new(w->cfg, err, sizeof(err)))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka producer",
			   "error", err, NULL);
		return false;
	}
	drv_delay_group_name(w->cfg, delay_group, sizeof(delay_group));
	if (!drv_daemon_groups_tune(d, w->producer, (const char *[]){
		w->cfg->worker.group, delay_group }, 2))
		return false;
	if (!(w->consumer = consumer_new(w, w->cfg->worker.group,
					 DRV_TOPIC_TASKS)) ||
	    !(w->delay = consumer_new(w, delay_group, DRV_TOPIC_DELAY)))
		return false;
	if (!bands_start(w))
		return false;
	w->consumer_q = rd_kafka_queue_get_consumer(w->consumer);
	w->delay_q = rd_kafka_queue_get_consumer(w->delay);
	w->reports_q = rd_kafka_queue_get_main(w->producer);
	worker_wake_on(w, w->consumer_q);
	worker_wake_on(w, w->delay_q);
	worker_wake_on(w, w->reports_q);

	w->runner_cnt = (size_t)w->cfg->worker.concurrency;
	w->runners = calloc(w->runner_cnt, sizeof(*w->runners));
	if (!w->runners)
		return false;
	for (size_t i = 0; i < w->runner_cnt; i++)
		if (pthread_create(&w->runners[i], NULL, runner_main, w)) {
			w->runner_cnt = i;
			return false;
		}
	return status_start(w);
}

static void stop(worker_t *w)
{
	status_stop(w);
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->work_cond);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->runner_cnt; i++)
		pthread_join(w->runners[i], NULL);
	if (w->consumer || w->delay)
		reap(w);
	/* anything still forwarding was not acknowledged: not stored. Its
	 * delivery reports point into the jobs: purge them and serve the
	 * reports (forward.c ignores purged ones) before the jobs go. */
	if (w->forwarding && w->producer) {
		rd_kafka_purge(w->producer, RD_KAFKA_PURGE_F_QUEUE |
					    RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(w->producer, 1000);
	}
	while (w->forwarding) {
		job_t *job = w->forwarding;
		w->forwarding = job->next;
		job->step = STEP_ABANDON;
		job_end(w, job);
	}
	if (w->consumer_q)
		rd_kafka_queue_destroy(w->consumer_q);
	if (w->delay_q)
		rd_kafka_queue_destroy(w->delay_q);
	if (w->reports_q)
		rd_kafka_queue_destroy(w->reports_q);
	w->closing = true;
	if (w->consumer) {
		rd_kafka_consumer_close(w->consumer);
		bands_stop(w);
		rd_kafka_destroy(w->consumer);
	}
	if (w->delay) {
		rd_kafka_consumer_close(w->delay);
		rd_kafka_destroy(w->delay);
	}
	if (w->producer) {
		rd_kafka_flush(w->producer, 5000);
		rd_kafka_destroy(w->producer);
	}
	runners_close_plugins(w);
	breakers_stop(w);
	limits_stop(w);
	free(w->held_parts);
	intervene_stop(w);
	drv_claims_destroy(w->claims);
	drv_state_destroy(w->state);
	observe_stop(w);
	offsets_destroy(w->offsets);
	free(w->runners);
	/* last: librdkafka and the threads stopped above may write to it */
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	pthread_cond_destroy(&w->work_cond);
	pthread_cond_destroy(&w->claim_cond);
	pthread_mutex_destroy(&w->lock);
}

static void log_consumer_error(rd_kafka_t *rk, rd_kafka_message_t *m)
{
	static int64_t last;
	int64_t now = drv_mono_ms();

	if (drv_daemon_kafka_fatal(rk, m->err)) {
		rd_kafka_message_destroy(m);
		return;
	}
	/* missing topics and broker trouble repeat every poll: rate-limit */
	if (!last || now - last >= 30000) {
		last = now;
		drv_log_kv(DRV_LOG_WARN, "consumer error (will keep retrying)",
			   "error", rd_kafka_message_errstr(m), "topic",
			   m->rkt ? rd_kafka_topic_name(m->rkt) : "", NULL);
	}
	rd_kafka_message_destroy(m);
}

/* Take up to \p max messages one consumer has ready. */
static void poll_some(worker_t *w, rd_kafka_t *rk, job_src_t src, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		rd_kafka_message_t *m = poll_now(w, rk);

		if (!m)
			return;
		if (m->err)
			log_consumer_error(rk, m);
		else
			dispatch(w, m, src, src == SRC_TASKS ?
				 bands_of(w, rd_kafka_topic_name(m->rkt)) : 0,
				 0);
	}
}

/* What each wake-up adds to the eventfd's counter, written by
 * worker_wake() and by librdkafka (worker_wake_on()). */
static const uint64_t wake_one = 1;

/* A runner calls this after putting a job on `done` while the main thread
 * waits (wait_wake()), so that it turns at once. */
void worker_wake(worker_t *w)
{
	ssize_t r = write(w->wake_fd, &wake_one, sizeof(wake_one));

	(void)r;  /* only a full counter refuses it: a wake-up is due anyway */
}

void worker_wake_on(worker_t *w, rd_kafka_queue_t *q)
{
	rd_kafka_queue_io_event_enable(q, w->wake_fd, &wake_one,
				       sizeof(wake_one));
}

/* The task state writer is behind (drv_state_behind()): take no task
 * until it catches up, counted once per stop. */
static bool state_behind(worker_t *w)
{
	bool behind = w->state && drv_state_behind(w->state);

	if (behind && !w->state_waiting)
		drv_counter_add(w->obs.state_waits, NULL, 1);
	w->state_waiting = behind;
	return behind;
}

/* How many more tasks the worker takes from any band: up to \p high in
 * hand and IN_FLIGHT_MAX not yet ended. */
static size_t room(const worker_t *w, size_t high)
{
	if (w->queued >= high || w->in_flight >= IN_FLIGHT_MAX)
		return 0;
	return high - w->queued;
}

/* ... and how many from the high band whatever the others hold: up to
 * \p high of its own in hand and IN_FLIGHT_RESERVE of its own not yet
 * ended (bands_take()). */
static size_t top_room(const worker_t *w, size_t high)
{
	if (w->top_queued >= high || w->top_in_flight >= IN_FLIGHT_RESERVE)
		return 0;
	return high - w->top_queued;
}

/* Whether the main thread has something to do now rather than wait:
 * messages it can take, or ops of a consumer (a rebalance). */
static bool work_waiting(worker_t *w, size_t high, bool behind)
{
	if (rd_kafka_queue_length(w->delay_q))
		return true;
	if (behind)
		return false;
	if (room(w, high))
		return rd_kafka_queue_length(w->consumer_q) ||
		       bands_waiting(w, false);
	return top_room(w, high) && bands_waiting(w, true);
}

int worker_run(drv_daemon_t *d)
{
	worker_t w;
	char conc[16], stats[360];
	drv_state_stats_t st = { 0 };
	size_t high;
	int64_t polled = 0;
	int sig;

	/* exec tasks' orphans (setsid ... &) become ours, so a timeout
	 * kills and reaps the whole tree */
	if (drv_exec_subreaper() != DRV_OK)
		drv_log_kv(DRV_LOG_WARN, "cannot become a child subreaper; "
			   "exec children that leave their session may outlive "
			   "a timeout", NULL);
	if (!start(&w, d)) {
		stop(&w);
		return drv_daemon_fatal() ? drv_daemon_fatal() : 1;
	}
	high = (size_t)d->cfg->worker.concurrency;
	high += high < READAHEAD_MIN ? READAHEAD_MIN : high;
	drv_fmt(conc, sizeof(conc), "%lld", (long long)d->cfg->worker.concurrency);
	drv_log_kv(DRV_LOG_INFO, "worker started", "id", d->id,
		   "group", w.cfg->worker.group, "brokers", w.cfg->kafka.brokers,
		   "concurrency", conc, NULL);

	/* Backpressure without pausing: take band messages while fewer than
	 * concurrency + readahead tasks are in hand; when full, leave them in
	 * librdkafka's bounded queue (it stops fetching) and poll only now
	 * and then, to serve rebalances and stay in the group. Pausing and
	 * resuming instead costs about 0.4 s a cycle (librdkafka 2.0.2 and
	 * 2.14.2 alike, measured against Kafka 4.4) and drops what it had
	 * prefetched. */
	while ((sig = drv_daemon_signal()) == 0 || sig == SIGHUP) {
		int64_t now = drv_mono_ms();
		bool behind = state_behind(&w);
		bool full = w.queued >= high || w.in_flight >= IN_FLIGHT_MAX ||
			    behind;

		__atomic_store_n(&w.obs.loop_ms, now, __ATOMIC_RELAXED);
		if (!full || now - polled >= FULL_POLL_MS) {
			poll_some(&w, w.consumer, SRC_TASKS,
				  full ? 1 : high - w.queued);
			polled = now;
		}
		if (!behind)
			bands_take(&w, room(&w, high), top_room(&w, high));
		hand_over(&w);
		poll_some(&w, w.delay, SRC_DELAY, 256);
		service(&w);
		if (!work_waiting(&w, high, behind))
			wait_wake(&w, 10);
	}
	drv_log_kv(DRV_LOG_INFO, "signal received", "signal", strsignal(sig),
		   NULL);
	shutdown_gracefully(&w);
	if (w.state)
		drv_state_stats(w.state, &st);
	drv_fmt(stats, sizeof(stats), "succeeded=%lld retried=%lld dead=%lld "
		"released=%lld parked=%lld undecodable=%lld "
		"redelivered_dropped=%lld "
		"state_written=%llu state_dropped=%llu state_shed=%llu "
		"state_merged=%llu",
		(long long)w.stats.succeeded, (long long)w.stats.retried,
		(long long)w.stats.dead, (long long)w.stats.released,
		(long long)w.stats.parked,
		(long long)w.stats.undecodable, (long long)w.stats.redelivered,
		(unsigned long long)st.written,
		(unsigned long long)st.dropped, (unsigned long long)st.shed,
		(unsigned long long)st.merged);
	stop(&w);
	drv_log_kv(DRV_LOG_INFO, "worker stopped", "totals", stats, NULL);
	return drv_daemon_fatal();
}
