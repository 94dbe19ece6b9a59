/* weft/sched.h - an event scheduler: Python's sched in C.
 *
 * Mirrors sched.scheduler: weft_scheduler_new(timefunc, delayfunc),
 * enterabs, enter, cancel, empty, queue and run(blocking). Events run in
 * order of (time, priority, insertion): equal time and priority run in the
 * order they were entered. An action is a function and a void * argument;
 * returning non-zero stops run() with that code (Python: an exception
 * raised by the action propagates out of run()).
 *
 *   static int task(void *arg) { puts(arg); return 0; }
 *   weft_scheduler *s;
 *   weft_scheduler_new(&s, NULL);                   // monotonic clock
 *   weft_sched_enter(s, 5.0, 1, task, "five seconds later", NULL);
 *   weft_sched_run(s, true, NULL);
 *   weft_scheduler_free(s);
 *
 * Time: timefunc returns seconds (default weft_monotonic); delayfunc sleeps
 * for a number of seconds. The default delayfunc honours the calling
 * thread's cancel scopes (run() then returns WEFT_ECANCELED or
 * WEFT_ETIMEDOUT) and, beyond Python, wakes as soon as another thread
 * enters an event earlier than the one run() sleeps towards, so that event
 * runs on time (Python's scheduler oversleeps). A custom delayfunc is called
 * as Python calls it, including delayfunc(0) after each action, and cannot
 * be interrupted. Virtual time: weft_sched_virtual_opts gives a
 * timefunc/delayfunc pair over a weft_sched_vclock where sleeping just
 * advances the clock, so tests and simulations run instantly.
 *
 * Events are named by weft_sched_event handles: small values, valid
 * forever (a handle whose event has run or was cancelled is simply not
 * queued any more), so there is nothing to free.
 *
 * Beyond Python: weft_sched_every enters a periodic event, with a policy
 * for ticks missed while the scheduler was busy (skip them, or run them
 * late to catch up).
 *
 * Thread-safety: every function may be called from any thread, also from
 * actions (an action may enter and cancel events, including its own
 * periodic event) and while another thread is in run(). Actions, timefunc
 * and delayfunc are never called with the scheduler's lock held, except
 * timefunc, which is called under it and must not call back into the
 * scheduler. weft_scheduler_free only once nobody else uses it.
 * Fork: a scheduler is plain memory guarded by a mutex; in a forked child
 * it is usable unless another thread was inside a scheduler call at the
 * moment of the fork (as Python's, whose lock would stay held).
 */
#ifndef WEFT_SCHED_H
#define WEFT_SCHED_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_scheduler weft_scheduler;

/* Names a queued event. Zero is never a valid handle. */
typedef struct weft_sched_event {
	uint64_t id;
} weft_sched_event;

/* An action: 0 to go on, non-zero (best a WEFT_E* or application code) to
 * stop run(), which returns it. */
typedef int (*weft_sched_action)(void *arg);

/* timefunc(ctx): the current time in seconds. delayfunc(ctx, delay): sleeps
 * delay seconds (delay >= 0); non-zero stops run(), which returns it. */
typedef double (*weft_sched_timefunc)(void *ctx);
typedef int (*weft_sched_delayfunc)(void *ctx, double delay);

/* scheduler(timefunc, delayfunc). NULL fields: the monotonic clock and the
 * default sleep (cancel scopes, woken by earlier events). */
typedef struct weft_sched_opts {
	weft_sched_timefunc timefunc;
	weft_sched_delayfunc delayfunc;
	void *ctx; /* passed to both */
} weft_sched_opts;

/* A virtual clock for weft_sched_virtual_opts: `now` only moves when the
 * scheduler sleeps (or when you set it). Not thread-safe by itself: share it
 * between threads only with your own synchronization. */
typedef struct weft_sched_vclock {
	double now;
} weft_sched_vclock;

