/* weft/futures.h - futures and executors: Python's concurrent.futures.
 *
 * A future (Future) is the result of a call that runs elsewhere: pending,
 * then running, then finished (with a result or a failure) -- or cancelled
 * while still pending. An executor (Executor) runs calls and hands out
 * futures. One interface (submit, map, shutdown) covers every executor:
 * the work-stealing thread pool here, the process pool
 * (weft/multiprocessing.h) and the MPI backend, so code moves between
 * them by changing the line that makes the executor.
 *
 *   Python                                 weft
 *   ThreadPoolExecutor(max_workers=3)      weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers =
 * 3}) ex.submit(fn, arg)                     weft_executor_submit(ex, &fut, fn, arg) ex.submit(task, data)
 * weft_executor_submit_task(ex, &fut, task, data, len) fut.result(timeout) weft_future_result(fut, timeout,
 * &res) ex.map(fn, items)                      weft_executor_map(ex, &it, fn, items, n, NULL) + weft_map_next
 *   wait(fs, timeout, FIRST_COMPLETED)     weft_wait(fs, n, timeout, WEFT_FIRST_COMPLETED, &sets)
 *   as_completed(fs, timeout)              weft_as_completed_new + weft_as_completed_next
 *   ex.shutdown(wait, cancel_futures)      weft_executor_shutdown(ex, wait, cancel_futures)
 *   with ex: ...                           weft_executor_free(ex)   (shuts down with wait=True)
 *
 * Two kinds of calls: in-process calls `void *fn(void *arg)` (thread pool
 * only; other executors return WEFT_ENOTSUP), and named byte tasks
 * (weft/task.h) whose result is bytes, which every executor runs. A call
 * fails the way Python raises: weft_fail(code, fmt, ...) inside it records
 * a code and a message in its future (weft_future_result returns the code,
 * weft_future_error_message gives the text). A byte task also fails by
 * returning a negative code.
 *
 * Beyond Python: weft_future_cancel_running cancels a call that is already
 * running (each pool task runs in a cancel scope of its own, weft/cancel.h,
 * so its blocking weft calls return WEFT_ECANCELED); cancel() makes a future
 * done at once for every waiter (Python's wait() misses futures cancelled
 * while still queued); the pool steals work (a deque per worker, tasks
 * submitted from a worker stay on it) and wakes at most one sleeping
 * worker per submission; task groups (fork-join without futures, first
 * failure cancels the rest) and parallel_for / parallel_reduce run on the
 * same pools -- by default on the compute pool, one worker per CPU.
 *
 * Contexts (weft/contextvars.h): submit runs the call in a copy of the
 * submitter's context taken at submit time (as asyncio tasks and to_thread;
 * unlike loop.run_in_executor). Callbacks run in the context of the thread
 * that completes the future.
 *
 * Thread-safety: every function is thread-safe. Futures are reference
 * counted: a future from submit belongs to the caller, who drops it with
 * weft_future_release; the executor holds its own reference until the call
 * ends. Done callbacks run without any internal lock held: a callback may
 * call any weft function, including submit and shutdown on the executor
 * that ran the future.
 * Exit: as Python's interpreter shutdown, exit() (or returning from main)
 * shuts down every thread pool still alive -- also those shut down without
 * waiting -- and joins its workers: calls already queued run first, later
 * submissions return WEFT_ESHUTDOWN. _exit() joins nothing.
 * Fork: a thread pool belongs to the process that made it; in a forked
 * child its functions return WEFT_EBROKEN (weft_executor_free only forgets
 * it) and weft_executor_default makes a fresh pool. Futures that were done
 * before the fork can be read in the child.
 */
#ifndef WEFT_FUTURES_H
#define WEFT_FUTURES_H

#include <weft/common.h>
#include <weft/error.h>
#include <weft/task.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_future weft_future;
typedef struct weft_executor weft_executor;

/* ---- futures ------------------------------------------------------------------ */

