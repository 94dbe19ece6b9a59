/* Cancel scopes: a thread asleep in a lock acquire, condition wait,
 * semaphore acquire, event wait or barrier wait is woken by weft_cancel_cancel from
 * another thread within 100 ms, gets WEFT_ECANCELED, and the primitive is
 * unchanged; a wakeup that a cancelled waiter may have taken is passed on. */
#include "sync_test.h"

static weft_lock lk;
static weft_rlock rl;
static weft_cond cv;
static weft_sem sem;
static weft_event ev;

typedef struct blocker {
	int (*op)(struct blocker *);
	weft_cancel *tok;
	double scope_timeout;
	pid_t tid;
	_Atomic int entered;
	int rc;
	double woke_at;
} blocker;

static void *blocker_main(void *arg)
{
	blocker *b = arg;
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, b->tok, b->scope_timeout));
	b->tid = gettid();
	atomic_store(&b->entered, 1);
	b->rc = b->op(b);
	b->woke_at = weft_monotonic();
	wt_ok(weft_cancel_scope_exit(&sc));
	return NULL;
}

static double cancel_bound(void)
{
	return wt_under_sanitizer() ? 0.1 * WT_SLACK : 0.1;
}

/* Runs op in a thread inside a cancel scope, cancels it once it sleeps, and
 * checks it returned WEFT_ECANCELED promptly. */
static void cancel_blocked(int (*op)(blocker *))
{
	blocker b = {.op = op, .scope_timeout = WEFT_FOREVER};
	wt_ok(weft_cancel_new(&b.tok, NULL));
	wt_thread *t = wt_spawn(blocker_main, &b);
	st_until(atomic_load(&b.entered));
	st_blocked(b.tid);
	double t0 = weft_monotonic();
	wt_ok(weft_cancel_cancel(b.tok));
	wt_join(t);
	wt_rc(b.rc, WEFT_ECANCELED);
	ck_assert_msg(b.woke_at - t0 < cancel_bound(), "woke %f s after the cancel", b.woke_at - t0);
	weft_cancel_release(b.tok);
}

static int op_lock(blocker *b)
{
	(void)b;
	return weft_lock_acquire(&lk, WEFT_FOREVER);
}

static int op_rlock(blocker *b)
{
	(void)b;
	return weft_rlock_acquire(&rl, 100.0);
}

START_TEST(cancel_lock_acquire)
{
	weft_lock_init(&lk, 0);
	wt_ok(weft_lock_acquire(&lk, 0));
	cancel_blocked(op_lock);
	ck_assert(weft_lock_locked(&lk)); /* still ours */
	wt_ok(weft_lock_release(&lk));
	ck_assert_uint_eq(st_word(lk.word), 0);
	wt_ok(weft_lock_acquire(&lk, 0));
	wt_ok(weft_lock_release(&lk));

	weft_rlock_init(&rl, 0);
	wt_ok(weft_rlock_acquire(&rl, 0));
	wt_ok(weft_rlock_acquire(&rl, 0));
	cancel_blocked(op_rlock);
	ck_assert_uint_eq(weft_rlock_count(&rl), 2);
	wt_ok(weft_rlock_release(&rl));
	wt_ok(weft_rlock_release(&rl));
	ck_assert_uint_eq(st_word(rl.word), 0);
}
END_TEST

static int op_cond(blocker *b)
{
	(void)b;
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	int rc = weft_cond_wait(&cv, WEFT_FOREVER);
	/* The lock is held again, at the same depth. */
	ck_assert_uint_eq(weft_rlock_count(&cv.own), 2);
	wt_ok(weft_cond_release(&cv));
	wt_ok(weft_cond_release(&cv));
	return rc;
}

START_TEST(cancel_cond_wait)
{
	weft_cond_init(&cv, NULL);
	cancel_blocked(op_cond);
	ck_assert_uint_eq(st_word(cv.waiting), 0);
	ck_assert_uint_eq(st_word(cv.signals), 0);
	ck_assert(!weft_rlock_locked(&cv.own));
	/* still works */
	wt_ok(weft_cond_acquire(&cv, 0));
	wt_rc(weft_cond_wait(&cv, 0.001), WEFT_ETIMEDOUT);
	wt_ok(weft_cond_release(&cv));
}
END_TEST

static int op_sem(blocker *b)
{
	(void)b;
	return weft_sem_acquire(&sem, WEFT_FOREVER);
}

