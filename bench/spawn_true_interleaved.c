/* Spawn /bin/true and wait, one spawn at a time, every way interleaved:
 * each round spawns once with weft_run, raw posix_spawn + waitpid,
 * fork + exec + waitpid, GLib's g_spawn_sync, libuv's uv_spawn and
 * Python's subprocess.run (a python3 process kept running, which times
 * subprocess.run itself and reports the time through a pipe). So every case
 * sees the same machine, and a neighbour's load shifts them alike; the
 * median over many rounds is steady where batches of 1000 swing with the
 * load. The order is shuffled every round (a fixed seed), so each case
 * follows each other case equally often: what a case leaves behind (a
 * fork's copy-on-write pages, Python finishing its loop on the other CPU)
 * lands on every case alike. Figures are microseconds per spawn, lower is
 * better.
 *
 * Two series: weft against posix_spawn alone first, then every case. The
 * forking peers slow down what comes after them (a fork leaves every
 * writable page copy-on-write and drops the caller's hot TLB and cache
 * state), so the first series is the clean comparison of the two vfork
 * spawns, the second the comparison with everyone.
 *
 * spawn_true_interleaved_256m.c includes this file with
 * SPAWN_RESIDENT_MIB set: the same with that much memory resident
 * (touched) in the caller, and in the Python process. */
#include "bench.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft.h>
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif
#ifdef WEFT_HAVE_UV
#include <uv.h>
#endif

#ifndef SPAWN_RESIDENT_MIB
#define SPAWN_RESIDENT_MIB 0
#endif
#ifndef SPAWN_ROUNDS
#define SPAWN_ROUNDS 2000
#endif

extern char **environ;
static char *const true_argv[] = {"/bin/true", NULL};

static double us_since(double t0)
{
	return (bench_now() - t0) * 1e6;
}

static double run_weft(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	weft_completed r;
	int rc = weft_run((const char *const *)true_argv, NULL, &r);
	double us = us_since(t0);
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
	return us_since(t0);
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
	return us_since(t0);
}

#ifdef WEFT_HAVE_GLIB
static double run_glib(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	gint st;
	if (!g_spawn_sync(NULL, (gchar **)true_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &st,
	                  NULL) ||
	    st)
		return -1;
	return us_since(t0);
}
#endif

#ifdef WEFT_HAVE_UV
static uv_loop_t uv_loop;
static int uv_done;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	uv_done = status == 0 && sig == 0 ? 1 : -1;
	uv_close((uv_handle_t *)p, NULL);
}

/* As a libuv program spawns: uv_spawn, then run the loop until the exit
 * callback has fired and the handle is closed (the loop itself lives on). */
static double run_uv(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	uv_process_t proc;
	uv_process_options_t o = {.exit_cb = on_exit_cb, .file = true_argv[0], .args = (char **)true_argv};
	uv_done = 0;
	if (uv_spawn(&uv_loop, &proc, &o))
		return -1;
	uv_run(&uv_loop, UV_RUN_DEFAULT);
	return uv_done == 1 ? us_since(t0) : -1;
}
#endif

#ifdef WEFT_PYTHON3
/* python3 running this loop: one subprocess.run per line on stdin, its
 * time (measured inside Python) written back. */
static FILE *py_in, *py_out;

static bool python_start(void)
{
	char script[512];
	snprintf(script, sizeof script,
	         "import subprocess, sys, time\n"
	         "ballast = b'x' * (%d << 20)\n" /* resident, as in the C cases */
	         "for _ in sys.stdin:\n"
	         "    t = time.perf_counter()\n"
	         "    subprocess.run(['/bin/true'], check=True)\n"
	         "    print((time.perf_counter() - t) * 1e6, flush=True)\n",
	         SPAWN_RESIDENT_MIB);
	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return false;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	char *const argv[] = {"python3", "-c", script, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, WEFT_PYTHON3, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	if (rc)
		return false;
	py_in = fdopen(to[1], "w");
	py_out = fdopen(from[0], "r");
	return py_in && py_out;
}

static double run_python(void *arg)
{
	(void)arg;
	char line[64];
	if (!py_in || fputs("\n", py_in) == EOF || fflush(py_in) || !fgets(line, sizeof line, py_out))
		return -1;
	return atof(line);
}
#endif

/* Runs rounds of ncases spawns, each round in a new random order, and
 * prints medians and ratios to cases[0]. */
static int series(const bench_case *cases, int ncases, int rounds, const char *what)
{
	char title[160];
	snprintf(title, sizeof title, "spawn /bin/true and wait, %s, interleaved one by one, %d MiB resident",
	         what, SPAWN_RESIDENT_MIB);
	bench_spec spec = {.title = title, .unit = "us/spawn", .rounds = rounds, .shuffled = true};
	return bench_run(&spec, cases, ncases);
}

int main(void)
{
	if (SPAWN_RESIDENT_MIB) {
		size_t n = (size_t)SPAWN_RESIDENT_MIB << 20;
		char *ballast = malloc(n);
		memset(ballast, 1, n); /* resident: every page touched */
		bench_keep(ballast);
	}
#ifdef WEFT_HAVE_UV
	uv_loop_init(&uv_loop);
#endif
#ifdef WEFT_PYTHON3
	python_start(); /* when it fails, Python's case reports "failed" */
#endif
	bench_case cases[] = {
	    {"weft_run", run_weft, NULL},
	    {"posix_spawn + waitpid", run_posix_spawn, NULL},
	    {"fork + exec + waitpid", run_fork, NULL},
#ifdef WEFT_HAVE_GLIB
	    {"GLib g_spawn_sync", run_glib, NULL},
#endif
#ifdef WEFT_HAVE_UV
	    {"libuv uv_spawn", run_uv, NULL},
#endif
#ifdef WEFT_PYTHON3
	    {"Python subprocess.run", run_python, NULL},
#endif
	};
	int ncases = (int)(sizeof cases / sizeof cases[0]);
	int rounds = SPAWN_ROUNDS;
	int failed = series(cases, 2, rounds, "weft and posix_spawn alone");
	failed |= series(cases, ncases, rounds, "every way");
#ifdef WEFT_PYTHON3
	if (py_in)
		fclose(py_in); /* python's loop ends at EOF */
	if (py_out)
		fclose(py_out);
	while (wait(NULL) > 0)
		;
#endif
	return failed;
}
