/* Core: error codes, weft_fail, deadlines, parking and cancel scopes. */
#include "wtest.h"
#include "core/core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

START_TEST(errors_named_and_described)
{
	ck_assert_int_eq(WEFT_ETIMEDOUT, -ETIMEDOUT);
	ck_assert_int_eq(WEFT_ECANCELED, -ECANCELED);
	ck_assert_int_eq(WEFT_EINVAL, -EINVAL);
	ck_assert_str_eq(weft_errname(WEFT_EEMPTY), "WEFT_EEMPTY");
	ck_assert_str_eq(weft_errname(0), "WEFT_OK");
	ck_assert_str_eq(weft_strerror(WEFT_ETIMEDOUT), "timed out");
	ck_assert_str_eq(weft_strerror(0), "success");
	ck_assert_str_eq(weft_errname(-9999), "WEFT_EUNKNOWN");
	ck_assert_str_eq(weft_errname(WEFT_EUSER - 5), "WEFT_EUSER");
	ck_assert_str_eq(weft_strerror(-9999), "unknown error");
	/* Every listed code has a distinct value and a non-empty message. */
	int codes[] = {
#define C(name, value, msg, py) value,
	    WEFT_ERROR_LIST(C)
#undef C
	};
	size_t n = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_lt(codes[i], 0);
		ck_assert_int_gt(strlen(weft_strerror(codes[i])), 0);
		ck_assert_str_ne(weft_errname(codes[i]), "WEFT_EUNKNOWN");
		for (size_t j = i + 1; j < n; j++)
			ck_assert_int_ne(codes[i], codes[j]);
	}
}
END_TEST

