/* weft_pool_map_fixed: Pool.map over fixed-size records (the C form of
 * p.map(f, numbers)). Results in order for any n and chunking, a wrong
 * output size, a failing call (the first failure is reported), a worker
 * crash (EBROKEN, the pool goes on), wait and per-call timeouts,
 * maxtasksperchild, concurrent maps, bad arguments; no zombies,
 * descriptors or /dev/shm entries left. */
#include "test_pool_tasks.h"

#include <pthread.h>

/* A long in, {x, x * x} out: in_size != out_size. */
typedef struct pair {
	long x, sq;
} pair;

static int f_pair(const void *in, size_t len, weft_bytes *out)
{
	if (len != sizeof(long))
		return weft_fail(WEFT_EINVAL, "want a long, got %zu bytes", len);
	long x = pt_long(in, len);
	pair r = {x, x * x};
	return weft_bytes_set(out, &r, sizeof r);
}
WEFT_TASK(f_pair, f_pair)

/* x -> x * x, no shared state (cheap: large maps). */
static int f_sq(const void *in, size_t len, weft_bytes *out)
{
	long x = pt_long(in, len) * pt_long(in, len);
	return weft_bytes_set(out, &x, sizeof x);
}
WEFT_TASK(f_sq, f_sq)

/* Four bytes instead of eight on input 13; nothing at all on 17. */
static int f_short(const void *in, size_t len, weft_bytes *out)
{
	long x = pt_long(in, len);
	if (x == 17)
		return 0;
	if (x == 13)
		return weft_bytes_set(out, &x, 4);
	return f_sq(in, len, out);
}
WEFT_TASK(f_short, f_short)

/* Fails on 5 and 9, squares the rest (counting calls). */
static int f_fail_5_9(const void *in, size_t len, weft_bytes *out)
{
	long x = pt_long(in, len);
	atomic_fetch_add(&pt->calls, 1);
	if (x == 5 || x == 9)
		return weft_fail(WEFT_ERANGE, "bad value %ld", x);
	return f_sq(in, len, out);
}
WEFT_TASK(f_fail_5_9, f_fail_5_9)

static int f_crash_on_3(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 3)
		mpt_crash();
	return f_sq(in, len, out);
}
WEFT_TASK(f_crash_on_3, f_crash_on_3)

static int f_kill_on_3(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 3)
		kill(getpid(), SIGKILL);
	return f_sq(in, len, out);
}
WEFT_TASK(f_kill_on_3, f_kill_on_3)

static int f_hang_on_3(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 3)
		for (;;)
			pause();
	return f_sq(in, len, out);
}
WEFT_TASK(f_hang_on_3, f_hang_on_3)

static int not_a_task(const void *in, size_t len, weft_bytes *out)
{
	return 0;
}

static long *longs(size_t n)
{
	long *xs = malloc((n ? n : 1) * sizeof *xs);
	ck_assert_ptr_nonnull(xs);
	for (size_t i = 0; i < n; i++)
		xs[i] = (long)i;
	return xs;
}

/* Maps f_sq over 0..n-1 with chunksize and checks every result. */
static void check_squares(weft_pool *p, size_t n, size_t chunksize)
{
	long *xs = longs(n), *ys = malloc((n ? n : 1) * sizeof *ys);
	ck_assert_ptr_nonnull(ys);
	for (size_t i = 0; i < n; i++)
		ys[i] = -1;
	int rc = weft_pool_map_fixed(p, f_sq, xs, sizeof *xs, n, ys, sizeof *ys,
	                             &(weft_pool_map_opts){.chunksize = chunksize}, 60);
	ck_assert_msg(rc == 0, "n %zu: %s: %s", n, weft_errname(rc), weft_last_failure_message());
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(ys[i] == (long)(i * i), "n %zu: ys[%zu] = %ld", n, i, ys[i]);
	free(xs);
	free(ys);
}

START_TEST(results_in_order)
{
	int fds = wt_open_fds();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	check_squares(p, 0, 0);
	check_squares(p, 1, 0);
	check_squares(p, 37, 5);    /* not a multiple of the chunk */
	check_squares(p, 37, 0);    /* Python's chunking */
	check_squares(p, 37, 1000); /* one chunk */
	check_squares(p, 100000, 0);
	check_squares(p, 1000, 1);
	/* in_size != out_size */
	enum { N = 101 };
	long *xs = longs(N);
	pair ys[N];
	wt_ok(weft_pool_map_fixed(p, f_pair, xs, sizeof *xs, N, ys, sizeof *ys, NULL, 30));
	for (long i = 0; i < N; i++)
		ck_assert(ys[i].x == i && ys[i].sq == i * i);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
	ck_assert_int_eq(mpt_shm_entries("weft"), 0);
}
END_TEST

