/* The process around the loop: signals, stdout, descriptor limit. */
#include "procenv.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

int signals_setup(void)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction sa;
		/* A signal ignored when we started (nohup, a background job of
		 * a non-interactive shell) stays ignored. */
		if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			continue;
		sigaddset(&set, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("cannot set up signal handling: %s", strerror(errno));
	set_wait_interrupt(fd);
	signal(SIGPIPE, SIG_IGN); /* a broken stdout is an EPIPE we handle */
	return fd;
}

static int stdout_flags = -1;

void stdout_restore(void)
{
	if (stdout_flags >= 0)
		(void)fcntl(1, F_SETFL, stdout_flags);
	stdout_flags = -1;
}

void stdout_nonblocking(const options *o)
{
	struct stat st;
	if (o->out == OUT_UNGROUP || o->results || fstat(1, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	int fl = fcntl(1, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK))
		return;
	if (fcntl(1, F_SETFL, fl | O_NONBLOCK) == 0) {
		stdout_flags = fl;
		atexit(stdout_restore);
	}
}

void die_by_signal(int signo)
{
	stdout_restore();
	signal(signo, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, signo);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(signo);
	_exit(128 + signo);
}

void fd_limit_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}