/* A done callback: called once with the future when it finishes or is
 * cancelled. Returning a negative code (or calling weft_fail) reports the
 * failure on stderr -- as Python logs a raising callback -- and the other
 * callbacks still run. The future is borrowed for the call. */
typedef int (*weft_future_callback)(weft_future *f, void *arg);

/* A new pending future with one reference, for executor implementations
 * and tests (Python's Future()). EINVAL (out NULL), ENOMEM. */
WEFT_EXTERN int weft_future_new(weft_future **out);

/* Takes another reference. EINVAL (NULL). */
WEFT_EXTERN int weft_future_retain(weft_future *f);

/* Drops a reference; the last one frees the future (callbacks never run
 * are dropped). NULL is ignored. */
WEFT_EXTERN void weft_future_release(weft_future *f);

/* Cancels f if it is still pending: waiters wake with WEFT_ECANCELED and
 * the callbacks run (in the calling thread). Returns 0 when f is (now or
 * already) cancelled; WEFT_ESTATE when it is running or finished (Python's
 * False); EINVAL (NULL). */
WEFT_EXTERN int weft_future_cancel(weft_future *f);

/* Beyond Python: like cancel, and if f is running, cancels the call's
 * cancel scope so its blocking weft calls return WEFT_ECANCELED; f ends
 * cancelled when the call returns, whatever it returns. Returns 0 when f is
 * or will end cancelled; WEFT_ESTATE when it has finished; WEFT_ENOTSUP when
 * its executor cannot cancel running calls; EINVAL (NULL). */
WEFT_EXTERN int weft_future_cancel_running(weft_future *f);

/* State tests, as Python's cancelled(), running(), done(); false for NULL.
 * done() is true once f finished or was cancelled. */
WEFT_EXTERN bool weft_future_cancelled(const weft_future *f);
WEFT_EXTERN bool weft_future_running(const weft_future *f);
WEFT_EXTERN bool weft_future_done(const weft_future *f);

/* Waits up to timeout for f and stores the call's result in *result (may
 * be NULL; a byte task's pointer result is NULL). Returns 0, the call's
 * failure code, WEFT_ECANCELED (f cancelled, or the caller's cancel scope
 * fired), WEFT_ETIMEDOUT (f still pending or running), EINVAL (NULL f, bad
 * timeout). A call may itself fail with WEFT_ETIMEDOUT or WEFT_ECANCELED:
 * weft_future_done and weft_future_cancelled tell them apart. */
WEFT_EXTERN int weft_future_result(weft_future *f, double timeout, void **result);

/* As weft_future_result, for byte tasks: on 0, *data and *len describe the
 * task's output (borrowed: valid while the caller holds a reference to f;
 * NULL and 0 when empty). data and len may be NULL. */
WEFT_EXTERN int weft_future_result_bytes(weft_future *f, double timeout, const void **data, size_t *len);

/* Python's exception(): waits up to timeout; returns 0 once f finished and
 * stores its failure code (0 when the call succeeded) in *code (may be
 * NULL); WEFT_ECANCELED (cancelled), WEFT_ETIMEDOUT, EINVAL as above. */
WEFT_EXTERN int weft_future_exception(weft_future *f, double timeout, int *code);

/* The failure's message: what the call passed to weft_fail, else the code's
 * weft_strerror; "cancelled" for a cancelled future; "" while pending or
 * running, after success, or for NULL. Valid while f is referenced. */
WEFT_EXTERN const char *weft_future_error_message(const weft_future *f);

/* Adds a done callback (Python's add_done_callback). Callbacks run in the
 * order added, in the thread that completes f; if f is already done, fn runs
 * at once in the calling thread. EINVAL (NULL f or fn), ENOMEM. */
WEFT_EXTERN int weft_future_add_done_callback(weft_future *f, weft_future_callback fn, void *arg);

/* ---- the implementer's side (executors, tests) ----------------------------------- */

