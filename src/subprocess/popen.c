/* Popen: start, reap, wait, signal, free.
 *
 * The child is waited for through its pidfd: waitid(P_PIDFD, WNOHANG) reaps
 * it, poll() on the pidfd sleeps until it exits. The pidfd stays open until
 * weft_popen_free, so signals always reach this child (pidfd_send_signal)
 * and never a process that reused its pid.
 *
 * A Popen freed while its child runs joins the abandoned list (Python's
 * subprocess._active); every start and free reaps the ones that exited.
 * Lock order: ab_mu, then a Popen's mu. Fork: ab_mu is taken across fork;
 * the child starts with an empty list (those children are not its own). */
#include "subprocess/popen.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static pthread_mutex_t ab_mu = PTHREAD_MUTEX_INITIALIZER;
static weft_popen *ab_list;  /* linked through next_abandoned */
static _Atomic int ab_count; /* lets start/free skip the lock when empty */

static void ab_prepare(void)
{
	pthread_mutex_lock(&ab_mu);
}

static void ab_parent(void)
{
	pthread_mutex_unlock(&ab_mu);
}

static void ab_child(void)
{
	pthread_mutex_unlock(&ab_mu); /* taken in ab_prepare by this thread */
	ab_list = NULL;               /* the parent's children: not ours to reap (leaked) */
	atomic_store(&ab_count, 0);
}

__attribute__((constructor)) static void popen_init(void)
{
	pthread_atfork(ab_prepare, ab_parent, ab_child);
}

static void destroy(weft_popen *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void weft__reap_abandoned(void)
{
	if (!atomic_load_explicit(&ab_count, memory_order_relaxed))
		return;
	pthread_mutex_lock(&ab_mu);
	for (weft_popen **a = &ab_list; *a;) {
		weft_popen *cur = *a;
		if (weft__popen_try_reap(cur)) {
			*a = cur->next_abandoned;
			destroy(cur);
			atomic_fetch_sub_explicit(&ab_count, 1, memory_order_relaxed);
		} else {
			a = &cur->next_abandoned;
		}
	}
	pthread_mutex_unlock(&ab_mu);
}

bool weft__popen_try_reap(weft_popen *p)
{
	pthread_mutex_lock(&p->mu);
	if (!p->reaped) {
		siginfo_t si;
		si.si_pid = 0;
		int r;
		do
			r = waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			/* ECHILD: reaped elsewhere (waitpid(-1), SIGCHLD ignored);
			 * the status is lost, returncode 0 as in Python. */
			p->reaped = true;
			p->returncode = 0;
		} else if (si.si_pid != 0) {
			p->reaped = true;
			p->returncode = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
		}
	}
	bool done = p->reaped;
	pthread_mutex_unlock(&p->mu);
	return done;
}

/* Sends sig while the child is unreaped: its pid, and the group it leads,
 * are then still its own. */
