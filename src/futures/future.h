/* src/futures/future.h - the future's insides, shared by the files of the
 * futures module (never by other modules: they use executor.h).
 *
 * The state word holds the state and three flags, so that completing a
 * future that nobody waits on is two atomic operations and no lock:
 *
 *   PENDING -> RUNNING -> FINISHING -> FINISHED
 *      \          (cancel_running: FINISHING -> CANCELLED)
 *       `-> CANCELLED
 *
 * FINISHING is the completer's claim: whoever moves the word there alone
 * writes the result fields, then publishes FINISHED (or CANCELLED) with a
 * release RMW that keeps the flags others set meanwhile. Readers load the
 * word with acquire and read the fields once they see a final state.
 *
 * Flags: SLEEPERS -- a thread sleeps on the word (weft_future_result), the
 * completer wakes all; LISTENERS -- callbacks or waiters are listed, the
 * completer takes lk and dispatches; CANCEL_REQ -- cancel_running was asked
 * while running, the hook ran under lk. A flag is only ever added to a word
 * that is not final (CAS), so a completer that saw no flag owes nothing.
 * F_TASK says what a pool runs; F_OWNED marks a pool future, which only
 * its worker completes (no claim needed). The reference count lives in
 * the same word, above the flags, so that a worker publishes the outcome
 * and drops its own reference in one RMW: the future's cache line then
 * moves back to the waiting thread once, not three times.
 */
#ifndef WEFT_FUTURES_FUTURE_H
#define WEFT_FUTURES_FUTURE_H

#include "core/core.h"
#include "futures/executor.h"
#include "futures/lock.h"

#include <weft/futures.h>

#include <stddef.h>

enum {
	F_PENDING = 0,
	F_RUNNING = 1,
	F_FINISHING = 2,
	F_FINISHED = 3,
	F_CANCELLED = 4,
	F_STATE = 7,
	F_SLEEPERS = 8,
	F_LISTENERS = 16,
	F_CANCEL_REQ = 32,
	F_TASK = 64,   /* a byte task (set before the future is shared) */
	F_OWNED = 128, /* completed by its engine only: set_* refuse it */
	F_REF = 256,   /* bits 8..31: the reference count */
};

/* The most references a future can have (24 bits). */
#define F_MAX_REFS ((UINT32_MAX >> 8) - 1)

static inline bool weft__fstate_done(uint32_t s)
{
	return (s & F_STATE) >= F_FINISHED;
}

typedef struct weft__waiter weft__waiter;

/* A callback (waiter NULL) or a wait()/as_completed() registration, in the
 * future's list. Callback nodes belong to the list; waiter nodes belong to
 * their waiter, which unlinks them under lk before freeing them. */
typedef struct weft__listener {
	struct weft__listener *next;
	weft__waiter *waiter;
	weft_future_callback fn;
	void *arg;
	weft_future *future; /* for waiters: whose list this node is in */
} weft__listener;

/* The fields a tiny task's round trip touches (submit, run, result,
 * release) share the first cache line, and a future starts on a line: on
 * two cores each line a task moves between the submitting thread and the
 * worker costs about 60 ns, so a future is one line in transit each way,
 * not two or three. The second line holds what only failures, byte tasks
 * and listeners use; the hot paths leave it alone (cold says whether msg or
 * bytes are set, F_LISTENERS whether listeners is), and a future in a
 * thread's cache keeps it zeroed, so reuse clears the first line only. */
struct weft_future {
	weft__job job;          /* first: an executor queues the future itself */
	_Atomic uint32_t state; /* state, flags, references (F_REF units) */
	weft__mu lk;            /* listeners; the cancel_running handshake */
	int code;               /* failure code, 0 = none (valid once final) */
	bool cold;              /* msg or bytes may be set (the completer's, or
	                         * the submitter's before the future is shared) */
	void *result;
	union {
		/* What a thread pool runs (F_TASK tells which), until it runs. */
		struct {
			union {
				void *(*fn)(void *);
				weft_task_fn task;
			} call;
			void *arg;
		};
		/* From weft__future_start on, once call and arg were read: how
		 * the engine cancels the running call (read under lk). */
		struct {
			const weft__future_hooks *hooks;
			void *impl;
		};
	};
	void *ctx; /* the contextvars snapshot the call runs in (a reference) */
	/* The future this thread's cache hands out a few allocations after
	 * this one (or NULL): result() prefetches it when this one is done
	 * already, since waiters mostly take futures in submission order. A
	 * hint only: it may be reused or freed by then, which a prefetch
	 * tolerates. */
	void *ahead;
	/* The second line. */
	_Alignas(64) char *msg;
	weft_bytes bytes; /* a byte task's input until it runs, then its output */
	weft__listener *listeners;
	void *block; /* what malloc returned (future.c) */
};

