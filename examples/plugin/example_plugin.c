/*
 * example_plugin.c — "json-validate", an example drover plugin handler.
 *
 * It checks that a task's payload is a JSON object, optionally holding a
 * required top-level field, and is small enough to read in one sitting:
 * it shows the whole plugin ABI (drover/plugin.h) — init with config,
 * handle with the three outcomes and retry_after_ms, destroy — and is
 * handy for demos and tests of drover's retry and dead-letter paths.
 *
 *   payload not valid JSON, or not an object    -> PERMANENT
 *   {"fail": "permanent"}                       -> PERMANENT
 *   {"fail": "transient"}                       -> TRANSIENT (every attempt)
 *   {"succeed_on_attempt": N}                   -> TRANSIENT until attempt N,
 *                                                  then on as below
 *   the `require` field missing                 -> PERMANENT
 *   anything else                               -> OK
 *
 * Config (the handler's `config:` map, every value a string):
 *   require         top-level field every payload must have (optional)
 *   retry_after_ms  delay to ask for on a transient failure, in ms
 *                   (optional; default 0 = the retry policy's)
 *
 * Thread safety: handle() runs on several threads at once. The state is
 * written only by init() and read-only afterwards, and the parser keeps
 * everything on the stack, so no locks are needed.
 *
 * It uses nothing but <drover/plugin.h> and the C library, so it includes
 * its own small JSON checker: the full JSON grammar (RFC 8259), nesting
 * at most 64 deep; object keys are compared as written (escapes are not
 * decoded) and UTF-8 is not validated.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drover/plugin.h>

#define MAX_DEPTH 64

struct state {
	char *require;            /* NULL = no required field */
	long long retry_after_ms;
};

/* ---- a small JSON checker ---------------------------------------------- */

struct json {
	const char *p, *end;
	int depth;
};

/* A span of the payload: a top-level value, or a string's raw contents. */
struct span {
	const char *s;
	size_t len;
};

/* What the top-level object holds that we care about. */
struct fields {
	const char *require;      /* name to look for, NULL = none */
	bool has_required;
	struct span fail;         /* raw value of "fail", len 0 = absent */
	struct span succeed_on;   /* raw value of "succeed_on_attempt" */
};

static bool parse_value(struct json *j);

static void skip_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A string; \p raw (if not NULL) gets the bytes between the quotes. */
static bool parse_string(struct json *j, struct span *raw)
{
	const char *start;

	if (j->p >= j->end || *j->p != '"')
		return false;
	start = ++j->p;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++j->p >= j->end || !is_hex(*j->p))
						return false;
			} else if (!*j->p || !strchr("\"\\/bfnrt", *j->p)) {
				return false;
			}
		}
		j->p++;
	}
	if (j->p >= j->end)
		return false;
	if (raw) {
		raw->s = start;
		raw->len = (size_t)(j->p - start);
	}
	j->p++;
	return true;
}

static bool parse_digits(struct json *j)
{
	const char *start = j->p;

	while (j->p < j->end && is_digit(*j->p))
		j->p++;
	return j->p > start;
}

static bool parse_number(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!parse_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!parse_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!parse_digits(j))
			return false;
	}
	return true;
}

static bool parse_literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && memcmp(s.s, word, s.len) == 0;
}

/* An object; at the top level (\p f not NULL) note the fields we want. */
static bool parse_object(struct json *j, struct fields *f)
{
	j->p++; /* '{' */
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		struct span key, value;

		skip_ws(j);
		if (!parse_string(j, &key))
			return false;
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return false;
		j->p++;
		skip_ws(j);
		value.s = j->p;
		if (!parse_value(j))
			return false;
		value.len = (size_t)(j->p - value.s);
		if (f) {
			if (f->require && span_is(key, f->require))
				f->has_required = true;
			if (span_is(key, "fail"))
				f->fail = value;
			if (span_is(key, "succeed_on_attempt"))
				f->succeed_on = value;
		}
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return true;
		}
		return false;
	}
}

static bool parse_array(struct json *j)
{
	j->p++; /* '[' */
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		skip_ws(j);
		if (!parse_value(j))
			return false;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return true;
		}
		return false;
	}
}

static bool parse_value(struct json *j)
{
	bool ok;

	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > MAX_DEPTH)
			return false;
		ok = *j->p == '{' ? parse_object(j, NULL) : parse_array(j);
		j->depth--;
		return ok;
	case '"':
		return parse_string(j, NULL);
	case 't':
		return parse_literal(j, "true");
	case 'f':
		return parse_literal(j, "false");
	case 'n':
		return parse_literal(j, "null");
	default:
		return parse_number(j);
	}
}

/* Check the whole payload: true if it is one JSON object (and \p f is
 * filled), else false with the reason in \p msg. */