/* Larger than the arena's first size and than what it keeps when idle:
 * it grows, and gives the memory back after. */
START_TEST(large_map_grows_arena)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	check_squares(p, 10, 0);
	check_squares(p, (size_t)1 << 20, 0); /* 16 MiB of records */
	check_squares(p, 1000, 0);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(wrong_output_size)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 30 };
	long *xs = longs(N), ys[N];
	wt_rc(weft_pool_map_fixed(p, f_short, xs, sizeof *xs, N, ys, sizeof *ys,
	                          &(weft_pool_map_opts){.chunksize = N}, 30),
	      WEFT_EINVAL);
	const char *m = weft_last_failure_message();
	ck_assert_msg(strstr(m, "item 13") && strstr(m, "4 bytes") && strstr(m, "f_short"), "%s", m);
	/* No output at all is a wrong size too. */
	wt_rc(weft_pool_map_fixed(p, f_short, xs + 14, sizeof *xs, 10, ys, sizeof *ys, NULL, 30),
	      WEFT_EINVAL);
	m = weft_last_failure_message();
	ck_assert_msg(strstr(m, "item 3") && strstr(m, "0 bytes"), "%s", m); /* 17 is record 3 */
	/* out_size smaller than what the task makes */
	wt_rc(
	    weft_pool_map_fixed(p, f_sq, xs, sizeof *xs, 4, ys, 4, &(weft_pool_map_opts){.chunksize = 4}, 30),
	    WEFT_EINVAL);
	ck_assert_msg(strstr(weft_last_failure_message(), "item 0"), "%s", weft_last_failure_message());
	check_squares(p, 100, 0);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(call_fails)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 20 };
	long *xs = longs(N), ys[N];
	/* One chunk: it stops at its first failure, as Python's does. */
	wt_rc(weft_pool_map_fixed(p, f_fail_5_9, xs, sizeof *xs, N, ys, sizeof *ys,
	                          &(weft_pool_map_opts){.chunksize = N}, 30),
	      WEFT_ERANGE);
	ck_assert_str_eq(weft_last_failure_message(), "item 5: bad value 5");
	ck_assert_int_eq(atomic_load(&pt->calls), 6);
	/* Several chunks: one of the two failures. */
	int rc = weft_pool_map_fixed(p, f_fail_5_9, xs, sizeof *xs, N, ys, sizeof *ys,
	                             &(weft_pool_map_opts){.chunksize = 3}, 30);
	wt_rc(rc, WEFT_ERANGE);
	const char *m = weft_last_failure_message();
	ck_assert_msg(!strcmp(m, "item 5: bad value 5") || !strcmp(m, "item 9: bad value 9"), "%s", m);
	check_squares(p, 50, 0);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static void crash_case(weft_task_fn fn, int sig)
{
	int fds = wt_open_fds();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 40 };
	long *xs = longs(N), ys[N];
	int rc = weft_pool_map_fixed(p, fn, xs, sizeof *xs, N, ys, sizeof *ys,
	                             &(weft_pool_map_opts){.chunksize = 4}, 30);
	wt_rc(rc, WEFT_EBROKEN);
	char want[32];
	snprintf(want, sizeof want, "signal %d", sig);
	ck_assert_msg(strstr(weft_last_failure_message(), want), "%s", weft_last_failure_message());
	/* It keeps serving, with a full set of workers. */
	check_squares(p, 1000, 0);
	size_t n;
	wt_ok(weft_pool_pids(p, NULL, 0, &n));
	ck_assert_uint_eq(n, 2);
	free(xs);
	wt_ok(weft_pool_close(p));
	wt_ok(weft_pool_join(p, 30));
	weft_pool_free(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
}

START_TEST(worker_crashes)
{
	crash_case(f_crash_on_3, MPT_CRASH_SIG);
}
END_TEST

START_TEST(worker_killed)
{
	crash_case(f_kill_on_3, SIGKILL);
}
END_TEST

