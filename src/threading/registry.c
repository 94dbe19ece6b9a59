/* The thread registry: current_thread, main_thread, enumerate,
 * active_count, dummy threads, the join of non-daemon threads at exit, and
 * the fork story.
 *
 * Each thread knows its record through a thread-local pointer. The main
 * record is static and set up by a constructor on the thread that loads
 * weft. A thread weft did not start gets a dummy record on its first
 * weft_thread_current(); a pthread key destructor finishes it when that
 * thread ends (Python 3.13 also drops _DummyThread entries at thread end).
 *
 * Fork: reg_mu is held across fork; the child finishes every record but
 * the forking thread's (the threads are gone), dropping the references
 * those threads held, and makes the forking thread the main thread. */
#include "threading/thread_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pthread_mutex_t weft__reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct weft__thread *reg_head; /* alive records, under weft__reg_mu */
static size_t reg_count;
static struct weft__thread main_rec = {.immortal = true};
static struct weft__thread *main_thr = &main_rec; /* under weft__reg_mu after fork */
static __thread struct weft__thread *self;
static pthread_key_t dummy_key;
static _Atomic unsigned long name_counter;

struct weft__thread *weft__thread_self(void)
{
	return self;
}

void weft__thread_set_self(struct weft__thread *r)
{
	self = r;
}

void weft__reg_link(struct weft__thread *r)
{
	r->prev = NULL;
	r->next = reg_head;
	if (reg_head)
		reg_head->prev = r;
	reg_head = r;
	reg_count++;
}

void weft__reg_unlink(struct weft__thread *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (reg_head == r)
		reg_head = r->next;
	else
		return; /* not linked */
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	reg_count--;
}

char *weft__thread_newname(const char *prefix)
{
	char buf[64];
	unsigned long n = atomic_fetch_add(&name_counter, 1) + 1;
	snprintf(buf, sizeof buf, "%s-%lu", prefix, n);
	return weft__name_dup(buf);
}

void weft__happen(_Atomic uint32_t *word)
{
	if (atomic_exchange(word, WEFT__HAPPENED) == WEFT__AWAITED)
		weft__wake(word, INT_MAX, WEFT__PRIVATE);
}

void weft__thread_finish(struct weft__thread *r)
{
	pthread_mutex_lock(&weft__reg_mu);
	weft__reg_unlink(r);
	pthread_mutex_unlock(&weft__reg_mu);
	weft__happen(&r->done);
}

static void set_ids(struct weft__thread *r)
{
	atomic_store(&r->ident, (unsigned long)pthread_self());
	atomic_store(&r->native_id, (long)gettid());
	atomic_store(&r->started, WEFT__HAPPENED);
}

/* The key destructor of a thread that had a dummy record. */
static void dummy_thread_ended(void *p)
{
	struct weft__thread *r = p;
	self = NULL;
	weft__thread_finish(r);
	weft__thread_release(r); /* the registry's reference */
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&weft__reg_mu);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&weft__reg_mu);
}

static void atfork_child(void)
{
	struct weft__thread *me = self;
	for (struct weft__thread *r = reg_head, *next; r; r = next) {
		next = r->next;
		if (r == me)
			continue;
		weft__reg_unlink(r);
		atomic_store(&r->done, WEFT__HAPPENED); /* nobody waits in the child yet */
		atomic_store(&r->joinable, false);      /* no such pthread here */
		if (!r->immortal)
			weft__thread_release(r); /* the reference its (vanished) thread held */
	}
	if (!me) {
		/* A thread weft never met forked: it is the child's main thread. */
		me = &main_rec;
		atomic_store(&me->done, WEFT__NOT_YET);
		self = me;
		weft__reg_link(me);
	}
	set_ids(me); /* the kernel gave this thread a new id */
	main_thr = me;
	pthread_mutex_unlock(&weft__reg_mu);
}

