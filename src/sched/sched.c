/* The scheduler object: create, enter, cancel, empty, queue, free.
 *
 * Lock: mu, a leaf mutex held only for heap and slot bookkeeping and around
 * timefunc in run(); never while an action or a delayfunc runs. */
#include "sched/sched_int.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

static double default_time(void *ctx)
{
	(void)ctx;
	return weft_monotonic();
}

static double vclock_time(void *ctx)
{
	return ((weft_sched_vclock *)ctx)->now;
}

static int vclock_sleep(void *ctx, double delay)
{
	if (delay > 0)
		((weft_sched_vclock *)ctx)->now += delay;
	return 0;
}

weft_sched_opts weft_sched_virtual_opts(weft_sched_vclock *clock)
{
	return (weft_sched_opts){.timefunc = vclock_time, .delayfunc = vclock_sleep, .ctx = clock};
}

int weft_scheduler_new(weft_scheduler **out, const weft_sched_opts *opts)
{
	if (!out)
		return WEFT_EINVAL;
	*out = NULL;
	weft_scheduler *s = calloc(1, sizeof *s);
	if (!s)
		return WEFT_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->timefunc = opts && opts->timefunc ? opts->timefunc : default_time;
	s->delayfunc = opts ? opts->delayfunc : NULL;
	s->ctx = opts ? opts->ctx : NULL;
	s->free_head = NO_SLOT;
	*out = s;
	return 0;
}

void weft_scheduler_free(weft_scheduler *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->heap_mem);
	weft__sched_batch_free(s);
	free(s->slots);
	free(s);
}

static uint64_t handle(const weft_scheduler *s, uint32_t idx)
{
	return (uint64_t)s->slots[idx].gen << 32 | idx;
}

static int alloc_slot(weft_scheduler *s, uint32_t *idx)
{
	if (s->free_head == NO_SLOT) {
		if (s->nslots == NO_SLOT)
			return WEFT_ENOMEM;
		uint32_t n = s->nslots ? (s->nslots > NO_SLOT / 2 ? NO_SLOT : 2 * s->nslots) : 64;
		weft__sched_slot *v = realloc(s->slots, (size_t)n * sizeof *v);
		if (!v)
			return WEFT_ENOMEM;
		/* Thread the new slots onto the free list, lowest first. */
		for (uint32_t i = s->nslots; i < n; i++)
			v[i] = (weft__sched_slot){.gen = 1, .next_free = i + 1 < n ? i + 1 : NO_SLOT};
		s->slots = v;
		s->free_head = s->nslots;
		s->nslots = n;
	}
	*idx = s->free_head;
	s->free_head = s->slots[*idx].next_free;
	return 0;
}

void weft__sched_free_slot(weft_scheduler *s, uint32_t idx)
{
	weft__sched_slot *sl = &s->slots[idx];
	sl->state = SLOT_FREE;
	sl->action = NULL;
	sl->arg = NULL;
	if (++sl->gen == 0) /* 0 would make handle 0 possible */
		sl->gen = 1;
	sl->next_free = s->free_head;
	s->free_head = idx;
}

void weft__sched_drop_dead(weft_scheduler *s)
{
	/* With no dead entry the top's slot need not be read here (a cache
	 * miss per event on a large queue). */
	weft__sched_entry top;
	weft__sched_from from;
	while (s->dead && (from = weft__sched_top(s, &top)) && s->slots[top.slot].state == SLOT_DEAD) {
		weft__sched_take(s, from);
		weft__sched_free_slot(s, top.slot);
		s->dead--;
	}
}

int weft__sched_queue_slot(weft_scheduler *s, uint32_t idx, double time, int priority, bool *wake)
{
	weft__sched_slot *sl = &s->slots[idx];
	uint64_t seq = sl->seq;
	sl->seq = s->seq++;
	weft__sched_entry e = {time, priority, idx};
	int rc = sl->interval > 0 ? weft__sched_push(s, e) : weft__sched_pend(s, e);
	if (rc) {
		sl->seq = seq;
		return rc;
	}
	sl->state = SLOT_QUEUED;
	s->live++;
	weft__sched_entry top;
	*wake = s->sleepers > 0 && weft__sched_top(s, &top) && top.slot == idx;
	if (*wake)
		atomic_fetch_add(&s->wake_word, 1);
	return 0;
}

void weft__sched_wake(weft_scheduler *s)
{
	weft__wake(&s->wake_word, INT32_MAX, WEFT__PRIVATE);
}

static int enter_slot(weft_scheduler *s, double time, int priority, weft_sched_action action, void *arg,
                      double interval, weft_sched_missed missed, weft_sched_event *ev)
{
	bool wake = false;
	uint32_t idx;
	pthread_mutex_lock(&s->mu);
	int rc = alloc_slot(s, &idx);
	if (rc == 0) {
		weft__sched_slot *sl = &s->slots[idx];
		sl->action = action;
		sl->arg = arg;
		sl->interval = interval;
		sl->missed = (uint8_t)missed;
		rc = weft__sched_queue_slot(s, idx, time, priority, &wake);
		if (rc)
			weft__sched_free_slot(s, idx);
		else if (ev)
			ev->id = handle(s, idx);
	}
	pthread_mutex_unlock(&s->mu);
	if (wake)
		weft__sched_wake(s);
	return rc;
}