/* These complete futures made with weft_future_new. The thread pool's
 * futures are the pool's to complete: on them every call here returns
 * WEFT_ESTATE. */

/* Python's set_running_or_notify_cancel: 0 and f is now running; or
 * WEFT_ECANCELED when f was cancelled (do not run the call); WEFT_ESTATE
 * when f is already running or done; EINVAL (NULL). */
WEFT_EXTERN int weft_future_set_running_or_notify_cancel(weft_future *f);

/* Completes f with a result, wakes its waiters and runs its callbacks.
 * WEFT_ESTATE when f is already done (Python's InvalidStateError); EINVAL. */
WEFT_EXTERN int weft_future_set_result(weft_future *f, void *result);

/* Completes f with bytes, taking over out's buffer (out is zeroed; on error
 * the caller keeps it). WEFT_ESTATE (already done), EINVAL (NULL). */
WEFT_EXTERN int weft_future_set_result_bytes(weft_future *f, weft_bytes *out);

/* Completes f with a failure: code < 0 and a printf-style message (fmt may
 * be NULL). WEFT_ESTATE (already done), EINVAL (NULL f, code >= 0), ENOMEM
 * (the message could not be kept; f still fails with code). */
WEFT_EXTERN int weft_future_set_failure(weft_future *f, int code, const char *fmt, ...) WEFT_PRINTF(3, 4);

/* ---- waiting for many ---------------------------------------------------------------- */

typedef enum weft_return_when {
	WEFT_ALL_COMPLETED = 0,   /* Python's default */
	WEFT_FIRST_COMPLETED = 1, /* a future finished or was cancelled */
	WEFT_FIRST_EXCEPTION = 2, /* a future failed (not cancelled); else as ALL_COMPLETED */
} weft_return_when;

/* The caller's arrays that weft_wait fills. done and not_done may be NULL
 * (only the counts are wanted); otherwise each has room for n futures.
 * Futures are borrowed from the caller's array, each listed once. */
typedef struct weft_wait_sets {
	weft_future **done;
	size_t ndone;
	weft_future **not_done;
	size_t nnot_done;
} weft_wait_sets;

/* Python's wait(fs, timeout, return_when): waits until the condition holds
 * or timeout passes, then sorts the futures into done and not done (sets
 * may be NULL). Duplicates count once. Returns 0 when the condition holds,
 * WEFT_ETIMEDOUT when the time ran out first (Python returns the sets
 * either way; they are filled here too), WEFT_ECANCELED when the caller's
 * cancel scope fired; EINVAL (fs NULL with n > 0, a NULL future, bad
 * timeout or return_when), ENOMEM. */
WEFT_EXTERN int weft_wait(weft_future *const *fs, size_t n, double timeout, weft_return_when return_when,
                          weft_wait_sets *sets);

/* Python's as_completed(fs, timeout): an iterator over the futures in the
 * order they finish (already-done ones first); duplicates are yielded once.
 * The timeout counts from this call for the whole iteration. The iterator
 * holds a reference to every future until it is freed.
 * EINVAL (out NULL, fs NULL with n > 0, a NULL future, bad timeout), ENOMEM. */
typedef struct weft_as_completed weft_as_completed;
WEFT_EXTERN int weft_as_completed_new(weft_as_completed **out, weft_future *const *fs, size_t n,
                                      double timeout);

/* The next future to finish (borrowed, valid until the iterator is freed).
 * Returns 0; WEFT_EEMPTY when every future was yielded (StopIteration);
 * WEFT_ETIMEDOUT when the time is up first (again on later calls);
 * WEFT_ECANCELED when the caller's cancel scope fired; EINVAL (NULL). */
WEFT_EXTERN int weft_as_completed_next(weft_as_completed *it, weft_future **f);

/* How many futures have not been yielded yet; 0 for NULL. */
WEFT_EXTERN size_t weft_as_completed_pending(const weft_as_completed *it);

