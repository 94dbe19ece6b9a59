/* Out of memory and out of threads (tests/common/wfault.h): every
 * allocation of Pipe, the process queue, Pool and ProcessPoolExecutor
 * creation, of a receive and of a map fails in turn, and so does the
 * creation of a pool's manager thread. Each call returns its documented
 * code, leaks nothing (ASan, open descriptors), leaves no child process
 * and nothing in /dev/shm, and the objects that existed stay usable. */
#include "mp_test.h"
#include "wfault.h"

#include <pthread.h>
#include <weft/multiprocessing.h>

static long pt_long(const void *in, size_t len)
{
	long x = 0;
	if (len == sizeof x)
		memcpy(&x, in, sizeof x);
	return x;
}

/* Upper bound on the allocations one call makes here; a loop that does
 * not reach success by then is a bug (an allocation retried forever). */
enum { MAX_STEPS = 400 };

/* x -> x * x (a long). */
static int f_square(const void *in, size_t len, weft_bytes *out)
{
	long x = pt_long(in, len) * pt_long(in, len);
	return weft_bytes_set(out, &x, sizeof x);
}
WEFT_TASK(f_square, f_square)

/* Arms an allocation failure after `skip` successful allocations of the
 * calling thread. */
static void fail_alloc_after(int skip)
{
	wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
}

/* Disarms; true when a failure was injected since the arm. */
static bool disarm_hit(void)
{
	int hits = wt_fault_hits();
	wt_fault_disarm();
	return hits > 0;
}

START_TEST(pipe_enomem)
{
	int fds = wt_open_fds();
	for (int skip = 0;; skip++) {
		ck_assert_int_lt(skip, MAX_STEPS);
		weft_connection *a = NULL, *b = NULL;
		fail_alloc_after(skip);
		int rc = weft_pipe(&a, &b, NULL);
		if (!disarm_hit()) {
			wt_ok(rc);
			weft_connection_close(a);
			weft_connection_close(b);
			break;
		}
		wt_rc(rc, WEFT_ENOMEM);
		ck_assert_int_eq(wt_open_fds(), fds);
	}
	/* A receive that cannot get its buffer: ENOMEM, the message stays. */
	weft_connection *a, *b;
	wt_ok(weft_pipe(&a, &b, NULL));
	wt_ok(weft_connection_send_bytes(a, "kept", 4, 1));
	weft_bytes m = {0};
	fail_alloc_after(0);
	int rc = weft_connection_recv_bytes(b, &m, 0, 1);
	ck_assert(disarm_hit());
	wt_rc(rc, WEFT_ENOMEM);
	for (int skip = 0;; skip++) { /* recv_bytes: read-ahead buffer, then the message */
		ck_assert_int_lt(skip, MAX_STEPS);
		fail_alloc_after(skip);
		rc = weft_connection_recv_bytes(b, &m, 0, 1);
		if (!disarm_hit())
			break;
		wt_rc(rc, WEFT_ENOMEM);
	}
	wt_ok(rc);
	ck_assert_uint_eq(m.len, 4);
	ck_assert_mem_eq(m.data, "kept", 4);
	weft_bytes_free(&m);
	weft_connection_close(a);
	weft_connection_close(b);
	ck_assert_int_eq(wt_open_fds(), fds);
}
END_TEST

START_TEST(queue_enomem)
{
	int fds = wt_open_fds();
	int shm = mpt_shm_entries("weft");
	for (size_t maxsize = 0; maxsize < 2; maxsize++) {
		for (int skip = 0;; skip++) {
			ck_assert_int_lt(skip, MAX_STEPS);
			weft_mp_queue *q = NULL;
			fail_alloc_after(skip);
			int rc = weft_mp_queue_new(&q, &(weft_mp_queue_opts){.maxsize = maxsize * 3});
			if (!disarm_hit()) {
				wt_ok(rc);
				/* A get that cannot allocate the message keeps it. */
				wt_ok(weft_mp_queue_put(q, "m", 1, 1));
				weft_bytes m = {0};
				fail_alloc_after(0);
				rc = weft_mp_queue_get(q, &m, 1);
				bool hit = disarm_hit();
				if (hit)
					wt_rc(rc, WEFT_ENOMEM);
				else
					wt_ok(rc);
				if (hit)
					wt_ok(weft_mp_queue_get(q, &m, 1));
				ck_assert_uint_eq(m.len, 1);
				weft_bytes_free(&m);
				weft_mp_queue_free(q);
				break;
			}
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(wt_open_fds(), fds);
		}
	}
	ck_assert_int_eq(wt_open_fds(), fds);
	ck_assert_int_eq(mpt_shm_entries("weft"), shm);
}
END_TEST

