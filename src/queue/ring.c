/* The ring engine: a bounded FIFO as Vyukov's bounded MPMC queue, with
 * futex parking when it is full or empty.
 *
 * Each cell carries a sequence number: pos when free for the put at
 * position pos, pos+1 when it holds that put's item, pos+cap once the get
 * at pos has taken it (free for the put one lap later). A put claims
 * position tail by CAS when the cell says free, writes the item, publishes
 * seq = pos+1 (release); a get mirrors it on head. No lock, no system call
 * while the ring is neither full nor empty. Capacity is exactly maxsize
 * (index by mask when a power of two, by modulo otherwise).
 *
 * Shutdown sets WEFT__RING_SHUT in tail, so every put either claimed its
 * slot before the shutdown (its item is there for gets to drain) or fails:
 * "empty and shut down" is final and exact.
 *
 * Parking, without lost wakeups: a blocked caller registers on the queue's
 * waitlist (count++, seq_cst) and then re-reads tail and head (seq_cst);
 * the caller that claims a position does so with a seq_cst CAS and, after
 * publishing its cell, reads the other side's count (seq_cst). In the
 * single order of seq_cst operations one comes first: either the sleeper
 * sees the claim (the item or slot is on its way, so it retries instead
 * of sleeping) or the claimer sees the sleeper and wakes it. The CAS is a
 * locked instruction on x86 whatever its order, and the publishing store
 * is a plain release store, so a put or get costs one locked instruction.
 */
#include "queue/queue_impl.h"
#include "sync/sync_int.h" /* weft__cpu_relax */

#include <sched.h>
#include <stdlib.h>

enum { T_OK = 1, T_FULL = 0, T_EMPTY = 0, T_BUSY = -1, T_SHUT = -2 };

/* A blocked caller waits in three steps, cheapest first:
 *  1. spin: SPINS_BEFORE_YIELD rounds of PAUSES_PER_SPIN `pause`s (about
 *     0.6 us here), for a peer running on another CPU that is about to
 *     make room or bring an item;
 *  2. yield: up to YIELDS_BEFORE_PARK sched_yield calls. With more threads
 *     than CPUs the peer it waits for is often runnable on this very CPU;
 *     a yield hands the CPU over without the futex wait and wake pair that
 *     parking costs both sides (2 producers + 2 consumers on 2 CPUs, fairly
 *     quiet machine: about 1.3x the items per second of spinning then
 *     parking; under heavy load from many processes somewhat less);
 *  3. park on the waitlist until woken.
 * A yield also hands the CPU to unrelated CPU-bound processes, each for a
 * whole time slice (milliseconds, against 5-50 us when the peer runs);
 * that made an earlier always-yield version collapse to 1-3 M items/s next
 * to a busy loop. So a slow yield bans yielding for the thread for a while
 * (weft__yield_once): it then spins and parks. */
enum { SPINS_BEFORE_YIELD = 2, PAUSES_PER_SPIN = 16, YIELDS_BEFORE_PARK = 8 };

/* A peer between claiming a cell and finishing with it: spin, and only
 * after a while yield (it may be preempted on this very CPU). */
enum { BUSY_SPINS_BEFORE_YIELD = 4 };

static void spin(void)
{
	for (int i = 0; i < PAUSES_PER_SPIN; i++)
		weft__cpu_relax();
}

static inline uint64_t slot(const weft__ring *r, uint64_t pos)
{
	return r->mask ? (pos & r->mask) : (pos % r->cap);
}

int weft__ring_init(weft__ring *r, size_t cap)
{
	r->cells = malloc(cap * sizeof *r->cells);
	if (!r->cells)
		return WEFT_ENOMEM;
	for (size_t i = 0; i < cap; i++) {
		atomic_init(&r->cells[i].seq, i);
		r->cells[i].item = NULL;
	}
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
	r->cap = cap;
	r->mask = cap > 1 && (cap & (cap - 1)) == 0 ? cap - 1 : 0;
	return 0;
}

void weft__ring_destroy(weft__ring *r)
{
	free(r->cells);
	r->cells = NULL;
}