/* Frees the iterator and drops its references. NULL is ignored. */
WEFT_EXTERN void weft_as_completed_free(weft_as_completed *it);

/* ---- executors --------------------------------------------------------------------- */

/* Submits fn(arg) (an in-process call) and returns its future in *out.
 * WEFT_ESHUTDOWN after shutdown, WEFT_EBROKEN when the pool is broken (a
 * failed initializer, or a forked child), WEFT_ENOTSUP on executors that
 * run calls in other processes, EINVAL (NULL), ENOMEM, EAGAIN (no worker
 * thread could be started). */
WEFT_EXTERN int weft_executor_submit(weft_executor *ex, weft_future **out, void *(*fn)(void *arg), void *arg);

/* Submits the named byte task fn on a copy of data[0..len) (taken before
 * returning); the future's result is the task's output bytes
 * (weft_future_result_bytes). Every executor runs it; executors that cross
 * a process boundary need fn registered with WEFT_TASK and return EINVAL
 * otherwise. Errors as weft_executor_submit. */
WEFT_EXTERN int weft_executor_submit_task(weft_executor *ex, weft_future **out, weft_task_fn fn,
                                          const void *data, size_t len);

/* Python's shutdown(wait, cancel_futures): no new submissions after it
 * (WEFT_ESHUTDOWN); with cancel_futures, calls not yet started are
 * cancelled; with wait, returns once every call has ended and the workers
 * are gone. Safe to call again, and from a callback or a call running on
 * this executor (it then waits for the other workers only).
 * EINVAL (NULL), EBROKEN (forked child). */
WEFT_EXTERN int weft_executor_shutdown(weft_executor *ex, bool wait, bool cancel_futures);

/* Python's `with executor:` exit: shutdown(wait=true) unless already shut
 * down, then frees the executor once its last worker is gone. The process
 * default executor is never freed: passing it does nothing. NULL ignored. */
WEFT_EXTERN void weft_executor_free(weft_executor *ex);

/* The process-wide default thread pool (Python-sized: min(32, cores + 4)
 * workers, started lazily), for helpers such as the CLI and to_thread.
 * Joined at exit like every pool. ENOMEM, EINVAL (out NULL). */
WEFT_EXTERN int weft_executor_default(weft_executor **out);

/* ---- map ------------------------------------------------------------------------- */

/* Keyword arguments of map (NULL = all defaults). */
typedef struct weft_map_opts {
	/* Seconds for the whole iteration, counted from the map call. 0 or
	 * WEFT_FOREVER: no limit (Python's None; there is no "poll" map). */
	double timeout;
	/* Items per unit of work sent to executors that batch (process
	 * pools); the thread pool ignores it, as Python's does. 0 = 1. */
	size_t chunksize;
	/* Python 3.14's buffersize: at most this many calls submitted ahead of
	 * the results consumed, so a huge input never fills memory with
	 * futures. 0 = no limit (everything is submitted at once). */
	size_t buffersize;
} weft_map_opts;

typedef struct weft_map weft_map;

/* Python's map(fn, args): calls fn(args[i]) on the executor and yields the
 * results in input order. args must stay valid until the iterator is
 * exhausted or freed. Every call is submitted now (up to buffersize). On a
 * submission error the calls already submitted are cancelled (those that
 * started finish on their own) and the error is returned.
 * EINVAL (NULL out/fn, args NULL with n > 0, bad timeout), and the errors
 * of weft_executor_submit. */
WEFT_EXTERN int weft_executor_map(weft_executor *ex, weft_map **out, void *(*fn)(void *arg),
                                  void *const *args, size_t n, const weft_map_opts *opts);

/* map for a named byte task over inputs[0..n) (each input is copied when it
 * is submitted; the array must stay valid while items remain unsubmitted).
 * Results are read with weft_map_next_bytes. Errors as weft_executor_map. */
