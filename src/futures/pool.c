/* The thread pool as an executor: creation, submission, shutdown, lifetime
 * (pool.h explains the queues, the sleep protocol and the gate). */
#include "futures/pool.h"
#include "futures/fcache.h"
#include "contextvars/context.h"
#include "core/park.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char broken_text[] = "A thread initializer failed, the thread pool is not usable anymore";

/* ---- running a future's call -------------------------------------------------------------- */

static void cancel_token(weft_future *f, void *arg)
{
	weft_cancel_cancel(arg);
}

static const weft__future_hooks pool_hooks = {cancel_token};

/* A pool job for a future: runs the call in its own cancel scope, failure
 * record and copy of the submitter's context, then completes the future. */
/* The token for a call at the worker's current depth (NULL if none could
 * be made: the call then cannot be cancelled while it runs). */
static weft_cancel *depth_token(weft__worker *w)
{
	int d = w->depth;
	if (d < WEFT__TOKEN_DEPTH && w->tokens[d])
		return w->tokens[d];
	weft_cancel *tok;
	if (weft_cancel_new(&tok, NULL))
		return NULL;
	if (d < WEFT__TOKEN_DEPTH)
		w->tokens[d] = tok;
	return tok;
}

/* After the call: a token that was cancelled (cancel_running, or the call
 * cancelled the scope it found itself in) is not used again; one made for
 * a depth past the table is dropped. */
static void depth_token_done(weft__worker *w, weft_cancel *tok)
{
	int d = w->depth;
	if (!tok || (d < WEFT__TOKEN_DEPTH && !weft_cancel_is_cancelled(tok)))
		return;
	weft_cancel_release(tok);
	if (d < WEFT__TOKEN_DEPTH)
		w->tokens[d] = NULL;
}

static void future_job_run_general(weft_future *f, weft__worker *w, int how)
{
	if (how == WEFT_ECANCELED)
		weft_future_cancel(f);
	else if (how && weft__future_claim(f) != UINT32_MAX)
		weft__future_fail(f, how, how == WEFT_EBROKEN ? broken_text : weft_strerror(how));
	/* Read before the start: hooks and impl take their place. */
	void *(*fn)(void *) = f->call.fn;
	weft_task_fn task = f->call.task;
	void *arg = f->arg;
	weft_cancel *tok = how ? NULL : depth_token(w);
	if (how || weft__future_start_inline(f, tok ? &pool_hooks : NULL, tok) != 0) {
		if (!how)
			depth_token_done(w, tok);
		weft_future_release(f); /* the input and the context go with it */
		return;
	}
	w->depth++;
	/* At the top of the loop the worker's own scope and record serve
	 * (pool.h); a call run by a nested wait enters its own. */
	bool top = !w->helping;
	weft_cancel_scope scope;
	weft__failure own, *rec = &w->top_rec, *prev = NULL;
	if (weft__likely(top)) {
		w->top_scope.token = tok;
	} else {
		weft__cancel_scope_push(&scope, tok);
		rec = &own;
		prev = weft__failure_enter(rec);
	}
	weft__context_frame frame;
	weft__context_enter_snapshot(&frame, f->ctx);
	f->ctx = NULL;
	void *result = NULL;
	weft_bytes out = {0};
	int rc = 0;
	if (atomic_load_explicit(&f->state, memory_order_relaxed) & F_TASK) {
		weft_bytes in = f->bytes;
		f->bytes = (weft_bytes){0};
		rc = task(in.data, in.len, &out);
		weft_bytes_free(&in);
	} else {
		result = fn(arg);
	}
	weft__context_leave_snapshot(&frame);
	if (weft__likely(top)) {
		/* Callbacks the completion runs are not under the call's token.
		 * The stack is reset too: a call that returned with a scope of its
		 * own still entered (its bug) must not leave it to the next. */
		w->top_scope.token = NULL;
		weft__cancel_scopes_restore(&w->top_scope);
	} else {
		weft__failure_leave(prev);
		weft__cancel_scope_pop(&scope);
	}
	w->depth--;
	weft__worker_expect_free(w);
	weft__future_complete_owned(f, rc < 0 ? rc : 0, rec, result, &out); /* f may be gone */
	/* The message is left when the call returned 0 after weft_fail; the
	 * code when it was taken over: the top record starts empty. */
	if (rec->code || rec->msg)
		weft__failure_clear(rec);
	if (out.data)
		weft_bytes_free(&out);
	depth_token_done(w, tok); /* after complete: cancel_running is over */
}

