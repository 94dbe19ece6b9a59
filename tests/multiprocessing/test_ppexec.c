/* ProcessPoolExecutor: after CPython's test_concurrent_futures (executor.py
 * ExecutorTest: test_submit, test_map, test_map_exception, test_map_timeout,
 * test_max_workers_negative, test_free_reference; test_process_pool.py:
 * test_map_chunksize, test_traceback (the failure's message),
 * test_saturation, test_max_tasks_per_child; test_shutdown.py:
 * test_run_after_shutdown, test_cancel_futures, test_hang_issue12364;
 * test_init.py: initializer success and failure) plus weft's own: a crash
 * fails one call, per-call timeouts, no zombies or descriptors left. */
#include "test_pool_tasks.h"

static weft_executor *new_pool(int workers)
{
	weft_executor *ex;
	wt_ok(weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_workers = workers}));
	return ex;
}

static weft_future *submit_long(weft_executor *ex, weft_task_fn fn, long x)
{
	weft_future *f;
	wt_ok(weft_executor_submit_task(ex, &f, fn, &x, sizeof x));
	return f;
}

START_TEST(submit_and_result)
{
	pt_setup();
	int fds = wt_open_fds();
	weft_executor *ex = new_pool(2);
	ck_assert_int_eq(weft_process_pool_max_workers(ex), 2);
	weft_future *f = submit_long(ex, t_square, 7);
	ck_assert_int_eq(pt_result_long(f), 49);
	ck_assert(weft_future_done(f));
	weft_future_release(f);

	enum { N = 200 };
	weft_future *fs[N];
	for (long i = 0; i < N; i++)
		fs[i] = submit_long(ex, t_square, i);
	for (long i = 0; i < N; i++) {
		ck_assert_int_eq(pt_result_long(fs[i]), i * i);
		weft_future_release(fs[i]);
	}
	size_t n = 0;
	pid_t pids[4];
	wt_ok(weft_process_pool_pids(ex, pids, 4, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_int_ne(pids[0], pids[1]);
	weft_executor_free(ex);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
	ck_assert_int_eq(atomic_load(&pt->calls), N + 1);
}
END_TEST

START_TEST(map_and_chunksize)
{
	pt_setup();
	weft_executor *ex = new_pool(2);
	enum { N = 40 };
	weft_bytes *in = pt_inputs(N);
	size_t chunks[] = {0, 1, 6, 40, 50};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		weft_map *m;
		wt_ok(weft_executor_map_task(ex, &m, t_square, in, N,
		                             &(weft_map_opts){.chunksize = chunks[c]}));
		weft_bytes out = {0};
		for (long i = 0; i < N; i++) {
			wt_ok(weft_map_next_bytes(m, &out));
			ck_assert_int_eq(pt_long(out.data, out.len), i * i);
		}
		wt_rc(weft_map_next_bytes(m, &out), WEFT_EEMPTY);
		weft_bytes_free(&out);
		weft_map_free(m);
	}
	/* A failing item in a chunk fails alone; the others go on. */
	weft_map *m;
	wt_ok(weft_executor_map_task(ex, &m, t_fail, in, 3, &(weft_map_opts){.chunksize = 3}));
	for (int i = 0; i < 3; i++) {
		wt_rc(weft_map_next_bytes(m, NULL), WEFT_ERANGE);
		char want[32];
		snprintf(want, sizeof want, "bad value %d", i);
		ck_assert_str_eq(weft_map_error_message(m), want);
	}
	wt_rc(weft_map_next_bytes(m, NULL), WEFT_EEMPTY);
	weft_map_free(m);
	pt_inputs_free(in, N);
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

START_TEST(failure_message)
{
	pt_setup();
	weft_executor *ex = new_pool(1);
	weft_future *f = submit_long(ex, t_fail, 123);
	wt_rc(weft_future_result_bytes(f, 30, NULL, NULL), WEFT_ERANGE);
	ck_assert_str_eq(weft_future_error_message(f), "bad value 123");
	int code = 0;
	wt_ok(weft_future_exception(f, 0, &code));
	ck_assert_int_eq(code, WEFT_ERANGE);
	weft_future_release(f);
	/* a task that rejects its input */
	wt_ok(weft_executor_submit_task(ex, &f, t_square, "abc", 3));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_future_error_message(f), "want a long, got 3 bytes");
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

static int t_unregistered(const void *in, size_t len, weft_bytes *out)
{
	return 0;
}

static void *in_process(void *arg)
{
	return arg;
}

START_TEST(bad_arguments)
{
	weft_executor *ex;
	wt_rc(weft_process_pool_new(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_workers = -1}), WEFT_EINVAL);
	wt_rc(weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_tasks_per_child = -1}), WEFT_EINVAL);
	wt_rc(weft_process_pool_new(&ex, &(weft_process_pool_opts){.task_timeout = -1}), WEFT_EINVAL);
	wt_rc(weft_process_pool_new(&ex, &(weft_process_pool_opts){.task_timeout = NAN}), WEFT_EINVAL);
	wt_ok(weft_process_pool_new(&ex, NULL));
	ck_assert_int_eq(weft_process_pool_max_workers(ex), weft_mp_cpu_count());
	ck_assert_int_eq(weft_process_pool_max_workers(NULL), 0);
	weft_future *f;
	wt_rc(weft_executor_submit(ex, &f, in_process, NULL), WEFT_ENOTSUP);
	wt_rc(weft_executor_submit_task(ex, &f, t_unregistered, NULL, 0), WEFT_EINVAL);
	wt_rc(weft_executor_submit_task(ex, &f, NULL, NULL, 0), WEFT_EINVAL);
	wt_rc(weft_executor_submit_task(ex, &f, t_square, NULL, 3), WEFT_EINVAL);
	size_t n;
	pid_t pid;
	wt_rc(weft_process_pool_pids(NULL, &pid, 1, &n), WEFT_EINVAL);
	wt_rc(weft_process_pool_pids(ex, NULL, 1, &n), WEFT_EINVAL);
	wt_rc(weft_process_pool_pids(ex, &pid, 1, NULL), WEFT_EINVAL);
	wt_ok(weft_process_pool_pids(ex, NULL, 0, &n));
	ck_assert_uint_eq(n, 0); /* nothing submitted: no worker started */
	weft_executor *tp;
	wt_ok(weft_thread_pool_new(&tp, NULL));
	wt_rc(weft_process_pool_pids(tp, &pid, 1, &n), WEFT_EINVAL);
	ck_assert_int_eq(weft_process_pool_max_workers(tp), 0);
	weft_executor_free(tp);
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

