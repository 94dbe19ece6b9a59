#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double cpu_seconds(const struct rusage *u)
{
	return u->ru_utime.tv_sec + u->ru_stime.tv_sec + (u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e6;
}

int bench_run(const bench_spec *spec, const bench_case *cases, int ncases)
{
	int rounds = spec->rounds > 0 ? spec->rounds : 7;
	const char *env = getenv("BENCH_ROUNDS");
	if (env && atoi(env) > 0)
		rounds = atoi(env);
	double *res = calloc((size_t)ncases * rounds, sizeof *res);
	int failed = 0;
	/* BENCH_TRACE=1 prints every round of every case to stderr with its
	 * wall time, the process's CPU time and its voluntary and involuntary
	 * context switches over the round, so an outlier the median hides can
	 * be seen, and so can how a peer spent the round (one busy thread,
	 * two, or threads sleeping and waking). */
	bool trace = getenv("BENCH_TRACE") && atoi(getenv("BENCH_TRACE")) > 0;
	int *order = malloc((size_t)ncases * sizeof *order);
	for (int c = 0; c < ncases; c++)
		order[c] = c;
	unsigned short seed[3] = {1, 2, 3};
	bool *warm_failed = calloc((size_t)ncases, sizeof *warm_failed);
	for (int r = 0; r < spec->warmup; r++)
		for (int c = 0; c < ncases; c++) {
			double v = cases[c].run(cases[c].arg);
			if (trace)
				fprintf(stderr, "warm-up %d  %-34s %12.3f\n", r + 1, cases[c].name, v);
			warm_failed[c] |= v < 0;
		}
	for (int r = 0; r < rounds; r++) {
		for (int k = spec->shuffled ? ncases - 1 : 0; k > 0; k--) { /* Fisher-Yates */
			int j = (int)(erand48(seed) * (k + 1)), t = order[k];
			order[k] = order[j];
			order[j] = t;
		}
		for (int k = 0; k < ncases; k++) {
			int c = order[k];
			double t0 = trace ? bench_now() : 0;
			struct rusage u0, u1;
			if (trace)
				getrusage(RUSAGE_SELF, &u0);
			res[c * rounds + r] = cases[c].run(cases[c].arg);
			if (trace) {
				getrusage(RUSAGE_SELF, &u1);
				fprintf(stderr, "round %d  %-34s %12.3f  (%.3f s, cpu %.3f s, csw %ld+%ld)\n",
				        r + 1, cases[c].name, res[c * rounds + r], bench_now() - t0,
				        cpu_seconds(&u1) - cpu_seconds(&u0), u1.ru_nvcsw - u0.ru_nvcsw,
				        u1.ru_nivcsw - u0.ru_nivcsw);
			}
		}
	}
	free(order);
	printf("%s (%s, median of %d %s rounds%s, %s is better)\n", spec->title, spec->unit, rounds,
	       spec->shuffled ? "shuffled" : "alternating", spec->warmup ? " after a warm-up" : "",
	       spec->higher_better ? "higher" : "lower");
	double weft = median(res, rounds);
	for (int c = 0; c < ncases; c++) {
		double *v = res + c * rounds;
		bool bad = warm_failed[c];
		for (int r = 0; r < rounds; r++)
			bad |= v[r] < 0;
		if (bad) {
			printf("  %-34s failed\n", cases[c].name);
			failed = 1;
			continue;
		}
		double m = median(v, rounds);
		if (c == 0) {
			printf("  %-34s %12.3f\n", cases[c].name, m);
		} else {
			double ratio = spec->higher_better ? weft / m : m / weft;
			printf("  %-34s %12.3f   weft is %.2fx %s\n", cases[c].name, m, ratio,
			       ratio >= 1 ? "better" : "worse");
		}
	}
	fflush(stdout);
	free(warm_failed);
	free(res);
	return failed;
}

double bench_python(const char *script)
{
#ifdef WEFT_PYTHON3
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	/* posix_spawn, not fork: a fork would write-protect every page of this
	 * process until the child execs, and the case that runs next would take
	 * a page fault on each page it writes. */
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	char *argv[] = {"python3", "-c", (char *)script, NULL};
	pid_t pid;
	int err = posix_spawn(&pid, WEFT_PYTHON3, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (err) {
		close(p[0]);
		return -1;
	}
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	char *last = strrchr(buf, '\n');
	while (last && last > buf && last[1] == 0) {
		*last = 0;
		last = strrchr(buf, '\n');
	}
	return atof(last ? last + 1 : buf);
#else
	(void)script;
	return -1;
#endif
}
