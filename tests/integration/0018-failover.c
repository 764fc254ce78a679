/*
 * 0018 — fail-over in seconds. Under a steady stream of tasks over every
 * band and partition:
 *   - a worker killed with SIGKILL: the tasks on its partitions run on the
 *     other worker within 10 s of the kill (kafka.session_timeout, 6 s by
 *     default), and the other worker's own partitions never stop for the
 *     rebalance (no gap over 3 s, half the session timeout: a survivor
 *     held for the rebalance stops 6 s or more; typical gaps are 100-300
 *     ms, and over 1 s was seen on a loaded 2-CPU host), nothing is lost;
 *   - a worker killed and restarted at once with the same --id runs tasks
 *     again within 2 s of being ready. As a static group member (classic
 *     protocol, kafka.static_membership auto) it takes its own partitions
 *     back and the other worker never takes them over. Under KIP-848
 *     (DROVER_KAFKA_GROUP_PROTOCOL=consumer) it joins as a new member; with
 *     DROVER_KAFKA_STATIC_MEMBERSHIP=on there the broker refuses the id
 *     until the killed member's session has expired: the restarted worker
 *     stops with status 1 and says so, and a start after the session
 *     timeout runs tasks within 2 s of being ready.
 * Figures are logged (cr_log_info); bench/run failover prints them too.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "drover/task.h"
#include "harness.h"

#define PERIOD_MS 20      /* one task every 20 ms: 50 tasks/s */
#define MAX_SENT  4000

static const char rec[] =
	"  rec:\n"
	"    shell: true\n"
	"    command: 'echo \"run $DROVER_TASK_ID $PPID $(date +%s%3N)\" "
	">> \"$OUT\"'\n";

typedef struct sent {
	char      id[32];
	char      topic[128];
	int32_t   partition;
	long long sent_ms;
	int       ran_by;     /* pid of the first worker that ran it */
	long long ran_ms;
} sent_t;

typedef struct feed {
	it_ctx_t       *ctx;
	pthread_t       thread;
	volatile int    stop;
	sent_t         *sent;
	int             n;
	pthread_mutex_t lock;
} feed_t;

/* Produce one task every PERIOD_MS, priorities cycling over the three
 * bands, recording each task's partition from its delivery report. */
static void *feed_main(void *arg)
{
	static const unsigned prio[] = { 9, 5, 2 };
	feed_t *f = arg;
	drv_config_t *cfg;
	rd_kafka_t *rk = it_producer(f->ctx, &cfg);
	char err[256];

	for (int i = 0; !f->stop && i < MAX_SENT; i++) {
		drv_delivery_t dr = { 0 };
		drv_task_t t;
		sent_t s = { 0 };

		drv_task_init(&t);
		t.created_ms = it_now_ms();
		drv_id_new(t.id, t.created_ms);
		t.handler = drv_strdup("rec");
		t.priority = prio[i % 3];
		drv_task_route(cfg, &t, t.created_ms, s.topic, sizeof(s.topic));
		if (drv_task_produce(rk, &t, s.topic, &dr, err, sizeof(err)) ||
		    drv_kafka_wait(rk, &dr, s.topic, 10000, err, sizeof(err))) {
			drv_task_release(&t);
			continue;
		}
		drv_strlcpy(s.id, t.id, sizeof(s.id));
		s.partition = dr.partition;
		s.sent_ms = t.created_ms;
		drv_task_release(&t);
		pthread_mutex_lock(&f->lock);
		f->sent[f->n++] = s;
		pthread_mutex_unlock(&f->lock);
		usleep(PERIOD_MS * 1000);
	}
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
	return NULL;
}

static void feed_start(feed_t *f, it_ctx_t *ctx)
{
	memset(f, 0, sizeof(*f));
	f->ctx = ctx;
	f->sent = calloc(MAX_SENT, sizeof(*f->sent));
	cr_assert_not_null(f->sent);
	pthread_mutex_init(&f->lock, NULL);
	cr_assert_eq(pthread_create(&f->thread, NULL, feed_main, f), 0);
}

static void feed_stop(feed_t *f)
{
	f->stop = 1;
	pthread_join(f->thread, NULL);
}

/* Fill in ran_by/ran_ms from dir/out.txt ("run ID PPID MS" lines; the
 * first run of each id counts). Returns how many sent tasks ran. */
