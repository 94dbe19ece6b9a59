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
 */
#ifndef WEFT_FUTURES_FUTURE_H
#define WEFT_FUTURES_FUTURE_H

#include "core/core.h"
#include "futures/executor.h"
#include "futures/lock.h"

#include <weft/futures.h>

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
};

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

/* What a thread pool keeps in a future it runs. */
typedef struct weft__call {
	void *(*fn)(void *);
	void *arg;
	weft_task_fn task;
	void *in; /* the task's private copy of its input (malloc'd) */
	size_t len;
	void *ctx; /* contextvars snapshot the call runs in (a reference) */
} weft__call;

struct weft_future {
	weft__job job; /* first: an executor queues the future itself */
	_Atomic uint32_t state;
	_Atomic uint32_t refs;
	weft__mu lk; /* listeners; the cancel_running handshake */
	int code;    /* failure code, 0 = none (valid once final) */
	char *msg;
	void *result;
	weft_bytes bytes;
	weft__listener *listeners, **ltail;
	const weft__future_hooks *hooks; /* set while running, read under lk */
	void *hook_arg;
	void *impl;
	weft__call call;
};

/* Allocates a pending future with `refs` references (from the calling
 * thread's cache of freed futures when it has one). NULL: out of memory. */
weft_future *weft__future_alloc(uint32_t refs);

/* Claims f for completion: from PENDING or RUNNING to FINISHING. Returns
 * the old word, or UINT32_MAX when f is already finishing or done. */
uint32_t weft__future_claim(weft_future *f);

/* Publishes a claimed future as FINISHED (or CANCELLED when cancelled is
 * set or CANCEL_REQ was raised), wakes sleepers, notifies waiters and runs
 * the callbacks. Returns the final state. */
uint32_t weft__future_publish(weft_future *f, bool cancelled);

/* Frees the payload a thread pool attached (input copy, context). */
void weft__call_clear(weft__call *c);

/* Lists a waiter's node on f: 0, or 1 when f is already done (not
 * listed). */
int weft__future_listen(weft_future *f, weft__listener *l);

/* Unlists it if the completer has not taken it yet; afterwards no
 * completer touches l. */
void weft__future_unlisten(weft_future *f, weft__listener *l);

/* Called by a completer, under f's lk, for each waiter listed on f. */
void weft__waiter_notify(weft__waiter *w, weft_future *f);

/* Reports a failed done callback on stderr (as Python's logger does). */
void weft__report_callback_failure(weft_future *f, int code, const char *msg);

#endif
