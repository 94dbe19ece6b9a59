/* tests/subprocess/sp_helpers.h - what the subprocess tests share: the
 * fd and zombie check around every test, and helper modes of the test
 * binary itself (a child that lists its open fds precisely). */
#ifndef WEFT_TEST_SP_HELPERS_H
#define WEFT_TEST_SP_HELPERS_H

#include "wtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char sp_self[PATH_MAX]; /* this test binary */
static int sp_fds_before;

/* Every test: no fd leaked, no child left unreaped. */
static inline void sp_setup(void)
{
	sp_fds_before = wt_open_fds();
}

static inline void sp_teardown(void)
{
	ck_assert_int_eq(wt_open_fds(), sp_fds_before);
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

static inline TCase *sp_tcase(const char *name, double timeout)
{
	TCase *tc = wt_tcase(name, timeout);
	tcase_add_checked_fixture(tc, sp_setup, sp_teardown);
	return tc;
}

/* Helper modes, run when the binary is started as a child:
 *   --list-fds   prints its open fds ("0 1 2 ...") */
static inline void sp_helper_main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", sp_self, sizeof sp_self - 1);
	sp_self[n > 0 ? n : 0] = '\0';
	if (argc < 2 || strcmp(argv[1], "--list-fds") != 0)
		return;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		_exit(2);
	int fds[1024], k = 0;
	for (struct dirent *e; (e = readdir(d)) && k < 1024;)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[k++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < k; i++) /* readdir order is not numeric */
		for (int j = i + 1; j < k; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < k; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
	fflush(stdout);
	_exit(0);
}

/* Runs the fd-listing helper with opts and returns what it printed
 * (malloc'd, without the newline). */
static inline char *sp_child_fds(const weft_popen_opts *opts)
{
	weft_run_opts o = {.popen = *opts};
	o.popen.stdout_mode = WEFT_PIPE;
	weft_completed r;
	int rc = weft_run((const char *[]){sp_self, "--list-fds", NULL}, &o, &r);
	ck_assert_msg(rc == 0, "helper: %s %s", weft_errname(rc), weft_last_failure_message());
	ck_assert_int_eq(r.returncode, 0);
	char *s = strdup(r.out.data);
	s[strcspn(s, "\n")] = '\0';
	weft_completed_free(&r);
	return s;
}

/* "0 1 2" followed by the fds above 2 this process would let a child
 * inherit with close_fds off (those not close-on-exec: the test runner's),
 * and extra (-1 terminated), in order. */
static inline void sp_inheritable(char *buf, size_t size, const int *extra)
{
	int n = snprintf(buf, size, "0 1 2");
	for (int fd = 3; fd < 1024; fd++) {
		bool want = false;
		for (const int *e = extra; e && *e >= 0; e++)
			want |= *e == fd;
		int fl = fcntl(fd, F_GETFD);
		if (want || (fl >= 0 && !(fl & FD_CLOEXEC)))
			n += snprintf(buf + n, size - (size_t)n, " %d", fd);
	}
}

/* A pipe whose ends are both close-on-exec. */
static inline void sp_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

/* A gate for a helper child: a pipe whose read end the child is given
 * (pass it in pass_fds) and named by number in fd, for an argument such
 * as --emit's. The child blocks on it until the test writes a byte to
 * ctl[1] or closes it. */
static inline void sp_gate(int ctl[2], char fd[16])
{
	sp_pipe(ctl);
	snprintf(fd, 16, "%d", ctl[0]);
}

#endif
