/* weft/threading.h: thread-locals (after CPython's test_threading_local.py),
 * Timer (test_threading.TimerTests) and the _thread functions
 * (test_thread.py: start_new_thread, stack_size). */
#include "wtest.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- threading.local ---------------------------------------------------------- */

static _Atomic int destroyed;

static void count_free(void *v)
{
	free(v);
	atomic_fetch_add(&destroyed, 1);
}

struct per_thread {
	weft_local *l;
	int id;
	bool ok;
	weft_sem *ready;  /* optional: released once the value is set */
	weft_event *hold; /* optional: wait before ending */
};

static int use_local(void *arg)
{
	struct per_thread *p = arg;
	ck_assert_ptr_null(weft_local_get(p->l)); /* each thread starts unset */
	int *v = malloc(sizeof *v);
	*v = p->id;
	wt_ok(weft_local_set(p->l, v));
	sched_yield();
	p->ok = *(int *)weft_local_get(p->l) == p->id;
	if (p->ready)
		wt_ok(weft_sem_release(p->ready, 1));
	if (p->hold)
		wt_ok(weft_event_wait(p->hold, 10.0));
	return 0;
}

START_TEST(local_values_are_per_thread)
{
	enum { N = 10 };
	weft_local *l;
	wt_ok(weft_local_new(&l, count_free));
	atomic_store(&destroyed, 0);
	int mine = 99;
	wt_ok(weft_local_set(l, &mine));
	struct per_thread p[N];
	weft_thread t[N];
	for (int i = 0; i < N; i++) {
		p[i] = (struct per_thread){.l = l, .id = i};
		wt_ok(weft_thread_start(&t[i], &(weft_thread_opts){.target = use_local, .arg = &p[i]}));
	}
	for (int i = 0; i < N; i++) {
		wt_ok(weft_thread_join(&t[i], 10.0));
		ck_assert(p[i].ok);
		weft_thread_free(&t[i]);
	}
	/* every thread's value was destroyed when it ended, before join returned */
	ck_assert_int_eq(atomic_load(&destroyed), N);
	ck_assert_ptr_eq(weft_local_get(l), &mine);
	wt_ok(weft_local_set(l, NULL));
	weft_local_free(l);
	ck_assert_int_eq(atomic_load(&destroyed), N); /* main's value was unset */
}
END_TEST

START_TEST(local_free_destroys_every_threads_value)
{
	weft_local *l;
	wt_ok(weft_local_new(&l, count_free));
	atomic_store(&destroyed, 0);
	weft_event hold = WEFT_EVENT_INIT;
	weft_sem ready = WEFT_SEM_INIT(0);
	struct per_thread p[3];
	weft_thread t[3];
	for (int i = 0; i < 3; i++) {
		p[i] = (struct per_thread){.l = l, .id = i, .ready = &ready, .hold = &hold};
		wt_ok(weft_thread_start(&t[i], &(weft_thread_opts){.target = use_local, .arg = &p[i]}));
	}
	int *mine = malloc(sizeof *mine);
	wt_ok(weft_local_set(l, mine));
	for (int i = 0; i < 3; i++) /* the three have set their values */
		wt_ok(weft_sem_acquire(&ready, 10.0));
	weft_local_free(l); /* Python: the local object dies, every value goes */
	ck_assert_int_eq(atomic_load(&destroyed), 4);
	wt_ok(weft_event_set(&hold));
	for (int i = 0; i < 3; i++) {
		wt_ok(weft_thread_join(&t[i], 10.0));
		weft_thread_free(&t[i]);
	}
	ck_assert_int_eq(atomic_load(&destroyed), 4); /* nothing twice */
}
END_TEST

