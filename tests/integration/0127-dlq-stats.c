/*
 * 0127 — DLQ stats through the index against the real Kafka and Redis:
 * 1,500 dead letters go straight onto the DLQ (handlers a, b and c, and 20
 * others in one run of entries, more than a block counts by; three
 * reasons; a dead time of its own each) with two undecodable messages, and
 * an indexer takes them in (in-process). Five of them get resubmission
 * marks with their positions, one of them twice; four more discard marks
 * (one refused over a resubmission mark, one set twice, one that a forced
 * resubmission then replaces). drv_dlq_stats(), which
 * counts the index's blocks from Redis, gives what drv_dlq_stats_read()
 * gives by reading every entry: with no filter (reading a small part of
 * the DLQ), with times that cut blocks, after retention cut a block (the
 * partition's start moved into it) and after the index lost a block's
 * counts. With a handler that every block mixes with others it reads
 * everything, and still agrees (resubmitted and discarded included). When
 * Redis fails under it, it reads every entry and says resubmitted is
 * unknown.
 *
 * The second test's DLQ has a long run of one handler ("solo") before a
 * mix of others with labels and a rare handler at the end: stats by a
 * handler, a reason, both, a label, a group or a text agree with a full
 * read, count the blocks all of whose entries match from the index, and
 * read only the blocks that may hold a match.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/dead_letter.h"
#include "drover/dlq.h"
#include "drover/dlq_groups.h"
#include "drover/dlq_index.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "harness.h"

#define N    1500
#define BASE 1700000000000LL   /* dead_ms of entry i: BASE + i s */

static rd_kafka_t *prod;
static drv_config_t *pcfg;

/* One dead letter of \p handler and \p reason (NULL \p tenant: no label)
 * that died at \p dead_ms. */
static void produce_dl(int64_t dead_ms, const char *handler,
		       drv_dl_reason_t reason, const char *tenant)
{
	drv_failure_t f = { .attempt = 1, .time_ms = dead_ms,
			    .failure_class = DRV_FAILURE_PERMANENT,
			    .message = "exit code 3", .exit_code = 3 };
	char err[512];
	drv_dead_letter_t dl;

	drv_dead_letter_init(&dl);
	drv_id_new(dl.id, dead_ms);
	drv_id_new(dl.task.id, dead_ms - 1000);
	dl.task.handler = drv_strdup(handler);
	dl.task.created_ms = dead_ms - 1000;
	dl.task.attempt = 1;
	if (tenant)
		cr_assert_eq(drv_task_set_label(&dl.task, "tenant", tenant),
			     DRV_OK);
	drv_dead_letter_add_failure(&dl, &f);
	dl.reason = reason;
	dl.dead_ms = dead_ms;
	cr_assert_eq(drv_dead_letter_produce(prod, pcfg, &dl, NULL, err,
					     sizeof(err)), DRV_OK, "%s", err);
	drv_dead_letter_release(&dl);
}

static const drv_dl_reason_t reasons[] = {
	DRV_DL_PERMANENT_FAILURE, DRV_DL_ATTEMPTS_EXHAUSTED,
	DRV_DL_DEADLINE_EXCEEDED,
};

static void produce(int i)
{
	char handler[16];

	if (i >= 1200 && i < 1300)  /* 20 handlers in a few blocks */
		drv_fmt(handler, sizeof(handler), "h%d", i % 20);
	else
		drv_fmt(handler, sizeof(handler), "%c", 'a' + i % 3);
	produce_dl(BASE + (int64_t)i * 1000, handler,
		   reasons[i % 3 == 0 ? i % 2 : 2 - i % 2], NULL);
}

