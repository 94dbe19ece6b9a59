/* An unbalanced loop on two threads, in ms: iteration i costs about i
 * units, so a static split gives one thread three quarters of the work.
 * weft's parallel_for (lazy splitting: idle workers steal what is left)
 * against OpenMP's static and dynamic schedules, and one thread. */
#include "bench.h"

#include <stdatomic.h>
#include <time.h>
#include <weft.h>

/* Lets every pool's idle threads go to sleep before the next case runs:
 * libgomp, oneTBB and weft all spin a little after their work ends, and
 * on two cores that spinning would be charged to the next case. Called
 * after each case's timed part. */
static double settled(double figure)
{
	nanosleep(&(struct timespec){0, 20000000}, NULL);
	return figure;
}

#define N 20000UL

static unsigned long long expected;

/* Iteration i: i / 2 rounds of a little arithmetic. */
static inline unsigned long long iteration(size_t i)
{
	unsigned long long x = i;
	for (size_t k = 0; k < i / 2; k++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x >> 33;
}

static _Atomic unsigned long long total;

static int body(size_t lo, size_t hi, void *arg)
{
	unsigned long long s = 0;
	for (size_t i = lo; i < hi; i++)
		s += iteration(i);
	atomic_fetch_add_explicit(&total, s, memory_order_relaxed);
	return 0;
}

static weft_executor *pool;

static double weft_for(void *arg)
{
	total = 0;
	double t0 = bench_now();
	if (weft_parallel_for(0, N, body, NULL, &(weft_parallel_opts){.executor = pool}))
		return -1;
	double dt = bench_now() - t0;
	return settled(total == expected ? dt * 1e3 : -1);
}

#ifdef WEFT_HAVE_OPENMP
static double openmp_static(void *arg)
{
	unsigned long long s = 0;
	double t0 = bench_now();
#pragma omp parallel for schedule(static) num_threads(2) reduction(+ : s)
	for (size_t i = 0; i < N; i++)
		s += iteration(i);
	double dt = bench_now() - t0;
	return settled(s == expected ? dt * 1e3 : -1);
}

static double openmp_dynamic(void *arg)
{
	unsigned long long s = 0;
	double t0 = bench_now();
#pragma omp parallel for schedule(dynamic, 16) num_threads(2) reduction(+ : s)
	for (size_t i = 0; i < N; i++)
		s += iteration(i);
	double dt = bench_now() - t0;
	return settled(s == expected ? dt * 1e3 : -1);
}
#endif

static double one_thread(void *arg)
{
	total = 0;
	double t0 = bench_now();
	body(0, N, NULL);
	double dt = bench_now() - t0;
	return settled(total == expected ? dt * 1e3 : -1);
}

int main(void)
{
	body(0, N, NULL);
	expected = total;
	if (weft_thread_pool_new(&pool, &(weft_thread_pool_opts){.max_workers = 2}))
		return 1;
	bench_case cases[] = {
	    {"weft parallel_for (2 workers)", weft_for, NULL},
#ifdef WEFT_HAVE_OPENMP
	    {"OpenMP parallel for, static (2)", openmp_static, NULL},
	    {"OpenMP parallel for, dynamic,16 (2)", openmp_dynamic, NULL},
#endif
	    {"one thread", one_thread, NULL},
	};
	int rc = bench_run(&(bench_spec){.title = "unbalanced loop (iteration i costs ~i)", .unit = "ms"},
	                   cases, sizeof cases / sizeof cases[0]);
	weft_executor_free(pool);
	return rc;
}
