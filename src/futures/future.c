/* Futures: the state machine of future.h, results, callbacks.
 *
 * Lock order: a future's lk, then a waiter's lock (wait.c); neither is held
 * while user code runs. Callbacks run after the listener list was detached
 * under lk, in the order they were added.
 */
#include "futures/fcache.h"
#include "contextvars/context.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation: a per-thread cache of freed futures ------------------------------ */

/* Futures are made and dropped at the submit rate, and malloc was the
 * largest cost of a tiny task in profiles (with its heap trimming, page
 * faults when the heap grew again). A thread keeps the futures it frees
 * to reuse: a thread that had many futures alive at once may well again.
 * The cache is bounded (CACHE_MAX, 48 MB) and decays, in the manner of
 * allocators' decay: every DECAY_OPS operations, half of the futures that
 * stayed unused all that time (the lowest level the cache fell to) are
 * given back to malloc. What remains is freed when the thread ends.
 * A thread keeps no more than it allocated lately (plus CACHE_MIN): the
 * workers of a pool whose futures nobody holds free them without ever
 * allocating one, and must not hoard them.
 *
 * The cache is an array of pointers, not a list through the futures: a
 * reused future's memory has usually left the CPU's caches, and with the
 * pointers at hand the allocator prefetches the ones it will hand out a
 * few calls later instead of missing on each in turn. The fast paths
 * are in fcache.h. */
enum { CACHE_MAX = 1 << 18, CACHE_MIN = 256, DECAY_OPS = 1 << 20, AHEAD = WEFT__FCACHE_AHEAD };

WEFT__TLS weft__fcache weft__fcache_tls;
#define cache weft__fcache_tls

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* A future starts on a cache line. glibc's aligned allocation splits a
 * larger chunk and frees the pieces around the aligned one (and then
 * consolidates them): about 650 instructions per future against about 80
 * for this plain malloc of 48 bytes more, which the first round of
 * submissions from a thread pays for every future; and the pieces it
 * leaves made a round of 200,000 futures take more memory (56 MB of
 * peak RSS in a loop against 44 MB with this). malloc aligns to
 * max_align_t; on x86-64 the 176 bytes make a 192-byte chunk. */
#define BLOCK_SLACK (64 - _Alignof(max_align_t))

__attribute__((noinline)) static weft_future *block_alloc(void)
{
	char *block = malloc(sizeof(weft_future) + BLOCK_SLACK);
	if (!block)
		return NULL;
	weft_future *f = (weft_future *)(((uintptr_t)block + 63) & ~(uintptr_t)63);
	memset(f, 0, sizeof *f);
	f->block = block;
	return f;
}

static void block_free(weft_future *f)
{
	free(f->block);
}

static void cache_free(int k)
{
	while (k-- > 0 && cache.n > 0)
		block_free(cache.v[--cache.n]);
}

static void cache_drain(void *unused)
{
	(void)unused;
	cache_free(cache.n);
	if (cache.v)
		free(cache.v - AHEAD);
	cache.v = NULL;
	cache.cap = cache.low = cache.limit = 0;
}

static void cache_key_make(void)
{
	pthread_key_create(&cache_key, cache_drain);
}

/* How many futures the thread may keep now: no more than it allocated
 * lately (plus CACHE_MIN), no more than the array holds. */
static int cache_limit(void)
{
	int64_t bound = (int64_t)CACHE_MIN + cache.allocs + cache.allocs_before;
	return bound < cache.cap ? (int)bound : cache.cap;
}

/* The end of a period (DECAY_OPS takes and puts): frees half of what
 * stayed unused through it. */
void weft__fcache_decay(void)
{
	cache_free(cache.low / 2);
	cache.budget = DECAY_OPS;
	cache.low = cache.n;
	cache.allocs_before = cache.allocs < CACHE_MAX ? cache.allocs : CACHE_MAX;
	cache.allocs = 0;
	cache.limit = cache_limit();
}

/* Doubles the array (registering the thread's exit handler first):
 * false when it is full or cannot grow. */
