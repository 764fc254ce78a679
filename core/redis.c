/*
 * redis.c — parsing redis.url and opening an authenticated connection:
 * TCP (TLS for rediss://, through redis_tls.c) or a unix socket, then AUTH
 * as the URL's ACL user or the default user, SELECT and PING.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "drover/redis.h"
#include "drover/str.h"
#include "redis_tls.h"

drv_err_t drv_redis_parse_url(const char *url, drv_redis_addr_t *a,
			      char *errstr, size_t errstr_size)
{
	char *p, *at, *slash, *colon;
	int64_t num;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (drv_strlcpy(a->buf, url, sizeof(a->buf)) >= sizeof(a->buf))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "redis URL too long");
	if (!strncmp(a->buf, "unix://", 7)) {
		char *q;

		a->path = a->buf + 7;
		if ((q = strstr(a->buf + 7, "?db="))) {
			*q = '\0';
			if (drv_parse_int(q + 4, 0, 1000, &num))
				return drv_error(errstr, errstr_size,
						 DRV_ERR_INVALID, "redis URL "
						 "'%s': bad db", url);
			a->db = (int)num;
		}
		if (!*a->path)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "redis URL '%s': no socket path", url);
		return DRV_OK;
	}
	if (!strncmp(a->buf, "rediss://", 9)) {
		a->tls = true;
		p = a->buf + 9;
	} else if (!strncmp(a->buf, "redis://", 8)) {
		p = a->buf + 8;
	} else {
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "redis URL '%s' must start with redis://, "
				 "rediss:// or unix://", url);
	}
	if ((at = strrchr(p, '@'))) {
		*at = '\0';
		/* user:password (an ACL user), :password, or password */
		if ((colon = strchr(p, ':'))) {
			*colon = '\0';
			a->user = *p ? p : NULL;
			a->password = colon + 1;
		} else {
			a->password = p;
		}
		p = at + 1;
	}
	if ((slash = strchr(p, '/'))) {
		*slash = '\0';
		if (slash[1] && drv_parse_int(slash + 1, 0, 1000, &num))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "redis URL '%s': bad db number", url);
		a->db = slash[1] ? (int)num : 0;
	}
	if ((colon = strrchr(p, ':'))) {
		*colon = '\0';
		if (drv_parse_int(colon + 1, 1, 65535, &num))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "redis URL '%s': bad port", url);
		a->port = (int)num;
	}
	if (!*p)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "redis URL '%s': no host", url);
	a->host = p;
	return DRV_OK;
}

drv_err_t drv_redis_err(const redisContext *c)
{
	if (!c)
		return DRV_ERR_NOMEM;
	switch (c->err) {
	case 0:            return DRV_OK;
	case REDIS_ERR_OOM: return DRV_ERR_NOMEM;
	case REDIS_ERR_IO:
		return strstr(c->errstr, "timed out") ? DRV_ERR_TIMEOUT :
		       DRV_ERR_REDIS;
	default:           return DRV_ERR_REDIS;
	}
}

/* Run a command of up to three words (NULL ends them) that must not answer
 * an error; the error names only \p cmd, never an argument (a password). */
static drv_err_t expect_ok(redisContext *c, char *errstr, size_t errstr_size,
			   const char *cmd, const char *arg, const char *arg2)
{
	const char *argv[3] = { cmd, arg, arg2 };
	int argc = !arg ? 1 : !arg2 ? 2 : 3;
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	drv_err_t err = DRV_OK;

	if (!r)
		err = drv_error(errstr, errstr_size, drv_redis_err(c),
				"redis %s: %s", cmd, c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
				"redis %s: %s", cmd, r->str);
	freeReplyObject(r);
	return err;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

drv_err_t drv_redis_conf_copy(drv_redis_conf_t *dst, const drv_config_t *cfg)
{
	const drv_redis_conf_t zero = { .url = NULL };

	*dst = zero;
	dst->url = drv_strdup(cfg->redis.url ? cfg->redis.url : "");
	dst->password = drv_strdup(cfg->redis.password ? cfg->redis.password
						       : "");
	dst->prefix = drv_strdup(cfg->redis.key_prefix ? cfg->redis.key_prefix
						       : "");
	dst->tls_ca_file = drv_strdup(or_empty(cfg->redis.tls_ca_file));
	dst->tls_cert_file = drv_strdup(or_empty(cfg->redis.tls_cert_file));
	dst->tls_key_file = drv_strdup(or_empty(cfg->redis.tls_key_file));
	dst->tls_server_name =
		drv_strdup(or_empty(cfg->redis.tls_server_name));
	if (!dst->url || !dst->password || !dst->prefix ||
	    !dst->tls_ca_file || !dst->tls_cert_file || !dst->tls_key_file ||
	    !dst->tls_server_name)
		return DRV_ERR_NOMEM;
	dst->cfg.redis = cfg->redis;
	dst->cfg.redis.url = dst->url;
	dst->cfg.redis.password = dst->password;
	dst->cfg.redis.key_prefix = dst->prefix;
	dst->cfg.redis.tls_ca_file = dst->tls_ca_file;
	dst->cfg.redis.tls_cert_file = dst->tls_cert_file;
	dst->cfg.redis.tls_key_file = dst->tls_key_file;
	dst->cfg.redis.tls_server_name = dst->tls_server_name;
	return DRV_OK;
}

void drv_redis_conf_free(drv_redis_conf_t *c)
{
	free(c->url);
	free(c->password);
	free(c->prefix);
	free(c->tls_ca_file);
	free(c->tls_cert_file);
	free(c->tls_key_file);
	free(c->tls_server_name);
	c->url = c->password = c->prefix = NULL;
	c->tls_ca_file = c->tls_cert_file = c->tls_key_file = NULL;
	c->tls_server_name = NULL;
}

drv_err_t drv_redis_connect(const drv_config_t *cfg, redisContext **out,
			    char *errstr, size_t errstr_size)
{
	int64_t ms = cfg->redis.connect_timeout_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	drv_redis_addr_t a;
	redisContext *c;
	const char *password;
	char db[16];
	drv_err_t err;

	err = drv_redis_parse_url(cfg->redis.url, &a, errstr, errstr_size);
	if (err)
		return err;
	c = a.path ? redisConnectUnixWithTimeout(a.path, tv)
		   : redisConnectWithTimeout(a.host, a.port, tv);
	if (!c || c->err) {
		err = drv_error(errstr, errstr_size, drv_redis_err(c),
				"cannot connect to Redis at %s: %s",
				a.path ? a.path : a.host,
				c ? c->errstr : "out of memory");
		redisFree(c);
		return err;
	}
	redisSetTimeout(c, tv);
	password = cfg->redis.password && *cfg->redis.password ?
		   cfg->redis.password : a.password;
	if (a.tls)
		err = drv_redis_tls_start(c, cfg, a.host, a.port, errstr,
					  errstr_size);
	if (!err && password && a.user)
		err = expect_ok(c, errstr, errstr_size, "AUTH", a.user,
				password);
	else if (!err && password)
		err = expect_ok(c, errstr, errstr_size, "AUTH", password, NULL);
	if (!err && a.db) {
		drv_fmt(db, sizeof(db), "%d", a.db);
		err = expect_ok(c, errstr, errstr_size, "SELECT", db, NULL);
	}
	if (!err)
		err = expect_ok(c, errstr, errstr_size, "PING", NULL, NULL);
	if (err) {
		redisFree(c);
		return err;
	}
	*out = c;
	return DRV_OK;
}
