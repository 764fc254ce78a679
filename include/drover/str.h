/*
 * drover — bounded string helpers. The project never uses sprintf, strcpy,
 * strtok or atoi; these are what it uses instead.
 */
#ifndef DROVER_STR_H
#define DROVER_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"

/**
 * @brief Copy \p src into \p dst of \p size bytes, always NUL-terminating.
 * @returns strlen(src); a result >= size means the copy was truncated.
 */
size_t drv_strlcpy(char *dst, const char *src, size_t size);

/** @brief Is \p s a name of a handler, policy, breaker or schedule: 1 to
 *         64 of a-z 0-9 _ . - ? */
bool drv_name_valid(const char *s);

/**
 * @brief vsnprintf that reports truncation.
 * @returns true if the whole formatted string fit in \p buf.
 */
bool drv_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool drv_vfmt(char *buf, size_t size, const char *fmt, va_list ap);

/**
 * @brief strdup that returns NULL for a NULL input.
 * @returns a heap copy the caller frees with free(), or NULL.
 */
char *drv_strdup(const char *s);

/**
 * @brief Parse a whole string as a signed decimal integer within [min, max].
 * @returns DRV_OK, DRV_ERR_INVALID (not a number, trailing text) or
 *          DRV_ERR_RANGE. \p out is untouched on error.
 */
drv_err_t drv_parse_int(const char *s, int64_t min, int64_t max,
			int64_t *out);

/**
 * @brief Parse a boolean: true/false, yes/no, on/off, 1/0 (any case).
 */
drv_err_t drv_parse_bool(const char *s, bool *out);

/**
 * @brief Parse a duration such as "250ms", "30s", "5m", "2h", "30d" or a bare
 *        number of milliseconds ("1500"). Compound forms ("1m30s") are
 *        accepted.
 * @returns DRV_OK with the value in milliseconds, or DRV_ERR_INVALID /
 *          DRV_ERR_RANGE.
 */
drv_err_t drv_parse_duration(const char *s, int64_t *ms_out);

/**
 * @brief Format a millisecond duration in the largest exact unit
 *        ("30s", "1500ms", "30d").
 */
void drv_format_duration(int64_t ms, char *buf, size_t size);

/**
 * A growable byte buffer, kept NUL-terminated. Embedded: zero it to start;
 * free(b.p) when done (p is malloc'd and owned by whoever holds the buffer).
 */
typedef struct drv_buf {
	char  *p;
	size_t len, cap;
	size_t max_cap;  /**< 0: grow freely; else grow to at most this, or
			      to what one addition needs when that is more */
	bool   oom;      /**< an addition failed: later ones do nothing */
} drv_buf_t;

/** @brief Append \p n bytes of \p s. @returns false (and sets oom) when out
 *         of memory, or when an earlier addition was. */
bool drv_buf_add(drv_buf_t *b, const void *s, size_t n);

/**
 * @brief Levenshtein edit distance between two short strings (used to
 *        suggest the closest valid key or command). Strings longer than 64
 *        bytes compare as very distant.
 */
int drv_edit_distance(const char *a, const char *b);

/**
 * @brief Standard base64 (RFC 4648, with padding) of \p len bytes.
 * @returns a malloc'd NUL-terminated string the caller frees, or NULL when
 *          out of memory.
 */
char *drv_base64_encode(const void *data, size_t len);

/**
 * @brief Decode standard base64 (padding optional, no whitespace).
 * @param out  receives a malloc'd buffer (NUL-terminated for convenience)
 *             the caller frees; untouched on error.
 * @returns DRV_OK, DRV_ERR_INVALID (a character outside the alphabet or a
 *          bad length) or DRV_ERR_NOMEM.
 */
drv_err_t drv_base64_decode(const char *s, size_t len, uint8_t **out,
			    size_t *out_len);

/**
 * @brief Length of the valid UTF-8 sequence at \p p, whose lead byte is
 *        >= 0x80 (2 to 4), or 0 when it is not one: overlong forms,
 *        surrogates and code points above U+10FFFF are not. Reads no
 *        further than the first byte that is not a continuation byte, so a
 *        NUL-terminated string is safe.
 */
size_t drv_utf8_len(const unsigned char *p);

#endif /* DROVER_STR_H */
