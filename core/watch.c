/*
 * watch.c — a pub/sub subscriber thread with a periodic resync, the way
 * workers keep a cached view of shared Redis state.
 *
 * The subscribed connection is read without blocking: poll() on its socket
 * in slices of WATCH_SLICE_MS, then redisBufferRead() and
 * redisGetReplyFromReader(), so a quiet channel never looks like a timeout
 * and the thread notices drv_watch_destroy() and drv_watch_kick() quickly.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/watch.h"

#define WATCH_SLICE_MS      100
#define WATCH_BACKOFF_MIN   500
#define WATCH_BACKOFF_MAX   30000

struct drv_watch {
	drv_watch_opts_t opts;
	char            *channels[DRV_WATCH_CHANNELS_MAX];
	drv_redis_conf_t redis;         /* the config's redis.*, copied */
	redisContext    *sub, *cmd;
	pthread_t        thread;
	atomic_bool      stop, kick, up;
	int              status;        /* -1 never, 0 down, 1 up */
};

static void set_status(drv_watch_t *w, bool up, const char *detail)
{
	int now = up ? 1 : 0;

	atomic_store(&w->up, up);
	if (w->status != now && w->opts.on_status)
		w->opts.on_status(up, detail, w->opts.arg);
	w->status = now;
}

static void disconnect(drv_watch_t *w)
{
	redisFree(w->sub);
	redisFree(w->cmd);
	w->sub = w->cmd = NULL;
}

/* Connect both connections and subscribe. */
static bool connect_both(drv_watch_t *w, char *err, size_t err_size)
{
	const char *argv[1 + DRV_WATCH_CHANNELS_MAX];
	size_t i;

	if (drv_redis_connect(&w->redis.cfg, &w->cmd, err, err_size) ||
	    drv_redis_connect(&w->redis.cfg, &w->sub, err, err_size))
		goto fail;
	argv[0] = "SUBSCRIBE";
	for (i = 0; i < w->opts.channel_cnt; i++)
		argv[i + 1] = w->channels[i];
	if (redisAppendCommandArgv(w->sub, (int)(i + 1), argv, NULL) != REDIS_OK)
		goto fail_io;
	/* one confirmation per channel, read with the connect timeout */
	for (i = 0; i < w->opts.channel_cnt; i++) {
		redisReply *r = NULL;

		if (redisGetReply(w->sub, (void **)&r) != REDIS_OK || !r)
			goto fail_io;
		freeReplyObject(r);
	}
	return true;
fail_io:
	drv_fmt(err, err_size, "redis SUBSCRIBE: %s", w->sub->errstr);
fail:
	disconnect(w);
	return false;
}

/* Hand one reply of the subscribed connection to the owner. */
static void dispatch(drv_watch_t *w, redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (w->opts.message)
		w->opts.message(w->cmd, r->element[1]->str,
				r->element[2]->str, r->element[2]->len,
				w->opts.arg);
}

/* Sleep \p ms in slices, returning early when told to stop. */
static void nap(drv_watch_t *w, int64_t ms)
{
	int64_t end = drv_mono_ms() + ms;

	while (!atomic_load(&w->stop) && drv_mono_ms() < end)
		usleep(WATCH_SLICE_MS * 1000);
}

/* Serve one connected session until the connection fails or stop. Returns
 * the reason it ended in \p err (empty on stop). */
static void serve(drv_watch_t *w, char *err, size_t err_size)
{
	int64_t period = w->opts.resync_ms > 0 ? w->opts.resync_ms
					       : DRV_WATCH_RESYNC_MS;
	int64_t next_resync = 0;

	*err = '\0';
	while (!atomic_load(&w->stop)) {
		redisReply *r = NULL;
		struct pollfd pfd = { .fd = w->sub->fd, .events = POLLIN };

		if (atomic_exchange(&w->kick, false) ||
		    drv_mono_ms() >= next_resync) {
			if (w->opts.resync)
				w->opts.resync(w->cmd, w->opts.arg);
			if (w->cmd->err) {
				drv_fmt(err, err_size, "redis: %s",
					w->cmd->errstr);
				return;
			}
			next_resync = drv_mono_ms() + period;
		}
		if (redisGetReplyFromReader(w->sub, (void **)&r) != REDIS_OK)
			break;
		if (r) {
			dispatch(w, r);
			freeReplyObject(r);
			continue;
		}
		if (poll(&pfd, 1, WATCH_SLICE_MS) < 0 && errno != EINTR) {
			drv_fmt(err, err_size, "poll: %s", strerror(errno));
			return;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    redisBufferRead(w->sub) != REDIS_OK)
			break;
		if (w->cmd->err) {
			drv_fmt(err, err_size, "redis: %s", w->cmd->errstr);
			return;
		}
	}
	if (!atomic_load(&w->stop))
		drv_fmt(err, err_size, "redis subscription: %s",
			w->sub->errstr[0] ? w->sub->errstr : "connection lost");
}

static void free_watch(drv_watch_t *w)
{
	size_t i;

	for (i = 0; i < DRV_WATCH_CHANNELS_MAX; i++)
		free(w->channels[i]);
	drv_redis_conf_free(&w->redis);
	free(w);
}

static void *run(void *arg)
{
	drv_watch_t *w = arg;
	int64_t backoff = WATCH_BACKOFF_MIN;
	char err[512], detail[600];

	while (!atomic_load(&w->stop)) {
		if (!connect_both(w, err, sizeof(err))) {
			drv_fmt(detail, sizeof(detail), "%s (retrying in %lld ms)",
				err, (long long)backoff);
			set_status(w, false, detail);
			nap(w, backoff);
			backoff = backoff * 2 > WATCH_BACKOFF_MAX ?
				  WATCH_BACKOFF_MAX : backoff * 2;
			continue;
		}
		backoff = WATCH_BACKOFF_MIN;
		drv_fmt(detail, sizeof(detail), "watching %s on Redis",
			w->channels[0]);
		set_status(w, true, detail);
		serve(w, err, sizeof(err));
		disconnect(w);
		if (*err)
			set_status(w, false, err);
	}
	return NULL;
}

drv_err_t drv_watch_new(const drv_config_t *cfg, const drv_watch_opts_t *opts,
			drv_watch_t **out, char *errstr, size_t errstr_size)
{
	drv_watch_t *w;
	size_t i;

	if (!opts || opts->channel_cnt < 1 ||
	    opts->channel_cnt > DRV_WATCH_CHANNELS_MAX ||
	    (!opts->resync && !opts->message))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "watch: 1 to %d channels and a callback "
				 "needed", DRV_WATCH_CHANNELS_MAX);
	if (!(w = calloc(1, sizeof(*w))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	w->opts = *opts;
	w->status = -1;
	for (i = 0; i < opts->channel_cnt; i++) {
		if (!(w->channels[i] = strdup(opts->channels[i])))
			goto nomem;
		w->opts.channels[i] = w->channels[i];
	}
	/* cfg may go away */
	if (drv_redis_conf_copy(&w->redis, cfg))
		goto nomem;
	if (pthread_create(&w->thread, NULL, run, w)) {
		free_watch(w);
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "watch: cannot start its thread");
	}
	*out = w;
	return DRV_OK;
nomem:
	free_watch(w);
	return drv_error(errstr, errstr_size, DRV_ERR_NOMEM, "out of memory");
}

bool drv_watch_connected(drv_watch_t *w)
{
	return atomic_load(&w->up);
}

void drv_watch_kick(drv_watch_t *w)
{
	atomic_store(&w->kick, true);
}

void drv_watch_destroy(drv_watch_t *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	disconnect(w);
	free_watch(w);
}