/* A pool job for a future. The common case -- a plain call (not a byte
 * task) run by the worker's loop itself, whose token for depth 0 exists
 * -- runs in a straight line here, the rest in future_job_run_general;
 * both do the same steps. At the top of the loop the worker's depth is 0
 * and its own scope and failure record serve (pool.h). */
static void future_job_run(weft__job *job, int how)
{
	weft_future *f = (weft_future *)job;
	weft__worker *w = weft__current_worker();
	weft_cancel *tok;
	if (weft__unlikely(how || w->helping ||
	                   (atomic_load_explicit(&f->state, memory_order_relaxed) & F_TASK) ||
	                   !(tok = w->tokens[0]))) {
		future_job_run_general(f, w, how);
		return;
	}
	void *(*fn)(void *) = f->call.fn;
	void *arg = f->arg;
	if (weft__future_start_inline(f, &pool_hooks, tok) != 0) {
		weft_future_release(f); /* cancelled: the context goes with it */
		return;
	}
	w->depth = 1;
	w->top_scope.token = tok;
	weft__context_frame frame;
	weft__context_enter_snapshot(&frame, f->ctx);
	f->ctx = NULL;
	void *result = fn(arg);
	weft__context_leave_snapshot(&frame);
	/* As in the general path: no token for the callbacks, and the scope
	 * stack reset. */
	w->top_scope.token = NULL;
	w->park->scopes = &w->top_scope;
	w->depth = 0;
	weft__worker_expect_free(w);
	if (weft__likely(!w->top_rec.code && !w->top_rec.msg)) {
		f->result = result;
		weft__future_publish_owned(f); /* f may be gone */
	} else {
		weft__future_complete_owned(f, 0, &w->top_rec, result, NULL);
		if (w->top_rec.code || w->top_rec.msg)
			weft__failure_clear(&w->top_rec);
	}
	if (weft__unlikely(weft__cancel_flag(tok)))
		depth_token_done(w, tok);
}

/* ---- submission ---------------------------------------------------------------------------- */

weft__pool *weft__as_pool(const weft_executor *ex)
{
	return ex && ex->ops == &weft__pool_ops ? (weft__pool *)ex : NULL;
}

int weft__pool_enter(weft__pool *p)
{
	if (p->fork_gen != weft__fork_generation())
		return WEFT_EBROKEN;
	uint32_t g = atomic_fetch_add_explicit(&p->gate, GATE_ONE, memory_order_acquire);
	if (weft__likely(!(g & (GATE_SHUT | GATE_BROKEN))))
		return 0;
	weft__pool_leave(p);
	return g & GATE_BROKEN ? WEFT_EBROKEN : WEFT_ESHUTDOWN;
}

static int submit_job(weft__pool *p, weft_future *f)
{
	f->job.run = future_job_run;
	weft__worker *w = weft__current_worker();
	if (weft__likely(p->fork_gen == weft__fork_generation() && !(w && w->pool == p) &&
	                 atomic_load_explicit(&p->nworkers, memory_order_acquire) > 0)) {
		f->ctx = weft__context_capture();
		return weft__pool_push_outside(p, &f->job); /* see pool.h */
	}
	int rc = weft__pool_enter(p);
	if (rc)
		return rc;
	f->ctx = weft__context_capture();
	rc = weft__pool_push(p, &f->job);
	weft__pool_leave(p);
	return rc; /* on error the caller drops f, and its context with it */
}

/* The rare turns of weft__pool_submit_call, out of its line so that its
 * common path is a leaf with no frame. A notify with something to do
 * (f claimed tk's slot), then the store, the last touch of the pool. */
__attribute__((noinline)) static int submit_notify_fill(weft__pool *p, weft__inj_ticket tk, weft_future *f,
                                                        weft_future **out)
{
	weft__pool_notify_slow(p);
	*out = f;
	weft__injector_fill(&tk, &f->job);
	return 0;
}

/* A claim that needs the full loop (a block's end, a closed queue). */
__attribute__((noinline)) static int submit_push_slow(weft__pool *p, weft_future *f, weft_future **out)
{
	int rc = weft__pool_push_outside(p, &f->job); /* see pool.h */
	if (rc) {
		weft__future_drop_pair(f);
		return rc;
	}
	*out = f;
	return 0;
}

