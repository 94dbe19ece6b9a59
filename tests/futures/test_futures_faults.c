/* Error paths of the futures module under injected faults (wfault.h):
 * every ENOMEM from an allocation and every EAGAIN from pthread_create
 * returns the documented code, leaks nothing (ASan) and leaves the pool
 * usable. Faults are armed around one call and disarmed before any
 * assertion (Check allocates). Allocation faults are armed for the calling
 * thread only unless a test says otherwise, so that the pool's workers
 * keep running. */
#include "futures_util.h"
#include "wfault.h"

enum { MAX_ALLOCS = 64 };

static void *echo(void *arg)
{
	return arg;
}

/* Submits and checks one call: the pool works. */
static void pool_works(weft_executor *ex, long v)
{
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, echo, P(v)));
	void *r;
	wt_ok(weft_future_result(f, 30, &r));
	ck_assert_int_eq(I(r), v);
	weft_future_release(f);
}

static weft_executor *pool_new(int max)
{
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = max}));
	return ex;
}

START_TEST(pool_new_out_of_memory)
{
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		weft_executor *ex = NULL;
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc = weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2});
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(hits, 1);
			continue;
		}
		pool_works(ex, k);
		weft_executor_free(ex);
		if (!hits)
			break; /* every allocation of the call has failed once */
	}
}
END_TEST

/* Each allocation of a submit fails in turn, on a fresh pool (so the
 * first worker is started by the submit) and on a thread whose cache of
 * freed futures is empty. */
static void *submit_faults(void *arg)
{
	(void)arg;
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		weft_executor *ex = pool_new(2);
		weft_future *f = NULL;
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc = weft_executor_submit(ex, &f, echo, P(7));
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(hits, 1);
			ck_assert_int_eq(weft_thread_pool_threads(ex), 0);
		} else {
			void *r;
			wt_ok(weft_future_result(f, 30, &r));
			ck_assert_int_eq(I(r), 7);
			weft_future_release(f);
		}
		pool_works(ex, 8);
		weft_executor_free(ex);
		if (!rc && !hits)
			break;
	}
	return NULL;
}

START_TEST(submit_out_of_memory)
{
	wt_join(wt_spawn(submit_faults, NULL));
}
END_TEST

static int copy_task(const void *in, size_t len, weft_bytes *out)
{
	return weft_bytes_set(out, in, len);
}

START_TEST(submit_task_out_of_memory)
{
	weft_executor *ex = pool_new(2);
	pool_works(ex, 1); /* the thread's cache holds a future now */
	weft_future *f = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	int rc = weft_executor_submit_task(ex, &f, copy_task, "abc", 3);
	int hits = wt_fault_hits();
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM); /* the task's copy of its input */
	ck_assert_int_eq(hits, 1);
	wt_ok(weft_executor_submit_task(ex, &f, copy_task, "abc", 3));
	const void *data;
	size_t len;
	wt_ok(weft_future_result_bytes(f, 30, &data, &len));
	ck_assert_int_eq(len, 3);
	ck_assert_mem_eq(data, "abc", 3);
	weft_future_release(f);
	weft_executor_free(ex);
}
END_TEST

/* The submission that takes the last slot of the injector's block links
 * a new block; if that cannot be made, nothing is queued. */
START_TEST(injector_block_out_of_memory)
{
	enum { SLOTS = 127 }; /* WEFT__INJ_SLOTS */
	weft_executor *ex = pool_new(1);
	weft_future *fs[SLOTS];
	for (int i = 0; i < SLOTS - 1; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], echo, P(i)));
	for (int i = 0; i < SLOTS - 1; i++) {
		wt_ok(weft_future_result(fs[i], 30, NULL));
		weft_future_release(fs[i]);
	}
	/* The futures come from the thread's cache now: the only allocation
	 * left in the next submit is the block. */
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	int rc = weft_executor_submit(ex, &fs[0], echo, P(1));
	int hits = wt_fault_hits();
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	ck_assert_int_eq(hits, 1);
	for (int i = 0; i < 3 * SLOTS; i++)
		pool_works(ex, i);
	weft_executor_free(ex);
}
END_TEST

