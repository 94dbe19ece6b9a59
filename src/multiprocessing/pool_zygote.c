/* The pool's fork server: a single-threaded child that the thread making
 * the pool forks once, and that forks every worker on the manager's
 * request and reports their deaths.
 *
 * Why: the manager is a thread. A process forked from a thread while
 * another thread holds a lock (an allocator's, the program's) starts with
 * that lock held forever: glibc's malloc guards against it, other
 * allocators (sanitizers') and the program's own locks do not. The server
 * has one thread, so the workers it forks inherit no held lock; they are
 * copies of the program as it was when the pool was made (as with
 * Python's forkserver), replacements included.
 *
 * Protocol, over a SOCK_SEQPACKET pair: the manager sends mpz_req with the
 * worker's connection end attached (SCM_RIGHTS); the server answers
 * Z_FORKED (pid, or -errno in status), and Z_DIED (pid, status as
 * weft_process_exitcode gives it) when it has reaped a worker. The server
 * exits once the manager closed its end and every worker is reaped.
 */
#include "multiprocessing/pool_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct mpz_req {
	uint32_t slot, number;
} mpz_req;

/* ---- the server ------------------------------------------------------------------------------- */

static void reply(int ctl, bool *open, const mpz_msg *m)
{
	if (*open && send(ctl, m, sizeof *m, MSG_NOSIGNAL) != (ssize_t)sizeof *m)
		*open = false; /* the manager is gone: reap and leave */
}

/* Receives a request and its descriptor: 1, 0 at EOF, -1 on error. */
static int recv_req(int ctl, mpz_req *r, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {r, sizeof *r};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	ssize_t k = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	if (k <= 0)
		return k == 0 ? 0 : -1;
	*fd = -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof *fd);
	return k == (ssize_t)sizeof *r ? 1 : -1;
}

static _Noreturn void become_worker(weft__mpe *e, int ctl, const int *pidfds, const mpz_req *r, int fd)
{
	close(ctl);
	for (int i = 0; i < e->o.workers; i++)
		if (pidfds[i] >= 0)
			close(pidfds[i]);
	char name[80], ident[16];
	snprintf(name, sizeof name, "%s-%u", e->o.name, r->number);
	snprintf(ident, sizeof ident, "%u", r->number);
	mp_child_desc d = {.name = name, .identity = ident, .daemon = e->o.daemon, .parent_pid = getppid()};
	weft__mp_become_child(&d);
	weft_connection *c;
	if (weft_connection_from_fd(&c, fd, true, true))
		_exit(1);
	weft__mpw_cfg cfg = {
	    .conn = c,
	    .prog = &e->pages[r->slot],
	    .max_tasks = e->o.max_tasks,
	    .initializer = e->o.initializer,
	    .initarg = e->o.initarg,
	    .mask = &e->child_mask,
	    .arena_fd = e->arena_fd,
	};
	weft__mpw_main(&cfg);
}

/* The server's loop. It allocates with mmap only: it never touches the
 * allocator state it inherited, which its workers inherit in turn. */
