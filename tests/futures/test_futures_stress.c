/* Stress: many tiny tasks from several threads at once, each run exactly
 * once, every future freed (AddressSanitizer checks the frees,
 * ThreadSanitizer the races). CI runs the short form; WEFT_STRESS_SCALE=k
 * runs k x 10^6 tasks per test. */
#include "futures_util.h"

#include <stdlib.h>

static size_t ntasks(void)
{
	if (getenv("WEFT_STRESS_SCALE"))
		return 1000000 * (size_t)wt_stress_scale();
	return wt_under_sanitizer() ? 60000 : 300000;
}

static _Atomic unsigned char *ran;

static void *mark(void *arg)
{
	atomic_fetch_add_explicit(&ran[(size_t)arg], 1, memory_order_relaxed);
	return arg;
}

static int count_cb(weft_future *f, void *arg)
{
	atomic_fetch_add_explicit((_Atomic long *)arg, 1, memory_order_relaxed);
	return 0;
}

struct submitter {
	weft_executor *ex;
	size_t first, n;
	_Atomic long *callbacks;
	long cancelled;
};

enum { WINDOW = 256 };

/* Submits its share in windows; drops each future in one of several ways:
 * after its result, before it finishes, after a callback, or cancelled. */
static void *submit_share(void *arg)
{
	struct submitter *s = arg;
	weft_future *win[WINDOW];
	for (size_t base = 0; base < s->n; base += WINDOW) {
		size_t k = s->n - base < WINDOW ? s->n - base : WINDOW;
		for (size_t i = 0; i < k; i++) {
			size_t id = s->first + base + i;
			wt_ok(weft_executor_submit(s->ex, &win[i], mark, (void *)id));
			if (id % 7 == 0)
				wt_ok(weft_future_add_done_callback(win[i], count_cb, s->callbacks));
			if (id % 11 == 0 && weft_future_cancel(win[i]) == 0)
				s->cancelled++;
		}
		for (size_t i = 0; i < k; i++) {
			size_t id = s->first + base + i;
			if (id % 3 == 0) {
				weft_future_release(win[i]); /* dropped unseen */
				continue;
			}
			void *v;
			int rc = weft_future_result(win[i], 60, &v);
			if (rc == WEFT_ECANCELED)
				ck_assert(id % 11 == 0);
			else
				ck_assert(rc == 0 && (size_t)v == id);
			weft_future_release(win[i]);
		}
	}
	return NULL;
}

START_TEST(tasks_from_many_threads_run_exactly_once)
{
	size_t n = ntasks();
	ran = calloc(n, 1);
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 3}));
	_Atomic long callbacks = 0;
	enum { T = 3 };
	struct submitter s[T];
	wt_thread *th[T];
	for (int t = 0; t < T; t++) {
		s[t] = (struct submitter){ex, n / T * (size_t)t, t == T - 1 ? n - n / T * (T - 1) : n / T,
		                          &callbacks, 0};
		th[t] = wt_spawn(submit_share, &s[t]);
	}
	long cancelled = 0;
	for (int t = 0; t < T; t++) {
		wt_join(th[t]);
		cancelled += s[t].cancelled;
	}
	wt_ok(weft_executor_shutdown(ex, true, false));
	long missing = 0, twice = 0, with_cb = 0;
	for (size_t i = 0; i < n; i++) {
		missing += ran[i] == 0;
		twice += ran[i] > 1;
		with_cb += i % 7 == 0;
	}
	ck_assert_int_eq(twice, 0);
	ck_assert_int_eq(missing, cancelled); /* only the cancelled ones never ran */
	ck_assert_int_eq(callbacks, with_cb);
	weft_executor_free(ex);
	free((void *)ran);
}
END_TEST

static _Atomic long spawned_total;

struct node {
	weft_task_group *g;
	size_t left; /* tasks still to make below this one */
};

