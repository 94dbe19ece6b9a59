/* The process-wide executors and the fork generation.
 *
 * The default executor is a Python-sized thread pool for blocking work
 * (the CLI, to_thread); the compute pool, one worker per CPU, runs task
 * groups and parallel loops given no executor. Both are made on first use
 * and never freed by weft_executor_free; like every pool they are joined at
 * exit (registry.c).
 *
 * Fork: the child gets a new generation number; pools made before refuse
 * work there (their threads did not survive), and the defaults are
 * forgotten so that the child makes its own.
 */
#include "futures/pool.h"

#include <stdlib.h>

_Atomic unsigned weft__fork_gen;
static _Atomic(weft_executor *) default_ex;
static _Atomic(weft_executor *) compute_ex;

static void after_fork_child(void)
{
	atomic_fetch_add(&weft__fork_gen, 1);
	atomic_store(&default_ex, NULL);
	atomic_store(&compute_ex, NULL);
}

__attribute__((constructor)) static void futures_init(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

bool weft__executor_is_default(const weft_executor *ex)
{
	return ex == atomic_load(&default_ex) || ex == atomic_load(&compute_ex);
}

/* Makes *slot's pool once; a loser of the race frees its own. */
static weft_executor *get_or_make(_Atomic(weft_executor *) *slot, const weft_thread_pool_opts *opts)
{
	weft_executor *ex = atomic_load_explicit(slot, memory_order_acquire);
	if (ex)
		return ex;
	weft_executor *made;
	if (weft_thread_pool_new(&made, opts))
		return NULL;
	if (!atomic_compare_exchange_strong(slot, &ex, made)) {
		weft_executor_free(made);
		return ex;
	}
	return made;
}

int weft_executor_default(weft_executor **out)
{
	if (!out)
		return WEFT_EINVAL;
	weft_executor *ex = get_or_make(&default_ex, NULL);
	if (!ex)
		return WEFT_ENOMEM;
	*out = ex;
	return 0;
}

weft__pool *weft__compute_pool(void)
{
	weft_thread_pool_opts o = {.max_workers = weft__cpu_count(), .thread_name_prefix = "weft-compute"};
	return weft__as_pool(get_or_make(&compute_ex, &o));
}
