/*
 * daemon.c — shared start-up for the drover daemons: options, config,
 * logger, signals, and librdkafka's log and error callbacks.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/daemon.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/str.h"

extern char **environ;

static void usage(FILE *out, const char *component)
{
	fprintf(out,
		"usage: drover-%s [-c FILE] [--id ID] [--log-format json|logfmt]\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     drover config (default: $DROVER_CONFIG)\n"
		"      --id ID           instance id in logs and records "
		"(default: host-pid)\n"
		"      --log-format FMT  json or logfmt (overrides log.format)\n"
		"  -h, --help            show this help\n"
		"  -V, --version         print the version\n"
		"\n"
		"Every config key can be overridden with DROVER_<SECTION>_<KEY>.\n"
		"SIGTERM or SIGINT stops gracefully; exit status 0 after a clean "
		"stop, 1 on a fatal error, 2 for bad usage or config.\n",
		component);
}

int drv_daemon_init(drv_daemon_t *d, const char *component,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config",     required_argument, NULL, 'c' },
		{ "id",         required_argument, NULL, 'i' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "help",       no_argument,       NULL, 'h' },
		{ "version",    no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("DROVER_CONFIG"), *fmt = NULL;
	char err[512], host[64] = "host";
	sigset_t set;
	int c;

	memset(d, 0, sizeof(*d));
	d->component = component;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'i':
			drv_strlcpy(d->id, optarg, sizeof(d->id));
			d->id_given = d->id[0] != '\0';
			break;
		case 'f': fmt = optarg; break;
		case 'h': usage(stdout, component); return 0;
		case 'V': {
			char name[64];

			drv_fmt(name, sizeof(name), "drover-%s", component);
			drv_version_print(stdout, name);
			return 0;
		}
		default:
			fprintf(stderr, "drover-%s: unknown option '%s'\n",
				component, argv[optind - 1]);
			usage(stderr, component);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drover-%s: unexpected argument '%s'\n",
			component, argv[optind]);
		usage(stderr, component);
		return 2;
	}
	if (!path || !*path) {
		fprintf(stderr, "drover-%s: no config: pass -c FILE or set "
			"DROVER_CONFIG\n", component);
		usage(stderr, component);
		return 2;
	}
	if (drv_config_load(path, environ, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "drover-%s: %s\n", component, err);
		return 2;
	}
	if (fmt) {
		if (!strcmp(fmt, "json"))
			d->cfg->log.format = DRV_LOG_FORMAT_JSON;
		else if (!strcmp(fmt, "logfmt"))
			d->cfg->log.format = DRV_LOG_FORMAT_LOGFMT;
		else {
			fprintf(stderr, "drover-%s: --log-format must be json "
				"or logfmt, got '%s'\n", component, fmt);
			drv_config_destroy(d->cfg);
			d->cfg = NULL;
			return 2;
		}
	}
	if (!d->id[0]) {
		gethostname(host, sizeof(host) - 1);
		drv_fmt(d->id, sizeof(d->id), "%s-%d", host, (int)getpid());
	}
	drv_log_setup(component, d->cfg->log.level, d->cfg->log.format, 2);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* after the mask: the flusher takes no signal */
	drv_log_buffer(d->cfg->log.buffer_ms);
	return -1;
}

void drv_daemon_release(drv_daemon_t *d)
{
	drv_log_unbuffer();
	drv_config_destroy(d->cfg);
	d->cfg = NULL;
}

int drv_daemon_signal(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &zero);
		if (sig > 0 || errno != EINTR)
			return sig > 0 ? sig : 0;
	}
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
			 const char *buf)
{
	drv_log_level_t l = level <= 3 ? DRV_LOG_ERROR :
			    level <= 4 ? DRV_LOG_WARN :
			    level <= 6 ? DRV_LOG_INFO : DRV_LOG_DEBUG;

	if (drv_log_enabled(l))
		drv_log_kv(l, buf, "source", "librdkafka", "client",
			   rd_kafka_name(rk), "facility", fac, NULL);
}

static int fatal_status, fatal_err;

int drv_daemon_fatal(void)
{
	return __atomic_load_n(&fatal_status, __ATOMIC_RELAXED);
}

#define RESTARTS_MAX       3
#define RESTARTS_WINDOW_MS (10 * 60 * 1000)

