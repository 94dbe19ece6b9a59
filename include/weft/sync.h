/* weft/sync.h - Python's threading primitives: Lock, RLock, Condition,
 * Semaphore, BoundedSemaphore, Event, Barrier.
 *
 * Each mirrors the Python class of the same name (threading.Lock ->
 * weft_lock, ...), method by method: acquire/release/locked, wait/notify,
 * set/clear/is_set, wait/reset/abort. Python's True/False results become 0 /
 * WEFT_ETIMEDOUT, its exceptions become codes (RuntimeError for releasing a
 * lock one does not hold -> WEFT_EPERM, ValueError -> WEFT_EINVAL,
 * BrokenBarrierError -> WEFT_EBROKEN).
 *
 * Memory: every primitive is a small struct that the caller allocates
 * (static, on the heap, inside another struct, or in shared memory). All
 * fields are private. A zeroed struct is valid: an unlocked Lock/RLock, a
 * Condition over its own RLock, a Semaphore of value 0, a cleared Event; a
 * Barrier needs its number of parties (weft_barrier_init or
 * WEFT_BARRIER_INIT). Nothing needs destroying; do not copy or move a
 * primitive while it is in use.
 *
 * Between processes: initialize with WEFT_PSHARED (or a *_PSHARED static
 * initializer) and place the struct in MAP_SHARED memory; it then works
 * across fork()ed or unrelated processes, also when they map the memory at
 * different addresses, since nothing inside is a pointer (a Condition
 * refers to its lock by the distance between the two, so both must lie in
 * the same mapping; see weft_cond_init). Robust locks (recovering a lock
 * whose owner process died) are multiprocessing's business: an RLock's
 * word already has the kernel's robust-futex layout (owner TID, waiters in
 * bit 31, bit 30 reserved for "owner died").
 *
 * Blocking: every call that can block takes a timeout in seconds
 * (WEFT_FOREVER: no limit; 0: poll; NaN, other negatives or more than
 * 1e12: WEFT_EINVAL),
 * measured against an absolute CLOCK_MONOTONIC deadline, never returning
 * early and unaffected by signals (EINTR). Blocking calls honour the calling
 * thread's cancel scopes (weft/cancel.h): they return WEFT_ECANCELED (or
 * WEFT_ETIMEDOUT at a scope's deadline) and leave the primitive as it was
 * (a cancelled acquire acquires nothing, a cancelled barrier wait does not
 * count as an arrival). A call that need not block succeeds even inside
 * a cancelled scope.
 *
 * Deadlock detection: with WEFT_DEBUG_LOCKS=1 in the environment, the
 * library records the order in which each thread takes Locks and RLocks and
 * prints a report to stderr the first time an order contradicts one seen
 * before (a potential deadlock), naming the locks and the call sites. Off by
 * default, and then free.
 *
 * Thread-safety: every function may be called from any thread. Python's
 * rules apply: a Lock may be released by any thread, an RLock only by its
 * owner, a Condition is waited on and notified with its lock held.
 * Fork: primitives are plain memory. In a forked child a private primitive
 * keeps the state it had at the fork (a Lock held by another thread stays
 * held, as in Python); the forking thread still owns the private RLocks
 * it owned (a shared RLock's owner is a kernel thread id, which the child's
 * thread does not have). Shared (WEFT_PSHARED) primitives are the same
 * objects in both processes.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flag for the *_init functions: the primitive lives in memory shared
 * between processes (MAP_SHARED) and uses process-shared futexes. */
#define WEFT_PSHARED 1

/* ---- Lock (threading.Lock) ------------------------------------------------- */

/* A binary semaphore: any thread may release it. Zeroed = unlocked. */
typedef struct weft_lock {
	uint32_t word; /* 0: unlocked; bit 0: locked; bit 31: sleepers may exist */
	uint32_t flags;
} weft_lock;

#define WEFT_LOCK_INIT \
	{              \
		0, 0   \
	}
#define WEFT_LOCK_INIT_PSHARED  \
	{                       \
		0, WEFT_PSHARED \
	}

/* (Re)initializes an unlocked lock; flags is 0 or WEFT_PSHARED. Must not be
 * called while the lock is in use. EINVAL (NULL, unknown flags). */
WEFT_EXTERN int weft_lock_init(weft_lock *lock, int flags);

/* Acquires the lock, waiting up to timeout seconds (0: try once).
 * EINVAL (NULL, bad timeout), ETIMEDOUT (not acquired in time), ECANCELED. */
WEFT_EXTERN int weft_lock_acquire(weft_lock *lock, double timeout);

