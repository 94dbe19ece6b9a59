/* The spawn race of spawn_true.c, one spawn at a time: every round runs
 * one weft_run, one posix_spawn + waitpid and one fork + exec + waitpid, so
 * the three see the same machine (a neighbour's load shifts all of them
 * alike), and the median over thousands of rounds is steady where whole
 * batches of 1000 swing with the load. Figures are microseconds a spawn. */
#include "bench.h"

#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft.h>

extern char **environ;
static char *const true_argv[] = {"/bin/true", NULL};

static double run_weft(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	weft_completed r;
	int rc = weft_run((const char *const *)true_argv, NULL, &r);
	double us = (bench_now() - t0) * 1e6;
	bool ok = rc == 0 && r.returncode == 0;
	weft_completed_free(&r);
	return ok ? us : -1;
}

static double run_posix_spawn(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	pid_t pid;
	int st;
	if (posix_spawn(&pid, true_argv[0], NULL, NULL, true_argv, environ) || waitpid(pid, &st, 0) != pid ||
	    st)
		return -1;
	return (bench_now() - t0) * 1e6;
}

static double run_fork(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid == 0) {
		execv(true_argv[0], true_argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || st)
		return -1;
	return (bench_now() - t0) * 1e6;
}

int main(void)
{
	bench_case cases[] = {
	    {"weft_run", run_weft, NULL},
	    {"posix_spawn + waitpid", run_posix_spawn, NULL},
	    {"fork + exec + waitpid", run_fork, NULL},
	};
	bench_spec spec = {.title = "spawn /bin/true and wait, interleaved one by one",
	                   .unit = "us/spawn",
	                   .higher_better = false,
	                   .rounds = 3000};
	return bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
}