START_TEST(wait_timeout)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 8 };
	long *xs = longs(N), ys[N];
	double t0 = weft_monotonic();
	wt_rc(weft_pool_map_fixed(p, t_gated, xs, sizeof *xs, N, ys, sizeof *ys, NULL, 0.2), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.2 && dt < 0.2 + WT_SLACK, "%f", dt);
	/* The calls go on; once they can, the pool serves the next map. */
	wt_ok(weft_event_set(&pt->gate));
	check_squares(p, 100, 0);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(per_call_timeout)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 8 };
	long *xs = longs(N), ys[N];
	double t0 = weft_monotonic();
	wt_rc(weft_pool_map_fixed(p, f_hang_on_3, xs, sizeof *xs, N, ys, sizeof *ys,
	                          &(weft_pool_map_opts){.chunksize = 2, .timeout = 0.2}, 30),
	      WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.2 && dt < 0.2 + WT_SLACK, "%f", dt);
	ck_assert_msg(strstr(weft_last_failure_message(), "timeout"), "%s", weft_last_failure_message());
	/* A timed map whose calls are quick: each call has the limit. */
	wt_ok(weft_pool_map_fixed(p, f_sq, xs, sizeof *xs, N, ys, sizeof *ys,
	                          &(weft_pool_map_opts){.timeout = 5}, 30));
	ck_assert_int_eq(ys[N - 1], (N - 1) * (N - 1));
	check_squares(p, 100, 0);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static int f_getpid(const void *in, size_t len, weft_bytes *out)
{
	pid_t p = getpid();
	return weft_bytes_set(out, &p, sizeof p);
}
WEFT_TASK(f_getpid, f_getpid)

/* A chunk is one task: with maxtasksperchild 1, every chunk runs in a
 * worker of its own. */
START_TEST(maxtasksperchild)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2, .maxtasksperchild = 1}));
	enum { N = 8 };
	long *xs = longs(N);
	pid_t pids[N];
	wt_ok(weft_pool_map_fixed(p, f_getpid, xs, sizeof *xs, N, pids, sizeof *pids,
	                          &(weft_pool_map_opts){.chunksize = 1}, 30));
	for (int i = 0; i < N; i++)
		for (int j = 0; j < i; j++)
			ck_assert_int_ne(pids[i], pids[j]);
	check_squares(p, 40, 5);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static void *map_thread(void *arg)
{
	weft_pool *p = arg;
	for (int r = 0; r < 5; r++)
		check_squares(p, 5000 + 1000 * (size_t)r, 0);
	return NULL;
}

/* Maps from several threads at once share the arena. */
START_TEST(concurrent_maps)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	wt_thread *t[3];
	for (int i = 0; i < 3; i++)
		t[i] = wt_spawn(map_thread, p);
	for (int i = 0; i < 3; i++)
		wt_join(t[i]);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static int gated_rc;

static void *gated_map(void *arg)
{
	long xs[2] = {1, 2}, ys[2];
	gated_rc = weft_pool_map_fixed(arg, t_gated, xs, sizeof *xs, 2, ys, sizeof *ys,
	                               &(weft_pool_map_opts){.chunksize = 1}, 60);
	return NULL;
}

