/* src/sync/sync_int.h - what the files of src/sync share (never installed).
 *
 * Word locks: Lock, RLock and the Barrier's internal lock are one 32-bit
 * futex word each. 0 means unlocked; a holder stores a non-zero value of
 * its own ("mine": WEFT__LOCKED for a Lock, the owner id for an RLock) and
 * WEFT__WAITERS (bit 31, the kernel's FUTEX_WAITERS) says that sleepers
 * may exist, so only then does release make a system call. Bit 30 is kept
 * free for the kernel's FUTEX_OWNER_DIED, and owner ids fit the kernel's
 * FUTEX_TID_MASK, so robust shared locks can use the same words.
 *
 * The public structs declare their atomic fields as plain uint32_t (the
 * header stays valid C++); this code reaches them through WEFT__A().
 */
#ifndef WEFT_SYNC_INT_H
#define WEFT_SYNC_INT_H

#include "core/core.h"

#include <weft/sync.h>

/* Internal data: direct (not GOT) access from the fast paths. */
#define WEFT__HIDDEN     __attribute__((visibility("hidden")))
#define WEFT__A(field)   ((_Atomic uint32_t *)&(field))
#define WEFT__LOCKED     1u
#define WEFT__WAITERS    0x80000000u
#define WEFT__OWNER_DIED 0x40000000u /* reserved for robust locks */
#define WEFT__ID_MASK    0x3fffffffu

#define WEFT__RELAXED    memory_order_relaxed
#define WEFT__ACQUIRE    memory_order_acquire
#define WEFT__RELEASE    memory_order_release

/* The futex flag (WEFT__SHARED / WEFT__PRIVATE) for a primitive's flags. */
static inline int weft__pflags(uint32_t flags)
{
	return (flags & WEFT_PSHARED) ? WEFT__SHARED : WEFT__PRIVATE;
}

static inline void weft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Adaptive spinning (spin.c): weft__sync_spin is the most polls a
 * contended wait makes before it sleeps (0: none; a variable so benchmarks
 * can compare). weft__spin_begin returns this thread's current budget (0:
 * do not spin); weft__spin_end reports whether polling within that limit
 * succeeded, which grows or shrinks the budget. */
extern int weft__sync_spin WEFT__HIDDEN;
int weft__spin_begin(void);
void weft__spin_end(int limit, bool success);

/* ---- word locks (lock.c) --------------------------------------------------- */

/* The slow path of acquiring a word lock: spins, then sleeps until the word
 * can be turned from 0 into `mine` (plus WEFT__WAITERS once this thread has
 * slept). cancellable: honour cancel scopes (weft__park), else a plain futex
 * wait. 0, WEFT_ETIMEDOUT or WEFT_ECANCELED; on error a wakeup this thread
 * may have taken is passed on. */
int weft__wordlock_wait(_Atomic uint32_t *w, uint32_t mine, int pflags, int64_t deadline, bool cancellable);

/* Unlocks a word lock and wakes one sleeper if there may be any. Returns
 * the old word. */
static inline uint32_t weft__wordlock_unlock(_Atomic uint32_t *w, int pflags)
{
	uint32_t old = atomic_exchange_explicit(w, 0, WEFT__RELEASE);
	if (weft__unlikely(old & WEFT__WAITERS))
		weft__wake(w, 1, pflags);
	return old;
}

/* Takes a word lock for an internal critical section: never cancelled,
 * never times out. */
static inline void weft__wordlock_take(_Atomic uint32_t *w, uint32_t mine, int pflags)
{
	uint32_t z = 0;
	if (!atomic_compare_exchange_strong_explicit(w, &z, mine, WEFT__ACQUIRE, WEFT__RELAXED))
		weft__wordlock_wait(w, mine, pflags, WEFT__NO_DEADLINE, false);
}

/* Lock and RLock entry points for Condition: acquire with a call site for
 * lock-order checking; release/reacquire around a wait, which are invisible
 * to lock-order checking (the waiter still "holds" the lock in its order)
 * and reacquire without cancel or timeout, as Python's wait does. */
int weft__lock_acquire_at(weft_lock *l, double timeout, void *site);
void weft__lock_relock(weft_lock *l);
int weft__rlock_acquire_at(weft_rlock *r, double timeout, void *site);
/* Fully releases an owned rlock; returns its depth (0: not owned, nothing
 * done). */
uint32_t weft__rlock_release_save(weft_rlock *r);
void weft__rlock_acquire_restore(weft_rlock *r, uint32_t count);

/* ---- lock-order checking (lockdep.c) --------------------------------------- */

/* Non-zero when WEFT_DEBUG_LOCKS=1 was in the environment at load time. */
extern int weft__lockdep_on WEFT__HIDDEN;

/* Before acquiring lock (trylock: a poll, which cannot deadlock and is only
 * recorded): checks the order against what was seen and reports a cycle. */
void weft__lockdep_before(const void *lock, const char *kind, bool trylock, void *site);
/* After lock was acquired by the calling thread. */
void weft__lockdep_acquired(const void *lock, void *site);
/* Before lock is released (by any thread). */
void weft__lockdep_released(const void *lock);
/* Forgets what was recorded about the lock at this address (init). */
void weft__lockdep_forget(const void *lock);

#endif
