/*
 * http.c — the http runner: turn one task attempt into one HTTP request with
 * libcurl and the response into a drv_result_t.
 *
 * Each client owns one easy handle. curl_easy_reset() before every request
 * clears the options but keeps the handle's connection, DNS and TLS session
 * caches, so a runner thread that keeps calling the same server reuses one
 * kept-alive connection. The URL and header templates are expanded here
 * (${task.*}, ${label.*}); the response body is kept up to the handler's
 * output_limit and the rest is drained, never aborted, so the status and the
 * connection survive a long body. Retry-After dates are parsed by hand
 * (no strptime: locale-free, no time_t range surprises).
 */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "drover/clock.h"
#include "drover/http.h"
#include "drover/str.h"

#ifndef DROVER_VERSION
#define DROVER_VERSION "unknown"
#endif

/** Longest method name accepted ("PROPPATCH" is 9). */
#define METHOD_MAX 32

struct drv_http_client {
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool buf_adds(drv_buf_t *b, const char *s)
{
	return drv_buf_add(b, s, strlen(s));
}

/* RFC 3986 percent-encoding: everything but the unreserved characters. */
static bool buf_add_encoded(drv_buf_t *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~') {
			if (!drv_buf_add(b, (const char *)&ch, 1))
				return false;
		} else {
			char esc[3] = { '%', hex[ch >> 4], hex[ch & 15] };

			if (!drv_buf_add(b, esc, 3))
				return false;
		}
	}
	return true;
}

/* ---- templates ---------------------------------------------------------- */

/* Whether the URL built so far in b ends inside its path: past the
 * authority's '/' and before any '?' or '#'. Substituted values have '/',
 * '?' and '#' percent-encoded, so only the template's own ones count. */
static bool url_in_path(const drv_buf_t *b)
{
	const char *u = b->p ? b->p : "", *p = strstr(u, "://");

	p = strchr(p ? p + 3 : u, '/');
	return p && !strpbrk(p, "?#");
}

/* Whether a value put in a URL path could make a dot segment: a piece of it
 * between '/' or '\' (a server may decode %2F, or read '\' as '/') made
 * of dots only. curl removes "." and ".." segments before sending
 * (/users/../admin is /admin), and so do many servers after decoding %2E,
 * so encoding the dots would not be enough: such a value is refused. A
 * piece of dots only also catches a dot next to the template's own dot
 * (/files/.${label.x}). */
static bool has_dot_piece(const char *v)
{
	size_t dots = 0, len = 0;

	for (;; v++) {
		if (!*v || *v == '/' || *v == '\\') {
			if (len && dots == len)
				return true;
			if (!*v)
				return false;
			dots = len = 0;
			continue;
		}
		len++;
		dots += *v == '.';
	}
}

/* Expand ${task.id}, ${task.handler}, ${task.attempt} and ${label.NAME} in
 * tmpl into b; values are percent-encoded when encode is set. `what` names
 * the template in messages ("url", "header 'X-Foo'"). */
static drv_err_t expand(const char *tmpl, const drv_task_t *t, bool encode,
			drv_buf_t *b, const char *what, char *msg,
			size_t msg_size)
{
	const char *p = tmpl;

	for (;;) {
		const char *open = strstr(p, "${"), *name, *close, *val = NULL;
		char num[16];
		size_t n;

		if (!open) {
			buf_adds(b, p);
			break;
		}
		drv_buf_add(b, p, (size_t)(open - p));
		name = open + 2;
		if (!(close = strchr(name, '}')))
			return drv_error(msg, msg_size, DRV_ERR_INVALID,
					 "%s: unterminated '${' placeholder",
					 what);
		n = (size_t)(close - name);
		if (n == 7 && !memcmp(name, "task.id", 7)) {
			val = t->id;
		} else if (n == 12 && !memcmp(name, "task.handler", 12)) {
			val = t->handler ? t->handler : "";
		} else if (n == 12 && !memcmp(name, "task.attempt", 12)) {
			drv_fmt(num, sizeof(num), "%lu",
				(unsigned long)t->attempt + 1);
			val = num;
		} else if (n > 6 && !memcmp(name, "label.", 6)) {
			for (size_t i = 0; i < t->label_cnt && !val; i++) {
				const char *k = t->labels[i].key;

				if (k && strlen(k) == n - 6 &&
				    !memcmp(k, name + 6, n - 6))
					val = t->labels[i].value
						      ? t->labels[i].value : "";
			}
			if (!val)
				return drv_error(msg, msg_size,
						 DRV_ERR_INVALID,
						 "%s: the task has no label "
						 "'%.*s'", what, (int)(n - 6),
						 name + 6);
		} else {
			return drv_error(msg, msg_size, DRV_ERR_INVALID,
					 "%s: unknown placeholder '${%.*s}'",
					 what, (int)n, name);
		}
		if (encode && url_in_path(b) && has_dot_piece(val))
			return drv_error(msg, msg_size, DRV_ERR_INVALID,
					 "%s: the value of '${%.*s}' would "
					 "make a '.' or '..' path segment",
					 what, (int)n, name);
		if (encode)
			buf_add_encoded(b, val);
		else
			buf_adds(b, val);
		p = close + 1;
	}
	if (b->oom)
		return drv_error(msg, msg_size, DRV_ERR_NOMEM,
				 "%s: out of memory", what);
	return DRV_OK;
}