int drv_daemon_run(drv_daemon_t *d, int (*run)(drv_daemon_t *d))
{
	int64_t restarted[RESTARTS_MAX] = { 0 }, now;
	int rc;

	for (int r = 0; (rc = run(d)) && drv_daemon_fatal() &&
	     __atomic_load_n(&fatal_err, __ATOMIC_RELAXED) ==
	     RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID; r++) {
		/* restarted[r % RESTARTS_MAX]: when restart r - RESTARTS_MAX
		 * was */
		now = drv_mono_ms();
		if (r >= RESTARTS_MAX &&
		    now - restarted[r % RESTARTS_MAX] < RESTARTS_WINDOW_MS) {
			drv_log_kv(DRV_LOG_ERROR, "fenced off the group again "
				   "and again: is another process running "
				   "with this --id? Stopping", "id", d->id,
				   NULL);
			break;
		}
		restarted[r % RESTARTS_MAX] = now;
		drv_log_kv(DRV_LOG_WARN, "fenced off the group: starting "
			   "again with new consumers", "id", d->id, NULL);
		__atomic_store_n(&fatal_err, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&fatal_status, 0, __ATOMIC_RELAXED);
	}
	return rc;
}

bool drv_daemon_kafka_fatal(rd_kafka_t *rk, rd_kafka_resp_err_t reported)
{
	char why[512];
	rd_kafka_resp_err_t err;
	bool protocol;

	if (reported != RD_KAFKA_RESP_ERR__FATAL)
		return false;
	err = rd_kafka_fatal_error(rk, why, sizeof(why));
	protocol = err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION ||
		   err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
	if (__atomic_exchange_n(&fatal_status, protocol ? 2 : 1,
				__ATOMIC_RELAXED))
		return true;  /* said once */
	__atomic_store_n(&fatal_err, (int)err, __ATOMIC_RELAXED);
	if (err == RD_KAFKA_RESP_ERR_UNRELEASED_INSTANCE_ID)
		drv_log_kv(DRV_LOG_ERROR, "another member of the group still "
			   "holds this --id (a killed process whose session "
			   "has not expired yet): start again after "
			   "kafka.session_timeout, or set "
			   "kafka.static_membership: off",
			   "client", rd_kafka_name(rk), "error", why, NULL);
	else if (protocol)
		drv_log_kv(DRV_LOG_ERROR, DRV_KIP848_UNSUPPORTED,
			   "client", rd_kafka_name(rk), "error", why, NULL);
	else
		drv_log_kv(DRV_LOG_ERROR, "fatal Kafka client error; stopping",
			   "client", rd_kafka_name(rk), "error", why, NULL);
	kill(getpid(), SIGTERM);
	return true;
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
			   void *opaque)
{
	static int64_t last_ms[2];
	int kind = err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? 0 : 1;
	int64_t now = drv_mono_ms();

	(void)opaque;
	drv_kafka_remember_error(err, reason);
	if (drv_daemon_kafka_fatal(rk, err))
		return;
	/* librdkafka keeps reconnecting with backoff; say so, not too often */
	if (now - __atomic_load_n(&last_ms[kind], __ATOMIC_RELAXED) < 30000 &&
	    __atomic_load_n(&last_ms[kind], __ATOMIC_RELAXED) != 0)
		return;
	__atomic_store_n(&last_ms[kind], now, __ATOMIC_RELAXED);
	drv_log_kv(rd_kafka_fatal_error(rk, NULL, 0) ? DRV_LOG_ERROR :
		   DRV_LOG_WARN,
		   "Kafka unreachable or failing; retrying with backoff",
		   "client", rd_kafka_name(rk),
		   "error", rd_kafka_err2name((rd_kafka_resp_err_t)err),
		   "reason", reason, NULL);
}

void drv_daemon_kafka_logging(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
}

rd_kafka_conf_t *drv_daemon_consumer_conf(const drv_daemon_t *d,
					  const char *group,
					  char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = drv_kafka_member_conf_new(d->cfg, group,
		d->id_given ? d->id : NULL, errstr, errstr_size);

	if (conf)
		drv_daemon_kafka_logging(conf);
	return conf;
}

bool drv_daemon_groups_tune(const drv_daemon_t *d, rd_kafka_t *rk,
			    const char *const *groups, size_t group_cnt)
{
	char err[768];
	drv_err_t rc = drv_kafka_groups_tune(rk, d->cfg, groups, group_cnt,
					     err, sizeof(err));

	if (rc == DRV_ERR_UNSUPPORTED) {
		drv_log_kv(DRV_LOG_ERROR, err, NULL);
		__atomic_store_n(&fatal_status, 2, __ATOMIC_RELAXED);
		return false;
	}
	if (rc)
		drv_log_kv(DRV_LOG_WARN, "cannot set the consumer groups' "
			   "session timeout; fail-over takes the broker's "
			   "default (group.consumer.session.timeout.ms)",
			   "error", err, NULL);
	return true;
}