START_TEST(fail_records_in_innermost_task)
{
	weft__failure outer, inner;
	weft__failure *prev = weft__failure_enter(&outer);
	ck_assert_int_eq(weft_fail(WEFT_EBROKEN, "row %d", 7), WEFT_EBROKEN);
	weft__failure *mid = weft__failure_enter(&inner);
	ck_assert_ptr_eq(mid, &outer);
	weft_fail(WEFT_EUSER - 1, "inner");
	weft__failure_leave(mid);
	weft__failure_leave(prev);
	ck_assert_int_eq(outer.code, WEFT_EBROKEN);
	ck_assert_str_eq(outer.msg, "row 7");
	ck_assert_int_eq(inner.code, WEFT_EUSER - 1);
	ck_assert_str_eq(inner.msg, "inner");
	weft__failure_clear(&outer);
	weft__failure_clear(&inner);
	ck_assert_int_eq(outer.code, 0);
	/* Outside any task: kept in the thread's own slot. */
	ck_assert_int_eq(weft_fail(WEFT_EIO, "loose %s", "end"), WEFT_EIO);
	ck_assert_str_eq(weft_last_failure_message(), "loose end");
	/* A non-negative code is a usage error and records nothing. */
	ck_assert_int_eq(weft_fail(0, "x"), WEFT_EINVAL);
	ck_assert_int_eq(weft_fail(5, NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_last_failure_message(), "loose end");
}
END_TEST

START_TEST(deadlines_validate_timeouts)
{
	int64_t d;
	wt_rc(weft__deadline(-0.5, &d), WEFT_EINVAL);
	wt_rc(weft__deadline(0.0 / 0.0, &d), WEFT_EINVAL);
	wt_ok(weft__deadline(WEFT_FOREVER, &d));
	ck_assert(d == WEFT__NO_DEADLINE);
	ck_assert(weft__remaining(d) == WEFT_FOREVER);
	wt_ok(weft__deadline(0, &d));
	ck_assert(weft__remaining(d) == 0.0);
}
END_TEST

START_TEST(park_times_out_never_early)
{
	_Atomic uint32_t w = 0;
	int64_t d;
	double t0 = weft_monotonic();
	weft__deadline(0.1, &d);
	int rc;
	do
		rc = weft__park(&w, 0, WEFT__PRIVATE, d);
	while (rc == 0);
	double dt = weft_monotonic() - t0;
	wt_rc(rc, WEFT_ETIMEDOUT);
	ck_assert_msg(dt >= 0.1, "returned after %f s", dt);
	ck_assert_msg(dt < 0.1 + WT_SLACK, "returned after %f s", dt);
	/* A value that no longer matches returns at once. */
	wt_ok(weft__park(&w, 1, WEFT__PRIVATE, WEFT__NO_DEADLINE));
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

START_TEST(park_survives_signal_storm)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
	_Atomic uint32_t w = 0;
	int64_t d;
	double t0 = weft_monotonic();
	weft__deadline(0.2, &d);
	int rc;
	do
		rc = weft__park(&w, 0, WEFT__PRIVATE, d);
	while (rc == 0);
	double dt = weft_monotonic() - t0;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	wt_rc(rc, WEFT_ETIMEDOUT);
	ck_assert(dt >= 0.2);
	/* poll too */
	setitimer(ITIMER_REAL, &it, NULL);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	t0 = weft_monotonic();
	weft__deadline(0.2, &d);
	rc = weft__poll(&pf, 1, d);
	dt = weft_monotonic() - t0;
	setitimer(ITIMER_REAL, &off, NULL);
	wt_rc(rc, WEFT_ETIMEDOUT);
	ck_assert(dt >= 0.2);
	/* an expired deadline still reports an fd that is ready now */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	weft__deadline(0, &d);
	ck_assert_int_eq(weft__poll(&pf, 1, d), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A thread parks inside a scope until its token is cancelled. */
struct sleeper {
	weft_cancel *tok;
	_Atomic uint32_t word;
	_Atomic int entered;
	int rc;
	int use_poll;
	double woke_at;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	weft_cancel_scope sc;
	ck_assert_int_eq(weft_cancel_scope_enter(&sc, s->tok, WEFT_FOREVER), 0);
	atomic_store(&s->entered, 1);
	if (s->use_poll) {
		int p[2];
		ck_assert_int_eq(pipe(p), 0);
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		s->rc = weft__poll(&pf, 1, WEFT__NO_DEADLINE);
		close(p[0]);
		close(p[1]);
	} else {
		int rc;
		do
			rc = weft__park(&s->word, 0, WEFT__PRIVATE, WEFT__NO_DEADLINE);
		while (rc == 0);
		s->rc = rc;
	}
	s->woke_at = weft_monotonic();
	ck_assert_int_eq(weft_cancel_scope_exit(&sc), 0);
	return NULL;
}

static void cancel_wakes(int use_poll)
{
	struct sleeper s = {.use_poll = use_poll};
	wt_ok(weft_cancel_new(&s.tok, NULL));
	wt_thread *t = wt_spawn(sleeper_main, &s);
	while (!atomic_load(&s.entered))
		sched_yield();
	/* Whether or not it is asleep yet, the cancel must reach it. */
	double t0 = weft_monotonic();
	wt_ok(weft_cancel_cancel(s.tok));
	wt_join(t);
	wt_rc(s.rc, WEFT_ECANCELED);
	ck_assert_msg(s.woke_at - t0 < 0.1 * WT_SLACK * 10, "woke after %f s", s.woke_at - t0);
	ck_assert(weft_cancel_is_cancelled(s.tok));
	wt_ok(weft_cancel_cancel(s.tok)); /* idempotent */
	weft_cancel_release(s.tok);
}

START_TEST(cancel_wakes_parked_thread)
{
	for (int i = 0; i < 50; i++)
		cancel_wakes(0);
}
END_TEST

START_TEST(cancel_wakes_polling_thread)
{
	for (int i = 0; i < 20; i++)
		cancel_wakes(1);
}
END_TEST

START_TEST(parent_cancels_children)
{
	weft_cancel *root, *mid, *leaf, *late;
	wt_ok(weft_cancel_new(&root, NULL));
	wt_ok(weft_cancel_new(&mid, root));
	wt_ok(weft_cancel_new(&leaf, mid));
	ck_assert(!weft_cancel_is_cancelled(leaf));
	wt_ok(weft_cancel_cancel(mid));
	ck_assert(weft_cancel_is_cancelled(leaf));
	ck_assert(!weft_cancel_is_cancelled(root));
	wt_ok(weft_cancel_cancel(root));
	wt_ok(weft_cancel_new(&late, root));
	ck_assert(weft_cancel_is_cancelled(late)); /* born cancelled */
	weft_cancel_release(mid);                  /* children outlive an orphaned parent */
	ck_assert(weft_cancel_is_cancelled(leaf));
	weft_cancel_release(leaf);
	weft_cancel_release(late);
	weft_cancel_release(root);
}
END_TEST

START_TEST(scopes_nest_and_check)
{
	weft_cancel *outer_tok;
	wt_ok(weft_cancel_new(&outer_tok, NULL));
	weft_cancel_scope outer, inner;
	wt_ok(weft_cancel_scope_enter(&outer, outer_tok, WEFT_FOREVER));
	wt_ok(weft_cancel_scope_enter(&inner, NULL, 0.05));
	ck_assert_ptr_eq(weft_cancel_current(), outer_tok);
	wt_rc(weft_cancel_scope_exit(&outer), WEFT_EPERM); /* not innermost */
	double t0 = weft_monotonic();
	_Atomic uint32_t w = 0;
	int rc;
	do
		rc = weft__park(&w, 0, WEFT__PRIVATE, WEFT__NO_DEADLINE);
	while (rc == 0);
	wt_rc(rc, WEFT_ETIMEDOUT); /* the inner deadline */
	ck_assert(weft_monotonic() - t0 >= 0.05);
	wt_rc(weft_cancel_check(), WEFT_ETIMEDOUT);
	wt_ok(weft_cancel_scope_exit(&inner));
	wt_ok(weft_cancel_check());
	weft_cancel_cancel(outer_tok);
	wt_rc(weft_cancel_check(), WEFT_ECANCELED);
	wt_rc(weft__park(&w, 0, WEFT__PRIVATE, WEFT__NO_DEADLINE), WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&outer));
	wt_ok(weft_cancel_check());
	ck_assert_ptr_null(weft_cancel_current());
	weft_cancel_release(outer_tok);
}
END_TEST

/* weft__yield_once: no yield past the deadline; a yield that another
 * thread's whole time slice made slow (a busy loop on the same CPU) bans
 * yielding for a while, and the ban ends. */
static _Atomic int spin_stop;

static void *busy_loop(void *arg)
{
	cpu_set_t *one = arg;
	pthread_setaffinity_np(pthread_self(), sizeof *one, one);
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
	return NULL;
}

START_TEST(yield_once_deadline_and_ban)
{
	ck_assert(!weft__yield_once(weft__now_ns() - 1));
	cpu_set_t old, one;
	ck_assert_int_eq(pthread_getaffinity_np(pthread_self(), sizeof old, &old), 0);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &old)) {
			CPU_SET(c, &one);
			break;
		}
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
	atomic_store(&spin_stop, 0);
	wt_thread *t = wt_spawn(busy_loop, &one);
	/* Sharing one CPU with the busy loop, a yield gives it a time slice:
	 * far over 200 us. Then yielding is banned. */
	int64_t until = weft__now_ns() + (int64_t)(10 * WT_SLACK * 1e9);
	bool banned = false;
	int64_t before = 0;
	while (!banned && weft__now_ns() < until) {
		before = weft__now_ns();
		banned = weft__yield_once(WEFT__NO_DEADLINE) && !weft__yield_once(WEFT__NO_DEADLINE);
	}
	atomic_store(&spin_stop, 1);
	wt_join(t);
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof old, &old), 0);
	ck_assert(banned);
	/* The ban, from the end of the slow yield, lasts 50 ms; then yields
	 * are allowed again. */
	while (!weft__yield_once(WEFT__NO_DEADLINE))
		ck_assert(weft__now_ns() - before < (int64_t)(10 * WT_SLACK * 1e9));
	ck_assert(weft__now_ns() - before >= 50000000);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_cancel_scope s;
	wt_rc(weft_cancel_new(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_cancel_retain(NULL), WEFT_EINVAL);
	wt_rc(weft_cancel_cancel(NULL), WEFT_EINVAL);
	ck_assert(!weft_cancel_is_cancelled(NULL));
	weft_cancel_release(NULL);
	wt_rc(weft_cancel_scope_enter(NULL, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_cancel_scope_enter(&s, NULL, -2), WEFT_EINVAL);
	wt_rc(weft_cancel_scope_exit(NULL), WEFT_EINVAL);
	wt_rc(weft_cancel_scope_exit(&s), WEFT_EPERM);
	ck_assert_ptr_null(weft_cancel_current());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = wt_tcase("core", 60);
	tcase_add_test(tc, errors_named_and_described);
	tcase_add_test(tc, fail_records_in_innermost_task);
	tcase_add_test(tc, deadlines_validate_timeouts);
	tcase_add_test(tc, yield_once_deadline_and_ban);
	tcase_add_test(tc, park_times_out_never_early);
	tcase_add_test(tc, park_survives_signal_storm);
	tcase_add_test(tc, cancel_wakes_parked_thread);
	tcase_add_test(tc, cancel_wakes_polling_thread);
	tcase_add_test(tc, parent_cancels_children);
	tcase_add_test(tc, scopes_nest_and_check);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
