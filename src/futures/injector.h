/* src/futures/injector.h - the pool's queue for submissions from outside.
 *
 * An unbounded multi-producer queue of job pointers kept in blocks of
 * WEFT__INJ_SLOTS slots (the design of crossbeam's Injector): a producer
 * claims a position with one CAS on the tail index and stores its job in
 * that slot; the producer that claims a block's last slot links the next
 * block first. Consumers (the workers) take turns through a try-lock and
 * read the slots in order: the pointers of a batch share a few cache
 * lines, and the consumer can prefetch the jobs before it runs them
 * (a linked list made it chase one cache miss per job).
 *
 * Positions count up forever; a block covers WEFT__INJ_LAP positions, the
 * last of which is no slot: the tail sits on it while the producer that
 * took the block's last slot installs the next block, and other producers
 * wait for it. A producer preempted between its claim and its store
 * leaves the slot empty for a while: pop returns NULL although
 * weft__injector_nonempty is true, and the worker retries.
 */
#ifndef WEFT_FUTURES_INJECTOR_H
#define WEFT_FUTURES_INJECTOR_H

#include "futures/executor.h"
#include "futures/lock.h"

enum { WEFT__INJ_SLOTS = 127, WEFT__INJ_LAP = WEFT__INJ_SLOTS + 1 };

typedef struct weft__inj_block weft__inj_block;
struct weft__inj_block {
	weft__job *_Atomic slot[WEFT__INJ_SLOTS]; /* NULL until its producer stores */
	weft__inj_block *_Atomic next;
};

/* Each part on its own cache line: producers write the tail, consumers
 * the lock and the head. */
typedef struct weft__injector {
	_Alignas(64) _Atomic uint64_t tail;
	weft__inj_block *_Atomic tail_block;
	_Alignas(64) _Atomic uint32_t lk; /* consumer try-lock: 0 free, 1 held */
	/* Written under lk; head is read by anyone asking whether the queue
	 * is empty. */
	_Alignas(64) _Atomic uint64_t head;
	weft__inj_block *head_block;
	/* A consumed block kept for the next installer (so that a steady
	 * stream of submissions does not call malloc). */
	weft__inj_block *_Atomic spare;
} weft__injector;

/* 0 or WEFT_ENOMEM. */
int weft__injector_init(weft__injector *q);
/* Frees the blocks; the queue must be empty and unused. */
void weft__injector_destroy(weft__injector *q);

/* Any thread: 0, or WEFT_ENOMEM when a new block was needed and could not
 * be made (nothing was queued). The claim is a seq_cst CAS: it pairs with
 * the sleepers' check (worker.c). */
int weft__injector_push(weft__injector *q, weft__job *job);

/* true when a job may be queued (seq_cst loads). */
static inline bool weft__injector_nonempty(weft__injector *q)
{
	return atomic_load(&q->tail) != atomic_load(&q->head);
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

/* Consumer only (lock held): up to max of the oldest jobs into out, in
 * order; returns how many (0: empty, or a producer is mid-push). */
int weft__injector_pop(weft__injector *q, weft__job **out, int max);

#endif
