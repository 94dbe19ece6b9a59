/* weft/multiprocessing/process.h - processes (multiprocessing.Process).
 *
 * Included by <weft/multiprocessing.h>; see that header for the module's
 * overview. A process runs a task (weft/task.h) with a bytes argument:
 *
 *   weft_process *p;
 *   weft_process_start(&p, &(weft_process_opts){.target = work, .arg = "x", .arg_len = 1});
 *   weft_process_join(p, WEFT_FOREVER);
 *   int code; weft_process_exitcode(p, &code);
 *   weft_process_free(p);
 *
 * Start methods: WEFT_START_FORK (the default) forks the caller; the child
 * runs the target in a copy of the parent's memory and then _exit()s; its
 * SIGTERM handler is reset to the default so that terminate() ends it.
 * WEFT_START_SPAWN re-executes the program (/proc/self/exe): the child's
 * copy of libweft finds the request in an inherited descriptor, runs the
 * named task as soon as it is registered -- before main, which never runs in
 * the child -- and _exit()s. The task must therefore be registered with
 * WEFT_TASK in the program or a library it links (not one it dlopen()s);
 * constructors of the program that run after the task's own WEFT_TASK line
 * may not have run yet when it starts. Descriptors are not inherited by a
 * spawned child except those listed in pass_fds.
 *
 * Exit codes, as Python's: 0 when the task returns 0; 1 when it fails (a
 * negative return, as an uncaught exception; the failure's name and message
 * are printed on stderr as Python prints the traceback); n & 255 when it
 * returns n > 0 (sys.exit(n)); -signal when a signal killed it.
 *
 * At normal exit (exit() or return from main) the parent terminates its
 * daemon children and then joins all of its other children, as Python's
 * atexit handler does. A daemon process may not start children.
 *
 * Thread-safety: every function is thread-safe; a handle may be joined from
 * several threads at once.
 */
#ifndef WEFT_MULTIPROCESSING_PROCESS_H
#define WEFT_MULTIPROCESSING_PROCESS_H

#include <sys/types.h>
#include <weft/common.h>
#include <weft/error.h>
#include <weft/task.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_process weft_process;

typedef enum weft_start_method {
	WEFT_START_FORK = 0, /* Python's 'fork' */
	WEFT_START_SPAWN = 1 /* Python's 'spawn': re-execute the program */
} weft_start_method;

/* Process(...) keyword arguments. Zero fields are Python's defaults. */
typedef struct weft_process_opts {
	weft_task_fn target;     /* the function to run, or NULL with task */
	const char *task;        /* or the registered task's name */
	const void *arg;         /* bytes handed to the task */
	size_t arg_len;          /* (arg may be NULL when arg_len is 0) */
	const char *name;        /* default "Process-N" (N counts per parent) */
	bool daemon;             /* default: false */
	weft_start_method start; /* default: fork */
	const int *pass_fds;     /* spawn only: descriptors the child keeps, */
	size_t n_pass_fds;       /* at the same numbers */
} weft_process_opts;

/* Starts a child running the target (Process(...).start()). With neither
 * target nor task the child does nothing and exits 0. For spawn, the target
 * must be a task registered before main. EINVAL (out or opts NULL, target
 * and task both set, unknown task, fn not registered for spawn, bad fd),
 * ESTATE (called from a daemon process), EAGAIN/ENOMEM (fork failed). */
WEFT_EXTERN int weft_process_start(weft_process **out, const weft_process_opts *opts);

/* Waits until the process ends (Process.join). 0 once it has ended,
 * ETIMEDOUT, ECANCELED, EINVAL (NULL, bad timeout), EDEADLK (the current
 * process's own handle). The parent's handle may be joined too. */
WEFT_EXTERN int weft_process_join(weft_process *p, double timeout);

/* true while the process runs (Process.is_alive); false for NULL. */
WEFT_EXTERN bool weft_process_is_alive(weft_process *p);

/* The pid (Process.pid / ident); -1 for NULL. */
WEFT_EXTERN pid_t weft_process_pid(const weft_process *p);

/* The name (Process.name); "" for NULL. Valid while p is. */
WEFT_EXTERN const char *weft_process_name(const weft_process *p);

/* Process.daemon; false for NULL. */
WEFT_EXTERN bool weft_process_daemon(const weft_process *p);

/* Process.exitcode: stores the code (see above) once the child has ended.
 * ESTATE while it runs (Python's None) or for a handle that is not a child
 * of this process; EINVAL (NULL). */
WEFT_EXTERN int weft_process_exitcode(weft_process *p, int *code);

/* The sentinel (Process.sentinel): a descriptor that becomes readable when
 * the process ends (a pidfd), for poll(2) or weft_mp_wait. Owned by p.
 * EINVAL (NULL), ESTATE (the current process's handle). */
WEFT_EXTERN int weft_process_sentinel(const weft_process *p);

/* Sends SIGTERM / SIGKILL (Process.terminate / kill). Does nothing once the
 * child has ended. EINVAL (NULL), EPERM (not a child of this process). */
WEFT_EXTERN int weft_process_terminate(weft_process *p);
WEFT_EXTERN int weft_process_kill(weft_process *p);

/* Process.close: frees the handle of a process that has ended. EBUSY (it
 * still runs; nothing is freed), EINVAL (NULL). */
WEFT_EXTERN int weft_process_close(weft_process *p);

/* Drops the caller's handle, whether or not the child still runs (as
 * dropping the last Python reference: the child goes on, is reaped by
 * active_children and joined or terminated at exit). NULL is ignored; the
 * handles of the current and parent processes are never freed. */
WEFT_EXTERN void weft_process_free(weft_process *p);

/* Takes another reference to a handle (released with weft_process_free).
 * EINVAL (NULL). */
WEFT_EXTERN int weft_process_retain(weft_process *p);

/* The current process (current_process()): a borrowed handle, named
 * "MainProcess" in the main program. Never NULL. */
WEFT_EXTERN weft_process *weft_process_current(void);

/* The parent (parent_process()): a borrowed handle whose join and is_alive
 * follow the parent; NULL in the main program. */
WEFT_EXTERN weft_process *weft_process_parent(void);

/* active_children(): reaps children that have ended, then stores in *count
 * how many still run and in out[0..min(cap, count)) a new reference to each
 * (free them with weft_process_free). out may be NULL when cap is 0.
 * EINVAL (count NULL, out NULL with cap > 0). */
WEFT_EXTERN int weft_process_active_children(weft_process **out, size_t cap, size_t *count);

/* cpu_count(): the CPUs this process may run on (>= 1). */
WEFT_EXTERN int weft_mp_cpu_count(void);

/* multiprocessing.connection.wait: waits until at least one of fds (process
 * sentinels, connection filenos, any pollable descriptor) is ready to read
 * or has hung up. Sets ready[i] (when ready is not NULL) and returns how
 * many are ready (> 0). ETIMEDOUT, ECANCELED, EINVAL (fds NULL with n > 0,
 * bad timeout, n too large), EBADF (a closed descriptor). */
WEFT_EXTERN int weft_mp_wait(const int *fds, size_t n, bool *ready, double timeout);

#ifdef __cplusplus
}
#endif
#endif
