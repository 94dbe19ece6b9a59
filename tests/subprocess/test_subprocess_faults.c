/* subprocess under injected faults: every allocation of Popen start, run
 * and communicate fails in turn (tests/common/wfault.h), and a caller out
 * of file descriptors (RLIMIT_NOFILE, in a forked child) starts nothing.
 * Each returns the documented code (WEFT_ENOMEM, WEFT_EMFILE), leaks no
 * memory (ASan) and no fd, leaves no child behind (no zombie), and the
 * next call works. */
#include "sp_helpers.h"
#include "wfault.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <weft.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

static void assert_no_child(void)
{
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* The options that make start allocate the most: shell (argv copy),
 * env_add (merged environment), pass_fds, a user name lookup, pipes. */
static const char *const env_add[] = {"WEFT_FAULT_TEST=1", NULL};

START_TEST(popen_start_enomem_each_allocation)
{
	int keep = dup(1);
	weft_popen_opts o = {.shell = true,
	                     .env_add = env_add,
	                     .pass_fds = &keep,
	                     .npass_fds = 1,
	                     .user = "root",
	                     .stdin_mode = WEFT_PIPE,
	                     .stdout_mode = WEFT_PIPE,
	                     .stderr_mode = WEFT_DEVNULL};
	int fds = wt_open_fds();
	int failures = 0;
	for (int skip = 0;; skip++) {
		weft_popen *p = (weft_popen *)1;
		wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
		int rc = weft_popen_start(&p, ARGV("echo $WEFT_FAULT_TEST"), &o);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (!hits) { /* every allocation has failed once: this one ran */
			wt_ok(rc);
			weft_bytes out;
			wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, NULL));
			ck_assert_str_eq(out.data, "1\n");
			weft_bytes_free(&out);
			weft_popen_free(p);
			break;
		}
		failures++;
		wt_rc(rc, WEFT_ENOMEM);
		ck_assert_ptr_null(p);
		ck_assert_int_eq(wt_open_fds(), fds);
		assert_no_child();
	}
	ck_assert_int_ge(failures, 5);
	close(keep);
}
END_TEST

START_TEST(run_enomem_each_allocation)
{
	/* 3 MiB in and out: the capture crosses into its large reservation. */
	size_t n = 3u << 20;
	char *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 23);
	int fds = wt_open_fds();
	int failures = 0;
	for (int skip = 0;; skip++) {
		weft_completed r;
		wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
		int rc = weft_run(ARGV("cat"),
		                  &(weft_run_opts){.input = in, .input_len = n, .capture_output = true}, &r);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc == 0) { /* not every allocation is needed: the large
			        * capture falls back to growing in place */
			ck_assert_uint_eq(r.out.len, n);
			ck_assert(memcmp(r.out.data, in, n) == 0);
			weft_completed_free(&r);
			if (!hits)
				break;
			continue;
		}
		failures++;
		wt_rc(rc, WEFT_ENOMEM);
		weft_completed_free(&r); /* whatever it holds, nothing leaks */
		ck_assert_int_eq(wt_open_fds(), fds);
		assert_no_child(); /* run killed and reaped it */
	}
	ck_assert_int_ge(failures, 4);
	free(in);
}
END_TEST

/* communicate fails for memory, then carries on once memory is back: the
 * output is whole, nothing read before the failure is lost. */
START_TEST(communicate_enomem_then_retry)
{
	size_t n = 2u << 20;
	char *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('A' + i % 29);
	int failures = 0;
	for (int skip = 0;; skip++) {
		weft_popen *p;
		wt_ok(weft_popen_start(&p, ARGV("cat"),
		                       &(weft_popen_opts){.stdin_mode = WEFT_PIPE,
		                                          .stdout_mode = WEFT_PIPE,
		                                          .stderr_mode = WEFT_PIPE}));
		weft_bytes out, err;
		wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
		int rc = weft_popen_communicate(p, in, n, WEFT_FOREVER, &out, &err);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (hits && rc != 0) { /* (a hit may be survived: see above) */
			failures++;
			wt_rc(rc, WEFT_ENOMEM);
			ck_assert_ptr_null(out.data);
			ck_assert_ptr_null(err.data);
			/* the same call again finishes the job: input not yet
			 * written is still sent, output read so far is kept */
			wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, &err));
		} else {
			wt_ok(rc);
		}
		ck_assert_uint_eq(out.len, n);
		ck_assert(memcmp(out.data, in, n) == 0);
		ck_assert_uint_eq(err.len, 0);
		weft_bytes_free(&out);
		weft_bytes_free(&err);
		int code = -1;
		wt_ok(weft_popen_wait(p, WEFT_FOREVER, &code));
		ck_assert_int_eq(code, 0);
		weft_popen_free(p);
		if (!hits)
			break;
	}
	ck_assert_int_ge(failures, 3);
	free(in);
}
END_TEST

