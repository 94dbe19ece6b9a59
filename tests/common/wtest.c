#include "wtest.h"

#include <dirent.h>
#include <pthread.h>

double wt_slack(void)
{
	return wt_under_sanitizer() ? 8.0 : 1.0;
}

int wt_under_sanitizer(void)
{
	const char *s = getenv("WEFT_UNDER_SANITIZER");
	return s && *s == '1';
}

long wt_stress_scale(void)
{
	const char *s = getenv("WEFT_STRESS_SCALE");
	long v = s ? strtol(s, NULL, 10) : 1;
	return v > 0 ? v : 1;
}

struct wt_thread {
	pthread_t t;
};

wt_thread *wt_spawn(void *(*fn)(void *), void *arg)
{
	wt_thread *t = malloc(sizeof *t);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(pthread_create(&t->t, NULL, fn, arg), 0);
	return t;
}

void *wt_join(wt_thread *t)
{
	void *ret = NULL;
	ck_assert_int_eq(pthread_join(t->t, &ret), 0);
	free(t);
	return ret;
}

int wt_open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

TCase *wt_tcase(const char *name, double timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout);
	return tc;
}

int wt_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
