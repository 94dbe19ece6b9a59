/* Pool beyond Python: a crashing or killed worker fails only the call it
 * was running (Python's Pool hangs), per-call timeouts, a failing
 * initializer breaks the pool once (Python respawns forever), no zombies,
 * descriptors or /dev/shm entries left. */
#include "test_pool_tasks.h"

#include <poll.h>
#include <sys/syscall.h>

/* Crashes on input 3 (through the worker's handler), squares the rest. */
static int t_crash_on_3(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 3)
		raise(MPT_CRASH_SIG);
	return t_square(in, len, out);
}
WEFT_TASK(t_crash_on_3, t_crash_on_3)

/* Killed (no handler can report) on input 3. */
static int t_kill_on_3(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 3)
		kill(getpid(), SIGKILL);
	return t_square(in, len, out);
}
WEFT_TASK(t_kill_on_3, t_kill_on_3)

/* Hangs on input 3, squares the rest. */
static int t_hang_on_3(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 3)
		for (;;)
			pause();
	return t_square(in, len, out);
}
WEFT_TASK(t_hang_on_3, t_hang_on_3)

static void apply_crash(weft_task_fn crash, int sig)
{
	pt_setup();
	int fds = wt_open_fds();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	long x = 5;
	weft_future *ok, *bad;
	wt_ok(weft_pool_apply_async(p, &bad, crash, &x, sizeof x, NULL));
	wt_ok(weft_pool_apply_async(p, &ok, t_square, &x, sizeof x, NULL));
	wt_rc(weft_future_result(bad, 30, NULL), WEFT_EBROKEN);
	char want[32];
	snprintf(want, sizeof want, "signal %d", sig);
	ck_assert_msg(strstr(weft_future_error_message(bad), want), "%s", weft_future_error_message(bad));
	ck_assert_int_eq(pt_result_long(ok), 25);
	weft_future_release(ok);
	weft_future_release(bad);
	/* it keeps serving, with a full set of workers */
	weft_bytes *in = pt_inputs(40), out[40];
	wt_ok(weft_pool_map(p, t_square, in, 40, out, NULL, 30));
	for (long i = 0; i < 40; i++) {
		ck_assert_int_eq(pt_long(out[i].data, out[i].len), i * i);
		weft_bytes_free(&out[i]);
	}
	pt_inputs_free(in, 40);
	size_t n;
	wt_ok(weft_pool_pids(p, NULL, 0, &n));
	ck_assert_uint_eq(n, 2);
	wt_ok(weft_pool_close(p));
	wt_ok(weft_pool_join(p, 30));
	weft_pool_free(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
	ck_assert_int_eq(mpt_shm_entries("weft"), 0);
}

START_TEST(crash_segv)
{
	apply_crash(t_segv, MPT_CRASH_SIG);
}
END_TEST

START_TEST(crash_abort)
{
	apply_crash(t_abort, SIGABRT);
}
END_TEST

START_TEST(crash_sigkill)
{
	apply_crash(t_killself, SIGKILL);
}
END_TEST

/* map and imap over a crash: that item fails, every other one arrives. */
static void map_crash(weft_task_fn fn, int sig, size_t chunksize)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 10 };
	weft_bytes *in = pt_inputs(N), out[N];
	wt_rc(weft_pool_map(p, fn, in, N, out, &(weft_pool_map_opts){.chunksize = chunksize}, 30),
	      WEFT_EBROKEN);
	char want[32];
	snprintf(want, sizeof want, "signal %d", sig);
	ck_assert_msg(strstr(weft_last_failure_message(), want), "%s", weft_last_failure_message());
	weft_pool_iter *it;
	wt_ok(weft_pool_imap(p, &it, fn, in, N, &(weft_pool_map_opts){.chunksize = chunksize}));
	weft_bytes r = {0};
	for (long i = 0; i < N; i++) {
		int rc = weft_pool_iter_next(it, &r, NULL, 30);
		if (i == 3) {
			wt_rc(rc, WEFT_EBROKEN);
		} else {
			wt_ok(rc);
			ck_assert_int_eq(pt_long(r.data, r.len), i * i);
		}
	}
	weft_bytes_free(&r);
	weft_pool_iter_free(it);
	pt_inputs_free(in, N);
	weft_pool_free(p);
	mpt_no_children();
}

START_TEST(map_crash_chunked)
{
	map_crash(t_crash_on_3, MPT_CRASH_SIG, 5);
}
END_TEST

START_TEST(map_sigkill_chunked)
{
	map_crash(t_kill_on_3, SIGKILL, 5);
}
END_TEST

START_TEST(map_crash_single)
{
	map_crash(t_crash_on_3, MPT_CRASH_SIG, 1);
}
END_TEST