/* Creation of a pool (its workers fork from the calling thread, so a
 * failure the parent did not reach may strike a child instead: the pool
 * then either starts or reports it; either way nothing is left over). */
START_TEST(pool_new_enomem)
{
	int fds = wt_open_fds();
	/* First the calling thread's allocations, then every thread's (the
	 * manager starts the workers): a worker that could not be started
	 * is tried again; when none could be, weft_pool_new says why. */
	for (int skip = 0, global = 0; global < 2; skip++) {
		ck_assert_int_lt(skip, MAX_STEPS);
		weft_pool *p = NULL;
		if (global)
			wt_fault_arm_global(WT_FAULT_ALLOC, skip, 1);
		else
			fail_alloc_after(skip);
		int rc = weft_pool_new(&p, &(weft_pool_opts){.processes = 2});
		bool hit = disarm_hit();
		if (rc) {
			ck_assert(hit);
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_ptr_null(p);
		} else {
			weft_bytes in = {&(long){7}, sizeof(long)}, out = {0};
			rc = weft_pool_map(p, f_square, &in, 1, &out, NULL, 30);
			wt_ok(rc);
			ck_assert_int_eq(pt_long(out.data, out.len), 49);
			weft_bytes_free(&out);
			weft_pool_free(p);
		}
		mpt_no_children();
		ck_assert_int_eq(wt_open_fds(), fds);
		if (!hit) {
			global++;
			skip = -1;
		}
	}
}
END_TEST

START_TEST(ppexec_new_enomem)
{
	int fds = wt_open_fds();
	for (int skip = 0;; skip++) {
		ck_assert_int_lt(skip, MAX_STEPS);
		weft_executor *ex = NULL;
		fail_alloc_after(skip);
		int rc = weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_workers = 1});
		bool hit = disarm_hit();
		if (!hit) {
			wt_ok(rc);
			weft_executor_free(ex);
			break;
		}
		wt_rc(rc, WEFT_ENOMEM);
		ck_assert_int_eq(wt_open_fds(), fds);
	}
	mpt_no_children();
}
END_TEST

/* A map whose caller-side allocations fail one by one: ENOMEM with every
 * result {NULL, 0}, and the pool goes on serving. */
START_TEST(map_enomem)
{
	enum { N = 40 };
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	long xs[N];
	weft_bytes in[N], out[N];
	for (int i = 0; i < N; i++) {
		xs[i] = i;
		in[i] = (weft_bytes){&xs[i], sizeof xs[i]};
	}
	int failed = 0;
	for (int skip = 0;; skip++) {
		ck_assert_int_lt(skip, MAX_STEPS);
		fail_alloc_after(skip);
		int rc = weft_pool_map(p, f_square, in, N, out, &(weft_pool_map_opts){.chunksize = 7}, 30);
		if (!disarm_hit()) {
			wt_ok(rc);
			for (int i = 0; i < N; i++)
				ck_assert_int_eq(pt_long(out[i].data, out[i].len), (long)i * i);
			for (int i = 0; i < N; i++)
				weft_bytes_free(&out[i]);
			break;
		}
		/* The failure may strike a message (weft_fail's copy) rather
		 * than the map: the map's own outcome is then still whole. */
		if (rc == 0) {
			for (int i = 0; i < N; i++)
				weft_bytes_free(&out[i]);
			continue;
		}
		wt_rc(rc, WEFT_ENOMEM);
		failed++;
		for (int i = 0; i < N; i++)
			ck_assert(out[i].data == NULL && out[i].len == 0);
	}
	ck_assert_int_gt(failed, 0);
	/* The manager thread's allocations (a unit's output buffer). */
	wt_fault_arm_global(WT_FAULT_ALLOC, 0, -1);
	int rc = weft_pool_map(p, f_square, in, N, out, &(weft_pool_map_opts){.chunksize = 7}, 30);
	wt_fault_disarm();
	ck_assert(rc == 0 || rc == WEFT_ENOMEM);
	for (int i = 0; i < N; i++)
		weft_bytes_free(&out[i]);
	wt_ok(weft_pool_map(p, f_square, in, N, out, NULL, 30));
	ck_assert_int_eq(pt_long(out[N - 1].data, out[N - 1].len), (long)(N - 1) * (N - 1));
	for (int i = 0; i < N; i++)
		weft_bytes_free(&out[i]);
	weft_pool_free(p);
	mpt_no_children();
}
END_TEST

/* A fixed-record map whose allocations fail one by one (the caller's,
 * then every thread's): ENOMEM, nothing leaked, and the pool serves the
 * next map. */
