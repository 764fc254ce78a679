/*
 * kafka_acl.c — the ACLs drover needs (drover/kafka_acl.h): derived from
 * the config, and created through the admin API.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/kafka_acl.h"
#include "drover/str.h"

/* Kafka's name of the one cluster resource. */
#define CLUSTER_NAME "kafka-cluster"

typedef struct acl_list {
	drv_kafka_acl_t *v;
	size_t n, cap;
	bool oom;
} acl_list_t;

static void add(acl_list_t *l, rd_kafka_ResourceType_t type,
		rd_kafka_ResourcePatternType_t pattern, const char *name,
		rd_kafka_AclOperation_t op)
{
	drv_kafka_acl_t *a;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		drv_kafka_acl_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	a = &l->v[l->n];
	memset(a, 0, sizeof(*a));
	if (!(a->name = strdup(name))) {
		l->oom = true;
		return;
	}
	a->type = type;
	a->pattern = pattern;
	a->op = op;
	l->n++;
}

/* A consumer group of drover's: joined, committed, tuned. */
static void add_group(acl_list_t *l, const char *group)
{
	add(l, RD_KAFKA_RESOURCE_GROUP, RD_KAFKA_RESOURCE_PATTERN_LITERAL,
	    group, RD_KAFKA_ACL_OPERATION_READ);
	add(l, RD_KAFKA_RESOURCE_GROUP, RD_KAFKA_RESOURCE_PATTERN_LITERAL,
	    group, RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS);
}

drv_err_t drv_kafka_acls_needed(const drv_config_t *cfg,
				drv_kafka_acl_t **out, size_t *cnt,
				char *errstr, size_t errstr_size)
{
	static const rd_kafka_AclOperation_t topic_ops[] = {
		RD_KAFKA_ACL_OPERATION_READ, RD_KAFKA_ACL_OPERATION_WRITE,
		RD_KAFKA_ACL_OPERATION_CREATE,
	};
	const char *prefix = cfg->kafka.topic_prefix;
	acl_list_t l = { 0 };
	char delay[256];

	for (size_t i = 0; i < sizeof(topic_ops) / sizeof(*topic_ops); i++)
		add(&l, RD_KAFKA_RESOURCE_TOPIC,
		    RD_KAFKA_RESOURCE_PATTERN_PREFIXED, prefix, topic_ops[i]);
	for (size_t i = 0; i < cfg->coordinator.event_topic_cnt; i++)
		add(&l, RD_KAFKA_RESOURCE_TOPIC,
		    RD_KAFKA_RESOURCE_PATTERN_LITERAL,
		    cfg->coordinator.event_topics[i],
		    RD_KAFKA_ACL_OPERATION_READ);
	drv_delay_group_name(cfg, delay, sizeof(delay));
	add_group(&l, cfg->worker.group);
	add_group(&l, delay);
	add_group(&l, cfg->coordinator.group);
	add(&l, RD_KAFKA_RESOURCE_GROUP, RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
	    prefix, RD_KAFKA_ACL_OPERATION_READ);
	add(&l, RD_KAFKA_RESOURCE_BROKER, RD_KAFKA_RESOURCE_PATTERN_LITERAL,
	    CLUSTER_NAME, RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE);
	if (l.oom) {
		drv_kafka_acls_free(l.v, l.n);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	*out = l.v;
	*cnt = l.n;
	return DRV_OK;
}

void drv_kafka_acls_free(drv_kafka_acl_t *acls, size_t cnt)
{
	for (size_t i = 0; acls && i < cnt; i++)
		free(acls[i].name);
	free(acls);
}

const char *drv_kafka_acl_type_name(rd_kafka_ResourceType_t t)
{
	return t == RD_KAFKA_RESOURCE_BROKER ? "CLUSTER" :
	       rd_kafka_ResourceType_name(t);
}

/* The CreateAcls answer into acls[].message; false if one was refused. */
static bool read_results(rd_kafka_event_t *ev, drv_kafka_acl_t *acls,
			 size_t cnt)
{
	const rd_kafka_CreateAcls_result_t *res =
		rd_kafka_event_CreateAcls_result(ev);
	size_t n = 0;
	const rd_kafka_acl_result_t **r =
		res ? rd_kafka_CreateAcls_result_acls(res, &n) : NULL;
	bool ok = true;

	/* one result per binding, in order */
	for (size_t i = 0; i < n && i < cnt; i++) {
		const rd_kafka_error_t *e = rd_kafka_acl_result_error(r[i]);

		if (!e)
			continue;
		drv_strlcpy(acls[i].message, rd_kafka_error_string(e),
			    sizeof(acls[i].message));
		ok = false;
	}
	return ok && n == cnt;
}

drv_err_t drv_kafka_acls_apply(rd_kafka_t *rk, const char *principal,
			       drv_kafka_acl_t *acls, size_t cnt,
			       int64_t timeout_ms, char *errstr,
			       size_t errstr_size)
{
	rd_kafka_AclBinding_t **b = calloc(cnt ? cnt : 1, sizeof(*b));
	int64_t deadline = drv_mono_ms() + timeout_ms;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	drv_err_t err = DRV_OK;
	char rderr[256];

	if (!b)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < cnt && !err; i++) {
		b[i] = rd_kafka_AclBinding_new(acls[i].type, acls[i].name,
			acls[i].pattern, principal, "*", acls[i].op,
			RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, rderr,
			sizeof(rderr));
		if (!b[i])
			err = drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					"ACL for %s: %s", principal, rderr);
	}
	if (!err) {
		q = rd_kafka_queue_new(rk);
		rd_kafka_CreateAcls(rk, b, cnt, NULL, q);
		while (!ev && drv_mono_ms() < deadline)
			ev = rd_kafka_queue_poll(q, 500);
		if (!ev)
			err = drv_error(errstr, errstr_size, DRV_ERR_TIMEOUT,
					"no answer from Kafka within %lld ms",
					(long long)timeout_ms);
		else if (rd_kafka_event_error(ev))
			err = drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
					"creating ACLs: %s",
					rd_kafka_event_error_string(ev));
		else if (!read_results(ev, acls, cnt))
			err = drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
					"the broker refused some ACLs");
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	for (size_t i = 0; i < cnt; i++)
		if (b[i])
			rd_kafka_AclBinding_destroy(b[i]);
	free(b);
	return err;
}