int weft_sched_enterabs(weft_scheduler *s, double time, int priority, weft_sched_action action, void *arg,
                        weft_sched_event *ev)
{
	if (!s || !action || !isfinite(time))
		return WEFT_EINVAL;
	return enter_slot(s, time, priority, action, arg, 0, WEFT_SCHED_SKIP, ev);
}

int weft_sched_enter(weft_scheduler *s, double delay, int priority, weft_sched_action action, void *arg,
                     weft_sched_event *ev)
{
	if (!s || !action || !isfinite(delay))
		return WEFT_EINVAL;
	double time = s->timefunc(s->ctx) + delay;
	if (!isfinite(time))
		return WEFT_EINVAL;
	return enter_slot(s, time, priority, action, arg, 0, WEFT_SCHED_SKIP, ev);
}

int weft_sched_every(weft_scheduler *s, double interval, int priority, weft_sched_action action, void *arg,
                     weft_sched_missed missed, weft_sched_event *ev)
{
	if (!s || !action || !isfinite(interval) || interval <= 0 ||
	    (missed != WEFT_SCHED_SKIP && missed != WEFT_SCHED_CATCH_UP))
		return WEFT_EINVAL;
	double time = s->timefunc(s->ctx) + interval;
	if (!isfinite(time))
		return WEFT_EINVAL;
	return enter_slot(s, time, priority, action, arg, interval, missed, ev);
}

int weft_sched_cancel(weft_scheduler *s, weft_sched_event ev)
{
	if (!s)
		return WEFT_EINVAL;
	uint32_t idx = (uint32_t)ev.id, gen = (uint32_t)(ev.id >> 32);
	int rc = WEFT_ENOENT;
	bool wake = false;
	pthread_mutex_lock(&s->mu);
	if (gen && idx < s->nslots && s->slots[idx].gen == gen) {
		weft__sched_slot *sl = &s->slots[idx];
		if (sl->state == SLOT_QUEUED) {
			sl->state = SLOT_DEAD;
			s->live--;
			s->dead++;
			/* A sleeping run() may be waiting for this one. */
			weft__sched_entry top;
			wake = s->sleepers > 0 && weft__sched_top(s, &top) && top.slot == idx;
			if (wake)
				atomic_fetch_add(&s->wake_word, 1);
			if (s->dead > 64 && s->dead > s->live)
				weft__sched_compact_all(s);
			rc = 0;
		} else if (sl->state == SLOT_RUNNING) {
			sl->state = SLOT_STOPPED; /* a periodic event stops after this tick */
			rc = 0;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (wake)
		weft__sched_wake(s);
	return rc;
}

bool weft_sched_empty(weft_scheduler *s)
{
	if (!s)
		return true;
	pthread_mutex_lock(&s->mu);
	bool empty = s->live == 0;
	pthread_mutex_unlock(&s->mu);
	return empty;
}

static int cmp_entry(const void *a, const void *b)
{
	const weft_sched_entry *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->sequence > y->sequence) - (x->sequence < y->sequence);
}

/* Appends the queued events among src[from..to) to v[k..live); returns
 * the new k. */
static size_t snapshot(const weft_scheduler *s, const weft__sched_entry *src, size_t from, size_t to,
                       weft_sched_entry *v, size_t k, size_t live)
{
	for (size_t i = from; i < to && k < live; i++) {
		weft__sched_entry e = src[i];
		const weft__sched_slot *sl = &s->slots[e.slot];
		if (sl->state != SLOT_QUEUED)
			continue;
		v[k++] = (weft_sched_entry){.time = e.time,
		                            .priority = e.priority,
		                            .sequence = sl->seq,
		                            .action = sl->action,
		                            .arg = sl->arg,
		                            .event = {handle(s, e.slot)}};
	}
	return k;
}

int weft_sched_queue(weft_scheduler *s, weft_sched_entry **out, size_t *n)
{
	if (!s || !out || !n)
		return WEFT_EINVAL;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	size_t live = s->live;
	weft_sched_entry *v = live ? malloc(live * sizeof *v) : NULL;
	if (live && !v) {
		pthread_mutex_unlock(&s->mu);
		return WEFT_ENOMEM;
	}
	size_t k = 0;
	k = snapshot(s, s->heap, 0, s->n, v, k, live);
	k = snapshot(s, s->sorted, s->spos, s->send, v, k, live);
	k = snapshot(s, s->pend, 0, s->npend, v, k, live);
	pthread_mutex_unlock(&s->mu);
	if (k > 1)
		qsort(v, k, sizeof *v, cmp_entry);
	*out = v;
	*n = k;
	return 0;
}
