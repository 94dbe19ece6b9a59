#include "core/core.h"

#include <sched.h>
#include <unistd.h>

/* weft__yield_once: a yield slower than this bans yielding for this
 * thread for YIELD_BAN_NS. */
#define SLOW_YIELD_NS INT64_C(200000)   /* 200 us */
#define YIELD_BAN_NS  INT64_C(50000000) /* 50 ms */

/* Until when this thread parks instead of yielding (weft__now_ns time). */
static _Thread_local int64_t yield_banned_until;

int weft__cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n > 0)
			return n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

bool weft__yield_once(int64_t deadline)
{
	int64_t t0 = weft__now_ns();
	if (t0 < yield_banned_until || t0 >= deadline) /* no deadline: INT64_MAX */
		return false;
	sched_yield();
	int64_t t1 = weft__now_ns();
	if (t1 - t0 > SLOW_YIELD_NS)
		yield_banned_until = t1 + YIELD_BAN_NS;
	return true;
}
