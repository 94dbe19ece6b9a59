/* The pool's queues, white-box: the injector (job pointers in linked
 * blocks) and the Chase-Lev deque, including the states the races leave. */
#include "futures_util.h"
#include "wfault.h"
#include "futures/deque.h"
#include "futures/injector.h"

static weft__job jobs[64];

/* One job from the injector, or NULL (lock held by the caller). */
static weft__job *pop1(weft__injector *q)
{
	weft__job *j;
	return weft__injector_pop(q, &j, 1) ? j : NULL;
}

START_TEST(injector_fifo_and_empty)
{
	/* Across several blocks, with batches of every size. */
	enum { N = 3 * WEFT__INJ_SLOTS + 5 };
	static weft__job many[N];
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	ck_assert(!weft__injector_nonempty(&q));
	weft__injector_lock(&q);
	ck_assert_ptr_null(pop1(&q));
	weft__injector_unlock(&q);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++)
			wt_ok(weft__injector_push(&q, &many[i]));
		ck_assert(weft__injector_nonempty(&q));
		ck_assert(weft__injector_trylock(&q));
		ck_assert(!weft__injector_trylock(&q)); /* one consumer at a time */
		int got = 0, want = 1 + round;
		weft__job *out[8];
		for (int k; (k = weft__injector_pop(&q, out, want));) {
			ck_assert_int_le(k, want);
			for (int i = 0; i < k; i++)
				ck_assert_ptr_eq(out[i], &many[got++]);
		}
		ck_assert_int_eq(got, N);
		ck_assert_ptr_null(pop1(&q));
		weft__injector_unlock(&q);
		ck_assert(!weft__injector_nonempty(&q));
	}
	weft__injector_destroy(&q);
}
END_TEST

START_TEST(injector_producer_midway)
{
	/* A producer between its claim and its store: the queue is not
	 * empty, but the consumer cannot pass the empty slot yet. */
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	wt_ok(weft__injector_push(&q, &jobs[0]));
	uint64_t t = atomic_fetch_add(&q.tail, 1); /* claim, no store yet */
	wt_ok(weft__injector_push(&q, &jobs[2]));
	weft__injector_lock(&q);
	ck_assert_ptr_eq(pop1(&q), &jobs[0]);
	ck_assert_ptr_null(pop1(&q)); /* the gap */
	ck_assert(weft__injector_nonempty(&q));
	atomic_store(&atomic_load(&q.tail_block)->slot[t], &jobs[1]);
	ck_assert_ptr_eq(pop1(&q), &jobs[1]);
	ck_assert_ptr_eq(pop1(&q), &jobs[2]);
	ck_assert_ptr_null(pop1(&q));
	weft__injector_unlock(&q);
	ck_assert(!weft__injector_nonempty(&q));
	weft__injector_destroy(&q);
}
END_TEST

START_TEST(injector_block_change)
{
	/* The last slot of a block is taken by the producer that links the
	 * next block; a consumer that took it moves on, and the consumed
	 * block becomes a spare for the next installer. */
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	weft__inj_block *first = atomic_load(&q.tail_block);
	static weft__job many[2 * WEFT__INJ_SLOTS];
	for (int i = 0; i < WEFT__INJ_SLOTS; i++)
		wt_ok(weft__injector_push(&q, &many[i]));
	ck_assert_ptr_ne(atomic_load(&q.tail_block), first);
	ck_assert_uint_eq(atomic_load(&q.tail), WEFT__INJ_LAP);
	weft__injector_lock(&q);
	weft__job *out[WEFT__INJ_SLOTS + 1];
	ck_assert_int_eq(weft__injector_pop(&q, out, WEFT__INJ_SLOTS + 1), WEFT__INJ_SLOTS);
	ck_assert_ptr_eq(out[WEFT__INJ_SLOTS - 1], &many[WEFT__INJ_SLOTS - 1]);
	weft__injector_unlock(&q);
	ck_assert(!weft__injector_nonempty(&q));
	ck_assert_ptr_eq(q.spares, first);
	ck_assert_int_eq(q.nspares, 1);
	for (int i = 0; i < WEFT__INJ_SLOTS; i++)
		wt_ok(weft__injector_push(&q, &many[WEFT__INJ_SLOTS + i]));
	ck_assert_ptr_eq(atomic_load(&q.tail_block), first); /* reused */
	ck_assert_ptr_null(q.spares);
	ck_assert_int_eq(q.nspares, 0);
	weft__injector_lock(&q);
	for (int i = 0; i < WEFT__INJ_SLOTS; i++)
		ck_assert_ptr_eq(pop1(&q), &many[WEFT__INJ_SLOTS + i]);
	ck_assert_ptr_null(pop1(&q));
	weft__injector_unlock(&q);
	weft__injector_destroy(&q);
}
END_TEST

