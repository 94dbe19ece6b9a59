/* MPMC queue throughput: 2 producers + 2 consumers, capacity 1024,
 * blocking put and get, void * items. weft's Queue (the lock-free ring and,
 * for comparison, its locked engine) against every installed peer:
 * moodycamel's BlockingConcurrentQueue with tokens (bounded by a slots
 * semaphore, and unbounded) and oneTBB's concurrent_bounded_queue
 * (bench/queue_mpmc_*.cpp), ck_ring (MPMC, retry
 * with sched_yield), GLib's GAsyncQueue, a plain pthread mutex + condition
 * variable ring, and Python's queue.Queue (same threads, capacity and
 * item count). Figures: million items per second (higher is better).
 * BENCH_ITEMS changes the item count of every case. */
#include "bench.h"
#include "queue_mpmc.h"
#include "queue/queue_impl.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef WEFT_HAVE_CK
#include <ck_ring.h>
#endif
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif

enum { PRODUCERS = 2, CONSUMERS = 2, CAPACITY = MPMC_CAPACITY };

static long n_items = 2000000;

struct run {
	const mpmc_ops *ops;
	void *q;
	pthread_barrier_t start;
	_Atomic long sum;
};

static void *producer(void *arg)
{
	struct run *r = arg;
	void *h = r->ops->attach(r->q, 1);
	pthread_barrier_wait(&r->start);
	for (long i = 1; i <= n_items / PRODUCERS; i++)
		r->ops->put(h, (void *)(uintptr_t)i);
	r->ops->detach(h);
	return NULL;
}

static void *consumer(void *arg)
{
	struct run *r = arg;
	void *h = r->ops->attach(r->q, 0);
	long sum = 0;
	pthread_barrier_wait(&r->start);
	for (long i = 0; i < n_items / CONSUMERS; i++)
		sum += (long)(uintptr_t)r->ops->get(h);
	r->ops->detach(h);
	atomic_fetch_add(&r->sum, sum);
	return NULL;
}

static double run_mpmc(void *arg)
{
	struct run r = {.ops = arg};
	r.q = r.ops->make();
	if (!r.q)
		return -1;
	pthread_barrier_init(&r.start, NULL, PRODUCERS + CONSUMERS + 1);
	pthread_t t[PRODUCERS + CONSUMERS];
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&t[i], NULL, producer, &r);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_create(&t[PRODUCERS + i], NULL, consumer, &r);
	pthread_barrier_wait(&r.start);
	double t0 = bench_now();
	for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
		pthread_join(t[i], NULL);
	double dt = bench_now() - t0;
	pthread_barrier_destroy(&r.start);
	r.ops->destroy(r.q);
	long per = n_items / PRODUCERS;
	if (atomic_load(&r.sum) != PRODUCERS * per * (per + 1) / 2)
		return -1; /* lost or duplicated items */
	return n_items / dt / 1e6;
}

static void *self_attach(void *q, int producer)
{
	(void)producer;
	return q;
}

static void no_detach(void *h)
{
	(void)h;
}

/* ---- weft ----------------------------------------------------------------- */

static void *weft_make_ring(void)
{
	weft_queue *q;
	return weft__queue_new(&q, &(weft_queue_opts){.maxsize = CAPACITY}, true) ? NULL : q;
}

static void *weft_make_locked(void)
{
	weft_queue *q;
	return weft__queue_new(&q, &(weft_queue_opts){.maxsize = CAPACITY}, false) ? NULL : q;
}

static void weft_put(void *q, void *item)
{
	weft_queue_put(q, item, WEFT_FOREVER);
}

static void *weft_get(void *q)
{
	void *x = NULL;
	weft_queue_get(q, &x, WEFT_FOREVER);
	return x;
}

static void weft_destroy(void *q)
{
	weft_queue_free(q);
}

static const mpmc_ops weft_ring_ops = {weft_make_ring, self_attach, weft_put,
                                       weft_get,       no_detach,   weft_destroy};
static const mpmc_ops weft_locked_ops = {weft_make_locked, self_attach, weft_put,
                                         weft_get,         no_detach,   weft_destroy};

/* ---- pthread mutex + condition variables around a ring ---------------------- */

typedef struct cond_ring {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	size_t head, len;
	void *buf[CAPACITY];
} cond_ring;

static void *cond_make(void)
{
	cond_ring *c = calloc(1, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->not_empty, NULL);
	pthread_cond_init(&c->not_full, NULL);
	return c;
}

static void cond_put(void *h, void *item)
{
	cond_ring *c = h;
	pthread_mutex_lock(&c->mu);
	while (c->len == CAPACITY)
		pthread_cond_wait(&c->not_full, &c->mu);
	c->buf[(c->head + c->len++) % CAPACITY] = item;
	pthread_cond_signal(&c->not_empty);
	pthread_mutex_unlock(&c->mu);
}

static void *cond_get(void *h)
{
	cond_ring *c = h;
	pthread_mutex_lock(&c->mu);
	while (c->len == 0)
		pthread_cond_wait(&c->not_empty, &c->mu);
	void *item = c->buf[c->head];
	c->head = (c->head + 1) % CAPACITY;
	c->len--;
	pthread_cond_signal(&c->not_full);
	pthread_mutex_unlock(&c->mu);
	return item;
}

