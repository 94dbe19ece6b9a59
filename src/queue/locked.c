/* The locked engine: LIFO, priority, simple and unbounded or very large
 * FIFO queues keep their items in a store under the queue mutex, held for
 * a push or a pop and never while waiting (Python's queue.Queue holds its
 * mutex the same way, but also wakes waiters through Conditions under it).
 *
 * Wake rule: whenever a call leaves the queue in a state where a waiter on
 * the other side (or a fellow waiter) could progress, it signals one of
 * them. A signaled waiter that finds its chance taken by a thread that came
 * in meanwhile just waits again; one that returns without using the signal
 * leaves the state unchanged, so the rule passes the signal on. */
#include "queue/queue_impl.h"

static bool has_room(const weft_queue *q)
{
	return q->maxsize == 0 || q->store.len < q->maxsize;
}

/* Under mu: picks the waiters the current state lets progress (at most one
 * getter and one putter); they are woken after unlocking. */
static void pass_on(weft_queue *q, weft__waiter **g, weft__waiter **p)
{
	*g = q->store.len > 0 ? weft__wl_signal(&q->getters) : NULL;
	*p = has_room(q) ? weft__wl_signal(&q->putters) : NULL;
}

/* Waits on l with mu held on entry and on return. Returns 0 when the caller
 * should look again, or the sleep's error (the waiter is then off the list). */
static int wait_on(weft_queue *q, weft__waitlist *l, int64_t deadline)
{
	weft__waiter w;
	weft__wl_push(l, &w);
	pthread_mutex_unlock(&q->mu);
	int rc = weft__wl_sleep(&w, deadline);
	pthread_mutex_lock(&q->mu);
	if (atomic_load_explicit(&w.signaled, memory_order_relaxed))
		return 0; /* popped by a signaler: look again */
	weft__wl_remove(l, &w);
	return rc;
}

/* One put or get under the mutex. Inlined into both callers, so `put` is a
 * constant there. */
static inline __attribute__((always_inline)) int locked_call(weft_queue *q, void **item, int64_t deadline,
                                                             bool nowait, bool put)
{
	int rc;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		int state = atomic_load_explicit(&q->state, memory_order_relaxed);
		if (put ? state != WEFT__Q_ALIVE : state == WEFT__Q_IMMEDIATE) {
			rc = WEFT_ESHUTDOWN; /* after an immediate shutdown the store is empty */
			break;
		}
		if (put ? has_room(q) : q->store.len > 0) {
			if (!put) {
				*item = weft__qstore_pop(&q->store);
				rc = 0;
			} else if ((rc = weft__qstore_push(&q->store, *item)) == 0) {
				atomic_fetch_add(&q->nputs, 1); /* seq_cst: pairs with join */
			}
			break;
		}
		if (state == WEFT__Q_SHUTDOWN) { /* a get with nothing left */
			rc = WEFT_ESHUTDOWN;
			break;
		}
		if (nowait) {
			rc = put ? WEFT_EFULL : WEFT_EEMPTY;
			break;
		}
		rc = wait_on(q, put ? &q->putters : &q->getters, deadline);
		if (rc) {
			rc = weft__queue_timeout_code(rc, deadline, put ? WEFT_EFULL : WEFT_EEMPTY);
			break;
		}
	}
	weft__waiter *g, *p;
	pass_on(q, &g, &p);
	pthread_mutex_unlock(&q->mu);
	weft__wl_wake(g);
	weft__wl_wake(p);
	return rc;
}

int weft__locked_put(weft_queue *q, void *item, int64_t deadline, bool nowait)
{
	return locked_call(q, &item, deadline, nowait, true);
}

int weft__locked_get(weft_queue *q, void **item, int64_t deadline, bool nowait)
{
	return locked_call(q, item, deadline, nowait, false);
}
