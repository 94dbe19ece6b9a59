/* weft/queue.h: the behaviours CPython's Lib/test/test_queue.py checks
 * (basic order, blocking, nowait, timeouts, task_done/join, 3.13 shutdown,
 * SimpleQueue), plus cancel scopes, argument checks, discard and fork.
 *
 * "Blocking" checks follow test_queue.py's do_blocking_test without its
 * sleep: the trigger thread waits until the blocked call is parked on the
 * queue's waitlist (white box) before unblocking it. */
#include "wtest.h"
#include "queue/queue_impl.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUEUE_SIZE 5
#define I(x)       ((void *)(uintptr_t)(x))
#define U(p)       ((uintptr_t)(p))

static int cmp_uint(const void *a, const void *b)
{
	return (U(a) > U(b)) - (U(a) < U(b));
}

/* The engines under test: bounded FIFO on the ring and on the lock, LIFO,
 * priority. */
enum { E_RING, E_LOCKED_FIFO, E_LIFO, E_PRIO, E_COUNT };

static weft_queue *make(int engine, size_t maxsize)
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

static void *get_or_die(weft_queue *q)
{
	void *x = NULL;
	wt_ok(weft_queue_get(q, &x, 10.0));
	return x;
}

/* Spins (yielding) until n threads wait on l; bounded. */
static void await_waiters(weft__waitlist *l, uint32_t n)
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

static void *trigger_main(void *arg)
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

static wt_thread *trigger(struct trigger *t)
{
	return wt_spawn(trigger_main, t);
}

/* ---- basic_queue_test ---------------------------------------------------- */

static void basic_queue_test(int engine, weft_queue *q)
{
	ck_assert_uint_eq(weft_queue_qsize(q), 0);
	ck_assert(weft_queue_empty(q));
	ck_assert(!weft_queue_full(q));
	wt_ok(weft_queue_put(q, I(111), WEFT_FOREVER));
	wt_ok(weft_queue_put(q, I(333), WEFT_FOREVER));
	wt_ok(weft_queue_put(q, I(222), WEFT_FOREVER));
	static const uintptr_t order[E_COUNT][3] = {
	    {111, 333, 222}, {111, 333, 222}, {222, 333, 111}, {111, 222, 333}};
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(U(get_or_die(q)), order[engine][i]);
	for (int i = 0; i < QUEUE_SIZE - 1; i++) {
		wt_ok(weft_queue_put(q, I(i), WEFT_FOREVER));
		ck_assert_uint_gt(weft_queue_qsize(q), 0);
	}
	ck_assert(!weft_queue_full(q));
	wt_ok(weft_queue_put(q, I(2 * QUEUE_SIZE), WEFT_FOREVER));
	ck_assert(weft_queue_full(q));
	ck_assert(!weft_queue_empty(q));
	wt_rc(weft_queue_put(q, I(99), 0), WEFT_EFULL);
	double t0 = weft_monotonic();
	wt_rc(weft_queue_put(q, I(99), 0.01), WEFT_EFULL);
	ck_assert(weft_monotonic() - t0 >= 0.01);

	/* A blocking put, released by a get from another thread. */
	struct trigger t = {.q = q, .l = &q->putters, .action = DO_GET};
	wt_thread *th = trigger(&t);
	wt_ok(weft_queue_put(q, I(3 * QUEUE_SIZE), WEFT_FOREVER));
	wt_join(th);
	wt_ok(t.rc);
	/* The same with a timeout. */
	th = trigger(&t);
	wt_ok(weft_queue_put(q, I(3 * QUEUE_SIZE), 10.0));
	wt_join(th);
	wt_ok(t.rc);
	for (int i = 0; i < QUEUE_SIZE; i++)
		get_or_die(q);
	ck_assert_uint_eq(weft_queue_qsize(q), 0);
	void *x;
	wt_rc(weft_queue_get(q, &x, 0), WEFT_EEMPTY);
	t0 = weft_monotonic();
	wt_rc(weft_queue_get(q, &x, 0.01), WEFT_EEMPTY);
	ck_assert(weft_monotonic() - t0 >= 0.01);

	/* A blocking get, released by a put. */
	t = (struct trigger){.q = q, .l = &q->getters, .action = DO_PUT, .item = I(7)};
	th = trigger(&t);
	ck_assert_uint_eq(U(get_or_die(q)), 7);
	wt_join(th);
	wt_ok(t.rc);
	th = trigger(&t);
	wt_ok(weft_queue_get(q, &x, 10.0));
	ck_assert_uint_eq(U(x), 7);
	wt_join(th);
}

