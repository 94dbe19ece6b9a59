/* bench/queue_mpmc.h - the interface between bench/queue_mpmc.c and its C++
 * peers (bench/queue_mpmc_*.cpp): a queue under test, seen through
 * per-thread handles (tokens for the peers that have them, the queue
 * itself for the others). */
#ifndef WEFT_BENCH_QUEUE_MPMC_H
#define WEFT_BENCH_QUEUE_MPMC_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpmc_ops {
	void *(*make)(void);
	void *(*attach)(void *q, int producer);
	void (*put)(void *h, void *item); /* blocking */
	void *(*get)(void *h);            /* blocking */
	void (*detach)(void *h);
	void (*destroy)(void *q);
} mpmc_ops;

enum { MPMC_CAPACITY = 1024 };

/* bounded: capacity MPMC_CAPACITY via a slots semaphore; else unbounded. */
const mpmc_ops *weft_bench_moodycamel_ops(int bounded);
const mpmc_ops *weft_bench_tbb_ops(void);

#ifdef __cplusplus
}
#endif
#endif
