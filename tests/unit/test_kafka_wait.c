/*
 * test_kafka_wait.c — drv_kafka_wait() on a producer threads share, against
 * librdkafka's mock cluster (a fault injected, no broker needed): one
 * waiter whose time runs out while the broker is down must not purge the
 * other waiters' messages; when the broker comes back within the
 * producer's bound, every message is delivered.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "drover/config.h"
#include "drover/kafka.h"
#include <librdkafka/rdkafka_mock.h>   /* after rdkafka.h, as it wants */

static const char yaml[] =
	"kafka:\n"
	"  brokers: \"127.0.0.1:1\"\n"
	"  connect_timeout: 5s\n"
	"  properties:\n"
	"    test.mock.num.brokers: \"1\"\n"
	"    reconnect.backoff.max.ms: \"100\"\n"
	"    linger.ms: \"0\"\n";

static void *broker_up_later(void *arg)
{
	usleep(800 * 1000);
	rd_kafka_mock_broker_set_up(arg, 1);
	return NULL;
}

Test(kafka_wait, a_timed_out_waiter_leaves_the_others_messages, .timeout = 60)
{
	drv_delivery_t warm = { 0 }, a = { 0 }, b = { 0 };
	drv_waiter_t wa, wb;
	drv_kafka_poller_t *poller;
	rd_kafka_mock_cluster_t *mc;
	drv_config_t *cfg;
	rd_kafka_t *rk;
	pthread_t up;
	char err[512];

	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	rk = drv_kafka_producer_shared_new(cfg, -1, err, sizeof(err));
	cr_assert_not_null(rk, "%s", err);
	cr_assert_not_null(mc = rd_kafka_handle_mock_cluster(rk));
	cr_assert_eq(rd_kafka_mock_topic_create(mc, "t", 1, 1),
		     RD_KAFKA_RESP_ERR_NO_ERROR);
	cr_assert_not_null(poller = drv_kafka_poller_start(rk));

	/* the topic known, the producer's id given */
	drv_delivery_watch(&warm, &wa);
	cr_assert_eq(drv_kafka_produce(rk, "t", "k", 1, "w", 1, NULL, 0, &warm,
				       err, sizeof(err)), DRV_OK);
	cr_assert_eq(drv_kafka_wait(rk, &warm, "t", 5000, err, sizeof(err)),
		     DRV_OK, "%s", err);

	/* the broker goes down; a and b wait for it; a gives up first */
	rd_kafka_mock_broker_set_down(mc, 1);
	drv_delivery_watch(&a, &wa);
	drv_delivery_watch(&b, &wb);
	cr_assert_eq(drv_kafka_produce(rk, "t", "k", 1, "a", 1, NULL, 0, &a,
				       err, sizeof(err)), DRV_OK);
	cr_assert_eq(drv_kafka_produce(rk, "t", "k", 1, "b", 1, NULL, 0, &b,
				       err, sizeof(err)), DRV_OK);
	pthread_create(&up, NULL, broker_up_later, mc);
	/* a's own time (200 ms) runs out while the broker is down: its
	 * message is still alive (the producer bounds it at 5 s), so a waits
	 * on for it instead of purging b's as well */
	cr_assert_eq(drv_kafka_wait(rk, &a, "t", 200, err, sizeof(err)),
		     DRV_OK, "a: %s", err);
	cr_assert_eq(drv_kafka_wait(rk, &b, "t", 10000, err, sizeof(err)),
		     DRV_OK, "b: %s", err);
	cr_assert_eq(b.err, RD_KAFKA_RESP_ERR_NO_ERROR, "b: %s",
		     rd_kafka_err2str(b.err));
	pthread_join(up, NULL);

	drv_kafka_poller_stop(poller);
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
}

Test(kafka_wait, a_message_past_its_bound_times_out_by_itself,
     .timeout = 60)
{
	static const char short_yaml[] =
		"kafka:\n"
		"  brokers: \"127.0.0.1:1\"\n"
		"  connect_timeout: 1s\n"
		"  properties:\n"
		"    test.mock.num.brokers: \"1\"\n";
	drv_delivery_t d = { 0 };
	drv_waiter_t w;
	drv_kafka_poller_t *poller;
	rd_kafka_mock_cluster_t *mc;
	drv_config_t *cfg;
	rd_kafka_t *rk;
	char err[512];

	cr_assert_eq(drv_config_load_string("t.yaml", short_yaml,
					    strlen(short_yaml), NULL, &cfg,
					    err, sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_not_null(rk = drv_kafka_producer_shared_new(cfg, -1, err,
							      sizeof(err)));
	mc = rd_kafka_handle_mock_cluster(rk);
	rd_kafka_mock_topic_create(mc, "t", 1, 1);
	rd_kafka_mock_broker_set_down(mc, 1);
	cr_assert_not_null(poller = drv_kafka_poller_start(rk));
	drv_delivery_watch(&d, &w);
	cr_assert_eq(drv_kafka_produce(rk, "t", "k", 1, "x", 1, NULL, 0, &d,
				       err, sizeof(err)), DRV_OK);
	/* the broker never comes: the message expires, no purge needed */
	cr_assert_eq(drv_kafka_wait(rk, &d, "t", 100, err, sizeof(err)),
		     DRV_ERR_TIMEOUT);
	cr_assert_eq(d.err, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "%s",
		     rd_kafka_err2str(d.err));
	drv_kafka_poller_stop(poller);
	rd_kafka_destroy(rk);
	drv_config_destroy(cfg);
}
