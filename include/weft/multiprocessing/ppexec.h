/* weft/multiprocessing/ppexec.h - the process pool executor
 * (concurrent.futures.ProcessPoolExecutor).
 *
 * Included by <weft/multiprocessing.h>. It implements the executor
 * interface of <weft/futures.h>, so code moves between the thread pool and
 * the process pool by changing the line that makes the executor:
 *
 *   weft_executor *ex;
 *   weft_process_pool_new(&ex, &(weft_process_pool_opts){.max_workers = 4});
 *   weft_future *f;
 *   weft_executor_submit_task(ex, &f, square, &x, sizeof x);   // a WEFT_TASK
 *   const void *r; size_t n;
 *   weft_future_result_bytes(f, WEFT_FOREVER, &r, &n);
 *   weft_future_release(f);
 *   weft_executor_free(ex);                                     // `with` exit
 *
 * Workers are forked by a single-threaded fork server, which the thread
 * submitting the first call forks (as Python's forkserver: no worker
 * inherits a lock another thread held; every worker, replacements too, is a
 * copy of the program at that moment). Every call is a named byte task
 * (weft/task.h): weft_executor_submit (an in-process void *fn(void *))
 * returns WEFT_ENOTSUP, weft_executor_submit_task returns WEFT_EINVAL for a
 * function not registered with WEFT_TASK. weft_executor_map_task's
 * chunksize sends that many items to a worker in one message.
 *
 * Beyond Python:
 *  - A worker that dies (segfault, abort, SIGKILL, _exit) fails only the
 *    call it was running, with WEFT_EBROKEN and a message that names the
 *    signal or exit code; it is replaced and the pool keeps serving. (Python
 *    marks the whole pool broken.)
 *  - task_timeout: a call that runs longer has its worker killed and
 *    replaced; its future fails with WEFT_ETIMEDOUT, other calls are not
 *    affected.
 *  - Many calls are in flight at once: each worker has its own connection
 *    and a window of queued calls, so throughput is not bound by one round
 *    trip per call.
 * As Python: a failing initializer breaks the pool (calls not yet done fail
 * with WEFT_EBROKEN, later submissions return WEFT_EBROKEN); it is not
 * retried (workers that die before they are ready are retried twice). A
 * future moves to running when its call is sent to a worker (then
 * weft_future_cancel fails, as in Python). Beyond Python,
 * weft_future_cancel_running works: a running call has its worker killed
 * and replaced; one sent to a worker but not started yet is left to run
 * there (its result is dropped); either way the future ends cancelled and
 * the other calls are not affected.
 *
 * Thread-safety: every function is thread-safe. Done callbacks run on the
 * pool's manager thread, with no pool lock held; a slow callback delays
 * the pool's other results.
 * Exit: as Python's, exit() shuts down every process pool still alive and
 * waits for its calls and workers. Fork: a pool belongs to the process
 * that made it; in a forked child its functions return WEFT_EBROKEN.
 */
#ifndef WEFT_MULTIPROCESSING_PPEXEC_H
#define WEFT_MULTIPROCESSING_PPEXEC_H

#include <sys/types.h>
#include <weft/common.h>
#include <weft/error.h>
#include <weft/futures.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ProcessPoolExecutor(...) keyword arguments (NULL = all defaults). */
typedef struct weft_process_pool_opts {
	/* Worker processes; 0 = the CPUs this process may use. */
	int max_workers;
	/* Calls (map chunks) a worker runs before it is replaced; 0 = no limit. */
	int max_tasks_per_child;
	/* Runs first in every worker (a function of the program: workers are
	 * forked). If it fails (returns a negative code or calls weft_fail),
	 * the pool is broken. */
	int (*initializer)(void *initarg);
	void *initarg;
	/* Beyond Python: seconds a call may run; 0 = no limit. */
	double task_timeout;
} weft_process_pool_opts;

/* A new process pool executor; no process starts before the first
 * submission. EINVAL (out NULL, max_workers or max_tasks_per_child < 0,
 * bad task_timeout), ENOMEM. */
WEFT_EXTERN int weft_process_pool_new(weft_executor **out, const weft_process_pool_opts *opts);

/* The pool's max_workers; 0 for NULL or another kind of executor. */
WEFT_EXTERN int weft_process_pool_max_workers(const weft_executor *ex);

/* The pids of the pool's live workers (Python's executor._processes):
 * stores min(cap, count) of them in out and the number in *count.
 * EINVAL (ex NULL or not a process pool, count NULL, out NULL with
 * cap > 0). */
WEFT_EXTERN int weft_process_pool_pids(weft_executor *ex, pid_t *out, size_t cap, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