WEFT_EXTERN int weft_executor_map_task(weft_executor *ex, weft_map **out, weft_task_fn fn,
                                       const weft_bytes *inputs, size_t n, const weft_map_opts *opts);

/* The next result in input order: 0 and *result (may be NULL); the call's
 * failure code for a failed call (iteration goes on with the next item,
 * weft_map_error_message has the text); WEFT_EEMPTY once every result was
 * yielded (StopIteration); WEFT_ETIMEDOUT when the map's time is up, or
 * WEFT_ECANCELED when the caller's cancel scope fired -- both end the
 * iteration: the calls not yet started are cancelled and later calls return
 * WEFT_EEMPTY. EINVAL (NULL). */
WEFT_EXTERN int weft_map_next(weft_map *m, void **result);

/* As weft_map_next for weft_executor_map_task: on 0 the task's output is
 * moved into *out (which the caller frees with weft_bytes_free; out may be
 * NULL to drop it). */
WEFT_EXTERN int weft_map_next_bytes(weft_map *m, weft_bytes *out);

/* The message of the last failed call that weft_map_next returned, or "".
 * Valid until the next weft_map_next or weft_map_free. */
WEFT_EXTERN const char *weft_map_error_message(const weft_map *m);

/* Python's close(): cancels the calls not yet started and frees the
 * iterator (running calls finish on their own). NULL is ignored. */
WEFT_EXTERN void weft_map_free(weft_map *m);

/* ---- the thread pool ------------------------------------------------------------- */

/* Keyword arguments of the thread pool (NULL = all defaults). */
typedef struct weft_thread_pool_opts {
	/* At most this many worker threads; 0 = min(32, cores + 4). They are
	 * started when work arrives and no worker is idle, and reused. */
	int max_workers;
	/* Worker names are "<prefix>_<n>" (as Python's; the kernel keeps 15
	 * characters); NULL or "" = "ThreadPoolExecutor-<k>". */
	const char *thread_name_prefix;
	/* Runs first in every worker. If it fails (returns a negative code or
	 * calls weft_fail) the pool is broken: calls not yet started fail with
	 * WEFT_EBROKEN and later submissions return WEFT_EBROKEN. */
	int (*initializer)(void *initarg);
	void *initarg;
} weft_thread_pool_opts;

/* A work-stealing thread pool (Python's ThreadPoolExecutor). EINVAL (out
 * NULL, max_workers < 0), ENOMEM. */
WEFT_EXTERN int weft_thread_pool_new(weft_executor **out, const weft_thread_pool_opts *opts);

/* The number of worker threads the pool has started so far (Python's
 * len(executor._threads)); 0 for NULL or another kind of executor. */
WEFT_EXTERN int weft_thread_pool_threads(const weft_executor *ex);

/* The pool's max_workers; 0 for NULL or another kind of executor. */
WEFT_EXTERN int weft_thread_pool_max_workers(const weft_executor *ex);

/* ---- task groups (beyond Python: structured fork-join) ---------------------------- */

/* A group of small tasks on a thread pool, spawned from anywhere (also from
 * inside its own tasks) and waited for together, without a future per
 * task. The first task to fail cancels the group: tasks not yet started
 * are skipped and running ones see WEFT_ECANCELED from their blocking weft
 * calls (each task runs in a cancel scope of the group's token, a child of
 * the creator's current token). */
typedef struct weft_task_group weft_task_group;

/* A new group on ex, a thread pool (NULL: the compute pool, one worker per
 * CPU). EINVAL (out NULL), ENOTSUP (ex is not a thread pool), ENOMEM. */
WEFT_EXTERN int weft_task_group_new(weft_task_group **out, weft_executor *ex);

/* Runs fn(arg) on the pool, in a copy of the caller's context. fn returns
 * 0 or a negative code (best through weft_fail, which adds a message).
 * ECANCELED when the group is cancelled (failed), ESHUTDOWN / EBROKEN from
 * the pool, EINVAL (NULL), ENOMEM, EAGAIN (2^31 tasks pending). */
