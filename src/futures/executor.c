/* The generic executor functions: argument checks, futures, dispatch to the
 * engine's ops (executor.h). */
#include "futures/pool.h"

void weft__executor_init(weft_executor *ex, const weft__executor_ops *ops)
{
	ex->ops = ops;
	atomic_init(&ex->refs, 1);
	atomic_init(&ex->freed, false);
	atomic_init(&ex->shut, false);
}

void weft__executor_retain(weft_executor *ex)
{
	atomic_fetch_add_explicit(&ex->refs, 1, memory_order_relaxed);
}

void weft__executor_release(weft_executor *ex)
{
	if (atomic_fetch_sub_explicit(&ex->refs, 1, memory_order_acq_rel) == 1)
		ex->ops->destroy(ex);
}

/* A future for an engine: two references, the caller's and the engine's. */
static int new_pair(weft_future **f)
{
	*f = weft__future_alloc(2);
	return *f ? 0 : WEFT_ENOMEM;
}

int weft_executor_submit(weft_executor *ex, weft_future **out, void *(*fn)(void *), void *arg)
{
	/* The thread pool has a path of its own for its common case, which
	 * falls back on weft__executor_submit_generic. */
	if (weft__likely(ex && ex->ops == &weft__pool_ops))
		return weft__pool_submit_call(ex, out, fn, arg);
	return weft__executor_submit_generic(ex, out, fn, arg);
}

int weft__executor_submit_generic(weft_executor *ex, weft_future **out, void *(*fn)(void *), void *arg)
{
	if (!ex || !out || !fn)
		return WEFT_EINVAL;
	if (!ex->ops->submit)
		return WEFT_ENOTSUP;
	weft_future *f;
	if (new_pair(&f))
		return WEFT_ENOMEM;
	int rc = ex->ops->submit(ex, f, fn, arg);
	if (rc) {
		weft__future_drop_pair(f);
		return rc;
	}
	*out = f;
	return 0;
}

int weft_executor_submit_task(weft_executor *ex, weft_future **out, weft_task_fn fn, const void *data,
                              size_t len)
{
	if (!ex || !out || !fn || (!data && len))
		return WEFT_EINVAL;
	weft_future *f;
	if (new_pair(&f))
		return WEFT_ENOMEM;
	int rc = ex->ops->submit_task(ex, f, fn, data, len);
	if (rc) {
		weft__future_drop_pair(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* Submits n byte tasks as one unit (map's chunks) on engines that can, or
 * one by one; fs receives the futures (the caller's references). */
int weft__executor_submit_chunk(weft_executor *ex, weft_future **fs, weft_task_fn fn, const weft_bytes *in,
                                size_t n)
{
	if (n > 1 && ex->ops->submit_task_chunk) {
		for (size_t i = 0; i < n; i++) {
			if (new_pair(&fs[i])) {
				while (i--)
					weft__future_drop_pair(fs[i]);
				return WEFT_ENOMEM;
			}
		}
		int rc = ex->ops->submit_task_chunk(ex, fs, fn, in, n);
		if (rc)
			for (size_t i = 0; i < n; i++)
				weft__future_drop_pair(fs[i]);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = weft_executor_submit_task(ex, &fs[i], fn, in[i].data, in[i].len);
		if (rc) {
			while (i--) {
				weft_future_cancel(fs[i]);
				weft_future_release(fs[i]);
			}
			return rc;
		}
	}
	return 0;
}

int weft_executor_shutdown(weft_executor *ex, bool wait, bool cancel_futures)
{
	if (!ex)
		return WEFT_EINVAL;
	atomic_store(&ex->shut, true);
	return ex->ops->shutdown(ex, wait, cancel_futures);
}

void weft_executor_free(weft_executor *ex)
{
	if (!ex || weft__executor_is_default(ex))
		return;
	if (atomic_exchange(&ex->freed, true))
		return;
	/* `with` exits with shutdown(wait=True); after an explicit shutdown
	 * (perhaps wait=false) the user's word stands. */
	if (!atomic_load(&ex->shut))
		ex->ops->shutdown(ex, true, false);
	weft__executor_release(ex);
}
