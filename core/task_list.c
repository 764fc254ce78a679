/*
 * task_list.c — one page of tasks from the per-state sets the task-state
 * writer keeps (drover/task_list.h).
 *
 * A cursor is "<updated_ms>:<task id>" of the last candidate a page read:
 * the next page starts just below it in (updated_ms, id) order, the order
 * a ZRANGE ... BYSCORE REV gives (ties in reverse byte order of the id).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/task_list.h"

/* Candidates read per round (per state set, then merged). */
#define ROUND_MAX 1024
#define KEY_BUF (2 * DRV_STATE_KEY_MAX + 32)

/* ---- filter ------------------------------------------------------------- */

static drv_err_t set_states(drv_task_filter_t *f, const char *value,
			    char *errstr, size_t errstr_size)
{
	const char *p = value;

	if (!*p)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "no state given");
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[16];
		drv_task_state_t s;

		if (n < sizeof(name))
			drv_fmt(name, sizeof(name), "%.*s", (int)n, p);
		if (n >= sizeof(name) || drv_task_state_parse(name, &s))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "state '%.*s' is none of queued, "
					 "running, succeeded, retrying, dead, "
					 "skipped, paused, cancelled",
					 (int)(n > 40 ? 40 : n), p);
		f->states |= 1u << s;
		p += n + (p[n] == ',');
	}
	return DRV_OK;
}

drv_err_t drv_task_filter_set(drv_task_filter_t *f, const drv_config_t *cfg,
			      const char *name, const char *value,
			      int64_t now_ms, char *errstr,
			      size_t errstr_size)
{
	if (!strcmp(name, "state"))
		return set_states(f, value, errstr, errstr_size);
	if (!strcmp(name, "handler") || !strcmp(name, "schedule")) {
		if (!drv_name_valid(value))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "%s '%.80s' is not a name (1 to 64 "
					 "of a-z 0-9 _ . -)", name, value);
		*(name[0] == 'h' ? &f->handler : &f->schedule_id) = value;
		return DRV_OK;
	}
	if (!strcmp(name, "band")) {
		for (size_t b = 0; b < drv_band_cnt; b++)
			if (!strcmp(value, drv_bands[b].name)) {
				drv_band_range(cfg, b, &f->prio_min,
					       &f->prio_max);
				return DRV_OK;
			}
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "band '%.40s' is none of high, normal, low",
				 value);
	}
	if (!strcmp(name, "label")) {
		const char *eq = strchr(value, '=');

		if (!eq || eq == value)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "label '%.80s' is not KEY=VALUE",
					 value);
		if (f->label_cnt == DRV_TASK_FILTER_LABEL_MAX)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "more than %d labels",
					 DRV_TASK_FILTER_LABEL_MAX);
		f->label[f->label_cnt++] = value;
		return DRV_OK;
	}
	if (!strcmp(name, "since") || !strcmp(name, "until")) {
		int64_t ms;

		if (drv_parse_when(value, now_ms, &ms))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "%s '%.40s' is neither an RFC 3339 "
					 "time nor a duration ago", name,
					 value);
		*(name[0] == 's' ? &f->since_ms : &f->until_ms) = ms;
		return DRV_OK;
	}
	return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
			 "no filter '%.40s'", name);
}

/* The string member \p name of the JSON object in \p text, or NULL. The
 * caller drops *doc. */
static const char *json_member(const char *text, const char *name,
			       json_t **doc)
{
	*doc = text ? json_loads(text, 0, NULL) : NULL;
	return json_string_value(json_object_get(*doc, name));
}

