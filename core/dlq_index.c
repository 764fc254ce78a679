/*
 * dlq_index.c — the DLQ search index (include/drover/dlq_index.h): the
 * terms of a dead letter and their Bloom filter bits, the write of a block,
 * and the query that tells a reader which blocks to read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/dlq_index.h"
#include "drover/dlq_groups.h"
#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"
#include "drover/topic_read.h"
#include "drover/kafka.h"

#define CAND_MAX    64      /* candidate blocks one lookup answers */
#define CHECK_MAX   4096    /* blocks one lookup looks at */
#define DAY_MS      86400000LL

/* ---- terms -------------------------------------------------------------- */

/* The bits of a term: kind (one letter) and value; a value in two parts
 * \p a and \p b (b may be NULL) is "a=b", a label, hashed without joining
 * them. FNV-1a and a mix of it, combined as Kirsch and Mitzenmacher do;
 * part of the stored format. */
static uint64_t fnv(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
	return h;
}

static void term_bits(char kind, const char *a, size_t alen, const char *b,
		      size_t blen, uint32_t bits[DRV_DLQ_INDEX_HASHES])
{
	uint64_t h = fnv(14695981039346656037ULL, &kind, 1), h2;

	h = fnv(h, a, alen);
	if (b)
		h = fnv(fnv(h, "=", 1), b, blen);
	h2 = h;
	h2 ^= h2 >> 30;
	h2 *= 0xbf58476d1ce4e5b9ULL;
	h2 ^= h2 >> 27;
	h2 *= 0x94d049bb133111ebULL;
	h2 ^= h2 >> 31;
	h2 |= 1;
	for (int i = 0; i < DRV_DLQ_INDEX_HASHES; i++)
		bits[i] = (uint32_t)((h + (uint64_t)i * h2) %
				     DRV_DLQ_INDEX_BITS);
}

typedef void (*term_fn)(char kind, const char *a, size_t alen,
			const char *b, size_t blen, void *arg);

static void term_str(term_fn fn, void *arg, char kind, const char *value)
{
	if (value && *value)
		fn(kind, value, strlen(value), NULL, 0, arg);
}

/* Every term of a decoded dead letter. A label is "key=value", as the
 * filter gives it. */
static void entry_terms(const drv_dead_letter_t *dl, term_fn fn, void *arg)
{
	const drv_task_t *t = &dl->task;
	drv_dlq_group_key_t g;

	term_str(fn, arg, 'h', t->handler);
	term_str(fn, arg, 'r', drv_dl_reason_name(dl->reason));
	term_str(fn, arg, 's', t->origin.schedule_id);
	for (size_t i = 0; i < t->label_cnt; i++) {
		const char *v = t->labels[i].value ? t->labels[i].value : "";

		fn('l', t->labels[i].key, strlen(t->labels[i].key), v,
		   strlen(v), arg);
	}
	drv_dlq_group_of(dl, &g);
	term_str(fn, arg, 'g', g.id);
	term_str(fn, arg, 't', t->id);
	term_str(fn, arg, 'd', dl->id);
}

/* ---- building a block --------------------------------------------------- */

void drv_dlq_index_block_reset(drv_dlq_index_block_t *b, int32_t partition,
			       int64_t block)
{
	memset(b, 0, sizeof(*b));
	b->partition = partition;
	b->block = block;
	b->min_ms = INT64_MAX;
	b->max_ms = INT64_MIN;
}

static void set_term(char kind, const char *a, size_t alen, const char *b_,
		     size_t blen, void *arg)
{
	drv_dlq_index_block_t *b = arg;
	uint32_t bits[DRV_DLQ_INDEX_HASHES];

	term_bits(kind, a, alen, b_, blen, bits);
	/* BITFIELD and BITOP count bits from the most significant bit */
	for (int i = 0; i < DRV_DLQ_INDEX_HASHES; i++)
		b->bloom[bits[i] / 8] |= (uint8_t)(0x80u >> (bits[i] % 8));
}

/* Count \p e among the pending entries of \p b, as drv_dlq_stats() counts
 * an entry (dlq_stats.c). */
