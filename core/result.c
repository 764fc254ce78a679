/*
 * result.c — the result every handler type reports for one attempt.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/handler.h"

void drv_result_release(drv_result_t *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}
