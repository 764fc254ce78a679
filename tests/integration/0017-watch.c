/*
 * 0017 — drv_watch against a real Redis: resync() runs on connect, a
 * PUBLISH reaches message() within a second, a kick resyncs at once, and
 * when Redis goes away the watch says so, keeps retrying, and resyncs and
 * receives again once Redis is back on the same port.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/watch.h"
#include "harness.h"

typedef struct seen {
	atomic_int resyncs, messages, ups, downs;
	char last[64];
	atomic_int resync_ok;       /* resync's own command worked */
} seen_t;

static void on_resync(redisContext *cmd, void *arg)
{
	seen_t *s = arg;
	redisReply *r = redisCommand(cmd, "PING");

	if (r && r->type == REDIS_REPLY_STATUS)
		atomic_fetch_add(&s->resync_ok, 1);
	freeReplyObject(r);
	atomic_fetch_add(&s->resyncs, 1);
}

static void on_message(redisContext *cmd, const char *channel,
		       const char *data, size_t len, void *arg)
{
	seen_t *s = arg;

	(void)cmd;
	(void)channel;
	drv_fmt(s->last, sizeof(s->last), "%.*s", (int)len, data);
	atomic_fetch_add(&s->messages, 1);
}

static void on_status(bool up, const char *detail, void *arg)
{
	seen_t *s = arg;

	(void)detail;
	atomic_fetch_add(up ? &s->ups : &s->downs, 1);
}

static drv_config_t *config_for(const char *url)
{
	char yaml[512], err[256] = "";
	drv_config_t *cfg = NULL;

	drv_fmt(yaml, sizeof(yaml),
		"redis:\n  url: \"%s\"\n  connect_timeout: 500ms\n", url);
	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	return cfg;
}

static bool wait_for(atomic_int *v, int want, int timeout_ms)
{
	int64_t end = drv_mono_ms() + timeout_ms;

	while (atomic_load(v) < want && drv_mono_ms() < end)
		usleep(10 * 1000);
	return atomic_load(v) >= want;
}

static void publish(drv_config_t *cfg, const char *channel, const char *msg)
{
	redisContext *c = NULL;
	redisReply *r;
	char err[256];

	cr_assert_eq(drv_redis_connect(cfg, &c, err, sizeof(err)), DRV_OK,
		     "%s", err);
	r = redisCommand(c, "PUBLISH %s %s", channel, msg);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	redisFree(c);
}

static drv_watch_t *watch_start(drv_config_t *cfg, seen_t *s,
				const char *channel, int64_t resync_ms)
{
	drv_watch_opts_t o = {
		.channels = { channel }, .channel_cnt = 1,
		.resync_ms = resync_ms, .resync = on_resync,
		.message = on_message, .on_status = on_status, .arg = s,
	};
	drv_watch_t *w = NULL;
	char err[256];

	cr_assert_eq(drv_watch_new(cfg, &o, &w, err, sizeof(err)), DRV_OK,
		     "%s", err);
	return w;
}

Test(watch, messages_resync_and_kick, .timeout = 60)
{
	const char *url = getenv("DROVER_REDIS_URL");
	char channel[64];
	seen_t s = { 0 };
	drv_config_t *cfg;
	drv_watch_t *w;
	int64_t t0;
	int before;

	cr_assert(url, "DROVER_REDIS_URL unset: start the stack");
	cfg = config_for(url);
	drv_fmt(channel, sizeof(channel), "it%dwatch", (int)getpid());
	w = watch_start(cfg, &s, channel, 60000);
	cr_assert(wait_for(&s.resyncs, 1, 5000), "no resync on connect");
	cr_assert_eq(atomic_load(&s.resync_ok), 1);
	cr_assert(drv_watch_connected(w));
	cr_assert_eq(atomic_load(&s.ups), 1);

	t0 = drv_mono_ms();
	publish(cfg, channel, "breaker:db opened");
	cr_assert(wait_for(&s.messages, 1, 1000), "message not seen in 1 s");
	cr_assert_str_eq(s.last, "breaker:db opened");
	cr_log_info("message seen after %lld ms",
		    (long long)(drv_mono_ms() - t0));
	publish(cfg, "some-other-channel", "not for us");
	publish(cfg, channel, "second");
	cr_assert(wait_for(&s.messages, 2, 1000));
	cr_assert_str_eq(s.last, "second");
	cr_assert_eq(atomic_load(&s.messages), 2);

	before = atomic_load(&s.resyncs);
	drv_watch_kick(w);
	cr_assert(wait_for(&s.resyncs, before + 1, 1000), "kick ignored");
	drv_watch_destroy(w);
	drv_config_destroy(cfg);
}

Test(watch, redis_goes_away_and_comes_back, .timeout = 90)
{
	int port = it_free_port();
	char url[64], channel[] = "it-watch-restart";
	seen_t s = { 0 };
	drv_config_t *cfg;
	drv_watch_t *w;
	pid_t redis;

	drv_fmt(url, sizeof(url), "redis://127.0.0.1:%d", port);
	cfg = config_for(url);
	/* started while Redis is down: it says so and keeps trying */
	w = watch_start(cfg, &s, channel, 200);
	cr_assert(wait_for(&s.downs, 1, 3000), "down not reported");
	cr_assert_not(drv_watch_connected(w));

	redis = it_redis_start(port);
	cr_assert(wait_for(&s.ups, 1, 5000), "did not connect");
	publish(cfg, channel, "one");
	cr_assert(wait_for(&s.messages, 1, 1000));

	it_redis_kill(redis);
	cr_assert(wait_for(&s.downs, 2, 3000), "loss not reported");
	cr_assert_not(drv_watch_connected(w));

	redis = it_redis_start(port);
	cr_assert(wait_for(&s.ups, 2, 5000), "did not reconnect");
	int resyncs = atomic_load(&s.resyncs);
	cr_assert(wait_for(&s.resyncs, resyncs + 1, 2000),
		  "no resync after reconnect");
	publish(cfg, channel, "two");
	cr_assert(wait_for(&s.messages, 2, 1000));
	cr_assert_str_eq(s.last, "two");
	drv_watch_destroy(w);
	it_redis_kill(redis);
	drv_config_destroy(cfg);
}
