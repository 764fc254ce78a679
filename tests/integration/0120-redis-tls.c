/*
 * 0120 — Redis over TLS and as a Redis 6 ACL user, against a redis-server
 * this test starts itself on free loopback ports (one plain, one TLS) with
 * certificates it makes with openssl: drv_redis_connect() over rediss://
 * runs commands; a wrong CA, a wrong server name and a missing CA file fail
 * with a clear reason; a client certificate is presented when configured;
 * the least-privilege ACL user of docs/redis.md connects (plain and TLS),
 * may use drover's keys and no others, and a wrong password is refused.
 * Needs redis-server (>= 6, built with TLS: Debian 12's 7.0 is) and
 * openssl; not the stack.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drover/config.h"
#include "drover/redis.h"
#include "drover/str.h"

/* The rule docs/redis.md documents for drover's user (keep in step). */
#define DROVER_ACL \
	"resetkeys ~drover:* resetchannels &drover:* -@all +auth +ping " \
	"+select +time +get +set +del +exists +mget +incr +hget +hset " \
	"+hsetnx +hmset +hmget +hgetall +hdel +hexists +hincrby +hkeys " \
	"+hvals +lpush +rpush +lrange +lindex +ltrim +sadd +srem +smembers " \
	"+sismember +zadd +zrem +zrange +zrangebyscore +zrevrangebyscore " \
	"+zrangebylex +zrevrangebylex +zremrangebyscore +zremrangebyrank " \
	"+zscore +zcard +zcount +hlen +bitfield +bitop +type +pexpire " \
	"+pttl +publish " \
	"+subscribe +multi +exec +eval +evalsha +script|load"

static char dir[64];
static int port, tls_port;
static pid_t server = -1;

