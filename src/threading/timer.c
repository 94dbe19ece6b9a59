/* threading.Timer: a thread that waits on an event with the interval as
 * timeout and then calls the function, unless cancelled first.
 *
 * Python's Timer checks `finished.is_set()` after its wait and can still
 * fire when cancel() comes just after that check. Here the timer thread
 * and cancel race on one state word (WAITING -> FIRING or -> CANCELLED), so
 * cancel knows whether it came in time and a timely cancel is final. The
 * state lives in a record shared by the handle and the timer thread. */
#include "threading/thread_impl.h"

#include <stdlib.h>

enum { WAITING, FIRING, CANCELLED };

struct weft__timer {
	_Atomic int refs; /* the handle and the timer thread */
	_Atomic int state;
	weft_event cancelled;
	int64_t deadline;
	weft_thread_fn function;
	void *arg;
};

static void timer_release(struct weft__timer *tm)
{
	if (atomic_fetch_sub_explicit(&tm->refs, 1, memory_order_acq_rel) == 1)
		free(tm);
}

static int timer_main(void *arg)
{
	struct weft__timer *tm = arg;
	int rc = 0;
	/* The event wait honours this thread's cancel scopes (it has none) and
	 * wakes at once on cancel. */
	while (weft_event_wait(&tm->cancelled, weft__remaining(tm->deadline)) == WEFT_ETIMEDOUT) {
		if (weft__now_ns() < tm->deadline)
			continue;
		int waiting = WAITING;
		if (atomic_compare_exchange_strong(&tm->state, &waiting, FIRING))
			rc = tm->function(tm->arg);
		break;
	}
	timer_release(tm);
	return rc;
}

int weft_timer_start(weft_timer *t, const weft_timer_opts *opts)
{
	if (!t)
		return WEFT_EINVAL;
	t->thread.impl_ = NULL;
	t->impl_ = NULL;
	int64_t deadline;
	if (!opts || !opts->function || !(opts->interval >= 0) || weft__deadline(opts->interval, &deadline))
		return WEFT_EINVAL;
	struct weft__timer *tm = calloc(1, sizeof *tm);
	if (!tm)
		return WEFT_ENOMEM;
	atomic_init(&tm->refs, 2);
	atomic_init(&tm->state, WAITING);
	tm->deadline = deadline;
	tm->function = opts->function;
	tm->arg = opts->arg;
	int rc = weft_thread_start(
	    &t->thread,
	    &(weft_thread_opts){.target = timer_main, .arg = tm, .name = opts->name, .daemon = opts->daemon});
	if (rc) {
		free(tm);
		return rc;
	}
	t->impl_ = tm;
	return 0;
}

int weft_timer_cancel(weft_timer *t)
{
	if (!t)
		return WEFT_EINVAL;
	struct weft__timer *tm = t->impl_;
	if (!tm)
		return WEFT_ESTATE;
	int waiting = WAITING;
	bool in_time = atomic_compare_exchange_strong(&tm->state, &waiting, CANCELLED);
	if (!in_time && waiting == CANCELLED)
		return 0; /* cancelled before */
	weft_event_set(&tm->cancelled);
	return in_time ? 0 : WEFT_EALREADY;
}

void weft_timer_free(weft_timer *t)
{
	if (!t || !t->impl_)
		return;
	weft_thread_free(&t->thread);
	timer_release(t->impl_);
	t->impl_ = NULL;
}
