/* tests/common/wtest.h - helpers shared by weft's Check tests.
 *
 * Rules (DESIGN.md): never synchronize with sleep; bound every wait; assert
 * timing lower bounds exactly and upper bounds loosely (WT_SLACK). */
#ifndef WEFT_WTEST_H
#define WEFT_WTEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

/* Loose upper bound for "returns promptly" checks: 1 s, or 8 s under a
 * sanitizer. Lower bounds are always exact. */
double wt_slack(void);
#define WT_SLACK wt_slack()

/* 1 unless WEFT_STRESS_SCALE is set (developers' long runs). */
long wt_stress_scale(void);

/* true when the build runs under a sanitizer (WEFT_UNDER_SANITIZER=1). */
int wt_under_sanitizer(void);

/* Asserts rc == expected and prints both names on failure. */
#define wt_rc(rc, expected)                                                              \
	do {                                                                             \
		int wt_rc_ = (rc), wt_ex_ = (expected);                                  \
		ck_assert_msg(wt_rc_ == wt_ex_, "%s returned %s (%d), expected %s", #rc, \
		              weft_errname(wt_rc_), wt_rc_, weft_errname(wt_ex_));       \
	} while (0)
#define wt_ok(rc) wt_rc(rc, 0)

/* Starts a plain pthread running fn(arg) and joins it with a bound; used by
 * tests that must not depend on the module under test to make threads. */
typedef struct wt_thread wt_thread;
wt_thread *wt_spawn(void *(*fn)(void *), void *arg);
void *wt_join(wt_thread *t);

/* Counts open fds of this process (for leak checks). */
int wt_open_fds(void);

/* Runs a suite with Check (forking each test; CK_FORK=no to debug) and
 * returns the process exit status. */
int wt_run(Suite *s);

/* A TCase with a timeout (seconds, stretched by CK_TIMEOUT_MULTIPLIER). */
TCase *wt_tcase(const char *name, double timeout);

#endif
