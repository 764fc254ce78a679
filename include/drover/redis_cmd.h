/*
 * drover — one Redis command with drover's error handling, for the core
 * files that keep records in Redis (schedules, webhooks): a failed
 * connection or an error reply becomes a drv_err_t and a message.
 */
#ifndef DROVER_REDIS_CMD_H
#define DROVER_REDIS_CMD_H

#include <stddef.h>

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

#endif /* DROVER_REDIS_CMD_H */
