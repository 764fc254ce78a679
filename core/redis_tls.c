/*
 * redis_tls.c — TLS for rediss:// on a connected hiredis context. drover
 * makes the OpenSSL objects itself (rather than redisCreateSSLContext) so
 * that the server's host name is checked too, not only its chain, and so a
 * failed handshake says why (the certificate check's own reason).
 */
#include <arpa/inet.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/hiredis_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "drover/redis.h"
#include "drover/str.h"
#include "redis_tls.h"

static bool is_set(const char *s)
{
	return s && *s;
}

/* The first OpenSSL error queued, as text (or \p dflt). */
static const char *ssl_reason(char *buf, size_t size, const char *dflt)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (!e)
		return dflt;
	ERR_error_string_n(e, buf, size);
	return buf;
}

static bool is_ip(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 ||
	       inet_pton(AF_INET6, host, addr) == 1;
}

/* The SSL_CTX of cfg->redis.tls_*; NULL with errstr set. */
static SSL_CTX *make_ctx(const drv_config_t *cfg, drv_err_t *err,
			 char *errstr, size_t errstr_size)
{
	const char *ca = cfg->redis.tls_ca_file, *cert = cfg->redis.tls_cert_file,
		   *key = cfg->redis.tls_key_file;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[256];

	*err = DRV_ERR_CONFIG;
	if (!ctx) {
		*err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "redis TLS: %s", ssl_reason(why, sizeof(why),
							     "out of memory"));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (cfg->redis.tls_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (is_set(ca) ? !SSL_CTX_load_verify_locations(ctx, ca, NULL)
			       : !SSL_CTX_set_default_verify_paths(ctx)) {
			drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				  "redis.tls_ca_file '%s': cannot load the CA "
				  "certificates: %s", is_set(ca) ? ca :
				  "(system default)",
				  ssl_reason(why, sizeof(why), "unknown"));
			goto fail;
		}
	}
	if (is_set(cert) != is_set(key)) {
		drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
			  "redis.tls_cert_file and redis.tls_key_file go "
			  "together: set both or neither");
		goto fail;
	}
	if (is_set(cert) &&
	    (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
			  "redis.tls_cert_file '%s' / redis.tls_key_file "
			  "'%s': %s", cert, key,
			  ssl_reason(why, sizeof(why), "cannot be used"));
		goto fail;
	}
	*err = DRV_OK;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

drv_err_t drv_redis_tls_start(redisContext *c, const drv_config_t *cfg,
			      const char *host, int port, char *errstr,
			      size_t errstr_size)
{
	const char *name = is_set(cfg->redis.tls_server_name) ?
			   cfg->redis.tls_server_name : host;
	char why[256];
	drv_err_t err;
	SSL_CTX *ctx = make_ctx(cfg, &err, errstr, errstr_size);
	SSL *ssl;
	long vr;

	if (!ctx)
		return err;
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the SSL holds its own reference */
	if (!ssl)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "redis TLS: out of memory");
	if (!is_ip(name))
		SSL_set_tlsext_host_name(ssl, name);
	if (cfg->redis.tls_verify &&
	    (is_ip(name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
							 name) != 1
			 : SSL_set1_host(ssl, name) != 1)) {
		SSL_free(ssl);
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "redis TLS: bad server name '%s'", name);
	}
	if (redisInitiateSSL(c, ssl) == REDIS_OK)
		return DRV_OK; /* hiredis owns ssl now */
	/* on failure hiredis leaves ssl to us */
	vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK)
		err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
				"TLS handshake with Redis at %s:%d failed: "
				"certificate verify failed: %s (check "
				"redis.tls_ca_file and redis.tls_server_name)",
				host, port, X509_verify_cert_error_string(vr));
	else
		err = drv_error(errstr, errstr_size, drv_redis_err(c),
				"TLS handshake with Redis at %s:%d failed: %s",
				host, port, c->errstr[0] ? c->errstr
				: ssl_reason(why, sizeof(why), "unknown"));
	SSL_free(ssl);
	ERR_clear_error();
	return err;
}
