/* subprocess: Popen -- pipes, poll, wait, communicate, signals, process
 * groups, cancel scopes, close_fds / pass_fds, sentinels -- after CPython's
 * Lib/test/test_subprocess.py, plus weft's additions. */
#include "sp_helpers.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/time.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

START_TEST(pipes_exist_only_when_asked)
{
	weft_popen *p;
	wt_ok(weft_popen_start(&p, ARGV("echo", "banana"), &(weft_popen_opts){.stdout_mode = WEFT_PIPE}));
	ck_assert_int_gt(weft_popen_pid(p), 0);
	ck_assert_int_eq(weft_popen_stdin_fd(p), -1);
	ck_assert_int_ge(weft_popen_stdout_fd(p), 3);
	ck_assert_int_eq(weft_popen_stderr_fd(p), -1);
	ck_assert_int_eq(fcntl(weft_popen_stdout_fd(p), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(weft_popen_sentinel(p), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_str_eq(weft_popen_args(p)[1], "banana");
	char buf[16] = {0};
	ck_assert_int_eq(read(weft_popen_stdout_fd(p), buf, sizeof buf - 1), 7);
	ck_assert_str_eq(buf, "banana\n");
	int rc = -1;
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, &rc));
	ck_assert_int_eq(rc, 0);
	wt_ok(weft_popen_close_pipe(p, 1));
	ck_assert_int_eq(weft_popen_stdout_fd(p), -1);
	wt_ok(weft_popen_close_pipe(p, 1)); /* again: a no-op */
	weft_popen_free(p);
}
END_TEST

/* Python's test_writes_before_communicate and test_communicate. */
START_TEST(communicate_basics)
{
	weft_popen *p;
	weft_bytes out, err;
	weft_popen_opts all = {.stdin_mode = WEFT_PIPE, .stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_PIPE};
	wt_ok(weft_popen_start(&p, ARGV("sh", "-c", "cat; echo pineapple >&2"), &all));
	ck_assert_int_eq(write(weft_popen_stdin_fd(p), "banana", 6), 6);
	wt_ok(weft_popen_communicate(p, "split", 5, WEFT_FOREVER, &out, &err));
	ck_assert_str_eq(out.data, "bananasplit");
	ck_assert_str_eq(err.data, "pineapple\n");
	ck_assert_int_eq(weft_popen_stdin_fd(p), -1);
	ck_assert_int_eq(weft_popen_stdout_fd(p), -1);
	int rc = -1;
	wt_ok(weft_popen_returncode(p, &rc));
	ck_assert_int_eq(rc, 0);
	weft_bytes_free(&out);
	weft_bytes_free(&err);
	/* again: nothing more, no new input accepted */
	wt_rc(weft_popen_communicate(p, "x", 1, WEFT_FOREVER, NULL, NULL), WEFT_EINVAL);
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, NULL));
	ck_assert_uint_eq(out.len, 0);
	weft_bytes_free(&out);
	weft_popen_free(p);
	/* streams that are not pipes come back NULL (Python's None) */
	wt_ok(weft_popen_start(&p, ARGV("true"), NULL));
	out.data = (void *)1;
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, &err));
	ck_assert_ptr_null(out.data);
	ck_assert_ptr_null(err.data);
	/* input without a stdin pipe is refused */
	weft_popen_free(p);
	wt_ok(weft_popen_start(&p, ARGV("true"), NULL));
	wt_rc(weft_popen_communicate(p, "x", 1, WEFT_FOREVER, NULL, NULL), WEFT_EINVAL);
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
}
END_TEST

/* Megabytes both ways at once: a naive write-then-read would deadlock. */
START_TEST(communicate_large_both_ways)
{
	size_t n = 4u << 20;
	char *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	weft_popen *p;
	weft_popen_opts all = {.stdin_mode = WEFT_PIPE, .stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_PIPE};
	/* stdout gets the input back, stderr 3 MiB of its own meanwhile */
	wt_ok(weft_popen_start(&p, ARGV("sh", "-c", "head -c 3145728 /dev/zero >&2 & cat; wait"), &all));
	weft_bytes out, err;
	wt_ok(weft_popen_communicate(p, in, n, WEFT_FOREVER, &out, &err));
	ck_assert_uint_eq(out.len, n);
	ck_assert_int_eq(memcmp(out.data, in, n), 0);
	ck_assert_uint_eq(err.len, 3145728);
	weft_bytes_free(&out);
	weft_bytes_free(&err);
	weft_popen_free(p);
	free(in);
}
END_TEST