bool drv_task_filter_match(const drv_task_filter_t *f,
			   const drv_state_task_t *t)
{
	json_t *doc;
	const char *v;
	bool ok;

	if (f->states && !(f->states & (1u << t->state)))
		return false;
	if (f->handler && (!t->handler || strcmp(f->handler, t->handler)))
		return false;
	if (f->prio_min && (t->priority < f->prio_min ||
			    t->priority > f->prio_max))
		return false;
	if (f->since_ms && t->updated_ms < f->since_ms)
		return false;
	if (f->until_ms && t->updated_ms >= f->until_ms)
		return false;
	if (f->schedule_id) {
		v = json_member(t->origin, "schedule_id", &doc);
		ok = v && !strcmp(v, f->schedule_id);
		json_decref(doc);
		if (!ok)
			return false;
	}
	for (size_t i = 0; i < f->label_cnt; i++) {
		const char *eq = strchr(f->label[i], '=');
		char key[256];

		drv_fmt(key, sizeof(key), "%.*s", (int)(eq - f->label[i]),
			f->label[i]);
		v = json_member(t->labels, key, &doc);
		ok = v && !strcmp(v, eq + 1);
		json_decref(doc);
		if (!ok)
			return false;
	}
	return true;
}

/* ---- candidates ---------------------------------------------------------- */

typedef struct cand {
	int64_t score;
	char   *id;
	int     state;   /* the set it came from */
} cand_t;

typedef struct walk {
	redisContext *c;
	const char   *prefix;
	const drv_task_filter_t *f;
	int64_t  cur_score;    /* below (score, id) of the cursor */
	char    *cur_id;       /* NULL: nothing read yet */
	cand_t   cands[ROUND_MAX * DRV_TASK_STATE_CNT];
	size_t   cand_cnt;
	bool     more;         /* some set was not read to its end */
	bool     ended[DRV_TASK_STATE_CNT]; /* read to its end, every member
					       taken: no need to read again */
	char    *errstr;
	size_t   errstr_size;
} walk_t;

static int cand_cmp(const void *a, const void *b)
{
	const cand_t *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return -strcmp(x->id, y->id);
}

/* Is (score, id) before the cursor, i.e. already read? */
static bool seen(const walk_t *w, int64_t score, const char *id)
{
	return w->cur_id && score == w->cur_score && strcmp(id, w->cur_id) >= 0;
}

static drv_err_t redis_fail(walk_t *w, redisReply *r)
{
	drv_err_t err;

	if (!r)
		err = drv_error(w->errstr, w->errstr_size, drv_redis_err(w->c),
				"redis: %s", w->c->errstr);
	else
		err = drv_error(w->errstr, w->errstr_size, DRV_ERR_REDIS,
				"redis: %s", r->type == REDIS_REPLY_ERROR ?
				r->str : "unexpected reply");
	freeReplyObject(r);
	return err;
}

/* Up to \p n members of state \p s's set below the cursor, into cands. */
static drv_err_t fetch_set(walk_t *w, int s, size_t n)
{
	char key[KEY_BUF], max[24], min[24], off[24], cnt[24];
	size_t offset = 0, got = 0;

	drv_fmt(key, sizeof(key), "%stasks:%s", w->prefix,
		drv_task_state_name((drv_task_state_t)s));
	if (w->cur_id)
		drv_fmt(max, sizeof(max), "%" PRId64, w->cur_score);
	else if (w->f->until_ms)
		drv_fmt(max, sizeof(max), "(%" PRId64, w->f->until_ms);
	else
		drv_fmt(max, sizeof(max), "+inf");
	if (w->f->since_ms)
		drv_fmt(min, sizeof(min), "%" PRId64, w->f->since_ms);
	else
		drv_fmt(min, sizeof(min), "-inf");
	drv_fmt(cnt, sizeof(cnt), "%zu", n);
	for (;;) {
		const char *argv[] = { "ZRANGE", key, max, min, "BYSCORE",
				       "REV", "LIMIT", off, cnt,
				       "WITHSCORES" };
		size_t argl[10], skipped = 0, rows;
		redisReply *r;

		drv_fmt(off, sizeof(off), "%zu", offset);
		for (size_t i = 0; i < 10; i++)
			argl[i] = strlen(argv[i]);
		r = redisCommandArgv(w->c, 10, argv, argl);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
			return redis_fail(w, r);
		rows = r->elements / 2;
		for (size_t i = 0; i < rows; i++) {
			const redisReply *m = r->element[2 * i];
			const redisReply *sc = r->element[2 * i + 1];
			cand_t *cd = &w->cands[w->cand_cnt];
			int64_t score;

			if (m->type != REDIS_REPLY_STRING ||
			    sc->type != REDIS_REPLY_STRING ||
			    drv_parse_int(sc->str, INT64_MIN, INT64_MAX,
					  &score))
				continue;
			if (seen(w, score, m->str)) {
				skipped++;
				continue;
			}
			if (!(cd->id = strdup(m->str))) {
				freeReplyObject(r);
				return drv_error(w->errstr, w->errstr_size,
						 DRV_ERR_NOMEM,
						 "out of memory");
			}
			cd->score = score;
			cd->state = s;
			w->cand_cnt++;
			got++;
		}
		freeReplyObject(r);
		if (rows < n) { /* the set's end */
			w->ended[s] = true;
			return DRV_OK;
		}
		if (got) {
			w->more = true;
			return DRV_OK;
		}
		/* a whole batch of ties already read: past them */
		offset += skipped;
	}
}

