/*
 * redis_tls.h — TLS on a connected hiredis context (rediss://). Never
 * installed, never included outside core/.
 */
#ifndef DROVER_REDIS_TLS_H
#define DROVER_REDIS_TLS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "drover/config.h"
#include "drover/error.h"

/**
 * @brief Runs the TLS handshake on \p c (connected to \p host : \p port,
 *        blocking, its timeout set) with cfg->redis.tls_*: the server's
 *        chain checked against tls_ca_file (or the system's CAs) and its
 *        name against tls_server_name (or \p host) unless tls_verify is
 *        off; a client certificate when tls_cert_file is set.
 * @returns DRV_OK; DRV_ERR_CONFIG when a file cannot be used;
 *          DRV_ERR_REDIS or DRV_ERR_TIMEOUT when the handshake fails; the
 *          reason in \p errstr. \p c stays the caller's either way.
 */
drv_err_t drv_redis_tls_start(redisContext *c, const drv_config_t *cfg,
			      const char *host, int port, char *errstr,
			      size_t errstr_size);

#endif
