/* The thread pool: CPython's executor.py, test_thread_pool.py,
 * test_shutdown.py and test_init.py behaviours, in C, plus weft's own
 * (cancelling running calls, byte tasks, contexts). */
#include "futures_util.h"
#include "futures/pool.h"

#include <sched.h>
#include <sys/wait.h>

#ifdef WEFT_TSAN
#define WEFT_TSAN_BUILD 1
#else
#define WEFT_TSAN_BUILD 0
#endif
#ifdef WEFT_ASAN
#define WEFT_ASAN_BUILD 1
#else
#define WEFT_ASAN_BUILD 0
#endif

static void *square(void *arg)
{
	return P(I(arg) * I(arg));
}

START_TEST(submit)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, square, P(16)));
	void *v;
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 256);
	weft_future_release(f);
	/* The pool completes its futures: the implementer's calls refuse. */
	tevent ev = TEVENT_INIT;
	wt_ok(weft_executor_submit(ex, &f, wait_event, &ev));
	wt_rc(weft_future_set_result(f, P(1)), WEFT_ESTATE);
	wt_rc(weft_future_set_failure(f, WEFT_EIO, NULL), WEFT_ESTATE);
	wt_rc(weft_future_set_running_or_notify_cancel(f), WEFT_ESTATE);
	weft_bytes b = {0};
	wt_rc(weft_future_set_result_bytes(f, &b), WEFT_ESTATE);
	tevent_set(&ev);
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 1);
	weft_future_release(f);
	wt_rc(weft_executor_submit(NULL, &f, square, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_submit(ex, NULL, square, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_submit(ex, &f, NULL, NULL), WEFT_EINVAL);
	weft_executor_free(ex);
}
END_TEST

static void *failing(void *arg)
{
	weft_fail(WEFT_EUSER - 2, "bad row %ld", I(arg));
	return P(1);
}

START_TEST(failure_code_and_message)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, failing, P(7)));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_EUSER - 2);
	ck_assert_str_eq(weft_future_error_message(f), "bad row 7");
	int code;
	wt_ok(weft_future_exception(f, 0, &code));
	ck_assert_int_eq(code, WEFT_EUSER - 2);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

/* ---- map ---- */

START_TEST(map_in_order)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 3}));
	void *args[10];
	for (int i = 0; i < 10; i++)
		args[i] = P(i);
	for (size_t chunk = 1; chunk <= 3; chunk += 2) {
		weft_map *m;
		wt_ok(weft_executor_map(ex, &m, square, args, 10, &(weft_map_opts){.chunksize = chunk}));
		for (int i = 0; i < 10; i++) {
			void *v;
			wt_ok(weft_map_next(m, &v));
			ck_assert_int_eq(I(v), i * i);
		}
		wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY);
		wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY);
		weft_map_free(m);
	}
	weft_executor_free(ex);
}
END_TEST

static void *divide_5(void *arg)
{
	long d = I(arg);
	if (!d) {
		weft_fail(WEFT_ERANGE, "division by zero");
		return NULL;
	}
	return P(5 / d);
}

START_TEST(map_exception_goes_on)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[] = {P(2), P(3), P(0), P(5)};
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, divide_5, args, 4, NULL));
	void *v;
	wt_ok(weft_map_next(m, &v));
	ck_assert_int_eq(I(v), 2);
	wt_ok(weft_map_next(m, &v));
	ck_assert_int_eq(I(v), 1);
	ck_assert_str_eq(weft_map_error_message(m), "");
	wt_rc(weft_map_next(m, &v), WEFT_ERANGE);
	ck_assert_str_eq(weft_map_error_message(m), "division by zero");
	wt_ok(weft_map_next(m, &v));
	ck_assert_int_eq(I(v), 1);
	wt_rc(weft_map_next(m, &v), WEFT_EEMPTY);
	weft_map_free(m);
	weft_executor_free(ex);
}
END_TEST

static void *timeout_on_one(void *arg)
{
	if (I(arg) == 1)
		weft_fail(WEFT_ETIMEDOUT, "from the call");
	return arg;
}

START_TEST(map_timeout_from_callable)
{
	/* A call failing with ETIMEDOUT is not the map's timeout. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[] = {P(0), P(1), P(2), P(3)};
	const double timeouts[] = {0, 30};
	for (int k = 0; k < 2; k++) {
		weft_map *m;
		wt_ok(weft_executor_map(ex, &m, timeout_on_one, args, 4,
		                        &(weft_map_opts){.timeout = timeouts[k]}));
		void *v;
		wt_ok(weft_map_next(m, &v));
		ck_assert_int_eq(I(v), 0);
		wt_rc(weft_map_next(m, &v), WEFT_ETIMEDOUT);
		wt_ok(weft_map_next(m, &v));
		ck_assert_int_eq(I(v), 2);
		wt_ok(weft_map_next(m, &v));
		ck_assert_int_eq(I(v), 3);
		wt_rc(weft_map_next(m, &v), WEFT_EEMPTY);
		weft_map_free(m);
	}
	weft_executor_free(ex);
}
END_TEST

static tevent map_ev = TEVENT_INIT;

static void *zero_or_block(void *arg)
{
	if (I(arg))
		ck_assert(tevent_wait(&map_ev, 30));
	return NULL;
}

START_TEST(map_timeout)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[] = {P(0), P(0), P(1)};
	weft_map *m;
	double t0 = weft_monotonic();
	wt_ok(weft_executor_map(ex, &m, zero_or_block, args, 3, &(weft_map_opts){.timeout = 0.2}));
	int got = 0, rc;
	while ((rc = weft_map_next(m, NULL)) == 0)
		got++;
	wt_rc(rc, WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.2 && dt < 0.2 + WT_SLACK);
	ck_assert_int_eq(got, 2);
	/* The remaining calls are cancelled: the iterator is exhausted. */
	wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY);
	wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY);
	weft_map_free(m);
	tevent_set(&map_ev);
	weft_executor_free(ex);
}
END_TEST

static tcount started = TCOUNT_INIT;
static tevent stop_ev = TEVENT_INIT;

static void *log_and_wait(void *arg)
{
	tcount_add(&started, 1);
	ck_assert(tevent_wait(&stop_ev, 30));
	return arg;
}

