/* Task-group spawns without futures: n tiny tasks spawned into a group and
 * waited for, in M tasks/s, on two threads. weft spawning from outside the
 * pool (the caller only spawns and waits) and from inside a pool task (the
 * spawner is a worker and helps while it waits), against OpenMP tasks
 * (parallel num_threads(2) + single + task; libgomp runs tasks inline on
 * the spawning thread once its queue is long). */
#include "bench.h"

#include <stdatomic.h>
#include <time.h>
#include <weft.h>
#ifdef WEFT_HAVE_OPENMP
#include <omp.h>
#endif

/* Lets every pool's idle threads go to sleep before the next case runs:
 * libgomp, oneTBB and weft all spin a little after their work ends, and
 * on two cores that spinning would be charged to the next case. Called
 * after each case's timed part. */
static double settled(double figure)
{
	nanosleep(&(struct timespec){0, 20000000}, NULL);
	return figure;
}

enum { N = 500000 };

/* The tasks' counter, on a cache line of its own (as in pool_tiny.c):
 * no case's spawning thread should share its line by the linker's
 * chance. */
static struct {
	_Alignas(64) _Atomic long done;
	char pad[64 - sizeof(long)];
} tasks;

static int tiny(void *arg)
{
	atomic_fetch_add_explicit(&tasks.done, 1, memory_order_relaxed);
	return 0;
}

static weft_executor *pool;

static int spawn_all(void)
{
	weft_task_group *g;
	if (weft_task_group_new(&g, pool))
		return -1;
	for (long i = 0; i < N; i++)
		if (weft_task_group_spawn(g, tiny, NULL))
			return -1;
	int rc = weft_task_group_wait(g, WEFT_FOREVER);
	weft_task_group_free(g);
	return rc;
}

static double weft_outside(void *arg)
{
	tasks.done = 0;
	double t0 = bench_now();
	if (spawn_all())
		return -1;
	double dt = bench_now() - t0;
	return settled(tasks.done == N ? N / dt / 1e6 : -1);
}

static void *spawner(void *arg)
{
	return (void *)(intptr_t)spawn_all();
}

static double weft_inside(void *arg)
{
	tasks.done = 0;
	double t0 = bench_now();
	weft_future *f;
	void *rc;
	if (weft_executor_submit(pool, &f, spawner, NULL) || weft_future_result(f, WEFT_FOREVER, &rc) || rc)
		return -1;
	weft_future_release(f);
	double dt = bench_now() - t0;
	return settled(tasks.done == N ? N / dt / 1e6 : -1);
}

#ifdef WEFT_HAVE_OPENMP
static double openmp_tasks(void *arg)
{
	tasks.done = 0;
	double t0 = bench_now();
#pragma omp parallel num_threads(2)
#pragma omp single
	{
		for (long i = 0; i < N; i++) {
#pragma omp task
			tiny(NULL);
		}
#pragma omp taskwait
	}
	double dt = bench_now() - t0;
	return settled(tasks.done == N ? N / dt / 1e6 : -1);
}
#endif

int main(void)
{
	if (weft_thread_pool_new(&pool, &(weft_thread_pool_opts){.max_workers = 2}))
		return 1;
	bench_case cases[] = {
	    {"weft task group, spawned from inside", weft_inside, NULL},
	    {"weft task group, spawned from outside", weft_outside, NULL},
#ifdef WEFT_HAVE_OPENMP
	    {"OpenMP tasks (libgomp, 2 threads)", openmp_tasks, NULL},
#endif
	};
	int rc = bench_run(&(bench_spec){.title = "task-group spawns without futures, 2 threads",
	                                 .unit = "M tasks/s",
	                                 .higher_better = true},
	                   cases, sizeof cases / sizeof cases[0]);
	weft_executor_free(pool);
	return rc;
}