static void cands_free(walk_t *w, size_t from)
{
	for (size_t i = from; i < w->cand_cnt; i++)
		free(w->cands[i].id);
}

/* Read the hashes of cands[0..n) in one pipeline and add those that pass
 * the filter to \p out, up to \p limit; *used is how many candidates the
 * page took (up to the one that filled it). */
static drv_err_t read_cands(walk_t *w, size_t n, size_t limit,
			    drv_task_page_t *out, size_t *used)
{
	char key[KEY_BUF], err[256];
	drv_err_t rc = DRV_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		drv_fmt(key, sizeof(key), "%stask:%s", w->prefix,
			w->cands[i].id);
		redisAppendCommand(w->c, "HGETALL %s", key);
	}
	for (i = 0; i < n; i++) {
		redisReply *r = NULL;
		drv_state_task_t t;

		if (redisGetReply(w->c, (void **)&r) != REDIS_OK)
			return redis_fail(w, NULL);
		if (rc || out->cnt == limit) {
			freeReplyObject(r);
			continue;
		}
		*used = i + 1;
		if (r->type != REDIS_REPLY_ARRAY || !r->elements) {
			/* expired since it was fetched: skip */
			freeReplyObject(r);
			continue;
		}
		drv_state_task_init(&t);
		if (!(t.id = strdup(w->cands[i].id)))
			rc = drv_error(w->errstr, w->errstr_size, DRV_ERR_NOMEM,
				       "out of memory");
		/* listed from the set of the state its hash holds only, so a
		 * task caught moving is listed once */
		else if (!drv_state_task_from_hash(r, t.id, &t, err,
						   sizeof(err)) &&
			 (int)t.state == w->cands[i].state &&
			 drv_task_filter_match(w->f, &t)) {
			out->tasks[out->cnt++] = t;
			drv_state_task_init(&t);
		}
		drv_state_task_release(&t);
		freeReplyObject(r);
	}
	return rc;
}