START_TEST(map_current_future_cancel)
{
	/* test_executor_map_current_future_cancel: a map that times out
	 * cancels its calls, which never start. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *first;
	wt_ok(weft_executor_submit(ex, &first, log_and_wait, NULL));
	ck_assert(tcount_wait(&started, 1, 30));
	void *args[] = {P(2), P(3)};
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, log_and_wait, args, 2, &(weft_map_opts){.timeout = 1e-9}));
	wt_rc(weft_map_next(m, NULL), WEFT_ETIMEDOUT);
	weft_map_free(m);
	tevent_set(&stop_ev);
	wt_ok(weft_future_result(first, 30, NULL));
	weft_future_release(first);
	weft_executor_free(ex);
	ck_assert_int_eq(started.n, 1);
}
END_TEST

START_TEST(map_ends_when_the_callers_scope_is_cancelled)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	tevent ev = TEVENT_INIT;
	void *args[] = {&ev, &ev};
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, wait_event, args, 2, NULL));
	struct canceller c = {NULL, TEVENT_INIT};
	wt_ok(weft_cancel_new(&c.tok, NULL));
	wt_thread *t = wt_spawn(cancel_later, &c);
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, c.tok, WEFT_FOREVER));
	tevent_set(&c.go);
	wt_rc(weft_map_next(m, NULL), WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&sc));
	wt_join(t);
	wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY); /* the map is over */
	tevent_set(&ev);
	weft_map_free(m);
	weft_cancel_release(c.tok);
	weft_executor_free(ex);
}
END_TEST

START_TEST(map_close)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[] = {P(2), P(0), P(3), P(5)};
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, divide_5, args, 4, NULL));
	void *v;
	wt_ok(weft_map_next(m, &v));
	ck_assert_int_eq(I(v), 2);
	weft_map_free(m); /* Python's close() */
	weft_executor_free(ex);
}
END_TEST

static tcount calls = TCOUNT_INIT;

static void *count_call(void *arg)
{
	tcount_add(&calls, 1);
	return arg;
}

START_TEST(map_buffersize)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[4] = {P(0), P(1), P(2), P(3)};
	const size_t sizes[] = {1, 2, 4, 8};
	for (int k = 0; k < 4; k++) {
		weft_map *m;
		wt_ok(weft_executor_map(ex, &m, square, args, 4, &(weft_map_opts){.buffersize = sizes[k]}));
		for (int i = 0; i < 4; i++) {
			void *v;
			wt_ok(weft_map_next(m, &v));
			ck_assert_int_eq(I(v), i * i);
		}
		wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY);
		weft_map_free(m);
	}
	/* Empty input. */
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, square, NULL, 0, &(weft_map_opts){.buffersize = 2}));
	wt_rc(weft_map_next(m, NULL), WEFT_EEMPTY);
	weft_map_free(m);
	weft_executor_free(ex);
}
END_TEST

START_TEST(map_buffersize_when_buffer_is_full)
{
	/* Only buffersize calls are made before the results are consumed. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[100];
	for (int i = 0; i < 100; i++)
		args[i] = P(i);
	calls.n = 0;
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, count_call, args, 100, &(weft_map_opts){.buffersize = 2}));
	ck_assert(tcount_wait(&calls, 2, 30));
	void *v;
	wt_ok(weft_map_next(m, &v)); /* submits one more, then yields */
	ck_assert_int_eq(I(v), 0);
	wt_ok(weft_executor_shutdown(ex, true, false)); /* every submitted call ends */
	ck_assert_int_eq(calls.n, 3);
	/* Later items cannot be submitted any more: the map ends with what it
	 * has in flight, then reports the shutdown. */
	wt_ok(weft_map_next(m, &v));
	ck_assert_int_eq(I(v), 1);
	wt_ok(weft_map_next(m, &v));
	ck_assert_int_eq(I(v), 2);
	wt_rc(weft_map_next(m, &v), WEFT_ESHUTDOWN);
	wt_rc(weft_map_next(m, &v), WEFT_EEMPTY);
	weft_map_free(m);
	weft_executor_free(ex);
}
END_TEST

START_TEST(map_submits_without_iteration)
{
	/* Issue 11777: map submits everything at once. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	void *args[10];
	for (int i = 0; i < 10; i++)
		args[i] = P(i);
	calls.n = 0;
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, count_call, args, 10, NULL));
	wt_ok(weft_executor_shutdown(ex, true, false));
	ck_assert_int_eq(calls.n, 10);
	weft_map_free(m);
	weft_executor_free(ex);
}
END_TEST

START_TEST(map_checks_arguments)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	weft_map *m;
	void *args[] = {P(1)};
	wt_rc(weft_executor_map(NULL, &m, square, args, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_map(ex, NULL, square, args, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_map(ex, &m, NULL, args, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_map(ex, &m, square, NULL, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_map(ex, &m, square, args, 1, &(weft_map_opts){.timeout = -2}), WEFT_EINVAL);
	wt_rc(weft_executor_map(ex, &m, square, args, 1, &(weft_map_opts){.timeout = 0.0 / 0.0}),
	      WEFT_EINVAL);
	wt_ok(weft_executor_map(ex, &m, square, args, 1, &(weft_map_opts){.timeout = WEFT_FOREVER}));
	weft_bytes b;
	wt_rc(weft_map_next_bytes(m, &b), WEFT_EINVAL); /* not a byte-task map */
	wt_rc(weft_map_next(NULL, NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_map_error_message(NULL), "");
	weft_map_free(m);
	weft_map_free(NULL);
	wt_ok(weft_executor_shutdown(ex, true, false));
	wt_rc(weft_executor_map(ex, &m, square, args, 1, NULL), WEFT_ESHUTDOWN);
	weft_executor_free(ex);
}
END_TEST

/* ---- byte tasks ---- */

static int upper(const void *in, size_t len, weft_bytes *out)
{
	if (len && ((const char *)in)[0] == '!')
		return weft_fail(WEFT_EINVAL, "refusing '%.*s'", (int)len, (const char *)in);
	if (len && ((const char *)in)[0] == '?')
		return WEFT_EMSGSIZE;
	char buf[64];
	if (len > sizeof buf)
		return WEFT_EMSGSIZE;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(((const char *)in)[i] & ~0x20);
	return weft_bytes_set(out, buf, len);
}
WEFT_TASK(upper, upper)

START_TEST(byte_tasks)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	char input[] = "hello";
	weft_future *f;
	wt_ok(weft_executor_submit_task(ex, &f, upper, input, 5));
	input[0] = 'j'; /* the task has its own copy */
	const void *data;
	size_t len;
	wt_ok(weft_future_result_bytes(f, 30, &data, &len));
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(data, "HELLO", 5) == 0);
	void *v = P(1);
	wt_ok(weft_future_result(f, 0, &v));
	ck_assert_ptr_null(v);
	weft_future_release(f);

	wt_ok(weft_executor_submit_task(ex, &f, upper, "!x", 2));
	wt_rc(weft_future_result_bytes(f, 30, &data, &len), WEFT_EINVAL);
	ck_assert_str_eq(weft_future_error_message(f), "refusing '!x'");
	weft_future_release(f);

	wt_ok(weft_executor_submit_task(ex, &f, upper, "?", 1)); /* fails by its return code */
	wt_rc(weft_future_result_bytes(f, 30, &data, &len), WEFT_EMSGSIZE);
	ck_assert_str_eq(weft_future_error_message(f), weft_strerror(WEFT_EMSGSIZE));
	weft_future_release(f);

	wt_ok(weft_executor_submit_task(ex, &f, upper, NULL, 0));
	wt_ok(weft_future_result_bytes(f, 30, &data, &len));
	ck_assert_uint_eq(len, 0);
	weft_future_release(f);

	wt_rc(weft_executor_submit_task(ex, &f, upper, NULL, 3), WEFT_EINVAL);
	wt_rc(weft_executor_submit_task(ex, &f, NULL, "a", 1), WEFT_EINVAL);
	wt_rc(weft_executor_submit_task(NULL, &f, upper, "a", 1), WEFT_EINVAL);
	wt_rc(weft_executor_submit_task(ex, NULL, upper, "a", 1), WEFT_EINVAL);
	weft_executor_free(ex);
}
END_TEST

