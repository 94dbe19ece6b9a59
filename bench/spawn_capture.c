/* Capture a child's 64 MiB output stream (`cat file`): weft_run with
 * capture_output against the same bytes going through a pipe into
 * `cat > /dev/null` (the shell pipeline `cat file | cat > /dev/null`), a
 * hand-written posix_spawn + read() loop into a growing buffer, GLib's
 * g_spawn_sync capturing stdout, and Python's subprocess.run(capture_output).
 * Figures are MiB per second of child output.
 *
 * weft recycles a large capture's mapping once the caller frees it, so its
 * main case (repeated captures in one process, as a program that runs many
 * commands does) writes into pages that are already there. The case "first
 * in a process" runs this program again with --first: a fresh process's one
 * capture, fresh pages and all, timed inside that process. */
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

enum { MIB = 1 << 20, SIZE_MIB = 64 };

extern char **environ;
static char path[64];

static double rate(double t0)
{
	return SIZE_MIB / (bench_now() - t0);
}

static double run_weft(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	weft_completed r;
	int rc = weft_run((const char *[]){"cat", path, NULL}, &(weft_run_opts){.capture_output = true}, &r);
	double v = rate(t0);
	bool ok = rc == 0 && r.returncode == 0 && r.out.len == (size_t)SIZE_MIB * MIB;
	weft_completed_free(&r);
	return ok ? v : -1;
}

static double run_weft_first(void *arg)
{
	(void)arg;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "/proc/%d/exe --first %s", (int)getpid(), path);
	FILE *f = popen(cmd, "r");
	double v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%lf", &v) != 1)
		v = -1;
	return pclose(f) == 0 ? v : -1;
}

static double run_shell_pipe(void *arg)
{
	(void)arg;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "cat %s | cat > /dev/null", path);
	char *const argv[] = {"/bin/sh", "-c", cmd, NULL};
	double t0 = bench_now();
	pid_t pid;
	int st;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) || waitpid(pid, &st, 0) != pid || st)
		return -1;
	return rate(t0);
}

static double run_raw(void *arg)
{
	(void)arg;
	double t0 = bench_now();
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	char *const argv[] = {"/bin/cat", path, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc)
		return -1;
	size_t len = 0, cap = 64 * 1024;
	char *buf = malloc(cap);
	for (;;) {
		if (cap - len < 64 * 1024)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(p[0], buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	double v = rate(t0);
	free(buf);
	return st == 0 && len == (size_t)SIZE_MIB * MIB ? v : -1;
}

#ifdef WEFT_HAVE_GLIB
static double run_glib(void *arg)
{
	(void)arg;
	gchar *argv[] = {"/bin/cat", path, NULL};
	gchar *out = NULL, *err = NULL;
	gint st;
	double t0 = bench_now();
	gboolean ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &st, NULL);
	double v = rate(t0);
	ok = ok && st == 0 && out && strlen(out) == (size_t)SIZE_MIB * MIB;
	g_free(out);
	g_free(err);
	return ok ? v : -1;
}
#endif

static double run_python(void *arg)
{
	(void)arg;
	char script[512];
	snprintf(script, sizeof script,
	         "import subprocess, time\n"
	         "t = time.perf_counter()\n"
	         "r = subprocess.run(['cat', '%s'], capture_output=True, check=True)\n"
	         "d = time.perf_counter() - t\n"
	         "assert len(r.stdout) == %d << 20\n"
	         "print(%d / d)\n",
	         path, SIZE_MIB, SIZE_MIB);
	return bench_python(script);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--first") == 0) {
		snprintf(path, sizeof path, "%s", argv[2]);
		printf("%f\n", run_weft(NULL));
		return 0;
	}
	snprintf(path, sizeof path, "/tmp/weft_bench_capture_%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 1;
	char *chunk = malloc(MIB);
	for (int i = 0; i < MIB; i++)
		chunk[i] = (char)('a' + i % 26); /* no NUL: GLib's capture is a C string */
	for (int i = 0; i < SIZE_MIB; i++)
		if (write(fd, chunk, MIB) != MIB)
			return 1;
	close(fd);
	free(chunk);
	bench_case cases[] = {
	    {"weft_run capture_output", run_weft, NULL},
	    {"weft_run, first in a process", run_weft_first, NULL},
	    {"cat file | cat > /dev/null", run_shell_pipe, NULL},
	    {"posix_spawn + read() loop", run_raw, NULL},
#ifdef WEFT_HAVE_GLIB
	    {"GLib g_spawn_sync (captured)", run_glib, NULL},
#endif
	    {"Python subprocess.run capture", run_python, NULL},
	};
	bench_spec spec = {.title = "capture a child's 64 MiB of output",
	                   .unit = "MiB/s",
	                   .higher_better = true,
	                   .rounds = 15};
	int rc = bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
	unlink(path);
	return rc;
}