static int feed_collect(feed_t *f)
{
	char *text = it_read(f->ctx->out), *save = NULL;
	int ran = 0;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->n; i++)
		f->sent[i].ran_by = 0;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char id[32];
		int pid;
		long long ms;

		if (sscanf(l, "run %31s %d %lld", id, &pid, &ms) != 3)
			continue;
		for (int i = 0; i < f->n; i++)
			if (!f->sent[i].ran_by && !strcmp(f->sent[i].id, id)) {
				f->sent[i].ran_by = pid;
				f->sent[i].ran_ms = ms;
				break;
			}
	}
	for (int i = 0; i < f->n; i++)
		ran += f->sent[i].ran_by != 0;
	pthread_mutex_unlock(&f->lock);
	free(text);
	return ran;
}

/* Wait until every task sent so far ran, or the timeout. */
static int feed_wait_all(feed_t *f, int timeout_ms)
{
	int ran = 0;

	for (long long end = it_now_ms() + timeout_ms; it_now_ms() < end;
	     usleep(200 * 1000))
		if ((ran = feed_collect(f)) == f->n)
			break;
	return ran;
}

/* Tasks that \p pid ran before \p before_ms. */
static int ran_by_before(feed_t *f, int pid, long long before_ms)
{
	int n = 0;

	feed_collect(f);
	for (int i = 0; i < f->n; i++)
		n += f->sent[i].ran_by == pid && f->sent[i].ran_ms < before_ms;
	return n;
}

/* Did \p pid own s's partition just before \p before_ms (ran one of its
 * tasks in the 2 s before)? */
static bool owned(const feed_t *f, const sent_t *s, int pid,
		  long long before_ms)
{
	for (int i = 0; i < f->n; i++) {
		const sent_t *o = &f->sent[i];

		if (o->ran_by == pid && o->ran_ms < before_ms &&
		    o->ran_ms >= before_ms - 2000 &&
		    o->partition == s->partition && !strcmp(o->topic, s->topic))
			return true;
	}
	return false;
}

static bool kip848(void)
{
	const char *p = getenv("DROVER_KAFKA_GROUP_PROTOCOL");

	return p && !strcmp(p, "consumer");
}

/* kafka.static_membership as the workers will see it */
static bool static_member(void)
{
	const char *s = getenv("DROVER_KAFKA_STATIC_MEMBERSHIP");

	if (s && !strcmp(s, "off"))
		return false;
	return !kip848() || (s && !strcmp(s, "on"));
}

/* waitpid() bounded by \p timeout_ms: the exit status, or -1. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	int status;

	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(50 * 1000);
	}
	return -1;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void both_working(feed_t *f, pid_t a, pid_t b)
{
	long long end = it_now_ms() + 60000;

	while (it_now_ms() < end &&
	       (ran_by_before(f, a, INT64_MAX) < 20 ||
		ran_by_before(f, b, INT64_MAX) < 20))
		usleep(200 * 1000);
	cr_assert(ran_by_before(f, a, INT64_MAX) >= 20 &&
		  ran_by_before(f, b, INT64_MAX) >= 20,
		  "both workers should be running tasks; see %s", f->ctx->dir);
}

/* Two workers (worker-1, worker-2) under the feed, both running tasks;
 * then worker-1 killed with SIGKILL. Returns the time of the kill. */
static long long start_and_kill(it_ctx_t *ctx, feed_t *f, pid_t *victim,
				pid_t *survivor)
{
	long long kill_ms;
	int status;

	it_setup(ctx, rec);
	it_topics(ctx);
	*victim = it_worker_start(ctx, 1);
	*survivor = it_worker_start(ctx, 2);
	feed_start(f, ctx);
	both_working(f, *victim, *survivor);
	sleep(2);
	kill_ms = it_now_ms();
	kill(*victim, SIGKILL);
	waitpid(*victim, &status, 0);
	return kill_ms;
}