START_TEST(cancel_sem_acquire)
{
	weft_sem_init(&sem, 0, 0);
	cancel_blocked(op_sem);
	ck_assert_int_eq(weft_sem_value(&sem), 0);
	ck_assert_uint_eq(st_word(sem.waiters), 0);
	wt_ok(weft_sem_release(&sem, 1));
	wt_ok(weft_sem_acquire(&sem, 0));
}
END_TEST

static int op_event(blocker *b)
{
	(void)b;
	return weft_event_wait(&ev, WEFT_FOREVER);
}

START_TEST(cancel_event_wait)
{
	weft_event_init(&ev, 0);
	cancel_blocked(op_event);
	ck_assert(!weft_event_is_set(&ev));
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_event_wait(&ev, 0));
}
END_TEST

static weft_barrier bar;

static int op_barrier(blocker *b)
{
	(void)b;
	int i = -1;
	int rc = weft_barrier_wait(&bar, WEFT_FOREVER, &i);
	ck_assert(rc != 0 || (i >= 0 && i < 3));
	return rc;
}

static void *barrier_member(void *arg)
{
	int *idx = arg;
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, idx));
	return NULL;
}

START_TEST(cancel_barrier_wait)
{
	/* A cancelled wait is no arrival: the barrier is as before. */
	weft_barrier_init(&bar, 2, NULL);
	cancel_blocked(op_barrier);
	ck_assert_int_eq(weft_barrier_n_waiting(&bar), 0);
	ck_assert(!weft_barrier_broken(&bar));
	/* With another thread already waiting in a 3-party barrier. */
	weft_barrier_init(&bar, 3, NULL);
	int i1 = -1, i2 = -1, i3 = -1;
	wt_thread *t = wt_spawn(barrier_member, &i1);
	st_until(weft_barrier_n_waiting(&bar) == 1);
	cancel_blocked(op_barrier);
	ck_assert_int_eq(weft_barrier_n_waiting(&bar), 1);
	ck_assert(!weft_barrier_broken(&bar));
	wt_thread *u = wt_spawn(barrier_member, &i2);
	st_until(weft_barrier_n_waiting(&bar) == 2);
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, &i3));
	wt_join(t);
	wt_join(u);
	ck_assert_int_eq(i3, 2); /* the last arrival */
	ck_assert_int_eq(i1 + i2, 1);
	ck_assert_int_eq(weft_barrier_n_waiting(&bar), 0);
}
END_TEST

START_TEST(scope_deadline_times_out)
{
	/* A deadline-only scope ends the wait with WEFT_ETIMEDOUT. */
	weft_lock_init(&lk, 0);
	wt_ok(weft_lock_acquire(&lk, 0));
	blocker b = {.op = op_lock, .scope_timeout = 0.05};
	double t0 = weft_monotonic();
	wt_join(wt_spawn(blocker_main, &b));
	wt_rc(b.rc, WEFT_ETIMEDOUT);
	st_took(b.woke_at - t0, 0.05);
	wt_ok(weft_lock_release(&lk));
	/* An already cancelled scope fails a blocking call at once, but a call
	 * that need not block succeeds. */
	weft_cancel *tok;
	wt_ok(weft_cancel_new(&tok, NULL));
	weft_cancel_cancel(tok);
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, tok, WEFT_FOREVER));
	wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER));
	wt_rc(weft_lock_acquire(&lk, WEFT_FOREVER), WEFT_ECANCELED);
	wt_rc(weft_sem_acquire(&sem, WEFT_FOREVER), WEFT_ECANCELED);
	wt_ok(weft_lock_release(&lk));
	wt_ok(weft_cancel_scope_exit(&sc));
	weft_cancel_release(tok);
}
END_TEST

/* ---- passing wakeups on ----------------------------------------------------- */

typedef struct racer {
	int (*op)(void);
	weft_cancel *tok; /* NULL: no scope */
	pid_t tid;
	_Atomic int entered, done;
	int rc;
} racer;

static void *racer_main(void *arg)
{
	racer *r = arg;
	weft_cancel_scope sc;
	if (r->tok)
		wt_ok(weft_cancel_scope_enter(&sc, r->tok, WEFT_FOREVER));
	r->tid = gettid();
	atomic_store(&r->entered, 1);
	r->rc = r->op();
	atomic_store(&r->done, 1);
	if (r->tok)
		wt_ok(weft_cancel_scope_exit(&sc));
	return NULL;
}

