/*
 * schedule.c — the coordinator's schedule set: a hash of schedules by id, a
 * binary min-heap of those that will fire, ordered by due time, a cache of
 * the time zones they use (one load per zone, however many schedules), and
 * the time arithmetic: next fire within start..end, per-fire jitter, and
 * where a new leader resumes (catch-up).
 */
#include <stdlib.h>
#include <string.h>

#include "drover/schedule.h"
#include "drover/str.h"

#define NO_HEAP SIZE_MAX
#define MISSED_CAP 100000

typedef struct zone {
	char *name;
	drv_tz_t *tz;
} zone_t;

struct drv_sched {
	drv_sched_item_t **items;   /* every schedule, unordered */
	size_t cnt, cap;
	size_t *slot;               /* hash: index into items + 1, 0 = free */
	size_t slot_cap;            /* power of two, > 2 * cnt */
	drv_sched_item_t **heap;    /* those with due_ms != NEVER */
	size_t heap_cnt;
	zone_t *zones;
	size_t zone_cnt;
};

/* ------------------------------------------------------------------ */
/* Hash by id (open addressing, linear probing)                        */
/* ------------------------------------------------------------------ */

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t hash_id(const char *id)
{
	return fnv(id, strlen(id), UINT64_C(14695981039346656037));
}

/* The slot holding \p id, or the free slot where it would go. */
static size_t find_slot(const drv_sched_t *s, const char *id)
{
	size_t mask = s->slot_cap - 1, i = (size_t)hash_id(id) & mask;

	while (s->slot[i] &&
	       strcmp(s->items[s->slot[i] - 1]->conf.name, id))
		i = (i + 1) & mask;
	return i;
}

static bool rehash(drv_sched_t *s, size_t cap)
{
	size_t *slot = calloc(cap, sizeof(*slot)), *old = s->slot;

	if (!slot)
		return false;
	s->slot = slot;
	s->slot_cap = cap;
	for (size_t i = 0; i < s->cnt; i++)
		slot[find_slot(s, s->items[i]->conf.name)] = i + 1;
	free(old);
	return true;
}

/* ------------------------------------------------------------------ */
/* Heap by due time                                                    */
/* ------------------------------------------------------------------ */

static bool before(const drv_sched_item_t *a, const drv_sched_item_t *b)
{
	return a->due_ms < b->due_ms;
}

static void heap_place(drv_sched_t *s, size_t i, drv_sched_item_t *it)
{
	s->heap[i] = it;
	it->heap = i;
}

static void sift_up(drv_sched_t *s, size_t i)
{
	drv_sched_item_t *it = s->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(it, s->heap[parent]))
			break;
		heap_place(s, i, s->heap[parent]);
		i = parent;
	}
	heap_place(s, i, it);
}

static void sift_down(drv_sched_t *s, size_t i)
{
	drv_sched_item_t *it = s->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->heap_cnt)
			break;
		if (c + 1 < s->heap_cnt && before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!before(s->heap[c], it))
			break;
		heap_place(s, i, s->heap[c]);
		i = c;
	}
	heap_place(s, i, it);
}

static void heap_remove(drv_sched_t *s, drv_sched_item_t *it)
{
	size_t i = it->heap;
	drv_sched_item_t *last;

	if (i == NO_HEAP)
		return;
	it->heap = NO_HEAP;
	last = s->heap[--s->heap_cnt];
	if (last == it)
		return;
	heap_place(s, i, last);
	sift_down(s, i);
	sift_up(s, last->heap);
}

/* ------------------------------------------------------------------ */
/* The set                                                             */
/* ------------------------------------------------------------------ */

drv_sched_t *drv_sched_new(void)
{
	drv_sched_t *s = calloc(1, sizeof(*s));

	if (s && !rehash(s, 64)) {
		free(s);
		return NULL;
	}
	return s;
}

static void item_free(drv_sched_item_t *it)
{
	if (!it)
		return;
	drv_schedule_conf_release(&it->conf);
	drv_cron_free(it->cron);
	free(it);
}

