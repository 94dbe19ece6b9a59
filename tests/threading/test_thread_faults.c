/* weft/threading.h under injected faults (wfault.h): when pthread_create
 * fails (EAGAIN) or an allocation fails (ENOMEM: the thread's record, its
 * name, a dummy thread's record, a Timer, a bare thread, thread-locals),
 * every call returns the documented code, zeroes its output handle so the
 * same handle can be started again, leaves the registry as it was and
 * leaks nothing (ASan). Faults are armed for the calling thread around one
 * call and disarmed before any assertion (Check allocates). */
#include "wtest.h"
#include "wfault.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ALLOCS = 16 };

static _Atomic intptr_t last_arg;

/* The target: records its argument, so a test sees that it ran. */
static int echo(void *arg)
{
	atomic_store(&last_arg, (intptr_t)arg);
	return 0;
}

/* Starts a thread on t (which must be reusable), joins it and frees it. */
static void start_works(weft_thread *t, int v)
{
	wt_ok(weft_thread_start(t, &(weft_thread_opts){.target = echo, .arg = (void *)(intptr_t)v}));
	wt_ok(weft_thread_join(t, 30));
	ck_assert_int_eq(atomic_load(&last_arg), v);
	weft_thread_free(t);
	ck_assert_ptr_null(t->impl_);
}

START_TEST(start_when_the_system_refuses_a_thread)
{
	size_t before = weft_thread_active_count();
	weft_thread t;
	memset(&t, 0xab, sizeof t); /* output: old contents are ignored */
	for (int daemon = 0; daemon < 2; daemon++) {
		wt_fault_arm(WT_FAULT_THREAD, 0, 1);
		int rc = weft_thread_start(&t, &(weft_thread_opts){.target = echo,
		                                                   .name = "refused",
		                                                   .daemon = daemon ? WEFT_DAEMON : 0});
		int hits = wt_fault_hits();
		wt_fault_disarm();
		wt_rc(rc, WEFT_EAGAIN); /* Python: "can't start new thread" */
		ck_assert_int_eq(hits, 1);
		ck_assert_ptr_null(t.impl_);
		ck_assert(!weft_thread_is_alive(&t));
		wt_rc(weft_thread_join(&t, 0), WEFT_ESTATE);
		ck_assert_uint_eq(weft_thread_active_count(), before);
		weft_thread list[64];
		size_t n;
		wt_ok(weft_thread_enumerate(list, 64, &n));
		int found = 0;
		for (size_t i = 0; i < n && i < 64; i++) {
			found += !strcmp(weft_thread_name(&list[i]), "refused");
			weft_thread_free(&list[i]);
		}
		ck_assert_int_eq(found, 0);
		start_works(&t, 5); /* the same handle starts */
	}
}
END_TEST

START_TEST(start_out_of_memory)
{
	size_t before = weft_thread_active_count();
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		weft_thread t;
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		int rc = weft_thread_start(
		    &t, &(weft_thread_opts){.target = echo, .arg = (void *)3, .name = "nomem"});
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(hits, 1);
			ck_assert_ptr_null(t.impl_);
			ck_assert_uint_eq(weft_thread_active_count(), before);
			start_works(&t, 4);
			continue;
		}
		wt_ok(weft_thread_join(&t, 30));
		ck_assert_int_eq(atomic_load(&last_arg), 3);
		weft_thread_free(&t);
		if (!hits)
			break; /* every allocation of the call has failed once */
	}
}
END_TEST

/* A thread weft did not start gets a dummy record on first use; when that
 * allocation fails, current_thread says so (NULL) and a start that must
 * inherit the daemon flag from it fails with ENOMEM; both work later. */
static void *foreign_thread(void *arg)
{
	(void)arg;
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	weft_thread *cur = weft_thread_current();
	weft_thread t;
	int rc = weft_thread_start(&t, &(weft_thread_opts){.target = echo});
	wt_fault_disarm();
	ck_assert_ptr_null(cur);
	wt_rc(rc, WEFT_ENOMEM);
	ck_assert_ptr_null(t.impl_);
	ck_assert_ptr_nonnull(weft_thread_current());
	ck_assert(weft_thread_daemon(weft_thread_current())); /* dummies are daemons */
	start_works(&t, 6);
	return NULL;
}