/* A child that exits without reading must neither break communicate nor
 * let SIGPIPE kill us (the default disposition is in force here). */
START_TEST(child_closing_stdin_early)
{
	signal(SIGPIPE, SIG_DFL);
	size_t n = 8u << 20;
	char *in = calloc(1, n);
	weft_completed r;
	wt_ok(weft_run(ARGV("head", "-c", "10"),
	               &(weft_run_opts){.input = in, .input_len = n, .capture_output = true}, &r));
	ck_assert_uint_eq(r.out.len, 10);
	weft_completed_free(&r);
	wt_ok(weft_run(ARGV("true"), &(weft_run_opts){.input = in, .input_len = n}, &r));
	weft_completed_free(&r);
	/* the EPIPE's signal was consumed, not left pending */
	sigset_t pending;
	sigpending(&pending);
	ck_assert(!sigismember(&pending, SIGPIPE));
	free(in);
}
END_TEST

/* Python's test_communicate_timeout: the retry loses nothing. The child
 * waits on a pipe we control, so the timeout is certain to expire. */
START_TEST(communicate_timeout_then_retry)
{
	int ctl[2];
	sp_pipe(ctl);
	weft_popen *p;
	weft_popen_opts o = {.stdin_mode = WEFT_PIPE,
	                     .stdout_mode = WEFT_PIPE,
	                     .stderr_mode = WEFT_PIPE,
	                     .pass_fds = &ctl[0],
	                     .npass_fds = 1};
	char script[128];
	snprintf(script, sizeof script, "echo pineapple >&2; read x <&%d; echo pear >&2; cat", ctl[0]);
	wt_ok(weft_popen_start(&p, ARGV("sh", "-c", script), &o));
	close(ctl[0]);
	weft_bytes out, err;
	double t0 = weft_monotonic();
	wt_rc(weft_popen_communicate(p, "banana", 6, 0.3, &out, &err), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 0.3 + WT_SLACK, "took %f", dt);
	ck_assert_str_eq(out.data, ""); /* cat has not started */
	weft_bytes_free(&out);
	weft_bytes_free(&err);
	wt_rc(weft_popen_poll(p, NULL), WEFT_EAGAIN); /* still running */
	ck_assert_int_eq(write(ctl[1], "go\n", 3), 3);
	close(ctl[1]);
	/* the input given now is ignored; the first call's is still sent */
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, &err));
	ck_assert_str_eq(out.data, "banana");
	ck_assert_str_eq(err.data, "pineapple\npear\n");
	weft_bytes_free(&out);
	weft_bytes_free(&err);
	weft_popen_free(p);
}
END_TEST

START_TEST(communicate_discards_null_streams)
{
	weft_popen *p;
	wt_ok(weft_popen_start(&p, ARGV("sh", "-c", "head -c 1000000 /dev/zero; echo e >&2"),
	                       &(weft_popen_opts){.stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_PIPE}));
	weft_bytes err;
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, NULL, &err));
	ck_assert_str_eq(err.data, "e\n");
	weft_bytes_free(&err);
	weft_popen_free(p);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

/* Python's test_communicate_eintr: a storm of signals without SA_RESTART. */
START_TEST(communicate_survives_signals)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 500}, {0, 500}};
	setitimer(ITIMER_REAL, &it, NULL);
	size_t n = 2u << 20;
	char *in = malloc(n);
	memset(in, 'q', n);
	weft_completed r;
	int rc =
	    weft_run(ARGV("cat"), &(weft_run_opts){.input = in, .input_len = n, .capture_output = true}, &r);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	wt_ok(rc);
	ck_assert_uint_eq(r.out.len, n);
	ck_assert_int_eq(memcmp(r.out.data, in, n), 0);
	weft_completed_free(&r);
	free(in);
}
END_TEST

