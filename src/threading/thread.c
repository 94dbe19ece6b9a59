/* Threads: start, the bootstrap every thread runs, join, and the handle's
 * accessors.
 *
 * A thread's end is its record's `done` word, set after its run, its
 * excepthook call and its thread-local destructors, so join means all of
 * that is over. The pthread itself is joinable, and reaped by the first
 * join that sees it finished, by the exit join, or else when the record's
 * last reference goes (pthread_detach when that is the thread itself).
 * After `done` the thread has only its last exit instructions left, so
 * these pthread_joins are short. Reaping at join lets glibc hand the stack
 * to the next thread from its cache; a detached thread's stack only
 * becomes reusable some time after the thread is gone, so a start/join
 * loop would map a new stack each time. The starter links the
 * record into the registry before creating the thread (Python's _limbo),
 * so the thread is alive and enumerable once weft_thread_start returns.
 *
 * The name of a thread weft started is also its OS thread name (as in
 * Python 3.14): set by the thread itself at its start, and by
 * weft_thread_set_name later, both under weft__reg_mu while the thread is
 * known alive (it finishes, taking the lock, before it exits, so its
 * kernel id is valid whenever a rename writes to it). */
#include "threading/thread_impl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

char *weft__name_dup(const char *name)
{
	size_t len = strlen(name);
	weft__name *o = malloc(sizeof *o + len + 1);
	if (!o)
		return NULL;
	o->next = NULL;
	memcpy(o->name, name, len + 1);
	return o->name;
}

void weft__name_free(char *name)
{
	if (name)
		free(weft_container_of(name, weft__name, name));
}

