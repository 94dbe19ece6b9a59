/* tests/queue/queue_test.h - what the queue test files share: the engines
 * under test, and a trigger thread that waits until a call is parked on a
 * queue's waitlist (white box) before unblocking it, which replaces the
 * sleep of CPython's test_queue.py do_blocking_test. */
#ifndef WEFT_QUEUE_TEST_H
#define WEFT_QUEUE_TEST_H

#include "wtest.h"
#include "queue/queue_impl.h"

#include <sched.h>

#define QUEUE_SIZE 5
#define I(x)       ((void *)(uintptr_t)(x))
#define U(p)       ((uintptr_t)(p))

static inline int cmp_uint(const void *a, const void *b)
{
	return (U(a) > U(b)) - (U(a) < U(b));
}

/* The engines under test: bounded FIFO on the ring and on the lock, LIFO,
 * priority. */
enum { E_RING, E_LOCKED_FIFO, E_LIFO, E_PRIO, E_COUNT };

static inline weft_queue *make(int engine, size_t maxsize)
{
	weft_queue_opts o = {.maxsize = maxsize};
	bool ring = true;
	switch (engine) {
	case E_LOCKED_FIFO:
		ring = false;
		break;
	case E_LIFO:
		o.kind = WEFT_QUEUE_LIFO;
		break;
	case E_PRIO:
		o.kind = WEFT_QUEUE_PRIORITY;
		o.compare = cmp_uint;
		break;
	}
	weft_queue *q;
	wt_ok(weft__queue_new(&q, &o, ring));
	ck_assert(q->is_ring == (engine == E_RING && maxsize > 1));
	return q;
}

static inline void *get_or_die(weft_queue *q)
{
	void *x = NULL;
	wt_ok(weft_queue_get(q, &x, 10.0));
	return x;
}

/* Spins (yielding) until n threads wait on l; bounded. */
static inline void await_waiters(weft__waitlist *l, uint32_t n)
{
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (atomic_load(&l->count) < n) {
		ck_assert_msg(weft_monotonic() < end, "no thread blocked");
		sched_yield();
	}
}

/* ---- a trigger thread: once the main thread is parked, does one call ---- */

enum { DO_GET, DO_PUT, DO_SHUTDOWN, DO_SHUTDOWN_NOW, DO_CANCEL, DO_TASK_DONE };

struct trigger {
	weft_queue *q;
	weft__waitlist *l;
	int action;
	void *item;
	weft_cancel *tok;
	int rc;
};

static inline void *trigger_main(void *arg)
{
	struct trigger *t = arg;
	await_waiters(t->l, 1);
	switch (t->action) {
	case DO_GET:
		t->rc = weft_queue_get(t->q, &t->item, 10.0);
		break;
	case DO_PUT:
		t->rc = weft_queue_put(t->q, t->item, 10.0);
		break;
	case DO_SHUTDOWN:
	case DO_SHUTDOWN_NOW:
		t->rc = weft_queue_shutdown(t->q, t->action == DO_SHUTDOWN_NOW);
		break;
	case DO_CANCEL:
		t->rc = weft_cancel_cancel(t->tok);
		break;
	case DO_TASK_DONE:
		t->rc = weft_queue_task_done(t->q);
		break;
	}
	return NULL;
}

static inline wt_thread *trigger(struct trigger *t)
{
	return wt_spawn(trigger_main, t);
}

#endif