static void count_entry(drv_dlq_index_block_t *b, const drv_dlq_entry_t *e)
{
	const drv_dead_letter_t *dl = &e->dl;
	const char *h = dl->task.handler ? dl->task.handler : "-";
	size_t i;

	if (!b->pending)
		b->from = e->offset;
	if (e->undecodable) {
		b->undecodable++;
		return;
	}
	drv_dlq_span_add(&b->span, b->n, dl->dead_ms, dl->id, dl->dead_ms,
			 dl->id);
	b->n++;
	b->by_reason[(unsigned)dl->reason < DRV_DL_REASON_CNT ?
		     dl->reason : DRV_DL_UNSPECIFIED]++;
	for (i = 0; i < b->handler_cnt && strcmp(b->handler[i], h); i++)
		;
	if (i == b->handler_cnt) {
		if (i == DRV_DLQ_INDEX_HANDLERS ||
		    strlen(h) > DRV_DLQ_INDEX_NAME_MAX) {
			b->uncounted = true;
			return;
		}
		drv_strlcpy(b->handler[i], h, sizeof(b->handler[i]));
		b->handler_cnt++;
	}
	b->handler_n[i]++;
}

/* The pending entries were written: their counts start again. */
static void counts_reset(drv_dlq_index_block_t *b)
{
	b->n = b->undecodable = b->handler_cnt = 0;
	memset(b->by_reason, 0, sizeof(b->by_reason));
	memset(b->handler_n, 0, sizeof(b->handler_n));
	b->uncounted = false;
	b->span.old_id[0] = b->span.new_id[0] = '\0';
}

void drv_dlq_index_add(drv_dlq_index_block_t *b, const drv_dlq_entry_t *e)
{
	int64_t t = e->undecodable ? e->timestamp_ms : e->dl.dead_ms;

	count_entry(b, e);
	if (!e->undecodable)
		entry_terms(&e->dl, set_term, b);
	if (t < b->min_ms)
		b->min_ms = t;
	if (t > b->max_ms)
		b->max_ms = t;
	if (e->offset + 1 > b->to)
		b->to = e->offset + 1;
	b->pending++;
}

/* ---- writing ------------------------------------------------------------ */

static void part_key(const drv_config_t *cfg, int32_t p, char *key,
		     size_t size)
{
	drv_fmt(key, size, "%sdlq:ix1:%d", cfg->redis.key_prefix, (int)p);
}

bool drv_dlq_index_count_key(const drv_config_t *cfg, int32_t partition,
			     int64_t offset, char *buf, size_t size)
{
	return drv_fmt(buf, size, "%sdlq:ix1:%d:%lld:c", cfg->redis.key_prefix,
		       (int)partition,
		       (long long)(offset / DRV_DLQ_INDEX_BLOCK));
}

/* The block's counts (KEYS[4]): ARGV[9] the offset of the first entry
 * they add, ARGV[10] "1" when they were kept, ARGV[11] and ARGV[12] the
 * oldest and newest entry ("<ms> <id>", or ""), then field, increment
 * pairs. They add to the counts that end where they start ("to"), start
 * them when there are none, are dropped when another writer has counted
 * them already (a fail-over's overlap) and mark the block "bad" when they
 * would leave a gap. */
#define COUNTS_LUA \
"local ck, from = KEYS[4], tonumber(ARGV[9])\n" \
"local cto = redis.call('HGET', ck, 'to')\n" \
"if ARGV[10] ~= '1' or (cto and tonumber(cto) < from) then\n" \
"  redis.call('HSET', ck, 'bad', 1)\n" \
"elseif not cto or tonumber(cto) == from then\n" \
"  if not cto then redis.call('HSET', ck, 'from', from) end\n" \
"  for i = 13, #ARGV - 1, 2 do\n" \
"    redis.call('HINCRBY', ck, ARGV[i], ARGV[i + 1])\n" \
"  end\n" \
"  local function ms(e) return tonumber(string.match(e, '^%S+')) end\n" \
"  local lo, hi = redis.call('HGET', ck, 'lo'), redis.call('HGET', ck, 'hi')\n" \
"  if ARGV[11] ~= '' and (not lo or ms(ARGV[11]) < ms(lo)) then\n" \
"    redis.call('HSET', ck, 'lo', ARGV[11])\n" \
"  end\n" \
"  if ARGV[12] ~= '' and (not hi or ms(ARGV[12]) >= ms(hi)) then\n" \
"    redis.call('HSET', ck, 'hi', ARGV[12])\n" \
"  end\n" \
"  redis.call('HSET', ck, 'to', ARGV[4])\n" \
"end\n" \
"redis.call('PEXPIRE', ck, ARGV[6])\n"

