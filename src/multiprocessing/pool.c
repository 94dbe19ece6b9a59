/* multiprocessing.Pool on the process-pool engine: creation, apply,
 * map and starmap (sync and async), close, terminate, join. */
#include "multiprocessing/pool_job.h"

#include <stdlib.h>
#include <string.h>

struct weft_pool {
	weft__mpe *e;
	int processes;
	double task_timeout;
	_Atomic bool closed; /* close or terminate was called */
};

weft__mpe *weft__pool_engine(const weft_pool *p)
{
	return p->e;
}

double weft__pool_timeout(const weft_pool *p, double call_timeout)
{
	return call_timeout > 0 ? call_timeout : p->task_timeout;
}

int weft_pool_new(weft_pool **out, const weft_pool_opts *opts)
{
	weft_pool_opts o = opts ? *opts : (weft_pool_opts){0};
	if (!out || o.processes < 0 || o.maxtasksperchild < 0 || !weft__mpe_timeout_ok(o.task_timeout))
		return WEFT_EINVAL;
	if (weft_process_daemon(weft_process_current()))
		return WEFT_ESTATE;
	weft_pool *p = calloc(1, sizeof *p);
	if (!p)
		return WEFT_ENOMEM;
	p->processes = o.processes ? o.processes : weft_mp_cpu_count();
	p->task_timeout = o.task_timeout;
	weft__mpe_opts eo = {
	    .workers = p->processes,
	    .max_tasks = o.maxtasksperchild,
	    .initializer = o.initializer,
	    .initarg = o.initarg,
	    .daemon = true, /* as Python's Pool workers */
	    .name = "ForkPoolWorker",
	    .exit_terminate = true,
	};
	int rc = weft__mpe_new(&p->e, &eo);
	if (!rc && (rc = weft__mpe_start(p->e))) {
		weft__mpe_close(p->e, false);
		weft__mpe_release(p->e);
	}
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---- apply ------------------------------------------------------------------------------- */

int weft_pool_apply_async(weft_pool *p, weft_future **out, weft_task_fn fn, const void *data, size_t len,
                          const weft_pool_apply_opts *opts)
{
	weft_pool_apply_opts o = opts ? *opts : (weft_pool_apply_opts){0};
	if (!p || !out || !fn || (!data && len) || !weft__mpe_timeout_ok(o.timeout))
		return WEFT_EINVAL;
	pjob *j;
	int rc = weft__pjob_new(&j, JOB_APPLY, 1);
	if (rc)
		return rc;
	j->apply_cb = o.callback;
	j->error_cb = o.error_callback;
	j->cb_arg = o.arg;
	weft_bytes in = {(void *)data, len};
	rc = weft__pjob_submit(p->e, j, fn, &in, NULL, 0, 1, weft__pool_timeout(p, o.timeout));
	if (!rc) {
		weft_future_retain(j->fut);
		*out = j->fut;
	}
	weft__pjob_release(j); /* the unit holds it now */
	return rc;
}

/* Waits for a job's future; a failure of the job is also recorded for the
 * calling thread (weft_last_failure_message). */
static int wait_job(weft_future *f, double timeout)
{
	int rc = weft_future_exception(f, timeout, NULL);
	if (rc)
		return rc; /* the wait ended first (or EINVAL) */
	int code = 0;
	weft_future_exception(f, 0, &code);
	if (code)
		weft_fail(code, "%s", weft_future_error_message(f));
	return code;
}

int weft_pool_apply(weft_pool *p, weft_task_fn fn, const void *data, size_t len, weft_bytes *out,
                    double timeout)
{
	if (!weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	weft_future *f;
	int rc = weft_pool_apply_async(p, &f, fn, data, len, NULL);
	if (rc)
		return rc;
	rc = wait_job(f, timeout);
	if (!rc && out) {
		const void *d;
		size_t n;
		weft_future_result_bytes(f, 0, &d, &n);
		rc = weft_bytes_set(out, d, n);
	}
	weft_future_release(f);
	return rc;
}

/* ---- map, starmap ------------------------------------------------------------------------- */

/* The common part of the four map calls: checks, zeroes results, builds
 * and submits the job. */
static int map_start(weft_pool *p, pjob **jp, weft_task_fn fn, const weft_bytes *in, size_t n, size_t nargs,
                     weft_bytes *results, bool async, const weft_pool_map_opts *opts)
{
	weft_pool_map_opts o = opts ? *opts : (weft_pool_map_opts){0};
	size_t nin = nargs ? n * nargs : n;
	if (!p || !fn || (n && !results) || (nin && !in) || (nargs && nin / nargs != n) ||
	    !weft__mpe_timeout_ok(o.timeout))
		return WEFT_EINVAL;
	for (size_t i = 0; i < nin; i++)
		if (!in[i].data && in[i].len)
			return WEFT_EINVAL;
	if (!weft_task_find(fn))
		return WEFT_EINVAL;
	for (size_t i = 0; i < n; i++)
		results[i] = (weft_bytes){0}; /* whatever happens next */
	pjob *j;
	int rc = weft__pjob_new(&j, JOB_MAP, n);
	if (rc)
		return rc;
	j->map_cb = o.callback;
	j->error_cb = o.error_callback;
	j->cb_arg = o.arg;
	j->dest = async ? results : NULL; /* else the waiter collects them */
	size_t chunk = o.chunksize ? o.chunksize : weft__pjob_default_chunk(n, p->processes);
	rc = async ? weft__pjob_results(j) : weft__pjob_collect(j, chunk);
	if (!rc)
		rc = weft__pjob_submit(p->e, j, fn, nargs ? NULL : in, nargs ? in : NULL, nargs, chunk,
		                       weft__pool_timeout(p, o.timeout));
	if (rc) {
		weft__pjob_release(j);
		return rc;
	}
	if (!n) { /* Python: an empty map is ready at once */
		if (j->map_cb)
			j->map_cb(results, 0, j->cb_arg);
		weft_future_set_result(j->fut, NULL);
	}
	*jp = j;
	return 0;
}

static int map_sync(weft_pool *p, weft_task_fn fn, const weft_bytes *in, size_t n, size_t nargs,
                    weft_bytes *results, const weft_pool_map_opts *opts, double timeout)
{
	if (!weft__timeout_valid(timeout) || (opts && (opts->callback || opts->error_callback)))
		return WEFT_EINVAL;
	pjob *j;
	int rc = map_start(p, &j, fn, in, n, nargs, results, false, opts);
	if (rc)
		return rc;
	int64_t deadline;
	weft__deadline(timeout, &deadline); /* checked above */
	rc = weft__pjob_collect_wait(j, results, deadline);
	weft__pjob_release(j);
	return rc;
}

static int map_async(weft_pool *p, weft_future **out, weft_task_fn fn, const weft_bytes *in, size_t n,
                     size_t nargs, weft_bytes *results, const weft_pool_map_opts *opts)
{
	if (!out)
		return WEFT_EINVAL;
	pjob *j;
	int rc = map_start(p, &j, fn, in, n, nargs, results, true, opts);
	if (rc)
		return rc;
	weft_future_retain(j->fut);
	*out = j->fut;
	weft__pjob_release(j);
	return 0;
}

int weft_pool_map(weft_pool *p, weft_task_fn fn, const weft_bytes *inputs, size_t n, weft_bytes *results,
                  const weft_pool_map_opts *opts, double timeout)
{
	return map_sync(p, fn, inputs, n, 0, results, opts, timeout);
}

int weft_pool_map_async(weft_pool *p, weft_future **out, weft_task_fn fn, const weft_bytes *inputs, size_t n,
                        weft_bytes *results, const weft_pool_map_opts *opts)
{
	return map_async(p, out, fn, inputs, n, 0, results, opts);
}

int weft_pool_starmap(weft_pool *p, weft_task_fn fn, const weft_bytes *args, size_t n, size_t nargs,
                      weft_bytes *results, const weft_pool_map_opts *opts, double timeout)
{
	if (!nargs)
		return WEFT_EINVAL;
	return map_sync(p, fn, args, n, nargs, results, opts, timeout);
}

int weft_pool_starmap_async(weft_pool *p, weft_future **out, weft_task_fn fn, const weft_bytes *args,
                            size_t n, size_t nargs, weft_bytes *results, const weft_pool_map_opts *opts)
{
	if (!nargs)
		return WEFT_EINVAL;
	return map_async(p, out, fn, args, n, nargs, results, opts);
}

/* ---- the pool's life ------------------------------------------------------------------------ */

int weft_pool_close(weft_pool *p)
{
	if (!p)
		return WEFT_EINVAL;
	if (weft__mpe_foreign(p->e))
		return WEFT_EBROKEN;
	atomic_store(&p->closed, true);
	weft__mpe_close(p->e, false);
	return 0;
}

int weft_pool_terminate(weft_pool *p)
{
	if (!p)
		return WEFT_EINVAL;
	if (weft__mpe_foreign(p->e))
		return WEFT_EBROKEN;
	atomic_store(&p->closed, true);
	weft__mpe_terminate(p->e);
	if (!weft__mpe_on_manager(p->e))
		weft__mpe_join(p->e, WEFT_FOREVER);
	return 0;
}

int weft_pool_join(weft_pool *p, double timeout)
{
	if (!p || !weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	if (weft__mpe_foreign(p->e))
		return WEFT_EBROKEN;
	if (!atomic_load(&p->closed))
		return WEFT_ESTATE;
	return weft__mpe_join(p->e, timeout);
}

void weft_pool_free(weft_pool *p)
{
	if (!p)
		return;
	if (!weft__mpe_foreign(p->e))
		weft_pool_terminate(p);
	weft__mpe_release(p->e);
	free(p);
}

int weft_pool_processes(const weft_pool *p)
{
	return p ? p->processes : 0;
}

int weft_pool_pids(weft_pool *p, pid_t *out, size_t cap, size_t *count)
{
	if (!p || !count || (!out && cap))
		return WEFT_EINVAL;
	return weft__mpe_pids(p->e, out, cap, count);
}
