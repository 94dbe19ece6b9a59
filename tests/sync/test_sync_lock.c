/* Lock and RLock: the behaviours of CPython's Lib/test/lock_tests.py
 * (BaseLockTests, LockTests, RLockTests), plus bad input. */
#include "sync_test.h"

#include <math.h>
#include <sys/wait.h>

static weft_lock lk;
static weft_rlock rl;
static _Atomic int phase, result;

/* ---- both kinds ------------------------------------------------------------- */

START_TEST(lock_zeroed_and_static)
{
	weft_lock z;
	memset(&z, 0, sizeof z);
	ck_assert(!weft_lock_locked(&z));
	wt_ok(weft_lock_acquire(&z, WEFT_FOREVER));
	ck_assert(weft_lock_locked(&z));
	wt_ok(weft_lock_release(&z));
	ck_assert(!weft_lock_locked(&z));
	weft_lock s = WEFT_LOCK_INIT, p = WEFT_LOCK_INIT_PSHARED;
	wt_ok(weft_lock_acquire(&s, 0));
	wt_ok(weft_lock_acquire(&p, 0));
	wt_ok(weft_lock_release(&s));
	wt_ok(weft_lock_release(&p));
	wt_ok(weft_lock_init(&z, WEFT_PSHARED));
	wt_ok(weft_lock_acquire(&z, 1.0));
	wt_ok(weft_lock_release(&z));
	weft_rlock r = WEFT_RLOCK_INIT, rp = WEFT_RLOCK_INIT_PSHARED;
	wt_ok(weft_rlock_acquire(&r, WEFT_FOREVER));
	wt_ok(weft_rlock_acquire(&rp, WEFT_FOREVER));
	wt_ok(weft_rlock_release(&r));
	wt_ok(weft_rlock_release(&rp));
}
END_TEST

static void *try_lock(void *arg)
{
	(void)arg;
	atomic_store(&result, weft_lock_acquire(&lk, 0));
	return NULL;
}

static void *try_rlock(void *arg)
{
	(void)arg;
	atomic_store(&result, weft_rlock_acquire(&rl, 0));
	return NULL;
}

START_TEST(try_acquire_contended)
{
	weft_lock_init(&lk, 0);
	wt_ok(weft_lock_acquire(&lk, 0));
	wt_rc(weft_lock_acquire(&lk, 0), WEFT_ETIMEDOUT); /* a Lock is not reentrant */
	wt_join(wt_spawn(try_lock, NULL));
	wt_rc(result, WEFT_ETIMEDOUT);
	wt_ok(weft_lock_release(&lk));

	weft_rlock_init(&rl, 0);
	wt_ok(weft_rlock_acquire(&rl, 0));
	wt_ok(weft_rlock_acquire(&rl, 0)); /* reentrant */
	wt_join(wt_spawn(try_rlock, NULL));
	wt_rc(result, WEFT_ETIMEDOUT);
	wt_ok(weft_rlock_release(&rl));
	wt_ok(weft_rlock_release(&rl));
	wt_join(wt_spawn(try_rlock, NULL));
	wt_ok(result);
	ck_assert(weft_rlock_locked(&rl));
	ck_assert(!weft_rlock_is_owned(&rl));
}
END_TEST

static _Atomic int done;

static void *lock_cycle(void *arg)
{
	(void)arg;
	wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER));
	wt_ok(weft_lock_release(&lk));
	atomic_fetch_add(&done, 1);
	return NULL;
}

static void *rlock_cycle(void *arg)
{
	(void)arg;
	wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
	wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
	wt_ok(weft_rlock_release(&rl));
	wt_ok(weft_rlock_release(&rl));
	atomic_fetch_add(&done, 1);
	return NULL;
}

START_TEST(acquire_contended)
{
	enum { N = 5 };
	st_bunch b;
	weft_lock_init(&lk, 0);
	atomic_store(&done, 0);
	wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER));
	st_bunch_start(&b, N, lock_cycle, NULL);
	st_bunch_blocked(&b);
	ck_assert_int_eq(atomic_load(&done), 0);
	ck_assert(st_word(lk.word) & WEFT__WAITERS);
	wt_ok(weft_lock_release(&lk));
	st_bunch_join(&b);
	ck_assert_int_eq(atomic_load(&done), N);
	ck_assert_uint_eq(st_word(lk.word), 0);

	weft_rlock_init(&rl, 0);
	atomic_store(&done, 0);
	wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
	wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
	st_bunch_start(&b, N, rlock_cycle, NULL);
	st_bunch_blocked(&b);
	ck_assert_int_eq(atomic_load(&done), 0);
	wt_ok(weft_rlock_release(&rl));
	ck_assert_int_eq(atomic_load(&done), 0); /* still one level held */
	wt_ok(weft_rlock_release(&rl));
	st_bunch_join(&b);
	ck_assert_int_eq(atomic_load(&done), N);
	ck_assert_uint_eq(st_word(rl.word), 0);
}
END_TEST

static void *timed_lock(void *arg)
{
	double t0 = weft_monotonic();
	atomic_store(&result, arg ? weft_rlock_acquire(&rl, 0.1) : weft_lock_acquire(&lk, 0.1));
	st_took(st_since(t0), 0.1);
	return NULL;
}

