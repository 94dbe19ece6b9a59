/* tests/core/test_fault.c - the fault injector the error-path tests rely on:
 * armed faults hit exactly the calls they name, reach libweft's own calls,
 * and leave everything else alone. */
#include "wfault.h"
#include "wtest.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

START_TEST(test_alloc_fault_window)
{
	/* No assertion while armed: Check's own bookkeeping allocates. */
	wt_fault_arm(WT_FAULT_ALLOC, 2, 2);
	void *a = malloc(8), *b = calloc(1, 8);
	errno = 0;
	void *c = malloc(8);
	int err = errno;
	char *x = strdup("x");
	char *d = strdup("after the window");
	wt_fault_disarm();
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(err, ENOMEM);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(wt_fault_hits(), 2);
	free(a);
	free(b);
	free(d);
}
END_TEST

START_TEST(test_fault_reaches_libweft)
{
	weft_cancel *tok = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, 1);
	wt_rc(weft_cancel_new(&tok, NULL), WEFT_ENOMEM);
	wt_fault_disarm();
	ck_assert_ptr_null(tok);
	wt_ok(weft_cancel_new(&tok, NULL));
	weft_cancel_release(tok);
}
END_TEST

static void *noop(void *arg)
{
	return arg;
}

static void *try_start(void *arg)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, noop, NULL);
	if (rc == 0)
		pthread_join(t, NULL);
	*(int *)arg = rc;
	return NULL;
}

START_TEST(test_thread_fault_is_per_thread_unless_global)
{
	int rc = -1;
	/* Armed on this thread only: another thread's pthread_create succeeds. */
	wt_fault_arm(WT_FAULT_THREAD, 0, -1);
	pthread_t t;
	int mine = pthread_create(&t, NULL, noop, NULL);
	wt_fault_disarm();
	ck_assert_int_eq(mine, EAGAIN);
	wt_thread *other = wt_spawn(try_start, &rc);
	wt_join(other);
	ck_assert_int_eq(rc, 0);

	/* Armed globally, skipping the first call (wt_spawn's own): the
	 * other thread's call is the one that fails. */
	wt_fault_arm_global(WT_FAULT_THREAD, 1, 1);
	other = wt_spawn(try_start, &rc);
	wt_join(other);
	wt_fault_disarm();
	ck_assert_int_eq(rc, EAGAIN);
	ck_assert_int_eq(wt_fault_hits(), 1);
}
END_TEST

START_TEST(test_posix_memalign_and_realloc)
{
	void *p = NULL, *q = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, 2);
	int first = posix_memalign(&p, 64, 64);
	void *r = realloc(NULL, 16);
	int third = posix_memalign(&q, 64, 64);
	wt_fault_disarm();
	ck_assert_int_eq(first, ENOMEM);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(third, 0);
	free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = wt_tcase("fault", 10);
	tcase_add_test(tc, test_alloc_fault_window);
	tcase_add_test(tc, test_fault_reaches_libweft);
	tcase_add_test(tc, test_thread_fault_is_per_thread_unless_global);
	tcase_add_test(tc, test_posix_memalign_and_realloc);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