/* In a forked child (the limit is per process): with the fd limit set so
 * that k more fds could be opened, start either works or fails with
 * WEFT_EMFILE, leaving no fd and no child. k = 0 .. 8 hits each point
 * where start opens one: the pipes, /dev/null, the pidfd of the clone. */
static int fd_exhaustion_child(void)
{
	int max_fd = 2;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) && atoi(e->d_name) > max_fd)
			max_fd = atoi(e->d_name);
	if (d)
		closedir(d);
	/* Fill the holes below max_fd, so a limit of max_fd + 1 + k leaves
	 * exactly k fds to open. */
	for (;;) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 9;
		if (fd > max_fd) {
			close(fd);
			break;
		}
	}
	int base = wt_open_fds();
	int emfile = 0, ok = 0;
	for (int k = 0; k <= 8; k++) {
		/* fds are allocated lowest first: the limit bounds the number */
		struct rlimit rl = {(rlim_t)(max_fd + 1 + k), (rlim_t)(max_fd + 1 + k)};
		struct rlimit old;
		getrlimit(RLIMIT_NOFILE, &old);
		rl.rlim_max = old.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			return 10;
		weft_popen *p = (weft_popen *)1;
		int rc = weft_popen_start(&p, ARGV("cat"),
		                          &(weft_popen_opts){.stdin_mode = WEFT_PIPE,
		                                             .stdout_mode = WEFT_PIPE,
		                                             .stderr_mode = WEFT_DEVNULL});
		rl.rlim_cur = old.rlim_cur;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rc == 0) {
			ok++;
			weft_popen_close_pipe(p, 0);
			if (weft_popen_wait(p, WEFT_FOREVER, NULL))
				return 11;
			weft_popen_free(p);
		} else if (rc == WEFT_EMFILE) {
			emfile++;
			if (p != NULL)
				return 12;
		} else {
			return 13;
		}
		if (wt_open_fds() != base)
			return 14;
		errno = 0;
		if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
			return 15;
	}
	/* run, out of fds: the same code, nothing started */
	struct rlimit old, rl;
	getrlimit(RLIMIT_NOFILE, &old);
	rl = (struct rlimit){(rlim_t)(max_fd + 1), old.rlim_max};
	setrlimit(RLIMIT_NOFILE, &rl);
	weft_completed r;
	int rc = weft_run(ARGV("echo", "x"), &(weft_run_opts){.capture_output = true}, &r);
	setrlimit(RLIMIT_NOFILE, &old);
	weft_completed_free(&r);
	if (rc != WEFT_EMFILE) {
		fprintf(stderr, "run out of fds: %s\n", weft_errname(rc));
		return 16;
	}
	/* k = 0, 1: the stdin pipe; 2, 3: the stdout pipe; 4: /dev/null;
	 * 5: the pidfd of the clone; from 6 on it starts. */
	return emfile == 6 && ok == 3 ? 0 : 17;
}

START_TEST(fd_exhaustion_starts_nothing)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fd_exhaustion_child());
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}
END_TEST

int main(int argc, char **argv)
{
	sp_helper_main(argc, argv);
	Suite *s = suite_create("subprocess_faults");
	TCase *tc = sp_tcase("faults", 120);
	tcase_add_test(tc, popen_start_enomem_each_allocation);
	tcase_add_test(tc, run_enomem_each_allocation);
	tcase_add_test(tc, communicate_enomem_then_retry);
	tcase_add_test(tc, fd_exhaustion_starts_nothing);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
