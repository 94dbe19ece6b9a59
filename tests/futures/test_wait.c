/* wait() and as_completed(): CPython's test_wait.py and
 * test_as_completed.py, in C, on the thread pool. */
#include "futures_util.h"

static weft_executor *ex;

static void setup(void)
{
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 5}));
}

static void teardown(void)
{
	weft_executor_free(ex);
}

static void *mul_21_2(void *arg)
{
	return P(42);
}

static void *fail_io(void *arg)
{
	weft_fail(WEFT_EIO, "this is an exception");
	return NULL;
}

static void *wait_then_fail(void *arg)
{
	ck_assert(tevent_wait(arg, 30));
	weft_fail(WEFT_EUSER - 1, "this is an exception");
	return NULL;
}

static bool has(weft_future **set, size_t n, weft_future *f)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == f)
			return true;
	return false;
}

#define SETS(name, cap)                                  \
	weft_future *name##_done[cap], *name##_not[cap]; \
	weft_wait_sets name = {.done = name##_done, .not_done = name##_not}

START_TEST(duplicates_count_once)
{
	/* bpo-20369 */
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, mul_21_2, NULL));
	weft_future *fs[] = {f, f};
	SETS(s, 2);
	wt_ok(weft_wait(fs, 2, WEFT_FOREVER, WEFT_ALL_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone, 1);
	ck_assert_ptr_eq(s.done[0], f);
	ck_assert_uint_eq(s.nnot_done, 0);
	weft_future_release(f);
}
END_TEST