START_TEST(map_byte_tasks)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	weft_bytes in[3] = {{"ab", 2}, {"!c", 2}, {"de", 2}};
	weft_map *m;
	wt_ok(
	    weft_executor_map_task(ex, &m, upper, in, 3, &(weft_map_opts){.buffersize = 1, .chunksize = 2}));
	weft_bytes out = {0};
	wt_ok(weft_map_next_bytes(m, &out));
	ck_assert(out.len == 2 && memcmp(out.data, "AB", 2) == 0);
	wt_rc(weft_map_next_bytes(m, &out), WEFT_EINVAL);
	ck_assert_str_eq(weft_map_error_message(m), "refusing '!c'");
	wt_ok(weft_map_next_bytes(m, &out));
	ck_assert(out.len == 2 && memcmp(out.data, "DE", 2) == 0);
	wt_rc(weft_map_next_bytes(m, &out), WEFT_EEMPTY);
	wt_rc(weft_map_next(m, NULL), WEFT_EINVAL);
	weft_bytes_free(&out);
	weft_map_free(m);
	weft_bytes bad[1] = {{NULL, 4}};
	wt_rc(weft_executor_map_task(ex, &m, upper, bad, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_executor_map_task(ex, &m, NULL, in, 1, NULL), WEFT_EINVAL);
	weft_executor_free(ex);
}
END_TEST

/* ---- workers ---- */

START_TEST(default_workers)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	int cpus = weft__cpu_count();
	ck_assert_int_eq(weft_thread_pool_max_workers(ex), cpus + 4 < 32 ? cpus + 4 : 32);
	ck_assert_int_eq(weft_thread_pool_threads(ex), 0); /* started lazily */
	weft_executor_free(ex);
	wt_rc(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = -1}), WEFT_EINVAL);
	wt_rc(weft_thread_pool_new(NULL, NULL), WEFT_EINVAL);
	ck_assert_int_eq(weft_thread_pool_threads(NULL), 0);
	ck_assert_int_eq(weft_thread_pool_max_workers(NULL), 0);
}
END_TEST

START_TEST(idle_thread_reuse)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	for (int i = 0; i < 3; i++) {
		weft_future *f;
		wt_ok(weft_executor_submit(ex, &f, square, P(i)));
		wt_ok(weft_future_result(f, 30, NULL));
		weft_future_release(f);
	}
	ck_assert_int_eq(weft_thread_pool_threads(ex), 1);
	weft_executor_free(ex);
}
END_TEST

static tcount running = TCOUNT_INIT;
static tevent release_ev = TEVENT_INIT;

static void *block_until_released(void *arg)
{
	tcount_add(&running, 1);
	ck_assert(tevent_wait(&release_ev, 30));
	return arg;
}

START_TEST(saturation)
{
	/* All max_workers threads get started when calls block. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 4}));
	weft_future *fs[60];
	for (int i = 0; i < 60; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], block_until_released, NULL));
	ck_assert(tcount_wait(&running, 4, 30));
	ck_assert_int_eq(weft_thread_pool_threads(ex), 4);
	tevent_set(&release_ev);
	wt_ok(weft_executor_shutdown(ex, true, false));
	ck_assert_int_eq(running.n, 60);
	for (int i = 0; i < 60; i++) {
		ck_assert(weft_future_done(fs[i]));
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
}
END_TEST

static void *thread_name(void *arg)
{
	char *buf = malloc(16);
	pthread_getname_np(pthread_self(), buf, 16);
	return buf;
}

START_TEST(thread_names)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(
	    &ex, &(weft_thread_pool_opts){.max_workers = 5, .thread_name_prefix = "SpecialPool"}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, thread_name, NULL));
	void *name;
	wt_ok(weft_future_result(f, 30, &name));
	ck_assert_str_eq(name, "SpecialPool_0");
	free(name);
	weft_future_release(f);
	weft_executor_free(ex);

	wt_ok(weft_thread_pool_new(&ex, NULL));
	wt_ok(weft_executor_submit(ex, &f, thread_name, NULL));
	wt_ok(weft_future_result(f, 30, &name));
	/* "ThreadPoolExecutor-<k>_0", cut to the kernel's 15 characters. */
	ck_assert_str_eq(name, "ThreadPoolExecu");
	free(name);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

static __thread long init_status;

static int init_ok(void *arg)
{
	init_status = I(arg);
	return 0;
}

static void *get_init_status(void *arg)
{
	return P(init_status);
}

START_TEST(initializer)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(
	    &ex, &(weft_thread_pool_opts){.max_workers = 2, .initializer = init_ok, .initarg = P(77)}));
	weft_future *fs[2];
	for (int i = 0; i < 2; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], get_init_status, NULL));
	for (int i = 0; i < 2; i++) {
		void *v;
		wt_ok(weft_future_result(fs[i], 30, &v));
		ck_assert_int_eq(I(v), 77);
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
}
END_TEST

