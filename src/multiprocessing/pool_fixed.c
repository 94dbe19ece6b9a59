/* weft_pool_map_fixed: Pool.map over an array of fixed-size records, with
 * the records in the engine's shared arena (pool_arena.c) instead of the
 * messages.
 *
 * The caller's thread reserves one range of the arena for the map (inputs,
 * then outputs), copies the inputs in and submits one unit per chunk; a
 * unit's request names its records (mpw_fixed, pool_wire.h) and the worker
 * writes each output in place. The manager thread only settles a unit
 * (code 0 or the chunk's first failure) and publishes it; the waiting
 * caller copies each published chunk's outputs to `out` while the others
 * still run. Nothing per record crosses a socket or the manager.
 *
 * Lifetime: the job (and with it the arena range) is held by the caller
 * and by each unit; the last one frees it, so a caller that stopped
 * waiting (ETIMEDOUT) leaves the range to the units still running.
 */
#include "multiprocessing/pool_job.h"
#include "multiprocessing/pool_wire.h"

#include <stdlib.h>
#include <string.h>

typedef struct fjob {
	_Atomic int refs;
	weft__mpe *e;      /* a reference: the range is its arena's */
	weft__mpa_range r; /* inputs at r.at, outputs at r.at + out_off */
	size_t out_off;    /* of the outputs in the range */
	size_t n, chunk, nunits, in_size, out_size;
	int *codes;    /* [nunits], each written before its unit is published */
	size_t *order; /* units in the order they were published */
	_Atomic size_t produced;
	_Atomic uint32_t seq; /* bumped at each unit (futex) */
	_Atomic uint32_t waiters;
	/* The manager's until every unit is published. */
	int first_code;
	char *first_msg;
	/* The async form: the manager copies each chunk's outputs to dest
	 * and ends fut once every unit is released. */
	weft_future *fut;
	char *dest;
	size_t released;
	bool running;   /* fut was moved to running (the first chunk started) */
	bool cancelled; /* fut was cancelled before: no chunk runs, dest is not touched */
} fjob;

typedef struct funit {
	weft__mpu u; /* first */
	fjob *job;
	size_t k; /* the unit's number */
	uint8_t settled[1];
} funit;

static void job_release(fjob *j)
{
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (j->r.size)
		weft__mpa_free(j->e, &j->r);
	weft__mpe_release(j->e);
	free(j->codes);
	free(j->order);
	free(j->first_msg);
	weft_future_release(j->fut);
	free(j);
}

/* ---- the units (the manager thread) -------------------------------------------------------- */

/* The sync form cannot be cancelled; the async form's future can, until
 * its first chunk starts (then it runs, as Python's). */
static bool unit_start(weft__mpu *u, size_t i)
{
	fjob *j = ((funit *)u)->job;
	if (!j->fut || j->running)
		return true;
	if (j->cancelled || weft_future_set_running_or_notify_cancel(j->fut) == WEFT_ECANCELED) {
		j->cancelled = true;
		return false;
	}
	j->running = true;
	return true;
}

static void unit_done(weft__mpu *u, size_t i, int code, const char *msg, const weft_bytes *out)
{
	funit *fu = (funit *)u;
	fjob *j = fu->job;
	j->codes[fu->k] = code;
	if (code && !j->first_code) {
		j->first_code = code;
		j->first_msg = strdup(msg ? msg : weft_strerror(code)); /* NULL: weft_strerror later */
	}
}

/* Publishes the unit to the waiting caller; the seq_cst pair (seq bump
 * here, waiters bump there) makes sure a waiter either sees the new seq
 * in its park or is counted here. */
/* The async form's end of a unit: its outputs go to the caller's array
 * (until a failure: then the rest is not worth copying); the last unit
 * ends the future. */
static void unit_release_async(fjob *j, size_t k)
{
	if (j->cancelled) {
		j->released++; /* the future ended when it was cancelled */
		return;
	}
	if (!j->first_code) {
		size_t base = k * j->chunk, cnt = j->n - base < j->chunk ? j->n - base : j->chunk;
		memcpy(j->dest + base * j->out_size, j->r.at + j->out_off + base * j->out_size,
		       cnt * j->out_size);
	}
	if (++j->released < j->nunits)
		return;
	if (j->first_code)
		weft_future_set_failure(j->fut, j->first_code, "%s",
		                        j->first_msg ? j->first_msg : weft_strerror(j->first_code));
	else
		weft_future_set_result(j->fut, NULL);
}

