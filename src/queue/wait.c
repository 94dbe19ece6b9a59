/* Waiter lists: how a queue call parks and how it is woken.
 *
 * A waiter is signaled exactly once, by whoever pops it (under the queue
 * mutex); it then owns the right to retry. A waiter whose sleep ends by
 * timeout or cancellation takes the mutex and removes itself, unless it was
 * signaled meanwhile (then it handles the signal: see ring.c / locked.c).
 * The signaled flag is stored with release order and read with acquire, so
 * the waiter sees everything the signaler did before signaling. */
#include "queue/queue_impl.h"

#include <limits.h>

void weft__wl_push(weft__waitlist *l, weft__waiter *w)
{
	w->next = NULL;
	w->prev = l->tail;
	atomic_init(&w->signaled, 0);
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	/* seq_cst: pairs with the notifier's seq_cst publication and load of
	 * count (see ring.c), so one of the two sees the other. */
	atomic_fetch_add(&l->count, 1);
}

void weft__wl_remove(weft__waitlist *l, weft__waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		l->tail = w->prev;
	w->next = w->prev = NULL;
	atomic_fetch_sub_explicit(&l->count, 1, memory_order_relaxed);
}

weft__waiter *weft__wl_signal(weft__waitlist *l)
{
	weft__waiter *w = l->head;
	if (!w)
		return NULL;
	weft__wl_remove(l, w);
	atomic_store_explicit(&w->signaled, 1, memory_order_release);
	return w;
}

void weft__wl_wake(weft__waiter *w)
{
	if (w)
		weft__wake(&w->signaled, 1, WEFT__PRIVATE);
}

void weft__wl_signal_all(weft__waitlist *l)
{
	/* Read each next pointer before signaling: once signaled, a waiter may
	 * return and its node (on its stack) is gone. */
	for (weft__waiter *w = l->head, *next; w; w = next) {
		next = w->next;
		w->next = w->prev = NULL;
		atomic_store_explicit(&w->signaled, 1, memory_order_release);
		weft__wake(&w->signaled, 1, WEFT__PRIVATE);
	}
	l->head = l->tail = NULL;
	atomic_store_explicit(&l->count, 0, memory_order_relaxed);
}

int weft__wl_sleep(weft__waiter *w, int64_t deadline)
{
	for (;;) {
		if (atomic_load_explicit(&w->signaled, memory_order_acquire))
			return 0;
		int rc = weft__park(&w->signaled, 0, WEFT__PRIVATE, deadline);
		if (rc)
			return atomic_load_explicit(&w->signaled, memory_order_acquire) ? 0 : rc;
	}
}
