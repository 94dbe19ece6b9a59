/* weft/queue.h under injected allocation failures (wfault.h): creating a
 * queue of each kind fails with WEFT_ENOMEM at every allocation it makes
 * and leaks nothing (ASan); a put that needs the locked engine's store to
 * grow fails with WEFT_ENOMEM, changes nothing (size, order, unfinished
 * tasks) and the queue stays usable; a get whose store would shrink loses
 * no item when that allocation fails. Faults are armed around one call and
 * disarmed before any assertion (Check allocates). */
#include "queue_test.h"
#include "wfault.h"

enum { MAX_ALLOCS = 16, MAX_ITEMS = 4096 };

/* The queue configurations: every engine and kind, the ring included. */
enum { C_RING, C_FIFO_UNBOUNDED, C_FIFO_LOCKED_BOUNDED, C_LIFO, C_PRIO, C_SIMPLE, C_COUNT };

static int new_queue(int config, weft_queue **q)
{
	weft_queue_opts o = {0};
	bool ring = true;
	switch (config) {
	case C_RING:
		o.maxsize = 1024;
		break;
	case C_FIFO_LOCKED_BOUNDED:
		o.maxsize = 1024;
		ring = false;
		break;
	case C_LIFO:
		o.kind = WEFT_QUEUE_LIFO;
		break;
	case C_PRIO:
		o.kind = WEFT_QUEUE_PRIORITY;
		o.compare = cmp_uint;
		break;
	case C_SIMPLE:
		o.kind = WEFT_QUEUE_SIMPLE;
		break;
	}
	return weft__queue_new(q, &o, ring);
}

/* Puts and gets a few items: the queue works. */
static void queue_works(weft_queue *q)
{
	for (uintptr_t i = 1; i <= 3; i++)
		wt_ok(weft_queue_put(q, I(i), 0));
	uintptr_t sum = 0;
	for (int i = 0; i < 3; i++)
		sum += U(get_or_die(q));
	ck_assert_uint_eq(sum, 6);
	void *x;
	wt_rc(weft_queue_get(q, &x, 0), WEFT_EEMPTY);
}

START_TEST(new_out_of_memory)
{
	int config = _i;
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		weft_queue *q = NULL;
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc = new_queue(config, &q);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(hits, 1);
			continue;
		}
		queue_works(q);
		weft_queue_free(q);
		if (!hits)
			break; /* every allocation of the call has failed once */
	}
}
END_TEST

/* Items leave in this order for the configuration, from n items put as
 * 1..n. */
static uintptr_t nth_out(int config, uintptr_t i, uintptr_t n)
{
	return config == C_LIFO ? n - i : i + 1;
}

/* Puts with every allocation failing until the store has to grow: that put
 * fails with ENOMEM at once (even without a timeout), nothing changes, and
 * the same put succeeds once memory is back. */
START_TEST(put_out_of_memory)
{
	int config = _i;
	weft_queue *q;
	wt_ok(new_queue(config, &q));
	ck_assert(!q->is_ring);
	wt_ok(weft_queue_put(q, I(1), 0)); /* the store's first buffer */
	uintptr_t n = 1;
	int rc = 0;
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	while (n < MAX_ITEMS && (rc = weft_queue_put(q, I(n + 1), WEFT_FOREVER)) == 0)
		n++;
	int hits = wt_fault_hits();
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	ck_assert_int_eq(hits, 1);
	ck_assert_uint_gt(n, 1);
	ck_assert_uint_eq(weft_queue_qsize(q), n);
	if (config != C_SIMPLE)
		ck_assert_uint_eq(weft_queue_unfinished_tasks(q), n);
	/* A failed put with a timeout: the same code, no waiting. */
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	rc = weft_queue_put(q, I(n + 1), 0.5);
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	wt_ok(weft_queue_put(q, I(n + 1), WEFT_FOREVER));
	n++;
	ck_assert_uint_eq(weft_queue_qsize(q), n);
	for (uintptr_t i = 0; i < n; i++)
		ck_assert_uint_eq(U(get_or_die(q)), nth_out(config, i, n));
	queue_works(q);
	weft_queue_free(q);
}
END_TEST

/* Gets that would shrink the store keep its buffer when that allocation
 * fails: every item still comes out once, in order. */
START_TEST(shrink_out_of_memory)
{
	int config = _i;
	weft_queue *q;
	wt_ok(new_queue(config, &q));
	const uintptr_t n = 1000;
	for (uintptr_t i = 1; i <= n; i++)
		wt_ok(weft_queue_put(q, I(i), 0));
	uintptr_t bad = 0;
	for (uintptr_t i = 0; i < n; i++) {
		void *x = NULL;
		wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
		int rc = weft_queue_get(q, &x, 0);
		wt_fault_disarm();
		if (rc || U(x) != nth_out(config, i, n))
			bad++;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(weft_queue_qsize(q), 0);
	queue_works(q);
	weft_queue_free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queues_faults");
	TCase *tc = wt_tcase("faults", 60);
	tcase_add_loop_test(tc, new_out_of_memory, 0, C_COUNT);
	tcase_add_loop_test(tc, put_out_of_memory, C_FIFO_UNBOUNDED, C_COUNT);
	tcase_add_loop_test(tc, shrink_out_of_memory, C_FIFO_UNBOUNDED, C_COUNT);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