static bool cache_grow(void)
{
	if (cache.cap >= CACHE_MAX)
		return false;
	if (!cache.registered) {
		pthread_once(&cache_once, cache_key_make);
		cache.registered = pthread_setspecific(cache_key, (void *)1) == 0;
		if (!cache.registered)
			return false;
	}
	int cap = cache.cap ? 2 * cache.cap : CACHE_MIN;
	weft_future **old = cache.v ? cache.v - AHEAD : NULL;
	weft_future **v = realloc(old, (size_t)(cap + AHEAD) * sizeof *v);
	if (!v)
		return false;
	for (int i = 0; i < AHEAD; i++)
		v[i] = NULL;
	cache.v = v + AHEAD;
	cache.cap = cap;
	return true;
}

/* put found n at its limit: recompute it, grow the array if the bound
 * allows, else give the future back to malloc. */
void weft__fcache_put_slow(weft_future *f)
{
	cache.limit = cache_limit();
	if (cache.n >= cache.limit) {
		if (cache.n >= (int64_t)CACHE_MIN + cache.allocs + cache.allocs_before || !cache_grow()) {
			block_free(f);
			return;
		}
		cache.limit = cache_limit();
	}
	cache.v[cache.n++] = f;
	if (--cache.budget < 0)
		weft__fcache_decay();
}

weft_future *weft__future_alloc(uint32_t refs)
{
	weft_future *f = weft__fcache_take();
	if (f) {
		/* Its second line was left zeroed (future_free). */
		void *ahead = f->ahead;
		memset(f, 0, offsetof(weft_future, msg));
		f->ahead = ahead;
	} else {
		cache.allocs++; /* counted as take counts its own */
		f = block_alloc();
		if (!f)
			return NULL;
	}
	atomic_init(&f->state, F_PENDING | refs * F_REF);
	return f;
}

/* Empties the second line (msg, bytes), which a cached future keeps
 * zeroed. */
__attribute__((noinline)) static void clear_cold(weft_future *f)
{
	free(f->msg);
	f->msg = NULL;
	weft_bytes_free(&f->bytes);
	f->bytes = (weft_bytes){0};
	f->cold = false;
}

/* Callbacks that never ran (a future dropped while pending). */
__attribute__((noinline)) static void free_listeners(weft_future *f)
{
	for (weft__listener *l = f->listeners, *next; l; l = next) {
		next = l->next;
		if (!l->waiter)
			free(l);
	}
	f->listeners = NULL;
}

static inline void future_free(weft_future *f)
{
	if (atomic_load_explicit(&f->state, memory_order_relaxed) & F_LISTENERS)
		free_listeners(f);
	if (f->cold)
		clear_cold(f);
	if (f->ctx)
		weft__context_snapshot_release(f->ctx);
	weft__fcache_put(f);
}

int weft_future_new(weft_future **out)
{
	if (!out)
		return WEFT_EINVAL;
	weft_future *f = weft__future_alloc(1);
	if (!f)
		return WEFT_ENOMEM;
	*out = f;
	return 0;
}

int weft_future_retain(weft_future *f)
{
	if (!f)
		return WEFT_EINVAL;
	uint32_t old = atomic_fetch_add_explicit(&f->state, F_REF, memory_order_relaxed);
	if (old / F_REF >= F_MAX_REFS) {
		atomic_fetch_sub_explicit(&f->state, F_REF, memory_order_relaxed);
		return WEFT_ERANGE;
	}
	return 0;
}

void weft_future_release(weft_future *f)
{
	if (!f)
		return;
	/* The holder of the only reference needs no RMW: nobody else can
	 * take one (that needs a reference) or drop one. Acquire: pairs with
	 * the release RMW that dropped the others (the engine's publish). A
	 * waiter that just read the result saves an atomic on a cache line
	 * the worker may still share. */
	uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
	if (weft__likely(s / F_REF == 1)) {
		future_free(f); /* inline: a plain future goes straight to the cache */
		return;
	}
	if (atomic_fetch_sub_explicit(&f->state, F_REF, memory_order_acq_rel) / F_REF == 1)
		future_free(f);
}

/* ---- completion ---------------------------------------------------------------------------- */

