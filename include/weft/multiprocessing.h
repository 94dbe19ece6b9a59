/* weft/multiprocessing.h - processes, pipes, process queues, shared memory
 * and process pools (Python's multiprocessing and ProcessPoolExecutor).
 *
 * What crosses a process boundary is bytes; what runs in another process is
 * a named task (weft/task.h). The module is split by topic:
 *
 *   weft/multiprocessing/process.h     Process, current/parent_process,
 *                                      active_children, cpu_count,
 *                                      connection.wait
 *   weft/multiprocessing/connection.h  Pipe, Connection
 *   weft/multiprocessing/lock.h        a robust process-shared Lock
 *   weft/multiprocessing/queue.h       Queue, JoinableQueue, SimpleQueue
 *   weft/multiprocessing/shared.h      SharedMemory, Value, Array
 *   weft/multiprocessing/pool.h        Pool (apply, map, imap, starmap, ...)
 *   weft/multiprocessing/ppexec.h      ProcessPoolExecutor
 *
 * Fork behaviour: a forked child (a weft process or any fork()) starts with
 * no children of its own and its own current-process record; handles it
 * inherited from the parent refer to the parent's children and may not be
 * joined by it. Every lock the module holds is reset in a forked child.
 *
 * Thread-safety is stated per object in each header.
 */
#ifndef WEFT_MULTIPROCESSING_H
#define WEFT_MULTIPROCESSING_H

#include <weft/multiprocessing/connection.h>
#include <weft/multiprocessing/lock.h>
#include <weft/multiprocessing/pool.h>
#include <weft/multiprocessing/ppexec.h>
#include <weft/multiprocessing/process.h>
#include <weft/multiprocessing/queue.h>
#include <weft/multiprocessing/shared.h>

#endif