START_TEST(injector_keeps_spares_bounded)
{
	/* Consumed blocks are kept, up to WEFT__INJ_SPARES, and a later burst
	 * installs them without allocating. */
	enum { BLOCKS = WEFT__INJ_SPARES + 3 };
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	static weft__job one;
	weft__job *out[64];
	for (int round = 0; round < 2; round++) {
		int fails = 0;
		if (round == 1)
			wt_fault_arm(WT_FAULT_ALLOC, 0, -1); /* no malloc may succeed */
		for (long i = 0; i < (long)(round ? WEFT__INJ_SPARES : BLOCKS) * WEFT__INJ_SLOTS; i++)
			fails += weft__injector_push(&q, &one) != 0;
		wt_fault_disarm();
		ck_assert_int_eq(fails, 0);
		weft__injector_lock(&q);
		while (weft__injector_pop(&q, out, 64) > 0)
			;
		weft__injector_unlock(&q);
		ck_assert(!weft__injector_nonempty(&q));
		ck_assert_int_eq(q.nspares, WEFT__INJ_SPARES);
	}
	weft__injector_destroy(&q);
}
END_TEST

START_TEST(injector_close)
{
	/* A claim made before the close stays queued (and keeps the queue
	 * non-empty until it is filled); claims after it fail. */
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	wt_ok(weft__injector_push(&q, &jobs[0]));
	weft__inj_ticket tk;
	wt_ok(weft__injector_claim(&q, &tk));
	weft__injector_close(&q, false);
	wt_rc(weft__injector_push(&q, &jobs[2]), WEFT_ESHUTDOWN);
	wt_rc(weft__injector_claim(&q, &tk), WEFT_ESHUTDOWN);
	weft__injector_lock(&q);
	ck_assert_ptr_eq(pop1(&q), &jobs[0]);
	ck_assert_ptr_null(pop1(&q));
	ck_assert(weft__injector_nonempty(&q)); /* the claimed slot */
	weft__injector_fill(&tk, &jobs[1]);
	ck_assert_ptr_eq(pop1(&q), &jobs[1]);
	ck_assert_ptr_null(pop1(&q));
	weft__injector_unlock(&q);
	ck_assert(!weft__injector_nonempty(&q));
	weft__injector_close(&q, true); /* broken wins over shut */
	wt_rc(weft__injector_push(&q, &jobs[2]), WEFT_EBROKEN);
	weft__injector_destroy(&q);
}
END_TEST

START_TEST(injector_close_while_a_block_is_linked)
{
	/* The close lands while the producer of a block's last slot is
	 * linking the next one: the flag survives its step past the marker. */
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	static weft__job many[WEFT__INJ_SLOTS];
	for (int i = 0; i < WEFT__INJ_SLOTS - 1; i++)
		wt_ok(weft__injector_push(&q, &many[i]));
	weft__inj_ticket tk;
	wt_ok(weft__injector_claim(&q, &tk)); /* the last slot: links a block */
	weft__injector_close(&q, false);
	ck_assert(atomic_load(&q.tail) & WEFT__INJ_CLOSED);
	ck_assert_uint_eq(atomic_load(&q.tail) & ~WEFT__INJ_FLAGS, WEFT__INJ_LAP);
	wt_rc(weft__injector_push(&q, &jobs[0]), WEFT_ESHUTDOWN);
	weft__injector_fill(&tk, &many[WEFT__INJ_SLOTS - 1]);
	weft__injector_lock(&q);
	weft__job *out[WEFT__INJ_SLOTS + 1];
	ck_assert_int_eq(weft__injector_pop(&q, out, WEFT__INJ_SLOTS + 1), WEFT__INJ_SLOTS);
	weft__injector_unlock(&q);
	ck_assert(!weft__injector_nonempty(&q));
	weft__injector_destroy(&q);
}
END_TEST

struct producer {
	weft__injector *q;
	weft__job *mine;
	int n;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < p->n; i++)
		ck_assert_int_eq(weft__injector_push(p->q, &p->mine[i]), 0);
	return NULL;
}

START_TEST(injector_many_producers)
{
	enum { P = 3, N = 20000 };
	static weft__job many[P][N];
	weft__injector q;
	wt_ok(weft__injector_init(&q));
	struct producer pr[P];
	wt_thread *t[P];
	for (int i = 0; i < P; i++) {
		pr[i] = (struct producer){&q, many[i], N};
		t[i] = wt_spawn(produce, &pr[i]);
	}
	int got[P] = {0};
	long total = 0;
	while (total < (long)P * N) {
		if (!weft__injector_trylock(&q))
			continue;
		weft__job *out[16];
		int k = weft__injector_pop(&q, out, 1 + (int)(total % 16));
		weft__injector_unlock(&q);
		for (int i = 0; i < k; i++) {
			weft__job *j = out[i];
			int p = (int)((j - &many[0][0]) / N);
			ck_assert_int_ge(p, 0);
			ck_assert_int_lt(p, P);
			/* Each producer's jobs come out in its order. */
			ck_assert_ptr_eq(j, &many[p][got[p]]);
			got[p]++;
			total++;
		}
	}
	for (int i = 0; i < P; i++)
		wt_join(t[i]);
	ck_assert(!weft__injector_nonempty(&q));
	weft__injector_destroy(&q);
}
END_TEST

