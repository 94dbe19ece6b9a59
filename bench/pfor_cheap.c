/* parallel_for over 10^8 cheap iterations on two threads, in ms: weft's
 * parallel_reduce and parallel_for (lazy splitting on the compute pool)
 * against OpenMP's `parallel for schedule(static)` with a reduction, and
 * one thread for reference. Every case runs the same inner loop. */
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

#define N 100000000UL

static unsigned long long expected;

/* The work of [lo, hi): cheap, and the same code in every case. */
static inline unsigned long long piece(size_t lo, size_t hi)
{
	unsigned long long s = 0;
	for (size_t i = lo; i < hi; i++)
		s += (i * i) ^ (i >> 3);
	return s;
}

static int reduce_body(size_t lo, size_t hi, void *acc, void *arg)
{
	*(unsigned long long *)acc += piece(lo, hi);
	return 0;
}

static void reduce_add(void *acc, const void *other, void *arg)
{
	*(unsigned long long *)acc += *(const unsigned long long *)other;
}

static weft_executor *pool;

static double weft_reduce(void *arg)
{
	unsigned long long s = 0;
	double t0 = bench_now();
	if (weft_parallel_reduce(0, N, &s, sizeof s, reduce_body, reduce_add, NULL,
	                         &(weft_parallel_opts){.executor = pool}))
		return -1;
	double dt = bench_now() - t0;
	return settled(s == expected ? dt * 1e3 : -1);
}

static _Atomic unsigned long long total;

static int for_body(size_t lo, size_t hi, void *arg)
{
	atomic_fetch_add_explicit(&total, piece(lo, hi), memory_order_relaxed);
	return 0;
}

static double weft_for(void *arg)
{
	total = 0;
	double t0 = bench_now();
	if (weft_parallel_for(0, N, for_body, NULL, &(weft_parallel_opts){.executor = pool}))
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
		s += (i * i) ^ (i >> 3);
	double dt = bench_now() - t0;
	return settled(s == expected ? dt * 1e3 : -1);
}
#endif

static double one_thread(void *arg)
{
	double t0 = bench_now();
	unsigned long long s = piece(0, N);
	double dt = bench_now() - t0;
	bench_keep(s);
	return settled(s == expected ? dt * 1e3 : -1);
}

int main(void)
{
	expected = piece(0, N);
	if (weft_thread_pool_new(&pool, &(weft_thread_pool_opts){.max_workers = 2}))
		return 1;
	bench_case cases[] = {
	    {"weft parallel_reduce (2 workers)", weft_reduce, NULL},
	    {"weft parallel_for (2 workers)", weft_for, NULL},
#ifdef WEFT_HAVE_OPENMP
	    {"OpenMP parallel for, static (2)", openmp_static, NULL},
#endif
	    {"one thread", one_thread, NULL},
	};
	int rc = bench_run(&(bench_spec){.title = "parallel loop, 10^8 cheap iterations", .unit = "ms"},
	                   cases, sizeof cases / sizeof cases[0]);
	weft_executor_free(pool);
	return rc;
}
