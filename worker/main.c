/*
 * main.c — drover-worker: consumes tasks from the band topics and runs them
 * through their handlers. See worker.h for the threading model.
 *
 * A worker fenced off its group (FENCED_INSTANCE_ID: its session lapsed
 * and it came back under its --id as a new member, which fences the old
 * one) stops as for SIGTERM and starts again in this process, with new
 * consumers, rather than exiting: a pod that exits is restarted with a
 * growing back-off. At most RESTARTS_MAX times within RESTARTS_WINDOW_MS,
 * so two processes given the same --id do not fence each other forever:
 * then it exits with status 1.
 */
#include "drover/clock.h"
#include "drover/daemon.h"
#include "drover/log.h"
#include "worker.h"

#define RESTARTS_MAX       3
#define RESTARTS_WINDOW_MS (10 * 60 * 1000)

int main(int argc, char **argv)
{
	int64_t restarted[RESTARTS_MAX] = { 0 }, now;
	drv_daemon_t d;
	int rc = drv_daemon_init(&d, "worker", argc, argv);

	if (rc >= 0)
		return rc;
	for (int r = 0; (rc = worker_run(&d)) && drv_daemon_fenced(); r++) {
		/* restarted[r % RESTARTS_MAX]: when restart r - RESTARTS_MAX
		 * was */
		now = drv_mono_ms();
		if (r >= RESTARTS_MAX &&
		    now - restarted[r % RESTARTS_MAX] < RESTARTS_WINDOW_MS) {
			drv_log_kv(DRV_LOG_ERROR, "fenced off the group again "
				   "and again: is another worker running with "
				   "this --id? Stopping", "id", d.id, NULL);
			break;
		}
		restarted[r % RESTARTS_MAX] = now;
		drv_log_kv(DRV_LOG_WARN, "fenced off the group: starting "
			   "again with new consumers", "id", d.id, NULL);
		drv_daemon_fatal_clear();
	}
	drv_daemon_release(&d);
	return rc;
}