static tevent init_go = TEVENT_INIT;

static int init_fail(void *arg)
{
	ck_assert(tevent_wait(&init_go, 30)); /* let some calls be queued */
	return weft_fail(WEFT_EUSER - 9, "error in initializer");
}

static void failing_initializer_body(void *arg)
{
	weft_executor *ex;
	wt_ok(
	    weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2, .initializer = init_fail}));
	weft_future *fs[5];
	for (int i = 0; i < 5; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], get_init_status, NULL));
	tevent_set(&init_go);
	for (int i = 0; i < 5; i++) {
		wt_rc(weft_future_result(fs[i], 30, NULL), WEFT_EBROKEN);
		ck_assert_str_eq(weft_future_error_message(fs[i]),
		                 "A thread initializer failed, the thread pool is not usable anymore");
		weft_future_release(fs[i]);
	}
	/* From now on submit fails at once. */
	weft_future *f;
	wt_rc(weft_executor_submit(ex, &f, get_init_status, NULL), WEFT_EBROKEN);
	wt_rc(weft_executor_submit_task(ex, &f, upper, "a", 1), WEFT_EBROKEN);
	weft_executor_free(ex);
}

START_TEST(failing_initializer_breaks_the_pool)
{
	char err[2048];
	capture_stderr(failing_initializer_body, NULL, err, sizeof err);
	ck_assert_msg(strstr(err, "exception in initializer"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "error in initializer"), "stderr: %s", err);
}
END_TEST

/* ---- shutdown ---- */

START_TEST(run_after_shutdown)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, NULL));
	wt_ok(weft_executor_shutdown(ex, true, false));
	weft_future *f;
	wt_rc(weft_executor_submit(ex, &f, square, P(2)), WEFT_ESHUTDOWN);
	wt_rc(weft_executor_submit_task(ex, &f, upper, "a", 1), WEFT_ESHUTDOWN);
	wt_ok(weft_executor_shutdown(ex, true, false)); /* again: fine */
	wt_ok(weft_executor_shutdown(ex, false, true));
	wt_rc(weft_executor_shutdown(NULL, true, false), WEFT_EINVAL);
	weft_executor_free(ex);
	weft_executor_free(NULL);
}
END_TEST

START_TEST(hang_issue12364)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 5}));
	weft_future *fs[50];
	for (int i = 0; i < 50; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], square, P(i)));
	wt_ok(weft_executor_shutdown(ex, true, false));
	for (int i = 0; i < 50; i++) {
		void *v;
		wt_ok(weft_future_result(fs[i], 0, &v));
		ck_assert_int_eq(I(v), i * i);
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
}
END_TEST

static tevent cf_ev = TEVENT_INIT;
static tcount cf_started = TCOUNT_INIT;

static void *wait_cf(void *arg)
{
	tcount_add(&cf_started, 1);
	ck_assert(tevent_wait(&cf_ev, 30));
	return NULL;
}

START_TEST(cancel_futures)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 5}));
	weft_future *fs[50];
	for (int i = 0; i < 50; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], wait_cf, NULL));
	/* Python starts its threads synchronously; weft's start as work
	 * arrives: let one call begin before cancelling the rest. */
	ck_assert(tcount_wait(&cf_started, 1, 30));
	wt_ok(weft_executor_shutdown(ex, false, true));
	int cancelled = 0;
	for (int i = 0; i < 50; i++)
		cancelled += weft_future_cancelled(fs[i]);
	ck_assert_int_gt(cancelled, 20); /* with five workers, at most five run */
	tevent_set(&cf_ev);
	wt_ok(weft_executor_shutdown(ex, true, false));
	int others = 0;
	for (int i = 0; i < 50; i++) {
		if (!weft_future_cancelled(fs[i])) {
			others++;
			ck_assert(weft_future_done(fs[i]));
			int code;
			wt_ok(weft_future_exception(fs[i], 0, &code));
			ck_assert_int_eq(code, 0);
		}
		weft_future_release(fs[i]);
	}
	ck_assert_int_gt(others, 0);
	weft_executor_free(ex);
}
END_TEST

START_TEST(hang_gh94440)
{
	/* shutdown(wait) does not hang after a submit that was cancelled. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, square, P(1)));
	wt_ok(weft_future_result(f, 30, NULL));
	weft_future_release(f);
	wt_ok(weft_executor_submit(ex, &f, square, P(1)));
	weft_future_cancel(f);
	weft_future_release(f);
	wt_ok(weft_executor_shutdown(ex, true, false));
	weft_executor_free(ex);
}
END_TEST

START_TEST(shutdown_no_wait_still_computes)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 5}));
	void *args[10];
	for (int i = 0; i < 10; i++)
		args[i] = P(i - 5);
	weft_map *m;
	wt_ok(weft_executor_map(ex, &m, square, args, 10, NULL));
	wt_ok(weft_executor_shutdown(ex, false, false));
	weft_executor_free(ex); /* does not wait: the workers finish alone */
	for (int i = 0; i < 10; i++) {
		void *v;
		wt_ok(weft_map_next(m, &v));
		ck_assert_int_eq(I(v), (i - 5) * (i - 5));
	}
	weft_map_free(m);
}
END_TEST

struct cbshut {
	weft_executor *ex;
	int rc;
	tevent done;
};

static int shutdown_in_callback(weft_future *f, void *arg)
{
	struct cbshut *c = arg;
	c->rc = weft_executor_shutdown(c->ex, true, false);
	tevent_set(&c->done);
	return 0;
}

START_TEST(shutdown_from_a_callback_does_not_deadlock)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 3}));
	struct cbshut c = {ex, 1, TEVENT_INIT};
	tevent ev = TEVENT_INIT;
	weft_future *f, *g;
	wt_ok(weft_executor_submit(ex, &f, wait_event, &ev));
	wt_ok(weft_executor_submit(ex, &g, square, P(3)));
	wt_ok(weft_future_add_done_callback(f, shutdown_in_callback, &c));
	tevent_set(&ev); /* f finishes on a worker, whose callback shuts down */
	ck_assert(tevent_wait(&c.done, 30));
	wt_ok(c.rc);
	wt_ok(weft_future_result(g, 30, NULL));
	weft_future *h;
	wt_rc(weft_executor_submit(ex, &h, square, P(3)), WEFT_ESHUTDOWN);
	weft_future_release(f);
	weft_future_release(g);
	weft_executor_free(ex);
}
END_TEST