START_TEST(dummy_record_out_of_memory)
{
	wt_join(wt_spawn(foreign_thread, NULL));
}
END_TEST

START_TEST(set_name_out_of_memory)
{
	weft_thread *cur = weft_thread_current();
	ck_assert_ptr_nonnull(cur);
	const char *name = weft_thread_name(cur);
	wt_fault_arm(WT_FAULT_ALLOC, 0, 1);
	int rc = weft_thread_set_name(cur, "renamed");
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	ck_assert_str_eq(weft_thread_name(cur), name);
}
END_TEST

static int mark(void *arg)
{
	atomic_store((_Atomic int *)arg, 1);
	return 0;
}

START_TEST(timer_start_faults)
{
	_Atomic int fired = 0;
	weft_timer_opts o = {.interval = 0, .function = mark, .arg = (void *)&fired};
	weft_timer tm;
	/* pthread_create refuses: EAGAIN, nothing left behind. */
	wt_fault_arm(WT_FAULT_THREAD, 0, 1);
	int rc = weft_timer_start(&tm, &o);
	wt_fault_disarm();
	wt_rc(rc, WEFT_EAGAIN);
	ck_assert_ptr_null(tm.impl_);
	ck_assert_ptr_null(tm.thread.impl_);
	wt_rc(weft_timer_cancel(&tm), WEFT_ESTATE);
	/* Each allocation fails in turn. */
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		rc = weft_timer_start(&tm, &o);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_int_eq(hits, 1);
			ck_assert_ptr_null(tm.impl_);
			ck_assert_ptr_null(tm.thread.impl_);
			continue;
		}
		wt_ok(weft_thread_join(&tm.thread, 30));
		weft_timer_free(&tm);
		if (!hits)
			break;
	}
	ck_assert_int_eq(atomic_load(&fired), 1); /* only the timers that started */
}
END_TEST

struct bare {
	weft_event ran;
};

static int bare_run(void *arg)
{
	weft_event_set(&((struct bare *)arg)->ran);
	return 0;
}

START_TEST(start_new_thread_faults)
{
	struct bare b = {.ran = WEFT_EVENT_INIT};
	unsigned long ident = 77;
	wt_fault_arm(WT_FAULT_THREAD, 0, 1);
	int rc = weft_thread_start_new(bare_run, &b, &ident);
	wt_fault_disarm();
	wt_rc(rc, WEFT_EAGAIN);
	ck_assert_uint_eq(ident, 77);
	wt_fault_arm(WT_FAULT_ALLOC, 0, 1);
	rc = weft_thread_start_new(bare_run, &b, &ident);
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	ck_assert_uint_eq(ident, 77);
	ck_assert(!weft_event_is_set(&b.ran));
	wt_ok(weft_thread_start_new(bare_run, &b, &ident));
	wt_ok(weft_event_wait(&b.ran, 30));
}
END_TEST

START_TEST(local_out_of_memory)
{
	weft_local *l = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	int rc = weft_local_new(&l, free);
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	wt_ok(weft_local_new(&l, free));
	/* set: each allocation fails in turn; the old value stays on failure. */
	for (int k = 0;; k++) {
		ck_assert_int_lt(k, MAX_ALLOCS);
		int *v = malloc(sizeof *v);
		ck_assert_ptr_nonnull(v);
		*v = k;
		void *old = weft_local_get(l);
		wt_fault_arm(WT_FAULT_ALLOC, k, 1);
		rc = weft_local_set(l, v);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc) {
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_ptr_eq(weft_local_get(l), old);
			free(v);
			continue;
		}
		ck_assert_ptr_eq(weft_local_get(l), v);
		free(old);
		if (!hits)
			break;
	}
	weft_local_free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("thread_faults");
	TCase *tc = wt_tcase("faults", 60);
	tcase_add_test(tc, start_when_the_system_refuses_a_thread);
	tcase_add_test(tc, start_out_of_memory);
	tcase_add_test(tc, dummy_record_out_of_memory);
	tcase_add_test(tc, set_name_out_of_memory);
	tcase_add_test(tc, timer_start_faults);
	tcase_add_test(tc, start_new_thread_faults);
	tcase_add_test(tc, local_out_of_memory);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
