/* The Pool's jobs (pool_job.h): building them into engine units and
 * completing them item by item on the manager thread. */
#include "multiprocessing/pool_job.h"

#include <stdlib.h>
#include <string.h>

typedef struct punit {
	weft__mpu u; /* first */
	pjob *job;
	size_t base;   /* the job's index of the unit's item 0 */
	pchunk *chunk; /* a collecting map's outputs, or NULL */
	uint8_t settled[];
} punit;

int weft__pjob_new(pjob **out, int kind, size_t n)
{
	pjob *j = calloc(1, sizeof *j);
	if (!j)
		return WEFT_ENOMEM;
	atomic_init(&j->refs, 1);
	j->kind = kind;
	j->n = n;
	j->remaining = n;
	/* A map's outputs: collected per unit (sync) or weft__pjob_results. */
	bool ok = kind != JOB_ITER || (j->res = calloc(n ? n : 1, sizeof *j->res));
	if (ok && kind == JOB_ITER)
		ok = (j->codes = calloc(n ? n : 1, sizeof *j->codes)) &&
		     (j->msgs = calloc(n ? n : 1, sizeof *j->msgs)) &&
		     (j->ready = calloc(n ? n : 1, sizeof *j->ready)) &&
		     (j->order = calloc(n ? n : 1, sizeof *j->order));
	if (ok && kind != JOB_ITER)
		ok = weft_future_new(&j->fut) == 0;
	if (!ok) {
		weft__pjob_release(j);
		return WEFT_ENOMEM;
	}
	*out = j;
	return 0;
}

void weft__pjob_release(pjob *j)
{
	if (!j || atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; j->res && i < j->n; i++)
		weft_bytes_free(&j->res[i]);
	for (size_t i = 0; j->msgs && i < j->n; i++)
		free(j->msgs[i]);
	free(j->res);
	free(j->codes);
	free(j->msgs);
	free((void *)j->ready);
	free(j->order);
	free(j->first_msg);
	for (size_t k = 0; k < j->nchunks; k++)
		free(j->chunks[k].buf);
	free(j->chunks);
	weft_future_release(j->fut);
	free(j);
}

size_t weft__pjob_default_chunk(size_t n, int workers)
{
	size_t per = 4 * (size_t)workers;
	size_t chunk = n / per + (n % per != 0);
	return chunk ? chunk : 1;
}

/* ---- completion (the manager thread) ---------------------------------------------------- */

static const char *text(int code, const char *msg)
{
	return msg ? msg : weft_strerror(code);
}

static void finish_map(pjob *j)
{
	if (!j->first_code) {
		weft_bytes *r = j->res;
		if (j->dest) {
			for (size_t i = 0; i < j->n; i++) {
				j->dest[i] = j->res[i];
				j->res[i] = (weft_bytes){0};
			}
			r = j->dest;
		}
		if (j->map_cb)
			j->map_cb(r, j->n, j->cb_arg);
		weft_future_set_result(j->fut, NULL);
		return;
	}
	if (j->error_cb)
		j->error_cb(j->first_code, text(j->first_code, j->first_msg), j->cb_arg);
	weft_future_set_failure(j->fut, j->first_code, "%s", text(j->first_code, j->first_msg));
}

/* An imap item: publish it, then wake the iterator if it sleeps. The
 * seq_cst pair (seq bump here, waiters bump there) makes sure a waiter
 * either sees the new seq in its park or is counted here. */
static void publish(pjob *j, size_t idx)
{
	atomic_store_explicit(&j->ready[idx], 1, memory_order_release);
	size_t k = atomic_load_explicit(&j->produced, memory_order_relaxed);
	j->order[k] = idx;
	atomic_store_explicit(&j->produced, k + 1, memory_order_release);
	atomic_fetch_add(&j->seq, 1);
	if (atomic_load(&j->waiters))
		weft__wake(&j->seq, INT32_MAX, WEFT__PRIVATE);
}

/* Appends an output to a collecting map's unit buffer. ENOMEM. */
static int collect(pchunk *c, size_t i, const weft_bytes *out)
{
	uint64_t h[2] = {i, out->len};
	size_t need = c->len + sizeof h + out->len;
	if (need > c->cap) {
		size_t cap = need * 2;
		char *p = realloc(c->buf, cap);
		if (!p)
			return WEFT_ENOMEM;
		c->buf = p;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, h, sizeof h);
	if (out->len)
		memcpy(c->buf + c->len + sizeof h, out->data, out->len);
	c->len = need;
	return 0;
}

