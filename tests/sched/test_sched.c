/* sched: the behaviours of CPython's Lib/test/test_sched.py, plus weft's
 * additions (waking for earlier events, cancel scopes, periodic events,
 * action failures, handles that stay safe). */
#include "wtest.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- a log of what ran, readable from another thread ----------------------- */

typedef struct wlog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long v[4096];
	double at[4096];
	int n, taken;
	weft_sched_vclock *clock; /* when set, at[] records its time */
} wlog;

static wlog *log_new(void)
{
	wlog *l = calloc(1, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	return l;
}

static void log_free(wlog *l)
{
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

static void log_put(wlog *l, long x)
{
	pthread_mutex_lock(&l->mu);
	ck_assert_int_lt(l->n, 4096);
	l->at[l->n] = l->clock ? l->clock->now : weft_monotonic();
	l->v[l->n++] = x;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* The next value logged (waits, bounded: a test failure otherwise). */
static long log_get(wlog *l)
{
	pthread_mutex_lock(&l->mu);
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (l->taken == l->n) {
		ck_assert_msg(weft_monotonic() < end, "nothing logged");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	long x = l->v[l->taken++];
	pthread_mutex_unlock(&l->mu);
	return x;
}

static bool log_empty(wlog *l)
{
	pthread_mutex_lock(&l->mu);
	bool e = l->taken == l->n;
	pthread_mutex_unlock(&l->mu);
	return e;
}

/* Actions take a pointer to a struct naming the log and the value. */
typedef struct item {
	wlog *log;
	long x;
} item;

static int put(void *arg)
{
	item *it = arg;
	log_put(it->log, it->x);
	return 0;
}

static void assert_log(wlog *l, const long *want, int n)
{
	ck_assert_int_eq(l->n, n);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(l->v[i], want[i]);
}

/* ---- Python's Timer: a virtual clock that sleeps until advanced ------------- */

typedef struct timer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	double time, stop;
} timer;

static double timer_time(void *ctx)
{
	timer *t = ctx;
	pthread_mutex_lock(&t->mu);
	double v = t->time;
	pthread_mutex_unlock(&t->mu);
	return v;
}

/* Advances the time, but not beyond the limit set by timer_advance. */
static int timer_sleep(void *ctx, double d)
{
	timer *t = ctx;
	ck_assert(d >= 0);
	pthread_mutex_lock(&t->mu);
	d += t->time;
	while (t->stop < d) {
		t->time = t->stop;
		pthread_cond_wait(&t->cv, &t->mu);
	}
	t->time = d;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void timer_advance(timer *t, double d)
{
	pthread_mutex_lock(&t->mu);
	t->stop += d;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void *run_main(void *arg)
{
	ck_assert_int_eq(weft_sched_run(arg, true, NULL), 0);
	return NULL;
}

/* ---- CPython's test_sched.py ------------------------------------------------ */

START_TEST(enter_runs_in_time_order)
{
	wlog *l = log_new();
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, NULL));
	item it[5];
	const double delays[] = {0.05, 0.04, 0.03, 0.02, 0.01};
	double t0 = weft_monotonic(); /* before the enters: delays count from there on */
	for (int i = 0; i < 5; i++) {
		it[i] = (item){l, (long)(delays[i] * 100)};
		wt_ok(weft_sched_enter(s, delays[i], 1, put, &it[i], NULL));
	}
	wt_ok(weft_sched_run(s, true, NULL));
	ck_assert(weft_monotonic() - t0 >= 0.05);
	assert_log(l, (long[]){1, 2, 3, 4, 5}, 5);
	for (int i = 1; i < 5; i++) /* each ran no earlier than its time */
		ck_assert(l->at[i] - t0 >= 0.01 * (i + 1) - 1e-9);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(enterabs_runs_in_time_order)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	item it[5];
	for (int i = 0; i < 5; i++) {
		it[i] = (item){l, 5 - i};
		wt_ok(weft_sched_enterabs(s, 0.01 * (5 - i), 1, put, &it[i], NULL));
	}
	wt_ok(weft_sched_run(s, true, NULL));
	assert_log(l, (long[]){1, 2, 3, 4, 5}, 5);
	ck_assert(fabs(clk.now - 0.05) < 1e-12);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(enter_concurrent)
{
	wlog *l = log_new();
	timer tm = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &(weft_sched_opts){timer_time, timer_sleep, &tm}));
	item it[6];
	for (int i = 0; i < 6; i++)
		it[i] = (item){l, i};
	wt_ok(weft_sched_enter(s, 1, 1, put, &it[1], NULL));
	wt_ok(weft_sched_enter(s, 3, 1, put, &it[3], NULL));
	wt_thread *t = wt_spawn(run_main, s);
	timer_advance(&tm, 1);
	ck_assert_int_eq(log_get(l), 1);
	ck_assert(log_empty(l));
	const int more[] = {4, 5, 2};
	for (int i = 0; i < 3; i++)
		wt_ok(weft_sched_enter(s, more[i] - 1, 1, put, &it[more[i]], NULL));
	timer_advance(&tm, 2);
	ck_assert_int_eq(log_get(l), 2);
	ck_assert_int_eq(log_get(l), 3);
	ck_assert(log_empty(l));
	timer_advance(&tm, 1);
	ck_assert_int_eq(log_get(l), 4);
	ck_assert(log_empty(l));
	timer_advance(&tm, 1);
	ck_assert_int_eq(log_get(l), 5);
	ck_assert(log_empty(l));
	timer_advance(&tm, 1000);
	wt_join(t);
	ck_assert(log_empty(l));
	ck_assert(timer_time(&tm) == 5);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(priority_orders_equal_times)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	const long cases[4][2][5] = {
	    {{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}},
	    {{5, 4, 3, 2, 1}, {1, 2, 3, 4, 5}},
	    {{2, 5, 3, 1, 4}, {1, 2, 3, 4, 5}},
	    {{1, 2, 3, 2, 1}, {1, 1, 2, 2, 3}},
	};
	item it[5];
	for (int c = 0; c < 4; c++) {
		for (int i = 0; i < 5; i++) {
			it[i] = (item){l, cases[c][0][i]};
			wt_ok(weft_sched_enterabs(s, 0.01, (int)cases[c][0][i], put, &it[i], NULL));
		}
		wt_ok(weft_sched_run(s, true, NULL));
		assert_log(l, cases[c][1], 5);
		ck_assert(weft_sched_empty(s));
		l->n = l->taken = 0;
	}
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(cancel_removes_events)
{
	wlog *l = log_new();
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, NULL));
	double now = weft_monotonic();
	item it[5];
	weft_sched_event ev[5];
	for (int i = 0; i < 5; i++) {
		it[i] = (item){l, i + 1};
		wt_ok(weft_sched_enterabs(s, now + 0.01 * (i + 1), 1, put, &it[i], &ev[i]));
	}
	wt_ok(weft_sched_cancel(s, ev[0]));
	wt_ok(weft_sched_cancel(s, ev[4]));
	wt_ok(weft_sched_run(s, true, NULL));
	assert_log(l, (long[]){2, 3, 4}, 3);
	/* not queued any more (ran, or cancelled): Python's ValueError */
	wt_rc(weft_sched_cancel(s, ev[0]), WEFT_ENOENT);
	wt_rc(weft_sched_cancel(s, ev[2]), WEFT_ENOENT);
	wt_rc(weft_sched_cancel(s, (weft_sched_event){0}), WEFT_ENOENT);
	wt_rc(weft_sched_cancel(s, (weft_sched_event){~0ull}), WEFT_ENOENT);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(cancel_concurrent)
{
	wlog *l = log_new();
	timer tm = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &(weft_sched_opts){timer_time, timer_sleep, &tm}));
	item it[6];
	weft_sched_event ev[6];
	const int order[] = {1, 2, 4, 5, 3};
	for (int i = 0; i < 5; i++) {
		int x = order[i];
		it[x] = (item){l, x};
		wt_ok(weft_sched_enterabs(s, x, 1, put, &it[x], &ev[x]));
	}
	wt_thread *t = wt_spawn(run_main, s);
	timer_advance(&tm, 1);
	ck_assert_int_eq(log_get(l), 1);
	ck_assert(log_empty(l));
	wt_ok(weft_sched_cancel(s, ev[2]));
	wt_ok(weft_sched_cancel(s, ev[5]));
	timer_advance(&tm, 1);
	ck_assert(log_empty(l));
	timer_advance(&tm, 1);
	ck_assert_int_eq(log_get(l), 3);
	ck_assert(log_empty(l));
	timer_advance(&tm, 1);
	ck_assert_int_eq(log_get(l), 4);
	ck_assert(log_empty(l));
	timer_advance(&tm, 1000);
	wt_join(t);
	ck_assert(log_empty(l));
	ck_assert(timer_time(&tm) == 4);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(cancel_correct_event)
{
	/* bpo-19270: equal events, the right one goes */
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	item a = {l, 'a'}, b = {l, 'b'}, c = {l, 'c'};
	weft_sched_event eb;
	wt_ok(weft_sched_enterabs(s, 1, 1, put, &a, NULL));
	wt_ok(weft_sched_enterabs(s, 1, 1, put, &b, &eb));
	wt_ok(weft_sched_enterabs(s, 1, 1, put, &c, NULL));
	wt_ok(weft_sched_cancel(s, eb));
	wt_ok(weft_sched_run(s, true, NULL));
	assert_log(l, (long[]){'a', 'c'}, 2);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(empty_and_queue_snapshot)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {100};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	ck_assert(weft_sched_empty(s));
	weft_sched_entry *q;
	size_t n;
	wt_ok(weft_sched_queue(s, &q, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(q);
	item it[5];
	weft_sched_event ev[5];
	const int order[] = {5, 1, 2, 4, 3};
	for (int i = 0; i < 5; i++) {
		int x = order[i];
		it[x - 1] = (item){l, x};
		wt_ok(weft_sched_enterabs(s, 100 + 0.01 * x, 1, put, &it[x - 1], &ev[x - 1]));
	}
	ck_assert(!weft_sched_empty(s));
	wt_ok(weft_sched_queue(s, &q, &n));
	ck_assert_uint_eq(n, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert(q[i].event.id == ev[i].id);
		ck_assert(q[i].arg == &it[i]);
		ck_assert(q[i].action == put);
		ck_assert(q[i].time == 100 + 0.01 * (i + 1));
		ck_assert_int_eq(q[i].priority, 1);
		if (i)
			ck_assert(q[i].sequence != q[i - 1].sequence);
	}
	free(q);
	wt_ok(weft_sched_cancel(s, ev[1]));
	wt_ok(weft_sched_queue(s, &q, &n));
	ck_assert_uint_eq(n, 4);
	ck_assert(q[1].event.id == ev[2].id);
	free(q);
	wt_ok(weft_sched_run(s, true, NULL));
	ck_assert(weft_sched_empty(s));
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(run_non_blocking)
{
	wlog *l = log_new();
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, NULL));
	item it[5];
	for (int i = 0; i < 5; i++) {
		it[i] = (item){l, 10 - i};
		wt_ok(weft_sched_enter(s, 10 - i, 1, put, &it[i], NULL));
	}
	double next = 0;
	wt_ok(weft_sched_run(s, false, &next));
	ck_assert_int_eq(l->n, 0);
	ck_assert(next > 5 && next <= 6);
	/* what is due runs, then the delay to the next */
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *v;
	wt_ok(weft_scheduler_new(&v, &o));
	wt_ok(weft_sched_enterabs(v, 0, 1, put, &it[0], NULL));
	wt_ok(weft_sched_enterabs(v, 2.5, 1, put, &it[1], NULL));
	wt_ok(weft_sched_run(v, false, &next));
	assert_log(l, (long[]){10}, 1);
	ck_assert(next == 2.5);
	clk.now = 3;
	wt_ok(weft_sched_run(v, false, &next));
	ck_assert(next == WEFT_FOREVER); /* empty: Python's None */
	ck_assert_int_eq(l->n, 2);
	weft_scheduler_free(v);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

/* ---- beyond Python -------------------------------------------------------------- */

struct sleeper {
	weft_scheduler *s;
	weft_cancel *tok;
	double scope_timeout;
	_Atomic int started;
	int rc;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *sl = arg;
	weft_cancel_scope sc;
	ck_assert_int_eq(weft_cancel_scope_enter(&sc, sl->tok, sl->scope_timeout), 0);
	atomic_store(&sl->started, 1);
	sl->rc = weft_sched_run(sl->s, true, NULL);
	ck_assert_int_eq(weft_cancel_scope_exit(&sc), 0);
	return NULL;
}

/* Python's scheduler sleeps through an earlier event entered meanwhile;
 * weft's runs it on time. */
START_TEST(earlier_event_from_another_thread_runs_on_time)
{
	wlog *l = log_new();
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, NULL));
	item late = {l, 2}, early = {l, 1};
	weft_sched_event late_ev;
	wt_ok(weft_sched_enter(s, 30, 1, put, &late, &late_ev));
	struct sleeper sl = {.s = s, .scope_timeout = WEFT_FOREVER};
	wt_thread *t = wt_spawn(sleeper_main, &sl);
	while (!atomic_load(&sl.started))
		sched_yield();
	double t0 = weft_monotonic();
	wt_ok(weft_sched_enter(s, 0.1, 1, put, &early, NULL));
	ck_assert_int_eq(log_get(l), 1);
	double dt = l->at[0] - t0;
	ck_assert_msg(dt >= 0.1 && dt < 0.1 + WT_SLACK, "ran after %f s", dt);
	/* cancelling the last event wakes run(), which returns: queue empty */
	wt_ok(weft_sched_cancel(s, late_ev));
	wt_join(t);
	wt_ok(sl.rc);
	ck_assert(weft_monotonic() - t0 < 0.1 + WT_SLACK);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

START_TEST(cancel_scope_stops_run)
{
	wlog *l = log_new();
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, NULL));
	item it = {l, 1};
	wt_ok(weft_sched_enter(s, 30, 1, put, &it, NULL));
	struct sleeper sl = {.s = s, .scope_timeout = WEFT_FOREVER};
	wt_ok(weft_cancel_new(&sl.tok, NULL));
	wt_thread *t = wt_spawn(sleeper_main, &sl);
	while (!atomic_load(&sl.started))
		sched_yield();
	double t0 = weft_monotonic();
	wt_ok(weft_cancel_cancel(sl.tok));
	wt_join(t);
	wt_rc(sl.rc, WEFT_ECANCELED);
	ck_assert(weft_monotonic() - t0 < WT_SLACK);
	ck_assert(!weft_sched_empty(s)); /* the event is still queued */
	weft_cancel_release(sl.tok);
	/* a scope's deadline */
	sl = (struct sleeper){.s = s, .scope_timeout = 0.1};
	t0 = weft_monotonic();
	t = wt_spawn(sleeper_main, &sl);
	wt_join(t);
	wt_rc(sl.rc, WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.1 && dt < 0.1 + WT_SLACK);
	ck_assert_int_eq(l->n, 0);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

static int fail_with(void *arg)
{
	return (int)(intptr_t)arg;
}

START_TEST(failing_action_stops_run)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	item a = {l, 1}, b = {l, 2};
	wt_ok(weft_sched_enterabs(s, 1, 1, put, &a, NULL));
	wt_ok(weft_sched_enterabs(s, 2, 1, fail_with, (void *)(intptr_t)(WEFT_EUSER - 1), NULL));
	wt_ok(weft_sched_enterabs(s, 3, 1, put, &b, NULL));
	wt_rc(weft_sched_run(s, true, NULL), WEFT_EUSER - 1);
	assert_log(l, (long[]){1}, 1);
	/* the failed event is gone; the rest runs on the next call */
	wt_ok(weft_sched_run(s, true, NULL));
	assert_log(l, (long[]){1, 2}, 2);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

/* Actions that enter and cancel events. */
struct juggler {
	weft_scheduler *s;
	wlog *l;
	weft_sched_event victim;
	item later;
	int step;
};

static int juggle(void *arg)
{
	struct juggler *j = arg;
	log_put(j->l, 100 + j->step);
	if (j->step++ == 0) {
		ck_assert_int_eq(weft_sched_cancel(j->s, j->victim), 0);
		ck_assert_int_eq(weft_sched_enter(j->s, 0.5, 1, put, &j->later, NULL), 0);
		ck_assert_int_eq(weft_sched_enter(j->s, 1, 1, juggle, j, NULL), 0);
	}
	return 0;
}

START_TEST(actions_enter_and_cancel)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	struct juggler j = {.s = s, .l = l, .later = {l, 7}};
	item victim = {l, 666};
	wt_ok(weft_sched_enterabs(s, 1, 1, juggle, &j, NULL));
	wt_ok(weft_sched_enterabs(s, 1.2, 1, put, &victim, &j.victim));
	wt_ok(weft_sched_run(s, true, NULL));
	assert_log(l, (long[]){100, 7, 101}, 3);
	ck_assert(clk.now == 2);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

/* Periodic events: skip or catch up what was missed while busy. */
struct ticker {
	weft_sched_vclock *clk;
	wlog *l;
	int ticks, stop_after;
	double busy_at, busy_until;
	weft_scheduler *s;
	weft_sched_event self;
	bool cancel_self;
};

static int tick(void *arg)
{
	struct ticker *t = arg;
	log_put(t->l, ++t->ticks);
	if (t->clk->now == t->busy_at)
		t->clk->now = t->busy_until; /* a long action */
	if (t->cancel_self && t->ticks == t->stop_after)
		ck_assert_int_eq(weft_sched_cancel(t->s, t->self), 0);
	if (!t->cancel_self && t->ticks == t->stop_after)
		return 1; /* a failing action stops its periodic event */
	return 0;
}

static void run_ticker(weft_sched_missed policy, const double *want_at, int n)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	l->clock = &clk;
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	struct ticker t = {.clk = &clk,
	                   .l = l,
	                   .stop_after = n,
	                   .busy_at = 1,
	                   .busy_until = 3.5,
	                   .s = s,
	                   .cancel_self = true};
	wt_ok(weft_sched_every(s, 1.0, 0, tick, &t, policy, &t.self));
	wt_ok(weft_sched_run(s, true, NULL));
	ck_assert_int_eq(l->n, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(l->at[i] == want_at[i], "tick %d at %f, want %f", i, l->at[i], want_at[i]);
	wt_rc(weft_sched_cancel(s, t.self), WEFT_ENOENT);
	weft_scheduler_free(s);
	log_free(l);
}

START_TEST(periodic_skip_and_catch_up)
{
	/* ticks at 1, 2, 3, ...; the first tick is busy until 3.5 */
	run_ticker(WEFT_SCHED_SKIP, (double[]){1, 4, 5, 6}, 4);
	run_ticker(WEFT_SCHED_CATCH_UP, (double[]){1, 3.5, 3.5, 4, 5}, 5);
}
END_TEST

START_TEST(periodic_cancel_and_failure)
{
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	/* the action fails on its third tick: run returns it, no fourth */
	struct ticker t = {.clk = &clk, .l = l, .stop_after = 3, .busy_at = -1, .s = s};
	wt_ok(weft_sched_every(s, 0.5, 0, tick, &t, WEFT_SCHED_SKIP, &t.self));
	wt_rc(weft_sched_run(s, true, NULL), 1);
	ck_assert_int_eq(t.ticks, 3);
	ck_assert(weft_sched_empty(s));
	/* cancelled from outside between ticks */
	struct ticker u = {.clk = &clk, .l = l, .stop_after = -1, .busy_at = -1, .s = s};
	wt_ok(weft_sched_every(s, 1, 0, tick, &u, WEFT_SCHED_SKIP, &u.self));
	wt_ok(weft_sched_run(s, false, NULL));
	clk.now += 1;
	wt_ok(weft_sched_run(s, false, NULL));
	ck_assert_int_eq(u.ticks, 1);
	wt_ok(weft_sched_cancel(s, u.self));
	wt_ok(weft_sched_run(s, true, NULL));
	ck_assert_int_eq(u.ticks, 1);
	/* bad arguments */
	wt_rc(weft_sched_every(s, 0, 0, tick, &u, WEFT_SCHED_SKIP, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_every(s, -1, 0, tick, &u, WEFT_SCHED_SKIP, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_every(s, NAN, 0, tick, &u, WEFT_SCHED_SKIP, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_every(s, 1, 0, tick, &u, (weft_sched_missed)7, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_every(s, 1, 0, NULL, &u, WEFT_SCHED_SKIP, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_every(NULL, 1, 0, tick, &u, WEFT_SCHED_SKIP, NULL), WEFT_EINVAL);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

/* Many equal events, most cancelled (the heap compacts): the rest run in
 * insertion order, and stale handles stay harmless. */
START_TEST(insertion_order_survives_compaction)
{
	enum { N = 3000 };
	wlog *l = log_new();
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	static item it[N];
	static weft_sched_event ev[N];
	for (int i = 0; i < N; i++) {
		it[i] = (item){l, i};
		wt_ok(weft_sched_enterabs(s, i % 2 ? 5 : 3, 0, put, &it[i], &ev[i]));
	}
	for (int i = 0; i < N; i++)
		if (i % 3)
			wt_ok(weft_sched_cancel(s, ev[i]));
	/* new events may reuse the freed slots; old handles must not hit them */
	item fresh = {l, -1};
	weft_sched_event fev;
	wt_ok(weft_sched_enterabs(s, 4, 0, put, &fresh, &fev));
	for (int i = 0; i < N; i++)
		if (i % 3)
			wt_rc(weft_sched_cancel(s, ev[i]), WEFT_ENOENT);
	wt_ok(weft_sched_run(s, true, NULL));
	int k = 0;
	for (int i = 0; i < N; i += 6) /* time 3: even multiples of 3 */
		ck_assert_int_eq(l->v[k++], i);
	ck_assert_int_eq(l->v[k++], -1);
	for (int i = 3; i < N; i += 6) /* time 5 */
		ck_assert_int_eq(l->v[k++], i);
	ck_assert_int_eq(l->n, k);
	weft_scheduler_free(s);
	log_free(l);
}
END_TEST

/* Entered events meet in three places (the heap, a pending batch sorted
 * in bulk, the sorted run it merges into): batches of every size entered
 * between non-blocking runs, with many equal times (and -0.0 beside 0.0)
 * and priorities, and random cancels, still run exactly the due events,
 * each once, in (time, priority, insertion) order, and the snapshot agrees. */
typedef struct rev {
	double time;
	int priority;
	long seq;  /* entry order */
	int state; /* 0 queued, 1 ran, 2 cancelled */
	weft_sched_event ev;
	struct rev **ran; /* where the run order is recorded */
	int *nran;
} rev;

static int record(void *arg)
{
	rev *e = arg;
	e->ran[(*e->nran)++] = e;
	e->state = 1;
	return 0;
}

static bool rev_before(const rev *a, const rev *b)
{
	if (a->time != b->time)
		return a->time < b->time;
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->seq < b->seq;
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

START_TEST(bulk_batches_keep_the_order)
{
	enum { N = 40000 };
	rev *ev = calloc(N, sizeof *ev);
	rev **ran = calloc(N, sizeof *ran);
	ck_assert(ev && ran);
	int nran = 0, n = 0;
	uint32_t seed = 12345;
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, &o));
	while (n < N) {
		/* a batch: one event, a few, or thousands */
		int size = (int[]){1, 3, 31, 32, 200, 5000}[rnd(&seed) % 6];
		for (int i = 0; i < size && n < N; i++, n++) {
			uint32_t r = rnd(&seed);
			double t = clk.now + (double)(r % 64) - 8; /* some already due */
			if (r % 97 == 0)
				t = (r / 97) % 2 ? -0.0 : 0.0;
			ev[n] = (rev){t, (int)(r >> 8) % 3 - 1, n, 0, {0}, ran, &nran};
			wt_ok(weft_sched_enterabs(s, t, ev[n].priority, record, &ev[n], &ev[n].ev));
		}
		for (int i = 0; i < size / 4; i++) { /* cancel some queued ones */
			rev *c = &ev[rnd(&seed) % n];
			if (c->state == 0) {
				wt_ok(weft_sched_cancel(s, c->ev));
				c->state = 2;
			} else {
				wt_rc(weft_sched_cancel(s, c->ev), WEFT_ENOENT);
			}
		}
		if (rnd(&seed) % 4 == 0) { /* the snapshot: every queued event, in order */
			weft_sched_entry *q;
			size_t nq, want = 0;
			wt_ok(weft_sched_queue(s, &q, &nq));
			for (int i = 0; i < n; i++)
				want += ev[i].state == 0;
			ck_assert_uint_eq(nq, want);
			for (size_t i = 0; i < nq; i++) {
				rev *e = q[i].arg;
				ck_assert_int_eq(e->state, 0);
				ck_assert(q[i].event.id == e->ev.id);
				if (i)
					ck_assert(rev_before(q[i - 1].arg, e));
			}
			free(q);
		}
		/* run what is due: exactly the queued events at or before now */
		clk.now += (double)(rnd(&seed) % 16);
		int from = nran;
		double next;
		wt_ok(weft_sched_run(s, false, &next));
		for (int i = from + 1; i < nran; i++)
			ck_assert(rev_before(ran[i - 1], ran[i]));
		for (int i = 0; i < n; i++) {
			ck_assert(ev[i].state != 0 || ev[i].time > clk.now);
			if (ev[i].state == 1 && ev[i].seq >= 0)
				ck_assert(ev[i].time <= clk.now);
		}
	}
	wt_ok(weft_sched_run(s, true, NULL));
	int cancelled = 0;
	for (int i = 0; i < N; i++) {
		ck_assert_int_ne(ev[i].state, 0);
		cancelled += ev[i].state == 2;
	}
	ck_assert_int_eq(nran + cancelled, N);
	ck_assert(weft_sched_empty(s));
	weft_scheduler_free(s);
	free(ran);
	free(ev);
}
END_TEST

/* Threads enter and cancel while two threads run the scheduler: every
 * event not cancelled runs exactly once. */
struct hammer {
	weft_scheduler *s;
	_Atomic int *ran;
	int base, n;
	int cancelled;
};

static int count_run(void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
	return 0;
}

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < h->n; i++) {
		weft_sched_event ev;
		ck_assert_int_eq(
		    weft_sched_enter(h->s, (i % 7) * 0.001, i % 3, count_run, &h->ran[h->base + i], &ev), 0);
		if (i % 4 == 0 && weft_sched_cancel(h->s, ev) == 0)
			h->cancelled++;
	}
	return NULL;
}

START_TEST(threads_enter_cancel_and_run)
{
	enum { T = 4, PER = 500 };
	static _Atomic int ran[T * PER];
	memset(ran, 0, sizeof ran);
	weft_scheduler *s;
	wt_ok(weft_scheduler_new(&s, NULL));
	struct hammer h[T];
	wt_thread *t[T];
	for (int i = 0; i < T; i++) {
		h[i] = (struct hammer){.s = s, .ran = ran, .base = i * PER, .n = PER};
		t[i] = wt_spawn(hammer_main, &h[i]);
	}
	wt_thread *r1 = wt_spawn(run_main, s), *r2 = wt_spawn(run_main, s);
	int cancelled = 0;
	for (int i = 0; i < T; i++) {
		wt_join(t[i]);
		cancelled += h[i].cancelled;
	}
	wt_join(r1);
	wt_join(r2);
	wt_ok(weft_sched_run(s, true, NULL)); /* whatever the runners left */
	int total = 0;
	for (int i = 0; i < T * PER; i++) {
		ck_assert_int_le(atomic_load(&ran[i]), 1);
		total += atomic_load(&ran[i]);
	}
	ck_assert_int_eq(total + cancelled, T * PER);
	weft_scheduler_free(s);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_scheduler *s;
	weft_sched_entry *q;
	size_t n;
	wt_rc(weft_scheduler_new(NULL, NULL), WEFT_EINVAL);
	wt_ok(weft_scheduler_new(&s, NULL));
	item it = {NULL, 0};
	wt_rc(weft_sched_enterabs(NULL, 1, 1, put, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enterabs(s, 1, 1, NULL, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enterabs(s, NAN, 1, put, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enterabs(s, INFINITY, 1, put, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enter(NULL, 1, 1, put, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enter(s, 1, 1, NULL, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enter(s, NAN, 1, put, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_enter(s, -INFINITY, 1, put, &it, NULL), WEFT_EINVAL);
	wt_rc(weft_sched_cancel(NULL, (weft_sched_event){1}), WEFT_EINVAL);
	wt_rc(weft_sched_queue(NULL, &q, &n), WEFT_EINVAL);
	wt_rc(weft_sched_queue(s, NULL, &n), WEFT_EINVAL);
	wt_rc(weft_sched_queue(s, &q, NULL), WEFT_EINVAL);
	double next = 0;
	wt_rc(weft_sched_run(NULL, true, &next), WEFT_EINVAL);
	ck_assert(weft_sched_empty(NULL));
	ck_assert(weft_sched_empty(s));
	weft_scheduler_free(NULL);
	weft_scheduler_free(s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sched");
	TCase *tc = wt_tcase("sched", 60);
	tcase_add_test(tc, enter_runs_in_time_order);
	tcase_add_test(tc, enterabs_runs_in_time_order);
	tcase_add_test(tc, enter_concurrent);
	tcase_add_test(tc, priority_orders_equal_times);
	tcase_add_test(tc, cancel_removes_events);
	tcase_add_test(tc, cancel_concurrent);
	tcase_add_test(tc, cancel_correct_event);
	tcase_add_test(tc, empty_and_queue_snapshot);
	tcase_add_test(tc, run_non_blocking);
	tcase_add_test(tc, earlier_event_from_another_thread_runs_on_time);
	tcase_add_test(tc, cancel_scope_stops_run);
	tcase_add_test(tc, failing_action_stops_run);
	tcase_add_test(tc, actions_enter_and_cancel);
	tcase_add_test(tc, periodic_skip_and_catch_up);
	tcase_add_test(tc, periodic_cancel_and_failure);
	tcase_add_test(tc, insertion_order_survives_compaction);
	tcase_add_test(tc, bulk_batches_keep_the_order);
	tcase_add_test(tc, threads_enter_cancel_and_run);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(su, tc);
	return wt_run(su);
}
