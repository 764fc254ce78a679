/*
 * offsets.c — per-partition commit points for out-of-order task completion
 * (see offsets.h). Each partition keeps its in-flight offsets in a growing
 * array in arrival order; finished entries at the front are dropped as the
 * commit point advances.
 */
#include <stdlib.h>
#include <string.h>

#include "offsets.h"

typedef struct slot {
	int64_t offset;
	bool    done;
} slot_t;

typedef struct part {
	struct part *next;
	char        *topic;
	int32_t      partition;
	slot_t      *slots;
	size_t       head, tail, cap;  /* live slots are [head, tail) */
	int64_t      last;             /* highest offset added */
} part_t;

struct offsets {
	part_t *parts;
};

offsets_t *offsets_new(void)
{
	return calloc(1, sizeof(offsets_t));
}

static void part_free(part_t *p)
{
	free(p->topic);
	free(p->slots);
	free(p);
}

void offsets_destroy(offsets_t *o)
{
	if (!o)
		return;
	while (o->parts) {
		part_t *p = o->parts;
		o->parts = p->next;
		part_free(p);
	}
	free(o);
}

static part_t **find(offsets_t *o, const char *topic, int32_t partition)
{
	part_t **pp = &o->parts;

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->partition == partition && !strcmp((*pp)->topic, topic))
			break;
	return pp;
}

int offsets_add(offsets_t *o, const char *topic, int32_t partition,
		int64_t offset)
{
	part_t **pp = find(o, topic, partition), *p = *pp;

	if (!p) {
		if (!(p = calloc(1, sizeof(*p))) || !(p->topic = strdup(topic))) {
			free(p);
			return -1;
		}
		p->partition = partition;
		p->last = -1;
		*pp = p;
	}
	if (offset <= p->last)
		return 0;
	if (p->tail == p->cap) {
		/* slide live slots to the front before growing */
		if (p->head > 0) {
			memmove(p->slots, p->slots + p->head,
				(p->tail - p->head) * sizeof(slot_t));
			p->tail -= p->head;
			p->head = 0;
		}
		if (p->tail == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 64;
			slot_t *s = realloc(p->slots, cap * sizeof(*s));
			if (!s)
				return -1;
			p->slots = s;
			p->cap = cap;
		}
	}
	p->slots[p->tail].offset = offset;
	p->slots[p->tail].done = false;
	p->tail++;
	p->last = offset;
	return 1;
}

int64_t offsets_done(offsets_t *o, const char *topic, int32_t partition,
		     int64_t offset)
{
	part_t *p = *find(o, topic, partition);
	int64_t commit = -1;
	size_t lo, hi;

	if (!p)
		return -1;
	/* binary search: offsets are increasing */
	lo = p->head;
	hi = p->tail;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->slots[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->tail || p->slots[lo].offset != offset)
		return -1;
	p->slots[lo].done = true;
	while (p->head < p->tail && p->slots[p->head].done) {
		commit = p->slots[p->head].offset + 1;
		p->head++;
	}
	return commit;
}

size_t offsets_pending(const offsets_t *o, const char *topic,
		       int32_t partition)
{
	size_t n = 0;

	for (const part_t *p = o->parts; p; p = p->next) {
		if (topic && (p->partition != partition || strcmp(p->topic, topic)))
			continue;
		for (size_t i = p->head; i < p->tail; i++)
			n += !p->slots[i].done;
	}
	return n;
}

void offsets_forget(offsets_t *o, const char *topic, int32_t partition)
{
	part_t **pp = find(o, topic, partition), *p = *pp;

	if (p) {
		*pp = p->next;
		part_free(p);
	}
}
