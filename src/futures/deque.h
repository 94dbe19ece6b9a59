/* src/futures/deque.h - the Chase-Lev work-stealing deque.
 *
 * One per pool worker. The owner pushes and pops at the bottom (LIFO: the
 * job it just made is hot in its cache); any thread steals at the top
 * (FIFO: the oldest, usually the biggest piece of work). The memory orders
 * are those of Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
 * Work-Stealing for Weak Memory Models" (PPoPP 2013), with one change: the
 * push publishes bottom with a release store instead of a release fence and
 * a relaxed store (equivalent here, and visible to ThreadSanitizer, which
 * does not model fences).
 *
 * The buffer grows (doubling) when full; old buffers stay allocated until
 * the deque is destroyed, because a thief may still read from one.
 */
#ifndef WEFT_FUTURES_DEQUE_H
#define WEFT_FUTURES_DEQUE_H

#include "futures/executor.h"

typedef struct weft__deque_buf {
	int64_t mask; /* capacity - 1, capacity a power of two */
	struct weft__deque_buf *older;
	weft__job *_Atomic slot[];
} weft__deque_buf;

typedef struct weft__deque {
	_Alignas(64) _Atomic int64_t top;
	_Alignas(64) _Atomic int64_t bottom;
	_Atomic(weft__deque_buf *) buf;
} weft__deque;

/* 0 or WEFT_ENOMEM. capacity is rounded up to a power of two. */
int weft__deque_init(weft__deque *d, int64_t capacity);
void weft__deque_destroy(weft__deque *d);

/* Owner only. 0, or WEFT_ENOMEM when the buffer could not grow (the job
 * was not pushed). */
int weft__deque_push(weft__deque *d, weft__job *job);

/* Owner only: pushes jobs[n-1] first and jobs[0] last (so jobs[0] is
 * popped first), publishing them with one store; the caller has checked
 * that they fit (weft__deque_room). */
void weft__deque_push_many(weft__deque *d, weft__job *const *jobs, int n);

/* Owner only: the newest job, or NULL when empty. */
weft__job *weft__deque_pop(weft__deque *d);

/* Owner only: the job the pop after `ahead` more pops would return (0: the
 * next pop's), or NULL when the deque holds no more. A hint for a
 * prefetch: a thief may take that job first. */
static inline weft__job *weft__deque_peek(weft__deque *d, int64_t ahead)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1 - ahead;
	if (b < atomic_load_explicit(&d->top, memory_order_relaxed))
		return NULL;
	weft__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
	return atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
}

/* Any thread: the oldest job, NULL when empty, or WEFT__STEAL_RETRY when
 * another thread won the race for it (try again or elsewhere). */
#define WEFT__STEAL_RETRY ((weft__job *)1)
weft__job *weft__deque_steal(weft__deque *d);

/* Owner only: how many more jobs fit without growing (a lower bound:
 * thieves only make room). */
static inline int64_t weft__deque_room(weft__deque *d)
{
	weft__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
	return a->mask + 1 - (b - t);
}

/* Owner only: how many jobs it holds (thieves may be taking some). */
static inline int64_t weft__deque_size(weft__deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
	return b - t;
}

/* Any thread: a snapshot; seq_cst so that it pairs with a sleeper's
 * registration (see worker.c). */
static inline bool weft__deque_nonempty(weft__deque *d)
{
	int64_t t = atomic_load(&d->top);
	int64_t b = atomic_load(&d->bottom);
	return b > t;
}

#endif