__attribute__((constructor)) static void registry_init(void)
{
	atomic_init(&main_rec.refs, 1);
	atomic_init(&main_rec.name, weft__name_dup("MainThread"));
	main_rec.handle.impl_ = &main_rec;
	set_ids(&main_rec);
	self = &main_rec;
	weft__reg_link(&main_rec);
	pthread_key_create(&dummy_key, dummy_thread_ended);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

weft_thread *weft_thread_current(void)
{
	struct weft__thread *r = self;
	if (weft__likely(r != NULL))
		return &r->handle;
	/* A thread weft did not start: a dummy entry, as Python's _DummyThread. */
	r = weft__thread_alloc(weft__thread_newname("Dummy"));
	if (!r)
		return NULL;
	r->dummy = true;
	r->daemon = true;
	set_ids(r);
	if (pthread_setspecific(dummy_key, r)) {
		weft__thread_release(r);
		return NULL;
	}
	self = r;
	pthread_mutex_lock(&weft__reg_mu);
	weft__reg_link(r);
	pthread_mutex_unlock(&weft__reg_mu);
	return &r->handle;
}

weft_thread *weft_thread_main(void)
{
	pthread_mutex_lock(&weft__reg_mu);
	weft_thread *t = &main_thr->handle;
	pthread_mutex_unlock(&weft__reg_mu);
	return t;
}

int weft_thread_enumerate(weft_thread *out, size_t cap, size_t *count)
{
	if (!count || (!out && cap > 0))
		return WEFT_EINVAL;
	size_t n = 0;
	pthread_mutex_lock(&weft__reg_mu);
	for (struct weft__thread *r = reg_head; r && n < cap; r = r->next, n++) {
		weft__thread_retain(r);
		out[n].impl_ = r;
	}
	size_t total = reg_count;
	pthread_mutex_unlock(&weft__reg_mu);
	*count = n;
	return total > n ? WEFT_ERANGE : 0;
}

size_t weft_thread_active_count(void)
{
	pthread_mutex_lock(&weft__reg_mu);
	size_t n = reg_count;
	pthread_mutex_unlock(&weft__reg_mu);
	return n;
}

unsigned long weft_thread_get_ident(void)
{
	return (unsigned long)pthread_self();
}

long weft_thread_get_native_id(void)
{
	return (long)gettid();
}

/* ---- the join at exit ------------------------------------------------------------- */

/* The oldest alive non-daemon thread weft started, other than the caller,
 * with a reference; NULL when none is left. */
static struct weft__thread *next_to_join(struct weft__thread *me)
{
	struct weft__thread *found = NULL;
	pthread_mutex_lock(&weft__reg_mu);
	for (struct weft__thread *r = reg_head; r; r = r->next)
		if (r != me && !r->daemon && !r->dummy && !r->immortal && r != main_thr)
			found = r; /* the list is newest first: keep the last match */
	if (found)
		weft__thread_retain(found);
	pthread_mutex_unlock(&weft__reg_mu);
	return found;
}

/* Python's threading._shutdown: the main thread counts as finished (a thread
 * joining it is released), then every non-daemon thread is joined, also
 * those started meanwhile. Not cancellable: the process is ending. */
static void join_at_exit(void)
{
	struct weft__thread *me = self;
	if (me && me == main_thr)
		weft__thread_finish(me);
	for (struct weft__thread *r; (r = next_to_join(me));) {
		for (uint32_t d; (d = atomic_load(&r->done)) != WEFT__HAPPENED;) {
			if (d == WEFT__AWAITED || atomic_compare_exchange_strong(&r->done, &d, WEFT__AWAITED))
				weft__futex_wait(&r->done, WEFT__AWAITED, WEFT__PRIVATE, WEFT__NO_DEADLINE);
		}
		weft__thread_reap(r, true);
		weft__thread_release(r);
	}
}

static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void register_atexit(void)
{
	atexit(join_at_exit);
}

void weft__thread_atexit_once(void)
{
	pthread_once(&atexit_once, register_atexit);
}