/* A slot freed and reused: a new local starts unset in every thread. */
START_TEST(local_slots_are_reused_clean)
{
	weft_local *many[20];
	for (int i = 0; i < 20; i++) {
		wt_ok(weft_local_new(&many[i], NULL));
		wt_ok(weft_local_set(many[i], (void *)(uintptr_t)(i + 1)));
	}
	for (int i = 0; i < 20; i++)
		ck_assert_ptr_eq(weft_local_get(many[i]), (void *)(uintptr_t)(i + 1));
	weft_local_free(many[7]);
	weft_local *again;
	wt_ok(weft_local_new(&again, NULL));
	ck_assert_ptr_null(weft_local_get(again));
	weft_local_free(again);
	for (int i = 0; i < 20; i++)
		if (i != 7)
			weft_local_free(many[i]);
	/* arguments */
	wt_rc(weft_local_new(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_local_set(NULL, NULL), WEFT_EINVAL);
	ck_assert_ptr_null(weft_local_get(NULL));
	weft_local_free(NULL);
}
END_TEST

/* A destructor that sets another local: destroyed in a later round. */
static weft_local *chain_other;

static void chain_dtor(void *v)
{
	atomic_fetch_add(&destroyed, 1);
	if (v == (void *)1)
		weft_local_set(chain_other, malloc(8));
}

static int set_chain(void *arg)
{
	return weft_local_set(arg, (void *)1);
}

static void *foreign_set(void *arg)
{
	wt_ok(weft_local_set(arg, malloc(8)));
	return NULL;
}

static int bare_set(void *arg)
{
	return weft_local_set(arg, malloc(8));
}

START_TEST(local_destructors_in_every_kind_of_thread)
{
	weft_local *first;
	wt_ok(weft_local_new(&first, chain_dtor));
	wt_ok(weft_local_new(&chain_other, count_free));
	atomic_store(&destroyed, 0);
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = set_chain, .arg = first}));
	wt_ok(weft_thread_join(&t, 10.0));
	weft_thread_free(&t);
	ck_assert_int_eq(atomic_load(&destroyed), 2);
	/* a thread weft did not start: a key destructor does it */
	wt_join(wt_spawn(foreign_set, chain_other));
	ck_assert_int_eq(atomic_load(&destroyed), 3);
	/* a _thread.start_new_thread thread */
	weft_local_free(first);
	wt_ok(weft_thread_start_new(bare_set, chain_other, NULL));
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (atomic_load(&destroyed) < 4 && weft_monotonic() < end)
		sched_yield();
	ck_assert_int_eq(atomic_load(&destroyed), 4);
	weft_local_free(chain_other);
}
END_TEST

START_TEST(local_after_fork)
{
	weft_local *l;
	wt_ok(weft_local_new(&l, NULL));
	wt_ok(weft_local_set(l, (void *)5));
	weft_local *theirs;
	wt_ok(weft_local_new(&theirs, count_free));
	weft_event hold = WEFT_EVENT_INIT;
	weft_sem ready = WEFT_SEM_INIT(0);
	struct per_thread p = {.l = theirs, .id = 1, .ready = &ready, .hold = &hold};
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = use_local, .arg = &p}));
	wt_ok(weft_sem_acquire(&ready, 10.0));
	pid_t pid = fork();
	if (pid == 0) {
		atomic_store(&destroyed, 0);
		int bad = weft_local_get(l) != (void *)5; /* the forking thread keeps its values */
		weft_local_free(theirs);                  /* the other thread's value is forgotten */
		bad |= atomic_load(&destroyed) != 0;
		_exit(bad);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	wt_ok(weft_event_set(&hold));
	wt_ok(weft_thread_join(&t, 10.0));
	weft_thread_free(&t);
	weft_local_free(theirs);
	weft_local_free(l);
}
END_TEST

/* ---- Timer ---------------------------------------------------------------------------------- */

struct fired {
	_Atomic int calls;
	double at;
	unsigned long ident;
};

static int fire(void *arg)
{
	struct fired *f = arg;
	f->at = weft_monotonic();
	f->ident = weft_thread_get_ident();
	atomic_fetch_add(&f->calls, 1);
	return 0;
}

START_TEST(timer_fires_once_after_interval)
{
	struct fired f = {0};
	weft_timer tm;
	double t0 = weft_monotonic();
	wt_ok(weft_timer_start(
	    &tm, &(weft_timer_opts){.interval = 0.1, .function = fire, .arg = &f, .name = "tick"}));
	ck_assert_str_eq(weft_thread_name(&tm.thread), "tick");
	wt_ok(weft_thread_join(&tm.thread, 10.0));
	ck_assert_int_eq(atomic_load(&f.calls), 1);
	ck_assert_msg(f.at - t0 >= 0.1, "fired after %f s", f.at - t0);
	ck_assert_uint_eq(f.ident, weft_thread_ident(&tm.thread)); /* on the timer's thread */
	wt_rc(weft_timer_cancel(&tm), WEFT_EALREADY);              /* too late */
	weft_timer_free(&tm);
	ck_assert_ptr_null(tm.impl_);
	/* interval 0: at once */
	wt_ok(weft_timer_start(&tm, &(weft_timer_opts){.function = fire, .arg = &f}));
	wt_ok(weft_thread_join(&tm.thread, 10.0));
	ck_assert_int_eq(atomic_load(&f.calls), 2);
	weft_timer_free(&tm);
}
END_TEST

