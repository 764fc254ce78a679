/*
 * 0113 — the console's live stream, GET /api/v1/live (Server-Sent Events),
 * against the real Kafka and Redis: a `retry:` hint, then `queues` events
 * with the queues JSON and ids that grow, every `interval` seconds; the
 * token in a header or as access_token (on this route only); 401 without
 * one, 400 for a bad interval; api.live_streams streams at once and 503
 * with Retry-After beyond; a client that goes away frees its stream; a
 * reconnect with Last-Event-ID gets a fresh snapshot at once with a greater
 * id, then only heartbeat comments until the next interval; open streams
 * hold none of the server's threads (one thread, two streams, and
 * GET /queues still answers); the coordinator stops cleanly with a stream
 * open. (There is no role below viewer, so no 403 to see.)
 *
 * Breaker events: a breaker forced open and released through the API
 * comes as two `breaker` events within a feed read (a second; the
 * snapshot interval is 60 s), with the transition's fields and ids
 * "MS-SEQ" carrying their place; a reconnect with the Last-Event-ID of
 * the event before them gets both again at once, before its snapshot; one
 * with the MS alone gets none; 55 transitions missed come as a
 * `breaker_gap` and the newest 50; a place past the feed's head (a feed
 * that started again) as a `breaker_gap`.
 *
 * Task events: a stream with ?task=ID sends a `task` event at once (a
 * null state while the task has no record), then one with GET
 * /api/v1/tasks/{id}'s reply each time the worker's record of it
 * changes (running, then succeeded with its attempt in the history),
 * and none while it stays (three snapshots later); a task id that is not
 * one, or a ninth task, is a 400.
 *
 * DLQ events: with the depth sampled every second, a stream sends a `dlq`
 * event with the newest sample (depth 0), then none while the depth stays
 * (three snapshots later), and one with depth 1 once a message is in the
 * DLQ topic.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drover/str.h"
#include "harness.h"

#define VIEWER "viewer-token-0113"
#define OPS    "ops-token-0113"

/* One open stream: its socket and every byte read so far. */
typedef struct sse {
	int fd;
	char buf[1 << 16];
	size_t len, seen;   /* seen: bytes already parsed into events */
	bool eof;           /* the server closed it */
} sse_t;

/* Open GET \p path (HTTP/1.0: no chunks) with \p headers ("" or lines
 * ending in \r\n); asserts the connection is made. */
static void sse_open(sse_t *s, int port, const char *path,
		     const char *headers)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[1024];

	memset(s, 0, sizeof(*s));
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s->fd >= 0);
	cr_assert_eq(connect(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	drv_fmt(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n%s\r\n",
		path, headers);
	cr_assert(write(s->fd, req, strlen(req)) == (ssize_t)strlen(req));
}

/* Read until \p needle appears after byte \p from, or \p timeout_ms
 * passes; returns where it starts, or NULL. */
static const char *sse_wait(sse_t *s, size_t from, const char *needle,
			    int timeout_ms)
{
	long long end = it_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		const char *at = s->len > from ? strstr(s->buf + from, needle) :
				 NULL;
		long long left = end - it_now_ms();
		ssize_t r;

		if (at)
			return at;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len - 1);
		if (r <= 0) {
			s->eof = r == 0;
			return NULL;
		}
		s->len += (size_t)r;
		s->buf[s->len] = '\0';
	}
}

/* The next event within \p timeout_ms (any when \p name is NULL): its
 * name and id (as sent) into \p name_out and \p id (may be NULL; 64
 * bytes each), its data parsed into *data. */
static void sse_event(sse_t *s, const char *name, int timeout_ms,
		      char *name_out, char *id, json_t **data)
{
	char needle[64];
	const char *ev, *end, *i, *d;

	if (name)
		drv_fmt(needle, sizeof(needle), "event: %s\n", name);
	else
		drv_fmt(needle, sizeof(needle), "event: ");
	ev = sse_wait(s, s->seen, needle, timeout_ms);
	cr_assert_not_null(ev, "no %s event in %d ms: %s", needle,
			   timeout_ms, s->buf + s->seen);
	end = sse_wait(s, (size_t)(ev - s->buf), "\n\n", timeout_ms);
	cr_assert_not_null(end, "event not ended: %s", ev);
	i = strstr(ev, "\nid: ");
	d = strstr(ev, "\ndata: ");
	cr_assert(i && d && i < end && d < end, "no id or data: %s", ev);
	if (name_out)
		drv_fmt(name_out, 64, "%.*s", (int)(strchr(ev, '\n') - ev - 7),
			ev + 7);
	if (id)
		drv_fmt(id, 64, "%.*s", (int)(strchr(i + 1, '\n') - i - 5),
			i + 5);
	*data = json_loadb(d + 7, (size_t)(end - d - 7), 0, NULL);
	cr_assert_not_null(*data, "data is not JSON: %s", d);
	s->seen = (size_t)(end - s->buf) + 2;
}

