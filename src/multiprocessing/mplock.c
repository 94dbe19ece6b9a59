/* The robust process-shared lock: an owner-pid futex word (see lock.h).
 *
 * Word: 0 = free; else owner pid (low 30 bits) | WAITERS. Releasing
 * exchanges the word with 0 and wakes one waiter when WAITERS was set. A
 * wake lost to a waiter that was killed is harmless: every waiter sleeps
 * with a bounded timeout and re-checks the word. */
#include "multiprocessing/mp.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#define OWNER_MASK 0x3fffffffu
#define WAITERS    0x40000000u

static _Atomic pid_t my_pid_cache;

static void atfork_child(void)
{
	atomic_store(&my_pid_cache, getpid());
}

__attribute__((constructor)) static void mplock_init(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

static uint32_t my_pid(void)
{
	pid_t p = atomic_load_explicit(&my_pid_cache, memory_order_relaxed);
	if (!p) {
		p = getpid();
		atomic_store_explicit(&my_pid_cache, p, memory_order_relaxed);
	}
	return (uint32_t)p & OWNER_MASK;
}

static _Atomic uint32_t *word_of(const weft_mp_lock *l)
{
	return (_Atomic uint32_t *)&l->word;
}

bool weft__mp_pid_dead(uint32_t pid)
{
	if (!pid || pid == my_pid())
		return false;
	int fd = weft__pidfd_open((pid_t)pid);
	if (fd < 0)
		return fd == -ESRCH;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	bool dead = poll(&pfd, 1, 0) > 0; /* readable: exited (maybe unreaped) */
	close(fd);
	return dead;
}

bool weft__mp_lock_owner_dead(const weft_mp_lock *l)
{
	uint32_t w = atomic_load(word_of(l));
	return w && weft__mp_pid_dead(w & OWNER_MASK);
}

int weft__mp_lock_acquire(weft_mp_lock *l, int64_t deadline)
{
	_Atomic uint32_t *word = word_of(l);
	uint32_t me = my_pid(), w = 0;
	if (atomic_compare_exchange_strong(word, &w, me))
		return 0;
	int64_t check_every = 5 * 1000000LL, next_check = weft__now_ns() + check_every;
	for (;;) {
		w = atomic_load(word);
		if (w == 0) {
			/* Others may still sleep: keep WAITERS so that our
			 * release wakes one of them. */
			if (atomic_compare_exchange_strong(word, &w, me | WAITERS))
				return 0;
			continue;
		}
		int64_t now = weft__now_ns();
		if (now >= next_check || now >= deadline) {
			if (weft__mp_pid_dead(w & OWNER_MASK)) {
				if (atomic_compare_exchange_strong(word, &w, me | WAITERS))
					return WEFT_EOWNERDEAD;
				continue;
			}
			if (now >= deadline)
				return WEFT_ETIMEDOUT;
			if (check_every < 200 * 1000000LL)
				check_every *= 2;
			next_check = now + check_every;
		}
		if (!(w & WAITERS) && !atomic_compare_exchange_strong(word, &w, w | WAITERS))
			continue;
		int rc = weft__park(word, w | WAITERS, WEFT__SHARED,
		                    next_check < deadline ? next_check : deadline);
		/* ETIMEDOUT from our own bound loops to the checks above; from a
		 * cancel scope's deadline (or a cancel) it ends the wait. */
		if (rc == WEFT_ECANCELED || (rc == WEFT_ETIMEDOUT && weft__cancel_status()))
			return rc == WEFT_ECANCELED ? rc : WEFT_ETIMEDOUT;
	}
}

int weft_mp_lock_acquire(weft_mp_lock *l, double timeout)
{
	int64_t deadline;
	if (!l || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	return weft__mp_lock_acquire(l, deadline);
}

int weft_mp_lock_release(weft_mp_lock *l)
{
	if (!l)
		return WEFT_EINVAL;
	uint32_t old = atomic_exchange(word_of(l), 0);
	if (!old)
		return WEFT_EPERM;
	if (old & WAITERS)
		weft__wake(word_of(l), 1, WEFT__SHARED);
	return 0;
}

bool weft_mp_lock_locked(const weft_mp_lock *l)
{
	return l && atomic_load(word_of(l)) != 0;
}
