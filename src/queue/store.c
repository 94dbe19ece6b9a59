/* The item stores of the locked engine, one per kind:
 *  - FIFO and SIMPLE: a growable ring of void * (Python's deque),
 *  - LIFO: a growable array (Python's list used as a stack),
 *  - PRIORITY: a binary min-heap (Python's heapq) of (item, seq) entries;
 *    seq breaks ties so equal items leave in insertion order, which heapq
 *    alone does not promise.
 * Buffers double when full and halve when a quarter full, never below
 * MIN_CAP, so a queue that once held many items gives the memory back.
 * Called only under the queue mutex. */
#include "queue/queue_impl.h"

#include <stdlib.h>
#include <string.h>

enum { MIN_CAP = 16 };

void weft__qstore_init(weft__qstore *s, weft_queue_kind kind, weft_queue_compare cmp)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->cmp = cmp;
}

static bool is_heap(const weft__qstore *s)
{
	return s->kind == WEFT_QUEUE_PRIORITY;
}

static bool is_ring(const weft__qstore *s)
{
	return s->kind == WEFT_QUEUE_FIFO || s->kind == WEFT_QUEUE_SIMPLE;
}

/* Moves the items into a buffer of new_cap slots (new_cap >= len). For the
 * ring the items are unwrapped to start at slot 0. */
static int resize(weft__qstore *s, size_t new_cap)
{
	if (is_heap(s)) {
		weft__qentry *h = realloc(s->heap, new_cap * sizeof *h);
		if (!h)
			return WEFT_ENOMEM;
		s->heap = h;
	} else if (is_ring(s)) {
		void **b = malloc(new_cap * sizeof *b);
		if (!b)
			return WEFT_ENOMEM;
		for (size_t i = 0; i < s->len; i++)
			b[i] = s->buf[(s->head + i) & (s->cap - 1)];
		free(s->buf);
		s->buf = b;
		s->head = 0;
	} else {
		void **b = realloc(s->buf, new_cap * sizeof *b);
		if (!b)
			return WEFT_ENOMEM;
		s->buf = b;
	}
	s->cap = new_cap;
	return 0;
}

/* a leaves before b */
static bool before(const weft__qstore *s, const weft__qentry *a, const weft__qentry *b)
{
	int c = s->cmp(a->item, b->item);
	return c < 0 || (c == 0 && a->seq < b->seq);
}

static void sift_up(weft__qstore *s, size_t i)
{
	weft__qentry e = s->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(s, &e, &s->heap[parent]))
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = e;
}

static void sift_down(weft__qstore *s, size_t i)
{
	weft__qentry e = s->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= s->len)
			break;
		if (child + 1 < s->len && before(s, &s->heap[child + 1], &s->heap[child]))
			child++;
		if (!before(s, &s->heap[child], &e))
			break;
		s->heap[i] = s->heap[child];
		i = child;
	}
	s->heap[i] = e;
}

int weft__qstore_push(weft__qstore *s, void *item)
{
	if (s->len == s->cap) {
		if (s->cap > SIZE_MAX / 2 / sizeof(weft__qentry))
			return WEFT_ENOMEM;
		int rc = resize(s, s->cap ? s->cap * 2 : MIN_CAP);
		if (rc)
			return rc;
	}
	if (is_heap(s)) {
		s->heap[s->len] = (weft__qentry){item, s->seq++};
		s->len++;
		sift_up(s, s->len - 1);
	} else if (is_ring(s)) {
		s->buf[(s->head + s->len) & (s->cap - 1)] = item;
		s->len++;
	} else {
		s->buf[s->len++] = item;
	}
	return 0;
}

void *weft__qstore_pop(weft__qstore *s)
{
	void *item;
	if (is_heap(s)) {
		item = s->heap[0].item;
		s->heap[0] = s->heap[--s->len];
		if (s->len)
			sift_down(s, 0);
	} else if (is_ring(s)) {
		item = s->buf[s->head];
		s->head = (s->head + 1) & (s->cap - 1);
		s->len--;
	} else {
		item = s->buf[--s->len];
	}
	/* Shrinking is best effort: if memory runs out the buffer stays. */
	if (s->cap > MIN_CAP && s->len <= s->cap / 4)
		(void)resize(s, s->cap / 2);
	return item;
}

void weft__qstore_clear(weft__qstore *s, void (*fn)(void *item))
{
	if (fn) {
		for (size_t i = 0; i < s->len; i++) {
			if (is_heap(s))
				fn(s->heap[i].item);
			else if (is_ring(s))
				fn(s->buf[(s->head + i) & (s->cap - 1)]);
			else
				fn(s->buf[i]);
		}
	}
	free(s->buf);
	free(s->heap);
	weft__qstore_init(s, s->kind, s->cmp);
}