static void serve(void *arg)
{
	weft__mpe *e = arg; /* our copy of the parent's engine: settings only */
	int ctl = e->zfd_child, n = e->o.workers;
	signal(SIGCHLD, SIG_DFL); /* SIG_IGN would reap the workers behind our back */
	size_t bytes = (size_t)n * (sizeof(pid_t) + sizeof(int)) + (size_t)(n + 1) * sizeof(struct pollfd);
	char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		_exit(1);
	pid_t *pid = (pid_t *)mem;
	int *pidfd = (int *)(pid + n);
	struct pollfd *pfd = (struct pollfd *)(void *)(pidfd + n);
	for (int i = 0; i < n; i++)
		pidfd[i] = -1;
	bool open = true;
	int live = 0;
	while (open || live) {
		pfd[0] = (struct pollfd){.fd = open ? ctl : -1, .events = POLLIN};
		for (int i = 0; i < n; i++)
			pfd[1 + i] = (struct pollfd){.fd = pidfd[i], .events = POLLIN};
		if (poll(pfd, (nfds_t)n + 1, -1) < 0)
			continue; /* EINTR */
		if (pfd[0].revents) {
			mpz_req r;
			int fd = -1, k = recv_req(ctl, &r, &fd);
			if (k <= 0 && !(k < 0 && errno == EINTR)) {
				open = false;
			} else if (k > 0 && r.slot < (uint32_t)n && fd >= 0 && pidfd[r.slot] < 0) {
				mpz_msg m = {.type = Z_FORKED, .slot = r.slot};
				pid_t c = fork();
				if (c == 0)
					become_worker(e, ctl, pidfd, &r, fd);
				if (c > 0 && (pidfd[r.slot] = weft__pidfd_open(c)) >= 0) {
					pid[r.slot] = c;
					live++;
					m.pid = c;
				} else {
					m.status = c < 0 ? -errno : pidfd[r.slot];
					if (c > 0) { /* no pidfd: cannot watch it */
						kill(c, SIGKILL);
						waitpid(c, NULL, 0);
					}
					pidfd[r.slot] = -1;
				}
				close(fd);
				reply(ctl, &open, &m);
			} else if (fd >= 0) {
				close(fd);
			}
		}
		for (int i = 0; i < n; i++) {
			if (pidfd[i] < 0 || !pfd[1 + i].revents)
				continue;
			int st = 0;
			while (waitpid(pid[i], &st, 0) < 0 && errno == EINTR)
				;
			close(pidfd[i]);
			pidfd[i] = -1;
			live--;
			mpz_msg m = {.type = Z_DIED, .slot = (uint32_t)i, .pid = pid[i]};
			m.status = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
			reply(ctl, &open, &m);
		}
	}
	_exit(0);
}

/* ---- the manager's side ------------------------------------------------------------------------ */

int weft__zyg_start(weft__mpe *e)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (weft__mpe_fd_add(sv[0])) { /* closed in every forked child, the server too */
		close(sv[0]);
		close(sv[1]);
		return WEFT_ENOMEM;
	}
	e->zfd = sv[0];
	e->zfd_child = sv[1];
	mp_child_desc d = {
	    .name = "PoolForkServer",
	    .identity = "0",
	    .daemon = e->o.daemon,
	    .parent_pid = getpid(),
	    .task = "",
	    .child_setup = serve,
	    .setup_ctx = e,
	};
	weft__mpa_open(e); /* without it, fixed-record maps fail; the rest works */
	weft__mpe_fd_keep(e->arena_fd);
	int rc = weft__mp_start(&e->zproc, &d, WEFT_START_FORK);
	weft__mpe_fd_keep(-1);
	close(sv[1]);
	e->zfd_child = -1;
	if (rc) {
		weft__mpe_fd_del(sv[0]);
		close(sv[0]);
		e->zfd = -1;
	}
	return rc;
}

int weft__zyg_request(weft__mpe *e, int slot, unsigned number, int fd)
{
	mpz_req r = {(uint32_t)slot, number};
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = {&r, sizeof r};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	for (;;) {
		if (sendmsg(e->zfd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof r)
			return 0;
		if (errno != EINTR)
			return errno == ECONNRESET || errno == EPIPE ? WEFT_EPIPE : -errno;
	}
}

int weft__zyg_recv(weft__mpe *e, mpz_msg *m, bool block)
{
	for (;;) {
		ssize_t k = recv(e->zfd, m, sizeof *m, block ? 0 : MSG_DONTWAIT);
		if (k == (ssize_t)sizeof *m)
			return 0;
		if (k == 0 || (k > 0) || errno == ECONNRESET)
			return WEFT_EEOF; /* a short message cannot happen: treat as gone */
		if (errno == EAGAIN)
			return WEFT_EAGAIN;
		if (errno != EINTR)
			return -errno;
	}
}

void weft__zyg_stop(weft__mpe *e)
{
	if (e->zfd >= 0) {
		weft__mpe_fd_del(e->zfd);
		close(e->zfd); /* the server sees EOF and leaves once its workers are reaped */
		e->zfd = -1;
	}
	if (e->zproc) {
		weft_process_join(e->zproc, WEFT_FOREVER);
		weft_process_free(e->zproc);
		e->zproc = NULL;
	}
}
