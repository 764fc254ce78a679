/*
 * drover — what drover-worker and drover-coordinator share at start-up and
 * shutdown: command-line options, loading the config (exit 2 with
 * file:line:col on error, before anything starts), the logger, librdkafka's
 * log and error callbacks, and signal handling without async handlers.
 */
#ifndef DROVER_DAEMON_H
#define DROVER_DAEMON_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"

typedef struct drv_daemon {
	const char   *component;   /**< "worker", "coordinator" */
	drv_config_t *cfg;         /**< owned; freed by drv_daemon_release */
	char          id[128];     /**< --id, else "<host>-<pid>" */
} drv_daemon_t;

/**
 * @brief Parse the daemon's options (-c/--config FILE or $DROVER_CONFIG,
 *        --id ID, --log-format, -h/--help, -V/--version), load the config
 *        with DROVER_* overrides and set up the logger. Blocks SIGTERM,
 *        SIGINT and SIGHUP in the calling thread (threads created later
 *        inherit it; see drv_daemon_signal()) and ignores SIGPIPE.
 * @returns -1 to continue; otherwise the exit code to return at once
 *          (0 after --help/--version, 2 for bad usage or bad config, with
 *          the message already printed to stderr).
 */
int drv_daemon_init(drv_daemon_t *d, const char *component,
		    int argc, char **argv);

/** @brief Free what drv_daemon_init() made. */
void drv_daemon_release(drv_daemon_t *d);

/**
 * @brief The pending termination signal (SIGTERM or SIGINT), or 0; never
 *        blocks. SIGHUP is reported too (reload), so callers may ignore it.
 */
int drv_daemon_signal(void);

/**
 * @brief Route librdkafka's log lines and errors for \p conf to the
 *        daemon's logger (errors such as "all brokers down" as warnings,
 *        at most one per kind every 30 s).
 */
void drv_daemon_kafka_logging(rd_kafka_conf_t *conf);

#endif /* DROVER_DAEMON_H */
