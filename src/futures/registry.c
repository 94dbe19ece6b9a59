/* Every thread pool of the process, so that exit joins them all, as
 * Python's interpreter shutdown joins every ThreadPoolExecutor's threads:
 * calls already queued still run, later submissions get WEFT_ESHUTDOWN, and
 * exit returns once the workers are gone (a call that never returns keeps
 * the process from exiting, as in Python).
 *
 * Lock: reg_mu guards the list; it is taken by pool creation and
 * destruction and by the exit handler, never while calling user code or
 * another weft lock. Fork: held across fork (prepare/parent); in the child
 * the list is emptied -- the parent's pools have no threads there. */
#include "futures/pool.h"

#include <stdlib.h>

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static weft__pool *reg_head;
static bool exit_hook;

static void join_all(void)
{
	for (;;) {
		/* One pool at a time: take a reference under the lock unless the
		 * pool is already being destroyed (no references left). */
		weft__pool *p = NULL;
		pthread_mutex_lock(&reg_mu);
		for (weft__pool *q = reg_head; q && !p; q = q->reg_next) {
			if (q->exit_joined)
				continue;
			q->exit_joined = true;
			int refs = atomic_load(&q->base.refs);
			while (refs > 0 && !atomic_compare_exchange_weak(&q->base.refs, &refs, refs + 1))
				;
			if (refs > 0)
				p = q;
		}
		pthread_mutex_unlock(&reg_mu);
		if (!p)
			return;
		p->base.ops->shutdown(&p->base, true, false);
		weft__executor_release(&p->base);
	}
}

void weft__pool_register(weft__pool *p)
{
	pthread_mutex_lock(&reg_mu);
	p->reg_prev = NULL;
	p->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = p;
	reg_head = p;
	if (!exit_hook)
		exit_hook = atexit(join_all) == 0;
	pthread_mutex_unlock(&reg_mu);
}

void weft__pool_unregister(weft__pool *p)
{
	pthread_mutex_lock(&reg_mu);
	if (p->reg_prev)
		p->reg_prev->reg_next = p->reg_next;
	else if (reg_head == p)
		reg_head = p->reg_next;
	if (p->reg_next)
		p->reg_next->reg_prev = p->reg_prev;
	pthread_mutex_unlock(&reg_mu);
}

static void before_fork(void)
{
	pthread_mutex_lock(&reg_mu);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&reg_mu);
}

static void after_fork_child(void)
{
	reg_head = NULL; /* exit_hook stays: the parent's atexit came along */
	pthread_mutex_unlock(&reg_mu);
}

__attribute__((constructor)) static void registry_init(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
