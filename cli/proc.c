/* Job processes on weft's subprocess module: weft_popen with a new process
 * group, its pidfd sentinel polled by the loop, reaped with
 * weft_popen_poll. */
#include "proc.h"

#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* The PATH search for a program name, done once per name: jobs mostly run
 * the same program, and each failed exec along a long PATH costs a system
 * call per job. The first regular executable file wins, as for execvp. */
static const char *resolve(const char *name)
{
	static struct {
		char *name, *path;
	} cache[8];
	static unsigned next;
	if (strchr(name, '/'))
		return NULL;
	for (unsigned i = 0; i < 8; i++)
		if (cache[i].name && strcmp(cache[i].name, name) == 0)
			return cache[i].path;
	const char *path = getenv("PATH");
	char *found = NULL;
	sbuf b = {0};
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; !found;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		sb_clear(&b);
		sb_add(&b, len ? p : ".", len ? len : 1);
		sb_addc(&b, '/');
		sb_adds(&b, name);
		struct stat st;
		if (stat(b.s, &st) == 0 && S_ISREG(st.st_mode) && access(b.s, X_OK) == 0)
			found = xstrdup(b.s);
		if (!colon)
			break;
		p = colon + 1;
	}
	sb_free(&b);
	unsigned i = next++ % 8;
	free(cache[i].name);
	free(cache[i].path);
	cache[i].name = xstrdup(name);
	cache[i].path = found;
	return found;
}

int proc_start(proc **out, char *const *argv, const proc_opts *o)
{
	weft_popen_opts po = {.cwd = o->cwd, .env_add = o->env_add, .new_process_group = true};
	/* With --workdir a relative PATH entry means another directory:
	 * leave the search to the library then. */
	if (!o->cwd)
		po.executable = resolve(argv[0]);
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
