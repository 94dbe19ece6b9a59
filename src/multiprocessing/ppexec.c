/* ProcessPoolExecutor: the futures executor interface (futures/executor.h)
 * on the process-pool engine. A submission is a unit of one item; a map
 * chunk is a unit of several; each item completes its own future. */
#include "futures/executor.h"
#include "multiprocessing/pool_engine.h"

#include <stdlib.h>

typedef struct ppx {
	weft_executor base; /* first: the generic functions cast */
	weft__mpe *e;
	int max_workers;
	double task_timeout;
} ppx;

typedef struct ppx_unit {
	weft__mpu u; /* first */
	weft__mpe *e;
	weft_future *f[];
} ppx_unit;

static const weft__executor_ops ppx_ops;

static ppx *as_ppx(const weft_executor *ex)
{
	return ex && ex->ops == &ppx_ops ? (ppx *)ex : NULL;
}

/* ---- units ------------------------------------------------------------------------------- */

/* weft_future_cancel_running: the manager kills the worker running the
 * call (or ends a call not started yet). The engine outlives the hook:
 * the future is not complete while the hook runs, so its unit and the
 * manager are still there. */
static void hook_cancel_running(weft_future *f, void *impl)
{
	weft__mpe_cancel_running(impl, f);
}

static const weft__future_hooks ppx_hooks = {hook_cancel_running};

static bool unit_start(weft__mpu *u, size_t i)
{
	ppx_unit *pu = (ppx_unit *)u;
	return weft__future_start(pu->f[i], &ppx_hooks, pu->e) == 0;
}

static size_t unit_find(const weft__mpu *u, const weft_future *f)
{
	const ppx_unit *pu = (const ppx_unit *)u;
	for (size_t i = 0; i < u->n; i++)
		if (pu->f[i] == f)
			return i;
	return SIZE_MAX;
}

static void unit_done(weft__mpu *u, size_t i, int code, const char *msg, const weft_bytes *out)
{
	weft_future *f = ((ppx_unit *)u)->f[i];
	weft_bytes copy = {0};
	if (!code && out->len && weft_bytes_set(&copy, out->data, out->len))
		code = WEFT_ENOMEM;
	if (!code)
		weft_future_set_result_bytes(f, &copy);
	else if (code == WEFT_ECANCELED && !u->started && weft_future_cancel(f) == 0)
		return; /* shutdown(cancel_futures) or terminate: not started */
	else if (msg)
		weft_future_set_failure(f, code, "%s", msg);
	else
		weft_future_set_failure(f, code, "%s", weft_strerror(code));
}

static void unit_release(weft__mpu *u)
{
	ppx_unit *pu = (ppx_unit *)u;
	for (size_t i = 0; i < u->n; i++)
		weft_future_release(pu->f[i]); /* the engine's references */
	weft__mpu_fini(u);
	free(pu);
}

static const weft__mpu_ops unit_ops = {unit_start, unit_done, unit_release, unit_find};

