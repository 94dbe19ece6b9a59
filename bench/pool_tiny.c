/* Tiny tasks on two workers: submit n tasks with a future each, then wait
 * for every one (result + release), in M tasks/s. Against the thread pools
 * of the peers with their own natural API: oneTBB's task_group (no
 * futures; the waiting caller takes part), GLib's GThreadPool, libuv's
 * uv_queue_work (UV_THREADPOOL_SIZE=2), a plain pthread pool (a mutex, a
 * condition, a linked queue of malloc'd tasks) and Python's
 * ThreadPoolExecutor(2). */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <weft.h>
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif
#ifdef WEFT_HAVE_UV
#include <uv.h>
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

enum { N = 200000 };

/* The tasks' counter, on a cache line of its own. Every case's tasks
 * increment it from both workers; a variable that shared its line and
 * that a submitting thread reads on each submit (the pool pointer did)
 * would cost that thread a miss per task, so which case paid depended
 * on where the linker happened to put the variables. */
static struct {
	_Alignas(64) _Atomic long done;
	char pad[64 - sizeof(long)];
} tasks;

/* ---- weft ---- */

static void *tiny(void *arg)
{
	atomic_fetch_add_explicit(&tasks.done, 1, memory_order_relaxed);
	return arg;
}

static weft_executor *pool;
static weft_future *futs[N];

static double weft_futures(void *arg)
{
	tasks.done = 0;
	double t0 = bench_now();
	for (long i = 0; i < N; i++)
		if (weft_executor_submit(pool, &futs[i], tiny, (void *)(intptr_t)i))
			return -1;
	for (long i = 0; i < N; i++) {
		void *v;
		if (weft_future_result(futs[i], WEFT_FOREVER, &v) || (intptr_t)v != i)
			return -1;
		weft_future_release(futs[i]);
	}
	double dt = bench_now() - t0;
	return settled(tasks.done == N ? N / dt / 1e6 : -1);
}

/* ---- oneTBB (pool_tiny_tbb.cpp) ---- */

#ifdef WEFT_HAVE_TBB
double bench_tbb_tiny(long n);

static double tbb_task_group(void *arg)
{
	return settled(bench_tbb_tiny(N));
}
#endif

/* ---- GLib ---- */

#ifdef WEFT_HAVE_GLIB
static GMutex g_mu;
static GCond g_cv;
static GThreadPool *gpool;

static void g_tiny(gpointer data, gpointer user)
{
	if (atomic_fetch_add_explicit(&tasks.done, 1, memory_order_relaxed) + 1 == N) {
		g_mutex_lock(&g_mu);
		g_cond_signal(&g_cv);
		g_mutex_unlock(&g_mu);
	}
}

static double glib_pool(void *arg)
{
	tasks.done = 0;
	double t0 = bench_now();
	for (long i = 0; i < N; i++)
		g_thread_pool_push(gpool, (gpointer)(intptr_t)(i + 1), NULL);
	g_mutex_lock(&g_mu);
	while (tasks.done < N)
		g_cond_wait(&g_cv, &g_mu);
	g_mutex_unlock(&g_mu);
	return settled(N / (bench_now() - t0) / 1e6);
}
#endif

/* ---- libuv ---- */

#ifdef WEFT_HAVE_UV
static uv_work_t works[N];
static long after;

static void uv_tiny(uv_work_t *w)
{
	atomic_fetch_add_explicit(&tasks.done, 1, memory_order_relaxed);
}

static void uv_after(uv_work_t *w, int status)
{
	after++;
}

static double libuv_queue_work(void *arg)
{
	tasks.done = 0;
	after = 0;
	uv_loop_t *loop = uv_default_loop();
	double t0 = bench_now();
	for (long i = 0; i < N; i++)
		uv_queue_work(loop, &works[i], uv_tiny, uv_after);
	uv_run(loop, UV_RUN_DEFAULT);
	double dt = bench_now() - t0;
	return settled(after == N ? N / dt / 1e6 : -1);
}
#endif

/* ---- a plain pthread pool ----
 *
 * As a competent user writes one (and as the reference figure was
 * measured): one mutex, one condition, a linked queue of task structs, a
 * task allocated by each submit and freed by the worker that ran it. */