START_TEST(per_call_timeout)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	/* apply_async with its own limit */
	long x = 1;
	weft_future *hung, *ok;
	double t0 = weft_monotonic();
	wt_ok(weft_pool_apply_async(p, &hung, t_hang, &x, sizeof x, &(weft_pool_apply_opts){.timeout = 0.3}));
	wt_ok(weft_pool_apply_async(p, &ok, t_square, &x, sizeof x, NULL));
	wt_rc(weft_future_result(hung, 30, NULL), WEFT_ETIMEDOUT);
	ck_assert(weft_future_done(hung));
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 0.3 + WT_SLACK, "%f", dt);
	ck_assert_msg(strstr(weft_future_error_message(hung), "t_hang"), "%s",
	              weft_future_error_message(hung));
	ck_assert_int_eq(pt_result_long(ok), 1);
	weft_future_release(hung);
	weft_future_release(ok);
	/* map with a per-call limit: only the hanging item fails */
	enum { N = 8 };
	weft_bytes *in = pt_inputs(N);
	weft_pool_iter *it;
	wt_ok(weft_pool_imap(p, &it, t_hang_on_3, in, N,
	                     &(weft_pool_map_opts){.chunksize = 4, .timeout = 0.2}));
	weft_bytes r = {0};
	for (long i = 0; i < N; i++) {
		int rc = weft_pool_iter_next(it, &r, NULL, 30);
		if (i == 3) {
			wt_rc(rc, WEFT_ETIMEDOUT);
			ck_assert_msg(strstr(weft_pool_iter_error_message(it), "timeout"), "%s",
			              weft_pool_iter_error_message(it));
		} else {
			wt_ok(rc);
			ck_assert_int_eq(pt_long(r.data, r.len), i * i);
		}
	}
	weft_bytes_free(&r);
	weft_pool_iter_free(it);
	ck_assert_int_eq(atomic_load(&pt->calls), 1 + N - 1); /* none ran twice */
	pt_inputs_free(in, N);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(pool_task_timeout_option)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 1, .task_timeout = 0.2}));
	long x = 6;
	wt_rc(weft_pool_apply(p, t_hang, &x, sizeof x, NULL, 30), WEFT_ETIMEDOUT);
	ck_assert_msg(strstr(weft_last_failure_message(), "timeout of 0.2 s"), "%s",
	              weft_last_failure_message());
	weft_bytes out = {0};
	wt_ok(weft_pool_apply(p, t_square, &x, sizeof x, &out, 30));
	ck_assert_int_eq(pt_long(out.data, out.len), 36);
	weft_bytes_free(&out);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(initializer_fails_once)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2, .initializer = init_fail, .initarg = "x"}));
	long x = 2;
	int rc = weft_pool_apply(p, t_square, &x, sizeof x, NULL, 30);
	wt_rc(rc, WEFT_EBROKEN);
	/* broken for good: no worker is started again */
	wt_rc(weft_pool_apply(p, t_square, &x, sizeof x, NULL, 30), WEFT_EBROKEN);
	ck_assert_int_le(atomic_load(&pt->inits), 2);
	wt_ok(weft_pool_close(p));
	wt_ok(weft_pool_join(p, 30));
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static int init_crash(void *arg)
{
	atomic_fetch_add(&pt->inits, 1);
	mpt_crash();
	return 0;
}

/* An initializer that crashes: a few tries, then the pool is broken. */
START_TEST(initializer_crashes)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2, .initializer = init_crash}));
	long x = 2;
	wt_rc(weft_pool_apply(p, t_square, &x, sizeof x, NULL, 30), WEFT_EBROKEN);
	ck_assert_msg(strstr(weft_last_failure_message(), "initializer"), "%s", weft_last_failure_message());
	wt_rc(weft_pool_apply(p, t_square, &x, sizeof x, NULL, 30), WEFT_EBROKEN);
	ck_assert_int_le(atomic_load(&pt->inits), 4);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

/* A worker killed from outside while idle is replaced; nothing fails. */
START_TEST(idle_worker_killed)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	pid_t pids[2];
	size_t n;
	wt_ok(weft_pool_pids(p, pids, 2, &n));
	ck_assert_uint_eq(n, 2);
	/* Wait until it is dead (not only signalled): a call sent to it
	 * while it was still alive would be its running call, and fail. */
	int pfd = (int)syscall(SYS_pidfd_open, pids[0], 0);
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
	struct pollfd pl = {.fd = pfd, .events = POLLIN};
	ck_assert_int_eq(poll(&pl, 1, 30000), 1);
	close(pfd);
	weft_bytes *in = pt_inputs(20), out[20];
	int rc = weft_pool_map(p, t_square, in, 20, out, NULL, 30);
	ck_assert_msg(rc == 0, "%s: %s", weft_errname(rc), weft_last_failure_message());
	for (int i = 0; i < 20; i++)
		weft_bytes_free(&out[i]);
	pt_inputs_free(in, 20);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_crash");
	TCase *tc = wt_tcase("pool_crash", 60);
	tcase_add_test(tc, crash_segv);
	tcase_add_test(tc, crash_abort);
	tcase_add_test(tc, crash_sigkill);
	tcase_add_test(tc, map_crash_chunked);
	tcase_add_test(tc, map_sigkill_chunked);
	tcase_add_test(tc, map_crash_single);
	tcase_add_test(tc, per_call_timeout);
	tcase_add_test(tc, pool_task_timeout_option);
	tcase_add_test(tc, initializer_fails_once);
	tcase_add_test(tc, initializer_crashes);
	tcase_add_test(tc, idle_worker_killed);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
