/* src/contextvars/context.h - what other modules need from contextvars.
 *
 * Executors run a call "in a copy of the submitter's context": they capture
 * the submitter's map (a reference, O(1)) at submit time and run the call
 * between weft__context_enter_snapshot and weft__context_leave_snapshot.
 * Entering a snapshot allocates nothing: the thread's current context
 * becomes an implicit one whose map is the snapshot; a context object is
 * made only if the call creates a token.
 */
#ifndef WEFT_CONTEXTVARS_CONTEXT_H
#define WEFT_CONTEXTVARS_CONTEXT_H

#include "core/core.h"

#include <weft/contextvars.h>

/* Another reference to a snapshot (for entering it more than once);
 * returns snap. NULL is allowed. */
void *weft__context_snapshot_retain(void *snap);

/* Drops a captured snapshot. NULL is ignored. */
void weft__context_snapshot_release(void *snap);

/* What enter saves and leave restores. */
typedef struct weft__context_frame {
	weft_context *saved_cur;
	void *saved_root;
} weft__context_frame;

/* The calling thread's current context: cur when a context object is
 * entered, else an implicit one whose map is implicit (NULL: empty). The
 * rest is context.c's. Here so that a pool's worker enters and leaves a
 * snapshot inline, once per task. */
typedef struct weft__context_tls {
	weft_context *cur;
	struct weft__hamt *implicit;
	bool registered;
	bool exited;            /* thread_exit ran: keep no more objects */
	weft_context *free_ctx; /* freed context objects, linked through prev */
	int nfree_ctx;
} weft__context_tls;

extern WEFT__TLS weft__context_tls weft__ctx;

/* The calling thread's current map, retained; NULL when it is empty.
 * Called per submission: the common empty map costs no call. */
void *weft__context_capture_slow(void);
static inline bool weft__context_empty(void)
{
	return !weft__ctx.cur && !weft__ctx.implicit;
}
static inline void *weft__context_capture(void)
{
	if (__builtin_expect(weft__context_empty(), 1))
		return NULL;
	return weft__context_capture_slow();
}

/* Makes a fresh context with the snapshot's map current (the snapshot
 * reference is taken over). */
static inline void weft__context_enter_snapshot(weft__context_frame *fr, void *snap)
{
	fr->saved_cur = weft__ctx.cur;
	fr->saved_root = weft__ctx.implicit;
	weft__ctx.cur = NULL;
	weft__ctx.implicit = snap;
}

void weft__context_leave_slow(weft__context_frame *fr);

/* Ends it (contexts the call entered and did not exit are exited) and
 * restores the previous current context. Most calls set no variable and
 * enter no context, and most snapshots are empty (NULL): nothing to
 * unwind or release then. */
static inline void weft__context_leave_snapshot(weft__context_frame *fr)
{
	if (__builtin_expect(!weft__context_empty(), 0)) {
		weft__context_leave_slow(fr);
		return;
	}
	weft__ctx.cur = fr->saved_cur;
	weft__ctx.implicit = fr->saved_root;
}

#endif