/* The next `queues` event within \p timeout_ms: its id's MS, its data
 * parsed (asserted to be GET /queues's JSON). */
static long long sse_next(sse_t *s, int timeout_ms, json_t **data)
{
	char id[64];
	const char *d;

	sse_event(s, "queues", timeout_ms, NULL, id, data);
	d = json_dumps(*data, 0);
	cr_assert(json_is_array(json_object_get(*data, "topics")), "%s", d);
	cr_assert(json_is_integer(json_object_get(*data, "at_ms")), "%s", d);
	cr_assert_not_null(json_object_get(*data, "workers"), "%s", d);
	free((char *)d);
	return strtoll(id, NULL, 10);
}

static void sse_close(sse_t *s)
{
	close(s->fd);
	s->fd = -1;
}

/* The stream's status line and headers are those of an event stream. */
static void sse_check_head(sse_t *s)
{
	const char *h = sse_wait(s, 0, "\r\n\r\n", 10000);
	char type[64];

	cr_assert_not_null(h, "no headers: %s", s->buf);
	cr_assert(!strncmp(s->buf, "HTTP/1.", 7) &&
		  !strncmp(s->buf + 9, "200", 3), "%s", s->buf);
	it_http_header(s->buf, "Content-Type", type, sizeof(type));
	cr_assert_str_eq(type, "text/event-stream", "%s", s->buf);
}

/* Status of a plain request with the header lines \p headers. */
static int status_of(int port, const char *path, const char *token,
		     char **head)
{
	char *body = NULL;
	int st = it_http_request(port, "GET", path, token, head, &body);

	free(body);
	return st;
}

Test(live, stream_auth_cap_resume, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord;
	sse_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)),
	      *c = malloc(sizeof(*c));
	json_t *d1, *d2;
	long long id1, id2, t0;
	char hdr[256], *head = NULL, retry[32];
	int port, st;

	it_setup(&ctx, "  echo:\n    shell: true\n    command: 'true'\n");
	it_topics(&ctx);
	/* one thread: a stream that held it would starve every request */
	port = it_api_start(&ctx, "IT_API_TOKEN_0113", OPS, VIEWER,
			    "  threads: 1\n  live_streams: 2\n", &coord);

	/* auth: none, a wrong one, and access_token off this route */
	cr_assert_eq(status_of(port, "/api/v1/live", NULL, NULL), 401);
	cr_assert_eq(status_of(port, "/api/v1/live?access_token=nope", NULL,
			       NULL), 401);
	cr_assert_eq(status_of(port, "/api/v1/queues?access_token=" VIEWER,
			       NULL, NULL), 401);
	cr_assert_eq(status_of(port, "/api/v1/live?interval=0", VIEWER, NULL),
		     400);
	cr_assert_eq(status_of(port, "/api/v1/live?interval=61", VIEWER,
			       NULL), 400);
	cr_assert_eq(status_of(port, "/api/v1/live?since=1", VIEWER, NULL),
		     400);

	/* a: token as access_token, an event a second */
	sse_open(a, port, "/api/v1/live?interval=1&access_token=" VIEWER, "");
	sse_check_head(a);
	cr_assert_not_null(sse_wait(a, 0, "retry: 2000\n", 5000), "%s",
			   a->buf);
	t0 = it_now_ms();
	id1 = sse_next(a, 10000, &d1);
	id2 = sse_next(a, 5000, &d2);
	cr_assert_gt(id2, id1);
	/* the second comes an interval after the first, not at once */
	cr_assert_geq(json_integer_value(json_object_get(d2, "at_ms")) -
		      json_integer_value(json_object_get(d1, "at_ms")), 500);
	cr_assert_lt(it_now_ms() - t0, 8000);
	json_decref(d1);
	json_decref(d2);

	/* b: token in the header; now the cap (2) is reached */
	sse_open(b, port, "/api/v1/live", "Authorization: Bearer " OPS "\r\n");
	sse_check_head(b);
	sse_next(b, 10000, &d1);
	json_decref(d1);
	st = status_of(port, "/api/v1/live", VIEWER, &head);
	cr_assert_eq(st, 503, "a third stream: %d", st);
	it_http_header(head, "Retry-After", retry, sizeof(retry));
	cr_assert(strtol(retry, NULL, 10) > 0, "Retry-After: '%s'", retry);
	free(head);
	/* ordinary requests still have the one thread */
	t0 = it_now_ms();
	cr_assert_eq(status_of(port, "/api/v1/queues", VIEWER, NULL), 200);
	cr_assert_lt(it_now_ms() - t0, 5000);
	cr_assert_eq(status_of(port, "/api/v1/whoami", VIEWER, NULL), 200);

	/* a goes away: its place is freed within a few intervals */
	sse_close(a);
	t0 = it_now_ms();
	drv_fmt(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n"
		"Last-Event-ID: %lld\r\n", VIEWER, id2 + 3600000);
	for (;;) {
		sse_open(c, port, "/api/v1/live?interval=60", hdr);
		if (sse_wait(c, 0, "\r\n\r\n", 5000) &&
		    !strncmp(c->buf + 9, "200", 3))
			break;
		sse_close(c);
		cr_assert_lt(it_now_ms() - t0, 20000, "a's stream was not "
			     "freed: %s", c->buf);
		usleep(300 * 1000);
	}
	/* the resume: a fresh snapshot at once, its id past Last-Event-ID,
	 * then (interval 60 s) a heartbeat, no event */
	t0 = it_now_ms();
	id1 = sse_next(c, 5000, &d1);
	json_decref(d1);
	cr_assert_gt(id1, id2 + 3600000);
	cr_assert_lt(it_now_ms() - t0, 5000);
	cr_assert_not_null(sse_wait(c, c->seen, ": beat\n", 20000),
			   "no heartbeat: %s", c->buf + c->seen);
	cr_assert_null(strstr(c->buf + c->seen, "event: "), "%s",
		       c->buf + c->seen);

	/* the coordinator stops with streams open, and ends them */
	cr_assert_eq(it_stop(coord, SIGTERM, 15000), 0);
	cr_assert_null(sse_wait(b, b->seen, "never", 5000));
	cr_assert(b->eof, "b was not ended");
	sse_close(b);
	sse_close(c);
	free(a);
	free(b);
	free(c);
	it_teardown(&ctx);
}

