/* Semaphore and BoundedSemaphore (threading.Semaphore / BoundedSemaphore).
 *
 * `value` is the futex word; `waiters` counts threads that may sleep on it,
 * so release makes a system call only when someone sleeps. The two form a
 * Dekker pair, hence sequentially consistent: a sleeper increments waiters
 * and then reads value; release adds to value and then reads waiters;
 * either the sleeper sees the new value or release sees the sleeper (and a
 * release between the sleeper's read and its sleep makes the futex wait
 * return at once).
 *
 * A sleeper that leaves without a unit (timeout, cancel) may have been the
 * one a release woke; it passes the wakeup on when units are left and
 * others sleep.
 */
#include "sync/sync_int.h"

#include <limits.h>

int weft_sem_init(weft_sem *s, int value, int flags)
{
	if (!s || value < 0 || (flags & ~WEFT_PSHARED))
		return WEFT_EINVAL;
	atomic_store_explicit(WEFT__A(s->value), (uint32_t)value, WEFT__RELAXED);
	atomic_store_explicit(WEFT__A(s->waiters), 0, WEFT__RELAXED);
	s->flags = (uint32_t)flags;
	s->bound = 0;
	return 0;
}

int weft_bsem_init(weft_sem *s, int value, int flags)
{
	int rc = weft_sem_init(s, value, flags);
	if (rc == 0) {
		s->flags |= WEFT__SEM_BOUNDED;
		s->bound = (uint32_t)value;
	}
	return rc;
}

static inline bool try_take(_Atomic uint32_t *value)
{
	uint32_t v = atomic_load_explicit(value, WEFT__RELAXED);
	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(value, &v, v - 1, WEFT__ACQUIRE, WEFT__RELAXED))
			return true;
	return false;
}

static int __attribute__((noinline)) sem_slow(weft_sem *s, double timeout)
{
	_Atomic uint32_t *value = WEFT__A(s->value), *waiters = WEFT__A(s->waiters);
	if (timeout == 0)
		return WEFT_ETIMEDOUT;
	int64_t deadline;
	weft__deadline(timeout, &deadline);
	int limit = weft__spin_begin();
	for (int i = 0; i < limit; i++) {
		if (atomic_load_explicit(value, WEFT__RELAXED) && try_take(value)) {
			weft__spin_end(limit, true);
			return 0;
		}
		weft__cpu_relax();
	}
	weft__spin_end(limit, false);
	int pf = weft__pflags(s->flags), rc;
	atomic_fetch_add(waiters, 1);
	for (;;) {
		if (atomic_load(value) && try_take(value)) {
			atomic_fetch_sub(waiters, 1);
			return 0;
		}
		rc = weft__park(value, 0, pf, deadline);
		if (rc)
			break;
	}
	atomic_fetch_sub(waiters, 1);
	if (atomic_load(value) > 0 && atomic_load(waiters) > 0)
		weft__wake(value, 1, pf);
	return rc;
}

int weft_sem_acquire(weft_sem *s, double timeout)
{
	if (weft__unlikely(!s || !weft__timeout_valid(timeout)))
		return WEFT_EINVAL;
	if (weft__likely(try_take(WEFT__A(s->value))))
		return 0;
	return sem_slow(s, timeout);
}

int weft_sem_release(weft_sem *s, int n)
{
	if (weft__unlikely(!s || n < 1))
		return WEFT_EINVAL;
	_Atomic uint32_t *value = WEFT__A(s->value);
	uint32_t v = atomic_load_explicit(value, WEFT__RELAXED);
	do {
		uint64_t next = (uint64_t)v + (uint32_t)n;
		if ((s->flags & WEFT__SEM_BOUNDED) && next > s->bound)
			return WEFT_EINVAL;
		if (next > INT32_MAX)
			return WEFT_ERANGE;
	} while (!atomic_compare_exchange_weak(value, &v, v + (uint32_t)n));
	if (weft__unlikely(atomic_load(WEFT__A(s->waiters)) > 0))
		weft__wake(value, n, weft__pflags(s->flags));
	return 0;
}

int weft_sem_value(const weft_sem *s)
{
	if (!s)
		return WEFT_EINVAL;
	return (int)atomic_load_explicit(WEFT__A(((weft_sem *)s)->value), WEFT__RELAXED);
}
