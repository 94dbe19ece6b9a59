/* tests/sync/sync_test.h - helpers for the sync tests.
 *
 * Instead of sleeping "long enough" for a thread to block, the tests ask the
 * kernel: st_blocked() polls /proc until a thread sits in a futex wait. */
#ifndef WEFT_SYNC_TEST_H
#define WEFT_SYNC_TEST_H

#include "wtest.h"
#include "sync/sync_int.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Polls cond (an expression) for up to 10 s (x8 under sanitizers). */
#define st_until(cond)                                                                             \
	do {                                                                                       \
		double st_end_ = weft_monotonic() + 10 * WT_SLACK;                                 \
		while (!(cond)) {                                                                  \
			ck_assert_msg(weft_monotonic() < st_end_, "timed out waiting: %s", #cond); \
			st_nap();                                                                  \
		}                                                                                  \
	} while (0)

static inline void st_nap(void)
{
	nanosleep(&(struct timespec){0, 200000}, NULL);
}

/* true when thread tid of this process is asleep in futex(2). */
static inline bool st_in_futex(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return atol(buf) == SYS_futex;
}

/* Waits until thread tid is asleep in a futex wait. */
#define st_blocked(tid) st_until(st_in_futex(tid))

/* An atomic read of a primitive's private word (white-box checks). */
#define st_word(field) atomic_load(WEFT__A(field))

/* Seconds elapsed since t0. */
static inline double st_since(double t0)
{
	return weft_monotonic() - t0;
}

/* Asserts a timed wait took at least `want` and not absurdly longer. */
#define st_took(dt, want)                                                                         \
	do {                                                                                      \
		double st_dt_ = (dt), st_w_ = (want);                                             \
		ck_assert_msg(st_dt_ >= st_w_, "returned early: %f < %f", st_dt_, st_w_);         \
		ck_assert_msg(st_dt_ < st_w_ + WT_SLACK, "too slow: %f s for %f", st_dt_, st_w_); \
	} while (0)

/* A bunch of plain threads running fn(arg); each records its kernel tid. */
typedef struct st_bunch {
	int n;
	void *(*fn)(void *);
	void *arg;
	_Atomic int started, finished;
	pid_t tids[64];
	wt_thread *t[64];
} st_bunch;

typedef struct st_slot {
	st_bunch *b;
	int i;
} st_slot;

static st_slot st_slots[64];

static void *st_bunch_main(void *p)
{
	st_slot *s = p;
	s->b->tids[s->i] = gettid();
	atomic_fetch_add(&s->b->started, 1);
	s->b->fn(s->b->arg);
	atomic_fetch_add(&s->b->finished, 1);
	return NULL;
}

/* Starts n (<= 64) threads; returns once all have started. Only one bunch
 * runs at a time. */
static inline void st_bunch_start(st_bunch *b, int n, void *(*fn)(void *), void *arg)
{
	b->n = n;
	b->fn = fn;
	b->arg = arg;
	atomic_store(&b->started, 0);
	atomic_store(&b->finished, 0);
	for (int i = 0; i < n; i++) {
		st_slots[i] = (st_slot){b, i};
		b->t[i] = wt_spawn(st_bunch_main, &st_slots[i]);
	}
	st_until(atomic_load(&b->started) == n);
}

/* Waits until every thread of the bunch sleeps in a futex wait. */
static inline void st_bunch_blocked(st_bunch *b)
{
	for (int i = 0; i < b->n; i++)
		st_blocked(b->tids[i]);
}

static inline void st_bunch_join(st_bunch *b)
{
	for (int i = 0; i < b->n; i++)
		wt_join(b->t[i]);
}

#endif