START_TEST(acquire_timeout)
{
	weft_lock_init(&lk, 0);
	wt_ok(weft_lock_acquire(&lk, 5.0)); /* free: no wait at all */
	wt_join(wt_spawn(timed_lock, NULL));
	wt_rc(result, WEFT_ETIMEDOUT);
	/* Issue #11618: the lock is in a proper state after a timeout. */
	wt_rc(weft_lock_acquire(&lk, 0.01), WEFT_ETIMEDOUT);
	wt_ok(weft_lock_release(&lk));
	ck_assert(!weft_lock_locked(&lk));
	wt_ok(weft_lock_acquire(&lk, 0));
	wt_ok(weft_lock_release(&lk));
	ck_assert_uint_eq(st_word(lk.word), 0);
	/* The largest timeout is accepted. */
	wt_ok(weft_lock_acquire(&lk, 1e12));
	wt_ok(weft_lock_release(&lk));

	weft_rlock_init(&rl, 0);
	wt_ok(weft_rlock_acquire(&rl, 5.0));
	wt_join(wt_spawn(timed_lock, &rl));
	wt_rc(result, WEFT_ETIMEDOUT);
	wt_ok(weft_rlock_release(&rl));
	ck_assert(!weft_rlock_locked(&rl));
	wt_ok(weft_rlock_acquire(&rl, 0));
	wt_ok(weft_rlock_release(&rl));
}
END_TEST

/* ---- Lock ------------------------------------------------------------------- */

static void *reacquire(void *arg)
{
	(void)arg;
	wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER));
	atomic_store(&phase, 1);
	wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER)); /* until another thread releases */
	atomic_store(&phase, 2);
	return NULL;
}

START_TEST(lock_reacquire_needs_release)
{
	weft_lock_init(&lk, 0);
	atomic_store(&phase, 0);
	wt_thread *t = wt_spawn(reacquire, NULL);
	st_until(atomic_load(&phase) == 1);
	st_until(st_word(lk.word) & WEFT__WAITERS);
	ck_assert_int_eq(atomic_load(&phase), 1);
	wt_ok(weft_lock_release(&lk)); /* released by another thread than its taker */
	wt_join(t);
	ck_assert_int_eq(atomic_load(&phase), 2);
	wt_ok(weft_lock_release(&lk));
}
END_TEST

static void *release_other(void *arg)
{
	(void)arg;
	atomic_store(&result, weft_lock_release(&lk));
	return NULL;
}

START_TEST(lock_released_by_other_thread)
{
	weft_lock_init(&lk, 0);
	wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER));
	wt_join(wt_spawn(release_other, NULL));
	wt_ok(result);
	wt_ok(weft_lock_acquire(&lk, 0));
	wt_ok(weft_lock_release(&lk));
}
END_TEST

START_TEST(lock_release_unlocked)
{
	weft_lock_init(&lk, 0);
	wt_rc(weft_lock_release(&lk), WEFT_EPERM);
	ck_assert(!weft_lock_locked(&lk));
	wt_ok(weft_lock_acquire(&lk, 0));
	wt_ok(weft_lock_release(&lk));
	wt_rc(weft_lock_release(&lk), WEFT_EPERM);
	ck_assert_uint_eq(st_word(lk.word), 0);
}
END_TEST

/* ---- RLock ------------------------------------------------------------------ */

START_TEST(rlock_reacquire_and_count)
{
	weft_rlock r = WEFT_RLOCK_INIT;
	ck_assert(!weft_rlock_is_owned(&r));
	ck_assert_uint_eq(weft_rlock_count(&r), 0);
	wt_rc(weft_rlock_release(&r), WEFT_EPERM);
	wt_ok(weft_rlock_acquire(&r, WEFT_FOREVER));
	wt_ok(weft_rlock_acquire(&r, WEFT_FOREVER));
	ck_assert_uint_eq(weft_rlock_count(&r), 2);
	wt_ok(weft_rlock_release(&r));
	ck_assert(weft_rlock_is_owned(&r));
	wt_ok(weft_rlock_acquire(&r, 0));
	wt_ok(weft_rlock_release(&r));
	wt_ok(weft_rlock_release(&r));
	ck_assert(!weft_rlock_is_owned(&r));
	ck_assert(!weft_rlock_locked(&r));
	wt_rc(weft_rlock_release(&r), WEFT_EPERM);
	ck_assert_uint_eq(st_word(r.word), 0);
}
END_TEST

static void *rlock_hold(void *arg)
{
	weft_event *go = arg;
	wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
	atomic_store(&phase, 1);
	wt_ok(weft_event_wait(go, WEFT_FOREVER));
	wt_ok(weft_rlock_release(&rl));
	return NULL;
}

static void *rlock_is_owned_elsewhere(void *arg)
{
	(void)arg;
	atomic_store(&result, weft_rlock_is_owned(&rl) || weft_rlock_count(&rl) != 0);
	return NULL;
}

