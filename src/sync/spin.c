/* Adaptive spinning before sleeping.
 *
 * Waking a thread asleep on another core costs tens of microseconds on a
 * virtual machine, while the other side of a hand-off often answers within
 * a microsecond; so a contended wait first polls for a while. Polling only
 * pays when the other side runs meanwhile: when it cannot (both threads on
 * one CPU) or answers late, every poll is lost time. Hence a per-thread
 * budget: it doubles after a spin that succeeded and halves after one that
 * ended in sleep, between SPIN_MIN (which keeps probing, so the budget can
 * grow back) and weft__sync_spin; on a machine with one CPU (for this
 * process) nobody spins. Per thread rather than per object, so that shared
 * primitives need no room for it.
 */
#include "sync/sync_int.h"

#include <sched.h>

#define TLS __thread __attribute__((tls_model("initial-exec")))

enum { SPIN_MIN = 8 };

int weft__sync_spin = 256;

static TLS int budget = -1; /* -1: not yet known */
static int cpus;

/* The process's CPUs at load time (taskset honoured); read-only later. */
__attribute__((constructor)) static void count_cpus(void)
{
	cpus = weft__cpu_count();
}

int weft__spin_begin(void)
{
	if (weft__unlikely(budget < 0))
		budget = cpus > 1 ? weft__sync_spin : 0;
	return budget < weft__sync_spin ? budget : weft__sync_spin;
}

void weft__spin_end(int limit, bool success)
{
	if (limit <= 0)
		return;
	if (success)
		budget = limit * 2 < weft__sync_spin ? limit * 2 : weft__sync_spin;
	else
		budget = limit / 2 > SPIN_MIN ? limit / 2 : SPIN_MIN;
}
