/* Job processes on weft's subprocess module: weft_popen with a new process
 * group, its pidfd sentinel polled by the loop, reaped with
 * weft_popen_poll. */
#include "proc.h"

#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <weft/subprocess.h>

struct proc {
	weft_popen *p;
};

static void stream(weft_stdio *mode, int *fd, int want, int same)
{
	if (want == same) {
		*mode = WEFT_INHERIT;
	} else {
		*mode = WEFT_USE_FD;
		*fd = want;
	}
}

int proc_start(proc **out, char *const *argv, const proc_opts *o)
{
	weft_popen_opts po = {.cwd = o->cwd, .env_add = o->env_add, .new_process_group = true};
	stream(&po.stdin_mode, &po.stdin_fd, o->in_fd, 0);
	stream(&po.stdout_mode, &po.stdout_fd, o->out_fd, 1);
	stream(&po.stderr_mode, &po.stderr_fd, o->err_fd, 2);
	weft_popen *p;
	int rc = weft_popen_start(&p, (const char *const *)argv, &po);
	if (rc < 0)
		return rc; /* weft's codes for exec failures are -errno */
	proc *pr = xmalloc(sizeof *pr);
	pr->p = p;
	*out = pr;
	return 0;
}

int proc_sentinel(const proc *p)
{
	return weft_popen_sentinel(p->p);
}

pid_t proc_pid(const proc *p)
{
	return weft_popen_pid(p->p);
}

int proc_signal(proc *p, int sig)
{
	return weft_popen_send_signal(p->p, sig);
}

int proc_poll(proc *p, int *returncode)
{
	int rc = weft_popen_poll(p->p, returncode);
	return rc == WEFT_EAGAIN ? -EAGAIN : rc;
}

void proc_free(proc *p)
{
	if (!p)
		return;
	weft_popen_free(p->p);
	free(p);
}
