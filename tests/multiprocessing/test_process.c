/* Processes: after CPython's _test_multiprocessing.py _TestProcess
 * (test_process, test_terminate, test_kill, test_cpu_count,
 * test_active_children, test_recursion, test_sentinel, test_wait,
 * test_parent_process, test_close, test_exitcode) and the daemon/atexit
 * behaviour of util._exit_function. */
#include "mp_test.h"

#include <poll.h>
#include <signal.h>
#include <weft/multiprocessing.h>

static int t_ok(const void *in, size_t len, weft_bytes *out)
{
	return 0;
}
WEFT_TASK(t_ok, t_ok)

/* Returns the first byte of its argument as the exit code. */
static int t_code(const void *in, size_t len, weft_bytes *out)
{
	return len ? ((const unsigned char *)in)[0] : 0;
}
WEFT_TASK(t_code, t_code)

static int t_fail(const void *in, size_t len, weft_bytes *out)
{
	return weft_fail(WEFT_EINVAL, "expected failure");
}
WEFT_TASK(t_fail, t_fail)

/* Blocks until the fd named by its argument reads a byte or EOF. (Forked
 * children inherit every pipe's write end, so tests release them with a
 * byte rather than by closing.) */
static int t_block(const void *in, size_t len, weft_bytes *out)
{
	int fd;
	memcpy(&fd, in, sizeof fd);
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	return 0;
}
WEFT_TASK(t_block, t_block)

/* Never registered with WEFT_TASK. */
static int t_unregistered(const void *in, size_t len, weft_bytes *out)
{
	return 0;
}

static int t_segv(const void *in, size_t len, weft_bytes *out)
{
	mpt_crash();
	return 0;
}
WEFT_TASK(t_segv, t_segv)

/* Checks what the child knows about itself: exit 0 when the current
 * process's name equals the argument and the parent is alive. */
static int t_whoami(const void *in, size_t len, weft_bytes *out)
{
	weft_process *me = weft_process_current();
	if (strlen(weft_process_name(me)) != len || memcmp(weft_process_name(me), in, len))
		return 10;
	if (weft_process_pid(me) != getpid())
		return 11;
	weft_process *parent = weft_process_parent();
	if (!parent || weft_process_pid(parent) != getppid() || !weft_process_is_alive(parent))
		return 12;
	if (weft_process_join(me, 0) != WEFT_EDEADLK)
		return 13;
	int code;
	if (weft_process_exitcode(parent, &code) != WEFT_ESTATE)
		return 14;
	if (weft_process_join(parent, 0.05) != WEFT_ETIMEDOUT)
		return 15;
	return 0;
}
WEFT_TASK(t_whoami, t_whoami)

/* A daemon may not have children. */
static int t_daemon_child(const void *in, size_t len, weft_bytes *out)
{
	weft_process *p;
	if (!weft_process_daemon(weft_process_current()))
		return 20;
	return weft_process_start(&p, &(weft_process_opts){.target = t_ok}) == WEFT_ESTATE ? 0 : 21;
}
WEFT_TASK(t_daemon_child, t_daemon_child)

static int exit_code_of(weft_process *p)
{
	int code = -1000;
	wt_ok(weft_process_join(p, 30));
	wt_ok(weft_process_exitcode(p, &code));
	return code;
}

static void run_exitcodes(weft_start_method m)
{
	weft_process *p;
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_ok, .start = m}));
	ck_assert_int_gt(weft_process_pid(p), 0);
	ck_assert_int_eq(exit_code_of(p), 0);
	ck_assert(!weft_process_is_alive(p));
	wt_ok(weft_process_close(p));

	wt_ok(weft_process_start(
	    &p, &(weft_process_opts){.task = "t_code", .arg = "\x07", .arg_len = 1, .start = m}));
	ck_assert_int_eq(exit_code_of(p), 7);
	weft_process_free(p);

	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_fail, .start = m}));
	ck_assert_int_eq(exit_code_of(p), 1);
	weft_process_free(p);

	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_segv, .start = m}));
	ck_assert_int_eq(exit_code_of(p), -MPT_CRASH_SIG);
	weft_process_free(p);

	/* no target: does nothing */
	wt_ok(weft_process_start(&p, &(weft_process_opts){.start = m}));
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);
	mpt_no_children();
}

