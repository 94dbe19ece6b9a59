/* Task groups: fork-join without futures on the work-stealing pool.
 *
 * A group counts its pending tasks in a count word (pool.h); a task is a
 * small job that runs fn in the group's cancel scope, failure record and a
 * copy of the spawner's context, records a failure under the group's lock,
 * and counts itself done as its very last act (the waiter may free the
 * group right after). The first failure cancels the group's token.
 */
#include "futures/pool.h"
#include "contextvars/context.h"

#include <stdlib.h>

struct weft_task_group {
	weft__pool *pool; /* holds an executor reference */
	_Atomic uint32_t pending;
	weft_cancel *token;
	weft__mu lk; /* the failure fields */
	int code;
	char *msg;
	long others;
};

/* A worker that spawns while its deque already holds a job for each other
 * worker of the pool runs the new task inline instead of queueing it: the
 * others have something to steal, and the spawner keeps busy at the cost
 * of a call. (A longer queue, as libgomp's 64 per thread, lets a fast
 * thief keep the spawner in its slow path: measured, tiny tasks ran at 3
 * M/s with 128 where they run at 12 with one per other worker, and long
 * tasks keep both workers busy either way.) */
static int64_t inline_threshold(const weft__pool *p)
{
	return p->max_workers > 1 ? p->max_workers - 1 : 1;
}

/* Tasks so small that handing one to another worker costs more than
 * running it: a stolen task moves its job, the group's count and the
 * deque's ends between two cores (a few hundred ns), and a spawner whose
 * deque a thief keeps empty queues each spawn instead of running it
 * (measured: 500,000 empty tasks ran at 10-18 M/s on two busy workers,
 * 45-55 inline on one). A worker whose last TINY_WINDOW inline tasks took
 * less than TINY_NS each runs all but one in TINY_SHARE spawns inline;
 * that one goes the usual way, so others can still take work. The clock
 * is read every TINY_WINDOW inline runs, so a switch to longer tasks is
 * seen within that many. */
enum { TINY_WINDOW = 8, TINY_NS = 250, TINY_SHARE = 64 };

/* Counts an inline run; at the end of a window, decides whether the
 * worker's inline tasks are tiny. */
static void inline_ran(weft__worker *w)
{
	if (++w->inline_runs % TINY_WINDOW)
		return;
	int64_t now = weft__now_ns();
	w->inline_tiny = w->inline_t0 && now - w->inline_t0 < (int64_t)TINY_WINDOW * TINY_NS;
	w->inline_t0 = now;
}

/* Whether a worker of the group's pool runs this spawn inline. */
static bool run_inline(weft__worker *w, const weft__pool *p)
{
	if (weft__deque_size(&w->dq) >= inline_threshold(p))
		return true;
	return w->inline_tiny && w->inline_runs % TINY_SHARE != 0;
}

typedef struct gtask {
	weft__job job;
	weft_task_group *g;
	int (*fn)(void *);
	void *arg;
	void *ctx;
} gtask;

/* Records a failure (taking msg); the first one cancels the group. */
static void record(weft_task_group *g, int code, char *msg)
{
	weft__mu_lock(&g->lk);
	bool first = !g->code;
	if (first) {
		g->code = code;
		g->msg = msg;
		msg = NULL;
	} else {
		g->others++;
	}
	weft__mu_unlock(&g->lk);
	free(msg);
	if (first)
		weft_cancel_cancel(g->token);
}

/* Runs t's function in the group's scope, failure record and context. */
static void gtask_body(gtask *t)
{
	weft_task_group *g = t->g;
	weft_cancel_scope scope;
	weft__cancel_scope_push(&scope, g->token);
	weft__failure rec;
	weft__failure *prev = weft__failure_enter(&rec);
	weft__context_frame frame;
	weft__context_enter_snapshot(&frame, t->ctx);
	t->ctx = NULL;
	int rc = t->fn(t->arg);
	weft__context_leave_snapshot(&frame);
	weft__failure_leave(prev);
	weft__cancel_scope_pop(&scope);
	int code = rec.code ? rec.code : rc < 0 ? rc : 0;
	/* A task stopped by the group's own cancellation did not fail. */
	if (code && !(code == WEFT_ECANCELED && weft_cancel_is_cancelled(g->token))) {
		record(g, code, rec.msg);
		rec.msg = NULL;
	}
	weft__failure_clear(&rec);
}

static void gtask_run(weft__job *job, int how)
{
	gtask *t = (gtask *)job;
	weft_task_group *g = t->g;
	if (how == WEFT_EBROKEN)
		record(g, how, NULL);
	else if (how)
		weft_cancel_cancel(g->token); /* dropped by shutdown(cancel_futures) */
	else if (!weft_cancel_is_cancelled(g->token))
		gtask_body(t);
	weft__context_snapshot_release(t->ctx);
	free(t);
	weft__count_done(&g->pending);
}

