/* weft/threading.h - Python's threading and _thread modules: threads, the
 * thread registry, thread-local storage, timers.
 *
 * A thread runs a target, as threading.Thread(target=f, args=(p,)):
 *
 *   static int work(void *arg) { ...; return 0; }      // or weft_fail(...)
 *   weft_thread t;
 *   weft_thread_start(&t, &(weft_thread_opts){.target = work, .arg = p, .name = "zip"});
 *   int rc = weft_thread_join(&t, WEFT_FOREVER);      // 0, or work's failure code
 *   weft_thread_free(&t);
 *
 * The target returns 0, or a negative code to fail (best through weft_fail,
 * which also records a message): the thread's failure goes to the excepthook
 * (by default a line on stderr) and join returns its code. Positive return
 * values count as success, as Python ignores a target's return value.
 *
 * "Subclass Thread and override run()" is a weft_thread embedded in the
 * caller's struct, started with .run instead of .target; run receives the
 * embedded weft_thread and finds its struct with weft_container_of:
 *
 *   struct zipper { weft_thread thread; const char *in, *out; };
 *   static int zipper_run(weft_thread *self) {
 *           struct zipper *z = weft_container_of(self, struct zipper, thread);
 *           ...
 *   }
 *   struct zipper z = {.in = "data.txt", .out = "data.gz"};
 *   weft_thread_start(&z.thread, &(weft_thread_opts){.run = zipper_run});
 *   weft_thread_join(&z.thread, WEFT_FOREVER);
 *
 * Memory: a weft_thread is a small handle the caller allocates (valid when
 * zeroed: a thread never started); the thread's state is shared and lives
 * as long as a handle or the running thread needs it. weft_thread_free drops
 * the handle, not the thread (a running thread goes on, as when a Python
 * Thread object is dropped). With .run, the caller's struct must outlive
 * the thread.
 *
 * Exit: when main returns or exit() is called, weft joins the non-daemon
 * threads it started before the process ends (Python's interpreter
 * shutdown); daemon threads are abandoned. The join runs as an atexit
 * handler registered when the first non-daemon thread starts, so handlers
 * registered after that run before it, those registered before run after
 * it.
 * _exit() and quick_exit() join nothing.
 *
 * Python names: Thread -> weft_thread + weft_thread_start; start_new_thread
 * -> weft_thread_start_new; get_ident, get_native_id, current_thread,
 * main_thread, enumerate, active_count, excepthook, __excepthook__, local,
 * Timer, stack_size -> the functions below. _thread.allocate_lock and
 * threading.Lock are weft_lock (weft/sync.h, WEFT_LOCK_INIT). Beyond
 * Python: join and every blocking call honour the calling thread's cancel
 * scopes (weft/cancel.h); join returns the thread's failure code; a Timer's
 * cancel says whether it came in time; per-thread stack sizes.
 *
 * Thread-safety: every function may be called from any thread, including
 * threads weft did not start (they appear in the registry as dummy threads,
 * like Python's _DummyThread, once they ask for weft_thread_current).
 * Handles are not locked: do not free a handle while another thread uses
 * that same handle (copy it with weft_thread_copy instead).
 * Callbacks (targets, run, the excepthook, local destructors, timer
 * functions) never run with a weft lock held.
 * Fork: in the child, the forking thread is the only one left: the others
 * are marked finished (join returns at once) and leave the registry, the
 * forking thread becomes the main thread (Python's _after_fork), and the
 * values other threads had in thread-locals are forgotten (no destructor).
 */
#ifndef WEFT_THREADING_H
#define WEFT_THREADING_H

#include <stddef.h>
#include <weft/common.h>
#include <weft/error.h>
#include <weft/sync.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The struct that contains member `member` at ptr (Linux's container_of). */
#define weft_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* A thread target: 0 on success, a negative code (weft_fail) on failure. */
typedef int (*weft_thread_fn)(void *arg);

typedef struct weft_thread weft_thread;

/* A handle to a thread: caller-allocated, zeroed = never started. The
 * field is private. */
struct weft_thread {
	struct weft__thread *impl_;
};

/* .daemon: 0 (Python's daemon=None) inherits the creating thread's flag
 * (the main thread is not a daemon, dummy threads are); these say it. */
#define WEFT_DAEMON     1
#define WEFT_NON_DAEMON (-1)

/* The smallest stack weft accepts (Python's _thread.stack_size minimum). */
#define WEFT_THREAD_STACK_MIN (32 * 1024)

