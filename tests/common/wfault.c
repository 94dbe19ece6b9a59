/* tests/common/wfault.c - the wrappers behind wfault.h.
 *
 * A fault plan is (kind, skip, times) plus a count of calls seen. The
 * thread-local plan needs no synchronization; the global one counts calls
 * with an atomic so concurrent workers each get a distinct call number, and
 * exactly `times` of them fail. */
#include "wfault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **out, size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __wrap_posix_memalign(void **out, size_t align, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

static _Thread_local struct {
	int kind, skip, times;
	long calls;
	int hits;
} local;

static _Atomic int global_kind, global_skip, global_times, global_hits;
static _Atomic long global_calls;

/* in_window: is call number `call` (0-based) one of the failing ones? */
static int in_window(long call, int skip, int times)
{
	return call >= skip && (times < 0 || call < (long)skip + times);
}

static int should_fail(int kind)
{
	if (local.kind == kind && in_window(local.calls++, local.skip, local.times)) {
		local.hits++;
		return 1;
	}
	if (atomic_load_explicit(&global_kind, memory_order_acquire) == kind) {
		long call = atomic_fetch_add_explicit(&global_calls, 1, memory_order_relaxed);
		if (in_window(call, atomic_load_explicit(&global_skip, memory_order_relaxed),
		              atomic_load_explicit(&global_times, memory_order_relaxed))) {
			atomic_fetch_add_explicit(&global_hits, 1, memory_order_relaxed);
			return 1;
		}
	}
	return 0;
}

void wt_fault_arm(int kind, int skip, int times)
{
	local.kind = 0;
	local.skip = skip;
	local.times = times;
	local.calls = 0;
	local.hits = 0;
	atomic_store_explicit(&global_hits, 0, memory_order_relaxed);
	local.kind = kind;
}

void wt_fault_arm_global(int kind, int skip, int times)
{
	local.hits = 0;
	atomic_store_explicit(&global_kind, 0, memory_order_relaxed);
	atomic_store_explicit(&global_skip, skip, memory_order_relaxed);
	atomic_store_explicit(&global_times, times, memory_order_relaxed);
	atomic_store_explicit(&global_calls, 0, memory_order_relaxed);
	atomic_store_explicit(&global_hits, 0, memory_order_relaxed);
	atomic_store_explicit(&global_kind, kind, memory_order_release);
}

void wt_fault_disarm(void)
{
	local.kind = 0;
	atomic_store_explicit(&global_kind, 0, memory_order_release);
}

int wt_fault_hits(void)
{
	return local.hits + atomic_load_explicit(&global_hits, memory_order_relaxed);
}

#define FAIL_ALLOC_IF_ARMED()                      \
	do {                                       \
		if (should_fail(WT_FAULT_ALLOC)) { \
			errno = ENOMEM;            \
			return NULL;               \
		}                                  \
	} while (0)

void *__wrap_malloc(size_t n)
{
	FAIL_ALLOC_IF_ARMED();
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	FAIL_ALLOC_IF_ARMED();
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	FAIL_ALLOC_IF_ARMED();
	return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	FAIL_ALLOC_IF_ARMED();
	return __real_aligned_alloc(align, n);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
	if (should_fail(WT_FAULT_ALLOC))
		return ENOMEM;
	return __real_posix_memalign(out, align, n);
}

char *__wrap_strdup(const char *s)
{
	FAIL_ALLOC_IF_ARMED();
	return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	FAIL_ALLOC_IF_ARMED();
	return __real_strndup(s, n);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (should_fail(WT_FAULT_THREAD))
		return EAGAIN;
	return __real_pthread_create(t, attr, fn, arg);
}
