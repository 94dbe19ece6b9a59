/* wait() and as_completed(): a waiter listed on every future.
 *
 * A completer notifies each waiter listed on its future under the future's
 * lk (future.c): for wait() it counts down or flags the condition, for
 * as_completed() it appends the future to the waiter's ready queue. The
 * waiting thread sleeps on the waiter's word, bumped at every piece of
 * news. Before returning, the waiter unlists its nodes under each future's
 * lk, after which no completer can touch them.
 */
#include "futures/future.h"

#include <limits.h>
#include <stdlib.h>

enum { AS_COMPLETED = 3 };

/* pending starts this high while nodes are being listed, so that early
 * notifications cannot reach zero before the real count is known. */
#define BIAS (LONG_MAX / 2)

struct weft__waiter {
	_Atomic uint32_t word;
	weft__mu lk; /* the ready queue */
	int kind;    /* weft_return_when, or AS_COMPLETED */
	_Atomic long pending;
	_Atomic bool met;
	weft_future **ready;
	size_t rhead, rtail;
};

static void signal_waiter(weft__waiter *w)
{
	atomic_fetch_add_explicit(&w->word, 1, memory_order_release);
	weft__wake(&w->word, 1, WEFT__PRIVATE);
}

static void set_met(weft__waiter *w)
{
	atomic_store_explicit(&w->met, true, memory_order_release);
	signal_waiter(w);
}

/* Finished with a failure (Python: finished and exception() is not None). */
static bool failed(weft_future *f)
{
	return (atomic_load_explicit(&f->state, memory_order_acquire) & F_STATE) == F_FINISHED &&
	       f->code != 0;
}

void weft__waiter_notify(weft__waiter *w, weft_future *f)
{
	switch (w->kind) {
	case AS_COMPLETED:
		weft__mu_lock(&w->lk);
		w->ready[w->rtail++] = f;
		weft__mu_unlock(&w->lk);
		signal_waiter(w);
		break;
	case WEFT_FIRST_COMPLETED:
		set_met(w);
		break;
	case WEFT_FIRST_EXCEPTION:
		if (failed(f)) {
			set_met(w);
			break;
		}
		/* fall through */
	default:
		if (atomic_fetch_sub_explicit(&w->pending, 1, memory_order_acq_rel) == 1)
			set_met(w);
		break;
	}
}

/* ---- deduplication ------------------------------------------------------------------------ */

typedef struct ent {
	weft_future *f;
	size_t i;
} ent;

