/* The parent's side of a spawn: validate, prepare a plan, clone, learn
 * from the plan's report whether the exec worked.
 *
 * Why clone and not posix_spawn: posix_spawn cannot set the child's umask,
 * user or groups, or close every fd except pass_fds in a few close_range
 * calls; a clone(CLONE_VM | CLONE_VFORK) child can, at the same cost (no
 * page tables are copied, so the cost does not grow with the caller's
 * memory). CLONE_PIDFD hands us the child's pidfd atomically, so the pid
 * can never be reused before we hold it, even when the kernel reaps
 * children by itself (SIGCHLD ignored). The child shares our memory until
 * it execs, so a failed step is reported by writing it into the plan; the
 * clone returns only once the child has exec'd or exited.
 *
 * Everything the child touches (paths, argv, envp, fds, ids) is prepared
 * here, before the clone; the PATH search and the user and group name
 * lookups are done in the parent, as Python does. */
#include "subprocess/spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { MAX_PASS_STACK = 32 };

/* What weft__spawn allocates and opens, released in one place. */
struct spawn_ctx {
	weft__child_plan plan;
	char **argv_buf;  /* argv with the shell prefix */
	char **envp_buf;  /* env and env_add merged */
	char **paths_buf; /* exec candidates */
	int *keep_buf;
	int parent_fd[3]; /* our pipe ends, -1: none */
	int child_fd[3];  /* the child's pipe ends, closed after the spawn */
	int devnull;
};

static void ctx_release(struct spawn_ctx *x, bool keep_parent_fds)
{
	free(x->argv_buf);
	free(x->envp_buf);
	free(x->paths_buf);
	free(x->keep_buf);
	for (int i = 0; i < 3; i++) {
		if (x->child_fd[i] >= 0)
			close(x->child_fd[i]);
		if (!keep_parent_fds && x->parent_fd[i] >= 0)
			close(x->parent_fd[i]);
	}
	if (x->devnull >= 0)
		close(x->devnull);
}

char **weft__strv_dup(const char *const *v)
{
	size_t n = 0, bytes = 0;
	for (; v[n]; n++)
		bytes += strlen(v[n]) + 1;
	char **out = malloc((n + 1) * sizeof *out + bytes);
	if (!out)
		return NULL;
	char *s = (char *)(out + n + 1);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		memcpy(s, v[i], len);
		out[i] = s;
		s += len;
	}
	out[n] = NULL;
	return out;
}

/* Moves an fd we created above 2, so installing the child's stdio can
 * never overwrite it (possible when the caller has 0, 1 or 2 closed). */
static int raise_fd(int *fd)
{
	if (*fd >= 3)
		return 0;
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(*fd);
	*fd = nfd;
	return nfd < 0 ? weft__errno_code(e) : 0;
}

/* A pipe for the child, both ends close-on-exec and above 2, of size
 * bytes when size > 0 (pipesize=). */
static int make_pipe(int p[2], int size)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return weft__errno_code(errno);
	int rc = raise_fd(&p[0]);
	if (rc == 0)
		rc = raise_fd(&p[1]);
	if (rc == 0 && size > 0 && fcntl(p[0], F_SETPIPE_SZ, size) < 0)
		rc = weft_fail(weft__errno_code(errno), "[Errno %d] %s: 'F_SETPIPE_SZ %d'", errno,
		               strerror(errno), size);
	if (rc) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		p[0] = p[1] = -1;
	}
	return rc;
}

static bool env_entry_ok(const char *e)
{
	const char *eq = e ? strchr(e, '=') : NULL;
	return eq && eq != e;
}

/* env (or environ) with env_add applied: entries naming the same variable
 * are replaced, new ones appended. Points at the caller's strings. */
static int build_env(struct spawn_ctx *x, const weft_popen_opts *o)
{
	const char *const *base = o->env ? o->env : (const char *const *)environ;
	size_t n = 0, m = 0;
	if (o->env)
		for (; o->env[n]; n++)
			if (!env_entry_ok(o->env[n]))
				return WEFT_EINVAL;
	if (!o->env)
		while (base && base[n])
			n++;
	if (o->env_add)
		for (; o->env_add[m]; m++)
			if (!env_entry_ok(o->env_add[m]))
				return WEFT_EINVAL;
	if (!o->env && !o->env_add) {
		x->plan.envp = environ;
		return 0;
	}
	char **e = malloc((n + m + 1) * sizeof *e);
	if (!e)
		return WEFT_ENOMEM;
	for (size_t i = 0; i < n; i++)
		e[i] = (char *)base[i];
	size_t len = n;
	for (size_t j = 0; j < m; j++) {
		const char *a = o->env_add[j];
		size_t name = (size_t)(strchr(a, '=') - a) + 1; /* with the '=' */
		size_t i = 0;
		while (i < len && strncmp(e[i], a, name) != 0)
			i++;
		e[i] = (char *)a;
		if (i == len)
			len++;
	}
	e[len] = NULL;
	x->envp_buf = e;
	x->plan.envp = e;
	return 0;
}