START_TEST(pool_start_without_threads)
{
	weft_executor *ex = pool_new(2);
	weft_future *f = NULL;
	wt_fault_arm_global(WT_FAULT_THREAD, 0, -1);
	int rc = weft_executor_submit(ex, &f, echo, P(1));
	int hits = wt_fault_hits();
	wt_fault_disarm();
	wt_rc(rc, WEFT_EAGAIN);
	ck_assert_int_eq(hits, 1);
	ck_assert_int_eq(weft_thread_pool_threads(ex), 0);
	pool_works(ex, 2);
	ck_assert_int_eq(weft_thread_pool_threads(ex), 1);
	weft_executor_free(ex);
}
END_TEST

struct blocker {
	tevent started, release;
};

static void *block(void *arg)
{
	struct blocker *b = arg;
	tevent_set(&b->started);
	tevent_wait(&b->release, 60);
	return NULL;
}

START_TEST(pool_growth_without_threads)
{
	/* A pool that cannot grow keeps the work queued for the workers it
	 * has; once threads can be made again it grows. */
	weft_executor *ex = pool_new(2);
	struct blocker b = {TEVENT_INIT, TEVENT_INIT};
	weft_future *fb, *f2, *f3;
	wt_ok(weft_executor_submit(ex, &fb, block, &b));
	ck_assert(tevent_wait(&b.started, 30));
	wt_fault_arm_global(WT_FAULT_THREAD, 0, -1);
	int rc = weft_executor_submit(ex, &f2, echo, P(2));
	int hits = wt_fault_hits();
	wt_fault_disarm();
	wt_ok(rc);
	ck_assert_int_eq(hits, 1);
	ck_assert_int_eq(weft_thread_pool_threads(ex), 1);
	ck_assert(!weft_future_done(f2));
	/* The next submission starts the second worker, which runs both
	 * while the first is still blocked. */
	wt_ok(weft_executor_submit(ex, &f3, echo, P(3)));
	void *r;
	wt_ok(weft_future_result(f2, 30, &r));
	ck_assert_int_eq(I(r), 2);
	wt_ok(weft_future_result(f3, 30, &r));
	ck_assert_int_eq(I(r), 3);
	ck_assert_int_eq(weft_thread_pool_threads(ex), 2);
	tevent_set(&b.release);
	wt_ok(weft_future_result(fb, 30, NULL));
	weft_future_release(fb);
	weft_future_release(f2);
	weft_future_release(f3);
	weft_executor_free(ex);
}
END_TEST

START_TEST(worker_allocations_fail)
{
	/* Allocations fail on every thread, the workers' included, while
	 * calls run: calls that need no memory still complete. */
	weft_executor *ex = pool_new(2);
	pool_works(ex, 1);
	enum { N = 50 };
	weft_future *fs[N];
	for (int i = 0; i < N; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], echo, P(i)));
	wt_fault_arm_global(WT_FAULT_ALLOC, 0, -1);
	int rcs[N];
	void *rs[N];
	for (int i = 0; i < N; i++)
		rcs[i] = weft_future_result(fs[i], 30, &rs[i]);
	wt_fault_disarm();
	for (int i = 0; i < N; i++) {
		wt_ok(rcs[i]);
		ck_assert_int_eq(I(rs[i]), i);
		weft_future_release(fs[i]);
	}
	pool_works(ex, 2);
	weft_executor_free(ex);
}
END_TEST

static void *args10[10];

