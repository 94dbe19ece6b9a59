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

#include <weft/contextvars.h>

/* The calling thread's current map, retained; NULL when it is empty. */
void *weft__context_capture(void);

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

/* Makes a fresh context with the snapshot's map current (the snapshot
 * reference is taken over). */
void weft__context_enter_snapshot(weft__context_frame *fr, void *snap);

/* Ends it (contexts the call entered and did not exit are exited) and
 * restores the previous current context. */
void weft__context_leave_snapshot(weft__context_frame *fr);

#endif
