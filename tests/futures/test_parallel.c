/* parallel_for and parallel_reduce: every index exactly once, reductions
 * combined in range order, failures and cancellation stop the loop. */
#include "futures_util.h"

#include <sched.h>

/* Keeps the compiler from dropping a computation. */
#define bench_keep(x) __asm__ volatile("" : : "g"(x) : "memory")

static weft_executor *ex;

static void setup(void)
{
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 3}));
}

static void teardown(void)
{
	weft_executor_free(ex);
}

enum { N = 100000 };
static _Atomic unsigned char hits[N];

static int mark(size_t lo, size_t hi, void *arg)
{
	ck_assert(lo < hi && hi <= N);
	for (size_t i = lo; i < hi; i++)
		atomic_fetch_add_explicit(&hits[i], 1, memory_order_relaxed);
	return 0;
}

static void check_hits(size_t begin, size_t end)
{
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(hits[i], i >= begin && i < end);
	memset(hits, 0, sizeof hits);
}

START_TEST(every_index_exactly_once)
{
	const size_t grains[] = {0, 1, 7, 1000, N, 2 * N};
	for (int k = 0; k < 6; k++) {
		weft_parallel_opts o = {.executor = ex, .grain = grains[k]};
		wt_ok(weft_parallel_for(0, N, mark, NULL, &o));
		check_hits(0, N);
		wt_ok(weft_parallel_for(17, 9000, mark, NULL, &o));
		check_hits(17, 9000);
	}
	/* The compute pool. */
	wt_ok(weft_parallel_for(3, N, mark, NULL, NULL));
	check_hits(3, N);
	/* Empty ranges do nothing. */
	wt_ok(weft_parallel_for(5, 5, mark, NULL, NULL));
	wt_ok(weft_parallel_for(9, 2, mark, NULL, NULL));
	check_hits(0, 0);
}
END_TEST

/* An unbalanced loop: iteration i costs i units. */
static int triangle(size_t lo, size_t hi, void *arg)
{
	for (size_t i = lo; i < hi; i++) {
		unsigned x = 0;
		for (size_t k = 0; k < i / 64; k++)
			x += (unsigned)k;
		bench_keep(x);
		atomic_fetch_add_explicit(&hits[i], 1, memory_order_relaxed);
	}
	return 0;
}

START_TEST(unbalanced_loop)
{
	wt_ok(weft_parallel_for(0, N / 10, triangle, NULL, &(weft_parallel_opts){.executor = ex}));
	check_hits(0, N / 10);
}
END_TEST

static int sum_body(size_t lo, size_t hi, void *acc, void *arg)
{
	unsigned long long *s = acc;
	for (size_t i = lo; i < hi; i++)
		*s += i;
	return 0;
}

static void sum_combine(void *acc, const void *other, void *arg)
{
	*(unsigned long long *)acc += *(const unsigned long long *)other;
}

START_TEST(reduce_sums)
{
	const size_t grains[] = {0, 1, 100, N};
	for (int k = 0; k < 4; k++) {
		unsigned long long s = 0;
		wt_ok(weft_parallel_reduce(0, N, &s, sizeof s, sum_body, sum_combine, NULL,
		                           &(weft_parallel_opts){.executor = ex, .grain = grains[k]}));
		ck_assert(s == (unsigned long long)N * (N - 1) / 2);
	}
	/* The identity comes from *result. */
	unsigned long long s = 1000;
	wt_ok(weft_parallel_reduce(0, 10, &s, sizeof s, sum_body, sum_combine, NULL, NULL));
	ck_assert(s >= 1000 + 45); /* 1000 once per piece */
	s = 7;
	wt_ok(weft_parallel_reduce(4, 4, &s, sizeof s, sum_body, sum_combine, NULL, NULL));
	ck_assert(s == 7);
}
END_TEST

/* A non-commutative reduction: the spans must join end to start. */
typedef struct span {
	size_t lo, hi;
	int broken;
	int empty;
} span;

static int span_body(size_t lo, size_t hi, void *acc, void *arg)
{
	span *s = acc;
	if (s->empty)
		*s = (span){lo, hi, s->broken, 0};
	else if (s->hi == lo)
		s->hi = hi;
	else
		s->broken = 1;
	return 0;
}

static void span_combine(void *acc, const void *other, void *arg)
{
	span *a = acc;
	const span *b = other;
	if (b->empty)
		return;
	if (a->empty) {
		*a = *b;
		return;
	}
	if (a->hi != b->lo)
		a->broken = 1;
	a->hi = b->hi;
	a->broken |= b->broken;
}

START_TEST(reduce_combines_in_range_order)
{
	const size_t grains[] = {0, 1, 3, 64};
	for (int k = 0; k < 4; k++) {
		span s = {.empty = 1};
		wt_ok(weft_parallel_reduce(10, 50010, &s, sizeof s, span_body, span_combine, NULL,
		                           &(weft_parallel_opts){.executor = ex, .grain = grains[k]}));
		ck_assert(!s.empty && !s.broken);
		ck_assert_uint_eq(s.lo, 10);
		ck_assert_uint_eq(s.hi, 50010);
	}
}
END_TEST

static int fail_at(size_t lo, size_t hi, void *arg)
{
	size_t bad = (size_t)I(arg);
	if (lo <= bad && bad < hi)
		return weft_fail(WEFT_ERANGE, "index %zu is bad", bad);
	return 0;
}

static int fail_at_acc(size_t lo, size_t hi, void *acc, void *arg)
{
	return fail_at(lo, hi, arg);
}

