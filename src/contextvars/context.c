/* Contexts, context variables and tokens.
 *
 * Each thread keeps its current context in thread-local state: either an
 * entered context object (cur) or, when cur is NULL, an implicit context
 * whose map is `implicit`. A thread starts implicit and empty; a pool task
 * starts implicit with the submitter's snapshot. Setting a variable there
 * only swaps the thread-local map; a context object is materialized (the
 * "base", bottom of the thread's stack) only when a token needs one to
 * refer to.
 *
 * Entered contexts form a stack through prev. A context is entered by one
 * thread at a time (the entered flag), so only that thread ever replaces
 * its map; other threads read it under the context's small lock, which the
 * owner takes only around the pointer swap.
 */
#include "contextvars/context.h"
#include "contextvars/hamt.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

struct weft_context {
	_Atomic uint32_t refs;
	_Atomic bool entered;
	bool base;           /* materialized from the implicit level */
	_Atomic uint32_t lk; /* guards root against readers of other threads */
	weft__hamt *root;
	weft_context *prev; /* current before this one was entered (owner only) */
};

struct weft_context_token {
	weft_context_var *var;
	weft_context *ctx;
	void *old;
	bool had_old;
	_Atomic bool used;
};

/* The thread's state (context.h): executors enter and leave snapshots
 * inline. */
WEFT__TLS weft__context_tls weft__ctx;

/* ---- variables ------------------------------------------------------------------------ */

static _Atomic uint64_t next_id = 1;

/* splitmix64's finalizer: a bijection, so distinct ids give distinct hashes. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Every variable ever made, so that their memory stays reachable until
 * exit (see hamt.h for why variables are never freed). */
static _Atomic(weft_context_var *) all_vars;
static _Atomic long retired; /* how many were freed: len must then look */

static bool usable(const weft_context_var *var)
{
	return var && !atomic_load_explicit(&((weft_context_var *)var)->dead, memory_order_relaxed);
}

int weft_context_var_new(weft_context_var **out, const char *name, const weft_context_var_opts *opts)
{
	if (!out || !name)
		return WEFT_EINVAL;
	size_t len = strlen(name);
	weft_context_var *v = malloc(sizeof *v + len + 1);
	if (!v)
		return WEFT_ENOMEM;
	atomic_init(&v->dead, false);
	v->hash = mix(atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed));
	v->has_default = opts && opts->has_default;
	v->default_value = v->has_default ? opts->default_value : NULL;
	memcpy(v->name, name, len + 1);
	weft_context_var *head = atomic_load(&all_vars);
	do
		v->next = head;
	while (!atomic_compare_exchange_weak(&all_vars, &head, v));
	*out = v;
	return 0;
}

void weft_context_var_free(weft_context_var *var)
{
	if (var && !atomic_exchange_explicit(&var->dead, true, memory_order_relaxed))
		atomic_fetch_add_explicit(&retired, 1, memory_order_relaxed);
}

const char *weft_context_var_name(const weft_context_var *var)
{
	return var ? var->name : "";
}

/* ---- the thread's state ------------------------------------------------------------------ */

static void ctx_release(weft_context *c);

/* Exits the innermost entered context. */
static void exit_top(void)
{
	weft_context *c = weft__ctx.cur;
	weft__ctx.cur = c->prev;
	c->prev = NULL;
	atomic_store_explicit(&c->entered, false, memory_order_release);
	ctx_release(c);
}

/* Exits every context entered above the current implicit level. */
static void unwind(void)
{
	while (weft__ctx.cur)
		exit_top();
}

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *unused)
{
	(void)unused;
	unwind();
	weft__hamt_release(weft__ctx.implicit);
	weft__ctx.implicit = NULL;
	while (weft__ctx.free_ctx) {
		weft_context *c = weft__ctx.free_ctx;
		weft__ctx.free_ctx = c->prev;
		free(c);
	}
	weft__ctx.nfree_ctx = 0;
	weft__ctx.exited = true;
}

