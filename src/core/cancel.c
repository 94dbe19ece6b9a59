/* Cancel tokens and scopes.
 *
 * Lock order: weft__cancel_mu is a leaf lock, taken only here and in park.c,
 * never while calling user code. It guards every token's waiter list and
 * child list; the cancelled flag is atomic so waiters check it without the
 * lock. Cancellation propagates eagerly to children (at cancel time, or at
 * creation when the parent is already cancelled), so a waiter only ever
 * looks at the tokens of its own scopes.
 *
 * Fork: the mutex is held across fork and released on both sides; the child
 * records its new pid; waiter records left by
 * the parent's other threads carry the parent's pid and are skipped. */
#include "core/park.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t weft__cancel_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t cur_pid;

static pid_t my_pid(void)
{
	pid_t p = atomic_load_explicit(&cur_pid, memory_order_relaxed);
	if (!p) {
		p = getpid();
		atomic_store_explicit(&cur_pid, p, memory_order_relaxed);
	}
	return p;
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&weft__cancel_mu);
}
static void atfork_parent(void)
{
	pthread_mutex_unlock(&weft__cancel_mu);
}
static void atfork_child(void)
{
	pthread_mutex_unlock(&weft__cancel_mu); /* taken in prepare by this thread */
	atomic_store(&cur_pid, getpid());
	weft__park_rec *rec = weft__park_self();
	rec->pid = cur_pid;
	if (rec->wake_fd >= 0) { /* shared with the parent: get our own */
		close(rec->wake_fd);
		rec->wake_fd = -1;
	}
}

__attribute__((constructor)) static void cancel_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int weft_cancel_new(weft_cancel **out, weft_cancel *parent)
{
	if (!out)
		return WEFT_EINVAL;
	weft_cancel *t = calloc(1, sizeof *t);
	if (!t)
		return WEFT_ENOMEM;
	atomic_init(&t->refs, 1);
	if (parent) {
		weft_cancel_retain(parent);
		t->parent = parent;
		pthread_mutex_lock(&weft__cancel_mu);
		t->next_sib = parent->children;
		if (parent->children)
			parent->children->prev_sib = t;
		parent->children = t;
		if (atomic_load(&parent->cancelled))
			atomic_store(&t->cancelled, true);
		pthread_mutex_unlock(&weft__cancel_mu);
	}
	*out = t;
	return 0;
}

int weft_cancel_retain(weft_cancel *tok)
{
	if (!tok)
		return WEFT_EINVAL;
	atomic_fetch_add_explicit(&tok->refs, 1, memory_order_relaxed);
	return 0;
}

void weft_cancel_release(weft_cancel *tok)
{
	if (!tok || atomic_fetch_sub_explicit(&tok->refs, 1, memory_order_acq_rel) != 1)
		return;
	weft_cancel *parent = tok->parent;
	if (parent) {
		pthread_mutex_lock(&weft__cancel_mu);
		if (tok->prev_sib)
			tok->prev_sib->next_sib = tok->next_sib;
		else
			parent->children = tok->next_sib;
		if (tok->next_sib)
			tok->next_sib->prev_sib = tok->prev_sib;
		/* Orphan the children: they keep their own flag. */
		for (weft_cancel *c = tok->children; c; c = c->next_sib)
			c->parent = NULL;
		pthread_mutex_unlock(&weft__cancel_mu);
		weft_cancel_release(parent);
	} else if (tok->children) {
		pthread_mutex_lock(&weft__cancel_mu);
		for (weft_cancel *c = tok->children; c; c = c->next_sib)
			c->parent = NULL;
		pthread_mutex_unlock(&weft__cancel_mu);
	}
	free(tok);
}

/* Wakes one waiting thread. Repeats the futex wake until the waiter has left
 * its wait: a wake sent between its last flag check and its entry into the
 * kernel would otherwise be lost. The window is a few instructions long. */
static void wake_thread(weft__park_rec *rec)
{
	if (rec->pid != my_pid())
		return;
	int fd = atomic_load(&rec->poll_fd);
	if (fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(fd, &one, sizeof one);
		(void)w; /* EAGAIN: the counter is already non-zero, it wakes anyway */
	}
	for (int i = 0;; i++) {
		uintptr_t w = atomic_load(&rec->wait_word);
		if (!w)
			break;
		weft__wake((_Atomic uint32_t *)(w & ~(uintptr_t)1), INT_MAX, (int)(w & 1));
		if (i < 64)
			sched_yield();
		else
			nanosleep(&(struct timespec){0, 50000}, NULL);
	}
}

