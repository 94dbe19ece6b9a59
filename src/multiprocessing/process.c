/* Processes: start (fork), join, exit codes, the registry of children.
 *
 * The registry lists every child started here and not yet reaped; it holds
 * one reference to each. Reaping is waitpid(WNOHANG) under reg_mu, so it
 * never blocks; blocking waits poll the child's pidfd outside the lock.
 *
 * Lock order: reg_mu is a leaf; no user code runs under it.
 * Fork: reg_mu is held across fork (prepare) and reset in the child, whose
 * registry starts empty: the parent's children are not its children. */
#include "multiprocessing/mp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static weft_process *reg_head;         /* under reg_mu */
static bool atexit_done;               /* under reg_mu */
static _Atomic unsigned child_counter; /* names Process-N */
static char *self_identity;            /* "" in the main program */
static pid_t self_parent_pid;          /* 0 in the main program */
static weft_process *parent_handle;    /* under reg_mu, lazily made */
static weft_process self_handle = {.kind = MP_SELF, .pidfd = -1, .name = "MainProcess"};

int weft__pidfd_open(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
}
static void atfork_parent(void)
{
	pthread_mutex_unlock(&reg_mu);
}
static void atfork_child(void)
{
	pthread_mutex_unlock(&reg_mu); /* taken in prepare by this thread (shared.c says why not init) */
	reg_head = NULL;               /* the parent's children; their handles stay readable */
	parent_handle = NULL;
	atomic_store(&child_counter, 0);
}

__attribute__((constructor)) static void process_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void weft__mp_become_child(const mp_child_desc *d)
{
	/* The strings live in the parent's memory image (fork) or the
	 * decoded request (spawn); both last for the child's life. */
	self_handle.name = (char *)d->name;
	self_handle.daemon = d->daemon;
	self_identity = (char *)d->identity;
	self_parent_pid = d->parent_pid;
	self_handle.pid = getpid();
}

_Noreturn void weft__mp_run_child(weft_task_fn fn, const void *arg, size_t len)
{
	int code = 0;
	if (fn) {
		weft__failure f;
		weft__failure *prev = weft__failure_enter(&f);
		weft_bytes out = {0};
		int rc = fn(arg, len, &out);
		weft__failure_leave(prev);
		weft_bytes_free(&out);
		if (rc < 0) {
			/* Python prints the traceback of an uncaught exception. */
			int c = f.code ? f.code : rc;
			fprintf(stderr, "Process %s: %s: %s\n", self_handle.name, weft_errname(c),
			        f.msg ? f.msg : weft_strerror(c));
			code = 1;
		} else {
			code = rc & 255;
		}
		weft__failure_clear(&f);
	}
	weft__shm_exit_cleanup();
	fflush(NULL);
	_exit(code);
}

/* Reaps p if it has ended; returns p->done. Never blocks. */
static bool reap(weft_process *p)
{
	if (atomic_load_explicit(&p->done, memory_order_acquire))
		return true;
	if (p->kind != MP_CHILD)
		return false;
	bool unlisted = false;
	pthread_mutex_lock(&reg_mu);
	if (!atomic_load_explicit(&p->done, memory_order_relaxed)) {
		int st;
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid || (r < 0 && errno == ECHILD)) {
			if (r < 0) {
				p->exitcode = 255; /* reaped behind our back: unknown */
			} else if (WIFSIGNALED(st)) {
				p->exitcode = -WTERMSIG(st);
				weft__shm_reap_dead(p->pid);
			} else {
				p->exitcode = WEXITSTATUS(st);
			}
			atomic_store_explicit(&p->done, true, memory_order_release);
			if (p->listed) {
				if (p->prev)
					p->prev->next = p->next;
				else
					reg_head = p->next;
				if (p->next)
					p->next->prev = p->prev;
				p->listed = false;
				unlisted = true;
			}
		}
	}
	pthread_mutex_unlock(&reg_mu);
	if (unlisted)
		weft_process_free(p);
	return atomic_load_explicit(&p->done, memory_order_acquire);
}