/* KEYS: the partition's hash, the block's filter, a scratch key, the
 * block's counts. ARGV: block, min ms, max ms, to, expected to, ttl ms,
 * filter, lowest block to keep, and the counts (COUNTS_LUA). Answers -1
 * when the index was lost under the writer. */
static drv_redis_script_t flush_script = DRV_REDIS_SCRIPT_INIT(
"local cur = redis.call('HGET', KEYS[1], 'to')\n"
"if not cur and tonumber(ARGV[5]) >= 0 then return {-1} end\n"
"redis.call('SET', KEYS[3], ARGV[7])\n"
"redis.call('BITOP', 'OR', KEYS[2], KEYS[2], KEYS[3])\n"
"redis.call('DEL', KEYS[3])\n"
"redis.call('PEXPIRE', KEYS[2], ARGV[6])\n"
"local mn, mx = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
"local t = redis.call('HGET', KEYS[1], ARGV[1])\n"
"if t then\n"
"  local a, b = string.match(t, '^(%S+) (%S+)$')\n"
"  mn = math.min(mn, tonumber(a)); mx = math.max(mx, tonumber(b))\n"
"end\n"
"redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f %.0f', mn, mx))\n"
"if not cur or tonumber(cur) < tonumber(ARGV[4]) then\n"
"  redis.call('HSET', KEYS[1], 'to', ARGV[4])\n"
"end\n"
"local lo = tonumber(redis.call('HGET', KEYS[1], 'lo') or '0')\n"
"local keep = math.min(tonumber(ARGV[8]), lo + 1000)\n"
"if keep > lo then\n"
"  for b = lo, keep - 1 do redis.call('HDEL', KEYS[1], b) end\n"
"  redis.call('HSET', KEYS[1], 'lo', keep)\n"
"end\n"
"redis.call('PEXPIRE', KEYS[1], ARGV[6])\n"
COUNTS_LUA
"return {1}\n");

/* The counts of \p b's pending entries as ARGV of the flush script, from
 * argv[at] on, into \p buf; the new argc. */
#define COUNT_ARGS (6 + 2 * (2 + DRV_DL_REASON_CNT + DRV_DLQ_INDEX_HANDLERS))
typedef char count_buf_t[COUNT_ARGS][DRV_DLQ_INDEX_NAME_MAX + 48];

static int count_args(const drv_dlq_index_block_t *b, const char **argv,
		      int at, count_buf_t buf)
{
	int k = 0;

#define PUT(...) (drv_fmt(buf[k], sizeof(buf[k]), __VA_ARGS__), \
		  argv[at++] = buf[k++])
	PUT("%lld", (long long)b->from);
	PUT("%d", !b->uncounted);
	if (b->n) {
		PUT("%lld %s", (long long)b->span.old_ms, b->span.old_id);
		PUT("%lld %s", (long long)b->span.new_ms, b->span.new_id);
	} else {
		PUT("%s", "");
		PUT("%s", "");
	}
	PUT("%s", "n");
	PUT("%zu", b->n);
	PUT("%s", "u");
	PUT("%zu", b->undecodable);
	for (int r = 0; r < DRV_DL_REASON_CNT; r++)
		if (b->by_reason[r]) {
			PUT("r:%s", drv_dl_reason_name((drv_dl_reason_t)r));
			PUT("%zu", b->by_reason[r]);
		}
	for (size_t i = 0; i < b->handler_cnt; i++) {
		PUT("h:%s", b->handler[i]);
		PUT("%zu", b->handler_n[i]);
	}
