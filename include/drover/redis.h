/*
 * drover — Redis connections from the drover config: plain TCP, TLS
 * (`rediss://`, redis.tls_*) or a unix socket, authenticated as a Redis 6
 * ACL user (`AUTH user password`) or with the default user's password.
 * hiredis errors are mapped to drv_err_t here and only here.
 */
#ifndef DROVER_REDIS_H
#define DROVER_REDIS_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"

/** The config's redis.* copied, for an object that outlives the config. */
typedef struct drv_redis_conf {
	drv_config_t cfg;     /**< only redis.* set, pointing at the copies
				   below: pass it to drv_redis_connect() */
	char *url, *password, *prefix;  /**< owned; "" when unset */
	char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;
					/**< owned; "" when unset */
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
	const char *user;      /**< ACL user from the URL, NULL if none */
	const char *password;  /**< from the URL, NULL if none */
	int   db;
	bool  tls;             /**< rediss:// */
} drv_redis_addr_t;

/**
 * @brief Parse redis[s]://[[user]:password@]host[:port][/db] or
 *        unix:///path[?db=N]. `redis://secret@host` (no colon) is a
 *        password for the default user, as before ACL users existed.
 * @returns DRV_OK or DRV_ERR_INVALID with the reason in \p errstr.
 */
drv_err_t drv_redis_parse_url(const char *url, drv_redis_addr_t *out,
			      char *errstr, size_t errstr_size);

/**
 * @brief Connect to the configured Redis within redis.connect_timeout,
 *        start TLS for rediss:// (redis.tls_*: verified chain and host
 *        name by default), authenticate (as the URL's ACL user when it
 *        names one; redis.password wins over the URL's password) and
 *        select the database.
 * @param out  receives a context the caller frees with redisFree().
 * @returns DRV_OK, DRV_ERR_REDIS (refused, TLS failed, auth failed),
 *          DRV_ERR_TIMEOUT, or DRV_ERR_CONFIG (a TLS file that cannot be
 *          read), with the reason in \p errstr.
 */
drv_err_t drv_redis_connect(const drv_config_t *cfg, redisContext **out,
			    char *errstr, size_t errstr_size);

/** @brief Map a failed context's err to drv_err_t. */
drv_err_t drv_redis_err(const redisContext *c);

#endif /* DROVER_REDIS_H */
