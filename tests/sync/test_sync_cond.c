/* Condition: CPython's ConditionTests (lock_tests.py) and more: binding to a
 * Lock or an RLock, RLock depth restored by wait, wait_for, bad input. */
#include "sync_test.h"

#include <math.h>

static weft_cond cv;
static _Atomic int phase, woke1, woke2;
static int phase1[8], phase2[8]; /* phase seen by each wakeup, under the lock */

START_TEST(acquire_own_rlock_and_bound_lock)
{
	weft_cond c = WEFT_COND_INIT;
	/* By default a condition has an RLock: acquirable more than once. */
	wt_ok(weft_cond_acquire(&c, WEFT_FOREVER));
	wt_ok(weft_cond_acquire(&c, WEFT_FOREVER));
	wt_ok(weft_cond_release(&c));
	wt_ok(weft_cond_release(&c));
	wt_rc(weft_cond_release(&c), WEFT_EPERM);

	weft_lock lock = WEFT_LOCK_INIT;
	wt_ok(weft_cond_init(&c, &(weft_cond_opts){.lock = &lock}));
	wt_ok(weft_cond_acquire(&c, WEFT_FOREVER));
	wt_rc(weft_lock_acquire(&lock, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_cond_release(&c));
	wt_ok(weft_lock_acquire(&lock, 0));
	wt_rc(weft_cond_acquire(&c, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_lock_release(&lock));

	weft_rlock rlock = WEFT_RLOCK_INIT;
	wt_ok(weft_cond_init(&c, &(weft_cond_opts){.rlock = &rlock}));
	wt_ok(weft_cond_acquire(&c, 1.0));
	ck_assert(weft_rlock_is_owned(&rlock));
	wt_ok(weft_cond_release(&c));
	ck_assert(!weft_rlock_locked(&rlock));
}
END_TEST

START_TEST(unacquired_wait_and_notify)
{
	weft_cond c = WEFT_COND_INIT;
	wt_rc(weft_cond_wait(&c, WEFT_FOREVER), WEFT_EPERM);
	wt_rc(weft_cond_wait(&c, 0), WEFT_EPERM);
	wt_rc(weft_cond_notify(&c, 1), WEFT_EPERM);
	wt_rc(weft_cond_notify(&c, 0), WEFT_EPERM);
	wt_rc(weft_cond_notify_all(&c), WEFT_EPERM);
	wt_ok(weft_cond_acquire(&c, WEFT_FOREVER));
	wt_ok(weft_cond_notify(&c, 1)); /* nobody waits: fine */
	wt_ok(weft_cond_notify_all(&c));
	wt_ok(weft_cond_release(&c));
}
END_TEST

/* CPython's _check_notify, made deterministic: instead of sleeping, the main
 * thread watches the condition's counters. */
static void *notify_worker(void *arg)
{
	(void)arg;
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_ok(weft_cond_wait(&cv, WEFT_FOREVER));
	phase1[atomic_fetch_add(&woke1, 1)] = atomic_load(&phase);
	wt_ok(weft_cond_wait(&cv, WEFT_FOREVER));
	phase2[atomic_fetch_add(&woke2, 1)] = atomic_load(&phase);
	wt_ok(weft_cond_release(&cv));
	return NULL;
}

static uint32_t waiting(void)
{
	return st_word(cv.waiting);
}

static void check_notify(void)
{
	enum { N = 5 };
	st_bunch b;
	atomic_store(&woke1, 0);
	atomic_store(&woke2, 0);
	atomic_store(&phase, 0);
	st_bunch_start(&b, N, notify_worker, NULL);
	st_until(waiting() == N);
	ck_assert_int_eq(atomic_load(&woke1), 0);

	/* notify(3): exactly three wake; they return to a second wait. */
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_ok(weft_cond_notify(&cv, 3));
	atomic_store(&phase, 1);
	wt_ok(weft_cond_release(&cv));
	st_until(atomic_load(&woke1) == 3 && waiting() == N);
	ck_assert_uint_eq(st_word(cv.signals), 0);
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	ck_assert_int_eq(atomic_load(&woke1), 3);
	ck_assert_int_eq(atomic_load(&woke2), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(phase1[i], 1);

	/* notify(5): two in their first wait, three in their second. */
	wt_ok(weft_cond_notify(&cv, 5));
	atomic_store(&phase, 2);
	wt_ok(weft_cond_release(&cv));
	st_until(atomic_load(&woke1) + atomic_load(&woke2) == 8 && waiting() == 2);
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	ck_assert_int_eq(atomic_load(&woke1), 5);
	ck_assert_int_eq(atomic_load(&woke2), 3);
	for (int i = 3; i < 5; i++)
		ck_assert_int_eq(phase1[i], 2);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(phase2[i], 2);

	/* notify_all: the last two. */
	wt_ok(weft_cond_notify_all(&cv));
	atomic_store(&phase, 3);
	wt_ok(weft_cond_release(&cv));
	st_bunch_join(&b);
	ck_assert_int_eq(atomic_load(&woke2), 5);
	for (int i = 3; i < 5; i++)
		ck_assert_int_eq(phase2[i], 3);
	ck_assert_uint_eq(waiting(), 0);
	ck_assert_uint_eq(st_word(cv.signals), 0);
}

START_TEST(notify_wakes_exactly_n)
{
	static weft_lock lock;
	static weft_rlock rlock;
	weft_cond_init(&cv, NULL);
	check_notify();
	check_notify(); /* internal state is still right */
	weft_cond_init(&cv, &(weft_cond_opts){.lock = &lock});
	check_notify();
	weft_cond_init(&cv, &(weft_cond_opts){.rlock = &rlock});
	check_notify();
}
END_TEST

static void *timeout_worker(void *arg)
{
	(void)arg;
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	double t0 = weft_monotonic();
	wt_rc(weft_cond_wait(&cv, 0.1), WEFT_ETIMEDOUT);
	st_took(st_since(t0), 0.1);
	ck_assert(weft_rlock_is_owned(&cv.own)); /* the lock is held again */
	wt_ok(weft_cond_release(&cv));
	return NULL;
}

START_TEST(wait_timeout)
{
	st_bunch b;
	weft_cond_init(&cv, NULL);
	st_bunch_start(&b, 5, timeout_worker, NULL);
	st_bunch_join(&b);
	ck_assert_uint_eq(waiting(), 0);
	/* timeout 0 polls */
	wt_ok(weft_cond_acquire(&cv, 0));
	wt_rc(weft_cond_wait(&cv, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_cond_release(&cv));
	ck_assert_uint_eq(waiting(), 0);
}
END_TEST

static _Atomic int state;

static bool state_is_4(void *arg)
{
	(void)arg;
	return atomic_load(&state) == 4;
}

static void *waitfor_worker(void *arg)
{
	double timeout = *(double *)arg;
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	double t0 = weft_monotonic();
	int rc = weft_cond_wait_for(&cv, state_is_4, NULL, timeout);
	if (timeout == WEFT_FOREVER) {
		wt_ok(rc);
		ck_assert_int_eq(atomic_load(&state), 4);
	} else {
		wt_rc(rc, WEFT_ETIMEDOUT);
		st_took(st_since(t0), timeout);
	}
	wt_ok(weft_cond_release(&cv));
	return NULL;
}

static void bump_state(int times)
{
	for (int i = 0; i < times; i++) {
		st_until(waiting() == 1); /* the waiter is back in its wait */
		wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
		atomic_fetch_add(&state, 1);
		wt_ok(weft_cond_notify(&cv, 1));
		wt_ok(weft_cond_release(&cv));
	}
}

START_TEST(wait_for_rechecks_predicate)
{
	double forever = WEFT_FOREVER, short_t = 0.2;
	weft_cond_init(&cv, NULL);
	atomic_store(&state, 0);
	wt_thread *t = wt_spawn(waitfor_worker, &forever);
	bump_state(4);
	wt_join(t);
	/* Only 3 increments: state == 4 is never reached. */
	atomic_store(&state, 0);
	t = wt_spawn(waitfor_worker, &short_t);
	for (int i = 0; i < 3; i++) {
		wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
		atomic_fetch_add(&state, 1);
		wt_ok(weft_cond_notify(&cv, 1));
		wt_ok(weft_cond_release(&cv));
	}
	wt_join(t);
	/* A true predicate returns at once, even with timeout 0. */
	atomic_store(&state, 4);
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_ok(weft_cond_wait_for(&cv, state_is_4, NULL, 0));
	atomic_store(&state, 0);
	wt_rc(weft_cond_wait_for(&cv, state_is_4, NULL, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_cond_release(&cv));
	wt_rc(weft_cond_wait_for(&cv, state_is_4, NULL, 0), WEFT_EPERM);
}
END_TEST

static void *notify_one(void *arg)
{
	(void)arg;
	st_until(waiting() == 1);
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	ck_assert_uint_eq(weft_rlock_count(&cv.own), 1); /* the waiter released all 3 levels */
	wt_ok(weft_cond_notify(&cv, 1));
	wt_ok(weft_cond_release(&cv));
	return NULL;
}

START_TEST(rlock_depth_restored)
{
	weft_cond_init(&cv, NULL);
	for (int i = 0; i < 3; i++)
		wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_rc(weft_cond_wait(&cv, 0.02), WEFT_ETIMEDOUT);
	ck_assert_uint_eq(weft_rlock_count(&cv.own), 3);
	wt_thread *t = wt_spawn(notify_one, NULL);
	wt_ok(weft_cond_wait(&cv, WEFT_FOREVER));
	ck_assert_uint_eq(weft_rlock_count(&cv.own), 3);
	wt_join(t);
	for (int i = 0; i < 3; i++)
		wt_ok(weft_cond_release(&cv));
	ck_assert(!weft_rlock_locked(&cv.own));
}
END_TEST

/* queue.Queue's pattern: two conditions over one Lock, a bounded buffer. */
enum { CAP = 4, ITEMS = 2000 };
static weft_lock qmu;
static weft_cond not_empty, not_full;
static int buf[CAP], head, len;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= ITEMS; i++) {
		wt_ok(weft_lock_acquire(&qmu, WEFT_FOREVER));
		while (len == CAP)
			wt_ok(weft_cond_wait(&not_full, WEFT_FOREVER));
		buf[(head + len++) % CAP] = i;
		wt_ok(weft_cond_notify(&not_empty, 1));
		wt_ok(weft_lock_release(&qmu));
	}
	return NULL;
}

START_TEST(two_conditions_one_lock)
{
	weft_lock_init(&qmu, 0);
	wt_ok(weft_cond_init(&not_empty, &(weft_cond_opts){.lock = &qmu}));
	wt_ok(weft_cond_init(&not_full, &(weft_cond_opts){.lock = &qmu}));
	head = len = 0;
	wt_thread *t = wt_spawn(producer, NULL);
	long sum = 0;
	for (int i = 1; i <= ITEMS; i++) {
		wt_ok(weft_lock_acquire(&qmu, WEFT_FOREVER));
		while (len == 0)
			wt_ok(weft_cond_wait(&not_empty, WEFT_FOREVER));
		int v = buf[head];
		head = (head + 1) % CAP;
		len--;
		ck_assert_int_eq(v, i); /* FIFO, nothing lost or doubled */
		sum += v;
		wt_ok(weft_cond_notify(&not_full, 1));
		wt_ok(weft_lock_release(&qmu));
	}
	wt_join(t);
	ck_assert_int_eq(sum, (long)ITEMS * (ITEMS + 1) / 2);
}
END_TEST

START_TEST(bad_input)
{
	double bad[] = {-0.5, -INFINITY, INFINITY, NAN};
	weft_lock lock = WEFT_LOCK_INIT, shared_lock = WEFT_LOCK_INIT_PSHARED;
	weft_rlock rlock = WEFT_RLOCK_INIT;
	weft_cond c = WEFT_COND_INIT;
	wt_rc(weft_cond_init(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_cond_init(&c, &(weft_cond_opts){.lock = &lock, .rlock = &rlock}), WEFT_EINVAL);
	wt_rc(weft_cond_init(&c, &(weft_cond_opts){.flags = 2}), WEFT_EINVAL);
	wt_rc(weft_cond_init(&c, &(weft_cond_opts){.lock = &lock, .flags = WEFT_PSHARED}), WEFT_EINVAL);
	wt_rc(weft_cond_init(&c, &(weft_cond_opts){.rlock = &rlock, .flags = WEFT_PSHARED}), WEFT_EINVAL);
	/* a shared lock makes the condition shared */
	wt_ok(weft_cond_init(&c, &(weft_cond_opts){.lock = &shared_lock}));
	ck_assert(c.flags & WEFT_PSHARED);
	wt_ok(weft_cond_init(&c, NULL));
	wt_rc(weft_cond_acquire(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_cond_release(NULL), WEFT_EINVAL);
	wt_rc(weft_cond_wait(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_cond_wait_for(NULL, state_is_4, NULL, 0), WEFT_EINVAL);
	wt_rc(weft_cond_notify(NULL, 1), WEFT_EINVAL);
	wt_rc(weft_cond_notify_all(NULL), WEFT_EINVAL);
	wt_ok(weft_cond_acquire(&c, 0));
	wt_rc(weft_cond_wait_for(&c, NULL, NULL, 0), WEFT_EINVAL);
	wt_rc(weft_cond_notify(&c, -1), WEFT_EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		wt_rc(weft_cond_acquire(&c, bad[i]), WEFT_EINVAL);
		wt_rc(weft_cond_wait(&c, bad[i]), WEFT_EINVAL);
		wt_rc(weft_cond_wait_for(&c, state_is_4, NULL, bad[i]), WEFT_EINVAL);
	}
	/* still usable, still held once */
	ck_assert_uint_eq(weft_rlock_count(&c.own), 1);
	wt_rc(weft_cond_wait(&c, 0.001), WEFT_ETIMEDOUT);
	wt_ok(weft_cond_notify(&c, 2));
	wt_ok(weft_cond_release(&c));
	ck_assert(!weft_rlock_locked(&c.own));
	ck_assert_uint_eq(c.waiting, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_cond");
	TCase *tc = wt_tcase("cond", 60);
	tcase_add_test(tc, acquire_own_rlock_and_bound_lock);
	tcase_add_test(tc, unacquired_wait_and_notify);
	tcase_add_test(tc, notify_wakes_exactly_n);
	tcase_add_test(tc, wait_timeout);
	tcase_add_test(tc, wait_for_rechecks_predicate);
	tcase_add_test(tc, rlock_depth_restored);
	tcase_add_test(tc, two_conditions_one_lock);
	tcase_add_test(tc, bad_input);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