#undef PUT
	return at;
}

drv_err_t drv_dlq_index_flush(redisContext *rc, const drv_config_t *cfg,
			      drv_dlq_index_block_t *b, int64_t expect_to,
			      int64_t lo_offset, char *errstr,
			      size_t errstr_size)
{
	char hkey[300], bkey[330], tkey[330], ckey[330], blk[24], mn[24],
	     mx[24], to[24], exp[24], ttl[24], lo[24];
	const char *argv[12 + COUNT_ARGS] = { hkey, bkey, tkey, ckey, blk, mn,
					      mx, to, exp, ttl,
					      (const char *)b->bloom, lo };
	size_t argvlen[12 + COUNT_ARGS];
	count_buf_t cbuf;
	redisReply *r = NULL;
	drv_err_t rc_;
	int argc;

	if (!b->pending || b->block < 0)
		return DRV_OK;
	part_key(cfg, b->partition, hkey, sizeof(hkey));
	drv_fmt(bkey, sizeof(bkey), "%s:%lld", hkey, (long long)b->block);
	drv_fmt(tkey, sizeof(tkey), "%s:scratch", hkey);
	drv_dlq_index_count_key(cfg, b->partition, b->from, ckey,
				sizeof(ckey));
	drv_fmt(blk, sizeof(blk), "%lld", (long long)b->block);
	drv_fmt(mn, sizeof(mn), "%lld", (long long)b->min_ms);
	drv_fmt(mx, sizeof(mx), "%lld", (long long)b->max_ms);
	drv_fmt(to, sizeof(to), "%lld", (long long)b->to);
	drv_fmt(exp, sizeof(exp), "%lld", (long long)expect_to);
	drv_fmt(ttl, sizeof(ttl), "%lld",
		(long long)(cfg->kafka.dlq_retention_ms + DAY_MS));
	drv_fmt(lo, sizeof(lo), "%lld",
		(long long)(lo_offset > 0 ? lo_offset / DRV_DLQ_INDEX_BLOCK : 0));
	argc = count_args(b, argv, 12, cbuf);
	for (int i = 0; i < argc; i++)
		argvlen[i] = i == 10 ? sizeof(b->bloom) : strlen(argv[i]);
	if ((rc_ = drv_redis_script_runv(rc, &flush_script, 4, argc, argv,
					 argvlen, 1, "DLQ index write", &r,
					 errstr, errstr_size)))
		return rc_;
	rc_ = drv_redis_int_at(r, 0) < 0 ? DRV_ERR_NOT_FOUND : DRV_OK;
	freeReplyObject(r);
	if (!rc_) {
		b->pending = 0;
		counts_reset(b);
	}
	return rc_;
}

drv_err_t drv_dlq_index_position(redisContext *rc, const drv_config_t *cfg,
				 int32_t partition, int64_t *to,
				 char *errstr, size_t errstr_size)
{
	char hkey[300];
	redisReply *r;
	drv_err_t err;

	part_key(cfg, partition, hkey, sizeof(hkey));
	if ((err = drv_redis_cmd(rc, &r, errstr, errstr_size, "HGET %s to",
				 hkey)))
		return err;
	*to = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_dlq_index_covers(const drv_config_t *cfg, bool *covered,
			       char *errstr, size_t errstr_size)
{
	char topic[256];
	int64_t *lo = NULL, *hi = NULL, to;
	redisContext *rc = NULL;
	size_t cnt = 0;
	drv_err_t err;

	*covered = false;
	if (!drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic))) {
		drv_fmt(errstr, errstr_size, "the DLQ topic's name is too long");
		return DRV_ERR_INVALID;
	}
	if ((err = drv_topic_offsets(cfg, topic, &lo, &hi, &cnt, errstr,
				     errstr_size)) ||
	    (err = drv_redis_connect(cfg, &rc, errstr, errstr_size)))
		goto out;
	*covered = true;
	for (size_t p = 0; p < cnt && *covered && !err; p++) {
		err = drv_dlq_index_position(rc, cfg, (int32_t)p, &to, errstr,
					     errstr_size);
		*covered = !err && (hi[p] <= lo[p] || to >= hi[p]);
	}
