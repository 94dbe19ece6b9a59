/* multiprocessing.Pool: after CPython's _test_multiprocessing.py _TestPool
 * (test_apply, test_map, test_starmap, test_starmap_async, test_map_async,
 * test_map_async_callbacks, test_map_chunksize, test_async,
 * test_async_timeout, test_imap, test_imap_unordered,
 * test_imap_handle_iterable_exception, test_make_pool, test_terminate,
 * test_empty_iterable, test_context, test_traceback, test_enter),
 * _TestPoolWorkerErrors (test_async_error_callback) and
 * _TestPoolWorkerLifetime (test_pool_worker_lifetime,
 * test_pool_worker_lifetime_early_close). */
#include "test_pool_tasks.h"

#include "multiprocessing/pool_job.h"

static weft_pool *new_pool(int n)
{
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = n}));
	return p;
}

/* (a, b) -> a ** b as longs (Python's pow over packed arguments). */
static int t_pow(const void *in, size_t len, weft_bytes *out)
{
	size_t k;
	const void *a, *b;
	size_t la, lb;
	if (weft_args_count(in, len, &k) || k != 2 || weft_args_get(in, len, 0, &a, &la) ||
	    weft_args_get(in, len, 1, &b, &lb))
		return weft_fail(WEFT_EINVAL, "want two packed longs");
	long x = pt_long(a, la), y = pt_long(b, lb), r = 1;
	while (y-- > 0)
		r *= x;
	return weft_bytes_set(out, &r, sizeof r);
}
WEFT_TASK(t_pow, t_pow)

static long long_of(const weft_bytes *b)
{
	return pt_long(b->data, b->len);
}

