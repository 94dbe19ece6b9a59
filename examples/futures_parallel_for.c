/* CPU-bound work, faster with threads.
 *
 * In CPython threads take turns holding the GIL, so a CPU-bound loop split
 * over a ThreadPoolExecutor runs no faster than on one thread (the advice
 * is to reach for multiprocessing instead). weft has no GIL: the same loop
 * over weft_parallel_for uses every core -- about 2x on two cores.
 *
 * The loop counts the primes below LIMIT by trial division, first on this
 * thread, then split over the compute pool, and compares the times.
 */
#include <stdio.h>
#include <weft.h>

#define LIMIT 1500000

static int is_prime(size_t n)
{
	if (n < 2)
		return 0;
	for (size_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

/* Folds [lo, hi) into the piece's count; pieces are added up after. */
static int count_primes(size_t lo, size_t hi, void *acc, void *arg)
{
	for (size_t n = lo; n < hi; n++)
		*(long *)acc += is_prime(n);
	return 0;
}

static void add(void *acc, const void *other, void *arg)
{
	*(long *)acc += *(const long *)other;
}

int main(void)
{
	/* Warm the pool up: its threads start on first use. */
	long warm = 0;
	weft_parallel_reduce(0, 1000, &warm, sizeof warm, count_primes, add, NULL, NULL);

	double t0 = weft_monotonic();
	long serial = 0;
	count_primes(0, LIMIT, &serial, NULL);
	double t_serial = weft_monotonic() - t0;

	t0 = weft_monotonic();
	long parallel = 0;
	int rc = weft_parallel_reduce(0, LIMIT, &parallel, sizeof parallel, count_primes, add, NULL, NULL);
	double t_parallel = weft_monotonic() - t0;
	if (rc) {
		fprintf(stderr, "parallel_reduce: %s\n", weft_strerror(rc));
		return 1;
	}

	printf("primes below %d: %ld (one thread) and %ld (parallel)\n", LIMIT, serial, parallel);
	printf("one thread %.3f s, parallel_reduce %.3f s: %.2fx faster\n", t_serial, t_parallel,
	       t_serial / t_parallel);
	return serial == parallel ? 0 : 1;
}