out:
	if (rc)
		redisFree(rc);
	free(lo);
	free(hi);
	return err;
}

/* ---- tallies ------------------------------------------------------------ */

/* A block's count hash (an HGETALL reply) into \p t. */
static void tally_from(const redisReply *h, drv_dlq_index_tally_t *t)
{
	const char *v;

	t->from = t->to = -1;
	if (h->type != REDIS_REPLY_ARRAY || !drv_redis_hash_field(h, "to"))
		return;
	t->from = strtoll(drv_redis_hash_field(h, "from") ?
			  drv_redis_hash_field(h, "from") : "-1", NULL, 10);
	t->to = strtoll(drv_redis_hash_field(h, "to"), NULL, 10);
	t->bad = drv_redis_hash_field(h, "bad") != NULL;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *k = h->element[i]->str, *val = h->element[i + 1]->str;
		drv_dl_reason_t r;

		if (!k || !val)
			continue;
		if (!strcmp(k, "n"))
			t->n = strtoull(val, NULL, 10);
		else if (!strcmp(k, "u"))
			t->undecodable = strtoull(val, NULL, 10);
		else if (!strcmp(k, "x"))
			t->resubmitted = strtoull(val, NULL, 10);
		else if (!strcmp(k, "d"))
			t->discarded = strtoull(val, NULL, 10);
		else if (!strncmp(k, "r:", 2) &&
			 drv_dl_reason_parse(k + 2, &r) == DRV_OK)
			t->by_reason[r] += strtoull(val, NULL, 10);
		else if (!strncmp(k, "h:", 2) &&
			 t->handler_cnt < DRV_DLQ_INDEX_HANDLERS) {
			drv_strlcpy(t->handler[t->handler_cnt], k + 2,
				    sizeof(t->handler[0]));
			t->handler_n[t->handler_cnt++] = strtoull(val, NULL, 10);
		} else if (!strncmp(k, "h:", 2))
			t->bad = true;
	}
	if ((v = drv_redis_hash_field(h, "lo")) &&
	    sscanf(v, "%" SCNd64 " %26s", &t->span.old_ms,
		   t->span.old_id) != 2)
		t->bad = true;
	if ((v = drv_redis_hash_field(h, "hi")) &&
	    sscanf(v, "%" SCNd64 " %26s", &t->span.new_ms,
		   t->span.new_id) != 2)
		t->bad = true;
}

/* A block the partition's hash holds, with its times. */
typedef struct held {
	int64_t block, min_ms, max_ms;
} held_t;

static int held_cmp(const void *a, const void *b)
{
	int64_t x = ((const held_t *)a)->block, y = ((const held_t *)b)->block;

	return (x > y) - (x < y);
}

