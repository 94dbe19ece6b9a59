/* src/futures/pool.h - the work-stealing thread pool's insides.
 *
 * Queues: each worker owns a Chase-Lev deque; jobs submitted by a thread
 * that is not one of the pool's workers go to the shared injector. A worker
 * looks in its own deque, then takes a batch from the injector (moving it
 * to its deque, where others can steal), then steals from the others.
 *
 * Sleep protocol (a submission wakes at most one worker, and none while a
 * worker is still searching):
 *   searching  workers awake and looking for work (a worker being started
 *              or woken counts as searching from the moment it is asked);
 *   sleepers   workers on the idle list, asleep or about to be.
 * After queueing a job a submitter calls weft__pool_notify: nothing if a
 * worker is searching, else it wakes one sleeper (counting it as
 * searching), else it starts a new worker if the pool may grow. A searching
 * worker that finds a job stops searching; if it was the last searcher and
 * more work is visible it notifies in turn, so wakeups cascade only as far
 * as there is work. A worker that finds nothing joins the idle list, stops
 * searching, and then checks every queue once more before it sleeps. Only
 * one worker spins at a time: one that runs out of work while another is
 * searching looks once and goes to sleep.
 * Lost wakeups are impossible because both sides use sequentially
 * consistent operations: the submitter queues and then reads searching /
 * the idle list; the sleeper registers and then reads the queues -- one of
 * them sees the other.
 *
 * Shutdown and submission meet in the gate word: submitters add GATE_ONE
 * while they queue, shutdown sets GATE_SHUT and waits for the count to
 * drain, so after that no job can appear and workers that find the queues
 * empty may exit. The common submission -- a future from a thread outside
 * a pool that has a worker -- skips the gate (two RMWs per submit): the
 * injector's tail word carries a closed flag, which shutdown and break set
 * before their gate flags. A claim either precedes the close (and is
 * visible to any worker that sees GATE_SHUT) or fails; the producer
 * stores its job last, after its wakeup, so it never touches a pool that
 * a shutdown may already have let go.
 *
 * Lifetime: the user's reference and one per running worker keep the pool;
 * the last one destroys it. Workers are joined by shutdown(wait=true);
 * those never joined are detached at destroy.
 */
#ifndef WEFT_FUTURES_POOL_H
#define WEFT_FUTURES_POOL_H

#include "futures/deque.h"
#include "futures/future.h"
#include "futures/injector.h"
#include "futures/lock.h"

#include <pthread.h>

enum {
	GATE_SHUT = 1,   /* shutdown called */
	GATE_BROKEN = 2, /* an initializer failed */
	GATE_ONE = 4,    /* one submitter inside */
};

enum { WEFT__TOKEN_DEPTH = 8 };

typedef struct weft__pool weft__pool;
typedef struct weft__worker weft__worker;

struct weft__worker {
	weft__deque dq;
	weft__pool *pool;
	int index;
	pthread_t tid;
	bool started; /* tid is valid */
	bool joined;
	bool searching;        /* counted in pool->searching (owner's view) */
	_Atomic uint32_t wake; /* futex: set by the waker */
	weft__worker *next_idle;
	bool idle; /* on the idle list (under idle_lk) */
	/* The cancel scope tokens of the calls this worker runs, one per
	 * nesting level (a call that waits may run another inline), made on
	 * first use and replaced once cancelled. */
	weft_cancel *tokens[WEFT__TOKEN_DEPTH];
	int depth;
	/* The cancel scope and failure record of the calls the loop runs
	 * (worker_main enters both once, for the worker's life): a future's
	 * call at the top puts its token in top_scope and takes it out before
	 * completing, which spares a push and a pop per task. Calls run by a
	 * nested wait (helping > 0: weft__worker_help detached the scopes)
	 * enter their own. Between calls top_scope carries no token, so it
	 * has no effect. */
	weft_cancel_scope top_scope;
	weft__failure top_rec;
	struct weft__park_rec *park; /* the thread's, where its scope stack starts */
	int helping;
	uint64_t rng; /* steal victim choice */
	/* Task groups (group.c): how long the tasks this worker ran inline
	 * lately took -- per TINY_WINDOW of them, from the clock -- and
	 * whether they were tiny. */
	unsigned inline_runs;
	int64_t inline_t0;
	bool inline_tiny;
};

struct weft__pool {
	weft_executor base;
	int max_workers;
	unsigned fork_gen;
	int (*initializer)(void *);
	void *initarg;
	char prefix[48];

	_Alignas(64) _Atomic uint32_t gate;
	weft__injector inj;

	_Alignas(64) _Atomic int searching;
	_Atomic int sleepers;
	_Atomic int nworkers;  /* workers started (published slots) */
	_Atomic uint32_t live; /* workers not yet out of their loop (futex) */
	weft__mu idle_lk;
	weft__worker *idle;

	weft__mu lk;                     /* starting and joining workers */
	weft__worker **workers;          /* max_workers slots, filled in order */
	weft__pool *reg_next, *reg_prev; /* registry.c, under its lock */
	bool exit_joined;                /* registry.c */
};

/* The process's list of pools, joined at exit (registry.c). */
void weft__pool_register(weft__pool *p);
void weft__pool_unregister(weft__pool *p);

/* The worker the calling thread is, or NULL (set by weft__worker_main). */
extern WEFT__TLS weft__worker *weft__self;
static inline weft__worker *weft__current_worker(void)
{
	return weft__self;
}