START_TEST(poll_wait_and_returncodes)
{
	weft_popen *p;
	wt_ok(weft_popen_start(&p, ARGV("cat"), &(weft_popen_opts){.stdin_mode = WEFT_PIPE}));
	int rc = 12345;
	wt_rc(weft_popen_poll(p, &rc), WEFT_EAGAIN);
	wt_rc(weft_popen_returncode(p, &rc), WEFT_EAGAIN);
	ck_assert_int_eq(rc, 12345);
	double t0 = weft_monotonic();
	wt_rc(weft_popen_wait(p, 0.1, &rc), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.1);
	wt_rc(weft_popen_wait(p, 0, &rc), WEFT_ETIMEDOUT);
	/* the sentinel is not readable yet; it is once stdin closes */
	struct pollfd pf = {.fd = weft_popen_sentinel(p), .events = POLLIN};
	ck_assert_int_eq(poll(&pf, 1, 0), 0);
	wt_ok(weft_popen_close_pipe(p, 0));
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	wt_ok(weft_popen_poll(p, &rc));
	ck_assert_int_eq(rc, 0);
	wt_ok(weft_popen_wait(p, 0, &rc)); /* reaped already: returns at once */
	weft_popen_free(p);
	/* killed by a signal: -N */
	const int sigs[] = {SIGTERM, SIGKILL, SIGINT, SIGUSR1};
	for (int i = 0; i < 4; i++) {
		wt_ok(weft_popen_start(&p, ARGV("cat"), &(weft_popen_opts){.stdin_mode = WEFT_PIPE}));
		if (sigs[i] == SIGTERM)
			wt_ok(weft_popen_terminate(p));
		else if (sigs[i] == SIGKILL)
			wt_ok(weft_popen_kill(p));
		else
			wt_ok(weft_popen_send_signal(p, sigs[i]));
		wt_ok(weft_popen_wait(p, WEFT_FOREVER, &rc));
		ck_assert_int_eq(rc, -sigs[i]);
		/* after the reap: nothing is sent (as Python) */
		wt_ok(weft_popen_kill(p));
		weft_popen_free(p);
	}
}
END_TEST

START_TEST(popen_bad_arguments)
{
	weft_popen *p;
	int rc;
	wt_rc(weft_popen_start(NULL, ARGV("true"), NULL), WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, (const char *[]){NULL}, NULL), WEFT_EINVAL);
	ck_assert_int_eq(weft_popen_pid(NULL), -1);
	ck_assert_int_eq(weft_popen_stdin_fd(NULL), -1);
	ck_assert_int_eq(weft_popen_stdout_fd(NULL), -1);
	ck_assert_int_eq(weft_popen_stderr_fd(NULL), -1);
	ck_assert_int_eq(weft_popen_sentinel(NULL), -1);
	ck_assert_ptr_null(weft_popen_args(NULL));
	wt_rc(weft_popen_poll(NULL, &rc), WEFT_EINVAL);
	wt_rc(weft_popen_returncode(NULL, &rc), WEFT_EINVAL);
	wt_rc(weft_popen_wait(NULL, 1, &rc), WEFT_EINVAL);
	wt_rc(weft_popen_communicate(NULL, NULL, 0, 1, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_popen_send_signal(NULL, SIGTERM), WEFT_EINVAL);
	wt_rc(weft_popen_terminate(NULL), WEFT_EINVAL);
	wt_rc(weft_popen_kill(NULL), WEFT_EINVAL);
	wt_rc(weft_popen_close_pipe(NULL, 0), WEFT_EINVAL);
	weft_popen_free(NULL);
	wt_ok(weft_popen_start(&p, ARGV("cat"), &(weft_popen_opts){.stdin_mode = WEFT_PIPE}));
	wt_rc(weft_popen_wait(p, -2, &rc), WEFT_EINVAL);
	wt_rc(weft_popen_wait(p, 0.0 / 0.0, &rc), WEFT_EINVAL);
	wt_rc(weft_popen_communicate(p, NULL, 5, 1, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_popen_communicate(p, NULL, 0, -3, NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_popen_send_signal(p, -1), WEFT_EINVAL);
	wt_rc(weft_popen_send_signal(p, 65), WEFT_EINVAL);
	wt_rc(weft_popen_close_pipe(p, 3), WEFT_EINVAL);
	wt_rc(weft_popen_close_pipe(p, -1), WEFT_EINVAL);
	wt_ok(weft_popen_send_signal(p, 0)); /* existence check only */
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, NULL, NULL));
	weft_popen_free(p);
}
END_TEST

