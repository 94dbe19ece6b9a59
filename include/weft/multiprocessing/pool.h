/* weft/multiprocessing/pool.h - process pools (multiprocessing.Pool).
 *
 * Included by <weft/multiprocessing.h>. A Pool runs named byte tasks
 * (weft/task.h) in forked worker processes:
 *
 *   weft_pool *p;
 *   weft_pool_new(&p, &(weft_pool_opts){.processes = 4});
 *   weft_bytes in[3] = ..., out[3];
 *   weft_pool_map(p, square, in, 3, out, NULL, WEFT_FOREVER);   // p.map(f, xs)
 *   weft_pool_free(p);                                           // `with` exit
 *
 *   Python                                weft
 *   Pool(processes, initializer,          weft_pool_new(&p, &(weft_pool_opts){...})
 *        initargs, maxtasksperchild)
 *   p.apply(f, args)                      weft_pool_apply(p, f, in, len, &out, timeout)
 *   p.apply_async(f, args, cb, err_cb)    weft_pool_apply_async(p, &fut, f, in, len, &opts)
 *   p.map(f, xs, chunksize)               weft_pool_map(p, f, xs, n, results, &opts, timeout)
 *   p.map_async(f, xs, ...)               weft_pool_map_async(p, &fut, f, xs, n, results, &opts)
 *   p.starmap(f, [(a, b), ...])           weft_pool_starmap(p, f, args, n, nargs, results, ...)
 *   p.map(f, numbers) (C arrays)          weft_pool_map_fixed(p, f, in, in_size, n, out, out_size, ...)
 *   p.map_async(f, numbers) (C arrays)    weft_pool_map_fixed_async(p, &fut, f, in, in_size, n, out, ...)
 *   p.imap(f, xs) / imap_unordered        weft_pool_imap / _unordered + weft_pool_iter_next
 *   AsyncResult.get(timeout) / ready()    weft_future_result_bytes / weft_future_done
 *   p.close(); p.join(); p.terminate()    weft_pool_close / _join / _terminate
 *
 * Arguments and results are bytes. Python's tuples of arguments become one
 * input: weft_args_pack packs several byte strings into one, and the task
 * reads them back with weft_args_get; starmap packs each row of an n x
 * nargs array that way, so starmap(f, rows) is map(f, packed rows).
 *
 * Chunks: map, map_async and starmap send chunksize inputs to a worker in
 * one message; 0 picks Python's rule (len / (4 * processes), rounded up).
 * imap and imap_unordered default to 1, as Python's. map_fixed and
 * map_fixed_async (arrays of fixed-size records) chunk as map does, but
 * their records stay in memory the workers share with the pool: a chunk's
 * message only names them, and no result is allocated.
 *
 * Beyond Python:
 *  - A worker that dies (segfault, abort, SIGKILL) fails only the call it
 *    was running, with WEFT_EBROKEN and the signal in the message; the
 *    worker is replaced and the pool keeps serving (Python's Pool hangs).
 *    Other calls of the same chunk still run; calls that had finished on
 *    that worker but whose results it had not sent yet run again, which
 *    only happens when it was killed by SIGKILL (a crash signal makes the
 *    worker send its finished results first).
 *  - Per-call timeouts (opts.timeout, or the pool's task_timeout): a call
 *    that runs longer has its worker killed and replaced and fails with
 *    WEFT_ETIMEDOUT; the others are unaffected.
 *  - A failing initializer breaks the pool (calls fail with WEFT_EBROKEN,
 *    new ones return it) instead of respawning workers forever; workers
 *    that die before they are ready are retried twice, then the pool
 *    breaks too.
 *  - weft_pool_terminate and weft_pool_free end every unfinished call
 *    with WEFT_ECANCELED, so nobody waits forever on a terminated pool.
 * The futures of apply_async and map_async cannot cancel a running call
 * (weft_future_cancel_running returns WEFT_ENOTSUP; Python's AsyncResult
 * cannot cancel at all): ProcessPoolExecutor's futures can.
 * Differences: map_async's future (and the results array) is done once
 * every call has ended, also after a failure (Python's MapResult is ready
 * at the first failure): the pool writes into the caller's array until
 * then. A failed map reports the first failure that arrived.
 *
 * Callbacks (callback, error_callback) run on the pool's manager thread
 * with no pool lock held, before the future is done (as Python's result
 * handler thread); like Python's they should return quickly, since they
 * hold up the pool's other results.
 * Thread-safety: every function is thread-safe, except that an iterator
 * belongs to one thread at a time.
 * Workers: forked, when the pool is made, by a single-threaded fork server
 * that the calling thread forks (so no worker inherits a lock another
 * thread held); replacements come from the same server, so every worker is
 * a copy of the program as it was when the pool was made. The initializer
 * and the tasks are functions of the program.
 * Fork: a pool belongs to the process that made it: in a forked child its
 * functions return WEFT_EBROKEN. At exit, a pool still alive is terminated
 * (as Python's finalizer does).
 */
