/* Futures: CPython's test_concurrent_futures/test_future.py, in C. */
#include "futures_util.h"

static void release_all(weft_future **fs, int n)
{
	for (int i = 0; i < n; i++)
		weft_future_release(fs[i]);
}

/* ---- callbacks ---- */

struct cb {
	int calls;
	void *result;
	int rc;
	int code;
	bool cancelled;
	int order[4];
	int norder;
};

static int cb_result(weft_future *f, void *arg)
{
	struct cb *c = arg;
	c->calls++;
	c->rc = weft_future_result(f, 0, &c->result);
	c->cancelled = weft_future_cancelled(f);
	weft_future_exception(f, 0, &c->code);
	return 0;
}

START_TEST(done_callback_with_result)
{
	struct cb c = {0};
	weft_future *f = pending_future();
	wt_ok(weft_future_add_done_callback(f, cb_result, &c));
	ck_assert_int_eq(c.calls, 0);
	wt_ok(weft_future_set_result(f, P(5)));
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(I(c.result), 5);
	weft_future_release(f);
}
END_TEST

START_TEST(done_callback_with_exception)
{
	struct cb c = {0};
	weft_future *f = pending_future();
	wt_ok(weft_future_add_done_callback(f, cb_result, &c));
	wt_ok(weft_future_set_failure(f, WEFT_EUSER - 1, "test"));
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.rc, WEFT_EUSER - 1);
	ck_assert_int_eq(c.code, WEFT_EUSER - 1);
	ck_assert_str_eq(weft_future_error_message(f), "test");
	weft_future_release(f);
}
END_TEST

START_TEST(done_callback_with_cancel)
{
	struct cb c = {0};
	weft_future *f = pending_future();
	wt_ok(weft_future_add_done_callback(f, cb_result, &c));
	wt_ok(weft_future_cancel(f));
	ck_assert_int_eq(c.calls, 1);
	ck_assert(c.cancelled);
	ck_assert_int_eq(c.rc, WEFT_ECANCELED);
	weft_future_release(f);
}
END_TEST

static int cb_raises(weft_future *f, void *arg)
{
	struct cb *c = arg;
	c->order[c->norder++] = 1;
	return weft_fail(WEFT_EUSER - 7, "doh!");
}

static int cb_returns_code(weft_future *f, void *arg)
{
	struct cb *c = arg;
	c->order[c->norder++] = 2;
	return WEFT_EIO;
}

static int cb_fine(weft_future *f, void *arg)
{
	struct cb *c = arg;
	c->order[c->norder++] = 3;
	return 0;
}

static void raise_then_fine(void *arg)
{
	struct cb *c = arg;
	weft_future *f = pending_future();
	wt_ok(weft_future_add_done_callback(f, cb_raises, c));
	wt_ok(weft_future_add_done_callback(f, cb_returns_code, c));
	wt_ok(weft_future_add_done_callback(f, cb_fine, c));
	wt_ok(weft_future_set_result(f, P(5)));
	weft_future_release(f);
}

START_TEST(done_callback_raises)
{
	/* A failing callback is reported and the others still run, in order. */
	struct cb c = {0};
	char err[1024];
	capture_stderr(raise_then_fine, &c, err, sizeof err);
	ck_assert_int_eq(c.norder, 3);
	ck_assert_int_eq(c.order[0], 1);
	ck_assert_int_eq(c.order[1], 2);
	ck_assert_int_eq(c.order[2], 3);
	ck_assert_msg(strstr(err, "exception calling callback for"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "doh!"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "WEFT_EIO"), "stderr: %s", err);
}
END_TEST

START_TEST(done_callback_already_done)
{
	struct cb c = {0};
	weft_future *f = successful_future();
	wt_ok(weft_future_add_done_callback(f, cb_result, &c));
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(I(c.result), 42);
	weft_future_release(f);

	c = (struct cb){0};
	f = exception_future();
	wt_ok(weft_future_add_done_callback(f, cb_result, &c));
	ck_assert_int_eq(c.code, WEFT_EIO);
	weft_future_release(f);

	c = (struct cb){0};
	f = cancelled_future();
	wt_ok(weft_future_add_done_callback(f, cb_result, &c));
	ck_assert(c.cancelled);
	weft_future_release(f);
}
END_TEST

static void raise_already_done(void *arg)
{
	weft_future *f = successful_future();
	wt_ok(weft_future_add_done_callback(f, cb_raises, arg));
	weft_future_release(f);
}