/* The child sees only 0, 1, 2 and pass_fds, at their numbers. */
START_TEST(close_fds_and_pass_fds)
{
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec */
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(leak, 3);
	char *s = sp_child_fds(&(weft_popen_opts){0});
	ck_assert_str_eq(s, "0 1 2");
	free(s);
	/* close_fds=False: the inheritable fd goes through, the other not */
	s = sp_child_fds(&(weft_popen_opts){.inherit_fds = true});
	char want[256];
	sp_inheritable(want, sizeof want, NULL);
	ck_assert_str_eq(s, want);
	free(s);
	/* pass_fds: even a close-on-exec fd, at its own number; duplicates ok */
	int high = fcntl(cloexec, F_DUPFD_CLOEXEC, 40);
	int pass[] = {high, cloexec, high};
	s = sp_child_fds(&(weft_popen_opts){.pass_fds = pass, .npass_fds = 3});
	snprintf(want, sizeof want, "0 1 2 %d %d", cloexec, high);
	ck_assert_str_eq(s, want);
	free(s);
	/* pass_fds with close_fds=False: both kinds */
	s = sp_child_fds(&(weft_popen_opts){.pass_fds = &high, .npass_fds = 1, .inherit_fds = true});
	sp_inheritable(want, sizeof want, (int[]){high, -1});
	ck_assert_str_eq(s, want);
	free(s);
	/* ours stay close-on-exec in the parent */
	ck_assert_int_eq(fcntl(high, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(leak);
	close(cloexec);
	close(high);
}
END_TEST

/* Eight threads start children at once; each child must see only its own
 * stdio, never another thread's pipes (all weft fds are close-on-exec). */
struct spawner {
	int rounds;
	_Atomic int *go;
	const char *inherited; /* what a child sees with close_fds off */
	int bad;
};

static void *spawner_main(void *arg)
{
	struct spawner *s = arg;
	while (!atomic_load(s->go))
		;
	for (int i = 0; i < s->rounds; i++) {
		weft_completed r;
		weft_run_opts o = {
		    .capture_output = true, .input = "x", .input_len = 1, .popen.inherit_fds = (i & 1) != 0};
		int rc = weft_run((const char *[]){sp_self, "--list-fds", NULL}, &o, &r);
		const char *want = (i & 1) ? s->inherited : "0 1 2";
		if (rc || r.returncode || strncmp(r.out.data, want, strlen(want)) != 0 ||
		    ((char *)r.out.data)[strlen(want)] != '\n')
			s->bad++;
		weft_completed_free(&r);
	}
	return NULL;
}

START_TEST(eight_threads_spawn_with_private_fds)
{
	_Atomic int go = 0;
	struct spawner sp[8];
	wt_thread *t[8];
	char inherited[256];
	sp_inheritable(inherited, sizeof inherited, NULL);
	for (int i = 0; i < 8; i++) {
		sp[i] = (struct spawner){.rounds = 6, .go = &go, .inherited = inherited};
		t[i] = wt_spawn(spawner_main, &sp[i]);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < 8; i++) {
		wt_join(t[i]);
		ck_assert_int_eq(sp[i].bad, 0);
	}
}
END_TEST

/* A thread blocked in wait or communicate inside a cancel scope: cancelling
 * the token wakes it, and the child is killed and reaped. */
struct waiter {
	weft_popen *p;
	weft_cancel *tok;
	double scope_timeout;
	bool communicate;
	_Atomic int entered;
	int rc;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	weft_cancel_scope sc;
	ck_assert_int_eq(weft_cancel_scope_enter(&sc, w->tok, w->scope_timeout), 0);
	atomic_store(&w->entered, 1);
	if (w->communicate) {
		weft_bytes out;
		w->rc = weft_popen_communicate(w->p, NULL, 0, WEFT_FOREVER, &out, NULL);
		ck_assert_str_eq(out.data, "started\n"); /* output so far */
		weft_bytes_free(&out);
	} else {
		w->rc = weft_popen_wait(w->p, WEFT_FOREVER, NULL);
	}
	ck_assert_int_eq(weft_cancel_scope_exit(&sc), 0);
	return NULL;
}

static void cancel_case(bool communicate, bool by_deadline)
{
	struct waiter w = {.communicate = communicate, .scope_timeout = by_deadline ? 0.2 : WEFT_FOREVER};
	wt_ok(weft_cancel_new(&w.tok, NULL));
	wt_ok(weft_popen_start(&w.p, ARGV("sh", "-c", "echo started; exec sleep 30"),
	                       &(weft_popen_opts){.stdout_mode = WEFT_PIPE}));
	if (communicate) { /* make sure "started" is in the pipe before the cancel */
		struct pollfd pf = {.fd = weft_popen_stdout_fd(w.p), .events = POLLIN};
		ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	}
	double t0 = weft_monotonic();
	wt_thread *t = wt_spawn(waiter_main, &w);
	while (!atomic_load(&w.entered))
		sched_yield();
	if (!by_deadline)
		wt_ok(weft_cancel_cancel(w.tok));
	wt_join(t);
	double dt = weft_monotonic() - t0;
	wt_rc(w.rc, by_deadline ? WEFT_ETIMEDOUT : WEFT_ECANCELED);
	if (by_deadline)
		ck_assert(dt >= 0.2);
	ck_assert_msg(dt < 0.2 + WT_SLACK, "took %f", dt);
	int rc;
	wt_ok(weft_popen_returncode(w.p, &rc));
	ck_assert_int_eq(rc, -SIGKILL);
	weft_popen_free(w.p);
	weft_cancel_release(w.tok);
}

START_TEST(cancel_kills_waited_child)
{
	cancel_case(false, false);
	cancel_case(false, true);
}
END_TEST

START_TEST(cancel_kills_communicating_child)
{
	cancel_case(true, false);
	cancel_case(true, true);
}
END_TEST

/* A wait that need not block succeeds even in a cancelled scope: the
 * child had exited, it is reaped with its own status, not killed. */
START_TEST(cancelled_scope_still_reaps_an_exited_child)
{
	weft_popen *p;
	wt_ok(weft_popen_start(&p, ARGV("sh", "-c", "exit 5"), NULL));
	struct pollfd pf = {.fd = weft_popen_sentinel(p), .events = POLLIN};
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	weft_cancel *tok;
	wt_ok(weft_cancel_new(&tok, NULL));
	wt_ok(weft_cancel_cancel(tok));
	weft_cancel_scope sc;
	wt_ok(weft_cancel_scope_enter(&sc, tok, WEFT_FOREVER));
	int rc = -1;
	int wrc = weft_popen_wait(p, WEFT_FOREVER, &rc);
	wt_ok(weft_cancel_scope_exit(&sc));
	wt_ok(wrc);
	ck_assert_int_eq(rc, 5);
	weft_cancel_release(tok);
	weft_popen_free(p);
}
END_TEST

/* Grandchildren: with new_process_group, kill and run's timeout reach them,
 * and their hold on the pipes does not stretch the timeout. We are the
 * subreaper, so the orphaned grandchild comes back to us and we see how it
 * died. */
static pid_t read_pid(int fd)
{
	char buf[32] = {0};
	size_t got = 0;
	while (got < sizeof buf - 1 && !memchr(buf, '\n', got)) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	return (pid_t)atoi(buf);
}

static void reap_grandchild(pid_t g, int expect_sig)
{
	int st;
	ck_assert_int_eq(waitpid(g, &st, 0), g);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), expect_sig);
}