static int signal_child(weft_popen *p, int sig)
{
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	if (!p->reaped) {
		long r = p->pgid > 0 ? kill(-p->pgid, sig)
		                     : syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
		if (r < 0 && errno != ESRCH)
			rc = weft__errno_code(errno);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void weft__popen_kill_and_reap(weft_popen *p)
{
	signal_child(p, SIGKILL);
	while (!weft__popen_try_reap(p)) {
		/* Not weft__poll: the caller's scope has already fired. */
		struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
		(void)poll(&pf, 1, -1);
	}
}

void weft__popen_close_fd(weft_popen *p, int i)
{
	if (p->fd[i] >= 0) {
		close(p->fd[i]);
		p->fd[i] = -1;
	}
}

int weft_popen_start(weft_popen **out, const char *const *argv, const weft_popen_opts *opts)
{
	if (!out)
		return WEFT_EINVAL;
	*out = NULL;
	if (!argv || !argv[0])
		return WEFT_EINVAL;
	weft__reap_abandoned();
	weft_popen *p = calloc(1, sizeof *p);
	if (!p)
		return WEFT_ENOMEM;
	p->args = weft__strv_dup(argv);
	if (!p->args) {
		free(p);
		return WEFT_ENOMEM;
	}
	weft__spawned s;
	int rc = weft__spawn(argv, opts, &s);
	if (rc) {
		free(p->args);
		free(p);
		return rc;
	}
	p->pid = s.pid;
	p->pidfd = s.pidfd;
	p->pipesize_given = opts && opts->pipesize > 0;
	for (int i = 0; i < 3; i++)
		p->fd[i] = s.fd[i];
	if (opts && (opts->new_process_group || opts->start_new_session))
		p->pgid = s.pid;
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
	return 0;
}

pid_t weft_popen_pid(const weft_popen *p)
{
	return p ? p->pid : -1;
}

int weft_popen_stdin_fd(const weft_popen *p)
{
	return p ? p->fd[0] : -1;
}

int weft_popen_stdout_fd(const weft_popen *p)
{
	return p ? p->fd[1] : -1;
}

int weft_popen_stderr_fd(const weft_popen *p)
{
	return p ? p->fd[2] : -1;
}

int weft_popen_sentinel(const weft_popen *p)
{
	return p ? p->pidfd : -1;
}

const char *const *weft_popen_args(const weft_popen *p)
{
	return p ? (const char *const *)p->args : NULL;
}

int weft_popen_close_pipe(weft_popen *p, int stream)
{
	if (!p || stream < 0 || stream > 2)
		return WEFT_EINVAL;
	weft__popen_close_fd(p, stream);
	return 0;
}

int weft_popen_poll(weft_popen *p, int *returncode)
{
	if (!p)
		return WEFT_EINVAL;
	if (!weft__popen_try_reap(p))
		return WEFT_EAGAIN;
	return weft_popen_returncode(p, returncode);
}

int weft_popen_returncode(const weft_popen *p, int *returncode)
{
	if (!p)
		return WEFT_EINVAL;
	weft_popen *m = (weft_popen *)p; /* the lock, not the state, changes */
	pthread_mutex_lock(&m->mu);
	bool done = m->reaped;
	int rc = m->returncode;
	pthread_mutex_unlock(&m->mu);
	if (!done)
		return WEFT_EAGAIN;
	if (returncode)
		*returncode = rc;
	return 0;
}

int weft__popen_wait_exit(weft_popen *p, int64_t deadline)
{
	if (weft_popen_returncode(p, NULL) == 0)
		return 0;
	/* Poll first: the pidfd is readable at once if the child has exited,
	 * and a child just started seldom has, so this saves a waitid. */
	do {
		struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
		int rc = weft__poll(&pf, 1, deadline);
		if (rc < 0) /* a child that has exited needs no wait: not an error */
			return weft__popen_try_reap(p) ? 0 : rc;
	} while (!weft__popen_try_reap(p));
	return 0;
}

int weft_popen_wait(weft_popen *p, double timeout, int *returncode)
{
	int64_t deadline;
	if (!p || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	int rc = weft__popen_wait_exit(p, deadline);
	/* Our own timeout leaves the child running (Python); a cancel scope
	 * that fired kills it. */
	if (rc == WEFT_ECANCELED || (rc == WEFT_ETIMEDOUT && weft__cancel_status()))
		weft__popen_kill_and_reap(p);
	return rc ? rc : weft_popen_returncode(p, returncode);
}

int weft_popen_send_signal(weft_popen *p, int sig)
{
	if (!p || sig < 0 || sig > 64)
		return WEFT_EINVAL;
	return signal_child(p, sig);
}

int weft_popen_terminate(weft_popen *p)
{
	return weft_popen_send_signal(p, SIGTERM);
}

int weft_popen_kill(weft_popen *p)
{
	return weft_popen_send_signal(p, SIGKILL);
}

void weft_popen_free(weft_popen *p)
{
	if (!p)
		return;
	for (int i = 0; i < 3; i++) {
		weft__popen_close_fd(p, i);
		weft__outbuf_free(&p->buf[i]);
	}
	free(p->in_own);
	free(p->args);
	if (weft__popen_try_reap(p)) {
		destroy(p);
	} else {
		pthread_mutex_lock(&ab_mu);
		p->next_abandoned = ab_list;
		ab_list = p;
		atomic_fetch_add_explicit(&ab_count, 1, memory_order_relaxed);
		pthread_mutex_unlock(&ab_mu);
	}
	weft__reap_abandoned();
}
