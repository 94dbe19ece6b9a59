/* Barrier: CPython's BarrierTests (lock_tests.py), made deterministic,
 * plus a failing action, the unlocked action, and bad input. */
#include "sync_test.h"

#include <math.h>

enum { N = 5 };

static weft_barrier bar, bar2;
static _Atomic int r0, r1, r2, r3, idx_sum, action_runs, action_done;

/* Runs f in N-1 threads and the calling one. */
static void run_threads(void *(*f)(void *))
{
	st_bunch b;
	st_bunch_start(&b, N - 1, f, NULL);
	f(NULL);
	st_bunch_join(&b);
}

static void *multipass(void *arg)
{
	(void)arg;
	long passes = atomic_load(&r3);
	for (long i = 0; i < passes; i++) {
		atomic_fetch_add(&r0, 1);
		ck_assert_int_eq(atomic_load(&r1), i * N);
		wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, NULL));
		atomic_fetch_add(&r1, 1);
		ck_assert_int_eq(atomic_load(&r0), (i + 1) * N);
		wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, NULL));
	}
	ck_assert_int_eq(weft_barrier_n_waiting(&bar), 0);
	ck_assert(!weft_barrier_broken(&bar));
	return NULL;
}

START_TEST(passes_in_lockstep)
{
	for (int passes = 1; passes <= 10; passes += 9) {
		wt_ok(weft_barrier_init(&bar, N, &(weft_barrier_opts){.timeout = 10.0}));
		ck_assert_int_eq(weft_barrier_parties(&bar), N);
		atomic_store(&r0, 0);
		atomic_store(&r1, 0);
		atomic_store(&r3, passes);
		run_threads(multipass);
	}
}
END_TEST

static void *wait_index(void *arg)
{
	(void)arg;
	int i = -1;
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, &i));
	ck_assert(i >= 0 && i < N);
	atomic_fetch_add(&idx_sum, 1 << (4 * i)); /* one nibble per index */
	return NULL;
}

START_TEST(indices_are_distinct)
{
	weft_barrier b = WEFT_BARRIER_INIT(N);
	bar = b;
	for (int round = 0; round < 20; round++) {
		atomic_store(&idx_sum, 0);
		run_threads(wait_index);
		ck_assert_int_eq(atomic_load(&idx_sum), 0x11111); /* each of 0..4 once */
	}
}
END_TEST

static int action(void *arg)
{
	ck_assert_ptr_eq(arg, &bar);
	/* The barrier's internal lock is not held: its getters work. */
	ck_assert_int_eq(weft_barrier_n_waiting(&bar), N);
	atomic_fetch_add(&action_runs, 1);
	atomic_store(&action_done, 1);
	return 0;
}

static void *wait_after_action(void *arg)
{
	(void)arg;
	int i;
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, &i));
	ck_assert_int_eq(atomic_load(&action_done), 1); /* ran before anyone left */
	ck_assert_int_eq(atomic_load(&action_runs), 1);
	return NULL;
}

START_TEST(action_runs_once_before_release)
{
	wt_ok(weft_barrier_init(&bar, N, &(weft_barrier_opts){.action = action, .arg = &bar}));
	atomic_store(&action_runs, 0);
	atomic_store(&action_done, 0);
	run_threads(wait_after_action);
	ck_assert_int_eq(atomic_load(&action_runs), 1);
}
END_TEST

static int failing_action(void *arg)
{
	(void)arg;
	atomic_fetch_add(&action_runs, 1);
	return WEFT_EUSER - 7;
}

static void *wait_failing(void *arg)
{
	(void)arg;
	int rc = weft_barrier_wait(&bar, WEFT_FOREVER, NULL);
	if (rc == WEFT_EUSER - 7)
		atomic_fetch_add(&r0, 1); /* the one that ran the action */
	else if (rc == WEFT_EBROKEN)
		atomic_fetch_add(&r1, 1);
	else
		ck_abort_msg("unexpected %s", weft_errname(rc));
	return NULL;
}

START_TEST(failing_action_breaks)
{
	wt_ok(weft_barrier_init(&bar, N, &(weft_barrier_opts){.action = failing_action}));
	atomic_store(&action_runs, 0);
	atomic_store(&r0, 0);
	atomic_store(&r1, 0);
	run_threads(wait_failing);
	ck_assert_int_eq(atomic_load(&r0), 1);
	ck_assert_int_eq(atomic_load(&r1), N - 1);
	ck_assert(weft_barrier_broken(&bar));
	wt_rc(weft_barrier_wait(&bar, 0, NULL), WEFT_EBROKEN);
	wt_ok(weft_barrier_reset(&bar));
	ck_assert(!weft_barrier_broken(&bar));
	ck_assert_int_eq(atomic_load(&action_runs), 1);
}
END_TEST

