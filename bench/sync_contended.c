/* Contended: two threads each increment a shared counter under the lock,
 * ns per increment. weft's Lock with its bounded spin before sleeping, and
 * without (weft__sync_spin = 0), against pthread mutex and spinlock, POSIX
 * sem_t, C11 mtx and GLib's GMutex. */
#include "bench.h"
#include "sync/sync_int.h"

#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif

enum { PER_THREAD = 1000000 };

typedef struct kind {
	void (*lock)(void *);
	void (*unlock)(void *);
	void *obj;
	long counter;
} kind;

static void *worker(void *arg)
{
	kind *k = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		k->lock(k->obj);
		k->counter++;
		k->unlock(k->obj);
	}
	return NULL;
}

static double run(kind *k)
{
	pthread_t t[2];
	k->counter = 0;
	double t0 = bench_now();
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, k);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	double dt = bench_now() - t0;
	return k->counter == 2L * PER_THREAD ? dt / (2.0 * PER_THREAD) * 1e9 : -1;
}

static void wl_lock(void *o)
{
	weft_lock_acquire(o, WEFT_FOREVER);
}
static void wl_unlock(void *o)
{
	weft_lock_release(o);
}

static double weft_spin(void *arg)
{
	weft_lock l = WEFT_LOCK_INIT;
	int saved = weft__sync_spin;
	weft__sync_spin = *(int *)arg;
	double r = run(&(kind){wl_lock, wl_unlock, &l, 0});
	weft__sync_spin = saved;
	return r;
}

static void pm_lock(void *o)
{
	pthread_mutex_lock(o);
}
static void pm_unlock(void *o)
{
	pthread_mutex_unlock(o);
}

static double pthread_mutex(void *arg)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	return run(&(kind){pm_lock, pm_unlock, &m, 0});
}

static double pthread_mutex_adaptive(void *arg)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_t m;
	pthread_mutex_init(&m, &a);
	return run(&(kind){pm_lock, pm_unlock, &m, 0});
}

static void ps_lock(void *o)
{
	pthread_spin_lock(o);
}
static void ps_unlock(void *o)
{
	pthread_spin_unlock(o);
}

static double pthread_spin(void *arg)
{
	pthread_spinlock_t s;
	pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
	return run(&(kind){ps_lock, ps_unlock, (void *)&s, 0});
}

static void sm_lock(void *o)
{
	sem_wait(o);
}
static void sm_unlock(void *o)
{
	sem_post(o);
}

static double posix_sem(void *arg)
{
	sem_t s;
	sem_init(&s, 0, 1);
	return run(&(kind){sm_lock, sm_unlock, &s, 0});
}

static void c11_lock(void *o)
{
	mtx_lock(o);
}
static void c11_unlock(void *o)
{
	mtx_unlock(o);
}

static double c11_mtx(void *arg)
{
	mtx_t m;
	mtx_init(&m, mtx_plain);
	return run(&(kind){c11_lock, c11_unlock, &m, 0});
}

#ifdef WEFT_HAVE_GLIB
static void gm_lock(void *o)
{
	g_mutex_lock(o);
}
static void gm_unlock(void *o)
{
	g_mutex_unlock(o);
}

static double glib_mutex(void *arg)
{
	GMutex m;
	g_mutex_init(&m);
	double r = run(&(kind){gm_lock, gm_unlock, &m, 0});
	g_mutex_clear(&m);
	return r;
}
#endif

int main(void)
{
	static int spin = -1, no_spin = 0;
	spin = weft__sync_spin;
	bench_case cases[] = {
	    {"weft Lock", weft_spin, &spin},
	    {"weft Lock, no spin", weft_spin, &no_spin},
	    {"pthread_mutex", pthread_mutex, NULL},
	    {"pthread_mutex (adaptive)", pthread_mutex_adaptive, NULL},
	    {"pthread_spinlock", pthread_spin, NULL},
	    {"POSIX sem_t", posix_sem, NULL},
	    {"C11 mtx", c11_mtx, NULL},
#ifdef WEFT_HAVE_GLIB
	    {"GLib GMutex", glib_mutex, NULL},
#endif
	};
	bench_spec spec = {.title = "contended: 2 threads increment a counter under the lock",
	                   .unit = "ns/increment"};
	return bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
}
