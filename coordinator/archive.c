/*
 * archive.c — the DLQ archiver: on its own thread (never on the scheduling
 * path), while this coordinator leads, it writes dead letters older than
 * coordinator.archive_after to coordinator.archive_dir, once each, before
 * the DLQ topic's retention deletes them (include/drover/dlq_archive.h has
 * the layout).
 *
 * Exactly once without a consumer group: the archive is its own record of
 * progress. Each pass finds, per DLQ partition, the next offset from the
 * files already there (whoever wrote them: this replica or one before a
 * fail-over on the same volume), reads from there to the end the topic had
 * when the pass began, and stops a partition at its first entry too young
 * (or at a write that failed, so the archive never has a hole). A batch is
 * at most ARCHIVE_BATCH consecutive entries of one partition and one UTC
 * day; its data file's rename is the commit, then its audit record
 * ("dlq.archive") and drover_dlq_archived_total follow. Only the leader
 * archives (is_leader, checked before every write; a leader steps down a
 * fifth of the lease before a standby can take over, leader.c).
 *
 * The thread reads the config file once at start (the archive keys and
 * Kafka settings take effect on restart, not on reload): the main thread's
 * config may be replaced by a reload at any time.
 */
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/dead_letter.h"
#include "drover/dlq_archive.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/str.h"
#include "drover/topic_read.h"

#define ARCHIVE_BATCH 1000
#define ARCHIVE_MAX_PARTITIONS 1024

extern char **environ;

/* The entries of one partition waiting to be written. */
typedef struct batch {
	drv_dlq_archive_file_t f;
	char   **lines;
	size_t   cnt;
	json_t  *handlers, *reasons;
	bool     stopped;   /* too young, or a write failed: no more now */
} batch_t;

struct archiver {
	coord_t      *c;
	drv_config_t *cfg;       /* the thread's own */
	pthread_t     thread;
	int64_t       cutoff_ms; /* entries older than this are archived */
	int64_t       next[ARCHIVE_MAX_PARTITIONS];
	batch_t       b[ARCHIVE_MAX_PARTITIONS];
	bool          aborted;   /* leadership lost during the pass */
	size_t        archived;  /* this pass */
};

static bool leading(const archiver_t *a)
{
	return __atomic_load_n(&a->c->is_leader, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&a->c->stopping, __ATOMIC_RELAXED);
}

static void batch_clear(batch_t *b)
{
	for (size_t i = 0; i < b->cnt; i++)
		free(b->lines[i]);
	b->cnt = 0;
	json_decref(b->handlers);
	json_decref(b->reasons);
	b->handlers = b->reasons = NULL;
}

static void count(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	json_object_set_new(o, name, json_integer(v ? json_integer_value(v)
						  + 1 : 1));
}

/* Audit and count a written batch. */
static void archived(archiver_t *a, const batch_t *b, const char *details)
{
	char path[512], err[512];

	drv_dlq_archive_path(NULL, &b->f, DRV_DLQ_ARCHIVE_DATA, path,
			     sizeof(path));
	drv_counter_add(a->c->obs.dlq_archived, NULL, (int64_t)b->cnt);
	a->archived += b->cnt;
	if (drv_audit_write(a->c->producer, a->cfg, a->c->d->id,
			    "dlq.archive", path, b->cnt, details, NULL, NULL,
			    err, sizeof(err)))
		drv_log_kv(DRV_LOG_ERROR, "archived dead letters; the audit "
			   "record failed", "file", path, "error", err, NULL);
}

/* Write partition \p p's batch; on failure the partition stops for this
 * pass (what follows must not be written past a hole). */
static void flush(archiver_t *a, int32_t p)
{
	batch_t *b = &a->b[p];
	json_t *idx;
	char *text = NULL, err[512];

	if (!b->cnt)
		return;
	idx = json_pack("{s:i, s:I, s:I, s:I, s:O, s:O}", "partition",
			(int)p, "first", (json_int_t)b->f.first, "last",
			(json_int_t)b->f.last, "count", (json_int_t)b->cnt,
			"handlers", b->handlers, "reasons", b->reasons);
	if (idx)
		text = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	if (!text) {
		drv_error(err, sizeof(err), DRV_ERR_NOMEM, "out of memory");
	} else if (!leading(a)) {
		a->aborted = true;
		drv_strlcpy(err, "no longer the leader", sizeof(err));
	} else if (!drv_dlq_archive_write(a->cfg->coordinator.archive_dir,
					  &b->f,
					  (const char *const *)b->lines,
					  b->cnt, text, err, sizeof(err))) {
		archived(a, b, text);
		a->next[p] = b->f.last + 1;
		free(text);
		batch_clear(b);
		return;
	}
	if (!a->aborted)
		drv_log_kv(DRV_LOG_ERROR, "cannot archive dead letters; the "
			   "partition waits for the next pass", "error", err,
			   NULL);
	free(text);
	batch_clear(b);
	b->stopped = true;
}

