/*
 * drover — one Redis command with drover's error handling, for the core
 * files that keep records in Redis (schedules, webhooks): a failed
 * connection or an error reply becomes a drv_err_t and a message.
 */
#ifndef DROVER_REDIS_CMD_H
#define DROVER_REDIS_CMD_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/error.h"

/**
 * @brief Run the command \p fmt (hiredis format) on \p c.
 * @param out  on DRV_OK receives the reply, which the caller frees with
 *             freeReplyObject(); NULL drops it.
 * @returns DRV_OK; the connection's error (drv_redis_err()) when there was
 *          no reply; DRV_ERR_REDIS for an error reply. The message is in
 *          \p errstr.
 * @locality the thread that uses \p c.
 */
drv_err_t drv_redis_cmd(redisContext *c, redisReply **out, char *errstr,
			size_t errstr_size, const char *fmt, ...);

/**
 * @brief The error of a call that did not give the reply wanted: no reply
 *        (the connection's error, drv_redis_err()), an error reply or an
 *        unexpected one (DRV_ERR_REDIS); "redis WHAT: detail" in \p errstr.
 *        Frees \p r (which may be NULL).
 */
drv_err_t drv_redis_fail(redisContext *c, redisReply *r, const char *what,
			 char *errstr, size_t errstr_size);

/** A Lua script run by its SHA1 (EVALSHA), learnt from Redis on first use
 *  and kept for the process (the same on every server). Define one static
 *  per script with DRV_REDIS_SCRIPT_INIT(source). */
typedef struct drv_redis_script {
	const char *src;   /**< the Lua source; static */
	char sha[41];      /**< "" until SCRIPT LOAD told it */
} drv_redis_script_t;
#define DRV_REDIS_SCRIPT_INIT(source) { (source), "" }

/** Arguments (keys and values) drv_redis_script_run() passes without an
 *  allocation; more are allocated. */
#define DRV_REDIS_SCRIPT_ARGS 80

/**
 * @brief Run \p s with \p argc arguments \p argv, the first \p nkeys of
 *        them keys: EVALSHA (SCRIPT LOAD first when its SHA is not known
 *        yet), EVAL when Redis answers NOSCRIPT (a restarted Redis).
 * @param min_elements  the reply must be an array of at least this many.
 * @param what  names the script in messages ("breaker script").
 * @param out   on DRV_OK receives the reply (freeReplyObject()).
 * @returns DRV_OK, the connection's error or DRV_ERR_REDIS, with errstr.
 * @locality the thread that uses \p c; \p s may be shared by threads.
 */
drv_err_t drv_redis_script_run(redisContext *c, drv_redis_script_t *s,
			       int nkeys, int argc, const char **argv,
			       size_t min_elements, const char *what,
			       redisReply **out, char *errstr,
			       size_t errstr_size);

/** @brief drv_redis_script_run() with binary arguments: \p argvlen (NULL:
 *         every argument is a C string) gives each argument's length. */
drv_err_t drv_redis_script_runv(redisContext *c, drv_redis_script_t *s,
				int nkeys, int argc, const char **argv,
				const size_t *argvlen, size_t min_elements,
				const char *what, redisReply **out,
				char *errstr, size_t errstr_size);

/** @brief The value of field \p name in the reply \p h of an HGETALL (an
 *         array of field, value, ...); NULL when it is not there. Borrowed
 *         from \p h. */
const char *drv_redis_hash_field(const redisReply *h, const char *name);

/** @brief Element \p i of array reply \p r as an integer (an integer or a
 *         number in a string); 0 when absent or anything else. */
int64_t drv_redis_int_at(const redisReply *r, size_t i);

#endif /* DROVER_REDIS_CMD_H */