Test(failover, kill9_partitions_move_in_seconds, .timeout = 240)
{
	it_ctx_t ctx;
	feed_t f;
	pid_t victim, survivor;
	long long kill_ms, takeover = -1, gap = 0, *times;
	size_t nt = 0;
	int ran;

	kill_ms = start_and_kill(&ctx, &f, &victim, &survivor);
	sleep(14);
	feed_stop(&f);
	ran = feed_wait_all(&f, 60000);
	cr_assert_eq(ran, f.n, "%d of %d tasks ran; see %s", ran, f.n,
		     ctx.dir);

	times = calloc((size_t)f.n, sizeof(*times));
	cr_assert_not_null(times);
	for (int i = 0; i < f.n; i++) {
		const sent_t *s = &f.sent[i];

		if (s->ran_by != survivor || s->ran_ms < kill_ms - 2000)
			continue;
		if (owned(&f, s, victim, kill_ms)) {
			if (s->ran_ms >= kill_ms &&
			    (takeover < 0 || s->ran_ms - kill_ms < takeover))
				takeover = s->ran_ms - kill_ms;
		} else if (s->ran_ms < kill_ms + 12000 &&
			   owned(&f, s, survivor, kill_ms)) {
			times[nt++] = s->ran_ms;  /* the survivor's own */
		}
	}
	qsort(times, nt, sizeof(*times), cmp_ll);
	for (size_t i = 1; i < nt; i++)
		if (times[i] - times[i - 1] > gap)
			gap = times[i] - times[i - 1];
	free(times);
	cr_log_info("kill -9: the victim's partitions ran again %lld ms after "
		    "the kill; the survivor's own longest gap %lld ms; %d "
		    "tasks", takeover, gap, f.n);
	cr_assert(takeover >= 0, "the survivor never ran the victim's "
		  "partitions; see %s", ctx.dir);
	cr_assert(takeover <= 10000, "the victim's partitions ran again only "
		  "%lld ms after the kill (target 10 s); see %s", takeover,
		  ctx.dir);
	cr_assert(gap > 0 && gap <= 3000, "the survivor's own partitions "
		  "stopped for %lld ms (never over 3 s: they must not wait "
		  "for the rebalance); see %s", gap, ctx.dir);
	cr_assert_eq(it_stop(survivor, SIGTERM, 30000), 0);
	free(f.sent);
	it_teardown(&ctx);
}

Test(failover, restart_with_same_id_takes_its_partitions_back,
     .timeout = 240)
{
	it_ctx_t ctx;
	feed_t f;
	pid_t victim, survivor, back;
	long long ready_ms, first = -1, kill_ms;
	char log[400];
	int status, ran, stolen = 0;

	kill_ms = start_and_kill(&ctx, &f, &victim, &survivor);
	/* the same --id: worker-1 */
	back = it_worker_start(&ctx, 1);
	drv_fmt(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	if (kip848() && static_member()) {
		status = wait_exit(back, 15000);
		cr_assert(status >= 0 && WIFEXITED(status) &&
			  WEXITSTATUS(status) == 1, "KIP-848: the restarted "
			  "worker should stop (status 1) while the killed "
			  "member's session lasts; see %s", log);
		cr_assert(it_wait_file(log, "still holds this --id", 1000),
			  "no clear message; see %s", log);
		while (it_now_ms() < kill_ms + 7000)
			usleep(100 * 1000);
		unlink(log);
		back = it_worker_start(&ctx, 1);
	}
	cr_assert(it_wait_file(log, "worker started", 20000),
		  "the restarted worker never started; see %s", log);
	ready_ms = it_now_ms();
	sleep(5);
	feed_stop(&f);
	ran = feed_wait_all(&f, 60000);
	cr_assert_eq(ran, f.n, "%d of %d tasks ran; see %s", ran, f.n,
		     ctx.dir);

	for (int i = 0; i < f.n; i++) {
		const sent_t *s = &f.sent[i];

		if (s->ran_by == back &&
		    (first < 0 || s->ran_ms - ready_ms < first))
			first = s->ran_ms - ready_ms;
		if (s->ran_by == survivor && s->ran_ms >= kill_ms &&
		    owned(&f, s, victim, kill_ms))
			stolen++;
	}
	cr_log_info("restart with the same id: first task %lld ms after the "
		    "new process was ready; the other worker ran %d of its "
		    "tasks meanwhile", first, stolen);
	cr_assert(first >= 0, "the restarted worker ran nothing; see %s",
		  ctx.dir);
	cr_assert(first <= 2000, "the restarted worker's first task ran %lld "
		  "ms after it was ready (target 2 s); see %s", first, ctx.dir);
	if (static_member() && !kip848())
		cr_assert_eq(stolen, 0, "no rebalance expected: the other "
			     "worker ran %d of the restarted worker's tasks; "
			     "see %s", stolen, ctx.dir);
	cr_assert_eq(it_stop(back, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(survivor, SIGTERM, 30000), 0);
	free(f.sent);
	it_teardown(&ctx);
}
