/* Barrier (threading.Barrier), after Python's state machine:
 *
 *   FILLING   threads arrive; the last one trips the barrier
 *   ACTION    the last one runs the action (no lock held); all wait
 *   DRAINING  the passage leaves; arrivals for the next one wait
 *   RESETTING reset() while threads were inside; they leave with EBROKEN
 *   BROKEN    abort(), a timeout or a failed action; until reset()
 *
 * DRAINING and RESETTING end (back to FILLING) when the last thread of the
 * passage leaves. Everything is guarded by `mu`, an internal word lock held
 * only for a few instructions (never across a sleep or the action); every
 * state change bumps `seq`, the futex word threads sleep on. `count` and
 * `state` are also read without the lock by the getters, hence atomic.
 *
 * Indices: the thread that trips the barrier gets parties-1; the others
 * number themselves 0, 1, ... as they leave. Handing indices out at the
 * end (rather than on arrival, as Python does) keeps them distinct when a
 * cancelled thread withdraws its arrival.
 *
 * Fork: a private barrier is copied with the state it had; a thread that
 * forked while another held `mu` would leave the child's copy locked, but a
 * barrier whose other parties did not follow into the child is of no use
 * there anyway. Shared barriers are one object for all processes.
 */
#include "sync/sync_int.h"

#include <limits.h>

enum { FILLING, ACTION, DRAINING, RESETTING, BROKEN };

#define ST(b)         atomic_load_explicit(WEFT__A((b)->state), WEFT__RELAXED)
#define SET_ST(b, v)  atomic_store_explicit(WEFT__A((b)->state), (v), WEFT__RELAXED)
#define CNT(b)        atomic_load_explicit(WEFT__A((b)->count), WEFT__RELAXED)
#define SET_CNT(b, v) atomic_store_explicit(WEFT__A((b)->count), (v), WEFT__RELAXED)

int weft_barrier_init(weft_barrier *b, int parties, const weft_barrier_opts *opts)
{
	weft_barrier_opts o = opts ? *opts : (weft_barrier_opts){0};
	if (!b || parties < 1 || (o.flags & ~WEFT_PSHARED) || !weft__timeout_valid(o.timeout))
		return WEFT_EINVAL;
	*b = (weft_barrier){
	    .parties = (uint32_t)parties,
	    .flags = (uint32_t)o.flags,
	    .timeout = o.timeout > 0 ? o.timeout : 0,
	    .action = o.action,
	    .arg = o.arg,
	};
	return 0;
}

static inline int pf(const weft_barrier *b)
{
	return weft__pflags(b->flags);
}

static void lock(weft_barrier *b)
{
	weft__wordlock_take(WEFT__A(b->mu), WEFT__LOCKED, pf(b));
}

/* Unlocks; wakes every sleeper when the state changed (seq was bumped). */
static void unlock(weft_barrier *b, bool changed)
{
	weft__wordlock_unlock(WEFT__A(b->mu), pf(b));
	if (changed)
		weft__wake(WEFT__A(b->seq), INT_MAX, pf(b));
}

/* Sets the state (mu held) and bumps seq; the caller wakes at unlock. */
static void set_state(weft_barrier *b, uint32_t st)
{
	SET_ST(b, st);
	atomic_fetch_add_explicit(WEFT__A(b->seq), 1, WEFT__RELEASE);
}

/* Sleeps with mu released until the state changes (or spuriously). A
 * member of a passage whose action runs (`member` and ACTION) sleeps with
 * neither cancel nor timeout: the passage has happened, only its end is
 * awaited. */
static int sleep_on(weft_barrier *b, int64_t deadline, bool member)
{
	uint32_t seq = atomic_load_explicit(WEFT__A(b->seq), WEFT__RELAXED);
	bool committed = member && ST(b) == ACTION;
	unlock(b, false);
	int rc = committed ? weft__futex_wait(WEFT__A(b->seq), seq, pf(b), WEFT__NO_DEADLINE)
	                   : weft__park(WEFT__A(b->seq), seq, pf(b), deadline);
	lock(b);
	return committed ? 0 : rc;
}

static bool own_deadline_passed(int64_t deadline)
{
	return deadline != WEFT__NO_DEADLINE && weft__now_ns() >= deadline;
}