START_TEST(kill_reaches_the_group)
{
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	weft_popen *p;
	wt_ok(weft_popen_start(&p, ARGV("sh", "-c", "sleep 30 & echo $!; exec sleep 31"),
	                       &(weft_popen_opts){.new_process_group = true, .stdout_mode = WEFT_PIPE}));
	pid_t g = read_pid(weft_popen_stdout_fd(p));
	wt_ok(weft_popen_kill(p));
	int rc;
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, &rc));
	ck_assert_int_eq(rc, -SIGKILL);
	reap_grandchild(g, SIGKILL);
	weft_popen_free(p);
}
END_TEST

START_TEST(run_timeout_reaches_the_group)
{
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	weft_completed r;
	double t0 = weft_monotonic();
	/* the grandchild holds stdout open; only killing it ends the stream */
	wt_rc(weft_run(
	          ARGV("sh", "-c", "sleep 30 & echo $!; exec sleep 31"),
	          &(weft_run_opts){.popen.new_process_group = true, .capture_output = true, .timeout = 0.3},
	          &r),
	      WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 0.3 + WT_SLACK, "took %f", dt);
	reap_grandchild((pid_t)atoi(r.out.data), SIGKILL);
	weft_completed_free(&r);
	/* without a group the grandchild survives, but run still returns on
	 * time: it does not wait for the pipe to close */
	t0 = weft_monotonic();
	wt_rc(weft_run(ARGV("sh", "-c", "sleep 30 & echo $!; exec sleep 31"),
	               &(weft_run_opts){.capture_output = true, .timeout = 0.3}, &r),
	      WEFT_ETIMEDOUT);
	dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 0.3 + WT_SLACK, "took %f", dt);
	pid_t g = (pid_t)atoi(r.out.data);
	ck_assert_int_eq(kill(g, SIGTERM), 0);
	reap_grandchild(g, SIGTERM);
	weft_completed_free(&r);
}
END_TEST