static int ent_cmp(const void *a, const void *b)
{
	const ent *x = a, *y = b;
	if (x->f != y->f)
		return x->f < y->f ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* The distinct futures of fs in order of first appearance, in a new array
 * (*out, count returned); EINVAL for a NULL future, ENOMEM. */
static int dedup(weft_future *const *fs, size_t n, weft_future ***out, size_t *count)
{
	*out = NULL;
	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (!fs[i])
			return WEFT_EINVAL;
	if (n == 0)
		return 0;
	ent *e = malloc(n * sizeof *e);
	bool *keep = calloc(n, sizeof *keep);
	weft_future **u = malloc(n * sizeof *u);
	if (!e || !keep || !u) {
		free(e);
		free(keep);
		free(u);
		return WEFT_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		e[i] = (ent){fs[i], i};
	qsort(e, n, sizeof *e, ent_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || e[i].f != e[i - 1].f)
			keep[e[i].i] = true;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			u[k++] = fs[i];
	free(e);
	free(keep);
	*out = u;
	*count = k;
	return 0;
}

/* ---- wait ---------------------------------------------------------------------------------- */

static bool condition(weft_return_when when, weft_future *const *u, size_t n)
{
	size_t done = 0;
	for (size_t i = 0; i < n; i++) {
		if (!weft_future_done(u[i]))
			continue;
		done++;
		if (when == WEFT_FIRST_COMPLETED || (when == WEFT_FIRST_EXCEPTION && failed(u[i])))
			return true;
	}
	return done == n;
}

static void fill(weft_future *const *u, size_t n, weft_wait_sets *sets)
{
	if (!sets)
		return;
	sets->ndone = sets->nnot_done = 0;
	for (size_t i = 0; i < n; i++) {
		if (weft_future_done(u[i])) {
			if (sets->done)
				sets->done[sets->ndone] = u[i];
			sets->ndone++;
		} else {
			if (sets->not_done)
				sets->not_done[sets->nnot_done] = u[i];
			sets->nnot_done++;
		}
	}
}

int weft_wait(weft_future *const *fs, size_t n, double timeout, weft_return_when return_when,
              weft_wait_sets *sets)
{
	int64_t deadline;
	if ((!fs && n) || weft__deadline(timeout, &deadline) ||
	    (return_when != WEFT_ALL_COMPLETED && return_when != WEFT_FIRST_COMPLETED &&
	     return_when != WEFT_FIRST_EXCEPTION))
		return WEFT_EINVAL;
	weft_future **u;
	size_t nu;
	int rc = dedup(fs, n, &u, &nu);
	if (rc)
		return rc;
	if (condition(return_when, u, nu)) {
		fill(u, nu, sets);
		free(u);
		return 0;
	}
	weft__waiter w = {.kind = return_when};
	atomic_init(&w.pending, BIAS);
	weft__listener *nodes = calloc(nu, sizeof *nodes);
	bool *listed = calloc(nu, sizeof *listed);
	if (!nodes || !listed) {
		free(nodes);
		free(listed);
		free(u);
		return WEFT_ENOMEM;
	}
	long installed = 0;
	for (size_t i = 0; i < nu; i++) {
		nodes[i].waiter = &w;
		if (weft__future_listen(u[i], &nodes[i]) == 0) {
			listed[i] = true;
			installed++;
		} else if (return_when == WEFT_FIRST_COMPLETED ||
		           (return_when == WEFT_FIRST_EXCEPTION && failed(u[i]))) {
			atomic_store(&w.met, true);
		}
	}
	if (atomic_fetch_add_explicit(&w.pending, installed - BIAS, memory_order_acq_rel) + installed -
	        BIAS ==
	    0)
		atomic_store(&w.met, true);
	rc = 0;
	while (!atomic_load_explicit(&w.met, memory_order_acquire)) {
		uint32_t e = atomic_load_explicit(&w.word, memory_order_acquire);
		if (atomic_load_explicit(&w.met, memory_order_acquire))
			break;
		rc = weft__park(&w.word, e, WEFT__PRIVATE, deadline);
		if (rc)
			break;
	}
	for (size_t i = 0; i < nu; i++)
		if (listed[i])
			weft__future_unlisten(u[i], &nodes[i]);
	free(nodes);
	free(listed);
	bool ok = condition(return_when, u, nu);
	fill(u, nu, sets);
	free(u);
	return ok ? 0 : rc ? rc : WEFT_ETIMEDOUT;
}

/* ---- as_completed ---------------------------------------------------------------------------- */

struct weft_as_completed {
	weft__waiter w;
	size_t n, yielded;
	weft_future **fs; /* distinct, each retained */
	weft__listener *nodes;
	bool *listed;
	int64_t deadline;
	bool timed_out;
};

void weft_as_completed_free(weft_as_completed *it)
{
	if (!it)
		return;
	for (size_t i = 0; i < it->n; i++) {
		if (it->listed && it->listed[i])
			weft__future_unlisten(it->fs[i], &it->nodes[i]);
		weft_future_release(it->fs[i]);
	}
	free(it->fs);
	free(it->nodes);
	free(it->listed);
	free(it->w.ready);
	free(it);
}

int weft_as_completed_new(weft_as_completed **out, weft_future *const *fs, size_t n, double timeout)
{
	int64_t deadline;
	if (!out || (!fs && n) || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	weft_as_completed *it = calloc(1, sizeof *it);
	if (!it)
		return WEFT_ENOMEM;
	int rc = dedup(fs, n, &it->fs, &it->n);
	if (rc) {
		free(it);
		return rc;
	}
	for (size_t i = 0; i < it->n; i++)
		weft_future_retain(it->fs[i]);
	it->deadline = deadline;
	it->w.kind = AS_COMPLETED;
	if (it->n) {
		it->nodes = calloc(it->n, sizeof *it->nodes);
		it->listed = calloc(it->n, sizeof *it->listed);
		it->w.ready = malloc(it->n * sizeof *it->w.ready);
		if (!it->nodes || !it->listed || !it->w.ready) {
			free(it->listed);
			it->listed = NULL;
			weft_as_completed_free(it);
			return WEFT_ENOMEM;
		}
	}
	/* Already-done futures come first, in input order; each future is
	 * queued once: by us when done now, else by its completer. */
	for (size_t i = 0; i < it->n; i++) {
		it->nodes[i].waiter = &it->w;
		if (weft__future_listen(it->fs[i], &it->nodes[i]) == 0) {
			it->listed[i] = true;
		} else {
			weft__mu_lock(&it->w.lk);
			it->w.ready[it->w.rtail++] = it->fs[i];
			weft__mu_unlock(&it->w.lk);
		}
	}
	*out = it;
	return 0;
}

int weft_as_completed_next(weft_as_completed *it, weft_future **f)
{
	if (!it || !f)
		return WEFT_EINVAL;
	if (it->yielded == it->n)
		return WEFT_EEMPTY;
	for (;;) {
		uint32_t e = atomic_load_explicit(&it->w.word, memory_order_acquire);
		weft__mu_lock(&it->w.lk);
		if (it->w.rhead < it->w.rtail) {
			*f = it->w.ready[it->w.rhead++];
			weft__mu_unlock(&it->w.lk);
			it->yielded++;
			return 0;
		}
		weft__mu_unlock(&it->w.lk);
		if (it->timed_out)
			return WEFT_ETIMEDOUT;
		int rc = weft__park(&it->w.word, e, WEFT__PRIVATE, it->deadline);
		if (rc == WEFT_ETIMEDOUT)
			it->timed_out = true;
		else if (rc)
			return rc;
	}
}

size_t weft_as_completed_pending(const weft_as_completed *it)
{
	return it ? it->n - it->yielded : 0;
}