static void *free_own_pool(void *arg)
{
	weft_executor_free(arg);
	return P(9);
}

START_TEST(free_from_inside_a_call)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, free_own_pool, ex));
	void *v;
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 9);
	weft_future_release(f);
}
END_TEST

struct concurrent_shutdown {
	weft_executor *ex;
	tevent go;
};

static void *shutdown_waiting(void *arg)
{
	struct concurrent_shutdown *c = arg;
	ck_assert(tevent_wait(&c->go, 30));
	wt_ok(weft_executor_shutdown(c->ex, true, false));
	return NULL;
}

START_TEST(concurrent_shutdowns_both_wait)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 3}));
	weft_future *fs[20];
	for (int i = 0; i < 20; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], square, P(i)));
	struct concurrent_shutdown c = {ex, TEVENT_INIT};
	wt_thread *t = wt_spawn(shutdown_waiting, &c);
	tevent_set(&c.go);
	wt_ok(weft_executor_shutdown(ex, true, false));
	wt_join(t);
	for (int i = 0; i < 20; i++) {
		ck_assert(weft_future_done(fs[i]));
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
}
END_TEST

struct submit_race {
	weft_executor *ex;
	tevent go;
	int ok, refused;
	weft_future *fs[4000];
};

static void *submit_until_refused(void *arg)
{
	struct submit_race *r = arg;
	tevent_wait(&r->go, 30);
	for (int i = 0; i < 4000; i++) {
		int rc = weft_executor_submit(r->ex, &r->fs[r->ok], square, P(i));
		if (rc == WEFT_ESHUTDOWN) {
			r->refused++;
			continue;
		}
		ck_assert_int_eq(rc, 0);
		r->ok++;
	}
	return NULL;
}

START_TEST(submits_racing_a_shutdown)
{
	/* Submissions from other threads while the pool shuts down: each is
	 * refused, or its future ends (run, or cancelled with
	 * cancel_futures) -- none is left pending once shutdown(wait)
	 * returned. */
	for (int round = 0; round < 8; round++) {
		weft_executor *ex;
		wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2}));
		weft_future *f0;
		wt_ok(weft_executor_submit(ex, &f0, square, P(1))); /* a worker exists */
		static struct submit_race r[2];
		wt_thread *t[2];
		for (int i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof r[i]);
			r[i].ex = ex;
			pthread_mutex_init(&r[i].go.mu, NULL);
			pthread_cond_init(&r[i].go.cv, NULL);
			t[i] = wt_spawn(submit_until_refused, &r[i]);
			tevent_set(&r[i].go);
		}
		sched_yield();
		wt_ok(weft_executor_shutdown(ex, true, round % 2 == 1));
		for (int i = 0; i < 2; i++) {
			wt_join(t[i]);
			for (int k = 0; k < r[i].ok; k++) {
				ck_assert(weft_future_done(r[i].fs[k]));
				weft_future_release(r[i].fs[k]);
			}
			ck_assert_int_eq(r[i].ok + r[i].refused, 4000);
		}
		ck_assert(weft_future_done(f0));
		weft_future_release(f0);
		weft_executor_free(ex);
	}
}
END_TEST

/* ---- nested submissions, cancelling running calls, contexts ---- */

static void *nested(void *arg)
{
	weft_executor *ex = arg;
	weft_future *inner[8];
	for (int i = 0; i < 8; i++)
		wt_ok(weft_executor_submit(ex, &inner[i], square, P(i)));
	long sum = 0;
	for (int i = 0; i < 8; i++) {
		void *v;
		wt_ok(weft_future_result(inner[i], 30, &v));
		sum += I(v);
		weft_future_release(inner[i]);
	}
	return P(sum);
}

START_TEST(submit_from_inside_a_call)
{
	/* The calls wait for futures of the same pool: as in Python, that
	 * needs more workers than waiting calls. */
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 6}));
	weft_future *fs[4];
	for (int i = 0; i < 4; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], nested, ex));
	for (int i = 0; i < 4; i++) {
		void *v;
		wt_ok(weft_future_result(fs[i], 30, &v));
		ck_assert_int_eq(I(v), 140);
		weft_future_release(fs[i]);
	}
	weft_executor_free(ex);
}
END_TEST

struct blocker {
	weft_future *never;
	tevent in_call;
	int rc;
};

static void *block_in_weft(void *arg)
{
	struct blocker *b = arg;
	tevent_set(&b->in_call);
	b->rc = weft_future_result(b->never, 30, NULL); /* a blocking weft call */
	return P(5);
}

/* A call that returns with a cancel scope of its own still entered (a bug
 * of that call) does not leave it behind on the worker: the next call on
 * the same worker runs under no scope but its own. */
static weft_cancel_scope left_entered;

static void *leave_expired_scope(void *arg)
{
	(void)arg;
	weft_cancel_scope_enter(&left_entered, NULL, 0); /* already expired */
	return (void *)(intptr_t)weft_cancel_check();
}

static void *cancel_check_now(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)weft_cancel_check();
}

START_TEST(scope_left_entered_does_not_reach_the_next_call)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *f;
	void *v;
	wt_ok(weft_executor_submit(ex, &f, leave_expired_scope, NULL));
	wt_ok(weft_future_result(f, 10, &v));
	ck_assert_int_eq((int)(intptr_t)v, WEFT_ETIMEDOUT); /* the scope did apply */
	weft_future_release(f);
	wt_ok(weft_executor_submit(ex, &f, cancel_check_now, NULL));
	wt_ok(weft_future_result(f, 10, &v));
	ck_assert_int_eq((int)(intptr_t)v, 0);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

