/* Parallel loops: parallel_for and parallel_reduce by lazy binary splitting
 * (Tzannes, Caragea, Barua and Vishkin, PPoPP 2010) on the work-stealing
 * pool.
 *
 * A range job works through its range a grain at a time. Before each grain
 * it looks at its worker's deque: if the deque is empty -- idle workers
 * have stolen everything, so more parallelism is wanted -- it splits off
 * the upper half of what is left as a new job. A balanced loop thus splits
 * O(workers x log) times, an unbalanced one keeps splitting where the work
 * is, and the polling costs two loads per grain.
 *
 * parallel_for counts live range jobs in the loop's count word; the caller
 * waits for zero. parallel_reduce joins instead: each range keeps the
 * children it split off (newest first, i.e. in range order after its own
 * part), waits for them -- running other jobs meanwhile, usually the child
 * itself -- and combines their accumulators into its own. Only the root
 * counts in the loop's word.
 */
#include "futures/pool.h"
#include "contextvars/context.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loop loop;
typedef struct range range;

struct loop {
	weft__pool *pool;
	int (*body)(size_t, size_t, void *);
	int (*rbody)(size_t, size_t, void *, void *);
	void (*combine)(void *, const void *, void *); /* NULL: parallel_for */
	void *arg;
	size_t size;
	const void *identity;
	size_t grain;
	_Atomic uint32_t pending;
	weft_cancel *token; /* cancelled: stop splitting and running grains */
	weft__mu lk;        /* the failure */
	int code;
	char *msg;
	void *snap; /* the caller's context */
	range *root;
};

struct range {
	weft__job job;
	loop *L;
	size_t lo, hi;
	range *kids, *sibling; /* reduce: split-off children, newest first */
	_Atomic uint32_t done; /* reduce: a count word, 1 while running */
	alignas(max_align_t) unsigned char acc[];
};

static range *range_new(loop *L, size_t lo, size_t hi)
{
	range *r = malloc(sizeof *r + L->size);
	if (!r)
		return NULL;
	memset(r, 0, sizeof *r);
	r->L = L;
	r->lo = lo;
	r->hi = hi;
	if (L->size)
		memcpy(r->acc, L->identity, L->size);
	return r;
}

static void fail(loop *L, int code, char *msg)
{
	weft__mu_lock(&L->lk);
	if (!L->code) {
		L->code = code;
		L->msg = msg;
		msg = NULL;
	}
	weft__mu_unlock(&L->lk);
	free(msg);
	weft_cancel_cancel(L->token);
}

static void range_run(weft__job *job, int how);

/* Splits [mid, *hi) off as a new job on w's deque; false if it cannot
 * (no memory, pool shutting down): the caller then keeps the work. */
static bool split(range *r, size_t mid, size_t *hi)
{
	loop *L = r->L;
	range *c = range_new(L, mid, *hi);
	if (!c)
		return false;
	c->job.run = range_run;
	if (weft__pool_enter(L->pool)) {
		free(c);
		return false;
	}
	_Atomic uint32_t *count = L->combine ? &c->done : &L->pending;
	weft__count_add(count);
	int rc = weft__pool_push(L->pool, &c->job);
	weft__pool_leave(L->pool);
	if (rc) {
		free(c);
		weft__count_done(count);
		return false;
	}
	if (L->combine) {
		c->sibling = r->kids;
		r->kids = c;
	}
	*hi = mid;
	return true;
}

/* Works through r: grains of body, splitting lazily, then (reduce) joins
 * the children. Runs on a worker of L's pool. */
static void work(range *r, weft__worker *w)
{
	loop *L = r->L;
	size_t lo = r->lo, hi = r->hi;
	weft_cancel_scope scope;
	weft__cancel_scope_push(&scope, L->token);
	weft__failure rec;
	weft__failure *prev = weft__failure_enter(&rec);
	while (lo < hi && !weft_cancel_is_cancelled(L->token)) {
		if (hi - lo >= 2 * L->grain && !weft__deque_nonempty(&w->dq) &&
		    split(r, lo + (hi - lo) / 2, &hi))
			continue;
		size_t end = hi - lo > L->grain ? lo + L->grain : hi;
		/* Every call of body gets a fresh copy of the caller's context
		 * (free when the caller's context is empty). */
		weft__context_frame frame;
		weft__context_enter_snapshot(&frame, weft__context_snapshot_retain(L->snap));
		int rc = L->combine ? L->rbody(lo, end, r->acc, L->arg) : L->body(lo, end, L->arg);
		weft__context_leave_snapshot(&frame);
		if (rc < 0 || rec.code) {
			int code = rec.code ? rec.code : rc;
			/* Stopped by the loop's own cancellation: not a failure. */
			if (!(code == WEFT_ECANCELED && weft_cancel_is_cancelled(L->token))) {
				fail(L, code, rec.msg);
				rec.msg = NULL;
			}
			break;
		}
		lo = end;
	}
	weft__failure_leave(prev);
	weft__failure_clear(&rec);
	weft__cancel_scope_pop(&scope);
	/* Join: every child must end (they refer to the loop), combined in
	 * range order while the loop is still good. */
	while (r->kids) {
		range *c = r->kids;
		r->kids = c->sibling;
		weft__worker_help(w, &c->done, false, WEFT__NO_DEADLINE);
		if (!weft_cancel_is_cancelled(L->token))
			L->combine(r->acc, c->acc, L->arg);
		free(c);
	}
}

