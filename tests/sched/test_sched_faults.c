/* sched under injected ENOMEM (tests/common/wfault.h): scheduler_new,
 * enter (crossing every growth of the heap and of the event slots), every
 * and the queue snapshot fail in turn with WEFT_ENOMEM, change nothing,
 * leak nothing (ASan), and the next call works. A periodic event's next
 * tick needs no memory: it never stops for want of it. */
#include "wfault.h"
#include "wtest.h"

#include <stdint.h>
#include <stdlib.h>

static int count(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

START_TEST(new_enomem_each_allocation)
{
	int failures = 0;
	for (int skip = 0;; skip++) {
		weft_scheduler *s = (weft_scheduler *)1;
		wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
		int rc = weft_scheduler_new(&s, NULL);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (!hits) {
			wt_ok(rc);
			weft_scheduler_free(s);
			break;
		}
		failures++;
		wt_rc(rc, WEFT_ENOMEM);
	}
	ck_assert_int_ge(failures, 1);
}
END_TEST

/* Every enter may fail once: the queue keeps what it had, in order, and a
 * retry enters the event. 1000 events cross every growth. */
START_TEST(enter_enomem_keeps_the_queue)
{
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	int ran = 0, failures = 0;
	enum { N = 1000 };
	for (int i = 0; i < N; i++) {
		double t = (double)((i * 7919) % N); /* all distinct, shuffled */
		weft_sched_event ev = {0};
		wt_fault_arm(WT_FAULT_ALLOC, 0, 1);
		int rc = i % 2 ? weft_sched_enterabs(s, t, 0, count, &ran, &ev)
		               : weft_sched_enter(s, t, 0, count, &ran, &ev);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (hits) {
			failures++;
			wt_rc(rc, WEFT_ENOMEM);
			wt_ok(i % 2 ? weft_sched_enterabs(s, t, 0, count, &ran, &ev)
			            : weft_sched_enter(s, t, 0, count, &ran, &ev));
		} else {
			wt_ok(rc);
		}
	}
	ck_assert_int_ge(failures, 3); /* the heap and the slots grew */
	weft_sched_entry *q;
	size_t n;
	/* the snapshot fails alone, then works */
	wt_fault_arm(WT_FAULT_ALLOC, 0, 1);
	int rc = weft_sched_queue(s, &q, &n);
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	wt_ok(weft_sched_queue(s, &q, &n));
	ck_assert_uint_eq(n, N);
	for (size_t i = 0; i < n; i++)
		ck_assert(q[i].time == (double)i);
	free(q);
	wt_ok(weft_sched_run(s, true, NULL));
	ck_assert_int_eq(ran, N);
	weft_scheduler_free(s);
}
END_TEST

/* The first enter past 64 events grows the slots and the three buffers
 * of the pending batch, one allocation each: whichever fails, the enter
 * reports ENOMEM and queues nothing, a retry works, and all 65 events run
 * in time order. */
static int ran_order[65], nran_order;

static int note_order(void *arg)
{
	ran_order[nran_order++] = (int)(intptr_t)arg;
	return 0;
}

START_TEST(batch_growth_enomem_each_step)
{
	for (int skip = 0; skip < 6; skip++) {
		weft_sched_vclock clk = {0};
		weft_sched_opts o = weft_sched_virtual_opts(&clk);
		weft_scheduler *s;
		wt_ok(weft_scheduler_new(&s, &o));
		nran_order = 0;
		for (int i = 0; i < 64; i++) /* event i at time 64 - i */
			wt_ok(weft_sched_enterabs(s, 64 - i, 0, note_order, (void *)(intptr_t)i, NULL));
		wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
		int rc = weft_sched_enterabs(s, 0.5, 0, note_order, (void *)(intptr_t)64, NULL);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (hits) {
			wt_rc(rc, WEFT_ENOMEM);
			weft_sched_entry *q;
			size_t n;
			wt_ok(weft_sched_queue(s, &q, &n));
			ck_assert_uint_eq(n, 64); /* nothing was queued */
			free(q);
			wt_ok(weft_sched_enterabs(s, 0.5, 0, note_order, (void *)(intptr_t)64, NULL));
		} else {
			wt_ok(rc);
		}
		wt_ok(weft_sched_run(s, true, NULL));
		ck_assert_int_eq(nran_order, 65);
		ck_assert_int_eq(ran_order[0], 64);
		for (int i = 1; i < 65; i++)
			ck_assert_int_eq(ran_order[i], 64 - i);
		weft_scheduler_free(s);
	}
}
END_TEST

/* A periodic action that enters events (taking the heap's spare room)
 * while allocation fails: its next tick is still queued. */
typedef struct {
	weft_scheduler *s;
	int ticks, filler, ran, enomem;
} tick_state;

static int tick(void *arg)
{
	tick_state *t = arg;
	wt_fault_disarm(); /* armed by the previous tick */
	t->ticks++;
	if (t->ticks == 5)
		return 1; /* a non-zero return ends run() */
	/* 64 events more: the slots grow past the heap (this tick's slot is
	 * in use, its entry is not in the heap), and the heap is left full
	 * if no place was kept for the tick. Then allocation fails: entering
	 * more fails, and the tick returns with allocation still failing, so
	 * its next tick must be queued without memory. */
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(weft_sched_enterabs(t->s, 1e9 + t->filler++, 0, count, &t->ran, NULL), 0);
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	for (int i = 0; i < 1000; i++)
		if (weft_sched_enterabs(t->s, 1e9 + t->filler++, 0, count, &t->ran, NULL) == WEFT_ENOMEM) {
			t->enomem++;
			break;
		}
	return 0;
}

START_TEST(periodic_tick_needs_no_memory)
{
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	tick_state t = {0};
	wt_ok(weft_scheduler_new(&t.s, &o));
	wt_ok(weft_sched_every(t.s, 1.0, 0, tick, &t, WEFT_SCHED_CATCH_UP, NULL));
	int rc = weft_sched_run(t.s, true, NULL);
	wt_fault_disarm();
	ck_assert_int_eq(rc, 1); /* the fifth tick's return ends run */
	ck_assert_int_eq(t.ticks, 5);
	ck_assert_int_eq(t.enomem, 4); /* every tick's extra enter failed */
	weft_scheduler_free(t.s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sched_faults");
	TCase *tc = wt_tcase("faults", 60);
	tcase_add_test(tc, new_enomem_each_allocation);
	tcase_add_test(tc, enter_enomem_keeps_the_queue);
	tcase_add_test(tc, batch_growth_enomem_each_step);
	tcase_add_test(tc, periodic_tick_needs_no_memory);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