START_TEST(cancel_running_call)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	struct blocker b = {pending_future(), TEVENT_INIT, 1};
	weft_future *f, *queued, *after;
	wt_ok(weft_executor_submit(ex, &f, block_in_weft, &b));
	wt_ok(weft_executor_submit(ex, &queued, square, P(2)));
	ck_assert(tevent_wait(&b.in_call, 30));
	ck_assert(weft_future_running(f));
	wt_rc(weft_future_cancel(f), WEFT_ESTATE); /* Python cannot */
	double t0 = weft_monotonic();
	wt_ok(weft_future_cancel_running(f));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_ECANCELED);
	ck_assert(weft_monotonic() - t0 < WT_SLACK);
	ck_assert(weft_future_cancelled(f));
	wt_rc(b.rc, WEFT_ECANCELED);
	wt_ok(weft_future_cancel_running(f)); /* already cancelled */
	/* The worker goes on with a fresh scope: later calls are unaffected. */
	void *v;
	wt_ok(weft_future_result(queued, 30, &v));
	ck_assert_int_eq(I(v), 4);
	b.rc = 1;
	weft_future_cancel(b.never);
	weft_future_release(b.never);
	b.never = pending_future();
	wt_ok(weft_future_set_result(b.never, NULL));
	wt_ok(weft_executor_submit(ex, &after, block_in_weft, &b));
	wt_ok(weft_future_result(after, 30, &v));
	wt_ok(b.rc);
	wt_rc(weft_future_cancel_running(after), WEFT_ESTATE); /* finished */
	/* Pending: plain cancel. */
	weft_future *p = pending_future();
	wt_ok(weft_future_cancel_running(p));
	ck_assert(weft_future_cancelled(p));
	weft_future_release(p);
	/* A running future of an executor that cannot cancel it. */
	p = running_future();
	wt_rc(weft_future_cancel_running(p), WEFT_ENOTSUP);
	wt_rc(weft_future_cancel_running(NULL), WEFT_EINVAL);
	weft_future_release(p);
	weft_future_release(f);
	weft_future_release(queued);
	weft_future_release(after);
	weft_future_release(b.never);
	weft_executor_free(ex);
}
END_TEST

/* After cancel_running, the future's done callbacks (run by the worker as
 * the call ends) and the worker's next calls are not under the cancelled
 * token; a call that failed leaves no failure to the next one. */
struct after_cancel {
	weft_future *never;
	int cb_rc;
	tevent cb_ran;
};

static int wait_briefly(weft_future *f, void *arg)
{
	struct after_cancel *c = arg;
	c->cb_rc = weft_future_result(c->never, 0.01, NULL);
	tevent_set(&c->cb_ran);
	return 0;
}

static void *fail_once(void *arg)
{
	weft_fail(WEFT_EINVAL, "bad input %d", 7);
	return NULL;
}

START_TEST(callbacks_and_next_calls_after_cancel_running)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	struct blocker b = {pending_future(), TEVENT_INIT, 1};
	struct after_cancel c = {pending_future(), 1, TEVENT_INIT};
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, block_in_weft, &b));
	wt_ok(weft_future_add_done_callback(f, wait_briefly, &c));
	ck_assert(tevent_wait(&b.in_call, 30));
	wt_ok(weft_future_cancel_running(f));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_ECANCELED);
	ck_assert(tevent_wait(&c.cb_ran, 30));
	wt_rc(c.cb_rc, WEFT_ETIMEDOUT); /* not WEFT_ECANCELED */
	weft_future *g, *k;
	wt_ok(weft_executor_submit(ex, &g, fail_once, NULL));
	wt_ok(weft_executor_submit(ex, &k, square, P(5)));
	void *v = NULL;
	wt_rc(weft_future_result(g, 30, NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_future_error_message(g), "bad input 7");
	wt_ok(weft_future_result(k, 30, &v));
	ck_assert_int_eq(I(v), 25);
	weft_future_release(f);
	weft_future_release(g);
	weft_future_release(k);
	weft_future_cancel(b.never);
	weft_future_release(b.never);
	weft_future_cancel(c.never);
	weft_future_release(c.never);
	weft_executor_free(ex);
}
END_TEST

/* The same on a worker that has run a call before, whose later calls take
 * the loop's straight-line path (pool.c): cancel_running reaches the call,
 * the next call gets a fresh token, a failure is reported and not left to
 * the call after it, and a scope left entered does not leak either. */
START_TEST(warm_worker_cancel_running_failures_and_scopes)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *f;
	void *v = NULL;
	wt_ok(weft_executor_submit(ex, &f, square, P(3)));
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 9);
	weft_future_release(f);
	struct blocker b = {pending_future(), TEVENT_INIT, 1};
	wt_ok(weft_executor_submit(ex, &f, block_in_weft, &b));
	ck_assert(tevent_wait(&b.in_call, 30));
	wt_ok(weft_future_cancel_running(f));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_ECANCELED);
	wt_rc(b.rc, WEFT_ECANCELED);
	weft_future_release(f);
	weft_future *checks[2], *g, *k;
	wt_ok(weft_executor_submit(ex, &checks[0], cancel_check_now, NULL));
	wt_ok(weft_executor_submit(ex, &g, fail_once, NULL));
	wt_ok(weft_executor_submit(ex, &k, square, P(5)));
	wt_ok(weft_future_result(checks[0], 30, &v));
	ck_assert_int_eq((int)(intptr_t)v, 0); /* a fresh token */
	wt_rc(weft_future_result(g, 30, NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_future_error_message(g), "bad input 7");
	wt_ok(weft_future_result(k, 30, &v));
	ck_assert_int_eq(I(v), 25);
	int code = -1;
	wt_ok(weft_future_exception(k, 30, &code));
	ck_assert_int_eq(code, 0);
	wt_ok(weft_executor_submit(ex, &f, leave_expired_scope, NULL));
	wt_ok(weft_executor_submit(ex, &checks[1], cancel_check_now, NULL));
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq((int)(intptr_t)v, WEFT_ETIMEDOUT);
	wt_ok(weft_future_result(checks[1], 30, &v));
	ck_assert_int_eq((int)(intptr_t)v, 0);
	weft_future_release(f);
	weft_future_release(checks[0]);
	weft_future_release(checks[1]);
	weft_future_release(g);
	weft_future_release(k);
	weft_future_cancel(b.never);
	weft_future_release(b.never);
	weft_executor_free(ex);
}
END_TEST

/* A job a waiting call runs inline is not under that call's cancel scope:
 * cancel_running on the waiting call does not reach it. */
static struct {
	weft_executor *ex;
	tevent b2_started, release_b2, c_started;
	weft_future *z;
} inl;

static int b2(void *arg)
{
	tevent_set(&inl.b2_started);
	ck_assert(tevent_wait(&inl.release_b2, 30));
	return 0;
}