static void *map_faults(void *arg)
{
	size_t buffersize = (size_t)(uintptr_t)arg;
	weft_executor *ex = pool_new(2);
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, 4 * MAX_ALLOCS);
		weft_map *m = NULL;
		int rcs[12], got = 0;
		void *rs[12];
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc =
		    weft_executor_map(ex, &m, echo, args10, 10, &(weft_map_opts){.buffersize = buffersize});
		while (!rc && got < 12 && (rcs[got] = weft_map_next(m, &rs[got])) != WEFT_EEMPTY)
			got++;
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(hits, 1);
		} else {
			/* A refill that failed is retried by the next call: every
			 * result comes, in order. */
			ck_assert_int_eq(got, 10);
			for (int i = 0; i < 10; i++) {
				wt_ok(rcs[i]);
				ck_assert_ptr_eq(rs[i], args10[i]);
			}
			weft_map_free(m);
			if (!hits)
				break;
		}
	}
	pool_works(ex, 1);
	weft_executor_free(ex);
	return NULL;
}

START_TEST(map_out_of_memory)
{
	for (int i = 0; i < 10; i++)
		args10[i] = P(100 + i);
	wt_join(wt_spawn(map_faults, P(0)));
	wt_join(wt_spawn(map_faults, P(2)));
}
END_TEST

static atomic_int ran;

static int count_task(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
	return 0;
}

START_TEST(task_group_out_of_memory)
{
	weft_executor *ex = pool_new(2);
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		weft_task_group *g = NULL;
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc = weft_task_group_new(&g, ex);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			continue;
		}
		/* Spawns that fail leave the group usable: the others run and
		 * wait succeeds. */
		atomic_store(&ran, 0);
		int spawned = 0, failed = 0;
		for (int i = 0; i < 20; i++) {
			wt_fault_arm(WT_FAULT_ALLOC, 0, i % 3 == 0 ? 1 : 0);
			int src = weft_task_group_spawn(g, count_task, NULL);
			wt_fault_disarm();
			if (src == 0)
				spawned++;
			else if (src == WEFT_ENOMEM)
				failed++;
			else
				wt_ok(src);
		}
		wt_ok(weft_task_group_wait(g, 30));
		ck_assert_int_eq(atomic_load(&ran), spawned);
		ck_assert_int_eq(spawned + failed, 20);
		ck_assert_int_ge(failed, 1);
		weft_task_group_free(g);
		if (!hits)
			break;
	}
	pool_works(ex, 1);
	weft_executor_free(ex);
}
END_TEST

static int sum_body(size_t lo, size_t hi, void *arg)
{
	atomic_long *sum = arg;
	for (size_t i = lo; i < hi; i++)
		atomic_fetch_add(sum, (long)i);
	return 0;
}

START_TEST(parallel_for_out_of_memory)
{
	weft_executor *ex = pool_new(2);
	enum { N = 2000 };
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		atomic_long sum = 0;
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc = weft_parallel_for(0, N, sum_body, &sum,
		                           &(weft_parallel_opts){.executor = ex, .grain = 16});
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(atomic_load(&sum), 0);
			continue;
		}
		ck_assert_int_eq(atomic_load(&sum), (long)N * (N - 1) / 2);
		if (!hits)
			break;
	}
	/* Splits that cannot be allocated on the workers are not made: the
	 * loop still covers the range. */
	atomic_long sum = 0;
	wt_fault_arm_global(WT_FAULT_ALLOC, 2, -1);
	int rc = weft_parallel_for(0, N, sum_body, &sum, &(weft_parallel_opts){.executor = ex, .grain = 16});
	wt_fault_disarm();
	wt_ok(rc);
	ck_assert_int_eq(atomic_load(&sum), (long)N * (N - 1) / 2);
	pool_works(ex, 1);
	weft_executor_free(ex);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("futures_faults");
	TCase *tc = wt_tcase("faults", 60);
	tcase_add_test(tc, pool_new_out_of_memory);
	tcase_add_test(tc, submit_out_of_memory);
	tcase_add_test(tc, submit_task_out_of_memory);
	tcase_add_test(tc, injector_block_out_of_memory);
	tcase_add_test(tc, pool_start_without_threads);
	tcase_add_test(tc, pool_growth_without_threads);
	tcase_add_test(tc, worker_allocations_fail);
	tcase_add_test(tc, map_out_of_memory);
	tcase_add_test(tc, task_group_out_of_memory);
	tcase_add_test(tc, parallel_for_out_of_memory);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