START_TEST(apply)
{
	pt_setup();
	int fds = wt_open_fds();
	weft_pool *p = new_pool(2);
	ck_assert_int_eq(weft_pool_processes(p), 2);
	long x = 9;
	weft_bytes out = {0};
	wt_ok(weft_pool_apply(p, t_square, &x, sizeof x, &out, 30));
	ck_assert_int_eq(long_of(&out), 81);
	wt_rc(weft_pool_apply(p, t_fail, &x, sizeof x, &out, 30), WEFT_ERANGE);
	ck_assert_str_eq(weft_last_failure_message(), "bad value 9");
	wt_ok(weft_pool_apply(p, t_square, &x, sizeof x, NULL, 30));
	weft_bytes_free(&out);
	size_t n;
	wt_ok(weft_pool_pids(p, NULL, 0, &n));
	ck_assert_uint_eq(n, 2);
	weft_pool_free(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
}
END_TEST

START_TEST(map_and_chunksize)
{
	pt_setup();
	weft_pool *p = new_pool(2);
	enum { N = 100 };
	weft_bytes *in = pt_inputs(N);
	weft_bytes out[N];
	size_t chunks[] = {0, 1, 7, 100, 1000};
	for (size_t c = 0; c < 5; c++) {
		wt_ok(weft_pool_map(p, t_square, in, N, out, &(weft_pool_map_opts){.chunksize = chunks[c]},
		                    30));
		for (long i = 0; i < N; i++) {
			ck_assert_int_eq(long_of(&out[i]), i * i);
			weft_bytes_free(&out[i]);
		}
	}
	/* a failure: the first one's code; nothing in results */
	wt_rc(weft_pool_map(p, t_fail, in, 10, out, NULL, 30), WEFT_ERANGE);
	ck_assert(strncmp(weft_last_failure_message(), "bad value", 9) == 0);
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_null(out[i].data);
	/* empty */
	wt_ok(weft_pool_map(p, t_square, NULL, 0, NULL, NULL, 30));
	ck_assert_uint_eq(weft__pjob_default_chunk(100000, 2), 12500);
	ck_assert_uint_eq(weft__pjob_default_chunk(10, 2), 2);
	ck_assert_uint_eq(weft__pjob_default_chunk(0, 2), 1);
	pt_inputs_free(in, N);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static weft_bytes *pow_args(size_t n)
{
	weft_bytes *a = calloc(2 * n, sizeof *a);
	for (size_t i = 0; i < n; i++) {
		long x = (long)i, y = 3;
		wt_ok(weft_bytes_set(&a[2 * i], &x, sizeof x));
		wt_ok(weft_bytes_set(&a[2 * i + 1], &y, sizeof y));
	}
	return a;
}

START_TEST(starmap)
{
	pt_setup();
	weft_pool *p = new_pool(2);
	enum { N = 20 };
	weft_bytes *args = pow_args(N);
	weft_bytes out[N];
	wt_ok(weft_pool_starmap(p, t_pow, args, N, 2, out, NULL, 30));
	for (long i = 0; i < N; i++) {
		ck_assert_int_eq(long_of(&out[i]), i * i * i);
		weft_bytes_free(&out[i]);
	}
	weft_future *f;
	wt_ok(weft_pool_starmap_async(p, &f, t_pow, args, N, 2, out, &(weft_pool_map_opts){.chunksize = 3}));
	wt_ok(weft_future_result(f, 30, NULL));
	for (long i = 0; i < N; i++) {
		ck_assert_int_eq(long_of(&out[i]), i * i * i);
		weft_bytes_free(&out[i]);
	}
	weft_future_release(f);
	wt_rc(weft_pool_starmap(p, t_pow, args, N, 0, out, NULL, 30), WEFT_EINVAL);
	/* packing by hand: starmap(f, rows) == map(f, packed rows) */
	weft_bytes packed = {0};
	wt_ok(weft_args_pack(&packed, &args[6], 2));
	weft_bytes r = {0};
	wt_ok(weft_pool_apply(p, t_pow, packed.data, packed.len, &r, 30));
	ck_assert_int_eq(long_of(&r), 27);
	weft_bytes_free(&r);
	weft_bytes_free(&packed);
	for (int i = 0; i < 2 * N; i++)
		weft_bytes_free(&args[i]);
	free(args);
	weft_pool_free(p);
}
END_TEST

START_TEST(args_format)
{
	weft_bytes a[3] = {{"ab", 2}, {NULL, 0}, {"xyz", 3}}, packed = {0};
	wt_ok(weft_args_pack(&packed, a, 3));
	size_t k;
	wt_ok(weft_args_count(packed.data, packed.len, &k));
	ck_assert_uint_eq(k, 3);
	const void *d;
	size_t n;
	wt_ok(weft_args_get(packed.data, packed.len, 2, &d, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(d, "xyz", 3) == 0);
	wt_ok(weft_args_get(packed.data, packed.len, 1, &d, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(d);
	wt_rc(weft_args_get(packed.data, packed.len, 3, &d, &n), WEFT_EINVAL);
	wt_rc(weft_args_get(packed.data, packed.len - 1, 0, &d, &n), WEFT_EINVAL);
	wt_rc(weft_args_count("abc", 3, &k), WEFT_EINVAL);
	wt_rc(weft_args_count(NULL, 0, &k), WEFT_EINVAL);
	wt_rc(weft_args_get(packed.data, packed.len, 0, NULL, &n), WEFT_EINVAL);
	wt_rc(weft_args_pack(NULL, a, 3), WEFT_EINVAL);
	wt_rc(weft_args_pack(&packed, NULL, 3), WEFT_EINVAL);
	weft_bytes bad = {NULL, 4};
	wt_rc(weft_args_pack(&packed, &bad, 1), WEFT_EINVAL);
	wt_ok(weft_args_pack(&packed, NULL, 0));
	wt_ok(weft_args_count(packed.data, packed.len, &k));
	ck_assert_uint_eq(k, 0);
	weft_bytes_free(&packed);
}
END_TEST

typedef struct cb_state {
	_Atomic int ok, err;
	long sum;
	int code;
	char msg[64];
} cb_state;

static void on_value(const void *d, size_t n, void *arg)
{
	cb_state *s = arg;
	s->sum += pt_long(d, n);
	atomic_fetch_add(&s->ok, 1);
}

static void on_error(int code, const char *msg, void *arg)
{
	cb_state *s = arg;
	s->code = code;
	snprintf(s->msg, sizeof s->msg, "%s", msg);
	atomic_fetch_add(&s->err, 1);
}

static void on_results(const weft_bytes *r, size_t n, void *arg)
{
	cb_state *s = arg;
	for (size_t i = 0; i < n; i++)
		s->sum += long_of(&r[i]);
	atomic_fetch_add(&s->ok, 1);
}

START_TEST(async_and_callbacks)
{
	pt_setup();
	weft_pool *p = new_pool(2);
	cb_state s = {0};
	weft_future *f, *g;
	long x = 7;
	wt_ok(weft_pool_apply_async(
	    p, &f, t_square, &x, sizeof x,
	    &(weft_pool_apply_opts){.callback = on_value, .error_callback = on_error, .arg = &s}));
	wt_ok(weft_pool_apply_async(
	    p, &g, t_fail, &x, sizeof x,
	    &(weft_pool_apply_opts){.callback = on_value, .error_callback = on_error, .arg = &s}));
	ck_assert_int_eq(pt_result_long(f), 49);
	wt_rc(weft_future_result(g, 30, NULL), WEFT_ERANGE);
	ck_assert_str_eq(weft_future_error_message(g), "bad value 7");
	/* the callbacks ran before the results were ready */
	ck_assert_int_eq(atomic_load(&s.ok), 1);
	ck_assert_int_eq(s.sum, 49);
	ck_assert_int_eq(atomic_load(&s.err), 1);
	ck_assert_int_eq(s.code, WEFT_ERANGE);
	ck_assert_str_eq(s.msg, "bad value 7");
	weft_future_release(f);
	weft_future_release(g);

	/* map_async with callbacks */
	enum { N = 30 };
	weft_bytes *in = pt_inputs(N);
	weft_bytes out[N];
	s = (cb_state){0};
	wt_ok(weft_pool_map_async(
	    p, &f, t_square, in, N, out,
	    &(weft_pool_map_opts){.callback = on_results, .error_callback = on_error, .arg = &s}));
	wt_ok(weft_future_result(f, 30, NULL));
	ck_assert_int_eq(atomic_load(&s.ok), 1);
	long want = 0;
	for (long i = 0; i < N; i++) {
		want += i * i;
		ck_assert_int_eq(long_of(&out[i]), i * i);
		weft_bytes_free(&out[i]);
	}
	ck_assert_int_eq(s.sum, want);
	weft_future_release(f);
	s = (cb_state){0};
	wt_ok(weft_pool_map_async(
	    p, &f, t_fail, in, N, out,
	    &(weft_pool_map_opts){.callback = on_results, .error_callback = on_error, .arg = &s}));
	wt_rc(weft_future_result(f, 30, NULL), WEFT_ERANGE);
	ck_assert_int_eq(atomic_load(&s.ok), 0);
	ck_assert_int_eq(atomic_load(&s.err), 1);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_null(out[i].data);
	weft_future_release(f);
	/* an empty map_async is ready at once and calls back */
	s = (cb_state){0};
	wt_ok(weft_pool_map_async(p, &f, t_square, NULL, 0, NULL,
	                          &(weft_pool_map_opts){.callback = on_results, .arg = &s}));
	ck_assert(weft_future_done(f));
	ck_assert_int_eq(atomic_load(&s.ok), 1);
	weft_future_release(f);
	pt_inputs_free(in, N);
	weft_pool_free(p);
}
END_TEST

START_TEST(async_timeout)
{
	pt_setup();
	weft_pool *p = new_pool(1);
	weft_future *f;
	long x = 4;
	wt_ok(weft_pool_apply_async(p, &f, t_gated, &x, sizeof x, NULL));
	double t0 = weft_monotonic();
	wt_rc(weft_future_result(f, 0.2, NULL), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.2 && dt < 0.2 + WT_SLACK, "%f", dt);
	ck_assert(!weft_future_done(f));
	/* apply's own wait times out too; the call goes on */
	wt_rc(weft_pool_apply(p, t_square, &x, sizeof x, NULL, 0.1), WEFT_ETIMEDOUT);
	weft_event_set(&pt->gate);
	ck_assert_int_eq(pt_result_long(f), 16);
	weft_future_release(f);
	weft_pool_free(p);
}
END_TEST

START_TEST(imap_ordered_and_unordered)
{
	pt_setup();
	weft_pool *p = new_pool(2);
	enum { N = 50 };
	weft_bytes *in = pt_inputs(N);
	size_t chunks[] = {0, 1, 7};
	for (int c = 0; c < 3; c++) {
		weft_pool_iter *it;
		wt_ok(weft_pool_imap(p, &it, t_square, in, N, &(weft_pool_map_opts){.chunksize = chunks[c]}));
		weft_bytes out = {0};
		size_t idx;
		for (long i = 0; i < N; i++) {
			wt_ok(weft_pool_iter_next(it, &out, &idx, 30));
			ck_assert_uint_eq(idx, (size_t)i);
			ck_assert_int_eq(long_of(&out), i * i);
		}
		wt_rc(weft_pool_iter_next(it, &out, &idx, 30), WEFT_EEMPTY);
		weft_bytes_free(&out);
		weft_pool_iter_free(it);

		wt_ok(weft_pool_imap_unordered(p, &it, t_square, in, N,
		                               &(weft_pool_map_opts){.chunksize = chunks[c]}));
		bool seen[N] = {0};
		for (long i = 0; i < N; i++) {
			wt_ok(weft_pool_iter_next(it, &out, &idx, 30));
			ck_assert_uint_lt(idx, N);
			ck_assert(!seen[idx]);
			seen[idx] = true;
			ck_assert_int_eq(long_of(&out), (long)(idx * idx));
		}
		wt_rc(weft_pool_iter_next(it, NULL, NULL, 30), WEFT_EEMPTY);
		weft_bytes_free(&out);
		weft_pool_iter_free(it);
	}
	/* failures come at their place; iteration goes on */
	weft_pool_iter *it;
	wt_ok(weft_pool_imap(p, &it, t_fail, in, 3, NULL));
	for (int i = 0; i < 3; i++) {
		wt_rc(weft_pool_iter_next(it, NULL, NULL, 30), WEFT_ERANGE);
		char want[32];
		snprintf(want, sizeof want, "bad value %d", i);
		ck_assert_str_eq(weft_pool_iter_error_message(it), want);
	}
	wt_rc(weft_pool_iter_next(it, NULL, NULL, 30), WEFT_EEMPTY);
	weft_pool_iter_free(it);
	/* an iterator waits with a timeout, and may be dropped early */
	wt_ok(weft_pool_imap(p, &it, t_gated, in, 4, NULL));
	double t0 = weft_monotonic();
	wt_rc(weft_pool_iter_next(it, NULL, NULL, 0.1), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.1);
	weft_event_set(&pt->gate);
	wt_ok(weft_pool_iter_next(it, NULL, NULL, 30));
	weft_pool_iter_free(it);
	/* empty */
	wt_ok(weft_pool_imap(p, &it, t_square, NULL, 0, NULL));
	wt_rc(weft_pool_iter_next(it, NULL, NULL, 0), WEFT_EEMPTY);
	weft_pool_iter_free(it);
	pt_inputs_free(in, N);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

static int t_unregistered(const void *in, size_t len, weft_bytes *out)
{
	return 0;
}

START_TEST(bad_arguments)
{
	pt_setup();
	weft_pool *p;
	wt_rc(weft_pool_new(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_new(&p, &(weft_pool_opts){.processes = -1}), WEFT_EINVAL);
	wt_rc(weft_pool_new(&p, &(weft_pool_opts){.maxtasksperchild = -1}), WEFT_EINVAL);
	wt_rc(weft_pool_new(&p, &(weft_pool_opts){.task_timeout = -2}), WEFT_EINVAL);
	p = new_pool(1);
	long x = 1;
	weft_bytes in = {&x, sizeof x}, out[1], nul = {NULL, 3};
	weft_future *f;
	weft_pool_iter *it;
	wt_rc(weft_pool_apply(NULL, t_square, &x, sizeof x, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_apply(p, NULL, &x, sizeof x, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_apply(p, t_square, NULL, 8, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_apply(p, t_square, &x, sizeof x, NULL, -2), WEFT_EINVAL);
	wt_rc(weft_pool_apply(p, t_unregistered, &x, sizeof x, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_apply_async(p, NULL, t_square, &x, sizeof x, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_apply_async(p, &f, t_square, &x, sizeof x, &(weft_pool_apply_opts){.timeout = NAN}),
	      WEFT_EINVAL);
	wt_rc(weft_pool_map(p, t_square, NULL, 1, out, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_map(p, t_square, &in, 1, NULL, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_map(p, t_square, &nul, 1, out, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_map(p, t_unregistered, &in, 1, out, NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_map(p, t_square, &in, 1, out, NULL, NAN), WEFT_EINVAL);
	wt_rc(weft_pool_map(p, t_square, &in, 1, out, &(weft_pool_map_opts){.callback = on_results}, 1),
	      WEFT_EINVAL); /* callbacks belong to map_async */
	wt_rc(weft_pool_map_async(p, NULL, t_square, &in, 1, out, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_imap(p, NULL, t_square, &in, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_imap(p, &it, t_square, NULL, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_imap_unordered(p, &it, t_unregistered, &in, 1, NULL), WEFT_EINVAL);
	wt_rc(weft_pool_iter_next(NULL, NULL, NULL, 1), WEFT_EINVAL);
	ck_assert_str_eq(weft_pool_iter_error_message(NULL), "");
	weft_pool_iter_free(NULL);
	wt_rc(weft_pool_join(p, 1), WEFT_ESTATE); /* still running: Python's ValueError */
	wt_rc(weft_pool_close(NULL), WEFT_EINVAL);
	wt_rc(weft_pool_terminate(NULL), WEFT_EINVAL);
	wt_rc(weft_pool_join(NULL, 1), WEFT_EINVAL);
	wt_rc(weft_pool_pids(NULL, NULL, 0, NULL), WEFT_EINVAL);
	ck_assert_int_eq(weft_pool_processes(NULL), 0);
	weft_pool_free(NULL);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(close_join_terminate)
{
	pt_setup();
	/* close then join: queued calls finish first */
	weft_pool *p = new_pool(2);
	weft_future *fs[10];
	for (long i = 0; i < 10; i++)
		wt_ok(weft_pool_apply_async(p, &fs[i], t_square, &i, sizeof i, NULL));
	wt_ok(weft_pool_close(p));
	long x = 1;
	weft_future *f;
	wt_rc(weft_pool_apply_async(p, &f, t_square, &x, sizeof x, NULL), WEFT_ESHUTDOWN);
	wt_ok(weft_pool_join(p, 30));
	for (long i = 0; i < 10; i++) {
		ck_assert(weft_future_done(fs[i]));
		ck_assert_int_eq(pt_result_long(fs[i]), i * i);
		weft_future_release(fs[i]);
	}
	mpt_no_children();
	weft_pool_free(p);

	/* terminate: running and queued calls end with WEFT_ECANCELED, promptly */
	p = new_pool(2);
	for (long i = 0; i < 10; i++)
		wt_ok(weft_pool_apply_async(p, &fs[i], t_hang, &i, sizeof i, NULL));
	wt_ok(weft_sem_acquire(&pt->started, 30));
	double t0 = weft_monotonic();
	wt_ok(weft_pool_terminate(p));
	ck_assert(weft_monotonic() - t0 < WT_SLACK);
	for (int i = 0; i < 10; i++) {
		wt_rc(weft_future_result(fs[i], 0, NULL), WEFT_ECANCELED);
		weft_future_release(fs[i]);
	}
	wt_ok(weft_pool_join(p, 30));
	mpt_no_children();
	wt_rc(weft_pool_apply(p, t_square, &x, sizeof x, NULL, 1), WEFT_ESHUTDOWN);
	weft_pool_free(p);

	/* free (Python's `with` exit) terminates */
	p = new_pool(1);
	wt_ok(weft_pool_apply_async(p, &f, t_hang, &x, sizeof x, NULL));
	wt_ok(weft_sem_acquire(&pt->started, 30));
	weft_pool_free(p);
	wt_rc(weft_future_result(f, 0, NULL), WEFT_ECANCELED);
	weft_future_release(f);
	mpt_no_children();
}
END_TEST

START_TEST(worker_lifetime)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 3, .maxtasksperchild = 10}));
	pid_t first[3];
	size_t n;
	wt_ok(weft_pool_pids(p, first, 3, &n));
	ck_assert_uint_eq(n, 3);
	enum { N = 100 };
	weft_future *fs[N];
	for (long i = 0; i < N; i++)
		wt_ok(weft_pool_apply_async(p, &fs[i], t_pid, NULL, 0, NULL));
	int fresh = 0;
	for (int i = 0; i < N; i++) {
		const void *d;
		size_t len;
		wt_ok(weft_future_result_bytes(fs[i], 30, &d, &len));
		pid_t pid;
		memcpy(&pid, d, sizeof pid);
		fresh += pid != first[0] && pid != first[1] && pid != first[2];
		weft_future_release(fs[i]);
	}
	/* 100 calls, at most 30 by the first three workers */
	ck_assert_int_ge(fresh, 70);
	wt_ok(weft_pool_close(p));
	wt_ok(weft_pool_join(p, 30));
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

START_TEST(initializer_runs_in_each)
{
	pt_setup();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 3, .initializer = init_count}));
	weft_bytes *in = pt_inputs(9);
	weft_bytes out[9];
	wt_ok(weft_pool_map(p, t_square, in, 9, out, NULL, 30));
	for (int i = 0; i < 9; i++)
		weft_bytes_free(&out[i]);
	wt_ok(weft_pool_close(p));
	wt_ok(weft_pool_join(p, 30));
	ck_assert_int_eq(atomic_load(&pt->inits), 3);
	weft_pool_free(p);
	pt_inputs_free(in, 9);
}
END_TEST

/* A daemonic process (a Pool's worker) may not make a pool. */
static int t_nested_pool(const void *in, size_t len, weft_bytes *out)
{
	weft_pool *p;
	int rc = weft_pool_new(&p, NULL);
	return weft_bytes_set(out, &rc, sizeof rc);
}
WEFT_TASK(t_nested_pool, t_nested_pool)

START_TEST(nested_pool_refused)
{
	pt_setup();
	weft_pool *p = new_pool(1);
	weft_bytes out = {0};
	wt_ok(weft_pool_apply(p, t_nested_pool, NULL, 0, &out, 30));
	int rc;
	memcpy(&rc, out.data, sizeof rc);
	wt_rc(rc, WEFT_ESTATE);
	weft_bytes_free(&out);
	weft_pool_free(p);
}
END_TEST

/* join with a timeout; a pool in a forked child is not the child's. */
START_TEST(join_timeout_and_fork)
{
	pt_setup();
	weft_pool *p = new_pool(1);
	long x = 3;
	weft_future *f;
	wt_ok(weft_pool_apply_async(p, &f, t_gated, &x, sizeof x, NULL));
	wt_ok(weft_sem_acquire(&pt->started, 30));
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		bool ok = weft_pool_apply(p, t_square, &x, sizeof x, NULL, 1) == WEFT_EBROKEN &&
		          weft_pool_close(p) == WEFT_EBROKEN && weft_pool_terminate(p) == WEFT_EBROKEN &&
		          weft_pool_join(p, 1) == WEFT_EBROKEN;
		_exit(ok ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	wt_ok(weft_pool_close(p));
	double t0 = weft_monotonic();
	wt_rc(weft_pool_join(p, 0.1), WEFT_ETIMEDOUT); /* the gated call still runs */
	ck_assert(weft_monotonic() - t0 >= 0.1);
	wt_rc(weft_pool_join(p, NAN), WEFT_EINVAL);
	weft_event_set(&pt->gate);
	wt_ok(weft_pool_join(p, 30));
	ck_assert_int_eq(pt_result_long(f), 9);
	weft_future_release(f);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

/* A blocking call inside a cancelled scope returns WEFT_ECANCELED; the
 * call itself goes on. */
START_TEST(cancel_scope)
{
	pt_setup();
	weft_pool *p = new_pool(1);
	weft_cancel *tok;
	wt_ok(weft_cancel_new(&tok, NULL));
	wt_ok(weft_cancel_cancel(tok));
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, tok, WEFT_FOREVER));
	long x = 5;
	wt_rc(weft_pool_apply(p, t_gated, &x, sizeof x, NULL, 30), WEFT_ECANCELED);
	weft_bytes *in = pt_inputs(2), out[2];
	wt_rc(weft_pool_map(p, t_square, in, 2, out, NULL, 30), WEFT_ECANCELED);
	weft_pool_iter *it;
	wt_ok(weft_pool_imap(p, &it, t_gated, in, 2, NULL));
	wt_rc(weft_pool_iter_next(it, NULL, NULL, 30), WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&sc));
	weft_cancel_release(tok);
	weft_event_set(&pt->gate);
	wt_ok(weft_pool_iter_next(it, NULL, NULL, 30));
	weft_pool_iter_free(it);
	pt_inputs_free(in, 2);
	wt_ok(weft_pool_close(p));
	wt_ok(weft_pool_join(p, 30));
	weft_pool_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = wt_tcase("pool", 60);
	tcase_add_test(tc, apply);
	tcase_add_test(tc, map_and_chunksize);
	tcase_add_test(tc, starmap);
	tcase_add_test(tc, args_format);
	tcase_add_test(tc, async_and_callbacks);
	tcase_add_test(tc, async_timeout);
	tcase_add_test(tc, imap_ordered_and_unordered);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, close_join_terminate);
	tcase_add_test(tc, worker_lifetime);
	tcase_add_test(tc, initializer_runs_in_each);
	tcase_add_test(tc, nested_pool_refused);
	tcase_add_test(tc, join_timeout_and_fork);
	tcase_add_test(tc, cancel_scope);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
