/* scheduler.run(): pop what is due, run it without the lock, sleep until
 * the next event otherwise.
 *
 * The default sleep parks on wake_word with the next event's deadline.
 * wake_word is read under mu before sleeping, and an enter that puts a new
 * event on top bumps it under mu and then wakes the sleepers, so a sleeper
 * either sees the new value (and does not sleep) or is woken: no enter is
 * missed, and the earlier event runs on time. */
#include "sched/sched_int.h"

#include <math.h>

/* Sleeps up to delay seconds or until woken. 0 to re-check the queue; a
 * cancel scope's code otherwise. */
static int default_sleep(weft_scheduler *s, uint32_t seen, double delay)
{
	int64_t deadline = WEFT__NO_DEADLINE;
	if (delay < 1e9)
		deadline = weft__now_ns() + (int64_t)ceil(delay * 1e9);
	int rc = weft__park(&s->wake_word, seen, WEFT__PRIVATE, deadline);
	if (rc == WEFT_ETIMEDOUT && !weft__cancel_status())
		rc = 0; /* our own deadline: the event is due */
	return rc;
}

/* After a periodic event's action: queue its next tick, unless it was
 * cancelled meanwhile or failed. Under mu. */
static void next_tick(weft_scheduler *s, weft__sched_entry done, int rc, bool *wake)
{
	weft__sched_slot *sl = &s->slots[done.slot];
	s->reserved--; /* its place in the heap is free again, for it */
	if (sl->state != SLOT_RUNNING || rc) {
		weft__sched_free_slot(s, done.slot);
		return;
	}
	double next = done.time + sl->interval;
	if (sl->missed == WEFT_SCHED_SKIP) {
		double now = s->timefunc(s->ctx);
		if (next < now) /* the first tick at or after now */
			next = done.time + ceil((now - done.time) / sl->interval) * sl->interval;
	}
	if (!isfinite(next) || weft__sched_queue_slot(s, done.slot, next, done.priority, wake))
		weft__sched_free_slot(s, done.slot); /* out of time (no memory is needed): it stops */
}

int weft_sched_run(weft_scheduler *s, bool blocking, double *next_delay)
{
	if (next_delay)
		*next_delay = WEFT_FOREVER;
	if (!s)
		return WEFT_EINVAL;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		weft__sched_settle(s);
		weft__sched_drop_dead(s);
		weft__sched_entry top;
		weft__sched_from from = weft__sched_top(s, &top);
		if (!from)
			break;
		/* Its slot (action, argument) is needed once it is due: fetch
		 * it while we sleep, or while the previous action ran. */
		__builtin_prefetch(&s->slots[top.slot]);
		double now = s->timefunc(s->ctx);
		if (top.time > now) {
			double delay = top.time - now;
			if (!blocking) {
				if (next_delay)
					*next_delay = delay;
				break;
			}
			uint32_t seen = atomic_load(&s->wake_word);
			s->sleepers++;
			pthread_mutex_unlock(&s->mu);
			rc = s->delayfunc ? s->delayfunc(s->ctx, delay) : default_sleep(s, seen, delay);
			pthread_mutex_lock(&s->mu);
			s->sleepers--;
			if (rc)
				break;
			continue;
		}
		weft__sched_take(s, from); /* mu was held since top */
		s->live--;
		weft__sched_slot *sl = &s->slots[top.slot];
		weft_sched_action action = sl->action;
		void *arg = sl->arg;
		bool periodic = sl->interval > 0;
		if (periodic) {
			sl->state = SLOT_RUNNING; /* keeps its handle for the next tick */
			s->reserved++;
		} else
			weft__sched_free_slot(s, top.slot);
		pthread_mutex_unlock(&s->mu);

		rc = action(arg);
		if (rc == 0 && s->delayfunc)
			rc = s->delayfunc(s->ctx, 0); /* Python: let other threads run */

		bool wake = false;
		pthread_mutex_lock(&s->mu);
		if (periodic)
			next_tick(s, top, rc, &wake);
		if (wake) {
			pthread_mutex_unlock(&s->mu);
			weft__sched_wake(s);
			pthread_mutex_lock(&s->mu);
		}
		if (rc)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}
