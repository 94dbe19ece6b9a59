/* src/futures/injector.h - the pool's queue for submissions from outside.
 *
 * Dmitry Vyukov's intrusive multi-producer queue: a producer links its job
 * with one atomic exchange on the tail and one store, wait-free. Consumers
 * (the workers) take turns through a try-lock and take a batch at a time,
 * so contention stays off the producers' path.
 *
 * A producer preempted between its exchange and its link store leaves the
 * queue briefly unreadable past that point: pop returns NULL although
 * weft__injector_nonempty is true, and the worker retries.
 */
#ifndef WEFT_FUTURES_INJECTOR_H
#define WEFT_FUTURES_INJECTOR_H

#include "futures/executor.h"
#include "futures/lock.h"

/* Each part on its own cache line: producers write the tail (and the
 * stub's link when the queue is empty), consumers the lock and the head. */
typedef struct weft__injector {
	_Alignas(64) weft__job *_Atomic tail;
	_Alignas(64) _Atomic uint32_t lk; /* consumer try-lock: 0 free, 1 held */
	/* Written under lk; read by anyone asking whether the queue is empty. */
	_Alignas(64) weft__job *_Atomic head;
	_Alignas(64) weft__job stub;
} weft__injector;

void weft__injector_init(weft__injector *q);

/* Any thread. seq_cst exchange: pairs with the sleepers' check (worker.c). */
static inline void weft__injector_push(weft__injector *q, weft__job *job)
{
	atomic_store_explicit(&job->next, NULL, memory_order_relaxed);
	weft__job *prev = atomic_exchange(&q->tail, job);
	/* Release: the job's contents travel with the link. */
	atomic_store_explicit(&prev->next, job, memory_order_release);
}

/* true when a job may be queued (seq_cst loads). The queue is empty only
 * when the stub is both its head and its tail: the tail alone is not
 * enough, because the consumer re-queues the stub behind the last job it
 * takes, and a producer may slip a job in front of the stub meanwhile --
 * the stub is then the tail with jobs before it, and the head shows them. */
static inline bool weft__injector_nonempty(weft__injector *q)
{
	return atomic_load(&q->tail) != &q->stub || atomic_load(&q->head) != &q->stub;
}

/* Try to become the consumer; false when another thread is. */
static inline bool weft__injector_trylock(weft__injector *q)
{
	return atomic_load_explicit(&q->lk, memory_order_relaxed) == 0 &&
	       atomic_exchange_explicit(&q->lk, 1, memory_order_acquire) == 0;
}

static inline void weft__injector_unlock(weft__injector *q)
{
	atomic_store_explicit(&q->lk, 0, memory_order_release);
}

/* Waits to become the consumer (shutdown and broken-pool drains). */
void weft__injector_lock(weft__injector *q);

/* Consumer only (lock held): the oldest job, or NULL (empty, or a
 * producer is mid-push). */
weft__job *weft__injector_pop(weft__injector *q);

#endif
