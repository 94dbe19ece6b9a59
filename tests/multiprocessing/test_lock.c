/* The robust process-shared lock: Lock semantics after CPython's
 * lock_tests.py (acquire/release, try-acquire, timeout, release of an
 * unlocked lock, release by another process) and recovery from an owner
 * that died holding it. */
#include "mp_test.h"

#include <sys/mman.h>
#include <weft/multiprocessing.h>

static weft_mp_lock *shared_lock(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	return m; /* zero-filled: a valid, free lock */
}

START_TEST(basics)
{
	weft_mp_lock l = WEFT_MP_LOCK_INIT;
	ck_assert(!weft_mp_lock_locked(&l));
	wt_ok(weft_mp_lock_acquire(&l, WEFT_FOREVER));
	ck_assert(weft_mp_lock_locked(&l));
	wt_rc(weft_mp_lock_acquire(&l, 0), WEFT_ETIMEDOUT);
	double t0 = weft_monotonic();
	wt_rc(weft_mp_lock_acquire(&l, 0.1), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.1 && dt < 0.1 + WT_SLACK);
	wt_ok(weft_mp_lock_release(&l));
	wt_rc(weft_mp_lock_release(&l), WEFT_EPERM);
	wt_rc(weft_mp_lock_acquire(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_mp_lock_acquire(&l, -3), WEFT_EINVAL);
	wt_rc(weft_mp_lock_release(NULL), WEFT_EINVAL);
	ck_assert(!weft_mp_lock_locked(NULL));
	/* a cancel scope ends a wait */
	wt_ok(weft_mp_lock_acquire(&l, 0));
	weft_cancel *tok;
	wt_ok(weft_cancel_new(&tok, NULL));
	weft_cancel_cancel(tok);
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, tok, WEFT_FOREVER));
	wt_rc(weft_mp_lock_acquire(&l, WEFT_FOREVER), WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&sc));
	weft_cancel_release(tok);
	wt_ok(weft_mp_lock_release(&l));
}
END_TEST

static weft_mp_lock *g_lock;

/* Takes the lock and dies holding it (or releases the lock it was given,
 * when the argument says so). */
static int t_hold_and_die(const void *in, size_t len, weft_bytes *out)
{
	if (len && *(const char *)in == 'r')
		return weft_mp_lock_release(g_lock) == 0 ? 0 : 50;
	if (weft_mp_lock_acquire(g_lock, 10))
		return 51;
	mpt_crash();
	return 52;
}

static int run_child(const char *arg)
{
	weft_process *p;
	wt_ok(weft_process_start(
	    &p, &(weft_process_opts){.target = t_hold_and_die, .arg = arg, .arg_len = strlen(arg)}));
	int code = 0;
	wt_ok(weft_process_join(p, 30));
	wt_ok(weft_process_exitcode(p, &code));
	weft_process_free(p);
	return code;
}

START_TEST(owner_dies)
{
	g_lock = shared_lock();
	ck_assert_int_eq(run_child("d"), -MPT_CRASH_SIG);
	ck_assert(weft_mp_lock_locked(g_lock));
	/* the next owner gets it, and is told */
	wt_rc(weft_mp_lock_acquire(g_lock, 10), WEFT_EOWNERDEAD);
	wt_ok(weft_mp_lock_release(g_lock));
	wt_ok(weft_mp_lock_acquire(g_lock, 0));
	/* another process may release it (Python's Lock) */
	ck_assert_int_eq(run_child("r"), 0);
	ck_assert(!weft_mp_lock_locked(g_lock));
	munmap(g_lock, 4096);
}
END_TEST

/* A waiter already asleep when the owner dies takes over too. */
START_TEST(owner_dies_while_waited_on)
{
	g_lock = shared_lock();
	int up[2], hold[2];
	ck_assert_int_eq(pipe2(up, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		weft_mp_lock_acquire(g_lock, 10);
		char c = 'x';
		if (write(up[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) < 0) /* hold until killed */
			;
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ck_assert(weft_mp_lock_locked(g_lock));
	/* a second child waits on the lock; it is killed while it waits */
	pid_t waiter = fork();
	if (waiter == 0)
		_exit(weft_mp_lock_acquire(g_lock, 30) == WEFT_EOWNERDEAD ? 0 : 1);
	double t0 = weft_monotonic();
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int st;
	ck_assert_int_eq(waitpid(waiter, &st, 0), waiter);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(weft_monotonic() - t0 < 1 + WT_SLACK);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	/* the waiter died holding it in turn */
	wt_rc(weft_mp_lock_acquire(g_lock, 10), WEFT_EOWNERDEAD);
	wt_ok(weft_mp_lock_release(g_lock));
	close(up[0]);
	close(up[1]);
	close(hold[0]);
	close(hold[1]);
	munmap(g_lock, 4096);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mp_lock");
	TCase *tc = wt_tcase("mp_lock", 60);
	tcase_add_test(tc, basics);
	tcase_add_test(tc, owner_dies);
	tcase_add_test(tc, owner_dies_while_waited_on);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
