/*
 * worker.c — the worker's main thread: consume the band topics, hand tasks
 * to the runners, pause fetching while every runner is busy, store each
 * partition's offset only once every task before it has ended, and on
 * SIGTERM stop fetching, let running tasks finish within the grace period,
 * commit and leave the group.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

/* ------------------------------------------------------------- jobs */

static void active_link(worker_t *w, job_t *job)
{
	job->active_next = w->active;
	if (w->active)
		w->active->active_prev = job;
	w->active = job;
	w->in_flight++;
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
}

static void store_offset(worker_t *w, const char *topic, int32_t partition,
			 int64_t offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
	err = rd_kafka_offsets_store(w->consumer, l);
	/* a partition revoked meanwhile is not ours to commit: fine */
	if (err && err != RD_KAFKA_RESP_ERR__STATE)
		drv_log_kv(DRV_LOG_WARN, "cannot store offset", "topic", topic,
			   "error", rd_kafka_err2str(err), NULL);
	rd_kafka_topic_partition_list_destroy(l);
}

/* The job is over: move the partition's commit point if it can. */
static void job_end(worker_t *w, job_t *job)
{
	rd_kafka_message_t *m = job->msg;
	const char *topic = rd_kafka_topic_name(m->rkt);

	if (job->outcome != JOB_ABANDONED) {
		int64_t commit = offsets_done(w->offsets, topic, m->partition,
					      m->offset);
		if (commit >= 0)
			store_offset(w, topic, m->partition, commit);
		w->tasks_done++;
	}
	active_unlink(w, job);
	rd_kafka_message_destroy(m);
	drv_task_release(&job->task);
	free(job);
}

/* End every job the runners have finished. @locality main */
static void reap(worker_t *w)
{
	job_t *done;

	pthread_mutex_lock(&w->lock);
	done = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->lock);
	while (done) {
		job_t *next = done->next;
		job_end(w, done);
		done = next;
	}
}

/* The DLQ acknowledged (or refused) an undecodable message. @locality main,
 * from rd_kafka_poll() on the producer. */
static void undecodable_delivered(drv_delivery_t *d, void *arg)
{
	job_t *job = arg;

	if (d->err) {
		drv_log_kv(DRV_LOG_ERROR, "dead-letter topic refused a message; "
			   "retrying in 5 s", "error", rd_kafka_err2str(d->err),
			   NULL);
		job->retry_at = drv_mono_ms() + 5000;
		return;
	}
	job->outcome = JOB_UNDECODABLE;
	job->retry_at = -1; /* acknowledged: end it from the main loop */
}

/* Put a message that is not a task on the DLQ as reason `undecodable`,
 * with its bytes and where it came from. Its offset is stored only after
 * the DLQ acknowledged it. */
static void forward_undecodable(worker_t *w, job_t *job)
{
	rd_kafka_message_t *m = job->msg;
	drv_dead_letter_t dl;
	char err[256];

	drv_dead_letter_init(&dl);
	dl.dead_ms = drv_now_ms();
	drv_id_new(dl.id, dl.dead_ms);
	dl.reason = DRV_DL_UNDECODABLE;
	dl.detail = drv_strdup(job->decode_error);
	dl.source_topic = drv_strdup(rd_kafka_topic_name(m->rkt));
	dl.source_partition = m->partition;
	dl.source_offset = m->offset;
	dl.worker_id = drv_strdup(w->daemon->id);
	drv_dead_letter_set_raw(&dl, m->payload, m->len);
	job->retry_at = 0;
	job->dr.on_delivery = undecodable_delivered;
	job->dr.arg = job;
	if (drv_dead_letter_produce(w->producer, w->cfg, &dl, &job->dr, err,
				    sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot forward to the dead-letter "
			   "topic; retrying in 5 s", "error", err, NULL);
		job->retry_at = drv_mono_ms() + 5000;
	}
	drv_dead_letter_release(&dl);
}

static void undecodable(worker_t *w, job_t *job)
{
	rd_kafka_message_t *m = job->msg;
	char off[32], part[16];

	w->undecodable++;
	drv_fmt(off, sizeof(off), "%lld", (long long)m->offset);
	drv_fmt(part, sizeof(part), "%d", (int)m->partition);
	drv_log_kv(DRV_LOG_ERROR, "undecodable message on a task topic; "
		   "sending it to the dead-letter topic",
		   "topic", rd_kafka_topic_name(m->rkt), "partition", part,
		   "offset", off, "error", job->decode_error, NULL);
	job->next = w->forwarding;
	w->forwarding = job;
	forward_undecodable(w, job);
}

/* Serve the producer's delivery reports, end acknowledged forwards and
 * retry refused ones. @locality main */
