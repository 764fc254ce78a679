/*
 * digest.c — SHA-256, hex and constant-time comparison over libcrypto, so
 * the rest of drover never touches OpenSSL's API.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "drover/digest.h"

void drv_sha256(const void *data, size_t len,
		unsigned char out[DRV_SHA256_LEN])
{
	unsigned int n = DRV_SHA256_LEN;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
		memset(out, 0, DRV_SHA256_LEN);
}

void drv_hex(const unsigned char *bytes, size_t n, char *buf)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[bytes[i] >> 4];
		buf[2 * i + 1] = digits[bytes[i] & 15];
	}
	buf[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool drv_unhex(const char *hex, unsigned char *out, size_t n)
{
	if (!hex || strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

bool drv_equal_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