static void item_done(pjob *j, punit *pu, size_t idx, int code, const char *msg, const weft_bytes *out)
{
	weft_bytes copy = {0};
	if (!code && j->kind != JOB_MAP && out->len && weft_bytes_set(&copy, out->data, out->len))
		code = WEFT_ENOMEM;
	switch (j->kind) {
	case JOB_APPLY:
		/* Python calls the callback before the result is ready. */
		if (!code) {
			if (j->apply_cb)
				j->apply_cb(copy.data, copy.len, j->cb_arg);
			weft_future_set_result_bytes(j->fut, &copy);
		} else {
			if (j->error_cb)
				j->error_cb(code, text(code, msg), j->cb_arg);
			weft_future_set_failure(j->fut, code, "%s", text(code, msg));
		}
		return;
	case JOB_MAP:
		if (!code && pu->chunk)
			code = collect(pu->chunk, idx - pu->base, out);
		else if (!code && out->len && weft_bytes_set(&j->res[idx], out->data, out->len))
			code = WEFT_ENOMEM;
		if (code && !j->first_code) {
			j->first_code = code;
			j->first_msg = msg ? strdup(msg) : NULL;
		}
		if (--j->remaining == 0)
			finish_map(j);
		return;
	default:
		if (!code) {
			j->res[idx] = copy;
		} else {
			j->codes[idx] = code;
			j->msgs[idx] = msg ? strdup(msg) : NULL;
		}
		publish(j, idx);
	}
}

static bool unit_start(weft__mpu *u, size_t i)
{
	pjob *j = ((punit *)u)->job;
	/* The first item moves the future to running; a future cancelled
	 * while pending skips the whole job. The manager alone starts. */
	if (!j->fut || j->running)
		return true;
	if (weft_future_set_running_or_notify_cancel(j->fut) == WEFT_ECANCELED)
		return false;
	j->running = true;
	return true;
}

static void unit_done(weft__mpu *u, size_t i, int code, const char *msg, const weft_bytes *out)
{
	punit *pu = (punit *)u;
	weft_bytes none = {0};
	item_done(pu->job, pu, pu->base + i, code, msg, out ? out : &none);
}

/* A collecting map's unit is settled: hand its outputs to the caller. The
 * seq_cst pair works as publish's. */
static void publish_chunk(pjob *j, pchunk *c)
{
	size_t k = atomic_load_explicit(&j->produced, memory_order_relaxed);
	j->order[k] = (size_t)(c - j->chunks);
	atomic_store_explicit(&j->produced, k + 1, memory_order_release);
	atomic_fetch_add(&j->seq, 1);
	if (atomic_load(&j->waiters))
		weft__wake(&j->seq, INT32_MAX, WEFT__PRIVATE);
}

static void unit_release(weft__mpu *u)
{
	punit *pu = (punit *)u;
	if (pu->chunk)
		publish_chunk(pu->job, pu->chunk);
	weft__pjob_release(pu->job);
	weft__mpu_fini(u);
	free(pu);
}

/* No find: a Pool's futures cannot cancel running calls (no hooks). */
static const weft__mpu_ops unit_ops = {unit_start, unit_done, unit_release, NULL};

/* ---- submission ---------------------------------------------------------------------------- */

static void free_units(weft__mpu **us, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		weft__mpu_fini(us[k]);
		free(us[k]); /* the punit: u is its first member */
	}
	free(us);
}