/* Releases the lock; any thread may. EPERM when it is not locked (Python's
 * RuntimeError), EINVAL (NULL). */
WEFT_EXTERN int weft_lock_release(weft_lock *lock);

/* true when the lock is held (by anyone); false for NULL. */
WEFT_EXTERN bool weft_lock_locked(const weft_lock *lock);

/* ---- RLock (threading.RLock) ----------------------------------------------- */

/* A reentrant lock: the owner may acquire it again and must release it as
 * many times. Zeroed = unlocked. */
typedef struct weft_rlock {
	uint32_t word;  /* owner id, bit 31: sleepers may exist; 0: unlocked */
	uint32_t count; /* recursion depth, touched by the owner only */
	uint32_t flags;
} weft_rlock;

#define WEFT_RLOCK_INIT \
	{               \
		0, 0, 0 \
	}
#define WEFT_RLOCK_INIT_PSHARED    \
	{                          \
		0, 0, WEFT_PSHARED \
	}

/* (Re)initializes an unlocked rlock; flags is 0 or WEFT_PSHARED.
 * EINVAL (NULL, unknown flags). */
WEFT_EXTERN int weft_rlock_init(weft_rlock *rlock, int flags);

/* Acquires the rlock, or adds one level when the caller owns it already.
 * EINVAL (NULL, bad timeout), ETIMEDOUT, ECANCELED, ERANGE (recursion depth
 * would pass UINT32_MAX: Python's OverflowError). */
WEFT_EXTERN int weft_rlock_acquire(weft_rlock *rlock, double timeout);

/* Drops one level; the last one unlocks. EPERM when the caller is not the
 * owner (Python's RuntimeError), EINVAL (NULL). */
WEFT_EXTERN int weft_rlock_release(weft_rlock *rlock);

/* true when some thread holds the rlock; false for NULL. */
WEFT_EXTERN bool weft_rlock_locked(const weft_rlock *rlock);

/* true when the calling thread owns the rlock (Python's _is_owned). */
WEFT_EXTERN bool weft_rlock_is_owned(const weft_rlock *rlock);

/* The caller's recursion depth: 0 unless it owns the rlock (Python's
 * _recursion_count). 0 for NULL. */
WEFT_EXTERN uint32_t weft_rlock_count(const weft_rlock *rlock);

/* ---- Condition (threading.Condition) --------------------------------------- */

/* A condition variable bound to one lock. Zeroed = a private condition over
 * its own RLock (Python's Condition()); weft_cond_init binds it to a Lock or
 * an RLock of the caller's instead (Python's Condition(lock)), so several
 * conditions can share one lock (as queue.Queue's do). */
typedef struct weft_cond {
	weft_rlock own; /* the lock used when none is given */
	uint32_t kind;  /* which lock: own, a weft_lock or a weft_rlock */
	uint32_t flags;
	int64_t lock_off; /* address of the bound lock minus this struct's */
	uint32_t seq;     /* bumped by every notify: the futex waiters sleep on */
	uint32_t waiting; /* waiters not yet notified */
	uint32_t signals; /* notifications not yet taken by a waiter */
	uint32_t reserved;
} weft_cond;

#define WEFT_COND_INIT                               \
	{                                            \
		WEFT_RLOCK_INIT, 0, 0, 0, 0, 0, 0, 0 \
	}
#define WEFT_COND_INIT_PSHARED                                          \
	{                                                               \
		WEFT_RLOCK_INIT_PSHARED, 0, WEFT_PSHARED, 0, 0, 0, 0, 0 \
	}

/* Options for weft_cond_init: at most one of lock and rlock (both NULL: the
 * condition's own RLock). The condition records where the lock is relative
 * to itself, not a pointer, so a shared condition and its lock must sit in
 * the same shared mapping (any addresses in each process). */
typedef struct weft_cond_opts {
	weft_lock *lock;
	weft_rlock *rlock;
	/* WEFT_PSHARED for a shared condition; with a lock given it must match
	 * that lock's (a shared lock makes the condition shared anyway). */
	int flags;
} weft_cond_opts;

/* (Re)initializes a condition (opts NULL: own private RLock). Must not be
 * called while the condition is in use. EINVAL (NULL, both locks given,
 * unknown flags, WEFT_PSHARED with a private lock). */
WEFT_EXTERN int weft_cond_init(weft_cond *cond, const weft_cond_opts *opts);

/* Acquires / releases the condition's lock (Python's cond.acquire() and
 * cond.release(), also `with cond:`). Same codes as the lock's. */
WEFT_EXTERN int weft_cond_acquire(weft_cond *cond, double timeout);
WEFT_EXTERN int weft_cond_release(weft_cond *cond);