static void at_exit(void)
{
	/* Python's _exit_function: terminate daemonic children, join all. */
	size_t n = 0;
	weft_process_active_children(NULL, 0, &n);
	if (!n)
		return;
	weft_process **all = calloc(n, sizeof *all);
	if (!all)
		return;
	weft_process_active_children(all, n, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i]->daemon)
			weft_process_terminate(all[i]);
	for (size_t i = 0; i < n; i++) {
		weft_process_join(all[i], WEFT_FOREVER);
		weft_process_free(all[i]);
	}
	free(all);
}

void weft__mp_exit_hook(void)
{
	pthread_mutex_lock(&reg_mu);
	bool first = !atexit_done;
	atexit_done = true;
	pthread_mutex_unlock(&reg_mu);
	if (first)
		atexit(at_exit);
}

static char *make_name(const char *prefix, const char *identity)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s", prefix, identity) < 0)
		return NULL;
	return s;
}

int weft__mp_start(weft_process **out, const mp_child_desc *d, weft_start_method m)
{
	weft_process *p = calloc(1, sizeof *p);
	if (!p)
		return WEFT_ENOMEM;
	atomic_init(&p->refs, 2); /* the caller's and the registry's */
	p->kind = MP_CHILD;
	p->daemon = d->daemon;
	p->name = strdup(d->name);
	if (!p->name) {
		free(p);
		return WEFT_ENOMEM;
	}
	int rc = 0;
	pid_t pid;
	if (m == WEFT_START_SPAWN) {
		rc = weft__mp_spawn(d, &pid);
	} else {
		fflush(NULL); /* else the child's exit would repeat buffered output */
		/* terminate() must end the child, as after spawn's exec,
		 * whatever handler the parent installed for SIGTERM: the child
		 * resets it. SIGTERM stays blocked from before the fork until
		 * then, or a terminate() right after the start would run the
		 * parent's handler in the child (a test harness's handler, for
		 * one, signals its whole process group). */
		sigset_t term, old;
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &term, &old);
		pid = fork();
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			weft__mp_become_child(d);
			if (d->child_setup)
				d->child_setup(d->setup_ctx);
			weft__mp_run_child(d->fn, d->arg, d->arg_len);
		}
		if (pid < 0)
			rc = -errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc) {
		free(p->name);
		free(p);
		return rc;
	}
	p->pid = pid;
	p->pidfd = weft__pidfd_open(pid);
	if (p->pidfd < 0) {
		rc = p->pidfd;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(p->name);
		free(p);
		return rc;
	}
	pthread_mutex_lock(&reg_mu);
	p->next = reg_head;
	if (reg_head)
		reg_head->prev = p;
	reg_head = p;
	p->listed = true;
	pthread_mutex_unlock(&reg_mu);
	weft__mp_exit_hook();
	*out = p;
	return 0;
}