START_TEST(shutdown_rules)
{
	pt_setup();
	weft_executor *ex = new_pool(2);
	weft_future *f = submit_long(ex, t_square, 3);
	wt_ok(weft_executor_shutdown(ex, true, false));
	ck_assert(weft_future_done(f)); /* shutdown(wait) waited for it */
	ck_assert_int_eq(pt_result_long(f), 9);
	weft_future_release(f);
	mpt_no_children(); /* and for the workers */
	weft_future *g;
	wt_rc(weft_executor_submit_task(ex, &g, t_square, "12345678", 8), WEFT_ESHUTDOWN);
	wt_ok(weft_executor_shutdown(ex, true, true)); /* again: fine */
	weft_executor_free(ex);

	/* shutdown(wait=false): the calls still run; free does not wait */
	ex = new_pool(2);
	weft_future *fs[20];
	for (long i = 0; i < 20; i++)
		fs[i] = submit_long(ex, t_square, i);
	wt_ok(weft_executor_shutdown(ex, false, false));
	weft_executor_free(ex);
	for (long i = 0; i < 20; i++) {
		ck_assert_int_eq(pt_result_long(fs[i]), i * i);
		weft_future_release(fs[i]);
	}
	/* a shut-down pool that never started */
	ex = new_pool(2);
	wt_ok(weft_executor_shutdown(ex, true, false));
	weft_executor_free(ex);
}
END_TEST