drv_err_t drv_http_expand_url(const char *tmpl, const drv_task_t *t,
			       char **out, char *errstr, size_t errstr_size)
{
	drv_buf_t b = { 0 };
	drv_err_t err;

	err = expand(tmpl ? tmpl : "", t, true, &b, "url", errstr,
		     errstr_size);
	if (!err && !b.p && !buf_adds(&b, ""))
		err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				"url: out of memory");
	if (err) {
		free(b.p);
		return err;
	}
	*out = b.p;
	return DRV_OK;
}

/* RFC 7230 tchar: what a method or a header name may be made of. */
static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (!isalnum(ch) && !strchr("!#$%&'*+-.^_`|~", ch))
			return false;
	}
	return true;
}

static bool handler_sets(const drv_handler_conf_t *h, const char *name)
{
	for (size_t i = 0; i < h->header_cnt; i++)
		if (h->headers[i].key && !strcasecmp(h->headers[i].key, name))
			return true;
	return false;
}

/* Append "Name: value" (or "Name;", curl's way to send an empty value).
 * Every header goes through here, configured or default, so no value with
 * a control byte (CR and LF above all: a second header or request) is ever
 * written, whatever the task carries. `what` names the header in \p msg. */
static drv_err_t add_header(struct curl_slist **list, const char *name,
			    const char *value, const char *what, char *msg,
			    size_t msg_size)
{
	drv_buf_t line = { 0 };
	struct curl_slist *l = NULL;

	for (const char *p = value; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			return drv_error(msg, msg_size, DRV_ERR_INVALID,
					 "%s: value contains a control byte "
					 "(0x%02x; CR or LF would start a new "
					 "header)", what, ch);
	}
	buf_adds(&line, name);
	if (*value) {
		buf_adds(&line, ": ");
		buf_adds(&line, value);
	} else {
		buf_adds(&line, ";");
	}
	if (!line.oom && (l = curl_slist_append(*list, line.p)))
		*list = l;
	free(line.p);
	if (!l)
		return drv_error(msg, msg_size, DRV_ERR_NOMEM,
				 "%s: out of memory", what);
	return DRV_OK;
}

static drv_err_t build_headers(const drv_handler_conf_t *h,
			       const drv_task_t *t, bool has_body,
			       struct curl_slist **out, char *msg,
			       size_t msg_size)
{
	struct curl_slist *list = NULL;
	char attempt[16], what[128];
	drv_err_t err;
	struct {
		const char *name, *value;
	} defaults[] = {
		{ "Content-Type", has_body ? "application/json" : NULL },
		{ "User-Agent", "drover/" DROVER_VERSION },
		{ "X-Drover-Task-Id", t->id },
		{ "X-Drover-Attempt", attempt },
		{ "Idempotency-Key", t->idempotency_key && *t->idempotency_key
					     ? t->idempotency_key : t->id },
	};

	drv_fmt(attempt, sizeof(attempt), "%lu", (unsigned long)t->attempt + 1);
	for (size_t i = 0; i < h->header_cnt; i++) {
		const drv_kv_t *kv = &h->headers[i];
		drv_buf_t val = { 0 };

		if (!is_token(kv->key)) {
			curl_slist_free_all(list);
			return drv_error(msg, msg_size, DRV_ERR_INVALID,
					 "header name '%s' is not a token",
					 kv->key ? kv->key : "");
		}
		drv_fmt(what, sizeof(what), "header '%s'", kv->key);
		err = expand(kv->value ? kv->value : "", t, false, &val, what,
			     msg, msg_size);
		if (!err)
			err = add_header(&list, kv->key, val.p ? val.p : "",
					 what, msg, msg_size);
		free(val.p);
		if (err) {
			curl_slist_free_all(list);
			return err;
		}
	}
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (!defaults[i].value || handler_sets(h, defaults[i].name))
			continue;
		drv_fmt(what, sizeof(what), "header '%s'", defaults[i].name);
		err = add_header(&list, defaults[i].name, defaults[i].value,
				 what, msg, msg_size);
		if (err) {
			curl_slist_free_all(list);
			return err;
		}
	}
	/* "Expect:" removes curl's own "Expect: 100-continue", which would
	 * cost a round trip (or a 1s wait) before a large body. */
	if (!handler_sets(h, "Expect")) {
		struct curl_slist *l = curl_slist_append(list, "Expect:");

		if (!l)
			goto nomem;
		list = l;
	}
	*out = list;
	return DRV_OK;