/* The SEQ of an id "MS-SEQ"; asserts it has one. */
static long long id_seq(const char *id)
{
	const char *dash = strchr(id, '-');

	cr_assert_not_null(dash, "id '%s' has no SEQ", id);
	return strtoll(dash + 1, NULL, 10);
}

/* The next event is a `breaker` event of breaker \p name from \p from to
 * \p to, generation \p gen; returns its seq (asserted to be its id's). */
static long long expect_breaker(sse_t *s, int timeout_ms, const char *name,
				const char *from, const char *to,
				long long gen)
{
	char ev[64], id[64];
	json_t *d;
	long long seq;

	sse_event(s, NULL, timeout_ms, ev, id, &d);
	cr_assert_str_eq(ev, "breaker", "event %s, not breaker", ev);
	cr_assert_str_eq(it_json_str(d, "name"), name);
	cr_assert_str_eq(it_json_str(d, "from"), from);
	cr_assert_str_eq(it_json_str(d, "to"), to);
	cr_assert_eq(it_json_int(d, "gen"), gen);
	cr_assert_gt(it_json_int(d, "at_ms"), 0);
	cr_assert(json_is_string(json_object_get(d, "why")));
	seq = it_json_int(d, "seq");
	cr_assert_eq(id_seq(id), seq, "id %s, seq %lld", id, seq);
	json_decref(d);
	return seq;
}

/* Open a stream (interval 60 s) with Last-Event-ID \p last (NULL: none). */
static void sse_resume(sse_t *s, int port, const char *last)
{
	char hdr[256];

	drv_fmt(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s%s%s",
		VIEWER, last ? "Last-Event-ID: " : "", last ? last : "",
		last ? "\r\n" : "");
	sse_open(s, port, "/api/v1/live?interval=60", hdr);
	sse_check_head(s);
}