static void unit_release(weft__mpu *u)
{
	funit *fu = (funit *)u;
	fjob *j = fu->job;
	if (j->fut) {
		unit_release_async(j, fu->k);
		weft__mpu_fini(u);
		free(fu);
		job_release(j);
		return;
	}
	size_t k = atomic_load_explicit(&j->produced, memory_order_relaxed);
	j->order[k] = fu->k;
	atomic_store_explicit(&j->produced, k + 1, memory_order_release);
	atomic_fetch_add(&j->seq, 1);
	if (atomic_load(&j->waiters))
		weft__wake(&j->seq, INT32_MAX, WEFT__PRIVATE);
	weft__mpu_fini(u);
	free(fu);
	job_release(j);
}

static const weft__mpu_ops unit_ops = {unit_start, unit_done, unit_release, NULL};

/* ---- the caller's side ---------------------------------------------------------------------- */

/* Cuts the job into units, one request each, and queues them all (or
 * none). Errors of the engine, ENOMEM. */
static int submit(fjob *j, const weft_task *t, double timeout)
{
	weft__mpu **us = calloc(j->nunits, sizeof *us);
	if (!us)
		return WEFT_ENOMEM;
	int rc = 0;
	for (size_t built = 0; built < j->nunits && !rc; built++) {
		size_t base = built * j->chunk, cnt = j->n - base < j->chunk ? j->n - base : j->chunk;
		funit *fu = calloc(1, sizeof *fu);
		if (!fu) {
			rc = WEFT_ENOMEM;
			break;
		}
		fu->job = j;
		fu->k = built;
		if ((rc = weft__mpu_init(&fu->u, &unit_ops, t, 1, timeout, fu->settled))) {
			free(fu);
			break;
		}
		us[built] = &fu->u;
		mpw_fixed d = {
		    .in_off = j->r.off + base * j->in_size,
		    .out_off = j->r.off + j->out_off + base * j->out_size,
		    .count = cnt,
		    .in_size = j->in_size,
		    .out_size = j->out_size,
		    .map_size = j->r.map_size,
		    .first = base,
		};
		mpw_req h;
		memcpy(&h, fu->u.req.data, sizeof h);
		h.flags |= MPW_FIXED;
		memcpy(fu->u.req.data, &h, sizeof h);
		rc = weft__mpu_add(&fu->u, &d, sizeof d);
	}
	/* Each unit holds the job; taken before any can end. */
	atomic_fetch_add(&j->refs, (int)j->nunits);
	if (!rc)
		rc = weft__mpe_submit_list(j->e, us, j->nunits);
	if (rc) {
		atomic_fetch_sub(&j->refs, (int)j->nunits); /* nothing was queued */
		for (size_t k = 0; k < j->nunits; k++) {
			if (!us[k])
				continue;
			weft__mpu_fini(us[k]);
			free(us[k]); /* the funit: u is its first member */
		}
		if (rc == WEFT_EBROKEN && *weft__mpe_broken_reason(j->e))
			weft_fail(rc, "%s", weft__mpe_broken_reason(j->e));
	}
	free(us);
	return rc;
}

/* Waits up to deadline for every unit, copying each successful chunk's
 * outputs to out as it arrives (until a failure: then the rest is not
 * worth copying). 0, the first failure's code (weft_fail has its
 * message), ETIMEDOUT, ECANCELED. */
static int wait_units(fjob *j, char *out, int64_t deadline)
{
	const char *res = j->r.at + j->out_off;
	bool failed = false;
	for (size_t got = 0; got < j->nunits;) {
		/* seq before produced: see unit_release. */
		uint32_t s = atomic_load(&j->seq);
		size_t avail = atomic_load_explicit(&j->produced, memory_order_acquire);
		if (got == avail) {
			atomic_fetch_add(&j->waiters, 1);
			int rc = weft__park(&j->seq, s, WEFT__PRIVATE, deadline);
			atomic_fetch_sub(&j->waiters, 1);
			if (rc)
				return rc;
			continue;
		}
		for (; got < avail; got++) {
			size_t k = j->order[got];
			failed |= j->codes[k] != 0;
			if (failed)
				continue;
			size_t base = k * j->chunk, cnt = j->n - base < j->chunk ? j->n - base : j->chunk;
			memcpy(out + base * j->out_size, res + base * j->out_size, cnt * j->out_size);
		}
	}
	/* Every unit is published, so the manager wrote first_code before. */
	if (j->first_code)
		weft_fail(j->first_code, "%s", j->first_msg ? j->first_msg : weft_strerror(j->first_code));
	return j->first_code;
}