START_TEST(first_failure_stops_the_loop)
{
	char err[64];
	weft_parallel_opts o = {
	    .executor = ex, .grain = 100, .error_buffer = err, .error_buffer_size = sizeof err};
	wt_rc(weft_parallel_for(0, N, fail_at, P(12345), &o), WEFT_ERANGE);
	ck_assert_str_eq(err, "index 12345 is bad");
	wt_ok(weft_parallel_for(0, 100, fail_at, P(12345), &o));
	ck_assert_str_eq(err, "");
	/* A short buffer is cut, and terminated. */
	char tiny[6];
	o.error_buffer = tiny;
	o.error_buffer_size = sizeof tiny;
	wt_rc(weft_parallel_for(0, N, fail_at, P(5), &o), WEFT_ERANGE);
	ck_assert_str_eq(tiny, "index");
	/* A reduction that fails leaves *result alone. */
	unsigned long long s = 77;
	wt_rc(weft_parallel_reduce(0, N, &s, sizeof s, fail_at_acc, sum_combine, P(999),
	                           &(weft_parallel_opts){.executor = ex}),
	      WEFT_ERANGE);
	ck_assert(s == 77);
}
END_TEST

static int wait_for_cancel(size_t lo, size_t hi, void *arg)
{
	tcount_add(arg, 1);
	/* A long computation polling its cancel scope. */
	while (!weft_cancel_check())
		sched_yield();
	return weft_cancel_check();
}

START_TEST(the_callers_scope_stops_the_loop)
{
	tcount pieces = TCOUNT_INIT;
	weft_cancel_scope s;
	wt_ok(weft_cancel_scope_enter(&s, NULL, 0.1));
	double t0 = weft_monotonic();
	wt_rc(weft_parallel_for(0, 1000, wait_for_cancel, &pieces, &(weft_parallel_opts){.executor = ex}),
	      WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	wt_ok(weft_cancel_scope_exit(&s));
	ck_assert(dt >= 0.1 && dt < 0.1 + WT_SLACK);
	ck_assert_int_lt(pieces.n, 1000); /* it stopped early */

	weft_cancel *tok;
	wt_ok(weft_cancel_new(&tok, NULL));
	wt_ok(weft_cancel_scope_enter(&s, tok, WEFT_FOREVER));
	struct canceller c = {tok, TEVENT_INIT};
	wt_thread *t = wt_spawn(cancel_later, &c);
	tevent_set(&c.go);
	wt_rc(weft_parallel_for(0, 1000, wait_for_cancel, &pieces, &(weft_parallel_opts){.executor = ex}),
	      WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&s));
	wt_join(t);
	weft_cancel_release(tok);
}
END_TEST

struct nested {
	unsigned long long total;
};

static int inner_loop(void *arg)
{
	struct nested *n = arg;
	unsigned long long s = 0;
	/* From inside a task of the same pool: the worker takes part. */
	int rc = weft_parallel_reduce(0, 10000, &s, sizeof s, sum_body, sum_combine, NULL,
	                              &(weft_parallel_opts){.executor = ex, .grain = 10});
	n->total = s;
	return rc;
}

START_TEST(nested_loops_inside_tasks)
{
	enum { G = 6 };
	struct nested n[G] = {0};
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	for (int i = 0; i < G; i++)
		wt_ok(weft_task_group_spawn(g, inner_loop, &n[i]));
	wt_ok(weft_task_group_wait(g, 60));
	for (int i = 0; i < G; i++)
		ck_assert(n[i].total == 10000ULL * 9999 / 2);
	weft_task_group_free(g);
}
END_TEST

static weft_context_var *pvar;

static int sees_var(size_t lo, size_t hi, void *arg)
{
	if (weft_context_var_get_or(pvar, NULL) != P(3))
		return weft_fail(WEFT_EINVAL, "context not copied");
	wt_ok(weft_context_var_set(pvar, P(4), NULL));
	return 0;
}

START_TEST(pieces_run_in_copies_of_the_callers_context)
{
	wt_ok(weft_context_var_new(&pvar, "p", NULL));
	wt_ok(weft_context_var_set(pvar, P(3), NULL));
	wt_ok(weft_parallel_for(0, 1000, sees_var, NULL, &(weft_parallel_opts){.executor = ex, .grain = 10}));
	ck_assert_int_eq(I(weft_context_var_get_or(pvar, NULL)), 3);
	weft_context_var_free(pvar);
}
END_TEST

START_TEST(arguments)
{
	unsigned long long s;
	wt_rc(weft_parallel_for(0, 10, NULL, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_parallel_reduce(0, 10, NULL, 8, sum_body, sum_combine, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_parallel_reduce(0, 10, &s, 0, sum_body, sum_combine, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_parallel_reduce(0, 10, &s, sizeof s, NULL, sum_combine, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_parallel_reduce(0, 10, &s, sizeof s, sum_body, NULL, NULL, NULL), WEFT_EINVAL);
	weft_executor *shut;
	wt_ok(weft_thread_pool_new(&shut, NULL));
	wt_ok(weft_executor_shutdown(shut, true, false));
	wt_rc(weft_parallel_for(0, 10, mark, NULL, &(weft_parallel_opts){.executor = shut}), WEFT_ESHUTDOWN);
	weft_executor_free(shut);
	check_hits(0, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parallel");
	TCase *tc = wt_tcase("parallel", 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_index_exactly_once);
	tcase_add_test(tc, unbalanced_loop);
	tcase_add_test(tc, reduce_sums);
	tcase_add_test(tc, reduce_combines_in_range_order);
	tcase_add_test(tc, first_failure_stops_the_loop);
	tcase_add_test(tc, the_callers_scope_stops_the_loop);
	tcase_add_test(tc, nested_loops_inside_tasks);
	tcase_add_test(tc, pieces_run_in_copies_of_the_callers_context);
	tcase_add_test(tc, arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