START_TEST(basic)
{
	weft_queue *q = make(_i, QUEUE_SIZE);
	basic_queue_test(_i, q); /* twice: the same queue reused */
	basic_queue_test(_i, q);
	ck_assert_uint_eq(weft_queue_maxsize(q), QUEUE_SIZE);
	weft_queue_free(q);
}
END_TEST

/* ---- task_done / join ----------------------------------------------------- */

struct worker {
	weft_queue *q;
	_Atomic long cum;
};

static void *join_worker(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		void *x = get_or_die(w->q);
		long v = (long)U(x) - 1; /* items are i + 1; 0 means stop */
		if (v >= 0)
			atomic_fetch_add(&w->cum, v);
		wt_ok(weft_queue_task_done(w->q));
		if (v < 0)
			return NULL;
	}
}

static void queue_join_test(weft_queue *q)
{
	struct worker w = {.q = q};
	wt_thread *th[2];
	for (int i = 0; i < 2; i++)
		th[i] = wt_spawn(join_worker, &w);
	for (int i = 0; i < 100; i++)
		wt_ok(weft_queue_put(q, I(i + 1), WEFT_FOREVER));
	wt_ok(weft_queue_join(q, WEFT_FOREVER));
	ck_assert_int_eq(atomic_load(&w.cum), 99 * 100 / 2);
	for (int i = 0; i < 2; i++)
		wt_ok(weft_queue_put(q, I(0), WEFT_FOREVER));
	wt_ok(weft_queue_join(q, WEFT_FOREVER)); /* joining twice works */
	for (int i = 0; i < 2; i++)
		wt_join(th[i]);
	ck_assert_uint_eq(weft_queue_unfinished_tasks(q), 0);
}

START_TEST(task_done_and_join)
{
	weft_queue *q = make(_i, _i == E_RING ? 8 : 0);
	wt_rc(weft_queue_task_done(q), WEFT_EINVAL); /* count would go negative */
	queue_join_test(q);
	queue_join_test(q);
	wt_rc(weft_queue_task_done(q), WEFT_EINVAL);
	/* join with a timeout (beyond Python) */
	wt_ok(weft_queue_put(q, I(1), 0));
	ck_assert_uint_eq(weft_queue_unfinished_tasks(q), 1);
	double t0 = weft_monotonic();
	wt_rc(weft_queue_join(q, 0.05), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.05);
	wt_rc(weft_queue_join(q, 0), WEFT_ETIMEDOUT);
	get_or_die(q);
	/* a blocked join released by task_done from another thread */
	struct trigger t = {.q = q, .l = &q->joiners, .action = DO_TASK_DONE};
	wt_thread *th = trigger(&t);
	wt_ok(weft_queue_join(q, 10.0));
	wt_join(th);
	wt_ok(t.rc);
	weft_queue_free(q);
}
END_TEST

/* ---- arguments -------------------------------------------------------------- */