/* The last arrival (mu held): runs the action unlocked, then releases the
 * passage. Returns 0 or the code for this thread. */
static int trip(weft_barrier *b)
{
	if (b->action) {
		set_state(b, ACTION);
		unlock(b, false);
		int arc = b->action(b->arg);
		lock(b);
		if (ST(b) != ACTION) /* reset or abort while it ran */
			return WEFT_EBROKEN;
		if (arc != 0) {
			set_state(b, BROKEN);
			return arc < 0 ? arc : WEFT_EBROKEN;
		}
	}
	b->departed = 0;
	set_state(b, DRAINING);
	return 0;
}

/* The body of wait (mu held). *changed: the state was changed here, so
 * sleepers must be woken. */
static int wait_locked(weft_barrier *b, int64_t deadline, int *idx, bool *changed)
{
	/* Wait for a draining passage, a reset or an action to finish. */
	while (ST(b) == DRAINING || ST(b) == RESETTING || ST(b) == ACTION) {
		int r = sleep_on(b, deadline, false);
		if (r && own_deadline_passed(deadline)) {
			set_state(b, BROKEN);
			*changed = true;
			return WEFT_EBROKEN;
		}
		if (r)
			return r; /* cancelled before arriving: nothing to undo */
	}
	if (ST(b) == BROKEN)
		return WEFT_EBROKEN;

	int rc = 0;
	SET_CNT(b, CNT(b) + 1);
	if (CNT(b) == b->parties) {
		rc = trip(b);
		*changed = true;
		*idx = (int)b->parties - 1;
	} else {
		while (ST(b) == FILLING || ST(b) == ACTION) {
			int r = sleep_on(b, deadline, true);
			if (!r || ST(b) != FILLING)
				continue;
			if (own_deadline_passed(deadline)) {
				set_state(b, BROKEN); /* Python: a timeout breaks it */
				*changed = true;
				break;
			}
			SET_CNT(b, CNT(b) - 1); /* cancelled: withdraw the arrival */
			return r;
		}
		if (ST(b) == DRAINING)
			*idx = (int)b->departed++;
		else
			rc = WEFT_EBROKEN;
	}

	/* Leave; the last one out ends a drain or a reset. */
	SET_CNT(b, CNT(b) - 1);
	if (CNT(b) == 0 && (ST(b) == DRAINING || ST(b) == RESETTING)) {
		set_state(b, FILLING);
		*changed = true;
	}
	return rc;
}

int weft_barrier_wait(weft_barrier *b, double timeout, int *index)
{
	if (!b || !b->parties)
		return WEFT_EINVAL;
	if (timeout == WEFT_FOREVER && b->timeout > 0)
		timeout = b->timeout;
	int64_t deadline;
	if (weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	int idx = 0;
	bool changed = false;
	lock(b);
	int rc = wait_locked(b, deadline, &idx, &changed);
	unlock(b, changed);
	if (rc == 0 && index)
		*index = idx;
	return rc;
}

int weft_barrier_reset(weft_barrier *b)
{
	if (!b || !b->parties)
		return WEFT_EINVAL;
	lock(b);
	uint32_t st = ST(b);
	if (CNT(b) > 0) {
		if (st == FILLING || st == ACTION || st == BROKEN)
			st = RESETTING;
	} else {
		st = FILLING;
	}
	set_state(b, st);
	unlock(b, true);
	return 0;
}

int weft_barrier_abort(weft_barrier *b)
{
	if (!b || !b->parties)
		return WEFT_EINVAL;
	lock(b);
	set_state(b, BROKEN);
	unlock(b, true);
	return 0;
}

bool weft_barrier_broken(const weft_barrier *b)
{
	return b && ST((weft_barrier *)b) == BROKEN;
}

int weft_barrier_n_waiting(const weft_barrier *b)
{
	if (!b)
		return WEFT_EINVAL;
	uint32_t st = ST((weft_barrier *)b);
	return st == FILLING || st == ACTION ? (int)CNT((weft_barrier *)b) : 0;
}

int weft_barrier_parties(const weft_barrier *b)
{
	return b ? (int)b->parties : WEFT_EINVAL;
}