typedef struct weft_thread_opts {
	weft_thread_fn target;         /* the function form ... */
	void *arg;                     /* ... and its argument */
	int (*run)(weft_thread *self); /* or the "subclass" form (exactly one of the two) */
	const char *name;              /* NULL: "Thread-N"; copied */
	int daemon;                    /* 0 inherit, WEFT_DAEMON, WEFT_NON_DAEMON */
	size_t stack_size;             /* 0: weft_thread_stack_size(); else >= WEFT_THREAD_STACK_MIN */
} weft_thread_opts;

/* Starts a thread and makes *t its handle (t is output: its old contents
 * are ignored; on error it is zeroed). The thread is alive and in the
 * registry when this returns. EINVAL (t or opts NULL, neither or both of
 * target and run, stack_size too small), ENOMEM, EAGAIN (the system refused
 * another thread: Python's "can't start new thread"). */
WEFT_EXTERN int weft_thread_start(weft_thread *t, const weft_thread_opts *opts);

/* Waits up to timeout seconds for the thread to end; then returns 0 or its
 * failure code (which weft_thread_is_alive(t) == false tells apart from
 * join's own codes). ETIMEDOUT (still running, or a scope deadline),
 * ECANCELED, EDEADLK (joining oneself), ESTATE (never started, or a dummy
 * thread), EINVAL (t NULL, bad timeout). */
WEFT_EXTERN int weft_thread_join(weft_thread *t, double timeout);

/* true from weft_thread_start until the thread's run ends; false for NULL
 * or a never-started handle. */
WEFT_EXTERN bool weft_thread_is_alive(const weft_thread *t);

/* The thread's name, valid until the handle is freed (a rename keeps the
 * old string alive too); "" for NULL or a never-started handle. */
WEFT_EXTERN const char *weft_thread_name(const weft_thread *t);

/* Renames the thread (copying name); a thread weft started that is alive
 * also gets it as its OS thread name, as at its start (the first 15 bytes,
 * cut at a UTF-8 character boundary). EINVAL (NULL), ESTATE (never
 * started), ENOMEM. */
WEFT_EXTERN int weft_thread_set_name(weft_thread *t, const char *name);

/* Python's ident (the pthread_t as a number); 0 for NULL / never started.
 * Kept after the thread ends; the system may reuse it for a new thread. */
WEFT_EXTERN unsigned long weft_thread_ident(const weft_thread *t);

/* The kernel's thread id (gettid()); 0 for NULL / never started. */
WEFT_EXTERN long weft_thread_native_id(const weft_thread *t);

/* The daemon flag fixed at start; false for NULL / never started. */
WEFT_EXTERN bool weft_thread_daemon(const weft_thread *t);

/* The message of the thread's failure ("" when it has not failed or has
 * not ended, or for NULL). Valid until the handle is freed. */
WEFT_EXTERN const char *weft_thread_error_message(const weft_thread *t);

/* Makes *dst a second handle to src's thread (dst is output), to be freed
 * on its own. EINVAL (NULL), ESTATE (src never started). */
WEFT_EXTERN int weft_thread_copy(weft_thread *dst, const weft_thread *src);

/* Drops the handle and zeroes it. The thread itself goes on if running.
 * NULL, never-started handles and the handles weft lends out
 * (weft_thread_current, weft_thread_main) are ignored. */
WEFT_EXTERN void weft_thread_free(weft_thread *t);

/* ---- the registry --------------------------------------------------------------- */

/* The calling thread's handle (lent: valid while the thread runs; copy it
 * to keep it). A thread weft did not start gets a dummy entry ("Dummy-N",
 * a daemon, not joinable) that leaves the registry when the thread ends.
 * NULL only when memory runs out making that entry. */
WEFT_EXTERN weft_thread *weft_thread_current(void);

/* The main thread's handle (lent, always valid): the thread that loaded
 * weft, or in a forked child the thread that forked. */
WEFT_EXTERN weft_thread *weft_thread_main(void);

/* Stores a handle for each alive thread (main and dummies included) in
 * out[0..*count), at most cap of them; free each with weft_thread_free.
 * ERANGE when more than cap threads were alive (out holds cap of them),
 * EINVAL (count NULL, or out NULL with cap > 0). */
WEFT_EXTERN int weft_thread_enumerate(weft_thread *out, size_t cap, size_t *count);

/* The number of alive threads in the registry (Python's active_count()). */
WEFT_EXTERN size_t weft_thread_active_count(void);

