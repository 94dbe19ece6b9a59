/* Helpers shared by the futures tests (CPython's test_concurrent_futures
 * util.py in C): futures in each state, and an event built on plain
 * pthreads so the tests do not depend on the module under test. */
#ifndef WEFT_FUTURES_TEST_UTIL_H
#define WEFT_FUTURES_TEST_UTIL_H

#include "wtest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define P(x) ((void *)(uintptr_t)(x))
#define I(p) ((long)(uintptr_t)(p))

/* ---- futures in a given state (util.create_future) ---- */

static inline weft_future *pending_future(void)
{
	weft_future *f;
	wt_ok(weft_future_new(&f));
	return f;
}

static inline weft_future *running_future(void)
{
	weft_future *f = pending_future();
	wt_ok(weft_future_set_running_or_notify_cancel(f));
	return f;
}

static inline weft_future *cancelled_future(void)
{
	weft_future *f = pending_future();
	wt_ok(weft_future_cancel(f));
	return f;
}

static inline weft_future *exception_future(void)
{
	weft_future *f = pending_future();
	wt_ok(weft_future_set_failure(f, WEFT_EIO, "OSError"));
	return f;
}

static inline weft_future *successful_future(void)
{
	weft_future *f = pending_future();
	wt_ok(weft_future_set_result(f, P(42)));
	return f;
}

/* ---- an event (threading.Event) on a mutex and a condition ---- */

typedef struct tevent {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int set;
} tevent;

#define TEVENT_INIT                                                    \
	{                                                              \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 \
	}

static inline void tevent_set(tevent *e)
{
	pthread_mutex_lock(&e->mu);
	e->set = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* Waits at most `timeout` seconds; returns whether the event is set. */
static inline int tevent_wait(tevent *e, double timeout)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long ns = ts.tv_nsec + (long)((timeout - (long)timeout) * 1e9);
	ts.tv_sec += (time_t)timeout + ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	pthread_mutex_lock(&e->mu);
	while (!e->set && pthread_cond_timedwait(&e->cv, &e->mu, &ts) == 0)
		;
	int set = e->set;
	pthread_mutex_unlock(&e->mu);
	return set;
}

/* A call that waits (boundedly) for an event: fn(&event). */
static inline void *wait_event(void *arg)
{
	ck_assert(tevent_wait(arg, 30));
	return P(1);
}

/* A counter others can wait to reach a value. */
typedef struct tcount {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long n;
} tcount;

#define TCOUNT_INIT                                                    \
	{                                                              \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 \
	}

static inline void tcount_add(tcount *c, long k)
{
	pthread_mutex_lock(&c->mu);
	c->n += k;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static inline int tcount_wait(tcount *c, long at_least, double timeout)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)timeout;
	pthread_mutex_lock(&c->mu);
	while (c->n < at_least && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
		;
	int ok = c->n >= at_least;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

/* Cancels a token once told to go (a canceller thread). */
struct canceller {
	weft_cancel *tok;
	tevent go;
};

static inline void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	ck_assert(tevent_wait(&c->go, 30));
	weft_cancel_cancel(c->tok);
	return NULL;
}

/* Captures what the process writes to stderr while fn(arg) runs. */
static inline void capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t size)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(p[1], 2);
	close(p[1]);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = read(p[0], buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p[0]);
}

#endif