START_TEST(first_completed)
{
	tevent ev = TEVENT_INIT;
	weft_future *c = cancelled_future(), *f1, *f2;
	wt_ok(weft_executor_submit(ex, &f1, mul_21_2, NULL));
	wt_ok(weft_executor_submit(ex, &f2, wait_event, &ev));
	wt_ok(weft_future_result(f1, 30, NULL)); /* make "f1 first" certain */
	weft_future *fs[] = {c, f1, f2};
	SETS(s, 3);
	/* Python leaves a cancelled-but-unnotified future in not_done; weft's
	 * cancel completes it at once, so it is done too. */
	wt_ok(weft_wait(fs, 3, WEFT_FOREVER, WEFT_FIRST_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone, 2);
	ck_assert(has(s.done, s.ndone, f1) && has(s.done, s.ndone, c));
	ck_assert_uint_eq(s.nnot_done, 1);
	ck_assert_ptr_eq(s.not_done[0], f2);
	tevent_set(&ev);
	wt_ok(weft_future_result(f2, 30, NULL));
	weft_future_release(c);
	weft_future_release(f1);
	weft_future_release(f2);
}
END_TEST

START_TEST(first_completed_wakes_on_completion)
{
	tevent ev = TEVENT_INIT;
	weft_future *f1, *f2;
	wt_ok(weft_executor_submit(ex, &f1, wait_event, &ev));
	wt_ok(weft_executor_submit(ex, &f2, wait_event, &ev));
	weft_future *blocker = pending_future();
	weft_future *fs[] = {blocker, f1, f2};
	SETS(s, 3);
	/* Nothing is done: this blocks until the event releases the calls. */
	tevent_set(&ev);
	wt_ok(weft_wait(fs, 3, 30, WEFT_FIRST_COMPLETED, &s));
	ck_assert_uint_ge(s.ndone, 1);
	ck_assert(has(s.not_done, s.nnot_done, blocker));
	wt_ok(weft_future_result(f1, 30, NULL));
	wt_ok(weft_future_result(f2, 30, NULL));
	weft_future_release(blocker);
	weft_future_release(f1);
	weft_future_release(f2);
}
END_TEST

START_TEST(first_completed_some_already_completed)
{
	tevent ev = TEVENT_INIT;
	weft_future *c = cancelled_future(), *ok = successful_future(), *f1;
	wt_ok(weft_executor_submit(ex, &f1, wait_event, &ev));
	weft_future *fs[] = {c, ok, f1};
	SETS(s, 3);
	wt_ok(weft_wait(fs, 3, WEFT_FOREVER, WEFT_FIRST_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone, 2);
	ck_assert(has(s.done, 2, c) && has(s.done, 2, ok));
	ck_assert_uint_eq(s.nnot_done, 1);
	ck_assert_ptr_eq(s.not_done[0], f1);
	tevent_set(&ev);
	wt_ok(weft_future_result(f1, 30, NULL));
	weft_future_release(c);
	weft_future_release(ok);
	weft_future_release(f1);
}
END_TEST

struct after {
	weft_future *f;
	tevent *ev;
};

static void *set_after_result(void *arg)
{
	struct after *a = arg;
	wt_ok(weft_future_result(a->f, 30, NULL));
	tevent_set(a->ev);
	return NULL;
}

START_TEST(first_exception)
{
	tevent ev1 = TEVENT_INIT, ev2 = TEVENT_INIT;
	weft_future *f1, *f2, *f3;
	wt_ok(weft_executor_submit(ex, &f1, mul_21_2, NULL));
	wt_ok(weft_executor_submit(ex, &f2, wait_then_fail, &ev1));
	wt_ok(weft_executor_submit(ex, &f3, wait_event, &ev2));
	struct after a = {f1, &ev1}; /* f1 completes before f2 fails */
	wt_thread *t = wt_spawn(set_after_result, &a);
	weft_future *fs[] = {f1, f2, f3};
	SETS(s, 3);
	wt_ok(weft_wait(fs, 3, WEFT_FOREVER, WEFT_FIRST_EXCEPTION, &s));
	ck_assert_uint_eq(s.ndone, 2);
	ck_assert(has(s.done, 2, f1) && has(s.done, 2, f2));
	ck_assert_uint_eq(s.nnot_done, 1);
	ck_assert_ptr_eq(s.not_done[0], f3);
	wt_join(t);
	tevent_set(&ev2);
	wt_ok(weft_future_result(f3, 30, NULL));
	weft_future_release(f1);
	weft_future_release(f2);
	weft_future_release(f3);
}
END_TEST

START_TEST(first_exception_some_already_complete)
{
	tevent ev = TEVENT_INIT;
	weft_future *ok = successful_future(), *c = cancelled_future(), *f1, *f2;
	wt_ok(weft_executor_submit(ex, &f1, fail_io, NULL));
	wt_ok(weft_executor_submit(ex, &f2, wait_event, &ev));
	weft_future *fs[] = {ok, c, f1, f2};
	SETS(s, 4);
	wt_ok(weft_wait(fs, 4, WEFT_FOREVER, WEFT_FIRST_EXCEPTION, &s));
	ck_assert_uint_eq(s.ndone, 3);
	ck_assert(has(s.done, 3, ok) && has(s.done, 3, c) && has(s.done, 3, f1));
	ck_assert_uint_eq(s.nnot_done, 1);
	ck_assert_ptr_eq(s.not_done[0], f2);
	tevent_set(&ev);
	wt_ok(weft_future_result(f2, 30, NULL));
	weft_future_release(ok);
	weft_future_release(c);
	weft_future_release(f1);
	weft_future_release(f2);
}
END_TEST

START_TEST(first_exception_one_already_failed)
{
	tevent ev = TEVENT_INIT;
	weft_future *e = exception_future(), *f1;
	wt_ok(weft_executor_submit(ex, &f1, wait_event, &ev));
	weft_future *fs[] = {e, f1};
	SETS(s, 2);
	wt_ok(weft_wait(fs, 2, WEFT_FOREVER, WEFT_FIRST_EXCEPTION, &s));
	ck_assert_uint_eq(s.ndone, 1);
	ck_assert_ptr_eq(s.done[0], e);
	ck_assert_ptr_eq(s.not_done[0], f1);
	tevent_set(&ev);
	wt_ok(weft_future_result(f1, 30, NULL));
	weft_future_release(e);
	weft_future_release(f1);
}
END_TEST

START_TEST(first_exception_without_failures_is_all_completed)
{
	weft_future *f[3];
	for (int i = 0; i < 3; i++)
		wt_ok(weft_executor_submit(ex, &f[i], mul_21_2, NULL));
	SETS(s, 3);
	wt_ok(weft_wait(f, 3, WEFT_FOREVER, WEFT_FIRST_EXCEPTION, &s));
	ck_assert_uint_eq(s.ndone, 3);
	for (int i = 0; i < 3; i++)
		weft_future_release(f[i]);
}
END_TEST

START_TEST(all_completed)
{
	weft_future *ok = successful_future(), *c = cancelled_future(), *e = exception_future(), *f1, *f2;
	wt_ok(weft_executor_submit(ex, &f1, fail_io, NULL));
	wt_ok(weft_executor_submit(ex, &f2, mul_21_2, NULL));
	weft_future *fs[] = {ok, c, e, f1, f2};
	SETS(s, 5);
	wt_ok(weft_wait(fs, 5, WEFT_FOREVER, WEFT_ALL_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone, 5);
	ck_assert_uint_eq(s.nnot_done, 0);
	weft_future *all[] = {ok, c, e, f1, f2};
	for (int i = 0; i < 5; i++)
		weft_future_release(all[i]);
}
END_TEST

START_TEST(timeout)
{
	tevent ev = TEVENT_INIT;
	weft_future *c = cancelled_future(), *e = exception_future(), *ok = successful_future(), *f;
	wt_ok(weft_executor_submit(ex, &f, wait_event, &ev));
	weft_future *fs[] = {c, e, ok, f};
	SETS(s, 4);
	double t0 = weft_monotonic();
	wt_rc(weft_wait(fs, 4, 0.05, WEFT_ALL_COMPLETED, &s), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.05 && dt < 0.05 + WT_SLACK);
	ck_assert_uint_eq(s.ndone, 3);
	ck_assert_uint_eq(s.nnot_done, 1);
	ck_assert_ptr_eq(s.not_done[0], f);
	/* Counts only. */
	wt_rc(weft_wait(fs, 4, 0, WEFT_ALL_COMPLETED, &(weft_wait_sets){0}), WEFT_ETIMEDOUT);
	wt_rc(weft_wait(fs, 4, 0, WEFT_ALL_COMPLETED, NULL), WEFT_ETIMEDOUT);
	tevent_set(&ev);
	wt_ok(weft_future_result(f, 30, NULL));
	weft_future *all[] = {c, e, ok, f};
	for (int i = 0; i < 4; i++)
		weft_future_release(all[i]);
}
END_TEST

START_TEST(pending_calls_race)
{
	/* Issue #14406: many futures finishing together while wait() lists
	 * itself on them. */
	enum { N = 100 };
	tevent ev = TEVENT_INIT;
	weft_future *fs[N];
	for (int i = 0; i < N; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], wait_event, &ev));
	tevent_set(&ev);
	SETS(s, N);
	wt_ok(weft_wait(fs, N, 30, WEFT_ALL_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone, N);
	for (int i = 0; i < N; i++)
		weft_future_release(fs[i]);
}
END_TEST

START_TEST(wait_checks_arguments)
{
	weft_future *ok = successful_future();
	weft_future *fs[] = {ok, NULL};
	wt_rc(weft_wait(NULL, 1, 0, WEFT_ALL_COMPLETED, NULL), WEFT_EINVAL);
	wt_rc(weft_wait(fs, 2, 0, WEFT_ALL_COMPLETED, NULL), WEFT_EINVAL);
	wt_rc(weft_wait(fs, 1, -3, WEFT_ALL_COMPLETED, NULL), WEFT_EINVAL);
	wt_rc(weft_wait(fs, 1, 0, (weft_return_when)7, NULL), WEFT_EINVAL);
	weft_wait_sets s = {0};
	wt_ok(weft_wait(NULL, 0, 0, WEFT_ALL_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone + s.nnot_done, 0);
	weft_future_release(ok);
}
END_TEST

START_TEST(wait_honours_cancel_scope)
{
	weft_future *p = pending_future();
	struct canceller c = {NULL, TEVENT_INIT};
	wt_ok(weft_cancel_new(&c.tok, NULL));
	wt_thread *t = wt_spawn(cancel_later, &c);
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, c.tok, WEFT_FOREVER));
	tevent_set(&c.go);
	SETS(s, 1);
	wt_rc(weft_wait(&p, 1, 30, WEFT_ALL_COMPLETED, &s), WEFT_ECANCELED);
	ck_assert_uint_eq(s.nnot_done, 1);
	wt_ok(weft_cancel_scope_exit(&sc));
	wt_join(t);
	weft_cancel_release(c.tok);
	weft_future_release(p);
}
END_TEST

/* ---- as_completed ---- */

START_TEST(as_completed_no_timeout)
{
	weft_future *c = cancelled_future(), *e = exception_future(), *ok = successful_future(), *f1, *f2;
	wt_ok(weft_executor_submit(ex, &f1, mul_21_2, NULL));
	wt_ok(weft_executor_submit(ex, &f2, mul_21_2, NULL));
	weft_future *fs[] = {c, e, ok, f1, f2};
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, fs, 5, WEFT_FOREVER));
	weft_future *got[5];
	for (int i = 0; i < 5; i++)
		wt_ok(weft_as_completed_next(it, &got[i]));
	for (int i = 0; i < 5; i++)
		ck_assert(has(got, 5, fs[i]));
	/* The three already done come first, in input order. */
	ck_assert_ptr_eq(got[0], c);
	ck_assert_ptr_eq(got[1], e);
	ck_assert_ptr_eq(got[2], ok);
	weft_future *x;
	wt_rc(weft_as_completed_next(it, &x), WEFT_EEMPTY);
	wt_rc(weft_as_completed_next(it, &x), WEFT_EEMPTY);
	weft_as_completed_free(it);
	for (int i = 0; i < 5; i++)
		weft_future_release(fs[i]);
}
END_TEST