int weft_process_start(weft_process **out, const weft_process_opts *o)
{
	if (!out || !o || (o->target && o->task) || (!o->arg && o->arg_len) ||
	    (o->start != WEFT_START_FORK && o->start != WEFT_START_SPAWN) || (!o->pass_fds && o->n_pass_fds))
		return WEFT_EINVAL;
	for (size_t i = 0; i < o->n_pass_fds; i++)
		if (o->pass_fds[i] < 0)
			return WEFT_EINVAL;
	if (self_handle.daemon)
		return WEFT_ESTATE; /* "daemonic processes are not allowed to have children" */
	const weft_task *t = NULL;
	if (o->task && !(t = weft_task_lookup(o->task)))
		return WEFT_EINVAL;
	if (o->target && o->start == WEFT_START_SPAWN && !(t = weft_task_find(o->target)))
		return WEFT_EINVAL;
	if (t && o->start == WEFT_START_SPAWN && !weft__mp_spawnable(t))
		return WEFT_EINVAL;

	unsigned n = atomic_fetch_add(&child_counter, 1) + 1;
	char *identity = NULL;
	if (asprintf(&identity, "%s%s%u", self_identity ? self_identity : "",
	             self_identity && *self_identity ? ":" : "", n) < 0)
		return WEFT_ENOMEM;
	char *name = o->name ? NULL : make_name("Process-", identity);
	if (!o->name && !name) {
		free(identity);
		return WEFT_ENOMEM;
	}
	mp_child_desc d = {
	    .name = o->name ? o->name : name,
	    .identity = identity,
	    .daemon = o->daemon,
	    .parent_pid = getpid(),
	    .task = t ? t->name : "",
	    .fn = t ? t->fn : o->target,
	    .arg = o->arg,
	    .arg_len = o->arg_len,
	    .pass_fds = o->pass_fds,
	    .n_pass_fds = o->n_pass_fds,
	};
	int rc = weft__mp_start(out, &d, o->start);
	free(name);
	free(identity);
	return rc;
}

/* The parent's handle, made on first use. The pidfd is trusted only if
 * the parent is still our parent after it was opened: the parent cannot
 * have died and had its pid reused while getppid() still returns it. */
weft_process *weft_process_parent(void)
{
	if (!self_parent_pid)
		return NULL;
	pthread_mutex_lock(&reg_mu);
	weft_process *p = parent_handle;
	if (!p && (p = calloc(1, sizeof *p))) {
		p->kind = MP_PARENT;
		p->pid = self_parent_pid;
		p->name = "MainProcess";
		p->pidfd = weft__pidfd_open(self_parent_pid);
		if (p->pidfd >= 0 && getppid() != self_parent_pid) {
			close(p->pidfd);
			p->pidfd = -1;
		}
		if (p->pidfd < 0) {
			p->pidfd = -1;
			atomic_store(&p->done, true);
		}
		parent_handle = p;
	}
	pthread_mutex_unlock(&reg_mu);
	return p;
}

weft_process *weft_process_current(void)
{
	if (!self_handle.pid)
		self_handle.pid = getpid();
	return &self_handle;
}

static bool pidfd_ended(weft_process *p)
{
	if (atomic_load(&p->done))
		return true;
	struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
	if (p->pidfd >= 0 && poll(&pfd, 1, 0) == 0)
		return false;
	atomic_store(&p->done, true);
	return true;
}