#ifndef WEFT_MULTIPROCESSING_POOL_H
#define WEFT_MULTIPROCESSING_POOL_H

#include <sys/types.h>
#include <weft/common.h>
#include <weft/error.h>
#include <weft/futures.h>
#include <weft/task.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_pool weft_pool;

/* Pool(...) keyword arguments (NULL = all defaults). */
typedef struct weft_pool_opts {
	int processes; /* 0 = the CPUs this process may use */
	/* Runs first in every worker; a failure (negative return or
	 * weft_fail) breaks the pool. */
	int (*initializer)(void *initarg);
	void *initarg;
	int maxtasksperchild; /* calls (chunks) per worker before it is replaced; 0 = no limit */
	double task_timeout;  /* beyond Python: seconds a call may run; 0 = no limit */
} weft_pool_opts;

/* Starts a pool and its workers. EINVAL (out NULL, a negative count, bad
 * task_timeout), ESTATE (called in a daemonic process, such as another
 * pool's worker: Python's "daemonic processes are not allowed to have
 * children"), ENOMEM, EAGAIN. */
WEFT_EXTERN int weft_pool_new(weft_pool **out, const weft_pool_opts *opts);

/* apply_async keyword arguments (NULL = none). */
typedef struct weft_pool_apply_opts {
	void (*callback)(const void *data, size_t len, void *arg);    /* with the result */
	void (*error_callback)(int code, const char *msg, void *arg); /* with the failure */
	void *arg;
	double timeout; /* beyond Python: this call's limit; 0 = the pool's task_timeout */
} weft_pool_apply_opts;

/* Python's apply: runs fn on a copy of data[0..len) in a worker and waits up
 * to timeout for it. 0 with the output in *out (replaced; the caller frees
 * it; out may be NULL); the call's failure code (its message is then
 * weft_last_failure_message()); ETIMEDOUT or ECANCELED when the wait ended
 * first (the call goes on); ESHUTDOWN (closed), EBROKEN, EINVAL (NULL pool
 * or fn, data NULL with len > 0, fn not a WEFT_TASK, bad timeout), ENOMEM. */
WEFT_EXTERN int weft_pool_apply(weft_pool *p, weft_task_fn fn, const void *data, size_t len, weft_bytes *out,
                                double timeout);

/* Python's apply_async: a future for the call (its result is the output
 * bytes: weft_future_result_bytes); release it with weft_future_release.
 * Errors as weft_pool_apply, EINVAL also for out NULL or a bad timeout. */
WEFT_EXTERN int weft_pool_apply_async(weft_pool *p, weft_future **out, weft_task_fn fn, const void *data,
                                      size_t len, const weft_pool_apply_opts *opts);

/* map / starmap / imap keyword arguments (NULL = defaults). */
typedef struct weft_pool_map_opts {
	size_t chunksize; /* 0 = Python's default for the function */
	/* map_async / starmap_async only: callback gets every result (in input
	 * order) once all succeeded; error_callback the first failure. */
	void (*callback)(const weft_bytes *results, size_t n, void *arg);
	void (*error_callback)(int code, const char *msg, void *arg);
	void *arg;
	double timeout; /* beyond Python: each call's limit; 0 = the pool's task_timeout */
} weft_pool_map_opts;

