/* src/queue/queue_impl.h - the queue's insides, shared by the files of src/queue.
 *
 * A queue is one of two engines behind one API:
 *  - ring (ring.c): a bounded FIFO as Vyukov's bounded MPMC ring. put/get
 *    take no lock; they touch the internal mutex only to park when the ring
 *    is full or empty, or to wake a parked thread.
 *  - locked (locked.c): every other kind and size keeps its items in a
 *    store (store.c: growable deque, stack or stable binary heap) under the
 *    internal mutex, held for a few instructions, never while waiting.
 *
 * Parking (wait.c): a blocked caller puts a waiter (its own futex word) on
 * one of the queue's lists under the mutex and sleeps on that word; whoever
 * makes progress possible pops one waiter, marks it signaled and wakes it,
 * so each sleep costs exactly one wake. Lock order: the queue mutex is a
 * leaf; user callbacks never run under it, except a priority queue's
 * comparator (documented in weft/queue.h).
 */
#ifndef WEFT_QUEUE_IMPL_H
#define WEFT_QUEUE_IMPL_H

#include "core/core.h"

#include <pthread.h>
#include <weft/queue.h>

#define WEFT__CACHELINE 64

/* Bounded FIFO queues from 2 up to this size use the ring (cells are
 * allocated up front: 16 bytes each; one cell cannot tell full from free). */
#define WEFT__RING_MAX 65536

enum { WEFT__Q_ALIVE = 0, WEFT__Q_SHUTDOWN = 1, WEFT__Q_IMMEDIATE = 2 };

/* ---- waiters (wait.c) ------------------------------------------------------- */

/* A thread blocked in a queue call: lives on its stack, on one list. */
typedef struct weft__waiter {
	struct weft__waiter *next, *prev;
	_Atomic uint32_t signaled; /* the futex word: 0 waiting, 1 signaled */
} weft__waiter;

/* A FIFO list of waiters plus its length, which notifiers read without the
 * mutex to skip the slow path when nobody waits. List and count change only
 * under the queue mutex. */
typedef struct weft__waitlist {
	weft__waiter *head, *tail;
	_Atomic uint32_t count;
} weft__waitlist;

/* Under the mutex: appends w (unsignaled). */
void weft__wl_push(weft__waitlist *l, weft__waiter *w);
/* Under the mutex: removes w, which must not have been signaled. */
void weft__wl_remove(weft__waitlist *l, weft__waiter *w);
/* Under the mutex: pops the oldest waiter and marks it signaled; returns it
 * (for weft__wl_wake after unlocking) or NULL when the list is empty. */
weft__waiter *weft__wl_signal(weft__waitlist *l);
/* Wakes a waiter returned by weft__wl_signal. The waiter may already have
 * returned and reused its stack: the futex wake then reaches nobody or is a
 * spurious wake, which every park loop tolerates. NULL is ignored. */
void weft__wl_wake(weft__waiter *w);
/* Under the mutex: signals and wakes every waiter on l. */
void weft__wl_signal_all(weft__waitlist *l);
/* Without the mutex: sleeps until w is signaled (0), or the deadline or a
 * cancel scope fires (WEFT_ETIMEDOUT / WEFT_ECANCELED). */
int weft__wl_sleep(weft__waiter *w, int64_t deadline);

/* ---- the store of the locked engine (store.c) --------------------------------- */

typedef struct weft__qentry {
	void *item;
	uint64_t seq; /* insertion order: ties in a priority queue leave FIFO */
} weft__qentry;

typedef struct weft__qstore {
	weft_queue_kind kind;
	weft_queue_compare cmp;
	size_t head, len, cap; /* FIFO/SIMPLE: ring of cap (a power of two) slots */
	void **buf;            /* FIFO, SIMPLE, LIFO */
	weft__qentry *heap;    /* PRIORITY */
	uint64_t seq;
} weft__qstore;

