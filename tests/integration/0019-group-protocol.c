/*
 * 0019 — kafka.group_protocol consumer (KIP-848) against the stack's
 * broker: on Kafka 4.x a worker joins and runs a task; on Kafka 3.x, which
 * has no KIP-848 groups, it stops at start-up with exit status 2 and a
 * message naming the setting to change, instead of waiting for partitions
 * that never come.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

/* The major version of the stack's broker (scripts/stack writes it), or 0
 * when unknown. */
static int broker_major(void)
{
	const char *dir = getenv("DROVER_STACK_DIR");
	char path[400], *text;
	int major = 0;

	if (!dir)
		return 0;
	drv_fmt(path, sizeof(path), "%s/kafka.version", dir);
	if ((text = it_read(path)))
		major = atoi(text);
	free(text);
	return major;
}

Test(group_protocol, consumer_runs_on_4x_and_stops_clearly_on_3x,
     .timeout = 120)
{
	it_ctx_t ctx;
	char id[32], log[400];
	int major = broker_major(), status = -1;
	pid_t w;

	cr_assert(major > 0, "no kafka.version in $DROVER_STACK_DIR (run "
		  "through scripts/test)");
	setenv("DROVER_KAFKA_GROUP_PROTOCOL", "consumer", 1);
	it_setup(&ctx, "  rec:\n    shell: true\n"
		       "    command: 'echo \"run $DROVER_TASK_ID\" >> "
		       "\"$OUT\"'\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	drv_fmt(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	if (major >= 4) {
		it_submit(&ctx, id, "rec", NULL);
		cr_assert_eq(it_wait_count(&ctx, "run ", id, 1, 60000), 1,
			     "the KIP-848 worker never ran the task; see %s",
			     log);
		cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	} else {
		for (int i = 0; i < 300 && waitpid(w, &status, WNOHANG) != w;
		     i++)
			usleep(100 * 1000);
		if (status == -1)
			it_stop(w, SIGKILL, 5000);
		cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 2,
			  "Kafka %d: the worker should stop with status 2; "
			  "see %s", major, log);
		cr_assert(it_wait_file(log, "set kafka.group_protocol: "
				       "classic", 1000),
			  "no message naming the setting; see %s", log);
	}
	unsetenv("DROVER_KAFKA_GROUP_PROTOCOL");
	it_teardown(&ctx);
}