START_TEST(exitcodes_fork)
{
	run_exitcodes(WEFT_START_FORK);
}
END_TEST

START_TEST(exitcodes_spawn)
{
	run_exitcodes(WEFT_START_SPAWN);
}
END_TEST

static void run_names(weft_start_method m)
{
	weft_process *p;
	const char *me = weft_process_name(weft_process_current());
	ck_assert_str_eq(me, "MainProcess");
	ck_assert_ptr_null(weft_process_parent());
	wt_ok(weft_process_start(
	    &p, &(weft_process_opts){
	            .target = t_whoami, .arg = "worker", .arg_len = 6, .name = "worker", .start = m}));
	ck_assert_str_eq(weft_process_name(p), "worker");
	ck_assert(!weft_process_daemon(p));
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);

	/* the default name is Process-N; the child sees it */
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_ok, .start = m}));
	const char *name = weft_process_name(p);
	ck_assert_msg(strncmp(name, "Process-", 8) == 0, "%s", name);
	char dup[64];
	snprintf(dup, sizeof dup, "%s", name);
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);
	wt_ok(weft_process_start(
	    &p, &(weft_process_opts){
	            .target = t_whoami, .arg = dup, .arg_len = strlen(dup), .name = dup, .start = m}));
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);

	wt_ok(weft_process_start(&p,
	                         &(weft_process_opts){.target = t_daemon_child, .daemon = true, .start = m}));
	ck_assert(weft_process_daemon(p));
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);
}

START_TEST(names_fork)
{
	run_names(WEFT_START_FORK);
}
END_TEST

START_TEST(names_spawn)
{
	run_names(WEFT_START_SPAWN);
}
END_TEST

/* Starts a child blocked on a pipe; a byte written to *wfd releases it. */
static weft_process *start_blocked(weft_start_method m, int *wfd)
{
	int fds[2];
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	weft_process *p;
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_block,
	                                                  .arg = &fds[0],
	                                                  .arg_len = sizeof(int),
	                                                  .start = m,
	                                                  .pass_fds = &fds[0],
	                                                  .n_pass_fds = 1}));
	close(fds[0]);
	*wfd = fds[1];
	return p;
}

static void run_terminate(weft_start_method m)
{
	int w;
	weft_process *p = start_blocked(m, &w);
	ck_assert(weft_process_is_alive(p));
	int code;
	wt_rc(weft_process_exitcode(p, &code), WEFT_ESTATE);
	wt_rc(weft_process_close(p), WEFT_EBUSY);
	double t0 = weft_monotonic();
	wt_rc(weft_process_join(p, 0.1), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.1 && dt < 0.1 + WT_SLACK);
	wt_rc(weft_process_join(p, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_process_terminate(p));
	ck_assert_int_eq(exit_code_of(p), -SIGTERM);
	wt_ok(weft_process_terminate(p)); /* ended: nothing to do */
	wt_ok(weft_process_kill(p));
	weft_process_free(p);
	close(w);

	p = start_blocked(m, &w);
	wt_ok(weft_process_kill(p));
	ck_assert_int_eq(exit_code_of(p), -SIGKILL);
	weft_process_free(p);
	close(w);

	/* released normally */
	p = start_blocked(m, &w);
	ck_assert_int_eq(write(w, "x", 1), 1);
	close(w);
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);
	mpt_no_children();
}

START_TEST(terminate_kill_fork)
{
	run_terminate(WEFT_START_FORK);
}
END_TEST

static void ignore_term(int sig)
{
	(void)sig;
}

/* terminate() right after a fork start ends the child even when the parent
 * handles SIGTERM itself: the child must never run the parent's handler
 * (which here would let it live on). */
START_TEST(terminate_right_after_fork)
{
	struct sigaction sa = {.sa_handler = ignore_term}, old;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGTERM, &sa, &old), 0);
	for (int i = 0; i < 20; i++) {
		int w;
		weft_process *p = start_blocked(WEFT_START_FORK, &w);
		wt_ok(weft_process_terminate(p));
		ck_assert_int_eq(exit_code_of(p), -SIGTERM);
		weft_process_free(p);
		close(w);
	}
	sigaction(SIGTERM, &old, NULL);
	mpt_no_children();
}
END_TEST

