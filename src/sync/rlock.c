/* RLock (threading.RLock): a word lock whose value is the owner's id, plus a
 * recursion count that only the owner touches (ordered by the word's
 * acquire/release like any data under the lock).
 *
 * Owner ids: a private rlock uses a per-process thread number, kept by the
 * forking thread in a child (so, as in Python, the child may release what
 * its thread held before the fork); a shared rlock uses the kernel thread id,
 * unique across processes and what robust futexes expect, refreshed in a
 * forked child. Both fit WEFT__ID_MASK and are never 0.
 */
#include "sync/sync_int.h"

#include <pthread.h>
#include <unistd.h>

#define TLS __thread __attribute__((tls_model("initial-exec")))

static TLS uint32_t id_private, id_shared;
static _Atomic uint32_t last_private_id;

static uint32_t __attribute__((noinline)) new_id(bool shared)
{
	if (shared)
		return id_shared = (uint32_t)gettid() & WEFT__ID_MASK;
	uint32_t v;
	do
		v = (atomic_fetch_add_explicit(&last_private_id, 1, WEFT__RELAXED) + 1) & WEFT__ID_MASK;
	while (v == 0);
	return id_private = v;
}

static inline uint32_t self_id(uint32_t flags)
{
	uint32_t id = (flags & WEFT_PSHARED) ? id_shared : id_private;
	return weft__likely(id) ? id : new_id(flags & WEFT_PSHARED);
}

static void atfork_child(void)
{
	id_shared = 0; /* the child's thread has a new kernel id */
}

__attribute__((constructor)) static void rlock_init(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

int weft_rlock_init(weft_rlock *r, int flags)
{
	if (!r || (flags & ~WEFT_PSHARED))
		return WEFT_EINVAL;
	atomic_store_explicit(WEFT__A(r->word), 0, WEFT__RELAXED);
	r->count = 0;
	r->flags = (uint32_t)flags;
	if (weft__lockdep_on)
		weft__lockdep_forget(r);
	return 0;
}

static int __attribute__((noinline)) rlock_slow(weft_rlock *r, uint32_t me, double timeout)
{
	if (timeout == 0)
		return WEFT_ETIMEDOUT;
	int64_t deadline;
	weft__deadline(timeout, &deadline);
	int rc = weft__wordlock_wait(WEFT__A(r->word), me, weft__pflags(r->flags), deadline, true);
	if (rc == 0)
		r->count = 1;
	return rc;
}

static inline int rlock_plain(weft_rlock *r, double timeout)
{
	uint32_t me = self_id(r->flags), seen = 0;
	if (weft__likely(atomic_compare_exchange_strong_explicit(WEFT__A(r->word), &seen, me, WEFT__ACQUIRE,
	                                                         WEFT__RELAXED))) {
		r->count = 1;
		return 0;
	}
	if ((seen & WEFT__ID_MASK) == me) { /* only this thread stores its id */
		if (weft__unlikely(r->count == UINT32_MAX))
			return WEFT_ERANGE;
		r->count++;
		return 0;
	}
	return rlock_slow(r, me, timeout);
}

static int __attribute__((noinline)) rlock_checked(weft_rlock *r, double timeout, void *site)
{
	weft__lockdep_before(r, "RLock", timeout == 0, site);
	int rc = rlock_plain(r, timeout);
	if (rc == 0)
		weft__lockdep_acquired(r, site);
	return rc;
}

int weft_rlock_acquire(weft_rlock *r, double timeout)
{
	if (weft__unlikely(!r || !weft__timeout_valid(timeout)))
		return WEFT_EINVAL;
	if (weft__unlikely(weft__lockdep_on))
		return rlock_checked(r, timeout, __builtin_return_address(0));
	return rlock_plain(r, timeout);
}

int weft__rlock_acquire_at(weft_rlock *r, double timeout, void *site)
{
	if (!r || !weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	if (weft__lockdep_on)
		return rlock_checked(r, timeout, site);
	return rlock_plain(r, timeout);
}

static inline bool owned(const weft_rlock *r)
{
	uint32_t v = atomic_load_explicit(WEFT__A(((weft_rlock *)r)->word), WEFT__RELAXED);
	return (v & WEFT__ID_MASK) == self_id(r->flags);
}

int weft_rlock_release(weft_rlock *r)
{
	if (weft__unlikely(!r))
		return WEFT_EINVAL;
	if (weft__unlikely(!owned(r)))
		return WEFT_EPERM;
	if (r->count > 1) {
		r->count--;
		return 0;
	}
	if (weft__unlikely(weft__lockdep_on))
		weft__lockdep_released(r);
	r->count = 0;
	weft__wordlock_unlock(WEFT__A(r->word), weft__pflags(r->flags));
	return 0;
}

bool weft_rlock_locked(const weft_rlock *r)
{
	return r && atomic_load_explicit(WEFT__A(((weft_rlock *)r)->word), WEFT__RELAXED) != 0;
}

bool weft_rlock_is_owned(const weft_rlock *r)
{
	return r && owned(r);
}

uint32_t weft_rlock_count(const weft_rlock *r)
{
	return r && owned(r) ? r->count : 0;
}

uint32_t weft__rlock_release_save(weft_rlock *r)
{
	if (!owned(r))
		return 0;
	uint32_t count = r->count;
	r->count = 0;
	weft__wordlock_unlock(WEFT__A(r->word), weft__pflags(r->flags));
	return count;
}

void weft__rlock_acquire_restore(weft_rlock *r, uint32_t count)
{
	weft__wordlock_take(WEFT__A(r->word), self_id(r->flags), weft__pflags(r->flags));
	r->count = count;
}
