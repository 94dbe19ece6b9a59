/* Adaptive spinning before sleeping.
 *
 * Waking a thread asleep on another core costs tens of microseconds on a
 * virtual machine, while the other side of a hand-off often answers within
 * a microsecond; so a contended wait first polls for a while. Polling only
 * pays when the other side runs meanwhile: when it cannot (both threads on
 * one CPU) or answers late, every poll is lost time. Hence a per-thread
 * budget of polls: a spin that succeeds restores it to the full
 * weft__sync_spin (the other side answers: keep spinning); one that ends in
 * sleep halves it, down to nothing below SPIN_MIN. With no budget left a
 * thread sleeps at once, except that one wait in PROBE_EVERY spins the full
 * amount to find out whether spinning pays again; a failed probe leaves the
 * budget at nothing. The cost when spinning never pays is thus about
 * weft__sync_spin / PROBE_EVERY polls per wait (one, ~20 ns here). When
 * both sides of a hand-off have stopped spinning, each answers the other
 * only after a wakeup, slower than any probe, so they keep sleeping: then
 * the cost is that of having no spin at all, like the peers'. Processes with one CPU never
 * spin. Per thread rather than per object, so that shared primitives need
 * no room for it.
 */
#include "sync/sync_int.h"

#define TLS __thread __attribute__((tls_model("initial-exec")))

enum { SPIN_MIN = 8, PROBE_EVERY = 256 };

int weft__sync_spin = 256;

static TLS int budget = -1; /* polls; -1: not yet set */
static TLS unsigned idle;   /* waits since the budget ran out */
static int cpus;

/* The process's CPUs at load time (taskset honoured); read-only later. */
__attribute__((constructor)) static void count_cpus(void)
{
	cpus = weft__cpu_count();
}

int weft__spin_begin(void)
{
	int max = weft__sync_spin;
	if (cpus < 2 || max <= 0)
		return 0;
	if (weft__unlikely(budget < 0))
		budget = max;
	if (budget > 0)
		return budget < max ? budget : max;
	return ++idle % PROBE_EVERY == 0 ? max : 0;
}

void weft__spin_end(int limit, bool success)
{
	if (limit <= 0)
		return;
	if (success)
		budget = weft__sync_spin;
	else if (budget > 0) /* not a failed probe */
		budget = limit / 2 >= SPIN_MIN ? limit / 2 : 0;
}