/* A unit for n futures of task fn; inputs are added by the caller. */
static int unit_new(ppx *p, ppx_unit **out, weft_task_fn fn, weft_future *const *fs, size_t n)
{
	const weft_task *t = weft_task_find(fn);
	if (!t)
		return WEFT_EINVAL; /* a worker finds a task by its registration */
	/* The futures, then the unit's settled flags, in one block. */
	ppx_unit *pu = calloc(1, sizeof *pu + n * sizeof pu->f[0] + n);
	if (!pu)
		return WEFT_ENOMEM;
	int rc = weft__mpu_init(&pu->u, &unit_ops, t, n, p->task_timeout, (uint8_t *)&pu->f[n]);
	if (rc) {
		free(pu);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		pu->f[i] = fs[i];
	pu->e = p->e;
	*out = pu;
	return 0;
}

/* Submits pu, or frees it (not its futures: the caller drops them). */
static int unit_submit(ppx *p, ppx_unit *pu)
{
	int rc = weft__mpe_submit(p->e, &pu->u);
	if (rc) {
		weft__mpu_fini(&pu->u);
		free(pu);
	}
	return rc;
}

/* ---- the executor ------------------------------------------------------------------------- */

static int ppx_submit_task(weft_executor *ex, weft_future *f, weft_task_fn fn, const void *data, size_t len)
{
	ppx *p = (ppx *)ex;
	ppx_unit *pu;
	int rc = unit_new(p, &pu, fn, &f, 1);
	if (rc)
		return rc;
	if ((rc = weft__mpu_add(&pu->u, data, len))) {
		weft__mpu_fini(&pu->u);
		free(pu);
		return rc;
	}
	return unit_submit(p, pu);
}

static int ppx_submit_task_chunk(weft_executor *ex, weft_future *const *fs, weft_task_fn fn,
                                 const weft_bytes *in, size_t n)
{
	ppx *p = (ppx *)ex;
	ppx_unit *pu;
	int rc = unit_new(p, &pu, fn, fs, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++)
		rc = weft__mpu_add(&pu->u, in[i].data, in[i].len);
	if (rc) {
		weft__mpu_fini(&pu->u);
		free(pu);
		return rc;
	}
	return unit_submit(p, pu);
}

static int ppx_shutdown(weft_executor *ex, bool wait, bool cancel_futures)
{
	ppx *p = (ppx *)ex;
	if (weft__mpe_foreign(p->e))
		return WEFT_EBROKEN;
	weft__mpe_close(p->e, cancel_futures);
	/* From a done callback (on the manager) the rest finishes on its own. */
	if (wait && !weft__mpe_on_manager(p->e))
		weft__mpe_join(p->e, WEFT_FOREVER);
	return 0;
}

static void ppx_destroy(weft_executor *ex)
{
	ppx *p = (ppx *)ex;
	if (weft__mpe_foreign(p->e))
		return;               /* a forked child's copy is the parent's */
	weft__mpe_close(p->e, false); /* no-op after shutdown */
	weft__mpe_release(p->e);
	free(p);
}

static const weft__executor_ops ppx_ops = {
    .kind = "process pool",
    .submit = NULL, /* in-process calls cannot cross: WEFT_ENOTSUP */
    .submit_task = ppx_submit_task,
    .submit_task_chunk = ppx_submit_task_chunk,
    .shutdown = ppx_shutdown,
    .destroy = ppx_destroy,
};

int weft_process_pool_new(weft_executor **out, const weft_process_pool_opts *opts)
{
	weft_process_pool_opts o = opts ? *opts : (weft_process_pool_opts){0};
	if (!out || o.max_workers < 0 || o.max_tasks_per_child < 0 || !weft__mpe_timeout_ok(o.task_timeout))
		return WEFT_EINVAL;
	ppx *p = calloc(1, sizeof *p);
	if (!p)
		return WEFT_ENOMEM;
	p->max_workers = o.max_workers ? o.max_workers : weft_mp_cpu_count();
	p->task_timeout = o.task_timeout;
	weft__mpe_opts eo = {
	    .workers = p->max_workers,
	    .max_tasks = o.max_tasks_per_child,
	    .initializer = o.initializer,
	    .initarg = o.initarg,
	    .name = "ForkProcess",
	};
	int rc = weft__mpe_new(&p->e, &eo);
	if (rc) {
		free(p);
		return rc;
	}
	weft__executor_init(&p->base, &ppx_ops);
	*out = &p->base;
	return 0;
}

int weft_process_pool_max_workers(const weft_executor *ex)
{
	ppx *p = as_ppx(ex);
	return p ? p->max_workers : 0;
}

int weft_process_pool_pids(weft_executor *ex, pid_t *out, size_t cap, size_t *count)
{
	ppx *p = as_ppx(ex);
	if (!p || !count || (!out && cap))
		return WEFT_EINVAL;
	return weft__mpe_pids(p->e, out, cap, count);
}