/* Python's map: fn over inputs[0..n) (copied now), waiting up to timeout.
 * 0 with results[i] the output for inputs[i] (the caller frees each); on
 * failure the first failure's code (message: weft_last_failure_message())
 * and results all {NULL, 0}; ETIMEDOUT / ECANCELED when the wait ended
 * first (the calls go on; results stay {NULL, 0}); ESHUTDOWN, EBROKEN,
 * EINVAL (NULL pool or fn, inputs or results NULL with n > 0, an input
 * with NULL data and len > 0, fn not a WEFT_TASK, bad timeout), ENOMEM. */
WEFT_EXTERN int weft_pool_map(weft_pool *p, weft_task_fn fn, const weft_bytes *inputs, size_t n,
                              weft_bytes *results, const weft_pool_map_opts *opts, double timeout);

/* Python's map_async: returns at once with a future that is done when
 * every call has ended; its result is empty, the outputs are in
 * results[0..n), which must stay valid until then (the pool fills them
 * when all calls succeeded; on failure they stay {NULL, 0} and the future
 * fails with the first failure). Errors as weft_pool_map, EINVAL also for
 * out NULL. */
WEFT_EXTERN int weft_pool_map_async(weft_pool *p, weft_future **out, weft_task_fn fn,
                                    const weft_bytes *inputs, size_t n, weft_bytes *results,
                                    const weft_pool_map_opts *opts);

/* Python's starmap: as map over n calls whose input is the packed row
 * args[i * nargs .. i * nargs + nargs) (weft_args_pack's format; the task
 * reads argument j with weft_args_get). EINVAL also for args NULL with
 * n * nargs > 0. */
WEFT_EXTERN int weft_pool_starmap(weft_pool *p, weft_task_fn fn, const weft_bytes *args, size_t n,
                                  size_t nargs, weft_bytes *results, const weft_pool_map_opts *opts,
                                  double timeout);

/* Python's starmap_async: as map_async over packed rows. */
WEFT_EXTERN int weft_pool_starmap_async(weft_pool *p, weft_future **out, weft_task_fn fn,
                                        const weft_bytes *args, size_t n, size_t nargs, weft_bytes *results,
                                        const weft_pool_map_opts *opts);

/* Python's map over an array of fixed-size records, the C form of
 * p.map(f, list_of_numbers): fn runs on each input record
 * in + i * in_size (in_size bytes) and must produce exactly out_size
 * bytes, which land at out + i * out_size. Same tasks, chunking (0 =
 * Python's rule), per-call timeout, crash and shutdown behaviour as
 * weft_pool_map; the records travel through memory the workers share
 * with the pool, not through messages, and no result is allocated.
 * Returns 0 with out[0..n) filled; the first failure's code (message:
 * weft_last_failure_message(), which names the record; a chunk stops at
 * its first failure), EINVAL with "item i: ..." when call i's output was
 * not out_size bytes, EBROKEN when a worker died in a call (the signal is
 * in the message; the pool replaces it); ETIMEDOUT / ECANCELED when the
 * wait ended first (the calls go on, out is not written any more); on
 * any error out may be partly written. ESHUTDOWN, EBROKEN (pool broken,
 * forked child), EINVAL (NULL p or fn, in or out NULL with n > 0, a zero
 * size, n * size overflowing, callbacks in opts, fn not a WEFT_TASK, bad
 * timeout), ENOMEM. */
WEFT_EXTERN int weft_pool_map_fixed(weft_pool *p, weft_task_fn fn, const void *in, size_t in_size, size_t n,
                                    void *out, size_t out_size, const weft_pool_map_opts *opts,
                                    double timeout);

/* Python's map_async over fixed-size records: returns at once with a
 * future that is done when every call has ended (its result is empty;
 * it fails with the first failure, as weft_pool_map_fixed returns it).
 * The pool writes the outputs into out[0..n) until then, so out must stay
 * valid that long; on failure out may be partly written. Errors as
 * weft_pool_map_fixed, EINVAL also for fut NULL. */
WEFT_EXTERN int weft_pool_map_fixed_async(weft_pool *p, weft_future **fut, weft_task_fn fn, const void *in,
                                          size_t in_size, size_t n, void *out, size_t out_size,
                                          const weft_pool_map_opts *opts);