struct weft__thread *weft__thread_alloc(char *name)
{
	if (!name)
		return NULL;
	struct weft__thread *r = calloc(1, sizeof *r);
	if (!r) {
		weft__name_free(name);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	atomic_init(&r->name, name);
	r->handle.impl_ = r;
	return r;
}

void weft__thread_retain(struct weft__thread *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void weft__thread_reap(struct weft__thread *r, bool wait)
{
	if (!atomic_exchange(&r->joinable, false))
		return; /* not ours, or reaped already */
	if (pthread_equal(r->pt, pthread_self()))
		pthread_detach(r->pt);
	else if (wait)
		pthread_join(r->pt, NULL);
	else if (pthread_tryjoin_np(r->pt, NULL))
		atomic_store(&r->joinable, true); /* still exiting: later */
}

void weft__thread_release(struct weft__thread *r)
{
	if (r->immortal || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	weft__thread_reap(r, true);
	weft__name_free(atomic_load_explicit(&r->name, memory_order_relaxed));
	for (weft__name *o = r->old_names, *next; o; o = next) {
		next = o->next;
		free(o);
	}
	free(r->msg);
	free(r);
}

/* The first 15 bytes of name (the kernel's limit), cut before a UTF-8
 * continuation byte so no character is split. */
static void os_name(char out[16], const char *name)
{
	size_t n = strnlen(name, 15);
	if (n == 15)
		while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
			n--;
	memcpy(out, name, n);
	out[n] = '\0';
}

/* Under weft__reg_mu, with r alive and its native id published. */
static void set_os_name(struct weft__thread *r)
{
	char buf[16];
	os_name(buf, atomic_load(&r->name));
	if (r == weft__thread_self()) {
		prctl(PR_SET_NAME, buf, 0, 0, 0);
		return;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%ld/comm", atomic_load(&r->native_id));
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t w = write(fd, buf, strlen(buf));
		(void)w; /* best effort: the name in weft is what counts */
		close(fd);
	}
}

int weft__thread_call(weft_thread_fn fn, void *arg, int (*run)(weft_thread *), weft_thread *self,
                      weft_thread *thread, char **msg)
{
	weft__failure f;
	weft__failure *prev = weft__failure_enter(&f);
	int rc = run ? run(self) : fn(arg);
	weft__failure_leave(prev);
	*msg = NULL;
	if (rc >= 0) {
		weft__failure_clear(&f);
		return 0;
	}
	/* Keep weft_fail's message if it speaks of this code. */
	if (f.code == rc)
		*msg = f.msg;
	else
		free(f.msg);
	weft__excepthook()(
	    &(weft_excepthook_args){.code = rc, .message = *msg ? *msg : "", .thread = thread});
	return rc;
}

static void *bootstrap(void *p)
{
	struct weft__thread *r = p;
	weft__thread_set_self(r);
	pthread_mutex_lock(&weft__reg_mu);
	atomic_store(&r->ident, (unsigned long)pthread_self());
	atomic_store(&r->native_id, (long)gettid());
	set_os_name(r);
	pthread_mutex_unlock(&weft__reg_mu);
	weft__happen(&r->started);

	char *msg;
	int code = weft__thread_call(r->target, r->arg, r->run, r->self, &r->handle, &msg);
	weft__local_thread_exit();
	r->code = code;
	r->msg = msg;
	weft__thread_finish(r); /* publishes code and msg (seq_cst exchange) */
	weft__thread_set_self(NULL);
	weft__thread_release(r); /* the running thread's reference */
	return NULL;
}

int weft_thread_start(weft_thread *t, const weft_thread_opts *opts)
{
	if (!t)
		return WEFT_EINVAL;
	t->impl_ = NULL;
	if (!opts || !opts->target == !opts->run)
		return WEFT_EINVAL;
	size_t stack = opts->stack_size ? opts->stack_size : weft_thread_stack_size();
	if (stack && stack < WEFT_THREAD_STACK_MIN)
		return WEFT_EINVAL;
	bool daemon;
	if (opts->daemon)
		daemon = opts->daemon > 0;
	else {
		weft_thread *cur = weft_thread_current(); /* Python: current_thread().daemon */
		if (!cur)
			return WEFT_ENOMEM;
		daemon = cur->impl_->daemon;
	}
	struct weft__thread *r =
	    weft__thread_alloc(opts->name ? weft__name_dup(opts->name) : weft__thread_newname("Thread"));
	if (!r)
		return WEFT_ENOMEM;
	atomic_store(&r->refs, 2); /* the handle and the thread */
	r->target = opts->target;
	r->arg = opts->arg;
	r->run = opts->run;
	r->self = t;
	r->daemon = daemon;

	if (!daemon)
		weft__thread_atexit_once();
	pthread_mutex_lock(&weft__reg_mu);
	weft__reg_link(r);
	pthread_mutex_unlock(&weft__reg_mu);
	pthread_t pt;
	int rc = weft__thread_spawn(bootstrap, r, stack, false, &pt);
	if (rc) {
		pthread_mutex_lock(&weft__reg_mu);
		weft__reg_unlink(r);
		pthread_mutex_unlock(&weft__reg_mu);
		atomic_store(&r->refs, 1);
		weft__thread_release(r);
		return rc;
	}
	atomic_store(&r->ident, (unsigned long)pt);
	r->pt = pt;
	atomic_store(&r->joinable, true);
	t->impl_ = r;
	return 0;
}

static struct weft__thread *impl(const weft_thread *t)
{
	return t ? t->impl_ : NULL;
}

int weft_thread_join(weft_thread *t, double timeout)
{
	int64_t deadline;
	if (!t || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	struct weft__thread *r = t->impl_;
	if (!r || r->dummy)
		return WEFT_ESTATE;
	if (r == weft__thread_self())
		return WEFT_EDEADLK;
	/* No limit and nothing that could cancel the wait (no scope with a
	 * token or a deadline): let the kernel's end-of-thread wake do it, one
	 * sleep instead of waiting for `done` and then for the exit. */
	if (deadline == WEFT__NO_DEADLINE && !weft_cancel_current() &&
	    weft__scope_deadline(WEFT__NO_DEADLINE) == WEFT__NO_DEADLINE &&
	    atomic_exchange(&r->joinable, false)) {
		pthread_join(r->pt, NULL); /* done was set before the thread exited */
		return r->code;
	}
	for (;;) {
		uint32_t d = atomic_load(&r->done);
		if (d == WEFT__HAPPENED) {
			weft__thread_reap(r, deadline == WEFT__NO_DEADLINE);
			return r->code;
		}
		if (d == WEFT__NOT_YET && !atomic_compare_exchange_strong(&r->done, &d, WEFT__AWAITED))
			continue;
		int rc = weft__park(&r->done, WEFT__AWAITED, WEFT__PRIVATE, deadline);
		if (rc && atomic_load(&r->done) != WEFT__HAPPENED)
			return rc;
	}
}

bool weft_thread_is_alive(const weft_thread *t)
{
	struct weft__thread *r = impl(t);
	return r && atomic_load(&r->done) != WEFT__HAPPENED;
}

const char *weft_thread_name(const weft_thread *t)
{
	struct weft__thread *r = impl(t);
	return r ? atomic_load_explicit(&r->name, memory_order_acquire) : "";
}

int weft_thread_set_name(weft_thread *t, const char *name)
{
	if (!t || !name)
		return WEFT_EINVAL;
	struct weft__thread *r = t->impl_;
	if (!r)
		return WEFT_ESTATE;
	char *copy = weft__name_dup(name);
	if (!copy)
		return WEFT_ENOMEM;
	pthread_mutex_lock(&weft__reg_mu);
	char *prev = atomic_exchange_explicit(&r->name, copy, memory_order_acq_rel);
	/* Readers hold no lock and may still use prev: retire it with the
	 * record. */
	weft__name *o = weft_container_of(prev, weft__name, name);
	o->next = r->old_names;
	r->old_names = o;
	if (!r->dummy && !r->immortal && atomic_load(&r->started) == WEFT__HAPPENED &&
	    atomic_load(&r->done) != WEFT__HAPPENED)
		set_os_name(r);
	pthread_mutex_unlock(&weft__reg_mu);
	return 0;
}

unsigned long weft_thread_ident(const weft_thread *t)
{
	struct weft__thread *r = impl(t);
	return r ? atomic_load(&r->ident) : 0;
}

long weft_thread_native_id(const weft_thread *t)
{
	struct weft__thread *r = impl(t);
	if (!r)
		return 0;
	/* Published by the thread as its first act: wait for it (briefly). */
	for (uint32_t s; (s = atomic_load(&r->started)) != WEFT__HAPPENED;) {
		if (s == WEFT__AWAITED || atomic_compare_exchange_strong(&r->started, &s, WEFT__AWAITED))
			weft__futex_wait(&r->started, WEFT__AWAITED, WEFT__PRIVATE, WEFT__NO_DEADLINE);
	}
	return atomic_load(&r->native_id);
}

bool weft_thread_daemon(const weft_thread *t)
{
	struct weft__thread *r = impl(t);
	return r && r->daemon;
}

const char *weft_thread_error_message(const weft_thread *t)
{
	struct weft__thread *r = impl(t);
	if (!r || atomic_load(&r->done) != WEFT__HAPPENED || !r->msg)
		return "";
	return r->msg;
}

int weft_thread_copy(weft_thread *dst, const weft_thread *src)
{
	if (!dst || !src)
		return WEFT_EINVAL;
	dst->impl_ = NULL;
	if (!src->impl_)
		return WEFT_ESTATE;
	weft__thread_retain(src->impl_);
	dst->impl_ = src->impl_;
	return 0;
}

void weft_thread_free(weft_thread *t)
{
	struct weft__thread *r = impl(t);
	if (!r || t == &r->handle)
		return; /* never started, or lent by weft */
	t->impl_ = NULL;
	weft__thread_release(r);
}
