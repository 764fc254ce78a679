/*
 * drover — Redis connections from the drover config. hiredis errors are
 * mapped to drv_err_t here and only here.
 */
#ifndef DROVER_REDIS_H
#define DROVER_REDIS_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"

/** The config's redis.* copied, for an object that outlives the config. */
typedef struct drv_redis_conf {
	drv_config_t cfg;     /**< only redis.* set, pointing at the copies
				   below: pass it to drv_redis_connect() */
	char *url, *password, *prefix;  /**< owned; "" when unset */
} drv_redis_conf_t;

/**
 * @brief Copy \p cfg's redis.* into \p dst (which is zeroed first).
 * @returns DRV_OK or DRV_ERR_NOMEM. Free \p dst with
 *          drv_redis_conf_free() either way.
 */
drv_err_t drv_redis_conf_copy(drv_redis_conf_t *dst, const drv_config_t *cfg);

/** @brief Free what drv_redis_conf_copy() made; \p c may be zeroed. */
void drv_redis_conf_free(drv_redis_conf_t *c);

/** A parsed redis.url. Strings point into \p buf; nothing to free. */
typedef struct drv_redis_addr {
	char  buf[512];
	const char *host;      /**< NULL for a unix socket */
	int   port;
	const char *path;      /**< unix socket path, or NULL */
	const char *password;  /**< from the URL, NULL if none */
	int   db;
} drv_redis_addr_t;

/**
 * @brief Parse redis://[:password@]host[:port][/db] or unix:///path[?db=N].
 * @returns DRV_OK or DRV_ERR_INVALID with the reason in \p errstr.
 */
drv_err_t drv_redis_parse_url(const char *url, drv_redis_addr_t *out,
			      char *errstr, size_t errstr_size);

/**
 * @brief Connect to the configured Redis within redis.connect_timeout,
 *        authenticate (redis.password wins over the URL's) and select the
 *        database.
 * @param out  receives a context the caller frees with redisFree().
 * @returns DRV_OK, DRV_ERR_REDIS (refused, auth failed) or DRV_ERR_TIMEOUT.
 */
drv_err_t drv_redis_connect(const drv_config_t *cfg, redisContext **out,
			    char *errstr, size_t errstr_size);

/** @brief Map a failed context's err to drv_err_t. */
drv_err_t drv_redis_err(const redisContext *c);

#endif /* DROVER_REDIS_H */
