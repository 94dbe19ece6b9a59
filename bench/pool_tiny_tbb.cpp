// oneTBB's task_group for bench/pool_tiny.c: n tiny tasks run by an arena
// of two threads (the caller takes part while it waits), then wait().
#ifdef WEFT_HAVE_TBB
#include <atomic>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

extern "C" double bench_now(void);

// On a cache line of its own, as in pool_tiny.c.
alignas(64) static std::atomic<long> done;
alignas(64) static char done_end;

extern "C" double bench_tbb_tiny(long n)
{
	static tbb::task_arena arena(2);
	done = 0;
	double t0 = bench_now();
	arena.execute([&] {
		tbb::task_group g;
		for (long i = 0; i < n; i++)
			g.run([] { done.fetch_add(1, std::memory_order_relaxed); });
		g.wait();
	});
	double dt = bench_now() - t0;
	return done == n ? n / dt / 1e6 : -1;
}
#endif
