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
 * leaves the slot empty for a while: pop returns nothing although
 * weft__injector_nonempty is true, and the worker retries.
 */
#ifndef WEFT_FUTURES_INJECTOR_H
#define WEFT_FUTURES_INJECTOR_H

#include "futures/executor.h"
#include "futures/lock.h"

enum { WEFT__INJ_SLOTS = 127, WEFT__INJ_LAP = WEFT__INJ_SLOTS + 1 };
/* At most this many consumed blocks are kept (1 KiB each). */
enum { WEFT__INJ_SPARES = 1024 };

/* Flags in the tail word: a closed queue takes no more jobs (the pool
 * shut down, or broke). */
#define WEFT__INJ_CLOSED (UINT64_C(1) << 63)
#define WEFT__INJ_BROKEN (UINT64_C(1) << 62)
#define WEFT__INJ_FLAGS  (WEFT__INJ_CLOSED | WEFT__INJ_BROKEN)

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
	/* Consumed blocks kept for the installers (a stack through next, up
	 * to WEFT__INJ_SPARES of them, under spare_lk): a burst of
	 * submissions that repeats needs no malloc, and the consumer no free.
	 * Blocks a worker freed went back to the submitting thread's malloc
	 * arena, whose lock the two then fought over (futex waits on both
	 * sides, hundreds per 200,000 jobs). */
	weft__mu spare_lk;
	int nspares;
	weft__inj_block *spares;
} weft__injector;

/* 0 or WEFT_ENOMEM. */
int weft__injector_init(weft__injector *q);
/* Frees the blocks; the queue must be empty and unused. */
void weft__injector_destroy(weft__injector *q);

/* A claimed slot, to be filled. */
typedef struct weft__inj_ticket {
	weft__inj_block *block;
	unsigned off;
} weft__inj_ticket;

/* Any thread: claims the next slot. 0; WEFT_ENOMEM when a new block was
 * needed and could not be made; WEFT_ESHUTDOWN / WEFT_EBROKEN once the
 * queue is closed (nothing claimed then). The claim is a seq_cst CAS: it
 * pairs with the sleepers' check (worker.c) and with the close. From the
 * claim on the queue is not empty; the consumer waits at the slot until
 * weft__injector_fill stores the job, which must follow promptly. */
int weft__injector_claim_slow(weft__injector *q, weft__inj_ticket *tk);

/* The common case of a claim: an open queue and a slot that is neither a
 * block's last (whose taker installs the next block) nor its marker.
 * false: anything else, or a lost race (nothing claimed); the caller
 * takes weft__injector_claim_slow. */
static inline bool weft__injector_claim_fast(weft__injector *q, weft__inj_ticket *tk)
{
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
	weft__inj_block *b = atomic_load_explicit(&q->tail_block, memory_order_acquire);
	unsigned off = (unsigned)(t % WEFT__INJ_LAP);
	if (weft__likely(!(t & WEFT__INJ_FLAGS) && off + 1 < WEFT__INJ_SLOTS) &&
	    atomic_compare_exchange_weak(&q->tail, &t, t + 1)) {
		tk->block = b;
		tk->off = off;
		return true;
	}
	return false;
}

static inline int weft__injector_claim(weft__injector *q, weft__inj_ticket *tk)
{
	if (weft__likely(weft__injector_claim_fast(q, tk)))
		return 0;
	return weft__injector_claim_slow(q, tk);
}

/* Stores the job in a claimed slot. Release: the job's contents travel
 * with it. After this the producer must not touch the queue: the job may
 * already have run and its pool be gone. */
static inline void weft__injector_fill(const weft__inj_ticket *tk, weft__job *job)
{
	atomic_store_explicit(&tk->block->slot[tk->off], job, memory_order_release);
}

/* claim + fill. */
int weft__injector_push(weft__injector *q, weft__job *job);

/* Closes the queue: later claims fail (with WEFT_EBROKEN if broken);
 * claims made before stay queued. seq_cst. */
void weft__injector_close(weft__injector *q, bool broken);

/* true when a job may be queued, or a claimed slot is still to be filled
 * (seq_cst loads). */
static inline bool weft__injector_nonempty(weft__injector *q)
{
	return (atomic_load(&q->tail) & ~WEFT__INJ_FLAGS) != atomic_load(&q->head);
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