nomem:
	curl_slist_free_all(list);
	return drv_error(msg, msg_size, DRV_ERR_NOMEM,
			 "headers: out of memory");
}

/* ---- the response ------------------------------------------------------- */

struct xfer {
	drv_buf_t body;     /* at most limit bytes */
	size_t limit;
	char reason[96];     /* reason phrase of the last status line */
	int64_t retry_after_ms; /* -1 = none */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nmemb, room = x->limit - x->body.len;

	if (len && room)
		drv_buf_add(&x->body, data, len < room ? len : room);
	return len; /* drain the rest: never abort the transfer */
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nmemb, n = len;
	static const char ra[] = "retry-after:";

	while (n && (data[n - 1] == '\r' || data[n - 1] == '\n'))
		n--;
	if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new response (1xx interim ones come first): start over */
		size_t i = 5, k = 0;

		x->retry_after_ms = -1;
		while (i < n && data[i] != ' ')
			i++; /* version */
		while (i < n && data[i] == ' ')
			i++;
		while (i < n && isdigit((unsigned char)data[i]))
			i++; /* status, read later from curl */
		while (i < n && data[i] == ' ')
			i++;
		for (; i < n && k + 1 < sizeof(x->reason); i++) {
			unsigned char ch = (unsigned char)data[i];

			x->reason[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch
								 : '?';
		}
		x->reason[k] = '\0';
	} else if (n > sizeof(ra) - 1 && !strncasecmp(data, ra, sizeof(ra) - 1)) {
		char val[128];
		size_t vlen = n - (sizeof(ra) - 1);

		if (vlen < sizeof(val)) {
			memcpy(val, data + sizeof(ra) - 1, vlen);
			val[vlen] = '\0';
			x->retry_after_ms =
				drv_http_parse_retry_after(val, drv_now_ms());
		}
	}
	return len;
}

static const char *standard_reason(long status)
{
	static const struct {
		long status;
		const char *reason;
	} table[] = {
		{ 300, "Multiple Choices" },  { 301, "Moved Permanently" },
		{ 302, "Found" },             { 303, "See Other" },
		{ 304, "Not Modified" },      { 307, "Temporary Redirect" },
		{ 308, "Permanent Redirect" },
		{ 400, "Bad Request" },       { 401, "Unauthorized" },
		{ 403, "Forbidden" },         { 404, "Not Found" },
		{ 405, "Method Not Allowed" },{ 406, "Not Acceptable" },
		{ 408, "Request Timeout" },   { 409, "Conflict" },
		{ 410, "Gone" },              { 411, "Length Required" },
		{ 412, "Precondition Failed" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },   { 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].status == status)
			return table[i].reason;
	return NULL;
}

static drv_failure_class_t classify_status(long status)
{
	if (status >= 200 && status <= 299)
		return DRV_FAILURE_UNSPECIFIED;
	if (status == 429)
		return DRV_FAILURE_THROTTLED;
	if (status == 408 || (status >= 500 && status <= 599))
		return DRV_FAILURE_TRANSIENT;
	return DRV_FAILURE_PERMANENT; /* 1xx as final, 3xx, other 4xx */
}

static drv_failure_class_t classify_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return DRV_FAILURE_TIMEOUT;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
		return DRV_FAILURE_PERMANENT; /* retrying cannot help */
	default:
		return DRV_FAILURE_TRANSIENT; /* refused, DNS, reset, TLS... */
	}
}

/* ---- the public API ----------------------------------------------------- */

drv_err_t drv_http_client_new(drv_http_client_t **out, char *errstr,
			      size_t errstr_size)
{
	drv_http_client_t *c;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "curl_global_init: %s",
				 curl_easy_strerror(global_rc));
	if (!(c = calloc(1, sizeof(*c))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "http client: out of memory");
	if (!(c->easy = curl_easy_init())) {
		free(c);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "curl_easy_init failed");
	}
	*out = c;
	return DRV_OK;
}

