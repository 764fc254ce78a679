/*
 * error.c — the one table of error texts, and the errstr helper every core
 * function uses to say more than its code.
 */
#include <stdarg.h>
#include <stdio.h>

#include "drover/error.h"
#include "drover/str.h"

const char *drv_strerror(drv_err_t err)
{
	switch (err) {
	case DRV_OK:              return "success";
	case DRV_ERR_INVALID:     return "invalid argument or input";
	case DRV_ERR_NOMEM:       return "out of memory";
	case DRV_ERR_IO:          return "I/O error";
	case DRV_ERR_CONFIG:      return "invalid configuration";
	case DRV_ERR_DECODE:      return "message could not be decoded";
	case DRV_ERR_KAFKA:       return "Kafka error";
	case DRV_ERR_REDIS:       return "Redis error";
	case DRV_ERR_TIMEOUT:     return "timed out";
	case DRV_ERR_NOT_FOUND:   return "not found";
	case DRV_ERR_EXISTS:      return "already exists";
	case DRV_ERR_SYSTEM:      return "system call failed";
	case DRV_ERR_RANGE:       return "value out of range";
	case DRV_ERR_UNSUPPORTED: return "not supported";
	}
	return "unknown error";
}

drv_err_t drv_error(char *errstr, size_t errstr_size, drv_err_t err,
		    const char *fmt, ...)
{
	va_list ap;

	if (errstr && errstr_size > 0) {
		va_start(ap, fmt);
		drv_vfmt(errstr, errstr_size, fmt, ap);
		va_end(ap);
	}
	return err;
}