size_t weft__ring_size(const weft__ring *r)
{
	uint64_t h = atomic_load_explicit(&((weft__ring *)r)->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&((weft__ring *)r)->tail, memory_order_relaxed) & ~WEFT__RING_SHUT;
	/* Loaded apart, so clamp: head may have passed the tail we saw. */
	return t > h ? (t - h > r->cap ? r->cap : (size_t)(t - h)) : 0;
}

static inline __attribute__((always_inline)) int try_put(weft__ring *r, void *item)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (;;) {
		if (pos & WEFT__RING_SHUT)
			return T_SHUT;
		weft__cell *c = &r->cells[slot(r, pos)];
		uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			/* seq_cst: the claim pairs with parked getters (top comment) */
			if (atomic_compare_exchange_weak_explicit(
			        &r->tail, &pos, pos + 1, memory_order_seq_cst, memory_order_relaxed)) {
				c->item = item;
				atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
				return T_OK;
			}
		} else if (dif < 0) {
			/* The cell still holds the item of the previous lap: full, or
			 * its get is between claiming and releasing it. */
			uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
			if (t != pos) {
				pos = t;
				continue;
			}
			uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
			return pos - h >= r->cap ? T_FULL : T_BUSY;
		} else {
			pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
		}
	}
}

static inline __attribute__((always_inline)) int try_get(weft__ring *r, void **item)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	for (;;) {
		weft__cell *c = &r->cells[slot(r, pos)];
		uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - (pos + 1));
		if (dif == 0) {
			/* seq_cst: the claim pairs with parked putters (top comment) */
			if (atomic_compare_exchange_weak_explicit(
			        &r->head, &pos, pos + 1, memory_order_seq_cst, memory_order_relaxed)) {
				*item = c->item;
				atomic_store_explicit(&c->seq, pos + r->cap, memory_order_release);
				return T_OK;
			}
		} else if (dif < 0) {
			/* No item at head: empty, or its put claimed the cell and is
			 * still writing. */
			uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
			if (h != pos) {
				pos = h;
				continue;
			}
			uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
			if ((t & ~WEFT__RING_SHUT) == pos)
				return t & WEFT__RING_SHUT ? T_SHUT : T_EMPTY;
			return T_BUSY;
		} else {
			pos = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
}

/* Re-checks after registering as a waiter (seq_cst loads, see the top
 * comment): true unless the ring is plainly empty. A put that claimed a
 * slot counts: its item is on its way. A stale head only makes it true. */
static bool can_get(weft__ring *r)
{
	uint64_t t = atomic_load(&r->tail);
	return (t & WEFT__RING_SHUT) || t != atomic_load(&r->head);
}

/* The same for a put: true unless the ring is plainly full. */
static bool can_put(weft__ring *r)
{
	uint64_t t = atomic_load(&r->tail);
	return (t & WEFT__RING_SHUT) || t - atomic_load(&r->head) < r->cap;
}

static __attribute__((noinline)) void wake_one(weft_queue *q, weft__waitlist *l)
{
	pthread_mutex_lock(&q->mu);
	weft__waiter *w = weft__wl_signal(l);
	pthread_mutex_unlock(&q->mu);
	weft__wl_wake(w);
}

/* After progress for the other side: wakes one of its sleepers, if any. */
static inline void notify(weft_queue *q, weft__waitlist *l)
{
	if (weft__unlikely(atomic_load(&l->count) != 0))
		wake_one(q, l);
}

/* Parks on l until signaled or can() holds. Returns 1 when signaled (the
 * caller owes a cascade if it cannot use the signal), 0 when it found the
 * ring ready, else the sleep's error. */
static int park(weft_queue *q, weft__waitlist *l, bool (*can)(weft__ring *), int64_t deadline)
{
	weft__waiter w;
	pthread_mutex_lock(&q->mu);
	weft__wl_push(l, &w);
	pthread_mutex_unlock(&q->mu);
	int rc = can(&q->ring) ? 0 : weft__wl_sleep(&w, deadline);
	if (atomic_load_explicit(&w.signaled, memory_order_acquire))
		return 1;
	pthread_mutex_lock(&q->mu);
	bool signaled = atomic_load_explicit(&w.signaled, memory_order_relaxed);
	if (!signaled)
		weft__wl_remove(l, &w);
	pthread_mutex_unlock(&q->mu);
	return signaled ? 1 : rc;
}

static void drop(weft_queue *q, void *item)
{
	if (q->discard)
		q->discard(item);
	weft__queue_count_dropped(q, 1);
}