drv_err_t drv_dlq_index_tallies(redisContext *rc, const drv_config_t *cfg,
				int32_t partition, int64_t first, int64_t last,
				void (*fn)(const drv_dlq_index_tally_t *t,
					   void *arg),
				void *arg, char *errstr, size_t errstr_size)
{
	char hkey[300], ckey[330];
	drv_dlq_index_tally_t *t = NULL;
	held_t *held = NULL;
	redisReply *h = NULL;
	size_t cnt = 0;
	drv_err_t err;

	part_key(cfg, partition, hkey, sizeof(hkey));
	if ((err = drv_redis_cmd(rc, &h, errstr, errstr_size, "HGETALL %s",
				 hkey)))
		return err;
	if (last < first || h->type != REDIS_REPLY_ARRAY)
		goto out;
	if (!(held = calloc(h->elements / 2 + 1, sizeof(*held))) ||
	    !(t = calloc(1, sizeof(*t)))) {
		err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				"out of memory");
		goto out;
	}
	/* the blocks held from first to last, with their times, in order:
	 * one pass over the hash (its other fields, "to" and "lo", are not
	 * numbers) */
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
		held_t *e = &held[cnt];
		char *end;

		if (!k || !v)
			continue;
		e->block = strtoll(k, &end, 10);
		if (end != k && !*end && e->block >= first &&
		    e->block <= last &&
		    sscanf(v, "%" SCNd64 " %" SCNd64, &e->min_ms,
			   &e->max_ms) == 2)
			cnt++;
	}
	qsort(held, cnt, sizeof(*held), held_cmp);
	for (size_t at = 0; at < cnt && !err; at += 256) {
		size_t n = cnt - at < 256 ? cnt - at : 256, got = 0;

		for (size_t i = 0; i < n; i++) {
			drv_dlq_index_count_key(cfg, partition,
						held[at + i].block *
						DRV_DLQ_INDEX_BLOCK, ckey,
						sizeof(ckey));
			if (redisAppendCommand(rc, "HGETALL %s", ckey) !=
			    REDIS_OK) {
				err = drv_error(errstr, errstr_size,
						DRV_ERR_NOMEM, "out of memory");
				break;
			}
			got++;
		}
		/* every reply is read, so the connection stays in step */
		for (size_t i = 0; i < got; i++) {
			redisReply *c = NULL;

			if (redisGetReply(rc, (void **)&c) != REDIS_OK) {
				err = drv_redis_fail(rc, NULL, "HGETALL",
						     errstr, errstr_size);
				break;
			}
			memset(t, 0, sizeof(*t));
			t->block = held[at + i].block;
			t->min_ms = held[at + i].min_ms;
			t->max_ms = held[at + i].max_ms;
			if (!err && c->type != REDIS_REPLY_ERROR) {
				tally_from(c, t);
				fn(t, arg);
			}
			freeReplyObject(c);
		}
	}
out:
	freeReplyObject(h);
	free(held);
	free(t);
	return err;
}

/* ---- querying ----------------------------------------------------------- */

/* What one lookup told of a partition. */
typedef struct part_view {
	bool    known;       /* looked up at least once */
	int64_t to;          /* the index's position; -1: no index */
	int64_t checked;     /* blocks below this were looked at ... */
	int64_t cand[CAND_MAX]; /* ... and these of them may match */
	size_t  cand_cnt, cand_at;
} part_view_t;

struct drv_dlq_index_query {
	const drv_config_t *cfg;
	redisContext *rc;
	char        *bits;       /* "b1 b2 ...": every term's bits */
	int64_t      since_ms, until_ms;
	part_view_t *parts;
	size_t       part_cnt;
	int64_t      skipped;
	bool         failed;     /* Redis failed: read on */
	bool         own_rc;     /* rc is the query's own connection */
};

/* KEYS: the partition's hash. ARGV: block key prefix, first block, most
 * candidates, most blocks to look at, since, until (0: none), the bits
 * ("b1 b2 ..." that must all be set, or several such groups joined by '|',
 * one of which must be), the block size. Answers {to, next block to look at, candidates...};
 * {-1, 0} when there is no index. A block the hash does not name holds
 * nothing (its times are written with its first entry); a block whose
 * filter expired may hold anything. */