START_TEST(bad_arguments)
{
	weft_queue *q;
	void *x;
	wt_rc(weft_queue_new(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_PRIORITY}), WEFT_EINVAL);
	ck_assert_ptr_null(q);
	wt_rc(weft_queue_new(&q, &(weft_queue_opts){.compare = cmp_uint}), WEFT_EINVAL);
	wt_rc(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_LIFO, .compare = cmp_uint}),
	      WEFT_EINVAL);
	wt_rc(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_SIMPLE, .maxsize = 3}), WEFT_EINVAL);
	wt_rc(weft_queue_new(&q, &(weft_queue_opts){.kind = (weft_queue_kind)99}), WEFT_EINVAL);
	wt_rc(weft_queue_new(&q, &(weft_queue_opts){.kind = (weft_queue_kind)-1}), WEFT_EINVAL);

	wt_rc(weft_queue_put(NULL, I(1), 0), WEFT_EINVAL);
	wt_rc(weft_queue_get(NULL, &x, 0), WEFT_EINVAL);
	wt_rc(weft_queue_task_done(NULL), WEFT_EINVAL);
	wt_rc(weft_queue_join(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_queue_shutdown(NULL, false), WEFT_EINVAL);
	ck_assert_uint_eq(weft_queue_qsize(NULL), 0);
	ck_assert(weft_queue_empty(NULL));
	ck_assert(!weft_queue_full(NULL));
	ck_assert(!weft_queue_is_shutdown(NULL));
	ck_assert_uint_eq(weft_queue_maxsize(NULL), 0);
	ck_assert_uint_eq(weft_queue_unfinished_tasks(NULL), 0);
	weft_queue_free(NULL);

	/* test_negative_timeout_raises_exception (-1 is WEFT_FOREVER), and NaN */
	for (int e = 0; e < E_COUNT; e++) {
		q = make(e, QUEUE_SIZE);
		wt_rc(weft_queue_put(q, I(1), -2), WEFT_EINVAL);
		wt_rc(weft_queue_put(q, I(1), NAN), WEFT_EINVAL);
		wt_rc(weft_queue_get(q, &x, -0.5), WEFT_EINVAL);
		wt_rc(weft_queue_get(q, &x, NAN), WEFT_EINVAL);
		wt_rc(weft_queue_get(q, NULL, 0), WEFT_EINVAL);
		wt_rc(weft_queue_join(q, -3), WEFT_EINVAL);
		ck_assert_uint_eq(weft_queue_qsize(q), 0); /* nothing was put */
		weft_queue_free(q);
	}
}
END_TEST

START_TEST(nowait)
{
	weft_queue *q = make(_i, QUEUE_SIZE);
	for (int i = 0; i < QUEUE_SIZE; i++)
		wt_ok(weft_queue_put(q, I(1), 0));
	wt_rc(weft_queue_put(q, I(1), 0), WEFT_EFULL);
	void *x;
	for (int i = 0; i < QUEUE_SIZE; i++)
		wt_ok(weft_queue_get(q, &x, 0));
	wt_rc(weft_queue_get(q, &x, 0), WEFT_EEMPTY);
	weft_queue_free(q);
}
END_TEST

START_TEST(timeouts_never_early)
{
	weft_queue *q = make(_i, 1);
	void *x;
	double t0 = weft_monotonic();
	wt_rc(weft_queue_get(q, &x, 0.1), WEFT_EEMPTY);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.1 && dt < 0.1 + WT_SLACK, "get waited %f s", dt);
	wt_ok(weft_queue_put(q, I(1), 0));
	t0 = weft_monotonic();
	wt_rc(weft_queue_put(q, I(2), 0.1), WEFT_EFULL);
	dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.1 && dt < 0.1 + WT_SLACK, "put waited %f s", dt);
	weft_queue_free(q);
}
END_TEST

/* ---- orders ---------------------------------------------------------------------- */

/* Items are (key, tag) packed: the comparator looks at the key only. */
static int cmp_key(const void *a, const void *b)
{
	return (int)(U(a) >> 16) - (int)(U(b) >> 16);
}

START_TEST(priority_ties_leave_in_insertion_order)
{
	weft_queue *q;
	wt_ok(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_PRIORITY, .compare = cmp_key}));
	/* keys 0..4, each with tags 0..49, put in a scrambled key order */
	for (unsigned tag = 0; tag < 50; tag++)
		for (unsigned k = 0; k < 5; k++)
			wt_ok(weft_queue_put(q, I((((k * 3) % 5) << 16) | tag), 0));
	for (unsigned k = 0; k < 5; k++)
		for (unsigned tag = 0; tag < 50; tag++)
			ck_assert_uint_eq(U(get_or_die(q)), (k << 16) | tag);
	weft_queue_free(q);
}
END_TEST

START_TEST(unbounded_grows_and_shrinks)
{
	static const weft_queue_kind kinds[] = {WEFT_QUEUE_FIFO, WEFT_QUEUE_LIFO, WEFT_QUEUE_SIMPLE,
	                                        WEFT_QUEUE_PRIORITY};
	enum { N = 20000 };
	for (int k = 0; k < 4; k++) {
		weft_queue *q;
		wt_ok(weft_queue_new(
		    &q, &(weft_queue_opts){.kind = kinds[k], .compare = k == 3 ? cmp_uint : NULL}));
		for (int round = 0; round < 2; round++) {
			for (uintptr_t i = 0; i < N; i++)
				wt_ok(weft_queue_put(q, I(i), 0));
			ck_assert(!weft_queue_full(q));
			ck_assert_uint_eq(weft_queue_qsize(q), N);
			for (uintptr_t i = 0; i < N; i++) {
				uintptr_t want = kinds[k] == WEFT_QUEUE_LIFO ? N - 1 - i : i;
				ck_assert_uint_eq(U(get_or_die(q)), want);
			}
			ck_assert(q->store.cap <= 64); /* gave the memory back */
		}
		weft_queue_free(q);
	}
}
END_TEST