static void *call_a(void *arg)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, inl.ex));
	wt_ok(weft_task_group_spawn(g, b2, NULL));
	ck_assert(tevent_wait(&inl.b2_started, 30)); /* on the other worker */
	int rc = weft_task_group_wait(g, 30);        /* helps: runs C inline */
	weft_task_group_free(g);
	return P(rc);
}

static void *call_c(void *arg)
{
	tevent_set(&inl.c_started);
	return P(weft_future_result(inl.z, 30, NULL));
}

START_TEST(inline_jobs_are_not_under_the_waiters_scope)
{
	wt_ok(weft_thread_pool_new(&inl.ex, &(weft_thread_pool_opts){.max_workers = 2}));
	inl.z = pending_future();
	weft_future *a, *c;
	wt_ok(weft_executor_submit(inl.ex, &a, call_a, NULL));
	ck_assert(tevent_wait(&inl.b2_started, 30));
	wt_ok(weft_executor_submit(inl.ex, &c, call_c, NULL));
	ck_assert(tevent_wait(&inl.c_started, 30));
	wt_ok(weft_future_cancel_running(a));
	wt_ok(weft_future_set_result(inl.z, NULL));
	void *v;
	wt_ok(weft_future_result(c, 30, &v));
	ck_assert_int_eq(I(v), 0);   /* C's wait was not cancelled */
	tevent_set(&inl.release_b2); /* A frees its group: B2 must end */
	wt_rc(weft_future_result(a, 30, NULL), WEFT_ECANCELED);
	weft_future_release(a);
	weft_future_release(c);
	weft_future_release(inl.z);
	weft_executor_free(inl.ex);
}
END_TEST

/* A call run inline by a waiting worker counts that worker as searching as
 * it ends (so a quick resubmission reuses it); the helping worker must
 * stop counting itself when it goes back to its own job, or later
 * submissions would wait for a "searcher" that is not looking. */
static struct {
	weft_executor *ex;
	tevent t_started, release_t, a_waits_y;
	weft_future *b, *y;
} lk2;

static int t_blocks(void *arg)
{
	tevent_set(&lk2.t_started);
	ck_assert(tevent_wait(&lk2.release_t, 30));
	return 0;
}

static int release_t_soon(weft_future *f, void *arg)
{
	tevent_set(&lk2.release_t); /* B has run: let T end */
	return 0;
}

static void *call_a2(void *arg)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, lk2.ex));
	wt_ok(weft_task_group_spawn(g, t_blocks, NULL));
	ck_assert(tevent_wait(&lk2.t_started, 30));
	/* B goes on this worker's deque; the group wait below pops it first
	 * and runs it inline. */
	wt_ok(weft_executor_submit(lk2.ex, &lk2.b, square, P(3)));
	wt_ok(weft_future_add_done_callback(lk2.b, release_t_soon, NULL));
	wt_ok(weft_task_group_wait(g, 30));
	weft_task_group_free(g);
	ck_assert(tevent_wait(&lk2.a_waits_y, 30));
	return P(weft_future_result(lk2.y, 30, NULL)); /* Y needs another worker */
}

START_TEST(helping_worker_stops_counting_as_searcher)
{
	wt_ok(weft_thread_pool_new(&lk2.ex, &(weft_thread_pool_opts){.max_workers = 4}));
	weft__pool *p = weft__as_pool(lk2.ex);
	weft_future *a;
	wt_ok(weft_executor_submit(lk2.ex, &a, call_a2, NULL));
	ck_assert(tevent_wait(&lk2.release_t, 30));
	/* Let every worker but A's go to sleep, then submit Y. */
	double t0 = weft_monotonic();
	while (atomic_load(&p->sleepers) < atomic_load(&p->nworkers) - 1 && weft_monotonic() - t0 < 30)
		sched_yield();
	wt_ok(weft_executor_submit(lk2.ex, &lk2.y, square, P(4)));
	tevent_set(&lk2.a_waits_y);
	void *v;
	wt_ok(weft_future_result(a, 30, &v));
	wt_ok((int)I(v));
	weft_future_release(a);
	weft_future_release(lk2.b);
	weft_future_release(lk2.y);
	weft_executor_free(lk2.ex);
}
END_TEST

static weft_context_var *cvar;

static void *read_and_set_var(void *arg)
{
	void *v = weft_context_var_get_or(cvar, P(-1));
	wt_ok(weft_context_var_set(cvar, P(99), NULL));
	return v;
}

START_TEST(calls_run_in_a_copy_of_the_submitters_context)
{
	wt_ok(weft_context_var_new(&cvar, "request", NULL));
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, read_and_set_var, NULL));
	void *v;
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), -1); /* the submitter had no value */
	weft_future_release(f);
	wt_ok(weft_context_var_set(cvar, P(7), NULL));
	wt_ok(weft_executor_submit(ex, &f, read_and_set_var, NULL));
	wt_ok(weft_context_var_set(cvar, P(8), NULL)); /* after submit: not seen */
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 7);
	weft_future_release(f);
	/* The call's set stayed in its copy. */
	ck_assert_int_eq(I(weft_context_var_get_or(cvar, NULL)), 8);
	/* And the worker does not keep the previous call's context. */
	weft_context_token *tok;
	wt_ok(weft_context_var_set(cvar, P(1), &tok));
	wt_ok(weft_context_var_reset(cvar, tok));
	weft_context_token_free(tok);
	weft_context *empty;
	wt_ok(weft_context_new(&empty));
	wt_ok(weft_context_enter(empty));
	wt_ok(weft_executor_submit(ex, &f, read_and_set_var, NULL));
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), -1);
	weft_future_release(f);
	wt_ok(weft_context_exit(empty));
	weft_context_free(empty);
	weft_executor_free(ex);
	weft_context_var_free(cvar);
}
END_TEST

START_TEST(future_reference_limit)
{
	/* References are counted in 24 bits: the last one is refused. */
	weft_future *f = pending_future();
	long n = 0;
	int rc;
	while ((rc = weft_future_retain(f)) == 0)
		n++;
	wt_rc(rc, WEFT_ERANGE);
	ck_assert_int_ge(n, (1L << 24) - 3);
	for (long i = 0; i < n; i++)
		weft_future_release(f);
	wt_ok(weft_future_set_result(f, P(1)));
	void *v;
	wt_ok(weft_future_result(f, 0, &v));
	ck_assert_int_eq(I(v), 1);
	weft_future_release(f);
}
END_TEST