void drv_http_client_destroy(drv_http_client_t *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	free(c);
}

/* The method, upper-cased into out[METHOD_MAX]; false if it is no token. */
static bool method_of(const drv_handler_conf_t *h, char *out)
{
	const char *m = h->method && *h->method ? h->method : "POST";
	size_t i;

	if (!is_token(m) || strlen(m) >= METHOD_MAX)
		return false;
	for (i = 0; m[i]; i++)
		out[i] = (char)toupper((unsigned char)m[i]);
	out[i] = '\0';
	return true;
}

static long clamp_long(int64_t v)
{
	return v > LONG_MAX ? LONG_MAX : (long)v;
}

drv_err_t drv_http_run(drv_http_client_t *c, const drv_handler_conf_t *h,
		       const drv_task_t *t, drv_result_t *res)
{
	char method[METHOD_MAX];
	drv_buf_t url = { 0 };
	struct curl_slist *headers = NULL;
	struct xfer x = { .retry_after_ms = -1 };
	bool has_body;
	CURL *e = c->easy;
	CURLcode rc;
	long status = 0;
	int64_t start;
	drv_err_t err;

	memset(res, 0, sizeof(*res));
	if (!h->url || !*h->url) {
		err = drv_error(res->message, sizeof(res->message),
				DRV_ERR_INVALID, "handler '%s' has no url",
				h->name ? h->name : "");
		goto input_error;
	}
	if (!method_of(h, method)) {
		err = drv_error(res->message, sizeof(res->message),
				DRV_ERR_INVALID, "bad http method '%s'",
				h->method);
		goto input_error;
	}
	has_body = strcmp(method, "GET") && strcmp(method, "HEAD") &&
		   strcmp(method, "DELETE");
	err = drv_http_expand_url(h->url, t, &url.p, res->message,
				  sizeof(res->message));
	if (!err)
		err = build_headers(h, t, has_body, &headers, res->message,
				    sizeof(res->message));
	if (err)
		goto input_error;

	x.limit = h->output_limit > 0 ? (size_t)h->output_limit
				      : DRV_HTTP_DEFAULT_OUTPUT_LIMIT;
	x.body.max_cap = x.limit + 1;

	/* Options go; the connection cache stays. */
	curl_easy_reset(e);
	c->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, url.p);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 clamp_long(h->connect_timeout_ms > 0
					    ? h->connect_timeout_ms
					    : DRV_HTTP_DEFAULT_CONNECT_TIMEOUT_MS));
	if (h->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
				 clamp_long(h->timeout_ms));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!has_body) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	} else {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)t->payload_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				 t->payload ? (const char *)t->payload : "");
		if (strcmp(method, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}

	start = drv_mono_ms();
	rc = curl_easy_perform(e);
	res->duration_ms = drv_mono_ms() - start;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = (int32_t)status;
	if (x.retry_after_ms > 0)
		res->retry_after_ms = x.retry_after_ms;
	if (x.body.len) {
		res->output = x.body.p;
		res->output_len = x.body.len;
		x.body.p = NULL;
	}

	if (rc != CURLE_OK) {
		res->failure = classify_curl(rc);
		drv_strlcpy(res->message,
			    c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc),
			    sizeof(res->message));
	} else if ((res->failure = classify_status(status)) !=
		   DRV_FAILURE_UNSPECIFIED) {
		const char *reason = x.reason[0] ? x.reason
						 : standard_reason(status);

		drv_fmt(res->message, sizeof(res->message), "HTTP %ld%s%s",
			status, reason ? " " : "", reason ? reason : "");
	}

	/* Drop the pointers to what is freed below. */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	free(url.p);
	free(x.body.p);
	return DRV_OK;

input_error:
	free(url.p);
	res->failure = err == DRV_ERR_NOMEM ? DRV_FAILURE_TRANSIENT
					    : DRV_FAILURE_PERMANENT;
	return err;
}

/* ---- Retry-After -------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The year of a day count since 1970-01-01. */
static int64_t year_of_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10); /* Jan, Feb: next year */
}

struct cursor {
	const char *p, *end;
};

