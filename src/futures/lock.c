/* The slow path of the internal lock (lock.h): spin a little, then sleep
 * on the futex with the word at 2 so that the unlocker knows to wake. */
#include "futures/lock.h"

void weft__mu_lock_slow(weft__mu *m)
{
	for (int i = 0; i < 100; i++) {
		uint32_t c = 0;
		if (atomic_load_explicit(&m->v, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&m->v, &c, 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return;
		weft__cpu_relax();
	}
	while (atomic_exchange_explicit(&m->v, 2, memory_order_acquire) != 0)
		weft__futex_wait(&m->v, 2, WEFT__PRIVATE, WEFT__NO_DEADLINE);
}
