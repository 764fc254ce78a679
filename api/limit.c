/*
 * limit.c — the API's rate limits: one token bucket per token and route
 * class, holding at most one second of its rate and refilled continuously.
 * What a check returns is what the RateLimit header fields report.
 */
#include <math.h>
#include <stdlib.h>

#include "api_int.h"

bool api_limits_init(api_limits_t *l, const drv_config_t *cfg, size_t cnt)
{
	size_t n = (cnt ? cnt : 1) * API_CLASS_CNT;

	l->cnt = cnt;
	l->rate[API_READ] = (double)cfg->api.read_rate;
	l->rate[API_WRITE] = (double)cfg->api.write_rate;
	l->level = calloc(n, sizeof(*l->level));
	l->at_us = calloc(n, sizeof(*l->at_us));
	if (!l->level || !l->at_us)
		return false;
	for (size_t i = 0; i < n; i++) {
		l->level[i] = l->rate[i % API_CLASS_CNT];
		l->at_us[i] = -1;
	}
	pthread_mutex_init(&l->lock, NULL);
	return true;
}

void api_limits_release(api_limits_t *l)
{
	if (l->level)
		pthread_mutex_destroy(&l->lock);
	free(l->level);
	free(l->at_us);
	l->level = NULL;
	l->at_us = NULL;
}

api_quota_t api_limits_take(api_limits_t *l, size_t token, api_class_t cls,
			    int64_t now_us)
{
	size_t i = token * API_CLASS_CNT + cls;
	double rate = l->rate[cls], level;
	api_quota_t q = { .limit = (long)rate };

	pthread_mutex_lock(&l->lock);
	level = l->level[i];
	if (l->at_us[i] >= 0 && now_us > l->at_us[i])
		level += rate * (double)(now_us - l->at_us[i]) / 1e6;
	if (level > rate)
		level = rate;
	l->at_us[i] = now_us;
	q.allowed = level >= 1.0;
	if (q.allowed)
		level -= 1.0;
	l->level[i] = level;
	pthread_mutex_unlock(&l->lock);
	q.remaining = (long)floor(level);
	/* refused: until one request's worth is back; else until full */
	q.reset_s = (long)ceil(((q.allowed ? rate : 1.0) - level) / rate);
	if (!q.allowed && q.reset_s < 1)
		q.reset_s = 1;
	return q;
}