static drv_err_t parse_cursor(walk_t *w, const char *cursor)
{
	const char *colon = cursor ? strchr(cursor, ':') : NULL;
	char num[24];

	if (!cursor || !*cursor)
		return DRV_OK;
	if (!colon || colon == cursor || (size_t)(colon - cursor) >=
	    sizeof(num) || !colon[1] || strlen(colon + 1) > DRV_STATE_KEY_MAX)
		goto bad;
	drv_fmt(num, sizeof(num), "%.*s", (int)(colon - cursor), cursor);
	if (drv_parse_int(num, 0, INT64_MAX, &w->cur_score))
		goto bad;
	if (!(w->cur_id = strdup(colon + 1)))
		return drv_error(w->errstr, w->errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	return DRV_OK;
bad:
	return drv_error(w->errstr, w->errstr_size, DRV_ERR_INVALID,
			 "cursor '%.60s' is not one a task list gave",
			 cursor);
}

drv_err_t drv_task_list(redisContext *c, const char *key_prefix,
			const drv_task_filter_t *f, const char *cursor,
			size_t limit, drv_task_page_t *out, char *errstr,
			size_t errstr_size)
{
	walk_t *w;
	drv_err_t rc;
	size_t n;      /* members read per set and round */
	bool done = false;

	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > DRV_TASK_LIST_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit must be 1..%d", DRV_TASK_LIST_MAX);
	if (strlen(key_prefix) > DRV_STATE_KEY_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "redis.key_prefix too long");
	w = calloc(1, sizeof(*w));
	out->tasks = calloc(limit, sizeof(*out->tasks));
	if (!w || !out->tasks) {
		free(w);
		free(out->tasks);
		out->tasks = NULL;
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	*w = (walk_t){ .c = c, .prefix = key_prefix, .f = f,
		       .errstr = errstr, .errstr_size = errstr_size };
	if ((rc = parse_cursor(w, cursor)))
		goto out;
	n = limit < 32 ? 32 : limit;
	while (!done && out->cnt < limit && out->scanned < DRV_TASK_LIST_SCAN) {
		size_t used = 0, had = out->cnt;

		w->cand_cnt = 0;
		w->more = false;
		for (int s = 0; s < DRV_TASK_STATE_CNT && !rc; s++)
			if ((!f->states || (f->states & (1u << s))) &&
			    !w->ended[s])
				rc = fetch_set(w, s, n);
		if (rc) {
			cands_free(w, 0);
			break;
		}
		qsort(w->cands, w->cand_cnt, sizeof(*w->cands), cand_cmp);
		/* each set gave its n newest: only the n newest of all are
		 * sure to come before everything not fetched yet */
		if (w->cand_cnt > n) {
			cands_free(w, n);
			w->cand_cnt = n;
			w->more = true;
		}
		if (!w->cand_cnt)
			break;
		rc = read_cands(w, w->cand_cnt, limit, out, &used);
		/* a set with a candidate left unused is read again */
		for (size_t i = used; i < w->cand_cnt; i++)
			w->ended[w->cands[i].state] = false;
		/* a narrow filter: read more at once next round */
		if (out->cnt - had < (limit - had) / 2 && n < ROUND_MAX)
			n = n * 2 > ROUND_MAX ? ROUND_MAX : n * 2;
		if (!rc && used) {
			free(w->cur_id);
			w->cur_score = w->cands[used - 1].score;
			w->cur_id = w->cands[used - 1].id;
			w->cands[used - 1].id = NULL;
			out->scanned += used;
		}
		done = !w->more && used == w->cand_cnt;
		cands_free(w, 0);
		if (rc)
			break;
	}
	if (!rc && !done && w->cur_id) {
		size_t len = strlen(w->cur_id) + 24;

		if (!(out->next = malloc(len)))
			rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				       "out of memory");
		else
			drv_fmt(out->next, len, "%" PRId64 ":%s",
				w->cur_score, w->cur_id);
	}
	/* the recorded states are done: the queued tasks follow, from the
	 * band topics (drv_task_list_queued) */
	if (!rc && !out->next && (f->states & (1u << DRV_TASK_QUEUED)) &&
	    !(out->next = strdup("q0.0.0")))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
out:
	free(w->cur_id);
	free(w);
	if (rc)
		drv_task_page_release(out);
	return rc;
}

void drv_task_page_release(drv_task_page_t *p)
{
	for (size_t i = 0; i < p->cnt; i++)
		drv_state_task_release(&p->tasks[i]);
	free(p->tasks);
	free(p->next);
	memset(p, 0, sizeof(*p));
}

json_t *drv_task_page_obj(const drv_task_page_t *p)
{
	json_t *o = json_object(), *a = json_array();
	bool ok = o && a && json_object_set(o, "tasks", a) == 0;

	for (size_t i = 0; ok && i < p->cnt; i++)
		ok = json_array_append_new(a, drv_state_task_obj(&p->tasks[i],
								 false)) == 0;
	if (p->next)
		ok = ok && json_object_set_new(o, "next_cursor",
					       json_string(p->next)) == 0;
	ok = ok && json_object_set_new(o, "scanned",
				 json_integer((json_int_t)p->scanned)) == 0;
	json_decref(a);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
