/*
 * task.c — the task's life in memory: init and release, ULID task ids,
 * payload, label and failure setters, the invariants every task must
 * satisfy (drv_task_validate, which producers run before encoding and
 * consumers after decoding), and deep copy. The owned key/value list used
 * for task labels and event attributes, and the owned failure list (and
 * failure-class names) shared with the dead letter, live here too. The wire
 * form is in codec.c, the JSON rendering in json.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "drover/str.h"
#include "drover/task.h"
#include "codec_internal.h"

/* --- owned key/value lists ------------------------------------------------ */

drv_err_t drv__kv_set(drv_label_t **kv, size_t *cnt, const char *key,
		      const char *value)
{
	drv_label_t *grown;
	char *k, *v;
	size_t i;

	if (!key || !*key)
		return DRV_ERR_INVALID;
	for (i = 0; i < *cnt; i++)
		if (!strcmp((*kv)[i].key, key))
			break;

	if (!value) { /* remove, keeping the order of the others */
		if (i == *cnt)
			return DRV_OK;
		free((*kv)[i].key);
		free((*kv)[i].value);
		memmove(&(*kv)[i], &(*kv)[i + 1],
			(*cnt - i - 1) * sizeof(**kv));
		if (--*cnt == 0) {
			free(*kv);
			*kv = NULL;
		}
		return DRV_OK;
	}

	if (!(v = strdup(value)))
		return DRV_ERR_NOMEM;
	if (i < *cnt) { /* replace */
		free((*kv)[i].value);
		(*kv)[i].value = v;
		return DRV_OK;
	}
	if (!(k = strdup(key))) {
		free(v);
		return DRV_ERR_NOMEM;
	}
	grown = realloc(*kv, (*cnt + 1) * sizeof(**kv));
	if (!grown) {
		free(k);
		free(v);
		return DRV_ERR_NOMEM;
	}
	*kv = grown;
	grown[*cnt].key = k;
	grown[*cnt].value = v;
	(*cnt)++;
	return DRV_OK;
}

drv_err_t drv__kv_reserve(drv_label_t **kv, size_t n)
{
	*kv = NULL;
	if (n && !(*kv = calloc(n, sizeof(**kv))))
		return DRV_ERR_NOMEM;
	return DRV_OK;
}

drv_err_t drv__kv_append(drv_label_t *kv, size_t *cnt, const char *key,
			 const char *value)
{
	char *k = strdup(key), *v = strdup(value ? value : "");

	if (!k || !v) {
		free(k);
		free(v);
		return DRV_ERR_NOMEM;
	}
	kv[*cnt].key = k;
	kv[*cnt].value = v;
	(*cnt)++;
	return DRV_OK;
}

struct kv_pos {
	const char *key;
	size_t i;
};

static int kv_pos_cmp(const void *a, const void *b)
{
	const struct kv_pos *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

drv_err_t drv__kv_dedupe(drv_label_t *kv, size_t *cnt)
{
	struct kv_pos *pos;
	size_t n = *cnt, kept = 0;

	if (n < 2)
		return DRV_OK;
	if (!(pos = malloc(n * sizeof(*pos))))
		return DRV_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		pos[i] = (struct kv_pos){ kv[i].key, i };
	qsort(pos, n, sizeof(*pos), kv_pos_cmp);
	/* In each run of one key (positions ascending), the first position
	 * takes the last value and the others go: what drv__kv_set() made
	 * of the same pairs one by one. */
	for (size_t a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && !strcmp(pos[a].key, pos[b].key); b++)
			;
		if (b - a == 1)
			continue;
		{
			drv_label_t *first = &kv[pos[a].i];
			drv_label_t *last = &kv[pos[b - 1].i];
			char *v = first->value;

			first->value = last->value;
			last->value = v;
		}
		for (size_t j = a + 1; j < b; j++) {
			drv_label_t *dup = &kv[pos[j].i];

			free(dup->key);
			free(dup->value);
			dup->key = dup->value = NULL;
		}
	}
	free(pos);
	for (size_t i = 0; i < n; i++)
		if (kv[i].key)
			kv[kept++] = kv[i];
	*cnt = kept;
	return DRV_OK;
}

