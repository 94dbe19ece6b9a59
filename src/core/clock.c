/* Monotonic clock and deadlines: every timed wait in weft turns its timeout
 * into one absolute deadline up front, so retries after EINTR or spurious
 * wakeups never stretch the total wait. */
#include "core/core.h"

#include <math.h>
#include <time.h>

int64_t weft__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * WEFT__NS_PER_S + ts.tv_nsec;
}

double weft_monotonic(void)
{
	return (double)weft__now_ns() / 1e9;
}

const char *weft_version(void)
{
	return WEFT_VERSION_STRING;
}

int weft__deadline(double timeout, int64_t *deadline_ns)
{
	if (!weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	if (timeout == WEFT_FOREVER) {
		*deadline_ns = WEFT__NO_DEADLINE;
		return 0;
	}
	/* Round up: a wait must never end before the timeout has passed. */
	*deadline_ns = weft__now_ns() + (int64_t)ceil(timeout * 1e9);
	return 0;
}

double weft__remaining(int64_t deadline_ns)
{
	if (deadline_ns == WEFT__NO_DEADLINE)
		return WEFT_FOREVER;
	int64_t left = deadline_ns - weft__now_ns();
	return left > 0 ? (double)left / 1e9 : 0.0;
}