int weft_task_group_new(weft_task_group **out, weft_executor *ex)
{
	if (!out)
		return WEFT_EINVAL;
	weft__pool *p = ex ? weft__as_pool(ex) : weft__compute_pool();
	if (!p)
		return ex ? WEFT_ENOTSUP : WEFT_ENOMEM;
	weft_task_group *g = calloc(1, sizeof *g);
	if (!g)
		return WEFT_ENOMEM;
	if (weft_cancel_new(&g->token, weft_cancel_current())) {
		free(g);
		return WEFT_ENOMEM;
	}
	weft__executor_retain(&p->base);
	g->pool = p;
	*out = g;
	return 0;
}

int weft_task_group_spawn(weft_task_group *g, int (*fn)(void *), void *arg)
{
	if (!g || !fn)
		return WEFT_EINVAL;
	if (weft_cancel_is_cancelled(g->token))
		return WEFT_ECANCELED;
	weft__worker *w = weft__current_worker();
	if (w && w->pool == g->pool && run_inline(w, g->pool)) {
		/* The others have enough to steal: run this one now, on this
		 * worker (work first, as Cilk and libgomp do) -- no queue, no
		 * allocation. It runs within the spawn call, so the group
		 * need not count it. */
		uint32_t gate = atomic_load_explicit(&g->pool->gate, memory_order_relaxed);
		if (gate & (GATE_SHUT | GATE_BROKEN))
			return gate & GATE_BROKEN ? WEFT_EBROKEN : WEFT_ESHUTDOWN;
		gtask t = {.g = g, .fn = fn, .arg = arg, .ctx = weft__context_capture()};
		weft_cancel_scope *saved = weft__cancel_scopes_detach();
		gtask_body(&t);
		weft__cancel_scopes_restore(saved);
		inline_ran(w);
		return 0;
	}
	int rc = weft__pool_enter(g->pool);
	if (rc)
		return rc;
	gtask *t = malloc(sizeof *t);
	if (!t) {
		weft__pool_leave(g->pool);
		return WEFT_ENOMEM;
	}
	*t = (gtask){.job.run = gtask_run, .g = g, .fn = fn, .arg = arg, .ctx = weft__context_capture()};
	if (atomic_load_explicit(&g->pending, memory_order_relaxed) >= UINT32_MAX - 3) {
		rc = WEFT_EAGAIN;
	} else {
		weft__count_add(&g->pending);
		rc = weft__pool_push(g->pool, &t->job);
		if (rc)
			weft__count_done(&g->pending);
	}
	weft__pool_leave(g->pool);
	if (rc) {
		weft__context_snapshot_release(t->ctx);
		free(t);
	}
	return rc;
}

/* Waits for the count: a worker of the group's pool helps meanwhile. */
static int wait_pending(weft_task_group *g, bool cancellable, int64_t deadline)
{
	weft__worker *w = weft__current_worker();
	if (w && w->pool == g->pool)
		return weft__worker_help(w, &g->pending, cancellable, deadline);
	return weft__count_wait(&g->pending, deadline, cancellable);
}

int weft_task_group_wait(weft_task_group *g, double timeout)
{
	int64_t deadline;
	if (!g || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	int rc = wait_pending(g, true, deadline);
	if (rc)
		return rc;
	weft__mu_lock(&g->lk);
	int code = g->code;
	weft__mu_unlock(&g->lk);
	if (code)
		return code;
	return weft_cancel_is_cancelled(g->token) ? WEFT_ECANCELED : 0;
}

int weft_task_group_cancel(weft_task_group *g)
{
	if (!g)
		return WEFT_EINVAL;
	return weft_cancel_cancel(g->token);
}

const char *weft_task_group_error_message(const weft_task_group *g)
{
	if (!g)
		return "";
	weft_task_group *m = (weft_task_group *)g;
	weft__mu_lock(&m->lk);
	const char *msg = m->code ? (m->msg ? m->msg : weft_strerror(m->code)) : "";
	weft__mu_unlock(&m->lk);
	return msg;
}

long weft_task_group_other_failures(const weft_task_group *g)
{
	if (!g)
		return 0;
	weft_task_group *m = (weft_task_group *)g;
	weft__mu_lock(&m->lk);
	long n = m->others;
	weft__mu_unlock(&m->lk);
	return n;
}

void weft_task_group_free(weft_task_group *g)
{
	if (!g)
		return;
	wait_pending(g, false, WEFT__NO_DEADLINE);
	weft_cancel_release(g->token);
	weft__executor_release(&g->pool->base);
	free(g->msg);
	free(g);
}