/* One put or get: the fast path, then spinning, yielding, parking. Inlined into
 * both callers, so `put` is a constant there. */
static inline __attribute__((always_inline)) int ring_call(weft_queue *q, void **item, int64_t deadline,
                                                           bool nowait, bool put)
{
	weft__ring *r = &q->ring;
	weft__waitlist *mine = put ? &q->putters : &q->getters;
	weft__waitlist *other = put ? &q->getters : &q->putters;
	bool (*can)(weft__ring *) = put ? can_put : can_get;
	bool woke = false; /* consumed a signal: pass it on if others can go on */
	int spins = 0, busy = 0, rc;
	for (;;) {
		int t = put ? try_put(r, *item) : try_get(r, item);
		if (t == T_OK) {
			notify(q, other);
			if (!put &&
			    atomic_load_explicit(&q->state, memory_order_relaxed) == WEFT__Q_IMMEDIATE) {
				drop(q, *item);
				continue;
			}
			rc = 0;
			break;
		}
		if (t == T_SHUT) {
			rc = WEFT_ESHUTDOWN;
			break;
		}
		if (t == T_BUSY) {
			if (++busy > BUSY_SPINS_BEFORE_YIELD)
				sched_yield();
			else
				spin();
			continue;
		}
		if (nowait) {
			rc = put ? WEFT_EFULL : WEFT_EEMPTY;
			break;
		}
		if (spins < SPINS_BEFORE_YIELD) {
			spins++;
			spin();
			continue;
		}
		if (spins < SPINS_BEFORE_YIELD + YIELDS_BEFORE_PARK) {
			spins++;
			if (weft__yield_once(deadline))
				continue;
			spins = SPINS_BEFORE_YIELD + YIELDS_BEFORE_PARK;
		}
		rc = park(q, mine, can, deadline);
		if (rc < 0) {
			rc = weft__queue_timeout_code(rc, deadline, put ? WEFT_EFULL : WEFT_EEMPTY);
			break;
		}
		woke |= rc == 1;
	}
	if (woke && can(r))
		notify(q, mine);
	return rc;
}

static __attribute__((noinline)) int ring_get_slow(weft_queue *q, void **item, int64_t deadline, bool nowait)
{
	return ring_call(q, item, deadline, nowait, false);
}

static __attribute__((noinline)) int ring_put_slow(weft_queue *q, void *item, int64_t deadline, bool nowait)
{
	return ring_call(q, &item, deadline, nowait, true);
}

/* The public entry points try once inline and leave everything else
 * (retries, waiting, shutdown, dropping) to the slow paths: the common
 * call then needs no stack frame to speak of. */
int weft__ring_get(weft_queue *q, void **item, int64_t deadline, bool nowait)
{
	if (weft__likely(try_get(&q->ring, item) == T_OK)) {
		notify(q, &q->putters);
		if (weft__likely(atomic_load_explicit(&q->state, memory_order_relaxed) != WEFT__Q_IMMEDIATE))
			return 0;
		drop(q, *item);
	}
	return ring_get_slow(q, item, deadline, nowait);
}

int weft__ring_put(weft_queue *q, void *item, int64_t deadline, bool nowait)
{
	if (weft__likely(try_put(&q->ring, item) == T_OK)) {
		notify(q, &q->getters);
		return 0;
	}
	return ring_put_slow(q, item, deadline, nowait);
}

uint64_t weft__ring_shutdown(weft_queue *q, bool drop_items)
{
	weft__ring *r = &q->ring;
	/* Seal first: from here on an empty ring reads as shut down, so no get
	 * reports WEFT_EEMPTY during an immediate shutdown. */
	atomic_fetch_or(&r->tail, WEFT__RING_SHUT);
	if (drop_items)
		atomic_store(&q->state, WEFT__Q_IMMEDIATE); /* gets now drop what they find */
	uint64_t n = 0;
	while (drop_items) {
		void *item;
		int t = try_get(r, &item);
		if (t == T_OK) {
			if (q->discard)
				q->discard(item);
			n++;
		} else if (t == T_BUSY) {
			sched_yield(); /* a put that claimed its slot before the shutdown */
		} else {
			break; /* empty and shut: final */
		}
	}
	return n;
}