/* One entry of weft_sched_queue: Python's Event named tuple. */
typedef struct weft_sched_entry {
	double time;
	int priority;
	uint64_t sequence; /* insertion order */
	weft_sched_action action;
	void *arg;
	weft_sched_event event;
} weft_sched_entry;

/* What a periodic event does about ticks it missed (the scheduler was busy
 * or asleep in a custom delayfunc past them). */
typedef enum weft_sched_missed {
	WEFT_SCHED_SKIP = 0,     /* drop them: the next run is the next tick still ahead */
	WEFT_SCHED_CATCH_UP = 1, /* run once for every missed tick, back to back */
} weft_sched_missed;

/* A new empty scheduler. opts NULL: all defaults. EINVAL (out NULL),
 * ENOMEM. */
WEFT_EXTERN int weft_scheduler_new(weft_scheduler **out, const weft_sched_opts *opts);

/* Frees s and its queued events (their actions never run). NULL ignored. */
WEFT_EXTERN void weft_scheduler_free(weft_scheduler *s);

/* enterabs(time, priority, action, argument): schedules action(arg) at
 * time (on timefunc's clock); lower priority runs first among equal times.
 * Stores the handle in *ev if ev is not NULL. EINVAL (NULL s or action,
 * time not finite), ENOMEM. */
WEFT_EXTERN int weft_sched_enterabs(weft_scheduler *s, double time, int priority, weft_sched_action action,
                                    void *arg, weft_sched_event *ev);

/* enter(delay, ...): enterabs(timefunc() + delay, ...). EINVAL (delay not
 * finite, and as enterabs), ENOMEM. */
WEFT_EXTERN int weft_sched_enter(weft_scheduler *s, double delay, int priority, weft_sched_action action,
                                 void *arg, weft_sched_event *ev);

/* Periodic (beyond Python): action(arg) every interval seconds, first at
 * timefunc() + interval, until cancelled or until the action returns
 * non-zero. missed picks what happens to ticks missed. The handle stays the
 * same for every tick. EINVAL (NULL s or action, interval not finite or
 * <= 0, unknown policy), ENOMEM. */
WEFT_EXTERN int weft_sched_every(weft_scheduler *s, double interval, int priority, weft_sched_action action,
                                 void *arg, weft_sched_missed missed, weft_sched_event *ev);

/* cancel(event): removes a queued event; a periodic event is stopped, also
 * from inside its own action. ENOENT when the event is not queued (it ran,
 * was cancelled, or never existed: Python's ValueError); EINVAL (NULL s). */
WEFT_EXTERN int weft_sched_cancel(weft_scheduler *s, weft_sched_event ev);

/* empty(): true when no event is queued (also for NULL). */
WEFT_EXTERN bool weft_sched_empty(weft_scheduler *s);

/* queue: a snapshot of the queued events in the order they will run, in a
 * malloc'd array (*out, free() it; NULL when *n is 0). EINVAL (NULL
 * argument), ENOMEM. */
WEFT_EXTERN int weft_sched_queue(weft_scheduler *s, weft_sched_entry **out, size_t *n);

/* run(blocking): runs events as they fall due until the queue is empty.
 * With blocking false it runs only what is due now, then returns with
 * *next_delay (if not NULL) = the seconds until the next event, or
 * WEFT_FOREVER when none is queued (Python's None); blocking true sets
 * *next_delay to WEFT_FOREVER on return. Returns 0; the non-zero code of an
 * action or delayfunc (the event that failed is not re-run); with the
 * default delayfunc WEFT_ECANCELED / WEFT_ETIMEDOUT when a cancel scope of
 * the calling thread fires; EINVAL (NULL s). Several threads may run() the
 * same scheduler; each event runs once. */
WEFT_EXTERN int weft_sched_run(weft_scheduler *s, bool blocking, double *next_delay);

/* The options for virtual time over clock: timefunc reads clock->now,
 * delayfunc adds the delay to it. */
WEFT_EXTERN weft_sched_opts weft_sched_virtual_opts(weft_sched_vclock *clock);

#ifdef __cplusplus
}
#endif
#endif
