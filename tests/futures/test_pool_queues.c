/* The pool's queues, white-box: the injector (Vyukov's MPSC list with a
 * stub) and the Chase-Lev deque, including the states the races leave. */
#include "futures_util.h"
#include "futures/deque.h"
#include "futures/injector.h"

static weft__job jobs[64];

START_TEST(injector_fifo_and_empty)
{
	weft__injector q;
	weft__injector_init(&q);
	ck_assert(!weft__injector_nonempty(&q));
	weft__injector_lock(&q);
	ck_assert_ptr_null(weft__injector_pop(&q));
	weft__injector_unlock(&q);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++)
			weft__injector_push(&q, &jobs[i]);
		ck_assert(weft__injector_nonempty(&q));
		ck_assert(weft__injector_trylock(&q));
		ck_assert(!weft__injector_trylock(&q)); /* one consumer at a time */
		for (int i = 0; i < 10; i++)
			ck_assert_ptr_eq(weft__injector_pop(&q), &jobs[i]);
		ck_assert_ptr_null(weft__injector_pop(&q));
		weft__injector_unlock(&q);
		ck_assert(!weft__injector_nonempty(&q));
	}
}
END_TEST

START_TEST(injector_stub_behind_jobs_is_not_empty)
{
	/* The state a race leaves: the consumer took the head to job A and
	 * re-queued the stub after a producer had swapped the tail to B but
	 * before it linked A to B. The stub is the tail, with jobs before it:
	 * the queue must not look empty. */
	weft__injector q;
	weft__injector_init(&q);
	weft__job *a = &jobs[0], *b = &jobs[1];
	weft__injector_push(&q, a);
	atomic_store(&q.head, a); /* consumer: past the stub, to A */
	atomic_store(&b->next, NULL);
	weft__job *prev = atomic_exchange(&q.tail, b); /* producer: half of a push */
	ck_assert_ptr_eq(prev, a);
	weft__injector_push(&q, &q.stub); /* consumer: re-queues the stub (after B) */
	atomic_store(&prev->next, b);     /* producer: the other half */
	ck_assert_ptr_eq(atomic_load(&q.tail), &q.stub);
	ck_assert(weft__injector_nonempty(&q));
	weft__injector_lock(&q);
	ck_assert_ptr_eq(weft__injector_pop(&q), a);
	ck_assert_ptr_eq(weft__injector_pop(&q), b);
	ck_assert_ptr_null(weft__injector_pop(&q));
	weft__injector_unlock(&q);
	ck_assert(!weft__injector_nonempty(&q));
}
END_TEST

START_TEST(injector_producer_midway)
{
	/* A producer between its exchange and its link: the queue is not
	 * empty, but the consumer cannot pass the gap yet. */
	weft__injector q;
	weft__injector_init(&q);
	weft__injector_push(&q, &jobs[0]);
	atomic_store(&jobs[1].next, NULL);
	weft__job *prev = atomic_exchange(&q.tail, &jobs[1]);
	weft__injector_lock(&q);
	ck_assert_ptr_null(weft__injector_pop(&q)); /* jobs[0] waits for the link */
	ck_assert(weft__injector_nonempty(&q));
	atomic_store(&prev->next, &jobs[1]);
	ck_assert_ptr_eq(weft__injector_pop(&q), &jobs[0]);
	ck_assert_ptr_eq(weft__injector_pop(&q), &jobs[1]);
	ck_assert_ptr_null(weft__injector_pop(&q));
	weft__injector_unlock(&q);
	ck_assert(!weft__injector_nonempty(&q));
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
		weft__injector_push(p->q, &p->mine[i]);
	return NULL;
}

START_TEST(injector_many_producers)
{
	enum { P = 3, N = 20000 };
	static weft__job many[P][N];
	weft__injector q;
	weft__injector_init(&q);
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
		weft__job *j = weft__injector_pop(&q);
		weft__injector_unlock(&q);
		if (!j) {
			ck_assert(total < (long)P * N);
			continue;
		}
		int p = (int)((j - &many[0][0]) / N);
		ck_assert_int_ge(p, 0);
		ck_assert_int_lt(p, P);
		/* Each producer's jobs come out in its order. */
		ck_assert_ptr_eq(j, &many[p][got[p]]);
		got[p]++;
		total++;
	}
	for (int i = 0; i < P; i++)
		wt_join(t[i]);
	ck_assert(!weft__injector_nonempty(&q));
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
	ck_assert_ptr_eq(weft__deque_steal(&d), &jobs[0]);
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
	tcase_add_test(tc, injector_stub_behind_jobs_is_not_empty);
	tcase_add_test(tc, injector_producer_midway);
	tcase_add_test(tc, injector_many_producers);
	tcase_add_test(tc, deque_owner_and_thief);
	tcase_add_test(tc, deque_races_take_each_job_once);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