/* Queues a job: on the calling worker's own deque when it belongs to p,
 * else on the injector; then wakes or starts a worker if none is
 * searching. The caller holds the gate. 0, or WEFT_EAGAIN / WEFT_ENOMEM
 * when the pool has no worker and none could be started. */
int weft__pool_push(weft__pool *p, weft__job *job);

/* Enters the gate for a submission: 0, WEFT_ESHUTDOWN or WEFT_EBROKEN. */
int weft__pool_enter(weft__pool *p);
static inline void weft__pool_leave(weft__pool *p)
{
	atomic_fetch_sub_explicit(&p->gate, GATE_ONE, memory_order_release);
}

/* Wakes one sleeper or starts a worker, unless a worker is searching. */
void weft__pool_notify_slow(weft__pool *p);
/* false when notifying has nothing to do: a searcher will find the job,
 * or every worker is busy, with nobody to wake and no room to grow (the
 * slow path's own answer, without the call). */
static inline bool weft__pool_notify_needed(weft__pool *p)
{
	if (atomic_load(&p->searching) > 0)
		return false;
	return atomic_load(&p->sleepers) > 0 ||
	       atomic_load_explicit(&p->nworkers, memory_order_relaxed) < p->max_workers;
}
static inline void weft__pool_notify(weft__pool *p)
{
	if (weft__pool_notify_needed(p))
		weft__pool_notify_slow(p);
}

/* Queues a job from a thread that is not one of p's workers, on a pool
 * that has a worker, without entering the gate: the injector's close
 * (shutdown and break close it before they raise their gate flags)
 * refuses it instead. 0, WEFT_ESHUTDOWN, WEFT_EBROKEN or WEFT_ENOMEM. */
static inline int weft__pool_push_outside(weft__pool *p, weft__job *job)
{
	weft__inj_ticket tk;
	int rc = weft__injector_claim(&p->inj, &tk);
	if (rc)
		return rc;
	/* Wake before the job is stored: once it is, it may run and the pool
	 * may be shut down and freed, so the store is the last touch. A
	 * worker woken meanwhile sees the claimed slot (the queue is not
	 * empty) and waits for it. */
	weft__pool_notify(p);
	weft__injector_fill(&tk, job);
	return 0;
}

/* weft_executor_submit on a thread pool (ex): the common case -- a call
 * from a thread outside a pool that has a worker, a cached future -- in
 * one function; anything else goes the generic way. */
int weft__pool_submit_call(weft_executor *ex, weft_future **out, void *(*fn)(void *), void *arg);

/* Called by a worker just before it completes a call: while the pool may
 * still grow, it counts itself as searching already, so that a submission
 * made the moment the caller sees the result reuses this worker instead of
 * starting another (Python's idle-thread reuse). */
static inline void weft__worker_expect_free(weft__worker *w)
{
	weft__pool *p = w->pool;
	if (!w->searching && atomic_load_explicit(&p->nworkers, memory_order_relaxed) < p->max_workers) {
		w->searching = true;
		atomic_fetch_add(&p->searching, 1);
	}
}

/* Starts a worker if the pool may grow (caller counted it as searching).
 * Returns 0 or a negative code. */
int weft__pool_spawn(weft__pool *p);

/* The worker thread. */
void *weft__worker_main(void *arg);

/* One round of looking for work in p, for a worker (w) or for a helper
 * that is not one (w NULL: only the injector and the deques of others).
 * Returns a job or NULL. */
weft__job *weft__pool_find(weft__pool *p, weft__worker *w);

/* Runs jobs of the worker's pool until the count is zero (a nested wait
 * inside a task: the waiting worker helps instead of blocking its slot).
 * With cancellable, returns early with the caller's cancel status or
 * WEFT_ETIMEDOUT at the deadline; without, waits to the end. */
int weft__worker_help(weft__worker *w, _Atomic uint32_t *count, bool cancellable, int64_t deadline);

/* Marks the pool broken, then fails every queued job with WEFT_EBROKEN. */
void weft__pool_break(weft__pool *p);

extern const weft__executor_ops weft__pool_ops;

/* A count others may wait to reach zero (task groups, parallel loops):
 * the word holds 2 * count, plus 1 while a waiter sleeps on it. The last
 * weft__count_done may wake a waiter that has already returned and freed
 * the word's memory: a futex wake on such an address at worst wakes
 * another waiter spuriously, which every waiter tolerates. */
static inline void weft__count_add(_Atomic uint32_t *c)
{
	atomic_fetch_add_explicit(c, 2, memory_order_relaxed);
}
static inline bool weft__count_zero(_Atomic uint32_t *c)
{
	return atomic_load_explicit(c, memory_order_acquire) < 2;
}
/* Release: what the finisher wrote is visible to whoever sees zero. */
void weft__count_done(_Atomic uint32_t *c);
/* Sleeps until the count is zero or the deadline; with cancellable, the
 * caller's cancel scopes apply. 0, WEFT_ETIMEDOUT, WEFT_ECANCELED. */
int weft__count_wait(_Atomic uint32_t *c, int64_t deadline, bool cancellable);

/* Drops every queued job with how (WEFT_ECANCELED or WEFT_EBROKEN). */
void weft__pool_drain(weft__pool *p, int how);

/* The kind check for the pool-specific functions. */
weft__pool *weft__as_pool(const weft_executor *ex);

/* The compute pool that task groups and parallel loops use when given no
 * executor: one worker per CPU. NULL when it cannot be made. */
weft__pool *weft__compute_pool(void);

#endif