void drv_sched_destroy(drv_sched_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cnt; i++)
		item_free(s->items[i]);
	for (size_t i = 0; i < s->zone_cnt; i++) {
		free(s->zones[i].name);
		drv_tz_free(s->zones[i].tz);
	}
	free(s->zones);
	free(s->items);
	free(s->slot);
	free(s->heap);
	free(s);
}

/* The zone named \p name from the cache, loaded on first use. */
static const drv_tz_t *zone(drv_sched_t *s, const char *name, char *errstr,
			    size_t errstr_size, drv_err_t *err)
{
	zone_t *more;
	drv_tz_t *tz = NULL;
	char *copy;

	if (!name)
		name = "UTC";
	for (size_t i = 0; i < s->zone_cnt; i++)
		if (!strcmp(s->zones[i].name, name))
			return s->zones[i].tz;
	if ((*err = drv_tz_load(name, &tz, errstr, errstr_size)))
		return NULL;
	more = realloc(s->zones, (s->zone_cnt + 1) * sizeof(*more));
	copy = strdup(name);
	if (more)
		s->zones = more;
	if (!more || !copy) {
		free(copy);
		drv_tz_free(tz);
		*err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
		return NULL;
	}
	s->zones[s->zone_cnt].name = copy;
	s->zones[s->zone_cnt++].tz = tz;
	return tz;
}

static bool grow(drv_sched_t *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	drv_sched_item_t **items, **heap;

	if (s->cnt < s->cap)
		return true;
	if (!(items = realloc(s->items, cap * sizeof(*items))))
		return false;
	s->items = items;
	if (!(heap = realloc(s->heap, cap * sizeof(*heap))))
		return false;
	s->heap = heap;
	s->cap = cap;
	return true;
}

drv_err_t drv_sched_put(drv_sched_t *s, const drv_schedule_conf_t *conf,
			bool runtime, drv_sched_item_t **out, char *errstr,
			size_t errstr_size)
{
	drv_sched_item_t *it, *old;
	drv_err_t err = DRV_OK;
	size_t slot;

	if (!s || !conf || !conf->name || !conf->cron)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "drv_sched_put: bad arguments");
	if (!(it = calloc(1, sizeof(*it))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	it->heap = NO_HEAP;
	it->next_ms = it->due_ms = DRV_SCHED_NEVER;
	it->runtime = runtime;
	if ((err = drv_cron_parse(conf->cron, &it->cron, errstr,
				  errstr_size)) ||
	    !(it->tz = zone(s, conf->timezone, errstr, errstr_size, &err)) ||
	    (err = drv_schedule_conf_copy(&it->conf, conf)) ||
	    ((s->cnt + 1) * 2 >= s->slot_cap &&
	     !rehash(s, s->slot_cap * 2)) || !grow(s)) {
		if (!err)
			err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					"out of memory");
		item_free(it);
		return err;
	}
	slot = find_slot(s, conf->name);
	if (s->slot[slot]) {
		old = s->items[s->slot[slot] - 1];
		heap_remove(s, old);
		it->user = old->user;
		s->items[s->slot[slot] - 1] = it;
		item_free(old);
	} else {
		s->items[s->cnt++] = it;
		s->slot[slot] = s->cnt;
	}
	if (out)
		*out = it;
	return DRV_OK;
}

drv_sched_item_t *drv_sched_get(const drv_sched_t *s, const char *id)
{
	size_t slot;

	if (!s || !id)
		return NULL;
	slot = find_slot(s, id);
	return s->slot[slot] ? s->items[s->slot[slot] - 1] : NULL;
}

bool drv_sched_remove(drv_sched_t *s, const char *id, void **user)
{
	size_t slot, idx, mask;
	drv_sched_item_t *it;

	if (!s || !id || !s->slot[slot = find_slot(s, id)])
		return false;
	idx = s->slot[slot] - 1;
	it = s->items[idx];
	heap_remove(s, it);
	if (user)
		*user = it->user;
	/* delete from the linear-probing table: re-place the run after it */
	mask = s->slot_cap - 1;
	s->slot[slot] = 0;
	for (size_t i = (slot + 1) & mask; s->slot[i]; i = (i + 1) & mask) {
		size_t v = s->slot[i];

		s->slot[i] = 0;
		s->slot[find_slot(s, s->items[v - 1]->conf.name)] = v;
	}
	/* move the last item into the hole */
	if (idx != --s->cnt) {
		s->items[idx] = s->items[s->cnt];
		s->slot[find_slot(s, s->items[idx]->conf.name)] = idx + 1;
	}
	item_free(it);
	return true;
}