START_TEST(done_callback_raises_already_succeeded)
{
	struct cb c = {0};
	char err[1024];
	capture_stderr(raise_already_done, &c, err, sizeof err);
	ck_assert_int_eq(c.norder, 1);
	ck_assert_msg(strstr(err, "exception calling callback for"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "doh!"), "stderr: %s", err);
}
END_TEST

static int cb_count(weft_future *f, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

START_TEST(callbacks_of_a_dropped_future_never_run)
{
	int n = 0;
	weft_future *f = pending_future();
	wt_ok(weft_future_add_done_callback(f, cb_count, &n));
	weft_future_release(f); /* freed while pending: nothing runs, nothing leaks */
	ck_assert_int_eq(n, 0);
	wt_rc(weft_future_add_done_callback(NULL, cb_count, &n), WEFT_EINVAL);
	f = pending_future();
	wt_rc(weft_future_add_done_callback(f, NULL, &n), WEFT_EINVAL);
	weft_future_release(f);
}
END_TEST

/* ---- states ---- */

START_TEST(cancel)
{
	weft_future *f1 = pending_future(), *f2 = running_future(), *f3 = cancelled_future(),
	            *f5 = exception_future(), *f6 = successful_future();
	wt_ok(weft_future_cancel(f1));
	ck_assert(weft_future_cancelled(f1));
	wt_rc(weft_future_cancel(f2), WEFT_ESTATE);
	ck_assert(weft_future_running(f2));
	wt_ok(weft_future_cancel(f3));
	ck_assert(weft_future_cancelled(f3));
	wt_rc(weft_future_cancel(f5), WEFT_ESTATE);
	ck_assert(!weft_future_cancelled(f5));
	wt_rc(weft_future_cancel(f6), WEFT_ESTATE);
	wt_rc(weft_future_cancel(NULL), WEFT_EINVAL);
	weft_future *all[] = {f1, f2, f3, f5, f6};
	release_all(all, 5);
}
END_TEST

START_TEST(cancelled_running_done)
{
	weft_future *p = pending_future(), *r = running_future(), *c = cancelled_future(),
	            *e = exception_future(), *s = successful_future();
	ck_assert(!weft_future_cancelled(p) && !weft_future_running(p) && !weft_future_done(p));
	ck_assert(!weft_future_cancelled(r) && weft_future_running(r) && !weft_future_done(r));
	ck_assert(weft_future_cancelled(c) && !weft_future_running(c) && weft_future_done(c));
	ck_assert(!weft_future_cancelled(e) && !weft_future_running(e) && weft_future_done(e));
	ck_assert(!weft_future_cancelled(s) && !weft_future_running(s) && weft_future_done(s));
	ck_assert(!weft_future_cancelled(NULL) && !weft_future_running(NULL) && !weft_future_done(NULL));
	weft_future *all[] = {p, r, c, e, s};
	release_all(all, 5);
}
END_TEST

START_TEST(result_with_timeout)
{
	weft_future *p = pending_future(), *r = running_future(), *c = cancelled_future(),
	            *e = exception_future(), *s = successful_future();
	void *v = NULL;
	wt_rc(weft_future_result(p, 0, &v), WEFT_ETIMEDOUT);
	wt_rc(weft_future_result(r, 0, &v), WEFT_ETIMEDOUT);
	wt_rc(weft_future_result(c, 0, &v), WEFT_ECANCELED);
	wt_rc(weft_future_result(e, 0, &v), WEFT_EIO);
	ck_assert_str_eq(weft_future_error_message(e), "OSError");
	wt_ok(weft_future_result(s, 0, &v));
	ck_assert_int_eq(I(v), 42);
	wt_ok(weft_future_result(s, 0, NULL));
	/* A lower bound that holds exactly. */
	double t0 = weft_monotonic();
	wt_rc(weft_future_result(p, 0.1, &v), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.1);
	ck_assert(dt < 0.1 + WT_SLACK);
	/* Bad arguments. */
	wt_rc(weft_future_result(NULL, 0, &v), WEFT_EINVAL);
	wt_rc(weft_future_result(s, -2, &v), WEFT_EINVAL);
	wt_rc(weft_future_result(s, 0.0 / 0.0, &v), WEFT_EINVAL);
	weft_future *all[] = {p, r, c, e, s};
	release_all(all, 5);
}
END_TEST

START_TEST(exception_with_timeout)
{
	weft_future *p = pending_future(), *r = running_future(), *c = cancelled_future(),
	            *e = exception_future(), *s = successful_future();
	int code = 1;
	wt_rc(weft_future_exception(p, 0, &code), WEFT_ETIMEDOUT);
	wt_rc(weft_future_exception(r, 0, &code), WEFT_ETIMEDOUT);
	wt_rc(weft_future_exception(c, 0, &code), WEFT_ECANCELED);
	wt_ok(weft_future_exception(e, 0, &code));
	ck_assert_int_eq(code, WEFT_EIO);
	wt_ok(weft_future_exception(s, 0, &code));
	ck_assert_int_eq(code, 0);
	wt_rc(weft_future_exception(NULL, 0, &code), WEFT_EINVAL);
	weft_future *all[] = {p, r, c, e, s};
	release_all(all, 5);
}
END_TEST

struct later {
	weft_future *f;
	tevent go;
	int what; /* 0 result, 1 cancel, 2 failure */
};

static void *complete_later(void *arg)
{
	struct later *l = arg;
	/* Wait until the main thread is (about to be) waiting. */
	ck_assert(tevent_wait(&l->go, 30));
	if (l->what == 0)
		wt_ok(weft_future_set_result(l->f, P(42)));
	else if (l->what == 1)
		wt_ok(weft_future_cancel(l->f));
	else
		wt_ok(weft_future_set_failure(l->f, WEFT_EIO, NULL));
	return NULL;
}

static int cb_set_event(weft_future *f, void *arg)
{
	tevent_set(arg);
	return 0;
}

static void result_from_thread(int what)
{
	struct later l = {pending_future(), TEVENT_INIT, what};
	wt_thread *t = wt_spawn(complete_later, &l);
	tevent_set(&l.go);
	void *v = NULL;
	int rc = weft_future_result(l.f, 30, &v);
	if (what == 0) {
		wt_ok(rc);
		ck_assert_int_eq(I(v), 42);
	} else if (what == 1) {
		wt_rc(rc, WEFT_ECANCELED);
	} else {
		wt_rc(rc, WEFT_EIO);
		ck_assert_str_eq(weft_future_error_message(l.f), weft_strerror(WEFT_EIO));
	}
	wt_join(t);
	weft_future_release(l.f);
}

START_TEST(result_with_success_cancel_failure)
{
	result_from_thread(0);
	result_from_thread(1);
	result_from_thread(2);
}
END_TEST

START_TEST(multiple_set_result)
{
	weft_future *f = pending_future();
	wt_ok(weft_future_set_result(f, P(1)));
	wt_rc(weft_future_set_result(f, P(2)), WEFT_ESTATE); /* InvalidStateError */
	wt_rc(weft_future_set_failure(f, WEFT_EIO, "x"), WEFT_ESTATE);
	weft_bytes b = {0};
	wt_ok(weft_bytes_set(&b, "abc", 3));
	wt_rc(weft_future_set_result_bytes(f, &b), WEFT_ESTATE);
	ck_assert_uint_eq(b.len, 3); /* the caller keeps it on error */
	weft_bytes_free(&b);
	ck_assert(weft_future_done(f));
	void *v;
	wt_ok(weft_future_result(f, 0, &v));
	ck_assert_int_eq(I(v), 1);
	wt_rc(weft_future_set_running_or_notify_cancel(f), WEFT_ESTATE);
	weft_future_release(f);

	f = exception_future();
	wt_rc(weft_future_set_failure(f, WEFT_EPIPE, NULL), WEFT_ESTATE);
	int code;
	wt_ok(weft_future_exception(f, 0, &code));
	ck_assert_int_eq(code, WEFT_EIO);
	weft_future_release(f);

	f = cancelled_future();
	wt_rc(weft_future_set_result(f, P(1)), WEFT_ESTATE);
	weft_future_release(f);
}
END_TEST

START_TEST(set_running_or_notify_cancel)
{
	weft_future *f = pending_future();
	wt_ok(weft_future_set_running_or_notify_cancel(f));
	ck_assert(weft_future_running(f));
	wt_rc(weft_future_set_running_or_notify_cancel(f), WEFT_ESTATE); /* RuntimeError */
	weft_future_release(f);
	f = cancelled_future();
	wt_rc(weft_future_set_running_or_notify_cancel(f), WEFT_ECANCELED); /* False */
	weft_future_release(f);
	wt_rc(weft_future_set_running_or_notify_cancel(NULL), WEFT_EINVAL);
}
END_TEST

START_TEST(set_failure_and_bytes_check_arguments)
{
	weft_future *f = pending_future();
	wt_rc(weft_future_set_failure(NULL, WEFT_EIO, NULL), WEFT_EINVAL);
	wt_rc(weft_future_set_failure(f, 0, NULL), WEFT_EINVAL);
	wt_rc(weft_future_set_failure(f, 3, NULL), WEFT_EINVAL);
	wt_rc(weft_future_set_result(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_future_set_result_bytes(f, NULL), WEFT_EINVAL);
	wt_rc(weft_future_set_result_bytes(NULL, NULL), WEFT_EINVAL);
	weft_bytes b = {0};
	wt_ok(weft_bytes_set(&b, "hello", 5));
	wt_ok(weft_future_set_result_bytes(f, &b));
	ck_assert_ptr_null(b.data);
	const void *data;
	size_t len;
	wt_ok(weft_future_result_bytes(f, 0, &data, &len));
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(data, "hello", 5) == 0);
	wt_ok(weft_future_result_bytes(f, 0, NULL, NULL));
	wt_rc(weft_future_result_bytes(NULL, 0, &data, &len), WEFT_EINVAL);
	ck_assert_str_eq(weft_future_error_message(f), "");
	ck_assert_str_eq(weft_future_error_message(NULL), "");
	wt_rc(weft_future_retain(NULL), WEFT_EINVAL);
	wt_rc(weft_future_new(NULL), WEFT_EINVAL);
	weft_future_release(NULL);
	weft_future_release(f);
}
END_TEST

START_TEST(error_messages)
{
	weft_future *f = cancelled_future();
	ck_assert_str_eq(weft_future_error_message(f), "cancelled");
	weft_future_release(f);
	f = pending_future();
	ck_assert_str_eq(weft_future_error_message(f), "");
	wt_ok(weft_future_set_failure(f, WEFT_EUSER - 3, "row %d of %s", 7, "data.csv"));
	ck_assert_str_eq(weft_future_error_message(f), "row 7 of data.csv");
	weft_future_release(f);
}
END_TEST

static void *waiter(void *arg)
{
	void *v = NULL;
	wt_ok(weft_future_result(arg, 30, &v));
	return v;
}

START_TEST(result_wakes_many_waiters)
{
	/* Several threads blocked in result() all wake when it is set. */
	enum { N = 4 };
	weft_future *f = pending_future();
	struct later l = {f, TEVENT_INIT, 0};
	wt_thread *setter = wt_spawn(complete_later, &l);
	tevent started = TEVENT_INIT;
	wt_ok(weft_future_add_done_callback(f, cb_set_event, &started));
	wt_thread *w[N];
	for (int i = 0; i < N; i++)
		w[i] = wt_spawn(waiter, f);
	tevent_set(&l.go);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(I(wt_join(w[i])), 42);
	wt_join(setter);
	ck_assert(tevent_wait(&started, 0));
	weft_future_release(f);
}
END_TEST

START_TEST(result_honours_cancel_scope)
{
	weft_future *f = pending_future();
	struct canceller c = {NULL, TEVENT_INIT};
	wt_ok(weft_cancel_new(&c.tok, NULL));
	wt_thread *t = wt_spawn(cancel_later, &c);
	weft_cancel_scope s;
	wt_ok(weft_cancel_scope_enter(&s, c.tok, WEFT_FOREVER));
	tevent_set(&c.go);
	wt_rc(weft_future_result(f, 30, NULL), WEFT_ECANCELED);
	ck_assert(!weft_future_cancelled(f)); /* the future is unchanged */
	wt_ok(weft_cancel_scope_exit(&s));
	wt_join(t);
	weft_cancel_release(c.tok);
	wt_ok(weft_future_set_result(f, P(1)));
	weft_future_release(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("future");
	TCase *tc = wt_tcase("future", 30);
	tcase_add_test(tc, done_callback_with_result);
	tcase_add_test(tc, done_callback_with_exception);
	tcase_add_test(tc, done_callback_with_cancel);
	tcase_add_test(tc, done_callback_raises);
	tcase_add_test(tc, done_callback_already_done);
	tcase_add_test(tc, done_callback_raises_already_succeeded);
	tcase_add_test(tc, callbacks_of_a_dropped_future_never_run);
	tcase_add_test(tc, cancel);
	tcase_add_test(tc, cancelled_running_done);
	tcase_add_test(tc, result_with_timeout);
	tcase_add_test(tc, exception_with_timeout);
	tcase_add_test(tc, result_with_success_cancel_failure);
	tcase_add_test(tc, multiple_set_result);
	tcase_add_test(tc, set_running_or_notify_cancel);
	tcase_add_test(tc, set_failure_and_bytes_check_arguments);
	tcase_add_test(tc, error_messages);
	tcase_add_test(tc, result_wakes_many_waiters);
	tcase_add_test(tc, result_honours_cancel_scope);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
