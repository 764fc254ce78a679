/*
 * drover — SHA-256 (OpenSSL's libcrypto), hex and
 * constant-time comparison: what API tokens need.
 */
#ifndef DROVER_DIGEST_H
#define DROVER_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_SHA256_LEN 32

/** @brief SHA-256 of \p len bytes at \p data into \p out. */
void drv_sha256(const void *data, size_t len,
		unsigned char out[DRV_SHA256_LEN]);

/** @brief \p n bytes as lower-case hex into \p buf (2n+1 bytes). */
void drv_hex(const unsigned char *bytes, size_t n, char *buf);

/** @brief Parse exactly 2n hex digits (any case) of \p hex into \p out.
 *  @returns false when \p hex is not that. */
bool drv_unhex(const char *hex, unsigned char *out, size_t n);

/** @brief Compare \p n bytes in time that does not depend on where they
 *         differ. True when equal. */
bool drv_equal_ct(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DIGEST_H */
