/* src/futures/executor.h - implementing an executor (internal, weft__).
 *
 * weft_executor is one interface over several engines: the thread pool
 * (src/futures), the process pool (src/multiprocessing) and the MPI backend.
 * An engine embeds struct weft_executor as the first member of its own
 * object, fills an ops table and calls weft__executor_init. The generic
 * functions of weft/futures.h check arguments, make the futures and
 * dispatch here; map, wait and as_completed are generic and work on any
 * engine.
 *
 * The contract for an engine:
 * - submit / submit_task receive a fresh pending future holding one
 *   reference for the engine. On success the engine owns that reference:
 *   it later calls weft_future_set_running_or_notify_cancel (skipping the
 *   call if that returns WEFT_ECANCELED), then completes the future with
 *   weft_future_set_result / _set_result_bytes / _set_failure, and drops
 *   the reference with weft_future_release. On failure it returns a
 *   negative code and must not touch the future again (the caller drops
 *   the reference).
 * - submit (in-process void *fn(void *)) may be NULL: WEFT_ENOTSUP.
 * - submit_task copies data before returning (the caller's buffer may go
 *   away); engines crossing a process boundary find the task's name with
 *   weft_task_find(fn) and return WEFT_EINVAL for unregistered functions.
 * - submit_task_chunk (optional) sends n inputs as one unit of work and
 *   completes each item's future on its own (map's chunksize).
 * - shutdown(wait, cancel_futures) follows Python: idempotent; after it,
 *   submissions return WEFT_ESHUTDOWN; with wait it returns once the
 *   engine's work has ended; it must not deadlock when called from a
 *   done callback that runs on one of the engine's own threads.
 * - destroy frees the engine; called when the last reference goes
 *   (weft_executor_free drops the user's reference after shutdown(wait)).
 *   Engines whose threads outlive the user's reference take references of
 *   their own with weft__executor_retain.
 * - Running calls an engine can cancel: run the future through
 *   weft__future_start with hooks whose cancel_running stops the call;
 *   weft_future_cancel_running then calls it (under the future's lock:
 *   it must not block or call user code).
 */
#ifndef WEFT_FUTURES_EXECUTOR_H
#define WEFT_FUTURES_EXECUTOR_H

#include "core/core.h"

#include <weft/futures.h>

/* A unit of work in an engine's queues. run is called once, with how = 0
 * to run it, or WEFT_ECANCELED / WEFT_EBROKEN when the engine drops it
 * (shutdown with cancel_futures, broken pool): the job then completes its
 * future (or group) with that code instead of running. */
typedef struct weft__job weft__job;
struct weft__job {
	void (*run)(weft__job *job, int how);
};

typedef struct weft__executor_ops {
	const char *kind; /* "thread pool", "process pool", ... */
	int (*submit)(weft_executor *ex, weft_future *f, void *(*fn)(void *), void *arg);
	int (*submit_task)(weft_executor *ex, weft_future *f, weft_task_fn fn, const void *data, size_t len);
	int (*submit_task_chunk)(weft_executor *ex, weft_future *const *fs, weft_task_fn fn,
	                         const weft_bytes *inputs, size_t n);
	int (*shutdown)(weft_executor *ex, bool wait, bool cancel_futures);
	void (*destroy)(weft_executor *ex);
} weft__executor_ops;

struct weft_executor {
	const weft__executor_ops *ops;
	_Atomic int refs;
	_Atomic bool freed; /* weft_executor_free was called */
	_Atomic bool shut;  /* weft_executor_shutdown was called */
};

/* Sets up the base with one reference (the user's). */
void weft__executor_init(weft_executor *ex, const weft__executor_ops *ops);
void weft__executor_retain(weft_executor *ex);
/* The last release calls ops->destroy. */
void weft__executor_release(weft_executor *ex);

/* true for the process-wide executors, which weft_executor_free ignores. */
bool weft__executor_is_default(const weft_executor *ex);

/* weft_executor_submit without an engine's own path (which may fall back
 * on it): checks, a new future, ops->submit. */
int weft__executor_submit_generic(weft_executor *ex, weft_future **out, void *(*fn)(void *), void *arg);

/* Submits n byte tasks (map's chunks) as one unit on engines with
 * submit_task_chunk, else one by one; fs[0..n) receive the futures. */
int weft__executor_submit_chunk(weft_executor *ex, weft_future **fs, weft_task_fn fn, const weft_bytes *in,
                                size_t n);

/* How an engine cancels a call it is running. */
typedef struct weft__future_hooks {
	void (*cancel_running)(weft_future *f, void *impl);
} weft__future_hooks;

/* set_running_or_notify_cancel with hooks for cancel_running (hooks may be
 * NULL), which receive impl (weft__future_set_impl) as their argument.
 * 0: running; WEFT_ECANCELED: cancelled, skip the call; WEFT_ESTATE. */
int weft__future_start(weft_future *f, const weft__future_hooks *hooks, void *impl);

/* One pointer an engine may keep in each future it runs. */
void weft__future_set_impl(weft_future *f, void *impl);
void *weft__future_impl(const weft_future *f);

/* Completes f from a failure record filled by weft_fail (taking over its
 * message) or, when the record is empty, with code (0 = success with
 * result / out). out's buffer is taken over. Returns weft_future_set_*'s
 * result. For engines that run the task in this process. */
int weft__future_complete(weft_future *f, int code, const weft__failure *rec, void *result, weft_bytes *out);

/* A bumped counter after fork() in the child: engines record it at
 * creation and refuse work (WEFT_EBROKEN) in a process that is not theirs. */
extern _Atomic unsigned weft__fork_gen;
static inline unsigned weft__fork_generation(void)
{
	return atomic_load_explicit(&weft__fork_gen, memory_order_relaxed);
}

#endif