START_TEST(closed_and_terminated)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 1}));
	long xs[4] = {1, 2, 3, 4}, ys[4];
	wt_ok(weft_pool_close(p));
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, sizeof *xs, 4, ys, sizeof *ys, NULL, 30), WEFT_ESHUTDOWN);
	wt_ok(weft_pool_join(p, 30));
	weft_pool_free(p);
	/* Terminated while a map waits: ECANCELED. */
	pt_setup();
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 1}));
	wt_thread *t = wt_spawn(gated_map, p);
	wt_ok(weft_sem_acquire(&pt->started, 30)); /* a call runs */
	wt_ok(weft_pool_terminate(p));
	wt_join(t);
	wt_rc(gated_rc, WEFT_ECANCELED);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(async_map)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	enum { N = 1000 };
	long *xs = longs(N), ys[N];
	weft_future *f;
	wt_ok(weft_pool_map_fixed_async(p, &f, f_sq, xs, sizeof *xs, N, ys, sizeof *ys, NULL));
	wt_ok(weft_future_result(f, 30, NULL));
	for (long i = 0; i < N; i++)
		ck_assert_int_eq(ys[i], i * i);
	weft_future_release(f);
	/* empty: done at once */
	wt_ok(weft_pool_map_fixed_async(p, &f, f_sq, NULL, sizeof *xs, 0, NULL, sizeof *ys, NULL));
	ck_assert(weft_future_done(f));
	wt_ok(weft_future_result(f, 0, NULL));
	weft_future_release(f);
	/* a failure ends the future with it */
	wt_ok(weft_pool_map_fixed_async(p, &f, f_fail_5_9, xs, sizeof *xs, 20, ys, sizeof *ys,
	                                &(weft_pool_map_opts){.chunksize = 20}));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_ERANGE);
	ck_assert_str_eq(weft_future_error_message(f), "item 5: bad value 5");
	weft_future_release(f);
	/* released before it is done: the pool finishes it alone */
	wt_ok(weft_pool_map_fixed_async(p, &f, f_sq, xs, sizeof *xs, N, ys, sizeof *ys, NULL));
	weft_future_release(f);
	/* a crash */
	wt_ok(weft_pool_map_fixed_async(p, &f, f_crash_on_3, xs, sizeof *xs, 8, ys, sizeof *ys, NULL));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_EBROKEN);
	weft_future_release(f);
	wt_rc(weft_pool_map_fixed_async(p, NULL, f_sq, xs, sizeof *xs, N, ys, sizeof *ys, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed_async(p, &f, f_sq, xs, sizeof *xs, N, NULL, sizeof *ys, NULL), WEFT_EINVAL);
	check_squares(p, 100, 0);
	free(xs);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

/* Cancelled while it waits in the queue: no call runs, out is untouched. */
START_TEST(async_cancel_pending)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 1}));
	long x = 2;
	weft_future *busy[2], *f;
	/* A new pool's window holds two calls (it assumes slow ones): the
	 * map stays queued while they wait for the gate. */
	for (int i = 0; i < 2; i++)
		wt_ok(weft_pool_apply_async(p, &busy[i], t_gated, &x, sizeof x, NULL));
	wt_ok(weft_sem_acquire(&pt->started, 30));
	long xs[4] = {1, 2, 3, 4}, ys[4] = {-1, -1, -1, -1};
	wt_ok(weft_pool_map_fixed_async(p, &f, t_square, xs, sizeof *xs, 4, ys, sizeof *ys, NULL));
	int calls = atomic_load(&pt->calls);
	wt_ok(weft_future_cancel(f));
	wt_ok(weft_event_set(&pt->gate));
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pt_result_long(busy[i]), 4);
		weft_future_release(busy[i]);
	}
	ck_assert(weft_future_cancelled(f));
	weft_future_release(f);
	check_squares(p, 10, 0);                              /* runs after the cancelled map's turn */
	ck_assert_int_eq(atomic_load(&pt->calls), calls + 2); /* the two applies only */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ys[i], -1);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(bad_arguments)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 1}));
	long xs[4] = {1, 2, 3, 4}, ys[4];
	size_t L = sizeof(long);
	wt_rc(weft_pool_map_fixed(NULL, f_sq, xs, L, 4, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, NULL, xs, L, 4, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, NULL, L, 4, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, 4, NULL, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, 0, 4, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, 4, ys, 0, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, SIZE_MAX / 4, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, SIZE_MAX / 2, 3, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, 3, ys, SIZE_MAX / 2, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, not_a_task, xs, L, 4, ys, L, NULL, 30), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, 4, ys, L, NULL, -2), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, 4, ys, L, NULL, 0.0 / 0.0), WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(p, f_sq, xs, L, 4, ys, L, &(weft_pool_map_opts){.timeout = -1}, 30),
	      WEFT_EINVAL);
	wt_rc(weft_pool_map_fixed(
	          p, f_sq, xs, L, 4, ys, L,
	          &(weft_pool_map_opts){.error_callback = (void (*)(int, const char *, void *))abort}, 30),
	      WEFT_EINVAL);
	/* n == 0: in and out may be NULL */
	wt_ok(weft_pool_map_fixed(p, f_sq, NULL, L, 0, NULL, L, NULL, 30));
	check_squares(p, 4, 0);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_fixed");
	TCase *tc = wt_tcase("pool_fixed", 90);
	tcase_add_test(tc, results_in_order);
	tcase_add_test(tc, large_map_grows_arena);
	tcase_add_test(tc, wrong_output_size);
	tcase_add_test(tc, call_fails);
	tcase_add_test(tc, worker_crashes);
	tcase_add_test(tc, worker_killed);
	tcase_add_test(tc, wait_timeout);
	tcase_add_test(tc, per_call_timeout);
	tcase_add_test(tc, maxtasksperchild);
	tcase_add_test(tc, concurrent_maps);
	tcase_add_test(tc, closed_and_terminated);
	tcase_add_test(tc, async_map);
	tcase_add_test(tc, async_cancel_pending);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
