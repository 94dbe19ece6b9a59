/* Pool workers: the loop, finding work, the sleep protocol of pool.h,
 * starting workers, nested waits that help, draining. */
#include "futures/pool.h"
#include "core/park.h"

#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Jobs moved from the injector to the taker's deque at once. */
enum { BATCH = 32 };
/* How many jobs ahead of the one it runs a worker fetches its next jobs'
 * cache lines (written by the submitting thread): a batch's lines fetched
 * all at once stalled the taker on the CPU's fill buffers. */
enum { PREFETCH_AHEAD = 8 };
/* A worker out of work looks this many rounds before it sleeps: spinning
 * first (a pause loop between rounds), then yielding the CPU. */
enum { SPIN_ROUNDS = 32, SPIN_PAUSES = 64, YIELD_ROUNDS = 8 };
/* Every this many jobs a worker looks at the injector before its own
 * deque, so outside submissions are not starved by local ones. */
enum { FAIRNESS = 61 };

WEFT__TLS weft__worker *weft__self;

static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* ---- counts ------------------------------------------------------------------------------------ */

void weft__count_done(_Atomic uint32_t *c)
{
	uint32_t old = atomic_fetch_sub_explicit(c, 2, memory_order_acq_rel);
	if (old == 3) /* the last one, and someone sleeps */
		weft__wake(c, INT_MAX, WEFT__PRIVATE);
}

/* One sleep on the count: returns at zero, on a wakeup, or at the deadline. */
static int count_sleep(_Atomic uint32_t *c, int64_t deadline, bool cancellable)
{
	uint32_t s = atomic_load_explicit(c, memory_order_acquire);
	if (s < 2)
		return 0;
	if (!(s & 1) && !atomic_compare_exchange_strong_explicit(c, &s, s | 1, memory_order_acq_rel,
	                                                         memory_order_acquire))
		return 0; /* changed: let the caller look again */
	return cancellable ? weft__park(c, s | 1, WEFT__PRIVATE, deadline)
	                   : weft__futex_wait(c, s | 1, WEFT__PRIVATE, deadline);
}

int weft__count_wait(_Atomic uint32_t *c, int64_t deadline, bool cancellable)
{
	while (!weft__count_zero(c)) {
		int rc = count_sleep(c, deadline, cancellable);
		if (rc && !weft__count_zero(c))
			return rc;
	}
	return 0;
}

/* ---- finding work ------------------------------------------------------------------------------- */

/* Takes the oldest injector job; a worker also moves a batch of the next
 * ones to its deque, newest pushed first, so that it pops them oldest
 * first while thieves may take the newest. The batch reaches the deque
 * before the injector is unlocked, so that a drain (which locks the
 * injector, then empties the deques) never misses jobs in transit. The
 * jobs were written by another thread: their first cache lines are
 * fetched together here rather than one miss at a time when each runs. */
static weft__job *take_injector(weft__pool *p, weft__worker *w)
{
	if (!weft__injector_nonempty(&p->inj) || !weft__injector_trylock(&p->inj))
		return NULL;
	weft__job *batch[BATCH + 1];
	int limit = 1;
	if (w) {
		int64_t room = weft__deque_room(&w->dq);
		limit += room < BATCH ? (int)room : BATCH;
	}
	int k = weft__injector_pop(&p->inj, batch, limit);
	for (int i = 0; i < k && i < PREFETCH_AHEAD; i++)
		weft__prefetch_w(batch[i]);
	if (k > 1)
		weft__deque_push_many(&w->dq, batch + 1, k - 1); /* fits: room was checked */
	weft__injector_unlock(&p->inj);
	return k ? batch[0] : NULL;
}

weft__job *weft__pool_find(weft__pool *p, weft__worker *w)
{
	weft__job *j = take_injector(p, w);
	if (j)
		return j;
	int n = atomic_load_explicit(&p->nworkers, memory_order_acquire);
	uint64_t seed = (uint64_t)(uintptr_t)&j;
	uint64_t r = w ? next_rand(&w->rng) : next_rand(&seed);
	for (int k = 0; k < n; k++) {
		weft__worker *v = p->workers[(r + (uint64_t)k) % (uint64_t)n];
		if (v == w)
			continue;
		for (int tries = 0; tries < 8; tries++) {
			j = weft__deque_steal(&v->dq);
			if (j != WEFT__STEAL_RETRY)
				break;
		}
		if (j && j != WEFT__STEAL_RETRY)
			return j;
	}
	return NULL;
}