Test(live, breaker_events, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord;
	sse_t *a = malloc(sizeof(*a));
	json_t *d;
	char id0[64], ev[64], last[64];
	long long seq0, s1, s2, t0, ms0;
	int port;

	it_setup(&ctx, "  echo:\n    shell: true\n    command: 'true'\n");
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0113", OPS, VIEWER, "",
			    &coord);

	/* GET /queues answers (the group coordinator of a new stack may not
	 * yet), so that every snapshot below is a `queues` event */
	for (t0 = it_now_ms(); status_of(port, "/api/v1/queues", VIEWER,
					 NULL) != 200; usleep(200 * 1000))
		cr_assert_lt(it_now_ms() - t0, 30000, "GET /queues fails");

	/* the first snapshot's id carries the feed's place (empty: 0) */
	sse_resume(a, port, NULL);
	sse_event(a, "queues", 10000, NULL, id0, &d);
	json_decref(d);
	seq0 = id_seq(id0);
	ms0 = strtoll(id0, NULL, 10);

	/* forced open, then released: two events (the stream reads the
	 * feed once a second; the bounds are generous for loaded hosts) */
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/breakers/pay/open",
				  OPS, NULL, &d), 200);
	json_decref(d);
	s1 = expect_breaker(a, 15000, "pay", "closed", "forced_open", 1);
	cr_assert_gt(s1, seq0);
	cr_assert_eq(it_http_json(port, "POST",
				  "/api/v1/breakers/pay/release", OPS, NULL,
				  &d), 200);
	json_decref(d);
	s2 = expect_breaker(a, 15000, "pay", "forced_open", "closed", 2);
	cr_assert_eq(s2, s1 + 1);
	sse_close(a);

	/* a reconnect from before them gets both, then a snapshot whose MS
	 * is past the one given */
	sse_resume(a, port, id0);
	cr_assert_eq(expect_breaker(a, 5000, "pay", "closed", "forced_open",
				    1), s1);
	cr_assert_eq(expect_breaker(a, 5000, "pay", "forced_open", "closed",
				    2), s2);
	cr_assert_gt(sse_next(a, 5000, &d), ms0);
	json_decref(d);
	sse_close(a);

	/* the MS alone: no place, nothing replayed */
	drv_fmt(last, sizeof(last), "%lld", ms0);
	sse_resume(a, port, last);
	sse_next(a, 5000, &d);
	json_decref(d);
	cr_assert_null(strstr(a->buf, "event: breaker"), "%s", a->buf);
	sse_close(a);

	/* 55 transitions missed: a gap, then the newest 50 */
	for (int i = 0; i < 55; i++) {
		cr_assert_eq(it_http_json(port, "POST", i % 2 ?
					  "/api/v1/breakers/many/release" :
					  "/api/v1/breakers/many/open", OPS,
					  NULL, &d), 200);
		json_decref(d);
	}
	drv_fmt(last, sizeof(last), "%lld-%lld", ms0, s2);
	sse_resume(a, port, last);
	sse_event(a, NULL, 5000, ev, NULL, &d);
	cr_assert_str_eq(ev, "breaker_gap");
	cr_assert_eq(it_json_int(d, "seq"), s2 + 55);
	json_decref(d);
	for (int i = 5; i < 55; i++)
		cr_assert_eq(expect_breaker(a, 5000, "many", i % 2 ?
					    "forced_open" : "closed", i % 2 ?
					    "closed" : "forced_open", i + 1),
			     s2 + 1 + i);
	sse_next(a, 5000, &d);
	json_decref(d);
	sse_close(a);

	/* a place past the head: the feed started again */
	drv_fmt(last, sizeof(last), "%lld-%lld", ms0, s2 + 1000);
	sse_resume(a, port, last);
	sse_event(a, NULL, 5000, ev, id0, &d);
	cr_assert_str_eq(ev, "breaker_gap");
	cr_assert_eq(it_json_int(d, "seq"), s2 + 55);
	cr_assert_eq(id_seq(id0), s2 + 55);
	json_decref(d);
	sse_close(a);

	cr_assert_eq(it_stop(coord, SIGTERM, 15000), 0);
	free(a);
	it_teardown(&ctx);
}

Test(live, dlq_events, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord;
	sse_t *a = malloc(sizeof(*a));
	json_t *d;
	size_t from;
	int port;

	it_setup(&ctx, "  echo:\n    shell: true\n    command: 'true'\n");
	it_topics(&ctx);
	setenv("IT_API_TOKEN_0113", VIEWER, 1);
	port = it_api_start_coord(&ctx, "  dlq_depth_interval: 1s\n", "",
				  "  viewer: {role: viewer, env: "
				  "IT_API_TOKEN_0113}\n", &coord);

	sse_open(a, port, "/api/v1/live?interval=1&access_token=" VIEWER, "");
	sse_check_head(a);
	sse_event(a, "dlq", 15000, NULL, NULL, &d);
	cr_assert_eq(it_json_int(d, "depth"), 0, "%s", a->buf);
	cr_assert_gt(it_json_int(d, "at_ms"), 0);
	json_decref(d);
	/* the same depth: no event, whatever the samples */
	from = a->seen;
	for (int i = 0; i < 3; i++) {
		sse_next(a, 5000, &d);
		json_decref(d);
	}
	cr_assert_null(strstr(a->buf + from, "event: dlq"), "%s",
		       a->buf + from);
	/* a dead letter: depth 1 at a later sample (the leader measures
	 * the depth every 5 s; the bound is generous for loaded hosts) */
	it_produce_raw(&ctx, "dlq", "x", 1);
	sse_event(a, "dlq", 30000, NULL, NULL, &d);
	cr_assert_eq(it_json_int(d, "depth"), 1);
	json_decref(d);
	sse_close(a);

	cr_assert_eq(it_stop(coord, SIGTERM, 15000), 0);
	free(a);
	it_teardown(&ctx);
}

