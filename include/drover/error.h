/*
 * drover — error codes shared by every part of the core library.
 *
 * Every fallible core function returns a drv_err_t. Functions that can say
 * more than the code also take `char *errstr, size_t errstr_size` and write a
 * NUL-terminated, human-readable message there (truncated to fit) on error.
 * errstr may be NULL when errstr_size is 0.
 */
#ifndef DROVER_ERROR_H
#define DROVER_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The one error enum. 0 is success, every error is negative. */
typedef enum drv_err {
	DRV_OK             =  0,
	DRV_ERR_INVALID    = -1,  /**< bad argument or malformed input */
	DRV_ERR_NOMEM      = -2,  /**< allocation failed */
	DRV_ERR_IO         = -3,  /**< file or pipe I/O failed */
	DRV_ERR_CONFIG     = -4,  /**< configuration is invalid */
	DRV_ERR_DECODE     = -5,  /**< a message could not be decoded */
	DRV_ERR_KAFKA      = -6,  /**< the Kafka client or broker failed */
	DRV_ERR_REDIS      = -7,  /**< Redis failed or is unreachable */
	DRV_ERR_TIMEOUT    = -8,  /**< a bounded wait ran out */
	DRV_ERR_NOT_FOUND  = -9,  /**< the named thing does not exist */
	DRV_ERR_EXISTS     = -10, /**< the named thing already exists */
	DRV_ERR_SYSTEM     = -11, /**< a system call failed (see errno text) */
	DRV_ERR_RANGE      = -12, /**< a value is outside its bounds */
	DRV_ERR_UNSUPPORTED= -13, /**< not supported by this build or version */
} drv_err_t;

/**
 * @brief A short, static description of \p err.
 * @returns a string owned by the library; never NULL.
 */
const char *drv_strerror(drv_err_t err);

/**
 * @brief Write a formatted message to \p errstr and return \p err.
 *
 * The "return drv_error(...)" idiom: one line sets the message and returns the
 * code. Safe with errstr NULL / errstr_size 0.
 */
drv_err_t drv_error(char *errstr, size_t errstr_size, drv_err_t err,
		    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif /* DROVER_ERROR_H */