/* The calling thread's ident and native id (get_ident, get_native_id). */
WEFT_EXTERN unsigned long weft_thread_get_ident(void);
WEFT_EXTERN long weft_thread_get_native_id(void);

/* ---- failures: the excepthook ----------------------------------------------------- */

/* What the hook receives (Python's ExceptHookArgs): thread is lent for the
 * call and is NULL for threads of weft_thread_start_new. */
typedef struct weft_excepthook_args {
	int code;            /* exc_type: the code the target returned */
	const char *message; /* exc_value: weft_fail's message, or "" */
	weft_thread *thread;
} weft_excepthook_args;

typedef void (*weft_excepthook)(const weft_excepthook_args *args);

/* Sets the process-wide hook called in a thread whose target failed
 * (threading.excepthook = hook) and returns the previous one; NULL
 * restores the default. */
WEFT_EXTERN weft_excepthook weft_thread_set_excepthook(weft_excepthook hook);

/* The default hook (threading.__excepthook__): prints
 * "Exception in thread NAME: WEFT_ECODE: message" to stderr. NULL ignored. */
WEFT_EXTERN void weft_thread_default_excepthook(const weft_excepthook_args *args);

/* ---- thread-local storage (threading.local) ------------------------------------- */

typedef struct weft_local weft_local;

/* A thread-local slot: one void * per thread, NULL until set. destructor
 * (may be NULL) is called with each non-NULL value when its thread ends
 * (before join returns), and for every thread's value at weft_local_free.
 * EINVAL (out NULL), ENOMEM. */
WEFT_EXTERN int weft_local_new(weft_local **out, void (*destructor)(void *value));

/* The calling thread's value; NULL when unset or l is NULL. */
WEFT_EXTERN void *weft_local_get(const weft_local *l);

/* Sets the calling thread's value (the old one is replaced, without the
 * destructor). EINVAL (NULL), ENOMEM. */
WEFT_EXTERN int weft_local_set(weft_local *l, void *value);

/* Frees l, calling the destructor on every thread's value. No thread may
 * use l during or after the call. NULL is ignored. */
WEFT_EXTERN void weft_local_free(weft_local *l);

/* ---- Timer (threading.Timer) ------------------------------------------------------- */

/* A thread that calls function(arg) after interval seconds unless
 * cancelled first: caller-allocated, zeroed = never started. thread is the
 * Timer's Thread (join it, name it); the other field is private. */
typedef struct weft_timer {
	weft_thread thread;
	struct weft__timer *impl_;
} weft_timer;

typedef struct weft_timer_opts {
	double interval;         /* seconds, >= 0, from weft_timer_start */
	weft_thread_fn function; /* runs on the timer's thread; may fail as a target */
	void *arg;
	const char *name; /* as weft_thread_opts */
	int daemon;
} weft_timer_opts;

/* Starts the timer (*t is output). EINVAL (NULL, no function, interval
 * negative or NaN), ENOMEM, EAGAIN. */
WEFT_EXTERN int weft_timer_start(weft_timer *t, const weft_timer_opts *opts);

/* Cancels the timer: 0 when it had not fired (the function will never run,
 * and the thread ends at once); EALREADY when the function has already
 * started (or ended). EINVAL (NULL), ESTATE (never started). */
WEFT_EXTERN int weft_timer_cancel(weft_timer *t);

/* Drops the timer's handles (a pending timer still fires unless
 * cancelled) and zeroes *t. NULL and never-started timers are ignored. */
WEFT_EXTERN void weft_timer_free(weft_timer *t);

/* ---- _thread ------------------------------------------------------------------------ */

/* _thread.start_new_thread(fn, (arg,)): a bare thread, not in the registry
 * (it shows up as a dummy if it asks for weft_thread_current), never joined
 * at exit. A failure goes to the excepthook with thread NULL. ident (may be
 * NULL) receives its ident. EINVAL (fn NULL), ENOMEM, EAGAIN. */
WEFT_EXTERN int weft_thread_start_new(weft_thread_fn fn, void *arg, unsigned long *ident);

/* The stack size for new threads (0: the system default); _thread.stack_size(). */
WEFT_EXTERN size_t weft_thread_stack_size(void);

/* Sets it: 0 or >= WEFT_THREAD_STACK_MIN (rounded up to whole pages by
 * weft). EINVAL otherwise. */
WEFT_EXTERN int weft_thread_set_stack_size(size_t size);

#ifdef __cplusplus
}
#endif
#endif
