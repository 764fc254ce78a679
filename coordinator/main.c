/*
 * main.c — drover-coordinator: start-up like every drover daemon (config,
 * logging, signals), then one loop on the main thread: keep Redis
 * connected (backoff), hold or seek the leader lease, fire due schedules
 * while leading, pick up run-time schedule changes, reload the config file
 * on SIGHUP or when it changes, and read the events topic for triggers and
 * lifecycle events. Every coordinator reads events (a consumer group splits
 * them); only the leader fires schedules.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/redis.h"
#include "drover/str.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define LOOP_MAX_WAIT_MS 100

extern char **environ;

void coord_key(const coord_t *c, char *buf, size_t size, const char *fmt,
	       ...)
{
	size_t n;
	va_list ap;

	drv_strlcpy(buf, c->cfg->redis.key_prefix, size);
	n = strlen(buf);
	va_start(ap, fmt);
	drv_vfmt(buf + n, size - n, fmt, ap);
	va_end(ap);
}

void coord_redis_lost(coord_t *c, const char *why)
{
	if (!c->redis)
		return;
	drv_log_kv(DRV_LOG_WARN, "lost Redis; reconnecting", "error",
		   why ? why : c->redis->errstr, NULL);
	redisFree(c->redis);
	c->redis = NULL;
	c->redis_retry_at = drv_mono_ms();
	__atomic_store_n(&c->ready, 0, __ATOMIC_RELAXED);
}

redisReply *coord_redis(coord_t *c, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	if (!c->redis)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(c->redis, fmt, ap);
	va_end(ap);
	if (!r)
		coord_redis_lost(c, NULL);
	return r;
}

/* Connect, or check the connection, with exponential backoff. */
static void redis_tick(coord_t *c)
{
	int64_t now = drv_mono_ms();
	char err[512], backoff[32];

	if (c->redis && now - c->redis_checked >= 5000) {
		redisReply *r = coord_redis(c, "PING");

		c->redis_checked = now;
		freeReplyObject(r);
	}
	if (c->redis || now < c->redis_retry_at)
		return;
	if (drv_redis_connect(c->cfg, &c->redis, err, sizeof(err))) {
		c->redis_backoff = c->redis_backoff ?
			c->redis_backoff * 2 : BACKOFF_MIN_MS;
		if (c->redis_backoff > BACKOFF_MAX_MS)
			c->redis_backoff = BACKOFF_MAX_MS;
		c->redis_retry_at = now + c->redis_backoff;
		drv_format_duration(c->redis_backoff, backoff, sizeof(backoff));
		drv_log_kv(DRV_LOG_WARN, "Redis unreachable; retrying",
			   "error", err, "retry_in", backoff, NULL);
		return;
	}
	c->redis_backoff = 0;
	c->redis_checked = now;
	c->rt_version = -1;       /* re-read run-time schedules */
	events_triggers_loaded(c); /* the triggers' times, shared */
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELAXED);
	drv_log_kv(DRV_LOG_INFO, "connected to Redis", NULL);
}

/* The file's schedules into the set; file schedules no longer in the file
 * are removed. Run-time overrides are applied by runtime_tick(). */
static void load_file_schedules(coord_t *c)
{
	for (size_t i = 0; i < drv_sched_count(c->sched); i++) {
		drv_sched_item_t *it = drv_sched_at(c->sched, i);
		sched_state_t *st = it->user;

		if (st && st->file &&
		    !drv_config_schedule(c->cfg, it->conf.name)) {
			fire_remove(c, it->conf.name);
			i--;
		}
	}
	for (size_t i = 0; i < c->cfg->schedule_cnt; i++)
		fire_put(c, &c->cfg->schedules[i], true, NULL);
}