static int split_work(void *arg)
{
	struct node *nd = arg;
	atomic_fetch_add_explicit(&spawned_total, 1, memory_order_relaxed);
	size_t left = nd->left;
	if (left > 0) {
		size_t a = (left - 1) / 2, b = left - 1 - a;
		struct node *c1 = malloc(sizeof *c1);
		*c1 = (struct node){nd->g, a};
		wt_ok(weft_task_group_spawn(nd->g, split_work, c1));
		if (b) {
			struct node *c2 = malloc(sizeof *c2);
			*c2 = (struct node){nd->g, b - 1};
			wt_ok(weft_task_group_spawn(nd->g, split_work, c2));
		}
	}
	free(nd);
	return 0;
}

START_TEST(task_groups_spawning_from_inside)
{
	size_t n = ntasks();
	weft_task_group *g;
	wt_ok(weft_task_group_new(&g, NULL));
	spawned_total = 0;
	struct node *root = malloc(sizeof *root);
	*root = (struct node){g, n - 1};
	wt_ok(weft_task_group_spawn(g, split_work, root));
	wt_ok(weft_task_group_wait(g, 120));
	ck_assert_int_eq(spawned_total, (long)n);
	weft_task_group_free(g);
}
END_TEST

struct racer {
	weft_future **fs;
	size_t n;
	tevent go;
};

static void *cancel_all_running(void *arg)
{
	struct racer *r = arg;
	ck_assert(tevent_wait(&r->go, 30));
	for (size_t i = 0; i < r->n; i++) {
		int rc = weft_future_cancel_running(r->fs[i]);
		ck_assert(rc == 0 || rc == WEFT_ESTATE);
	}
	return NULL;
}

static void *short_wait(void *arg)
{
	/* A blocking weft call that cancel_running may interrupt. */
	weft_future *never = arg;
	weft_future_result(never, 0.0005, NULL);
	return NULL;
}

START_TEST(cancel_running_races_completion)
{
	size_t n = ntasks() / 50;
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2}));
	weft_future *never = pending_future();
	struct racer r = {calloc(n, sizeof(weft_future *)), n, TEVENT_INIT};
	for (size_t i = 0; i < n; i++)
		wt_ok(weft_executor_submit(ex, &r.fs[i], short_wait, never));
	wt_thread *t = wt_spawn(cancel_all_running, &r);
	tevent_set(&r.go);
	wt_join(t);
	for (size_t i = 0; i < n; i++) {
		int rc = weft_future_result(r.fs[i], 60, NULL);
		ck_assert(rc == 0 || rc == WEFT_ECANCELED);
		ck_assert(weft_future_done(r.fs[i]));
		weft_future_release(r.fs[i]);
	}
	free(r.fs);
	weft_future_release(never);
	weft_executor_free(ex);
}
END_TEST

START_TEST(as_completed_over_many)
{
	size_t n = ntasks() / 20;
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 2}));
	weft_future **fs = calloc(n, sizeof *fs);
	ran = calloc(n, 1);
	for (size_t i = 0; i < n; i++)
		wt_ok(weft_executor_submit(ex, &fs[i], mark, (void *)i));
	weft_as_completed *it;
	wt_ok(weft_as_completed_new(&it, fs, n, 120));
	for (size_t i = 0; i < n; i++)
		weft_future_release(fs[i]); /* the iterator keeps them */
	size_t got = 0;
	weft_future *f;
	while (weft_as_completed_next(it, &f) == 0) {
		void *v;
		wt_ok(weft_future_result(f, 0, &v));
		ck_assert_int_eq(ran[(size_t)v], 1);
		got++;
	}
	ck_assert_uint_eq(got, n);
	weft_as_completed_free(it);
	free(fs);
	free((void *)ran);
	weft_executor_free(ex);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("futures_stress");
	TCase *tc = wt_tcase("futures_stress", 300);
	tcase_add_test(tc, tasks_from_many_threads_run_exactly_once);
	tcase_add_test(tc, task_groups_spawning_from_inside);
	tcase_add_test(tc, cancel_running_races_completion);
	tcase_add_test(tc, as_completed_over_many);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
