/* Spawn /bin/true and wait for it, SPAWN_N times: weft_run against raw
 * posix_spawn + waitpid, fork + exec, GLib's g_spawn_sync, libuv's uv_spawn
 * and Python's subprocess.run. Figures are spawns per second.
 *
 * bench/spawn_true_256m.c includes this file with SPAWN_RESIDENT_MIB set:
 * the same race with that much memory resident (touched) in the caller, to
 * show which ways of spawning get slower as the caller grows. */
#include "bench.h"

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
#ifndef SPAWN_N
#define SPAWN_N 1000
#endif

extern char **environ;
static char *const true_argv[] = {"/bin/true", NULL};

static double rate(double t0)
{
	return SPAWN_N / (bench_now() - t0);
}

static double run_weft(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	for (int i = 0; i < SPAWN_N; i++) {
		weft_completed r;
		if (weft_run((const char *const *)true_argv, NULL, &r) || r.returncode)
			return -1;
		weft_completed_free(&r);
	}
	return rate(t0);
}

static double run_posix_spawn(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	for (int i = 0; i < SPAWN_N; i++) {
		pid_t pid;
		int st;
		if (posix_spawn(&pid, true_argv[0], NULL, NULL, true_argv, environ))
			return -1;
		if (waitpid(pid, &st, 0) != pid || st)
			return -1;
	}
	return rate(t0);
}

static double run_fork(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	for (int i = 0; i < SPAWN_N; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execv(true_argv[0], true_argv);
			_exit(127);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || st)
			return -1;
	}
	return rate(t0);
}

#ifdef WEFT_HAVE_GLIB
static double run_glib(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	for (int i = 0; i < SPAWN_N; i++) {
		gint st;
		if (!g_spawn_sync(NULL, (gchar **)true_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
		                  &st, NULL) ||
		    st)
			return -1;
	}
	return rate(t0);
}
#endif

#ifdef WEFT_HAVE_UV
static int uv_done;
static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	uv_done = status == 0 && sig == 0 ? 1 : -1;
	uv_close((uv_handle_t *)p, NULL);
}

static double run_uv(void *arg)
{
	(void)arg;
	uv_loop_t loop;
	uv_loop_init(&loop);
	double t0 = bench_now();
	for (int i = 0; i < SPAWN_N; i++) {
		uv_process_t proc;
		uv_process_options_t o = {
		    .exit_cb = on_exit_cb, .file = true_argv[0], .args = (char **)true_argv};
		uv_done = 0;
		if (uv_spawn(&loop, &proc, &o))
			return -1;
		uv_run(&loop, UV_RUN_DEFAULT);
		if (uv_done != 1)
			return -1;
	}
	double r = rate(t0);
	uv_loop_close(&loop);
	return r;
}
#endif

static double run_python(void *arg)
{
	(void)arg;
	char script[512];
	snprintf(script, sizeof script,
	         "import subprocess, time\n"
	         "ballast = b'x' * (%d << 20)\n" /* resident, as in the C cases */
	         "t = time.perf_counter()\n"
	         "for _ in range(%d): subprocess.run(['/bin/true'], check=True)\n"
	         "print(%d / (time.perf_counter() - t))\n",
	         SPAWN_RESIDENT_MIB, SPAWN_N, SPAWN_N);
	return bench_python(script);
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
	    {"fork + exec + waitpid", run_fork, NULL},
#ifdef WEFT_HAVE_GLIB
	    {"GLib g_spawn_sync", run_glib, NULL},
#endif
#ifdef WEFT_HAVE_UV
	    {"libuv uv_spawn", run_uv, NULL},
#endif
	    {"Python subprocess.run", run_python, NULL},
	};
	char title[128];
	snprintf(title, sizeof title, "spawn /bin/true and wait, %d times, %d MiB resident in the caller",
	         SPAWN_N, SPAWN_RESIDENT_MIB);
	bench_spec spec = {.title = title, .unit = "spawns/s", .higher_better = true, .rounds = 9};
	return bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
}