static drv_redis_script_t lookup_script = DRV_REDIS_SCRIPT_INIT(
"local to = redis.call('HGET', KEYS[1], 'to')\n"
"if not to then return {-1, 0} end\n"
"to = tonumber(to)\n"
"local since, till = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
"local any = {}\n"
"for g in string.gmatch(ARGV[7], '[^|]+') do\n"
"  local get = {}\n"
"  for n in string.gmatch(g, '%d+') do\n"
"    get[#get + 1] = 'GET'; get[#get + 1] = 'u1'; get[#get + 1] = n\n"
"  end\n"
"  if #get > 0 then any[#any + 1] = get end\n"
"end\n"
"local b = tonumber(ARGV[2])\n"
"local last = math.min(math.ceil(to / tonumber(ARGV[8])),\n"
"                      b + tonumber(ARGV[4]))\n"
"local out = {to, 0}\n"
"local want = tonumber(ARGV[3]) + 2\n"
"while b < last and #out < want do\n"
"  local t = redis.call('HGET', KEYS[1], b)\n"
"  local ok = t ~= false\n"
"  if ok and (since > 0 or till > 0) then\n"
"    local mn, mx = string.match(t, '^(%S+) (%S+)$')\n"
"    if (since > 0 and tonumber(mx) < since) or\n"
"       (till > 0 and tonumber(mn) >= till) then ok = false end\n"
"  end\n"
"  if ok and #any > 0 then\n"
"    local k = ARGV[1] .. b\n"
"    if redis.call('EXISTS', k) == 1 then\n"
"      ok = false\n"
"      for _, get in ipairs(any) do\n"
"        local bits = redis.call('BITFIELD', k, unpack(get))\n"
"        local all = true\n"
"        for i = 1, #bits do\n"
"          if bits[i] == 0 then all = false; break end\n"
"        end\n"
"        if all then ok = true; break end\n"
"      end\n"
"    end\n"
"  end\n"
"  if ok then out[#out + 1] = b end\n"
"  b = b + 1\n"
"end\n"
"out[2] = b\n"
"return out\n");

static void add_term_bits(char kind, const char *a, size_t alen,
			  const char *b, size_t blen, void *arg)
{
	drv_buf_t *bb = arg;
	uint32_t bits[DRV_DLQ_INDEX_HASHES];
	char num[16];

	term_bits(kind, a, alen, b, blen, bits);
	for (int i = 0; i < DRV_DLQ_INDEX_HASHES; i++) {
		drv_fmt(num, sizeof(num), "%s%u", bb->len ? " " : "", bits[i]);
		drv_buf_add(bb, num, strlen(num));
	}
}

/* A query for bits \p bits (taken) and a time range, on \p rc (borrowed)
 * or, when NULL, on a connection of its own. */
static drv_dlq_index_query_t *query_new(const drv_config_t *cfg,
					redisContext *rc, drv_buf_t *bb,
					int64_t since_ms, int64_t until_ms)
{
	drv_dlq_index_query_t *q;
	char err[256];

	if (bb->oom || (!bb->len && !since_ms && !until_ms) ||
	    !(q = calloc(1, sizeof(*q)))) {
		free(bb->p);
		return NULL;
	}
	q->cfg = cfg;
	q->bits = bb->p ? bb->p : strdup("");
	q->since_ms = since_ms;
	q->until_ms = until_ms;
	q->rc = rc;
	q->own_rc = !rc;
	if (!q->bits || (rc && rc->err) ||
	    (!rc && drv_redis_connect(cfg, &q->rc, err, sizeof(err)))) {
		drv_dlq_index_query_destroy(q);
		return NULL;
	}
	return q;
}

drv_dlq_index_query_t *drv_dlq_index_query_new(const drv_config_t *cfg,
					       redisContext *rc,
					       const drv_dlq_filter_t *f)
{
	drv_buf_t bb = { 0 };

	term_str(add_term_bits, &bb, 'h', f->handler);
	if (f->has_reason)
		term_str(add_term_bits, &bb, 'r',
			 drv_dl_reason_name(f->reason));
	term_str(add_term_bits, &bb, 's', f->schedule_id);
	for (size_t i = 0; i < f->label_cnt; i++)
		term_str(add_term_bits, &bb, 'l', f->label[i]);
	term_str(add_term_bits, &bb, 'g', f->group);
	return query_new(cfg, rc, &bb, f->since_ms, f->until_ms);
}

drv_dlq_index_query_t *drv_dlq_index_query_id(const drv_config_t *cfg,
					      redisContext *rc, const char *id)
{
	drv_buf_t bb = { 0 };

	term_str(add_term_bits, &bb, 't', id);
	drv_buf_add(&bb, " |", 2);
	term_str(add_term_bits, &bb, 'd', id);
	return query_new(cfg, rc, &bb, 0, 0);
}