uint32_t weft__future_claim(weft_future *f)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
	for (;;) {
		uint32_t st = s & F_STATE;
		if (st != F_PENDING && st != F_RUNNING)
			return UINT32_MAX;
		if (atomic_compare_exchange_weak_explicit(&f->state, &s,
		                                          (s & ~(uint32_t)F_STATE) | F_FINISHING,
		                                          memory_order_acq_rel, memory_order_relaxed))
			return s;
	}
}

void weft__report_callback_failure(weft_future *f, int code, const char *msg)
{
	fprintf(stderr, "weft: exception calling callback for <future %p>: %s: %s\n", (void *)f,
	        weft_errname(code), msg && *msg ? msg : weft_strerror(code));
}

static void run_callback(weft_future *f, weft_future_callback fn, void *arg)
{
	weft__failure rec;
	weft__failure *prev = weft__failure_enter(&rec);
	int rc = fn(f, arg);
	weft__failure_leave(prev);
	if (rec.code || rc < 0)
		weft__report_callback_failure(f, rec.code ? rec.code : rc, rec.msg);
	weft__failure_clear(&rec);
}

/* The completer's half of the listener protocol: detach the list under lk,
 * notify waiters while still holding it (so a waiter that unlinks its node
 * under lk knows the notification is over), run callbacks after. */
static void dispatch(weft_future *f)
{
	weft__mu_lock(&f->lk);
	weft__listener *l = f->listeners, *cbs = NULL, **ct = &cbs;
	f->listeners = NULL;
	while (l) {
		weft__listener *next = l->next;
		if (l->waiter) {
			l->next = NULL;
			l->future = NULL;
			weft__waiter_notify(l->waiter, f);
		} else {
			*ct = l;
			ct = &l->next;
		}
		l = next;
	}
	*ct = NULL;
	weft__mu_unlock(&f->lk);
	while (cbs) {
		weft__listener *next = cbs->next;
		run_callback(f, cbs->fn, cbs->arg);
		free(cbs);
		cbs = next;
	}
}

uint32_t weft__future_publish(weft_future *f, bool cancelled, bool drop_ref)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
	bool dropped = false;
	for (;;) {
		if ((cancelled || (s & F_CANCEL_REQ)) && !dropped) {
			if (s & F_CANCEL_REQ) {
				/* cancel_running raised the flag and ran its hook
				 * under lk: once we have had lk, the hook is over. */
				weft__mu_lock(&f->lk);
				weft__mu_unlock(&f->lk);
			}
			f->code = 0;
			f->result = NULL;
			if (f->cold)
				clear_cold(f);
			dropped = cancelled = true;
		}
		uint32_t final = cancelled ? F_CANCELLED : F_FINISHED;
		/* Listeners need the future after the RMW: keep the reference
		 * through the dispatch then. */
		bool now = drop_ref && !(s & F_LISTENERS);
		uint32_t n = ((s & ~(uint32_t)F_STATE) | final) - (now ? F_REF : 0);
		/* One RMW that keeps the flags and references others changed
		 * meanwhile; release: the fields written above go with it. */
		if (atomic_compare_exchange_weak_explicit(&f->state, &s, n, memory_order_acq_rel,
		                                          memory_order_relaxed)) {
			/* A sleeper holds a reference, so f is alive -- or, if that
			 * holder let go meanwhile, the wake only finds nobody. */
			if (s & F_SLEEPERS)
				weft__wake(&f->state, INT_MAX, WEFT__PRIVATE);
			if (s & F_LISTENERS)
				dispatch(f);
			if (drop_ref && !now)
				weft_future_release(f);
			else if (now && n / F_REF == 0)
				future_free(f);
			return final;
		}
	}
}

int weft__future_start(weft_future *f, const weft__future_hooks *hooks, void *arg)
{
	return weft__future_start_inline(f, hooks, arg);
}

/* Futures an engine completes itself refuse the implementer's calls. */
static bool owned(weft_future *f)
{
	return atomic_load_explicit(&f->state, memory_order_relaxed) & F_OWNED;
}

int weft_future_set_running_or_notify_cancel(weft_future *f)
{
	if (!f)
		return WEFT_EINVAL;
	return owned(f) ? WEFT_ESTATE : weft__future_to_running(f);
}

