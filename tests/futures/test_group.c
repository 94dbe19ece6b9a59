/* Task groups: spawn from anywhere, wait for all, first failure cancels the
 * rest and is reported with the count of the others. */
#include "futures_util.h"
#include "futures/executor.h"

static weft_executor *ex;

static void setup(void)
{
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2}));
}

static void teardown(void)
{
	weft_executor_free(ex);
}

static _Atomic long counter;

static int wait_event_int(void *arg)
{
	wait_event(arg);
	return 0;
}

static int bump(void *arg)
{
	atomic_fetch_add(&counter, 1);
	return 0;
}

START_TEST(spawn_and_wait)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	counter = 0;
	for (int i = 0; i < 1000; i++)
		wt_ok(weft_task_group_spawn(g, bump, NULL));
	wt_ok(weft_task_group_wait(g, 30));
	ck_assert_int_eq(counter, 1000);
	ck_assert_str_eq(weft_task_group_error_message(g), "");
	ck_assert_int_eq(weft_task_group_other_failures(g), 0);
	/* Reusable. */
	for (int i = 0; i < 10; i++)
		wt_ok(weft_task_group_spawn(g, bump, NULL));
	wt_ok(weft_task_group_wait(g, 30));
	ck_assert_int_eq(counter, 1010);
	wt_ok(weft_task_group_wait(g, 0)); /* nothing pending */
	weft_task_group_free(g);
}
END_TEST

struct tree {
	weft_task_group *g;
	int depth;
};

static int grow(void *arg)
{
	struct tree *t = arg;
	atomic_fetch_add(&counter, 1);
	if (t->depth == 0) {
		free(t);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		struct tree *c = malloc(sizeof *c);
		*c = (struct tree){t->g, t->depth - 1};
		wt_ok(weft_task_group_spawn(t->g, grow, c));
	}
	free(t);
	return 0;
}

START_TEST(spawn_from_inside_tasks)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	counter = 0;
	struct tree *root = malloc(sizeof *root);
	*root = (struct tree){g, 10};
	wt_ok(weft_task_group_spawn(g, grow, root));
	wt_ok(weft_task_group_wait(g, 30));
	ck_assert_int_eq(counter, (1 << 11) - 1);
	weft_task_group_free(g);
}
END_TEST

struct fib {
	weft_executor *ex;
	int n;
	long result;
};

/* Each level makes its own group and waits in a worker: the waiting
 * worker runs other tasks, so two workers are enough for any depth. */
static int fib(void *arg)
{
	struct fib *f = arg;
	if (f->n < 2) {
		f->result = f->n;
		return 0;
	}
	struct fib a = {f->ex, f->n - 1, 0}, b = {f->ex, f->n - 2, 0};
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, f->ex));
	wt_ok(weft_task_group_spawn(g, fib, &a));
	wt_ok(weft_task_group_spawn(g, fib, &b));
	int rc = weft_task_group_wait(g, WEFT_FOREVER);
	weft_task_group_free(g);
	f->result = a.result + b.result;
	return rc;
}

START_TEST(nested_groups_do_not_starve_the_pool)
{
	struct fib f = {ex, 16, 0};
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	wt_ok(weft_task_group_spawn(g, fib, &f));
	wt_ok(weft_task_group_wait(g, 60));
	ck_assert_int_eq(f.result, 987);
	weft_task_group_free(g);
}
END_TEST

struct blocker {
	weft_future *never;
	tcount *started;
	_Atomic int cancelled;
};

static int block_in_weft(void *arg)
{
	struct blocker *b = arg;
	tcount_add(b->started, 1);
	int rc = weft_future_result(b->never, 30, NULL);
	if (rc == WEFT_ECANCELED)
		atomic_fetch_add(&b->cancelled, 1);
	return rc;
}

static tcount started = TCOUNT_INIT;
static tevent fail_go = TEVENT_INIT;

static int fail_when_told(void *arg)
{
	ck_assert(tevent_wait(&fail_go, 30));
	return weft_fail(WEFT_EUSER - 5, "task %ld failed", I(arg));
}