START_TEST(as_completed_future_times_out)
{
	const double timeouts[] = {0, 0.1};
	for (int k = 0; k < 2; k++) {
		tevent ev = TEVENT_INIT;
		weft_future *c = cancelled_future(), *e = exception_future(), *ok = successful_future(), *f;
		wt_ok(weft_executor_submit(ex, &f, wait_event, &ev));
		weft_future *fs[] = {c, e, ok, f};
		weft_as_completed *it;
		double t0 = weft_monotonic();
		wt_ok(weft_as_completed_new(&it, fs, 4, timeouts[k]));
		weft_future *g;
		int n = 0, rc;
		while ((rc = weft_as_completed_next(it, &g)) == 0) {
			ck_assert(g != f);
			n++;
		}
		wt_rc(rc, WEFT_ETIMEDOUT);
		double dt = weft_monotonic() - t0;
		ck_assert(dt >= timeouts[k]);
		ck_assert(dt < timeouts[k] + WT_SLACK);
		ck_assert_int_eq(n, 3);
		ck_assert_uint_eq(weft_as_completed_pending(it), 1);
		wt_rc(weft_as_completed_next(it, &g), WEFT_ETIMEDOUT); /* again */
		tevent_set(&ev);
		wt_ok(weft_future_result(f, 30, NULL));
		weft_as_completed_free(it);
		for (int i = 0; i < 4; i++)
			weft_future_release(fs[i]);
	}
}
END_TEST