int weft_future_set_result(weft_future *f, void *result)
{
	if (!f)
		return WEFT_EINVAL;
	if (owned(f) || weft__future_claim(f) == UINT32_MAX)
		return WEFT_ESTATE;
	f->result = result;
	weft__future_publish(f, false, false);
	return 0;
}

int weft_future_set_result_bytes(weft_future *f, weft_bytes *out)
{
	if (!f || !out)
		return WEFT_EINVAL;
	if (owned(f) || weft__future_claim(f) == UINT32_MAX)
		return WEFT_ESTATE;
	f->bytes = *out;
	f->cold = true;
	*out = (weft_bytes){0};
	weft__future_publish(f, false, false);
	return 0;
}

int weft_future_set_failure(weft_future *f, int code, const char *fmt, ...)
{
	if (!f || code >= 0)
		return WEFT_EINVAL;
	if (owned(f) || weft__future_claim(f) == UINT32_MAX)
		return WEFT_ESTATE;
	int rc = 0;
	char *msg = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0) {
			msg = NULL;
			rc = WEFT_ENOMEM;
		}
		va_end(ap);
	}
	f->code = code;
	f->msg = msg;
	f->cold = true;
	weft__future_publish(f, false, false);
	return rc;
}

/* Writes a call's outcome into f: the failure record if weft_fail filled
 * it (its message is taken over), else code, else the result. */
static void set_outcome(weft_future *f, int code, const weft__failure *rec, void *result, weft_bytes *out)
{
	if (rec && rec->code) {
		f->code = rec->code;
		f->msg = rec->msg;
		f->cold = true;
		((weft__failure *)rec)->msg = NULL;
	} else if (code < 0) {
		f->code = code;
	} else {
		f->result = result;
		if (out && out->data) {
			f->bytes = *out;
			f->cold = true;
			*out = (weft_bytes){0};
		}
	}
}

int weft__future_complete(weft_future *f, int code, const weft__failure *rec, void *result, weft_bytes *out)
{
	if (weft__future_claim(f) == UINT32_MAX)
		return WEFT_ESTATE;
	set_outcome(f, code, rec, result, out);
	weft__future_publish(f, false, false);
	return 0;
}

void weft__future_fail(weft_future *f, int code, const char *msg)
{
	f->code = code;
	f->msg = msg ? strdup(msg) : NULL; /* NULL on ENOMEM: weft_strerror stands in */
	f->cold = true;
	weft__future_publish(f, false, false);
}

void weft__future_complete_owned(weft_future *f, int code, const weft__failure *rec, void *result,
                                 weft_bytes *out)
{
	set_outcome(f, code, rec, result, out);
	weft__future_publish_owned(f);
}

void weft__future_free_last(weft_future *f)
{
	future_free(f);
}

void weft__future_set_impl(weft_future *f, void *impl)
{
	f->impl = impl;
}

void *weft__future_impl(const weft_future *f)
{
	return f->impl;
}

/* ---- cancel ------------------------------------------------------------------------------------ */

int weft_future_cancel(weft_future *f)
{
	if (!f)
		return WEFT_EINVAL;
	uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
	for (;;) {
		uint32_t st = s & F_STATE;
		if (st == F_CANCELLED)
			return 0;
		if (st != F_PENDING)
			return WEFT_ESTATE;
		if (atomic_compare_exchange_weak_explicit(&f->state, &s,
		                                          (s & ~(uint32_t)F_STATE) | F_FINISHING,
		                                          memory_order_acq_rel, memory_order_acquire))
			break;
	}
	weft__future_publish(f, true, false);
	return 0;
}