const char *drv__kv_get(const drv_label_t *kv, size_t cnt, const char *key)
{
	if (!key)
		return NULL;
	for (size_t i = 0; i < cnt; i++)
		if (kv[i].key && !strcmp(kv[i].key, key))
			return kv[i].value ? kv[i].value : "";
	return NULL;
}

void drv__kv_free(drv_label_t **kv, size_t *cnt)
{
	for (size_t i = 0; i < *cnt; i++) {
		free((*kv)[i].key);
		free((*kv)[i].value);
	}
	free(*kv);
	*kv = NULL;
	*cnt = 0;
}

static int kv_cmp(const void *a, const void *b)
{
	const drv_label_t *x = *(const drv_label_t * const *)a;
	const drv_label_t *y = *(const drv_label_t * const *)b;

	return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

const drv_label_t **drv__kv_sorted(const drv_label_t *kv, size_t cnt)
{
	const drv_label_t **sorted;

	if (cnt == 0 || !(sorted = malloc(cnt * sizeof(*sorted))))
		return NULL;
	for (size_t i = 0; i < cnt; i++)
		sorted[i] = &kv[i];
	qsort(sorted, cnt, sizeof(*sorted), kv_cmp);
	return sorted;
}

/* --- owned failure lists ----------------------------------------------------- */

static const char *const failure_class_names[DRV_FAILURE_CLASS_CNT] = {
	[DRV_FAILURE_UNSPECIFIED] = "unspecified",
	[DRV_FAILURE_TRANSIENT]   = "transient",
	[DRV_FAILURE_PERMANENT]   = "permanent",
	[DRV_FAILURE_TIMEOUT]     = "timeout",
	[DRV_FAILURE_CRASHED]     = "crashed",
	[DRV_FAILURE_THROTTLED]   = "throttled",
};

const char *drv_failure_class_name(drv_failure_class_t c)
{
	if ((unsigned)c >= DRV_FAILURE_CLASS_CNT)
		c = DRV_FAILURE_UNSPECIFIED;
	return failure_class_names[c];
}

drv_err_t drv_failure_class_parse(const char *s, drv_failure_class_t *out)
{
	for (int i = 0; s && i < DRV_FAILURE_CLASS_CNT; i++) {
		if (!strcasecmp(s, failure_class_names[i])) {
			*out = (drv_failure_class_t)i;
			return DRV_OK;
		}
	}
	return DRV_ERR_INVALID;
}

static void failure_release(drv_failure_t *f)
{
	free(f->worker_id);
	free(f->message);
}

drv_err_t drv__failures_add(drv_failure_t **list, size_t *cnt,
			    const drv_failure_t *f)
{
	drv_failure_t copy = *f, *grown;

	copy.worker_id = NULL;
	copy.message = NULL;
	if ((f->worker_id && !(copy.worker_id = strdup(f->worker_id))) ||
	    (f->message && !(copy.message = strdup(f->message))))
		goto nomem;
	grown = realloc(*list, (*cnt + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	*list = grown;
	grown[(*cnt)++] = copy;
	return DRV_OK;
nomem:
	failure_release(&copy);
	return DRV_ERR_NOMEM;
}

void drv__failures_free(drv_failure_t **list, size_t *cnt)
{
	for (size_t i = 0; *list && i < *cnt; i++)
		failure_release(&(*list)[i]);
	free(*list);
	*list = NULL;
	*cnt = 0;
}

/* --- owned byte buffers --------------------------------------------------------- */

drv_err_t drv__bytes_set(uint8_t **buf, size_t *len, const void *data,
			 size_t n)
{
	uint8_t *copy = NULL;

	if (n > 0) {
		if (!data)
			return DRV_ERR_INVALID;
		if (!(copy = malloc(n)))
			return DRV_ERR_NOMEM;
		memcpy(copy, data, n);
	}
	free(*buf);
	*buf = copy;
	*len = n;
	return DRV_OK;
}

/* --- lifecycle ------------------------------------------------------------ */

void drv_task_init(drv_task_t *t)
{
	memset(t, 0, sizeof(*t));
	t->schema_version = DRV_SCHEMA_VERSION;
	t->priority = DRV_PRIORITY_DEFAULT;
}

static void origin_release(drv_origin_t *o)
{
	free(o->schedule_id);
	free(o->event_id);
	free(o->parent_task_id);
	free(o->dead_letter_id);
	free(o->submitted_by);
}

void drv_task_release(drv_task_t *t)
{
	free(t->handler);
	free(t->payload);
	free(t->policy);
	free(t->idempotency_key);
	free(t->key);
	drv__kv_free(&t->labels, &t->label_cnt);
	origin_release(&t->origin);
	drv__failures_free(&t->failures, &t->failure_cnt);
	drv_task_init(t);
}

/* --- ULID ids --------------------------------------------------------------- */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* splitmix64: only used if getrandom(2) is unavailable, so an id is still
 * unique in practice (seeded from clocks, pid and a process counter). */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void random_direct(uint8_t *buf, size_t n)
{
	static atomic_uint_fast64_t counter;
	size_t got = 0;
	int saved_errno = errno;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got < n) {
		struct timespec rt, mt;
		uint64_t state;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mt);
		state = (uint64_t)rt.tv_nsec ^ ((uint64_t)mt.tv_nsec << 21) ^
			((uint64_t)getpid() << 40) ^
			(atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ULL);
		for (; got < n; got++)
			buf[got] ^= (uint8_t)splitmix64(&state);
	}
	errno = saved_errno;
}

/* getrandom(2) is a system call, and an id is made for every task and
 * event: each thread draws RANDOM_POOL bytes at a time and hands them out.
 * A child after fork() must not reuse its parent's bytes, so the pool of
 * the forking thread (the child's only thread) is emptied there. */
#define RANDOM_POOL 256
static __thread uint8_t random_pool[RANDOM_POOL];
static __thread size_t random_left;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void random_forget(void)
{
	random_left = 0;
}

static void random_init(void)
{
	pthread_atfork(NULL, NULL, random_forget);
}

static void fill_random(uint8_t *buf, size_t n)
{
	pthread_once(&random_once, random_init);
	if (n > RANDOM_POOL) {
		random_direct(buf, n);
		return;
	}
	if (random_left < n) {
		random_direct(random_pool, RANDOM_POOL);
		random_left = RANDOM_POOL;
	}
	memcpy(buf, random_pool + RANDOM_POOL - random_left, n);
	random_left -= n;
}

void drv_id_new(char *id_out, int64_t now_ms)
{
	const uint64_t ts_max = (UINT64_C(1) << 48) - 1;
	uint64_t ts = now_ms < 0 ? 0 : (uint64_t)now_ms;
	uint8_t b[16] = { 0 };
	uint64_t hi = 0, lo = 0;

	if (ts > ts_max)
		ts = ts_max;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ts >> (8 * (5 - i)));
	fill_random(b + 6, 10);
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | b[i];
		lo = lo << 8 | b[8 + i];
	}
	/* 128 bits as 26 base32 digits, 5 bits each from the top: two zero
	 * bits pad the front, so digit i ends 125 - 5 i bits above the
	 * bottom */
	for (int i = 0; i < DRV_ID_LEN; i++) {
		int shift = 125 - 5 * i;
		uint64_t v = shift >= 64 ? hi >> (shift - 64) :
			     shift == 0 ? lo :
			     lo >> shift | hi << (64 - shift);

		id_out[i] = crockford[v & 31];
	}
	id_out[DRV_ID_LEN] = '\0';
}