int weft__pool_submit_call(weft_executor *ex, weft_future **out, void *(*fn)(void *), void *arg)
{
	weft__pool *p = (weft__pool *)ex;
	weft__worker *w = weft__current_worker();
	weft__fcache *c = &weft__fcache_tls;
	/* The path below is weft__pool_push_outside's for an empty context
	 * and a cached future; anything else goes the generic way. */
	if (weft__unlikely(!out || !fn || p->fork_gen != weft__fork_generation() || (w && w->pool == p) ||
	                   atomic_load_explicit(&p->nworkers, memory_order_acquire) <= 0 ||
	                   !weft__fcache_hot(c) || !weft__context_empty()))
		return weft__executor_submit_generic(ex, out, fn, arg);
	weft_future *f = weft__fcache_take_hot(c);
	/* Every field of the first line (a cached future's is stale; ahead
	 * is set), with the two references of a submission: the caller's and
	 * the worker's. */
	f->job.run = future_job_run;
	atomic_init(&f->state, F_PENDING | F_OWNED | 2 * F_REF);
	atomic_init(&f->lk.v, 0);
	f->code = 0;
	f->cold = false;
	f->result = NULL;
	f->call.fn = fn;
	f->arg = arg;
	f->ctx = NULL; /* the empty context */
	weft__inj_ticket tk;
	if (weft__unlikely(!weft__injector_claim_fast(&p->inj, &tk)))
		return submit_push_slow(p, f, out);
	/* As in weft__pool_push_outside: wake before the store. */
	if (weft__unlikely(weft__pool_notify_needed(p)))
		return submit_notify_fill(p, tk, f, out);
	*out = f;
	weft__injector_fill(&tk, &f->job);
	return 0;
}

/* Nobody else sees f before it is queued: no RMW needed. */
static void mark(weft_future *f, uint32_t flags)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
	atomic_store_explicit(&f->state, s | F_OWNED | flags, memory_order_relaxed);
}

static int pool_submit(weft_executor *ex, weft_future *f, void *(*fn)(void *), void *arg)
{
	mark(f, 0);
	f->call.fn = fn;
	f->arg = arg;
	return submit_job((weft__pool *)ex, f);
}

static int pool_submit_task(weft_executor *ex, weft_future *f, weft_task_fn fn, const void *data, size_t len)
{
	mark(f, F_TASK);
	f->call.task = fn;
	int rc = weft_bytes_set(&f->bytes, data, len); /* the task's own copy */
	f->cold = true;
	return rc ? rc : submit_job((weft__pool *)ex, f);
}

/* ---- shutdown and lifetime ------------------------------------------------------------------- */

/* Waits until no submitter is inside the gate: afterwards the set of
 * queued jobs can only shrink. */
static void gate_drain(weft__pool *p)
{
	while (atomic_load_explicit(&p->gate, memory_order_acquire) >= GATE_ONE)
		sched_yield();
}

/* Wakes every sleeping worker (they find the gate shut and exit once the
 * queues are empty). */
static void wake_all(weft__pool *p)
{
	weft__mu_lock(&p->idle_lk);
	weft__worker *list = p->idle;
	p->idle = NULL;
	for (weft__worker *w = list; w; w = w->next_idle) {
		w->idle = false;
		atomic_fetch_sub(&p->sleepers, 1);
		atomic_fetch_add(&p->searching, 1);
	}
	weft__mu_unlock(&p->idle_lk);
	while (list) {
		weft__worker *next = list->next_idle;
		atomic_store_explicit(&list->wake, 1, memory_order_release);
		weft__wake(&list->wake, 1, WEFT__PRIVATE);
		list = next;
	}
}

void weft__pool_break(weft__pool *p)
{
	weft__injector_close(&p->inj, true); /* before the gate flag: pool.h */
	atomic_fetch_or(&p->gate, GATE_BROKEN);
	gate_drain(p);
	weft__pool_drain(p, WEFT_EBROKEN);
}

/* Waits until every worker but the caller has left its loop, then joins
 * those not joined yet. */
