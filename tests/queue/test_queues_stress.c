/* Stress: 4 producers and 4 consumers pass distinct items through each
 * queue kind and engine; every item must arrive exactly once (a bitmap
 * catches duplicates, count and sum catch losses), and join must see every
 * task done.
 *
 * Short form (CI): 100000 items per queue (25000 under a sanitizer).
 * Full form: WEFT_STRESS_SCALE=n passes n * 10^6 items per queue. */
#include "wtest.h"
#include "queue/queue_impl.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

enum { PRODUCERS = 4, CONSUMERS = 4 };

struct stress {
	weft_queue *q;
	bool simple; /* no shutdown: consumers stop at NULL sentinels */
	uint64_t n;  /* items, numbered 1..n */
	_Atomic uint64_t next_producer;
	_Atomic uint64_t count, sum;
	_Atomic uint8_t *seen;
	_Atomic uint64_t duplicates;
};

static void *producer(void *arg)
{
	struct stress *s = arg;
	uint64_t p = atomic_fetch_add(&s->next_producer, 1);
	uint64_t per = s->n / PRODUCERS;
	uint64_t first = p * per + 1, last = p == PRODUCERS - 1 ? s->n : first + per - 1;
	for (uint64_t v = first; v <= last; v++) {
		/* Mix blocking, timed and nowait puts. */
		int rc;
		if (v % 7 == 0) {
			while ((rc = weft_queue_put(s->q, (void *)(uintptr_t)v, 0)) == WEFT_EFULL)
				sched_yield();
		} else if (v % 5 == 0) {
			while ((rc = weft_queue_put(s->q, (void *)(uintptr_t)v, 0.001)) == WEFT_EFULL)
				;
		} else {
			rc = weft_queue_put(s->q, (void *)(uintptr_t)v, WEFT_FOREVER);
		}
		wt_ok(rc);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct stress *s = arg;
	for (uint64_t i = 0;; i++) {
		void *x;
		int rc;
		if (i % 11 == 0) {
			while ((rc = weft_queue_get(s->q, &x, 0)) == WEFT_EEMPTY)
				sched_yield();
		} else if (i % 13 == 0) {
			while ((rc = weft_queue_get(s->q, &x, 0.001)) == WEFT_EEMPTY)
				;
		} else {
			rc = weft_queue_get(s->q, &x, WEFT_FOREVER);
		}
		if (rc == WEFT_ESHUTDOWN || (rc == 0 && x == NULL && s->simple))
			return NULL;
		wt_ok(rc);
		uint64_t v = (uintptr_t)x;
		ck_assert(v >= 1 && v <= s->n);
		if (atomic_exchange_explicit(&s->seen[v], 1, memory_order_relaxed))
			atomic_fetch_add(&s->duplicates, 1);
		atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->sum, v, memory_order_relaxed);
		if (!s->simple)
			wt_ok(weft_queue_task_done(s->q));
	}
}

static uint64_t items(void)
{
	const char *env = getenv("WEFT_STRESS_SCALE");
	if (env && *env)
		return 1000000 * (uint64_t)wt_stress_scale();
	return wt_under_sanitizer() ? 25000 : 100000;
}

static int cmp_uint(const void *a, const void *b)
{
	return ((uintptr_t)a > (uintptr_t)b) - ((uintptr_t)a < (uintptr_t)b);
}

static void run(weft_queue_opts o, bool ring)
{
	struct stress s = {.n = items(), .simple = o.kind == WEFT_QUEUE_SIMPLE};
	s.seen = calloc(s.n + 1, 1);
	ck_assert_ptr_nonnull(s.seen);
	wt_ok(weft__queue_new(&s.q, &o, ring));
	wt_thread *th[PRODUCERS + CONSUMERS];
	for (int i = 0; i < CONSUMERS; i++)
		th[PRODUCERS + i] = wt_spawn(consumer, &s);
	for (int i = 0; i < PRODUCERS; i++)
		th[i] = wt_spawn(producer, &s);
	for (int i = 0; i < PRODUCERS; i++)
		wt_join(th[i]);
	if (s.simple) {
		for (int i = 0; i < CONSUMERS; i++)
			wt_ok(weft_queue_put(s.q, NULL, WEFT_FOREVER));
	} else {
		wt_ok(weft_queue_join(s.q, 60.0)); /* every item taken and done */
		wt_ok(weft_queue_shutdown(s.q, false));
	}
	for (int i = 0; i < CONSUMERS; i++)
		wt_join(th[PRODUCERS + i]);
	ck_assert_uint_eq(atomic_load(&s.duplicates), 0);
	ck_assert_uint_eq(atomic_load(&s.count), s.n);
	ck_assert_uint_eq(atomic_load(&s.sum), s.n * (s.n + 1) / 2);
	ck_assert(weft_queue_empty(s.q));
	weft_queue_free(s.q);
	free(s.seen);
}

START_TEST(fifo_ring)
{
	run((weft_queue_opts){.maxsize = 1024}, true);
}
END_TEST

START_TEST(fifo_ring_tiny)
{
	/* Three slots, not a power of two: full and empty all the time. */
	run((weft_queue_opts){.maxsize = 3}, true);
}
END_TEST

START_TEST(fifo_locked)
{
	run((weft_queue_opts){.maxsize = 1024}, false);
}
END_TEST

START_TEST(fifo_unbounded)
{
	run((weft_queue_opts){0}, true);
}
END_TEST

START_TEST(lifo)
{
	run((weft_queue_opts){.kind = WEFT_QUEUE_LIFO, .maxsize = 64}, true);
}
END_TEST

START_TEST(priority)
{
	run((weft_queue_opts){.kind = WEFT_QUEUE_PRIORITY, .maxsize = 256, .compare = cmp_uint}, true);
}
END_TEST

START_TEST(simple)
{
	run((weft_queue_opts){.kind = WEFT_QUEUE_SIMPLE}, true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queues_stress");
	TCase *tc = wt_tcase("stress", 600);
	tcase_add_test(tc, fifo_ring);
	tcase_add_test(tc, fifo_ring_tiny);
	tcase_add_test(tc, fifo_locked);
	tcase_add_test(tc, fifo_unbounded);
	tcase_add_test(tc, lifo);
	tcase_add_test(tc, priority);
	tcase_add_test(tc, simple);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
