/* weft/queue.h - Python's queue module: synchronized queues between threads.
 *
 * Mirrors queue.Queue (FIFO), queue.LifoQueue, queue.PriorityQueue and
 * queue.SimpleQueue. Items are void * (the queue never looks at them, except
 * through a priority queue's comparator). One opaque type covers all four
 * kinds; the kind is chosen at creation:
 *
 *   weft_queue *q;
 *   weft_queue_new(&q, &(weft_queue_opts){.maxsize = 1024});   // queue.Queue(1024)
 *   weft_queue_put(q, item, WEFT_FOREVER);                      // q.put(item)
 *   weft_queue_get(q, &item, 0.5);                              // q.get(timeout=0.5)
 *   weft_queue_get(q, &item, 0);                                // q.get_nowait()
 *   weft_queue_free(q);
 *
 * Python names: put(block=True, timeout=None) is a timeout of WEFT_FOREVER,
 * put_nowait() / block=False a timeout of 0. queue.Full is WEFT_EFULL,
 * queue.Empty WEFT_EEMPTY, queue.ShutDown WEFT_ESHUTDOWN (3.13 shutdown
 * semantics), ValueError WEFT_EINVAL. Beyond Python: join() takes a timeout,
 * every blocking call honours the calling thread's cancel scopes (weft/cancel.h:
 * WEFT_ECANCELED, the queue unchanged), and a discard callback receives the
 * items an immediate shutdown or weft_queue_free drops, so none leak.
 *
 * A bounded FIFO queue (maxsize 2 to 65536) is a lock-free ring (Vyukov's
 * bounded MPMC): put and get take no lock and make no system call unless the
 * queue is full or empty, when the caller parks on a futex. The other kinds
 * and sizes keep their items under a short internal lock.
 *
 * Thread-safety: every function may be called from any thread, concurrently,
 * except weft_queue_free, which must be the last call on the queue.
 * Callbacks: a priority queue's comparator runs with the queue's internal
 * lock held (as Python runs __lt__ under the queue's mutex) and must not
 * call back into that queue; the discard callback runs with no lock held.
 * Fork: the child keeps every queue and its items; threads of the parent
 * that were blocked in a queue call do not exist in the child and are
 * forgotten. A call that another thread was making at the instant of fork
 * may be lost in the child.
 */
#ifndef WEFT_QUEUE_H
#define WEFT_QUEUE_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_queue weft_queue;

typedef enum weft_queue_kind {
	WEFT_QUEUE_FIFO = 0,     /* queue.Queue: first in, first out */
	WEFT_QUEUE_LIFO = 1,     /* queue.LifoQueue: last in, first out */
	WEFT_QUEUE_PRIORITY = 2, /* queue.PriorityQueue: smallest first (by .compare) */
	WEFT_QUEUE_SIMPLE = 3,   /* queue.SimpleQueue: unbounded FIFO, no task accounting */
} weft_queue_kind;

/* Orders two items of a priority queue, as qsort's comparator does, but a
 * and b are the items themselves (the void * given to put), not pointers to
 * them: < 0 when a leaves first. Items that compare equal leave in the
 * order they were put. */
typedef int (*weft_queue_compare)(const void *a, const void *b);

/* Options; NULL or zero fields mean Python's defaults. */
typedef struct weft_queue_opts {
	weft_queue_kind kind;
	/* The most items the queue holds; 0 = unbounded (Python's maxsize <= 0).
	 * Must be 0 for WEFT_QUEUE_SIMPLE. */
	size_t maxsize;
	/* WEFT_QUEUE_PRIORITY only, and required there. */
	weft_queue_compare compare;
	/* Called once for every item the queue drops: the items an immediate
	 * shutdown removes and those left at weft_queue_free. NULL: dropped. */
	void (*discard)(void *item);
} weft_queue_opts;

/* Makes a queue. EINVAL (out NULL, unknown kind, PRIORITY without compare,
 * compare on another kind, SIMPLE with maxsize), ENOMEM. */
WEFT_EXTERN int weft_queue_new(weft_queue **out, const weft_queue_opts *opts);

/* Frees q, passing any items left to the discard callback. No other call on
 * q may be running or follow. NULL is ignored. */
WEFT_EXTERN void weft_queue_free(weft_queue *q);

/* Puts item, waiting up to timeout seconds for a free slot (WEFT_FOREVER: no
 * limit; 0: put_nowait). EFULL (no slot in time), ESHUTDOWN (shut down, also
 * while waiting), ECANCELED / ETIMEDOUT (a cancel scope fired; nothing put),
 * EINVAL (q NULL, bad timeout), ENOMEM (an unbounded queue could not grow).
 * SimpleQueue puts never wait. */
WEFT_EXTERN int weft_queue_put(weft_queue *q, void *item, double timeout);

/* Removes the next item into *item, waiting up to timeout seconds for one
 * (0: get_nowait). EEMPTY (none in time), ESHUTDOWN (shut down and nothing
 * left; at once after an immediate shutdown), ECANCELED / ETIMEDOUT (a
 * cancel scope fired; nothing removed), EINVAL (q or item NULL, bad timeout). */
WEFT_EXTERN int weft_queue_get(weft_queue *q, void **item, double timeout);

/* The number of items (approximate while other threads use the queue, as in
 * Python); 0 for NULL. */
WEFT_EXTERN size_t weft_queue_qsize(const weft_queue *q);

/* qsize() == 0; true for NULL. */
WEFT_EXTERN bool weft_queue_empty(const weft_queue *q);

/* true when the queue is bounded and holds maxsize items; false for NULL. */
WEFT_EXTERN bool weft_queue_full(const weft_queue *q);

/* The maxsize given at creation (0: unbounded); 0 for NULL. */
WEFT_EXTERN size_t weft_queue_maxsize(const weft_queue *q);

/* Marks one item taken by get as processed. EINVAL when called more times
 * than items were put (Python's ValueError; nothing changes) or q NULL,
 * ENOTSUP for a SimpleQueue. */
WEFT_EXTERN int weft_queue_task_done(weft_queue *q);

/* Waits until every item put has been marked done by task_done (or dropped
 * by an immediate shutdown). ETIMEDOUT (timeout passed or a scope deadline),
 * ECANCELED, EINVAL (q NULL, bad timeout), ENOTSUP (SimpleQueue). */
WEFT_EXTERN int weft_queue_join(weft_queue *q, double timeout);

/* Items put and not yet marked done (Python's unfinished_tasks); 0 for NULL
 * and for a SimpleQueue. */
WEFT_EXTERN size_t weft_queue_unfinished_tasks(const weft_queue *q);

/* Shuts the queue down (Python 3.13): puts fail with ESHUTDOWN from now on
 * and blocked putters wake with it; gets drain what is left, then fail with
 * ESHUTDOWN, and blocked getters wake. With immediate, the items left are
 * dropped (to the discard callback) and counted done, so joiners wake, and
 * gets fail at once. Shutting down again is allowed (non-immediate after
 * immediate changes nothing). EINVAL (NULL), ENOTSUP (SimpleQueue). */
WEFT_EXTERN int weft_queue_shutdown(weft_queue *q, bool immediate);

/* true once weft_queue_shutdown was called; false for NULL. */
WEFT_EXTERN bool weft_queue_is_shutdown(const weft_queue *q);

#ifdef __cplusplus
}
#endif
#endif