static void make_key(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

/* The first time a thread holds anything, arrange for its release at exit. */
static void hold(void)
{
	if (weft__likely(weft__ctx.registered))
		return;
	pthread_once(&exit_once, make_key);
	weft__ctx.registered = pthread_setspecific(exit_key, (void *)1) == 0;
}

static weft__hamt *current_root(void)
{
	return weft__ctx.cur ? weft__ctx.cur->root : weft__ctx.implicit;
}

static void ctx_lock(weft_context *c)
{
	while (atomic_exchange_explicit(&c->lk, 1, memory_order_acquire))
		while (atomic_load_explicit(&c->lk, memory_order_relaxed))
			sched_yield();
}

static void ctx_unlock(weft_context *c)
{
	atomic_store_explicit(&c->lk, 0, memory_order_release);
}

/* A reference to ctx's map, safe from any thread. */
static weft__hamt *root_of(const weft_context *ctx)
{
	weft_context *c = (weft_context *)ctx;
	ctx_lock(c);
	weft__hamt *r = weft__hamt_retain(c->root);
	ctx_unlock(c);
	return r;
}

/* Replaces the current context's map with r (taking r's reference). */
static void install(weft__hamt *r)
{
	weft__hamt *old;
	if (weft__ctx.cur) {
		ctx_lock(weft__ctx.cur);
		old = weft__ctx.cur->root;
		weft__ctx.cur->root = r;
		ctx_unlock(weft__ctx.cur);
	} else {
		old = weft__ctx.implicit;
		weft__ctx.implicit = r;
	}
	weft__hamt_release(old);
	hold();
}

/* A variable already in the current map, whose nodes only this map
 * holds (no snapshot, no copy shares them), is updated in place instead
 * of copying the path: a context that is not shared pays no allocation
 * for a set. Other threads read an entered context's map under its lock
 * (root_of), so the update happens under it too. */
static bool set_in_place(weft_context_var *var, void *value)
{
	if (!weft__ctx.cur)
		return weft__hamt_set_in_place(weft__ctx.implicit, var, value);
	ctx_lock(weft__ctx.cur);
	bool done = weft__hamt_set_in_place(weft__ctx.cur->root, var, value);
	ctx_unlock(weft__ctx.cur);
	return done;
}

/* Context objects are made at the rate of copy_context: a thread keeps a
 * few freed ones to reuse (released when it ends). */
enum { CTX_CACHE_MAX = 64 };

static weft_context *ctx_alloc(weft__hamt *root)
{
	weft_context *c = weft__ctx.free_ctx;
	if (c) {
		weft__ctx.free_ctx = c->prev;
		weft__ctx.nfree_ctx--;
	} else {
		c = malloc(sizeof *c);
		if (!c)
			return NULL;
	}
	atomic_init(&c->refs, 1);
	atomic_init(&c->entered, false);
	atomic_init(&c->lk, 0);
	c->base = false;
	c->root = root;
	c->prev = NULL;
	return c;
}

static void ctx_release(weft_context *c)
{
	/* The only reference needs no RMW: nobody else can take or drop one. */
	if (atomic_load_explicit(&c->refs, memory_order_acquire) != 1 &&
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	weft__hamt_release(c->root);
	if (weft__ctx.nfree_ctx >= CTX_CACHE_MAX || weft__ctx.exited) {
		free(c);
		return;
	}
	hold();
	if (!weft__ctx.registered) {
		free(c);
		return;
	}
	c->prev = weft__ctx.free_ctx;
	weft__ctx.free_ctx = c;
	weft__ctx.nfree_ctx++;
}

/* Turns the implicit level into an entered context object (for tokens). */
static weft_context *materialize(void)
{
	weft_context *c = ctx_alloc(weft__ctx.implicit);
	if (!c)
		return NULL;
	weft__ctx.implicit = NULL;
	c->base = true;
	atomic_store_explicit(&c->entered, true, memory_order_relaxed);
	weft__ctx.cur = c;
	hold();
	return c;
}

/* ---- get / set / reset ------------------------------------------------------------------ */

int weft_context_var_get(const weft_context_var *var, void **value)
{
	if (!usable(var) || !value)
		return WEFT_EINVAL;
	if (weft__hamt_find(current_root(), var, value))
		return 0;
	if (var->has_default) {
		*value = var->default_value;
		return 0;
	}
	return WEFT_ENOENT;
}

void *weft_context_var_get_or(const weft_context_var *var, void *fallback)
{
	void *v;
	if (usable(var) && weft__hamt_find(current_root(), var, &v))
		return v;
	return fallback;
}

int weft_context_var_set(weft_context_var *var, void *value, weft_context_token **token)
{
	if (!usable(var))
		return WEFT_EINVAL;
	weft_context_token *t = NULL;
	if (token) {
		t = malloc(sizeof *t);
		if (!t)
			return WEFT_ENOMEM;
		if (!weft__ctx.cur && !materialize()) {
			free(t);
			return WEFT_ENOMEM;
		}
		t->had_old = weft__hamt_find(current_root(), var, &t->old);
		if (!t->had_old)
			t->old = NULL;
	}
	if (!set_in_place(var, value)) {
		weft__hamt *r = weft__hamt_set(current_root(), var, value);
		if (!r) {
			free(t);
			return WEFT_ENOMEM;
		}
		install(r);
	}
	if (t) {
		t->var = var;
		atomic_fetch_add_explicit(&weft__ctx.cur->refs, 1, memory_order_relaxed);
		t->ctx = weft__ctx.cur;
		atomic_init(&t->used, false);
		*token = t;
	}
	return 0;
}

int weft_context_var_reset(weft_context_var *var, weft_context_token *token)
{
	if (!usable(var) || !token)
		return WEFT_EINVAL;
	if (atomic_load(&token->used))
		return WEFT_ESTATE;
	if (token->var != var || token->ctx != weft__ctx.cur)
		return WEFT_EINVAL;
	weft__hamt *r;
	if (token->had_old) {
		r = weft__hamt_set(current_root(), var, token->old);
		if (!r)
			return WEFT_ENOMEM;
	} else {
		bool oom;
		r = weft__hamt_del(current_root(), var, &oom);
		if (oom)
			return WEFT_ENOMEM;
	}
	install(r);
	atomic_store(&token->used, true);
	return 0;
}

/* ---- tokens ------------------------------------------------------------------------------ */

weft_context_var *weft_context_token_var(const weft_context_token *token)
{
	return token ? token->var : NULL;
}

int weft_context_token_old_value(const weft_context_token *token, void **value)
{
	if (!token || !value)
		return WEFT_EINVAL;
	if (!token->had_old)
		return WEFT_ENOENT;
	*value = token->old;
	return 0;
}

bool weft_context_token_used(const weft_context_token *token)
{
	return token && atomic_load(&((weft_context_token *)token)->used);
}

void weft_context_token_free(weft_context_token *token)
{
	if (!token)
		return;
	ctx_release(token->ctx);
	free(token);
}

/* ---- contexts ------------------------------------------------------------------------------ */

int weft_context_new(weft_context **out)
{
	if (!out)
		return WEFT_EINVAL;
	weft_context *c = ctx_alloc(NULL);
	if (!c)
		return WEFT_ENOMEM;
	*out = c;
	return 0;
}

int weft_context_copy_current(weft_context **out)
{
	if (!out)
		return WEFT_EINVAL;
	/* This thread is the only writer of its current map: no lock. */
	weft_context *c = ctx_alloc(weft__hamt_retain(current_root()));
	if (!c) {
		weft__hamt_release(current_root());
		return WEFT_ENOMEM;
	}
	*out = c;
	return 0;
}

int weft_context_copy(const weft_context *ctx, weft_context **out)
{
	if (!ctx || !out)
		return WEFT_EINVAL;
	weft__hamt *r = root_of(ctx);
	weft_context *c = ctx_alloc(r);
	if (!c) {
		weft__hamt_release(r);
		return WEFT_ENOMEM;
	}
	*out = c;
	return 0;
}

void weft_context_free(weft_context *ctx)
{
	if (ctx)
		ctx_release(ctx);
}

int weft_context_enter(weft_context *ctx)
{
	if (!ctx)
		return WEFT_EINVAL;
	if (atomic_exchange_explicit(&ctx->entered, true, memory_order_acq_rel))
		return WEFT_EBUSY;
	atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
	ctx->prev = weft__ctx.cur;
	weft__ctx.cur = ctx;
	hold();
	return 0;
}

int weft_context_exit(weft_context *ctx)
{
	if (!ctx)
		return WEFT_EINVAL;
	if (weft__ctx.cur != ctx || ctx->base)
		return WEFT_EPERM;
	exit_top();
	return 0;
}

int weft_context_run(weft_context *ctx, void *(*fn)(void *), void *arg, void **result)
{
	if (!ctx || !fn)
		return WEFT_EINVAL;
	int rc = weft_context_enter(ctx);
	if (rc)
		return rc;
	void *r = fn(arg);
	/* Contexts fn entered and left entered are exited with ctx; if fn
	 * exited ctx itself, there is nothing left to do. */
	bool found = false;
	for (weft_context *c = weft__ctx.cur; c && !found; c = c->prev)
		found = c == ctx;
	while (found && weft__ctx.cur != ctx)
		exit_top();
	if (found)
		exit_top();
	if (result)
		*result = r;
	return 0;
}

int weft_context_get(const weft_context *ctx, const weft_context_var *var, void **value)
{
	if (!ctx || !usable(var) || !value)
		return WEFT_EINVAL;
	weft__hamt *r = root_of(ctx);
	bool found = weft__hamt_find(r, var, value);
	weft__hamt_release(r);
	return found ? 0 : WEFT_ENOENT;
}

bool weft_context_contains(const weft_context *ctx, const weft_context_var *var)
{
	void *v;
	return ctx && usable(var) && weft_context_get(ctx, var, &v) == 0;
}

static int count_live(weft_context_var *var, void *value, void *arg)
{
	*(size_t *)arg += usable(var);
	return 0;
}

size_t weft_context_len(const weft_context *ctx)
{
	if (!ctx)
		return 0;
	weft__hamt *r = root_of(ctx);
	size_t n = weft__hamt_len(r);
	if (atomic_load_explicit(&retired, memory_order_relaxed)) {
		n = 0; /* values of retired variables do not count */
		weft__hamt_foreach(r, count_live, &n);
	}
	weft__hamt_release(r);
	return n;
}

struct visit {
	int (*fn)(weft_context_var *, void *, void *);
	void *arg;
};

/* Retired variables are no longer there for the caller. */
static int visit_live(weft_context_var *var, void *value, void *arg)
{
	struct visit *v = arg;
	return usable(var) ? v->fn(var, value, v->arg) : 0;
}

int weft_context_foreach(const weft_context *ctx, int (*fn)(weft_context_var *, void *, void *), void *arg)
{
	if (!ctx || !fn)
		return WEFT_EINVAL;
	weft__hamt *r = root_of(ctx);
	struct visit v = {fn, arg};
	int rc = weft__hamt_foreach(r, visit_live, &v);
	weft__hamt_release(r);
	return rc;
}

/* ---- snapshots for executors (context.h) ------------------------------------------------------ */

void *weft__context_capture_slow(void)
{
	return weft__hamt_retain(current_root());
}

void *weft__context_snapshot_retain(void *snap)
{
	return weft__hamt_retain(snap);
}

void weft__context_snapshot_release(void *snap)
{
	weft__hamt_release(snap);
}

/* Exits what the call left entered, drops its map, restores fr. */
void weft__context_leave_slow(weft__context_frame *fr)
{
	unwind();
	weft__hamt_release(weft__ctx.implicit);
	weft__ctx.cur = fr->saved_cur;
	weft__ctx.implicit = fr->saved_root;
}
