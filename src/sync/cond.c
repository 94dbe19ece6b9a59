/* Condition (threading.Condition).
 *
 * The bound lock is found from the condition itself: its own RLock, or the
 * lock at lock_off bytes from the condition (no pointer, so a shared
 * condition works wherever each process maps it).
 *
 * Waiting is counted, not queued, so nothing in the struct points at a
 * waiter. All counters change with the lock held, except `signals`, which
 * woken waiters decrement without it:
 *   seq      bumped by each notify; waiters sleep on it.
 *   waiting  waiters not yet covered by a notify.
 *   signals  notifications issued and not yet taken.
 * wait: with the lock held, note seq as `entry`, waiting++, release the
 * lock, sleep; a waiter may take a signal only once seq differs from entry,
 * i.e. after a notify that happened while it waited, so a thread never
 * consumes a notify issued before it began waiting. notify(n): k =
 * min(n, waiting), waiting -= k, signals += k, seq++, wake k sleepers
 * (every sleeper then began waiting before this notify: entering a wait
 * needs the lock the notifier holds).
 * Leaving early (timeout, cancel): with the lock retaken, a waiter that
 * may take a signal takes it and reports success (the notify raced the
 * timeout; dropping it would lose a wakeup); otherwise it is still counted
 * in `waiting` (no signal is left for it) and withdraws with waiting--.
 */
#include "sync/sync_int.h"

#include <limits.h>
#include <stdint.h>

enum { OWN = 0, LOCK = 1, RLOCK = 2 };

static inline void *bound(weft_cond *c)
{
	return c->kind == OWN ? (void *)&c->own : (void *)((uintptr_t)c + (uintptr_t)c->lock_off);
}

static inline int64_t offset_of(const weft_cond *c, const void *lock)
{
	return (int64_t)((intptr_t)lock - (intptr_t)c);
}

int weft_cond_init(weft_cond *c, const weft_cond_opts *opts)
{
	weft_cond_opts o = opts ? *opts : (weft_cond_opts){0};
	if (!c || (o.flags & ~WEFT_PSHARED) || (o.lock && o.rlock))
		return WEFT_EINVAL;
	uint32_t flags = (uint32_t)o.flags, kind = OWN, lock_flags = flags;
	if (o.lock)
		lock_flags = o.lock->flags & WEFT_PSHARED;
	if (o.rlock)
		lock_flags = o.rlock->flags & WEFT_PSHARED;
	if ((flags & WEFT_PSHARED) && !(lock_flags & WEFT_PSHARED))
		return WEFT_EINVAL;
	flags |= lock_flags;
	weft_rlock_init(&c->own, (int)flags);
	if (o.lock) {
		kind = LOCK;
		c->lock_off = offset_of(c, o.lock);
	} else if (o.rlock) {
		kind = RLOCK;
		c->lock_off = offset_of(c, o.rlock);
	} else {
		c->lock_off = 0;
	}
	c->kind = kind;
	c->flags = flags;
	atomic_store_explicit(WEFT__A(c->seq), 0, WEFT__RELAXED);
	atomic_store_explicit(WEFT__A(c->waiting), 0, WEFT__RELAXED);
	atomic_store_explicit(WEFT__A(c->signals), 0, WEFT__RELAXED);
	return 0;
}

/* Python's _is_owned: a Lock counts as held when anyone holds it. */
static bool held(weft_cond *c)
{
	void *l = bound(c);
	return c->kind == LOCK ? weft_lock_locked(l) : weft_rlock_is_owned(l);
}

int weft_cond_acquire(weft_cond *c, double timeout)
{
	if (!c)
		return WEFT_EINVAL;
	void *site = __builtin_return_address(0);
	return c->kind == LOCK ? weft__lock_acquire_at(bound(c), timeout, site)
	                       : weft__rlock_acquire_at(bound(c), timeout, site);
}

