/* src/core/core.h - internals every module shares (never installed).
 *
 * Clocks and deadlines, the futex parking layer that honours cancel scopes,
 * a cancellable poll for fd-based waits, and the per-thread failure slot
 * behind weft_fail. src/core knows no module.
 */
#ifndef WEFT_CORE_H
#define WEFT_CORE_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <weft/cancel.h>
#include <weft/common.h>
#include <weft/error.h>

#define WEFT__NO_DEADLINE INT64_MAX
#define WEFT__NS_PER_S    1000000000LL

/* Thread-locals on hot paths: the initial-exec model reads them with one
 * %fs-relative load instead of a __tls_get_addr call in libweft.so (the
 * library is linked at startup, so static TLS has room for them). */
#define WEFT__TLS         __thread __attribute__((tls_model("initial-exec")))

#define weft__likely(x)   __builtin_expect(!!(x), 1)
#define weft__unlikely(x) __builtin_expect(!!(x), 0)

/* ---- clocks ---------------------------------------------------------------- */

/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t weft__now_ns(void);

/* true when t is WEFT_FOREVER or a finite number >= 0. */
static inline bool weft__timeout_valid(double t)
{
	return t == WEFT_FOREVER || (t >= 0 && t <= 1e12); /* NaN fails both */
}

/* Turns a timeout into an absolute deadline (WEFT__NO_DEADLINE for
 * WEFT_FOREVER). Returns WEFT_EINVAL for an invalid timeout. */
int weft__deadline(double timeout, int64_t *deadline_ns);

/* Seconds left until deadline, never negative; WEFT_FOREVER for none. */
double weft__remaining(int64_t deadline_ns);

/* ---- futex parking ---------------------------------------------------------- */

/* Flags for park/wake: WEFT__SHARED uses process-shared futexes, for objects
 * in MAP_SHARED memory (other processes may map them at other addresses:
 * futexes are keyed by the page, not the virtual address). */
enum { WEFT__PRIVATE = 0, WEFT__SHARED = 1 };

/* Sleeps while *word == expected, until woken, deadline (absolute monotonic
 * ns) or cancellation of one of the calling thread's cancel scopes.
 * Returns 0 when woken, when *word != expected, on EINTR or spuriously (the
 * caller re-checks its condition and calls again); WEFT_ETIMEDOUT when the
 * deadline or a scope's deadline passed; WEFT_ECANCELED when a scope's
 * token is cancelled. Callers must tolerate spurious returns. */
int weft__park(_Atomic uint32_t *word, uint32_t expected, int flags, int64_t deadline_ns);

/* Wakes up to n threads parked on word (n = INT32_MAX: all). Returns the
 * number woken. */
int weft__wake(_Atomic uint32_t *word, int n, int flags);

/* The raw futex wait without cancel scopes: 0 woken/changed/EINTR,
 * WEFT_ETIMEDOUT. For internal waits that must not be cancelled. */
int weft__futex_wait(_Atomic uint32_t *word, uint32_t expected, int flags, int64_t deadline_ns);

/* Cancel status of the calling thread: 0, WEFT_ECANCELED or WEFT_ETIMEDOUT
 * (a scope's deadline passed). Cheap when the thread is in no scope. */
int weft__cancel_status(void);

/* true when the calling thread is inside a cancel scope. A wait without a
 * deadline outside every scope may block in the kernel directly (e.g. a
 * blocking read) instead of polling. */
bool weft__in_cancel_scope(void);

/* The earliest of deadline_ns and the deadlines of the calling thread's
 * scopes. */
int64_t weft__scope_deadline(int64_t deadline_ns);

/* A scope for runners that keep tok alive for the scope's whole life:
 * weft_cancel_scope_enter(scope, tok, WEFT_FOREVER) without taking a
 * reference, for the hot path of pool tasks. Leave with
 * weft__cancel_scope_pop, innermost first. */
void weft__cancel_scope_push(weft_cancel_scope *scope, weft_cancel *tok);
void weft__cancel_scope_pop(weft_cancel_scope *scope);

/* Sets the calling thread's cancel scopes aside (returning them) and puts
 * them back: a pool worker that runs another job while its own job waits
 * runs it outside the waiting job's scopes, so cancelling one job never
 * reaches the other. Restore before the set-aside scopes are exited. */
weft_cancel_scope *weft__cancel_scopes_detach(void);
void weft__cancel_scopes_restore(weft_cancel_scope *saved);

/* One sched_yield for a waiter whose peer may be runnable on this very
 * CPU (more threads than CPUs): the peer then runs without the futex wait
 * and wake pair that parking costs both sides. Returns false, without
 * yielding, once the deadline has passed or while yielding is banned for
 * the calling thread: a yield that took longer than 200 us (another
 * process held the CPU for a time slice) bans it for 50 ms, so that a busy
 * loop elsewhere does not turn each wait into a time slice. */
bool weft__yield_once(int64_t deadline);

/* poll(2) over fds until one is ready, the deadline passes or a cancel scope
 * fires; retries EINTR, never returns early. Returns the number of ready
 * fds (> 0), WEFT_ETIMEDOUT, WEFT_ECANCELED, or -errno. */
int weft__poll(struct pollfd *fds, nfds_t n, int64_t deadline_ns);

/* ---- failures (weft_fail) ------------------------------------------------------ */

/* A task's failure record: code 0 means the task did not fail. msg is
 * malloc'd (may be NULL even when code != 0, if memory ran out); whoever
 * holds the record owns msg. */
typedef struct weft__failure {
	int code;
	char *msg;
} weft__failure;

/* Makes *f (zeroed here) the calling thread's current failure record and
 * returns the previous one, to be restored with weft__failure_leave. */
weft__failure *weft__failure_enter(weft__failure *f);
void weft__failure_leave(weft__failure *previous);

/* Frees f->msg and zeroes f. */
void weft__failure_clear(weft__failure *f);

/* ---- named tasks -------------------------------------------------------------- */

/* Called by weft_task_register after each registration, when set. A module
 * that must act as soon as a given task exists (the spawn bootstrap runs a
 * re-executed child's task before main) installs it from a constructor:
 * libweft.so's constructors run before the program's, whose WEFT_TASK
 * constructors then call the hook. */
struct weft_task;
extern void (*_Atomic weft__task_registered_hook)(const struct weft_task *task);

/* ---- bytes in a module's own mapping --------------------------------------------- */

/* weft_bytes whose data is not malloc'd but lies in a mapping a module owns
 * (a large captured output): listed with weft__mapped_add before the bytes
 * are handed out, weft_bytes_free unlists the entry and calls release
 * (outside any lock) instead of free(). The entry lives in the mapping. */
typedef struct weft__mapped {
	struct weft__mapped *prev, *next;
	void *data; /* what weft_bytes.data points at */
	void (*release)(struct weft__mapped *m);
} weft__mapped;

void weft__mapped_add(weft__mapped *m);

/* True when data is listed (so it must not be passed to free()). */
bool weft__mapped_contains(const void *data);

/* ---- misc ------------------------------------------------------------------------ */

/* Number of online CPUs (>= 1), honouring the affinity mask. */
int weft__cpu_count(void);

#endif
