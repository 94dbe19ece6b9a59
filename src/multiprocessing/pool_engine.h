/* src/multiprocessing/pool_engine.h - the worker-process engine behind
 * Pool and ProcessPoolExecutor (internal, weft__mpe_*).
 *
 * One engine serves both front ends. It owns N worker processes (forked
 * by its fork server, pool_zygote.c), each with a connection of its own,
 * and a manager thread that multiplexes them: it sends units of work,
 * reads results, learns of deaths from the fork server, enforces per-task
 * timeouts and replaces workers that crashed, were killed, timed out or
 * reached max_tasks_per_child.
 *
 * A unit (weft__mpu) is what a worker runs as one request: a task and
 * n >= 1 inputs (a chunk of a map, or one call). The front end embeds the
 * unit in its own record, fills it with weft__mpu_init/_add and hands it
 * to weft__mpe_submit; from then on the engine calls the unit's ops, always
 * on the manager thread and never with an engine lock held:
 *   start(u, i)   once per item, when the unit is first sent to a worker:
 *                 false means the item was cancelled and must not run;
 *   done(u, i, …) once per item that started, with its outcome (code 0 and
 *                 the output, lent: it points into the worker's reply and
 *                 is valid during the call only, so the front end copies
 *                 what it keeps, where it wants it; or a failure code and
 *                 message);
 *                 items that will never run (the pool was shut down with
 *                 cancel, terminated or broken) get done() with that code
 *                 whether or not start() was called (u->started says);
 *   release(u)    once, after every item is settled: free the unit.
 * Items of a unit run in order on one worker. When a worker dies, the item
 * it was running fails (WEFT_EBROKEN, or WEFT_ETIMEDOUT when the engine
 * killed it for its timeout) and the items after it go back to the front
 * of the queue, to run on another worker.
 *
 * Lifetime: the engine is reference counted; the front end holds one and
 * the manager thread another until it has ended.
 * Fork: an engine belongs to the process that made it. Every descriptor it
 * owns is closed in any forked child (pthread_atfork), so a worker holds
 * only its own end, and the workers see EOF when the parent goes away.
 */
#ifndef WEFT_MP_POOL_ENGINE_H
#define WEFT_MP_POOL_ENGINE_H

#include "multiprocessing/mp.h"

typedef struct weft__mpe weft__mpe;
typedef struct weft__mpu weft__mpu;

typedef struct weft__mpu_ops {
	bool (*start)(weft__mpu *u, size_t i);
	void (*done)(weft__mpu *u, size_t i, int code, const char *msg, const weft_bytes *out);
	void (*release)(weft__mpu *u);
	/* Optional (weft__mpe_cancel_running): the item of u whose future
	 * is f, or SIZE_MAX. */
	size_t (*find)(const weft__mpu *u, const weft_future *f);
} weft__mpu_ops;

struct weft__mpu {
	weft__mpu *next; /* the engine's queue */
	const weft__mpu_ops *ops;
	const weft_task *task;
	size_t n;        /* items */
	size_t nsettled; /* items with an outcome (manager thread) */
	bool started;    /* start() was called for every item */
	unsigned deaths; /* workers that died with it unfinished, blaming none of its items */
	double timeout;  /* seconds per item; 0 = none */
	weft_bytes req;  /* the request message (pool_wire.h) */
	size_t reqcap;   /* bytes allocated for req */
	uint8_t *settled;
};

/* A per-task timeout (Pool's task_timeout and per-call timeout, the
 * executor's task_timeout): 0 (none) or positive seconds up to 1e9 (past
 * that the nanosecond deadline would overflow); NaN, negative values and
 * WEFT_FOREVER are refused. */
static inline bool weft__mpe_timeout_ok(double t)
{
	return t == 0 || (t > 0 && t <= 1e9);
}

/* Prepares u for n items of task t with a per-item timeout (0 = none).
 * settled is n zeroed bytes the caller allocated with u (one allocation
 * per unit). EINVAL (n == 0 or >= 2^32, t NULL, bad timeout), ENOMEM.
 * Free with weft__mpu_fini. */
int weft__mpu_init(weft__mpu *u, const weft__mpu_ops *ops, const weft_task *t, size_t n, double timeout,
                   uint8_t *settled);

/* Appends the next item's input (copied). ENOMEM. */
int weft__mpu_add(weft__mpu *u, const void *data, size_t len);

/* Appends the next item's input packed from args[0..nargs) (weft_args_pack's
 * format). ENOMEM. */
