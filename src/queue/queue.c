/* weft/queue.h: argument checks, the choice of engine, task accounting,
 * shutdown, and the fork story.
 *
 * Task accounting without a lock: unfinished = puts - done, where puts is
 * the ring's tail (or the locked engine's counter) and done counts
 * task_done calls plus items dropped by an immediate shutdown. done never
 * passes puts (a CAS checks it), so a put costs no extra atomic operation.
 * task_done and join pair like the parking in ring.c: the joiner registers
 * (seq_cst) and re-reads the counters; task_done bumps done (seq_cst) and
 * reads the joiners' count.
 *
 * Fork: every live queue is on a list; the prepare handler takes the list
 * lock and every queue mutex, so no queue is mid-update in the child; the
 * child handler forgets the waiters (threads that do not exist there). */
#include "queue/queue_impl.h"

#include <stdlib.h>
#include <string.h>

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static weft_queue *all_head;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&all_mu);
	for (weft_queue *q = all_head; q; q = q->all_next)
		pthread_mutex_lock(&q->mu);
}

static void atfork_parent(void)
{
	for (weft_queue *q = all_head; q; q = q->all_next)
		pthread_mutex_unlock(&q->mu);
	pthread_mutex_unlock(&all_mu);
}

static void forget(weft__waitlist *l)
{
	l->head = l->tail = NULL;
	atomic_store(&l->count, 0);
}

static void atfork_child(void)
{
	for (weft_queue *q = all_head; q; q = q->all_next) {
		forget(&q->getters);
		forget(&q->putters);
		forget(&q->joiners);
		pthread_mutex_unlock(&q->mu);
	}
	pthread_mutex_unlock(&all_mu);
}

static void register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static int init_mutex(pthread_mutex_t *mu)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	/* Critical sections are a few instructions: spin a little first. */
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	int rc = pthread_mutex_init(mu, &a);
	pthread_mutexattr_destroy(&a);
	return rc ? WEFT_ENOMEM : 0;
}

int weft__queue_new(weft_queue **out, const weft_queue_opts *opts, bool ring)
{
	static const weft_queue_opts defaults = {0};
	if (!out)
		return WEFT_EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	switch (opts->kind) {
	case WEFT_QUEUE_FIFO:
	case WEFT_QUEUE_LIFO:
		if (opts->compare)
			return WEFT_EINVAL;
		break;
	case WEFT_QUEUE_PRIORITY:
		if (!opts->compare)
			return WEFT_EINVAL;
		break;
	case WEFT_QUEUE_SIMPLE:
		if (opts->compare || opts->maxsize)
			return WEFT_EINVAL;
		break;
	default:
		return WEFT_EINVAL;
	}
	weft_queue *q = aligned_alloc(WEFT__CACHELINE, sizeof *q);
	if (!q)
		return WEFT_ENOMEM;
	memset(q, 0, sizeof *q);
	q->kind = opts->kind;
	q->maxsize = opts->maxsize;
	q->discard = opts->discard;
	q->is_ring = ring && q->kind == WEFT_QUEUE_FIFO && q->maxsize >= 2 && q->maxsize <= WEFT__RING_MAX;
	atomic_init(&q->state, WEFT__Q_ALIVE);
	atomic_init(&q->nputs, 0);
	atomic_init(&q->ndone, 0);
	weft__qstore_init(&q->store, q->kind, opts->compare);
	if (init_mutex(&q->mu)) {
		free(q);
		return WEFT_ENOMEM;
	}
	if (q->is_ring && weft__ring_init(&q->ring, q->maxsize)) {
		pthread_mutex_destroy(&q->mu);
		free(q);
		return WEFT_ENOMEM;
	}
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&all_mu);
	q->all_next = all_head;
	if (all_head)
		all_head->all_prev = q;
	all_head = q;
	pthread_mutex_unlock(&all_mu);
	*out = q;
	return 0;
}

int weft_queue_new(weft_queue **out, const weft_queue_opts *opts)
{
	return weft__queue_new(out, opts, true);
}

void weft_queue_free(weft_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&all_mu);
	if (q->all_prev)
		q->all_prev->all_next = q->all_next;
	else
		all_head = q->all_next;
	if (q->all_next)
		q->all_next->all_prev = q->all_prev;
	pthread_mutex_unlock(&all_mu);
	if (q->is_ring) {
		weft__ring_shutdown(q, q->discard != NULL);
		weft__ring_destroy(&q->ring);
	}
	weft__qstore_clear(&q->store, q->discard);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/* Checks q and timeout and turns the timeout into a deadline; the clock is
 * read only for a finite, non-zero timeout (a nowait call never parks). */