START_TEST(default_executor)
{
	weft_executor *a, *b;
	wt_ok(weft_executor_default(&a));
	wt_ok(weft_executor_default(&b));
	ck_assert_ptr_eq(a, b);
	int cpus = weft__cpu_count();
	ck_assert_int_eq(weft_thread_pool_max_workers(a), cpus + 4 < 32 ? cpus + 4 : 32);
	weft_future *f;
	wt_ok(weft_executor_submit(a, &f, square, P(5)));
	void *v;
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 25);
	weft_future_release(f);
	weft_executor_free(a); /* ignored */
	wt_ok(weft_executor_submit(a, &f, square, P(6)));
	wt_ok(weft_future_result(f, 30, &v));
	weft_future_release(f);
	wt_rc(weft_executor_default(NULL), WEFT_EINVAL);
}
END_TEST

static void *fork_in_child(void *arg)
{
	return NULL;
}

START_TEST(forked_child_refuses_the_parents_pool)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, square, P(3)));
	wt_ok(weft_future_result(f, 30, NULL));
	pid_t pid = fork();
	if (pid == 0) {
		weft_future *g;
		int ok = weft_executor_submit(ex, &g, fork_in_child, NULL) == WEFT_EBROKEN &&
		         weft_executor_shutdown(ex, true, false) == WEFT_EBROKEN &&
		         weft_future_result(f, 0, NULL) == 0;
		weft_executor_free(ex); /* forgets it */
		/* A fresh default pool works in the child (ThreadSanitizer cannot
		 * start threads after a multi-threaded fork). */
		weft_executor *d;
		if (!WEFT_TSAN_BUILD)
			ok = ok && weft_executor_default(&d) == 0 &&
			     weft_executor_submit(d, &g, square, P(4)) == 0 &&
			     weft_future_result(g, 30, NULL) == 0;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

/* The call in exit_with_running_call's child blocks until exit() has
 * begun: an atexit handler registered after the pool's opens the gate
 * (handlers run last-registered first), so the pool's join at exit finds
 * the call still running. */
static int exit_gate[2];

static void open_exit_gate(void)
{
	ssize_t n = write(exit_gate[1], "g", 1);
	(void)n;
}

static void *wait_for_exit_and_write(void *arg)
{
	char c;
	if (read(exit_gate[0], &c, 1) != 1)
		return P(-1);
	ssize_t n = write((int)I(arg), "apple", 5);
	return P(n);
}

/* bpo-43944: a process forked from a pool task exits normally (the child
 * must not try to join the parent's pool at exit). */
static void *fork_and_wait(void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		/* exit runs the atexit handlers: nothing to join here. Under
		 * AddressSanitizer the exit-time leak check would report the
		 * parent's memory as seen from the forking thread: skip it. */
		if (WEFT_ASAN_BUILD)
			_exit(7);
		exit(7);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return P(-1);
	return P(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

START_TEST(fork_from_a_pool_task)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, fork_and_wait, NULL));
	void *v;
	wt_ok(weft_future_result(f, 30, &v));
	ck_assert_int_eq(I(v), 7);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

/* test_interpreter_shutdown and gh-83386: exit() joins the pools, also one
 * shut down without waiting, and the default executor. */
static void exit_with_running_call(int how)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (pipe(exit_gate))
			_exit(3);
		weft_executor *ex;
		if (how == 2)
			weft_executor_default(&ex);
		else
			weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 3});
		weft_future *f;
		weft_executor_submit(ex, &f, wait_for_exit_and_write, P(fds[1]));
		if (how == 1)
			weft_executor_shutdown(ex, false, false);
		atexit(open_exit_gate);
		exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(fds[1]);
	char buf[16] = {0};
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	ck_assert_str_eq(buf, "apple");
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(exit_joins_the_pools)
{
	exit_with_running_call(0);
	exit_with_running_call(1);
	exit_with_running_call(2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = wt_tcase("pool", 60);
	tcase_add_test(tc, submit);
	tcase_add_test(tc, failure_code_and_message);
	tcase_add_test(tc, map_in_order);
	tcase_add_test(tc, map_exception_goes_on);
	tcase_add_test(tc, map_timeout_from_callable);
	tcase_add_test(tc, map_timeout);
	tcase_add_test(tc, map_current_future_cancel);
	tcase_add_test(tc, map_ends_when_the_callers_scope_is_cancelled);
	tcase_add_test(tc, map_close);
	tcase_add_test(tc, map_buffersize);
	tcase_add_test(tc, map_buffersize_when_buffer_is_full);
	tcase_add_test(tc, map_submits_without_iteration);
	tcase_add_test(tc, map_checks_arguments);
	tcase_add_test(tc, byte_tasks);
	tcase_add_test(tc, map_byte_tasks);
	tcase_add_test(tc, default_workers);
	tcase_add_test(tc, idle_thread_reuse);
	tcase_add_test(tc, saturation);
	tcase_add_test(tc, thread_names);
	tcase_add_test(tc, initializer);
	tcase_add_test(tc, failing_initializer_breaks_the_pool);
	tcase_add_test(tc, run_after_shutdown);
	tcase_add_test(tc, hang_issue12364);
	tcase_add_test(tc, cancel_futures);
	tcase_add_test(tc, hang_gh94440);
	tcase_add_test(tc, shutdown_no_wait_still_computes);
	tcase_add_test(tc, shutdown_from_a_callback_does_not_deadlock);
	tcase_add_test(tc, free_from_inside_a_call);
	tcase_add_test(tc, concurrent_shutdowns_both_wait);
	tcase_add_test(tc, submits_racing_a_shutdown);
	tcase_add_test(tc, submit_from_inside_a_call);
	tcase_add_test(tc, cancel_running_call);
	tcase_add_test(tc, scope_left_entered_does_not_reach_the_next_call);
	tcase_add_test(tc, callbacks_and_next_calls_after_cancel_running);
	tcase_add_test(tc, warm_worker_cancel_running_failures_and_scopes);
	tcase_add_test(tc, inline_jobs_are_not_under_the_waiters_scope);
	tcase_add_test(tc, helping_worker_stops_counting_as_searcher);
	tcase_add_test(tc, calls_run_in_a_copy_of_the_submitters_context);
	tcase_add_test(tc, future_reference_limit);
	tcase_add_test(tc, default_executor);
	tcase_add_test(tc, forked_child_refuses_the_parents_pool);
	tcase_add_test(tc, exit_joins_the_pools);
	tcase_add_test(tc, fork_from_a_pool_task);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