static int sh(const char *cmd)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Loads a config holding \p redis_yaml (the redis: section's body). */
static drv_config_t *config(const char *redis_yaml)
{
	char text[2048], err[512] = "";
	drv_config_t *cfg = NULL;

	drv_fmt(text, sizeof(text), "redis:\n%s", redis_yaml);
	cr_assert_eq(drv_config_load_string("t.yaml", text, strlen(text), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	return cfg;
}

/* drv_redis_connect() with \p redis_yaml; the error code, errstr in
 * \p err, the context in \p out (or NULL). */
static drv_err_t try_connect(const char *redis_yaml, redisContext **out,
			     char *err, size_t err_size)
{
	drv_config_t *cfg = config(redis_yaml);
	drv_err_t rc;

	*out = NULL;
	err[0] = '\0';
	rc = drv_redis_connect(cfg, out, err, err_size);
	drv_config_destroy(cfg);
	return rc;
}

static void setup(void)
{
	char cmd[4096], conf[4096], path[128];
	FILE *f;

	drv_strlcpy(dir, "/tmp/drover-it-tls-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	/* a CA, a server certificate for localhost and 127.0.0.1, a client
	 * certificate, and another CA that signed none of them */
	drv_fmt(cmd, sizeof(cmd),
		"set -e; cd %s; exec >openssl.log 2>&1; ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
		"openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=drover-test-ca\n"
		"openssl req -x509 $ec -keyout other.key -out other.pem -days 2 -subj /CN=other-ca\n"
		"openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost\n"
		"printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext\n"
		"openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext\n"
		"openssl req $ec -keyout client.key -out client.csr -subj /CN=drover\n"
		"openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2\n",
		dir);
	cr_assert_eq(sh(cmd), 0, "openssl failed");

	port = free_port();
	do
		tls_port = free_port();
	while (tls_port == port);
	drv_fmt(conf, sizeof(conf),
		"bind 127.0.0.1\nport %d\ntls-port %d\ndir %s\n"
		"save \"\"\nappendonly no\n"
		"tls-cert-file %s/server.pem\ntls-key-file %s/server.key\n"
		"tls-ca-cert-file %s/ca.pem\ntls-auth-clients optional\n"
		"user default on nopass ~* &* +@all\n"
		"user drover on >s3cret " DROVER_ACL "\n",
		port, tls_port, dir, dir, dir, dir);
	drv_fmt(path, sizeof(path), "%s/redis.conf", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(conf, f);
	fclose(f);

	server = fork();
	if (server == 0) {
		char log[128];
		FILE *lf;

		drv_fmt(log, sizeof(log), "%s/redis.log", dir);
		if ((lf = freopen(log, "w", stdout)))
			dup2(fileno(lf), STDERR_FILENO);
		execlp("redis-server", "redis-server", path, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(server, 0);
	for (int i = 0; i < 100; i++) {
		char yaml[128], err[256];
		redisContext *c;

		drv_fmt(yaml, sizeof(yaml), "  url: redis://127.0.0.1:%d\n",
			port);
		if (!try_connect(yaml, &c, err, sizeof(err))) {
			redisFree(c);
			return;
		}
		sleep_ms(50);
	}
	cr_assert_fail("redis-server did not start (see %s/redis.log)", dir);
}

static void teardown(void)
{
	char cmd[128];

	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = -1;
	}
	if (dir[0]) {
		drv_fmt(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		sh(cmd);
	}
}

TestSuite(redis_tls, .init = setup, .fini = teardown, .timeout = 60);

/* "  url: rediss://HOST:TLS_PORT\n  tls_ca_file: DIR/CA\n" + extra */
static void tls_yaml(char *buf, size_t size, const char *userinfo,
		     const char *host, const char *ca, const char *extra)
{
	drv_fmt(buf, size, "  url: rediss://%s%s:%d\n  tls_ca_file: %s/%s\n%s",
		userinfo, host, tls_port, dir, ca, extra);
}

Test(redis_tls, connects_over_tls_and_runs_commands)
{
	char yaml[512], err[512], extra[256];
	redisContext *c;
	redisReply *r;

	tls_yaml(yaml, sizeof(yaml), "", "127.0.0.1", "ca.pem", "");
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_OK, "%s",
		     err);
	r = redisCommand(c, "SET drover:tls hello");
	cr_assert(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = redisCommand(c, "GET drover:tls");
	cr_assert(r && r->type == REDIS_REPLY_STRING);
	cr_assert_str_eq(r->str, "hello");
	freeReplyObject(r);
	redisFree(c);

	/* by name, with a client certificate the server checks */
	drv_fmt(extra, sizeof(extra), "  tls_cert_file: %s/client.pem\n"
		"  tls_key_file: %s/client.key\n", dir, dir);
	tls_yaml(yaml, sizeof(yaml), "", "localhost", "ca.pem", extra);
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_OK, "%s",
		     err);
	redisFree(c);
}

Test(redis_tls, wrong_ca_fails_clearly)
{
	char yaml[512], err[512];
	redisContext *c;

	tls_yaml(yaml, sizeof(yaml), "", "127.0.0.1", "other.pem", "");
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_ERR_REDIS);
	cr_assert_null(c);
	cr_assert(strstr(err, "TLS handshake with Redis at 127.0.0.1:") &&
		  strstr(err, "certificate verify failed") &&
		  strstr(err, "redis.tls_ca_file"), "%s", err);

	/* verification off: connects to anyone (tests only) */
	tls_yaml(yaml, sizeof(yaml), "", "127.0.0.1", "other.pem",
		 "  tls_verify: false\n");
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_OK, "%s",
		     err);
	redisFree(c);
}

Test(redis_tls, wrong_server_name_fails)
{
	char yaml[512], err[512];
	redisContext *c;

	tls_yaml(yaml, sizeof(yaml), "", "127.0.0.1", "ca.pem",
		 "  tls_server_name: redis.example.com\n");
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_ERR_REDIS);
	cr_assert(strstr(err, "certificate verify failed") &&
		  strstr(err, "mismatch"), "%s", err);
}

Test(redis_tls, missing_ca_file_is_a_config_error)
{
	char yaml[512], err[512];
	redisContext *c;

	tls_yaml(yaml, sizeof(yaml), "", "127.0.0.1", "no-such.pem", "");
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_ERR_CONFIG);
	cr_assert(strstr(err, "redis.tls_ca_file") &&
		  strstr(err, "no-such.pem"), "%s", err);
}

Test(redis_tls, plain_client_on_the_tls_port_fails)
{
	char yaml[512], err[512];
	redisContext *c;

	drv_fmt(yaml, sizeof(yaml), "  url: redis://127.0.0.1:%d\n"
		"  connect_timeout: 500ms\n", tls_port);
	cr_assert_neq(try_connect(yaml, &c, err, sizeof(err)), DRV_OK);
}

/* The ACL user may use drover's keys and channels, nothing else. */
static void expect_least_privilege(redisContext *c)
{
	redisReply *r = redisCommand(c, "ACL WHOAMI");

	cr_assert(r && r->type == REDIS_REPLY_ERROR, "ACL WHOAMI allowed");
	freeReplyObject(r);
	r = redisCommand(c, "HSET drover:breaker:x state closed");
	cr_assert(r && r->type == REDIS_REPLY_INTEGER, "%s",
		  r ? r->str : "no reply");
	freeReplyObject(r);
	r = redisCommand(c, "EVAL %s 1 drover:x",
			 "return redis.call('SET', KEYS[1], 'v')");
	cr_assert(r && r->type == REDIS_REPLY_STATUS, "%s",
		  r ? r->str : "no reply");
	freeReplyObject(r);
	r = redisCommand(c, "SET other:x 1");
	cr_assert(r && r->type == REDIS_REPLY_ERROR &&
		  strstr(r->str, "NOPERM"), "SET outside the prefix allowed");
	freeReplyObject(r);
	r = redisCommand(c, "FLUSHALL");
	cr_assert(r && r->type == REDIS_REPLY_ERROR &&
		  strstr(r->str, "NOPERM"), "FLUSHALL allowed");
	freeReplyObject(r);
	r = redisCommand(c, "PUBLISH other 1");
	cr_assert(r && r->type == REDIS_REPLY_ERROR, "PUBLISH elsewhere");
	freeReplyObject(r);
}

Test(redis_tls, acl_user_connects_with_least_privilege)
{
	char yaml[512], err[512];
	redisContext *c;

	drv_fmt(yaml, sizeof(yaml), "  url: redis://drover:s3cret@127.0.0.1:%d"
		"\n", port);
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_OK, "%s",
		     err);
	expect_least_privilege(c);
	redisFree(c);

	/* the same user over TLS, its password from redis.password */
	tls_yaml(yaml, sizeof(yaml), "drover:wrong@", "127.0.0.1", "ca.pem",
		 "  password: s3cret\n");
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_OK, "%s",
		     err);
	expect_least_privilege(c);
	redisFree(c);
}

Test(redis_tls, acl_wrong_password_fails)
{
	char yaml[512], err[512];
	redisContext *c;

	drv_fmt(yaml, sizeof(yaml), "  url: redis://drover:nope@127.0.0.1:%d"
		"\n", port);
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_ERR_REDIS);
	cr_assert_null(c);
	cr_assert(strstr(err, "redis AUTH: WRONGPASS"), "%s", err);
	cr_assert_null(strstr(err, "nope"), "the password leaked: %s", err);
	/* before ACL users, the user name was dropped: `default` with the
	 * password would have been tried; now the user itself must exist */
	drv_fmt(yaml, sizeof(yaml), "  url: redis://nobody:s3cret@127.0.0.1:%d"
		"\n", port);
	cr_assert_eq(try_connect(yaml, &c, err, sizeof(err)), DRV_ERR_REDIS);
}