START_TEST(terminate_kill_spawn)
{
	run_terminate(WEFT_START_SPAWN);
}
END_TEST

START_TEST(active_children_and_wait)
{
	weft_start_method m = WEFT_START_FORK;
	int fds0 = wt_open_fds();
	size_t n = 99;
	wt_ok(weft_process_active_children(NULL, 0, &n));
	ck_assert_uint_eq(n, 0);
	int w[3];
	weft_process *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = start_blocked(m, &w[i]);
	weft_process *got[4] = {0};
	wt_ok(weft_process_active_children(got, 4, &n));
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		weft_process_free(got[i]);

	int sent[3];
	for (int i = 0; i < 3; i++)
		sent[i] = weft_process_sentinel(p[i]);
	bool ready[3];
	wt_rc(weft_mp_wait(sent, 3, ready, 0.05), WEFT_ETIMEDOUT);
	ck_assert_int_eq(write(w[1], "x", 1), 1); /* the second ends */
	ck_assert_int_eq(weft_mp_wait(sent, 3, ready, 30), 1);
	ck_assert(!ready[0] && ready[1] && !ready[2]);
	wt_ok(weft_process_join(p[1], 30));

	/* active_children reaps the ended one */
	wt_ok(weft_process_active_children(NULL, 0, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(write(w[0], "x", 1), 1);
	ck_assert_int_eq(write(w[2], "x", 1), 1);
	for (int i = 0; i < 3; i++) {
		close(w[i]);
		wt_ok(weft_process_join(p[i], 30));
		weft_process_free(p[i]);
	}
	wt_ok(weft_process_active_children(NULL, 0, &n));
	ck_assert_uint_eq(n, 0);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds0);
}
END_TEST

/* A dropped handle: the child still runs, active_children reaps it. */
START_TEST(free_running_child)
{
	weft_start_method m = WEFT_START_FORK;
	int w;
	weft_process *p = start_blocked(m, &w);
	int sentinel = weft_process_sentinel(p);
	weft_process_free(p);
	size_t n;
	wt_ok(weft_process_active_children(&p, 1, &n));
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(weft_process_sentinel(p), sentinel);
	ck_assert_int_eq(write(w, "x", 1), 1);
	close(w);
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);
	wt_ok(weft_process_active_children(NULL, 0, &n));
	ck_assert_uint_eq(n, 0);
	mpt_no_children();
}
END_TEST

/* Python's atexit: daemon children terminated, others joined. The middle
 * process writes its children's pids to a pipe and then exits normally. */
static int t_exit_with_children(const void *in, size_t len, weft_bytes *out)
{
	int report;
	memcpy(&report, in, sizeof report);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return 30;
	weft_process *d, *nd;
	weft_start_method m = ((const int *)in)[1];
	if (weft_process_start(&d, &(weft_process_opts){.target = t_block,
	                                                .arg = &fds[0],
	                                                .arg_len = sizeof(int),
	                                                .daemon = true,
	                                                .start = m,
	                                                .pass_fds = &fds[0],
	                                                .n_pass_fds = 1}))
		return 31;
	if (weft_process_start(&nd, &(weft_process_opts){.target = t_ok, .start = m}))
		return 32;
	pid_t pids[2] = {weft_process_pid(d), weft_process_pid(nd)};
	if (write(report, pids, sizeof pids) != sizeof pids)
		return 33;
	exit(0); /* the daemon blocks forever unless terminated */
}
WEFT_TASK(t_exit_with_children, t_exit_with_children)