static void *abort_middle(void *arg)
{
	(void)arg;
	int i;
	int rc = weft_barrier_wait(&bar, WEFT_FOREVER, &i);
	wt_ok(rc);
	if (i == N / 2) {
		/* Python raises here and calls abort(); do it once the others
		 * wait again, so that they are the ones woken by it. */
		st_until(weft_barrier_n_waiting(&bar) == N - 1);
		wt_ok(weft_barrier_abort(&bar));
		return NULL;
	}
	rc = weft_barrier_wait(&bar, WEFT_FOREVER, NULL);
	if (rc == 0)
		atomic_fetch_add(&r1, 1);
	else if (rc == WEFT_EBROKEN)
		atomic_fetch_add(&r2, 1);
	return NULL;
}

START_TEST(abort_breaks)
{
	wt_ok(weft_barrier_init(&bar, N, NULL));
	atomic_store(&r1, 0);
	atomic_store(&r2, 0);
	run_threads(abort_middle);
	ck_assert_int_eq(atomic_load(&r1), 0);
	ck_assert_int_eq(atomic_load(&r2), N - 1);
	ck_assert(weft_barrier_broken(&bar));
	ck_assert_int_eq(weft_barrier_n_waiting(&bar), 0);
	wt_rc(weft_barrier_wait(&bar, WEFT_FOREVER, NULL), WEFT_EBROKEN);
}
END_TEST

static void *reset_middle(void *arg)
{
	(void)arg;
	int i;
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, &i));
	if (i == N / 2) {
		st_until(weft_barrier_n_waiting(&bar) == N - 1);
		wt_ok(weft_barrier_reset(&bar));
	} else {
		int rc = weft_barrier_wait(&bar, WEFT_FOREVER, NULL);
		if (rc == 0)
			atomic_fetch_add(&r1, 1);
		else if (rc == WEFT_EBROKEN)
			atomic_fetch_add(&r2, 1);
	}
	/* Now, pass the barrier again. */
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, NULL));
	atomic_fetch_add(&r3, 1);
	return NULL;
}

START_TEST(reset_frees_waiters)
{
	wt_ok(weft_barrier_init(&bar, N, NULL));
	atomic_store(&r1, 0);
	atomic_store(&r2, 0);
	atomic_store(&r3, 0);
	run_threads(reset_middle);
	ck_assert_int_eq(atomic_load(&r1), 0);
	ck_assert_int_eq(atomic_load(&r2), N - 1);
	ck_assert_int_eq(atomic_load(&r3), N);
	ck_assert(!weft_barrier_broken(&bar));
}
END_TEST

static void *abort_then_reset(void *arg)
{
	(void)arg;
	int i;
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, &i));
	if (i == N / 2) {
		st_until(weft_barrier_n_waiting(&bar) == N - 1);
		wt_ok(weft_barrier_abort(&bar));
	} else {
		int rc = weft_barrier_wait(&bar, WEFT_FOREVER, NULL);
		if (rc == 0)
			atomic_fetch_add(&r1, 1);
		else if (rc == WEFT_EBROKEN)
			atomic_fetch_add(&r2, 1);
	}
	/* Everyone has left before the reset, no one enters before it. */
	wt_ok(weft_barrier_wait(&bar2, WEFT_FOREVER, &i));
	if (i == N / 2)
		wt_ok(weft_barrier_reset(&bar));
	wt_ok(weft_barrier_wait(&bar2, WEFT_FOREVER, NULL));
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, NULL));
	atomic_fetch_add(&r3, 1);
	return NULL;
}

START_TEST(abort_and_reset)
{
	wt_ok(weft_barrier_init(&bar, N, NULL));
	wt_ok(weft_barrier_init(&bar2, N, NULL));
	atomic_store(&r1, 0);
	atomic_store(&r2, 0);
	atomic_store(&r3, 0);
	run_threads(abort_then_reset);
	ck_assert_int_eq(atomic_load(&r1), 0);
	ck_assert_int_eq(atomic_load(&r2), N - 1);
	ck_assert_int_eq(atomic_load(&r3), N);
}
END_TEST

static void *late_one(void *arg)
{
	double timeout = arg ? *(double *)arg : WEFT_FOREVER;
	int i;
	wt_ok(weft_barrier_wait(&bar, WEFT_FOREVER, &i));
	if (i == N / 2) {
		/* One thread is late: the others' timeout breaks the barrier. */
		st_until(weft_barrier_broken(&bar));
		wt_rc(weft_barrier_wait(&bar, timeout, NULL), WEFT_EBROKEN);
		return NULL;
	}
	double t0 = weft_monotonic();
	wt_rc(weft_barrier_wait(&bar, timeout, NULL), WEFT_EBROKEN);
	ck_assert(st_since(t0) < 0.1 + WT_SLACK);
	return NULL;
}

