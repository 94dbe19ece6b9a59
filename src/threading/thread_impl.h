/* src/threading/thread_impl.h - what the files of src/threading share.
 *
 * A thread's shared state is a weft__thread record, reference counted:
 * one reference per handle (weft_thread) plus one held by the running
 * thread (for a dummy: by the registry until its thread ends; the main
 * thread's record is static and never freed). The registry is a list of
 * the records of alive threads under reg_mu (registry.c).
 *
 * Lock order: weft__reg_mu is a leaf, held for list and name updates only;
 * no user code runs under it.
 */
#ifndef WEFT_THREAD_IMPL_H
#define WEFT_THREAD_IMPL_H

#include "core/core.h"

#include <pthread.h>
#include <weft/threading.h>

/* Futex words `started` and `done`: 0 not yet, 2 not yet and someone is
 * waiting, 1 happened. The thread that makes it happen exchanges in 1 and
 * wakes only when it saw 2. */
enum { WEFT__NOT_YET = 0, WEFT__HAPPENED = 1, WEFT__AWAITED = 2 };

/* A name: the string lives in a node, so that a renamed thread can keep
 * its old names (readers hold no lock) until its record is freed. */
typedef struct weft__name {
	struct weft__name *next;
	char name[];
} weft__name;

/* A name in its own node (NULL when out of memory); weft__name_free frees
 * one that was never retired. */
char *weft__name_dup(const char *name);
void weft__name_free(char *name);

struct weft__thread {
	_Atomic int refs;
	weft_thread handle; /* the handle weft lends out (impl_ = this record) */

	/* Fixed before the thread starts. */
	weft_thread_fn target;
	void *arg;
	int (*run)(weft_thread *self);
	weft_thread *self; /* the caller's handle, passed to run */
	bool daemon;
	bool dummy;    /* a thread weft did not start */
	bool immortal; /* the static main record */
	/* A thread weft started is a joinable pthread until someone reaps it
	 * (weft__thread_reap); set by the starter before the handle is
	 * published, cleared in a forked child. */
	_Atomic bool joinable;
	pthread_t pt;

	/* Published by the thread itself (and ident also by its starter). */
	_Atomic unsigned long ident;
	_Atomic long native_id;
	_Atomic uint32_t started;

	/* The name: replaced under weft__reg_mu; old strings are kept until
	 * the record is freed, since readers hold no lock. */
	_Atomic(char *) name;
	weft__name *old_names;

	/* The end: code and msg are written before done is set (release). */
	_Atomic uint32_t done;
	int code;
	char *msg;

	struct weft__thread *next, *prev; /* the registry, under weft__reg_mu */
};

extern pthread_mutex_t weft__reg_mu;

/* The calling thread's record, or NULL for a thread weft has not met. */
struct weft__thread *weft__thread_self(void);
void weft__thread_set_self(struct weft__thread *r);

/* Registry (under weft__reg_mu): link / unlink an alive record. */
void weft__reg_link(struct weft__thread *r);
void weft__reg_unlink(struct weft__thread *r);

/* "Thread-N" / "Dummy-N" (a name node), sharing Python's one counter. */
char *weft__thread_newname(const char *prefix);

/* Allocates a record with one reference and the given name node (taken;
 * NULL name: out of memory, returns NULL). */
struct weft__thread *weft__thread_alloc(char *name);
void weft__thread_retain(struct weft__thread *r);
void weft__thread_release(struct weft__thread *r);

/* Reaps r's finished pthread, once, whoever asks first: pthread_join
 * (wait true) or pthread_tryjoin_np (false: only if it has fully exited,
 * else leaves it to a later call), pthread_detach from the thread itself. */
void weft__thread_reap(struct weft__thread *r, bool wait);

/* Marks r finished: unlinks it, sets done and wakes joiners. */
void weft__thread_finish(struct weft__thread *r);

/* Sets a futex word of the enum above to HAPPENED, waking if awaited. */
void weft__happen(_Atomic uint32_t *word);

/* Registers the atexit join of non-daemon threads (once). */
void weft__thread_atexit_once(void);

/* Runs fn(arg) inside a failure record; on failure calls the excepthook
 * (thread may be NULL) and returns the code and message (malloc'd, may be
 * NULL) through *msg. */
int weft__thread_call(weft_thread_fn fn, void *arg, int (*run)(weft_thread *), weft_thread *self,
                      weft_thread *thread, char **msg);

/* The current excepthook (never NULL). */
weft_excepthook weft__excepthook(void);

/* Runs the calling thread's thread-local destructors (local.c); called by
 * threads weft runs before they finish, and by a key destructor for the
 * others. */
void weft__local_thread_exit(void);

/* Starts a pthread running fn(arg) with the given stack size (0: the
 * system's default; rounded up to whole pages), detached or joinable. 0,
 * WEFT_EAGAIN (the system refused another thread), WEFT_ENOMEM. */
int weft__thread_spawn(void *(*fn)(void *), void *arg, size_t stack, bool detached, pthread_t *pt);

#endif