START_TEST(ring_capacity_is_exact)
{
	/* Not a power of two: the ring must hold exactly maxsize items. */
	for (size_t cap = 1; cap <= 7; cap++) {
		weft_queue *q = make(E_RING, cap);
		for (int lap = 0; lap < 5; lap++) {
			for (size_t i = 0; i < cap; i++)
				wt_ok(weft_queue_put(q, I(lap * 100 + i), 0));
			ck_assert(weft_queue_full(q));
			wt_rc(weft_queue_put(q, I(0), 0), WEFT_EFULL);
			ck_assert_uint_eq(weft_queue_qsize(q), cap);
			for (size_t i = 0; i < cap; i++)
				ck_assert_uint_eq(U(get_or_die(q)), lap * 100 + i);
			ck_assert(weft_queue_empty(q));
		}
		weft_queue_free(q);
	}
}
END_TEST

/* ---- SimpleQueue ---------------------------------------------------------------- */

START_TEST(simple_queue)
{
	weft_queue *q;
	void *x;
	wt_ok(weft_queue_new(&q, &(weft_queue_opts){.kind = WEFT_QUEUE_SIMPLE}));
	ck_assert(weft_queue_empty(q));
	wt_ok(weft_queue_put(q, I(1), WEFT_FOREVER));
	ck_assert(!weft_queue_empty(q));
	ck_assert_uint_eq(weft_queue_qsize(q), 1);
	wt_ok(weft_queue_put(q, I(2), 0));
	wt_ok(weft_queue_put(q, I(3), 0));
	wt_ok(weft_queue_put(q, I(4), 5.0));
	ck_assert_uint_eq(weft_queue_qsize(q), 4);
	ck_assert_uint_eq(U(get_or_die(q)), 1);
	wt_ok(weft_queue_get(q, &x, 0));
	ck_assert_uint_eq(U(x), 2);
	wt_ok(weft_queue_get(q, &x, 0));
	ck_assert_uint_eq(U(x), 3);
	wt_ok(weft_queue_get(q, &x, 0.1));
	ck_assert_uint_eq(U(x), 4);
	wt_rc(weft_queue_get(q, &x, 0), WEFT_EEMPTY);
	wt_rc(weft_queue_get(q, &x, 1e-3), WEFT_EEMPTY);
	wt_rc(weft_queue_get(q, &x, -2), WEFT_EINVAL);
	ck_assert(!weft_queue_full(q));
	/* No task accounting, no shutdown: Python's SimpleQueue has neither. */
	wt_rc(weft_queue_task_done(q), WEFT_ENOTSUP);
	wt_rc(weft_queue_join(q, 0), WEFT_ENOTSUP);
	wt_rc(weft_queue_shutdown(q, false), WEFT_ENOTSUP);
	ck_assert_uint_eq(weft_queue_unfinished_tasks(q), 0);
	/* a blocked get released by a put */
	struct trigger t = {.q = q, .l = &q->getters, .action = DO_PUT, .item = I(9)};
	wt_thread *th = trigger(&t);
	ck_assert_uint_eq(U(get_or_die(q)), 9);
	wt_join(th);
	weft_queue_free(q);
}
END_TEST

/* ---- shutdown (3.13) -------------------------------------------------------------- */

START_TEST(shutdown_empty)
{
	weft_queue *q = make(_i, 0);
	void *x;
	wt_ok(weft_queue_shutdown(q, false));
	wt_rc(weft_queue_put(q, I(1), WEFT_FOREVER), WEFT_ESHUTDOWN);
	wt_rc(weft_queue_get(q, &x, WEFT_FOREVER), WEFT_ESHUTDOWN);
	weft_queue_free(q);
}
END_TEST