static double t_short = 0.1;

static void *late_one_short(void *arg)
{
	(void)arg;
	return late_one(&t_short);
}

START_TEST(timeout_breaks)
{
	wt_ok(weft_barrier_init(&bar, N, &(weft_barrier_opts){.timeout = 10.0}));
	run_threads(late_one_short);
	ck_assert(weft_barrier_broken(&bar));
	/* the default timeout, taken when WEFT_FOREVER is passed */
	wt_ok(weft_barrier_init(&bar, N, &(weft_barrier_opts){.timeout = 0.1}));
	run_threads(late_one);
	ck_assert(weft_barrier_broken(&bar));
	/* A lone waiter times out no earlier than asked. */
	wt_ok(weft_barrier_init(&bar, 2, NULL));
	double t0 = weft_monotonic();
	wt_rc(weft_barrier_wait(&bar, 0.1, NULL), WEFT_EBROKEN);
	st_took(st_since(t0), 0.1);
	wt_ok(weft_barrier_init(&bar, 2, &(weft_barrier_opts){.timeout = 0.05}));
	t0 = weft_monotonic();
	wt_rc(weft_barrier_wait(&bar, WEFT_FOREVER, NULL), WEFT_EBROKEN);
	st_took(st_since(t0), 0.05);
	/* timeout 0: breaks at once unless last */
	wt_ok(weft_barrier_reset(&bar));
	wt_rc(weft_barrier_wait(&bar, 0, NULL), WEFT_EBROKEN);
}
END_TEST

START_TEST(single_party)
{
	weft_barrier b = WEFT_BARRIER_INIT(1);
	int i = -1;
	wt_ok(weft_barrier_wait(&b, WEFT_FOREVER, &i));
	ck_assert_int_eq(i, 0);
	wt_ok(weft_barrier_wait(&b, 0, &i));
	ck_assert_int_eq(i, 0);
	ck_assert_int_eq(weft_barrier_n_waiting(&b), 0);
}
END_TEST

START_TEST(bad_input)
{
	double bad[] = {-0.5, -INFINITY, INFINITY, NAN};
	weft_barrier z;
	memset(&z, 0, sizeof z);
	wt_rc(weft_barrier_wait(&z, 0, NULL), WEFT_EINVAL); /* no parties yet */
	wt_rc(weft_barrier_reset(&z), WEFT_EINVAL);
	wt_rc(weft_barrier_abort(&z), WEFT_EINVAL);
	ck_assert(!weft_barrier_broken(&z));
	ck_assert_int_eq(weft_barrier_n_waiting(&z), 0);
	ck_assert_int_eq(weft_barrier_parties(&z), 0);
	wt_rc(weft_barrier_init(NULL, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_barrier_init(&z, 0, NULL), WEFT_EINVAL);
	wt_rc(weft_barrier_init(&z, -3, NULL), WEFT_EINVAL);
	wt_rc(weft_barrier_init(&z, 2, &(weft_barrier_opts){.flags = 4}), WEFT_EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		wt_rc(weft_barrier_init(&z, 2, &(weft_barrier_opts){.timeout = bad[i]}), WEFT_EINVAL);
	wt_rc(weft_barrier_wait(NULL, 0, NULL), WEFT_EINVAL);
	wt_rc(weft_barrier_reset(NULL), WEFT_EINVAL);
	wt_rc(weft_barrier_abort(NULL), WEFT_EINVAL);
	ck_assert(!weft_barrier_broken(NULL));
	wt_rc(weft_barrier_n_waiting(NULL), WEFT_EINVAL);
	wt_rc(weft_barrier_parties(NULL), WEFT_EINVAL);
	wt_ok(weft_barrier_init(&z, 1, &(weft_barrier_opts){.timeout = WEFT_FOREVER, .flags = WEFT_PSHARED}));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		wt_rc(weft_barrier_wait(&z, bad[i], NULL), WEFT_EINVAL);
	/* unchanged and usable */
	ck_assert(!weft_barrier_broken(&z));
	wt_ok(weft_barrier_wait(&z, 0, NULL));
	weft_barrier p = WEFT_BARRIER_INIT_PSHARED(1);
	wt_ok(weft_barrier_wait(&p, 0, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_barrier");
	TCase *tc = wt_tcase("barrier", 60);
	tcase_add_test(tc, passes_in_lockstep);
	tcase_add_test(tc, indices_are_distinct);
	tcase_add_test(tc, action_runs_once_before_release);
	tcase_add_test(tc, failing_action_breaks);
	tcase_add_test(tc, abort_breaks);
	tcase_add_test(tc, reset_frees_waiters);
	tcase_add_test(tc, abort_and_reset);
	tcase_add_test(tc, timeout_breaks);
	tcase_add_test(tc, single_party);
	tcase_add_test(tc, bad_input);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
