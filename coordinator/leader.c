/*
 * leader.c — leader election through a Redis lease. A coordinator takes
 * the lease with SET P coord:leader <id> NX PX lease_ttl, then draws a
 * fencing token with INCR P coord:fence; the token goes on every task it
 * publishes (label drover.fence, origin.fencing_token). The leader renews
 * every third of the TTL with a Lua script that extends the key only while
 * it still holds its id, and treats the lease as lost a fifth of the TTL
 * before it could expire (or at once when the script finds another owner),
 * so by the time a standby can take over, the old leader has stopped
 * firing. The fire markers are set by a script that checks the lease too
 * (fire.c), so even a leader that missed its own expiry cannot fire.
 */
#include <string.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"

static const char renew_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) else return 0 end";

static void set_leader(coord_t *c, bool on)
{
	c->leader = on;
	c->resumed = false;
	__atomic_store_n(&c->is_leader, on ? 1 : 0, __ATOMIC_RELAXED);
	drv_gauge_set(c->obs.leader, NULL, on ? 1 : 0);
	drv_counter_inc(c->obs.leader_changes, NULL);
}

void leader_lost(coord_t *c, const char *why)
{
	if (!c->leader)
		return;
	set_leader(c, false);
	c->lease_next = drv_mono_ms();
	drv_log_kv(DRV_LOG_WARN, "stepped down as leader", "reason", why,
		   NULL);
}

bool leader_safe(const coord_t *c)
{
	return c->leader && drv_mono_ms() < c->lease_until;
}

static void acquire(coord_t *c, int64_t now, int64_t ttl)
{
	char key[512], fence[512], tok[32], ms[32];
	redisReply *r;

	coord_key(c, key, sizeof(key), "coord:leader");
	drv_fmt(ms, sizeof(ms), "%lld", (long long)ttl);
	r = coord_redis(c, "SET %s %s NX PX %s", key, c->d->id, ms);
	if (!r || r->type != REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		return;
	}
	freeReplyObject(r);
	coord_key(c, fence, sizeof(fence), "coord:fence");
	r = coord_redis(c, "INCR %s", fence);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		/* no token, no leadership: give the lease back */
		freeReplyObject(r);
		freeReplyObject(coord_redis(c, "EVAL %s 1 %s %s", release_lua,
					    key, c->d->id));
		return;
	}
	c->fence = (uint64_t)r->integer;
	freeReplyObject(r);
	c->lease_until = now + ttl - ttl / 5;
	set_leader(c, true);
	drv_fmt(tok, sizeof(tok), "%llu", (unsigned long long)c->fence);
	drv_log_kv(DRV_LOG_INFO, "became leader", "id", c->d->id, "fence",
		   tok, NULL);
}

static void renew(coord_t *c, int64_t now, int64_t ttl)
{
	char key[512], ms[32];
	redisReply *r;

	coord_key(c, key, sizeof(key), "coord:leader");
	drv_fmt(ms, sizeof(ms), "%lld", (long long)ttl);
	r = coord_redis(c, "EVAL %s 1 %s %s %s", renew_lua, key, c->d->id,
			ms);
	if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
		c->lease_until = now + ttl - ttl / 5;
	else if (r && r->type == REDIS_REPLY_INTEGER)
		leader_lost(c, "the lease is held by another coordinator");
	freeReplyObject(r);
}

void leader_tick(coord_t *c)
{
	int64_t ttl = c->cfg->coordinator.lease_ttl_ms, now = drv_mono_ms();
	int64_t poll = ttl / 5 < 1000 ? ttl / 5 : 1000;

	if (c->leader && now >= c->lease_until)
		leader_lost(c, "could not renew the lease in time");
	if (!c->redis || now < c->lease_next)
		return;
	if (c->leader)
		renew(c, now, ttl);
	else
		acquire(c, now, ttl);
	c->lease_next = now + (c->leader ? ttl / 3 : poll);
}

void leader_release(coord_t *c)
{
	char key[512];

	if (!c->leader)
		return;
	coord_key(c, key, sizeof(key), "coord:leader");
	freeReplyObject(coord_redis(c, "EVAL %s 1 %s %s", release_lua, key,
				    c->d->id));
	set_leader(c, false);
	drv_log_kv(DRV_LOG_INFO, "gave up the leader lease", NULL);
}
