/* Lock (threading.Lock) and the word-lock slow path under Lock, RLock and
 * the Barrier's internal lock.
 *
 * Fast paths are one compare-and-swap (acquire) or one exchange (release)
 * and no call outside this file; lock-order checking costs one predictable
 * branch when it is off. Contended, a thread spins briefly (spin.c), then
 * marks the word WEFT__WAITERS and sleeps on it.
 *
 * Why no wakeup is lost: release clears the word and wakes one sleeper when
 * WEFT__WAITERS was set. A woken thread that finds the lock taken again sets
 * WEFT__WAITERS before sleeping; one that takes the lock after sleeping
 * installs WEFT__WAITERS with it (others may still sleep). A woken thread
 * that leaves without the lock (timeout, cancel) passes the wakeup on: it
 * wakes another sleeper if the lock is free, or sets WEFT__WAITERS on the
 * holder's word so that holder's release wakes one.
 */
#include "sync/sync_int.h"

static void pass_on(_Atomic uint32_t *w, int pflags)
{
	for (;;) {
		uint32_t v = atomic_load_explicit(w, WEFT__RELAXED);
		if (v == 0) {
			weft__wake(w, 1, pflags);
			return;
		}
		if ((v & WEFT__WAITERS) || atomic_compare_exchange_weak_explicit(
		                               w, &v, v | WEFT__WAITERS, WEFT__RELAXED, WEFT__RELAXED))
			return;
	}
}

int weft__wordlock_wait(_Atomic uint32_t *w, uint32_t mine, int pflags, int64_t deadline, bool cancellable)
{
	/* Spin also when WEFT__WAITERS is set: the bit may be stale (a
	 * thread that slept takes the lock with it set), and a hand-off
	 * between two threads would otherwise never spin again. Like any new
	 * acquirer, a spinner may take the lock before a woken sleeper. */
	int limit = weft__spin_begin();
	for (int i = 0; i < limit; i++) {
		uint32_t v = atomic_load_explicit(w, WEFT__RELAXED);
		if (v == 0 &&
		    atomic_compare_exchange_weak_explicit(w, &v, mine, WEFT__ACQUIRE, WEFT__RELAXED)) {
			weft__spin_end(limit, true);
			return 0;
		}
		weft__cpu_relax();
	}
	weft__spin_end(limit, false);
	uint32_t take = mine; /* becomes mine | WAITERS once we have slept */
	for (;;) {
		uint32_t v = atomic_load_explicit(w, WEFT__RELAXED);
		if (v == 0) {
			if (atomic_compare_exchange_weak_explicit(w, &v, take, WEFT__ACQUIRE, WEFT__RELAXED))
				return 0;
			continue;
		}
		if (!(v & WEFT__WAITERS)) {
			if (!atomic_compare_exchange_weak_explicit(w, &v, v | WEFT__WAITERS, WEFT__RELAXED,
			                                           WEFT__RELAXED))
				continue;
			v |= WEFT__WAITERS;
		}
		int rc = cancellable ? weft__park(w, v, pflags, deadline)
		                     : weft__futex_wait(w, v, pflags, deadline);
		take = mine | WEFT__WAITERS;
		if (weft__unlikely(rc)) {
			pass_on(w, pflags);
			return rc;
		}
	}
}

/* ---- Lock ------------------------------------------------------------------ */

int weft_lock_init(weft_lock *l, int flags)
{
	if (!l || (flags & ~WEFT_PSHARED))
		return WEFT_EINVAL;
	atomic_store_explicit(WEFT__A(l->word), 0, WEFT__RELAXED);
	l->flags = (uint32_t)flags;
	if (weft__lockdep_on)
		weft__lockdep_forget(l);
	return 0;
}

static int __attribute__((noinline)) lock_slow(weft_lock *l, double timeout)
{
	if (timeout == 0)
		return WEFT_ETIMEDOUT;
	int64_t deadline;
	weft__deadline(timeout, &deadline);
	return weft__wordlock_wait(WEFT__A(l->word), WEFT__LOCKED, weft__pflags(l->flags), deadline, true);
}

static inline int lock_plain(weft_lock *l, double timeout)
{
	uint32_t z = 0;
	if (weft__likely(atomic_compare_exchange_strong_explicit(WEFT__A(l->word), &z, WEFT__LOCKED,
	                                                         WEFT__ACQUIRE, WEFT__RELAXED)))
		return 0;
	return lock_slow(l, timeout);
}

static int __attribute__((noinline)) lock_checked(weft_lock *l, double timeout, void *site)
{
	weft__lockdep_before(l, "Lock", timeout == 0, site);
	int rc = lock_plain(l, timeout);
	if (rc == 0)
		weft__lockdep_acquired(l, site);
	return rc;
}

int weft_lock_acquire(weft_lock *l, double timeout)
{
	if (weft__unlikely(!l || !weft__timeout_valid(timeout)))
		return WEFT_EINVAL;
	if (weft__unlikely(weft__lockdep_on))
		return lock_checked(l, timeout, __builtin_return_address(0));
	return lock_plain(l, timeout);
}

int weft__lock_acquire_at(weft_lock *l, double timeout, void *site)
{
	if (!l || !weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	if (weft__lockdep_on)
		return lock_checked(l, timeout, site);
	return lock_plain(l, timeout);
}

int weft_lock_release(weft_lock *l)
{
	if (weft__unlikely(!l))
		return WEFT_EINVAL;
	if (weft__unlikely(weft__lockdep_on))
		weft__lockdep_released(l);
	/* Exchanging 0 into an unlocked word changes nothing, so one RMW both
	 * checks and releases. */
	uint32_t old = weft__wordlock_unlock(WEFT__A(l->word), weft__pflags(l->flags));
	return weft__likely(old) ? 0 : WEFT_EPERM;
}

void weft__lock_relock(weft_lock *l)
{
	weft__wordlock_take(WEFT__A(l->word), WEFT__LOCKED, weft__pflags(l->flags));
}

bool weft_lock_locked(const weft_lock *l)
{
	return l && atomic_load_explicit(WEFT__A(((weft_lock *)l)->word), WEFT__RELAXED) != 0;
}