START_TEST(timer_cancel_before_firing)
{
	struct fired f = {0};
	weft_timer tm;
	wt_ok(weft_timer_start(&tm, &(weft_timer_opts){.interval = 30, .function = fire, .arg = &f}));
	wt_ok(weft_timer_cancel(&tm));
	wt_ok(weft_timer_cancel(&tm)); /* again: still cancelled in time */
	double t0 = weft_monotonic();
	wt_ok(weft_thread_join(&tm.thread, 10.0)); /* the thread ends at once */
	ck_assert(weft_monotonic() - t0 < WT_SLACK);
	ck_assert_int_eq(atomic_load(&f.calls), 0);
	weft_timer_free(&tm);
	/* many short timers racing their cancel: a cancel that returns 0 means
	 * the function never runs */
	for (int i = 0; i < 50; i++) {
		struct fired g = {0};
		wt_ok(weft_timer_start(&tm,
		                       &(weft_timer_opts){.interval = 0.0005, .function = fire, .arg = &g}));
		int rc = weft_timer_cancel(&tm);
		wt_ok(weft_thread_join(&tm.thread, 10.0));
		ck_assert_int_eq(atomic_load(&g.calls), rc == 0 ? 0 : 1);
		ck_assert(rc == 0 || rc == WEFT_EALREADY);
		weft_timer_free(&tm);
	}
}
END_TEST

static int timer_fails(void *arg)
{
	(void)arg;
	return weft_fail(WEFT_EUSER - 3, "timer broke");
}

static _Atomic int hook_calls;

static void quiet_hook(const weft_excepthook_args *a)
{
	(void)a;
	atomic_fetch_add(&hook_calls, 1);
}

START_TEST(timer_arguments_and_failure)
{
	weft_timer tm = {0};
	struct fired f = {0};
	wt_rc(weft_timer_start(NULL, &(weft_timer_opts){.function = fire}), WEFT_EINVAL);
	wt_rc(weft_timer_start(&tm, NULL), WEFT_EINVAL);
	wt_rc(weft_timer_start(&tm, &(weft_timer_opts){.interval = 1}), WEFT_EINVAL);
	wt_rc(weft_timer_start(&tm, &(weft_timer_opts){.interval = -1, .function = fire}), WEFT_EINVAL);
	wt_rc(weft_timer_start(&tm, &(weft_timer_opts){.interval = NAN, .function = fire}), WEFT_EINVAL);
	wt_rc(weft_timer_cancel(&tm), WEFT_ESTATE);
	wt_rc(weft_timer_cancel(NULL), WEFT_EINVAL);
	weft_timer_free(&tm);
	weft_timer_free(NULL);
	weft_excepthook prev = weft_thread_set_excepthook(quiet_hook);
	wt_ok(weft_timer_start(&tm, &(weft_timer_opts){.function = timer_fails}));
	wt_rc(weft_thread_join(&tm.thread, 10.0), WEFT_EUSER - 3);
	ck_assert_str_eq(weft_thread_error_message(&tm.thread), "timer broke");
	ck_assert_int_eq(atomic_load(&hook_calls), 1);
	weft_timer_free(&tm);
	weft_thread_set_excepthook(prev);
	/* freeing a pending timer does not cancel it */
	wt_ok(weft_timer_start(&tm, &(weft_timer_opts){.interval = 0.01, .function = fire, .arg = &f}));
	weft_timer_free(&tm);
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (atomic_load(&f.calls) == 0 && weft_monotonic() < end)
		sched_yield();
	ck_assert_int_eq(atomic_load(&f.calls), 1);
}
END_TEST

/* ---- _thread -------------------------------------------------------------------------------- */

struct bare {
	unsigned long ident;
	weft_thread copy;
	size_t listed_before;
	weft_event done;
};