START_TEST(deque_owner_and_thief)
{
	weft__deque d;
	wt_ok(weft__deque_init(&d, 4));
	ck_assert(!weft__deque_nonempty(&d));
	ck_assert_ptr_null(weft__deque_pop(&d));
	ck_assert_ptr_null(weft__deque_steal(&d));
	/* Grows past its first buffer; LIFO for the owner, FIFO for thieves. */
	for (int i = 0; i < 40; i++)
		wt_ok(weft__deque_push(&d, &jobs[i]));
	ck_assert_int_eq(weft__deque_size(&d), 40);
	/* Peek: what the pops after the next one return, NULL past the end. */
	ck_assert_ptr_eq(weft__deque_peek(&d, 0), &jobs[39]);
	ck_assert_ptr_eq(weft__deque_peek(&d, 7), &jobs[32]);
	ck_assert_ptr_eq(weft__deque_peek(&d, 39), &jobs[0]);
	ck_assert_ptr_null(weft__deque_peek(&d, 40));
	ck_assert_ptr_eq(weft__deque_steal(&d), &jobs[0]);
	ck_assert_ptr_null(weft__deque_peek(&d, 39));
	ck_assert_ptr_eq(weft__deque_pop(&d), &jobs[39]);
	ck_assert_ptr_eq(weft__deque_steal(&d), &jobs[1]);
	for (int i = 38; i >= 2; i--)
		ck_assert_ptr_eq(weft__deque_pop(&d), &jobs[i]);
	ck_assert_ptr_null(weft__deque_pop(&d));
	ck_assert_ptr_null(weft__deque_steal(&d));
	ck_assert_int_gt(weft__deque_room(&d), 0);
	weft__deque_destroy(&d);
}
END_TEST

struct thief {
	weft__deque *d;
	_Atomic int *seen;
	_Atomic int *stop;
	long got;
};

static void *steal_loop(void *arg)
{
	struct thief *t = arg;
	while (!atomic_load(t->stop) || weft__deque_nonempty(t->d)) {
		weft__job *j = weft__deque_steal(t->d);
		if (j && j != WEFT__STEAL_RETRY) {
			atomic_fetch_add(&t->seen[j - jobs], 1);
			t->got++;
		}
	}
	return NULL;
}

START_TEST(deque_races_take_each_job_once)
{
	/* The owner pushes and pops while two thieves steal: every job is
	 * taken exactly once, the last one raced for on top. */
	static _Atomic int seen[64];
	for (int round = 0; round < 2000; round++) {
		weft__deque d;
		wt_ok(weft__deque_init(&d, 16));
		_Atomic int stop = 0;
		memset((void *)seen, 0, sizeof seen);
		struct thief th[2] = {{&d, seen, &stop, 0}, {&d, seen, &stop, 0}};
		wt_thread *t[2] = {wt_spawn(steal_loop, &th[0]), wt_spawn(steal_loop, &th[1])};
		for (int i = 0; i < 64; i++) {
			wt_ok(weft__deque_push(&d, &jobs[i]));
			if (i % 3 == 2) {
				weft__job *j = weft__deque_pop(&d);
				if (j)
					atomic_fetch_add(&seen[j - jobs], 1);
			}
		}
		for (weft__job *j; (j = weft__deque_pop(&d));)
			atomic_fetch_add(&seen[j - jobs], 1);
		atomic_store(&stop, 1);
		wt_join(t[0]);
		wt_join(t[1]);
		for (int i = 0; i < 64; i++)
			ck_assert_int_eq(seen[i], 1);
		weft__deque_destroy(&d);
		if (wt_under_sanitizer() && round == 200)
			break;
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_queues");
	TCase *tc = wt_tcase("pool_queues", 60);
	tcase_add_test(tc, injector_fifo_and_empty);
	tcase_add_test(tc, injector_block_change);
	tcase_add_test(tc, injector_keeps_spares_bounded);
	tcase_add_test(tc, injector_producer_midway);
	tcase_add_test(tc, injector_close);
	tcase_add_test(tc, injector_close_while_a_block_is_linked);
	tcase_add_test(tc, injector_many_producers);
	tcase_add_test(tc, deque_owner_and_thief);
	tcase_add_test(tc, deque_races_take_each_job_once);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
