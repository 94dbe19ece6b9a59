/* weft/queue.h: Python 3.13's shutdown as CPython's Lib/test/test_queue.py
 * checks it, the discard callback, cancel scopes and fork. */
#include "queue_test.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

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
	Suite *s = suite_create("queues_shutdown");
	TCase *tc = wt_tcase("shutdown", 60);
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
