/* The named-task registry and owned bytes. */
#include "wtest.h"

#include <string.h>

static int echo(const void *in, size_t len, weft_bytes *out)
{
	return weft_bytes_set(out, in, len);
}
static int other(const void *in, size_t len, weft_bytes *out)
{
	return weft_fail(WEFT_EINVAL, "never");
}
WEFT_TASK(echo, echo)
WEFT_TASK(other, other)

START_TEST(registered_before_main)
{
	const weft_task *t = weft_task_lookup("echo");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_eq(t->fn, echo);
	ck_assert_ptr_eq(weft_task_find(other), weft_task_lookup("other"));
	ck_assert_ptr_null(weft_task_lookup("missing"));
	ck_assert_ptr_null(weft_task_lookup(NULL));
	ck_assert_ptr_null(weft_task_find(NULL));
	weft_bytes out = {0};
	wt_ok(t->fn("abc", 3, &out));
	ck_assert_uint_eq(out.len, 3);
	ck_assert_mem_eq(out.data, "abc", 3);
	weft_bytes_free(&out);
	ck_assert_ptr_null(out.data);
}
END_TEST

START_TEST(first_registration_wins)
{
	static weft_task dup = {"echo", other, NULL};
	wt_ok(weft_task_register(&dup));
	ck_assert_ptr_eq(weft_task_lookup("echo")->fn, echo);
	wt_rc(weft_task_register(NULL), WEFT_EINVAL);
	static weft_task noname = {NULL, echo, NULL};
	wt_rc(weft_task_register(&noname), WEFT_EINVAL);
}
END_TEST

START_TEST(bytes_set_and_free)
{
	weft_bytes b = {0};
	wt_rc(weft_bytes_set(NULL, "x", 1), WEFT_EINVAL);
	wt_rc(weft_bytes_set(&b, NULL, 1), WEFT_EINVAL);
	wt_ok(weft_bytes_set(&b, NULL, 0));
	ck_assert_ptr_null(b.data);
	wt_ok(weft_bytes_set(&b, "hello", 5));
	wt_ok(weft_bytes_set(&b, "hi", 2)); /* replaces, frees the old copy */
	ck_assert_mem_eq(b.data, "hi", 2);
	weft_bytes_free(&b);
	weft_bytes_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("task");
	TCase *tc = wt_tcase("task", 30);
	tcase_add_test(tc, registered_before_main);
	tcase_add_test(tc, first_registration_wins);
	tcase_add_test(tc, bytes_set_and_free);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
