/* weft/multiprocessing/queue.h - process queues carrying bytes
 * (multiprocessing.Queue, JoinableQueue and SimpleQueue).
 *
 *   weft_mp_queue *q;
 *   weft_mp_queue_new(&q, NULL);                 // before starting children
 *   weft_mp_queue_put(q, "job", 3, WEFT_FOREVER); // in any process
 *   weft_bytes m = {0};
 *   weft_mp_queue_get(q, &m, 5.0);               // in any other
 *
 * One type serves all three Python classes: SimpleQueue is a queue made
 * with NULL options; every queue has JoinableQueue's task_done and join;
 * and shutdown, which Python gives only to the thread queue.
 *
 * The queue is a ring buffer in shared memory (a memfd), with no feeder
 * thread: a put is visible to every process as soon as it returns.
 * Messages of any size arrive whole: one larger than a quarter of the
 * buffer streams through it in chunks while a reader assembles it. A slow
 * reader loses nothing -- a put waits (with its timeout) for room instead
 * (Python's unbounded Queue buffers without limit in the writer's feeder
 * thread, and loses that data if the writer exits unflushed). A process
 * that dies in a put or a get leaves the queue usable: writers and readers
 * are serialized by robust locks (lock.h), a message is published by a
 * single store after it is copied, and a half-streamed message of a dead
 * writer is discarded; a reader that dies in a get loses only the message
 * it was taking.
 *
 * Thread-safety: every function is thread-safe and process-safe.
 * Fork: a forked child uses the parent's handle as is. A spawned child
 * attaches with weft_mp_queue_attach to weft_mp_queue_fd, passed in
 * pass_fds.
 */
#ifndef WEFT_MULTIPROCESSING_QUEUE_H
#define WEFT_MULTIPROCESSING_QUEUE_H

#include <weft/common.h>
#include <weft/error.h>
#include <weft/task.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_mp_queue weft_mp_queue;

typedef struct weft_mp_queue_opts {
	size_t maxsize;     /* messages; 0 = unbounded (Python's default) */
	size_t buffer_size; /* shared buffer bytes; 0 = 1 MiB; rounded up to a
	                       power of two, 4 KiB to 1 GiB */
} weft_mp_queue_opts;

/* Makes a queue (Queue(maxsize) / JoinableQueue / SimpleQueue). EINVAL
 * (out NULL, buffer_size above 1 GiB), ENOMEM, EMFILE. */
WEFT_EXTERN int weft_mp_queue_new(weft_mp_queue **out, const weft_mp_queue_opts *opts);

/* Attaches to a queue made by another process (fd = its weft_mp_queue_fd,
 * inherited); the handle owns fd from now on. EINVAL (out NULL, not a
 * queue), ENOMEM. */
WEFT_EXTERN int weft_mp_queue_attach(weft_mp_queue **out, int fd);

/* The shared memory's descriptor, for pass_fds; EINVAL (NULL). */
WEFT_EXTERN int weft_mp_queue_fd(const weft_mp_queue *q);

/* Appends a copy of data[0..len) (Queue.put; timeout 0 = put_nowait). Waits
 * while the queue holds maxsize messages or the buffer is full. EFULL
 * (timed out), ESHUTDOWN, ECANCELED, EINVAL (NULL, data NULL with len > 0,
 * bad timeout). */
WEFT_EXTERN int weft_mp_queue_put(weft_mp_queue *q, const void *data, size_t len, double timeout);

/* Removes the oldest message into out (replaced; Queue.get; timeout 0 =
 * get_nowait). EEMPTY (timed out), ESHUTDOWN (shut down and empty, or
 * shut down immediately), ECANCELED, EINVAL, ENOMEM (the message stays
 * queued). Once the first chunk of a streamed message has arrived, get
 * completes it whatever its timeout (the writer is streaming it, or it is
 * discarded when the writer dies or gives up). */
WEFT_EXTERN int weft_mp_queue_get(weft_mp_queue *q, weft_bytes *out, double timeout);

/* Queue.qsize / empty / full: a snapshot (0 / true / false for NULL). */
WEFT_EXTERN size_t weft_mp_queue_qsize(const weft_mp_queue *q);
WEFT_EXTERN bool weft_mp_queue_empty(const weft_mp_queue *q);
WEFT_EXTERN bool weft_mp_queue_full(const weft_mp_queue *q);

/* JoinableQueue.task_done: one fetched message is finished. EINVAL (NULL,
 * or called more times than messages were put: Python's ValueError). */
WEFT_EXTERN int weft_mp_queue_task_done(weft_mp_queue *q);

/* JoinableQueue.join: waits until every message put has been task_done.
 * 0, ETIMEDOUT, ECANCELED, EINVAL. */
WEFT_EXTERN int weft_mp_queue_join(weft_mp_queue *q, double timeout);

/* shutdown(immediate) as queue.Queue's: puts fail with ESHUTDOWN; gets
 * drain what is left, then fail; immediate drops what is left (counting
 * each as task_done) and fails gets at once. Every waiter in every process
 * wakes. EINVAL (NULL). */
WEFT_EXTERN int weft_mp_queue_shutdown(weft_mp_queue *q, bool immediate);

/* Closes this process's handle (Queue.close); the queue lives on in the
 * processes that still hold it. NULL is ignored. */
WEFT_EXTERN void weft_mp_queue_free(weft_mp_queue *q);

#ifdef __cplusplus
}
#endif
#endif