START_TEST(as_completed_duplicate_futures)
{
	/* Issue 20367: duplicates yield once. */
	tevent ev = TEVENT_INIT;
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, wait_event, &ev));
	weft_future *fs[] = {f, f, f};
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, fs, 3, WEFT_FOREVER));
	ck_assert_uint_eq(weft_as_completed_pending(it), 1);
	tevent_set(&ev);
	weft_future *g;
	wt_ok(weft_as_completed_next(it, &g));
	ck_assert_ptr_eq(g, f);
	wt_rc(weft_as_completed_next(it, &g), WEFT_EEMPTY);
	weft_as_completed_free(it);
	weft_future_release(f);
}
END_TEST

START_TEST(as_completed_finishing_order)
{
	/* Futures set one by one from this thread come out in that order. */
	enum { N = 8 };
	weft_future *fs[N];
	for (int i = 0; i < N; i++)
		fs[i] = pending_future();
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, fs, N, 0));
	weft_future *g;
	wt_rc(weft_as_completed_next(it, &g), WEFT_ETIMEDOUT);
	weft_as_completed_free(it);
	wt_ok(weft_as_completed_new(&it, fs, N, WEFT_FOREVER));
	const int order[N] = {3, 0, 7, 1, 6, 2, 5, 4};
	for (int i = 0; i < N; i++) {
		wt_ok(weft_future_set_result(fs[order[i]], P(i)));
		wt_ok(weft_as_completed_next(it, &g));
		ck_assert_ptr_eq(g, fs[order[i]]);
	}
	weft_as_completed_free(it);
	for (int i = 0; i < N; i++)
		weft_future_release(fs[i]);
}
END_TEST

