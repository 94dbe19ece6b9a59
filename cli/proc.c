/* Job processes: posix_spawn into a new process group, watched by pidfd. */
#include "proc.h"

#include "util.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct proc {
	pid_t pid;
	int pidfd;
	bool reaped;
};

static char **merged_env(const char *const *add)
{
	size_t nenv = 0, nadd = 0;
	while (environ[nenv])
		nenv++;
	while (add[nadd])
		nadd++;
	char **env = xmalloc((nenv + nadd + 1) * sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++) {
		bool replaced = false;
		for (size_t j = 0; j < nadd && !replaced; j++) {
			size_t len = (size_t)(strchr(add[j], '=') - add[j]);
			replaced = strncmp(environ[i], add[j], len + 1) == 0;
		}
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < nadd; j++)
		env[k++] = (char *)add[j];
	env[k] = NULL;
	return env;
}

int proc_start(proc **out, char *const *argv, const proc_opts *o)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	int fds[3] = {o->in_fd, o->out_fd, o->err_fd};
	for (int i = 0; i < 3; i++)
		if (fds[i] != i)
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	if (o->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	if (o->reset_sigpipe)
		sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char **env = o->env_add ? merged_env(o->env_add) : environ;
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, env);
	if (env != environ)
		free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc)
		return -rc;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		rc = -errno;
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return rc;
	}
	proc *p = xmalloc(sizeof *p);
	*p = (proc){.pid = pid, .pidfd = pidfd};
	*out = p;
	return 0;
}

int proc_sentinel(const proc *p)
{
	return p->pidfd;
}

pid_t proc_pid(const proc *p)
{
	return p->pid;
}

int proc_signal(proc *p, int sig)
{
	if (p->reaped)
		return 0;
	return kill(-p->pid, sig) == 0 ? 0 : -errno;
}

int proc_poll(proc *p, int *returncode)
{
	siginfo_t si;
	si.si_pid = 0;
	int r;
	do
		r = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (si.si_pid == 0)
		return -EAGAIN;
	p->reaped = true;
	*returncode = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
	return 0;
}

void proc_free(proc *p)
{
	if (!p)
		return;
	close(p->pidfd);
	free(p);
}
