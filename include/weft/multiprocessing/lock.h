/* weft/multiprocessing/lock.h - a robust process-shared lock (beyond
 * Python's multiprocessing.Lock).
 *
 * A weft_mp_lock lives in memory shared between processes (a SharedMemory
 * block, a Value's lock, a process queue) and keeps Python's Lock meaning:
 * any process or thread may release it. What Python lacks: when the process
 * that holds it dies, the next process to acquire it gets the lock together
 * with WEFT_EOWNERDEAD, telling it that the state the lock protected may be
 * half-updated. Caller-allocated, valid when zeroed (WEFT_MP_LOCK_INIT),
 * holds no pointers, and works wherever each process maps the memory.
 *
 * How: the lock word holds the owner's pid. A waiter sleeps on a shared
 * futex and, while it waits, checks from time to time (from 5 ms, backing
 * off to 200 ms) whether the owner still lives (through a pidfd, so that a
 * dead but unreaped owner counts as dead); if not, it takes the lock over.
 * A dead owner's pid reused by a new process before anyone checked would
 * look alive: the lock then waits for that process (pids cycle through
 * pid_max first, so this takes a very long time to happen).
 *
 * Thread-safety: every function is thread-safe. The owner is a process: a
 * thread that dies holding it does not count as a dead owner.
 * Fork: the child is a different owner; a lock the parent held stays held
 * (by the parent) in the child's view.
 */
#ifndef WEFT_MULTIPROCESSING_LOCK_H
#define WEFT_MULTIPROCESSING_LOCK_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_mp_lock {
	uint32_t word; /* private: owner pid | waiters bit; 0 when free */
} weft_mp_lock;

#define WEFT_MP_LOCK_INIT \
	{                 \
		0         \
	}

/* Acquires the lock (Lock.acquire(timeout=...); 0 = try once). 0, or
 * EOWNERDEAD: acquired from an owner that died. ETIMEDOUT, ECANCELED,
 * EINVAL (NULL, bad timeout). */
WEFT_EXTERN int weft_mp_lock_acquire(weft_mp_lock *l, double timeout);

/* Releases it (Lock.release). EPERM when it is not locked, EINVAL (NULL). */
WEFT_EXTERN int weft_mp_lock_release(weft_mp_lock *l);

/* true while locked; false for NULL. */
WEFT_EXTERN bool weft_mp_lock_locked(const weft_mp_lock *l);

#ifdef __cplusplus
}
#endif
#endif