static bool check_payload(const void *payload, size_t len, struct fields *f,
			  char *msg, size_t msg_size)
{
	struct json j = { payload, (const char *)payload + len, 1 };
	bool object, ok;

	skip_ws(&j);
	object = j.p < j.end && *j.p == '{';
	ok = object ? parse_object(&j, f) : parse_value(&j);
	if (ok)
		skip_ws(&j);
	if (!ok || j.p != j.end) {
		snprintf(msg, msg_size, "payload is not valid JSON (at byte "
			 "%zu of %zu)", (size_t)(j.p - (const char *)payload),
			 len);
		return false;
	}
	if (!object) {
		snprintf(msg, msg_size, "payload is JSON but not an object");
		return false;
	}
	return true;
}

/* ---- the plugin -------------------------------------------------------- */

/* strdup() is POSIX, not ISO C; the example sticks to ISO C. */
static char *copy_string(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n);

	if (c)
		memcpy(c, s, n);
	return c;
}

static void state_free(struct state *st)
{
	if (!st)
		return;
	free(st->require);
	free(st);
}

static int jv_init(void **state, const char *const *config, char *err,
		   size_t err_size)
{
	struct state *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	for (size_t i = 0; config[i] && config[i + 1]; i += 2) {
		const char *key = config[i], *value = config[i + 1];

		if (strcmp(key, "require") == 0) {
			free(st->require);
			st->require = value[0] ? copy_string(value) : NULL;
			if (value[0] && !st->require) {
				snprintf(err, err_size, "out of memory");
				state_free(st);
				return -1;
			}
		} else if (strcmp(key, "retry_after_ms") == 0) {
			char *endp;
			long long v;

			errno = 0;
			v = strtoll(value, &endp, 10);
			if (errno || endp == value || *endp || v < 0) {
				snprintf(err, err_size, "retry_after_ms: '%s' "
					 "is not a number of milliseconds >= 0",
					 value);
				state_free(st);
				return -1;
			}
			st->retry_after_ms = v;
		} else {
			snprintf(err, err_size, "unknown config key '%s' "
				 "(known: require, retry_after_ms)", key);
			state_free(st);
			return -1;
		}
	}
	*state = st;
	return 0;
}

static drv_plugin_status_t jv_handle(void *state,
				     const drv_plugin_task_t *task,
				     drv_plugin_reply_t *reply)
{
	const struct state *st = state;
	struct fields f = { .require = st->require };

	if (!check_payload(task->payload, task->payload_len, &f, reply->msg,
			   sizeof(reply->msg)))
		return DRV_PLUGIN_PERMANENT;
	if (span_is(f.fail, "\"permanent\"")) {
		snprintf(reply->msg, sizeof(reply->msg),
			 "payload asked for a permanent failure");
		return DRV_PLUGIN_PERMANENT;
	}
	if (span_is(f.fail, "\"transient\"")) {
		snprintf(reply->msg, sizeof(reply->msg),
			 "payload asked for a transient failure (attempt %u)",
			 (unsigned)task->attempt);
		reply->retry_after_ms = st->retry_after_ms;
		return DRV_PLUGIN_TRANSIENT;
	}
	if (f.succeed_on.len > 0) {
		char num[24];
		char *endp;
		long long n;

		if (f.succeed_on.len >= sizeof(num))
			goto bad_attempt;
		memcpy(num, f.succeed_on.s, f.succeed_on.len);
		num[f.succeed_on.len] = '\0';
		errno = 0;
		n = strtoll(num, &endp, 10);
		if (errno || *endp || n < 1)
			goto bad_attempt;
		if ((long long)task->attempt < n) {
			snprintf(reply->msg, sizeof(reply->msg),
				 "attempt %u of the %lld this task needs",
				 (unsigned)task->attempt, n);
			reply->retry_after_ms = st->retry_after_ms;
			return DRV_PLUGIN_TRANSIENT;
		}
	}
	if (st->require && !f.has_required) {
		snprintf(reply->msg, sizeof(reply->msg),
			 "required field '%s' is missing", st->require);
		return DRV_PLUGIN_PERMANENT;
	}
	return DRV_PLUGIN_OK;

bad_attempt:
	snprintf(reply->msg, sizeof(reply->msg),
		 "succeed_on_attempt must be an integer >= 1");
	return DRV_PLUGIN_PERMANENT;
}

static void jv_destroy(void *state)
{
	state_free(state);
}

static const drv_plugin_v1_t json_validate = {
	.abi_version = DRV_PLUGIN_ABI_VERSION,
	.size        = sizeof(drv_plugin_v1_t),
	.name        = "json-validate",
	.init        = jv_init,
	.handle      = jv_handle,
	.destroy     = jv_destroy,
};

DRV_PLUGIN_EXPORT const drv_plugin_v1_t *drover_plugin_v1(void)
{
	return &json_validate;
}