_Static_assert(offsetof(struct weft_future, ahead) + sizeof(void *) <= 64,
               "the hot fields fit one cache line");
_Static_assert(sizeof(struct weft_future) <= 128, "keep futures small");

/* PENDING -> RUNNING: 0, WEFT_ECANCELED or WEFT_ESTATE. */
static inline int weft__future_to_running(weft_future *f)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
	for (;;) {
		uint32_t st = s & F_STATE;
		if (st == F_CANCELLED)
			return WEFT_ECANCELED;
		if (st != F_PENDING)
			return WEFT_ESTATE;
		if (atomic_compare_exchange_weak_explicit(&f->state, &s, (s & ~(uint32_t)F_STATE) | F_RUNNING,
		                                          memory_order_acq_rel, memory_order_relaxed))
			return 0;
	}
}

/* weft__future_start (executor.h), inline for the thread pool's worker. */
static inline int weft__future_start_inline(weft_future *f, const weft__future_hooks *hooks, void *arg)
{
	/* Written before RUNNING is published (release); cancel_running reads
	 * them only after it saw RUNNING (acquire). An engine starts each of
	 * its futures once; hooks and impl take the place of call and arg,
	 * which a pool has read by now. */
	f->hooks = hooks;
	f->impl = arg;
	return weft__future_to_running(f);
}

/* Allocates a pending future with `refs` references (from the calling
 * thread's cache of freed futures when it has one). NULL: out of memory. */
weft_future *weft__future_alloc(uint32_t refs);

/* Claims f for completion: from PENDING or RUNNING to FINISHING. Returns
 * the old word, or UINT32_MAX when f is already finishing or done. */
uint32_t weft__future_claim(weft_future *f);

/* Publishes a claimed (or owned and running) future as FINISHED, or
 * CANCELLED when cancelled is set or CANCEL_REQ was raised; wakes
 * sleepers, notifies waiters and runs the callbacks. With drop_ref, also
 * drops the caller's reference (in the same RMW when nothing listens).
 * Returns the final state. */
uint32_t weft__future_publish(weft_future *f, bool cancelled, bool drop_ref);

/* Lists a waiter's node on f: 0, or 1 when f is already done (not
 * listed). */
int weft__future_listen(weft_future *f, weft__listener *l);

/* Unlists it if the completer has not taken it yet; afterwards no
 * completer touches l. */
void weft__future_unlisten(weft_future *f, weft__listener *l);

/* Called by a completer, under f's lk, for each waiter listed on f. */
void weft__waiter_notify(weft__waiter *w, weft_future *f);

/* Fails a claimed future with code and a copy of msg. */
void weft__future_fail(weft_future *f, int code, const char *msg);

/* Completes an F_OWNED running future (the pool's worker) and drops the
 * worker's reference. */
void weft__future_complete_owned(weft_future *f, int code, const weft__failure *rec, void *result,
                                 weft_bytes *out);

/* Drops both references of a submission's future (the caller's and the
 * engine's) after the engine refused it. */
static inline void weft__future_drop_pair(weft_future *f)
{
	weft_future_release(f);
	weft_future_release(f);
}

/* Frees a future whose last reference the caller just dropped. */
void weft__future_free_last(weft_future *f);

/* Publishes an F_OWNED running future whose outcome is written as
 * FINISHED and drops the worker's reference. The common case -- nobody
 * sleeps on f, listens to it or asked to cancel it -- is one CAS that
 * publishes and drops at once (release: the outcome goes with it);
 * anything else, or a flag raised meanwhile, takes the general path. */
static inline void weft__future_publish_owned(weft_future *f)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
	if (weft__likely(!(s & (F_SLEEPERS | F_LISTENERS | F_CANCEL_REQ)))) {
		uint32_t n = ((s & ~(uint32_t)F_STATE) | F_FINISHED) - F_REF;
		if (weft__likely(atomic_compare_exchange_strong_explicit(
		        &f->state, &s, n, memory_order_acq_rel, memory_order_relaxed))) {
			if (n / F_REF == 0)
				weft__future_free_last(f);
			return;
		}
	}
	weft__future_publish(f, false, true);
}

/* Reports a failed done callback on stderr (as Python's logger does). */
void weft__report_callback_failure(weft_future *f, int code, const char *msg);

#endif