/* Ask Redis about the blocks of partition \p p from \p block on. */
static void lookup(drv_dlq_index_query_t *q, part_view_t *v, int32_t p,
		   int64_t block)
{
	char hkey[300], prefix[310], from[24], cand[12], check[12], since[24],
	     until[24], bsize[12], err[256];
	const char *argv[9] = { hkey, prefix, from, cand, check, since, until,
				q->bits, bsize };
	redisReply *r;

	part_key(q->cfg, p, hkey, sizeof(hkey));
	drv_fmt(prefix, sizeof(prefix), "%s:", hkey);
	drv_fmt(from, sizeof(from), "%lld", (long long)block);
	drv_fmt(cand, sizeof(cand), "%d", CAND_MAX);
	drv_fmt(check, sizeof(check), "%d", CHECK_MAX);
	drv_fmt(since, sizeof(since), "%lld", (long long)q->since_ms);
	drv_fmt(until, sizeof(until), "%lld", (long long)q->until_ms);
	drv_fmt(bsize, sizeof(bsize), "%d", DRV_DLQ_INDEX_BLOCK);
	v->known = true;
	v->cand_cnt = v->cand_at = 0;
	if (drv_redis_script_run(q->rc, &lookup_script, 1, 9, argv, 2,
				 "DLQ index lookup", &r, err, sizeof(err))) {
		q->failed = true;
		return;
	}
	v->to = drv_redis_int_at(r, 0);
	v->checked = drv_redis_int_at(r, 1);
	for (size_t i = 2; i < r->elements && v->cand_cnt < CAND_MAX; i++)
		v->cand[v->cand_cnt++] = drv_redis_int_at(r, i);
	freeReplyObject(r);
}

int64_t drv_dlq_index_next(drv_dlq_index_query_t *q, int32_t p,
			   int64_t offset, int64_t *until)
{
	int64_t block = offset / DRV_DLQ_INDEX_BLOCK, from = offset;
	part_view_t *v;

	*until = INT64_MAX;
	if (p < 0 || q->failed)
		return offset;
	if ((size_t)p >= q->part_cnt) {
		part_view_t *nv = realloc(q->parts, ((size_t)p + 1) *
					  sizeof(*nv));

		if (!nv)
			return offset;
		memset(nv + q->part_cnt, 0, ((size_t)p + 1 - q->part_cnt) *
		       sizeof(*nv));
		q->parts = nv;
		q->part_cnt = (size_t)p + 1;
	}
	v = &q->parts[p];
	/* the index covers [0, to): the block holding "to" is looked up
	 * too, and a skip past its last indexed entry stops at "to" */
	for (int turns = 0; turns < 1000; turns++) {
		if (!v->known || (v->cand_at == v->cand_cnt && v->to >= 0 &&
				  v->checked <= block && offset < v->to))
			lookup(q, v, p, block);
		if (q->failed || v->to < 0 || offset >= v->to)
			break;         /* past what the index covers: read on */
		while (v->cand_at < v->cand_cnt && v->cand[v->cand_at] < block)
			v->cand_at++;
		if (v->cand_at < v->cand_cnt) {
			if (v->cand[v->cand_at] > block) {
				block = v->cand[v->cand_at];
				offset = block * DRV_DLQ_INDEX_BLOCK;
			}
			*until = (block + 1) * DRV_DLQ_INDEX_BLOCK;
			break;
		}
		if (v->checked <= block)
			break;
		/* nothing may match below what was looked at */
		block = v->checked;
		if (block * DRV_DLQ_INDEX_BLOCK < v->to)
			offset = block * DRV_DLQ_INDEX_BLOCK;
		else if (v->to > offset)
			offset = v->to;
	}
	q->skipped += offset - from;
	return offset;
}

int64_t drv_dlq_index_skipped(const drv_dlq_index_query_t *q)
{
	return q ? q->skipped : 0;
}

void drv_dlq_index_query_destroy(drv_dlq_index_query_t *q)
{
	if (!q)
		return;
	if (q->rc && q->own_rc)
		redisFree(q->rc);
	free(q->bits);
	free(q->parts);
	free(q);
}