/* The file's modification time in ns (0 if it cannot be read). */
static int64_t file_mtime(const char *path)
{
	struct stat st;

	if (!path || stat(path, &st))
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Load the config file again; keep the old one if the new one is bad. */
static void reload(coord_t *c, const char *why)
{
	drv_config_t *cfg = NULL;
	char err[1024], n[16];

	if (!c->cfg->path)
		return;
	c->cfg_mtime = file_mtime(c->cfg->path);
	if (drv_config_load(c->cfg->path, environ, &cfg, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "config reload refused; keeping the "
			   "running config", "reason", why, "error", err,
			   NULL);
		return;
	}
	drv_config_destroy(c->d->cfg);
	c->d->cfg = c->cfg = cfg;
	load_file_schedules(c);
	runtime_tick(c, true);
	events_triggers_loaded(c);
	drv_fmt(n, sizeof(n), "%zu", drv_sched_count(c->sched));
	drv_log_kv(DRV_LOG_INFO, "config reloaded", "reason", why,
		   "schedules", n, NULL);
}

static void config_tick(coord_t *c)
{
	int64_t now = drv_mono_ms();

	if (!c->cfg->coordinator.reload_interval_ms ||
	    now - c->cfg_checked < c->cfg->coordinator.reload_interval_ms)
		return;
	c->cfg_checked = now;
	if (c->cfg->path && file_mtime(c->cfg->path) != c->cfg_mtime)
		reload(c, "file changed");
}

static bool start(coord_t *c)
{
	char err[512];
	rd_kafka_conf_t *conf = drv_kafka_conf_new(c->cfg, NULL, err,
						   sizeof(err));

	if (conf) {
		drv_daemon_kafka_logging(conf);
		c->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
					   sizeof(err));
		if (!c->producer)
			rd_kafka_conf_destroy(conf);
	}
	if (!c->producer) {
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka producer",
			   "error", err, NULL);
		return false;
	}
	if (!(c->sched = drv_sched_new()))
		return false;
	c->rt_version = -1;
	c->cfg_mtime = file_mtime(c->cfg->path);
	load_file_schedules(c);
	return events_start(c) && observe_start(c) && archive_start(c) &&
	       dlq_index_start(c) && dlq_jobs_start(c);
}

static void stop(coord_t *c)
{
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELAXED);
	archive_stop(c);
	dlq_index_stop(c);
	dlq_jobs_stop(c);
	observe_depth_stop(c);
	leader_release(c);
	events_stop(c);
	webhooks_stop(c);
	observe_stop(c);
	if (c->producer) {
		rd_kafka_flush(c->producer, 5000);
		rd_kafka_destroy(c->producer);
	}
	for (size_t i = 0; c->sched && i < drv_sched_count(c->sched); i++)
		coord_state_free(drv_sched_at(c->sched, i)->user);
	drv_sched_destroy(c->sched);
	redisFree(c->redis);
}

/* One run: start, serve until a signal, stop; the exit status. */
static int run(drv_daemon_t *d)
{
	coord_t c = { .started_ms = drv_now_ms(), .d = d, .cfg = d->cfg };
	char n[16];
	int sig;

	if (!start(&c)) {
		stop(&c);
		return drv_daemon_fatal() ? drv_daemon_fatal() : 1;
	}
	drv_fmt(n, sizeof(n), "%zu", drv_sched_count(c.sched));
	drv_log_kv(DRV_LOG_INFO, "coordinator started", "id", d->id,
		   "brokers", c.cfg->kafka.brokers, "schedules", n,
		   NULL);

	while ((sig = drv_daemon_signal()) == 0 || sig == SIGHUP) {
		int64_t wait;

		if (sig == SIGHUP)
			reload(&c, "SIGHUP");
		__atomic_store_n(&c.obs.loop_ms, drv_mono_ms(),
				 __ATOMIC_RELAXED);
		redis_tick(&c);
		leader_tick(&c);
		runtime_tick(&c, false);
		config_tick(&c);
		fire_buffered(&c);
		fire_requested(&c);
		dlq_alert_tick(&c);
		dlq_trend_tick(&c);
		wait = fire_due(&c, LOOP_MAX_WAIT_MS);
		rd_kafka_poll(c.producer, 0);
		events_poll(&c, (int)wait);
	}
	drv_log_kv(DRV_LOG_INFO, "signal received; stopping", "signal",
		   strsignal(sig), NULL);
	stop(&c);
	return drv_daemon_fatal();
}

int main(int argc, char **argv)
{
	drv_daemon_t d;
	int rc = drv_daemon_init(&d, "coordinator", argc, argv);

	if (rc >= 0)
		return rc;
	rc = drv_daemon_run(&d, run);
	drv_daemon_release(&d);
	return rc;
}
