/* The child's side of a spawn: from the clone to execve.
 *
 * This code runs in a CLONE_VM | CLONE_VFORK child: it shares the parent's
 * memory and its thread-local storage (errno included) while the parent's
 * thread waits for the exec, and runs on a stack the parent lent it. So it
 * makes raw system calls only -- no allocation, no locks, no libc wrapper
 * that a sanitizer or another interposer could hook and update state shared
 * with the parent -- and it never returns: it execs or exits. It is not
 * instrumented by sanitizers either (CHILD_CODE): their bookkeeping lives in
 * the parent's thread state. Every signal is blocked on entry (the parent
 * blocked them before the clone), so no handler of the parent can run here;
 * dispositions are reset before the mask is emptied, just before the exec. */
#include "subprocess/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define CHILD_CODE __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef CHILD_CODE
#define CHILD_CODE
#endif

#ifndef SYS_close_range
#define SYS_close_range 436 /* the same number on every architecture */
#endif

/* The kernel's struct sigaction (x86-64 and aarch64 share this layout). */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

#define KERNEL_NSIG 64

CHILD_CODE __attribute__((noreturn)) static void fail(weft__child_plan *c, int step, int err)
{
	c->report = (weft__child_report){step, err};
	for (;;)
		syscall(SYS_exit_group, 255);
}

/* Puts src[i] on fd i. A source that is itself 0, 1 or 2 (but not i) is
 * first copied above 2, so installing one stream never clobbers the source
 * of another (stdin_fd = 1 with stdout_fd = 0 swaps them correctly). */
CHILD_CODE static void install_stdio(weft__child_plan *c)
{
	int src[3] = {c->src[0], c->src[1], c->src[2]};
	for (int i = 0; i < 3; i++) {
		if (src[i] >= 0 && src[i] < 3 && src[i] != i) {
			src[i] = (int)syscall(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, 3);
			if (src[i] < 0)
				fail(c, WEFT__STEP_DUP, errno);
		}
	}
	for (int i = 0; i < 3; i++) {
		long r = 0;
		if (src[i] == i)
			r = syscall(SYS_fcntl, i, F_SETFD, 0); /* inherit it as it is */
		else if (src[i] >= 0)
			r = syscall(SYS_dup3, src[i], i, 0);
		if (r < 0)
			fail(c, WEFT__STEP_DUP, errno);
	}
	if (c->err_to_out && syscall(SYS_dup3, 1, 2, 0) < 0)
		fail(c, WEFT__STEP_DUP, errno);
}

CHILD_CODE static void close_range_from(weft__child_plan *c, unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	if (errno != ENOSYS)
		fail(c, WEFT__STEP_CLOSE, errno);
	/* Kernels before 5.9: one by one, up to the fd limit (slow with a
	 * high limit, but no fd may escape). */
	struct rlimit rl;
	unsigned max = 65536;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0)
		max = rl.rlim_cur < INT_MAX ? (unsigned)rl.rlim_cur : INT_MAX;
	if (max == 0)
		return;
	if (hi >= max)
		hi = max - 1;
	for (unsigned fd = lo; fd <= hi && fd >= lo; fd++)
		(void)syscall(SYS_close, fd);
}

/* pass_fds become inheritable; with close_fds every other fd above 2 is
 * closed. */
CHILD_CODE static void close_fds(weft__child_plan *c)
{
	for (size_t i = 0; i < c->nkeep; i++)
		if (syscall(SYS_fcntl, c->keep[i], F_SETFD, 0) < 0)
			fail(c, WEFT__STEP_CLOSE, errno);
	if (!c->close_fds)
		return;
	unsigned lo = 3;
	for (size_t i = 0; i < c->nkeep; i++) {
		unsigned next = (unsigned)c->keep[i];
		if (next > lo)
			close_range_from(c, lo, next - 1);
		lo = next + 1;
	}
	close_range_from(c, lo, ~0U);
}

CHILD_CODE static void reset_signals(void)
{
	/* Every one: learning which are not the default (SigIgn and SigCgt
	 * in /proc/self/status) costs more than setting them all, measured. */
	struct ksigaction dfl = {0}; /* SIG_DFL, no flags, empty mask */
	for (int sig = 1; sig <= KERNEL_NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	unsigned long empty = 0;
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof empty);
}

CHILD_CODE int weft__child_main(void *arg)
{
	weft__child_plan *c = arg;
	if (c->setsid && syscall(SYS_setsid) < 0)
		fail(c, WEFT__STEP_SESSION, errno);
	if (c->pgid >= 0 && syscall(SYS_setpgid, 0, c->pgid) < 0)
		fail(c, WEFT__STEP_PGID, errno);
	install_stdio(c);
	if (c->cwd && syscall(SYS_chdir, c->cwd) < 0)
		fail(c, WEFT__STEP_CWD, errno);
	if (c->umask >= 0)
		(void)syscall(SYS_umask, c->umask);
	/* Groups before the user: once the user is not root, they could not
	 * be changed. The raw calls change this process only (glibc's
	 * wrappers would signal every thread of the parent). */
	if (c->set_groups && syscall(SYS_setgroups, c->ngroups, c->groups) < 0)
		fail(c, WEFT__STEP_GROUPS, errno);
	if (c->set_gid && syscall(SYS_setregid, c->gid, c->gid) < 0)
		fail(c, WEFT__STEP_GID, errno);
	if (c->set_uid && syscall(SYS_setreuid, c->uid, c->uid) < 0)
		fail(c, WEFT__STEP_UID, errno);
	close_fds(c);
	reset_signals();
	/* Try each candidate as Python does: report the first error that is
	 * not "no such file" (EACCES from an earlier PATH entry wins over a
	 * later ENOENT), else ENOENT. */
	int first = 0;
	for (char *const *p = c->exec_paths; *p; p++) {
		syscall(SYS_execve, *p, c->argv, c->envp);
		int e = errno;
		if (first == 0 && e != ENOENT && e != ENOTDIR)
			first = e;
	}
	fail(c, WEFT__STEP_EXEC, first ? first : ENOENT);
}