void weft__qstore_init(weft__qstore *s, weft_queue_kind kind, weft_queue_compare cmp);
/* ENOMEM when the store cannot grow (nothing changes then). */
int weft__qstore_push(weft__qstore *s, void *item);
/* s->len > 0. May shrink the buffer. */
void *weft__qstore_pop(weft__qstore *s);
/* Calls fn on every item (any order) and frees the buffers; s is left
 * empty and usable. fn may be NULL. Runs no comparator. */
void weft__qstore_clear(weft__qstore *s, void (*fn)(void *item));

/* ---- the ring (ring.c) ----------------------------------------------------------- */

/* Set in the ring's tail by shutdown: no put can claim a slot after it. */
#define WEFT__RING_SHUT (UINT64_C(1) << 63)

typedef struct weft__cell {
	_Atomic uint64_t seq; /* pos: free for the put at pos; pos+1: holds its item */
	void *item;
} weft__cell;

typedef struct weft__ring {
	_Alignas(WEFT__CACHELINE) _Atomic uint64_t tail; /* next put position | SHUT */
	_Alignas(WEFT__CACHELINE) _Atomic uint64_t head; /* next get position */
	_Alignas(WEFT__CACHELINE) weft__cell *cells;
	uint64_t cap, mask; /* mask = cap - 1 when cap is a power of two, else 0 */
} weft__ring;

/* ---- the queue -------------------------------------------------------------------- */

struct weft_queue {
	weft__ring ring; /* used when is_ring */
	_Alignas(WEFT__CACHELINE) weft__waitlist getters;
	weft__waitlist putters;
	weft__waitlist joiners;
	_Atomic int state; /* WEFT__Q_* */
	weft_queue_kind kind;
	bool is_ring;
	size_t maxsize;
	void (*discard)(void *item);
	_Alignas(WEFT__CACHELINE) _Atomic uint64_t nputs; /* locked engine: items ever put */
	_Atomic uint64_t ndone;                           /* task_done calls + dropped items */
	pthread_mutex_t mu;
	weft__qstore store;                     /* locked engine, under mu */
	struct weft_queue *all_next, *all_prev; /* every live queue, for fork */
};

/* Items ever put (the ring counts claimed slots). */
static inline uint64_t weft__queue_puts(const weft_queue *q)
{
	if (q->is_ring)
		return atomic_load(&((weft_queue *)q)->ring.tail) & ~WEFT__RING_SHUT;
	return atomic_load(&((weft_queue *)q)->nputs);
}

/* Makes a queue; ring selects the engine for a bounded FIFO (false forces
 * the locked engine, which benchmarks compare). */
int weft__queue_new(weft_queue **out, const weft_queue_opts *opts, bool ring);

/* Engines: deadline is absolute (WEFT__NO_DEADLINE: none), nowait for a
 * timeout of 0. Return codes as weft_queue_put/get. */
int weft__ring_init(weft__ring *r, size_t cap);
void weft__ring_destroy(weft__ring *r);
int weft__ring_put(weft_queue *q, void *item, int64_t deadline, bool nowait);
int weft__ring_get(weft_queue *q, void **item, int64_t deadline, bool nowait);
size_t weft__ring_size(const weft__ring *r);
/* Shuts the ring (no put claims a slot afterwards); with drop, removes every
 * item (waiting for puts in flight) and passes it to q's discard; returns
 * the number dropped. */
uint64_t weft__ring_shutdown(weft_queue *q, bool drop);

int weft__locked_put(weft_queue *q, void *item, int64_t deadline, bool nowait);
int weft__locked_get(weft_queue *q, void **item, int64_t deadline, bool nowait);

/* Counts n dropped items as done (never beyond the items put) and wakes
 * joiners when nothing is left unfinished. */
void weft__queue_count_dropped(weft_queue *q, uint64_t n);

/* Maps a park error for a queue call: a timeout that is the call's own
 * deadline becomes the call's own code (EFULL/EEMPTY); a scope's deadline
 * stays ETIMEDOUT. */
static inline int weft__queue_timeout_code(int rc, int64_t deadline, int own)
{
	if (rc == WEFT_ETIMEDOUT && deadline != WEFT__NO_DEADLINE && weft__now_ns() >= deadline)
		return own;
	return rc;
}

#endif