int weft__mpu_add_packed(weft__mpu *u, const weft_bytes *args, size_t nargs);

/* Frees what init and add allocated (not u itself). */
void weft__mpu_fini(weft__mpu *u);

/* Engine options: zero fields are defaults. */
typedef struct weft__mpe_opts {
	int workers;                   /* >= 1 */
	long max_tasks;                /* units per worker before it is replaced; 0 = no limit */
	int (*initializer)(void *arg); /* runs first in every worker */
	void *initarg;
	bool daemon;         /* Pool's workers are daemonic, as Python's */
	const char *name;    /* worker names are "<name>-<n>" */
	bool exit_terminate; /* at exit: terminate (Pool) rather than drain and join */
} weft__mpe_opts;

/* A new engine with one reference. EINVAL, ENOMEM, EAGAIN (no thread). */
int weft__mpe_new(weft__mpe **out, const weft__mpe_opts *o);

/* Starts the manager thread and the workers now (Pool does; executors
 * start at the first submission). EAGAIN, ENOMEM. */
int weft__mpe_start(weft__mpe *e);

void weft__mpe_retain(weft__mpe *e);
void weft__mpe_release(weft__mpe *e);

/* Queues a unit (the engine owns it from now on, on success only).
 * ESHUTDOWN (closed), EBROKEN (an initializer failed, or a forked child),
 * EAGAIN/ENOMEM (the manager thread could not be started). */
int weft__mpe_submit(weft__mpe *e, weft__mpu *u);

/* As weft__mpe_submit for several units, queued together. */
int weft__mpe_submit_list(weft__mpe *e, weft__mpu **us, size_t n);

/* No more submissions (ESHUTDOWN). With cancel, the items not yet sent to
 * a worker end with WEFT_ECANCELED. The workers exit once the queued work
 * is done. Idempotent. */
void weft__mpe_close(weft__mpe *e, bool cancel);

/* Asks the manager to cancel the item whose future is f (ops->find
 * names it): if a worker is running it, that worker is killed and
 * replaced and the item ends with WEFT_ECANCELED; back in the queue, it
 * ends so now; sent to a worker but not started, it is left to run (f
 * ends cancelled anyway). Does not block (f's cancel_running hook calls it under
 * f's lock); holds a reference to f until the manager has looked. */
void weft__mpe_cancel_running(weft__mpe *e, weft_future *f);

/* Closes, kills every worker (SIGKILL) and ends every unfinished item
 * with WEFT_ECANCELED. */
void weft__mpe_terminate(weft__mpe *e);

/* Waits until the manager has ended (after close/terminate: every worker
 * has exited and been reaped). 0, ETIMEDOUT, ECANCELED, EDEADLK (called
 * on the manager thread, e.g. from a done callback). */
int weft__mpe_join(weft__mpe *e, double timeout);

/* true while the calling thread is e's manager. */
bool weft__mpe_on_manager(const weft__mpe *e);

/* true when e was made by another process (a forked child's copy). */
bool weft__mpe_foreign(const weft__mpe *e);

/* The pids of the live workers: stores min(cap, count) of them. */
int weft__mpe_pids(weft__mpe *e, pid_t *out, size_t cap, size_t *count);

/* Why the pool broke ("" if it did not); valid while e is. */
const char *weft__mpe_broken_reason(weft__mpe *e);

/* For tests and docs: the worker count. */
int weft__mpe_workers(const weft__mpe *e);

/* ---- the arena (pool_arena.c) ----------------------------------------------------------------- */

/* A range of the engine's arena, a shared file every worker maps: off is
 * its offset in the file, at where the calling process sees it (stable
 * until the engine is freed), map_size how much of the file a worker must
 * map to reach it. */
typedef struct weft__mpa_range {
	size_t off, size, map_size;
	char *at;
} weft__mpa_range;

/* Reserves size (> 0) bytes of the arena, growing it as needed.
 * ENOMEM (no room, or no arena: also its creation's error). */
int weft__mpa_alloc(weft__mpe *e, size_t size, weft__mpa_range *r);

/* Gives a range back. When none is in use, the memory past the first
 * few MiB goes back to the system. */
void weft__mpa_free(weft__mpe *e, const weft__mpa_range *r);

/* The packed-arguments format (weft_args_pack): a u64 count, then per
 * argument a u64 length and the bytes. */
size_t weft__args_size(const weft_bytes *args, size_t nargs);
void weft__args_write(char *dst, const weft_bytes *args, size_t nargs);

#endif
