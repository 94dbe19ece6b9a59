/* Entered events in bulk: the pending batch and the sorted run.
 *
 * A one-shot event entered while run() is not looking goes to `pend`, an
 * unsorted array in entry order (so in sequence order), with the index of
 * its earliest entry kept up to date. When run() next looks at the queue
 * (weft__sched_settle), a small batch is pushed into the heap one entry at
 * a time; a large one is radix-sorted at once (stable, so equal keys keep
 * their entry order) and merged into `sorted`, an array in run order that
 * run() consumes from the front. Entering N events and then draining them
 * costs a sort and a scan instead of N heap pops, each of which misses the
 * cache at every level of a large heap.
 *
 * The queue's top is the earliest of the heap's top, sorted's first entry
 * and pend's earliest. Periodic events never go through pend: their next
 * tick needs the heap place reserved for it (sched_int.h).
 *
 * Memory: three buffers of one size (pend, spare, sorted), which
 * weft__sched_pend grows while entering so that each holds the run and the
 * batch together; settling then never allocates and never fails, and only
 * entering reports ENOMEM. */
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

/* Below this many pending entries, or when the sorted run is more than
 * MERGE_RATIO times longer than the batch, heap pushes are cheaper than
 * a sort and a merge that copies the whole run. */
enum { SORT_MIN = 32, MERGE_RATIO = 16 };

/* Grows *v to hold cap entries, keeping its contents. */
static int grow_to(weft__sched_entry **v, size_t cap)
{
	weft__sched_entry *p = realloc(*v, cap * sizeof *p);
	if (!p)
		return WEFT_ENOMEM;
	*v = p;
	return 0;
}

int weft__sched_pend(weft_scheduler *s, weft__sched_entry e)
{
	size_t need = (s->send - s->spos) + s->npend + 1;
	if (need > s->batch_cap) {
		size_t cap = s->batch_cap ? s->batch_cap : 64;
		while (cap < need)
			cap *= 2;
		/* A failure part way leaves some buffers larger: harmless,
		 * batch_cap stays what all three have. */
		if (grow_to(&s->pend, cap) || grow_to(&s->spare, cap) || grow_to(&s->sorted, cap))
			return WEFT_ENOMEM;
		s->batch_cap = cap;
	}
	if (s->npend == 0 || weft__sched_before(s, e, s->pend[s->pend_min]))
		s->pend_min = s->npend;
	s->pend[s->npend++] = e;
	return 0;
}

/* The sort's keys, written over the times while it runs: a finite double's
 * bits with the sign bit flipped for positives and every bit flipped for
 * negatives order as unsigned integers as the doubles do (-0.0 becomes
 * 0.0, which compares equal to it). key_time undoes it. */
static void time_to_key(weft__sched_entry *e)
{
	uint64_t b;
	double t = e->time == 0 ? 0 : e->time;
	memcpy(&b, &t, sizeof b);
	b = b >> 63 ? ~b : b | (UINT64_C(1) << 63);
	memcpy(&e->time, &b, sizeof b);
}

static void key_to_time(weft__sched_entry *e)
{
	uint64_t b;
	memcpy(&b, &e->time, sizeof b);
	b = b >> 63 ? b & ~(UINT64_C(1) << 63) : ~b;
	memcpy(&e->time, &b, sizeof b);
}

static uint64_t key_of(const weft__sched_entry *e)
{
	uint64_t b;
	memcpy(&b, &e->time, sizeof b);
	return b;
}

/* Byte `pass` of the sort key: 0..3 the priority's (sign bit flipped),
 * 4..11 the time key's, least significant first. */
static unsigned digit(const weft__sched_entry *e, int pass)
{
	if (pass < 4)
		return ((uint32_t)e->priority ^ UINT32_C(0x80000000)) >> (8 * pass) & 0xff;
	return key_of(e) >> (8 * (pass - 4)) & 0xff;
}

/* Sorts v[0..n) by (time, priority), stably: least significant byte
 * first, skipping the bytes every entry shares (the priority's, usually,
 * and the time's sign and high exponent bits). Returns whichever of v and
 * tmp holds the result. */
static weft__sched_entry *radix_sort(weft__sched_entry *v, weft__sched_entry *tmp, size_t n)
{
	uint32_t count[12][256];
	memset(count, 0, sizeof count);
	for (size_t i = 0; i < n; i++) {
		time_to_key(&v[i]);
		for (int pass = 0; pass < 12; pass++)
			count[pass][digit(&v[i], pass)]++;
	}
	for (int pass = 0; pass < 12; pass++) {
		uint32_t *c = count[pass];
		if (c[digit(&v[0], pass)] == n)
			continue; /* one value: the pass would change nothing */
		size_t at[256], sum = 0;
		for (int d = 0; d < 256; d++) {
			at[d] = sum;
			sum += c[d];
		}
		for (size_t i = 0; i < n; i++)
			tmp[at[digit(&v[i], pass)]++] = v[i];
		weft__sched_entry *x = v;
		v = tmp;
		tmp = x;
	}
	for (size_t i = 0; i < n; i++)
		key_to_time(&v[i]);
	return v;
}