/* The candidates to execve: the program itself when it names a path, else
 * each PATH directory joined with it (PATH from the child's environment,
 * as Python's os.get_exec_path(env)). */
static int build_paths(struct spawn_ctx *x, const char *prog)
{
	const char *path = NULL;
	if (strchr(prog, '/')) {
		path = "";
	} else {
		for (char *const *e = x->plan.envp; e && *e; e++)
			if (strncmp(*e, "PATH=", 5) == 0) {
				path = *e + 5;
				break;
			}
		if (!path)
			path = "/bin:/usr/bin"; /* os.defpath */
	}
	size_t ndirs = 1, plen = strlen(prog);
	for (const char *s = path; *s; s++)
		ndirs += *s == ':';
	char **v = malloc((ndirs + 1) * sizeof *v + strlen(path) + ndirs * (plen + 2));
	if (!v)
		return WEFT_ENOMEM;
	char *s = (char *)(v + ndirs + 1);
	size_t k = 0;
	for (const char *dir = path;; dir++) {
		size_t dlen = strcspn(dir, ":");
		v[k++] = s;
		if (dlen) { /* an empty entry: the program relative to cwd */
			memcpy(s, dir, dlen);
			s += dlen;
			*s++ = '/';
		}
		memcpy(s, prog, plen + 1);
		s += plen + 1;
		dir += dlen;
		if (!*dir)
			break;
	}
	v[k] = NULL;
	x->paths_buf = v;
	x->plan.exec_paths = v;
	return 0;
}

static int build_argv(struct spawn_ctx *x, const char *const *argv, const weft_popen_opts *o,
                      const char **prog)
{
	if (!o->shell) {
		x->plan.argv = (char *const *)argv;
		*prog = o->executable ? o->executable : argv[0];
		return 0;
	}
	size_t n = 0;
	while (argv[n])
		n++;
	char **v = malloc((n + 3) * sizeof *v);
	if (!v)
		return WEFT_ENOMEM;
	*prog = o->executable ? o->executable : "/bin/sh";
	v[0] = (char *)*prog;
	v[1] = "-c";
	for (size_t i = 0; i <= n; i++)
		v[i + 2] = (char *)argv[i];
	x->argv_buf = v;
	x->plan.argv = v;
	return 0;
}

static bool fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int build_keep(struct spawn_ctx *x, const weft_popen_opts *o)
{
	if (!o->npass_fds)
		return 0;
	if (!o->pass_fds || o->npass_fds > INT_MAX)
		return WEFT_EINVAL;
	for (size_t i = 0; i < o->npass_fds; i++) {
		if (o->pass_fds[i] < 0)
			return WEFT_EINVAL;
		if (!fd_open(o->pass_fds[i]))
			return WEFT_EBADF;
	}
	int *k = malloc(o->npass_fds * sizeof *k);
	if (!k)
		return WEFT_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < o->npass_fds; i++)
		if (o->pass_fds[i] >= 3)
			k[n++] = o->pass_fds[i];
	qsort(k, n, sizeof *k, cmp_int);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || k[u - 1] != k[i])
			k[u++] = k[i];
	x->keep_buf = k;
	x->plan.keep = k;
	x->plan.nkeep = u;
	return 0;
}

/* The child's stdin (i = 0), stdout (1) or stderr (2). */
static int build_stdio(struct spawn_ctx *x, int i, weft_stdio mode, int fd, int pipesize)
{
	int p[2];
	int rc;
	switch (mode) {
	case WEFT_INHERIT:
		return 0;
	case WEFT_PIPE:
		if ((rc = make_pipe(p, pipesize)))
			return rc;
		x->parent_fd[i] = i == 0 ? p[1] : p[0];
		x->child_fd[i] = i == 0 ? p[0] : p[1];
		x->plan.src[i] = x->child_fd[i];
		return 0;
	case WEFT_DEVNULL:
		if (x->devnull < 0) {
			x->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (x->devnull < 0)
				return weft__errno_code(errno);
			if ((rc = raise_fd(&x->devnull)))
				return rc;
		}
		x->plan.src[i] = x->devnull;
		return 0;
	case WEFT_STDOUT:
		if (i != 2)
			return WEFT_EINVAL;
		x->plan.err_to_out = true;
		return 0;
	case WEFT_USE_FD:
		if (fd < 0)
			return WEFT_EINVAL;
		if (!fd_open(fd))
			return WEFT_EBADF;
		x->plan.src[i] = fd;
		return 0;
	}
	return WEFT_EINVAL;
}

static int check_opts(const weft_popen_opts *o)
{
	if (o->process_group < 0 || (o->new_process_group && o->process_group > 0))
		return WEFT_EINVAL;
	if (o->start_new_session && (o->new_process_group || o->process_group > 0))
		return WEFT_EINVAL;
	if (o->set_umask && (o->umask & ~(mode_t)0777))
		return WEFT_EINVAL;
	if (o->pipesize < 0)
		return WEFT_EINVAL;
	if (o->shell && o->executable && !o->executable[0])
		return WEFT_EINVAL;
	return 0;
}

