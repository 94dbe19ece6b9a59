/* bench/cli_tool.h - running a job runner (weft, GNU parallel, xargs) as a
 * benchmark case: the command gets its input on stdin and its stdout is
 * read to the end by the benchmark, as the next stage of a pipeline would.
 * Shared by the bench/cli_*.c programs. */
#ifndef WEFT_BENCH_CLI_TOOL_H
#define WEFT_BENCH_CLI_TOOL_H

#include "bench.h"

#include <limits.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weft/subprocess.h>

typedef struct tool_case {
	const char *const *argv;
	const char *input;
	size_t input_len;
	/* Called with each chunk of stdout; may be NULL (discard). */
	void (*sink)(void *state, const char *p, size_t n);
	void *state;
	void (*reset)(void *state); /* before each round; may be NULL */
	bool (*check)(void *state); /* after each round; false fails the case */
	/* CPU seconds (user + system) of the tool and all its jobs, per round:
	 * unlike elapsed time, barely moved by other load on the machine. */
	double cpu[64];
	int ncpu;
} tool_case;

static inline double children_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static inline int cmp_cpu(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Prints the median CPU time of each case (name, CPU) after bench_run. */
static inline void print_cpu(const char *unit_name, double per, const bench_case *cases, int n)
{
	printf("  CPU time of the tool and its jobs (median, %s):\n", unit_name);
	for (int i = 0; i < n; i++) {
		tool_case *c = cases[i].arg;
		if (!c->ncpu)
			continue;
		qsort(c->cpu, (size_t)c->ncpu, sizeof *c->cpu, cmp_cpu);
		printf("    %-34s %10.1f\n", cases[i].name, c->cpu[c->ncpu / 2] * per);
	}
}

/* The weft binary of this build: <build>/bin/weft, next to <build>/bench. */
static inline const char *weft_binary(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return "weft";
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof path, "%s/../bin/weft", self);
	return path;
}

/* true when prog is an executable in PATH. */
static inline bool have_program(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		return false;
	char buf[PATH_MAX];
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += len + (colon != NULL);
	}
	return false;
}

/* Runs the case once and returns the elapsed seconds, or -1. */
static inline double run_tool(tool_case *c)
{
	if (c->reset)
		c->reset(c->state);
	weft_popen_opts o = {.stdin_mode = WEFT_PIPE, .stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_DEVNULL};
	double cpu0 = children_cpu();
	double t0 = bench_now();
	weft_popen *p;
	if (weft_popen_start(&p, c->argv, &o) != 0)
		return -1;
	int in = weft_popen_stdin_fd(p), out = weft_popen_stdout_fd(p);
	size_t off = 0;
	while (off < c->input_len) { /* small inputs: fits the pipe */
		ssize_t w = write(in, c->input + off, c->input_len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	weft_popen_close_pipe(p, 0);
	static char buf[1 << 16];
	ssize_t r;
	while ((r = read(out, buf, sizeof buf)) > 0)
		if (c->sink)
			c->sink(c->state, buf, (size_t)r);
	int rc = -1;
	weft_popen_wait(p, WEFT_FOREVER, &rc);
	double t = bench_now() - t0;
	weft_popen_free(p);
	if (c->ncpu < 64)
		c->cpu[c->ncpu++] = children_cpu() - cpu0;
	if (rc != 0 || (c->check && !c->check(c->state)))
		return -1;
	return t;
}

#endif
