/* Process queue throughput: one producer process, one consumer (the
 * parent), 64-byte messages: weft's process queue vs Python's
 * multiprocessing.Queue. Figures are messages per second. */
#include "bench.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/multiprocessing.h>

enum { N = 500000, MSG = 64 };

static double weft_queue_tp(void *arg)
{
	weft_mp_queue *q;
	if (weft_mp_queue_new(&q, NULL))
		return -1;
	fflush(NULL);
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid == 0) {
		char buf[MSG] = {0};
		for (int i = 0; i < N; i++)
			if (weft_mp_queue_put(q, buf, sizeof buf, WEFT_FOREVER))
				_exit(1);
		_exit(0);
	}
	weft_bytes m = {0};
	for (int i = 0; i < N; i++)
		if (weft_mp_queue_get(q, &m, 60) || m.len != MSG)
			return -1;
	double dt = bench_now() - t0;
	weft_bytes_free(&m);
	waitpid(pid, NULL, 0);
	weft_mp_queue_free(q);
	return N / dt;
}

static double python_queue_tp(void *arg)
{
	return bench_python("import multiprocessing as mp, time\n"
	                    "def produce(q, n):\n"
	                    "    m = bytes(64)\n"
	                    "    for _ in range(n): q.put(m)\n"
	                    "if __name__ == '__main__':\n"
	                    "    mp.set_start_method('fork')\n"
	                    "    q = mp.Queue(); n = 50000; t = time.perf_counter()\n"
	                    "    p = mp.Process(target=produce, args=(q, n)); p.start()\n"
	                    "    for _ in range(n): q.get()\n"
	                    "    dt = time.perf_counter() - t; p.join(); print(n / dt)\n");
}

int main(void)
{
	bench_case cases[] = {
	    {"weft process queue", weft_queue_tp, NULL},
	    {"Python multiprocessing.Queue", python_queue_tp, NULL},
	};
	bench_spec spec = {"Process queue, 1 producer + 1 consumer process, 64-byte messages", "messages/s",
	                   true, 5};
	return bench_run(&spec, cases, 2);
}