WEFT_EXTERN int weft_task_group_spawn(weft_task_group *g, int (*fn)(void *arg), void *arg);

/* Waits until every spawned task has ended. A worker of the group's pool
 * runs other tasks while it waits (so nested groups cannot starve the
 * pool). Returns 0; the first failure's code; WEFT_ECANCELED when the group
 * was cancelled and no task failed; WEFT_ETIMEDOUT (tasks still running)
 * or WEFT_ECANCELED (the caller's scope fired) with the group unchanged;
 * EINVAL (NULL, bad timeout). A group that was not cancelled can be used
 * again afterwards. */
WEFT_EXTERN int weft_task_group_wait(weft_task_group *g, double timeout);

/* Cancels the group (as a failure does, but recording none). EINVAL. */
WEFT_EXTERN int weft_task_group_cancel(weft_task_group *g);

/* The first failure's message ("" if none; valid until the group is
 * freed) and the number of failures after it. */
WEFT_EXTERN const char *weft_task_group_error_message(const weft_task_group *g);
WEFT_EXTERN long weft_task_group_other_failures(const weft_task_group *g);

/* Waits for every task (not interruptible: tasks refer to the group), then
 * frees the group. Not from inside one of its tasks. NULL is ignored. */
WEFT_EXTERN void weft_task_group_free(weft_task_group *g);

/* ---- parallel loops (TBB's parallel_for / parallel_reduce, OpenMP's for) ------------ */

/* Keyword arguments of the parallel loops (NULL = all defaults). */
typedef struct weft_parallel_opts {
	weft_executor *executor; /* a thread pool; NULL = the compute pool */
	/* Iterations per call of body and smallest piece worth splitting;
	 * 0 = chosen from the range and the number of workers. */
	size_t grain;
	/* If set, receives the first failure's message (truncated to fit,
	 * always terminated; "" when the loop did not fail). */
	char *error_buffer;
	size_t error_buffer_size;
} weft_parallel_opts;

/* Calls body(lo, hi, arg) over pieces [lo, hi) that cover [begin, end)
 * exactly once, in parallel. Pieces are split lazily: a worker splits off
 * half of what it has left only when its deque is empty (idle workers
 * stole the rest), so a balanced loop costs a few splits and an unbalanced
 * one still spreads out. body returns 0 or a negative code (weft_fail);
 * the first failure stops the loop (pieces not started are skipped,
 * running ones see WEFT_ECANCELED in blocking calls) and is returned.
 * Every call of body runs in a fresh copy of the caller's context, and in
 * a cancel scope under the caller's, so cancelling the caller -- or its scope's deadline
 * -- stops the loop: WEFT_ECANCELED / WEFT_ETIMEDOUT once every running
 * piece has returned. From inside a task of the same pool the caller's
 * worker takes part. EINVAL (body NULL), ENOTSUP (executor is not a
 * thread pool), ENOMEM, ESHUTDOWN / EBROKEN. */
WEFT_EXTERN int weft_parallel_for(size_t begin, size_t end, int (*body)(size_t lo, size_t hi, void *arg),
                                  void *arg, const weft_parallel_opts *opts);

/* A parallel reduction over [begin, end): every piece starts from a copy
 * of the `size` bytes at result (the identity) and body(lo, hi, acc, arg)
 * folds its iterations into acc; combine(acc, other, arg) folds the
 * accumulator of the following piece into acc. Pieces are combined in
 * range order, so combine need only be associative. On success *result
 * holds the total; on failure it is unchanged. Errors as weft_parallel_for,
 * EINVAL also for result NULL or size 0. */
WEFT_EXTERN int weft_parallel_reduce(size_t begin, size_t end, void *result, size_t size,
                                     int (*body)(size_t lo, size_t hi, void *acc, void *arg),
                                     void (*combine)(void *acc, const void *other, void *arg), void *arg,
                                     const weft_parallel_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