int weft_future_cancel_running(weft_future *f)
{
	if (!f)
		return WEFT_EINVAL;
	for (;;) {
		uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
		switch (s & F_STATE) {
		case F_PENDING:
			if (weft_future_cancel(f) == 0)
				return 0;
			continue; /* it started meanwhile */
		case F_CANCELLED:
			return 0;
		case F_FINISHING:
			return s & F_CANCEL_REQ ? 0 : WEFT_ESTATE;
		case F_FINISHED:
			return WEFT_ESTATE;
		default:
			break;
		}
		weft__mu_lock(&f->lk);
		s = atomic_load_explicit(&f->state, memory_order_acquire);
		if ((s & F_STATE) != F_RUNNING) {
			weft__mu_unlock(&f->lk);
			continue;
		}
		if (!f->hooks || !f->hooks->cancel_running) {
			weft__mu_unlock(&f->lk);
			return WEFT_ENOTSUP;
		}
		bool first = false;
		while (!first && !(s & F_CANCEL_REQ) && (s & F_STATE) == F_RUNNING)
			first = atomic_compare_exchange_weak_explicit(
			    &f->state, &s, s | F_CANCEL_REQ, memory_order_acq_rel, memory_order_acquire);
		if (first)
			f->hooks->cancel_running(f, f->impl);
		weft__mu_unlock(&f->lk);
		if (first || (s & F_CANCEL_REQ))
			return 0;
		/* It began to finish before the flag went in. */
	}
}

/* ---- state and results -------------------------------------------------------------------------- */

bool weft_future_cancelled(const weft_future *f)
{
	return f && (atomic_load_explicit(&((weft_future *)f)->state, memory_order_acquire) & F_STATE) ==
	                F_CANCELLED;
}

bool weft_future_running(const weft_future *f)
{
	if (!f)
		return false;
	uint32_t st = atomic_load_explicit(&((weft_future *)f)->state, memory_order_acquire) & F_STATE;
	return st == F_RUNNING || st == F_FINISHING;
}

bool weft_future_done(const weft_future *f)
{
	return f && weft__fstate_done(atomic_load_explicit(&((weft_future *)f)->state, memory_order_acquire));
}

/* A waiter spins first (a tiny task finishes within RESULT_SPINS pauses),
 * then yields a few times before it parks: a thread that waits on futures
 * as fast as the workers finish them, on a machine with no more CPUs than
 * the pool has workers, often shares its CPU with the worker it waits for,
 * and a yield lets that one run without a futex wait and wake per future.
 * (Tiny tasks, 2 workers on 2 CPUs: the waiter parked 150-260 times per
 * 200,000 futures; with the yields, rounds ran at 21.4-21.6 M/s median
 * against 18.3-18.9.) weft__yield_once stops yielding for a while when
 * another process holds the CPU. */
enum { RESULT_SPINS = 64, RESULT_YIELDS = 16 };

/* Waits until f is final or the deadline; 0 (done, *state set),
 * WEFT_ETIMEDOUT or WEFT_ECANCELED. */
__attribute__((noinline)) static int wait_final(weft_future *f, int64_t deadline, uint32_t *state)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
	if (weft__fstate_done(s)) {
		*state = s;
		return 0;
	}
	if (deadline != WEFT__NO_DEADLINE && deadline <= weft__now_ns()) {
		int c = weft__cancel_status();
		return c == WEFT_ECANCELED ? c : WEFT_ETIMEDOUT;
	}
	for (int i = 0; i < RESULT_SPINS; i++) {
		weft__cpu_relax();
		s = atomic_load_explicit(&f->state, memory_order_acquire);
		if (weft__fstate_done(s)) {
			*state = s;
			return 0;
		}
	}
	for (int i = 0; i < RESULT_YIELDS && weft__yield_once(deadline); i++) {
		s = atomic_load_explicit(&f->state, memory_order_acquire);
		if (weft__fstate_done(s)) {
			*state = s;
			return 0;
		}
	}
	for (;;) {
		if (!(s & F_SLEEPERS) &&
		    !atomic_compare_exchange_weak_explicit(&f->state, &s, s | F_SLEEPERS,
		                                           memory_order_acquire, memory_order_acquire)) {
			if (weft__fstate_done(s)) {
				*state = s;
				return 0;
			}
			continue;
		}
		s |= F_SLEEPERS;
		int rc = weft__park(&f->state, s, WEFT__PRIVATE, deadline);
		s = atomic_load_explicit(&f->state, memory_order_acquire);
		if (weft__fstate_done(s)) {
			*state = s;
			return 0;
		}
		if (rc)
			return rc;
	}
}

/* 0 once f finished (its code is readable), else WEFT_ECANCELED (f
 * cancelled, or the caller's scope), WEFT_ETIMEDOUT, WEFT_EINVAL. */
