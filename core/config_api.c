/*
 * config_api.c — the key table of `api_tokens:` (the HTTP API's bearer
 * tokens, by token name) and what happens to a token once read: a written
 * `sha256` is parsed, an `env` token is read from the environment and
 * hashed at once, so the config never holds a token itself.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "drover/digest.h"
#include "drover/str.h"

_Static_assert(sizeof(drv_api_role_t) == sizeof(int),
	       "DRV_CFG_ENUM fields are stored through an int *");

static const char *const role_names[] = {
	"viewer", "operator", "admin", NULL
};

const char *drv_api_role_name(drv_api_role_t role)
{
	if ((int)role >= 0 && (int)role <= DRV_API_ADMIN)
		return role_names[role];
	return "unknown";
}

static drv_err_t check_sha256(const drv_cfg_key_t *k, const char *name,
			      const char *s, const drv_cfg_where_t *w,
			      char *errstr, size_t errstr_size)
{
	unsigned char d[DRV_SHA256_LEN];

	(void)k;
	if (*s && !drv_unhex(s, d, sizeof(d)))
		return drv_cfg_fail(errstr, errstr_size, w, name,
			"expected 64 hex digits (the output of "
			"`printf %%s TOKEN | sha256sum`)");
	return DRV_OK;
}

static drv_err_t check_env_name(const drv_cfg_key_t *k, const char *name,
				const char *s, const drv_cfg_where_t *w,
				char *errstr, size_t errstr_size)
{
	(void)k;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return drv_cfg_fail(errstr, errstr_size, w, name,
				"'%.100s' is not an environment variable "
				"name (A-Z a-z 0-9 _)", s);
	return DRV_OK;
}

#define TF(f) offsetof(drv_api_token_conf_t, f)

const drv_cfg_key_t drv_cfg_token_keys[] = {
	{ .name = "role", .type = DRV_CFG_ENUM, .offset = TF(role),
	  .def = "viewer", .enums = role_names,
	  .doc = "`viewer` reads; `operator` also acts on tasks, dead "
		 "letters, breakers and schedules; `admin` also manages "
		 "webhooks and tokens." },
	{ .name = "sha256", .type = DRV_CFG_STRING, .offset = TF(sha256),
	  .def = "", .max = 64, .check = check_sha256,
	  .range_doc = "64 hex digits",
	  .doc = "SHA-256 of the token, hex (`printf %s TOKEN | "
		 "sha256sum`); the token itself is never written down." },
	{ .name = "env", .type = DRV_CFG_STRING, .offset = TF(env),
	  .def = "", .max = 128, .check = check_env_name,
	  .range_doc = "a variable name",
	  .doc = "Or: the environment variable that holds the token; it is "
		 "hashed when the config loads. Unset or empty: the token is "
		 "off." },
};
const size_t drv_cfg_token_key_cnt =
	sizeof(drv_cfg_token_keys) / sizeof(drv_cfg_token_keys[0]);

drv_err_t drv_cfg_token_finish(drv_api_token_conf_t *t, char *const *envp,
			       const drv_cfg_where_t *where,
			       char *errstr, size_t errstr_size)
{
	char name[160];
	size_t n;

	drv_fmt(name, sizeof(name), "api_tokens.%s", t->name);
	if (t->sha256 && !*t->sha256) {
		free(t->sha256);
		t->sha256 = NULL;
	}
	if (t->env && !*t->env) {
		free(t->env);
		t->env = NULL;
	}
	if (!t->sha256 == !t->env)
		return drv_cfg_fail(errstr, errstr_size, where, name,
			"give either sha256 or env (one of them)");
	if (t->sha256) {
		t->active = drv_unhex(t->sha256, t->digest, sizeof(t->digest));
		return DRV_OK;
	}
	n = strlen(t->env);
	for (char *const *e = envp; e && *e; e++)
		if (!strncmp(*e, t->env, n) && (*e)[n] == '=' && (*e)[n + 1]) {
			drv_sha256(*e + n + 1, strlen(*e + n + 1), t->digest);
			t->active = true;
		}
	return DRV_OK;
}