/* Releases the lock (an RLock fully, whatever its depth), sleeps until
 * notified, then takes the lock back (at the same depth) and returns. The
 * lock is held again on every return except EINVAL/EPERM. 0 (notified),
 * ETIMEDOUT, ECANCELED; EPERM when the caller does not hold the lock;
 * EINVAL (NULL, bad timeout). */
WEFT_EXTERN int weft_cond_wait(weft_cond *cond, double timeout);

/* Waits until pred(arg) is true, re-checking it after every wakeup, within
 * one overall deadline (Python's wait_for). pred runs with the lock held.
 * 0 (pred true), ETIMEDOUT (pred still false at the deadline), ECANCELED,
 * EPERM, EINVAL (NULL cond or pred, bad timeout). */
WEFT_EXTERN int weft_cond_wait_for(weft_cond *cond, bool (*pred)(void *arg), void *arg, double timeout);

/* Wakes at most n threads waiting at the time of the call (n = 0 does
 * nothing). EPERM when the lock is not held, EINVAL (NULL, n < 0). */
WEFT_EXTERN int weft_cond_notify(weft_cond *cond, int n);

/* Wakes every thread waiting at the time of the call. EPERM, EINVAL. */
WEFT_EXTERN int weft_cond_notify_all(weft_cond *cond);

/* ---- Semaphore and BoundedSemaphore ---------------------------------------- */

/* A counting semaphore. Zeroed = Semaphore(0), unbounded and private. A
 * BoundedSemaphore is a weft_sem made by weft_bsem_init or WEFT_BSEM_INIT:
 * releasing it above its initial value fails. Values stay within INT32_MAX. */
typedef struct weft_sem {
	uint32_t value;   /* the futex word */
	uint32_t waiters; /* threads asleep in acquire */
	uint32_t flags;   /* WEFT_PSHARED, bounded */
	uint32_t bound;   /* initial value of a bounded semaphore */
} weft_sem;

#define WEFT__SEM_BOUNDED 0x100
#define WEFT_SEM_INIT(v)               \
	{                              \
		(uint32_t)(v), 0, 0, 0 \
	}
#define WEFT_SEM_INIT_PSHARED(v)                  \
	{                                         \
		(uint32_t)(v), 0, WEFT_PSHARED, 0 \
	}
#define WEFT_BSEM_INIT(v)                                          \
	{                                                          \
		(uint32_t)(v), 0, WEFT__SEM_BOUNDED, (uint32_t)(v) \
	}
#define WEFT_BSEM_INIT_PSHARED(v)                                                 \
	{                                                                         \
		(uint32_t)(v), 0, WEFT__SEM_BOUNDED | WEFT_PSHARED, (uint32_t)(v) \
	}

/* (Re)initializes a Semaphore(value) / a BoundedSemaphore(value); flags is 0
 * or WEFT_PSHARED. Must not be called while in use. EINVAL (NULL, value < 0,
 * unknown flags). */
WEFT_EXTERN int weft_sem_init(weft_sem *sem, int value, int flags);
WEFT_EXTERN int weft_bsem_init(weft_sem *sem, int value, int flags);

/* Takes one unit, waiting while the value is 0. EINVAL (NULL, bad
 * timeout), ETIMEDOUT, ECANCELED. */
WEFT_EXTERN int weft_sem_acquire(weft_sem *sem, double timeout);

/* Adds n units and wakes up to n waiters. EINVAL (NULL, n < 1, a bounded
 * semaphore would pass its initial value: Python's ValueError), ERANGE (the
 * value would pass INT32_MAX); the value is unchanged on error. */
WEFT_EXTERN int weft_sem_release(weft_sem *sem, int n);

/* The current value (>= 0; multiprocessing's get_value), or WEFT_EINVAL. */
WEFT_EXTERN int weft_sem_value(const weft_sem *sem);

/* ---- Event (threading.Event) ----------------------------------------------- */

/* A flag threads can wait for. Zeroed = cleared and private. */
typedef struct weft_event {
	uint32_t word; /* bit 0: set; bit 1: sleepers may exist; above: generation */
	uint32_t flags;
} weft_event;

#define WEFT_EVENT_INIT \
	{               \
		0, 0    \
	}
#define WEFT_EVENT_INIT_PSHARED \
	{                       \
		0, WEFT_PSHARED \
	}

/* (Re)initializes a cleared event; flags is 0 or WEFT_PSHARED.
 * EINVAL (NULL, unknown flags). */
WEFT_EXTERN int weft_event_init(weft_event *ev, int flags);