START_TEST(rlock_owner_only)
{
	weft_event go = WEFT_EVENT_INIT;
	weft_rlock_init(&rl, 0);
	atomic_store(&phase, 0);
	wt_thread *t = wt_spawn(rlock_hold, &go);
	st_until(atomic_load(&phase) == 1);
	wt_rc(weft_rlock_release(&rl), WEFT_EPERM); /* not the owner */
	ck_assert(weft_rlock_locked(&rl));
	ck_assert(!weft_rlock_is_owned(&rl));
	ck_assert_uint_eq(weft_rlock_count(&rl), 0);
	weft_event_set(&go);
	wt_join(t);
	ck_assert(!weft_rlock_locked(&rl));
	/* _is_owned seen from another thread */
	wt_ok(weft_rlock_acquire(&rl, 0));
	wt_join(wt_spawn(rlock_is_owned_elsewhere, NULL));
	ck_assert_int_eq(result, 0);
	wt_ok(weft_rlock_release(&rl));
}
END_TEST

START_TEST(rlock_depth_overflow)
{
	weft_rlock r = WEFT_RLOCK_INIT;
	wt_ok(weft_rlock_acquire(&r, 0));
	r.count = UINT32_MAX; /* white-box: as if acquired 2^32-1 times */
	wt_rc(weft_rlock_acquire(&r, 0), WEFT_ERANGE);
	ck_assert_uint_eq(weft_rlock_count(&r), UINT32_MAX);
	r.count = 1;
	wt_ok(weft_rlock_release(&r));
	ck_assert(!weft_rlock_locked(&r));
}
END_TEST

START_TEST(rlock_survives_fork_in_child)
{
	/* As in Python, the forking thread still owns its private RLock in the
	 * child; a shared one belongs to the parent's thread, not the child's. */
	weft_rlock priv = WEFT_RLOCK_INIT, shared = WEFT_RLOCK_INIT_PSHARED;
	wt_ok(weft_rlock_acquire(&priv, 0));
	wt_ok(weft_rlock_acquire(&shared, 0));
	pid_t pid = fork();
	if (pid == 0) {
		int ok = weft_rlock_is_owned(&priv) && weft_rlock_release(&priv) == 0 &&
		         !weft_rlock_locked(&priv) && !weft_rlock_is_owned(&shared) &&
		         weft_rlock_release(&shared) == WEFT_EPERM;
		_exit(ok ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	wt_ok(weft_rlock_release(&priv));
	wt_ok(weft_rlock_release(&shared));
}
END_TEST

/* ---- bad input ---------------------------------------------------------------- */

START_TEST(bad_input)
{
	double bad[] = {-0.5, -2, -INFINITY, INFINITY, NAN, 1e13};
	weft_lock l = WEFT_LOCK_INIT;
	weft_rlock r = WEFT_RLOCK_INIT;
	wt_rc(weft_lock_init(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_lock_init(&l, 2), WEFT_EINVAL);
	wt_rc(weft_lock_init(&l, -1), WEFT_EINVAL);
	wt_rc(weft_lock_acquire(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_lock_release(NULL), WEFT_EINVAL);
	ck_assert(!weft_lock_locked(NULL));
	wt_rc(weft_rlock_init(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_rlock_init(&r, 4), WEFT_EINVAL);
	wt_rc(weft_rlock_acquire(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_rlock_release(NULL), WEFT_EINVAL);
	ck_assert(!weft_rlock_locked(NULL));
	ck_assert(!weft_rlock_is_owned(NULL));
	ck_assert_uint_eq(weft_rlock_count(NULL), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		wt_rc(weft_lock_acquire(&l, bad[i]), WEFT_EINVAL);
		wt_rc(weft_rlock_acquire(&r, bad[i]), WEFT_EINVAL);
		/* also when held: the argument is checked first */
		wt_ok(weft_lock_acquire(&l, 0));
		wt_rc(weft_lock_acquire(&l, bad[i]), WEFT_EINVAL);
		wt_ok(weft_lock_release(&l));
	}
	/* still usable */
	ck_assert(!weft_lock_locked(&l));
	ck_assert(!weft_rlock_locked(&r));
	wt_ok(weft_lock_acquire(&l, WEFT_FOREVER));
	wt_ok(weft_lock_release(&l));
	wt_ok(weft_rlock_acquire(&r, WEFT_FOREVER));
	wt_ok(weft_rlock_release(&r));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_lock");
	TCase *tc = wt_tcase("lock", 60);
	tcase_add_test(tc, lock_zeroed_and_static);
	tcase_add_test(tc, try_acquire_contended);
	tcase_add_test(tc, acquire_contended);
	tcase_add_test(tc, acquire_timeout);
	tcase_add_test(tc, lock_reacquire_needs_release);
	tcase_add_test(tc, lock_released_by_other_thread);
	tcase_add_test(tc, lock_release_unlocked);
	tcase_add_test(tc, rlock_reacquire_and_count);
	tcase_add_test(tc, rlock_owner_only);
	tcase_add_test(tc, rlock_depth_overflow);
	tcase_add_test(tc, rlock_survives_fork_in_child);
	tcase_add_test(tc, bad_input);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