static void join_workers(weft__pool *p)
{
	weft__worker *self = weft__current_worker();
	uint32_t mine = self && self->pool == p ? 1 : 0;
	for (;;) {
		uint32_t live = atomic_load_explicit(&p->live, memory_order_acquire);
		if (live <= mine)
			break;
		weft__futex_wait(&p->live, live, WEFT__PRIVATE, WEFT__NO_DEADLINE);
	}
	weft__mu_lock(&p->lk);
	int n = atomic_load(&p->nworkers);
	for (int i = 0; i < n; i++) {
		weft__worker *w = p->workers[i];
		if (w == self || w->joined || !w->started)
			continue;
		w->joined = true;
		weft__mu_unlock(&p->lk);
		pthread_join(w->tid, NULL); /* it has left its loop: prompt */
		weft__mu_lock(&p->lk);
	}
	weft__mu_unlock(&p->lk);
}

static int pool_shutdown(weft_executor *ex, bool wait, bool cancel_futures)
{
	weft__pool *p = (weft__pool *)ex;
	if (p->fork_gen != weft__fork_generation())
		return WEFT_EBROKEN;
	weft__injector_close(&p->inj, false); /* before the gate flag: pool.h */
	atomic_fetch_or(&p->gate, GATE_SHUT);
	gate_drain(p);
	if (cancel_futures)
		weft__pool_drain(p, WEFT_ECANCELED);
	wake_all(p);
	if (wait)
		join_workers(p);
	return 0;
}

static void pool_destroy(weft_executor *ex)
{
	weft__pool *p = (weft__pool *)ex;
	if (p->fork_gen != weft__fork_generation())
		return; /* a forked child forgets the parent's pool: its threads,
		         * list links and locks are the parent's */
	weft__pool_unregister(p);
	int n = atomic_load(&p->nworkers);
	for (int i = 0; i < n; i++) {
		weft__worker *w = p->workers[i];
		/* Every worker has left its loop (each held a reference); those
		 * not joined (shutdown without wait) are let go. */
		if (w->started && !w->joined)
			pthread_detach(w->tid);
		for (int d = 0; d < WEFT__TOKEN_DEPTH; d++)
			weft_cancel_release(w->tokens[d]);
		weft__deque_destroy(&w->dq);
		free(w);
	}
	weft__injector_destroy(&p->inj);
	free(p->workers);
	free(p);
}

const weft__executor_ops weft__pool_ops = {
    .kind = "thread pool",
    .submit = pool_submit,
    .submit_task = pool_submit_task,
    .shutdown = pool_shutdown,
    .destroy = pool_destroy,
};

/* ---- creation ---------------------------------------------------------------------------------- */

static _Atomic unsigned pool_counter;

int weft_thread_pool_new(weft_executor **out, const weft_thread_pool_opts *opts)
{
	weft_thread_pool_opts o = opts ? *opts : (weft_thread_pool_opts){0};
	if (!out || o.max_workers < 0)
		return WEFT_EINVAL;
	int max = o.max_workers;
	if (!max) {
		max = weft__cpu_count() + 4;
		if (max > 32)
			max = 32;
	}
	weft__pool *p;
	if (posix_memalign((void **)&p, 64, sizeof *p))
		return WEFT_ENOMEM;
	memset(p, 0, sizeof *p);
	p->workers = calloc((size_t)max, sizeof *p->workers);
	if (!p->workers) {
		free(p);
		return WEFT_ENOMEM;
	}
	weft__executor_init(&p->base, &weft__pool_ops);
	p->max_workers = max;
	p->fork_gen = weft__fork_generation();
	p->initializer = o.initializer;
	p->initarg = o.initarg;
	if (o.thread_name_prefix && *o.thread_name_prefix)
		snprintf(p->prefix, sizeof p->prefix, "%s", o.thread_name_prefix);
	else
		snprintf(p->prefix, sizeof p->prefix, "ThreadPoolExecutor-%u",
		         atomic_fetch_add_explicit(&pool_counter, 1, memory_order_relaxed));
	if (weft__injector_init(&p->inj)) {
		free(p->workers);
		free(p);
		return WEFT_ENOMEM;
	}
	weft__pool_register(p);
	*out = &p->base;
	return 0;
}

int weft_thread_pool_threads(const weft_executor *ex)
{
	weft__pool *p = weft__as_pool(ex);
	return p ? atomic_load(&p->nworkers) : 0;
}

int weft_thread_pool_max_workers(const weft_executor *ex)
{
	weft__pool *p = weft__as_pool(ex);
	return p ? p->max_workers : 0;
}