START_TEST(first_failure_cancels_the_rest)
{
	weft_executor *big;
	wt_ok(weft_thread_pool_new(&big, &(weft_thread_pool_opts){.max_workers = 4}));
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, big));
	struct blocker b = {pending_future(), &started, 0};
	started.n = 0;
	wt_ok(weft_task_group_spawn(g, block_in_weft, &b));
	wt_ok(weft_task_group_spawn(g, block_in_weft, &b));
	ck_assert(tcount_wait(&started, 2, 30)); /* both are blocked in a weft call */
	wt_ok(weft_task_group_spawn(g, fail_when_told, P(1)));
	tevent_set(&fail_go);
	double t0 = weft_monotonic();
	wt_rc(weft_task_group_wait(g, 30), WEFT_EUSER - 5);
	ck_assert(weft_monotonic() - t0 < WT_SLACK);
	ck_assert_str_eq(weft_task_group_error_message(g), "task 1 failed");
	ck_assert_int_eq(b.cancelled, 2);
	/* Their WEFT_ECANCELED is the group's doing, not failures. */
	ck_assert_int_eq(weft_task_group_other_failures(g), 0);
	wt_rc(weft_task_group_spawn(g, bump, NULL), WEFT_ECANCELED);
	weft_task_group_free(g);
	weft_future_release(b.never);
	weft_executor_free(big);
}
END_TEST

static int fail_now(void *arg)
{
	return weft_fail(WEFT_EUSER - (int)I(arg), "failure %ld", I(arg));
}

START_TEST(other_failures_are_counted)
{
	/* Failures that happen together: one is first, the rest counted. */
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	tevent go = TEVENT_INIT;
	wt_ok(weft_task_group_spawn(g, wait_event_int, &go)); /* holds a worker */
	int spawned = 0;
	for (long i = 1; i <= 5; i++)
		spawned += weft_task_group_spawn(g, fail_now, P(i)) == 0;
	tevent_set(&go);
	int rc = weft_task_group_wait(g, 30);
	ck_assert(rc <= WEFT_EUSER - 1 && rc >= WEFT_EUSER - 5);
	/* Tasks queued behind the first failure are skipped, not failed. */
	ck_assert_int_le(weft_task_group_other_failures(g), spawned - 1);
	char want[32];
	snprintf(want, sizeof want, "failure %d", WEFT_EUSER - rc);
	ck_assert_str_eq(weft_task_group_error_message(g), want);
	weft_task_group_free(g);
}
END_TEST

START_TEST(cancel_a_group)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	struct blocker b = {pending_future(), &started, 0};
	started.n = 0;
	wt_ok(weft_task_group_spawn(g, block_in_weft, &b));
	ck_assert(tcount_wait(&started, 1, 30));
	wt_ok(weft_task_group_cancel(g));
	wt_rc(weft_task_group_wait(g, 30), WEFT_ECANCELED);
	ck_assert_int_eq(b.cancelled, 1);
	ck_assert_int_eq(weft_task_group_other_failures(g), 0);
	ck_assert_str_eq(weft_task_group_error_message(g), "");
	weft_task_group_free(g);
	weft_future_release(b.never);
}
END_TEST

START_TEST(cancelling_the_creators_scope_cancels_the_group)
{
	weft_cancel *tok;
	wt_ok(weft_cancel_new(&tok, NULL));
	weft_cancel_scope s;
	wt_ok(weft_cancel_scope_enter(&s, tok, WEFT_FOREVER));
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	wt_ok(weft_cancel_scope_exit(&s));
	struct blocker b = {pending_future(), &started, 0};
	started.n = 0;
	wt_ok(weft_task_group_spawn(g, block_in_weft, &b));
	ck_assert(tcount_wait(&started, 1, 30));
	weft_cancel_cancel(tok);
	wt_rc(weft_task_group_wait(g, 30), WEFT_ECANCELED);
	ck_assert_int_eq(b.cancelled, 1);
	weft_task_group_free(g);
	weft_cancel_release(tok);
	weft_future_release(b.never);
}
END_TEST

START_TEST(wait_honours_the_callers_scope)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	tevent go = TEVENT_INIT;
	wt_ok(weft_task_group_spawn(g, wait_event_int, &go));
	struct canceller c = {NULL, TEVENT_INIT};
	wt_ok(weft_cancel_new(&c.tok, NULL));
	wt_thread *t = wt_spawn(cancel_later, &c);
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, c.tok, WEFT_FOREVER));
	tevent_set(&c.go);
	wt_rc(weft_task_group_wait(g, 30), WEFT_ECANCELED);
	wt_ok(weft_cancel_scope_exit(&sc));
	wt_join(t);
	/* The group itself was not cancelled: it finishes normally. */
	tevent_set(&go);
	wt_ok(weft_task_group_wait(g, 30));
	weft_task_group_free(g);
	weft_cancel_release(c.tok);
}
END_TEST

