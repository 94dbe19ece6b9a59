/* weft/common.h - what every weft header shares.
 *
 * WEFT_EXTERN marks the public API (the library is built with hidden
 * visibility); WEFT_FOREVER is the timeout that never expires. Timeouts
 * everywhere are double seconds on the monotonic clock: WEFT_FOREVER waits
 * without limit, 0 polls, any other negative value or NaN is WEFT_EINVAL.
 */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(WEFT_BUILDING) && !defined(WEFT_STATIC)
#define WEFT_EXTERN __attribute__((visibility("default")))
#else
#define WEFT_EXTERN
#endif

#define WEFT_VERSION_MAJOR  0
#define WEFT_VERSION_MINOR  1
#define WEFT_VERSION_PATCH  0
#define WEFT_VERSION_STRING "0.1.0"

/* Wait without limit (Python's timeout=None / -1). */
#define WEFT_FOREVER      (-1.0)

#define WEFT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define WEFT_NODISCARD    __attribute__((warn_unused_result))

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on CLOCK_MONOTONIC, as Python's time.monotonic(). */
WEFT_EXTERN double weft_monotonic(void);

/* The library's version string, e.g. "0.1.0". */
WEFT_EXTERN const char *weft_version(void);

#ifdef __cplusplus
}
#endif
#endif
