/* Helpers shared by the multiprocessing tests. */
#ifndef WEFT_MP_TEST_H
#define WEFT_MP_TEST_H

#include "wtest.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MPT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MPT_TSAN 1
#endif

/* Fork-based cases run under TSan as well: weft's atfork handlers release
 * the locks they took in prepare (a re-initialized mutex still looks held
 * to TSan, which then reported lock-order cycles between the handlers). */

/* The signal a crash test dies of. TSan turns a SIGSEGV into an exit(66)
 * whatever the handler says, so under TSan the crash is a SIGKILL. */
#ifdef MPT_TSAN
#define MPT_CRASH_SIG SIGKILL
#else
#define MPT_CRASH_SIG SIGSEGV
#endif

/* Dies of MPT_CRASH_SIG, as a segfault would. */
static inline void mpt_crash(void)
{
	signal(MPT_CRASH_SIG, SIG_DFL); /* sanitizers catch SIGSEGV otherwise */
	raise(MPT_CRASH_SIG);
}

/* No child of this process is left, reaped or not. */
static inline void mpt_no_children(void)
{
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* Number of /dev/shm entries whose name starts with prefix. */
static inline int mpt_shm_entries(const char *prefix)
{
	int n = 0;
	DIR *d = opendir("/dev/shm");
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

#endif