bool drv_id_valid(const char *id)
{
	if (!id || strlen(id) != DRV_ID_LEN || id[0] > '7')
		return false;
	for (size_t i = 0; i < DRV_ID_LEN; i++)
		if (!memchr(crockford, id[i], sizeof(crockford) - 1))
			return false;
	return true;
}

/* --- setters and getters ----------------------------------------------------- */

drv_err_t drv_task_set_payload(drv_task_t *t, const void *data, size_t len)
{
	return drv__bytes_set(&t->payload, &t->payload_len, data, len);
}

drv_err_t drv_task_set_label(drv_task_t *t, const char *key,
			     const char *value)
{
	return drv__kv_set(&t->labels, &t->label_cnt, key, value);
}

const char *drv_task_label(const drv_task_t *t, const char *key)
{
	return drv__kv_get(t->labels, t->label_cnt, key);
}

drv_err_t drv_task_add_failure(drv_task_t *t, const drv_failure_t *f)
{
	return drv__failures_add(&t->failures, &t->failure_cnt, f);
}

/* --- invariants ---------------------------------------------------------------- */

/* Why \p s breaks the key rule (task.h, drv_task_key_valid), or NULL. The
 * reason names the offset, never the bytes, so a message carrying it cannot
 * itself carry a control byte. */