/* ---- imap / imap_unordered ------------------------------------------------------- */

typedef struct weft_pool_iter weft_pool_iter;

/* Python's imap: an iterator over fn's results in input order, each
 * available as soon as its call (and those before it) ended. Inputs are
 * copied now. Errors as weft_pool_map, EINVAL also for out NULL. */
WEFT_EXTERN int weft_pool_imap(weft_pool *p, weft_pool_iter **out, weft_task_fn fn, const weft_bytes *inputs,
                               size_t n, const weft_pool_map_opts *opts);

/* Python's imap_unordered: results in the order the calls end. */
WEFT_EXTERN int weft_pool_imap_unordered(weft_pool *p, weft_pool_iter **out, weft_task_fn fn,
                                         const weft_bytes *inputs, size_t n, const weft_pool_map_opts *opts);

/* The next result, waiting up to timeout: 0 with the output moved into *out
 * (replaced; may be NULL to drop it) and its input's index in *index (may
 * be NULL); the call's failure code (weft_pool_iter_error_message has its
 * text; iteration goes on with the next call); EEMPTY when every result
 * was yielded (StopIteration); ETIMEDOUT, ECANCELED (nothing is consumed);
 * EINVAL (NULL it, bad timeout). */
WEFT_EXTERN int weft_pool_iter_next(weft_pool_iter *it, weft_bytes *out, size_t *index, double timeout);

/* The message of the last failure weft_pool_iter_next returned, or "".
 * Valid until the iterator is freed. */
WEFT_EXTERN const char *weft_pool_iter_error_message(const weft_pool_iter *it);

/* Frees the iterator; calls still running finish on their own. NULL is
 * ignored. */
WEFT_EXTERN void weft_pool_iter_free(weft_pool_iter *it);

/* ---- the pool's life ---------------------------------------------------------------- */

/* Python's close: no more calls (ESHUTDOWN); the workers exit once the
 * queued calls are done. EINVAL (NULL), EBROKEN (forked child). */
WEFT_EXTERN int weft_pool_close(weft_pool *p);

/* Python's terminate: kills the workers now; every unfinished call fails
 * with WEFT_ECANCELED. Returns once the workers are gone (not from a
 * callback, where it returns at once). EINVAL, EBROKEN (forked child). */
WEFT_EXTERN int weft_pool_terminate(weft_pool *p);

/* Python's join: waits up to timeout until every worker has exited, after
 * close or terminate. ESTATE (still running: Python's ValueError),
 * ETIMEDOUT, ECANCELED, EDEADLK (from a callback), EINVAL, EBROKEN. */
WEFT_EXTERN int weft_pool_join(weft_pool *p, double timeout);

/* Python's `with Pool() as p:` exit: terminate, wait for the workers, free
 * the pool. Futures and iterators from it stay valid. NULL is ignored. */
WEFT_EXTERN void weft_pool_free(weft_pool *p);

/* The number of worker processes; 0 for NULL. */
WEFT_EXTERN int weft_pool_processes(const weft_pool *p);

/* The pids of the live workers: min(cap, count) of them in out, the number
 * in *count. EINVAL (p or count NULL, out NULL with cap > 0). */
WEFT_EXTERN int weft_pool_pids(weft_pool *p, pid_t *out, size_t cap, size_t *count);

/* ---- packed arguments (starmap) --------------------------------------------------------- */

/* Packs args[0..nargs) into one byte string (out, replaced; the caller
 * frees it). EINVAL (out NULL, args NULL with nargs > 0, an argument with
 * NULL data and len > 0), ENOMEM. */
WEFT_EXTERN int weft_args_pack(weft_bytes *out, const weft_bytes *args, size_t nargs);

/* The number of arguments packed in in[0..len). EINVAL (NULL, malformed). */
WEFT_EXTERN int weft_args_count(const void *in, size_t len, size_t *nargs);

/* Argument i of a packed input: *arg points into in (NULL when empty) and
 * *arg_len is its length. EINVAL (NULL, malformed, i out of range). */
WEFT_EXTERN int weft_args_get(const void *in, size_t len, size_t i, const void **arg, size_t *arg_len);

#ifdef __cplusplus
}
#endif
#endif