/* The checks, the job, the copy in and the submission, common to both
 * forms: 0 with *out the job (NULL for an empty map), or an error. */
static int start(weft_pool *p, fjob **out, weft_task_fn fn, const void *in, size_t in_size, size_t n,
                 void *dest, size_t out_size, const weft_pool_map_opts *opts, bool async)
{
	weft_pool_map_opts o = opts ? *opts : (weft_pool_map_opts){0};
	*out = NULL;
	if (!p || !fn || !in_size || !out_size || (n && (!in || !dest)) || o.callback || o.error_callback ||
	    !weft__mpe_timeout_ok(o.timeout))
		return WEFT_EINVAL;
	/* Both arrays, side by side in the arena, with room to align. */
	if (n > (SIZE_MAX / 2 - 64) / in_size || n > (SIZE_MAX / 2 - 64) / out_size)
		return WEFT_EINVAL;
	const weft_task *t = weft_task_find(fn);
	if (!t)
		return WEFT_EINVAL; /* a worker finds a task by its registration */
	weft__mpe *e = weft__pool_engine(p);
	if (weft__mpe_foreign(e))
		return WEFT_EBROKEN;
	if (!n && !async)
		return 0; /* as weft_pool_map: an empty map is done at once */
	fjob *j = calloc(1, sizeof *j);
	if (!j)
		return WEFT_ENOMEM;
	atomic_init(&j->refs, 1);
	weft__mpe_retain(e);
	j->e = e;
	if (async && weft_future_new(&j->fut)) {
		job_release(j);
		return WEFT_ENOMEM;
	}
	if (!n) {
		weft_future_set_result(j->fut, NULL);
		*out = j;
		return 0;
	}
	j->n = n;
	j->in_size = in_size;
	j->out_size = out_size;
	j->dest = async ? dest : NULL;
	j->chunk = o.chunksize ? o.chunksize : weft__pjob_default_chunk(n, weft_pool_processes(p));
	j->nunits = n / j->chunk + (n % j->chunk != 0);
	j->out_off = (n * in_size + 63) & ~(size_t)63;
	int rc = (j->codes = calloc(j->nunits, sizeof *j->codes)) &&
	                 (j->order = calloc(j->nunits, sizeof *j->order))
	             ? weft__mpa_alloc(e, j->out_off + n * out_size, &j->r)
	             : WEFT_ENOMEM;
	if (!rc) {
		memcpy(j->r.at, in, n * in_size);
		rc = submit(j, t, weft__pool_timeout(p, o.timeout));
	}
	if (rc) {
		job_release(j);
		return rc;
	}
	*out = j;
	return 0;
}

int weft_pool_map_fixed(weft_pool *p, weft_task_fn fn, const void *in, size_t in_size, size_t n, void *out,
                        size_t out_size, const weft_pool_map_opts *opts, double timeout)
{
	if (!weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	fjob *j;
	int rc = start(p, &j, fn, in, in_size, n, out, out_size, opts, false);
	if (rc || !j)
		return rc;
	int64_t deadline;
	weft__deadline(timeout, &deadline); /* checked above */
	rc = wait_units(j, out, deadline);
	job_release(j);
	return rc;
}

int weft_pool_map_fixed_async(weft_pool *p, weft_future **out, weft_task_fn fn, const void *in,
                              size_t in_size, size_t n, void *dest, size_t out_size,
                              const weft_pool_map_opts *opts)
{
	if (!out)
		return WEFT_EINVAL;
	fjob *j;
	int rc = start(p, &j, fn, in, in_size, n, dest, out_size, opts, true);
	if (rc)
		return rc;
	weft_future_retain(j->fut);
	*out = j->fut;
	job_release(j);
	return 0;
}