static int bare_main(void *arg)
{
	struct bare *b = arg;
	b->listed_before = weft_thread_active_count();
	b->ident = weft_thread_get_ident();
	wt_ok(weft_thread_copy(&b->copy, weft_thread_current())); /* becomes a dummy */
	return weft_event_set(&b->done);
}

START_TEST(start_new_thread)
{
	struct bare b = {0};
	size_t base = weft_thread_active_count();
	unsigned long ident = 0;
	wt_ok(weft_thread_start_new(bare_main, &b, &ident));
	wt_ok(weft_event_wait(&b.done, 10.0));
	ck_assert_uint_eq(ident, b.ident);
	ck_assert_uint_eq(b.listed_before, base); /* not in the registry by itself */
	ck_assert_uint_eq(weft_thread_ident(&b.copy), ident);
	ck_assert(weft_thread_daemon(&b.copy));
	/* its dummy leaves the registry when it ends */
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (weft_thread_is_alive(&b.copy) && weft_monotonic() < end)
		sched_yield();
	ck_assert(!weft_thread_is_alive(&b.copy));
	weft_thread_free(&b.copy);
	wt_rc(weft_thread_start_new(NULL, NULL, NULL), WEFT_EINVAL);
}
END_TEST

static struct {
	_Atomic int calls;
	bool had_thread;
	int code;
} bare_hook_seen;

static void bare_hook(const weft_excepthook_args *a)
{
	bare_hook_seen.had_thread = a->thread != NULL;
	bare_hook_seen.code = a->code;
	atomic_fetch_add(&bare_hook_seen.calls, 1);
}

static int bare_fails(void *arg)
{
	(void)arg;
	return weft_fail(WEFT_EBROKEN, "bare");
}

START_TEST(start_new_thread_failure)
{
	weft_excepthook prev = weft_thread_set_excepthook(bare_hook);
	wt_ok(weft_thread_start_new(bare_fails, NULL, NULL));
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (atomic_load(&bare_hook_seen.calls) == 0 && weft_monotonic() < end)
		sched_yield();
	ck_assert_int_eq(atomic_load(&bare_hook_seen.calls), 1);
	ck_assert(!bare_hook_seen.had_thread);
	ck_assert_int_eq(bare_hook_seen.code, WEFT_EBROKEN);
	weft_thread_set_excepthook(prev);
}
END_TEST

static int deep_stack(void *arg)
{
	/* uses some of the stack it was given */
	volatile char buf[16 * 1024];
	buf[0] = 1;
	buf[sizeof buf - 1] = 2;
	*(int *)arg = buf[0] + buf[sizeof buf - 1];
	return 0;
}

START_TEST(stack_size)
{
	ck_assert_uint_eq(weft_thread_stack_size(), 0);
	wt_rc(weft_thread_set_stack_size(1), WEFT_EINVAL);
	wt_rc(weft_thread_set_stack_size(WEFT_THREAD_STACK_MIN - 1), WEFT_EINVAL);
	ck_assert_uint_eq(weft_thread_stack_size(), 0);
	wt_ok(weft_thread_set_stack_size(256 * 1024 + 1)); /* rounded up to pages */
	ck_assert_uint_eq(weft_thread_stack_size(), 256 * 1024 + 1);
	int r = 0;
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = deep_stack, .arg = &r}));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert_int_eq(r, 3);
	weft_thread_free(&t);
	wt_ok(weft_thread_set_stack_size(0));
	ck_assert_uint_eq(weft_thread_stack_size(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("thread_extras");
	TCase *tc = wt_tcase("extras", 60);
	tcase_add_test(tc, local_values_are_per_thread);
	tcase_add_test(tc, local_free_destroys_every_threads_value);
	tcase_add_test(tc, local_slots_are_reused_clean);
	tcase_add_test(tc, local_destructors_in_every_kind_of_thread);
	tcase_add_test(tc, local_after_fork);
	tcase_add_test(tc, timer_fires_once_after_interval);
	tcase_add_test(tc, timer_cancel_before_firing);
	tcase_add_test(tc, timer_arguments_and_failure);
	tcase_add_test(tc, start_new_thread);
	tcase_add_test(tc, start_new_thread_failure);
	tcase_add_test(tc, stack_size);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