START_TEST(shutdown_nonempty)
{
	weft_queue *q = make(_i, 4);
	void *x;
	wt_ok(weft_queue_put(q, I(1), 0));
	wt_ok(weft_queue_shutdown(q, false));
	ck_assert_uint_eq(U(get_or_die(q)), 1);
	wt_rc(weft_queue_get(q, &x, WEFT_FOREVER), WEFT_ESHUTDOWN);
	weft_queue_free(q);
}
END_TEST

START_TEST(shutdown_immediate)
{
	weft_queue *q = make(_i, 4);
	void *x;
	wt_ok(weft_queue_put(q, I(1), 0));
	wt_ok(weft_queue_shutdown(q, true));
	wt_rc(weft_queue_get(q, &x, WEFT_FOREVER), WEFT_ESHUTDOWN);
	ck_assert(weft_queue_empty(q));
	weft_queue_free(q);
}
END_TEST

START_TEST(shutdown_allowed_transitions)
{
	weft_queue *q = make(_i, 4);
	ck_assert(!weft_queue_is_shutdown(q));
	wt_ok(weft_queue_shutdown(q, false));
	ck_assert(weft_queue_is_shutdown(q));
	wt_ok(weft_queue_shutdown(q, true));
	ck_assert(weft_queue_is_shutdown(q));
	wt_ok(weft_queue_shutdown(q, false));
	ck_assert_int_eq(atomic_load(&q->state), WEFT__Q_IMMEDIATE);
	weft_queue_free(q);
}
END_TEST

static void shutdown_all_methods_in_one_thread(int engine, bool immediate)
{
	weft_queue *q = make(engine, 2);
	void *x;
	wt_ok(weft_queue_put(q, I('L'), WEFT_FOREVER));
	wt_ok(weft_queue_put(q, I('O'), 0));
	wt_ok(weft_queue_shutdown(q, immediate));
	wt_rc(weft_queue_put(q, I('E'), WEFT_FOREVER), WEFT_ESHUTDOWN);
	wt_rc(weft_queue_put(q, I('W'), 0), WEFT_ESHUTDOWN);
	if (immediate) {
		wt_rc(weft_queue_get(q, &x, WEFT_FOREVER), WEFT_ESHUTDOWN);
		wt_rc(weft_queue_get(q, &x, 0), WEFT_ESHUTDOWN);
		wt_rc(weft_queue_task_done(q), WEFT_EINVAL); /* the dropped items counted done */
		wt_ok(weft_queue_join(q, WEFT_FOREVER));
	} else {
		uintptr_t a = U(get_or_die(q));
		ck_assert(a == 'L' || a == 'O');
		wt_ok(weft_queue_task_done(q));
		uintptr_t b = U(get_or_die(q));
		ck_assert(b == 'L' || b == 'O');
		wt_ok(weft_queue_task_done(q));
		wt_ok(weft_queue_join(q, WEFT_FOREVER));
		wt_rc(weft_queue_get(q, &x, WEFT_FOREVER), WEFT_ESHUTDOWN);
		wt_rc(weft_queue_get(q, &x, 0), WEFT_ESHUTDOWN);
		wt_rc(weft_queue_get(q, &x, 1.0), WEFT_ESHUTDOWN);
	}
	weft_queue_free(q);
}

START_TEST(shutdown_all_methods_one_thread)
{
	shutdown_all_methods_in_one_thread(_i, false);
	shutdown_all_methods_in_one_thread(_i, true);
}
END_TEST

/* Blocked getters on an empty queue and blocked putters on a full one all
 * wake with ESHUTDOWN (test_shutdown_pending_get, beyond: putters). */
struct blocked {
	weft_queue *q;
	bool put;
	int rc;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	void *x;
	b->rc = b->put ? weft_queue_put(b->q, I(5), WEFT_FOREVER) : weft_queue_get(b->q, &x, WEFT_FOREVER);
	return NULL;
}

static void shutdown_wakes(int engine, bool put, bool immediate)
{
	weft_queue *q = make(engine, 2);
	if (put) {
		wt_ok(weft_queue_put(q, I(1), 0));
		wt_ok(weft_queue_put(q, I(2), 0));
	}
	struct blocked b[3];
	wt_thread *th[3];
	for (int i = 0; i < 3; i++) {
		b[i] = (struct blocked){.q = q, .put = put};
		th[i] = wt_spawn(blocked_main, &b[i]);
	}
	await_waiters(put ? &q->putters : &q->getters, 3);
	wt_ok(weft_queue_shutdown(q, immediate));
	for (int i = 0; i < 3; i++) {
		wt_join(th[i]);
		wt_rc(b[i].rc, WEFT_ESHUTDOWN);
	}
	ck_assert_uint_eq(weft_queue_qsize(q), put && !immediate ? 2 : 0);
	weft_queue_free(q);
}