START_TEST(as_completed_keeps_futures_alive)
{
	/* The iterator holds references: the caller may drop its own. */
	weft_future *f = pending_future();
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, &f, 1, WEFT_FOREVER));
	weft_future *g = f;
	weft_future_release(f);
	wt_ok(weft_future_set_result(g, P(3)));
	weft_future *h;
	wt_ok(weft_as_completed_next(it, &h));
	void *v;
	wt_ok(weft_future_result(h, 0, &v));
	ck_assert_int_eq(I(v), 3);
	weft_as_completed_free(it);
}
END_TEST

START_TEST(as_completed_honours_cancel_scope)
{
	weft_future *p = pending_future();
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, &p, 1, WEFT_FOREVER));
	struct canceller c = {NULL, TEVENT_INIT};
	wt_ok(weft_cancel_new(&c.tok, NULL));
	wt_thread *t = wt_spawn(cancel_later, &c);
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, c.tok, WEFT_FOREVER));
	tevent_set(&c.go);
	weft_future *g;
	wt_rc(weft_as_completed_next(it, &g), WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&sc));
	wt_join(t);
	/* Not sticky: outside the scope the iteration goes on. */
	wt_ok(weft_future_set_result(p, NULL));
	wt_ok(weft_as_completed_next(it, &g));
	ck_assert_ptr_eq(g, p);
	weft_as_completed_free(it);
	weft_cancel_release(c.tok);
	weft_future_release(p);
}
END_TEST

START_TEST(as_completed_checks_arguments)
{
	weft_future *f = successful_future();
	weft_future *fs[] = {f, NULL};
	weft_as_completed *it;
	wt_rc(weft_as_completed_new(NULL, fs, 1, 0), WEFT_EINVAL);
	wt_rc(weft_as_completed_new(&it, NULL, 1, 0), WEFT_EINVAL);
	wt_rc(weft_as_completed_new(&it, fs, 2, 0), WEFT_EINVAL);
	wt_rc(weft_as_completed_new(&it, fs, 1, -0.5), WEFT_EINVAL);
	wt_ok(weft_as_completed_new(&it, NULL, 0, 0));
	weft_future *g;
	wt_rc(weft_as_completed_next(it, &g), WEFT_EEMPTY);
	wt_rc(weft_as_completed_next(it, NULL), WEFT_EINVAL);
	wt_rc(weft_as_completed_next(NULL, &g), WEFT_EINVAL);
	ck_assert_uint_eq(weft_as_completed_pending(NULL), 0);
	weft_as_completed_free(it);
	weft_as_completed_free(NULL);
	weft_future_release(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wait");
	TCase *tc = wt_tcase("wait", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, duplicates_count_once);
	tcase_add_test(tc, first_completed);
	tcase_add_test(tc, first_completed_wakes_on_completion);
	tcase_add_test(tc, first_completed_some_already_completed);
	tcase_add_test(tc, first_exception);
	tcase_add_test(tc, first_exception_some_already_complete);
	tcase_add_test(tc, first_exception_one_already_failed);
	tcase_add_test(tc, first_exception_without_failures_is_all_completed);
	tcase_add_test(tc, all_completed);
	tcase_add_test(tc, timeout);
	tcase_add_test(tc, pending_calls_race);
	tcase_add_test(tc, wait_checks_arguments);
	tcase_add_test(tc, wait_honours_cancel_scope);
	tcase_add_test(tc, as_completed_no_timeout);
	tcase_add_test(tc, as_completed_future_times_out);
	tcase_add_test(tc, as_completed_duplicate_futures);
	tcase_add_test(tc, as_completed_finishing_order);
	tcase_add_test(tc, as_completed_keeps_futures_alive);
	tcase_add_test(tc, as_completed_honours_cancel_scope);
	tcase_add_test(tc, as_completed_checks_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
