// oneTBB's concurrent_bounded_queue as a peer of bench/queue_mpmc.c:
// capacity 1024, blocking push and pop.
#ifdef WEFT_HAVE_TBB
#include "queue_mpmc.h"

#include <tbb/concurrent_queue.h>

namespace
{
using Queue = tbb::concurrent_bounded_queue<void *>;

void *make()
{
	Queue *q = new Queue;
	q->set_capacity(MPMC_CAPACITY);
	return q;
}

void *attach(void *q, int)
{
	return q;
}

void put(void *q, void *item)
{
	static_cast<Queue *>(q)->push(item);
}

void *get(void *q)
{
	void *item;
	static_cast<Queue *>(q)->pop(item);
	return item;
}

void detach(void *)
{
}

void destroy(void *q)
{
	delete static_cast<Queue *>(q);
}
} // namespace

const mpmc_ops *weft_bench_tbb_ops(void)
{
	static const mpmc_ops ops = {make, attach, put, get, detach, destroy};
	return &ops;
}
#endif
