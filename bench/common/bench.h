/* bench/common/bench.h - the benchmark harness (DESIGN.md "Benchmarks").
 *
 * A benchmark lists cases: weft first, then every installed peer. bench_run
 * runs them on the same workload in one process, alternating case by case
 * for a number of rounds (so a noisy neighbour hurts every case alike), and
 * prints each case's median and the ratio weft/peer. */
#ifndef WEFT_BENCH_H
#define WEFT_BENCH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bench_case {
	const char *name;
	/* Runs the workload once; returns the figure (e.g. ns per op or
	 * items per second), or a negative number when the case failed. */
	double (*run)(void *arg);
	void *arg;
} bench_case;

typedef struct bench_spec {
	const char *title;
	const char *unit;   /* "ns/op", "M items/s", ... */
	bool higher_better; /* throughput: true; latency: false */
	int rounds;         /* default 7 (BENCH_ROUNDS overrides) */
	/* Each round runs the cases in a new random order (fixed seed) rather
	 * than in list order: for workloads so short that the case before
	 * can leave state (page faults, caches) that favours or hurts the next. */
	bool shuffled;
	/* Unmeasured rounds first, every case alike: for workloads whose
	 * first run in a process pays for what later runs reuse (memory the
	 * allocator has to get from the kernel, caches of freed objects). */
	int warmup;
} bench_spec;

/* Runs and prints; returns 0, or 1 when a case failed. cases[0] is weft. */
int bench_run(const bench_spec *spec, const bench_case *cases, int ncases);

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Runs `python3 -c script` and returns the number it prints last, or -1 if
 * Python is missing or the script failed. */
double bench_python(const char *script);

/* Keeps the compiler from optimizing a value away. */
#define bench_keep(x) __asm__ volatile("" : : "g"(x) : "memory")

#endif