static bool work_visible(weft__pool *p)
{
	if (weft__injector_nonempty(&p->inj))
		return true;
	int n = atomic_load_explicit(&p->nworkers, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (weft__deque_nonempty(&p->workers[i]->dq))
			return true;
	return false;
}

/* ---- the sleep protocol --------------------------------------------------------------------------- */

void weft__pool_notify_slow(weft__pool *p)
{
	if (atomic_load(&p->searching) > 0)
		return; /* a searcher will find the job */
	if (atomic_load(&p->sleepers) > 0) {
		weft__mu_lock(&p->idle_lk);
		weft__worker *w = p->idle;
		if (w) {
			p->idle = w->next_idle;
			w->idle = false;
			atomic_fetch_sub(&p->sleepers, 1);
			atomic_fetch_add(&p->searching, 1); /* on its behalf */
		}
		weft__mu_unlock(&p->idle_lk);
		if (w) {
			atomic_store_explicit(&w->wake, 1, memory_order_release);
			weft__wake(&w->wake, 1, WEFT__PRIVATE);
			return;
		}
	}
	if (atomic_load_explicit(&p->nworkers, memory_order_relaxed) >= p->max_workers ||
	    (atomic_load_explicit(&p->gate, memory_order_relaxed) & GATE_SHUT))
		return;
	/* A worker may have taken the job between the push and the loads
	 * above (it stopped searching to run it): then the pool need not
	 * grow. */
	weft__mu_lock(&p->lk);
	if (atomic_load(&p->searching) == 0 && atomic_load(&p->nworkers) < p->max_workers &&
	    work_visible(p)) {
		atomic_fetch_add(&p->searching, 1);
		if (weft__pool_spawn(p))
			atomic_fetch_sub(&p->searching, 1);
	}
	weft__mu_unlock(&p->lk);
}

static void stop_searching(weft__pool *p, weft__worker *w)
{
	w->searching = false;
	/* The last searcher found work: if there is more, wake the next one
	 * (the cascade that brings in as many workers as there is work). */
	if (atomic_fetch_sub(&p->searching, 1) == 1 && work_visible(p))
		weft__pool_notify(p);
}

static weft__job *search(weft__pool *p, weft__worker *w)
{
	if (!w->searching) {
		w->searching = true;
		/* One spinner is enough: a job that appears wakes nobody while a
		 * worker searches, and the finder wakes the next sleeper if more
		 * work is visible (stop_searching). A second worker that spun
		 * too would only burn CPU time that the submitting thread needs
		 * when the pool has as many workers as there are cores. */
		if (atomic_fetch_add(&p->searching, 1) > 0)
			return weft__pool_find(p, w);
	}
	for (int round = 0; round < SPIN_ROUNDS + YIELD_ROUNDS; round++) {
		weft__job *j = weft__pool_find(p, w);
		if (j)
			return j;
		if (round < SPIN_ROUNDS)
			for (int i = 0; i < SPIN_PAUSES; i++)
				weft__cpu_relax();
		else
			sched_yield();
	}
	return NULL;
}

/* Registers as a sleeper, stops searching, looks once more, sleeps until a
 * notifier hands over a wakeup (which counts this worker as searching). */
static void park(weft__pool *p, weft__worker *w)
{
	weft__mu_lock(&p->idle_lk);
	w->idle = true;
	w->next_idle = p->idle;
	p->idle = w;
	atomic_fetch_add(&p->sleepers, 1);
	weft__mu_unlock(&p->idle_lk);
	w->searching = false;
	atomic_fetch_sub(&p->searching, 1);
	if (work_visible(p) || (atomic_load(&p->gate) & GATE_SHUT)) {
		weft__mu_lock(&p->idle_lk);
		if (w->idle) {
			weft__worker **pp = &p->idle;
			while (*pp != w)
				pp = &(*pp)->next_idle;
			*pp = w->next_idle;
			w->idle = false;
			atomic_fetch_sub(&p->sleepers, 1);
			atomic_fetch_add(&p->searching, 1);
			weft__mu_unlock(&p->idle_lk);
			w->searching = true;
			return;
		}
		weft__mu_unlock(&p->idle_lk);
		/* A notifier took us off the list: its wakeup is on its way. */
	}
	while (!atomic_load_explicit(&w->wake, memory_order_acquire))
		weft__futex_wait(&w->wake, 0, WEFT__PRIVATE, WEFT__NO_DEADLINE);
	atomic_store_explicit(&w->wake, 0, memory_order_relaxed);
	w->searching = true;
}

static bool should_exit(weft__pool *p)
{
	uint32_t g = atomic_load(&p->gate);
	return (g & GATE_SHUT) && g < GATE_ONE && !work_visible(p);
}

/* ---- workers ------------------------------------------------------------------------------------- */

static bool run_initializer(weft__pool *p)
{
	weft__failure rec;
	weft__failure *prev = weft__failure_enter(&rec);
	int rc = p->initializer(p->initarg);
	weft__failure_leave(prev);
	if (rc >= 0 && !rec.code)
		return true;
	int code = rec.code ? rec.code : rc;
	fprintf(stderr, "weft: exception in initializer: %s: %s\n", weft_errname(code),
	        rec.msg ? rec.msg : weft_strerror(code));
	weft__failure_clear(&rec);
	weft__pool_break(p);
	return false;
}

void *weft__worker_main(void *arg)
{
	weft__worker *w = arg;
	weft__pool *p = w->pool;
	weft__self = w;
	char name[64];
	snprintf(name, sizeof name, "%s_%d", p->prefix, w->index);
	name[15] = '\0'; /* the kernel keeps 15 characters */
	pthread_setname_np(pthread_self(), name);
	w->searching = true; /* counted by whoever started us */
	if (!p->initializer || run_initializer(p)) {
		weft__cancel_scope_push(&w->top_scope, NULL);
		w->park = weft__park_self();
		weft__failure *prev = weft__failure_enter(&w->top_rec);
		for (int until_fair = FAIRNESS;;) {
			weft__job *j = NULL;
			if (weft__unlikely(--until_fair == 0)) {
				until_fair = FAIRNESS;
				j = take_injector(p, w);
			}
			if (!j) {
				j = weft__deque_pop(&w->dq);
				weft__job *later = weft__deque_peek(&w->dq, PREFETCH_AHEAD - 1);
				if (later)
					weft__prefetch_w(later);
			}
			/* One look before counting itself as searching: a worker
			 * that finds work at once (its pool is busy) leaves the
			 * shared count alone, which submitters read. */
			if (!j && !w->searching)
				j = weft__pool_find(p, w);
			if (!j)
				j = search(p, w);
			if (j) {
				if (w->searching)
					stop_searching(p, w);
				j->run(j, 0);
				continue;
			}
			if (should_exit(p))
				break;
			park(p, w);
		}
		weft__failure_leave(prev);
		weft__cancel_scope_pop(&w->top_scope);
	}
	if (w->searching) {
		w->searching = false;
		atomic_fetch_sub(&p->searching, 1);
	}
	weft__self = NULL;
	atomic_fetch_sub(&p->live, 1);
	weft__wake(&p->live, INT_MAX, WEFT__PRIVATE);
	weft__executor_release(&p->base);
	return NULL;
}

int weft__pool_spawn(weft__pool *p)
{
	int i = atomic_load(&p->nworkers);
	if (i >= p->max_workers)
		return WEFT_EAGAIN;
	weft__worker *w;
	if (posix_memalign((void **)&w, 64, sizeof *w))
		return WEFT_ENOMEM;
	memset(w, 0, sizeof *w);
	if (weft__deque_init(&w->dq, 2 * BATCH)) {
		free(w);
		return WEFT_ENOMEM;
	}
	w->pool = p;
	w->index = i;
	w->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
	p->workers[i] = w;
	atomic_fetch_add(&p->live, 1);
	weft__executor_retain(&p->base);
	/* Workers take no asynchronous signals: those belong to the
	 * application's threads (as in libuv's pool). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->tid, NULL, weft__worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		p->workers[i] = NULL;
		atomic_fetch_sub(&p->live, 1);
		weft__executor_release(&p->base); /* not the last: the caller's */
		weft__deque_destroy(&w->dq);
		free(w);
		return WEFT_EAGAIN;
	}
	w->started = true;
	atomic_store_explicit(&p->nworkers, i + 1, memory_order_release);
	return 0;
}

