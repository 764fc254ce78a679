/*
 * topics.c — the topics a config implies (task bands, delay tiers, DLQ,
 * events, audit), their names, and `topics ensure` through the Admin API.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

const drv_band_t drv_bands[] = { { "high" }, { "normal" }, { "low" } };
const size_t drv_band_cnt = sizeof(drv_bands) / sizeof(drv_bands[0]);

void drv_band_range(const drv_config_t *cfg, size_t band, uint32_t *min,
		    uint32_t *max)
{
	uint32_t high = (uint32_t)cfg->kafka.band_high;
	uint32_t low = (uint32_t)cfg->kafka.band_low;

	switch (band) {
	case 0:  *min = high; *max = DRV_PRIORITY_MAX; break;
	case 1:  *min = low + 1; *max = high - 1; break;
	default: *min = DRV_PRIORITY_MIN; *max = low; break;
	}
}

const drv_band_t *drv_band_for_priority(const drv_config_t *cfg,
					uint32_t priority)
{
	if (priority >= cfg->kafka.band_high)
		return &drv_bands[0];
	if (priority > cfg->kafka.band_low)
		return &drv_bands[1];
	return &drv_bands[2];
}

bool drv_topic_name(const drv_config_t *cfg, drv_topic_kind_t kind,
		    const char *suffix, int64_t tier_ms,
		    char *buf, size_t size)
{
	const char *p = cfg->kafka.topic_prefix;
	char tier[32];

	switch (kind) {
	case DRV_TOPIC_TASKS:
		return drv_fmt(buf, size, "%stasks.%s", p, suffix);
	case DRV_TOPIC_DELAY:
		drv_format_duration(tier_ms, tier, sizeof(tier));
		return drv_fmt(buf, size, "%sdelay.%s", p, tier);
	case DRV_TOPIC_DLQ:
		return drv_fmt(buf, size, "%sdlq", p);
	case DRV_TOPIC_EVENTS:
		return drv_fmt(buf, size, "%sevents", p);
	case DRV_TOPIC_AUDIT:
		return drv_fmt(buf, size, "%saudit", p);
	}
	return false;
}

const char *drv_topic_state_name(drv_topic_state_t st)
{
	switch (st) {
	case DRV_TOPIC_CREATED:            return "created";
	case DRV_TOPIC_EXISTS:             return "ok";
	case DRV_TOPIC_TOO_FEW_PARTITIONS: return "too-few-partitions";
	case DRV_TOPIC_FAILED:             return "failed";
	}
	return "unknown";
}

drv_err_t drv_topics_planned(const drv_config_t *cfg, drv_topic_spec_t **out,
			     size_t *cnt, char *errstr, size_t errstr_size)
{
	size_t n = drv_band_cnt + cfg->kafka.delay_tier_cnt + 3, i = 0;
	drv_topic_spec_t *specs = calloc(n, sizeof(*specs));
	bool ok = true;

	if (!specs)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t b = 0; b < drv_band_cnt; b++, i++)
		ok &= drv_topic_name(cfg, DRV_TOPIC_TASKS, drv_bands[b].name, 0,
				     specs[i].name, sizeof(specs[i].name));
	for (size_t t = 0; t < cfg->kafka.delay_tier_cnt; t++, i++)
		ok &= drv_topic_name(cfg, DRV_TOPIC_DELAY, NULL,
				     cfg->kafka.delay_tiers_ms[t],
				     specs[i].name, sizeof(specs[i].name));
	ok &= drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0,
			     specs[i].name, sizeof(specs[i].name));
	specs[i++].retention_ms = cfg->kafka.dlq_retention_ms;
	ok &= drv_topic_name(cfg, DRV_TOPIC_EVENTS, NULL, 0,
			     specs[i].name, sizeof(specs[i].name));
	i++;
	ok &= drv_topic_name(cfg, DRV_TOPIC_AUDIT, NULL, 0,
			     specs[i].name, sizeof(specs[i].name));
	i++;
	for (size_t k = 0; k < n; k++) {
		specs[k].partitions = (int)cfg->kafka.partitions;
		specs[k].replication = (int)cfg->kafka.replication_factor;
		if (specs[k].retention_ms == 0)
			specs[k].retention_ms = -1;
	}
	if (!ok) {
		free(specs);
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "kafka.topic_prefix makes a topic name "
				 "too long");
	}
	*out = specs;
	*cnt = n;
	return DRV_OK;
}

/* Wait for one admin result event on \p q. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - drv_mono_ms();
		rd_kafka_event_t *ev;

		if (left <= 0)
			return NULL;
		ev = rd_kafka_queue_poll(q, left > 500 ? 500 : (int)left);
		if (ev)
			return ev;
	}
}

/* Fill actual_partitions of the topics that already existed from metadata.
 * A topic created moments ago may be missing from the broker's metadata
 * for a little while, so ask again until all are known or the deadline. */