static const char *key_problem(const char *s, char *why, size_t why_size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	if (!s || !*s)
		return "is empty";
	while (p[i]) {
		if (i >= DRV_TASK_KEY_MAX) {
			drv_fmt(why, why_size, "is longer than %d bytes",
				DRV_TASK_KEY_MAX);
			return why;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		if (p[i] < 0x80) {
			drv_fmt(why, why_size, "has a control byte (0x%02x) "
				"at offset %zu", p[i], i);
			return why;
		}
		if (!(n = drv_utf8_len(p + i))) {
			drv_fmt(why, why_size, "is not valid UTF-8 (0x%02x at "
				"offset %zu)", p[i], i);
			return why;
		}
		if (p[i] == 0xc2 && p[i + 1] < 0xa0) { /* C1: U+0080-009F */
			drv_fmt(why, why_size, "has a control character "
				"(U+%04X) at offset %zu", p[i + 1], i);
			return why;
		}
		i += n;
	}
	if (i > DRV_TASK_KEY_MAX) {
		drv_fmt(why, why_size, "is longer than %d bytes",
			DRV_TASK_KEY_MAX);
		return why;
	}
	return NULL;
}

const char *drv__label_problem(const char *key, const char *value,
			       char *why, size_t why_size)
{
	if (key && strnlen(key, DRV_LABEL_KEY_MAX + 1) > DRV_LABEL_KEY_MAX) {
		drv_fmt(why, why_size, "has a key longer than %d bytes",
			DRV_LABEL_KEY_MAX);
		return why;
	}
	if (value &&
	    strnlen(value, DRV_LABEL_VALUE_MAX + 1) > DRV_LABEL_VALUE_MAX) {
		drv_fmt(why, why_size, "has a value longer than %d bytes",
			DRV_LABEL_VALUE_MAX);
		return why;
	}
	return NULL;
}

bool drv_task_key_valid(const char *s)
{
	char why[96];

	return key_problem(s, why, sizeof(why)) == NULL;
}

drv_err_t drv_task_validate(const drv_task_t *t, char *errstr,
			    size_t errstr_size)
{
	char why[96];
	const char *bad;

	if (!memchr(t->id, '\0', sizeof(t->id)))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task id is not NUL-terminated");
	if (!t->id[0])
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task has no id");
	if ((bad = key_problem(t->id, why, sizeof(why))))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task id %s", bad);
	if (t->idempotency_key && *t->idempotency_key &&
	    (bad = key_problem(t->idempotency_key, why, sizeof(why))))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s: idempotency key %s", t->id, bad);
	if (t->key && *t->key && (bad = key_problem(t->key, why, sizeof(why))))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s: partition key %s", t->id, bad);
	if (!t->handler || !*t->handler)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s has no handler", t->id);
	if (t->priority < DRV_PRIORITY_MIN || t->priority > DRV_PRIORITY_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s has priority %u, outside %d..%d",
				 t->id, t->priority, DRV_PRIORITY_MIN,
				 DRV_PRIORITY_MAX);
	if (t->attempt && t->max_attempts && t->attempt > t->max_attempts)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s has attempt %u beyond max_attempts %u",
				 t->id, t->attempt, t->max_attempts);
	if (t->label_cnt && !t->labels)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s has %zu labels but no label array",
				 t->id, t->label_cnt);
	if (t->label_cnt > DRV_LABELS_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s has %zu labels, more than %d",
				 t->id, t->label_cnt, DRV_LABELS_MAX);
	for (size_t i = 0; i < t->label_cnt; i++) {
		const drv_label_t *l = &t->labels[i];

		if (!l->key || !*l->key)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "task %s has a label with an empty key",
					 t->id);
		if ((bad = drv__label_problem(l->key, l->value, why,
					      sizeof(why))))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "task %s: label %zu %s", t->id, i,
					 bad);
	}
	if (t->failure_cnt && !t->failures)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "task %s has %zu failures but no failure "
				 "array", t->id, t->failure_cnt);
	for (size_t i = 0; i < t->failure_cnt; i++)
		if ((unsigned)t->failures[i].failure_class >=
		    DRV_FAILURE_CLASS_CNT)
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "task %s: failure %zu has unknown "
					 "class %d", t->id, i,
					 (int)t->failures[i].failure_class);
	return DRV_OK;
}