int weft__pool_push(weft__pool *p, weft__job *job)
{
	weft__worker *w = weft__self;
	if (w && w->pool == p && weft__deque_push(&w->dq, job) == 0) {
		/* Pairs with a sleeper's registration (pool.h). */
		atomic_thread_fence(memory_order_seq_cst);
		weft__pool_notify(p);
		return 0;
	}
	if (weft__unlikely(atomic_load_explicit(&p->nworkers, memory_order_acquire) == 0)) {
		int rc = 0;
		weft__mu_lock(&p->lk);
		if (atomic_load(&p->nworkers) == 0) {
			atomic_fetch_add(&p->searching, 1);
			rc = weft__pool_spawn(p);
			if (rc)
				atomic_fetch_sub(&p->searching, 1);
		}
		weft__mu_unlock(&p->lk);
		if (rc)
			return rc;
	}
	int rc = weft__injector_push(&p->inj, job);
	if (rc)
		return rc;
	weft__pool_notify(p);
	return 0;
}

int weft__worker_help(weft__worker *w, _Atomic uint32_t *count, bool cancellable, int64_t deadline)
{
	int idle = 0;
	while (!weft__count_zero(count)) {
		if (cancellable) {
			int rc = weft__cancel_status();
			if (!rc && deadline != WEFT__NO_DEADLINE && weft__now_ns() >= deadline)
				rc = WEFT_ETIMEDOUT;
			if (rc)
				return rc;
		}
		weft__job *j = weft__deque_pop(&w->dq);
		if (!j)
			j = weft__pool_find(w->pool, w);
		if (j) {
			idle = 0;
			/* Not under the waiting job's cancel scopes. */
			weft_cancel_scope *saved = weft__cancel_scopes_detach();
			w->helping++;
			j->run(j, 0);
			w->helping--;
			weft__cancel_scopes_restore(saved);
			/* A call counts its worker as searching as it ends
			 * (weft__worker_expect_free); this one is not: it goes
			 * back to its waiting job. */
			if (w->searching)
				stop_searching(w->pool, w);
			continue;
		}
		if (++idle < SPIN_ROUNDS) {
			for (int i = 0; i < SPIN_PAUSES; i++)
				weft__cpu_relax();
		} else if (idle < SPIN_ROUNDS + YIELD_ROUNDS) {
			sched_yield();
		} else {
			/* Sleep on the count, but look for work again now and then:
			 * this worker is not on the idle list, so nobody wakes it
			 * for new jobs. */
			int64_t until = weft__now_ns() + 1000000;
			int rc = count_sleep(count, until < deadline ? until : deadline, cancellable);
			if (rc == WEFT_ECANCELED)
				return rc;
		}
	}
	return 0;
}

