/*
 * main.c — drover-coordinator. Today it starts like every drover daemon
 * (config, logging, signals), keeps its Kafka producer and its Redis
 * connection alive with backoff, and reports their state in the log. Cron
 * schedules, event triggers and leader election build on this loop.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "drover/clock.h"
#include "drover/daemon.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/redis.h"
#include "drover/str.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

typedef struct coordinator {
	drv_daemon_t *d;
	rd_kafka_t   *producer;
	redisContext *redis;
	int64_t       redis_retry_at;   /* mono ms of the next attempt */
	int64_t       redis_backoff;
	int64_t       redis_checked;
} coordinator_t;

/* Connect, or check the connection, with exponential backoff. */
static void redis_tick(coordinator_t *c)
{
	int64_t now = drv_mono_ms();
	char err[512], backoff[32];

	if (c->redis && now - c->redis_checked >= 5000) {
		redisReply *r = redisCommand(c->redis, "PING");
		c->redis_checked = now;
		if (!r || r->type == REDIS_REPLY_ERROR) {
			drv_log_kv(DRV_LOG_WARN, "lost Redis; reconnecting",
				   "error", c->redis->errstr, NULL);
			redisFree(c->redis);
			c->redis = NULL;
			c->redis_retry_at = now;
		}
		freeReplyObject(r);
	}
	if (c->redis || now < c->redis_retry_at)
		return;
	if (drv_redis_connect(c->d->cfg, &c->redis, err, sizeof(err))) {
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
	drv_log_kv(DRV_LOG_INFO, "connected to Redis", NULL);
}

int main(int argc, char **argv)
{
	coordinator_t c = { 0 };
	drv_daemon_t d;
	rd_kafka_conf_t *conf;
	char err[512];
	int sig, rc = drv_daemon_init(&d, "coordinator", argc, argv);

	if (rc >= 0)
		return rc;
	c.d = &d;
	conf = drv_kafka_conf_new(d.cfg, NULL, err, sizeof(err));
	if (conf) {
		drv_daemon_kafka_logging(conf);
		c.producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
					  sizeof(err));
		if (!c.producer)
			rd_kafka_conf_destroy(conf);
	}
	if (!c.producer) {
		drv_log_kv(DRV_LOG_ERROR, "cannot create Kafka producer",
			   "error", err, NULL);
		drv_daemon_release(&d);
		return 1;
	}
	drv_log_kv(DRV_LOG_INFO, "coordinator started", "id", d.id,
		   "brokers", d.cfg->kafka.brokers, NULL);

	while ((sig = drv_daemon_signal()) == 0 || sig == SIGHUP) {
		redis_tick(&c);
		rd_kafka_poll(c.producer, 100);
	}
	drv_log_kv(DRV_LOG_INFO, "signal received; stopping", "signal",
		   strsignal(sig), NULL);
	rd_kafka_flush(c.producer, 5000);
	rd_kafka_destroy(c.producer);
	redisFree(c.redis);
	drv_daemon_release(&d);
	return 0;
}
