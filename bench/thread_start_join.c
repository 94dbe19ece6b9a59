/* Thread start + join round trip: a thread that does nothing, started and
 * joined one at a time. weft_thread_start/join against pthread_create/join
 * and Python's threading.Thread. Figures: microseconds per round trip
 * (lower is better). BENCH_ITEMS changes the number of threads per round. */
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>
#include <weft/threading.h>

static long n_threads = 2000;

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

static double run_weft(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	for (long i = 0; i < n_threads; i++) {
		weft_thread t;
		if (weft_thread_start(&t, &(weft_thread_opts){.target = nothing}) ||
		    weft_thread_join(&t, WEFT_FOREVER))
			return -1;
		weft_thread_free(&t);
	}
	return (bench_now() - t0) / n_threads * 1e6;
}

static void *pthread_nothing(void *arg)
{
	return arg;
}

static double run_pthread(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	for (long i = 0; i < n_threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, pthread_nothing, NULL) || pthread_join(t, NULL))
			return -1;
	}
	return (bench_now() - t0) / n_threads * 1e6;
}

static double run_python(void *arg)
{
	(void)arg;
	return bench_python("import threading, time\n"
	                    "N = 2000\n"
	                    "def f(): pass\n"
	                    "t0 = time.perf_counter()\n"
	                    "for i in range(N):\n"
	                    "    t = threading.Thread(target=f); t.start(); t.join()\n"
	                    "print((time.perf_counter() - t0) / N * 1e6)\n");
}

int main(void)
{
	const char *env = getenv("BENCH_ITEMS");
	if (env && atol(env) > 0)
		n_threads = atol(env);
	bench_case cases[] = {
	    {"weft_thread_start + join", run_weft, NULL},
	    {"pthread_create + pthread_join", run_pthread, NULL},
	    {"Python threading.Thread start+join", run_python, NULL},
	};
	bench_spec spec = {.title = "Thread start + join round trip", .unit = "us", .higher_better = false};
	return bench_run(&spec, cases, 3);
}