static drv_err_t read_partitions(rd_kafka_t *rk, drv_topic_report_t *rep,
				 size_t cnt, int64_t deadline,
				 char *errstr, size_t errstr_size)
{
	for (;;) {
		const struct rd_kafka_metadata *md = NULL;
		int64_t left = deadline - drv_mono_ms();
		rd_kafka_resp_err_t err;
		size_t unknown = 0;

		err = rd_kafka_metadata(rk, 1, NULL, &md,
					left > 0 ? (int)left : 1);
		if (err)
			return drv_error(errstr, errstr_size, drv_kafka_err(err),
					 "reading topic metadata: %s",
					 rd_kafka_err2str(err));
		for (size_t i = 0; i < cnt; i++) {
			if (rep[i].state != DRV_TOPIC_EXISTS)
				continue;
			for (int t = 0; t < md->topic_cnt; t++)
				if (!strcmp(md->topics[t].topic, rep[i].spec.name) &&
				    !md->topics[t].err)
					rep[i].actual_partitions =
						md->topics[t].partition_cnt;
			unknown += rep[i].actual_partitions < 0;
		}
		rd_kafka_metadata_destroy(md);
		if (unknown == 0 || drv_mono_ms() + 200 >= deadline)
			return DRV_OK;
		usleep(200 * 1000);
	}
}

drv_err_t drv_topics_ensure(rd_kafka_t *rk, const drv_config_t *cfg,
			    int64_t timeout_ms, drv_topic_report_t **out,
			    size_t *cnt, char *errstr, size_t errstr_size)
{
	int64_t deadline = drv_mono_ms() + timeout_ms;
	drv_topic_spec_t *specs;
	drv_topic_report_t *rep;
	rd_kafka_NewTopic_t **nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	size_t n;
	drv_err_t err;
	bool bad = false;

	err = drv_topics_planned(cfg, &specs, &n, errstr, errstr_size);
	if (err)
		return err;
	rep = calloc(n, sizeof(*rep));
	nt = calloc(n, sizeof(*nt));
	if (!rep || !nt) {
		free(specs);
		free(rep);
		free(nt);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		char rderr[256], ret[32];

		rep[i].spec = specs[i];
		rep[i].actual_partitions = -1;
		rep[i].state = DRV_TOPIC_FAILED; /* until the broker says */
		nt[i] = rd_kafka_NewTopic_new(specs[i].name, specs[i].partitions,
					      specs[i].replication,
					      rderr, sizeof(rderr));
		if (!nt[i]) {
			/* the config validated the prefix, so this is a bug */
			drv_strlcpy(rep[i].message, rderr,
				    sizeof(rep[i].message));
			nt[i] = rd_kafka_NewTopic_new("drover-invalid-name", 1,
						      1, NULL, 0);
		}
		if (nt[i] && specs[i].retention_ms > 0) {
			drv_fmt(ret, sizeof(ret), "%lld",
				(long long)specs[i].retention_ms);
			rd_kafka_NewTopic_set_config(nt[i], "retention.ms", ret);
		}
	}
	free(specs);

	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, n, NULL, q);
	ev = admin_wait(q, deadline);
	if (!ev) {
		err = drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
				"no answer from Kafka at %s within %lld ms",
				cfg->kafka.brokers, (long long)timeout_ms);
	} else if (rd_kafka_event_error(ev)) {
		err = drv_error(errstr, errstr_size,
				drv_kafka_err(rd_kafka_event_error(ev)),
				"creating topics: %s",
				rd_kafka_event_error_string(ev));
	} else {
		const rd_kafka_CreateTopics_result_t *res =
			rd_kafka_event_CreateTopics_result(ev);
		size_t rn = 0;
		const rd_kafka_topic_result_t **tr =
			rd_kafka_CreateTopics_result_topics(res, &rn);

		for (size_t r = 0; r < rn; r++) {
			const char *name = rd_kafka_topic_result_name(tr[r]);
			rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(tr[r]);

			for (size_t i = 0; i < n; i++) {
				if (strcmp(rep[i].spec.name, name))
					continue;
				if (!terr) {
					/* metadata may not show it yet */
					rep[i].state = DRV_TOPIC_CREATED;
				}
				else if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
					rep[i].state = DRV_TOPIC_EXISTS;
				else {
					const char *m = rd_kafka_topic_result_error_string(tr[r]);
					rep[i].state = DRV_TOPIC_FAILED;
					drv_strlcpy(rep[i].message,
						    m ? m : rd_kafka_err2str(terr),
						    sizeof(rep[i].message));
				}
			}
		}
		err = read_partitions(rk, rep, n, deadline, errstr, errstr_size);
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	for (size_t i = 0; i < n; i++)
		rd_kafka_NewTopic_destroy(nt[i]);
	free(nt);

	for (size_t i = 0; !err && i < n; i++) {
		if (rep[i].state == DRV_TOPIC_CREATED)
			rep[i].actual_partitions = rep[i].spec.partitions;
		if (rep[i].state == DRV_TOPIC_EXISTS &&
		    rep[i].actual_partitions >= 0 &&
		    rep[i].actual_partitions < rep[i].spec.partitions) {
			rep[i].state = DRV_TOPIC_TOO_FEW_PARTITIONS;
			drv_fmt(rep[i].message, sizeof(rep[i].message),
				"has %d partitions, config asks for %d "
				"(add partitions with Kafka's tools; drover "
				"never does it for you because it changes key "
				"placement)", rep[i].actual_partitions,
				rep[i].spec.partitions);
		}
		if (rep[i].state == DRV_TOPIC_FAILED ||
		    rep[i].state == DRV_TOPIC_TOO_FEW_PARTITIONS)
			bad = true;
	}
	if (!err && bad)
		err = drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
				"some topics are not as the config asks");
	*out = rep;
	*cnt = n;
	return err;
}
