/* src/futures/fcache.h - the per-thread cache of freed futures (future.c
 * explains its policy: bounded, decaying, no hoarding by threads that only
 * free). Its fast paths are inline so that the thread pool's submission
 * takes a future without a call.
 *
 * Bookkeeping kept to what the policy needs: budget counts down the
 * operations left in the decay period; put's fast path compares n with
 * limit, a bound it recomputes only when n reaches it (allocations only
 * raise the true bound, so a stale limit is merely conservative; a decay,
 * which lowers it, recomputes it). v has PREFETCH_AHEAD NULL slots below
 * v[0], so that take reads the future it will hand out a few calls later
 * without a bounds check.
 */
#ifndef WEFT_FUTURES_FCACHE_H
#define WEFT_FUTURES_FCACHE_H

#include "futures/future.h"

enum { WEFT__FCACHE_AHEAD = 8 };

typedef struct weft__fcache {
	weft_future **v; /* v[0..n): cached futures; v[-AHEAD..-1] are NULL */
	int n;
	int limit;  /* put's fast path keeps n below this (<= cap) */
	int budget; /* operations left before the next decay */
	int low;    /* the fewest cached since the last decay */
	int allocs; /* allocations since then */
	int allocs_before;
	int cap;
	bool registered;
} weft__fcache;

extern WEFT__TLS weft__fcache weft__fcache_tls;

void weft__fcache_decay(void);
void weft__fcache_put_slow(weft_future *f);

/* true when weft__fcache_take_hot may be called: a future is cached and
 * the period does not end with this take. */
static inline bool weft__fcache_hot(const weft__fcache *c)
{
	return c->n > 0 && c->budget > 0;
}

/* Takes a cached future when weft__fcache_hot(c) (its first line is
 * stale, its second zeroed: the caller writes every field of the first;
 * ahead is set). */
static inline weft_future *weft__fcache_take_hot(weft__fcache *c)
{
	int n = --c->n;
	weft_future *f = c->v[n];
	weft_future *ahead = c->v[n - WEFT__FCACHE_AHEAD];
	weft__prefetch_w(ahead); /* NULL is harmless: a hint */
	if (n < c->low)
		c->low = n;
	c->allocs++;
	c->budget--;
	f->ahead = ahead;
	return f;
}

/* Takes a cached future (as take_hot), or NULL when none is cached. */
static inline weft_future *weft__fcache_take(void)
{
	weft__fcache *c = &weft__fcache_tls;
	if (weft__unlikely(c->n <= 0))
		return NULL;
	if (weft__unlikely(c->budget <= 0))
		weft__fcache_decay(); /* the period ends with this take */
	return weft__fcache_take_hot(c);
}

/* Keeps a future whose second line is zeroed (or frees it). */
static inline void weft__fcache_put(weft_future *f)
{
	weft__fcache *c = &weft__fcache_tls;
	int n = c->n;
	if (weft__unlikely(n >= c->limit)) {
		weft__fcache_put_slow(f);
		return;
	}
	c->v[n] = f;
	c->n = n + 1;
	if (weft__unlikely(--c->budget < 0))
		weft__fcache_decay();
}

#endif