START_TEST(exit_terminates_daemons)
{
	weft_start_method m = WEFT_START_FORK;
	int fds[2];
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	int arg[2] = {fds[1], m};
	weft_process *p;
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_exit_with_children,
	                                                  .arg = arg,
	                                                  .arg_len = sizeof arg,
	                                                  .start = m,
	                                                  .pass_fds = &fds[1],
	                                                  .n_pass_fds = 1}));
	close(fds[1]);
	ck_assert_int_eq(exit_code_of(p), 0);
	weft_process_free(p);
	pid_t pids[2];
	ck_assert_int_eq(read(fds[0], pids, sizeof pids), sizeof pids);
	close(fds[0]);
	/* both grandchildren ended and were reaped by the middle process */
	ck_assert_int_eq(kill(pids[0], 0), -1);
	ck_assert_int_eq(kill(pids[1], 0), -1);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_process *p;
	wt_rc(weft_process_start(NULL, &(weft_process_opts){0}), WEFT_EINVAL);
	wt_rc(weft_process_start(&p, NULL), WEFT_EINVAL);
	wt_rc(weft_process_start(&p, &(weft_process_opts){.target = t_ok, .task = "t_ok"}), WEFT_EINVAL);
	wt_rc(weft_process_start(&p, &(weft_process_opts){.task = "no such task"}), WEFT_EINVAL);
	wt_rc(weft_process_start(&p, &(weft_process_opts){.arg_len = 3}), WEFT_EINVAL);
	wt_rc(weft_process_start(&p, &(weft_process_opts){.start = 7}), WEFT_EINVAL);
	wt_rc(weft_process_start(&p, &(weft_process_opts){.n_pass_fds = 1}), WEFT_EINVAL);
	int bad = -1;
	wt_rc(weft_process_start(&p, &(weft_process_opts){.pass_fds = &bad, .n_pass_fds = 1}), WEFT_EINVAL);
	/* an unregistered function cannot be spawned */
	wt_rc(
	    weft_process_start(&p, &(weft_process_opts){.target = t_unregistered, .start = WEFT_START_SPAWN}),
	    WEFT_EINVAL);
	wt_rc(weft_process_join(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_process_join(weft_process_current(), 0), WEFT_EDEADLK);
	wt_rc(weft_process_join(weft_process_current(), -2), WEFT_EINVAL);
	wt_rc(weft_process_join(weft_process_current(), 0.0 / 0.0), WEFT_EINVAL);
	int code;
	wt_rc(weft_process_exitcode(NULL, &code), WEFT_EINVAL);
	wt_rc(weft_process_exitcode(weft_process_current(), &code), WEFT_ESTATE);
	wt_rc(weft_process_terminate(NULL), WEFT_EINVAL);
	wt_rc(weft_process_kill(weft_process_current()), WEFT_EPERM);
	wt_rc(weft_process_sentinel(NULL), WEFT_EINVAL);
	wt_rc(weft_process_sentinel(weft_process_current()), WEFT_ESTATE);
	wt_rc(weft_process_close(NULL), WEFT_EINVAL);
	wt_rc(weft_process_retain(NULL), WEFT_EINVAL);
	ck_assert(!weft_process_is_alive(NULL));
	ck_assert(weft_process_is_alive(weft_process_current()));
	ck_assert_int_eq(weft_process_pid(NULL), -1);
	ck_assert_str_eq(weft_process_name(NULL), "");
	weft_process_free(NULL);
	weft_process_free(weft_process_current()); /* never freed */
	size_t n;
	wt_rc(weft_process_active_children(NULL, 1, &n), WEFT_EINVAL);
	wt_rc(weft_process_active_children(NULL, 0, NULL), WEFT_EINVAL);
	wt_rc(weft_mp_wait(NULL, 1, NULL, 0), WEFT_EINVAL);
	int fd = 12345;
	wt_rc(weft_mp_wait(&fd, 1, NULL, 0), WEFT_EBADF);
	wt_rc(weft_mp_wait(&fd, 1, NULL, -3), WEFT_EINVAL);
	ck_assert_int_ge(weft_mp_cpu_count(), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("process");
	TCase *tc = wt_tcase("process", 60);
	tcase_add_test(tc, exitcodes_fork);
	tcase_add_test(tc, exitcodes_spawn);
	tcase_add_test(tc, names_fork);
	tcase_add_test(tc, names_spawn);
	tcase_add_test(tc, terminate_kill_fork);
	tcase_add_test(tc, terminate_right_after_fork);
	tcase_add_test(tc, terminate_kill_spawn);
	tcase_add_test(tc, active_children_and_wait);
	tcase_add_test(tc, free_running_child);
	tcase_add_test(tc, exit_terminates_daemons);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