typedef struct pp_task {
	struct pp_task *next;
	void (*fn)(void *);
	void *arg;
} pp_task;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	pp_task *head, **tail;
	bool stop;
	pthread_t t[2];
} pp = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void *pp_worker(void *arg)
{
	pthread_mutex_lock(&pp.mu);
	for (;;) {
		while (!pp.head && !pp.stop)
			pthread_cond_wait(&pp.work, &pp.mu);
		if (!pp.head)
			break;
		pp_task *t = pp.head;
		pp.head = t->next;
		if (!pp.head)
			pp.tail = &pp.head;
		pthread_mutex_unlock(&pp.mu);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&pp.mu);
	}
	pthread_mutex_unlock(&pp.mu);
	return NULL;
}

static int pp_submit(void (*fn)(void *), void *arg)
{
	pp_task *t = malloc(sizeof *t);
	if (!t)
		return -1;
	*t = (pp_task){NULL, fn, arg};
	pthread_mutex_lock(&pp.mu);
	*pp.tail = t;
	pp.tail = &t->next;
	pthread_cond_signal(&pp.work);
	pthread_mutex_unlock(&pp.mu);
	return 0;
}

static void pp_tiny(void *arg)
{
	if (atomic_fetch_add_explicit(&tasks.done, 1, memory_order_relaxed) + 1 == N) {
		pthread_mutex_lock(&pp.mu);
		pthread_cond_signal(&pp.idle);
		pthread_mutex_unlock(&pp.mu);
	}
}

static double pthread_pool(void *arg)
{
	tasks.done = 0;
	double t0 = bench_now();
	for (long i = 0; i < N; i++)
		if (pp_submit(pp_tiny, NULL))
			return -1;
	pthread_mutex_lock(&pp.mu);
	while (tasks.done < N)
		pthread_cond_wait(&pp.idle, &pp.mu);
	pthread_mutex_unlock(&pp.mu);
	return settled(N / (bench_now() - t0) / 1e6);
}

/* ---- Python ---- */

static double python_tpe(void *arg)
{
	return bench_python("import time\n"
	                    "from concurrent.futures import ThreadPoolExecutor, wait\n"
	                    "n = 50000\n"
	                    "def tiny(i):\n"
	                    "    return i\n"
	                    "with ThreadPoolExecutor(2) as ex:\n"
	                    "    ex.submit(tiny, 0).result()\n"
	                    "    t = time.perf_counter()\n"
	                    "    fs = [ex.submit(tiny, i) for i in range(n)]\n"
	                    "    for f in fs:\n"
	                    "        f.result()\n"
	                    "    dt = time.perf_counter() - t\n"
	                    "print(n / dt / 1e6)\n");
}

int main(void)
{
	setenv("UV_THREADPOOL_SIZE", "2", 1);
	if (weft_thread_pool_new(&pool, &(weft_thread_pool_opts){.max_workers = 2}))
		return 1;
	pp.tail = &pp.head;
	for (int i = 0; i < 2; i++)
		pthread_create(&pp.t[i], NULL, pp_worker, NULL);
#ifdef WEFT_HAVE_GLIB
	gpool = g_thread_pool_new(g_tiny, NULL, 2, TRUE, NULL);
#endif
	bench_case cases[] = {
	    {"weft thread pool, future per task", weft_futures, NULL},
#ifdef WEFT_HAVE_TBB
	    {"oneTBB task_group (arena of 2)", tbb_task_group, NULL},
#endif
#ifdef WEFT_HAVE_GLIB
	    {"GLib GThreadPool (2 threads)", glib_pool, NULL},
#endif
#ifdef WEFT_HAVE_UV
	    {"libuv uv_queue_work (2 threads)", libuv_queue_work, NULL},
#endif
	    {"pthread pool (mutex + condition)", pthread_pool, NULL},
	    {"Python ThreadPoolExecutor(2)", python_tpe, NULL},
	};
	/* A warm-up round: each case's first run in the process pays once
	 * for what the later runs reuse -- weft's 200,000 futures and the
	 * pthread pool's task structs come fresh from malloc and the kernel,
	 * oneTBB's arena starts its threads -- and the goals are about the
	 * steady state. */
	int rc = bench_run(&(bench_spec){.title = "tiny tasks, 2 workers, submit + wait for all",
	                                 .unit = "M tasks/s",
	                                 .higher_better = true,
	                                 .warmup = 1},
	                   cases, sizeof cases / sizeof cases[0]);
	pthread_mutex_lock(&pp.mu);
	pp.stop = true;
	pthread_cond_broadcast(&pp.work);
	pthread_mutex_unlock(&pp.mu);
	for (int i = 0; i < 2; i++)
		pthread_join(pp.t[i], NULL);
	weft_executor_free(pool);
	return rc;
}
