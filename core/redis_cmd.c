/*
 * redis_cmd.c — one Redis command, its failure mapped to drv_err_t (see
 * include/drover/redis_cmd.h); shared by the files that keep records in
 * Redis.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

drv_err_t drv_redis_cmd(redisContext *c, redisReply **out, char *errstr,
			size_t errstr_size, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		return drv_error(errstr, errstr_size, drv_redis_err(c),
				 "redis: %s", c->errstr);
	if (r->type == REDIS_REPLY_ERROR) {
		drv_error(errstr, errstr_size, DRV_ERR_REDIS, "redis: %s",
			  r->str);
		freeReplyObject(r);
		return DRV_ERR_REDIS;
	}
	if (out)
		*out = r;
	else
		freeReplyObject(r);
	return DRV_OK;
}

static pthread_mutex_t sha_lock = PTHREAD_MUTEX_INITIALIZER;

drv_err_t drv_redis_fail(redisContext *c, redisReply *r, const char *what,
			 char *errstr, size_t errstr_size)
{
	drv_err_t err;

	if (!r)
		err = drv_error(errstr, errstr_size, drv_redis_err(c),
				"redis %s: %s", what, c->errstr);
	else
		err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
				"redis %s: %s", what,
				r->type == REDIS_REPLY_ERROR ? r->str :
				"unexpected reply");
	freeReplyObject(r);
	return err;
}

drv_err_t drv_redis_script_run(redisContext *c, drv_redis_script_t *s,
			       int nkeys, int argc, const char **argv,
			       size_t min_elements, const char *what,
			       redisReply **out, char *errstr,
			       size_t errstr_size)
{
	return drv_redis_script_runv(c, s, nkeys, argc, argv, NULL,
				     min_elements, what, out, errstr,
				     errstr_size);
}

drv_err_t drv_redis_script_runv(redisContext *c, drv_redis_script_t *s,
				int nkeys, int argc, const char **argv,
				const size_t *argvlen, size_t min_elements,
				const char *what, redisReply **out,
				char *errstr, size_t errstr_size)
{
	const char *sav[DRV_REDIS_SCRIPT_ARGS + 3], **av = sav;
	size_t savlen[DRV_REDIS_SCRIPT_ARGS + 3], *avlen = savlen;
	char sha[41], nk[12];
	redisReply *r;
	drv_err_t rc = DRV_OK;

	pthread_mutex_lock(&sha_lock);
	memcpy(sha, s->sha, sizeof(sha));
	pthread_mutex_unlock(&sha_lock);
	if (!sha[0]) {
		r = redisCommand(c, "SCRIPT LOAD %s", s->src);
		if (!r || r->type != REDIS_REPLY_STRING || r->len != 40)
			return drv_redis_fail(c, r, "SCRIPT LOAD", errstr,
					   errstr_size);
		memcpy(sha, r->str, 40);
		sha[40] = '\0';
		freeReplyObject(r);
		pthread_mutex_lock(&sha_lock);
		memcpy(s->sha, sha, sizeof(sha));
		pthread_mutex_unlock(&sha_lock);
	}
	/* many arguments (a batch of keys) on the heap */
	if (argc > DRV_REDIS_SCRIPT_ARGS &&
	    (!(av = malloc((size_t)(argc + 3) * sizeof(*av))) ||
	     !(avlen = malloc((size_t)(argc + 3) * sizeof(*avlen))))) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	drv_fmt(nk, sizeof(nk), "%d", nkeys);
	av[0] = "EVALSHA";
	av[1] = sha;
	av[2] = nk;
	for (int i = 0; i < argc; i++) {
		av[i + 3] = argv[i];
		avlen[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	for (int i = 0; i < 3; i++)
		avlen[i] = strlen(av[i]);
	r = redisCommandArgv(c, argc + 3, av, avlen);
	if (r && r->type == REDIS_REPLY_ERROR &&
	    !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		av[0] = "EVAL";
		av[1] = s->src;
		avlen[0] = 4;
		avlen[1] = strlen(s->src);
		r = redisCommandArgv(c, argc + 3, av, avlen);
	}
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < min_elements)
		rc = drv_redis_fail(c, r, what, errstr, errstr_size);
	else
		*out = r;
out:
	if (av != sav)
		free((void *)av);
	if (avlen != savlen)
		free(avlen);
	return rc;
}

int64_t drv_redis_int_at(const redisReply *r, size_t i)
{
	if (!r || i >= r->elements)
		return 0;
	if (r->element[i]->type == REDIS_REPLY_INTEGER)
		return r->element[i]->integer;
	if (r->element[i]->type == REDIS_REPLY_STRING)
		return strtoll(r->element[i]->str, NULL, 10);
	return 0;
}

const char *drv_redis_hash_field(const redisReply *h, const char *name)
{
	for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements;
	     i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(h->element[i]->str, name) &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING)
			return h->element[i + 1]->str;
	return NULL;
}