static int race_lock(void)
{
	int rc = weft_lock_acquire(&lk, 30.0);
	if (rc == 0)
		wt_ok(weft_lock_release(&lk));
	return rc;
}

static int race_sem(void)
{
	return weft_sem_acquire(&sem, 30.0);
}

static int race_cond(void)
{
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	int rc = weft_cond_wait(&cv, 30.0);
	wt_ok(weft_cond_release(&cv));
	return rc;
}

/* Two sleepers, a (cancellable) and b; the main thread wakes one with
 * `wake` and cancels a at the same moment. Whoever did not get the wakeup
 * must not be left asleep when the wakeup was meant for it. */
static void race(int (*op)(void), void (*setup)(void), bool (*ready)(void), void (*wake)(void),
                 void (*after)(racer *, racer *))
{
	for (int i = 0; i < 100; i++) {
		if (setup)
			setup();
		racer a = {.op = op}, b = {.op = op};
		wt_ok(weft_cancel_new(&a.tok, NULL));
		wt_thread *ta = wt_spawn(racer_main, &a), *tb = wt_spawn(racer_main, &b);
		st_until(atomic_load(&a.entered) && atomic_load(&b.entered));
		if (ready) /* asleep may also mean on the way in, e.g. in cond_acquire */
			st_until(ready());
		st_blocked(a.tid);
		st_blocked(b.tid);
		wake();
		weft_cancel_cancel(a.tok);
		wt_join(ta);
		ck_assert(a.rc == 0 || a.rc == WEFT_ECANCELED);
		after(&a, &b);
		wt_join(tb);
		wt_ok(b.rc);
		weft_cancel_release(a.tok);
	}
}

static void hold_lock(void)
{
	wt_ok(weft_lock_acquire(&lk, 0));
}

static void wake_lock(void)
{
	wt_ok(weft_lock_release(&lk));
}

static void after_lock(racer *a, racer *b)
{
	(void)a;
	(void)b; /* b must get the lock whether or not a took it first */
}

START_TEST(cancelled_lock_waiter_passes_wakeup_on)
{
	weft_lock_init(&lk, 0);
	race(race_lock, hold_lock, NULL, wake_lock, after_lock);
	ck_assert_uint_eq(st_word(lk.word), 0);
}
END_TEST

static void wake_sem(void)
{
	wt_ok(weft_sem_release(&sem, 1));
}

static void after_sem(racer *a, racer *b)
{
	(void)b;
	if (a->rc == 0) /* a took the unit: b needs another */
		wt_ok(weft_sem_release(&sem, 1));
}

START_TEST(cancelled_sem_waiter_passes_wakeup_on)
{
	weft_sem_init(&sem, 0, 0);
	race(race_sem, NULL, NULL, wake_sem, after_sem);
	ck_assert_int_eq(weft_sem_value(&sem), 0);
	ck_assert_uint_eq(st_word(sem.waiters), 0);
}
END_TEST

static bool both_waiting(void)
{
	return st_word(cv.waiting) == 2;
}

static void wake_cond(void)
{
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_ok(weft_cond_notify(&cv, 1));
	wt_ok(weft_cond_release(&cv));
}

static void after_cond(racer *a, racer *b)
{
	if (a->rc == 0) { /* a took the notification: b is still waiting */
		st_until(st_word(cv.waiting) == 1);
		ck_assert(!atomic_load(&b->done));
		wake_cond();
	}
}

START_TEST(cancelled_cond_waiter_passes_notify_on)
{
	weft_cond_init(&cv, NULL);
	race(race_cond, NULL, both_waiting, wake_cond, after_cond);
	ck_assert_uint_eq(st_word(cv.waiting), 0);
	ck_assert_uint_eq(st_word(cv.signals), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_cancel");
	TCase *tc = wt_tcase("cancel", 120);
	tcase_add_test(tc, cancel_lock_acquire);
	tcase_add_test(tc, cancel_cond_wait);
	tcase_add_test(tc, cancel_sem_acquire);
	tcase_add_test(tc, cancel_event_wait);
	tcase_add_test(tc, cancel_barrier_wait);
	tcase_add_test(tc, scope_deadline_times_out);
	tcase_add_test(tc, cancelled_lock_waiter_passes_wakeup_on);
	tcase_add_test(tc, cancelled_sem_waiter_passes_wakeup_on);
	tcase_add_test(tc, cancelled_cond_waiter_passes_notify_on);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