START_TEST(cancel_futures)
{
	pt_setup();
	weft_executor *ex = new_pool(1);
	enum { N = 12 };
	weft_future *fs[N];
	for (long i = 0; i < N; i++)
		fs[i] = submit_long(ex, t_gated, i);
	wt_ok(weft_sem_acquire(&pt->started, 30)); /* the first one runs */
	wt_ok(weft_executor_shutdown(ex, false, true));
	weft_event_set(&pt->gate);
	wt_ok(weft_executor_shutdown(ex, true, true));
	int cancelled = 0;
	for (int i = 0; i < N; i++) {
		ck_assert(weft_future_done(fs[i]));
		if (weft_future_cancelled(fs[i]))
			cancelled++;
		else
			ck_assert_int_eq(pt_result_long(fs[i]), (long)i * i);
		weft_future_release(fs[i]);
	}
	ck_assert_int_ge(cancelled, 1);
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

START_TEST(saturation)
{
	pt_setup();
	weft_executor *ex = new_pool(2);
	enum { N = 30 };
	weft_future *fs[N];
	for (long i = 0; i < N; i++)
		fs[i] = submit_long(ex, t_gated, i);
	wt_ok(weft_sem_acquire(&pt->started, 30));
	wt_ok(weft_sem_acquire(&pt->started, 30)); /* both workers are busy */
	size_t n;
	wt_ok(weft_process_pool_pids(ex, NULL, 0, &n));
	ck_assert_uint_eq(n, 2);
	weft_event_set(&pt->gate);
	for (long i = 0; i < N; i++) {
		ck_assert_int_eq(pt_result_long(fs[i]), i * i);
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
}
END_TEST

static pid_t pid_of(weft_executor *ex)
{
	weft_future *f;
	wt_ok(weft_executor_submit_task(ex, &f, t_pid, NULL, 0));
	const void *d;
	size_t n;
	wt_ok(weft_future_result_bytes(f, 30, &d, &n));
	pid_t p;
	memcpy(&p, d, sizeof p);
	weft_future_release(f);
	return p;
}

START_TEST(max_tasks_per_child)
{
	weft_executor *ex;
	wt_ok(weft_process_pool_new(&ex,
	                            &(weft_process_pool_opts){.max_workers = 1, .max_tasks_per_child = 3}));
	pid_t p1 = pid_of(ex);
	ck_assert_int_eq(pid_of(ex), p1);
	ck_assert_int_eq(pid_of(ex), p1);
	pid_t p4 = pid_of(ex); /* a new worker */
	ck_assert_int_ne(p4, p1);
	ck_assert_int_eq(pid_of(ex), p4);
	/* many at once: every one runs (gh-115634) */
	weft_future *fs[8];
	for (long i = 0; i < 8; i++)
		fs[i] = submit_long(ex, t_pid, i);
	for (int i = 0; i < 8; i++) {
		wt_ok(weft_future_result(fs[i], 30, NULL));
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

START_TEST(initializer)
{
	pt_setup();
	weft_executor *ex;
	wt_ok(weft_process_pool_new(&ex,
	                            &(weft_process_pool_opts){.max_workers = 2, .initializer = init_count}));
	weft_future *fs[10];
	for (long i = 0; i < 10; i++)
		fs[i] = submit_long(ex, t_square, i);
	for (long i = 0; i < 10; i++) {
		ck_assert_int_eq(pt_result_long(fs[i]), i * i);
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
	ck_assert_int_eq(atomic_load(&pt->inits), 2);
}
END_TEST

START_TEST(initializer_fails)
{
	pt_setup();
	weft_executor *ex;
	wt_ok(weft_process_pool_new(
	    &ex, &(weft_process_pool_opts){.max_workers = 2, .initializer = init_fail, .initarg = "db"}));
	/* Each submission fails at once (broken already) or later. */
	for (long i = 0; i < 5; i++) {
		weft_future *f;
		int rc = weft_executor_submit_task(ex, &f, t_square, &i, sizeof i);
		if (rc) {
			wt_rc(rc, WEFT_EBROKEN);
			continue;
		}
		wt_rc(weft_future_result(f, 30, NULL), WEFT_EBROKEN);
		const char *msg = weft_future_error_message(f);
		ck_assert_msg(strstr(msg, "initializer") && strstr(msg, "no access to db"), "%s", msg);
		weft_future_release(f);
	}
	weft_future *f;
	wt_rc(weft_executor_submit_task(ex, &f, t_square, "12345678", 8), WEFT_EBROKEN);
	wt_ok(weft_executor_shutdown(ex, true, false));
	weft_executor_free(ex);
	/* broken, not respawned over and over */
	ck_assert_int_le(atomic_load(&pt->inits), 2);
	mpt_no_children();
}
END_TEST

/* A crashing call fails alone; the pool replaces the worker and serves. */
static void crash_case(weft_task_fn crash, int sig)
{
	pt_setup();
	weft_executor *ex = new_pool(2);
	pid_t before = pid_of(ex);
	weft_future *ok1 = submit_long(ex, t_square, 5);
	weft_future *bad = submit_long(ex, crash, 0);
	weft_future *ok2 = submit_long(ex, t_square, 6);
	wt_rc(weft_future_result(bad, 30, NULL), WEFT_EBROKEN);
	const char *msg = weft_future_error_message(bad);
	char want[32];
	snprintf(want, sizeof want, "signal %d", sig);
	ck_assert_msg(strstr(msg, want) && strstr(msg, "pid"), "%s", msg);
	ck_assert_int_eq(pt_result_long(ok1), 25);
	ck_assert_int_eq(pt_result_long(ok2), 36);
	for (long i = 0; i < 20; i++) {
		weft_future *f = submit_long(ex, t_square, i);
		ck_assert_int_eq(pt_result_long(f), i * i);
		weft_future_release(f);
	}
	size_t n;
	wt_ok(weft_process_pool_pids(ex, NULL, 0, &n));
	ck_assert_uint_eq(n, 2); /* replaced */
	(void)before;
	weft_future_release(ok1);
	weft_future_release(ok2);
	weft_future_release(bad);
	weft_executor_free(ex);
	mpt_no_children();
	ck_assert_int_eq(mpt_shm_entries("weft"), 0);
}

START_TEST(crash_segv)
{
	crash_case(t_segv, MPT_CRASH_SIG);
}
END_TEST

START_TEST(crash_abort)
{
	crash_case(t_abort, SIGABRT);
}
END_TEST

START_TEST(crash_sigkill)
{
	crash_case(t_killself, SIGKILL);
}
END_TEST

/* Crashes on input 2 (a real fault, through the worker's handler),
 * squares the others. */
static int t_crash_on_2(const void *in, size_t len, weft_bytes *out)
{
	if (pt_long(in, len) == 2)
		raise(MPT_CRASH_SIG);
	return t_square(in, len, out);
}
WEFT_TASK(t_crash_on_2, t_crash_on_2)

START_TEST(crash_in_chunk)
{
	pt_setup();
	weft_executor *ex = new_pool(1);
	/* item 2 of a 5-item chunk crashes: 0 and 1 are done, 3 and 4 run
	 * again on the replacement worker */
	weft_bytes *in = pt_inputs(5);
	weft_map *m;
	wt_ok(weft_executor_map_task(ex, &m, t_crash_on_2, in, 5, &(weft_map_opts){.chunksize = 5}));
	weft_bytes out = {0};
	for (long i = 0; i < 5; i++) {
		int rc = weft_map_next_bytes(m, &out);
		if (i == 2) {
			wt_rc(rc, WEFT_EBROKEN);
			ck_assert_msg(strstr(weft_map_error_message(m), "t_crash_on_2"), "%s",
			              weft_map_error_message(m));
		} else {
			ck_assert_msg(rc == 0, "%ld: %s", i, weft_map_error_message(m));
			ck_assert_int_eq(pt_long(out.data, out.len), i * i);
		}
	}
	weft_bytes_free(&out);
	weft_map_free(m);
	/* None ran twice: the worker reported 0 and 1 before it died. (Under
	 * TSan the crash is a SIGKILL, which loses finished results: they
	 * run again.) */
	if (MPT_CRASH_SIG == SIGSEGV)
		ck_assert_int_eq(atomic_load(&pt->calls), 4);
	else
		ck_assert(atomic_load(&pt->calls) >= 4 && atomic_load(&pt->calls) <= 6);
	pt_inputs_free(in, 5);
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

START_TEST(task_timeout)
{
	pt_setup();
	weft_executor *ex;
	wt_ok(weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_workers = 2, .task_timeout = 0.3}));
	double t0 = weft_monotonic();
	weft_future *hung = submit_long(ex, t_hang, 0);
	weft_future *fs[10];
	for (long i = 0; i < 10; i++)
		fs[i] = submit_long(ex, t_square, i);
	wt_rc(weft_future_result(hung, 30, NULL), WEFT_ETIMEDOUT);
	ck_assert(weft_future_done(hung));
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 0.3 + WT_SLACK, "%f", dt);
	ck_assert_msg(strstr(weft_future_error_message(hung), "timeout"), "%s",
	              weft_future_error_message(hung));
	for (long i = 0; i < 10; i++) {
		ck_assert_int_eq(pt_result_long(fs[i]), i * i);
		weft_future_release(fs[i]);
	}
	weft_future_release(hung);
	weft_future *f = submit_long(ex, t_square, 9);
	ck_assert_int_eq(pt_result_long(f), 81);
	weft_future_release(f);
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

/* Beyond Python: cancel_running kills the worker running the call and
 * replaces it; the future ends cancelled, the other calls are unaffected
 * and the pool goes on serving. A call sent to a worker but not started
 * (queued behind the running one) ends cancelled once the worker got to
 * it, and that worker is not replaced. */
START_TEST(cancel_running)
{
	pt_setup();
	weft_executor *ex = new_pool(1);
	pid_t before = pid_of(ex);
	weft_future *hung = submit_long(ex, t_gated, 3);
	weft_future *next = submit_long(ex, t_square, 4);
	wt_ok(weft_sem_acquire(&pt->started, 30)); /* it runs */
	ck_assert(weft_future_running(hung));
	double t0 = weft_monotonic();
	wt_ok(weft_future_cancel_running(hung));
	wt_ok(weft_future_cancel_running(hung)); /* asked twice: still 0 */
	wt_rc(weft_future_result(hung, 30, NULL), WEFT_ECANCELED);
	ck_assert(weft_future_cancelled(hung));
	ck_assert(weft_monotonic() - t0 < WT_SLACK);
	ck_assert_int_eq(pt_result_long(next), 16);
	ck_assert_int_ne(pid_of(ex), before);                 /* replaced */
	wt_rc(weft_future_cancel_running(next), WEFT_ESTATE); /* finished */
	weft_future_release(hung);
	weft_future_release(next);
	/* Running (sent to the worker) but not started: cancelled as well. */
	pid_t worker = pid_of(ex);
	weft_future *first = submit_long(ex, t_gated, 5);
	wt_ok(weft_sem_acquire(&pt->started, 30));
	weft_future *queued = submit_long(ex, t_square, 6);
	while (!weft_future_running(queued) && !weft_future_done(queued))
		wt_rc(weft_future_result(queued, 0.01, NULL), WEFT_ETIMEDOUT);
	wt_ok(weft_future_cancel_running(queued));
	weft_event_set(&pt->gate);
	wt_rc(weft_future_result(queued, 30, NULL), WEFT_ECANCELED);
	ck_assert(weft_future_cancelled(queued));
	ck_assert_int_eq(pt_result_long(first), 25);
	ck_assert_int_eq(pid_of(ex), worker);
	weft_future_release(first);
	weft_future_release(queued);
	weft_executor_free(ex);
	mpt_no_children();
}
END_TEST

static int count_cb(weft_future *f, void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
	return 0;
}

START_TEST(callbacks_wait_as_completed)
{
	pt_setup();
	weft_executor *ex = new_pool(2);
	enum { N = 16 };
	weft_future *fs[N];
	_Atomic int called = 0;
	for (long i = 0; i < N; i++) {
		fs[i] = submit_long(ex, t_square, i);
		wt_ok(weft_future_add_done_callback(fs[i], count_cb, &called));
	}
	wt_ok(weft_wait(fs, N, 30, WEFT_ALL_COMPLETED, NULL));
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, fs, N, 30));
	weft_future *g;
	int seen = 0;
	while (weft_as_completed_next(it, &g) == 0)
		seen++;
	ck_assert_int_eq(seen, N);
	weft_as_completed_free(it);
	weft_executor_free(ex); /* callbacks ran before the futures were done for waiters */
	ck_assert_int_eq(atomic_load(&called), N);
	for (int i = 0; i < N; i++)
		weft_future_release(fs[i]);
}
END_TEST

START_TEST(map_timeout)
{
	pt_setup();
	weft_executor *ex = new_pool(2);
	weft_bytes *in = pt_inputs(4);
	weft_map *m;
	double t0 = weft_monotonic();
	wt_ok(weft_executor_map_task(ex, &m, t_gated, in, 4, &(weft_map_opts){.timeout = 0.2}));
	wt_rc(weft_map_next_bytes(m, NULL), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.2);
	weft_map_free(m);
	weft_event_set(&pt->gate);
	weft_executor_free(ex);
	pt_inputs_free(in, 4);
	mpt_no_children();
}
END_TEST

START_TEST(forked_child_is_broken)
{
	pt_setup();
	weft_executor *ex = new_pool(1);
	weft_future *f = submit_long(ex, t_square, 2);
	ck_assert_int_eq(pt_result_long(f), 4);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		weft_future *g;
		long x = 1;
		int rc = weft_executor_submit_task(ex, &g, t_square, &x, sizeof x);
		_exit(rc == WEFT_EBROKEN && weft_executor_shutdown(ex, true, false) == WEFT_EBROKEN ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

/* exit() without shutdown: the pool's calls finish first (Python joins
 * executors at interpreter exit). */
START_TEST(exit_drains)
{
	pt_setup();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		weft_executor *ex = new_pool(2);
		weft_future *f;
		for (long i = 0; i < 10; i++)
			if (weft_executor_submit_task(ex, &f, t_square, &i, sizeof i) == 0)
				weft_future_release(f);
		exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(atomic_load(&pt->calls), 10);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ppexec");
	TCase *tc = wt_tcase("ppexec", 60);
	tcase_add_test(tc, submit_and_result);
	tcase_add_test(tc, map_and_chunksize);
	tcase_add_test(tc, cancel_running);
	tcase_add_test(tc, failure_message);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, shutdown_rules);
	tcase_add_test(tc, cancel_futures);
	tcase_add_test(tc, saturation);
	tcase_add_test(tc, max_tasks_per_child);
	tcase_add_test(tc, initializer);
	tcase_add_test(tc, initializer_fails);
	tcase_add_test(tc, crash_segv);
	tcase_add_test(tc, crash_abort);
	tcase_add_test(tc, crash_sigkill);
	tcase_add_test(tc, crash_in_chunk);
	tcase_add_test(tc, task_timeout);
	tcase_add_test(tc, callbacks_wait_as_completed);
	tcase_add_test(tc, map_timeout);
	tcase_add_test(tc, forked_child_is_broken);
	tcase_add_test(tc, exit_drains);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
