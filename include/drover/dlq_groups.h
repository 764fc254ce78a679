/*
 * drover — DLQ failure groups: dead letters grouped by handler, error class
 * and normalised message, with counts, first / last seen and sample ids,
 * read from an index the workers keep in Redis (so a page costs the page,
 * not a scan of the DLQ topic). `droverctl dlq groups` and
 * GET /api/v1/dlq/groups both call drv_dlq_groups_page().
 *
 * A group's key is (handler, class, normalised message): the handler of the
 * dead letter's task ("" when it did not decode), the failure class of its
 * last failure ("transient", "timeout"...; the dead letter's reason when
 * it has no failure: "undecodable", "handler_unknown", "skipped"...) and
 * the last failure's message (else the dead letter's detail) with what
 * differs from one occurrence to the next replaced by placeholders
 * (drv_dlq_normalise()). Its id is the first 8 bytes of the SHA-256 of the
 * three, in hex: stable across processes and releases.
 *
 * Keys, with P = redis.key_prefix (written by the worker's state writer,
 * drv_state_dead_letter(), one Lua script per dead letter):
 *
 *   P dlq:group:<id>           hash: handler, class, message (normalised),
 *                              sample_message (the raw message of the
 *                              latest), count, first_seen, last_seen (ms)
 *   P dlq:group:<id>:samples   list: "<dead letter id> <task id>" of the
 *                              latest DRV_DLQ_GROUP_SAMPLES, newest first
 *   P dlq:groups               sorted set: group ids by last_seen
 *   P dlq:groups:handler:<h>   the same, for one handler
 *
 * Every write sets the group's keys to expire kafka.dlq_retention after it
 * (a group lives while its newest dead letter can still be on the topic)
 * and drops members older than that from both sorted sets. The index is
 * best effort: the DLQ topic is the record, and a dead letter whose index
 * write failed (Redis down too long) is counted in
 * drover_dlq_group_index_total{result="failed"}. Resubmitting a group's
 * entries does not lower its count (it counts dead letters that happened).
 */
#ifndef DROVER_DLQ_GROUPS_H
#define DROVER_DLQ_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "drover/config.h"
#include "drover/dead_letter.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest normalised message, in bytes (without the NUL). */
#define DRV_DLQ_GROUP_MSG_MAX 200
/** Longest sample message kept, in bytes (without the NUL). */
#define DRV_DLQ_GROUP_SAMPLE_MAX 1024
/** Hex digits of a group id. */
#define DRV_DLQ_GROUP_ID_LEN 16
/** Sample dead letters kept per group. */
#define DRV_DLQ_GROUP_SAMPLES 20
/** Groups per page unless asked, and at most. */
#define DRV_DLQ_GROUPS_DEFAULT 50
#define DRV_DLQ_GROUPS_MAX 500
/** Most groups looked at for one page (a class filter may skip some). */
#define DRV_DLQ_GROUPS_SCAN 5000

/**
 * @brief Normalise the error message \p msg into \p out (\p size bytes, at
 *        least 2): numbers become `<n>`, hex numbers and hex ids `<hex>`,
 *        UUIDs `<uuid>`, long ids of letters and digits (ULIDs, tokens)
 *        `<id>`, IPv4 addresses with or without a port `<addr>`, quoted
 *        strings `<str>`, URL query strings `?<query>`, bytes that are
 *        not UTF-8 `?`; whitespace runs
 *        become one space, and the result is cut at a UTF-8 boundary to at
 *        most DRV_DLQ_GROUP_MSG_MAX bytes. NULL reads as "".
 *        "connection refused to 10.0.0.3:5432 after 1500 ms" gives
 *        "connection refused to <addr> after <n> ms".
 * @returns the length written (without the NUL). Thread-safe.
 */
size_t drv_dlq_normalise(const char *msg, char *out, size_t size);

/** A dead letter's group. Strings borrowed from the dead letter but for
 *  message and id. */
typedef struct drv_dlq_group_key {
	char        id[DRV_DLQ_GROUP_ID_LEN + 1];
	const char *handler;   /**< "" when the dead letter has none */
	const char *class;     /**< failure class name, or the reason's */
	const char *raw;       /**< the message as it was; "" for none */
	char        message[DRV_DLQ_GROUP_MSG_MAX + 1]; /**< normalised */
} drv_dlq_group_key_t;

/**
 * @brief The group of \p dl into \p k (see the top of this file). \p k
 *        borrows from \p dl, which must outlive its use.
 */
void drv_dlq_group_of(const drv_dead_letter_t *dl, drv_dlq_group_key_t *k);

/** @brief The id of group (\p handler, \p class, \p message) into \p id
 *         (DRV_DLQ_GROUP_ID_LEN + 1 bytes); \p message is normalised
 *         already. */
void drv_dlq_group_id(const char *handler, const char *class,
		      const char *message, char *id);

/** @brief True when \p s has the shape of a group id (16 lower-case hex
 *         digits). */
bool drv_dlq_group_id_valid(const char *s);

/** @brief The group's hash key "P dlq:group:<id>" into \p buf; false when
 *         it does not fit. */
bool drv_dlq_group_key_name(const char *prefix, const char *id, char *buf,
			    size_t size);

/** One page of groups, most recently seen first. Owned; release with
 *  drv_dlq_groups_release(). */
typedef struct drv_dlq_groups {
	json_t *groups;   /**< array of drv_dlq_group_get()'s objects, with
			       the 5 newest samples each */
	char   *next;     /**< cursor of the next page; NULL at the end */
} drv_dlq_groups_t;

/**
 * @brief One page of groups from the index on \p c, newest last_seen
 *        first, from \p cursor on, with \p handler and \p class (either
 *        may be NULL = any) matching. A group seen again while a client
 *        pages moves to the front: the pages are a view of the moment each
 *        was read. At most DRV_DLQ_GROUPS_SCAN groups are looked at per
 *        page, so a narrow class filter may give a short page with a
 *        cursor to go on from.
 * @param cursor  NULL or "" for the first page, else a drv_dlq_groups_t.next
 * @param limit   1..DRV_DLQ_GROUPS_MAX.
 * @param out     zeroed first; the caller releases it, also on error.
 * @returns DRV_OK, DRV_ERR_INVALID (bad cursor or limit; the reason in
 *          \p errstr), a Redis error or DRV_ERR_NOMEM.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_dlq_groups_page(redisContext *c, const drv_config_t *cfg,
			      const char *handler, const char *class,
			      const char *cursor, size_t limit,
			      drv_dlq_groups_t *out, char *errstr,
			      size_t errstr_size);

/** @brief Free what \p g owns and zero it; \p g itself is not freed. */
void drv_dlq_groups_release(drv_dlq_groups_t *g);

/**
 * @brief Group \p id with all its samples: {"id", "handler", "class",
 *        "message", "sample_message", "count", "first_seen_ms",
 *        "first_seen", "last_seen_ms", "last_seen", "samples": [{"id",
 *        "task_id", "resubmitted_task_id" (the task its resubmission
 *        sent, from its mark; null when it was not resubmitted),
 *        "discarded" (its mark is a discard mark, drover/dlq.h)}]}.
 * @param out  receives a new reference on DRV_OK (json_decref()).
 * @returns DRV_OK, DRV_ERR_NOT_FOUND (no such group: never seen, or
 *          expired), DRV_ERR_INVALID (not a group id), a Redis error or
 *          DRV_ERR_NOMEM, with \p errstr set.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_dlq_group_get(redisContext *c, const drv_config_t *cfg,
			    const char *id, json_t **out, char *errstr,
			    size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DLQ_GROUPS_H */
