/* Pool.imap and imap_unordered: iterators over a job whose items are
 * published one by one by the manager thread (pool_job.c), and the packed
 * arguments of starmap. */
#include "multiprocessing/pool_job.h"

#include <stdlib.h>
#include <string.h>

struct weft_pool_iter {
	pjob *job;
	bool unordered;
	size_t next;     /* results yielded so far */
	const char *msg; /* the last failure's, borrowed from the job */
};

static int imap(weft_pool *p, weft_pool_iter **out, weft_task_fn fn, const weft_bytes *in, size_t n,
                const weft_pool_map_opts *opts, bool unordered)
{
	weft_pool_map_opts o = opts ? *opts : (weft_pool_map_opts){0};
	if (!p || !out || !fn || (n && !in) || !weft__mpe_timeout_ok(o.timeout) || o.callback ||
	    o.error_callback)
		return WEFT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!in[i].data && in[i].len)
			return WEFT_EINVAL;
	if (!weft_task_find(fn))
		return WEFT_EINVAL;
	weft_pool_iter *it = calloc(1, sizeof *it);
	if (!it)
		return WEFT_ENOMEM;
	int rc = weft__pjob_new(&it->job, JOB_ITER, n);
	if (rc) {
		free(it);
		return rc;
	}
	it->unordered = unordered;
	rc = weft__pjob_submit(weft__pool_engine(p), it->job, fn, in, NULL, 0, o.chunksize ? o.chunksize : 1,
	                       weft__pool_timeout(p, o.timeout));
	if (rc) {
		weft_pool_iter_free(it);
		return rc;
	}
	*out = it;
	return 0;
}

int weft_pool_imap(weft_pool *p, weft_pool_iter **out, weft_task_fn fn, const weft_bytes *inputs, size_t n,
                   const weft_pool_map_opts *opts)
{
	return imap(p, out, fn, inputs, n, opts, false);
}

int weft_pool_imap_unordered(weft_pool *p, weft_pool_iter **out, weft_task_fn fn, const weft_bytes *inputs,
                             size_t n, const weft_pool_map_opts *opts)
{
	return imap(p, out, fn, inputs, n, opts, true);
}

/* The index of the next result if it is published, else SIZE_MAX. */
static size_t ready_index(const weft_pool_iter *it)
{
	pjob *j = it->job;
	if (it->unordered)
		return it->next < atomic_load_explicit(&j->produced, memory_order_acquire)
		           ? j->order[it->next]
		           : SIZE_MAX;
	return atomic_load_explicit(&j->ready[it->next], memory_order_acquire) ? it->next : SIZE_MAX;
}

int weft_pool_iter_next(weft_pool_iter *it, weft_bytes *out, size_t *index, double timeout)
{
	int64_t deadline;
	if (!it || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	pjob *j = it->job;
	if (it->next == j->n)
		return WEFT_EEMPTY;
	size_t idx;
	for (;;) {
		/* seq before the flag: a publish after this load changes seq,
		 * so the park below returns at once (pool_job.c's publish). */
		uint32_t s = atomic_load(&j->seq);
		if ((idx = ready_index(it)) != SIZE_MAX)
			break;
		atomic_fetch_add(&j->waiters, 1);
		int rc = weft__park(&j->seq, s, WEFT__PRIVATE, deadline);
		atomic_fetch_sub(&j->waiters, 1);
		if (rc)
			return rc;
	}
	it->next++;
	if (index)
		*index = idx;
	if (j->codes[idx]) {
		it->msg = j->msgs[idx] ? j->msgs[idx] : weft_strerror(j->codes[idx]);
		return j->codes[idx];
	}
	if (out) {
		weft_bytes_free(out);
		*out = j->res[idx];
	} else {
		weft_bytes_free(&j->res[idx]);
	}
	j->res[idx] = (weft_bytes){0};
	return 0;
}

const char *weft_pool_iter_error_message(const weft_pool_iter *it)
{
	return it && it->msg ? it->msg : "";
}

void weft_pool_iter_free(weft_pool_iter *it)
{
	if (!it)
		return;
	weft__pjob_release(it->job);
	free(it);
}

/* ---- packed arguments ------------------------------------------------------------------------ */

int weft_args_pack(weft_bytes *out, const weft_bytes *args, size_t nargs)
{
	if (!out || (!args && nargs))
		return WEFT_EINVAL;
	for (size_t i = 0; i < nargs; i++)
		if (!args[i].data && args[i].len)
			return WEFT_EINVAL;
	size_t len = weft__args_size(args, nargs);
	char *p = malloc(len);
	if (!p)
		return WEFT_ENOMEM;
	weft__args_write(p, args, nargs);
	weft_bytes_free(out);
	out->data = p;
	out->len = len;
	return 0;
}

/* Walks a packed input to argument i (i == count: just validates). */
static int walk(const void *in, size_t len, size_t i, size_t *count, const void **arg, size_t *arg_len)
{
	const char *p = in;
	uint64_t k;
	if (!in || len < sizeof k)
		return WEFT_EINVAL;
	memcpy(&k, p, sizeof k);
	size_t off = sizeof k;
	for (uint64_t a = 0; a < k; a++) {
		uint64_t n;
		if (len - off < sizeof n)
			return WEFT_EINVAL;
		memcpy(&n, p + off, sizeof n);
		off += sizeof n;
		if (n > len - off)
			return WEFT_EINVAL;
		if (a == i) {
			*arg = n ? p + off : NULL;
			*arg_len = n;
		}
		off += n;
	}
	if (off != len || (count == NULL && i >= k))
		return WEFT_EINVAL;
	if (count)
		*count = k;
	return 0;
}

int weft_args_count(const void *in, size_t len, size_t *nargs)
{
	if (!nargs)
		return WEFT_EINVAL;
	const void *a;
	size_t l;
	return walk(in, len, SIZE_MAX, nargs, &a, &l);
}

int weft_args_get(const void *in, size_t len, size_t i, const void **arg, size_t *arg_len)
{
	if (!arg || !arg_len)
		return WEFT_EINVAL;
	return walk(in, len, i, NULL, arg, arg_len);
}
