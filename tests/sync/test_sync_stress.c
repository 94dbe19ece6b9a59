/* Stress (bounded; WEFT_STRESS_SCALE=n runs n times longer): mutual
 * exclusion under contention for Lock, RLock and a Semaphore(1), and no
 * lost wakeups for conditions and semaphores with timed-out waiters. */
#include "sync_test.h"

enum { THREADS = 4 };

static weft_lock lk;
static weft_rlock rl;
static weft_sem sem;
static long counter; /* plain: only the lock protects it */
static long rounds;

static long iterations(void)
{
	return (wt_under_sanitizer() ? 5000 : 50000) * wt_stress_scale();
}

static void *count_lock(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		wt_ok(weft_lock_acquire(&lk, WEFT_FOREVER));
		counter++;
		wt_ok(weft_lock_release(&lk));
	}
	return NULL;
}

static void *count_rlock(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
		wt_ok(weft_rlock_acquire(&rl, WEFT_FOREVER));
		counter++;
		wt_ok(weft_rlock_release(&rl));
		wt_ok(weft_rlock_release(&rl));
	}
	return NULL;
}

static void *count_sem(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		/* a finite timeout takes the timed path too */
		wt_ok(weft_sem_acquire(&sem, (i & 1) ? WEFT_FOREVER : 60.0));
		counter++;
		wt_ok(weft_sem_release(&sem, 1));
	}
	return NULL;
}

static void run(void *(*fn)(void *))
{
	wt_thread *t[THREADS];
	counter = 0;
	rounds = iterations();
	for (int i = 0; i < THREADS; i++)
		t[i] = wt_spawn(fn, NULL);
	for (int i = 0; i < THREADS; i++)
		wt_join(t[i]);
	ck_assert_int_eq(counter, THREADS * rounds);
}

START_TEST(mutual_exclusion)
{
	weft_lock_init(&lk, 0);
	run(count_lock);
	ck_assert_uint_eq(st_word(lk.word), 0);
	weft_rlock_init(&rl, 0);
	run(count_rlock);
	ck_assert_uint_eq(st_word(rl.word), 0);
	weft_sem_init(&sem, 1, 0);
	run(count_sem);
	ck_assert_int_eq(weft_sem_value(&sem), 1);
	ck_assert_uint_eq(st_word(sem.waiters), 0);
}
END_TEST

/* Tokens through a condition: consumers wait with short timeouts (so
 * waiters keep leaving while notifies fly); every token put must be taken
 * and every notify that finds a waiter must reach one. */
static weft_cond cv;
static long tokens, taken, produced;
static _Atomic int producing;

static void *consumer(void *arg)
{
	(void)arg;
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	for (;;) {
		while (tokens == 0 && atomic_load(&producing)) {
			int rc = weft_cond_wait(&cv, 0.0005);
			ck_assert(rc == 0 || rc == WEFT_ETIMEDOUT);
		}
		if (tokens == 0)
			break;
		tokens--;
		taken++;
	}
	wt_ok(weft_cond_release(&cv));
	return NULL;
}

START_TEST(condition_timeouts_lose_nothing)
{
	weft_cond_init(&cv, NULL);
	tokens = taken = 0;
	produced = iterations() / 5;
	atomic_store(&producing, 1);
	wt_thread *t[THREADS];
	for (int i = 0; i < THREADS; i++)
		t[i] = wt_spawn(consumer, NULL);
	for (long i = 0; i < produced; i++) {
		wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
		tokens++;
		wt_ok(weft_cond_notify(&cv, 1));
		wt_ok(weft_cond_release(&cv));
	}
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	atomic_store(&producing, 0);
	wt_ok(weft_cond_notify_all(&cv));
	wt_ok(weft_cond_release(&cv));
	for (int i = 0; i < THREADS; i++)
		wt_join(t[i]);
	ck_assert_int_eq(taken, produced);
	ck_assert_uint_eq(st_word(cv.waiting), 0);
	/* signals may be left over by notifies whose waiter timed out first
	 * and took them; none may be owed to a waiter */
}
END_TEST

/* Semaphore hand-off with timed-out waiters: every unit released is
 * acquired exactly once. */
static _Atomic long units_taken;
static _Atomic int sem_done;

static void *sem_taker(void *arg)
{
	(void)arg;
	while (!atomic_load(&sem_done) || weft_sem_value(&sem) > 0) {
		int rc = weft_sem_acquire(&sem, 0.0005);
		if (rc == 0)
			atomic_fetch_add(&units_taken, 1);
		else
			wt_rc(rc, WEFT_ETIMEDOUT);
	}
	return NULL;
}

START_TEST(semaphore_timeouts_lose_nothing)
{
	weft_sem_init(&sem, 0, 0);
	atomic_store(&units_taken, 0);
	atomic_store(&sem_done, 0);
	long n = iterations() / 5;
	wt_thread *t[THREADS];
	for (int i = 0; i < THREADS; i++)
		t[i] = wt_spawn(sem_taker, NULL);
	long sum = 0;
	for (long i = 0; i < n; i++) {
		wt_ok(weft_sem_release(&sem, (int)(i % 3) + 1));
		sum += i % 3 + 1;
	}
	atomic_store(&sem_done, 1);
	for (int i = 0; i < THREADS; i++)
		wt_join(t[i]);
	ck_assert_int_eq(atomic_load(&units_taken), sum);
	ck_assert_int_eq(weft_sem_value(&sem), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_stress");
	TCase *tc = wt_tcase("stress", 300);
	tcase_add_test(tc, mutual_exclusion);
	tcase_add_test(tc, condition_timeouts_lose_nothing);
	tcase_add_test(tc, semaphore_timeouts_lose_nothing);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