int weft__pjob_submit(weft__mpe *e, pjob *j, weft_task_fn fn, const weft_bytes *inputs,
                      const weft_bytes *args, size_t nargs, size_t chunk, double timeout)
{
	const weft_task *t = weft_task_find(fn);
	if (!t)
		return WEFT_EINVAL; /* a worker finds a task by its registration */
	size_t n = j->n, nunits = (n + chunk - 1) / chunk;
	if (!nunits)
		return 0;
	weft__mpu **us = calloc(nunits, sizeof *us);
	if (!us)
		return WEFT_ENOMEM;
	int rc = 0;
	size_t built = 0;
	while (built < nunits && !rc) {
		size_t base = built * chunk, cnt = n - base < chunk ? n - base : chunk;
		punit *pu = calloc(1, sizeof *pu + cnt);
		if (!pu) {
			rc = WEFT_ENOMEM;
			break;
		}
		pu->job = j;
		pu->base = base;
		pu->chunk = j->chunks ? &j->chunks[built] : NULL;
		if ((rc = weft__mpu_init(&pu->u, &unit_ops, t, cnt, timeout, pu->settled))) {
			free(pu);
			break;
		}
		us[built++] = &pu->u;
		for (size_t i = base; i < base + cnt && !rc; i++)
			rc = nargs ? weft__mpu_add_packed(&pu->u, args + i * nargs, nargs)
			           : weft__mpu_add(&pu->u, inputs[i].data, inputs[i].len);
	}
	/* Each unit holds the job; taken before any can end. */
	atomic_fetch_add(&j->refs, (int)nunits);
	if (!rc)
		rc = weft__mpe_submit_list(e, us, nunits);
	if (rc) {
		atomic_fetch_sub(&j->refs, (int)nunits); /* nothing was queued */
		free_units(us, built);
		if (rc == WEFT_EBROKEN && *weft__mpe_broken_reason(e))
			weft_fail(rc, "%s", weft__mpe_broken_reason(e)); /* for weft_last_failure_message */
		return rc;
	}
	free(us);
	return 0;
}

int weft__pjob_results(pjob *j)
{
	return (j->res = calloc(j->n ? j->n : 1, sizeof *j->res)) ? 0 : WEFT_ENOMEM;
}

/* ---- a collecting map (the caller's side) ------------------------------------------------ */

/* Room for a small output per item up front; the manager grows it. */
enum { COLLECT_GUESS = 2 * sizeof(uint64_t) + 16 };

int weft__pjob_collect(pjob *j, size_t chunk)
{
	size_t n = (j->n + chunk - 1) / chunk;
	if (!n)
		return 0;
	if (!(j->chunks = calloc(n, sizeof *j->chunks)) || !(j->order = calloc(n, sizeof *j->order)))
		return WEFT_ENOMEM;
	j->nchunks = n;
	for (size_t k = 0; k < n; k++) {
		pchunk *c = &j->chunks[k];
		c->base = k * chunk;
		size_t cnt = j->n - c->base < chunk ? j->n - c->base : chunk;
		if (!(c->buf = malloc(cnt * COLLECT_GUESS)))
			return WEFT_ENOMEM;
		c->cap = cnt * COLLECT_GUESS;
	}
	return 0;
}

static void drop_results(weft_bytes *results, size_t n)
{
	for (size_t i = 0; i < n; i++)
		weft_bytes_free(&results[i]);
}

/* Copies one published unit's outputs into results. ENOMEM. */
static int unpack(pchunk *c, weft_bytes *results)
{
	for (size_t off = 0; off < c->len;) {
		uint64_t h[2];
		memcpy(h, c->buf + off, sizeof h);
		off += sizeof h;
		weft_bytes *r = &results[c->base + h[0]];
		if (h[1]) {
			if (!(r->data = malloc(h[1])))
				return WEFT_ENOMEM;
			memcpy(r->data, c->buf + off, h[1]);
			r->len = h[1];
		}
		off += h[1];
	}
	/* Done with it: freed by the thread that allocated it. */
	free(c->buf);
	c->buf = NULL;
	return 0;
}

int weft__pjob_collect_wait(pjob *j, weft_bytes *results, int64_t deadline)
{
	int rc = 0;
	for (size_t got = 0; got < j->nchunks && !rc;) {
		/* seq before produced: see publish_chunk. */
		uint32_t s = atomic_load(&j->seq);
		size_t avail = atomic_load_explicit(&j->produced, memory_order_acquire);
		if (got == avail) {
			atomic_fetch_add(&j->waiters, 1);
			rc = weft__park(&j->seq, s, WEFT__PRIVATE, deadline);
			atomic_fetch_sub(&j->waiters, 1);
			continue;
		}
		while (got < avail && !rc)
			rc = unpack(&j->chunks[j->order[got++]], results);
	}
	/* Every unit is published, so the manager wrote first_code before. */
	if (!rc && j->first_code) {
		rc = j->first_code;
		weft_fail(rc, "%s", text(rc, j->first_msg));
	}
	if (rc)
		drop_results(results, j->n);
	return rc;
}
