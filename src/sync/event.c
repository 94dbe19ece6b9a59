/* Event (threading.Event).
 *
 * One futex word: bit 0 the flag, bit 1 "sleepers may exist", the bits
 * above a generation that every set() advances. A waiter returns once the
 * flag is set or the generation moved since it began: Python's wait()
 * reports True even when clear() followed set() before the waiter ran
 * (bpo-13502). set() clears the sleeper bit and wakes everyone, so clear()
 * and is_set() never make a system call.
 */
#include "sync/sync_int.h"

#include <limits.h>

#define SET     1u
#define SLEEPER 2u
#define GEN     (~3u)

int weft_event_init(weft_event *ev, int flags)
{
	if (!ev || (flags & ~WEFT_PSHARED))
		return WEFT_EINVAL;
	atomic_store_explicit(WEFT__A(ev->word), 0, WEFT__RELAXED);
	ev->flags = (uint32_t)flags;
	return 0;
}

int weft_event_set(weft_event *ev)
{
	if (!ev)
		return WEFT_EINVAL;
	_Atomic uint32_t *w = WEFT__A(ev->word);
	uint32_t v = atomic_load_explicit(w, WEFT__RELAXED);
	do {
		if (v & SET)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(w, &v, ((v & GEN) + 4) | SET, WEFT__RELEASE,
	                                                WEFT__RELAXED));
	if (v & SLEEPER)
		weft__wake(w, INT_MAX, weft__pflags(ev->flags));
	return 0;
}

int weft_event_clear(weft_event *ev)
{
	if (!ev)
		return WEFT_EINVAL;
	atomic_fetch_and_explicit(WEFT__A(ev->word), ~SET, WEFT__RELAXED);
	return 0;
}

bool weft_event_is_set(const weft_event *ev)
{
	return ev && (atomic_load_explicit(WEFT__A(((weft_event *)ev)->word), WEFT__ACQUIRE) & SET);
}

static int __attribute__((noinline)) event_slow(weft_event *ev, uint32_t v, double timeout)
{
	_Atomic uint32_t *w = WEFT__A(ev->word);
	uint32_t gen = v & GEN;
	if (timeout == 0)
		return WEFT_ETIMEDOUT;
	int64_t deadline;
	weft__deadline(timeout, &deadline);
	int limit = weft__spin_begin();
	for (int i = 0; i < limit; i++) {
		weft__cpu_relax();
		v = atomic_load_explicit(w, WEFT__ACQUIRE);
		if ((v & SET) || (v & GEN) != gen) {
			weft__spin_end(limit, true);
			return 0;
		}
	}
	weft__spin_end(limit, false);
	int pf = weft__pflags(ev->flags);
	for (;;) {
		if (!(v & SLEEPER)) {
			if (!atomic_compare_exchange_weak_explicit(w, &v, v | SLEEPER, WEFT__ACQUIRE,
			                                           WEFT__ACQUIRE)) {
				if ((v & SET) || (v & GEN) != gen)
					return 0;
				continue;
			}
			v |= SLEEPER;
		}
		int rc = weft__park(w, v, pf, deadline);
		v = atomic_load_explicit(w, WEFT__ACQUIRE);
		if ((v & SET) || (v & GEN) != gen)
			return 0;
		if (rc)
			return rc;
	}
}

int weft_event_wait(weft_event *ev, double timeout)
{
	if (!ev || !weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	uint32_t v = atomic_load_explicit(WEFT__A(ev->word), WEFT__ACQUIRE);
	if (v & SET)
		return 0;
	return event_slow(ev, v, timeout);
}
