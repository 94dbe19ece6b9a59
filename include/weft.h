/* weft.h - the umbrella header: Python's concurrency standard library in C.
 * Include this, or only the module headers you use (weft/<module>.h). */
#ifndef WEFT_H
#define WEFT_H

#include <weft/common.h>
#include <weft/error.h>
#include <weft/cancel.h>
#include <weft/task.h>
#if __has_include(<weft/sync.h>)
#include <weft/sync.h>
#endif
#if __has_include(<weft/threading.h>)
#include <weft/threading.h>
#endif
#if __has_include(<weft/queue.h>)
#include <weft/queue.h>
#endif
#if __has_include(<weft/contextvars.h>)
#include <weft/contextvars.h>
#endif
#if __has_include(<weft/futures.h>)
#include <weft/futures.h>
#endif
#if __has_include(<weft/sched.h>)
#include <weft/sched.h>
#endif
#if __has_include(<weft/subprocess.h>)
#include <weft/subprocess.h>
#endif
#if __has_include(<weft/multiprocessing.h>)
#include <weft/multiprocessing.h>
#endif
#if __has_include(<weft/asyncio.h>)
#include <weft/asyncio.h>
#endif

#endif