static void cond_destroy(void *h)
{
	cond_ring *c = h;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->not_empty);
	pthread_cond_destroy(&c->not_full);
	free(c);
}

static const mpmc_ops cond_ops = {cond_make, self_attach, cond_put, cond_get, no_detach, cond_destroy};

/* ---- ck_ring: MPMC, retrying with sched_yield -------------------------------- */

#ifdef WEFT_HAVE_CK
typedef struct ck_q {
	ck_ring_t ring;
	ck_ring_buffer_t buf[CAPACITY];
} ck_q;

static void *ck_make(void)
{
	ck_q *c = calloc(1, sizeof *c);
	ck_ring_init(&c->ring, CAPACITY); /* holds CAPACITY - 1 */
	return c;
}

static void ck_put(void *h, void *item)
{
	ck_q *c = h;
	while (!ck_ring_enqueue_mpmc(&c->ring, c->buf, item))
		sched_yield();
}

static void *ck_get(void *h)
{
	ck_q *c = h;
	void *item;
	while (!ck_ring_dequeue_mpmc(&c->ring, c->buf, &item))
		sched_yield();
	return item;
}

static void ck_destroy(void *h)
{
	free(h);
}

static const mpmc_ops ck_ops = {ck_make, self_attach, ck_put, ck_get, no_detach, ck_destroy};
#endif

/* ---- GLib GAsyncQueue (unbounded: its push never blocks) ---------------------- */

#ifdef WEFT_HAVE_GLIB
static void *glib_make(void)
{
	return g_async_queue_new();
}

static void glib_put(void *h, void *item)
{
	g_async_queue_push(h, item);
}

static void *glib_get(void *h)
{
	return g_async_queue_pop(h);
}

static void glib_destroy(void *h)
{
	g_async_queue_unref(h);
}

static const mpmc_ops glib_ops = {glib_make, self_attach, glib_put, glib_get, no_detach, glib_destroy};
#endif

/* ---- Python queue.Queue --------------------------------------------------------- */

/* The same workload as the C cases, item count included: Python's
 * figure per item does not depend on it, but nothing is scaled. */
static double run_python(void *arg)
{
	(void)arg;
	char script[1024];
	snprintf(script, sizeof script,
	         "import queue, threading, time\n"
	         "N = %ld\n"
	         "q = queue.Queue(%d)\n"
	         "def prod():\n"
	         "    for i in range(1, N // %d + 1): q.put(i)\n"
	         "def cons():\n"
	         "    for i in range(N // %d): q.get()\n"
	         "ts = [threading.Thread(target=f) for f in [prod] * %d + [cons] * %d]\n"
	         "t0 = time.perf_counter()\n"
	         "for t in ts: t.start()\n"
	         "for t in ts: t.join()\n"
	         "print(N / (time.perf_counter() - t0) / 1e6)\n",
	         n_items, CAPACITY, PRODUCERS, CONSUMERS, PRODUCERS, CONSUMERS);
	return bench_python(script);
}

int main(void)
{
	const char *env = getenv("BENCH_ITEMS");
	if (env && atol(env) > 0)
		n_items = atol(env) / 4 * 4;
	bench_case cases[16];
	int n = 0;
	cases[n++] = (bench_case){"weft Queue (lock-free ring)", run_mpmc, (void *)&weft_ring_ops};
	cases[n++] = (bench_case){"weft Queue, locked engine", run_mpmc, (void *)&weft_locked_ops};
#ifdef WEFT_HAVE_MOODYCAMEL
	cases[n++] =
	    (bench_case){"moodycamel BCQ + slots semaphore", run_mpmc, (void *)weft_bench_moodycamel_ops(1)};
	cases[n++] =
	    (bench_case){"moodycamel BCQ (unbounded)", run_mpmc, (void *)weft_bench_moodycamel_ops(0)};
#endif
#ifdef WEFT_HAVE_CK
	cases[n++] = (bench_case){"ck_ring mpmc + sched_yield", run_mpmc, (void *)&ck_ops};
#endif
#ifdef WEFT_HAVE_GLIB
	cases[n++] = (bench_case){"GLib GAsyncQueue (unbounded)", run_mpmc, (void *)&glib_ops};
#endif
	cases[n++] = (bench_case){"pthread mutex+cond ring", run_mpmc, (void *)&cond_ops};
#ifdef WEFT_HAVE_TBB
	cases[n++] = (bench_case){"oneTBB concurrent_bounded_queue", run_mpmc, (void *)weft_bench_tbb_ops()};
#endif
	cases[n++] = (bench_case){"Python queue.Queue", run_python, NULL};
	char title[128];
	snprintf(title, sizeof title, "MPMC queue, %d producers + %d consumers, capacity %d, %ld items",
	         PRODUCERS, CONSUMERS, CAPACITY, n_items);
	bench_spec spec = {.title = title, .unit = "M items/s", .higher_better = true};
	return bench_run(&spec, cases, n);
}