static int check_call(weft_queue *q, double timeout, int64_t *deadline)
{
	if (!q || !weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	if (timeout == WEFT_FOREVER) /* the common blocking call: no clock */
		*deadline = WEFT__NO_DEADLINE;
	else if (timeout == 0)
		*deadline = 0;
	else
		weft__deadline(timeout, deadline);
	return 0;
}

int weft_queue_put(weft_queue *q, void *item, double timeout)
{
	int64_t deadline;
	if (check_call(q, timeout, &deadline))
		return WEFT_EINVAL;
	if (q->is_ring)
		return weft__ring_put(q, item, deadline, timeout == 0);
	return weft__locked_put(q, item, deadline, timeout == 0);
}

int weft_queue_get(weft_queue *q, void **item, double timeout)
{
	int64_t deadline;
	if (!item || check_call(q, timeout, &deadline))
		return WEFT_EINVAL;
	if (q->is_ring)
		return weft__ring_get(q, item, deadline, timeout == 0);
	return weft__locked_get(q, item, deadline, timeout == 0);
}

size_t weft_queue_qsize(const weft_queue *q)
{
	if (!q)
		return 0;
	if (q->is_ring)
		return weft__ring_size(&q->ring);
	weft_queue *m = (weft_queue *)q;
	pthread_mutex_lock(&m->mu);
	size_t n = m->store.len;
	pthread_mutex_unlock(&m->mu);
	return n;
}

bool weft_queue_empty(const weft_queue *q)
{
	return weft_queue_qsize(q) == 0;
}

bool weft_queue_full(const weft_queue *q)
{
	return q && q->maxsize > 0 && weft_queue_qsize(q) >= q->maxsize;
}

size_t weft_queue_maxsize(const weft_queue *q)
{
	return q ? q->maxsize : 0;
}

static uint64_t unfinished(const weft_queue *q)
{
	/* done first: puts only grow, so puts read later is >= done. */
	uint64_t d = atomic_load(&((weft_queue *)q)->ndone);
	return weft__queue_puts(q) - d;
}

size_t weft_queue_unfinished_tasks(const weft_queue *q)
{
	if (!q || q->kind == WEFT_QUEUE_SIMPLE)
		return 0;
	return (size_t)unfinished(q);
}

static void wake_joiners(weft_queue *q)
{
	if (atomic_load(&q->joiners.count) == 0) /* seq_cst: pairs with join */
		return;
	pthread_mutex_lock(&q->mu);
	weft__wl_signal_all(&q->joiners);
	pthread_mutex_unlock(&q->mu);
}

/* Adds up to n to done without passing puts; returns how many it added. */
static uint64_t add_done(weft_queue *q, uint64_t n)
{
	uint64_t d = atomic_load(&q->ndone);
	for (;;) {
		uint64_t p = weft__queue_puts(q);
		uint64_t k = p - d < n ? p - d : n;
		if (k == 0)
			return 0;
		if (atomic_compare_exchange_weak(&q->ndone, &d, d + k)) {
			if (d + k == weft__queue_puts(q))
				wake_joiners(q);
			return k;
		}
	}
}

void weft__queue_count_dropped(weft_queue *q, uint64_t n)
{
	if (n && q->kind != WEFT_QUEUE_SIMPLE)
		add_done(q, n);
}

int weft_queue_task_done(weft_queue *q)
{
	if (!q)
		return WEFT_EINVAL;
	if (q->kind == WEFT_QUEUE_SIMPLE)
		return WEFT_ENOTSUP;
	return add_done(q, 1) ? 0 : WEFT_EINVAL;
}

int weft_queue_join(weft_queue *q, double timeout)
{
	int64_t deadline;
	if (check_call(q, timeout, &deadline))
		return WEFT_EINVAL;
	if (q->kind == WEFT_QUEUE_SIMPLE)
		return WEFT_ENOTSUP;
	while (unfinished(q)) {
		weft__waiter w;
		pthread_mutex_lock(&q->mu);
		weft__wl_push(&q->joiners, &w);
		pthread_mutex_unlock(&q->mu);
		int rc = unfinished(q) ? weft__wl_sleep(&w, deadline) : 0;
		if (!atomic_load_explicit(&w.signaled, memory_order_acquire)) {
			pthread_mutex_lock(&q->mu);
			if (!atomic_load_explicit(&w.signaled, memory_order_relaxed))
				weft__wl_remove(&q->joiners, &w);
			pthread_mutex_unlock(&q->mu);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int weft_queue_shutdown(weft_queue *q, bool immediate)
{
	if (!q)
		return WEFT_EINVAL;
	if (q->kind == WEFT_QUEUE_SIMPLE)
		return WEFT_ENOTSUP;
	int alive = WEFT__Q_ALIVE;
	atomic_compare_exchange_strong(&q->state, &alive, WEFT__Q_SHUTDOWN);
	uint64_t dropped = 0;
	weft__qstore gone;
	weft__qstore_init(&gone, q->kind, NULL);
	if (q->is_ring) {
		dropped = weft__ring_shutdown(q, immediate);
		pthread_mutex_lock(&q->mu);
	} else {
		pthread_mutex_lock(&q->mu);
		if (immediate) {
			/* Take the items out now; drop them once the lock is released. */
			atomic_store(&q->state, WEFT__Q_IMMEDIATE);
			gone = q->store;
			weft__qstore_init(&q->store, q->kind, gone.cmp);
			dropped = gone.len;
		}
	}
	weft__wl_signal_all(&q->getters);
	weft__wl_signal_all(&q->putters);
	pthread_mutex_unlock(&q->mu);
	weft__qstore_clear(&gone, q->discard);
	weft__queue_count_dropped(q, dropped);
	return 0;
}

bool weft_queue_is_shutdown(const weft_queue *q)
{
	return q && atomic_load(&((weft_queue *)q)->state) != WEFT__Q_ALIVE;
}