/* An indexer in this process, until it covers the DLQ. */
static void index_all(void)
{
	drv_dlq_indexer_t *x = drv_dlq_indexer_new(pcfg);
	int64_t lag = -1;
	bool all = false;
	char err[512];

	cr_assert(x);
	for (int i = 0; i < 200 && !(lag == 0 && all); i++) {
		cr_assert_eq(drv_dlq_indexer_step(x, 200, &lag, err,
						  sizeof(err)), DRV_OK, "%s",
			     err);
		cr_assert_eq(drv_dlq_index_covers(pcfg, &all, err,
						  sizeof(err)), DRV_OK, "%s",
			     err);
	}
	drv_dlq_indexer_destroy(x);
	cr_assert(lag == 0 && all, "the index did not cover the DLQ");
}

/* Both ways, the same figures; returns the index's read count. */
static size_t same(redisContext *rc, const drv_dlq_filter_t *f,
		   const char *what, size_t *indexed)
{
	drv_dlq_stats_t a, b;
	char err[512];
	size_t read;

	cr_assert_eq(drv_dlq_stats(pcfg, rc, f, &a, err, sizeof(err)), DRV_OK,
		     "%s: %s", what, err);
	cr_assert_eq(drv_dlq_stats_read(pcfg, rc, f, &b, err, sizeof(err)),
		     DRV_OK, "%s: %s", what, err);
	cr_assert_eq(a.count, b.count, "%s: count %zu, read %zu", what,
		     a.count, b.count);
	cr_assert_eq(a.undecodable, b.undecodable, "%s: undecodable", what);
	for (int i = 0; i < DRV_DL_REASON_CNT; i++)
		cr_assert_eq(a.by_reason[i], b.by_reason[i], "%s: %s %zu, "
			     "read %zu", what,
			     drv_dl_reason_name((drv_dl_reason_t)i),
			     a.by_reason[i], b.by_reason[i]);
	cr_assert_eq(a.handler_cnt, b.handler_cnt, "%s: handlers", what);
	for (size_t i = 0; i < a.handler_cnt; i++) {
		cr_assert_str_eq(a.handlers[i].name, b.handlers[i].name,
				 "%s: handler %zu", what, i);
		cr_assert_eq(a.handlers[i].count, b.handlers[i].count,
			     "%s: handler %s", what, a.handlers[i].name);
	}
	if (a.count) {
		cr_assert_eq(a.span.old_ms, b.span.old_ms, "%s: oldest",
			     what);
		cr_assert_str_eq(a.span.old_id, b.span.old_id, "%s: oldest",
				 what);
		cr_assert_eq(a.span.new_ms, b.span.new_ms, "%s: newest",
			     what);
		cr_assert_str_eq(a.span.new_id, b.span.new_id, "%s: newest",
				 what);
	}
	cr_assert(a.resubmitted_known && b.resubmitted_known);
	cr_assert_eq(a.resubmitted, b.resubmitted, "%s: resubmitted %zu, "
		     "read %zu", what, a.resubmitted, b.resubmitted);
	cr_assert_eq(a.discarded, b.discarded, "%s: discarded %zu, read %zu",
		     what, a.discarded, b.discarded);
	/* a block the times leave out is neither counted nor read */
	cr_assert_leq(a.indexed + a.read, b.read, "%s: %zu counted from the "
		      "index and %zu read, of %zu", what, a.indexed, a.read,
		      b.read);
	*indexed = a.indexed;
	read = a.read;
	drv_dlq_stats_release(&a);
	drv_dlq_stats_release(&b);
	return read;
}

#define PICKED 8

typedef struct picked {
	const char   *ids[PICKED];
	char          buf[PICKED][DRV_ID_LEN + 1];
	drv_dlq_pos_t pos[PICKED];
	size_t        n;
} picked_t;

/* The first PICKED decodable entries of partition 1, with their
 * positions. */
static bool pick(const drv_dlq_entry_t *e, void *arg)
{
	picked_t *p = arg;

	if (e->undecodable || e->partition != 1)
		return true;
	drv_strlcpy(p->buf[p->n], e->dl.id, sizeof(p->buf[0]));
	p->ids[p->n] = p->buf[p->n];
	p->pos[p->n++] = (drv_dlq_pos_t){ e->partition, e->offset };
	return p->n < PICKED;
}

