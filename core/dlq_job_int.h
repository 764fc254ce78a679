/*
 * dlq_job_int.h — what the job record (dlq_job.c) shares with the job
 * runner (dlq_job_run.c): the keys and the one state change both make.
 */
#ifndef DROVER_DLQ_JOB_INT_H
#define DROVER_DLQ_JOB_INT_H

#include "drover/dlq_job.h"

/** @brief The key of job \p id with \p suffix ("", ":failures",
 *         ":lease") into \p buf. */
void dlq_job_key(const drv_config_t *cfg, const char *id, const char *suffix,
		 char *buf, size_t size);

/** @brief The set of the jobs not ended (pending, running, paused): what
 *         runners look at. */
void dlq_job_active_key(const drv_config_t *cfg, char *buf, size_t size);

/** @brief The states in \p mask (bits of drv_dlq_job_state_t) go to
 *         \p to, atomically: updated_ms = \p now_ms; a final state also
 *         sets ended_ms and the keys' expiry; \p fields (n "name", "value"
 *         pairs, n even, may be 0) are set with it.
 *  @param was  the state found (-1: no such job).
 *  @returns DRV_OK (also when refused: *was not in \p mask), a Redis
 *           error. */
drv_err_t dlq_job_move(const drv_config_t *cfg, redisContext *c,
		       const char *id, unsigned mask, drv_dlq_job_state_t to,
		       int64_t now_ms, const char **fields, int n, int *was,
		       char *errstr, size_t errstr_size);

/** @brief A state from its name; -1 when unknown. */
int dlq_job_state_parse(const char *s);

#define DLQ_JOB_BIT(s) (1u << (s))

#endif /* DROVER_DLQ_JOB_INT_H */
