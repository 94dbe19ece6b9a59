/* The scheduler's queue: a 4-ary min-heap of 16-byte entries.
 *
 * Four children of 16 bytes share one 64-byte line, so a sift-down touches
 * one line per level, and there are half as many levels as in a binary
 * heap. The array is offset so each group of siblings starts on a line:
 * logical index k lives at physical index k + 3, children 4k+1..4k+4 at
 * physical 4(k+1)..4(k+1)+3. Sifts move a hole instead of swapping. */
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

enum { ARITY = 4, PAD = 3, LINE = 64 };

bool weft__sched_before(const weft_scheduler *s, weft__sched_entry a, weft__sched_entry b)
{
	if (a.time != b.time)
		return a.time < b.time;
	if (a.priority != b.priority)
		return a.priority < b.priority;
	return s->slots[a.slot].seq < s->slots[b.slot].seq;
}

static int grow(weft_scheduler *s)
{
	size_t cap = s->cap ? 2 * s->cap : 64;
	size_t bytes = (cap + PAD) * sizeof(weft__sched_entry);
	void *mem = aligned_alloc(LINE, (bytes + LINE - 1) / LINE * LINE);
	if (!mem)
		return WEFT_ENOMEM;
	weft__sched_entry *heap = (weft__sched_entry *)mem + PAD;
	if (s->n)
		memcpy(heap, s->heap, s->n * sizeof *heap);
	free(s->heap_mem);
	s->heap_mem = mem;
	s->heap = heap;
	s->cap = cap;
	return 0;
}

/* Moves the hole at k up towards top (an index at or above which it
 * stops) until e fits, and puts e there. */
static void sift_up_to(weft_scheduler *s, size_t top, size_t k, weft__sched_entry e)
{
	weft__sched_entry *h = s->heap;
	while (k > top) {
		size_t parent = (k - 1) / ARITY;
		if (!weft__sched_before(s, e, h[parent]))
			break;
		h[k] = h[parent];
		k = parent;
	}
	h[k] = e;
}

static void sift_up(weft_scheduler *s, size_t k, weft__sched_entry e)
{
	sift_up_to(s, 0, k, e);
}

/* Fills the hole at k with e, keeping the heap below k ordered. Floyd's
 * bottom-up way: the hole first sinks to a leaf, always taking the
 * smallest child (three comparisons a level, none against e), then e
 * rises from there. e is usually the heap's last entry, which belongs
 * near the bottom, so it rises a level or none: a fourth fewer
 * comparisons than checking e at every level on the way down. */
static void sift_down(weft_scheduler *s, size_t k, weft__sched_entry e)
{
	weft__sched_entry *h = s->heap;
	size_t n = s->n, top = k;
	for (;;) {
		size_t first = ARITY * k + 1;
		if (first >= n)
			break;
		size_t last = first + ARITY < n ? first + ARITY : n;
		/* The next level is one of four lines: ask for all of them now,
		 * so the misses overlap instead of following one another. */
		if (ARITY * first + 1 < n)
			for (size_t c = first; c < last; c++)
				__builtin_prefetch(&h[ARITY * c + 1]);
		size_t best = first;
		for (size_t c = first + 1; c < last; c++)
			if (weft__sched_before(s, h[c], h[best]))
				best = c;
		h[k] = h[best];
		k = best;
	}
	sift_up_to(s, top, k, e);
}

int weft__sched_push(weft_scheduler *s, weft__sched_entry e)
{
	if (s->n + s->reserved >= s->cap && grow(s))
		return WEFT_ENOMEM; /* never for a next tick: see reserved */
	sift_up(s, s->n++, e);
	return 0;
}

weft__sched_entry weft__sched_pop(weft_scheduler *s)
{
	weft__sched_entry top = s->heap[0];
	weft__sched_entry last = s->heap[--s->n];
	if (s->n)
		sift_down(s, 0, last);
	return top;
}

void weft__sched_compact(weft_scheduler *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		weft__sched_entry e = s->heap[i];
		if (s->slots[e.slot].state == SLOT_DEAD)
			weft__sched_free_slot(s, e.slot);
		else
			s->heap[k++] = e;
	}
	s->n = k;
	s->dead = 0;
	if (k > 1)
		for (size_t i = (k - 2) / ARITY + 1; i-- > 0;)
			sift_down(s, i, s->heap[i]);
}