/* Delete partition 0's records below \p offset (what retention does). */
static void delete_below(int64_t offset)
{
	char topic[256];
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_DeleteRecords_t *d;
	rd_kafka_queue_t *q = rd_kafka_queue_new(prod);
	rd_kafka_event_t *ev;

	cr_assert(drv_topic_name(pcfg, DRV_TOPIC_DLQ, NULL, 0, topic,
				 sizeof(topic)));
	rd_kafka_topic_partition_list_add(l, topic, 0)->offset = offset;
	d = rd_kafka_DeleteRecords_new(l);
	rd_kafka_DeleteRecords(prod, &d, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	cr_assert(ev, "no answer to DeleteRecords");
	cr_assert_eq(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR,
		     "DeleteRecords: %s", rd_kafka_event_error_string(ev));
	rd_kafka_event_destroy(ev);
	rd_kafka_DeleteRecords_destroy(d);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_queue_destroy(q);
}

Test(dlq_stats, the_index_counts_what_a_read_counts, .timeout = 240)
{
	drv_dlq_filter_t none = { 0 }, times = { 0 }, handler = { 0 };
	const char *tasks[5] = { "t0", "t1", "t2", "t3", "t4" };
	const char *t7 = "t7";
	char old[4][DRV_ID_LEN + 1];
	picked_t p = { .n = 0 };
	int64_t *lo, *hi;
	size_t read, indexed, cnt;
	char err[512], key[320];
	redisContext *rc, *dead;
	int null;
	drv_dlq_stats_t st;
	redisReply *r;
	it_ctx_t ctx;

	it_setup(&ctx, "");
	it_topics(&ctx);
	prod = it_producer(&ctx, &pcfg);
	for (int i = 0; i < N; i++)
		produce(i);
	cr_assert_eq(rd_kafka_flush(prod, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	it_produce_raw(&ctx, "dlq", "not a dead letter", 17);
	it_produce_raw(&ctx, "dlq", "nor this", 8);
	index_all();
	cr_assert_eq(drv_redis_connect(pcfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);

	/* resubmission marks, one set twice: counted once */
	cr_assert_eq(drv_dlq_read(pcfg, pick, &p, NULL, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(p.n, PICKED);
	cr_assert_eq(drv_dlq_marks_set(rc, pcfg, p.ids, tasks, p.pos, 5, err,
				       sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(drv_dlq_marks_set(rc, pcfg, p.ids, tasks, p.pos, 1, err,
				       sizeof(err)), DRV_OK, "%s", err);
	/* discard marks: not over a resubmission's (entry 4 keeps t4), once
	 * each (7 twice), and one a forced resubmission then replaces (7):
	 * 6 resubmitted, 2 discarded */
	cr_assert_eq(drv_dlq_marks_discard(rc, pcfg, p.ids + 4, p.pos + 4, 4,
					   old, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_str_eq(old[0], "t4");
	cr_assert_str_eq(old[1], "");
	cr_assert_str_eq(old[3], "");
	cr_assert_eq(drv_dlq_marks_discard(rc, pcfg, p.ids + 7, p.pos + 7, 1,
					   old, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_str_eq(old[0], DRV_DLQ_DISCARDED);
	cr_assert_eq(drv_dlq_marks_set(rc, pcfg, p.ids + 7, &t7, p.pos + 7, 1,
				       err, sizeof(err)), DRV_OK, "%s", err);

	/* no filter: whole blocks from their counts (how many depends on
	 * how the producer spread the entries over the partitions) */
	cr_assert_eq(drv_dlq_stats(pcfg, rc, &none, &st, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(st.resubmitted, 6);
	cr_assert_eq(st.discarded, 2);
	drv_dlq_stats_release(&st);
	read = same(rc, &none, "no filter", &indexed);
	cr_assert_geq(indexed, DRV_DLQ_INDEX_BLOCK, "counted %zu from the "
		      "index", indexed);
	cr_assert_eq(indexed + read, N + 2, "counted %zu, read %zu", indexed,
		     read);

	/* Redis failing under the index: every entry read, resubmitted
	 * unknown (its connection's socket made /dev/null under it: writes
	 * go nowhere, reads end; the descriptor stays taken) */
	cr_assert_eq(drv_redis_connect(pcfg, &dead, err, sizeof(err)), DRV_OK,
		     "%s", err);
	null = open("/dev/null", O_RDWR);
	cr_assert(null >= 0 && dup2(null, dead->fd) == dead->fd);
	close(null);
	cr_assert_eq(drv_dlq_stats(pcfg, dead, &none, &st, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert(!st.resubmitted_known);
	cr_assert_eq(st.count, N);
	cr_assert_eq(st.undecodable, 2);
	cr_assert_eq(st.indexed, 0);
	drv_dlq_stats_release(&st);
	redisFree(dead);

	/* times: a block they take whole is counted, one they cut is read,
	 * one they leave out is passed over: some partition holds 256 of
	 * the first 1,100 entries in its first block */
	times.until_ms = BASE + 1100 * 1000;
	same(rc, &times, "until", &indexed);
	times.since_ms = BASE + 1100 * 1000;
	times.until_ms = 0;
	read = same(rc, &times, "since", &indexed);
	cr_assert_leq(indexed + read, N + 2 - DRV_DLQ_INDEX_BLOCK,
		      "counted %zu, read %zu", indexed, read);
	times.since_ms = BASE + 450 * 1000;
	times.until_ms = BASE + 1300 * 1000;
	same(rc, &times, "since and until", &indexed);

	/* a handler that every block mixes with others: read, all of it */
	handler.handler = "b";
	read = same(rc, &handler, "handler", &indexed);
	cr_assert_eq(indexed, 0);
	cr_assert_geq(read, N, "read %zu", read);

	/* retention moved partition 0's start into a block */
	cr_assert_eq(drv_dlq_offsets(pcfg, &lo, &hi, &cnt, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_gt(hi[0] - lo[0], 300, "partition 0 holds %lld",
		     (long long)(hi[0] - lo[0]));
	delete_below(lo[0] + 100);
	free(lo);
	free(hi);
	same(rc, &none, "after retention", &indexed);

	/* a block whose counts are gone is read */
	cr_assert(drv_dlq_index_count_key(pcfg, 1, 0, key, sizeof(key)));
	r = redisCommand(rc, "DEL %s", key);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
		  "no counts at %s", key);
	freeReplyObject(r);
	same(rc, &none, "counts lost", &indexed);

	redisFree(rc);
	it_teardown(&ctx);
}

/* The group id of "solo"'s dead letters: from one entry of the DLQ. */
static bool solo_group(const drv_dlq_entry_t *e, void *arg)
{
	drv_dlq_group_key_t k;

	if (e->undecodable || strcmp(e->dl.task.handler, "solo"))
		return true;
	drv_dlq_group_of(&e->dl, &k);
	drv_strlcpy(arg, k.id, DRV_DLQ_GROUP_ID_LEN + 1);
	return false;
}

#define SOLO 1800   /* entries 0..1799: handler solo, permanent failure */
#define N2   2400

Test(dlq_stats, filters_read_only_what_may_match, .timeout = 240)
{
	drv_dlq_filter_t f = { 0 };
	char err[512], group[DRV_DLQ_GROUP_ID_LEN + 1] = "";
	size_t read, indexed;
	redisContext *rc;
	it_ctx_t ctx;

	it_setup(&ctx, "");
	it_topics(&ctx);
	prod = it_producer(&ctx, &pcfg);
	for (int i = 0; i < N2; i++) {
		char h[8], tenant[8];

		if (i < SOLO) {
			produce_dl(BASE + (int64_t)i * 1000, "solo",
				   DRV_DL_PERMANENT_FAILURE, NULL);
			continue;
		}
		drv_fmt(h, sizeof(h), "%s", i >= N2 - 5 ? "rare" :
			i % 2 ? "x" : "y");
		drv_fmt(tenant, sizeof(tenant), "t%d", i % 4);
		produce_dl(BASE + (int64_t)i * 1000, h, reasons[i % 3],
			   tenant);
	}
	cr_assert_eq(rd_kafka_flush(prod, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
	it_produce_raw(&ctx, "dlq", "not a dead letter", 17);
	index_all();
	cr_assert_eq(drv_redis_connect(pcfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);

	/* every partition holds a block of solo's alone: counted, the
	 * blocks of others passed over by their counts */
	f.handler = "solo";
	read = same(rc, &f, "handler solo", &indexed);
	cr_assert_geq(indexed, DRV_DLQ_INDEX_BLOCK, "counted %zu", indexed);
	cr_assert_lt(read, SOLO, "read %zu", read);
	f.has_reason = true;
	f.reason = DRV_DL_PERMANENT_FAILURE;
	read = same(rc, &f, "handler solo, permanent", &indexed);
	cr_assert_geq(indexed, DRV_DLQ_INDEX_BLOCK, "counted %zu", indexed);
	f.reason = DRV_DL_ATTEMPTS_EXHAUSTED;
	read = same(rc, &f, "handler solo, exhausted", &indexed);
	cr_assert_eq(indexed, 0, "counted %zu", indexed);
	/* only the block where solo's run ends, in each partition */
	cr_assert_leq(read, 4 * DRV_DLQ_INDEX_BLOCK, "read %zu", read);
	f.has_reason = false;

	/* the others only in the blocks after solo's: those read */
	f.handler = "x";
	read = same(rc, &f, "handler x", &indexed);
	cr_assert_lt(read, N2 - SOLO + 4 * DRV_DLQ_INDEX_BLOCK, "read %zu",
		     read);
	f.handler = "rare";
	read = same(rc, &f, "handler rare", &indexed);
	cr_assert_leq(read, 5 * DRV_DLQ_INDEX_BLOCK, "read %zu", read);
	f.handler = NULL;
	f.has_reason = true;
	f.reason = DRV_DL_DEADLINE_EXCEEDED;
	read = same(rc, &f, "reason", &indexed);
	cr_assert_lt(read, N2 - SOLO + 4 * DRV_DLQ_INDEX_BLOCK, "read %zu",
		     read);
	f.has_reason = false;

	/* a label: solo's blocks hold none (their Bloom filters say so) */
	f.label[0] = "tenant=t1";
	f.label_cnt = 1;
	read = same(rc, &f, "label", &indexed);
	cr_assert_lt(read, N2 - SOLO + 4 * DRV_DLQ_INDEX_BLOCK, "read %zu",
		     read);
	f.label_cnt = 0;

	/* a group: read where it may be, which is solo's blocks */
	cr_assert_eq(drv_dlq_read(pcfg, solo_group, group, NULL, err,
				  sizeof(err)), DRV_OK, "%s", err);
	cr_assert(group[0], "no group of solo's");
	f.group = group;
	same(rc, &f, "group", &indexed);
	f.group = NULL;

	/* text: every entry read, still the same figures */
	f.grep = "exit code";
	read = same(rc, &f, "grep", &indexed);
	cr_assert_geq(read, N2, "read %zu", read);
	f.grep = NULL;

	/* solo's with times that cut its run */
	f.handler = "solo";
	f.since_ms = BASE + 300 * 1000;
	f.until_ms = BASE + 2000 * 1000;
	same(rc, &f, "handler solo, since and until", &indexed);

	redisFree(rc);
	it_teardown(&ctx);
}
