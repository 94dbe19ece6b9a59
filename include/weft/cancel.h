/* weft/cancel.h - cancel scopes: cancelling blocked calls (beyond Python).
 *
 * Python cannot interrupt a thread that is blocked in lock.acquire() or
 * queue.get(). weft can. A cancel token is a flag that any thread may set
 * with weft_cancel_cancel(). A thread enters a cancel scope with a token
 * and/or a deadline; while it is inside, every blocking weft call it makes
 * (lock and condition waits, queue get/put, joins, future results,
 * subprocess waits, ...) returns WEFT_ECANCELED as soon as the token is
 * cancelled -- also when the call is already asleep -- and WEFT_ETIMEDOUT
 * once the scope's deadline passes. The object waited on is unchanged: a
 * cancelled acquire acquires nothing, a cancelled get removes nothing.
 *
 * Scopes nest within a thread: a call honours every scope the thread is in,
 * so cancelling an outer scope's token cancels the inner ones too. Tokens
 * nest across threads: a token made with a parent is cancelled when its
 * parent is (this is how task groups and pools pass cancellation down).
 *
 *   weft_cancel *tok;
 *   weft_cancel_new(&tok, NULL);
 *   // worker thread:
 *   weft_cancel_scope s;
 *   weft_cancel_scope_enter(&s, tok, WEFT_FOREVER);
 *   int rc = weft_queue_get(q, &item, WEFT_FOREVER); // WEFT_ECANCELED ...
 *   weft_cancel_scope_exit(&s);
 *   // any other thread:
 *   weft_cancel_cancel(tok);
 *
 * Thread-safety: tokens are thread-safe and reference counted. A scope
 * belongs to the thread that entered it and must be exited by that thread,
 * innermost first, before the thread ends.
 * Fork: tokens are per process; in a forked child the scopes of the forking
 * thread stay entered, and nothing is registered for the other threads.
 */
#ifndef WEFT_CANCEL_H
#define WEFT_CANCEL_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_cancel weft_cancel;

/* A scope: caller-allocated (usually on the stack), private fields. */
typedef struct weft_cancel_scope {
	struct weft_cancel_scope *outer;                     /* the thread's enclosing scope */
	weft_cancel *token;                                  /* NULL: a deadline-only scope */
	int64_t deadline_ns;                                 /* absolute monotonic ns, INT64_MAX: none */
	void *thread;                                        /* the owning thread's park record */
	struct weft_cancel_scope *next_waiter, *prev_waiter; /* token's list */
} weft_cancel_scope;

/* A new token with one reference, not cancelled; with a parent, it is
 * cancelled when (or if already) the parent is. EINVAL (out NULL), ENOMEM. */
WEFT_EXTERN int weft_cancel_new(weft_cancel **out, weft_cancel *parent);

/* Takes another reference. EINVAL (NULL). */
WEFT_EXTERN int weft_cancel_retain(weft_cancel *tok);

/* Drops a reference; the last one frees the token. NULL is ignored. */
WEFT_EXTERN void weft_cancel_release(weft_cancel *tok);

/* Cancels tok and its descendants and wakes every thread blocked in a weft
 * call inside a scope of theirs. Idempotent. EINVAL (NULL). */
WEFT_EXTERN int weft_cancel_cancel(weft_cancel *tok);

/* true once tok (or an ancestor) is cancelled; false for NULL. */
WEFT_EXTERN bool weft_cancel_is_cancelled(const weft_cancel *tok);

/* Enters a scope on the calling thread: tok may be NULL (deadline only),
 * timeout is seconds from now or WEFT_FOREVER. The scope holds a reference
 * to tok until exit. EINVAL (scope NULL, bad timeout). */
WEFT_EXTERN int weft_cancel_scope_enter(weft_cancel_scope *scope, weft_cancel *tok, double timeout);

/* Leaves the scope. EINVAL (NULL); EPERM when scope is not the calling
 * thread's innermost scope (nothing is changed then). */
WEFT_EXTERN int weft_cancel_scope_exit(weft_cancel_scope *scope);

/* For long computations: WEFT_ECANCELED if a scope of the calling thread is
 * cancelled, WEFT_ETIMEDOUT if a scope's deadline has passed, else 0. */
WEFT_EXTERN int weft_cancel_check(void);

/* The token of the calling thread's innermost scope that has one (a
 * borrowed pointer), or NULL. */
WEFT_EXTERN weft_cancel *weft_cancel_current(void);

#ifdef __cplusplus
}
#endif
#endif