START_TEST(shutdown_wakes_blocked)
{
	shutdown_wakes(_i, false, false);
	shutdown_wakes(_i, false, true);
	shutdown_wakes(_i, true, false);
	shutdown_wakes(_i, true, true);
}
END_TEST

/* test_shutdown_get: three getters on a full queue of two after a
 * shutdown: two get items, one gets ShutDown; immediate: all ShutDown. */
START_TEST(shutdown_get)
{
	for (int immediate = 0; immediate < 2; immediate++) {
		weft_queue *q = make(_i, 2);
		wt_ok(weft_queue_put(q, I('Y'), 0));
		wt_ok(weft_queue_put(q, I('D'), 0));
		wt_ok(weft_queue_shutdown(q, immediate));
		struct blocked b[3];
		wt_thread *th[3];
		for (int i = 0; i < 3; i++) {
			b[i] = (struct blocked){.q = q};
			th[i] = wt_spawn(blocked_main, &b[i]);
		}
		int ok = 0, shut = 0;
		for (int i = 0; i < 3; i++) {
			wt_join(th[i]);
			ok += b[i].rc == 0;
			shut += b[i].rc == WEFT_ESHUTDOWN;
		}
		ck_assert_int_eq(ok, immediate ? 0 : 2);
		ck_assert_int_eq(shut, immediate ? 3 : 1);
		weft_queue_free(q);
	}
}
END_TEST

/* test_shutdown_join / test_shutdown_put_join: a joiner waits for the
 * remaining item; immediate shutdown drops it and releases the joiner,
 * otherwise a get and task_done do. */
struct joiner {
	weft_queue *q;
	int rc;
};

static void *joiner_main(void *arg)
{
	struct joiner *j = arg;
	j->rc = weft_queue_join(j->q, WEFT_FOREVER);
	return NULL;
}

START_TEST(shutdown_join)
{
	for (int immediate = 0; immediate < 2; immediate++) {
		weft_queue *q = make(_i, 2);
		wt_ok(weft_queue_put(q, I('Y'), 0));
		ck_assert_uint_eq(weft_queue_unfinished_tasks(q), 1);
		struct joiner j[2] = {{.q = q}, {.q = q}};
		wt_thread *th[2];
		for (int i = 0; i < 2; i++)
			th[i] = wt_spawn(joiner_main, &j[i]);
		await_waiters(&q->joiners, 2);
		wt_ok(weft_queue_shutdown(q, immediate));
		void *x;
		if (immediate) {
			wt_rc(weft_queue_get(q, &x, 0), WEFT_ESHUTDOWN);
		} else {
			ck_assert_uint_eq(U(get_or_die(q)), 'Y');
			wt_ok(weft_queue_task_done(q));
		}
		for (int i = 0; i < 2; i++) {
			wt_join(th[i]);
			wt_ok(j[i].rc);
		}
		weft_queue_free(q);
	}
}
END_TEST

/* An immediate shutdown drops items to the discard callback, and free drops
 * what is left: nothing leaks (ASan would tell). */
static _Atomic int discarded;

static void discard_box(void *item)
{
	free(item);
	atomic_fetch_add(&discarded, 1);
}

START_TEST(discard_gets_dropped_items)
{
	for (int e = 0; e < E_COUNT; e++) {
		weft_queue_opts o = {.maxsize = 8, .discard = discard_box};
		if (e == E_LIFO)
			o.kind = WEFT_QUEUE_LIFO;
		if (e == E_PRIO) {
			o.kind = WEFT_QUEUE_PRIORITY;
			o.compare = cmp_uint;
		}
		weft_queue *q;
		wt_ok(weft__queue_new(&q, &o, e != E_LOCKED_FIFO));
		atomic_store(&discarded, 0);
		for (int i = 0; i < 5; i++)
			wt_ok(weft_queue_put(q, malloc(16), 0));
		wt_ok(weft_queue_shutdown(q, true));
		ck_assert_int_eq(atomic_load(&discarded), 5);
		ck_assert_uint_eq(weft_queue_unfinished_tasks(q), 0);
		weft_queue_free(q);

		wt_ok(weft__queue_new(&q, &o, e != E_LOCKED_FIFO));
		atomic_store(&discarded, 0);
		for (int i = 0; i < 3; i++)
			wt_ok(weft_queue_put(q, malloc(16), 0));
		free(get_or_die(q));
		weft_queue_free(q);
		ck_assert_int_eq(atomic_load(&discarded), 2);
	}
}
END_TEST

