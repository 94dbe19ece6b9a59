/* Shared memory: after CPython's _TestSharedMemory (basics, attach by
 * name, unlink, create-existing, cleanup after a crashed process) and
 * _TestValue / _TestArray (values shared with children, get_lock, raw). */
#include "mp_test.h"

#include <weft/multiprocessing.h>

static char my_prefix[32];

static int shm_left(void)
{
	snprintf(my_prefix, sizeof my_prefix, "weft-%d-", (int)getpid());
	return mpt_shm_entries(my_prefix);
}

/* Attaches to the block named by the argument and writes "child" in it. */
static int t_attach_write(const void *in, size_t len, weft_bytes *out)
{
	char name[256];
	snprintf(name, sizeof name, "%.*s", (int)len, (const char *)in);
	weft_shm *s;
	if (weft_shm_new(&s, &(weft_shm_opts){.name = name}))
		return 20;
	if (weft_shm_size(s) != 4096)
		return 21;
	memcpy(weft_shm_buf(s), "child", 6);
	weft_shm_close(s);
	return 0;
}
WEFT_TASK(t_attach_write, t_attach_write)

static void run_basics(weft_start_method m)
{
	weft_shm *s, *s2;
	wt_ok(weft_shm_new(&s, &(weft_shm_opts){.create = true, .size = 4096}));
	ck_assert_uint_eq(weft_shm_size(s), 4096);
	const char *name = weft_shm_name(s);
	ck_assert_msg(strncmp(name, "/weft-", 6) == 0, "%s", name);
	ck_assert_int_eq(shm_left(), 1);
	/* a second handle in this process sees the same bytes */
	wt_ok(weft_shm_new(&s2, &(weft_shm_opts){.name = name}));
	memcpy(weft_shm_buf(s), "hello", 6);
	ck_assert_str_eq(weft_shm_buf(s2), "hello");
	weft_shm_close(s2);
	/* a child attaches by name */
	weft_process *p;
	wt_ok(weft_process_start(
	    &p, &(weft_process_opts){
	            .target = t_attach_write, .arg = name, .arg_len = strlen(name), .start = m}));
	wt_ok(weft_process_join(p, 30));
	int code;
	wt_ok(weft_process_exitcode(p, &code));
	ck_assert_int_eq(code, 0);
	weft_process_free(p);
	ck_assert_str_eq(weft_shm_buf(s), "child");
	/* creating an existing name fails */
	wt_rc(weft_shm_new(&s2, &(weft_shm_opts){.name = name, .create = true, .size = 1}), WEFT_EEXIST);
	wt_ok(weft_shm_unlink(s));
	wt_rc(weft_shm_unlink(s), WEFT_ENOENT);
	wt_rc(weft_shm_new(&s2, &(weft_shm_opts){.name = name}), WEFT_ENOENT);
	ck_assert_str_eq(weft_shm_buf(s), "child"); /* mapping survives unlink */
	weft_shm_close(s);
	ck_assert_int_eq(shm_left(), 0);
}

START_TEST(basics_fork)
{
	run_basics(WEFT_START_FORK);
}
END_TEST

START_TEST(basics_spawn)
{
	run_basics(WEFT_START_SPAWN);
}
END_TEST

/* A child that creates blocks and ends without unlinking them: cleaned
 * when its task ends; when it crashes, by the parent that reaps it. */
static int t_create_and_leave(const void *in, size_t len, weft_bytes *out)
{
	weft_shm *s;
	for (int i = 0; i < 3; i++)
		if (weft_shm_new(&s, &(weft_shm_opts){.create = true, .size = 100}))
			return 30;
	if (len && *(const char *)in == 'c')
		mpt_crash();
	return 0;
}
WEFT_TASK(t_create_and_leave, t_create_and_leave)

static void run_cleanup(weft_start_method m, const char *how)
{
	weft_process *p;
	wt_ok(weft_process_start(
	    &p, &(weft_process_opts){
	            .target = t_create_and_leave, .arg = how, .arg_len = strlen(how), .start = m}));
	wt_ok(weft_process_join(p, 30));
	char prefix[32];
	snprintf(prefix, sizeof prefix, "weft-%d-", (int)weft_process_pid(p));
	ck_assert_int_eq(mpt_shm_entries(prefix), 0);
	weft_process_free(p);
}

START_TEST(cleanup_after_child)
{
	weft_start_method m = WEFT_START_FORK;
	run_cleanup(m, "return");
	run_cleanup(m, "crash");
	run_cleanup(WEFT_START_SPAWN, "crash");
}
END_TEST

/* The creator's own leftovers go at its normal exit (atexit). */
START_TEST(cleanup_at_exit)
{
	pid_t pid = fork();
	if (pid == 0) {
		weft_shm *s;
		if (weft_shm_new(&s, &(weft_shm_opts){.create = true, .size = 10}))
			_exit(1);
		exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "weft-%d-", (int)pid);
	ck_assert_int_eq(mpt_shm_entries(prefix), 0);
}
END_TEST

