/*
 * redis.c — parsing redis.url and opening an authenticated connection:
 * TCP (TLS for rediss://, through redis_tls.c) or a unix socket, then AUTH
 * as the URL's ACL user or the default user, SELECT and PING.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config_int.h"
#include "drover/digest.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "redis_tls.h"

/* Decode the %XX escapes of \p s in place (a password may hold '@', ':'
 * or '/' only escaped); false on a bad escape. */
static bool unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		char hex[3];
		unsigned char c;

		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		if (!s[1] || !s[2])
			return false;
		memcpy(hex, s + 1, 2);
		hex[2] = '\0';
		if (!drv_unhex(hex, &c, 1) || !c)
			return false;
		*out++ = (char)c;
		s += 2;
	}
	*out = '\0';
	return true;
}

/* The number of \p s within [\p min, \p max] into *out. */
static bool number(const char *s, int64_t min, int64_t max, int *out)
{
	int64_t v;

	if (!*s || strspn(s, "0123456789") != strlen(s) ||
	    drv_parse_int(s, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

#define BAD(...) drv_error(errstr, errstr_size, DRV_ERR_INVALID, \
			   "'%s' " __VA_ARGS__)

drv_err_t drv_redis_parse_url(const char *url, drv_redis_addr_t *a,
			      char *errstr, size_t errstr_size)
{
	char shown[256], *p, *at, *slash, *colon;

	drv_cfg_redact_url(url, shown, sizeof(shown));
	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (drv_strlcpy(a->buf, url, sizeof(a->buf)) >= sizeof(a->buf))
		return BAD("is longer than %zu bytes", shown,
			   sizeof(a->buf) - 1);
	if (!strncmp(a->buf, "unix://", 7)) {
		char *q;

		a->path = a->buf + 7;
		if ((q = strstr(a->path, "?db="))) {
			*q = '\0';
			if (!number(q + 4, 0, INT32_MAX, &a->db))
				return BAD("has a bad database number", shown);
		}
		if (*a->path != '/' || !a->path[1])
			return BAD("has no socket path (unix:///path/to/"
				   "redis.sock)", shown);
		return DRV_OK;
	}
	if (!strncmp(a->buf, "rediss://", 9)) {
		a->tls = true;
		p = a->buf + 9;
	} else if (!strncmp(a->buf, "redis://", 8)) {
		p = a->buf + 8;
	} else {
		return BAD("must start with redis://, rediss:// or unix:// "
			   "(redis[s]://[[user]:password@]host[:port][/db] or "
			   "unix:///path)", shown);
	}
	if (strpbrk(p, "?#"))
		return BAD("has a query string or a fragment, which are not "
			   "supported", shown);
	if ((slash = strchr(p, '/'))) {
		*slash = '\0';
		if (slash[1] && !number(slash + 1, 0, INT32_MAX, &a->db))
			return BAD("has a bad database number", shown);
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
		if ((a->user && !unescape(p)) ||
		    !unescape((char *)a->password))
			return BAD("has a bad %%XX escape in its user or "
				   "password", shown);
		p = at + 1;
	}
	if (*p == '[') {  /* [IPv6 address] */
		char *rb = strchr(p, ']');

		if (!rb)
			return BAD("has an unclosed '[' in its host", shown);
		*rb = '\0';
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] && !colon)
			return BAD("has a bad host", shown);
		p++;
	} else if ((colon = strrchr(p, ':'))) {
		*colon = '\0';
	}
	if (colon && !number(colon + 1, 1, 65535, &a->port))
		return BAD("has a bad port (expected 1 to 65535)", shown);
	if (!*p)
		return BAD("has no host", shown);
	a->host = p;
	return DRV_OK;
}

#undef BAD

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