/* test_shutdown_all_methods_in_many_threads, smaller: writers put until
 * shutdown, readers get (nowait) until ShutDown, joiners wait. */
struct many {
	weft_queue *q;
	int n_per_writer;
	pthread_barrier_t *start;
	_Atomic int puts_failed, gets_shut, shutdowns;
	bool immediate;
};

static void *many_writer(void *arg)
{
	struct many *m = arg;
	for (int i = 0; i < m->n_per_writer / 2; i++)
		wt_ok(weft_queue_put(m->q, I(i + 1), WEFT_FOREVER));
	pthread_barrier_wait(m->start);
	for (int i = m->n_per_writer / 2; i < m->n_per_writer; i++) {
		int rc = weft_queue_put(m->q, I(i + 1), WEFT_FOREVER);
		if (rc == WEFT_ESHUTDOWN) {
			atomic_fetch_add(&m->puts_failed, 1);
			break;
		}
		wt_ok(rc);
		if (i == m->n_per_writer * 3 / 4 && atomic_fetch_add(&m->shutdowns, 1) == 0)
			wt_ok(weft_queue_shutdown(m->q, m->immediate));
	}
	return NULL;
}

static void *many_reader(void *arg)
{
	struct many *m = arg;
	get_or_die(m->q);
	wt_ok(weft_queue_task_done(m->q));
	pthread_barrier_wait(m->start);
	for (;;) {
		void *x;
		int rc = weft_queue_get(m->q, &x, 0);
		if (rc == WEFT_ESHUTDOWN) {
			atomic_fetch_add(&m->gets_shut, 1);
			return NULL;
		}
		if (rc == WEFT_EEMPTY) {
			sched_yield();
			continue;
		}
		wt_ok(rc);
		wt_ok(weft_queue_task_done(m->q));
	}
}

static void *many_joiner(void *arg)
{
	struct many *m = arg;
	pthread_barrier_wait(m->start);
	wt_ok(weft_queue_join(m->q, WEFT_FOREVER));
	return NULL;
}

START_TEST(shutdown_many_threads)
{
	for (int immediate = 0; immediate < 2; immediate++) {
		enum { W = 4, R = 6, J = 2 };
		pthread_barrier_t start;
		pthread_barrier_init(&start, NULL, W + R + (immediate ? J : 0));
		/* unbounded as in CPython; the bounded FIFOs big enough never to block */
		size_t maxsize = _i == E_RING || _i == E_LOCKED_FIFO ? 65536 : 0;
		struct many m = {.q = make(_i, maxsize),
		                 .n_per_writer = wt_under_sanitizer() ? 1024 : 4096,
		                 .start = &start,
		                 .immediate = immediate};
		wt_thread *th[W + R + J];
		int n = 0;
		for (int i = 0; i < W; i++)
			th[n++] = wt_spawn(many_writer, &m);
		for (int i = 0; i < R; i++)
			th[n++] = wt_spawn(many_reader, &m);
		for (int i = 0; immediate && i < J; i++)
			th[n++] = wt_spawn(many_joiner, &m);
		for (int i = 0; i < n; i++)
			wt_join(th[i]);
		ck_assert_int_gt(atomic_load(&m.puts_failed), 0);
		ck_assert_int_eq(atomic_load(&m.gets_shut), R);
		if (immediate)
			ck_assert(weft_queue_empty(m.q));
		weft_queue_free(m.q);
		pthread_barrier_destroy(&start);
	}
}
END_TEST

/* ---- cancel scopes ------------------------------------------------------------------ */

struct cancelled_call {
	weft_queue *q;
	weft_cancel *tok;
	double scope_timeout;
	int what; /* 0 get, 1 put, 2 join */
	int rc;
};

