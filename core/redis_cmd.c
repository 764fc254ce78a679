/*
 * redis_cmd.c — one Redis command, its failure mapped to drv_err_t (see
 * include/drover/redis_cmd.h); shared by the files that keep records in
 * Redis.
 */
#include <stdarg.h>

#include "drover/redis.h"
#include "drover/redis_cmd.h"

drv_err_t drv_redis_cmd(redisContext *c, redisReply **out, char *errstr,
			size_t errstr_size, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		return drv_error(errstr, errstr_size, drv_redis_err(c),
				 "redis: %s", c->errstr);
	if (r->type == REDIS_REPLY_ERROR) {
		drv_error(errstr, errstr_size, DRV_ERR_REDIS, "redis: %s",
			  r->str);
		freeReplyObject(r);
		return DRV_ERR_REDIS;
	}
	if (out)
		*out = r;
	else
		freeReplyObject(r);
	return DRV_OK;
}