int weft_cond_release(weft_cond *c)
{
	if (!c)
		return WEFT_EINVAL;
	return c->kind == LOCK ? weft_lock_release(bound(c)) : weft_rlock_release(bound(c));
}

static bool take_signal(weft_cond *c)
{
	_Atomic uint32_t *s = WEFT__A(c->signals);
	uint32_t v = atomic_load_explicit(s, WEFT__RELAXED);
	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(s, &v, v - 1, WEFT__ACQUIRE, WEFT__RELAXED))
			return true;
	return false;
}

static int cond_wait(weft_cond *c, int64_t deadline)
{
	if (!held(c))
		return WEFT_EPERM;
	_Atomic uint32_t *seq = WEFT__A(c->seq);
	int pf = weft__pflags(c->flags);
	uint32_t entry = atomic_load_explicit(seq, WEFT__RELAXED);
	atomic_fetch_add_explicit(WEFT__A(c->waiting), 1, WEFT__RELAXED);

	void *l = bound(c);
	uint32_t depth = 0;
	if (c->kind == LOCK)
		weft__wordlock_unlock(WEFT__A(((weft_lock *)l)->word), weft__pflags(((weft_lock *)l)->flags));
	else
		depth = weft__rlock_release_save(l);

	int rc;
	bool notified = false;
	for (uint32_t cur = entry;;) {
		rc = weft__park(seq, cur, pf, deadline);
		cur = atomic_load_explicit(seq, WEFT__ACQUIRE);
		if (cur != entry && take_signal(c)) {
			notified = true;
			break;
		}
		if (rc)
			break;
	}

	if (c->kind == LOCK)
		weft__lock_relock(l);
	else
		weft__rlock_acquire_restore(l, depth);
	if (notified)
		return 0;
	if (atomic_load_explicit(seq, WEFT__ACQUIRE) != entry && take_signal(c))
		return 0;
	atomic_fetch_sub_explicit(WEFT__A(c->waiting), 1, WEFT__RELAXED);
	return rc;
}

int weft_cond_wait(weft_cond *c, double timeout)
{
	int64_t deadline;
	if (!c || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	return cond_wait(c, deadline);
}

int weft_cond_wait_for(weft_cond *c, bool (*pred)(void *arg), void *arg, double timeout)
{
	int64_t deadline;
	if (!c || !pred || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	if (!held(c))
		return WEFT_EPERM;
	for (;;) {
		if (pred(arg))
			return 0;
		if (deadline != WEFT__NO_DEADLINE && weft__now_ns() >= deadline)
			return WEFT_ETIMEDOUT;
		int rc = cond_wait(c, deadline);
		if (rc == WEFT_ETIMEDOUT)
			return pred(arg) ? 0 : WEFT_ETIMEDOUT;
		if (rc)
			return rc;
	}
}

static int notify(weft_cond *c, uint32_t n)
{
	if (!held(c))
		return WEFT_EPERM;
	uint32_t waiting = atomic_load_explicit(WEFT__A(c->waiting), WEFT__RELAXED);
	uint32_t k = n < waiting ? n : waiting;
	if (k == 0)
		return 0;
	atomic_fetch_sub_explicit(WEFT__A(c->waiting), k, WEFT__RELAXED);
	atomic_fetch_add_explicit(WEFT__A(c->signals), k, WEFT__RELAXED);
	atomic_fetch_add_explicit(WEFT__A(c->seq), 1, WEFT__RELEASE);
	weft__wake(WEFT__A(c->seq), k > INT_MAX ? INT_MAX : (int)k, weft__pflags(c->flags));
	return 0;
}

int weft_cond_notify(weft_cond *c, int n)
{
	if (!c || n < 0)
		return WEFT_EINVAL;
	return notify(c, (uint32_t)n);
}

int weft_cond_notify_all(weft_cond *c)
{
	if (!c)
		return WEFT_EINVAL;
	return notify(c, UINT32_MAX);
}