/* The CLI's pattern: many children, one thread, one poll set of pipes and
 * sentinels; reaping without blocking. */
START_TEST(many_children_one_poll_loop)
{
	enum { N = 12 };
	weft_popen *p[N];
	char buf[N][64];
	size_t len[N];
	bool out_done[N], exited[N];
	for (int i = 0; i < N; i++) {
		char arg[16];
		snprintf(arg, sizeof arg, "child%d", i);
		wt_ok(weft_popen_start(&p[i], ARGV("sh", "-c", "echo $0; exit $(( ${#0} % 7 ))", arg),
		                       &(weft_popen_opts){.stdout_mode = WEFT_PIPE}));
		len[i] = 0;
		out_done[i] = exited[i] = false;
	}
	int left = 2 * N;
	while (left > 0) {
		struct pollfd pf[2 * N];
		int who[2 * N], n = 0;
		for (int i = 0; i < N; i++) {
			if (!out_done[i]) {
				pf[n] = (struct pollfd){.fd = weft_popen_stdout_fd(p[i]), .events = POLLIN};
				who[n++] = i;
			}
			if (!exited[i]) {
				pf[n] = (struct pollfd){.fd = weft_popen_sentinel(p[i]), .events = POLLIN};
				who[n++] = i + N;
			}
		}
		ck_assert_int_gt(poll(pf, (nfds_t)n, 10000), 0);
		for (int k = 0; k < n; k++) {
			if (!pf[k].revents)
				continue;
			int i = who[k] % N;
			if (who[k] < N) {
				ssize_t r = read(pf[k].fd, buf[i] + len[i], sizeof buf[i] - 1 - len[i]);
				ck_assert_int_ge(r, 0);
				if (r == 0) {
					out_done[i] = true;
					weft_popen_close_pipe(p[i], 1);
					left--;
				}
				len[i] += (size_t)r;
			} else {
				int rc;
				wt_ok(weft_popen_poll(p[i], &rc));
				ck_assert_int_eq(rc, (int)((strlen("child") + (i >= 10 ? 2 : 1)) % 7));
				exited[i] = true;
				left--;
			}
		}
	}
	for (int i = 0; i < N; i++) {
		buf[i][len[i]] = '\0';
		char want[16];
		snprintf(want, sizeof want, "child%d\n", i);
		ck_assert_str_eq(buf[i], want);
		weft_popen_free(p[i]);
	}
}
END_TEST

