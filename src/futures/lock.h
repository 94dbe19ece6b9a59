/* src/futures/lock.h - the small internal lock of futures and pools.
 *
 * A three-state futex mutex (0 free, 1 held, 2 held with sleepers), four
 * bytes, valid when zeroed. It guards a handful of pointer updates (a
 * future's listener list, a pool's idle list); no user code and no other
 * lock except a waiter's own runs under it, so it spins briefly before
 * sleeping. Waits use weft__futex_wait: an internal lock is never
 * interrupted by cancel scopes.
 *
 * Fork: such a lock is held only for a few instructions by threads of the
 * pool that owns it; pools are unusable in a forked child (their functions
 * return WEFT_EBROKEN before touching a lock), so the child never waits on
 * one the parent's threads held.
 */
#ifndef WEFT_FUTURES_LOCK_H
#define WEFT_FUTURES_LOCK_H

#include "core/core.h"

typedef struct weft__mu {
	_Atomic uint32_t v;
} weft__mu;

void weft__mu_lock_slow(weft__mu *m);

static inline void weft__mu_lock(weft__mu *m)
{
	uint32_t c = 0;
	if (weft__likely(atomic_compare_exchange_strong_explicit(&m->v, &c, 1, memory_order_acquire,
	                                                         memory_order_relaxed)))
		return;
	weft__mu_lock_slow(m);
}

static inline void weft__mu_unlock(weft__mu *m)
{
	if (weft__unlikely(atomic_exchange_explicit(&m->v, 0, memory_order_release) == 2))
		weft__wake(&m->v, 1, WEFT__PRIVATE);
}

/* A pause for spin loops. */
#if defined(__x86_64__) || defined(__i386__)
#define weft__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define weft__cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#define weft__cpu_relax() __asm__ volatile("" ::: "memory")
#endif

/* Fetches the cache line at p for writing (in the exclusive state: a
 * plain prefetch would fetch it shared and the first store or RMW would
 * need a second transfer). PREFETCHW is a hint: x86-64 processors
 * without it execute it as a NOP. */
#if defined(__x86_64__)
#define weft__prefetch_w(p) __asm__ volatile("prefetchw %0" ::"m"(*(const char *)(p)))
#else
#define weft__prefetch_w(p) __builtin_prefetch((p), 1)
#endif

#endif