Test(live, task_events, .timeout = 240)
{
	it_ctx_t ctx;
	pid_t coord, worker;
	sse_t *a = malloc(sizeof(*a));
	char id[32], path[256], body[64];
	json_t *d = NULL;
	bool running = false;
	size_t from;
	int port;

	it_setup(&ctx, "  nap:\n    shell: true\n    command: 'sleep 2'\n");
	it_topics(&ctx);
	setenv("IT_API_TOKEN_0113", OPS, 1);
	port = it_api_start_tokens(&ctx, "", "  ops: {role: operator, env: "
				   "IT_API_TOKEN_0113}\n", &coord);
	cr_assert_eq(status_of(port, "/api/v1/live?task=nope", OPS, NULL),
		     400);
	{
		char many[1024] = "/api/v1/live?";

		for (int i = 0; i < 9; i++)
			drv_fmt(many + strlen(many), sizeof(many) -
				strlen(many), "task=%s%c&",
				"01KBQ3M5Z8X0V7D6N4R2T9C1H", "ABCDEFGHJ"[i]);
		cr_assert_eq(status_of(port, many, OPS, NULL), 400);
	}

	/* a task no worker runs yet: its event has a null state */
	cr_assert_eq(it_http_json(port, "POST", "/api/v1/tasks", OPS,
				  "{\"handler\": \"nap\"}", &d), 201);
	drv_strlcpy(id, it_json_str(d, "id"), sizeof(id));
	json_decref(d);
	drv_fmt(path, sizeof(path), "/api/v1/live?interval=1&task=%s&"
		"access_token=" OPS, id);
	sse_open(a, port, path, "");
	sse_check_head(a);
	sse_event(a, "task", 10000, NULL, NULL, &d);
	cr_assert_str_eq(it_json_str(d, "id"), id);
	cr_assert(json_is_null(json_object_get(d, "state")), "%s", a->buf);
	json_decref(d);

	/* the worker runs it: running, then succeeded, each as GET says */
	worker = it_worker_start(&ctx, 1);
	for (int i = 0; i < 10; i++) {
		const char *st;

		sse_event(a, "task", 30000, NULL, NULL, &d);
		cr_assert_str_eq(it_json_str(d, "id"), id);
		st = it_json_str(d, "state");
		cr_assert_not_null(st, "%s", a->buf + a->seen);
		running |= !strcmp(st, "running");
		if (!strcmp(st, "succeeded"))
			break;
		json_decref(d);
		d = NULL;
	}
	cr_assert_not_null(d);
	cr_assert_str_eq(it_json_str(d, "state"), "succeeded");
	cr_assert(running, "no task event said running: %s", a->buf);
	cr_assert_eq(json_array_size(json_object_get(d, "history")), 1);
	drv_fmt(body, sizeof(body), "/api/v1/tasks/%s", id);
	{
		json_t *g = NULL;

		cr_assert_eq(it_http_json(port, "GET", body, OPS, NULL, &g),
			     200);
		cr_assert(json_equal(json_object_get(g, "history"),
				     json_object_get(d, "history")));
		cr_assert_eq(it_json_int(g, "attempt"),
			     it_json_int(d, "attempt"));
		cr_assert_str_eq(it_json_str(g, "state"),
				 it_json_str(d, "state"));
		cr_assert_eq(it_json_int(g, "updated_ms"),
			     it_json_int(d, "updated_ms"));
		json_decref(g);
	}
	json_decref(d);
	/* unchanged: no more task events */
	from = a->seen;
	for (int i = 0; i < 3; i++) {
		sse_next(a, 5000, &d);
		json_decref(d);
	}
	cr_assert_null(strstr(a->buf + from, "event: task"), "%s",
		       a->buf + from);
	sse_close(a);

	cr_assert_eq(it_stop(worker, SIGTERM, 15000), 0);
	cr_assert_eq(it_stop(coord, SIGTERM, 15000), 0);
	free(a);
	it_teardown(&ctx);
}
