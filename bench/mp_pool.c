/* Process pools, 2 workers, a trivial task (x -> x * x on small integers):
 *  1. Pool.map over 10^5 items with the default chunking;
 *  2. Pool.map with chunksize 1 over 10^4 items, and ProcessPoolExecutor.map
 *     (chunksize 1, Python's default) over the same.
 * weft's Pool and process pool executor against Python's multiprocessing.Pool
 * and concurrent.futures.ProcessPoolExecutor ('fork' start method). Pools
 * are made and warmed up before the clock starts, in every case; a round
 * times REPS maps back to back (in one Python process for Python). Figures
 * are items per second. The first case is weft_pool_map_fixed, the C form of
 * the same map (an array of longs in, one out), the second weft_pool_map
 * (a weft_bytes per input and per result). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft/multiprocessing.h>

/* The fixed-record map of 10^5 items takes about 1 ms: a round times 50
 * of them, so that it lasts about as long as Python's 5 maps (some 100
 * ms) and one scheduling hiccup of the shared machine does not decide it. */
enum { BIG = 100000, SMALL = 10000, REPS = 5, REPS_FIXED = 50 };

static int square(const void *in, size_t len, weft_bytes *out)
{
	long x;
	memcpy(&x, in, sizeof x);
	x *= x;
	return weft_bytes_set(out, &x, sizeof x);
}
WEFT_TASK(square, square)

static long xs[BIG];
static weft_bytes in[BIG], out[BIG];
static weft_pool *pool;
static weft_executor *ppe;

static double pool_map(size_t n, size_t chunksize, int reps)
{
	double dt = 0;
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now();
		if (weft_pool_map(pool, square, in, n, out, &(weft_pool_map_opts){.chunksize = chunksize},
		                  120))
			return -1;
		dt += bench_now() - t0;
		long y;
		memcpy(&y, out[n - 1].data, sizeof y);
		if (y != (long)(n - 1) * (long)(n - 1))
			return -1;
		for (size_t i = 0; i < n; i++)
			weft_bytes_free(&out[i]);
	}
	return n * reps / dt;
}

static double weft_map_default(void *arg)
{
	return pool_map(BIG, 0, REPS);
}

static long ys[BIG];

/* The C form of the same map: an array of longs in, one out (records in
 * memory the workers share with the pool; no result allocated). */
static double weft_map_fixed(void *arg)
{
	double dt = 0;
	for (int r = 0; r < REPS_FIXED; r++) {
		ys[BIG - 1] = 0;
		double t0 = bench_now();
		if (weft_pool_map_fixed(pool, square, xs, sizeof *xs, BIG, ys, sizeof *ys, NULL, 120))
			return -1;
		dt += bench_now() - t0;
		if (ys[BIG - 1] != (long)(BIG - 1) * (long)(BIG - 1))
			return -1;
	}
	return (double)BIG * REPS_FIXED / dt;
}

static double weft_map_chunk1(void *arg)
{
	return pool_map(SMALL, 1, REPS);
}

static double weft_ppe_map(void *arg)
{
	double dt = 0;
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = bench_now();
		weft_map *m;
		if (weft_executor_map_task(ppe, &m, square, in, SMALL, NULL))
			return -1;
		weft_bytes r = {0};
		size_t k = 0;
		while (weft_map_next_bytes(m, &r) == 0)
			k++;
		dt += bench_now() - t0;
		weft_bytes_free(&r);
		weft_map_free(m);
		if (k != SMALL)
			return -1;
	}
	return SMALL * REPS / dt;
}

#define PY_PRELUDE                             \
	"import multiprocessing as mp, time\n" \
	"import concurrent.futures as cf\n"    \
	"def square(x):\n"                     \
	"    return x * x\n"                   \
	"if __name__ == '__main__':\n"         \
	"    mp.set_start_method('fork')\n"    \
	"    reps = 5\n"

static double python_map_default(void *arg)
{
	return bench_python(PY_PRELUDE "    with mp.Pool(2) as p:\n"
	                               "        p.map(square, range(1000))\n"
	                               "        xs = range(100000); t = time.perf_counter()\n"
	                               "        for _ in range(reps): p.map(square, xs)\n"
	                               "        print(reps * len(xs) / (time.perf_counter() - t))\n");
}

static double python_map_chunk1(void *arg)
{
	return bench_python(PY_PRELUDE "    with mp.Pool(2) as p:\n"
	                               "        p.map(square, range(1000), chunksize=1)\n"
	                               "        xs = range(10000); t = time.perf_counter()\n"
	                               "        for _ in range(reps): p.map(square, xs, chunksize=1)\n"
	                               "        print(reps * len(xs) / (time.perf_counter() - t))\n");
}

static double python_ppe_map(void *arg)
{
	return bench_python(PY_PRELUDE "    with cf.ProcessPoolExecutor(2) as ex:\n"
	                               "        list(ex.map(square, range(1000)))\n"
	                               "        xs = range(10000); t = time.perf_counter()\n"
	                               "        for _ in range(reps): list(ex.map(square, xs))\n"
	                               "        print(reps * len(xs) / (time.perf_counter() - t))\n");
}

int main(void)
{
	for (long i = 0; i < BIG; i++) {
		xs[i] = i;
		in[i] = (weft_bytes){&xs[i], sizeof xs[i]};
	}
	if (weft_pool_new(&pool, &(weft_pool_opts){.processes = 2}) ||
	    weft_process_pool_new(&ppe, &(weft_process_pool_opts){.max_workers = 2})) {
		fprintf(stderr, "cannot make the pools\n");
		return 1;
	}
	pool_map(1000, 0, 1); /* warm up: workers forked, caches filled */
	weft_map_fixed(NULL);
	weft_ppe_map(NULL);
	int rc = 0;
	bench_case big[] = {
	    {"weft Pool.map (fixed records)", weft_map_fixed, NULL},
	    {"weft Pool.map (bytes)", weft_map_default, NULL},
	    {"Python multiprocessing.Pool.map", python_map_default, NULL},
	};
	bench_spec s1 = {"Pool.map, 10^5 small integers, x*x, 2 workers, default chunking", "items/s", true,
	                 5};
	rc |= bench_run(&s1, big, 3);
	bench_case small[] = {
	    {"weft Pool.map", weft_map_chunk1, NULL},
	    {"Python multiprocessing.Pool.map", python_map_chunk1, NULL},
	};
	bench_spec s2 = {"Pool.map, 10^4 small integers, x*x, 2 workers, chunksize 1", "items/s", true, 5};
	rc |= bench_run(&s2, small, 2);
	bench_case exec[] = {
	    {"weft process pool executor map", weft_ppe_map, NULL},
	    {"Python ProcessPoolExecutor.map", python_ppe_map, NULL},
	};
	bench_spec s3 = {"Executor.map, 10^4 small integers, x*x, 2 workers, chunksize 1", "items/s", true,
	                 5};
	rc |= bench_run(&s3, exec, 2);
	weft_pool_free(pool);
	weft_executor_free(ppe);
	return rc;
}
