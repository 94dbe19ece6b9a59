/* Semaphore, BoundedSemaphore and Event: CPython's BaseSemaphoreTests,
 * SemaphoreTests, BoundedSemaphoreTests and EventTests (lock_tests.py), plus
 * bad input. */
#include "sync_test.h"

#include <math.h>

static weft_sem sem;
static weft_event ev;
static _Atomic int phase, got, results[32], nres;

/* ---- Semaphore ------------------------------------------------------------- */

START_TEST(sem_init_and_values)
{
	weft_sem z;
	memset(&z, 0, sizeof z); /* Semaphore(0) */
	ck_assert_int_eq(weft_sem_value(&z), 0);
	wt_rc(weft_sem_acquire(&z, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_sem_release(&z, 1));
	wt_ok(weft_sem_acquire(&z, 0));
	weft_sem a = WEFT_SEM_INIT(2), b = WEFT_SEM_INIT_PSHARED(1);
	wt_ok(weft_sem_acquire(&a, WEFT_FOREVER));
	wt_ok(weft_sem_acquire(&a, WEFT_FOREVER));
	wt_rc(weft_sem_acquire(&a, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_sem_release(&a, 1));
	wt_ok(weft_sem_release(&a, 1));
	ck_assert_int_eq(weft_sem_value(&a), 2);
	wt_ok(weft_sem_acquire(&b, 0));
	wt_ok(weft_sem_init(&a, 0, WEFT_PSHARED));
	ck_assert_int_eq(weft_sem_value(&a), 0);
	/* Unbounded: releases past the initial value are allowed. */
	wt_ok(weft_sem_init(&a, 1, 0));
	wt_ok(weft_sem_release(&a, 1));
	wt_ok(weft_sem_acquire(&a, 0));
	wt_ok(weft_sem_acquire(&a, 0));
	wt_ok(weft_sem_release(&a, 5));
	ck_assert_int_eq(weft_sem_value(&a), 5);
	/* The value stays within INT32_MAX, unchanged on error. */
	wt_ok(weft_sem_init(&a, INT32_MAX - 1, 0));
	wt_rc(weft_sem_release(&a, 2), WEFT_ERANGE);
	ck_assert_int_eq(weft_sem_value(&a), INT32_MAX - 1);
	wt_ok(weft_sem_release(&a, 1));
	wt_rc(weft_sem_release(&a, 1), WEFT_ERANGE);
	ck_assert_int_eq(weft_sem_value(&a), INT32_MAX);
}
END_TEST

static void *sem_twice(void *arg)
{
	(void)arg;
	wt_ok(weft_sem_acquire(&sem, WEFT_FOREVER));
	results[atomic_fetch_add(&nres, 1)] = atomic_load(&phase);
	wt_ok(weft_sem_acquire(&sem, WEFT_FOREVER));
	results[atomic_fetch_add(&nres, 1)] = atomic_load(&phase);
	return NULL;
}

static int count_phase(int p)
{
	int n = 0;
	for (int i = 0; i < atomic_load(&nres); i++)
		n += atomic_load(&results[i]) == p;
	return n;
}

static void settled(st_bunch *b, int acquired)
{
	/* acquired units taken, every unfinished thread asleep in acquire */
	st_until(atomic_load(&nres) == acquired &&
	         (int)st_word(sem.waiters) == 10 - atomic_load(&b->finished));
}

START_TEST(sem_acquire_contended)
{
	st_bunch b;
	weft_sem_init(&sem, 7, 0);
	atomic_store(&nres, 0);
	atomic_store(&phase, 0);
	wt_ok(weft_sem_acquire(&sem, WEFT_FOREVER));
	st_bunch_start(&b, 10, sem_twice, NULL);
	settled(&b, 6);
	ck_assert_int_eq(count_phase(0), 6);
	atomic_store(&phase, 1);
	for (int i = 0; i < 7; i++)
		wt_ok(weft_sem_release(&sem, 1));
	settled(&b, 13);
	ck_assert_int_eq(count_phase(1), 7);
	atomic_store(&phase, 2);
	wt_ok(weft_sem_release(&sem, 6)); /* release(n) wakes n */
	settled(&b, 19);
	ck_assert_int_eq(count_phase(2), 6);
	/* The semaphore is still locked. */
	wt_rc(weft_sem_acquire(&sem, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_sem_release(&sem, 1));
	st_bunch_join(&b);
	ck_assert_int_eq(weft_sem_value(&sem), 0);
	ck_assert_uint_eq(st_word(sem.waiters), 0);
}
END_TEST

static void *sem_try_twice(void *arg)
{
	(void)arg;
	atomic_fetch_add(&got, weft_sem_acquire(&sem, 0) == 0);
	atomic_fetch_add(&got, weft_sem_acquire(&sem, 0) == 0);
	return NULL;
}

START_TEST(sem_try_acquire_contended)
{
	st_bunch b;
	weft_sem_init(&sem, 4, 0);
	wt_ok(weft_sem_acquire(&sem, 0));
	atomic_store(&got, 0);
	st_bunch_start(&b, 5, sem_try_twice, NULL);
	st_bunch_join(&b);
	ck_assert_int_eq(atomic_load(&got), 3); /* 3 of 10 tries */
	ck_assert_int_eq(weft_sem_value(&sem), 0);
}
END_TEST

START_TEST(sem_acquire_timeout)
{
	weft_sem_init(&sem, 2, 0);
	wt_ok(weft_sem_acquire(&sem, 0.005));
	wt_ok(weft_sem_acquire(&sem, 0.005));
	wt_rc(weft_sem_acquire(&sem, 0.005), WEFT_ETIMEDOUT);
	wt_ok(weft_sem_release(&sem, 1));
	wt_ok(weft_sem_acquire(&sem, 0.005));
	double t0 = weft_monotonic();
	wt_rc(weft_sem_acquire(&sem, 0.1), WEFT_ETIMEDOUT);
	st_took(st_since(t0), 0.1);
	ck_assert_int_eq(weft_sem_value(&sem), 0);
	ck_assert_uint_eq(st_word(sem.waiters), 0);
}
END_TEST

/* ---- BoundedSemaphore ------------------------------------------------------ */

START_TEST(bsem_release_past_bound)
{
	weft_sem s;
	wt_ok(weft_bsem_init(&s, 1, 0));
	wt_rc(weft_sem_release(&s, 1), WEFT_EINVAL);
	ck_assert_int_eq(weft_sem_value(&s), 1);
	wt_ok(weft_sem_acquire(&s, 0));
	wt_ok(weft_sem_release(&s, 1));
	wt_rc(weft_sem_release(&s, 1), WEFT_EINVAL);
	ck_assert_int_eq(weft_sem_value(&s), 1);

	weft_sem t = WEFT_BSEM_INIT(3), p = WEFT_BSEM_INIT_PSHARED(3);
	wt_ok(weft_sem_acquire(&t, 0));
	wt_ok(weft_sem_acquire(&t, 0));
	wt_rc(weft_sem_release(&t, 3), WEFT_EINVAL); /* 1 + 3 > 3: nothing added */
	ck_assert_int_eq(weft_sem_value(&t), 1);
	wt_ok(weft_sem_release(&t, 2));
	ck_assert_int_eq(weft_sem_value(&t), 3);
	wt_rc(weft_sem_release(&p, 1), WEFT_EINVAL);

	wt_ok(weft_bsem_init(&s, 0, WEFT_PSHARED)); /* BoundedSemaphore(0) */
	wt_rc(weft_sem_release(&s, 1), WEFT_EINVAL);
	ck_assert_int_eq(weft_sem_value(&s), 0);
	/* re-initialized as an unbounded one, the bound is gone */
	wt_ok(weft_sem_init(&s, 0, 0));
	wt_ok(weft_sem_release(&s, 1));
}
END_TEST

START_TEST(sem_bad_input)
{
	double bad[] = {-0.5, -INFINITY, INFINITY, NAN};
	weft_sem s = WEFT_SEM_INIT(1);
	wt_rc(weft_sem_init(NULL, 1, 0), WEFT_EINVAL);
	wt_rc(weft_sem_init(&s, -1, 0), WEFT_EINVAL);
	wt_rc(weft_sem_init(&s, INT32_MIN, 0), WEFT_EINVAL);
	wt_rc(weft_sem_init(&s, 1, 8), WEFT_EINVAL);
	wt_rc(weft_bsem_init(NULL, 1, 0), WEFT_EINVAL);
	wt_rc(weft_bsem_init(&s, -1, 0), WEFT_EINVAL);
	wt_rc(weft_bsem_init(&s, 1, 8), WEFT_EINVAL);
	wt_rc(weft_sem_acquire(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_sem_release(NULL, 1), WEFT_EINVAL);
	wt_rc(weft_sem_value(NULL), WEFT_EINVAL);
	wt_rc(weft_sem_release(&s, 0), WEFT_EINVAL);
	wt_rc(weft_sem_release(&s, -3), WEFT_EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		wt_rc(weft_sem_acquire(&s, bad[i]), WEFT_EINVAL);
	ck_assert_int_eq(weft_sem_value(&s), 1); /* unchanged and usable */
	wt_ok(weft_sem_acquire(&s, 0));
	wt_ok(weft_sem_release(&s, 1));
}
END_TEST

/* ---- Event ----------------------------------------------------------------- */

START_TEST(event_is_set)
{
	weft_event e = WEFT_EVENT_INIT;
	ck_assert(!weft_event_is_set(&e));
	wt_ok(weft_event_set(&e));
	ck_assert(weft_event_is_set(&e));
	wt_ok(weft_event_set(&e));
	ck_assert(weft_event_is_set(&e));
	wt_ok(weft_event_clear(&e));
	ck_assert(!weft_event_is_set(&e));
	wt_ok(weft_event_clear(&e));
	ck_assert(!weft_event_is_set(&e));
	weft_event p = WEFT_EVENT_INIT_PSHARED;
	wt_ok(weft_event_set(&p));
	wt_ok(weft_event_wait(&p, 0));
	wt_ok(weft_event_init(&p, 0));
	ck_assert(!weft_event_is_set(&p));
}
END_TEST

static void *event_wait_twice(void *arg)
{
	(void)arg;
	atomic_fetch_add(&got, weft_event_wait(&ev, WEFT_FOREVER) == 0);
	atomic_fetch_add(&got, weft_event_wait(&ev, WEFT_FOREVER) == 0);
	return NULL;
}

static void check_event_notify(void)
{
	st_bunch b;
	atomic_store(&got, 0);
	st_bunch_start(&b, 5, event_wait_twice, NULL);
	st_bunch_blocked(&b);
	ck_assert_int_eq(atomic_load(&got), 0);
	wt_ok(weft_event_set(&ev));
	st_bunch_join(&b);
	ck_assert_int_eq(atomic_load(&got), 10);
}

START_TEST(event_notify_all)
{
	weft_event_init(&ev, 0);
	check_event_notify();
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_event_clear(&ev));
	check_event_notify();
}
END_TEST

static void *event_timeouts(void *arg)
{
	bool set = arg != NULL;
	wt_rc(weft_event_wait(&ev, 0), set ? 0 : WEFT_ETIMEDOUT);
	double t0 = weft_monotonic();
	int rc = weft_event_wait(&ev, 0.1);
	if (set) {
		wt_ok(rc);
	} else {
		wt_rc(rc, WEFT_ETIMEDOUT);
		st_took(st_since(t0), 0.1);
	}
	return NULL;
}

START_TEST(event_timeout)
{
	st_bunch b;
	weft_event_init(&ev, 0);
	st_bunch_start(&b, 5, event_timeouts, NULL);
	st_bunch_join(&b);
	wt_ok(weft_event_set(&ev));
	st_bunch_start(&b, 5, event_timeouts, &ev);
	st_bunch_join(&b);
}
END_TEST

static void *event_wait_long(void *arg)
{
	(void)arg;
	atomic_fetch_add(&got, weft_event_wait(&ev, 100.0) == 0);
	return NULL;
}

START_TEST(event_set_then_clear_still_wakes)
{
	/* Issue #13502: wait() reports success even when the event is cleared
	 * before the waiting thread gets to run. */
	st_bunch b;
	weft_event_init(&ev, 0);
	atomic_store(&got, 0);
	st_bunch_start(&b, 5, event_wait_long, NULL);
	st_bunch_blocked(&b);
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_event_clear(&ev));
	st_bunch_join(&b);
	ck_assert_int_eq(atomic_load(&got), 5);
	ck_assert(!weft_event_is_set(&ev));
}
END_TEST

START_TEST(event_bad_input)
{
	double bad[] = {-0.5, -INFINITY, INFINITY, NAN};
	weft_event e = WEFT_EVENT_INIT;
	wt_rc(weft_event_init(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_event_init(&e, 3), WEFT_EINVAL);
	wt_rc(weft_event_set(NULL), WEFT_EINVAL);
	wt_rc(weft_event_clear(NULL), WEFT_EINVAL);
	ck_assert(!weft_event_is_set(NULL));
	wt_rc(weft_event_wait(NULL, 0), WEFT_EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		wt_rc(weft_event_wait(&e, bad[i]), WEFT_EINVAL);
	wt_ok(weft_event_set(&e));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		wt_rc(weft_event_wait(&e, bad[i]), WEFT_EINVAL);
	wt_ok(weft_event_wait(&e, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_sem");
	TCase *tc = wt_tcase("sem", 60);
	tcase_add_test(tc, sem_init_and_values);
	tcase_add_test(tc, sem_acquire_contended);
	tcase_add_test(tc, sem_try_acquire_contended);
	tcase_add_test(tc, sem_acquire_timeout);
	tcase_add_test(tc, bsem_release_past_bound);
	tcase_add_test(tc, sem_bad_input);
	tcase_add_test(tc, event_is_set);
	tcase_add_test(tc, event_notify_all);
	tcase_add_test(tc, event_timeout);
	tcase_add_test(tc, event_set_then_clear_still_wakes);
	tcase_add_test(tc, event_bad_input);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
