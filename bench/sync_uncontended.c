/* Uncontended lock + release on one thread, ns per pair: weft's Lock and
 * RLock against pthread mutex and spinlock, POSIX sem_t, C11 mtx, GLib's
 * GMutex and Python's threading.Lock. The process has had a second
 * thread, as any that needs locks has. */
#include "bench.h"

#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <weft/sync.h>
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif

enum { N = 5000000 };

#define PAIRS(lock_stmt, unlock_stmt)                \
	do {                                         \
		double t0 = bench_now();             \
		for (int i = 0; i < N; i++) {        \
			lock_stmt;                   \
			unlock_stmt;                 \
		}                                    \
		return (bench_now() - t0) / N * 1e9; \
	} while (0)

static double run_weft_lock(void *arg)
{
	weft_lock l = WEFT_LOCK_INIT;
	PAIRS(weft_lock_acquire(&l, WEFT_FOREVER), weft_lock_release(&l));
}

static double run_weft_rlock(void *arg)
{
	weft_rlock r = WEFT_RLOCK_INIT;
	PAIRS(weft_rlock_acquire(&r, WEFT_FOREVER), weft_rlock_release(&r));
}

static double run_weft_sem(void *arg)
{
	weft_sem s = WEFT_SEM_INIT(1);
	PAIRS(weft_sem_acquire(&s, WEFT_FOREVER), weft_sem_release(&s, 1));
}

static double pthread_mutex(void *arg)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	PAIRS(pthread_mutex_lock(&m), pthread_mutex_unlock(&m));
}

static double pthread_spin(void *arg)
{
	pthread_spinlock_t s;
	pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
	PAIRS(pthread_spin_lock(&s), pthread_spin_unlock(&s));
}

static double posix_sem(void *arg)
{
	sem_t s;
	sem_init(&s, 0, 1);
	PAIRS(sem_wait(&s), sem_post(&s));
}

static double c11_mtx(void *arg)
{
	mtx_t m;
	mtx_init(&m, mtx_plain);
	PAIRS(mtx_lock(&m), mtx_unlock(&m));
}

#ifdef WEFT_HAVE_GLIB
static double glib_mutex(void *arg)
{
	static GMutex m;
	PAIRS(g_mutex_lock(&m), g_mutex_unlock(&m));
}
#endif

static double python_lock(void *arg)
{
	return bench_python("import threading, time\n"
	                    "l = threading.Lock(); a = l.acquire; r = l.release\n"
	                    "n = 1000000\n"
	                    "t = time.perf_counter()\n"
	                    "for _ in range(n):\n"
	                    "    a(); r()\n"
	                    "print((time.perf_counter() - t) / n * 1e9)\n");
}

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	/* Make the process multi-threaded, as any program that needs a lock
	 * is: glibc skips the atomic operations of pthread mutexes while a
	 * process has only ever had one thread. */
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);

	bench_case cases[] = {
	    {"weft Lock", run_weft_lock, NULL},
	    {"weft RLock", run_weft_rlock, NULL},
	    {"weft Semaphore(1)", run_weft_sem, NULL},
	    {"pthread_mutex", pthread_mutex, NULL},
	    {"pthread_spinlock", pthread_spin, NULL},
	    {"POSIX sem_t", posix_sem, NULL},
	    {"C11 mtx", c11_mtx, NULL},
#ifdef WEFT_HAVE_GLIB
	    {"GLib GMutex", glib_mutex, NULL},
#endif
	    {"Python threading.Lock", python_lock, NULL},
	};
	bench_spec spec = {.title = "uncontended acquire + release, one thread", .unit = "ns/pair"};
	return bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
}
