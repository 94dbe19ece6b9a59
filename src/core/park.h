/* src/core/park.h - the per-thread park record shared by park.c and cancel.c. */
#ifndef WEFT_CORE_PARK_H
#define WEFT_CORE_PARK_H

#include "core/core.h"

#include <pthread.h>
#include <sys/types.h>

/* One per thread (thread-local). Other threads read it only while they hold
 * weft__cancel_mu and the owner is registered as a waiter with a token, so
 * the record outlives every such read (a thread leaves its scopes before it
 * ends). */
typedef struct weft__park_rec {
	/* The futex word the thread sleeps on, with bit 0 = WEFT__SHARED; 0
	 * when not in a futex wait. Stored before the cancel check and read
	 * by cancellers after setting the flag (both seq_cst), so either the
	 * waiter sees the cancellation or the canceller sees the word. */
	_Atomic uintptr_t wait_word;
	/* The eventfd the thread polls while in weft__poll, else -1. */
	_Atomic int poll_fd;
	int wake_fd;               /* lazily created eventfd, -1 until then */
	pid_t pid;                 /* process the record belongs to (fork) */
	weft_cancel_scope *scopes; /* innermost scope, NULL when in none */
} weft__park_rec;

weft__park_rec *weft__park_self(void);

/* A token (cancel.c). Here so that a pool's worker, which checks its
 * task's token after each call, reads the flag inline. */
struct weft_cancel {
	_Atomic int refs;
	_Atomic bool cancelled;
	weft_cancel *parent;                         /* holds a reference */
	weft_cancel *children, *next_sib, *prev_sib; /* under weft__cancel_mu */
	weft_cancel_scope *waiters;                  /* under weft__cancel_mu */
};

/* weft_cancel_is_cancelled for a token that is not NULL. */
static inline bool weft__cancel_flag(const weft_cancel *tok)
{
	return atomic_load(&((weft_cancel *)tok)->cancelled);
}

/* Protects every token's waiter list and the cancelled flags' propagation. */
extern pthread_mutex_t weft__cancel_mu;

/* Registers/unregisters the calling thread's scopes that carry a token as
 * waiters on those tokens. Returns true when any scope has a token. */
bool weft__cancel_register(weft__park_rec *rec);
void weft__cancel_unregister(weft__park_rec *rec);

#endif
