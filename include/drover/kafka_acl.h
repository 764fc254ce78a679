/*
 * drover — the Kafka ACLs drover needs, derived from its config, for a
 * broker that runs an authorizer: listed by `droverctl topics acls` (and
 * docs/kafka.md), created with `--apply` by someone allowed to.
 *
 * For one principal (e.g. "User:drover"), every grant is ALLOW from any
 * host:
 *
 *   TOPIC  PREFIXED kafka.topic_prefix   READ, WRITE, CREATE
 *          (every drover topic: bands, delay tiers, DLQ, events, audit;
 *          READ and WRITE imply DESCRIBE; CREATE is for `topics ensure`)
 *   TOPIC  LITERAL  each coordinator.event_topics entry   READ
 *   GROUP  LITERAL  worker.group, its ".delay" group, coordinator.group
 *                   READ (join, commit, fetch offsets), ALTER_CONFIGS
 *                   (the consumer protocol's session timeout; without it
 *                   `topics ensure` only warns)
 *   GROUP  PREFIXED kafka.topic_prefix   READ (droverctl's readers)
 *   CLUSTER         IDEMPOTENT_WRITE (the idempotent producers; brokers
 *                   before 3.0 ask for it, later ones imply it by WRITE)
 */
#ifndef DROVER_KAFKA_ACL_H
#define DROVER_KAFKA_ACL_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One grant. The strings are owned by the list. */
typedef struct drv_kafka_acl {
	rd_kafka_ResourceType_t        type;     /**< TOPIC, GROUP, BROKER */
	rd_kafka_ResourcePatternType_t pattern;  /**< LITERAL, PREFIXED */
	char                          *name;     /**< "kafka-cluster" for
						      the cluster */
	rd_kafka_AclOperation_t        op;
	char                           message[256]; /**< --apply: the
						      broker's refusal, or "" */
} drv_kafka_acl_t;

/**
 * @brief The grants \p cfg needs, in a stable order.
 * @param out  on DRV_OK, an array of *cnt grants freed with
 *             drv_kafka_acls_free().
 * @returns DRV_OK or DRV_ERR_NOMEM.
 */
drv_err_t drv_kafka_acls_needed(const drv_config_t *cfg,
				drv_kafka_acl_t **out, size_t *cnt,
				char *errstr, size_t errstr_size);

/** @brief Free what drv_kafka_acls_needed() made. NULL is a no-op. */
void drv_kafka_acls_free(drv_kafka_acl_t *acls, size_t cnt);

/** @brief "TOPIC", "GROUP" or "CLUSTER" (librdkafka's BROKER is Kafka's
 *         CLUSTER resource); the pattern and operation names are
 *         librdkafka's (rd_kafka_ResourcePatternType_name(),
 *         rd_kafka_AclOperation_name()). A static string. */
const char *drv_kafka_acl_type_name(rd_kafka_ResourceType_t t);

/**
 * @brief Create \p acls for \p principal ("User:NAME") on the brokers of
 *        \p rk (CreateAcls; an existing grant is not an error).
 *
 * The client needs ALTER on the cluster. A grant the broker refuses gets
 * its message in acls[i].message.
 * @returns DRV_OK when every grant was created; DRV_ERR_KAFKA when one was
 *          refused (see the messages) or the call failed; DRV_ERR_TIMEOUT.
 * @locality any thread; blocks up to \p timeout_ms.
 */
drv_err_t drv_kafka_acls_apply(rd_kafka_t *rk, const char *principal,
			       drv_kafka_acl_t *acls, size_t cnt,
			       int64_t timeout_ms, char *errstr,
			       size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_KAFKA_ACL_H */