/* Sets the flag and wakes every waiter. EINVAL (NULL). */
WEFT_EXTERN int weft_event_set(weft_event *ev);

/* Clears the flag. EINVAL (NULL). */
WEFT_EXTERN int weft_event_clear(weft_event *ev);

/* true when the flag is set; false for NULL. */
WEFT_EXTERN bool weft_event_is_set(const weft_event *ev);

/* Waits until the flag is set. 0 when it is set, or was set after the wait
 * began (even if cleared again before this thread ran); ETIMEDOUT,
 * ECANCELED, EINVAL (NULL, bad timeout). */
WEFT_EXTERN int weft_event_wait(weft_event *ev, double timeout);

/* ---- Barrier (threading.Barrier) ------------------------------------------- */

/* A cyclic barrier for a fixed number of parties. Zeroed = no parties:
 * wait, reset and abort return WEFT_EINVAL until weft_barrier_init. */
typedef struct weft_barrier {
	uint32_t mu;  /* internal lock word, held only for a few instructions */
	uint32_t seq; /* bumped on every state change: the futex waiters sleep on */
	uint32_t parties;
	uint32_t count;    /* threads inside wait() this cycle */
	uint32_t departed; /* indices handed out while draining */
	uint32_t state;    /* filling, running the action, draining, resetting, broken */
	uint32_t flags;
	uint32_t reserved;
	double timeout; /* default timeout; 0: none */
	int (*action)(void *arg);
	void *arg;
} weft_barrier;

#define WEFT_BARRIER_INIT(parties)                                      \
	{                                                               \
		0, 0, (uint32_t)(parties), 0, 0, 0, 0, 0, 0, NULL, NULL \
	}
#define WEFT_BARRIER_INIT_PSHARED(parties)                                         \
	{                                                                          \
		0, 0, (uint32_t)(parties), 0, 0, 0, WEFT_PSHARED, 0, 0, NULL, NULL \
	}

/* Python's Barrier(parties, action=None, timeout=None) keywords. */
typedef struct weft_barrier_opts {
	/* Run by exactly one thread (the last to arrive) after all parties have
	 * arrived and before any is released, with no weft lock held. A
	 * non-zero return breaks the barrier: the others get WEFT_EBROKEN,
	 * that thread the action's code if negative, else WEFT_EBROKEN. With
	 * WEFT_PSHARED the action runs in whichever process arrives last, so
	 * action and arg must be valid there (true in fork()ed children). */
	int (*action)(void *arg);
	void *arg;
	double timeout; /* default for wait(); 0 (or WEFT_FOREVER): none */
	int flags;      /* 0 or WEFT_PSHARED */
} weft_barrier_opts;

/* (Re)initializes a barrier for parties threads (opts may be NULL). Must
 * not be called while in use. EINVAL (NULL, parties < 1, bad timeout,
 * unknown flags). */
WEFT_EXTERN int weft_barrier_init(weft_barrier *b, int parties, const weft_barrier_opts *opts);

/* Waits until all parties have called wait, then releases them together.
 * *index (may be NULL) receives a number in 0..parties-1, different for each
 * thread of one passage (parties-1 for the one that arrived last, which ran
 * the action). timeout: seconds, or WEFT_FOREVER for the barrier's default
 * (Python's None). EBROKEN when the barrier is or becomes broken (abort,
 * reset, a failed action, or a wait that timed out: that one also breaks
 * it), the action's code for the thread that ran a failed action,
 * ECANCELED / ETIMEDOUT from a cancel scope (then the call did not count as
 * an arrival), EINVAL (NULL, no parties, bad timeout). */
WEFT_EXTERN int weft_barrier_wait(weft_barrier *b, double timeout, int *index);

/* Returns the barrier to its initial state; threads waiting in it get
 * WEFT_EBROKEN. EINVAL (NULL, no parties). */
WEFT_EXTERN int weft_barrier_reset(weft_barrier *b);

/* Breaks the barrier: current and later waits get WEFT_EBROKEN until
 * reset. EINVAL (NULL, no parties). */
WEFT_EXTERN int weft_barrier_abort(weft_barrier *b);

/* true when the barrier is broken; false for NULL. */
WEFT_EXTERN bool weft_barrier_broken(const weft_barrier *b);

/* The number of threads waiting in it now (>= 0), or WEFT_EINVAL for NULL. */
WEFT_EXTERN int weft_barrier_n_waiting(const weft_barrier *b);

/* The number of parties (>= 0), or WEFT_EINVAL for NULL. */
WEFT_EXTERN int weft_barrier_parties(const weft_barrier *b);

#ifdef __cplusplus
}
#endif
#endif