START_TEST(map_fixed_enomem)
{
	enum { N = 40 };
	int fds = wt_open_fds();
	weft_pool *p;
	wt_ok(weft_pool_new(&p, &(weft_pool_opts){.processes = 2}));
	long xs[N], ys[N];
	for (int i = 0; i < N; i++)
		xs[i] = i;
	int failed = 0;
	for (int skip = 0;; skip++) {
		ck_assert_int_lt(skip, MAX_STEPS);
		fail_alloc_after(skip);
		int rc = weft_pool_map_fixed(p, f_square, xs, sizeof *xs, N, ys, sizeof *ys,
		                             &(weft_pool_map_opts){.chunksize = 7}, 30);
		if (!disarm_hit()) {
			wt_ok(rc);
			for (int i = 0; i < N; i++)
				ck_assert_int_eq(ys[i], (long)i * i);
			break;
		}
		ck_assert_msg(rc == 0 || rc == WEFT_ENOMEM, "%s", weft_errname(rc));
		failed += rc == WEFT_ENOMEM;
	}
	ck_assert_int_gt(failed, 0);
	/* The async form: ENOMEM and no future, or a future that succeeds. */
	failed = 0;
	for (int skip = 0;; skip++) {
		ck_assert_int_lt(skip, MAX_STEPS);
		weft_future *f = NULL;
		fail_alloc_after(skip);
		int rc = weft_pool_map_fixed_async(p, &f, f_square, xs, sizeof *xs, N, ys, sizeof *ys,
		                                   &(weft_pool_map_opts){.chunksize = 7});
		bool hit = disarm_hit();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_ptr_null(f);
			failed++;
			continue;
		}
		wt_ok(weft_future_result(f, 30, NULL));
		weft_future_release(f);
		if (!hit)
			break;
	}
	ck_assert_int_gt(failed, 0);
	/* Every thread's allocations, the manager's too. */
	wt_fault_arm_global(WT_FAULT_ALLOC, 0, -1);
	int rc = weft_pool_map_fixed(p, f_square, xs, sizeof *xs, N, ys, sizeof *ys, NULL, 30);
	wt_fault_disarm();
	ck_assert(rc == 0 || rc == WEFT_ENOMEM);
	for (int i = 0; i < N; i++)
		ys[i] = 0;
	wt_ok(weft_pool_map_fixed(p, f_square, xs, sizeof *xs, N, ys, sizeof *ys, NULL, 30));
	ck_assert_int_eq(ys[N - 1], (long)(N - 1) * (N - 1));
	weft_pool_free(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
}
END_TEST

/* No thread for the manager: EAGAIN, the forked processes are gone. */
START_TEST(threads_eagain)
{
	int fds = wt_open_fds();
	weft_pool *p = NULL;
	wt_fault_arm(WT_FAULT_THREAD, 0, -1);
	int rc = weft_pool_new(&p, &(weft_pool_opts){.processes = 2});
	bool hit = disarm_hit();
	ck_assert(hit);
	wt_rc(rc, WEFT_EAGAIN);
	ck_assert_ptr_null(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
	/* The executor starts its manager at the first submission, which
	 * fails with EAGAIN; a later one starts it. */
	weft_executor *ex;
	wt_ok(weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_workers = 1}));
	weft_future *f = NULL;
	long x = 5;
	wt_fault_arm(WT_FAULT_THREAD, 0, -1);
	rc = weft_executor_submit_task(ex, &f, f_square, &x, sizeof x);
	hit = disarm_hit();
	ck_assert(hit);
	wt_rc(rc, WEFT_EAGAIN);
	ck_assert_ptr_null(f);
	wt_ok(weft_executor_submit_task(ex, &f, f_square, &x, sizeof x));
	const void *d;
	size_t len;
	wt_ok(weft_future_result_bytes(f, 30, &d, &len));
	ck_assert_int_eq(pt_long(d, len), 25);
	weft_future_release(f);
	weft_executor_free(ex);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds);
}
END_TEST

int main(void)
{
	/* A forked child (fork server, worker) inherits the armed fault of
	 * the thread that forked it; the faults are meant for this process. */
	pthread_atfork(NULL, NULL, wt_fault_disarm);
	Suite *s = suite_create("mp_faults");
	TCase *tc = wt_tcase("mp_faults", 120);
	tcase_add_test(tc, pipe_enomem);
	tcase_add_test(tc, queue_enomem);
	tcase_add_test(tc, pool_new_enomem);
	tcase_add_test(tc, ppexec_new_enomem);
	tcase_add_test(tc, map_enomem);
	tcase_add_test(tc, map_fixed_enomem);
	tcase_add_test(tc, threads_eagain);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