/* Sorts the whole batch and merges it with the rest of the sorted run.
 * The three buffers trade roles: the sort ping-pongs between pend and
 * spare, the merge writes into whichever of them is free, and that one
 * becomes the run (with no run left, the sorted batch itself does). All
 * three hold batch_cap >= (send - spos) + npend entries. */
static void sort_and_merge(weft_scheduler *s)
{
	size_t k = s->npend;
	weft__sched_entry *b = radix_sort(s->pend, s->spare, k);
	weft__sched_entry *other = b == s->pend ? s->spare : s->pend;
	weft__sched_entry *old = s->sorted;
	if (s->spos == s->send) {
		s->sorted = b;
		s->pend = other;
		s->send = k;
	} else {
		const weft__sched_entry *r = old + s->spos, *rend = old + s->send;
		weft__sched_entry *out = other;
		size_t j = 0;
		while (r < rend && j < k)
			*out++ = weft__sched_before(s, b[j], *r) ? b[j++] : *r++;
		while (r < rend)
			*out++ = *r++;
		while (j < k)
			*out++ = b[j++];
		s->sorted = other;
		s->pend = b;
		s->send = (size_t)(out - other);
	}
	s->spare = old;
	s->spos = 0;
}

void weft__sched_settle(weft_scheduler *s)
{
	size_t k = s->npend, run = s->send - s->spos;
	if (k == 0)
		return;
	size_t done = 0;
	if (k < SORT_MIN || k * MERGE_RATIO < run)
		while (done < k && weft__sched_push(s, s->pend[done]) == 0)
			done++;
	if (done < k) { /* a large batch, or the heap could not grow */
		if (done)
			memmove(s->pend, s->pend + done, (k - done) * sizeof *s->pend);
		s->npend = k - done;
		sort_and_merge(s);
	}
	s->npend = 0;
}

weft__sched_from weft__sched_top(const weft_scheduler *s, weft__sched_entry *top)
{
	weft__sched_from from = WEFT__SCHED_NONE;
	if (s->n) {
		*top = s->heap[0];
		from = WEFT__SCHED_HEAP;
	}
	if (s->spos < s->send && (!from || weft__sched_before(s, s->sorted[s->spos], *top))) {
		*top = s->sorted[s->spos];
		from = WEFT__SCHED_SORTED;
	}
	if (s->npend && (!from || weft__sched_before(s, s->pend[s->pend_min], *top))) {
		*top = s->pend[s->pend_min];
		from = WEFT__SCHED_PEND;
	}
	return from;
}

/* How far ahead of the sorted run's front to fetch slots: an action's slot
 * is read when its event runs, and the run's slots are in random order. */
enum { SLOT_PREFETCH = 8 };

void weft__sched_take(weft_scheduler *s, weft__sched_from from)
{
	if (from == WEFT__SCHED_HEAP) {
		weft__sched_pop(s);
		return;
	}
	if (s->spos + SLOT_PREFETCH < s->send)
		__builtin_prefetch(&s->slots[s->sorted[s->spos + SLOT_PREFETCH].slot]);
	if (++s->spos == s->send)
		s->spos = s->send = 0;
}

/* Keeps the live entries of v[from..to) in order, moved to start at from;
 * frees the dead ones' slots. Returns where the kept entries end. */
static size_t filter_dead(weft_scheduler *s, weft__sched_entry *v, size_t from, size_t to)
{
	size_t k = from;
	for (size_t i = from; i < to; i++) {
		if (s->slots[v[i].slot].state == SLOT_DEAD)
			weft__sched_free_slot(s, v[i].slot);
		else
			v[k++] = v[i];
	}
	return k;
}

void weft__sched_compact_all(weft_scheduler *s)
{
	weft__sched_compact(s); /* the heap; resets dead */
	s->send = filter_dead(s, s->sorted, s->spos, s->send);
	if (s->send == s->spos)
		s->spos = s->send = 0;
	s->npend = filter_dead(s, s->pend, 0, s->npend);
	s->pend_min = 0;
	for (size_t i = 1; i < s->npend; i++)
		if (weft__sched_before(s, s->pend[i], s->pend[s->pend_min]))
			s->pend_min = i;
}

void weft__sched_batch_free(weft_scheduler *s)
{
	free(s->pend);
	free(s->spare);
	free(s->sorted);
}