static void serve_forwards(worker_t *w)
{
	int64_t now = drv_mono_ms();
	job_t **pp = &w->forwarding;

	rd_kafka_poll(w->producer, 0);
	while (*pp) {
		job_t *job = *pp;

		if (job->retry_at == -1) {
			*pp = job->next;
			job_end(w, job);
			continue;
		}
		if (job->retry_at > 0 && now >= job->retry_at)
			forward_undecodable(w, job);
		pp = &job->next;
	}
}

/* Everything the main thread does between polls: end finished jobs and
 * forwards. */
static void service(worker_t *w)
{
	reap(w);
	serve_forwards(w);
}

/* A message from a task topic: track its offset, decode, queue it. */
static void dispatch(worker_t *w, rd_kafka_message_t *m)
{
	job_t *job = calloc(1, sizeof(*job));
	const char *topic = rd_kafka_topic_name(m->rkt);

	if (!job || !offsets_add(w->offsets, topic, m->partition, m->offset)) {
		/* not tracked, so never committed: it will come again */
		drv_log_kv(DRV_LOG_ERROR, "out of memory; message left for "
			   "redelivery", "topic", topic, NULL);
		free(job);
		rd_kafka_message_destroy(m);
		return;
	}
	job->msg = m;
	drv_task_init(&job->task);
	active_link(w, job);
	if (drv_task_decode(m->payload, m->len, &job->task, job->decode_error,
			    sizeof(job->decode_error))) {
		undecodable(w, job);
		return;
	}
	pthread_mutex_lock(&w->lock);
	if (w->todo_tail)
		w->todo_tail->next = job;
	else
		w->todo = job;
	w->todo_tail = job;
	pthread_cond_signal(&w->work_cond);
	pthread_mutex_unlock(&w->lock);
}

/* ------------------------------------------------------------- fetching */

static void set_paused(worker_t *w, bool pause)
{
	rd_kafka_topic_partition_list_t *parts = NULL;

	if (w->paused == pause || rd_kafka_assignment(w->consumer, &parts))
		return;
	if (pause)
		rd_kafka_pause_partitions(w->consumer, parts);
	else
		rd_kafka_resume_partitions(w->consumer, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	w->paused = pause;
}

/* Wait (bounded) until no task of \p parts is running, ending finished
 * ones, so their offsets are committed before the partitions move. */
static void drain_partitions(worker_t *w,
			     rd_kafka_topic_partition_list_t *parts,
			     int64_t timeout_ms)
{
	int64_t deadline = drv_mono_ms() + timeout_ms;

	for (;;) {
		size_t pending = 0;

		service(w);
		for (int i = 0; i < parts->cnt; i++)
			pending += offsets_pending(w->offsets,
						   parts->elems[i].topic,
						   parts->elems[i].partition);
		if (pending == 0 || drv_mono_ms() >= deadline)
			return;
		usleep(20 * 1000);
	}
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	worker_t *w = opaque;
	char cnt[16];

	drv_fmt(cnt, sizeof(cnt), "%d", parts->cnt);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		drv_log_kv(DRV_LOG_INFO, "partitions assigned", "count", cnt,
			   NULL);
		rd_kafka_assign(rk, parts);
		w->paused = false;
		return;
	}
	drv_log_kv(DRV_LOG_INFO, "partitions revoked; finishing their tasks",
		   "count", cnt, NULL);
	drain_partitions(w, parts, w->cfg->worker.shutdown_grace_ms);
	rd_kafka_commit(rk, NULL, 0);
	for (int i = 0; i < parts->cnt; i++)
		offsets_forget(w->offsets, parts->elems[i].topic,
			       parts->elems[i].partition);
	rd_kafka_assign(rk, NULL);
}

static drv_err_t subscribe(worker_t *w, char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *topics =
		rd_kafka_topic_partition_list_new((int)drv_band_cnt);
	rd_kafka_resp_err_t err;

	for (size_t i = 0; i < drv_band_cnt; i++) {
		char name[256];
		drv_topic_name(w->cfg, DRV_TOPIC_TASKS, drv_bands[i].name, 0,
			       name, sizeof(name));
		rd_kafka_topic_partition_list_add(topics, name,
						  RD_KAFKA_PARTITION_UA);
	}
	err = rd_kafka_subscribe(w->consumer, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err)
		return drv_error(errstr, errstr_size, drv_kafka_err(err),
				 "subscribe: %s", rd_kafka_err2str(err));
	return DRV_OK;
}

/* ------------------------------------------------------------- shutdown */

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
	/* queued, never started */
	while (w->todo) {
		job_t *j = w->todo;
		w->todo = j->next;
		j->outcome = JOB_ABANDONED;
		j->next = w->done;
		w->done = j;
	}
	w->todo_tail = NULL;
	pthread_mutex_unlock(&w->lock);
}

