/* Signals: a SIGALRM every millisecond (handler installed without
 * SA_RESTART, so every sleep is interrupted) changes no result: timed waits
 * still time out, never early, and waits that should succeed succeed. */
#include "sync_test.h"

#include <signal.h>
#include <sys/time.h>

static _Atomic long alarms;

static void on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(&alarms, 1);
}

static void storm(bool on)
{
	struct itimerval it = {{0, on ? 1000 : 0}, {0, on ? 1000 : 0}};
	if (on) {
		struct sigaction sa = {.sa_handler = on_alarm};
		sigaction(SIGALRM, &sa, NULL);
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Helper threads must not take the signals: the main thread waits. */
static wt_thread *spawn_quiet(void *(*fn)(void *), void *arg)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	wt_thread *t = wt_spawn(fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return t;
}

static weft_lock lk;
static weft_rlock rl;
static weft_cond cv;
static weft_sem sem;
static weft_event ev;
static weft_barrier bar;

#define TIMED(call, secs)                      \
	do {                                   \
		double t0_ = weft_monotonic(); \
		wt_rc(call, WEFT_ETIMEDOUT);   \
		st_took(st_since(t0_), secs);  \
	} while (0)

START_TEST(timed_waits_time_out_exactly)
{
	const double T = 0.1;
	weft_lock_init(&lk, 0);
	weft_rlock_init(&rl, 0);
	weft_cond_init(&cv, NULL);
	weft_sem_init(&sem, 0, 0);
	weft_event_init(&ev, 0);
	wt_ok(weft_lock_acquire(&lk, 0));
	atomic_store(&alarms, 0);
	storm(true);
	TIMED(weft_lock_acquire(&lk, T), T);
	TIMED(weft_sem_acquire(&sem, T), T);
	TIMED(weft_event_wait(&ev, T), T);
	wt_ok(weft_cond_acquire(&cv, 0));
	TIMED(weft_cond_wait(&cv, T), T);
	wt_ok(weft_cond_release(&cv));
	/* a barrier's timeout breaks it (Python), after the full timeout */
	wt_ok(weft_barrier_init(&bar, 2, NULL));
	double t0 = weft_monotonic();
	wt_rc(weft_barrier_wait(&bar, T, NULL), WEFT_EBROKEN);
	st_took(st_since(t0), T);
	storm(false);
	ck_assert_msg(atomic_load(&alarms) >= 100, "only %ld signals", atomic_load(&alarms));
	/* nothing changed */
	ck_assert(weft_lock_locked(&lk));
	ck_assert_int_eq(weft_sem_value(&sem), 0);
	ck_assert(!weft_event_is_set(&ev));
	ck_assert_uint_eq(st_word(cv.waiting), 0);
	wt_ok(weft_lock_release(&lk));
}
END_TEST

static pid_t main_tid;
static weft_event held;

/* Lets the main thread's wait be interrupted a few times, then waits until
 * it sleeps again. */
static void interrupted(void)
{
	st_blocked(main_tid);
	long a = atomic_load(&alarms);
	st_until(atomic_load(&alarms) >= a + 5);
	st_blocked(main_tid);
}

static void *release_all(void *arg)
{
	(void)arg;
	interrupted();
	wt_ok(weft_lock_release(&lk));
	interrupted();
	wt_ok(weft_sem_release(&sem, 1));
	interrupted();
	wt_ok(weft_event_set(&ev));
	st_until(st_word(cv.waiting) == 1);
	interrupted();
	wt_ok(weft_cond_acquire(&cv, WEFT_FOREVER));
	wt_ok(weft_cond_notify(&cv, 1));
	wt_ok(weft_cond_release(&cv));
	st_until(weft_barrier_n_waiting(&bar) == 1);
	interrupted();
	wt_ok(weft_barrier_wait(&bar, 30.0, NULL));
	return NULL;
}

static void *rlock_holder(void *arg)
{
	(void)arg;
	wt_ok(weft_rlock_acquire(&rl, 0));
	wt_ok(weft_event_set(&held));
	interrupted();
	wt_ok(weft_rlock_release(&rl));
	return NULL;
}

START_TEST(waits_still_succeed)
{
	weft_lock_init(&lk, 0);
	weft_rlock_init(&rl, 0);
	weft_cond_init(&cv, NULL);
	weft_sem_init(&sem, 0, 0);
	weft_event_init(&ev, 0);
	weft_event_init(&held, 0);
	weft_barrier_init(&bar, 2, NULL);
	main_tid = gettid();
	atomic_store(&alarms, 0);
	storm(true);
	wt_thread *h = spawn_quiet(rlock_holder, NULL);
	wt_ok(weft_event_wait(&held, 30.0));
	wt_ok(weft_rlock_acquire(&rl, 30.0));
	wt_join(h);
	wt_ok(weft_lock_acquire(&lk, 0));
	wt_thread *t = spawn_quiet(release_all, NULL);
	wt_ok(weft_lock_acquire(&lk, 30.0));
	wt_ok(weft_sem_acquire(&sem, 30.0));
	wt_ok(weft_event_wait(&ev, 30.0));
	wt_ok(weft_cond_acquire(&cv, 0));
	wt_ok(weft_cond_wait(&cv, 30.0));
	wt_ok(weft_cond_release(&cv));
	wt_ok(weft_barrier_wait(&bar, 30.0, NULL));
	storm(false);
	wt_join(t);
	ck_assert(atomic_load(&alarms) >= 30);
	wt_ok(weft_lock_release(&lk));
	wt_ok(weft_rlock_release(&rl));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_eintr");
	TCase *tc = wt_tcase("eintr", 60);
	tcase_add_test(tc, timed_waits_time_out_exactly);
	tcase_add_test(tc, waits_still_succeed);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