static bool take_char(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* Between min and max digits. */
static bool take_num(struct cursor *c, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (n < max && c->p < c->end && isdigit((unsigned char)*c->p)) {
		v = v * 10 + (*c->p++ - '0');
		n++;
	}
	*out = v;
	return n >= min && !(c->p < c->end && isdigit((unsigned char)*c->p));
}

static bool take_word(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;

	while (c->p < c->end && isalpha((unsigned char)*c->p)) {
		if (n + 1 >= size)
			return false;
		out[n++] = *c->p++;
	}
	out[n] = '\0';
	return n > 0;
}

static bool take_month(struct cursor *c, int *month)
{
	static const char *names[] = { "Jan", "Feb", "Mar", "Apr", "May",
				       "Jun", "Jul", "Aug", "Sep", "Oct",
				       "Nov", "Dec" };
	char w[8];

	if (!take_word(c, w, sizeof(w)))
		return false;
	for (int i = 0; i < 12; i++) {
		if (!strcasecmp(w, names[i])) {
			*month = i + 1;
			return true;
		}
	}
	return false;
}

static bool day_name_ok(const char *w)
{
	static const char *names[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
				       "Sat", "Sun", "Monday", "Tuesday",
				       "Wednesday", "Thursday", "Friday",
				       "Saturday", "Sunday" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(w, names[i]))
			return true;
	return false;
}

static bool take_time(struct cursor *c, int *hh, int *mm, int *ss)
{
	return take_num(c, 2, 2, hh) && take_char(c, ':') &&
	       take_num(c, 2, 2, mm) && take_char(c, ':') &&
	       take_num(c, 2, 2, ss) && *hh <= 23 && *mm <= 59 && *ss <= 60;
}

/* An HTTP-date in [p, end) as seconds since the epoch. */
static bool parse_http_date(const char *p, const char *end, int64_t now_ms,
			    int64_t *secs)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	struct cursor c = { p, end };
	char wday[16];
	int day, month, year, hh, mm, ss;
	bool leap;

	if (!take_word(&c, wday, sizeof(wday)) || !day_name_ok(wday))
		return false;
	if (take_char(&c, ',')) {
		/* IMF-fixdate "06 Nov 1994" or RFC 850 "06-Nov-94" */
		char sep;

		if (!take_char(&c, ' ') || !take_num(&c, 1, 2, &day) ||
		    c.p >= c.end)
			return false;
		sep = *c.p++;
		if ((sep != ' ' && sep != '-') || !take_month(&c, &month) ||
		    !take_char(&c, sep))
			return false;
		if (sep == ' ' ? !take_num(&c, 4, 4, &year)
			       : !take_num(&c, 2, 4, &year))
			return false;
		if (sep == '-' && year < 100) {
			/* RFC 7231: no more than 50 years in the future */
			int64_t now_year = year_of_days(
				(now_ms >= 0 ? now_ms : now_ms - 86399999) /
				86400000);
			int64_t y = now_year - now_year % 100 + year;

			if (y > now_year + 50)
				y -= 100;
			year = (int)y;
		}
		if (!take_char(&c, ' ') || !take_time(&c, &hh, &mm, &ss) ||
		    !take_char(&c, ' ') || c.end - c.p != 3 ||
		    strncmp(c.p, "GMT", 3))
			return false;
		c.p += 3;
	} else {
		/* asctime "Nov  6 08:49:37 1994" */
		if (!take_char(&c, ' ') || !take_month(&c, &month) ||
		    !take_char(&c, ' '))
			return false;
		take_char(&c, ' ');
		if (!take_num(&c, 1, 2, &day) || !take_char(&c, ' ') ||
		    !take_time(&c, &hh, &mm, &ss) || !take_char(&c, ' ') ||
		    !take_num(&c, 4, 4, &year) || c.p != c.end)
			return false;
	}
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > mdays[month - 1] ||
	    (month == 2 && day == 29 && !leap))
		return false;
	*secs = days_from_civil(year, month, day) * 86400 + hh * 3600 +
		mm * 60 + ss;
	return true;
}

int64_t drv_http_parse_retry_after(const char *value, int64_t now_ms)
{
	const char *p, *end;
	int64_t secs = 0;

	if (!value)
		return -1;
	p = value;
	end = value + strlen(value);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (p == end)
		return -1;
	if (isdigit((unsigned char)*p)) {
		/* delta-seconds */
		for (; p < end; p++) {
			int d = *p - '0';

			if (!isdigit((unsigned char)*p) ||
			    secs > (INT64_MAX / 1000 - d) / 10)
				return -1;
			secs = secs * 10 + d;
		}
		return secs * 1000;
	}
	if (!parse_http_date(p, end, now_ms, &secs))
		return -1;
	if (secs > INT64_MAX / 1000)
		return -1;
	return secs * 1000 > now_ms ? secs * 1000 - now_ms : 0;
}
