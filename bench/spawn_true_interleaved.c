/* The spawn race of spawn_true.c between weft_run and posix_spawn +
 * waitpid, one spawn at a time: every round runs one of each, so both see
 * the same machine (a neighbour's load shifts them alike), and the median
 * over thousands of rounds is steady where whole batches of 1000 swing with
 * the load. fork + exec is left out: the teardown of its child's copied page
 * tables runs on while the next case starts and would be charged to it
 * (spawn_true.c has fork). Figures are microseconds a spawn.
 * spawn_true_interleaved_256m.c includes this with SPAWN_RESIDENT_MIB set. */
#include "bench.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <weft.h>

#ifndef SPAWN_RESIDENT_MIB
#define SPAWN_RESIDENT_MIB 0
#endif

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

int main(void)
{
	if (SPAWN_RESIDENT_MIB) {
		size_t n = (size_t)SPAWN_RESIDENT_MIB << 20;
		char *ballast = malloc(n);
		memset(ballast, 1, n); /* resident: every page touched */
		bench_keep(ballast);
	}
	bench_case cases[] = {
	    {"weft_run", run_weft, NULL},
	    {"posix_spawn + waitpid", run_posix_spawn, NULL},
	};
	char title[128];
	snprintf(title, sizeof title, "spawn /bin/true and wait, interleaved one by one, %d MiB resident",
	         SPAWN_RESIDENT_MIB);
	bench_spec spec = {.title = title, .unit = "us/spawn", .higher_better = false, .rounds = 3000};
	return bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
}