/* --- copy ------------------------------------------------------------------------ */

static bool dup_into(char **dst, const char *src)
{
	*dst = NULL;
	return !src || (*dst = strdup(src)) != NULL;
}

drv_err_t drv_task_copy(drv_task_t *dst, const drv_task_t *src)
{
	const drv_origin_t *so = &src->origin;
	drv_origin_t *d;
	drv_err_t err;

	if (dst == src)
		return DRV_OK;
	drv_task_release(dst);
	d = &dst->origin;

	dst->schema_version = src->schema_version;
	memcpy(dst->id, src->id, sizeof(dst->id));
	dst->id[DRV_ID_LEN] = '\0';
	dst->priority = src->priority;
	dst->attempt = src->attempt;
	dst->max_attempts = src->max_attempts;
	dst->created_ms = src->created_ms;
	dst->not_before_ms = src->not_before_ms;
	dst->deadline_ms = src->deadline_ms;
	d->scheduled_ms = so->scheduled_ms;
	d->chain_depth = so->chain_depth;
	d->fencing_token = so->fencing_token;

	if (!dup_into(&dst->handler, src->handler) ||
	    !dup_into(&dst->policy, src->policy) ||
	    !dup_into(&dst->idempotency_key, src->idempotency_key) ||
	    !dup_into(&dst->key, src->key) ||
	    !dup_into(&d->schedule_id, so->schedule_id) ||
	    !dup_into(&d->event_id, so->event_id) ||
	    !dup_into(&d->parent_task_id, so->parent_task_id) ||
	    !dup_into(&d->dead_letter_id, so->dead_letter_id) ||
	    !dup_into(&d->submitted_by, so->submitted_by))
		err = DRV_ERR_NOMEM;
	else
		err = drv_task_set_payload(dst, src->payload,
					   src->payload_len);
	if (err == DRV_OK && src->label_cnt && !src->labels)
		err = DRV_ERR_INVALID;
	if (err == DRV_OK)
		err = drv__kv_reserve(&dst->labels, src->label_cnt);
	for (size_t i = 0; err == DRV_OK && i < src->label_cnt; i++)
		err = src->labels[i].key && *src->labels[i].key ?
			drv__kv_append(dst->labels, &dst->label_cnt,
				       src->labels[i].key,
				       src->labels[i].value) :
			DRV_ERR_INVALID;
	if (err == DRV_OK)
		err = drv__kv_dedupe(dst->labels, &dst->label_cnt);
	if (err == DRV_OK && src->failure_cnt && !src->failures)
		err = DRV_ERR_INVALID;
	for (size_t i = 0; err == DRV_OK && i < src->failure_cnt; i++)
		err = drv_task_add_failure(dst, &src->failures[i]);
	if (err != DRV_OK)
		drv_task_release(dst);
	return err;
}
