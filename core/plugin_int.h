/*
 * plugin_int.h — the loaded plugin, shared by the loader (plugin.c) and
 * the bounded call (plugin_call.c). Not part of any public header.
 */
#ifndef DROVER_PLUGIN_INT_H
#define DROVER_PLUGIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "drover/plugin.h"

struct drv_plugin_handle {
	void *dl;                     /* dlopen() handle */
	const drv_plugin_v1_t *v1;    /* the plugin's table, in its memory */
	void *state;                  /* from init() */
	char *handler;                /* handler name, for messages */
	char *path;
	char *name;                   /* table name, else the file name */
	int64_t timeout_ms;           /* the handler's, told to the plugin */
	size_t hung;                  /* atomic: calls given up on that have
					 not returned yet */
};

#endif /* DROVER_PLUGIN_INT_H */