static void cancel_locked(weft_cancel *t)
{
	if (atomic_exchange(&t->cancelled, true))
		return; /* already cancelled, and so are its children */
	for (weft_cancel_scope *s = t->waiters; s; s = s->next_waiter)
		wake_thread(s->thread);
	for (weft_cancel *c = t->children; c; c = c->next_sib)
		cancel_locked(c);
}

int weft_cancel_cancel(weft_cancel *tok)
{
	if (!tok)
		return WEFT_EINVAL;
	pthread_mutex_lock(&weft__cancel_mu);
	cancel_locked(tok);
	pthread_mutex_unlock(&weft__cancel_mu);
	return 0;
}

bool weft_cancel_is_cancelled(const weft_cancel *tok)
{
	return tok && weft__cancel_flag(tok);
}

bool weft__cancel_register(weft__park_rec *rec)
{
	bool any = false;
	for (weft_cancel_scope *s = rec->scopes; s && !any; s = s->outer)
		any = s->token != NULL;
	if (!any)
		return false;
	pthread_mutex_lock(&weft__cancel_mu);
	rec->pid = my_pid();
	for (weft_cancel_scope *s = rec->scopes; s; s = s->outer) {
		if (!s->token)
			continue;
		s->prev_waiter = NULL;
		s->next_waiter = s->token->waiters;
		if (s->next_waiter)
			s->next_waiter->prev_waiter = s;
		s->token->waiters = s;
	}
	pthread_mutex_unlock(&weft__cancel_mu);
	return true;
}

void weft__cancel_unregister(weft__park_rec *rec)
{
	pthread_mutex_lock(&weft__cancel_mu);
	for (weft_cancel_scope *s = rec->scopes; s; s = s->outer) {
		if (!s->token)
			continue;
		if (s->prev_waiter)
			s->prev_waiter->next_waiter = s->next_waiter;
		else
			s->token->waiters = s->next_waiter;
		if (s->next_waiter)
			s->next_waiter->prev_waiter = s->prev_waiter;
		s->next_waiter = s->prev_waiter = NULL;
	}
	pthread_mutex_unlock(&weft__cancel_mu);
}

int weft_cancel_scope_enter(weft_cancel_scope *scope, weft_cancel *tok, double timeout)
{
	int64_t deadline;
	if (!scope || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	weft__park_rec *rec = weft__park_self();
	if (tok)
		weft_cancel_retain(tok);
	*scope =
	    (weft_cancel_scope){.outer = rec->scopes, .token = tok, .deadline_ns = deadline, .thread = rec};
	rec->scopes = scope;
	return 0;
}

int weft_cancel_scope_exit(weft_cancel_scope *scope)
{
	if (!scope)
		return WEFT_EINVAL;
	weft__park_rec *rec = weft__park_self();
	if (rec->scopes != scope)
		return WEFT_EPERM;
	rec->scopes = scope->outer;
	weft_cancel_release(scope->token);
	scope->token = NULL;
	return 0;
}

int weft_cancel_check(void)
{
	return weft__cancel_status();
}

weft_cancel *weft_cancel_current(void)
{
	for (weft_cancel_scope *s = weft__park_self()->scopes; s; s = s->outer)
		if (s->token)
			return s->token;
	return NULL;
}

void weft__cancel_scope_push(weft_cancel_scope *scope, weft_cancel *tok)
{
	weft__park_rec *rec = weft__park_self();
	*scope = (weft_cancel_scope){
	    .outer = rec->scopes, .token = tok, .deadline_ns = WEFT__NO_DEADLINE, .thread = rec};
	rec->scopes = scope;
}

void weft__cancel_scope_pop(weft_cancel_scope *scope)
{
	weft__park_self()->scopes = scope->outer;
}

weft_cancel_scope *weft__cancel_scopes_detach(void)
{
	weft__park_rec *rec = weft__park_self();
	weft_cancel_scope *saved = rec->scopes;
	rec->scopes = NULL;
	return saved;
}

void weft__cancel_scopes_restore(weft_cancel_scope *saved)
{
	weft__park_self()->scopes = saved;
}
