/*
 * drover — the HTTP API (`/api/v1`, docs/api.md): every coordinator serves
 * it on api.host:api.port, leader or not. It reads and writes Kafka and
 * Redis like droverctl does, through the same core calls; requests carry a
 * bearer token of `api_tokens:` and are rate-limited per token.
 */
#ifndef DROVER_API_H
#define DROVER_API_H

#include <stddef.h>

#include "drover/config.h"
#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A running API server. Opaque. */
typedef struct drv_api drv_api_t;

/**
 * @brief Start serving the API of \p cfg on api.host:api.port with
 *        api.threads threads, a Kafka producer and a Redis connection per
 *        thread (made on first use: Redis being down fails requests, not
 *        the start).
 * @param cfg  taken: the server owns it from this call on (success or
 *             not) and frees it in drv_api_stop(); give it a config of its
 *             own, not one a reload may free.
 * @param out  receives the server; untouched on error.
 * @returns DRV_OK; DRV_ERR_IO (cannot bind), DRV_ERR_CONFIG (TLS files
 *          unreadable), DRV_ERR_KAFKA, DRV_ERR_SYSTEM, DRV_ERR_NOMEM, with
 *          \p errstr saying why.
 * @locality any thread.
 */
drv_err_t drv_api_start(drv_config_t *cfg, drv_api_t **out, char *errstr,
			size_t errstr_size);

/** @brief The port \p a listens on (the kernel's pick for port 0). */
unsigned drv_api_port(const drv_api_t *a);

/** @brief The folder of the web console \p a serves at / (api.console_dir
 *         resolved), or NULL when it serves none; then \p why (may be
 *         NULL) receives the reason. Both borrowed from \p a. */
const char *drv_api_console_dir(const drv_api_t *a, const char **why);

/** @brief Stop serving (requests in progress finish first), then free the
 *         server and its config. NULL is a no-op. */
void drv_api_stop(drv_api_t *a);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_API_H */
