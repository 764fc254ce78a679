/*
 * bands.c — which band the worker takes its next task from, and when it
 * takes none.
 *
 * Every band partition assigned to the worker is forwarded to its band's
 * own librdkafka queue, so a backlog in one band never stands in front of
 * another. When the worker has room it picks a band by smooth weighted
 * round robin among the bands with messages waiting (worker.weight_*),
 * except that a band that has had work waiting for worker.starvation_bound
 * is served first.
 *
 * Fetching stops (the band's partitions are paused) when an operator
 * paused the band fleet-wide (`droverctl band pause`: a set in Redis and a
 * message on the band channel, watched with drv_watch), or, for every
 * band, while CPU or memory use is over its limit (resources.c), resuming
 * 5 points below it. A task already taken is never dropped.
 *
 * @locality main thread, except the watch callbacks, which only set the
 * atomic wanted-pause flags.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"
#include "drover/watch.h"
#include "resources.h"
#include "worker.h"

#define BANDS_MAX        WRR_BANDS
#define CHECK_MS         500   /* CPU and memory sampled this often */
#define HYSTERESIS       5.0   /* points below the limit to resume */

struct bands {
	size_t            cnt;
	rd_kafka_queue_t *q[BANDS_MAX];
	char              topic[BANDS_MAX][256];
	wrr_t             wrr;          /* weights, starvation bound */
	int64_t           waiting_since[BANDS_MAX]; /* mono ms, 0 = none */
	atomic_bool       want_paused[BANDS_MAX];   /* fleet-wide, Redis */
	bool              paused[BANDS_MAX];        /* applied */
	resources_t       res;
	int64_t           next_check;
	const char       *pressure;     /* "cpu", "memory" or NULL */
	int64_t           pressure_since;
	drv_watch_t      *watch;
	drv_counter_t    *served, *starved, *paused_secs;
	drv_gauge_t      *paused_now, *band_paused;
};

static const char *const band_only[] = { "band", NULL };
static const char *const reason_only[] = { "reason", NULL };

