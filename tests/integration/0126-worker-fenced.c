/*
 * 0126 — a worker fenced off its group starts again in-process. A second
 * consumer joins the worker's group under the worker's --id, as a worker
 * does when its session lapsed and it rejoined: the broker fences the
 * worker's member (FENCED_INSTANCE_ID, fatal to librdkafka). The worker
 * stops its consumers, starts new ones under its --id (fencing the
 * intruder in turn), keeps running tasks, and still exits 0 and clean on
 * SIGTERM. Classic protocol only: there a static member's id can be taken
 * over; KIP-848 refuses the second member instead (UNRELEASED_INSTANCE_ID).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/kafka.h"
#include "drover/str.h"
#include "harness.h"

/* A consumer in the workers' group under \p instance_id, on the bands. */
static rd_kafka_t *intruder(it_ctx_t *ctx, drv_config_t **cfg,
			    const char *instance_id)
{
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char err[512], topic[256];

	rd_kafka_destroy(it_producer(ctx, cfg));   /* loads the config */
	conf = drv_kafka_member_conf_new(*cfg, (*cfg)->worker.group,
					 instance_id, err, sizeof(err));
	cr_assert_not_null(conf, "%s", err);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	cr_assert_not_null(rk, "%s", err);
	rd_kafka_poll_set_consumer(rk);
	topics = rd_kafka_topic_partition_list_new((int)drv_band_cnt);
	for (size_t i = 0; i < drv_band_cnt; i++) {
		drv_topic_name(*cfg, DRV_TOPIC_TASKS, drv_bands[i].name, 0,
			       topic, sizeof(topic));
		rd_kafka_topic_partition_list_add(topics, topic,
						  RD_KAFKA_PARTITION_UA);
	}
	cr_assert_eq(rd_kafka_subscribe(rk, topics), 0);
	rd_kafka_topic_partition_list_destroy(topics);
	return rk;
}

Test(fenced, worker_starts_again_in_process, .timeout = 180)
{
	const char *proto = getenv("DROVER_KAFKA_GROUP_PROTOCOL");
	char id[32], log[512];
	drv_config_t *cfg;
	rd_kafka_t *rk;
	it_ctx_t ctx;
	pid_t w;
	int status;

	if (proto && !strcmp(proto, "consumer"))
		cr_skip_test("a static member's id is taken over only under "
			     "the classic protocol");
	it_setup(&ctx,
		 "  record:\n"
		 "    shell: true\n"
		 "    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	drv_fmt(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	it_submit(&ctx, id, "record", NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", id, 1, 60000), 1,
		     "the first task never ran; see %s", ctx.dir);

	/* the intruder joins as worker-1: the worker's member is fenced */
	rk = intruder(&ctx, &cfg, "worker-1");
	for (int i = 0; i < 600 && !it_wait_file(log, "fenced off the group",
						  0); i++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);

		if (m)
			rd_kafka_message_destroy(m);
	}
	cr_assert(it_wait_file(log, "fenced off the group", 0),
		  "the worker was not fenced, or did not start again; see %s",
		  log);
	/* gone without leaving: the worker's new member takes its place */
	rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	drv_config_destroy(cfg);

	cr_assert_eq(waitpid(w, &status, WNOHANG), 0,
		     "the fenced worker exited; see %s", log);
	it_submit(&ctx, id, "record", NULL);
	cr_assert_eq(it_wait_count(&ctx, "run ", id, 1, 60000), 1,
		     "no task ran after the restart; see %s", log);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0,
		     "the worker did not exit 0 after SIGTERM; see %s", log);
	it_teardown(&ctx);
}