int weft_process_join(weft_process *p, double timeout)
{
	int64_t deadline;
	if (!p || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	if (p->kind == MP_SELF)
		return WEFT_EDEADLK;
	for (;;) {
		if (p->kind == MP_CHILD ? reap(p) : pidfd_ended(p))
			return 0;
		struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
		int rc = weft__poll(&pfd, 1, deadline);
		if (rc < 0)
			return rc;
	}
}

bool weft_process_is_alive(weft_process *p)
{
	if (!p)
		return false;
	if (p->kind == MP_SELF)
		return true;
	return p->kind == MP_CHILD ? !reap(p) : !pidfd_ended(p);
}

pid_t weft_process_pid(const weft_process *p)
{
	if (!p)
		return -1;
	return p->kind == MP_SELF ? getpid() : p->pid;
}

const char *weft_process_name(const weft_process *p)
{
	return p ? p->name : "";
}

bool weft_process_daemon(const weft_process *p)
{
	return p && p->daemon;
}

int weft_process_exitcode(weft_process *p, int *code)
{
	if (!p || !code)
		return WEFT_EINVAL;
	if (p->kind != MP_CHILD || !reap(p))
		return WEFT_ESTATE;
	*code = p->exitcode;
	return 0;
}

int weft_process_sentinel(const weft_process *p)
{
	if (!p)
		return WEFT_EINVAL;
	return p->pidfd >= 0 ? p->pidfd : WEFT_ESTATE;
}

static int send_signal(weft_process *p, int sig)
{
	if (!p)
		return WEFT_EINVAL;
	if (p->kind != MP_CHILD)
		return WEFT_EPERM;
	if (reap(p))
		return 0;
	/* Through the pidfd: the pid cannot have been reused (it is not
	 * reaped yet), and a child that just ended is not an error. */
	if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		return -errno;
	return 0;
}

int weft_process_terminate(weft_process *p)
{
	return send_signal(p, SIGTERM);
}

int weft_process_kill(weft_process *p)
{
	return send_signal(p, SIGKILL);
}

int weft_process_retain(weft_process *p)
{
	if (!p)
		return WEFT_EINVAL;
	if (p->kind == MP_CHILD)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return 0;
}

void weft_process_free(weft_process *p)
{
	if (!p || p->kind != MP_CHILD)
		return;
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	close(p->pidfd);
	free(p->name);
	free(p);
}

int weft_process_close(weft_process *p)
{
	if (!p)
		return WEFT_EINVAL;
	if (p->kind == MP_CHILD && !reap(p))
		return WEFT_EBUSY;
	weft_process_free(p);
	return 0;
}

int weft_process_active_children(weft_process **out, size_t cap, size_t *count)
{
	if (!count || (!out && cap))
		return WEFT_EINVAL;
	/* Reap outside the lock: snapshot the list with a reference each. */
	pthread_mutex_lock(&reg_mu);
	size_t n = 0;
	for (weft_process *p = reg_head; p; p = p->next)
		n++;
	weft_process **all = n ? malloc(n * sizeof *all) : NULL;
	if (n && !all) {
		pthread_mutex_unlock(&reg_mu);
		return WEFT_ENOMEM;
	}
	n = 0;
	for (weft_process *p = reg_head; p; p = p->next) {
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
		all[n++] = p;
	}
	pthread_mutex_unlock(&reg_mu);
	for (size_t i = 0; i < n; i++) {
		reap(all[i]);
		weft_process_free(all[i]);
	}
	free(all);

	pthread_mutex_lock(&reg_mu);
	n = 0;
	for (weft_process *p = reg_head; p; p = p->next, n++)
		if (n < cap) {
			atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
			out[n] = p;
		}
	pthread_mutex_unlock(&reg_mu);
	*count = n;
	return 0;
}

int weft_mp_cpu_count(void)
{
	return weft__cpu_count();
}

int weft_mp_wait(const int *fds, size_t n, bool *ready, double timeout)
{
	int64_t deadline;
	if ((!fds && n) || n > 65536 || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	struct pollfd stackbuf[16], *pfd = n <= 16 ? stackbuf : calloc(n, sizeof *pfd);
	if (!pfd)
		return WEFT_ENOMEM;
	/* A connection that read ahead is ready whatever poll says. */
	bool buffered = false;
	for (size_t i = 0; i < n; i++) {
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		buffered |= weft__conn_fd_buffered(fds[i]);
	}
	int rc = weft__poll(pfd, n, buffered ? weft__now_ns() : deadline);
	if (buffered && rc == WEFT_ETIMEDOUT)
		rc = 0;
	if (buffered && rc >= 0)
		for (size_t i = 0; i < n; i++)
			if (weft__conn_fd_buffered(fds[i]) && !pfd[i].revents) {
				pfd[i].revents = POLLIN;
				rc++;
			}
	if (rc > 0) {
		for (size_t i = 0; i < n; i++) {
			if (pfd[i].revents & POLLNVAL) {
				rc = WEFT_EBADF;
				break;
			}
		}
		if (rc > 0 && ready)
			for (size_t i = 0; i < n; i++)
				ready[i] = pfd[i].revents != 0;
	}
	if (pfd != stackbuf)
		free(pfd);
	return rc;
}