static int band_of(const struct bands *b, const char *topic)
{
	for (size_t i = 0; i < b->cnt; i++)
		if (!strcmp(b->topic[i], topic))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------- pausing */

/* Pause or resume the assigned partitions of band \p i. */
static void set_fetching(worker_t *w, size_t i, bool pause)
{
	struct bands *b = w->bands;
	rd_kafka_topic_partition_list_t *all = NULL, *mine;

	if (rd_kafka_assignment(w->consumer, &all))
		return;
	mine = rd_kafka_topic_partition_list_new(all->cnt ? all->cnt : 1);
	for (int k = 0; k < all->cnt; k++)
		if (!strcmp(all->elems[k].topic, b->topic[i]))
			rd_kafka_topic_partition_list_add(mine,
				all->elems[k].topic, all->elems[k].partition);
	if (mine->cnt)
		(pause ? rd_kafka_pause_partitions :
			 rd_kafka_resume_partitions)(w->consumer, mine);
	rd_kafka_topic_partition_list_destroy(mine);
	rd_kafka_topic_partition_list_destroy(all);
}

/* Make the partitions' pause state what the flags want. */
static void apply_pauses(worker_t *w)
{
	struct bands *b = w->bands;

	for (size_t i = 0; i < b->cnt; i++) {
		bool fleet = atomic_load(&b->want_paused[i]);
		bool want = fleet || b->pressure;

		if (want == b->paused[i])
			continue;
		b->paused[i] = want;
		set_fetching(w, i, want);
		drv_gauge_set(b->band_paused,
			      (const char *const[]){ drv_bands[i].name },
			      fleet);
		if (!b->pressure)
			drv_log_kv(DRV_LOG_INFO, fleet ? "band paused: not "
				   "fetching its tasks" : "band resumed",
				   "band", drv_bands[i].name, NULL);
	}
}

/* Sample CPU and memory; start or end backpressure. */
static void check_pressure(worker_t *w, int64_t now)
{
	struct bands *b = w->bands;
	const drv_config_t *cfg = w->cfg;
	double mem = 0, cpu = 0;
	bool have_mem, have_cpu;
	const char *over = NULL;
	char val[32];

	if (now < b->next_check)
		return;
	b->next_check = now + CHECK_MS;
	have_mem = cfg->worker.memory_limit > 0 &&
		   resources_memory(&b->res, &mem);
	have_cpu = cfg->worker.cpu_limit > 0 &&
		   resources_cpu(&b->res, now * 1000, &cpu);
	if (b->pressure) {
		/* hysteresis: resume once below the limit by a margin */
		bool still = !strcmp(b->pressure, "memory") ?
			     have_mem && mem > cfg->worker.memory_limit -
					       HYSTERESIS :
			     have_cpu && cpu > cfg->worker.cpu_limit -
					       HYSTERESIS;
		const char *reason = b->pressure;

		drv_counter_add(b->paused_secs, (const char *const[]){ reason },
				(double)(now - b->pressure_since) / 1000.0);
		b->pressure_since = now;
		if (still)
			return;
		b->pressure = NULL;
		drv_gauge_set(b->paused_now, (const char *const[]){ reason }, 0);
		drv_fmt(val, sizeof(val), "%.1f",
			!strcmp(reason, "memory") ? mem : cpu);
		drv_log_kv(DRV_LOG_INFO, "below the limit again: fetching "
			   "tasks", "reason", reason, "percent", val, NULL);
		apply_pauses(w);
		return;
	}
	if (have_mem && mem > cfg->worker.memory_limit)
		over = "memory";
	else if (have_cpu && cpu > cfg->worker.cpu_limit)
		over = "cpu";
	if (!over)
		return;
	b->pressure = over;
	b->pressure_since = now;
	drv_gauge_set(b->paused_now, (const char *const[]){ over }, 1);
	drv_fmt(val, sizeof(val), "%.1f", over[0] == 'm' ? mem : cpu);
	drv_log_kv(DRV_LOG_WARN, "over the limit: pausing fetching; tasks "
		   "in hand go on", "reason", over, "percent", val, NULL);
	apply_pauses(w);
}

/* ------------------------------------------------------------- watch */

static void read_paused(redisContext *cmd, worker_t *w)
{
	struct bands *b = w->bands;
	redisReply *r = redisCommand(cmd, "SMEMBERS %sbands:paused",
				     w->cfg->redis.key_prefix);

	if (r && r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < b->cnt; i++) {
			bool p = false;

			for (size_t k = 0; k < r->elements; k++)
				if (r->element[k]->type == REDIS_REPLY_STRING &&
				    !strcmp(r->element[k]->str,
					    drv_bands[i].name))
					p = true;
			atomic_store(&b->want_paused[i], p);
		}
	freeReplyObject(r);
}

static void on_resync(redisContext *cmd, void *arg)
{
	read_paused(cmd, arg);
}

static void on_message(redisContext *cmd, const char *channel,
		       const char *data, size_t len, void *arg)
{
	(void)channel;
	(void)data;
	(void)len;
	read_paused(cmd, arg);
}

/* ------------------------------------------------------------- picking */

/* The band to take from next among those with messages waiting and not
 * paused (\p top_only: the high band or none). */
static int pick(worker_t *w, int64_t now, bool top_only, bool *starved)
{
	struct bands *b = w->bands;
	int64_t since[BANDS_MAX] = { 0 };

	for (size_t i = 0; i < b->cnt; i++) {
		if (b->paused[i] || !rd_kafka_queue_length(b->q[i])) {
			b->waiting_since[i] = 0;
			continue;
		}
		if (!b->waiting_since[i])
			b->waiting_since[i] = now;
		if (!top_only || i == 0)
			since[i] = b->waiting_since[i];
	}
	return wrr_pick(&b->wrr, b->cnt, since, now, starved);
}

size_t bands_of(worker_t *w, const char *topic)
{
	int i = w->bands ? band_of(w->bands, topic) : -1;

	return i < 0 ? drv_band_cnt - 1 : (size_t)i;
}

size_t bands_take(worker_t *w, size_t room, size_t top_room)
{
	struct bands *b = w->bands;
	int64_t now = drv_mono_ms();
	size_t taken = 0, top_taken = 0;

	check_pressure(w, now);
	apply_pauses(w);
	if (b->pressure)
		return 0;
	for (;;) {
		bool starved, top_only = taken >= room;
		int64_t since;
		int i;
		rd_kafka_message_t *m;

		if (top_only && top_taken >= top_room)
			break;
		if ((i = pick(w, now, top_only, &starved)) < 0)
			break;
		if (!(m = rd_kafka_consume_queue(b->q[i], 0))) {
			/* the length counted an op that is not a message */
			b->waiting_since[i] = 0;
			break;
		}
		since = b->waiting_since[i];
		b->waiting_since[i] = 0;
		if (m->err) {
			rd_kafka_message_destroy(m);
			continue;
		}
		drv_counter_inc(b->served,
				(const char *const[]){ drv_bands[i].name });
		if (starved)
			drv_counter_inc(b->starved, (const char *const[]){
					drv_bands[i].name });
		worker_take_task(w, m, (size_t)i, since);
		taken++;
		top_taken += i == 0;
	}
	return taken;
}

bool bands_waiting(worker_t *w, bool top_only)
{
	struct bands *b = w->bands;

	if (b->pressure)
		return false;
	for (size_t i = 0; i < (top_only ? 1 : b->cnt); i++)
		if (!b->paused[i] && rd_kafka_queue_length(b->q[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------- rebalance */

static void forward(worker_t *w, rd_kafka_topic_partition_list_t *parts,
		    bool on)
{
	struct bands *b = w->bands;

	for (int k = 0; k < parts->cnt; k++) {
		int i = band_of(b, parts->elems[k].topic);
		rd_kafka_queue_t *q;

		if (i < 0)
			continue;
		q = rd_kafka_queue_get_partition(w->consumer,
						 parts->elems[k].topic,
						 parts->elems[k].partition);
		if (!q)
			continue;
		rd_kafka_queue_forward(q, on ? b->q[i] : NULL);
		rd_kafka_queue_destroy(q);
	}
}

void bands_assigned(worker_t *w, rd_kafka_topic_partition_list_t *parts)
{
	struct bands *b = w->bands;

	if (!b)
		return;
	forward(w, parts, true);
	/* new partitions of a band that is paused start paused */
	for (size_t i = 0; i < b->cnt; i++)
		if (b->paused[i])
			set_fetching(w, i, true);
}

void bands_revoked(worker_t *w, rd_kafka_topic_partition_list_t *parts)
{
	if (w->bands)
		forward(w, parts, false);
}

/* Small fetches for the band consumer, unless kafka.properties says
 * otherwise: a fetch cycle carrying megabytes of a backlogged band delays
 * the next high-priority message by the whole cycle (hundreds of ms on a
 * busy host). (queued.min.messages is left alone: below its default a
 * partition that reaches it is not fetched again for up to a second.) */
void bands_tune(worker_t *w, rd_kafka_conf_t *conf)
{
	static const char *const defaults[][2] = {
		{ "max.partition.fetch.bytes", "16384" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		bool given = false;

		for (size_t k = 0; k < w->cfg->kafka.property_cnt; k++)
			given |= !strcmp(w->cfg->kafka.properties[k].key,
					 defaults[i][0]);
		if (!given)
			rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1],
					  err, sizeof(err));
	}
}

/* ------------------------------------------------------------- life */

bool bands_start(worker_t *w)
{
	struct bands *b = calloc(1, sizeof(*b));
	drv_watch_opts_t wo = {
		.channel_cnt = 1, .resync_ms = 2000,
		.resync = on_resync, .message = on_message, .arg = w,
	};
	observe_t *o = &w->obs;
	char channel[256], err[512];

	if (!b)
		return false;
	w->bands = b;
	b->cnt = drv_band_cnt < BANDS_MAX ? drv_band_cnt : BANDS_MAX;
	for (size_t i = 0; i < b->cnt; i++) {
		const char *n = drv_bands[i].name;

		drv_topic_name(w->cfg, DRV_TOPIC_TASKS, n, 0, b->topic[i],
			       sizeof(b->topic[i]));
		b->wrr.weight[i] = !strcmp(n, "high") ?
				   w->cfg->worker.weight_high :
				   !strcmp(n, "low") ? w->cfg->worker.weight_low :
				   w->cfg->worker.weight_normal;
		if (i < JOBQ_BANDS)  /* the runners take by the same weights */
			w->todo.wrr.weight[i] = b->wrr.weight[i];
		if (!(b->q[i] = rd_kafka_queue_new(w->consumer)))
			return false;
		worker_wake_on(w, b->q[i]);
	}
	b->wrr.bound_ms = w->cfg->worker.starvation_bound_ms;
	w->todo.wrr.bound_ms = b->wrr.bound_ms;
	resources_init(&b->res, w->cfg->worker.cgroup_root,
		       w->cfg->worker.proc_root, w->cfg->worker.cpu_scope);
	b->served = drv_metrics_counter(o->m, "drover_band_tasks_total",
		"Tasks taken from each band.", band_only);
	b->starved = drv_metrics_counter(o->m, "drover_band_starved_total",
		"Tasks taken from a band because it had waited for the "
		"starvation bound.", band_only);
	b->band_paused = drv_metrics_gauge(o->m, "drover_band_paused",
		"1 while a band is paused fleet-wide by an operator.",
		band_only);
	b->paused_now = drv_metrics_gauge(o->m, "drover_fetch_paused",
		"1 while fetching is paused because CPU or memory use is over "
		"its limit, by reason.", reason_only);
	b->paused_secs = drv_metrics_counter(o->m,
		"drover_fetch_paused_seconds_total",
		"Time fetching was paused for CPU or memory, by reason.",
		reason_only);
	drv_fmt(channel, sizeof(channel), "%sband", w->cfg->redis.key_prefix);
	wo.channels[0] = channel;
	if (drv_watch_new(w->cfg, &wo, &b->watch, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot watch band pauses", "error",
			   err, NULL);
		return false;
	}
	return true;
}

void bands_stop(worker_t *w)
{
	struct bands *b = w->bands;

	if (!b)
		return;
	drv_watch_destroy(b->watch);
	for (size_t i = 0; i < b->cnt; i++)
		if (b->q[i])
			rd_kafka_queue_destroy(b->q[i]);
	free(b);
	w->bands = NULL;
}
