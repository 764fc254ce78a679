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
	bool          id_given;    /**< --id was given: a stable id, used as
				        the static group member id */
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

/**
 * @brief The conf of a consumer that subscribes to \p group:
 *        drv_kafka_member_conf_new() with the daemon's --id as its static
 *        member id (when given), logging through the daemon's logger.
 * @returns a conf the caller owns, or NULL with \p errstr set.
 */
rd_kafka_conf_t *drv_daemon_consumer_conf(const drv_daemon_t *d,
					  const char *group,
					  char *errstr, size_t errstr_size);

/**
 * @brief drv_kafka_groups_tune() for \p groups through \p rk, logging a
 *        warning (with the broker settings to change) when the broker
 *        refuses: fail-over then takes the broker's default session.
 * @returns false, with an error logged, when the brokers have no KIP-848
 *          groups at all under kafka.group_protocol consumer: the daemon
 *          must not start (exit 2, a config mismatch).
 */
bool drv_daemon_groups_tune(const drv_daemon_t *d, rd_kafka_t *rk,
			    const char *const *groups, size_t group_cnt);

/**
 * @brief When \p reported is RD_KAFKA_RESP_ERR__FATAL (from an error
 *        callback or a consumer message), log \p rk's fatal error once,
 *        with what to change when the cause is the group protocol or a
 *        static member id still held, and raise SIGTERM so the daemon
 *        stops; see drv_daemon_fatal().
 * @returns true when it was a fatal error.
 */
bool drv_daemon_kafka_fatal(rd_kafka_t *rk, rd_kafka_resp_err_t reported);

/**
 * @brief 0 while no Kafka client of the process hit a fatal error; else the
 *        exit status to stop with: 2 when the brokers refused the
 *        configured group protocol (a config mismatch, already logged with
 *        the setting to change), 1 otherwise. A fatal error also raises
 *        SIGTERM, which drv_daemon_signal() then reports.
 */
int drv_daemon_fatal(void);

/**
 * @brief Run the daemon: \p run(\p d) starts it, serves until
 *        drv_daemon_signal() says stop, stops it and returns its exit
 *        status. When it stopped because its group fenced it off
 *        (FENCED_INSTANCE_ID: its session lapsed and it rejoined under
 *        its --id, which fences the old member), \p run is called again
 *        rather than exiting (a pod that exits is restarted with a
 *        growing back-off), at most 3 times within 10 minutes: more means
 *        two processes share one --id and fence each other.
 * @returns the exit status of the last \p run.
 */
int drv_daemon_run(drv_daemon_t *d, int (*run)(drv_daemon_t *d));

#endif /* DROVER_DAEMON_H */