static void *cancelled_main(void *arg)
{
	struct cancelled_call *c = arg;
	weft_cancel_scope s;
	wt_ok(weft_cancel_scope_enter(&s, c->tok, c->scope_timeout));
	void *x = NULL;
	if (c->what == 0)
		c->rc = weft_queue_get(c->q, &x, WEFT_FOREVER);
	else if (c->what == 1)
		c->rc = weft_queue_put(c->q, I(42), WEFT_FOREVER);
	else
		c->rc = weft_queue_join(c->q, WEFT_FOREVER);
	wt_ok(weft_cancel_scope_exit(&s));
	return NULL;
}

START_TEST(cancel_scopes_wake_blocked_calls)
{
	for (int what = 0; what < 3; what++) {
		weft_queue *q = make(_i, 1);
		if (what >= 1)
			wt_ok(weft_queue_put(q, I(7), 0)); /* full (put) / unfinished (join) */
		struct cancelled_call c = {.q = q, .what = what, .scope_timeout = WEFT_FOREVER};
		wt_ok(weft_cancel_new(&c.tok, NULL));
		struct trigger t = {.q = q, .action = DO_CANCEL, .tok = c.tok};
		t.l = what == 0 ? &q->getters : what == 1 ? &q->putters : &q->joiners;
		wt_thread *tt = trigger(&t);
		wt_thread *th = wt_spawn(cancelled_main, &c);
		wt_join(th);
		wt_join(tt);
		wt_rc(c.rc, WEFT_ECANCELED);
		/* The queue is unchanged: nothing removed, nothing added. */
		ck_assert_uint_eq(weft_queue_qsize(q), what >= 1 ? 1 : 0);
		if (what >= 1)
			ck_assert_uint_eq(U(get_or_die(q)), 7);
		ck_assert_uint_eq(atomic_load(&q->getters.count) + atomic_load(&q->putters.count) +
		                      atomic_load(&q->joiners.count),
		                  0);
		weft_cancel_release(c.tok);

		/* A scope's deadline: ETIMEDOUT (not EEMPTY/EFULL: the call's own
		 * timeout did not pass). */
		if (what == 1)
			wt_ok(weft_queue_put(q, I(7), 0));
		c = (struct cancelled_call){.q = q, .what = what, .scope_timeout = 0.05};
		double t0 = weft_monotonic();
		th = wt_spawn(cancelled_main, &c);
		wt_join(th);
		ck_assert(weft_monotonic() - t0 >= 0.05);
		wt_rc(c.rc, WEFT_ETIMEDOUT);
		weft_queue_free(q);
	}
}
END_TEST

/* ---- fork --------------------------------------------------------------------------- */

START_TEST(fork_child_keeps_items)
{
	weft_queue *q = make(_i, 4);
	wt_ok(weft_queue_put(q, I(11), 0));
	wt_ok(weft_queue_put(q, I(12), 0));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		void *x;
		int bad = weft_queue_get(q, &x, 1.0) != 0 || U(x) != (_i == E_LIFO ? 12u : 11u);
		bad |= weft_queue_put(q, I(13), 0) != 0;
		bad |= weft_queue_qsize(q) != 2;
		weft_queue_free(q);
		_exit(bad);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(weft_queue_qsize(q), 2);
	weft_queue_free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = wt_tcase("queue", 60);
	tcase_add_loop_test(tc, basic, 0, E_COUNT);
	tcase_add_loop_test(tc, task_done_and_join, 0, E_COUNT);
	tcase_add_test(tc, bad_arguments);
	tcase_add_loop_test(tc, nowait, 0, E_COUNT);
	tcase_add_loop_test(tc, timeouts_never_early, 0, E_COUNT);
	tcase_add_test(tc, priority_ties_leave_in_insertion_order);
	tcase_add_test(tc, unbounded_grows_and_shrinks);
	tcase_add_test(tc, ring_capacity_is_exact);
	tcase_add_test(tc, simple_queue);
	tcase_add_loop_test(tc, shutdown_empty, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_nonempty, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_immediate, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_allowed_transitions, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_all_methods_one_thread, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_wakes_blocked, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_get, 0, E_COUNT);
	tcase_add_loop_test(tc, shutdown_join, 0, E_COUNT);
	tcase_add_test(tc, discard_gets_dropped_items);
	tcase_add_loop_test(tc, shutdown_many_threads, 0, E_COUNT);
	tcase_add_loop_test(tc, cancel_scopes_wake_blocked_calls, 0, E_COUNT);
	tcase_add_loop_test(tc, fork_child_keeps_items, 0, E_COUNT);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
