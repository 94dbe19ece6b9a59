/* The pool's injector (injector.h): a queue of job pointers in linked
 * blocks.
 *
 * Memory orders: a producer's claim (the CAS on tail) is seq_cst for the
 * sleep protocol; its job reaches the consumer through the release store
 * into the slot and the consumer's acquire load of it. The installer of a
 * block zeroes it, links it (release) and only then stores its own job
 * into the old block's last slot, so a consumer that took that slot sees
 * the link and the zeroed slots. Producers read the tail index (acquire)
 * before the tail block: the installer stores the block before the index,
 * so a producer that read a current index holds its block, and one that
 * read a stale index fails its CAS without having touched the block --
 * which is why a consumed block may be recycled at once. */
#include "futures/injector.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

static weft__inj_block *block_new(void)
{
	return calloc(1, sizeof(weft__inj_block));
}

int weft__injector_init(weft__injector *q)
{
	weft__inj_block *b = block_new();
	if (!b)
		return WEFT_ENOMEM;
	atomic_init(&q->tail, 0);
	atomic_init(&q->tail_block, b);
	atomic_init(&q->lk, 0);
	atomic_init(&q->head, 0);
	q->head_block = b;
	q->spare_lk = (weft__mu){0};
	q->nspares = 0;
	q->spares = NULL;
	return 0;
}

void weft__injector_destroy(weft__injector *q)
{
	free(q->head_block);
	q->head_block = NULL;
	for (weft__inj_block *b = q->spares, *next; b; b = next) {
		next = atomic_load_explicit(&b->next, memory_order_relaxed);
		free(b);
	}
	q->spares = NULL;
	q->nspares = 0;
}

void weft__injector_lock(weft__injector *q)
{
	while (!weft__injector_trylock(q))
		sched_yield();
}

/* The block the installer of the next one uses: a spare, else a new one;
 * zeroed. NULL when out of memory. */
static weft__inj_block *block_take(weft__injector *q)
{
	weft__mu_lock(&q->spare_lk);
	weft__inj_block *b = q->spares;
	if (b) {
		q->spares = atomic_load_explicit(&b->next, memory_order_relaxed);
		q->nspares--;
	}
	weft__mu_unlock(&q->spare_lk);
	if (!b)
		return block_new();
	memset(b, 0, sizeof *b);
	return b;
}

/* Keeps a block no producer or consumer uses any more as a spare, or
 * frees it when there are enough. */
static void block_keep(weft__injector *q, weft__inj_block *b)
{
	if (!b)
		return;
	weft__mu_lock(&q->spare_lk);
	bool kept = q->nspares < WEFT__INJ_SPARES;
	if (kept) {
		atomic_store_explicit(&b->next, q->spares, memory_order_relaxed);
		q->spares = b;
		q->nspares++;
	}
	weft__mu_unlock(&q->spare_lk);
	if (!kept)
		free(b);
}

int weft__injector_claim_slow(weft__injector *q, weft__inj_ticket *tk)
{
	weft__inj_block *fresh = NULL;
	for (int spins = 0;; spins++) {
		uint64_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
		weft__inj_block *b = atomic_load_explicit(&q->tail_block, memory_order_acquire);
		if (t & WEFT__INJ_FLAGS) {
			block_keep(q, fresh);
			return t & WEFT__INJ_BROKEN ? WEFT_EBROKEN : WEFT_ESHUTDOWN;
		}
		unsigned off = (unsigned)(t % WEFT__INJ_LAP);
		if (off == WEFT__INJ_SLOTS) {
			/* Another producer is installing the next block. */
			if (spins < 64)
				weft__cpu_relax();
			else
				sched_yield();
			continue;
		}
		if (off + 1 == WEFT__INJ_SLOTS && !fresh) {
			/* Taking the last slot means installing the next block:
			 * have it before claiming, so a failure queues nothing. */
			fresh = block_take(q);
			if (!fresh)
				return WEFT_ENOMEM;
			continue;
		}
		/* Fails if the queue was closed meanwhile (the flags changed
		 * the word). */
		if (!atomic_compare_exchange_weak(&q->tail, &t, t + 1))
			continue;
		if (off + 1 == WEFT__INJ_SLOTS) {
			atomic_store_explicit(&q->tail_block, fresh, memory_order_release);
			atomic_store_explicit(&b->next, fresh, memory_order_release);
			/* Past the marker; an add keeps flags a close set
			 * meanwhile. */
			atomic_fetch_add_explicit(&q->tail, 1, memory_order_release);
			fresh = NULL;
		}
		block_keep(q, fresh);
		tk->block = b;
		tk->off = off;
		return 0;
	}
}

int weft__injector_push(weft__injector *q, weft__job *job)
{
	weft__inj_ticket tk;
	int rc = weft__injector_claim(q, &tk);
	if (!rc)
		weft__injector_fill(&tk, job);
	return rc;
}

void weft__injector_close(weft__injector *q, bool broken)
{
	atomic_fetch_or(&q->tail, broken ? WEFT__INJ_BROKEN | WEFT__INJ_CLOSED : WEFT__INJ_CLOSED);
}

int weft__injector_pop(weft__injector *q, weft__job **out, int max)
{
	uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_acquire) & ~WEFT__INJ_FLAGS;
	weft__inj_block *b = q->head_block;
	int n = 0;
	while (n < max && h != t) {
		/* The slots of this block up to the tail or max, in one run. */
		unsigned off = (unsigned)(h % WEFT__INJ_LAP);
		uint64_t lim = WEFT__INJ_SLOTS - off;
		if (lim > t - h)
			lim = t - h;
		if (lim > (uint64_t)(max - n))
			lim = (uint64_t)(max - n);
		unsigned k = 0;
		for (weft__job *j;
		     k < lim && (j = atomic_load_explicit(&b->slot[off + k], memory_order_acquire));)
			out[n + k++] = j;
		n += (int)k;
		h += k;
		if (k < lim)
			break; /* its producer has claimed the slot, not filled it */
		if (off + k < WEFT__INJ_SLOTS)
			continue; /* stopped at the tail or at max */
		/* The block's last job: its producer linked the next block
		 * before storing it. No producer touches b any more. */
		weft__inj_block *next = atomic_load_explicit(&b->next, memory_order_acquire);
		h++; /* past the marker */
		q->head_block = next;
		block_keep(q, b);
		b = next;
		t = atomic_load_explicit(&q->tail, memory_order_acquire) & ~WEFT__INJ_FLAGS;
	}
	/* Release: pairs with nothing in particular but keeps the store
	 * ordered after the reads above for the emptiness checks. */
	atomic_store_explicit(&q->head, h, memory_order_release);
	return n;
}