static bool add(archiver_t *a, batch_t *b, const rd_kafka_message_t *m,
		int64_t ts, char *line, const drv_dead_letter_t *dl)
{
	char day[11];

	drv_dlq_archive_day(ts, day);
	if (b->cnt && (b->cnt == ARCHIVE_BATCH || strcmp(day, b->f.day)))
		flush(a, m->partition);
	if (b->stopped)
		return false;
	if (!b->cnt) {
		if (!(b->handlers = json_object()) ||
		    !(b->reasons = json_object()))
			return false;
		memcpy(b->f.day, day, sizeof(day));
		b->f.partition = m->partition;
		b->f.first = m->offset;
		if (!b->lines && !(b->lines = calloc(ARCHIVE_BATCH,
						     sizeof(*b->lines))))
			return false;
	}
	b->lines[b->cnt++] = line;
	b->f.last = m->offset;
	count(b->handlers, dl ? dl->task.handler : "");
	count(b->reasons, drv_dl_reason_name(dl ? dl->reason :
					     DRV_DL_UNDECODABLE));
	return true;
}

static bool visit(const rd_kafka_message_t *m, void *arg)
{
	archiver_t *a = arg;
	batch_t *b;
	drv_dead_letter_t dl;
	char err[256], *line;
	bool ok;
	int64_t ts;

	if (!leading(a)) {
		a->aborted = true;
		return false;
	}
	if (m->partition < 0 || m->partition >= ARCHIVE_MAX_PARTITIONS)
		return true;
	b = &a->b[m->partition];
	ts = rd_kafka_message_timestamp(m, NULL);
	if (b->stopped || m->offset < a->next[m->partition])
		return true;
	if (ts >= a->cutoff_ms) {
		b->stopped = true; /* the rest of the partition is younger */
		return true;
	}
	drv_dead_letter_init(&dl);
	ok = !drv_dead_letter_decode(m->payload, m->len, &dl, err,
				     sizeof(err));
	line = drv_dead_letter_export_json(ok ? &dl : NULL, m->payload,
					   m->len, err, ts, m->partition,
					   m->offset);
	if (!line || !add(a, b, m, ts < 0 ? 0 : ts, line, ok ? &dl : NULL)) {
		free(line); /* add() keeps the line only when it succeeds */
		b->stopped = true;
	}
	drv_dead_letter_release(&dl);
	return true;
}

/* One pass over the DLQ. */
static void archive_pass(archiver_t *a)
{
	char topic[256], err[512], n[32];
	drv_err_t rc;

	a->aborted = false;
	a->archived = 0;
	a->cutoff_ms = drv_now_ms() - a->cfg->coordinator.archive_after_ms;
	for (size_t p = 0; p < ARCHIVE_MAX_PARTITIONS; p++)
		a->b[p].stopped = false;
	if ((rc = drv_dlq_archive_resume(a->cfg->coordinator.archive_dir,
					 a->next, ARCHIVE_MAX_PARTITIONS, err,
					 sizeof(err)))) {
		drv_log_kv(DRV_LOG_ERROR, "cannot read the DLQ archive",
			   "error", err, NULL);
		return;
	}
	drv_topic_name(a->cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic));
	rc = drv_topic_read(a->cfg, topic, a->next, ARCHIVE_MAX_PARTITIONS,
			    visit, a, NULL, err, sizeof(err));
	for (int32_t p = 0; p < ARCHIVE_MAX_PARTITIONS; p++) {
		if (!a->aborted)
			flush(a, p);
		batch_clear(&a->b[p]);
	}
	if (rc)
		drv_log_kv(DRV_LOG_WARN, "DLQ archiver: cannot read the DLQ",
			   "error", err, NULL);
	if (a->archived) {
		drv_fmt(n, sizeof(n), "%zu", a->archived);
		drv_log_kv(DRV_LOG_INFO, "archived dead letters", "count", n,
			   "dir", a->cfg->coordinator.archive_dir, NULL);
	}
}

static void *archive_main(void *arg)
{
	archiver_t *a = arg;

	while (!__atomic_load_n(&a->c->stopping, __ATOMIC_RELAXED)) {
		int64_t until = drv_mono_ms() +
			a->cfg->coordinator.archive_interval_ms;

		while (drv_mono_ms() < until &&
		       !__atomic_load_n(&a->c->stopping, __ATOMIC_RELAXED))
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		if (leading(a))
			archive_pass(a);
	}
	return NULL;
}

bool archive_start(coord_t *c)
{
	archiver_t *a;
	char err[1024];

	if (!c->cfg->coordinator.archive_dir[0] || !c->cfg->path)
		return true;
	if (!(a = calloc(1, sizeof(*a))))
		return false;
	a->c = c;
	if (drv_config_load(c->cfg->path, environ, &a->cfg, err,
			    sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "DLQ archiver: cannot load the "
			   "config", "error", err, NULL);
		free(a);
		return false;
	}
	if (pthread_create(&a->thread, NULL, archive_main, a)) {
		drv_config_destroy(a->cfg);
		free(a);
		return false;
	}
	c->archiver = a;
	drv_log_kv(DRV_LOG_INFO, "DLQ archival on", "dir",
		   a->cfg->coordinator.archive_dir, NULL);
	return true;
}

void archive_stop(coord_t *c)
{
	archiver_t *a = c->archiver;

	if (!a)
		return;
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELAXED);
	pthread_join(a->thread, NULL);
	for (size_t p = 0; p < ARCHIVE_MAX_PARTITIONS; p++) {
		batch_clear(&a->b[p]);
		free(a->b[p].lines);
	}
	drv_config_destroy(a->cfg);
	free(a);
	c->archiver = NULL;
}