/* Up to max jobs stolen from the workers' deques. */
static int steal_all(weft__pool *p, weft__job **out, int max)
{
	int k = 0, n = atomic_load_explicit(&p->nworkers, memory_order_acquire);
	for (int i = 0; i < n && k < max; i++) {
		while (k < max) {
			weft__job *j = weft__deque_steal(&p->workers[i]->dq);
			if (j == WEFT__STEAL_RETRY)
				continue;
			if (!j)
				break;
			out[k++] = j;
		}
	}
	return k;
}

void weft__pool_drain(weft__pool *p, int how)
{
	/* A batch at a time, each taken under the injector's lock: the
	 * injector first, the deques once it is empty -- a batch in transit
	 * from one to the other moves under that lock (take_injector), so
	 * none is missed. The jobs run with no lock held: dropping a future
	 * runs its callbacks. A worker may take a job between two batches and
	 * run it, as a worker may in Python's shutdown(cancel_futures=True). */
	weft__job *batch[BATCH];
	for (;;) {
		weft__injector_lock(&p->inj);
		int k = weft__injector_pop(&p->inj, batch, BATCH);
		bool filling = !k && weft__injector_nonempty(&p->inj);
		if (!k && !filling)
			k = steal_all(p, batch, BATCH);
		weft__injector_unlock(&p->inj);
		if (filling) {
			/* The queue is closed: a producer that claimed a slot
			 * before is about to fill it. */
			sched_yield();
			continue;
		}
		if (!k)
			break;
		for (int i = 0; i < k; i++)
			batch[i]->run(batch[i], how);
	}
}