size_t drv_sched_count(const drv_sched_t *s)
{
	return s ? s->cnt : 0;
}

drv_sched_item_t *drv_sched_at(const drv_sched_t *s, size_t i)
{
	return s && i < s->cnt ? s->items[i] : NULL;
}

void drv_sched_set_next(drv_sched_t *s, drv_sched_item_t *it,
			int64_t next_ms)
{
	int64_t due = next_ms == DRV_SCHED_NEVER ? DRV_SCHED_NEVER :
		      next_ms + drv_sched_jitter(it, next_ms);

	it->next_ms = next_ms;
	if (due == DRV_SCHED_NEVER) {
		heap_remove(s, it);
		it->due_ms = due;
		return;
	}
	if (it->heap == NO_HEAP) {
		it->due_ms = due;
		heap_place(s, s->heap_cnt++, it);
		sift_up(s, it->heap);
		return;
	}
	if (due < it->due_ms) {
		it->due_ms = due;
		sift_up(s, it->heap);
	} else {
		it->due_ms = due;
		sift_down(s, it->heap);
	}
}

drv_sched_item_t *drv_sched_peek(const drv_sched_t *s)
{
	return s && s->heap_cnt ? s->heap[0] : NULL;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

int64_t drv_sched_next_time(const drv_sched_item_t *it, int64_t after_ms)
{
	int64_t next;

	if (it->conf.start_ms && after_ms < it->conf.start_ms - 1)
		after_ms = it->conf.start_ms - 1;
	if (drv_cron_next(it->cron, it->tz, after_ms, &next))
		return DRV_SCHED_NEVER;
	if (it->conf.end_ms && next > it->conf.end_ms)
		return DRV_SCHED_NEVER;
	return next;
}

int64_t drv_sched_jitter(const drv_sched_item_t *it, int64_t nominal_ms)
{
	uint64_t h;

	if (it->conf.jitter_ms <= 0)
		return 0;
	h = fnv(&nominal_ms, sizeof(nominal_ms), hash_id(it->conf.name));
	return (int64_t)(h % (uint64_t)(it->conf.jitter_ms + 1));
}

int64_t drv_sched_resume(const drv_sched_item_t *it, int64_t last_ms,
			 int64_t now_ms, int64_t grace_ms, int64_t *missed)
{
	int64_t cutoff = now_ms - grace_ms;      /* later than this: due */
	int64_t wstart = now_ms - it->conf.catchup_window_ms;
	int64_t first, t, latest = DRV_SCHED_NEVER, n = 0, lost = 0;

	if (missed)
		*missed = 0;
	if (last_ms < 0)
		return drv_sched_next_time(it, now_ms);
	first = drv_sched_next_time(it, last_ms);
	if (first == DRV_SCHED_NEVER || first > cutoff)
		return first;
	/* fire times in (last, cutoff] are missed; count those before the
	 * window (lost whatever the policy) and find the window's */
	for (t = first; t != DRV_SCHED_NEVER && t <= cutoff &&
	     n < MISSED_CAP; t = drv_sched_next_time(it, t), n++) {
		if (t < wstart) {
			lost++;
			continue;
		}
		if (latest == DRV_SCHED_NEVER && it->conf.catchup ==
		    DRV_CATCHUP_ALL) {
			if (missed)
				*missed = lost;
			return t;          /* all: the oldest in the window */
		}
		latest = t;
	}
	if (n == MISSED_CAP)       /* too many to walk: start from now */
		t = drv_sched_next_time(it, cutoff);
	if (it->conf.catchup == DRV_CATCHUP_ONCE &&
	    latest != DRV_SCHED_NEVER) {
		if (missed)
			*missed = n - 1;
		return latest;
	}
	if (missed)
		*missed = n;
	return t;
}
