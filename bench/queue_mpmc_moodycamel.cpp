// moodycamel::BlockingConcurrentQueue as a peer of bench/queue_mpmc.c, with
// a producer token per producer and a consumer token per consumer; get is
// the blocking wait_dequeue. Its enqueue never blocks (it allocates), and
// try_enqueue is no bounded put (a producer whose blocks are all in use
// fails forever once the pool is drained), so two cases:
//  - unbounded: enqueue as is (producers never wait),
//  - bounded: capacity 1024 with moodycamel's own LightweightSemaphore
//    counting free slots (wait before enqueue, signal after dequeue).
#ifdef WEFT_HAVE_MOODYCAMEL
#include "queue_mpmc.h"

#include <blockingconcurrentqueue.h>

namespace
{
using Queue = moodycamel::BlockingConcurrentQueue<void *>;

struct Bounded {
	Queue q{MPMC_CAPACITY};
	moodycamel::LightweightSemaphore slots{MPMC_CAPACITY};
};

struct Handle {
	Queue *q;
	moodycamel::LightweightSemaphore *slots; // bounded case only
	moodycamel::ProducerToken *ptok;
	moodycamel::ConsumerToken *ctok;
};

void *make()
{
	return new Bounded;
}

void *attach(void *q, int producer)
{
	Bounded *b = static_cast<Bounded *>(q);
	Queue *queue = &b->q;
	Handle *h = new Handle{queue, &b->slots, nullptr, nullptr};
	if (producer)
		h->ptok = new moodycamel::ProducerToken(*queue);
	else
		h->ctok = new moodycamel::ConsumerToken(*queue);
	return h;
}

void put_unbounded(void *p, void *item)
{
	Handle *h = static_cast<Handle *>(p);
	h->q->enqueue(*h->ptok, item);
}

void *get_unbounded(void *p)
{
	Handle *h = static_cast<Handle *>(p);
	void *item;
	h->q->wait_dequeue(*h->ctok, item);
	return item;
}

void put_bounded(void *p, void *item)
{
	Handle *h = static_cast<Handle *>(p);
	h->slots->wait();
	h->q->enqueue(*h->ptok, item);
}

void *get_bounded(void *p)
{
	Handle *h = static_cast<Handle *>(p);
	void *item;
	h->q->wait_dequeue(*h->ctok, item);
	h->slots->signal();
	return item;
}

void detach(void *p)
{
	Handle *h = static_cast<Handle *>(p);
	delete h->ptok;
	delete h->ctok;
	delete h;
}

void destroy(void *q)
{
	delete static_cast<Bounded *>(q);
}
} // namespace

const mpmc_ops *weft_bench_moodycamel_ops(int bounded)
{
	static const mpmc_ops unbounded_ops = {make, attach, put_unbounded, get_unbounded, detach, destroy};
	static const mpmc_ops bounded_ops = {make, attach, put_bounded, get_bounded, detach, destroy};
	return bounded ? &bounded_ops : &unbounded_ops;
}
#endif