static weft_mp_array *g_counter, *g_arr;

static int t_increment(const void *in, size_t len, weft_bytes *out)
{
	for (int i = 0; i < 200; i++) {
		weft_mp_lock *l = weft_mp_array_lock(g_counter);
		if (weft_mp_lock_acquire(l, 30))
			return 40;
		long *v = weft_mp_array_data(g_counter);
		*v += 1;
		weft_mp_lock_release(l);
	}
	double *d = weft_mp_array_data(g_arr);
	for (size_t i = 0; i < weft_mp_array_len(g_arr); i++)
		d[i] *= 2; /* one child only writes the array */
	return 0;
}

START_TEST(value_and_array)
{
	long zero = 0;
	wt_ok(weft_mp_value_new(&g_counter, sizeof(long), &zero, NULL));
	ck_assert_ptr_nonnull(weft_mp_array_lock(g_counter));
	ck_assert_uint_eq(weft_mp_array_len(g_counter), 1);
	double init[4] = {1, 2, 3, 4};
	wt_ok(weft_mp_array_new(&g_arr, sizeof(double), 4, init, &(weft_mp_array_opts){.raw = true}));
	ck_assert_ptr_null(weft_mp_array_lock(g_arr));
	weft_process *p[4];
	for (int i = 0; i < 4; i++)
		wt_ok(weft_process_start(&p[i], &(weft_process_opts){.target = i ? NULL : t_increment}));
	for (int i = 0; i < 4; i++) {
		wt_ok(weft_process_join(p[i], 30));
		weft_process_free(p[i]);
	}
	weft_process *q[3];
	for (int i = 0; i < 3; i++)
		wt_ok(weft_process_start(&q[i], &(weft_process_opts){.target = t_increment}));
	for (int i = 0; i < 3; i++) {
		wt_ok(weft_process_join(q[i], 30));
		weft_process_free(q[i]);
	}
	ck_assert_int_eq(*(long *)weft_mp_array_data(g_counter), 800);
	double *d = weft_mp_array_data(g_arr);
	ck_assert(d[0] == 16 && d[3] == 64); /* four children doubled it */
	weft_mp_array_free(g_counter);
	weft_mp_array_free(g_arr);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_shm *s;
	wt_rc(weft_shm_new(NULL, &(weft_shm_opts){.create = true, .size = 1}), WEFT_EINVAL);
	wt_rc(weft_shm_new(&s, NULL), WEFT_EINVAL);
	wt_rc(weft_shm_new(&s, &(weft_shm_opts){.create = true}), WEFT_EINVAL);
	wt_rc(weft_shm_new(&s, &(weft_shm_opts){0}), WEFT_EINVAL);
	wt_rc(weft_shm_new(&s, &(weft_shm_opts){.name = "a/b"}), WEFT_EINVAL);
	wt_rc(weft_shm_new(&s, &(weft_shm_opts){.name = ""}), WEFT_EINVAL);
	wt_rc(weft_shm_new(&s, &(weft_shm_opts){.name = "/weft-no-such-block"}), WEFT_ENOENT);
	wt_rc(weft_shm_unlink(NULL), WEFT_EINVAL);
	ck_assert_ptr_null(weft_shm_buf(NULL));
	ck_assert_uint_eq(weft_shm_size(NULL), 0);
	ck_assert_str_eq(weft_shm_name(NULL), "");
	weft_shm_close(NULL);
	weft_mp_array *a;
	wt_rc(weft_mp_array_new(NULL, 1, 1, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_mp_array_new(&a, 0, 1, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_mp_array_new(&a, 1, 0, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_mp_array_new(&a, SIZE_MAX / 2, 3, NULL, NULL), WEFT_EINVAL);
	ck_assert_ptr_null(weft_mp_array_data(NULL));
	ck_assert_uint_eq(weft_mp_array_len(NULL), 0);
	ck_assert_ptr_null(weft_mp_array_lock(NULL));
	weft_mp_array_free(NULL);
	/* a named block with a caller's name, created and removed */
	char name[64];
	snprintf(name, sizeof name, "weft-%d-named", (int)getpid());
	wt_ok(weft_shm_new(&s, &(weft_shm_opts){.name = name, .create = true, .size = 8}));
	ck_assert_str_eq(weft_shm_name(s) + 1, name);
	wt_ok(weft_shm_unlink(s));
	weft_shm_close(s);
	ck_assert_int_eq(shm_left(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shared");
	TCase *tc = wt_tcase("shared", 60);
	tcase_add_test(tc, basics_fork);
	tcase_add_test(tc, basics_spawn);
	tcase_add_test(tc, cleanup_after_child);
	tcase_add_test(tc, cleanup_at_exit);
	tcase_add_test(tc, value_and_array);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