static inline int wait_for(weft_future *f, double timeout)
{
	if (!f || !weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	/* A future that is done already needs no deadline (and no clock
	 * read): the common case of a waiter that trails the workers. */
	uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
	if (weft__likely(weft__fstate_done(s)))
		__builtin_prefetch(f->ahead, 0); /* the waiter trails the workers */
	if (!weft__fstate_done(s)) {
		int64_t deadline;
		weft__deadline(timeout, &deadline); /* valid: checked above */
		int rc = wait_final(f, deadline, &s);
		if (rc)
			return rc;
	}
	return (s & F_STATE) == F_CANCELLED ? WEFT_ECANCELED : 0;
}

__attribute__((noinline)) static int result_slow(weft_future *f, double timeout, void **result)
{
	int rc = wait_for(f, timeout);
	if (!rc)
		rc = f->code;
	if (!rc && result)
		*result = f->result;
	return rc;
}

int weft_future_result(weft_future *f, double timeout, void **result)
{
	/* A finished future, the common case of a waiter that trails the
	 * workers: no frame, no deadline. */
	if (weft__likely(f && weft__timeout_valid(timeout))) {
		uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
		if (weft__likely((s & F_STATE) == F_FINISHED)) {
			__builtin_prefetch(f->ahead, 0);
			int rc = f->code;
			if (!rc && result)
				*result = f->result;
			return rc;
		}
	}
	return result_slow(f, timeout, result);
}

int weft_future_result_bytes(weft_future *f, double timeout, const void **data, size_t *len)
{
	int rc = wait_for(f, timeout);
	if (!rc)
		rc = f->code;
	if (!rc && data)
		*data = f->bytes.data;
	if (!rc && len)
		*len = f->bytes.len;
	return rc;
}

int weft_future_exception(weft_future *f, double timeout, int *code)
{
	int rc = wait_for(f, timeout);
	if (!rc && code)
		*code = f->code;
	return rc;
}

const char *weft_future_error_message(const weft_future *f)
{
	if (!f)
		return "";
	uint32_t st = atomic_load_explicit(&((weft_future *)f)->state, memory_order_acquire) & F_STATE;
	if (st == F_CANCELLED)
		return weft_strerror(WEFT_ECANCELED);
	if (st != F_FINISHED || !f->code)
		return "";
	return f->msg ? f->msg : weft_strerror(f->code);
}

/* ---- listeners ------------------------------------------------------------------------------------ */

/* Lists l on f unless f is done: 0 listed, 1 already done. Caller holds
 * nothing; takes lk. */
int weft__future_listen(weft_future *f, weft__listener *l)
{
	weft__mu_lock(&f->lk);
	uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
	for (;;) {
		if (weft__fstate_done(s)) {
			weft__mu_unlock(&f->lk);
			return 1;
		}
		if ((s & F_LISTENERS) ||
		    atomic_compare_exchange_weak_explicit(&f->state, &s, s | F_LISTENERS,
		                                          memory_order_acq_rel, memory_order_acquire))
			break;
	}
	l->next = NULL;
	l->future = f;
	weft__listener **tail = &f->listeners; /* a few at most: walk */
	while (*tail)
		tail = &(*tail)->next;
	*tail = l;
	weft__mu_unlock(&f->lk);
	return 0;
}

/* Removes a waiter's node if the completer has not detached it yet. After
 * this returns, no completer touches l. */
void weft__future_unlisten(weft_future *f, weft__listener *l)
{
	weft__mu_lock(&f->lk);
	for (weft__listener **p = &f->listeners; *p; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			break;
		}
	}
	weft__mu_unlock(&f->lk);
}

int weft_future_add_done_callback(weft_future *f, weft_future_callback fn, void *arg)
{
	if (!f || !fn)
		return WEFT_EINVAL;
	weft__listener *l = malloc(sizeof *l);
	if (!l)
		return WEFT_ENOMEM;
	*l = (weft__listener){.fn = fn, .arg = arg};
	if (weft__future_listen(f, l) == 0)
		return 0;
	free(l);
	run_callback(f, fn, arg);
	return 0;
}