static void shutdown_gracefully(worker_t *w)
{
	int64_t grace = w->cfg->worker.shutdown_grace_ms;
	int64_t deadline = drv_mono_ms() + grace;
	char n[16];

	drv_fmt(n, sizeof(n), "%zu", w->in_flight);
	drv_log_kv(DRV_LOG_INFO, "stopping: no new tasks; waiting for running "
		   "ones", "running", n, NULL);
	set_paused(w, true);
	w->paused = true;
	while (w->in_flight > 0 && drv_mono_ms() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, 50);
		if (m) /* fetched before the pause: not started, not stored */
			rd_kafka_message_destroy(m);
		service(w);
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
	rd_kafka_commit(w->consumer, NULL, 0);
}

/* ------------------------------------------------------------- main */

static bool start(worker_t *w, drv_daemon_t *d)
{
	char err[512];
	rd_kafka_conf_t *conf;

	memset(w, 0, sizeof(*w));
	w->daemon = d;
	w->cfg = d->cfg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work_cond, NULL);
	if (!(w->offsets = offsets_new()))
		return false;

	conf = drv_kafka_conf_new(w->cfg, w->cfg->worker.group, err,
				  sizeof(err));
	if (!conf) {
		drv_log_kv(DRV_LOG_ERROR, "bad Kafka configuration", "error",
			   err, NULL);
		return false;
	}
	drv_daemon_kafka_logging(conf);
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_opaque(conf, w);
	if (!(w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
					 sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka consumer",
			   "error", err, NULL);
		return false;
	}
	rd_kafka_poll_set_consumer(w->consumer);

	if (!(conf = drv_kafka_conf_new(w->cfg, NULL, err, sizeof(err))))
		return false;
	drv_daemon_kafka_logging(conf);
	if (!(w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
					 sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka producer",
			   "error", err, NULL);
		return false;
	}
	if (subscribe(w, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot subscribe", "error", err, NULL);
		return false;
	}

	w->runner_cnt = (size_t)w->cfg->worker.concurrency;
	w->runners = calloc(w->runner_cnt, sizeof(*w->runners));
	if (!w->runners)
		return false;
	for (size_t i = 0; i < w->runner_cnt; i++)
		if (pthread_create(&w->runners[i], NULL, runner_main, w)) {
			w->runner_cnt = i;
			return false;
		}
	return true;
}

static void stop(worker_t *w)
{
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->work_cond);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->runner_cnt; i++)
		pthread_join(w->runners[i], NULL);
	reap(w);
	if (w->consumer) {
		rd_kafka_consumer_close(w->consumer);
		rd_kafka_destroy(w->consumer);
	}
	if (w->producer) {
		rd_kafka_flush(w->producer, 5000);
		rd_kafka_destroy(w->producer);
	}
	offsets_destroy(w->offsets);
	free(w->runners);
	pthread_cond_destroy(&w->work_cond);
	pthread_mutex_destroy(&w->lock);
}

static void log_consumer_error(rd_kafka_message_t *m)
{
	static int64_t last;
	int64_t now = drv_mono_ms();

	/* missing topics and broker trouble repeat every poll: rate-limit */
	if (last && now - last < 30000)
		return;
	last = now;
	drv_log_kv(DRV_LOG_WARN, "consumer error (will keep retrying)",
		   "error", rd_kafka_message_errstr(m),
		   "topic", m->rkt ? rd_kafka_topic_name(m->rkt) : "", NULL);
}

int worker_run(drv_daemon_t *d)
{
	worker_t w;
	char conc[16];
	int sig = 0, rc = 0;

	drv_fmt(conc, sizeof(conc), "%lld", (long long)d->cfg->worker.concurrency);
	if (!start(&w, d)) {
		stop(&w);
		return 1;
	}
	drv_log_kv(DRV_LOG_INFO, "worker started", "id", d->id,
		   "group", w.cfg->worker.group, "brokers", w.cfg->kafka.brokers,
		   "concurrency", conc, NULL);

	while ((sig = drv_daemon_signal()) == 0 || sig == SIGHUP) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(w.consumer, 50);

		if (m && m->err)
			log_consumer_error(m), rd_kafka_message_destroy(m);
		else if (m)
			dispatch(&w, m);
		service(&w);
		set_paused(&w, w.in_flight >= (size_t)w.cfg->worker.concurrency);
	}
	drv_log_kv(DRV_LOG_INFO, "signal received", "signal", strsignal(sig),
		   NULL);
	shutdown_gracefully(&w);
	stop(&w);
	drv_log_kv(DRV_LOG_INFO, "worker stopped", NULL);
	return rc;
}
