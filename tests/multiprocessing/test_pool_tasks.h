/* Tasks and shared state for the process pool tests (test_ppexec*.c,
 * test_pool*.c). */
#ifndef WEFT_TEST_POOL_TASKS_H
#define WEFT_TEST_POOL_TASKS_H

#include "mp_test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <weft/multiprocessing.h>

/* State every worker sees: MAP_SHARED, made before the pool forks. */
typedef struct pt_shared {
	weft_event gate;  /* blocked tasks wait for it */
	weft_sem started; /* released by every task that blocks */
	_Atomic int inits;
	_Atomic int calls;
} pt_shared;

static pt_shared *pt;

static inline void pt_setup(void)
{
	pt = mmap(NULL, sizeof *pt, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(pt, MAP_FAILED);
	memset(pt, 0, sizeof *pt);
	wt_ok(weft_event_init(&pt->gate, WEFT_PSHARED));
	wt_ok(weft_sem_init(&pt->started, 0, WEFT_PSHARED));
}

static inline long pt_long(const void *in, size_t len)
{
	long x = 0;
	if (len == sizeof x)
		memcpy(&x, in, sizeof x);
	return x;
}

/* x -> x * x (a long). */
static int t_square(const void *in, size_t len, weft_bytes *out)
{
	if (len != sizeof(long))
		return weft_fail(WEFT_EINVAL, "want a long, got %zu bytes", len);
	long x = pt_long(in, len) * pt_long(in, len);
	atomic_fetch_add(&pt->calls, 1);
	return weft_bytes_set(out, &x, sizeof x);
}
WEFT_TASK(t_square, t_square)

/* -> the worker's pid. */
static int t_pid(const void *in, size_t len, weft_bytes *out)
{
	pid_t p = getpid();
	return weft_bytes_set(out, &p, sizeof p);
}
WEFT_TASK(t_pid, t_pid)

/* Fails with the number it was given in the message. */
static int t_fail(const void *in, size_t len, weft_bytes *out)
{
	return weft_fail(WEFT_ERANGE, "bad value %ld", pt_long(in, len));
}
WEFT_TASK(t_fail, t_fail)

/* Says it started, waits for the gate, then squares. */
static int t_gated(const void *in, size_t len, weft_bytes *out)
{
	weft_sem_release(&pt->started, 1);
	if (weft_event_wait(&pt->gate, 60))
		return weft_fail(WEFT_ETIMEDOUT, "gate never opened");
	return t_square(in, len, out);
}
WEFT_TASK(t_gated, t_gated)

static int t_segv(const void *in, size_t len, weft_bytes *out)
{
	mpt_crash();
	return 0;
}
WEFT_TASK(t_segv, t_segv)

static int t_abort(const void *in, size_t len, weft_bytes *out)
{
	signal(SIGABRT, SIG_DFL);
	abort();
}
WEFT_TASK(t_abort, t_abort)

static int t_killself(const void *in, size_t len, weft_bytes *out)
{
	kill(getpid(), SIGKILL);
	return 0;
}
WEFT_TASK(t_killself, t_killself)

/* Never returns on its own (until the gate opens, which tests do not). */
static int t_hang(const void *in, size_t len, weft_bytes *out)
{
	weft_sem_release(&pt->started, 1);
	for (;;)
		pause();
	return 0;
}
WEFT_TASK(t_hang, t_hang)

static inline int init_count(void *arg)
{
	atomic_fetch_add(&pt->inits, 1);
	return 0;
}

static inline int init_fail(void *arg)
{
	atomic_fetch_add(&pt->inits, 1);
	return weft_fail(WEFT_EACCES, "no access to %s", (const char *)arg);
}

static inline long pt_result_long(weft_future *f)
{
	const void *d;
	size_t n;
	wt_ok(weft_future_result_bytes(f, 30, &d, &n));
	ck_assert_uint_eq(n, sizeof(long));
	return pt_long(d, n);
}

/* Inputs 0..n-1 as longs (free with pt_inputs_free). */
static inline weft_bytes *pt_inputs(size_t n)
{
	weft_bytes *in = calloc(n ? n : 1, sizeof *in);
	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < n; i++) {
		long x = (long)i;
		wt_ok(weft_bytes_set(&in[i], &x, sizeof x));
	}
	return in;
}

static inline void pt_inputs_free(weft_bytes *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		weft_bytes_free(&in[i]);
	free(in);
}

#endif
