/* The Chase-Lev deque (deque.h). Indices are signed and only grow, so
 * "bottom - 1" on an empty deque is -1 < top and needs no special case. */
#include "futures/deque.h"

#include <stdlib.h>

static weft__deque_buf *buf_new(int64_t cap)
{
	weft__deque_buf *b = malloc(sizeof *b + (size_t)cap * sizeof b->slot[0]);
	if (!b)
		return NULL;
	b->mask = cap - 1;
	b->older = NULL;
	return b;
}

int weft__deque_init(weft__deque *d, int64_t capacity)
{
	int64_t cap = 16;
	while (cap < capacity)
		cap *= 2;
	weft__deque_buf *b = buf_new(cap);
	if (!b)
		return WEFT_ENOMEM;
	atomic_init(&d->top, 0);
	atomic_init(&d->bottom, 0);
	atomic_init(&d->buf, b);
	return 0;
}

void weft__deque_destroy(weft__deque *d)
{
	weft__deque_buf *b = atomic_load_explicit(&d->buf, memory_order_relaxed);
	while (b) {
		weft__deque_buf *older = b->older;
		free(b);
		b = older;
	}
	atomic_store_explicit(&d->buf, NULL, memory_order_relaxed);
}

static weft__deque_buf *grow(weft__deque *d, weft__deque_buf *a, int64_t t, int64_t b)
{
	weft__deque_buf *n = buf_new(2 * (a->mask + 1));
	if (!n)
		return NULL;
	for (int64_t i = t; i < b; i++)
		atomic_store_explicit(&n->slot[i & n->mask],
		                      atomic_load_explicit(&a->slot[i & a->mask], memory_order_relaxed),
		                      memory_order_relaxed);
	n->older = a;
	/* Release: a thief that loads the new buffer sees its slots. */
	atomic_store_explicit(&d->buf, n, memory_order_release);
	return n;
}

int weft__deque_push(weft__deque *d, weft__job *job)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
	weft__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
	if (b - t > a->mask) {
		a = grow(d, a, t, b);
		if (!a)
			return WEFT_ENOMEM;
	}
	atomic_store_explicit(&a->slot[b & a->mask], job, memory_order_relaxed);
	/* Release: the job's contents and its slot are visible to a thief that
	 * reads this bottom with acquire. */
	atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
	return 0;
}

void weft__deque_push_many(weft__deque *d, weft__job *const *jobs, int n)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	weft__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		atomic_store_explicit(&a->slot[(b + i) & a->mask], jobs[n - 1 - i], memory_order_relaxed);
	/* Release, as in push: the jobs and their slots go with it. */
	atomic_store_explicit(&d->bottom, b + n, memory_order_release);
}

weft__job *weft__deque_pop(weft__deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
	weft__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
	atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
	/* Orders the bottom store before the top load against a thief's top
	 * load / bottom load (the store-load pair of the paper). */
	atomic_thread_fence(memory_order_seq_cst);
	int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
	weft__job *x = NULL;
	if (t <= b) {
		x = atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
		if (t == b) {
			/* The last job: race the thieves for it on top. */
			if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
			                                             memory_order_relaxed))
				x = NULL;
			atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
		}
	} else {
		atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
	}
	return x;
}

weft__job *weft__deque_steal(weft__deque *d)
{
	int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
	atomic_thread_fence(memory_order_seq_cst);
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
	if (t >= b)
		return NULL;
	weft__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_acquire);
	weft__job *x = atomic_load_explicit(&a->slot[t & a->mask], memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
	                                             memory_order_relaxed))
		return WEFT__STEAL_RETRY;
	return x;
}