/* Popen freed while its child runs: reaped later, never left a zombie. */
START_TEST(freed_running_child_is_reaped_later)
{
	weft_popen *p;
	wt_ok(weft_popen_start(&p, ARGV("cat"), &(weft_popen_opts){.stdin_mode = WEFT_PIPE}));
	pid_t pid = weft_popen_pid(p);
	weft_popen_free(p); /* closes stdin: cat exits soon */
	siginfo_t si;
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0); /* exited, not reaped */
	wt_ok(weft_popen_start(&p, ARGV("true"), NULL));                       /* reaps the abandoned one */
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
}
END_TEST

/* Reaped elsewhere (SIGCHLD ignored: the kernel reaps): returncode 0. */
START_TEST(reaped_elsewhere_reads_zero)
{
	/* The pidfd comes with the clone, so nothing races the kernel's
	 * reaping: SIG_IGN and SA_NOCLDWAIT. */
	struct sigaction ign = {.sa_handler = SIG_IGN},
	                 nowait = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
	const struct sigaction *how[] = {&ign, &nowait};
	for (int i = 0; i < 2; i++) {
		sigaction(SIGCHLD, how[i], NULL);
		weft_popen *p;
		wt_ok(weft_popen_start(&p, ARGV("sh", "-c", "exit 3"),
		                       &(weft_popen_opts){.stdout_mode = WEFT_PIPE}));
		int rc = -1;
		wt_ok(weft_popen_wait(p, WEFT_FOREVER, &rc));
		ck_assert_int_eq(rc, 0);
		weft_popen_free(p);
		/* a failed exec is still reported as such */
		wt_rc(weft_popen_start(&p, ARGV("nonexisting_i_hope"), NULL), WEFT_ENOENT);
		weft_completed r;
		wt_ok(weft_run(ARGV("echo", "fine"), &(weft_run_opts){.capture_output = true}, &r));
		ck_assert_str_eq(r.out.data, "fine\n");
		weft_completed_free(&r);
	}
	signal(SIGCHLD, SIG_DFL);
}
END_TEST

/* Concurrent wait and kill from two threads: one reap, both see it. */
static void *killer_main(void *arg)
{
	ck_assert_int_eq(weft_popen_kill(arg), 0);
	return NULL;
}

START_TEST(wait_and_kill_from_threads)
{
	for (int i = 0; i < 20; i++) {
		weft_popen *p;
		wt_ok(weft_popen_start(&p, ARGV("cat"), &(weft_popen_opts){.stdin_mode = WEFT_PIPE}));
		wt_thread *t = wt_spawn(killer_main, p);
		int rc;
		wt_ok(weft_popen_wait(p, WEFT_FOREVER, &rc));
		ck_assert_int_eq(rc, -SIGKILL);
		wt_join(t);
		weft_popen_free(p);
	}
}
END_TEST

int main(int argc, char **argv)
{
	sp_helper_main(argc, argv);
	Suite *s = suite_create("subprocess_popen");
	TCase *tc = sp_tcase("popen", 60);
	tcase_add_test(tc, pipes_exist_only_when_asked);
	tcase_add_test(tc, communicate_basics);
	tcase_add_test(tc, communicate_large_both_ways);
	tcase_add_test(tc, child_closing_stdin_early);
	tcase_add_test(tc, communicate_timeout_then_retry);
	tcase_add_test(tc, communicate_discards_null_streams);
	tcase_add_test(tc, communicate_survives_signals);
	tcase_add_test(tc, poll_wait_and_returncodes);
	tcase_add_test(tc, popen_bad_arguments);
	tcase_add_test(tc, close_fds_and_pass_fds);
	tcase_add_test(tc, eight_threads_spawn_with_private_fds);
	tcase_add_test(tc, cancel_kills_waited_child);
	tcase_add_test(tc, cancel_kills_communicating_child);
	tcase_add_test(tc, cancelled_scope_still_reaps_an_exited_child);
	tcase_add_test(tc, kill_reaches_the_group);
	tcase_add_test(tc, run_timeout_reaches_the_group);
	tcase_add_test(tc, many_children_one_poll_loop);
	tcase_add_test(tc, freed_running_child_is_reaped_later);
	tcase_add_test(tc, reaped_elsewhere_reads_zero);
	tcase_add_test(tc, wait_and_kill_from_threads);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