static void range_run(weft__job *job, int how)
{
	range *r = (range *)job;
	loop *L = r->L;
	if (how)
		fail(L, how, NULL); /* dropped by a shutdown or a broken pool */
	else
		work(r, weft__current_worker());
	/* Counting done is the last touch: the waiter may free the loop. */
	if (L->combine) {
		weft__count_done(r == L->root ? &L->pending : &r->done);
	} else {
		if (r != L->root)
			free(r);
		weft__count_done(&L->pending);
	}
}

static size_t auto_grain(size_t n, int workers)
{
	size_t g = n / ((size_t)workers * 64);
	return g ? g : 1;
}

/* Runs the loop from the caller: inline when it is a worker of the pool,
 * else from a worker while the caller waits. 0 or the loop's outcome. */
static int run(loop *L, size_t begin, size_t end, const weft_parallel_opts *opts)
{
	weft_executor *ex = opts ? opts->executor : NULL;
	if (opts && opts->error_buffer && opts->error_buffer_size)
		opts->error_buffer[0] = '\0';
	L->pool = ex ? weft__as_pool(ex) : weft__compute_pool();
	if (!L->pool)
		return ex ? WEFT_ENOTSUP : WEFT_ENOMEM;
	L->grain = opts && opts->grain ? opts->grain : auto_grain(end - begin, L->pool->max_workers);
	if (weft_cancel_new(&L->token, weft_cancel_current()))
		return WEFT_ENOMEM;
	L->root = range_new(L, begin, end);
	if (!L->root) {
		weft_cancel_release(L->token);
		return WEFT_ENOMEM;
	}
	L->root->job.run = range_run;
	L->snap = weft__context_capture();
	weft__count_add(&L->pending);
	int rc;
	weft__worker *w = weft__current_worker();
	if (w && w->pool == L->pool) {
		range_run(&L->root->job, 0);
		rc = weft__worker_help(w, &L->pending, true, WEFT__NO_DEADLINE);
		if (rc) {
			weft_cancel_cancel(L->token);
			weft__worker_help(w, &L->pending, false, WEFT__NO_DEADLINE);
		}
	} else {
		rc = weft__pool_enter(L->pool);
		if (!rc) {
			rc = weft__pool_push(L->pool, &L->root->job);
			weft__pool_leave(L->pool);
		}
		if (rc) {
			weft__count_done(&L->pending);
		} else {
			/* The caller's scope (token or deadline) stops the loop;
			 * the pieces running still have to return. */
			rc = weft__count_wait(&L->pending, WEFT__NO_DEADLINE, true);
			if (rc) {
				weft_cancel_cancel(L->token);
				weft__count_wait(&L->pending, WEFT__NO_DEADLINE, false);
			}
		}
	}
	if (L->code)
		rc = L->code;
	else if (!rc && weft_cancel_is_cancelled(L->token))
		rc = WEFT_ECANCELED; /* the caller's token was cancelled */
	if (opts && opts->error_buffer && opts->error_buffer_size)
		snprintf(opts->error_buffer, opts->error_buffer_size, "%s",
		         L->code ? (L->msg ? L->msg : weft_strerror(L->code)) : "");
	weft__context_snapshot_release(L->snap);
	weft_cancel_release(L->token);
	free(L->msg);
	return rc;
}

int weft_parallel_for(size_t begin, size_t end, int (*body)(size_t, size_t, void *), void *arg,
                      const weft_parallel_opts *opts)
{
	if (!body)
		return WEFT_EINVAL;
	if (begin >= end)
		return 0;
	loop L = {.body = body, .arg = arg};
	int rc = run(&L, begin, end, opts);
	free(L.root);
	return rc;
}

int weft_parallel_reduce(size_t begin, size_t end, void *result, size_t size,
                         int (*body)(size_t, size_t, void *, void *),
                         void (*combine)(void *, const void *, void *), void *arg,
                         const weft_parallel_opts *opts)
{
	if (!body || !combine || !result || !size)
		return WEFT_EINVAL;
	if (begin >= end)
		return 0;
	loop L = {.rbody = body, .combine = combine, .arg = arg, .size = size, .identity = result};
	int rc = run(&L, begin, end, opts);
	if (!rc)
		memcpy(result, L.root->acc, size);
	free(L.root);
	return rc;
}
