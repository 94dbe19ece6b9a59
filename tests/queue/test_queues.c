/* weft/queue.h: the behaviours CPython's Lib/test/test_queue.py checks
 * (basic order, blocking, nowait, timeouts, task_done/join, SimpleQueue),
 * priority ties, growth, the ring's exact capacity, argument checks.
 * Shutdown, discard, cancel scopes and fork: test_queues_shutdown.c. */
#include "queue_test.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>

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

int main(void)
{
	Suite *s = suite_create("queues");
	TCase *tc = wt_tcase("queues", 60);
	tcase_add_loop_test(tc, basic, 0, E_COUNT);
	tcase_add_loop_test(tc, task_done_and_join, 0, E_COUNT);
	tcase_add_test(tc, bad_arguments);
	tcase_add_loop_test(tc, nowait, 0, E_COUNT);
	tcase_add_loop_test(tc, timeouts_never_early, 0, E_COUNT);
	tcase_add_test(tc, priority_ties_leave_in_insertion_order);
	tcase_add_test(tc, unbounded_grows_and_shrinks);
	tcase_add_test(tc, ring_capacity_is_exact);
	tcase_add_test(tc, simple_queue);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
