/*
 * main.c — drover-worker: consumes tasks from the band topics and runs them
 * through their handlers. See worker.h for the threading model.
 */
#include "drover/daemon.h"
#include "worker.h"

int main(int argc, char **argv)
{
	drv_daemon_t d;
	int rc = drv_daemon_init(&d, "worker", argc, argv);

	if (rc >= 0)
		return rc;
	rc = drv_daemon_run(&d, worker_run);
	drv_daemon_release(&d);
	return rc;
}
