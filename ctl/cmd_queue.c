/*
 * cmd_queue.c — `droverctl queue status`: how many tasks wait on each band
 * and delay tier, how old the oldest is, the rates in and out over a sample
 * interval, and which workers hold which partitions with how many busy
 * runners. The numbers come from the core's drv_queue_sample(), the same
 * call GET /api/v1/queues makes, and --json prints the same object.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctl.h"
#include "drover/queue_status.h"
#include "drover/redis.h"
#include "drover/str.h"

#define SAMPLE_DEFAULT_MS 1000
#define SAMPLE_MAX_MS     60000

static int parse(const ctl_cmd_t *cmd, int argc, char **argv, bool *json,
		 int64_t *sample_ms)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sample", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = false;
	*sample_ms = SAMPLE_DEFAULT_MS;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
		} else if (c == 's') {
			if (drv_parse_duration(optarg, sample_ms) ||
			    *sample_ms < 0 || *sample_ms > SAMPLE_MAX_MS)
				return ctl_usage_error(cmd, "--sample wants a "
					"duration from 0 to 60s, not '%s'",
					optarg);
		} else {
			return ctl_usage_error(cmd, "unknown option or missing "
					       "value '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	return CTL_EXIT_OK;
}

static void fmt_age(const drv_queue_status_t *s, const drv_queue_topic_t *t,
		    char *buf, size_t size)
{
	if (!t->waiting || !t->oldest_ms)
		drv_fmt(buf, size, "-");
	else if (s->at_ms - t->oldest_ms < 1000)
		drv_fmt(buf, size, "<1s");
	else
		drv_format_duration((s->at_ms - t->oldest_ms) / 1000 * 1000,
				    buf, size);
}

static void fmt_rate(double r, char *buf, size_t size)
{
	if (r < 0)
		drv_fmt(buf, size, "-");
	else
		drv_fmt(buf, size, "%.1f/s", r);
}

static void print_table(const drv_queue_status_t *s)
{
	printf("%-6s %-7s %-10s %9s %10s %10s %10s\n", "KIND", "NAME",
	       "PARTITIONS", "WAITING", "OLDEST", "IN", "OUT");
	for (size_t i = 0; i < s->topic_cnt; i++) {
		const drv_queue_topic_t *t = &s->topics[i];
		char age[32], in[32], out[32];

		fmt_age(s, t, age, sizeof(age));
		fmt_rate(t->rate_in, in, sizeof(in));
		fmt_rate(t->rate_out, out, sizeof(out));
		printf("%-6s %-7s %-10d %9lld %10s %10s %10s\n", t->kind,
		       t->name, (int)t->partitions, (long long)t->waiting, age,
		       in, out);
	}
	if (!s->workers_known) {
		printf("\nworkers: unknown (redis unreachable)\n");
		return;
	}
	printf("\nrunning now: %lld\n\n%-32s %7s %7s %6s %6s %9s\n",
	       (long long)s->running, "WORKER", "BUSY", "RUNNERS", "BAND-P",
	       "DELAY-P", "SEEN");
	for (size_t i = 0; i < s->worker_cnt; i++) {
		const drv_queue_worker_t *w = &s->workers[i];
		long long ago = (long long)(s->at_ms - w->updated_ms);

		printf("%-32s %7lld %7lld %6lld %6lld %7llds\n", w->id,
		       (long long)w->busy, (long long)w->runners,
		       (long long)w->band_partitions,
		       (long long)w->delay_partitions,
		       (ago > 0 ? ago : 0) / 1000);
	}
	if (!s->worker_cnt)
		printf("(no worker has reported in the last %ds)\n",
		       DRV_WORKER_STATUS_TTL_MS / 1000);
}

static int run_status(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		      char **argv)
{
	drv_queue_status_t before, now;
	drv_queue_reader_t *r;
	redisContext *redis = NULL;
	int64_t sample_ms;
	char err[512];
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, &json, &sample_ms)))
		return rc;
	if (!(r = drv_queue_reader_new(cfg, err, sizeof(err))))
		return ctl_fail("%s", err);
	if (drv_redis_connect(cfg, &redis, err, sizeof(err))) {
		fprintf(stderr, "droverctl: workers unknown: %s\n", err);
		redis = NULL;
	}
	drv_queue_status_init(&before);
	rc = CTL_EXIT_OK;
	if (sample_ms > 0) {
		struct timespec ts = { sample_ms / 1000,
				       (sample_ms % 1000) * 1000000L };

		if (drv_queue_sample(r, NULL, &before, err, sizeof(err)))
			rc = ctl_fail("%s", err);
		else
			nanosleep(&ts, NULL);
	}
	if (rc == CTL_EXIT_OK) {
		if (drv_queue_sample(r, redis, &now, err, sizeof(err))) {
			rc = ctl_fail("%s", err);
		} else {
			if (sample_ms > 0)
				drv_queue_rates(&now, &before);
			if (json)
				ctl_print_json(drv_queue_status_json(&now));
			else
				print_table(&now);
			drv_queue_status_release(&now);
		}
	}
	drv_queue_status_release(&before);
	redisFree(redis);
	drv_queue_reader_destroy(r);
	return rc;
}

const ctl_cmd_t ctl_queue_cmds[] = {
	{ "queue", "status", "[--sample DUR] [--json]",
	  "tasks waiting per band and delay tier, rates, busy workers",
	  "  --sample DUR  measure rates in and out over DUR (default 1s;\n"
	  "                0 = no rates, one sample)\n"
	  "  --json        print {at_ms, rate_span_ms, running, topics:[{topic,"
	  "\n                kind, name, partitions, waiting, oldest_age_ms,\n"
	  "                rate_in, rate_out}], workers:[{id, runners, busy,\n"
	  "                started, finished, band_partitions,\n"
	  "                delay_partitions, partitions, last_seen_ms_ago}]}\n"
	  "\nWaiting is the workers' consumer lag: high watermark minus the "
	  "committed\noffset. The oldest age is the timestamp of the first "
	  "waiting message of\neach partition. Workers report every 2s and "
	  "vanish 6s after their last\nreport; workers is null when Redis is "
	  "unreachable.\n\nExample:\n  droverctl queue status --sample 5s\n",
	  true, run_status },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