int weft__errno_code(int e)
{
	switch (e) {
	case ENFILE:
		return WEFT_EMFILE;
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
		return WEFT_ENOENT;
	case EISDIR:
		return WEFT_EACCES;
	case E2BIG:
		return WEFT_ERANGE;
	case ETXTBSY:
		return WEFT_EBUSY;
	}
	return e > 0 && strcmp(weft_errname(-e), "WEFT_EUNKNOWN") != 0 ? -e : WEFT_EIO;
}

static int report_failure(const weft__child_report *r, const char *prog, const char *cwd)
{
	int code = weft__errno_code(r->err);
	const char *what = r->step == WEFT__STEP_EXEC      ? prog
	                   : r->step == WEFT__STEP_CWD     ? cwd
	                   : r->step == WEFT__STEP_DUP     ? "dup2"
	                   : r->step == WEFT__STEP_SESSION ? "setsid"
	                   : r->step == WEFT__STEP_PGID    ? "setpgid"
	                   : r->step == WEFT__STEP_GROUPS  ? "setgroups"
	                   : r->step == WEFT__STEP_GID     ? "setregid"
	                   : r->step == WEFT__STEP_UID     ? "setreuid"
	                                                   : "close_fds";
	return weft_fail(code, "[Errno %d] %s: '%s'", r->err, strerror(r->err), what);
}

/* Waits for a child that failed before its exec (it exits at once). */
static void reap_failed(int pidfd)
{
	siginfo_t si;
	int r;
	do
		r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
	while (r < 0 && errno == EINTR);
	close(pidfd);
}

/* glibc exports clone() also as __clone, which sanitizers do not
 * intercept: ThreadSanitizer's clone interceptor treats every clone as a
 * fork and breaks its own state when the child shares our memory. */
#ifdef __GLIBC__
extern int __clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
#define clone_vm __clone
#else
#define clone_vm clone
#endif

/* The stack the child runs on until its exec: a part of ours (we are
 * suspended meanwhile). It needs room for the child's few frames and a
 * lazy symbol binding of syscall() (which saves the vector registers). */
enum { CHILD_STACK = 16 * 1024 };

static int start(struct spawn_ctx *x, const char *prog, const char *cwd, weft__spawned *out)
{
	_Alignas(64) char stack[CHILD_STACK];
	/* All signals blocked across the clone: no handler of ours may run in
	 * the child while it shares our memory. The child resets dispositions
	 * before it unblocks. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int pidfd = -1;
	x->plan.report = (weft__child_report){WEFT__STEP_NONE, 0};
	pid_t pid = clone_vm(weft__child_main, stack + sizeof stack,
	                     CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &x->plan, &pidfd);
	int cerr = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return cerr == ENOMEM                     ? WEFT_ENOMEM
		       : cerr == EMFILE || cerr == ENFILE ? WEFT_EMFILE
		                                          : WEFT_EAGAIN;
	if (x->plan.report.step != WEFT__STEP_NONE) {
		weft__child_report r = x->plan.report;
		reap_failed(pidfd);
		return report_failure(&r, prog, cwd);
	}
	out->pid = pid;
	out->pidfd = pidfd;
	for (int i = 0; i < 3; i++)
		out->fd[i] = x->parent_fd[i];
	return 0;
}

int weft__spawn(const char *const *argv, const weft_popen_opts *o, weft__spawned *out)
{
	static const weft_popen_opts defaults;
	if (!o)
		o = &defaults;
	if (!argv || !argv[0] || !out)
		return WEFT_EINVAL;
	int rc = check_opts(o);
	if (rc)
		return rc;
	struct spawn_ctx x = {
	    .plan = {.src = {-1, -1, -1}, .pgid = -1, .umask = -1},
	    .parent_fd = {-1, -1, -1},
	    .child_fd = {-1, -1, -1},
	    .devnull = -1,
	};
	weft__child_plan *p = &x.plan;
	p->cwd = o->cwd;
	p->setsid = o->start_new_session;
	if (o->new_process_group)
		p->pgid = 0;
	else if (o->process_group > 0)
		p->pgid = o->process_group;
	if (o->set_umask)
		p->umask = (int)o->umask;
	p->close_fds = !o->inherit_fds;

	const char *prog = NULL;
	rc = weft__resolve_ids(o, p);
	if (!rc)
		rc = build_argv(&x, argv, o, &prog);
	if (!rc)
		rc = build_env(&x, o);
	if (!rc)
		rc = build_paths(&x, prog);
	if (!rc)
		rc = build_keep(&x, o);
	if (!rc)
		rc = build_stdio(&x, 0, o->stdin_mode, o->stdin_fd, o->pipesize);
	if (!rc)
		rc = build_stdio(&x, 1, o->stdout_mode, o->stdout_fd, o->pipesize);
	if (!rc)
		rc = build_stdio(&x, 2, o->stderr_mode, o->stderr_fd, o->pipesize);
	if (!rc)
		rc = start(&x, prog, o->cwd, out);
	ctx_release(&x, rc == 0);
	return rc;
}
