/* src/multiprocessing/pool_job.h - the Pool's jobs (internal to pool.c and
 * pool_iter.c).
 *
 * A job is one apply, map or imap call: n items, cut into units (chunks)
 * for the engine. Items complete on the engine's manager thread
 * (job_item_done); the caller's side reads the outcome through the job's
 * future (apply, map) or through the per-item flags (imap).
 *
 * Lifetime: one reference for the caller (the blocking call, the future's
 * owner, the iterator) and one per unit; the last one frees the job and
 * whatever results nobody took.
 */
#ifndef WEFT_MP_POOL_JOB_H
#define WEFT_MP_POOL_JOB_H

#include "multiprocessing/pool_engine.h"

enum { JOB_APPLY, JOB_MAP, JOB_ITER };

typedef struct pjob {
	_Atomic int refs;
	int kind;
	size_t n;
	weft_bytes *res;  /* [n]: the outputs (map, imap) */
	weft_future *fut; /* apply, map: done when the job is */
	weft_bytes *dest; /* map_async: the caller's array */
	void (*apply_cb)(const void *data, size_t len, void *arg);
	void (*map_cb)(const weft_bytes *results, size_t n, void *arg);
	void (*error_cb)(int code, const char *msg, void *arg);
	void *cb_arg;
	/* The manager's. */
	bool running; /* the future was moved to running */
	size_t remaining;
	int first_code;
	char *first_msg;
	/* map (sync): each unit's outputs go into a buffer of their own
	 * (pchunk records), which the manager publishes in order[] when the
	 * unit is released; the waiting caller copies them into its results,
	 * so the per-item allocations happen on the thread that frees them. */
	struct pchunk *chunks; /* [nchunks] */
	size_t nchunks;
	/* imap: per item, published by ready[i] (release). */
	int *codes;
	char **msgs;
	_Atomic uint8_t *ready;
	size_t *order;           /* indices in the order they ended */
	_Atomic size_t produced; /* entries of order published */
	_Atomic uint32_t seq;    /* bumped at each item (futex) */
	_Atomic uint32_t waiters;
} pjob;

/* A unit's outputs (map, sync): records {u64 index in the unit, u64
 * length, the bytes}, back to back, in buf[0..len). Allocated by the
 * caller's thread, written by the manager until the unit is published,
 * then the caller's again. */
typedef struct pchunk {
	char *buf;
	size_t len, cap;
	size_t base; /* the job's index of the unit's item 0 */
} pchunk;

/* A job of kind for n items, with a future unless kind is JOB_ITER.
 * ENOMEM. */
int weft__pjob_new(pjob **out, int kind, size_t n);
void weft__pjob_release(pjob *j);

/* Cuts items [0, n) into units of chunk items and submits them all (or
 * none). Inputs come from inputs[i], or, when nargs > 0, from the packed
 * row args[i * nargs ..]. timeout is per item. Errors of the engine,
 * EINVAL (fn not a WEFT_TASK), ENOMEM. */
int weft__pjob_submit(weft__mpe *e, pjob *j, weft_task_fn fn, const weft_bytes *inputs,
                      const weft_bytes *args, size_t nargs, size_t chunk, double timeout);

/* Gives j (an async map) its array of outputs. ENOMEM. */
int weft__pjob_results(pjob *j);

/* Makes j (a sync map) collect its outputs per unit (chunks) for the
 * caller to unpack: call before weft__pjob_submit. ENOMEM. */
int weft__pjob_collect(pjob *j, size_t chunk);

/* Waits up to deadline for the map's units and moves their outputs into
 * results[0..n) (each allocated here, by the caller's thread). 0, the
 * first failure's code (weft_fail has its message), ETIMEDOUT, ECANCELED,
 * ENOMEM; on any error results are all {NULL, 0}. */
int weft__pjob_collect_wait(pjob *j, weft_bytes *results, int64_t deadline);

/* Python's default chunksize for map: ceil(n / (4 * workers)). */
size_t weft__pjob_default_chunk(size_t n, int workers);

/* The engine behind a pool (pool.c). */
weft__mpe *weft__pool_engine(const weft_pool *p);
double weft__pool_timeout(const weft_pool *p, double call_timeout);

#endif