START_TEST(wait_times_out_and_group_goes_on)
{
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	tevent go = TEVENT_INIT;
	wt_ok(weft_task_group_spawn(g, wait_event_int, &go));
	double t0 = weft_monotonic();
	wt_rc(weft_task_group_wait(g, 0.05), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.05 && dt < 0.05 + WT_SLACK);
	wt_rc(weft_task_group_wait(g, 0), WEFT_ETIMEDOUT);
	tevent_set(&go);
	wt_ok(weft_task_group_wait(g, 30));
	weft_task_group_free(g);
}
END_TEST

static weft_context_var *gvar;

static int read_var(void *arg)
{
	*(long *)arg = I(weft_context_var_get_or(gvar, P(-1)));
	wt_ok(weft_context_var_set(gvar, P(5), NULL));
	return 0;
}

START_TEST(tasks_run_in_a_copy_of_the_spawners_context)
{
	wt_ok(weft_context_var_new(&gvar, "g", NULL));
	wt_ok(weft_context_var_set(gvar, P(11), NULL));
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, ex));
	long seen = 0;
	wt_ok(weft_task_group_spawn(g, read_var, &seen));
	wt_ok(weft_task_group_wait(g, 30));
	ck_assert_int_eq(seen, 11);
	ck_assert_int_eq(I(weft_context_var_get_or(gvar, NULL)), 11);
	weft_task_group_free(g);
	weft_context_var_free(gvar);
}
END_TEST

static int no_submit(weft_executor *e, weft_future *f, weft_task_fn fn, const void *d, size_t n)
{
	return WEFT_ENOTSUP;
}

static int no_shutdown(weft_executor *e, bool wait, bool cancel)
{
	return 0;
}

static void no_destroy(weft_executor *e)
{
}

START_TEST(groups_need_a_thread_pool)
{
	static const weft__executor_ops ops = {
	    .kind = "other", .submit_task = no_submit, .shutdown = no_shutdown, .destroy = no_destroy};
	weft_executor other;
	weft__executor_init(&other, &ops);
	weft_task_group *g;
	wt_rc(weft_task_group_new(&g, &other), WEFT_ENOTSUP);
	wt_rc(weft_task_group_new(NULL, ex), WEFT_EINVAL);
	wt_ok(weft_task_group_new(&g, NULL)); /* the compute pool */
	counter = 0;
	wt_ok(weft_task_group_spawn(g, bump, NULL));
	wt_ok(weft_task_group_wait(g, 30));
	ck_assert_int_eq(counter, 1);
	wt_rc(weft_task_group_spawn(NULL, bump, NULL), WEFT_EINVAL);
	wt_rc(weft_task_group_spawn(g, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_task_group_wait(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_task_group_wait(g, -5), WEFT_EINVAL);
	wt_rc(weft_task_group_cancel(NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_task_group_error_message(NULL), "");
	ck_assert_int_eq(weft_task_group_other_failures(NULL), 0);
	weft_task_group_free(g);
	weft_task_group_free(NULL);
}
END_TEST

START_TEST(shutdown_cancels_queued_tasks)
{
	weft_executor *one;
	wt_ok(weft_thread_pool_new(&one, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, one));
	started.n = 0;
	struct blocker b = {pending_future(), &started, 0};
	wt_ok(weft_task_group_spawn(g, block_in_weft, &b));
	ck_assert(tcount_wait(&started, 1, 30));
	counter = 0;
	for (int i = 0; i < 10; i++)
		wt_ok(weft_task_group_spawn(g, bump, NULL));
	wt_ok(weft_executor_shutdown(one, false, true));
	wt_rc(weft_task_group_spawn(g, bump, NULL), WEFT_ECANCELED);
	wt_ok(weft_future_set_result(b.never, NULL));
	wt_rc(weft_task_group_wait(g, 30), WEFT_ECANCELED);
	ck_assert_int_eq(counter, 0);
	weft_task_group_free(g);
	weft_future_release(b.never);
	weft_executor_free(one);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("group");
	TCase *tc = wt_tcase("group", 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, spawn_and_wait);
	tcase_add_test(tc, spawn_from_inside_tasks);
	tcase_add_test(tc, nested_groups_do_not_starve_the_pool);
	tcase_add_test(tc, first_failure_cancels_the_rest);
	tcase_add_test(tc, other_failures_are_counted);
	tcase_add_test(tc, cancel_a_group);
	tcase_add_test(tc, cancelling_the_creators_scope_cancels_the_group);
	tcase_add_test(tc, wait_honours_the_callers_scope);
	tcase_add_test(tc, wait_times_out_and_group_goes_on);
	tcase_add_test(tc, tasks_run_in_a_copy_of_the_spawners_context);
	tcase_add_test(tc, groups_need_a_thread_pool);
	tcase_add_test(tc, shutdown_cancels_queued_tasks);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
