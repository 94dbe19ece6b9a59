/* Vyukov's intrusive MPSC queue (injector.h). The stub node keeps the list
 * non-empty so that producers never touch the consumer's head: when the
 * consumer takes the last real job it re-queues the stub behind it.
 *
 * The head is published with release stores only for emptiness checks:
 * the consumer re-reads its own head in program order, and it keeps
 * looking while the head shows a job, so no job is left behind. */
#include "futures/injector.h"

#include <sched.h>

void weft__injector_init(weft__injector *q)
{
	atomic_init(&q->stub.next, NULL);
	q->stub.run = NULL;
	atomic_init(&q->tail, &q->stub);
	atomic_init(&q->head, &q->stub);
	atomic_init(&q->lk, 0);
}

void weft__injector_lock(weft__injector *q)
{
	while (!weft__injector_trylock(q))
		sched_yield();
}

weft__job *weft__injector_pop(weft__injector *q)
{
	weft__job *head = atomic_load_explicit(&q->head, memory_order_relaxed);
	weft__job *next = atomic_load_explicit(&head->next, memory_order_acquire);
	if (head == &q->stub) {
		if (!next)
			return NULL;
		atomic_store_explicit(&q->head, next, memory_order_release);
		head = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		atomic_store_explicit(&q->head, next, memory_order_release);
		return head;
	}
	/* head is the last linked job: unless a producer already swapped the
	 * tail past it, put the stub behind it so it can be taken. */
	if (atomic_load_explicit(&q->tail, memory_order_acquire) != head)
		return NULL;
	weft__injector_push(q, &q->stub);
	next = atomic_load_explicit(&head->next, memory_order_acquire);
	if (next) {
		atomic_store_explicit(&q->head, next, memory_order_release);
		return head;
	}
	return NULL;
}
