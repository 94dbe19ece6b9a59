/* tests/common/wfault.h - fault injection for tests of error paths.
 *
 * Every test executable is linked with -Wl,--wrap for the allocation
 * functions and pthread_create, so calls made by libweft (and by the test
 * itself) go through the wrappers in wfault.c. Unarmed, a wrapper only
 * forwards. Armed, after `skip` successful calls of the kind, the next
 * `times` calls fail (times < 0: every later call):
 *
 *   WT_FAULT_ALLOC   malloc, calloc, realloc, aligned_alloc, posix_memalign,
 *                    strdup, strndup: NULL with errno ENOMEM (posix_memalign
 *                    returns ENOMEM)
 *   WT_FAULT_THREAD  pthread_create returns EAGAIN
 *
 * glibc's own internal allocations are not wrapped (they never leave libc),
 * nor are the sanitizers'. Arm right before the call under test, disarm
 * right after, and assert only once disarmed: Check's assertions allocate
 * too (its static library is wrapped along with everything else). */
#ifndef WEFT_WFAULT_H
#define WEFT_WFAULT_H

enum { WT_FAULT_ALLOC = 1, WT_FAULT_THREAD = 2 };

/* Faults only calls made by the calling thread. */
void wt_fault_arm(int kind, int skip, int times);
/* Faults calls made by any thread (e.g. a pool's worker). */
void wt_fault_arm_global(int kind, int skip, int times);
/* Disarms both the calling thread's and the global fault. */
void wt_fault_disarm(void);
/* Failures injected (thread-local plus global) since the last arm. */
int wt_fault_hits(void);

#endif
