/* src/sched/sched_int.h - the scheduler's internals, shared by sched.c
 * (entering, cancelling, snapshots), run.c (the run loop) and heap.c.
 *
 * Events live in slots (an array indexed by the handle's low half; the
 * high half is the slot's generation, bumped each time the slot is freed,
 * so a stale handle never names a newer event). The queue is a 4-ary
 * min-heap of 16-byte entries (time, priority, slot): four children fill
 * one cache line. One-shot events entered in bulk skip the heap: they wait
 * in a pending batch that run() sorts at once into a sorted run (batch.c);
 * the queue's top is the earliest of the three. Cancelling marks the slot
 * dead and leaves its entry where it is (no search); dead entries are
 * dropped when they reach the top, or all at once when they outnumber the
 * live ones. A slot is freed only when its entry is gone, so entries always
 * compare by stable keys. */
#ifndef WEFT_SCHED_INT_H
#define WEFT_SCHED_INT_H

#include "core/core.h"

#include <pthread.h>
#include <weft/sched.h>

enum slot_state {
	SLOT_FREE = 0,
	SLOT_QUEUED,  /* live, in the heap */
	SLOT_DEAD,    /* cancelled, its entry still in the heap */
	SLOT_RUNNING, /* a periodic event whose action runs now (not in the heap) */
	SLOT_STOPPED, /* a periodic event cancelled while its action ran */
};

typedef struct weft__sched_slot {
	weft_sched_action action;
	void *arg;
	uint64_t seq;    /* insertion order: the last key */
	double interval; /* > 0: periodic */
	uint32_t gen;    /* >= 1; bumped when the slot is freed */
	uint32_t next_free;
	uint8_t state;
	uint8_t missed; /* weft_sched_missed, periodic only */
} weft__sched_slot;

typedef struct weft__sched_entry {
	double time;
	int32_t priority;
	uint32_t slot;
} weft__sched_entry;

struct weft_scheduler {
	pthread_mutex_t mu; /* guards everything below but wake_word */
	weft_sched_timefunc timefunc;
	weft_sched_delayfunc delayfunc; /* NULL: the default sleep */
	void *ctx;

	void *heap_mem;          /* 64-byte aligned allocation */
	weft__sched_entry *heap; /* logical index 0 = the top; children of k at 4k+1..4k+4 */
	size_t n, cap;           /* heap entries (live and dead) */
	size_t dead;             /* dead entries, wherever they are */
	size_t live;             /* queued events */
	/* Periodic events whose action runs now: out of the heap, coming
	 * back. Entering keeps n + reserved <= cap, so a next tick always has
	 * its place and never fails for memory (an enter does instead). */
	size_t reserved;

	/* batch.c: the pending batch pend[0..npend) (entry order; pend_min is
	 * its earliest) and the sorted run sorted[spos..send); spare is the
	 * sort's second buffer. Entering keeps batch_cap, the size of all
	 * three, >= (send - spos) + npend, so settling never allocates. */
	weft__sched_entry *pend, *spare, *sorted;
	size_t npend, pend_min, spos, send, batch_cap;

	weft__sched_slot *slots;
	uint32_t nslots, free_head; /* free list through next_free; UINT32_MAX: empty */
	uint64_t seq;

	/* The default sleep parks on wake_word; enter bumps it (under mu) and
	 * wakes the sleepers when a new event becomes the top. */
	_Atomic uint32_t wake_word;
	int sleepers; /* threads in the default sleep, under mu */
};

/* Heap operations (heap.c), all under mu. push may fail with ENOMEM. */
int weft__sched_push(weft_scheduler *s, weft__sched_entry e);
weft__sched_entry weft__sched_pop(weft_scheduler *s);
/* Drops every dead entry and frees their slots, then restores the heap. */
void weft__sched_compact(weft_scheduler *s);
/* true when a runs before b. */
bool weft__sched_before(const weft_scheduler *s, weft__sched_entry a, weft__sched_entry b);

/* Where the queue's earliest entry is. */
typedef enum {
	WEFT__SCHED_NONE, /* the queue is empty */
	WEFT__SCHED_HEAP,
	WEFT__SCHED_SORTED,
	WEFT__SCHED_PEND,
} weft__sched_from;

/* The whole queue (batch.c), under mu. pend adds a one-shot event's entry
 * (ENOMEM); settle moves the pending batch into the heap or the sorted run
 * (never fails); top reads the earliest entry wherever it is and says
 * where; take removes the entry top just found, which must be in the heap
 * or the sorted run (settle first); compact_all drops every dead entry. */
int weft__sched_pend(weft_scheduler *s, weft__sched_entry e);
void weft__sched_settle(weft_scheduler *s);
weft__sched_from weft__sched_top(const weft_scheduler *s, weft__sched_entry *top);
void weft__sched_take(weft_scheduler *s, weft__sched_from from);
void weft__sched_compact_all(weft_scheduler *s);
void weft__sched_batch_free(weft_scheduler *s);

/* Slots (sched.c), under mu. */
void weft__sched_free_slot(weft_scheduler *s, uint32_t idx);
/* Drops dead entries from the top of a settled queue. */
void weft__sched_drop_dead(weft_scheduler *s);
/* Queues slot idx (state QUEUED, a new sequence number) at time, in the
 * heap when it is periodic, in the pending batch otherwise; wakes a
 * default sleeper (returns true: call weft__sched_wake after unlocking)
 * when it became the top. ENOMEM leaves the slot as it was. */
int weft__sched_queue_slot(weft_scheduler *s, uint32_t idx, double time, int priority, bool *wake);
void weft__sched_wake(weft_scheduler *s);

#endif
