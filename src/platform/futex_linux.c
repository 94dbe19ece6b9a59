/* Linux futex: the one system interface under every blocking primitive.
 * Deadlines are absolute on CLOCK_MONOTONIC (FUTEX_WAIT_BITSET measures
 * absolute timeouts on that clock), so a retried wait never drifts. */
#include "core/core.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t bitset)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, bitset);
}

int weft__futex_wait(_Atomic uint32_t *word, uint32_t expected, int flags, int64_t deadline_ns)
{
	int op = FUTEX_WAIT_BITSET | (flags & WEFT__SHARED ? 0 : FUTEX_PRIVATE_FLAG);
	struct timespec ts, *tsp = NULL;
	if (deadline_ns != WEFT__NO_DEADLINE) {
		if (deadline_ns <= weft__now_ns())
			return WEFT_ETIMEDOUT;
		ts.tv_sec = deadline_ns / WEFT__NS_PER_S;
		ts.tv_nsec = deadline_ns % WEFT__NS_PER_S;
		tsp = &ts;
	}
	if (futex(word, op, expected, tsp, FUTEX_BITSET_MATCH_ANY) == -1 && errno == ETIMEDOUT)
		return WEFT_ETIMEDOUT;
	return 0; /* woken, value changed (EAGAIN), or EINTR: the caller re-checks */
}

int weft__wake(_Atomic uint32_t *word, int n, int flags)
{
	int op = FUTEX_WAKE | (flags & WEFT__SHARED ? 0 : FUTEX_PRIVATE_FLAG);
	long r = futex(word, op, (uint32_t)(n < 0 ? INT_MAX : n), NULL, 0);
	return r > 0 ? (int)r : 0;
}
